"""The Dask backend: selection, feeds, compute, cond, constants shipped once, a real cluster.

The op table runs on Dask in ``tests/ops/test_dask_table.py``; here, the Executor's side.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import graphad as ga

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a Dask array was computed while the graph was being built")


def logistic(d: int = 6) -> tuple[ga.Node, ga.Node, ga.Node]:
    """w (d,), v (d,) and the L2-regularised logistic loss over placeholders X (?, d) and
    s (?,) (fed by name)."""
    X = ga.placeholder("X", (None, d))
    s = ga.placeholder("s", (None,))
    w = ga.placeholder("w", (d,))
    v = ga.placeholder("v", (d,))
    loss = -ga.mean(ga.log(ga.sigmoid(s * (X @ w)))) + 0.5e-3 * ga.sum(w * w)
    return w, v, loss


def problem(n: int = 400, d: int = 6) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, d))
    return {
        "X": X,
        "s": np.sign(X @ rng.standard_normal(d) + rng.standard_normal(n)),
        "w": rng.standard_normal(d) * 0.3,
        "v": rng.standard_normal(d),
    }


def only(values: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: values[k] for k in names}


def lazy(values: dict[str, np.ndarray], rows: int = 100) -> dict[str, Any]:
    """X and s as Dask arrays chunked by rows; w and v stay NumPy (small feeds)."""
    out: dict[str, Any] = dict(values)
    out["X"] = da.from_array(values["X"], chunks=(rows, values["X"].shape[1]))
    out["s"] = da.from_array(values["s"], chunks=rows)
    return out


def test_import_graphad_does_not_import_dask() -> None:
    code = "import sys, graphad; assert not any(m.startswith('dask') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_dask_feeds_select_the_dask_backend_and_nothing_is_computed() -> None:
    w, v, loss = logistic()
    fetches = [loss, ga.gradients(loss, w), ga.hvp(loss, w, v)]
    values = problem()
    expected = ga.Executor(fetches).run(values)
    ex = ga.Executor(fetches)  # backend="auto"
    with dask.config.set(scheduler=refuse):
        got = ex.run(lazy(values))
    assert all(isinstance(g, da.Array) for g in got)
    for g, e in zip(dask.compute(*got), expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)
    # NumPy feeds on the same Executor still run on NumPy
    assert not any(isinstance(g, da.Array) for g in ex.run(values))


def test_compute_true_returns_numpy_and_backend_dask_wraps_numpy_feeds() -> None:
    w, _, loss = logistic()
    g = ga.gradients(loss, w)
    values = only(problem(), "X", "s", "w")
    expected = ga.Executor(g).run(values)
    ex = ga.Executor({"g": g, "loss": loss}, backend="dask")
    out = ex.run(values)  # NumPy feeds: made Dask arrays, as backend="dask" asks
    assert isinstance(out["g"], da.Array) and isinstance(out["loss"], da.Array)
    computed = ex.run(lazy(values), compute=True)
    assert isinstance(computed["g"], np.ndarray)
    np.testing.assert_allclose(computed["g"], expected, rtol=1e-12)


def test_one_chunk_and_many_chunks_agree_with_numpy_to_rounding() -> None:
    w, v, loss = logistic()
    fetches = [ga.gradients(loss, w), ga.hvp(loss, w, v)]
    values = problem(n=1000)
    expected = ga.Executor(fetches).run(values)
    ex = ga.Executor(fetches, backend="dask")
    for rows in (1000, 100, 33):
        got = ex.run(lazy(values, rows), compute=True)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_feeds_are_checked_by_metadata_without_computing() -> None:
    loss = logistic()[2]
    ex = ga.Executor(loss)
    values = only(lazy(problem()), "X", "s", "w")
    with dask.config.set(scheduler=refuse):
        with pytest.raises(ga.FeedError, match=r"placeholder 'X' has shape \(\?, 6\)"):
            ex.run({**values, "X": da.ones((10, 5))})
        with pytest.raises(ga.FeedError, match="'X' is float64 but was fed complex128"):
            ex.run({**values, "X": da.ones((400, 6), dtype=complex)})
        unknown = values["X"][values["X"][:, 0] > 0]  # boolean mask: unknown chunk sizes
        with pytest.raises(ga.FeedError, match="compute_chunk_sizes"):
            ex.run({**values, "X": unknown})


def test_an_executor_pickles_with_its_backend_after_a_dask_run() -> None:
    x = ga.placeholder("x", (None, 4))
    ex = ga.Executor(ga.gradients(ga.sum(ga.sigmoid(x) * 2), x), backend="dask")
    first = ex.run({x: da.ones((10, 4), chunks=5)}, compute=True)
    loaded = pickle.loads(pickle.dumps(ex))
    assert loaded.backend == "dask"
    again = loaded.run({"x": np.ones((10, 4))})
    assert isinstance(again, da.Array)
    np.testing.assert_array_equal(again.compute(), first)


def test_unknown_backend_is_a_graph_error() -> None:
    x = ga.placeholder("x", (3,))
    with pytest.raises(ga.GraphError, match="backend must be one of 'auto', 'numpy', 'dask'"):
        ga.Executor(x * 2, backend="cupy")


def test_kernel_errors_on_dask_name_the_op() -> None:
    x = ga.placeholder("x", (None, None))
    y = ga.reshape(x, (5, -1))
    ex = ga.Executor(y, backend="dask")
    with pytest.raises(ga.GraphError):  # a FeedError (re-inferred) or an ExecutionError
        ex.run({x: da.ones((3, 4), chunks=2)})


@pytest.mark.parametrize("flag", [True, False])
def test_cond_is_lazy_and_takes_the_right_branch(flag: bool) -> None:
    p = ga.placeholder("p", (), "bool")
    x = ga.placeholder("x", (None,))
    y = ga.cond(p, lambda a: ga.sum(ga.exp(a)), lambda a: ga.sum(a * a), x)
    gx = ga.gradients(y, x)
    value = np.linspace(-1.0, 1.0, 9)
    expected = ga.Executor([y, gx]).run({p: flag, x: value})
    ex = ga.Executor([y, gx], backend="dask")
    with dask.config.set(scheduler=refuse):
        got = ex.run({p: da.from_array(np.array(flag)), x: da.from_array(value, chunks=4)})
    for a, b in zip(dask.compute(*got), expected):
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_constants_and_small_feeds_enter_the_graph_once_not_per_chunk() -> None:
    rng = np.random.default_rng(0)
    c = rng.standard_normal(50)  # random bytes: found only where this array is
    w = rng.standard_normal(50)
    x = ga.placeholder("x", (None, 50))
    wp = ga.placeholder("w", (50,))
    y = ga.sum(ga.exp(x * ga.constant(c)) * wp, axis=1)
    ex = ga.Executor(y, backend="dask")
    chunks = 20
    out = ex.run({x: da.ones((chunks * 10, 50), chunks=(10, 50)), wp: w})
    shipped = pickle.dumps(dict(out.__dask_graph__()))
    assert shipped.count(c.tobytes()) == 1
    assert shipped.count(w.tobytes()) == 1


def test_one_task_ops_stay_lazy_and_match_numpy() -> None:
    """scatter-add (the adjoint of fancy indexing) and solve run as one lazy task each."""
    x = ga.placeholder("x", (6, 6))
    idx = np.array([0, 2, 2, 5])
    y = ga.sum(x[idx] ** 2) + ga.sum(ga.solve(x, ga.constant(np.ones(6))))
    gx = ga.gradients(y, x)
    value = np.random.default_rng(1).standard_normal((6, 6)) + 6 * np.eye(6)
    expected = ga.Executor([y, gx]).run({x: value})
    with dask.config.set(scheduler=refuse):
        got = ga.Executor([y, gx]).run({x: da.from_array(value, chunks=3)})
    for a, b in zip(dask.compute(*got), expected):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_one_task_kernel_failing_at_compute_time_names_its_op() -> None:
    a = ga.placeholder("a", (3, 3))
    y = ga.inv(a)
    lazy_y = ga.Executor(y).run({a: da.zeros((3, 3), chunks=2)})  # singular: fails later
    with pytest.raises(ga.ExecutionError, match=r"inv.*failed on inputs of shape \(3, 3\)"):
        lazy_y.compute(scheduler="threads")


@dataclass(frozen=True)
class Halve(ga.Op):
    """A user's op whose kernel drops the last element: it breaks its own ``infer``."""

    def infer(self, x: ga.TensorType) -> ga.TensorType:
        return x

    def compute(self, x: Any) -> Any:
        return x[:-1] / 2


def test_a_user_op_breaking_its_type_is_caught_by_metadata_without_computing() -> None:
    x = ga.placeholder("x", (4,))
    broken = pytest.raises(ga.ExecutionError, match=r"halve returned shape \(3,\)")
    with dask.config.set(scheduler=refuse), broken:
        ga.Executor(Halve()(x)).run({x: da.ones(4, chunks=2)})


def test_on_a_local_cluster_of_two_worker_processes() -> None:
    """The gradient and an HVP on a LocalCluster (2 processes, a few MB), equal to NumPy."""
    distributed = pytest.importorskip("distributed")
    w, v, loss = logistic(d=20)
    fetches = [loss, ga.gradients(loss, w), ga.hvp(loss, w, v)]
    values = problem(n=20_000, d=20)  # 3.2 MB of X
    expected = ga.Executor(fetches).run(values)
    ex = ga.Executor(fetches, backend="dask")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit="1GiB",
        ) as cluster,
        distributed.Client(cluster, timeout="60s") as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        got = ex.run(lazy(values, rows=2_500), compute=True)  # the client's scheduler
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
