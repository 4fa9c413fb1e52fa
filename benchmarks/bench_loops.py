"""Loops: a recurrence as one ``ga.scan`` node, against a hand-written NumPy loop and JAX.

    python benchmarks/bench_loops.py                       # T = 10², 10³, 10⁴, 10⁵
    python benchmarks/bench_loops.py --steps 1000 --repeat 9 --no-jax

The workload is issue 18's: h₍ₜ₊₁₎ = tanh(W·hₜ + xₜ), h ∈ R⁸, loss = Σ h_T², and its
gradient with respect to W.  For each trip count T:

- **graph**: nodes built (the loss and its gradient) and after optimisation, with the nodes
  of the loops' bodies counted once apart (``body``), and the seconds to build the graph,
  differentiate it and make the ``Executor`` (optimise, plan, generate code);
- **per call**: one run of the loss and its gradient, graphad against the hand-written
  forward and backward loop in NumPy (the same values, checked), in alternating batches,
  the pair whose ratio is the median reported (CPU seconds of this process: the machine
  may be shared, and waiting for a core is not work); and JAX's ``jit`` of
  ``value_and_grad`` over ``lax.scan`` where JAX is installed, with its compile time;
- **memory**: the peak of what one gradient run allocates (``tracemalloc``, which NumPy's
  allocations report to), storing every step's residuals (default) and with
  ``checkpoint="sqrt"`` (about √T checkpoints and √T recomputed steps held at once), and
  the time the checkpointed run takes against the default one.

With ``--numba`` (where numba is installed), graphad's ``backend="numba"`` too: the loops
compile to native code (issue 20), timed against the hand loop in the same way, its first
compile (lowering, numba compiling the forward and backward loops, the first run), its
ratio to JAX's time, and the checkpointed run on numba.

The issue's targets are checked at the end: graph size and build time independent of T
(≤ 0.3 s), per call ≤ 1.0× the hand loop at T = 10³ and 10⁴, and with ``"sqrt"`` at
T = 10⁵ at most 10 % of the memory in at most 2.5× the time; with ``--numba``, the numba
backend within 2× JAX at T = 10³ and 10⁴.  BLAS and XLA run on one thread.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy is imported: one BLAS thread
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import argparse  # noqa: E402 - after pinning BLAS
import importlib.util  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import graphad as ga  # noqa: E402
from graphad.ir import topo_sort  # noqa: E402

N = 8
STEPS = (100, 1_000, 10_000, 100_000)


def data(steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, steps])
    return rng.normal(size=(N, N)) * 0.3, rng.normal(size=N), rng.normal(size=(steps, N))


def by_hand(w: np.ndarray, h0: np.ndarray, xs: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss and its gradient in W, as one writes them in NumPy: the forward loop
    keeping every h, then the backward loop."""
    steps = len(xs)
    hs = np.empty((steps + 1, N))
    hs[0] = h = h0
    for t in range(steps):
        h = np.tanh(w @ h + xs[t])
        hs[t + 1] = h
    g = 2 * h
    gw = np.zeros_like(w)
    wt = w.T
    for t in range(steps - 1, -1, -1):
        dz = g * (1 - hs[t + 1] ** 2)
        gw += np.outer(dz, hs[t])
        g = wt @ dz
    return float(h @ h), gw


def graph(steps: int, checkpoint: Any = None) -> tuple[list[ga.Node], list[ga.Node]]:
    """([W, h0, xs], [loss, ∂loss/∂W])."""
    w = ga.placeholder("W", (N, N))
    h0 = ga.placeholder("h0", (N,))
    xs = ga.placeholder("xs", (steps, N))
    h, _ = ga.scan(lambda h, x: (ga.tanh(w @ h + x), None), h0, xs, checkpoint=checkpoint)
    loss = ga.sum(h * h)
    return [w, h0, xs], [loss, ga.gradients(loss, w)]


def body_nodes(nodes: list[ga.Node]) -> int:
    return ga.graph_stats(nodes).body_nodes


def cpu(fn: Callable[[], Any], number: int) -> float:
    start = time.process_time()
    for _ in range(number):
        fn()
    return (time.process_time() - start) / number


def compare(ours: Callable[[], Any], theirs: Callable[[], Any], repeat: int) -> tuple[float, ...]:
    """CPU seconds per call of each and their ratio: batches of ~0.05 s alternate, and the
    neighbouring pair whose ratio is the median is reported."""
    sizes = []
    for fn in (ours, theirs):
        start = time.process_time()
        fn()
        sizes.append(max(1, int(0.05 / max(time.process_time() - start, 1e-6))))
    pairs = sorted(
        ((cpu(ours, sizes[0]), cpu(theirs, sizes[1])) for _ in range(repeat | 1)),
        key=lambda p: p[0] / p[1],
    )
    a, b = pairs[len(pairs) // 2]
    return a, b, a / b


def peak(fn: Callable[[], Any]) -> int:
    """Bytes allocated at most at once during ``fn()`` (already warm)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    found = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return found


def jax_runner(w: np.ndarray, h0: np.ndarray, xs: np.ndarray) -> tuple[Callable[[], Any], float]:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def loss(w: Any, h0: Any, xs: Any) -> Any:
        h, _ = jax.lax.scan(lambda h, x: (jnp.tanh(w @ h + x), None), h0, xs)
        return jnp.sum(h * h)

    fn = jax.jit(jax.value_and_grad(loss))
    start = time.perf_counter()
    jax.block_until_ready(fn(w, h0, xs))
    compile_time = time.perf_counter() - start

    def call() -> Any:
        value, grad = jax.block_until_ready(fn(w, h0, xs))
        return float(value), np.asarray(grad)

    return call, compile_time


def measure(steps: int, repeat: int, use_jax: bool, use_numba: bool = False) -> dict[str, Any]:
    w, h0, xs = data(steps)
    start = time.perf_counter()
    inputs, fetches = graph(steps)
    ex = ga.Executor(fetches)
    build = time.perf_counter() - start
    feeds = dict(zip(inputs, (w, h0, xs)))
    loss, grad = ex.run(feeds)
    want_loss, want_grad = by_hand(w, h0, xs)
    assert np.allclose(loss, want_loss, rtol=1e-12) and np.allclose(grad, want_grad, rtol=1e-9)
    row: dict[str, Any] = {
        "steps": steps,
        "nodes": len(topo_sort(fetches)),
        "optimised": len(ex.order),
        "body": body_nodes(list(ex.order)),
        "build": build,
    }
    ours, hand, row["ratio"] = compare(lambda: ex.run(feeds), lambda: by_hand(w, h0, xs), repeat)
    row["graphad"], row["hand"] = ours, hand
    if use_jax:
        call, row["jax compile"] = jax_runner(w, h0, xs)
        _, jax_grad = call()
        assert np.allclose(jax_grad, want_grad, rtol=1e-9)
        row["jax"] = compare(call, lambda: by_hand(w, h0, xs), repeat)[0]
    if use_numba:
        start = time.perf_counter()
        native = ga.Executor(fetches, backend="numba")
        got = native.run(feeds)
        row["numba compile"] = time.perf_counter() - start
        assert np.allclose(got[1], want_grad, rtol=1e-9), "numba disagrees"
        row["numba"] = compare(lambda: native.run(feeds), lambda: by_hand(w, h0, xs), repeat)[0]
        row["numba loops"] = len(native._native.loops)
    sqrt_inputs, sqrt_fetches = graph(steps, checkpoint="sqrt")
    sqrt = ga.Executor(sqrt_fetches)
    sqrt_feeds = dict(zip(sqrt_inputs, (w, h0, xs)))
    got = sqrt.run(sqrt_feeds)
    assert np.allclose(got[1], want_grad, rtol=1e-9)
    row["memory"] = peak(lambda: ex.run(feeds))
    row["memory sqrt"] = peak(lambda: sqrt.run(sqrt_feeds))
    row["sqrt time"] = compare(lambda: sqrt.run(sqrt_feeds), lambda: ex.run(feeds), repeat)[2]
    if use_numba:
        native_sqrt = ga.Executor(sqrt_fetches, backend="numba")
        assert np.allclose(native_sqrt.run(sqrt_feeds)[1], want_grad, rtol=1e-9)
        row["numba sqrt"] = compare(
            lambda: native_sqrt.run(sqrt_feeds), lambda: by_hand(w, h0, xs), repeat
        )[0]
    return row


def _t(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms" if seconds < 10 else f"{seconds:9.1f} s"


def report(rows: list[dict[str, Any]]) -> list[str]:
    head = (
        f"{'T':>7s} {'nodes':>6s} {'optimised':>9s} {'body':>5s} {'build':>8s} "
        f"{'graphad':>12s} {'hand NumPy':>12s} {'ratio':>6s} {'JAX jit':>12s} {'compile':>8s} "
        f"{'memory':>10s} {'sqrt mem':>10s} {'mem %':>6s} {'sqrt time':>9s}"
    )
    if any("numba" in r for r in rows):
        head += f" {'numba':>12s} {'vs JAX':>7s} {'compile':>8s} {'numba sqrt':>12s}"
    lines = [head]
    for r in rows:
        jax_cols = (
            f"{_t(r['jax'])} {r['jax compile']:7.2f}s" if "jax" in r else f"{'-':>12s} {'-':>8s}"
        )
        lines.append(
            f"{r['steps']:7d} {r['nodes']:6d} {r['optimised']:9d} {r['body']:5d} "
            f"{r['build']:7.3f}s {_t(r['graphad'])} {_t(r['hand'])} {r['ratio']:6.2f} "
            f"{jax_cols} {r['memory'] / 2**20:8.2f}MB {r['memory sqrt'] / 2**20:8.2f}MB "
            f"{100 * r['memory sqrt'] / r['memory']:5.1f}% {r['sqrt time']:8.2f}x"
        )
        if "numba" in r:
            vs = f"{r['numba'] / r['jax']:6.2f}x" if "jax" in r else f"{'-':>7s}"
            lines[-1] += f" {_t(r['numba'])} {vs} {r['numba compile']:7.2f}s {_t(r['numba sqrt'])}"
    return lines


def targets(rows: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """The issue's targets, each with whether this run met it."""
    by_steps = {r["steps"]: r for r in rows}
    checks = [
        ("graph size independent of T", len({(r["nodes"], r["optimised"]) for r in rows}) == 1),
        ("build + gradients + Executor <= 0.3 s at every T", all(r["build"] <= 0.3 for r in rows)),
    ]
    for steps in (1_000, 10_000):
        if steps in by_steps:
            ratio = by_steps[steps]["ratio"]
            checks.append(
                (f"per call <= 1.0x the hand loop at T={steps} ({ratio:.2f}x)", ratio <= 1.0)
            )
    for steps in (1_000, 10_000):
        r = by_steps.get(steps, {})
        if "numba" in r and "jax" in r:
            ratio = r["numba"] / r["jax"]
            checks.append((f"numba <= 2x JAX at T={steps} ({ratio:.2f}x)", ratio <= 2.0))
    if 100_000 in by_steps:
        r = by_steps[100_000]
        share = r["memory sqrt"] / r["memory"]
        checks.append(
            (f"sqrt checkpoints at T=1e5: <= 10% of the memory ({share:.1%})", share <= 0.1)
        )
        checks.append((f"... in <= 2.5x the time ({r['sqrt time']:.2f}x)", r["sqrt time"] <= 2.5))
    return checks


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="*", default=list(STEPS))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-jax", action="store_true")
    parser.add_argument("--numba", action="store_true", help="the numba backend too")
    args = parser.parse_args(argv)
    use_jax = not args.no_jax and importlib.util.find_spec("jax") is not None
    use_numba = args.numba and importlib.util.find_spec("numba") is not None
    rows = [measure(steps, args.repeat, use_jax, use_numba) for steps in args.steps]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"h in R^{N}, one BLAS thread, {os.cpu_count()} cores, load average {load}")
    print("per call: CPU seconds of one run of the loss and its gradient (median pair)")
    for line in report(rows):
        print(line)
    for text, ok in targets(rows):
        print(f"{'met ' if ok else 'MISSED'} {text}")
    return rows


if __name__ == "__main__":
    main()
