"""x**0 is 1 everywhere, so its derivative is 0 everywhere, at x = 0 too and at every
order (JAX and autograd agree; autograd's own test "y=0 at x=0" checks it), in reverse and
forward mode and in every Executor mode: the constant exponent's rule states the partial
0 instead of building 0·x⁻¹, which is NaN at 0 (issue 16, item 4)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from runtime.modes import in_every_mode

import graphad as ga

EXPONENTS: list[tuple[str, Callable[[ga.Node], ga.Node]]] = [
    ("int", lambda s: s**0),
    ("float", lambda s: s**0.0),
    ("constant", lambda s: s ** ga.constant(0.0)),
    ("array", lambda s: s ** np.zeros(3)),
    ("power", lambda s: ga.power(s, 0)),
]


@pytest.mark.parametrize("make", [m for _, m in EXPONENTS], ids=[i for i, _ in EXPONENTS])
def test_the_derivatives_of_x_to_the_zero_are_zero_at_zero(make: Callable) -> None:
    s = ga.placeholder("s", ())
    y = ga.sum(make(s))
    first = ga.gradients(y, s)
    fetches = {
        "value": y,
        "reverse": first,
        "forward": ga.jvp(y, s, 1.0),
        "second": ga.gradients(first, s),
        "forward_second": ga.jvp(ga.jvp(y, s, 1.0), s, 1.0),
        "hessian": ga.hessian(y, s),
        "third": ga.derivative(y, s, order=3),
    }
    for mode, values in in_every_mode(fetches, {s: 0.0}).items():
        assert values.pop("value") == np.size(make(ga.placeholder("p", ()))), mode
        for name, value in values.items():
            assert np.all(value == 0.0), (mode, name, value)


def test_a_placeholder_exponent_of_zero_agrees() -> None:
    """s**e with e fed 0 already gave 0: the constant exponent now matches it, and the
    derivative in e at s = 0 (0⁰·log 0, log 0 taken as 0) is 0 as well.  (``debug=True``
    stops at the partial e·s^(e-1), whose 0⁻¹ = inf is made from finite inputs before the
    strong zero e = 0 takes it back.)"""
    s, e = ga.placeholder("s", ()), ga.placeholder("e", ())
    y = s**e
    grads = ga.gradients(y, [s, e])
    for mode, (gs, ge) in in_every_mode(grads, {s: 0.0, e: 0.0}, skip=("debug",)).items():
        assert gs == 0.0 and ge == 0.0, mode
    x = ga.placeholder("x", (4,))
    away = ga.gradients(ga.sum(x**0.0), x)
    np.testing.assert_array_equal(ga.evaluate(away, {x: [-2.0, 0.0, 3.0, np.inf]}), 0.0)
