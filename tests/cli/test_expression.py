"""The command line's expression parser: a whitelist over Python's ``ast``, never ``eval``."""

from __future__ import annotations

import math

import pytest

import graphad as ga
from graphad.expression import MAX_DEPTH, MAX_LENGTH, ExpressionError, parse


def test_an_expression_becomes_a_graph_of_scalar_placeholders() -> None:
    f, variables = parse("sin(x) * exp(y) / (1 + x**2) - -pi")
    assert sorted(variables) == ["x", "y"] and variables["x"].shape == ()
    value = ga.evaluate(f, {"x": 0.7, "y": 0.1})
    assert value == pytest.approx(math.sin(0.7) * math.exp(0.1) / 1.49 + math.pi)
    g, _ = parse("maximum(x, 2) + power(x, 3)")
    assert ga.evaluate(g, {"x": 1.0}) == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("", 1, "empty"),
        ("x +", 4, "invalid syntax"),
        ("__import__('os').system('true')", 17, r"attribute access \(.system\) is not allowed"),
        ("x + open('f')", 5, "unknown function open"),
        ("(lambda: 1)()", 2, "lambda is not allowed"),
        ("x if y else 1", 3, r"if \.\.\. else is not allowed"),
        ("sin(x, y=x)", 10, "y= takes a number, True, False or None"),
        ("sin(x, y)", 1, "sin: "),
        ("x @ y", 3, "@ multiplies matrices"),
        ("x ^ 2", 3, r"use \*\* for powers"),
        ("x < y <= 1", 7, "comparisons do not chain"),
        ("sin(x", 4, "was never closed"),
        ("True + x", 1, "only numbers"),
        ("x + sqrt", 5, "sqrt is a function"),
    ],
)
def test_anything_else_is_refused_with_its_column(text: str, column: int, message: str) -> None:
    with pytest.raises(ExpressionError, match=message) as caught:
        parse(text)
    assert caught.value.column == column
    assert isinstance(caught.value, ga.GraphError)


def test_the_limits_refuse_with_one_error_and_no_recursion() -> None:
    """Item 8 of issue 16: these raised OverflowError and RecursionError; the parser now
    walks the tree without recursion and refuses what is past its stated limits."""
    refused = {
        "1" * 401 + " + x": r"the number 111111111111… \(401 characters\) is beyond float64",
        "1e400 * x": r"the number 1e400 is beyond float64's range",
        "0x" + "f" * 300 + " * x": "beyond float64's range",
        "+".join(["x"] * 2000): f"nests more than {MAX_DEPTH} levels deep",
        "-" * 3000 + "x": f"nests more than {MAX_DEPTH} levels deep",
        "**".join(["x"] * 3000): f"nests more than {MAX_DEPTH} levels deep",
        "x+" * 500_000 + "x": f"1000001 characters; at most {MAX_LENGTH}",
        "(" * 300 + "x" + ")" * 300: "invalid syntax: too many nested parentheses",
        "x\x00": "null bytes",
    }
    for text, message in refused.items():
        with pytest.raises(ExpressionError, match=message):
            parse(text)


def test_whatever_the_limits_accept_builds_differentiates_and_runs() -> None:
    """A sum of MAX_DEPTH terms (MAX_DEPTH levels, the innermost x included), as deep a chain
    of minus signs, a product and nested calls: their values and gradients are right."""
    cases = {
        "+".join(["x"] * MAX_DEPTH): (MAX_DEPTH * 0.5, MAX_DEPTH),
        "-" * (MAX_DEPTH - 1) + "x": (-0.5, -1.0),
        "*".join(["x"] * 300): (0.5**300, 300 * 0.5**299),
        "sin(" * 199 + "x" + ")" * 199: (None, None),
        "1" * 308 + " * x": (float("1" * 308) * 0.5, float("1" * 308)),
    }
    for text, (value, slope) in cases.items():
        f, variables = parse(text)
        x = variables["x"]
        got, grad = ga.evaluate([f, ga.gradients(f, x)], {x: 0.5})
        if value is None:  # sin(sin(...)): against the same sum written out in Python
            value, slope = 0.5, 1.0
            for _ in range(199):
                value, slope = math.sin(value), slope * math.cos(value)
        assert got == pytest.approx(value, rel=1e-12)
        assert grad == pytest.approx(slope, rel=1e-12)
    with pytest.raises(ExpressionError, match="nests more than"):
        parse("+".join(["x"] * (MAX_DEPTH + 1)))  # one more term
