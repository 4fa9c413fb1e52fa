"""Sparse Jacobians and Hessians (issue 19): colours, detection, build and per-call time, memory.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sparse.py [--quick] [--no-jax] [--big]

Workloads, each against dense graphad (one derivative pass per entry of x, batched) and,
where installed, JAX's dense ``jax.hessian`` / ``jacfwd`` (jit, x64, one thread):

- **grid**: the Hessian of Σ (∇u)² + Σ u⁴ on n × n grids (n = 30, 100, 300): a 5-point
  stencil, star-coloured;
- **band**: the Jacobian of yᵢ = sin(xᵢ₋₁·xᵢ) + xᵢ₊₁² (tridiagonal), n = 10³ and 10⁴ (JAX
  at 10³ only), also as the dense ``jacobian``, which compresses a band by itself;
- **BA**: bundle adjustment's residual Jacobian (benchmarks/adbench/ba.py's objective and
  data) with ``sparse=True`` on the whole residual vector and its three inputs, against
  the per-observation ``vmap`` of a forward-mode ``jacobian`` (the same 15 tangents);
- **detection** alone on a 10⁶-variable 5-point stencil (the residual's Jacobian and the
  energy's Hessian): the first call (its memory fresh from the system) and the best of 3.

Columns: colours (derivative passes), detection (pattern and colouring), build (graph,
derivatives, optimisation, plan), per call (best of a few batches), the peak of NumPy's
allocations during one call (tracemalloc; '-' for JAX, whose buffers it does not see) and
the largest difference from the reference (dense graphad, or the per-observation BA).
``--quick``: small sizes only (the test suite runs it); ``--big``: the uncompressed dense
graphad Hessian of the 100 × 100 grid too (10⁴ passes: a 0.8 GB result and tens of
seconds).  graphad's dense ``hessian`` and ``jacobian`` compress a pattern they find by
themselves (forward mode), so the dense baselines are reverse mode: one pass per entry.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import importlib.util  # noqa: E402 - after pinning the threads
import sys  # noqa: E402
import time  # noqa: E402
import timeit  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import graphad as ga  # noqa: E402
from graphad.autodiff.sparsity import detect, hessian_pattern  # noqa: E402

ADBENCH = Path(__file__).resolve().parent / "adbench"
Row = dict[str, Any]


def best(fn: Callable[[], object], repeat: int = 5, budget: float = 0.2) -> float:
    """Best time of one call, in seconds."""
    first = timeit.timeit(fn, number=1)
    number = max(1, int(budget / max(first, 1e-7)))
    if first > budget:
        return min([first, *timeit.repeat(fn, number=1, repeat=max(1, repeat // 3))])
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def peak_mib(fn: Callable[[], object]) -> float:
    """Peak of the allocations (NumPy's included) made during one call, in MiB."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def dense_pattern(value: Any) -> np.ndarray:
    """Where a sparse matrix stores an entry."""
    out = np.zeros(value.shape, bool)
    out[np.repeat(np.arange(value.shape[0]), np.diff(value.indptr)), value.indices] = True
    return out


def dense_of(value: Any) -> np.ndarray:
    return value.toarray() if hasattr(value, "toarray") else np.asarray(value)


def graphad_row(
    name: str,
    method: str,
    make: Callable[[], tuple[ga.Node, Any]],
    feeds: Callable[[Any], dict[ga.Node, np.ndarray]],
    colours: int | None = None,
    detection: float | None = None,
) -> tuple[Row, Any]:
    """Build (``make`` returns the derivative node and its inputs), run, time."""
    t0 = time.perf_counter()
    node, inputs = make()
    run = ga.Executor(node)
    built = time.perf_counter() - t0
    fed = feeds(inputs)
    value = run.run(fed)
    row = {
        "name": name,
        "method": method,
        "colours": colours,
        "detect": detection,
        "build": built,
        "call": best(lambda: run.run(fed)),
        "peak": peak_mib(lambda: run.run(fed)),
        "nodes": len(run.order),
        "run": lambda: run.run(fed),
    }
    return row, value


# -- the grid ------------------------------------------------------------------------
def grid_energy(xp: Any, u: Any, k: int) -> Any:
    """Σ (∇u)² + Σ u⁴ on a k × k grid (``xp``: graphad or jax.numpy)."""
    grid = xp.reshape(u, (k, k))
    dx, dy = grid[1:, :] - grid[:-1, :], grid[:, 1:] - grid[:, :-1]
    return xp.sum(dx * dx) + xp.sum(dy * dy) + xp.sum(grid**4)


def grid_rows(k: int, use_jax: bool, dense: bool) -> list[Row]:
    n = k * k
    name = f"grid {k}x{k} Hessian (n={n})"
    uv = np.random.default_rng(k).uniform(-1, 1, n)

    def placeholder() -> ga.Node:
        return ga.placeholder("u", (n,))

    u0 = placeholder()
    t0 = time.perf_counter()
    coloring = ga.coloring(grid_energy(ga, u0, k), u0, hessian=True)
    detection = time.perf_counter() - t0

    def sparse() -> tuple[ga.Node, ga.Node]:
        u = placeholder()
        return ga.hessian(grid_energy(ga, u, k), u, sparse=True), u

    row, value = graphad_row(
        name, "graphad sparse=True", sparse, lambda u: {u: uv}, coloring.count, detection
    )
    row["method"] += f" ({coloring.kind})"
    rows = [row]
    reference = None

    def dense_hessian(**kw: Any) -> Callable[[], tuple[ga.Node, ga.Node]]:
        def build() -> tuple[ga.Node, ga.Node]:
            u = placeholder()
            return ga.hessian(grid_energy(ga, u, k), u, batch_size=min(n, 1000), **kw), u

        return build

    compressed = None
    if n <= 10_000:  # a dense Hessian of n = 9·10⁴ would be 60 GB
        # the dense hessian compresses the pattern it finds by itself (a column colouring)
        compressed_row, compressed = graphad_row(
            name, "graphad dense, compressed", dense_hessian(), lambda u: {u: uv}
        )
        compressed_row["colours"] = ga.coloring(
            grid_energy(ga, u0, k), u0, hessian=True, kind="column"
        ).count
        rows.append(compressed_row)
    if dense:  # one pass per entry of x: reverse over reverse is never compressed
        dense_row, reference = graphad_row(
            name,
            "graphad dense (n HVPs, uncompressed)",
            dense_hessian(mode="reverse"),
            lambda u: {u: uv},
            n,
        )
        rows.append(dense_row)
        row["error"] = float(np.max(np.abs(dense_of(value) - reference)))
        if compressed is not None:
            compressed_row["error"] = float(np.max(np.abs(compressed - reference)))
        row["speedup"] = interleaved(dense_row["run"], row["run"], rounds=3)
    if use_jax and n <= 10_000:
        import jax
        import jax.numpy as jnp

        hess = jax.jit(jax.hessian(lambda u: grid_energy(jnp, u, k)))
        rows.append(jax_row(name, "JAX jax.hessian (dense)", hess, uv, n, reference, value))
    return rows


def jax_row(
    name: str, method: str, fn: Any, arg: np.ndarray, passes: int, reference: Any, sparse: Any
) -> Row:
    import jax

    t0 = time.perf_counter()
    out = np.asarray(jax.block_until_ready(fn(arg)))
    built = time.perf_counter() - t0
    expected = dense_of(sparse) if reference is None else reference
    return {
        "name": name,
        "method": method,
        "colours": passes,
        "build": built,
        "call": best(lambda: jax.block_until_ready(fn(arg))),
        "peak": None,
        "error": float(np.max(np.abs(out - expected))),
    }


# -- the band ------------------------------------------------------------------------
def chain(xp: Any, x: Any) -> Any:
    """yᵢ = sin(xᵢ₋₁·xᵢ) + xᵢ₊₁², zero beyond the ends: a tridiagonal Jacobian."""
    padded = xp.pad(x, 1)
    return xp.sin(padded[:-2] * x) + padded[2:] ** 2


def band_rows(n: int, use_jax: bool) -> list[Row]:
    name = f"band Jacobian (n={n})"
    xv = np.random.default_rng(n).uniform(-1, 1, n)
    x0 = ga.placeholder("x", (n,))
    t0 = time.perf_counter()
    coloring = ga.coloring(chain(ga, x0), x0)
    detection = time.perf_counter() - t0

    def make(**kw: Any) -> Callable[[], tuple[ga.Node, ga.Node]]:
        def build() -> tuple[ga.Node, ga.Node]:
            x = ga.placeholder("x", (n,))
            return ga.jacobian(chain(ga, x), x, **kw), x

        return build

    def fed(x: ga.Node) -> dict[ga.Node, np.ndarray]:
        return {x: xv}

    sparse, value = graphad_row(
        name, "graphad sparse=True", make(sparse=True), fed, coloring.count, detection
    )
    banded, compressed = graphad_row(
        name, "graphad dense forward, compressed", make(mode="forward"), fed, coloring.count
    )
    full, reference = graphad_row(
        name, "graphad dense (reverse, n VJPs)", make(mode="reverse", batch_size=1000), fed, n
    )
    sparse["error"] = float(np.max(np.abs(dense_of(value) - reference)))
    banded["error"] = float(np.max(np.abs(compressed - reference)))
    rows = [sparse, banded, full]
    if use_jax and n <= 1000:  # JAX's dense Jacobian of 10⁴: gigabytes of tangents
        import jax
        import jax.numpy as jnp

        jac = jax.jit(jax.jacfwd(lambda x: chain(jnp, x)))
        rows.append(jax_row(name, "JAX jacfwd (dense)", jac, xv, n, reference, value))
    return rows


# -- bundle adjustment ---------------------------------------------------------------
def ba_module() -> Any:
    if str(ADBENCH) not in sys.path:
        sys.path.insert(0, str(ADBENCH))
    spec = importlib.util.spec_from_file_location("ba", ADBENCH / "ba.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ba_rows(size: str) -> list[Row]:
    """BA's Jacobian, sparse=True on the whole residual, against the per-observation vmap of
    a forward-mode jacobian; both laid out as ADBench's CSR, checked entry by entry."""
    ba = ba_module()
    n, m, p = ba.SIZES[size]
    inputs, obs, feats = ba.generate(n, m, p)
    name = f"BA {size} (n={n} m={m} p={p})"

    def one_residual(z1: ga.Node, m1: ga.Node) -> ga.Node:
        """One observation's residual of z = [c (11), X (3), w (1)], one input."""
        return ba.residual(ga, z1[0:11], z1[11:14], z1[14:15], m1)

    def objective() -> tuple[list[ga.Node], ga.Node, ga.Node]:
        holders = [ga.placeholder(k, shape=v.shape) for k, v in inputs.items()]
        feat = ga.placeholder("feats", shape=feats.shape)
        z = ba._gathered(ga, dict(zip(inputs, holders)), obs)
        w = holders[2]
        f = ga.concatenate([ga.reshape(ba.residual(ga, *z, feat), (-1,)), 1 - w * w])
        return holders, feat, f

    def fed(made: tuple[list[ga.Node], ga.Node]) -> dict[ga.Node, np.ndarray]:
        holders, feat = made
        return {**dict(zip(holders, inputs.values())), feat: feats}

    holders, _, f = objective()
    t0 = time.perf_counter()
    coloring = ga.coloring(f, holders)
    detection = time.perf_counter() - t0

    def sparse() -> tuple[ga.Node, Any]:
        holders, feat, f = objective()
        return ga.jacobian(f, holders, sparse=True), (holders, feat)

    def per_observation() -> tuple[ga.Node, Any]:
        holders, feat, _ = objective()
        z = ba._gathered(ga, dict(zip(inputs, holders)), obs)
        z1, m1 = ga.placeholder("z1", (15,)), ga.placeholder("m1", (2,))
        # forward mode: 15 tangents, 14 once compressed (x₀'s two columns share no row)
        block = ga.jacobian(one_residual(z1, m1), z1, mode="forward")
        blocks = ga.vmap(block, {z1: ga.concatenate(z, axis=1), m1: feat})
        w = holders[2]
        return ga.concatenate([ga.reshape(blocks, (-1,)), -2 * w]), (holders, feat)

    row, value = graphad_row(name, "graphad sparse=True", sparse, fed, coloring.count, detection)
    z1, m1 = ga.placeholder("z1", (15,)), ga.placeholder("m1", (2,))
    tangents = ga.coloring(one_residual(z1, m1), z1, mode="forward").count
    ref_row, reference = graphad_row(
        name, "graphad vmap(forward jacobian)", per_observation, fed, tangents
    )
    # ADBench's layout stores 15 entries per reprojection row; the detected pattern leaves
    # out the two that are zero by structure (x's residual does not depend on x₀[1], nor
    # y's on x₀[0]), which read as exact zeros here
    rows_ptr, cols = ba.csr_structure(n, m, obs)
    row_of = np.repeat(np.arange(3 * p), np.diff(rows_ptr))
    adbench = np.zeros(value.shape, bool)
    adbench[row_of, cols] = True
    inside = not (dense_pattern(value) & ~adbench).any()
    laid_out = np.asarray(value[row_of, cols]).ravel()
    row["error"] = float(np.max(np.abs(laid_out - reference))) if inside else float("inf")
    row["stored"] = f"{value.nnz} stored (ADBench's layout: {len(cols)})"
    row["ratio"] = interleaved(row["run"], ref_row["run"])
    return [row, ref_row]


def interleaved(a: Callable[[], object], b: Callable[[], object], rounds: int = 7) -> float:
    """The median over alternating rounds of (best of 3 of a) / (best of 3 of b): on a
    shared machine, both measured under the same load."""
    ratios = []
    for _ in range(rounds):
        ta = min(timeit.repeat(a, number=1, repeat=3))
        tb = min(timeit.repeat(b, number=1, repeat=3))
        ratios.append(ta / tb)
    return float(np.median(ratios))


# -- detection at 10⁶ ----------------------------------------------------------------
def stencil_residual(u: ga.Node, k: int) -> ga.Node:
    """4u + u³ - (the four neighbours, zero outside the grid) on a k × k grid."""
    grid = ga.reshape(u, (k, k))
    padded = ga.pad(grid, 1)
    near = padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
    return ga.reshape(4 * grid + grid**3 - near, (-1,))


def detection_rows(k: int) -> list[Row]:
    u = ga.placeholder("u", (k * k,))
    jacobian_graph = stencil_residual(u, k)
    energy = grid_energy(ga, u, k)
    rows = []
    for what, run in (
        ("residual Jacobian", lambda: detect([jacobian_graph], [u])),
        ("energy Hessian", lambda: hessian_pattern(energy, [u], "hessian")),
    ):
        t0 = time.perf_counter()
        found = run()
        first = time.perf_counter() - t0
        again = min(timeit.repeat(run, number=1, repeat=3))
        rows.append(
            {
                "name": f"detect {what} (n={k * k})",
                "method": f"{found.pattern.nnz} entries; per call: best of 3",
                "detect": first,
                "call": again,
            }
        )
    return rows


# -- the table -----------------------------------------------------------------------
def show(rows: list[Row], header: bool = True) -> None:
    def seconds(v: float | None) -> str:
        if v is None:
            return "-"
        return f"{v * 1e3:.1f} ms" if v < 1 else f"{v:.2f} s"

    if header:
        print(
            f"{'workload':38s} {'method':36s} {'colours':>7s} {'detect':>9s} {'build':>9s} "
            f"{'per call':>10s} {'peak MiB':>9s} {'error':>8s}"
        )
    for r in rows:
        peak = "-" if r.get("peak") is None else f"{r['peak']:.1f}"
        error = "-" if r.get("error") is None else f"{r['error']:.1e}"
        colours = "-" if r.get("colours") is None else str(r["colours"])
        print(
            f"{r['name']:38s} {r['method']:36s} {colours:>7s} {seconds(r.get('detect')):>9s} "
            f"{seconds(r.get('build')):>9s} {seconds(r['call']):>10s} {peak:>9s} {error:>8s}"
        )
        if "speedup" in r:
            label = "  uncompressed dense / sparse, interleaved"
            print(f"{'':38s} {label:36s} {r['speedup']:.0f}x")
        if "ratio" in r:
            label = "  per call / vmap(forward), interleaved"
            print(f"{'':38s} {label:36s} {r['ratio']:.2f}x")
        if "stored" in r:
            print(f"{'':38s}   {r['stored']}")


def main(argv: list[str] | None = None) -> list[Row]:
    args = sys.argv[1:] if argv is None else argv
    quick, big = "--quick" in args, "--big" in args
    use_jax = "--no-jax" not in args and importlib.util.find_spec("jax") is not None
    if use_jax:
        import jax

        jax.config.update("jax_enable_x64", True)
    rows: list[Row] = []

    def add(more: list[Row]) -> None:  # shown as they come: a long run shows its progress
        show(more, header=not rows)
        sys.stdout.flush()
        rows.extend(more)

    for k in (6, 12) if quick else (30, 100, 300):
        add(grid_rows(k, use_jax, dense=k <= 30 or quick or (k == 100 and big)))
    for n in (50,) if quick else (1000, 10_000):
        add(band_rows(n, use_jax))
    add(ba_rows("tiny" if quick else "ba1"))
    add(detection_rows(30 if quick else 1000))
    return rows


if __name__ == "__main__":
    main()
