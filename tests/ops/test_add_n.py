"""``add_n``: the sum of its terms, in the dtype it declares, given as arguments or a list."""

from __future__ import annotations

import numpy as np
import pytest

import graphad as ga


@pytest.mark.parametrize(
    "dtypes",
    [("float32", "float32", "float64"), ("int64", "int64", "float64"), ("int8", "int64")],
)
@pytest.mark.parametrize("shape", [(), (2,)])
def test_add_n_of_mixed_dtypes_returns_the_declared_dtype(dtypes, shape) -> None:
    ps = [ga.placeholder(f"p{i}", shape=shape, dtype=d) for i, d in enumerate(dtypes)]
    y = ga.add_n(*ps)
    value = ga.evaluate(y, {p: np.ones(shape, dtype=p.dtype) for p in ps})
    assert y.dtype == np.result_type(*dtypes) == value.dtype
    np.testing.assert_array_equal(value, np.full(shape, len(dtypes)))


def test_add_n_accepts_a_list_as_tensorflow_does() -> None:
    x = ga.placeholder("x", shape=(3,))
    np.testing.assert_array_equal(ga.evaluate(ga.add_n([x, x, x]), {x: np.ones(3)}), 3.0)
