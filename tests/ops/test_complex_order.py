"""Complex numbers are ordered as NumPy orders them, lexicographically (real parts first,
then imaginary parts; NaNs last), by every op that orders: max/min and their arg forms,
maximum/minimum/fmax/fmin, clip, relu, the comparisons, sort/argsort/partition/
argpartition.  Each agrees with NumPy on values with ties in the real part and NaNs, in
every Executor mode; an op NumPy does not define on complex numbers refuses them alike.
(The derivatives of these ops on complex inputs are in the op table's complex rows.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphad as ga

NAN = np.nan
Z = np.array([1 + 2j, 1 - 1j, 3 + 0j, -1 + 5j, 1 + 2j, complex(1, NAN), 0j])
W = np.array([1 + 0j, 1 - 1j, 2 + 9j, 0j, 1 + 3j, 2 + 0j, complex(NAN, 0)])

ORDERING: dict[str, Callable[[Any, Any, Any], Any]] = {
    "max": lambda m, a, b: m.max(a[:5]),
    "min": lambda m, a, b: m.min(a[:5]),
    "max[nan]": lambda m, a, b: m.max(a),
    "argmax": lambda m, a, b: m.argmax(a[:5]),
    "argmin": lambda m, a, b: m.argmin(a),
    "maximum": lambda m, a, b: m.maximum(a, b),
    "minimum": lambda m, a, b: m.minimum(a, b),
    "fmax": lambda m, a, b: m.fmax(a, b),
    "fmin": lambda m, a, b: m.fmin(a, b),
    "clip": lambda m, a, b: m.clip(a, 0.5 + 1j, 2 + 1j),
    "relu": lambda m, a, b: ga.relu(a) if m is ga else np.maximum(a, 0),
    "less": lambda m, a, b: m.less(a, b),
    "less_equal": lambda m, a, b: m.less_equal(a, b),
    "greater": lambda m, a, b: m.greater(a, b),
    "greater_equal": lambda m, a, b: m.greater_equal(a, b),
    "operators": lambda m, a, b: (a < b) & (a >= 1) if m is np else ga.logical_and(a < b, a >= 1),
    "sort": lambda m, a, b: m.sort(a),
    "argsort": lambda m, a, b: m.argsort(a, kind="stable"),
    "partition": lambda m, a, b: m.partition(a, 3)[3],
    "argpartition": lambda m, a, b: a[m.argpartition(a, 3)[3]],
}


# Dask computes NumPy's comparisons of NaNs outside the Executor's errstate: it warns
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("name", list(ORDERING))
def test_complex_order_is_numpys_in_every_mode(run: Any, name: str) -> None:
    z = ga.placeholder("z", Z.shape, np.complex128)
    w = ga.placeholder("w", W.shape, np.complex128)
    with np.errstate(invalid="ignore"):  # NumPy warns of the NaNs it compares
        expected = ORDERING[name](np, Z, W)
    got = run(ORDERING[name](ga, z, w), {z: Z, w: W})
    np.testing.assert_array_equal(got, expected)
    assert np.asarray(got).dtype == np.asarray(expected).dtype


def test_a_sort_of_complex_values_passes_cotangents_back_through_the_permutation() -> None:
    z = ga.placeholder("z", (4,), np.complex128)
    u = np.array([1.0, 2j, 3.0, 4j])
    g = ga.gradients(ga.sort(z), z, grad_y=u)
    value = np.array([2 + 1j, 1 + 5j, 2 - 1j, 0j])
    order = np.argsort(value)  # [3, 1, 2, 0]
    expected = np.empty(4, complex)
    expected[order] = u
    np.testing.assert_array_equal(ga.evaluate(g, {z: value}), expected)


@pytest.mark.parametrize("fn", [ga.heaviside, ga.copysign, ga.fmod, ga.logaddexp])
def test_what_numpy_does_not_define_on_complex_numbers_is_refused(fn: Any) -> None:
    z = ga.placeholder("z", (2,), np.complex128)
    with pytest.raises(ga.DTypeError, match="complex128"):
        fn(z, z)
