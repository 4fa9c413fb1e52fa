"""``sum_partials``, the one sum of partial derivatives (tangent terms in the families,
partial adjoints in the reverse pass), and the linear families' casts and structures.

Zeros are ``None`` or absent entries and stay out of the sum; terms of one type are one
``add_n`` node, others broadcast; structures are summed entry by entry.
"""

from __future__ import annotations

import numpy as np

import graphad as ga
from graphad.ir import DictType, TensorType, TupleType
from graphad.ops.elementwise import sum_partials
from graphad.ops.structure import entry, make_dict, make_tuple


def test_zeros_are_left_out_and_one_term_is_itself() -> None:
    a = ga.placeholder("a", (3,))
    assert sum_partials([]) is None
    assert sum_partials([None, None]) is None
    assert sum_partials([None, a, None]) is a


def test_terms_of_one_type_are_one_add_n_and_others_broadcast() -> None:
    a, b, c = (ga.placeholder(n, (2, 3)) for n in "abc")
    same = sum_partials([a, None, b, c])
    assert same.op.name == "add_n" and same.inputs == (a, b, c)
    row = ga.placeholder("row", (3,))
    mixed = sum_partials([a, row])
    assert mixed.op.name == "add" and mixed.shape == (2, 3)
    values = {a: np.ones((2, 3)), b: np.full((2, 3), 2.0), c: np.full((2, 3), 3.0)}
    values[row] = np.arange(3.0)
    np.testing.assert_array_equal(ga.evaluate(same, values), np.full((2, 3), 6.0))
    np.testing.assert_array_equal(ga.evaluate(mixed, values), 1 + np.arange(3.0) + np.zeros((2, 1)))


def test_sparse_tuples_sum_entry_by_entry_and_keep_absent_what_none_has() -> None:
    a, b = ga.placeholder("a", (2,)), ga.placeholder("b", (2,))
    total = sum_partials([make_tuple(a, None, None), make_tuple(b, None, a), None])
    assert isinstance(total.type, TupleType) and total.type.items[1] is None
    assert entry(total, 1) is None and entry(total, 2) is a
    assert entry(total, 0).op.name == "add_n"


def test_dicts_follow_the_values_key_order_and_nest() -> None:
    a, b = ga.placeholder("a", ()), ga.placeholder("b", ())
    like = DictType((("x", TensorType(())), ("y", DictType((("z", TensorType(())),)))))
    first = make_dict({"y": make_dict({"z": a})})
    second = make_dict({"x": b, "y": make_dict({"z": b})})
    total = sum_partials([first, second], like)
    assert list(total.type.keys()) == ["x", "y"]  # like's order, not the first term's
    values = ga.evaluate(total, {a: 1.0, b: 2.0})
    assert values == {"x": 2.0, "y": {"z": 3.0}}


def test_partial_adjoints_of_a_structure_sum_sparsely_in_the_reverse_pass() -> None:
    d = ga.placeholder("d", type={"cat": TensorType((2,)), "dog": TensorType((2,))})
    y = ga.sum(d["cat"] * 2.0) + ga.sum(d["cat"] ** 2)
    adjoint = ga.gradients(y, d, unconnected="none")
    assert list(adjoint.type.keys()) == ["cat"]  # d̄ = {"cat": …}: dog took no part
    feeds = {d: {"cat": np.array([1.0, -1.0]), "dog": np.zeros(2)}}
    np.testing.assert_array_equal(ga.evaluate(adjoint, feeds)["cat"], [4.0, 0.0])


def test_cast_is_linear_under_the_complex_convention() -> None:
    """cast to a real dtype keeps the real part: its tangent is Re ż and its transpose sends
    a real cotangent back as a complex one (Re(ȳ·ż) = ȳ·Re ż)."""
    z = ga.placeholder("z", (2,), "complex128")
    zv, dz = np.array([1 + 2j, -3 + 0.5j]), np.array([0.5 - 1j, 2 + 2j])
    y = ga.cast(z, np.float64)
    tangent, grad = ga.evaluate([ga.jvp(y, z, dz), ga.gradients(ga.sum(3 * y), z)], {z: zv})
    np.testing.assert_array_equal(tangent, dz.real)
    assert grad.dtype == np.complex128
    np.testing.assert_array_equal(grad, [3.0, 3.0])
    x = ga.placeholder("x", (2,))
    up = ga.cast(x, np.complex128) * (1 + 1j)  # real -> complex: the transpose takes Re
    g = ga.gradients(up, x, grad_y=np.array([1 - 1j, 2j]))
    np.testing.assert_array_equal(ga.evaluate(g, {x: np.ones(2)}), [2.0, -2.0])


def test_a_cast_from_integers_carries_no_derivative() -> None:
    i, x = ga.placeholder("i", (2,), "int64"), ga.placeholder("x", (2,))
    f = ga.cast(i, np.float64)
    assert f.op.vjp(f, ga.ones_like(f)) == (None,)  # the linear family asks, not the cast
    y = ga.sum(f * x)
    feeds = {i: np.array([2, 3]), x: np.ones(2)}
    np.testing.assert_array_equal(ga.evaluate(ga.gradients(y, x), feeds), [2.0, 3.0])
    assert ga.evaluate(ga.jvp(y, x, np.ones(2)), feeds) == 5.0
