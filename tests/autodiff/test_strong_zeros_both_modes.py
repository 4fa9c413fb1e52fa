"""The examples of issue 16, item 5: answers that depended on the mode.

Every product of a derivative and a partial is 0 where either is 0 (the rule, in
:class:`graphad.ops.elementwise.Products`), so ``norm(x)`` at 0 (an infinite cotangent from
sqrt meets x²'s zero partial in reverse mode; a zero tangent meets sqrt's infinite partial
in forward mode) and ``where(x < 100, exp(x), 0)`` at 1000 (a zero cotangent meets
exp(1000) = inf) have derivative 0 in reverse mode, forward mode and both ``jacobian``
modes, in every Executor mode.  ``debug=True`` stops where a node first makes inf from
finite inputs, which is what it is for: sqrt's partial at 0, exp at 1000.
"""

from __future__ import annotations

import numpy as np
import pytest
from runtime.modes import in_every_mode

import graphad as ga


def derivatives(y: ga.Node, x: ga.Node) -> dict[str, ga.Node]:
    """y's derivative in x every way there is (y a vector: its sum in reverse mode)."""
    tangent = np.ones(x.shape)
    return {
        "gradients": ga.gradients(ga.sum(y), x),
        "jvp": ga.jvp(y, x, tangent),
        "jacobian_reverse": ga.jacobian(y, x, mode="reverse"),
        "jacobian_forward": ga.jacobian(y, x, mode="forward"),
        "hvp": ga.hvp(ga.sum(y), x, tangent),
    }


def check_every_mode(fetches: dict[str, ga.Node], feeds: dict, want: dict[str, object]) -> None:
    for mode, values in in_every_mode(fetches, feeds, skip=("debug",)).items():
        for name, value in values.items():
            np.testing.assert_array_equal(value, want[name], err_msg=f"{mode}: {name}")
    with pytest.raises(ga.ExecutionError, match="made NaN or inf from finite inputs"):
        ga.Executor(fetches, debug=True).run(feeds)


def test_the_norm_at_zero_has_derivative_zero_in_every_mode() -> None:
    x = ga.placeholder("x", (2,))
    n = ga.linalg.norm(x)
    fetches = {**derivatives(ga.reshape(n, (1,)), x), "value": n}
    del fetches["hvp"]  # (I - x̂·x̂ᵀ)/|x|: the second derivative is infinite at 0
    want = {
        "value": 0.0,
        "gradients": [0.0, 0.0],
        "jvp": [0.0],
        "jacobian_reverse": [[0.0, 0.0]],
        "jacobian_forward": [[0.0, 0.0]],
    }
    check_every_mode(fetches, {x: [0.0, 0.0]}, want)
    away = ga.evaluate(fetches["gradients"], {x: [3.0, 4.0]})
    np.testing.assert_allclose(away, [0.6, 0.8])  # x / |x| where it exists


def test_an_untaken_branch_that_overflows_has_derivative_zero_in_every_mode() -> None:
    x = ga.placeholder("x", (2,))
    y = ga.where(x < 100, ga.exp(x), 0.0)
    fetches = {**derivatives(y, x), "value": y}
    want = {
        "value": [0.0, 1.0],
        "gradients": [0.0, 1.0],
        "jvp": [0.0, 1.0],
        "jacobian_reverse": [[0.0, 0.0], [0.0, 1.0]],
        "jacobian_forward": [[0.0, 0.0], [0.0, 1.0]],
        "hvp": [0.0, 1.0],
    }
    check_every_mode(fetches, {x: [1000.0, 0.0]}, want)


@pytest.mark.parametrize(
    "build",
    [
        lambda x: ga.where(x < 100, ga.sin(ga.exp(x)), 0.0),  # cos(inf) is NaN
        lambda x: ga.where(x < 1e200, ga.square(x), 0.0),  # 2x overflows
        lambda x: ga.where(x > 0, x * ga.log(x), 0.0),  # log's partial at 0, times x
        lambda x: ga.where(x < 100, ga.cosh(x) * ga.tanh(x), 0.0),  # a product of two
    ],
    ids=["sin_exp", "square", "x_log_x", "cosh_tanh"],
)
def test_a_zero_adjoint_stays_zero_through_any_partial(build: object) -> None:
    """Partials that are infinite or NaN where they overflow or meet an infinite input, not
    only where the derivative itself is infinite (log at 0): a where's zero adjoint and
    zero tangent stay 0 through every op."""
    x = ga.placeholder("x", (3,))
    y = build(x)  # type: ignore[operator]
    xv = np.array([1e308, 0.0, 1000.0])
    for name, value in ga.evaluate(derivatives(y, x), {x: xv}).items():
        assert np.all(np.isfinite(value)), (name, value)
