"""``explain`` in formula's notation: every value defined before a line uses it, forward values
numbered without gaps, and no internal op's name (issue 17 item 4)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphad as ga

_DELIMITERS = re.compile(r"[\s*+\-/()·,=@∂\[\]]+|\.T\b")
_INTERNAL = ("multiply_no_nan", "xdivy", "add_n", "sum_to", "scatter_add", "tuple_get")


def names_used(text: str) -> list[str]:
    """The names a line's right-hand side refers to (partial names keep their [i])."""
    return [t for t in _DELIMITERS.split(re.sub(r"\[(\d+)\]", r"⟨\1⟩", text)) if t]


def defined_before_used(text: str) -> None:
    """Each line is ``name = …``; a name that some line defines is defined above any use."""
    lines = [line.strip() for line in text.splitlines() if " = " in line]
    lhs = [re.sub(r"\[(\d+)\]", r"⟨\1⟩", line.split(" = ", 1)[0]) for line in lines]
    defined: set[str] = set()
    for name, line in zip(lhs, lines):
        rhs = line.split(" = ", 1)[1]
        for used in names_used(rhs):
            assert used not in lhs or used in defined, f"{used} used before defined: {line}"
        defined.add(name)


def graphs() -> dict[str, tuple[ga.Node, list[ga.Node]]]:
    x, y = ga.placeholder("x", shape=()), ga.placeholder("y", shape=())
    f = ga.sin(x) * ga.exp(y) / (1 + x**2)
    p = ga.placeholder("p", shape=(3,))
    W = ga.placeholder("W", shape=(3, 4))
    readme = ga.sum(ga.tanh(p @ W) ** 2) + 0.5 * ga.sum(p * p)
    gx = ga.gradients(f, x)
    return {
        "quotient": (f, [x, y]),
        "readme": (readme, [p, W]),
        "second order": (gx, [x, y]),  # the sweep over a derivative's graph
        "square": (x * x, [x]),
        "indexing": (ga.sum(p[1:] * p[:-1]) + p[0] ** 3, [p]),
    }


@pytest.mark.parametrize("name", list(graphs()))
def test_every_value_is_defined_before_it_is_used(name: str) -> None:
    y, xs = graphs()[name]
    text = ga.explain(y, xs)
    defined_before_used(text)
    for internal in _INTERNAL:
        assert f"{internal}(" not in text, text


def test_the_quotient_rule_lists_the_shared_quotient_first() -> None:
    """v̄₅'s partial reuses v̄₃ = v̄₆/v₅ (the division shares it): v̄₃ comes first, and the
    strong-zero products read * and /."""
    y, xs = graphs()["quotient"]
    lines = ga.explain(y, xs).splitlines()
    reverse = lines[lines.index("reverse:") + 1 :]
    assert reverse[:3] == [
        "  v̄₆ = 1.0",
        "  v̄₃ = v̄₆·∂v₆/∂v₃ = v̄₆/v₅",
        "  v̄₅ = v̄₆·∂v₆/∂v₅ = -(v̄₃*v₆)",
    ]


def test_forward_values_are_numbered_without_gaps() -> None:
    y, xs = graphs()["quotient"]
    text = ga.explain(y, xs)
    forward = text.split("reverse:")[0].splitlines()[1:]
    assert [line.split(" = ")[0].strip() for line in forward] == [f"v{s}" for s in "₁₂₃₄₅₆"]
    # a number a user's name takes is skipped, not repeated
    x = ga.placeholder("x", shape=())
    v1 = ga.exp(x, name="v1")
    text = ga.explain(ga.sin(v1) * v1, x)
    assert text.splitlines()[1:4] == ["  v₁ = exp(x)", "  v₂ = sin(v₁)", "  v₃ = v₂*v₁"]


def test_values_are_those_the_gradient_runs() -> None:
    y, xs = graphs()["quotient"]
    x0, y0 = 0.7, 0.1
    text = ga.explain(y, xs, values={"x": x0, "y": y0})
    gx, gy = ga.evaluate(ga.gradients(y, xs), {"x": x0, "y": y0})
    assert text.splitlines()[-1].endswith(f" = {gx:.6g}")
    assert f"ȳ = v̄₂·∂v₂/∂y = v̄₂*v₂ = {gy:.6g}" in text
    assert np.isfinite(gx) and np.isfinite(gy)
