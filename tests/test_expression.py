"""The command line's expression parser: a whitelist over Python's ``ast``, never ``eval``."""

from __future__ import annotations

import math

import pytest

import graphad as ga
from graphad.expression import ExpressionError, parse


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
        ("__import__('os').system('true')", 1, "Attribute is not allowed"),
        ("x + open('f')", 5, "unknown function open"),
        ("(lambda: 1)()", 2, "Lambda is not allowed"),
        ("x if y else 1", 1, "IfExp is not allowed"),
        ("sin(x=1)", 5, "keyword arguments"),
        ("sin(x, y)", 1, "sin: "),
        ("x @ y", 1, "BinOp is not allowed"),
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
