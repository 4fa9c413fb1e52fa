"""Fed values are checked as the graph's dtype will hold them, in every way a graph runs:
a narrowing cast whose values do not fit (1e300 in float32, 300 in int8) and a masked
array with entries masked out are a FeedError naming the feed, never inf, a wrapped
integer or a mask dropped in silence.  NumPy feeds are checked before anything runs, Dask
feeds lazily, block by block, when the graph computes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphad as ga

CASES = [
    (np.float32, np.array([1e300, 1.0]), "float32: the fed float64 values do not fit"),
    (np.int8, np.array([300, 1]), "int8: the fed int64 values do not fit"),
    (np.uint16, np.array([70000, 1], np.uint32), "uint16: the fed uint32 values do not fit"),
]


@pytest.mark.parametrize(("dtype", "value", "message"), CASES, ids=["f32", "i8", "u16"])
def test_a_value_that_does_not_fit_is_refused_in_every_mode(
    run: Any, dtype: Any, value: np.ndarray, message: str
) -> None:
    x = ga.placeholder("x", (None,), dtype)
    with pytest.raises(ga.FeedError, match=f"placeholder 'x' is {message}"):
        run(ga.sum(x), {x: value})


def test_a_lazy_check_names_the_line_that_fed_it_and_waits_for_compute() -> None:
    da = pytest.importorskip("dask.array")
    x = ga.placeholder("x", (None,), np.int8)
    lazy = ga.Executor(ga.sum(x)).run({x: da.from_array(np.array([3, 300, 1]), chunks=1)})
    with pytest.raises(ga.FeedError, match=r"int8.*\(fed at .*test_feed_values.py:\d+\)"):
        lazy.compute(scheduler="sync")


def test_values_that_fit_are_cast(run: Any) -> None:
    x = ga.placeholder("x", (None,), np.float32)
    i = ga.placeholder("i", (None,), np.int8)
    out = run([ga.sum(x), ga.max(i)], {x: np.array([1.5, 2.0]), i: np.array([100, 127])})
    assert np.asarray(out[0]).dtype == np.float32 and out[0] == 3.5
    assert np.asarray(out[1]).dtype == np.int8 and out[1] == 127


def test_a_masked_feed_with_masked_entries_is_refused(run: Any) -> None:
    x = ga.placeholder("x", (None,))
    masked = np.ma.masked_array([1.0, 1e9, 2.0], mask=[False, True, False])
    with pytest.raises(ga.FeedError, match="placeholder 'x' was fed a masked array"):
        run(ga.sum(x), {x: masked})


def test_a_masked_feed_with_nothing_masked_is_its_data(run: Any) -> None:
    x = ga.placeholder("x", (None,))
    assert run(ga.sum(x), {x: np.ma.masked_array([1.0, 2.0], mask=[False, False])}) == 3.0


def test_a_masked_constant_is_refused_when_made() -> None:
    masked = np.ma.masked_array([1.0, 2.0], mask=[True, False])
    with pytest.raises(ga.GraphError, match="constant: a masked array"):
        ga.constant(masked)
    with pytest.raises(ga.GraphError, match="masked array"):
        ga.placeholder("x", (2,)) + masked


def test_masked_values_outside_feeds_are_refused_where_arrays_are_taken() -> None:
    from graphad.numerical import check_gradients, numerical_gradient

    x = ga.placeholder("x", (2,))
    y = ga.sum(ga.sin(x))
    masked = np.ma.masked_array([1.0, 2.0], mask=[True, False])
    for call in (
        lambda: check_gradients(y, x, {x: masked}),
        lambda: numerical_gradient(y, x, {x: masked}),
        lambda: numerical_gradient(np.sin, masked),
        lambda: ga.minimize(y, x, masked),
    ):
        with pytest.raises(ga.GraphError, match="masked array") as info:
            call()
        assert "test_feed_values.py:" in str(info.value)
