"""The benchmark suite: graphad against hand-written NumPy (and peers, where installed).

    python benchmarks/run.py                 # every workload
    python benchmarks/run.py W4 W5           # some of them

BLAS is pinned to one thread before NumPy is imported.  Each workload is built with
graphad and written by hand in NumPy (forward and backward), in this process; the values
are checked to agree, then both are timed in alternating batches: the per-call times of
the neighbouring pair whose ratio graphad / hand is the median, that ratio, the build
time (graph + derivatives + optimise + plan + code generation) and the node counts
before and after optimisation.  The ``fast_math`` columns are the same fetches planned
with ``Executor(..., fast_math=True)`` (laws inexact in floating point allowed), timed the
same way in the same run: its ratio to hand-written NumPy and its node count.  JAX
(``jit``), PyTorch, autograd and PyTensor get columns where they are installed; none is
required.

With numba installed, graphad's ``backend="numba"`` gets three columns: its ratio to the
hand-written NumPy (timed against it in the same alternating way), its first compile
(lowering, numba compiling every region, the first run; into a fresh cache directory) and
its load from numba's disk cache (the same Executor made again with the compiled modules
dropped from this process, so numba reads them back from disk, as a new process would).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy is imported: one BLAS thread, comparable runs
# and one thread for XLA (JAX's column), which does not read the BLAS variables
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import sys  # noqa: E402 - after pinning BLAS
import time  # noqa: E402 - after pinning BLAS
from collections.abc import Callable  # noqa: E402 - after pinning BLAS
from pathlib import Path  # noqa: E402 - after pinning BLAS
from typing import Any  # noqa: E402 - after pinning BLAS

import numpy as np  # noqa: E402 - after pinning BLAS

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import importlib.util  # noqa: E402 - after pinning BLAS
import tempfile  # noqa: E402 - after pinning BLAS

import peers  # noqa: E402
import workloads  # noqa: E402

import graphad as ga  # noqa: E402
from graphad.compiler.pipeline import fetched_nodes  # noqa: E402
from graphad.ir import topo_sort  # noqa: E402


def _batch(fn: Callable[[], Any], budget: float) -> int:
    start = time.perf_counter()
    fn()
    return max(1, int(budget / max(time.perf_counter() - start, 1e-7)))


def _timed(fn: Callable[[], Any], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def compare(
    fn: Callable[[], Any], reference: Callable[[], Any], repeat: int = 9, budget: float = 0.05
) -> tuple[float, float, float]:
    """Per-call times of ``fn`` and ``reference`` and their ratio, from one pair of batches.

    Batches of the two alternate, so a machine whose load changes during the run slows
    both alike; each pair of neighbouring batches gives a ratio, and the pair whose ratio
    is the median (``repeat`` is odd) is reported, so the times and the ratio agree.
    """
    n_fn, n_ref = _batch(fn, budget), _batch(reference, budget)
    pairs = []
    for _ in range(repeat | 1):
        pairs.append((_timed(fn, n_fn), _timed(reference, n_ref)))
    pairs.sort(key=lambda p: p[0] / p[1])
    ours, theirs = pairs[len(pairs) // 2]
    return ours, theirs, ours / theirs


def agree(ours: Any, theirs: Any, rtol: float) -> bool:
    ours = ours if isinstance(ours, (list, tuple)) else [ours]
    theirs = theirs if isinstance(theirs, (list, tuple)) else [theirs]
    return len(ours) == len(theirs) and all(
        np.allclose(a, b, rtol=rtol, atol=rtol) for a, b in zip(ours, theirs)
    )


def run(case: workloads.Case) -> dict[str, Any]:
    start = time.perf_counter()
    fetches = case.build()
    ex = ga.Executor(fetches)
    build = time.perf_counter() - start
    before = len(topo_sort(fetched_nodes(fetches)))
    after = len(ex.order)

    def ours() -> Any:
        return ex.run(case.feeds)

    if not agree(ours(), case.by_hand(), case.rtol):
        raise AssertionError(f"{case.name}: graphad and hand-written NumPy disagree")
    t_ours, t_hand, ratio = compare(ours, case.by_hand)
    fast = ga.Executor(fetches, fast_math=True)

    def ours_fast() -> Any:
        return fast.run(case.feeds)

    if not agree(ours_fast(), case.by_hand(), case.rtol):
        raise AssertionError(f"{case.name}: graphad (fast_math) and hand-written NumPy disagree")
    row = {
        "name": case.name,
        "graphad": t_ours,
        "hand": t_hand,
        "ratio": ratio,
        "build": build,
        "before": before,
        "after": after,
        "fast_ratio": compare(ours_fast, case.by_hand)[2],
        "fast_after": len(fast.order),
    }
    if NUMBA:
        row.update(numba_columns(case, fetches))
    for peer, fn in peers.runners(case).items():
        try:
            if not agree(fn(), case.by_hand(), case.rtol):
                row[peer] = "disagrees"
                continue
            row[peer] = compare(fn, case.by_hand)[2]
        except Exception as e:  # a peer that cannot compile a workload is a result too
            row[peer] = f"fails ({type(e).__name__})"
    return row


NUMBA = importlib.util.find_spec("numba") is not None


def numba_columns(case: workloads.Case, fetches: Any) -> dict[str, Any]:
    """backend="numba": the ratio to hand-written NumPy, the first compile and the load of
    the compiled code from numba's disk cache (seconds)."""
    directory = tempfile.mkdtemp(prefix="graphad-bench-numba-")
    start = time.perf_counter()
    ex = ga.Executor(fetches, backend="numba", cache_dir=directory)
    ex.run(case.feeds)
    first = time.perf_counter() - start
    for kernel in ex._native.kernels:  # forget them here: loaded from disk next time
        sys.modules.pop(kernel.name, None)
    start = time.perf_counter()
    again = ga.Executor(fetches, backend="numba", cache_dir=directory)
    again.run(case.feeds)
    cached = time.perf_counter() - start

    def ours() -> Any:
        return ex.run(case.feeds)

    if not agree(ours(), case.by_hand(), case.rtol):
        return {"numba": "disagrees"}
    return {"numba": compare(ours, case.by_hand)[2], "compile": first, "cached": cached}


def _fmt_time(t: float) -> str:
    return f"{t * 1e6:9.1f} µs" if t < 1e-2 else f"{t * 1e3:9.1f} ms"


def main(names: list[str]) -> None:
    print(f"numpy {np.__version__}, one BLAS thread; ratios are to hand-written NumPy")
    print(
        "hand, graphad: per-call times of the neighbouring pair of batches (of 9) whose "
        "ratio is the median; ratio = graphad / hand of that pair"
    )
    found = peers.available()
    print("peers:", ", ".join(found) if found else "none installed")
    head = f"{'workload':44s} {'hand':>12s} {'graphad':>12s} {'ratio':>7s} {'build':>9s}"
    head += f" {'nodes':>13s} {'fast_math':>9s} {'nodes':>5s}"
    extra = ["numba", "compile", "cached"] if NUMBA else []
    print(head + "".join(f" {p:>10s}" for p in [*extra, *found]))
    for case in workloads.cases(names):
        row = run(case)
        line = (
            f"{row['name']:44s} {_fmt_time(row['hand'])} {_fmt_time(row['graphad'])} "
            f"{row['ratio']:6.2f}x {row['build'] * 1e3:7.0f}ms "
            f"{row['before']:6d}->{row['after']:<6d} "
            f"{row['fast_ratio']:8.2f}x {row['fast_after']:5d}"
        )
        for p in ["numba"] if NUMBA else []:
            v = row.get(p, "-")
            line += f" {v:9.2f}x" if isinstance(v, float) else f" {v:>10s}"
            for key in ("compile", "cached"):
                line += f" {row[key]:9.2f}s" if key in row else f" {'-':>10s}"
        for p in found:
            v = row.get(p, "-")
            line += f" {v:9.2f}x" if isinstance(v, float) else f" {v:>10s}"
        print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
