"""Expressions typed on the command line, such as ``sin(x) * exp(y) / (1 + x**2)``, as graphs.

Parsed with Python's ``ast`` and a whitelist (numbers, names, ``+ - * / ** @``,
unary minus and graphad's elementwise functions); nothing is ever ``eval``-ed.
Every other name is a scalar placeholder.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable

from graphad import ops
from graphad.ir import GraphError, Node, constant, placeholder

FUNCTIONS: dict[str, Callable[..., Node]] = {
    name: getattr(ops, name)
    for name in (
        *("abs", "arccos", "arcsin", "arctan", "cos", "cosh", "exp", "expm1", "log", "log1p"),
        *("relu", "sigmoid", "sign", "sin", "sinh", "sqrt", "square", "tan", "tanh"),
        *("maximum", "minimum", "power", "xlogy"),
    )
}
CONSTANTS = {"pi": math.pi, "e": math.e}
_BINARY = {
    ast.Add: ops.add,
    ast.Sub: ops.subtract,
    ast.Mult: ops.multiply,
    ast.Div: ops.divide,
    ast.Pow: ops.power,
}


class ExpressionError(GraphError):
    """An expression outside the whitelist; ``column`` (1-based) points at the problem."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column


def _fail(node: ast.AST, message: str) -> ExpressionError:
    return ExpressionError(message, getattr(node, "col_offset", 0) + 1)


def parse(text: str, variables: dict[str, Node] | None = None) -> tuple[Node, dict[str, Node]]:
    """The graph of ``text`` and its variables ``{name: scalar placeholder}``.

    f, xs = parse("sin(x) * exp(y)")     # xs == {"x": ..., "y": ...}
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty", 1)
    text = text.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        # no offset: the text ended where more was expected
        raise ExpressionError(f"invalid syntax: {e.msg}", e.offset or len(text) + 1) from None
    found = {} if variables is None else variables

    def build(node: ast.AST) -> Node:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise _fail(node, f"only numbers are allowed, not {node.value!r}")
            return constant(float(node.value))
        if isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise _fail(node, f"{node.id} is a function: call it, e.g. {node.id}(x)")
            if node.id in CONSTANTS:
                return constant(CONSTANTS[node.id])
            if node.id not in found:
                found[node.id] = placeholder(node.id, shape=())
            return found[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](build(node.left), build(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = build(node.operand)
            return ops.negative(operand) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise _fail(node.func, f"{type(node.func).__name__} is not allowed here")
            if node.func.id not in FUNCTIONS:
                known = ", ".join(FUNCTIONS)
                raise _fail(node, f"unknown function {node.func.id}; known: {known}")
            if node.keywords:
                raise _fail(node.keywords[0], "keyword arguments are not allowed")
            try:
                return FUNCTIONS[node.func.id](*(build(a) for a in node.args))
            except TypeError as e:
                raise _fail(node, f"{node.func.id}: {e}") from None
        raise _fail(node, f"{type(node).__name__} is not allowed here")

    return build(tree.body), found
