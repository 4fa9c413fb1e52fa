"""``ga.minimize``: scipy's minimisers on graphs, the derivatives each method uses, the runs
they cost, and every bad input."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import graphad as ga
import graphad.scipy_minimize as scipy_minimize

optimize = pytest.importorskip("scipy.optimize")

HERE = r"\(test_minimize.py:\d+\)"  # every error names the line of this file that caused it
N = 10


def rosenbrock(x: ga.Node) -> ga.Node:
    """Σᵢ 100·(xᵢ₊₁ - xᵢ²)² + (1 - xᵢ)², least 0 at x = ones."""
    return ga.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every ``Executor.run`` from here on: the graph runs, seen from outside."""
    count: list[int] = []
    original = ga.Executor.run

    def counting(self: ga.Executor, *args: Any, **kwargs: Any) -> Any:
        count.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ga.Executor, "run", counting)
    return count


@pytest.mark.parametrize(
    ("method", "options", "uses"),
    [
        ("BFGS", {}, "jac"),
        ("L-BFGS-B", {"bounds": (-2.0, np.full(N, 2.0)), "options": {"ftol": 1e-14}}, "jac"),
        ("Newton-CG", {}, "hessp"),
        ("trust-exact", {}, "hess"),
    ],
)
def test_rosenbrock_in_ten_dimensions_converges_to_ones(
    method: str, options: dict[str, Any], uses: str, runs: list[int]
) -> None:
    x = ga.placeholder("x", (N,))
    res = ga.minimize(rosenbrock(x), x, np.zeros(N), method=method, **options)
    assert res.success, res.message
    assert isinstance(res.x, np.ndarray) and res.x.shape == (N,)
    np.testing.assert_allclose(res.x, np.ones(N), atol=1e-4)
    np.testing.assert_array_equal(res.x_flat, res.x)
    assert res.fun < 1e-8
    # every graph run is counted, and a point's fun, jac and hess share one run
    assert len(runs) == res.graph_runs + res.hvp_runs
    assert res.graph_runs == res.nfev
    if uses == "hessp":
        assert res.hvp_runs == res.nhev > 0  # one HVP graph run per product
    else:
        assert res.hvp_runs == 0


def test_bfgs_pays_one_run_per_point_for_f_and_its_gradient(runs: list[int]) -> None:
    x = ga.placeholder("x", (N,))
    res = ga.minimize(rosenbrock(x), x, np.zeros(N), method="BFGS")
    # scipy asked for f and for the gradient at every point: 2·nfev calls, nfev runs
    assert res.nfev == res.njev == res.graph_runs == len(runs)


def test_trust_exact_shares_one_run_between_fun_jac_and_hess(runs: list[int]) -> None:
    x = ga.placeholder("x", (N,))
    res = ga.minimize(rosenbrock(x), x, np.zeros(N), method="trust-exact")
    assert res.graph_runs == len(runs) == res.nfev
    assert res.graph_runs < res.nfev + res.njev + res.nhev
    assert res.graph_runs >= max(res.njev, res.nhev)


def test_the_hessian_matches_the_closed_form_and_several_placeholders_are_blocks() -> None:
    """f = ½ aᵀA a + aᵀB b + ½ bᵀC b: the Hessian over (a, b) is [[A, B], [Bᵀ, C]]."""
    rng = np.random.default_rng(1)
    M = rng.standard_normal((5, 5))
    H = M @ M.T + 5 * np.eye(5)
    a = ga.placeholder("a", (3,))
    b = ga.placeholder("b", (2,))
    A, B, C = (ga.constant(m) for m in (H[:3, :3], H[:3, 3:], H[3:, 3:]))
    f = 0.5 * a @ (A @ a) + a @ (B @ b) + 0.5 * b @ (C @ b)
    layout = scipy_minimize.Layout((a, b), ((3,), (2,)))
    objective = scipy_minimize.Objective(f, layout, {}, "hess", {})
    point = rng.standard_normal(5)
    np.testing.assert_allclose(objective.hess(point), H, rtol=1e-12)
    np.testing.assert_allclose(objective.jac(point), H @ point, rtol=1e-12)
    assert objective.runs == 1
    products = scipy_minimize.Objective(f, layout, {}, "hessp", {})
    v = rng.standard_normal(5)
    np.testing.assert_allclose(products.hessp(point, v), H @ v, rtol=1e-12)
    assert (products.runs, products.hvp_runs) == (0, 1)


def least_squares() -> tuple[ga.Node, ga.Node, ga.Node, dict[str, np.ndarray], np.ndarray]:
    """W (2, 3) and b (3,) fitting Y ≈ X W + b: f = ½‖X W + b - Y‖² + ½·10⁻³‖W‖²."""
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((20, 2)), rng.standard_normal((20, 3))
    W = ga.placeholder("W", (2, 3))
    b = ga.placeholder("b", (3,))
    # static shapes: ga.hessian fails on graphs with unknown dims (matmul's batch rule)
    Xn, Yn = ga.placeholder("X", (20, 2)), ga.placeholder("Y", (20, 3))
    f = 0.5 * ga.sum((Xn @ W + b - Yn) ** 2) + 0.5e-3 * ga.sum(W * W)
    # the normal equations of [X 1] [W; b] = Y with the ridge on W only
    Z = np.hstack([X, np.ones((20, 1))])
    solution = np.linalg.solve(Z.T @ Z + 1e-3 * np.diag([1.0, 1.0, 0.0]), Z.T @ Y)
    return f, W, b, {"X": X, "Y": Y}, solution


@pytest.mark.parametrize("method", ["L-BFGS-B", "trust-exact", "trust-krylov"])
def test_two_placeholders_of_different_shapes_are_flattened_and_restored(method: str) -> None:
    f, W, b, data, solution = least_squares()
    res = ga.minimize(f, [W, b], [np.zeros((2, 3)), np.zeros(3)], method=method, feeds=data)
    assert res.success, res.message
    assert isinstance(res.x, list) and [v.shape for v in res.x] == [(2, 3), (3,)]
    np.testing.assert_allclose(res.x[0], solution[:2], atol=1e-5)
    np.testing.assert_allclose(res.x[1], solution[2], atol=1e-5)
    np.testing.assert_array_equal(res.x_flat, np.concatenate([res.x[0].ravel(), res.x[1]]))


def test_wrt_as_a_dict_gives_x_as_a_dict_and_x0_may_be_keyed_by_name_or_node() -> None:
    f, W, b, data, solution = least_squares()
    res = ga.minimize(
        f, {"weights": W, "bias": b}, {"W": np.zeros((2, 3)), b: np.zeros(3)}, feeds=data
    )
    assert set(res.x) == {"weights", "bias"} and res.x["weights"].shape == (2, 3)
    np.testing.assert_allclose(res.x["bias"], solution[2], atol=1e-5)
    by_name = ga.minimize(f, [W, b], {"b": np.zeros(3), "W": np.zeros((2, 3))}, feeds=data)
    assert isinstance(by_name.x, list)
    np.testing.assert_allclose(by_name.x[0], solution[:2], atol=1e-5)


def test_feeds_by_node_and_name_are_constants_for_the_run() -> None:
    x = ga.placeholder("x", (3,))
    target = ga.placeholder("target", (None,))
    scale = ga.placeholder("scale", ())
    f = scale * ga.sum((x - target) ** 2)
    goal = np.array([1.0, -2.0, 3.0])
    res = ga.minimize(f, x, np.zeros(3), feeds={target: goal, "scale": 2.0})
    np.testing.assert_allclose(res.x, goal, atol=1e-6)


def test_bounds_are_per_placeholder_and_flattened_to_match() -> None:
    """min Σ (x - 3)² + Σ (y + 3)² with x ≤ [1, 2] and y ≥ -1 (a scalar lower bound)."""
    x = ga.placeholder("x", (2,))
    y = ga.placeholder("y", (2, 2))
    f = ga.sum((x - 3) ** 2) + ga.sum((y + 3) ** 2)
    bounds = [(None, np.array([1.0, 2.0])), (-1, None)]
    res = ga.minimize(f, [x, y], [np.zeros(2), np.zeros((2, 2))], method="L-BFGS-B", bounds=bounds)
    np.testing.assert_allclose(res.x[0], [1.0, 2.0], atol=1e-8)
    np.testing.assert_allclose(res.x[1], -np.ones((2, 2)), atol=1e-8)
    keyed = ga.minimize(
        f, [x, y], [np.zeros(2), np.zeros((2, 2))], method="TNC", bounds={"y": (-1, 0)}
    )
    np.testing.assert_allclose(keyed.x[0], [3.0, 3.0], atol=1e-5)  # x: unbounded
    np.testing.assert_allclose(keyed.x[1], -np.ones((2, 2)), atol=1e-5)
    flat = ga.minimize(f, [x, y], [np.zeros(2), np.zeros((2, 2))], bounds=optimize.Bounds(0.0, 2.5))
    np.testing.assert_allclose(flat.x_flat, [2.5, 2.5, 0, 0, 0, 0], atol=1e-8)


def test_constraints_pass_through_and_see_the_flat_vector() -> None:
    """min ‖x‖² subject to Σx = 1: x = 1/n."""
    x = ga.placeholder("x", (4,))
    constraint = {"type": "eq", "fun": lambda v: np.sum(v) - 1.0, "jac": lambda v: np.ones(4)}
    res = ga.minimize(ga.sum(x * x), x, np.zeros(4), method="SLSQP", constraints=[constraint])
    np.testing.assert_allclose(res.x, np.full(4, 0.25), atol=1e-8)


@pytest.mark.parametrize("method", ["Nelder-Mead", "Powell", "COBYLA"])
def test_gradient_free_methods_build_no_derivative(
    method: str, runs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    x = ga.placeholder("x", (2,))
    made: list[Any] = []
    original = scipy_minimize.gradients

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(scipy_minimize, "gradients", spy)
    res = ga.minimize(ga.sum((x - 1.5) ** 2), x, np.zeros(2), method=method, tol=1e-10)
    assert made == []
    np.testing.assert_allclose(res.x, [1.5, 1.5], atol=1e-4)
    assert res.graph_runs == len(runs)


@pytest.mark.parametrize(
    ("method", "hessian", "built"),
    [
        ("BFGS", "auto", "jac"),
        (None, "auto", "jac"),
        ("slsqp", "auto", "jac"),
        ("Newton-CG", "auto", "hessp"),
        ("Newton-CG", "hess", "hess"),
        ("Newton-CG", None, "jac"),
        ("trust-ncg", "auto", "hessp"),
        ("trust-krylov", "hess", "hess"),
        ("trust-constr", "auto", "hessp"),
        ("trust-constr", None, "jac"),
        ("trust-exact", "auto", "hess"),
        ("dogleg", "hess", "hess"),
        ("Nelder-Mead", "auto", None),
    ],
)
def test_each_method_gets_the_derivatives_it_uses(
    method: str | None, hessian: str | None, built: str | None
) -> None:
    assert scipy_minimize._derivatives(method, hessian) == built


def test_newton_cg_with_the_full_hessian_runs_no_products() -> None:
    x = ga.placeholder("x", (N,))
    res = ga.minimize(rosenbrock(x), x, np.zeros(N), method="Newton-CG", hessian="hess")
    np.testing.assert_allclose(res.x, np.ones(N), atol=1e-4)
    assert res.hvp_runs == 0 and res.nhev > 0


def test_unknown_dims_take_their_size_from_x0_and_float32_works() -> None:
    x = ga.placeholder("x", (None,), dtype="float32")
    res = ga.minimize(rosenbrock(x), x, np.zeros(4, dtype=np.float32), method="BFGS", tol=1e-5)
    assert res.x.shape == (4,)
    np.testing.assert_allclose(res.x, np.ones(4), atol=1e-2)


def test_executor_options_reach_the_executor() -> None:
    x = ga.placeholder("x", ())
    with pytest.raises(ga.ExecutionError, match="NaN or inf"):
        ga.minimize(ga.log(x), x, -1.0, executor_options={"debug": True})


def test_the_docstring_example_runs() -> None:
    doc = ga.minimize.__doc__
    assert doc is not None
    block = re.search(r"::\n\n((?:        .*\n)+)", doc)
    assert block is not None
    code = "\n".join(line[8:] for line in block.group(1).splitlines())
    namespace: dict[str, Any] = {"ga": ga, "np": np}
    exec(code, namespace)
    np.testing.assert_allclose(namespace["res"].x, np.ones(10), atol=1e-6)


def test_import_graphad_does_not_import_scipy() -> None:
    code = (
        "import sys, graphad as ga; ga.minimize, ga.function; "
        "assert not any(m == 'scipy' or m.startswith('scipy.') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_without_scipy_minimize_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)  # import scipy.optimize fails
    x = ga.placeholder("x", ())
    with pytest.raises(
        ga.GraphError, match=r"minimize needs scipy: pip install 'graphad\[scipy\]'"
    ):
        ga.minimize(x * x, x, 1.0)


# -- bad inputs ------------------------------------------------------------------------------


def bad_inputs() -> list[tuple[str, dict[str, Any], type[Exception], str]]:
    x = ga.placeholder("x", (3,))
    y = ga.placeholder("y", (2,))
    data = ga.placeholder("data", (3,))
    f = ga.sum((x - data) ** 2) + ga.sum(y * y)
    ok = {"f": f, "wrt": [x, y], "x0": [np.zeros(3), np.zeros(2)], "feeds": {data: np.ones(3)}}
    i = ga.placeholder("i", (3,), dtype="int64")

    def case(
        name: str, exc: type[Exception], message: str, **changes: Any
    ) -> tuple[str, dict[str, Any], type[Exception], str]:
        return name, {**ok, **changes}, exc, message

    return [
        case("f-array", ga.GraphError, r"minimize: f must be a node, got ndarray", f=np.ones(())),
        case("f-vector", ga.ShapeError, r"f = .* has shape \(3,\); it must be a scalar", f=x * 2),
        case("f-int", ga.DTypeError, r"f = .* has type \(\):int64; it must be a real", f=ga.sum(i)),
        case("f-complex", ga.DTypeError, r"it must be a real float scalar", f=ga.sum(x) * 1j),
        case("wrt-str", ga.GraphError, r"wrt must be a placeholder, or a list .*got str", wrt="x"),
        case("wrt-empty", ga.GraphError, r"minimize: wrt is empty", wrt=[]),
        case(
            "wrt-node",
            ga.GraphError,
            r"wrt\[1\] must be a placeholder, got a multiply node",
            wrt=[x, 2 * y],
        ),
        case("wrt-int", ga.DTypeError, r"wrt\[1\] = 'i' has type \(3,\):int64", wrt=[x, i]),
        case("wrt-twice", ga.GraphError, r"wrt\[1\] = 'x' is given twice", wrt=[x, x]),
        case(
            "x0-count",
            ga.GraphError,
            r"x0 must give one entry per placeholder of wrt \(2\), "
            r"as a list or a dict, got 3 entries",
            x0=[np.zeros(3)] * 3,
        ),
        case("x0-array", ga.GraphError, r"x0 must give one entry .* got ndarray", x0=np.zeros(5)),
        case(
            "x0-shape",
            ga.ShapeError,
            r"x0\[1\] \(for 'y'\) has shape \(3,\), but 'y' has "
            r"shape \(2,\)",
            x0=[np.zeros(3), np.zeros(3)],
        ),
        case(
            "x0-complex",
            ga.DTypeError,
            r"x0\[0\] \(for 'x'\) is complex128",
            x0=[np.zeros(3, complex), np.zeros(2)],
        ),
        case("x0-str", ga.DTypeError, r"x0\[0\] \(for 'x'\) is str", x0=["abc", np.zeros(2)]),
        case("x0-node", ga.GraphError, r"x0\[0\] \(for 'x'\) is a node", x0=[x, np.zeros(2)]),
        case("x0-missing", ga.GraphError, r"x0 has no entry for 'y'", x0={"x": np.zeros(3)}),
        case(
            "x0-twice",
            ga.GraphError,
            r"x0 has two entries \(by placeholder and by name\) for "
            r"'x'",
            x0={x: np.zeros(3), "x": np.zeros(3), "y": np.zeros(2)},
        ),
        case(
            "x0-extra",
            ga.GraphError,
            r"x0 has entries for 'z', which are not in wrt",
            x0={"x": np.zeros(3), "y": np.zeros(2), "z": 1.0},
        ),
        case(
            "method",
            ga.GraphError,
            r"unknown method 'newton'; scipy's methods are "
            r"nelder-mead, .*, or a callable",
            method="newton",
        ),
        case(
            "hessian",
            ga.GraphError,
            r"hessian must be 'auto', 'hess', 'hessp' or None, got "
            r"'full'",
            hessian="full",
        ),
        case(
            "hessian-bfgs",
            ga.GraphError,
            r"method 'BFGS' uses no Hessian",
            method="BFGS",
            hessian="hess",
        ),
        case(
            "hessp-exact",
            ga.GraphError,
            r"method 'trust-exact' needs the full Hessian",
            method="trust-exact",
            hessian="hessp",
        ),
        case(
            "none-ncg",
            ga.GraphError,
            r"method 'trust-ncg' needs the Hessian or its products",
            method="trust-ncg",
            hessian=None,
        ),
        case(
            "jac",
            ga.GraphError,
            r"minimize: jac= is not taken: the gradient is built",
            jac=lambda v: v,
        ),
        case(
            "args",
            ga.GraphError,
            r"minimize: args= is not taken: give the other "
            r"placeholders' values as feeds=",
            args=(1,),
        ),
        case("hessp-option", ga.GraphError, r"hessp= is not taken", hessp=lambda v, p: p),
        case("feeds-list", ga.FeedError, r"feeds must be a dict .* got list", feeds=[1.0]),
        case(
            "feeds-missing",
            ga.FeedError,
            r"f needs placeholder\(s\) 'data' \(3,\):float64 "
            r"\(made at test_minimize.py:\d+\); vary them \(wrt\) or give",
            feeds={},
        ),
        case(
            "feeds-wrt",
            ga.FeedError,
            r"feeds gives 'x', which is in wrt",
            feeds={data: np.ones(3), "x": np.ones(3)},
        ),
        case(
            "feeds-unknown",
            ga.FeedError,
            r"feeds key 'datum' is not a placeholder f needs; "
            r"the placeholders to feed are 'data'",
            feeds={"datum": 1.0},
        ),
        case(
            "feeds-twice",
            ga.FeedError,
            r"feeds gives 'data' twice",
            feeds={data: np.ones(3), "data": np.ones(3)},
        ),
        case(
            "feeds-shape",
            ga.FeedError,
            r"minimize: placeholder 'data' has shape \(3,\) but "
            r"was fed shape \(4,\)",
            feeds={data: np.ones(4)},
        ),
        case(
            "bounds-count",
            ga.GraphError,
            r"bounds must give one entry per placeholder",
            bounds=[(0, 1)] * 5,
        ),
        case(
            "bounds-pair",
            ga.GraphError,
            r"bounds\[1\] \(for 'y'\) must be a pair \(lower, "
            r"upper\) or None, got float",
            bounds=[None, 1.0],
        ),
        case(
            "bounds-list",
            ga.GraphError,
            r"the lower bound in bounds\[0\] is list; give None, "
            r"a number or a NumPy array",
            bounds=[([0, 0, 0], None), None],
        ),
        case(
            "bounds-shape",
            ga.ShapeError,
            r"the upper bound in bounds\[1\] has shape \(3,\), "
            r"which does not broadcast to \(2,\)",
            bounds=[None, (0, np.ones(3))],
        ),
        case(
            "options",
            ga.GraphError,
            r"minimize: executor_options: unknown Executor "
            r"option\(s\) 'jit'",
            executor_options={"jit": True},
        ),
    ]


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [c[1:] for c in bad_inputs()],
    ids=[c[0] for c in bad_inputs()],
)
def test_bad_inputs_name_minimize_the_argument_and_the_line(
    kwargs: dict[str, Any], exc: type[Exception], message: str
) -> None:
    kwargs = dict(kwargs)
    f, wrt, x0 = kwargs.pop("f"), kwargs.pop("wrt"), kwargs.pop("x0")
    with pytest.raises(exc, match=message + ".*" + HERE):
        ga.minimize(f, wrt, x0, **kwargs)


def test_a_single_placeholder_takes_its_bounds_as_one_pair() -> None:
    x = ga.placeholder("x", (2,))
    f = ga.sum((x - 3) ** 2)
    with pytest.raises(ga.GraphError, match=r"the lower bound in bounds is tuple.*" + HERE):
        ga.minimize(f, x, np.zeros(2), bounds=[(0, 1), (0, 1)])  # scipy's pairs: refused
    with pytest.raises(ga.GraphError, match=r"bounds \(for 'x'\) must be a pair.*" + HERE):
        ga.minimize(f, x, np.zeros(2), bounds=[(0, 1)] * 3)


def test_the_full_hessian_needs_known_shapes() -> None:
    x = ga.placeholder("x", (None,))
    with pytest.raises(
        ga.ShapeError, match=r"method 'trust-exact' uses the full Hessian.*'x' has shape \(\?,\)"
    ):
        ga.minimize(rosenbrock(x), x, np.zeros(3), method="trust-exact")
