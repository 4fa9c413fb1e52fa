"""Where a workload's derivative spends its time: per op, and what slows its kernels.

    python benchmarks/adbench/opprofile.py gmm:1k:d64:K50 ba:ba1 --top 12

Runs the derivative's plan step by step (as ``Executor(debug=False)`` interprets it, on
the same fed values), ``--repeat`` times, and reports the median time of each step summed
by op, with what matters to the kernels:

* ``subnormal``: for matrix products (matmul, einsum, tensordot, dot), the share of nonzero
  operand entries below the smallest normal float; BLAS runs much slower on them;
* ``non-contiguous``: matrix products whose operands are neither C- nor F-contiguous, which
  NumPy copies or hands to a slower loop instead of BLAS;
* ``zeros + scatter``: ``ScatterAdd`` steps (getitem's transpose), each a zero array of the
  source's shape with one slice's or gather's adjoint added in, later summed: the adjoint
  of one array read in many places, accumulated one zero array per read.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # as run.py: before NumPy is imported

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import FAMILIES

import graphad as ga

PRODUCTS = ("MatMul", "Einsum")  # graphad's product ops (dot, tensordot, ... lower to these)
TINY = np.finfo(np.float64).tiny


def _subnormal(values: list[Any]) -> tuple[int, int]:
    """(subnormal entries, nonzero entries) over the float operands."""
    small = nonzero = 0
    for v in values:
        if isinstance(v, np.ndarray) and v.dtype.kind == "f":
            magnitude = np.abs(v)
            nonzero += int(np.count_nonzero(magnitude))
            small += int(np.count_nonzero((magnitude > 0) & (magnitude < TINY)))
    return small, nonzero


def profile(ex: ga.Executor, feeds: dict[Any, Any], repeat: int) -> dict[str, dict[str, Any]]:
    """Per op name: median seconds per run, steps per run, and the kernels' conditions."""
    slot = {node: i for i, node in enumerate(ex.order)}
    per_step: list[list[float]] = [[] for _ in ex.steps]
    notes: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for r in range(repeat):
        slots = list(ex.initial)
        for node, value in feeds.items():
            if node in slot:
                slots[slot[node]] = value
        with np.errstate(all="ignore"):
            for k, step in enumerate(ex.steps):
                inputs = [slots[i] for i in step.ins]
                start = time.perf_counter()
                value = step.fn(*inputs)
                per_step[k].append(time.perf_counter() - start)
                if r == 0:
                    _note(notes[type(step.node.op).__name__], step, inputs)
                slots[step.out] = value
                for i in step.frees:
                    slots[i] = None
    out: dict[str, dict[str, Any]] = {}
    for k, step in enumerate(ex.steps):
        name = type(step.node.op).__name__
        entry = out.setdefault(name, {"seconds": 0.0, "steps": 0} | dict(notes[name]))
        entry["seconds"] += statistics.median(per_step[k])
        entry["steps"] += 1
    return out


def _flushed_time(step: Any, inputs: list[Any]) -> tuple[float, float]:
    """The step's median time (of 5) as it is and with its subnormal operands set to 0."""
    flushed = [
        np.where(np.abs(v) < TINY, 0.0, v) if isinstance(v, np.ndarray) and v.dtype.kind == "f"
        else v
        for v in inputs
    ]  # fmt: skip
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(5):
        for which, args in enumerate((inputs, flushed)):
            start = time.perf_counter()
            step.fn(*args)
            times[which].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def _note(entry: dict[str, Any], step: Any, inputs: list[Any]) -> None:
    name = type(step.node.op).__name__
    if name in PRODUCTS:
        small, nonzero = _subnormal(inputs)
        entry["subnormal"] += small
        entry["nonzero"] += nonzero
        if small:
            as_is, flushed = _flushed_time(step, inputs)
            entry["subnormal steps"] += 1
            entry["as is"] += as_is
            entry["flushed"] += flushed
        entry["non-contiguous"] += sum(
            isinstance(v, np.ndarray)
            and v.ndim >= 2
            and not (v.flags.c_contiguous or v.flags.f_contiguous)
            for v in inputs
        )
    if name == "ScatterAdd":  # getitem's transpose: a zero array with the adjoint added in
        entry["zeros + scatter"] += 1


def report(name: str, table: dict[str, dict[str, Any]], top: int) -> list[str]:
    total = sum(e["seconds"] for e in table.values())
    lines = [f"{name}: {total * 1e3:.1f} ms per derivative run, by op (median per step)"]
    for op, e in sorted(table.items(), key=lambda kv: -kv[1]["seconds"])[:top]:
        extra = []
        if e.get("nonzero"):
            extra.append(f"subnormal {e['subnormal']}/{e['nonzero']} operand entries")
        if e.get("subnormal steps"):
            extra.append(
                f"the {e['subnormal steps']} steps with subnormals: {e['as is'] * 1e3:.2f} ms, "
                f"{e['flushed'] * 1e3:.2f} ms with them flushed to 0"
            )
        if e.get("non-contiguous"):
            extra.append(f"{e['non-contiguous']} non-contiguous operands")
        if e.get("zeros + scatter"):
            extra.append(f"{e['zeros + scatter']} zero arrays scattered into")
        lines.append(
            f"  {op:24s} {e['seconds'] * 1e3:9.2f} ms {100 * e['seconds'] / total:5.1f} %"
            f"  {e['steps']:5d} steps  {'; '.join(extra)}"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="+", help="family:size as run.py --sizes takes them")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    for spec in args.sizes:
        family, _, rest = spec.partition(":")
        for work in FAMILIES[family].workloads(False, [rest]):
            graphs = work.build()
            ex = ga.Executor(graphs.derivative)
            ex.run(graphs.feeds)  # warm
            for line in report(work.name, profile(ex, graphs.feeds, args.repeat), args.top):
                print(line, flush=True)


if __name__ == "__main__":
    main()
