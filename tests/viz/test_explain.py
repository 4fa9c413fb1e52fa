"""``explain``: the reverse sweep written out in the notes' style, symbolic and with numbers."""

from __future__ import annotations

import numpy as np
import pytest

import graphad as ga


def notes() -> tuple[ga.Node, ga.Node]:
    x = ga.placeholder("x", shape=())
    v2 = ga.exp(x, name="v2")
    v3 = ga.add(v2, 1.0, name="v3")
    return x, ga.multiply(v2, v3, name="v4")


def test_the_notes_example_line_by_line() -> None:
    x, v4 = notes()
    lines = ga.explain(v4, x).splitlines()
    assert lines[:4] == ["forward:", "  v₂ = exp(x)", "  v₃ = v₂ + 1.0", "  v₄ = v₂*v₃"]
    assert lines[4:] == [  # each value defined before it is used: the partials, then v̄₂
        "reverse:",
        "  v̄₄ = 1.0",
        "  v̄₃ = v̄₄·∂v₄/∂v₃ = v̄₄*v₂",
        "    v̄₂→₄ = v̄₄·∂v₄/∂v₂ = v̄₄*v₃",
        "    v̄₂→₃ = v̄₃·∂v₃/∂v₂ = v̄₃",
        "  v̄₂ = v̄₂→₄ + v̄₂→₃",
        "  x̄ = v̄₂·∂v₂/∂x = v̄₂*v₂",
    ]


def test_numbers_when_values_are_given() -> None:
    x, v4 = notes()
    x0 = 0.3
    text = ga.explain(v4, x, values={x: x0})
    e = np.exp(x0)
    assert f"  v̄₂ = v̄₂→₄ + v̄₂→₃ = {e + 1 + e:.6g}" in text
    assert f"  x̄ = v̄₂·∂v₂/∂x = v̄₂*v₂ = {(2 * e + 1) * e:.6g}" in text
    assert ga.explain(v4, x, values={"x": x0}) == text  # feeds by name too


def test_matmul_adjoints_read_as_in_the_notes() -> None:
    X = ga.placeholder("X", shape=(4, 3))
    W = ga.placeholder("W", shape=(3, 2))
    Z = ga.matmul(X, W, name="Z")
    text = ga.explain(ga.sum(Z, name="L"), [X, W])
    assert "X̄ = Z̄·∂Z/∂X = Z̄ @ W.T" in text
    assert "W̄ = Z̄·∂Z/∂W = X.T @ Z̄" in text


def test_two_uses_by_one_consumer_are_told_apart() -> None:
    x = ga.placeholder("x", shape=())
    text = ga.explain(ga.multiply(x, x, name="y"), x)
    assert "x̄ = x̄→y[0] + x̄→y[1]" in text


def test_bad_inputs_are_named() -> None:
    x, v4 = notes()
    with pytest.raises(ga.GraphError, match="values must be a feed dict"):
        ga.explain(v4, x, values=[0.0])
    with pytest.raises(ga.DifferentiationError, match="must be a Node"):
        ga.explain("v4", x)
    with pytest.raises(ga.FeedError):
        ga.explain(v4, x, values={"nope": 1.0})


def test_a_y_that_does_not_depend_on_xs_says_so() -> None:
    _, v4 = notes()
    other = ga.placeholder("z", shape=())
    assert ga.explain(v4, other).endswith("v₄ does not depend on the xs: every adjoint is zero")
