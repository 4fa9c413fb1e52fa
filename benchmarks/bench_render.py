"""Drawing at size: where the time of ``ga.to_svg`` goes, with the system's ``dot`` and with
Graphviz compiled to WebAssembly, for graphs of about 200 and 1,000 nodes.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_render.py [--renderer wasm|dot|both]
                                                             [--sizes 200,1000] [--options]

Graphs (each node count is that of the whole graph, what ``full=True`` draws):

- ``net``: a loss through ``k`` tanh layers and its gradient with respect to every layer's
  weights, a wide DAG with two passes, as a user draws ``[f, *ga.gradients(f, ws)]``;
- ``chain``: ``n`` alternating ``sin`` and ``* 0.999`` steps, one tall column (it wraps).

For each: the time to build the DOT text, then to lay it out and draw it as drawn by
default (summarised beyond ``LIMIT`` nodes) and in full; the SVG's size.  The WebAssembly
renderer's module compilation is timed on its own: once per machine (a cold cache), once
per process (loading the compiled module from the cache).  ``--options`` times the layout
options considered on the nets (what each costs; the chosen ones are
``graphad.viz.dot.LAYOUT``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import graphad as ga
from graphad.ir import topo_sort


def net(nodes: int) -> list[ga.Node]:
    """A loss through tanh layers and its gradients, with about ``nodes`` nodes in all."""
    layers = max(1, round((nodes - 8) / 11.5))
    x = ga.placeholder("x", shape=(4,))
    ws = [ga.placeholder(f"w{i}", shape=(4,)) for i in range(layers)]
    h = x
    for w in ws:
        h = ga.tanh(h * w + 0.1)
    y = ga.sum(h * h)
    return [y, *ga.gradients(y, ws)]


def chain(nodes: int) -> list[ga.Node]:
    """A chain of alternating sin and * 0.999: ``nodes`` nodes, constants included."""
    x = ga.placeholder("x", shape=(3,))
    v = x
    for i in range(max(1, (nodes - 1) * 2 // 3)):
        v = ga.sin(v) if i % 2 else v * 0.999
    return [v]


GRAPHS: dict[str, Callable[[int], list[ga.Node]]] = {"net": net, "chain": chain}


def svg_size(svg: str) -> str:
    found = re.search(r'width="(\d+)pt" height="(\d+)pt"', svg)
    return f"{found[1]}x{found[2]} pt" if found else "?"


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def cpu_timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall-clock and CPU seconds (this process's and its children's: the system's dot):
    on a loaded machine the CPU time of this one-threaded work is about what a quiet
    machine's clock would show."""

    def cpu() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    start, used = time.perf_counter(), cpu()
    out = fn()
    return time.perf_counter() - start, cpu() - used, out


def compilation() -> None:
    """The WebAssembly module: compiled (cold cache) and loaded (warm), each in a new
    process, as a notebook kernel or a command pays it."""
    code = (
        "import time; t = time.perf_counter(); from graphad.viz import wasm;"
        "wasm.render('digraph { a -> b }', 'svg'); print(time.perf_counter() - t)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "GRAPHAD_CACHE_DIR": cache}
        for what in ("cold cache (compiles)", "warm cache (loads)"):
            done = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            print(f"  first drawing in a process, {what}: {float(done.stdout):.2f} s")


def measure(renderers: list[str], sizes: list[int]) -> None:
    for name, build in GRAPHS.items():
        for size in sizes:
            outputs = build(size)
            count = len(topo_sort(outputs))
            for full in (False, True):
                dot_time, drawing = timed(lambda: ga.to_dot(outputs, full=full))  # noqa: B023
                source = drawing.source  # type: ignore[attr-defined]
                drawn = len(re.findall(r"^\s*(?:n\d+|fold\d+|hidden) \[", source, re.M))
                for renderer in renderers:
                    os.environ["GRAPHAD_RENDERER"] = renderer
                    seconds, cpu, svg = cpu_timed(lambda: drawing.svg())  # type: ignore[attr-defined]  # noqa: B023
                    how = "full" if full else "default"
                    print(
                        f"  {name:5} {count:5} nodes {how:7} ({drawn:4} boxes) {renderer:4}: "
                        f"to_dot {dot_time:5.2f} s, layout and SVG {seconds:6.2f} s "
                        f"(CPU {cpu:5.2f} s), {svg_size(str(svg))}",
                        flush=True,
                    )


OPTIONS = {
    "graphad's LAYOUT": {},
    "without newrank": {"newrank": None},
    "+ nslimit=2, mclimit=0.5": {"nslimit": "2", "nslimit1": "2", "mclimit": "0.5"},
    "+ splines=line": {"splines": "line"},
    "+ splines=polyline": {"splines": "polyline"},
    "+ newrank=true": {"newrank": "true"},
    "+ searchsize=10": {"searchsize": "10"},
    "rankdir=LR": {"rankdir": "LR"},
}


def options(renderers: list[str], sizes: list[int]) -> None:
    """The layout options on the net drawn in full, one at a time on top of graphad's."""
    from graphad.viz import dot

    saved = dict(dot.LAYOUT)
    try:
        for size in sizes:
            outputs = net(size)
            for name, change in OPTIONS.items():
                dot.LAYOUT.clear()
                dot.LAYOUT.update({k: v for k, v in {**saved, **change}.items() if v is not None})
                drawing = ga.to_dot(outputs, full=True)
                for renderer in renderers:
                    os.environ["GRAPHAD_RENDERER"] = renderer
                    seconds, svg = timed(drawing.svg)
                    print(
                        f"  net {size:5} {name:26} {renderer:4}: {seconds:6.2f} s, "
                        f"{svg_size(str(svg))}",
                        flush=True,
                    )
    finally:
        dot.LAYOUT.clear()
        dot.LAYOUT.update(saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renderer", choices=("wasm", "dot", "both"), default="both")
    parser.add_argument("--sizes", default="200,1000")
    parser.add_argument("--options", action="store_true", help="time the layout options")
    args = parser.parse_args()
    renderers = ["wasm", "dot"] if args.renderer == "both" else [args.renderer]
    if "dot" in renderers and shutil.which("dot") is None:
        print("no system 'dot' on PATH: WebAssembly only")
        renderers.remove("dot")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if "wasm" in renderers:
        compilation()
        from graphad.viz import wasm

        wasm.render("digraph { a -> b }", "svg")  # compiled or loaded once, not timed below
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.options:
        options(renderers, sizes)
    measure(renderers, sizes)


if __name__ == "__main__":
    main()
