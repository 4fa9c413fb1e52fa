"""The narrowing helpers of the IR: what a rule may assume of a type, or a typed error."""

from __future__ import annotations

import numpy as np
import pytest

import graphad as ga
from graphad.ir import (
    AxisError,
    DTypeError,
    ShapeError,
    TensorType,
    TupleType,
    as_index,
    broadcast_shapes,
    is_static,
    known_shape,
    static_shape,
)


def test_known_shape_of_a_node_or_a_type() -> None:
    x = ga.placeholder("x", shape=(None, 3))
    assert known_shape(x) == (None, 3)
    assert known_shape(x.type) == (None, 3)
    with pytest.raises(ShapeError, match=r"operand needs a known rank, got shape \(\.\.\.\)"):
        known_shape(ga.placeholder("r", shape=None))
    with pytest.raises(DTypeError, match="a pair must be a tensor"):
        known_shape(TupleType((x.type, x.type)), "a pair")
    with pytest.raises(DTypeError, match="must be a tensor, got None"):
        known_shape(None)


def test_static_shape_names_the_unknown_dims() -> None:
    assert static_shape(TensorType((2, 3))) == (2, 3)
    with pytest.raises(ShapeError, match=r"x needs a static shape, got \(\?, 3\)"):
        static_shape(ga.placeholder("x", shape=(None, 3)), "x")


def test_is_static() -> None:
    assert is_static((2, 3)) and is_static(())
    assert not is_static(None) and not is_static((None, 3))


def test_as_index_takes_what_operator_index_takes() -> None:
    assert as_index(np.int64(3), "k") == 3 and type(as_index(np.int64(3), "k")) is int
    for bad in (1.5, "2", None):
        with pytest.raises(AxisError, match="axis must be an int"):
            as_index(bad, "axis", AxisError)


def test_broadcast_shapes_of_no_shapes_and_of_unknown_rank() -> None:
    assert broadcast_shapes() == ()
    assert broadcast_shapes((2, 1), None, (3,)) is None
    assert broadcast_shapes((2, 1), (1,), (3,)) == (2, 3)
