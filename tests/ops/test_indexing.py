"""Indexing has a shape rule per index item, as NumPy's; every mismatch is named when the
node is made, or, against an unknown dim, when values arrive."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import graphad as ga

HERE = "test_indexing.py"


def _line() -> int:
    return sys._getframe(1).f_lineno


X = np.arange(4 * 5 * 6 * 7, dtype=float).reshape(4, 5, 6, 7)
INDICES = [
    (0,),
    (slice(1, 3),),
    (None, 0),
    (Ellipsis, 1),
    (0, Ellipsis, slice(None, None, -2)),
    ([0, 1],),
    (0, [1, 2]),
    ([0, 1], 0),
    ([[0], [1]], slice(None), [0, 2, 3]),
    (slice(None), [0, 1], [1, 2]),
    (slice(None), [0, 1], slice(None), [1, 2]),
    (None, [0], None, [1]),
    (Ellipsis, [0, 1]),
    (1, slice(None), [0, 1]),
    (np.array([True, False, True, True]),),
    (slice(None), np.arange(30).reshape(5, 6) % 3 == 0),
    (np.ones((4, 5), bool), 0),
    (0, slice(None), np.array([True, False] * 3), [1]),
    (slice(-10, 10),),
    (slice(3, 1),),
    ([],),
]


@pytest.mark.parametrize("index", INDICES, ids=str)
@pytest.mark.parametrize("shape", [(4, 5, 6, 7), (None, 5, None, 7), (4, None, 6, None)])
def test_index_shapes_follow_numpy(index, shape) -> None:
    x = ga.placeholder("x", shape=shape)
    y = x[index]
    want = X[index]
    assert len(y.shape) == want.ndim
    assert all(d is None or d == w for d, w in zip(y.shape, want.shape))
    np.testing.assert_array_equal(ga.evaluate(y, {x: X}), want)


@pytest.mark.parametrize(
    ("index", "words"),
    [
        (np.array([True, False, False]), ["boolean index", "axis 0", "size of axis is 2"]),
        (np.array([True]), ["boolean index", "axis 0"]),
        (np.array([[True, False]]), ["boolean index", "axis 0"]),
        ((slice(None), np.array([True, False])), ["boolean index", "axis 1", "is 3"]),
        ((0, 0, 0), ["too many indices"]),
        ((2,), ["index 2 is out of bounds for axis 0 with size 2"]),
        ((0, -4), ["index -4 is out of bounds for axis 1 with size 3"]),
        (([0, 1], [0, 1, 2]), ["could not be broadcast", "(2,) (3,)"]),
        ((Ellipsis, 0, Ellipsis), ["single ellipsis"]),
        ([0, [1, 2]], ["not a valid index"]),
    ],
)
def test_bad_indices_are_named_when_the_node_is_made(index, words) -> None:
    a = ga.placeholder("a", shape=(2, 3))
    line = _line() + 2
    with pytest.raises(ga.IndexingError) as info:
        a[index]
    message = str(info.value)
    for word in [*words, "getitem", f"{HERE}:{line}"]:
        assert word in message, message
    with pytest.raises((IndexError, ValueError)):
        np.zeros((2, 3))[index]  # NumPy refuses each of them too


def test_a_mask_against_an_unknown_dim_is_checked_when_values_arrive() -> None:
    a = ga.placeholder("a", shape=(None, 3))
    y = a[np.array([True, False])]
    np.testing.assert_array_equal(ga.evaluate(y, {a: np.ones((2, 3))}), np.ones((1, 3)))
    with pytest.raises(ga.GraphError, match="boolean index"):
        ga.evaluate(y, {a: np.ones((3, 3))})
