"""ADBench's four workloads on graphad: objective and derivative times, J/obj, checks, peers.

    python benchmarks/adbench/run.py --quick                  # CI-sized, a few seconds
    python benchmarks/adbench/run.py                          # the default table (minutes)
    python benchmarks/adbench/run.py --only gmm,ba --repeat 9
    python benchmarks/adbench/run.py --sizes gmm:1k:d64:K50,ba:ba4,lstm:l2:c1024
    python benchmarks/adbench/run.py --clock cpu              # CPU time: a loaded machine

For each workload and size, in one process: graphad's build time (graph, derivative,
optimisation, plan and code generation) and graph size (nodes built, nodes after
optimisation) of the derivative; the objective's and the derivative's times and their
ratio J/obj (ADBench's measure: derivative time over the same tool's objective time); the
checks: the objective against a NumPy reference (the same formulas), the derivative against
central differences of that reference in 3 random directions (J·v), and, where JAX is
installed (64-bit), both against JAX; then JAX's times (``jit``, ``block_until_ready``; its
compile time, the first call, apart), its J/obj and graphad's derivative time over JAX's.
PyTorch and autograd have no runner here: they are not installed on this project's
machines, and the header says so.

Timing: one BLAS thread (set below, before NumPy is imported) and one XLA thread; each
time is the median of ``--repeat`` samples taken in interleaved rounds (graphad objective,
graphad derivative, JAX objective, JAX derivative, then again), each sample a batch of calls
lasting about ``--sample`` seconds, on the wall clock or (``--clock cpu``) the process's CPU
time, which a machine shared with other work inflates far less.  ADBench itself reports the
minimum of its samples.
The large GMM and BA sizes make temporaries of 10⁷–10⁸ bytes, which glibc maps afresh for
each run and returns after it; the page faults were up to half of the time.  graphad's
Executor keeps its large temporaries for its next run (``reuse_buffers=True``); the NumPy
reference does not, and ``MALLOC_MMAP_THRESHOLD_=1073741824
MALLOC_TRIM_THRESHOLD_=4294967296`` in the environment keeps everything mapped; the header
says which setting ran.

ADBench's published J/obj is printed beside each size where it has one (``published.py``):
GMM 1k d10: Manual C++ 2.9–3.1, Tapenade 7.4–8.3, Theano (vector) 3.5–3.8; GMM 1k d64:
6.1–6.2 / 15.0–15.6 / 9.5–10.3; BA ba1, ba4: Manual 6.7–7.2, Tapenade 8.7–8.8, Theano
9.2–9.6, MuPAD 1.7–2.2; Hand small, 100 points: Manual (Eigen) 2.3–2.5, ADOL-C 17–33,
Adept 26–44.  No numbers are published for the D-LSTM.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy is imported: one BLAS thread, comparable runs
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import argparse  # noqa: E402 - after pinning BLAS
import importlib.util  # noqa: E402 - after pinning BLAS
import platform  # noqa: E402 - after pinning BLAS
import sys  # noqa: E402 - after pinning BLAS
import time  # noqa: E402 - after pinning BLAS
from pathlib import Path  # noqa: E402 - after pinning BLAS
from typing import Any  # noqa: E402 - after pinning BLAS

import numpy as np  # noqa: E402 - after pinning BLAS

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ba  # noqa: E402
import gmm  # noqa: E402
import hand  # noqa: E402
import lstm  # noqa: E402
from common import Workload, fd_error, relative_error, timed  # noqa: E402

import graphad as ga  # noqa: E402
from graphad.compiler.pipeline import fetched_nodes  # noqa: E402
from graphad.ir import topo_sort  # noqa: E402

FAMILIES = {"gmm": gmm, "ba": ba, "hand": hand, "lstm": lstm}
MALLOC = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX")

# a check passes below these relative errors (largest error / largest reference entry)
TOLERANCE = {
    "objective": 1e-12,
    "fd": 1e-5,
    "jax objective": 1e-12,
    "jax derivative": 1e-10,
    "numba derivative": 1e-10,  # against graphad's NumPy backend
}


def has_jax() -> bool:
    return importlib.util.find_spec("jax") is not None


def header(use_jax: bool) -> list[str]:
    """The machine, the thread settings and the versions, for the top of the table."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    lines = [
        f"machine: {cpu}, {os.cpu_count()} cores, load average {load}; {platform.platform()}",
        "threads: "
        + ", ".join(f"{v}={os.environ.get(v)}" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"))
        + f", XLA_FLAGS='{os.environ.get('XLA_FLAGS', '')}'",
        f"python {platform.python_version()}, numpy {np.__version__}, graphad {ga.__version__}",
        # glibc returns large freed blocks to the system: each run then page-faults its
        # big temporaries in afresh, which can be half of a large GMM's time
        "malloc: "
        + (
            ", ".join(f"{v}={os.environ[v]}" for v in MALLOC if v in os.environ)
            or "glibc's defaults (large temporaries mapped afresh each run)"
        ),
    ]
    if use_jax:
        import jax

        lines.append(f"jax {jax.__version__} ({jax.default_backend()}, 64-bit enabled)")
    else:
        lines.append("jax: " + ("not used (--no-jax)" if has_jax() else "not installed: skipped"))
    for peer in ("torch", "autograd"):
        found = importlib.util.find_spec(peer) is not None
        lines.append(
            f"{peer}: "
            + ("installed, but no runner written yet" if found else "not installed")
            + ": skipped"
        )
    return lines


def measure(
    work: Workload,
    repeat: int,
    sample: float,
    use_jax: bool,
    clock: str = "wall",
    use_numba: bool = False,
) -> dict[str, Any]:
    """Build, check and time one workload; the row of the table as a dict."""
    start = time.perf_counter()
    graphs = work.build()
    run_objective = ga.Executor(graphs.objective)
    run_derivative = ga.Executor(graphs.derivative)
    row: dict[str, Any] = {"name": work.name, "build": time.perf_counter() - start}
    row["nodes"] = len(topo_sort(fetched_nodes(graphs.derivative)))
    row["optimized"] = len(run_derivative.order)
    feeds = graphs.feeds
    value = run_objective.run(feeds)
    derivative = run_derivative.run(feeds)
    errors = {
        "objective": relative_error(value, work.objective(work.inputs)),
        "fd": fd_error(work, derivative),
    }
    fns = {
        "objective": lambda: run_objective.run(feeds),
        "derivative": lambda: run_derivative.run(feeds),
    }
    if use_jax and work.jax is not None:
        import jax

        peer = work.jax()
        jit_objective, jit_derivative = jax.jit(peer.objective), jax.jit(peer.derivative)
        start = time.perf_counter()
        jax_derivative = jax.block_until_ready(jit_derivative(*peer.args))
        row["jax compile"] = time.perf_counter() - start
        jax_value = jax.block_until_ready(jit_objective(*peer.args))
        errors["jax objective"] = relative_error(value, np.asarray(jax_value))
        errors["jax derivative"] = relative_error(derivative, jax.tree.leaves(jax_derivative))
        row["jax note"] = peer.note

        def jax_call(fn: Any) -> Any:
            return lambda: jax.block_until_ready(fn(*peer.args))

        fns["jax objective"] = jax_call(jit_objective)
        fns["jax derivative"] = jax_call(jit_derivative)
    if use_numba:
        start = time.perf_counter()
        run_numba = ga.Executor(graphs.derivative, backend="numba")
        errors["numba derivative"] = relative_error(run_numba.run(feeds), derivative)
        row["numba compile"] = time.perf_counter() - start
        row["numba fallbacks"] = len(run_numba.fallbacks)
        fns["numba derivative"] = lambda: run_numba.run(feeds)
    row["errors"] = errors
    row["ok"] = all(errors[k] <= TOLERANCE[k] for k in errors)
    row |= timed(fns, repeat, sample, clock)
    row["published"] = work.published
    return row


def _ms(t: float) -> str:
    return f"{t * 1e3:9.3f}" if t < 1 else f"{t * 1e3:9.0f}"


def format_row(row: dict[str, Any]) -> str:
    jobj = row["derivative"] / row["objective"]
    errors = row["errors"]
    text = (
        f"{row['name']:38s} {row['build'] * 1e3:8.0f} {row['nodes']:7d}->{row['optimized']:<6d}"
        f" {_ms(row['objective'])} {_ms(row['derivative'])} {jobj:6.2f}"
        f"  {errors['objective']:7.1e} {errors['fd']:7.1e}"
    )
    if "jax derivative" in row:
        jax_error = max(errors["jax objective"], errors["jax derivative"])
        jax_jobj = row["jax derivative"] / row["jax objective"]
        text += (
            f" {jax_error:7.1e} {'ok' if row['ok'] else 'FAIL':4s}"
            f" {_ms(row['jax objective'])} {_ms(row['jax derivative'])} {jax_jobj:6.2f}"
            f" {row['derivative'] / row['jax derivative']:6.2f}x {row['jax compile']:7.2f}"
        )
    else:
        text += f" {'-':>7s} {'ok' if row['ok'] else 'FAIL':4s}"
        text += f" {'-':>9s} {'-':>9s} {'-':>6s} {'-':>7s} {'-':>7s}"
    if "numba derivative" in row:
        vs = (
            f"{row['numba derivative'] / row['jax derivative']:6.2f}x"
            if "jax derivative" in row
            else f"{'-':>7s}"
        )
        text += (
            f" {_ms(row['numba derivative'])} {vs} {row['numba compile']:7.2f}"
            f" {row['numba fallbacks']:5d}"
        )
    quoted = ", ".join(f"{k} {v:.2f}" for k, v in row["published"].items())
    return text + (f"  {quoted}" if quoted else "")


COLUMNS = (
    f"{'workload':38s} {'build ms':>8s} {'nodes->optimised':>14s} {'obj ms':>9s} {'der ms':>9s}"
    f" {'J/obj':>6s}  {'obj err':>7s} {'fd err':>7s} {'JAX err':>7s} {'chk':4s}"
    f" {'JAX obj':>9s} {'JAX der':>9s} {'J/obj':>6s} {'vs JAX':>7s} {'compile':>7s}"
)
NUMBA_COLUMNS = f" {'numba der':>9s} {'vs JAX':>7s} {'nb comp':>7s} {'on np':>5s}"


def selected(args: argparse.Namespace) -> list[Workload]:
    """The workloads named by --only and --sizes, in the families' order."""
    names = [n.strip() for n in args.only.split(",")] if args.only else list(FAMILIES)
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise SystemExit(
            f"run.py: --only: unknown workload {unknown}; choose from {list(FAMILIES)}"
        )
    sizes: dict[str, list[str]] = {}
    for spec in args.sizes.split(",") if args.sizes else []:
        family, _, rest = spec.strip().partition(":")
        if family not in FAMILIES or not rest:
            raise SystemExit(
                f"run.py: --sizes: {spec!r} must start with one of {list(FAMILIES)}, "
                "e.g. gmm:1k:d10:K25, ba:ba1, hand:simple:small:100, lstm:l2:c1024"
            )
        sizes.setdefault(family, []).append(rest)
    if sizes:
        names = [n for n in names if n in sizes]
    out: list[Workload] = []
    for name in names:
        out += FAMILIES[name].workloads(args.quick, sizes.get(name))
    return out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI-sized: tiny sizes, seconds")
    parser.add_argument("--only", default="", help="comma-separated: gmm,ba,hand,lstm")
    parser.add_argument("--sizes", default="", help="family:size,... (see the docstring)")
    parser.add_argument("--repeat", type=int, default=None, help="samples per time (median)")
    parser.add_argument("--sample", type=float, default=None, help="seconds per sample")
    parser.add_argument("--no-jax", action="store_true", help="no JAX even where installed")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or the process's CPU time (steadier on a loaded machine)",
    )
    parser.add_argument(
        "--numba", action="store_true", help="graphad's numba backend too (where installed)"
    )
    args = parser.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 7)
    sample = args.sample if args.sample is not None else (0.0 if args.quick else 0.1)
    use_jax = has_jax() and not args.no_jax
    use_numba = args.numba and importlib.util.find_spec("numba") is not None
    if use_jax:
        import jax

        jax.config.update("jax_enable_x64", True)
    for line in header(use_jax):
        print(line)
    print(
        f"times ({args.clock} clock): median of {repeat} interleaved samples of ~{sample:g} s; "
        "ms per call; "
        "J/obj = derivative / objective; vs JAX = graphad derivative / JAX derivative; "
        "compile = JAX's first derivative call, s"
    )
    print(
        "errors (largest / largest reference entry): obj err = objective vs the NumPy "
        "reference, fd err = J·v vs central differences (3 directions), JAX err = objective "
        f"and derivative vs JAX; chk: all within {TOLERANCE}"
    )
    if use_numba:
        print(
            "numba: graphad's derivative on backend='numba' (ms), over JAX's, its first "
            "compile (s, lowering and the first run) and its nodes left on NumPy"
        )
    columns = COLUMNS + (NUMBA_COLUMNS if use_numba else "")
    print(columns + "  ADBench J/obj (published)", flush=True)
    rows = []
    for work in selected(args):
        row = measure(work, repeat, sample, use_jax, args.clock, use_numba)
        rows.append(row)
        print(format_row(row), flush=True)
    failed = [r["name"] for r in rows if not r["ok"]]
    if failed:
        print(f"checks failed: {', '.join(failed)}")
    return rows


if __name__ == "__main__":
    sys.exit(1 if any(not r["ok"] for r in main()) else 0)
