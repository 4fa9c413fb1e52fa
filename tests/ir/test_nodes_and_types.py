"""The IR: nodes, operators and methods, types, dtype rules, op and constant equality."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.ir import (
    Constant,
    TensorType,
    broadcast_shapes,
    format_shape,
    topo_sort,
)
from graphad.ops.comparison import Equal, NotEqual
from graphad.ops.elementwise import Add, Multiply
from graphad.ops.reduction import Max, Sum

RNG = np.random.default_rng(1)
A = RNG.standard_normal((2, 3))
B = RNG.uniform(0.5, 2.0, (2, 3))
M = RNG.standard_normal((3, 4))


def _line() -> int:
    """The caller's line number."""
    return sys._getframe(1).f_lineno


# -- nodes ---------------------------------------------------------------------
@pytest.mark.parametrize("attribute", ["op", "inputs", "type", "name", "origin", "id", "other"])
def test_node_attributes_cannot_be_set_or_deleted(attribute: str) -> None:
    x = ga.placeholder("x", shape=(2,))
    y = x + 1
    with pytest.raises(AttributeError):
        setattr(y, attribute, None)
    with pytest.raises(AttributeError):
        delattr(y, attribute)
    assert y.name and y.inputs[0] is x and isinstance(y.op, Add)


def test_inputs_are_a_tuple() -> None:
    x = ga.placeholder("x", shape=(2,))
    y = x * x
    assert y.inputs == (x, x)
    assert isinstance(y.inputs, tuple)


def test_eq_builds_an_equal_node() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.placeholder("y", shape=(3,))
    eq, ne, eq_scalar = x == y, x != y, x == 2.0
    assert isinstance(eq, ga.Node) and isinstance(eq.op, Equal) and eq.inputs == (x, y)
    assert isinstance(ne.op, NotEqual)
    assert eq.dtype == np.bool_ and eq.shape == (3,)
    got = ga.evaluate([eq, ne, eq_scalar], {x: [1.0, 2.0, 3.0], y: [1.0, 0.0, 3.0]})
    assert got[0].tolist() == [True, False, True]
    assert got[1].tolist() == [False, True, False]
    assert got[2].tolist() == [False, True, False]


def test_nodes_hash_by_identity() -> None:
    x1 = ga.placeholder("x", shape=(2,))
    x2 = ga.placeholder("x", shape=(2,))
    assert hash(x1) == object.__hash__(x1)
    table = {x1: "first", x2: "second"}
    assert len(table) == 2 and table[x1] == "first" and table[x2] == "second"
    s1, s2 = x1 + 1, x1 + 1  # structurally equal, still two nodes
    assert len({s1, s2}) == 2


def test_truth_value_of_a_node_is_an_error() -> None:
    x = ga.placeholder("x", shape=())
    with pytest.raises(ga.GraphError, match="truth value"):
        bool(x)
    with pytest.raises(ga.GraphError):
        if x > 0:
            pass
    with pytest.raises(ga.GraphError):
        _ = x and x


def test_user_nodes_have_a_user_origin_with_the_line() -> None:
    line = _line() + 1
    x = ga.placeholder("x", shape=(2,))
    y = ga.sin(x)
    for node in (x, y):
        assert node.origin.kind == "user" and node.origin.order == 0
    assert x.origin.location == f"test_nodes_and_types.py:{line}"
    assert y.origin.location == f"test_nodes_and_types.py:{line + 1}"


def test_static_facts() -> None:
    x = ga.placeholder("x", shape=(2, None), dtype="float32")
    assert x.shape == (2, None) and x.ndim == 2 and x.dtype == np.float32
    assert len(x) == 2
    assert x.type == TensorType((2, None), np.float32)
    unknown = ga.placeholder("u")
    assert unknown.shape is None and unknown.ndim is None


# -- operators and methods -----------------------------------------------------
Build = Callable[..., Any]
OPERATORS: list[tuple[str, Build]] = [
    ("add", lambda a, b, m: a + b),
    ("radd", lambda a, b, m: 2.0 + a),
    ("sub", lambda a, b, m: a - b),
    ("rsub", lambda a, b, m: 1.0 - a),
    ("mul", lambda a, b, m: a * b),
    ("rmul", lambda a, b, m: 3 * a),
    ("div", lambda a, b, m: a / b),
    ("rdiv", lambda a, b, m: 1.0 / b),
    ("pow", lambda a, b, m: b**a),
    ("pow_scalar", lambda a, b, m: a**2),
    ("rpow", lambda a, b, m: 2.0**a),
    ("matmul", lambda a, b, m: a @ m),
    ("matmul_vector", lambda a, b, m: a[0] @ m),
    ("neg", lambda a, b, m: -a),
    ("lt", lambda a, b, m: a < b),
    ("le", lambda a, b, m: a <= b),
    ("gt", lambda a, b, m: a > b),
    ("ge", lambda a, b, m: a >= b),
    ("broadcast_row", lambda a, b, m: a + b[0]),
    ("T", lambda a, b, m: a.T),
    ("reshape_args", lambda a, b, m: a.reshape(3, 2)),
    ("reshape_tuple", lambda a, b, m: a.reshape((6, 1))),
    ("reshape_minus_one", lambda a, b, m: a.reshape(-1)),
    ("transpose_none", lambda a, b, m: a.transpose()),
    ("transpose_args", lambda a, b, m: m.reshape(2, 3, 2).transpose(2, 0, 1)),
    ("transpose_tuple", lambda a, b, m: m.reshape(2, 3, 2).transpose((1, 2, 0))),
    ("sum", lambda a, b, m: a.sum()),
    ("sum_axis", lambda a, b, m: m.sum(axis=1)),
    ("sum_axes_keepdims", lambda a, b, m: m.sum(axis=(0, 1), keepdims=True)),
    ("mean", lambda a, b, m: m.mean(axis=0)),
    ("mean_negative_axis", lambda a, b, m: m.mean(-1, keepdims=True)),
    ("max", lambda a, b, m: m.max()),
    ("max_axis", lambda a, b, m: m.max(axis=0)),
    ("min_axis", lambda a, b, m: m.min(axis=1, keepdims=True)),
    ("astype_float32", lambda a, b, m: a.astype("float32")),
    ("astype_int", lambda a, b, m: (a * 3).astype(np.int64)),
]


@pytest.mark.parametrize("build", [b for _, b in OPERATORS], ids=[n for n, _ in OPERATORS])
def test_operators_and_methods_follow_numpy(build: Build) -> None:
    a, b, m = (ga.placeholder(n, shape=v.shape) for n, v in (("a", A), ("b", B), ("m", M)))
    node = build(a, b, m)
    expected = np.asarray(build(A, B, M))
    got = ga.evaluate(node, {a: A, b: B, m: M})
    assert node.shape == expected.shape
    assert node.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.asarray(got).dtype == expected.dtype


INDEXES: list[Any] = [
    1,
    -1,
    (slice(None), slice(1, None)),
    slice(None, None, -1),
    (None, Ellipsis),
    (Ellipsis, 0),
    (1, None, slice(None, None, 2)),
    (slice(None), -2, None),
    [0, 2, 2],
    (slice(None), [3, 0]),
    (np.array([[0], [2]]), np.array([1, 3])),
    (1, [0, 0, 3]),
    np.array([True, False, True]),
]


@pytest.mark.parametrize("index", INDEXES, ids=[repr(i) for i in INDEXES])
def test_getitem_forms_follow_numpy(index: Any) -> None:
    value = np.arange(12.0).reshape(3, 4)
    x = ga.placeholder("x", shape=(3, 4))
    node = x[index]
    expected = value[index]
    assert node.shape == expected.shape
    np.testing.assert_array_equal(ga.evaluate(node, {x: value}), expected)


def test_getitem_with_an_index_node() -> None:
    value = np.arange(5.0) * 10
    x = ga.placeholder("x", shape=(5,))
    i = ga.placeholder("i", shape=(3,), dtype="int64")
    node = x[i]
    assert node.shape == (3,)
    got = ga.evaluate(node, {x: value, i: np.array([4, 0, 4])})
    np.testing.assert_array_equal(got, [40.0, 0.0, 40.0])


# -- dtypes --------------------------------------------------------------------
def test_python_scalars_are_weak() -> None:
    x = ga.placeholder("x", shape=(3,), dtype="float32")
    i = ga.placeholder("i", shape=(3,), dtype="int32")
    for node in (x * 2.0, 2.0 * x, x + 1, x - 1.5, x / 3, x**2, 1.0 / x, -x):
        assert node.dtype == np.float32, node
    assert ga.evaluate(x * 2.0, {x: np.ones(3, np.float32)}).dtype == np.float32
    assert (i + 1).dtype == np.int32
    assert (i * 2.5).dtype == (np.ones(3, np.int32) * 2.5).dtype  # NumPy 2: float64


DTYPES = ["bool", "int8", "int32", "int64", "float32", "float64"]


@pytest.mark.parametrize("left", DTYPES)
@pytest.mark.parametrize("right", DTYPES)
def test_dtype_promotion_follows_numpy(left: str, right: str) -> None:
    a = ga.placeholder("a", shape=(2,), dtype=left)
    b = ga.placeholder("b", shape=(2,), dtype=right)
    av, bv = np.ones(2, left), np.ones(2, right)
    node = a * b
    assert node.dtype == (av * bv).dtype
    assert ga.evaluate(node, {a: av, b: bv}).dtype == node.dtype


def test_arrays_become_constants_with_their_dtype() -> None:
    x = ga.placeholder("x", shape=(3,), dtype="float32")
    assert (x + np.ones(3, np.float32)).dtype == np.float32
    assert (x + np.ones(3)).dtype == np.float64  # arrays are not weak, as in NumPy
    node = ga.add(x, [1.0, 2.0, 3.0])
    assert isinstance(node.inputs[1].op, Constant)


# -- op and constant equality --------------------------------------------------
def test_ops_compare_by_class_and_attributes() -> None:
    assert Sum(0, False) == Sum(0, False)
    assert hash(Sum(0, False)) == hash(Sum(0, False))
    assert Sum(0, False) != Sum(1, False)
    assert Sum(0, False) != Sum(0, True)
    assert Sum(0, False) != Max(0, False)  # same attributes, another class
    assert Add() == Add() and Add() != Multiply()
    x = ga.placeholder("x", shape=(2, 3))
    y = ga.placeholder("y", shape=(2, 3))
    assert x.sum(axis=1).op == y.sum(axis=1).op
    assert x.sum(axis=1).op != x.sum(axis=0).op
    assert (x + y).op == (y + 1.0).op


def test_no_public_op_class_is_a_subclass_of_another() -> None:
    """A rewrite matching ``Max`` must not fire on ``Min``: shared code lives in private bases."""
    made = {type(n.op) for n in _one_of_each()}
    clashes = [
        (a.__name__, b.__name__) for a in made for b in made if a is not b and issubclass(a, b)
    ]
    assert len(made) == len(_one_of_each())
    assert not clashes


def _one_of_each() -> list[ga.Node]:
    x = ga.placeholder("x_hier", shape=(2, 3))
    return [
        ga.max(x),
        ga.min(x),
        ga.var(x),
        ga.std(x),
        ga.argmax(x),
        ga.argmin(x),
        ga.softmax(x),
        ga.log_softmax(x),
        ga.zeros_like(x),
        ga.ones_like(x),
        ga.maximum(x, 1.0),
        ga.minimum(x, 1.0),
        x + 1,
        x * 2,
        -x,
        ga.exp(x),
        ga.sum(x),
    ]


def test_constants_compare_by_value() -> None:
    c1 = ga.constant([1.0, 2.0])
    c2 = ga.constant(np.array([1.0, 2.0]))
    assert c1 is not c2
    assert c1.op == c2.op and hash(c1.op) == hash(c2.op)
    assert c1.op != ga.constant([1, 2]).op  # dtype differs
    assert c1.op != ga.constant([[1.0, 2.0]]).op  # shape differs
    assert c1.op != ga.constant([1.0, 3.0]).op


def test_placeholders_are_never_equal() -> None:
    p1 = ga.placeholder("p", shape=(2,))
    p2 = ga.placeholder("p", shape=(2,))
    assert p1.op != p2.op


def test_constant_owns_a_read_only_copy() -> None:
    source = np.array([1.0, 2.0])
    c = ga.constant(source)
    source[0] = 100.0
    value = ga.evaluate(c)
    assert value.tolist() == [1.0, 2.0]
    assert not c.op.value.flags.writeable
    value[1] = -1.0  # a fetched value belongs to the caller: writing it leaves the graph alone
    assert ga.evaluate(c).tolist() == [1.0, 2.0]


# -- types and graph walks -----------------------------------------------------
def test_tensor_types() -> None:
    t = TensorType((2, None), "float32")
    assert t.dtype == np.dtype(np.float32) and not t.is_static and t.size is None
    assert t.accepts((2, 7)) and not t.accepts((3, 7)) and not t.accepts((2, 7, 1))
    assert TensorType(None, "float64").accepts((1, 2, 3))
    assert TensorType((2, 3), "float64").size == 6
    assert str(t) == "(2, ?):float32"
    assert format_shape(None) == "(...)" and format_shape((4,)) == "(4,)"
    with pytest.raises(ga.ShapeError):
        TensorType((2, -1), "float64")


@pytest.mark.parametrize(
    ("shapes", "expected"),
    [
        (((3, 1), (1, 4)), (3, 4)),
        (((), (2, 3)), (2, 3)),
        (((5, 1, 4), (3, 1)), (5, 3, 4)),
        (((None, 1), (4,)), (None, 4)),
        (((None, 3), (2, 3)), (2, 3)),
        (((None,), (1,)), (None,)),
        (((2, 3), None), None),
    ],
)
def test_broadcast_shapes(shapes: tuple[Any, ...], expected: Any) -> None:
    assert broadcast_shapes(*shapes) == expected


def test_broadcast_shapes_that_do_not_fit() -> None:
    with pytest.raises(ga.ShapeError, match=r"\(2, 3\).*\(4, 3\)"):
        broadcast_shapes((2, 3), (4, 3))


def test_topo_sort_orders_inputs_first_and_visits_each_node_once() -> None:
    x = ga.placeholder("x", shape=())
    a = ga.sin(x)
    b = a * a
    c = a + b
    order = topo_sort([c, b])
    assert order == [x, a, b, c]


def test_topo_sort_is_iterative() -> None:
    x = ga.placeholder("x", shape=())
    y = x
    for _ in range(3 * sys.getrecursionlimit()):
        y = -y
    order = topo_sort([y])
    assert order[0] is x and order[-1] is y and len(order) == 3 * sys.getrecursionlimit() + 1


def test_placeholder_arguments_are_checked() -> None:
    with pytest.raises(ga.GraphError):
        ga.placeholder("", shape=(2,))
    with pytest.raises(ga.DTypeError):
        ga.placeholder("x", shape=(2,), dtype="no-such-dtype")
