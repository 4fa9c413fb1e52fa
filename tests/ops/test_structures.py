"""Tuples and dicts as values: lookups, structured feeds, and adjoints that are structures.

The notes' example runs through the file: d = {"cat": a0, "dog": a1}, b = d["cat"]
gives d̄ = {"cat": b̄} (plus zeros for "dog" unless asked for ``unconnected="none"``).
Every adjoint is checked against a hand-derived value and against central
differences taken one entry of the structure at a time.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.numerical import directional_derivative, numerical_gradient

RNG = np.random.default_rng(4)
Path = tuple[int | str, ...]


def _line() -> int:
    return sys._getframe(1).f_lineno


def _at(value: Any, path: Path) -> Any:
    for key in path:
        value = value[key]
    return value


def _replace(value: Any, path: Path, new: Any) -> Any:
    """A copy of a nested dict/tuple value with the entry at ``path`` replaced."""
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: _replace(v, rest, new) if k == key else v for k, v in value.items()}
    return tuple(_replace(v, rest, new) if i == key else v for i, v in enumerate(value))


def _fd_entry(y: ga.Node, p: ga.Node, value: Any, path: Path) -> np.ndarray:
    """∂ sum(y)/∂ p[path] by central differences, moving that one entry of the feed."""
    ex = ga.Executor(y)

    def f(entry: np.ndarray) -> Any:
        return ex.run({p: _replace(value, path, entry)})

    return numerical_gradient(f, _at(value, path))


def _assert_structure_equal(got: Any, want: Any) -> None:
    """Same Python kinds, same keys in the same order, the same values exactly."""
    if isinstance(want, (dict, tuple)) or want is None:
        assert type(got) is type(want), (got, want)
    else:  # NumPy gives a 0-d result as an array or as a scalar, as its kernels do
        assert isinstance(got, (np.ndarray, np.generic)), got
    if isinstance(want, dict):
        assert list(got) == list(want)
        for k in want:
            _assert_structure_equal(got[k], want[k])
    elif isinstance(want, tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _assert_structure_equal(g, w)
    elif want is None:
        assert got is None
    else:
        np.testing.assert_array_equal(got, want)
        assert np.shape(got) == np.shape(want)


NESTED = {"cat": ga.TensorType((3,)), "dog": (ga.TensorType((2,)), ga.TensorType(()))}


def _nested_value() -> dict[str, Any]:
    return {
        "cat": RNG.standard_normal(3),
        "dog": (RNG.standard_normal(2), np.array(RNG.uniform(0.5, 1.5))),
    }


# -- building and running ----------------------------------------------------------
def test_make_tuple_and_make_dict_are_values_the_executor_returns_as_python_structures() -> None:
    a = ga.placeholder("a", shape=(2,))
    c = ga.placeholder("c", shape=())
    t = ga.make_tuple(a, c * 2.0)
    d = ga.make_dict({"pair": t, "single": ga.sin(c)})
    assert isinstance(t.type, ga.TupleType) and isinstance(d.type, ga.DictType)
    assert d.type.keys() == ("pair", "single")
    av, cv = np.array([1.0, -2.0]), np.array(0.5)
    got_t, got_d = ga.evaluate([t, d], {a: av, c: cv})
    _assert_structure_equal(got_t, (av, np.float64(1.0)))
    _assert_structure_equal(got_d, {"pair": (av, np.float64(1.0)), "single": np.sin(cv)})


def test_lookups_give_the_entries_with_their_types() -> None:
    a = ga.placeholder("a", shape=(2,))
    c = ga.placeholder("c", shape=(), dtype="int64")
    d = ga.make_dict({"a": a, "t": ga.make_tuple(c, a * 3.0)})
    assert d["a"].type == a.type
    assert d["t"][0].type == ga.TensorType((), np.int64)
    assert d["t"][-1].type == ga.TensorType((2,))
    av = np.array([1.0, 2.0])
    got = ga.evaluate([d["a"], d["t"][0], d["t"][-1]], {a: av, c: np.array(7)})
    np.testing.assert_array_equal(got[0], av)
    assert got[1] == 7
    np.testing.assert_array_equal(got[2], 3 * av)


def test_structured_placeholder_is_fed_with_nested_dicts_and_tuples() -> None:
    p = ga.placeholder("d", type=NESTED)
    dog = ga.TupleType((ga.TensorType((2,)), ga.TensorType(())))
    assert p.type == ga.DictType((("cat", ga.TensorType((3,))), ("dog", dog)))
    value = _nested_value()
    y = ga.sum(p["cat"]) * p["dog"][1] + ga.sum(p["dog"][0])
    ex = ga.Executor({"p": p, "y": y, "dog": p["dog"]})
    got = ex.run({p: value})
    _assert_structure_equal(got["p"], value)
    _assert_structure_equal(got["dog"], value["dog"])
    want = np.sum(value["cat"]) * value["dog"][1] + np.sum(value["dog"][0])
    np.testing.assert_allclose(got["y"], want)
    # by name, and a list where the type says tuple
    again = ex.run({"d": {"cat": value["cat"], "dog": list(value["dog"])}})
    np.testing.assert_allclose(again["y"], want)
    assert type(again["p"]["dog"]) is tuple


# -- the notes' example: d = {"cat": a0, "dog": a1}, b = d["cat"] ---------------------
def _notes() -> tuple[ga.Node, ga.Node, ga.Node, ga.Node, dict[ga.Node, np.ndarray]]:
    a0 = ga.placeholder("a0", shape=(2,))
    a1 = ga.placeholder("a1", shape=(3,))
    d = ga.make_dict({"cat": a0, "dog": a1})
    b = d["cat"]
    return a0, a1, d, b, {a0: np.array([0.5, -1.0]), a1: np.array([1.0, 2.0, 3.0])}


B_BAR = np.array([0.25, -4.0])


def test_notes_example_dict_adjoint_has_dogs_zeros() -> None:
    _, _, d, b, feeds = _notes()
    d_bar = ga.gradients(b, d, grad_y=ga.constant(B_BAR))
    assert isinstance(d_bar.type, ga.DictType)
    assert d_bar.type.keys() == ("cat", "dog")
    _assert_structure_equal(ga.evaluate(d_bar, feeds), {"cat": B_BAR, "dog": np.zeros(3)})


def test_notes_example_unconnected_none_keeps_only_the_looked_up_key() -> None:
    _, _, d, b, feeds = _notes()
    d_bar = ga.gradients(b, d, grad_y=ga.constant(B_BAR), unconnected="none")
    assert d_bar.type.keys() == ("cat",)
    _assert_structure_equal(ga.evaluate(d_bar, feeds), {"cat": B_BAR})


def test_notes_example_gradients_with_respect_to_the_entries() -> None:
    a0, a1, _, b, feeds = _notes()
    g0, g1 = ga.evaluate(ga.gradients(b, [a0, a1], grad_y=ga.constant(B_BAR)), feeds)
    np.testing.assert_array_equal(g0, B_BAR)
    np.testing.assert_array_equal(g1, np.zeros(3))
    sparse = ga.gradients(b, [a0, a1], unconnected="none")
    assert sparse[1] is None
    np.testing.assert_array_equal(ga.evaluate(sparse[0], feeds), np.ones(2))  # seed of ones


def test_notes_example_with_a_tuple() -> None:
    a0 = ga.placeholder("a0", shape=(2,))
    a1 = ga.placeholder("a1", shape=(3,))
    t = ga.make_tuple(a0, a1)
    b = t[0]
    feeds = {a0: np.array([0.5, -1.0]), a1: np.array([1.0, 2.0, 3.0])}
    t_bar = ga.gradients(b, t, grad_y=ga.constant(B_BAR))
    _assert_structure_equal(ga.evaluate(t_bar, feeds), (B_BAR, np.zeros(3)))
    sparse = ga.gradients(b, t, grad_y=ga.constant(B_BAR), unconnected="none")
    _assert_structure_equal(ga.evaluate(sparse, feeds), (B_BAR, None))  # absent: None
    g0, g1 = ga.evaluate(ga.gradients(b, [a0, a1], grad_y=ga.constant(B_BAR)), feeds)
    np.testing.assert_array_equal(g0, B_BAR)
    np.testing.assert_array_equal(g1, np.zeros(3))


def test_notes_example_with_a_structured_placeholder() -> None:
    d = ga.placeholder("d", type={"cat": ga.TensorType((2,)), "dog": ga.TensorType((3,))})
    b = d["cat"]
    value = {"cat": np.array([0.5, -1.0]), "dog": np.array([1.0, 2.0, 3.0])}
    dense = ga.gradients(b, d, grad_y=ga.constant(B_BAR))
    sparse = ga.gradients(b, d, grad_y=ga.constant(B_BAR), unconnected="none")
    got_dense, got_sparse = ga.evaluate([dense, sparse], {d: value})
    _assert_structure_equal(got_dense, {"cat": B_BAR, "dog": np.zeros(3)})
    _assert_structure_equal(got_sparse, {"cat": B_BAR})


def test_notes_example_with_exp_against_finite_differences() -> None:
    d = ga.placeholder("d", type={"cat": ga.TensorType((2,)), "dog": ga.TensorType((3,))})
    b = ga.sum(ga.exp(d["cat"]))
    value = {"cat": np.array([0.5, -1.0]), "dog": np.array([1.0, 2.0, 3.0])}
    got = ga.evaluate(ga.gradients(b, d), {d: value})
    np.testing.assert_allclose(got["cat"], np.exp(value["cat"]))
    np.testing.assert_allclose(got["cat"], _fd_entry(b, d, value, ("cat",)), rtol=1e-8)
    np.testing.assert_array_equal(got["dog"], _fd_entry(b, d, value, ("dog",)))  # both exact 0


# -- adjoints of nested and repeatedly read structures ------------------------------
def _nested_function(p: ga.Node) -> ga.Node:
    """y = Σ sin(cat)·s + s² with s = dog[1]; dog[0] is never read."""
    s = p["dog"][1]
    return ga.sum(ga.sin(p["cat"]) * s) + ga.square(s)


def test_nested_placeholder_adjoint_against_hand_derivation_and_finite_differences() -> None:
    p = ga.placeholder("d", type=NESTED)
    y = _nested_function(p)
    value = _nested_value()
    cat, (_, s) = value["cat"], value["dog"]
    dense, sparse = ga.evaluate(
        [ga.gradients(y, p), ga.gradients(y, p, unconnected="none")], {p: value}
    )
    want = {"cat": np.cos(cat) * s, "dog": (np.zeros(2), np.sum(np.sin(cat)) + 2 * s)}
    assert type(dense) is dict and type(dense["dog"]) is tuple
    assert list(dense) == ["cat", "dog"]
    np.testing.assert_allclose(dense["cat"], want["cat"], rtol=1e-12)
    np.testing.assert_array_equal(dense["dog"][0], np.zeros(2))
    np.testing.assert_allclose(dense["dog"][1], want["dog"][1], rtol=1e-12)
    for path in [("cat",), ("dog", 0), ("dog", 1)]:
        np.testing.assert_allclose(
            _at(dense, path), _fd_entry(y, p, value, path), rtol=1e-7, atol=1e-9
        )
    # sparse: dog[0] took no part, so the tuple marks it absent
    assert list(sparse) == ["cat", "dog"]
    assert sparse["dog"][0] is None
    np.testing.assert_allclose(sparse["dog"][1], want["dog"][1], rtol=1e-12)


def test_a_key_read_twice_and_every_tuple_entry_accumulate_entry_by_entry() -> None:
    p = ga.placeholder("d", type=NESTED)
    y = ga.sum(p["cat"] * p["cat"]) + ga.sum(p["dog"][0]) * p["dog"][1] + p["dog"][1]
    value = _nested_value()
    cat, (v, s) = value["cat"], value["dog"]
    got = ga.evaluate(ga.gradients(y, p), {p: value})
    np.testing.assert_allclose(got["cat"], 2 * cat)
    np.testing.assert_allclose(got["dog"][0], np.full(2, s))
    np.testing.assert_allclose(got["dog"][1], np.sum(v) + 1)


def test_nested_make_dict_of_make_tuple_and_the_leaves_it_was_built_from() -> None:
    a = ga.placeholder("a", shape=(2,))
    c = ga.placeholder("c", shape=())
    nd = ga.make_dict({"pair": ga.make_tuple(a, c), "single": c})
    y = ga.sum(nd["pair"][0]) * nd["pair"][1]  # "single" is never read
    av, cv = np.array([1.0, 2.0]), np.array(3.0)
    feeds = {a: av, c: cv}
    structured, leaves, sparse = ga.evaluate(
        [ga.gradients(y, nd), ga.gradients(y, [a, c]), ga.gradients(y, nd, unconnected="none")],
        feeds,
    )
    _assert_structure_equal(
        structured, {"pair": (np.full(2, cv), np.sum(av)), "single": np.float64(0.0)}
    )
    np.testing.assert_array_equal(leaves[0], np.full(2, cv))
    np.testing.assert_array_equal(leaves[1], np.sum(av))
    assert list(sparse) == ["pair"]


def test_python_containers_of_nodes_nest_inside_make_dict_and_make_tuple() -> None:
    a = ga.placeholder("a", shape=(2,))
    c = ga.placeholder("c", shape=())
    d = ga.make_dict({"pair": (a, c), "cfg": {"s": c}, "m": [[1.0, 2.0], [3.0, 4.0]]})
    t = ga.make_tuple([a, c], (1.0, 2.0))
    assert d.type == ga.DictType(
        (
            ("pair", ga.TupleType((a.type, c.type))),
            ("cfg", ga.DictType((("s", c.type),))),
            ("m", ga.TensorType((2, 2))),  # a list of numbers stays an array constant
        )
    )
    assert t.type == ga.TupleType((ga.TupleType((a.type, c.type)), ga.TensorType((2,))))
    y = ga.sum(d["pair"][0]) * d["cfg"]["s"] + ga.sum(t[0][0])
    av, cv = np.array([1.0, -1.0]), np.array(2.0)
    g_d, g_t = ga.evaluate(ga.gradients(y, [d, t], unconnected="none"), {a: av, c: cv})
    _assert_structure_equal(g_d, {"pair": (np.full(2, cv), None), "cfg": {"s": np.sum(av)}})
    _assert_structure_equal(g_t, ((np.ones(2), None), None))


def test_adjoint_of_a_structure_counts_only_the_paths_through_it() -> None:
    a = ga.placeholder("a", shape=(2,))
    d = ga.make_dict({"cat": a})
    y = ga.sum(d["cat"] * 3.0) + ga.sum(a * a)  # a also reaches y around d
    av = np.array([1.0, -2.0])
    d_bar, a_bar = ga.evaluate(ga.gradients(y, [d, a]), {a: av})
    np.testing.assert_array_equal(d_bar["cat"], [3.0, 3.0])
    np.testing.assert_array_equal(a_bar, 3.0 + 2 * av)


def test_structure_valued_y_with_a_structured_grad_y_is_a_vjp() -> None:
    p = ga.placeholder("d", type=NESTED)
    out = ga.make_dict({"s": ga.sin(p["cat"]), "t": p["dog"][1] * 3.0})
    u = np.array([1.0, 0.0, 2.0])
    full = ga.make_dict({"s": ga.constant(u), "t": ga.constant(np.array(-1.0))})
    only_s = ga.make_dict({"s": ga.constant(u)})  # a sparse cotangent: "t" carries zero
    value = _nested_value()
    got_full, got_s = ga.evaluate(
        [ga.gradients(out, p, grad_y=full), ga.gradients(out, p, grad_y=only_s)], {p: value}
    )
    np.testing.assert_allclose(got_full["cat"], u * np.cos(value["cat"]))
    np.testing.assert_array_equal(got_full["dog"][1], -3.0)
    np.testing.assert_allclose(got_s["cat"], u * np.cos(value["cat"]))
    np.testing.assert_array_equal(got_s["dog"][1], 0.0)


# -- higher order ---------------------------------------------------------------
def test_second_order_through_a_dict() -> None:
    """z = Σ (∂y/∂w)² + ∂y/∂b for y = Σ sin(w)·b + b²; ∂z/∂w = cos w (1 - 2b² sin w)."""
    p = ga.placeholder("p", type={"w": ga.TensorType((3,)), "b": ga.TensorType(())})
    y = ga.sum(ga.sin(p["w"]) * p["b"]) + ga.square(p["b"])
    g = ga.gradients(y, p)
    assert isinstance(g.type, ga.DictType)
    z = ga.sum(ga.square(g["w"])) + g["b"]
    h = ga.gradients(z, p)
    value = {"w": np.array([0.1, -0.7, 1.3]), "b": np.array(0.5)}
    w, b = value["w"], value["b"]
    got = ga.evaluate(h, {p: value})
    np.testing.assert_allclose(got["w"], np.cos(w) * (1 - 2 * b**2 * np.sin(w)), rtol=1e-12)
    np.testing.assert_allclose(got["b"], 2 * b * np.sum(np.cos(w) ** 2) + 2, rtol=1e-12)
    for key in ("w", "b"):
        np.testing.assert_allclose(got[key], _fd_entry(z, p, value, (key,)), rtol=1e-7)


def test_hessian_of_a_function_that_routes_through_structures() -> None:
    x = ga.placeholder("x", shape=(2,))
    t = ga.make_tuple(ga.make_dict({"a": x, "b": x * 2.0}), ga.sin(x))
    f = ga.sum(t[0]["a"] * t[0]["b"] * t[1])  # Σ 2x² sin x
    xv = np.array([0.3, -0.4])
    h = ga.evaluate(ga.hessian(f, x), {x: xv})
    diag = 4 * np.sin(xv) + 8 * xv * np.cos(xv) - 2 * xv**2 * np.sin(xv)
    np.testing.assert_allclose(h, np.diag(diag), rtol=1e-12, atol=1e-15)


# -- forward mode -----------------------------------------------------------------
def test_jvp_with_a_dict_tangent_for_every_key_and_for_some_keys() -> None:
    p = ga.placeholder("d", type=NESTED)
    y = _nested_function(p)
    value = _nested_value()
    cat, (_, s) = value["cat"], value["dog"]
    u = RNG.standard_normal(3)
    full = {"cat": u, "dog": (RNG.standard_normal(2), np.array(0.7))}
    t_full = ga.jvp(y, p, full)
    t_cat = ga.jvp(y, p, {"cat": u})  # the keys not given have zero tangent
    t_dog = ga.jvp(y, p, {"dog": (np.zeros(2), np.array(1.0))})
    got = ga.evaluate([t_full, t_cat, t_dog], {p: value})
    dy_ds = np.sum(np.sin(cat)) + 2 * s
    np.testing.assert_allclose(got[1], np.sum(np.cos(cat) * u * s), rtol=1e-12)
    np.testing.assert_allclose(got[2], dy_ds, rtol=1e-12)
    np.testing.assert_allclose(got[0], got[1] + 0.7 * dy_ds, rtol=1e-12)
    ex = ga.Executor(y)

    def f(c: np.ndarray, v: np.ndarray, s_: np.ndarray) -> Any:
        return ex.run({p: {"cat": c, "dog": (v, s_)}})

    fd = directional_derivative(f, [cat, *value["dog"]], [u, *full["dog"]])
    np.testing.assert_allclose(got[0], fd, rtol=1e-8)


def test_jvp_of_a_structured_output_is_a_structure_with_zeros_where_nothing_moves() -> None:
    p = ga.placeholder("p", type={"w": ga.TensorType((3,)), "b": ga.TensorType(())})
    out = ga.make_dict({"s": ga.sin(p["w"]), "t": ga.make_tuple(p["b"] * 2.0, ga.cos(p["w"]))})
    value = {"w": np.array([0.1, 0.2, 0.3]), "b": np.array(0.5)}
    u = np.array([1.0, -1.0, 2.0])
    t_w = ga.jvp(out, p, {"w": u})
    t_b = ga.jvp(out, p, {"b": np.array(1.0)})
    assert t_w.type == out.type
    got_w, got_b = ga.evaluate([t_w, t_b], {p: value})
    w = value["w"]
    _assert_structure_equal(got_w, {"s": np.cos(w) * u, "t": (np.float64(0.0), -np.sin(w) * u)})
    _assert_structure_equal(got_b, {"s": np.zeros(3), "t": (np.float64(2.0), np.zeros(3))})


def test_jvp_with_respect_to_a_make_dict_node_agrees_with_the_reverse_adjoint() -> None:
    a = ga.placeholder("a", shape=(2,))
    c = ga.placeholder("c", shape=())
    d = ga.make_dict({"x": a, "y": c})
    y = ga.sum(ga.exp(d["x"])) * d["y"]
    av, cv = np.array([0.2, -0.3]), np.array(1.5)
    v = {"x": np.array([1.0, 2.0]), "y": np.array(-0.5)}
    tangent, adjoint = ga.evaluate([ga.jvp(y, d, v), ga.gradients(y, d)], {a: av, c: cv})
    inner = np.sum(adjoint["x"] * v["x"]) + adjoint["y"] * v["y"]  # ⟨d̄, v⟩ = J·v
    np.testing.assert_allclose(tangent, inner, rtol=1e-12)
    np.testing.assert_allclose(tangent, np.sum(np.exp(av) * v["x"]) * cv - 0.5 * np.sum(np.exp(av)))


# -- unconnected and bad input ---------------------------------------------------
def test_unconnected_raise_when_y_skips_the_whole_structure() -> None:
    a0, _, d, _, _ = _notes()
    y = ga.sum(a0 * 2.0)  # reads a0 directly, never d
    line = _line() + 2
    with pytest.raises(ga.DifferentiationError, match=rf"does not depend on x = {d.name}") as e:
        ga.gradients(y, d, unconnected="raise")
    assert f"test_structures.py:{line}" in str(e.value)
    p = ga.placeholder("p", type=NESTED)
    assert ga.gradients(y, p, unconnected="none") is None
    zeros = ga.gradients(y, p)  # the default: zeros of every entry of p
    got = ga.evaluate(zeros, {p: _nested_value(), a0: np.ones(2)})
    _assert_structure_equal(got, {"cat": np.zeros(3), "dog": (np.zeros(2), np.float64(0.0))})


def test_missing_and_extra_keys_in_a_structured_feed_name_the_keys() -> None:
    p = ga.placeholder("d", type=NESTED)
    ex = ga.Executor(ga.sum(p["cat"]))
    value = _nested_value()
    line = _line() + 2
    with pytest.raises(ga.FeedError, match=re.escape("missing ['dog'], unexpected []")) as e:
        ex.run({p: {"cat": value["cat"]}})
    assert "'d'" in str(e.value) and f"test_structures.py:{line}" in str(e.value)
    with pytest.raises(ga.FeedError, match=re.escape("missing [], unexpected ['cow']")):
        ex.run({p: {**value, "cow": np.zeros(1)}})
    with pytest.raises(ga.FeedError, match=re.escape("'d'['dog'] is a tuple of 2 but was fed 3")):
        ex.run({p: {"cat": value["cat"], "dog": (*value["dog"], 1.0)}})
    with pytest.raises(ga.FeedError, match=re.escape("'d'['cat'] has shape (3,) but was fed")):
        ex.run({p: {"cat": np.zeros(4), "dog": value["dog"]}})
    with pytest.raises(ga.FeedError, match=r"'d' is a dict .* but was fed tuple"):
        ex.run({p: (value["cat"], value["dog"])})


def test_missing_key_in_a_nested_dict_feed_names_the_path() -> None:
    outer = {"a": ga.TensorType((2,)), "b": ga.TensorType(())}
    p = ga.placeholder("p", type={"outer": outer, "c": ga.TensorType(())})
    y = ga.sum(p["outer"]["a"]) * p["outer"]["b"] + p["c"]
    with pytest.raises(
        ga.FeedError, match=re.escape("'p'['outer'] expects keys ['a', 'b']: missing ['b']")
    ):
        ga.evaluate(y, {p: {"outer": {"a": np.ones(2)}, "c": np.array(1.0)}})


def test_a_missing_key_fails_at_construction_naming_the_available_keys_and_line() -> None:
    _, _, d, _, _ = _notes()
    p = ga.placeholder("p", type=NESTED)
    for s in (d, p):
        line = _line() + 2
        with pytest.raises(ga.IndexingError) as e:
            s["cow"]
        msg = str(e.value)
        assert "'cow'" in msg and "['cat', 'dog']" in msg
        assert f"test_structures.py:{line}" in msg


def test_out_of_range_tuple_index_fails_at_construction() -> None:
    p = ga.placeholder("p", type=NESTED)
    line = _line() + 2
    with pytest.raises(ga.IndexingError, match="tuple index 2 out of range for 2 items") as e:
        p["dog"][2]
    assert f"test_structures.py:{line}" in str(e.value)
    with pytest.raises(ga.IndexingError, match="tuple index -3 out of range for 2 items"):
        p["dog"][-3]


def test_indexing_a_tuple_with_a_string_or_a_dict_with_an_int_fails() -> None:
    a = ga.placeholder("a", shape=(2,))
    t = ga.make_tuple(a, a)
    line = _line() + 2
    with pytest.raises(ga.IndexingError, match=r"indexed by ints, got 'cat'") as e:
        t["cat"]
    assert f"test_structures.py:{line}" in str(e.value)
    with pytest.raises(ga.IndexingError, match=r"no key 0; the keys are \['x'\]"):
        ga.make_dict({"x": a})[0]


@pytest.mark.parametrize(
    "build",
    [
        lambda a: ga.make_dict({1: a}),
        lambda a: ga.placeholder("bad", type={"x": 3}),
        lambda a: ga.placeholder("bad", type={"x": None}),
    ],
    ids=["non-string key", "not a type", "absent entry"],
)
def test_malformed_structures_are_graph_errors(build: Callable[[ga.Node], Any]) -> None:
    with pytest.raises(ga.GraphError):
        build(ga.placeholder("a", shape=(2,)))


def test_structure_valued_y_needs_a_grad_y() -> None:
    p = ga.placeholder("p", type=NESTED)
    with pytest.raises(ga.DifferentiationError, match=r"is a structure .*give grad_y"):
        ga.gradients(p, p)


def test_structured_tangents_are_checked_entry_by_entry() -> None:
    p = ga.placeholder("p", type={"a": ga.TensorType((2,)), "b": ga.TensorType(())})
    y = ga.sum(p["a"]) * p["b"]
    with pytest.raises(ga.DifferentiationError, match=r"keys among \['a', 'b'\], got \['cow'\]"):
        ga.jvp(y, p, {"cow": np.ones(2)})
    with pytest.raises(ga.DifferentiationError, match=r"\['a'\] is \(3,\):float64 .* \(2,\)"):
        ga.jvp(y, p, {"a": np.ones(3)})
    feeds = {p: {"a": np.array([1.0, 2.0]), "b": np.array(2.0)}}
    assert ga.evaluate(ga.jvp(y, p, {"a": np.ones(2)}), feeds) == pytest.approx(4.0)


def test_none_in_a_tuple_tangent_means_zero_there() -> None:
    q = ga.placeholder("q", type=(ga.TensorType((2,)), ga.TensorType(())))
    y = ga.sum(q[0]) * q[1]
    t = ga.jvp(y, q, (np.ones(2), None))
    assert ga.evaluate(t, {q: (np.ones(2), np.array(3.0))}) == pytest.approx(6.0)
    with pytest.raises(ga.DifferentiationError, match="tuple of 2"):
        ga.jvp(y, q, (np.ones(2),))
