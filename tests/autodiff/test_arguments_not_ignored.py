"""Arguments that were accepted and ignored (issue 16, items 15 and 17): each is a typed error
naming the function and the argument, or does what it says.  Also: a derivative with
respect to x holds x, so x is fed by name as by node whether or not the derivative's value
depends on it."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.numerical import numerical_gradient, numerical_jacobian


def test_a_tangent_left_out_is_refused_not_taken_as_zero() -> None:
    x = ga.placeholder("x", (2,))
    y = ga.sum(ga.sin(x) ** 2)
    with pytest.raises(ga.DifferentiationError, match=r"jvp: the tangent for x = x is None"):
        ga.jvp(y, x, None)
    with pytest.raises(ga.DifferentiationError, match=r"hvp: the tangent for x = x is None"):
        ga.hvp(y, x, None)


def test_none_in_a_list_of_tangents_is_that_x_left_out(run: Any) -> None:
    x, w = ga.placeholder("x", (2,)), ga.placeholder("w", ())
    y = ga.sum(ga.sin(x)) * w
    t = ga.jvp(y, [x, w], [np.ones(2), None])
    value = np.array([0.5, 1.0])
    np.testing.assert_allclose(run(t, {x: value, w: np.array(2.0)}), 2 * np.cos(value).sum())


def test_none_stays_an_absent_entry_inside_a_structure(run: Any) -> None:
    q = ga.placeholder("q", type=(ga.TensorType((2,)), ga.TensorType(())))
    y = ga.sum(q[0] * q[1])
    t = ga.jvp(y, q, (np.ones(2), None))
    assert run(t, {q: (np.array([1.0, 2.0]), np.array(3.0))}) == 6.0


@pytest.mark.parametrize("kind", ["bogus", "", 3])
def test_sort_kind_is_checked_by_numpys_rule(kind: Any) -> None:
    m = ga.placeholder("m", (3, 3))
    with pytest.raises(ga.GraphError, match=r"^sort\(\(3, 3\):float64\): sort kind must be"):
        ga.sort(m, kind=kind)
    with pytest.raises(ga.GraphError, match=r"^argsort\(.*\): sort kind must be"):
        np.argsort(m, kind=kind)
    with pytest.raises(ga.GraphError, match=r"^partition\(.*\): select kind must be"):
        ga.partition(m, 1, kind="bogus")


def test_numpys_sort_kinds_are_accepted_and_give_the_stable_order(run: Any) -> None:
    m = ga.placeholder("m", (4,))
    value = np.array([3.0, 1.0, 3.0, 2.0])
    for kind in ("quicksort", "q", "mergesort", "heapsort", "stable"):
        np.testing.assert_array_equal(run(ga.argsort(m, kind=kind), {m: value}), [1, 3, 0, 2])
    np.testing.assert_array_equal(run(ga.sort(m, stable=True), {m: value}), np.sort(value))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda y: ga.Executor(y, optimize="no"), "Executor: optimize must be True or False"),
        (lambda y: ga.Executor(y, debug=None), "Executor: debug must be True or False"),
        (lambda y: ga.evaluate(y, {"x": 1.0}, optimize="false"), "optimize must be True or"),
        (
            lambda y: ga.function(y.inputs[0], y, optimize="no"),
            "optimize must be True or False",
        ),
        (lambda y: ga.Executor(y).run({"x": 1.0}, compute="yes"), "compute must be True or"),
    ],
)
def test_switches_must_be_booleans(make: Any, message: str) -> None:
    y = ga.sin(ga.placeholder("x", ()))
    with pytest.raises(ga.GraphError, match=message):
        make(y)


def test_numpy_bools_are_switches() -> None:
    x = ga.placeholder("x", ())
    assert ga.Executor(x * 1.0, optimize=np.False_).optimized is False


def test_numerical_derivatives_take_a_placeholder_by_name_as_an_executor_does() -> None:
    x = ga.placeholder("x", (2,))
    y = ga.sum(ga.sin(x))
    value = np.array([0.1, 0.7])
    by_node = numerical_gradient(y, x, {x: value})
    np.testing.assert_allclose(numerical_gradient(y, "x", {"x": value}), by_node)
    np.testing.assert_allclose(numerical_jacobian(y, "x", {x: value}), by_node)
    np.testing.assert_allclose(by_node, np.cos(value), rtol=1e-8)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: numerical_jacobian(np.sin, "abc"), "numerical_jacobian: x is not an array: .abc"),
        (lambda: numerical_jacobian(np.sin, [1j]), "numerical_jacobian: x must be real numbers"),
        (lambda: numerical_jacobian(np.sin, [[1.0], [2.0, 3.0]]), "x is not an array"),
        (lambda: numerical_jacobian(3, 1.0), "f must be a graph node or a function"),
        (lambda: numerical_jacobian(np.sin, 1.0, method="back"), "method must be 'central'"),
        (
            lambda: numerical_gradient(ga.sum(ga.placeholder("x", ())), "z", {}),
            "numerical_gradient: f has no placeholder named 'z'; its placeholders are 'x'",
        ),
        (
            lambda: numerical_gradient(ga.sum(ga.placeholder("x", ())), "x", {}),
            "numerical_gradient: feed_dict has no value for x = 'x'",
        ),
    ],
)
def test_numerical_derivatives_refuse_bad_arguments_by_name(call: Any, message: str) -> None:
    with pytest.raises(ga.GraphError, match=message) as info:
        call()
    assert "test_arguments_not_ignored.py:" in str(info.value)


@pytest.mark.parametrize(
    "what", ["float", "int", "complex", "index", "np.asarray", "bool"], ids=lambda w: w
)
def test_a_node_as_a_python_number_is_a_graph_error_naming_the_line(what: str) -> None:
    x = ga.placeholder("x", ())
    calls = {
        "float": lambda: float(x),
        "int": lambda: int(x),
        "complex": lambda: complex(x),
        "index": lambda: [1, 2][x],  # type: ignore[index]
        "np.asarray": lambda: np.asarray(x),
        "bool": lambda: bool(x),
    }
    with pytest.raises(ga.GraphError, match=r"node x .*until the graph runs") as info:
        calls[what]()
    assert "test_arguments_not_ignored.py:" in str(info.value)


DERIVATIVES = {
    "jacobian[unconnected]": lambda x, z: ga.jacobian(ga.sin(z), x),
    "jacobian[unconnected_forward]": lambda x, z: ga.jacobian(ga.sin(z), x, mode="forward"),
    "jacobian[linear]": lambda x, z: ga.jacobian(2 * x, x),
    "hessian[unconnected]": lambda x, z: ga.hessian(ga.sum(ga.sin(z)), x),
    "hessian[quadratic]": lambda x, z: ga.hessian(ga.sum(x * x), x),
    "gradients[unconnected]": lambda x, z: ga.gradients(ga.sum(ga.sin(z)), x),
}


@pytest.mark.parametrize("name", list(DERIVATIVES))
def test_a_derivative_with_respect_to_x_is_fed_x_by_name_in_every_mode(run: Any, name: str) -> None:
    x, z = ga.placeholder("x", (2,)), ga.placeholder("z", (3,))
    d = DERIVATIVES[name](x, z)
    feeds = {"x": np.array([0.5, -1.0])}
    if any(n is z for n in ga.ir.topo_sort([d])):
        feeds["z"] = np.ones(3)
    by_name = run(d, feeds)
    by_node = ga.evaluate(d, {x: feeds["x"], **({z: feeds["z"]} if "z" in feeds else {})})
    np.testing.assert_array_equal(by_name, by_node)


def test_the_hold_on_x_costs_nothing_once_optimised() -> None:
    x = ga.placeholder("x", (2,))
    (j,) = ga.optimize([ga.jacobian(2 * x, x)])
    assert isinstance(j.op, ga.ir.Constant)


def test_a_namesake_placeholder_is_named_in_the_missing_feed_error() -> None:
    x = ga.placeholder("x", (2,))
    copy = pickle.loads(pickle.dumps(x))
    with pytest.raises(ga.FeedError, match=r"missing feed.*'x'.*a different placeholder of the"):
        ga.evaluate(ga.sum(x), {copy: np.ones(2)})
    assert ga.evaluate(ga.sum(x), {"x": np.ones(2)}) == 2.0  # by name, as the error says
