"""The op functions' arguments that are not nodes: one axis rule (a float axis is an
AxisError everywhere), integer offsets and shifts, NumPy's ddof."""

from __future__ import annotations

import numpy as np
import pytest

import graphad as ga

HERE = "test_arguments.py"


def _a() -> ga.Node:
    return ga.placeholder("a", shape=(2, 3))


AXIS_TAKERS = {
    "concatenate": lambda ax: ga.concatenate([_a(), _a()], axis=ax),
    "stack": lambda ax: ga.stack([_a(), _a()], axis=ax),
    "softmax": lambda ax: ga.softmax(_a(), axis=ax),
    "log_softmax": lambda ax: ga.log_softmax(_a(), axis=ax),
    "sum": lambda ax: ga.sum(_a(), axis=ax),
    "swapaxes": lambda ax: ga.swapaxes(_a(), ax, 1),
    "trace": lambda ax: ga.trace(_a(), 0, ax, 0),  # np.trace(a, offset, axis1, axis2)
    "expand_dims": lambda ax: ga.expand_dims(_a(), ax),
    "split": lambda ax: ga.split(_a(), 2, axis=ax),
    "argmax": lambda ax: ga.argmax(_a(), axis=ax),
    # the NumPy-coverage families go through the same helper
    "cumsum": lambda ax: ga.cumsum(_a(), axis=ax),
    "cumprod": lambda ax: ga.cumprod(_a(), axis=ax),
    "diff": lambda ax: ga.diff(_a(), axis=ax),
    "gradient": lambda ax: ga.gradient(_a(), axis=ax),
    "sort": lambda ax: ga.sort(_a(), axis=ax),
    "argsort": lambda ax: ga.argsort(_a(), axis=ax),
    "partition": lambda ax: ga.partition(_a(), 1, axis=ax),
    "take_along_axis": lambda ax: ga.take_along_axis(_a(), np.zeros((2, 3), int), ax),
    "flip": lambda ax: ga.flip(_a(), axis=ax),
    "roll": lambda ax: ga.roll(_a(), 1, axis=ax),
    "moveaxis": lambda ax: ga.moveaxis(_a(), ax, 0),
    "rollaxis": lambda ax: ga.rollaxis(_a(), ax),
    "repeat": lambda ax: ga.repeat(_a(), 2, axis=ax),
    "append": lambda ax: ga.append(_a(), _a(), axis=ax),
    "array_split": lambda ax: ga.array_split(_a(), 2, axis=ax),
    "diagonal": lambda ax: ga.diagonal(_a(), 0, ax, 0),
    "norm": lambda ax: ga.linalg.norm(_a(), axis=ax),
    "linspace": lambda ax: ga.linspace(_a(), _a(), 3, axis=ax),
}


@pytest.mark.parametrize("name", list(AXIS_TAKERS))
@pytest.mark.parametrize("axis", [1.7, 1.0, "1"])
def test_a_non_integer_axis_is_an_axis_error(name: str, axis) -> None:
    with pytest.raises(ga.AxisError) as info:
        AXIS_TAKERS[name](axis)
    assert name in str(info.value) and HERE in str(info.value)


OFFSET_TAKERS = {  # counts that are not axes: int() would read 1.7 as 1 just the same
    "roll": lambda k: ga.roll(_a(), k, axis=1),
    "trace": lambda k: ga.trace(_a(), k),
    "diagonal": lambda k: ga.diagonal(_a(), k),
    "eye": lambda k: ga.eye(3, k=k),
    "tril": lambda k: ga.tril(_a(), k),
}


@pytest.mark.parametrize("name", list(OFFSET_TAKERS))
@pytest.mark.parametrize("k", [1.7, 1.0])
def test_a_non_integer_offset_or_shift_is_refused(name: str, k) -> None:
    with pytest.raises(ga.GraphError) as info:
        OFFSET_TAKERS[name](k)
    assert name in str(info.value) and HERE in str(info.value)


def test_a_fractional_ddof_is_numpys_not_truncated() -> None:
    a = _a()
    value = np.arange(6.0).reshape(2, 3) ** 2
    for fn in (ga.var, ga.std):
        got = ga.evaluate(fn(a, axis=1, ddof=1.5), {a: value})
        np.testing.assert_allclose(got, getattr(np, fn.__name__)(value, axis=1, ddof=1.5))
    with pytest.raises(ga.DTypeError, match="ddof"):
        ga.var(a, ddof="1")


def test_concatenate_axis_none_flattens_as_numpy() -> None:
    a, b = ga.placeholder("a", shape=(2, 3)), ga.placeholder("b", shape=(4,))
    va, vb = np.arange(6.0).reshape(2, 3), np.arange(4.0)
    y = ga.concatenate([a, b], axis=None)
    assert y.shape == (10,)
    np.testing.assert_array_equal(
        ga.evaluate(y, {a: va, b: vb}), np.concatenate([va, vb], axis=None)
    )
    g = ga.gradients(ga.sum(y * y), a)
    np.testing.assert_allclose(ga.evaluate(g, {a: va, b: vb}), 2 * va)
