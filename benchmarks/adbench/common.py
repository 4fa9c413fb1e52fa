"""What every ADBench workload shares: its description, the checks and the timing.

A :class:`Workload` is one objective at one size: its data (generated, seeded), a NumPy
reference objective of the differentiable inputs, the graphad graphs of the objective and
of the derivative, and, where JAX is installed, the same functions in JAX.  The driver
(``run.py``) only calls what is here, so the four objective modules stay about the maths.

Checks.  ``directional(derivative, v)`` turns a derivative (a gradient, a dense Jacobian, a
CSR Jacobian's values) into J·v, compared with the central difference
(f(x + h·v) − f(x − h·v)) / 2h of the NumPy objective; against JAX the derivatives are
compared entry by entry.  Both report the largest error relative to the largest entry.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Arrays = dict[str, np.ndarray]


@dataclass
class Graphs:
    """graphad's side of a workload: the fetches of the two timed runs and their feeds."""

    objective: Any
    derivative: Any
    feeds: dict[Any, np.ndarray]


@dataclass
class JaxFunctions:
    """JAX's side: functions of ``args`` (jitted by the driver) and what they return."""

    objective: Callable[..., Any]
    derivative: Callable[..., Any]
    args: tuple[Any, ...]
    note: str = ""


@dataclass
class Workload:
    """One objective at one size.

    ``inputs`` are the differentiable parameters (the directions of the checks have the
    same keys and shapes); ``objective(inputs)`` is the NumPy reference; ``build()`` makes
    graphad's graphs; ``directional(derivative, v)`` is J·v from a computed derivative
    (graphad's or JAX's, which have one layout); ``jax()`` makes JAX's functions, imported
    only when called; ``published`` maps an ADBench tool to its J/obj at this size.
    """

    family: str
    size: str
    inputs: Arrays
    objective: Callable[[Arrays], Any]
    build: Callable[[], Graphs]
    directional: Callable[[Any, Arrays], np.ndarray]
    jax: Callable[[], JaxFunctions] | None = None
    published: dict[str, float] = field(default_factory=dict)
    derivative_name: str = "gradient"

    @property
    def name(self) -> str:
        return f"{self.family} {self.size}"


def flat(value: Any) -> np.ndarray:
    """A derivative (an array or a tuple/list of arrays) as one flat float64 vector."""
    if isinstance(value, (list, tuple)):
        return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in value])
    return np.asarray(value, dtype=np.float64).ravel()


def relative_error(ours: Any, reference: Any) -> float:
    """max |ours − reference| / max |reference| over all entries (0 when both are 0)."""
    a, b = flat(ours), flat(reference)
    if a.shape != b.shape:
        return float("inf")
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    return diff / scale if scale > 0 else diff


def directions(inputs: Arrays, count: int, seed: int) -> list[Arrays]:
    """``count`` random directions in the inputs' space, standard normal entries."""
    rng = np.random.default_rng(seed)
    return [{k: rng.standard_normal(v.shape) for k, v in inputs.items()} for _ in range(count)]


def central_difference(f: Callable[[Arrays], Any], x: Arrays, v: Arrays) -> np.ndarray:
    """(f(x + h·v) − f(x − h·v)) / 2h with h = 1e-6/‖v‖∞: the inputs here are O(1) to
    O(10³), where truncation (~h²·f‴) and rounding (~ε·|f|/h) both stay near 1e-10."""
    h = 1e-6 / max(float(np.max(np.abs(d))) for d in v.values())
    plus = {k: x[k] + h * v[k] for k in x}
    minus = {k: x[k] - h * v[k] for k in x}
    return (flat(f(plus)) - flat(f(minus))) / (2 * h)


def fd_error(work: Workload, derivative: Any, count: int = 3, seed: int = 7) -> float:
    """Largest relative error of J·v against central differences over ``count`` directions."""
    worst = 0.0
    for v in directions(work.inputs, count, seed):
        fd = central_difference(work.objective, work.inputs, v)
        worst = max(worst, relative_error(work.directional(derivative, v), fd))
    return worst


def timed(
    fns: dict[str, Callable[[], Any]], repeat: int, sample: float, clock: str = "wall"
) -> dict[str, float]:
    """Median seconds per call of each function, sampled in interleaved rounds.

    Each function is first called once (warm), then given a batch size so that one sample
    takes about ``sample`` seconds; the rounds call every function's batch in turn, so a
    change of the machine's load during the run touches all of them alike.  ``clock``:
    ``"wall"`` (time.perf_counter) or ``"cpu"`` (time.process_time: the process's CPU time,
    all its threads, which waiting for a busy machine's cores does not inflate).
    """
    now = time.process_time if clock == "cpu" else time.perf_counter
    batch = {}
    for name, fn in fns.items():
        start = time.perf_counter()
        fn()
        once = max(time.perf_counter() - start, 1e-7)
        batch[name] = max(1, int(sample / once))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(max(1, repeat)):
        for name, fn in fns.items():
            start = now()
            for _ in range(batch[name]):
                fn()
            samples[name].append((now() - start) / batch[name])
    return {name: statistics.median(s) for name, s in samples.items()}
