"""One dtype check for every entry point: non-numeric and unknown dtypes are a DTypeError
naming what was made and the user's line."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import graphad as ga

HERE = "test_dtypes.py"


def _line() -> int:
    return sys._getframe(1).f_lineno


BAD_DTYPES = [object, "U5", "S3", "datetime64[s]", "timedelta64", "V8"]


# issue 7 item 9
@pytest.mark.parametrize("dtype", BAD_DTYPES)
def test_non_numeric_dtypes_are_refused_everywhere(dtype) -> None:
    x = ga.placeholder("x", shape=(2,))
    line = _line() + 2
    with pytest.raises(ga.DTypeError) as info:
        ga.placeholder("p", shape=(2,), dtype=dtype)
    assert "'p'" in str(info.value) and f"{HERE}:{line}" in str(info.value)
    line = _line() + 2
    with pytest.raises(ga.DTypeError) as info:
        ga.cast(x, dtype)
    assert "cast" in str(info.value) and f"{HERE}:{line}" in str(info.value)
    with pytest.raises(ga.DTypeError):
        ga.TensorType((2,), dtype)
    with pytest.raises(ga.DTypeError):
        ga.constant(np.zeros(2, dtype=dtype))


@pytest.mark.parametrize("dtype", ["nope", 3.5, "float33"])
def test_unknown_dtypes_are_a_dtype_error(dtype) -> None:
    with pytest.raises(ga.DTypeError, match="unknown dtype"):
        ga.TensorType((2,), dtype)
    with pytest.raises(ga.DTypeError, match="'p'"):
        ga.placeholder("p", shape=(2,), dtype=dtype)


@pytest.mark.parametrize("dtype", [*BAD_DTYPES, "nope"])
def test_ops_that_take_a_dtype_use_the_same_check(dtype) -> None:
    x = ga.placeholder("x", shape=(3,))
    for name, make in [
        ("eye", lambda: ga.eye(3, dtype=dtype)),
        ("eye", lambda: ga.identity(3, dtype=dtype)),  # identity is eye's
        ("linspace", lambda: ga.linspace(x, x + 1.0, 4, dtype=dtype)),
        ("cumsum", lambda: ga.cumsum(x, dtype=dtype)),
        ("trace", lambda: ga.trace(ga.reshape(x, (3, 1)), dtype=dtype)),
    ]:
        with pytest.raises(ga.DTypeError) as info:
            make()
        assert name in str(info.value) and HERE in str(info.value)
