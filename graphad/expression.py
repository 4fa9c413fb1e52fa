"""Expressions typed on the command line, such as ``sin(x) * exp(y) / (1 + x**2)``, as graphs.

Parsed with Python's ``ast`` and a whitelist (numbers, names, ``+ - * / **``,
unary minus and graphad's elementwise functions); nothing is ever ``eval``-ed.
Every other name is a scalar placeholder.

Limits, so that any text ends in a graph or an :class:`ExpressionError`, never a
``RecursionError`` or an ``OverflowError``: at most :data:`MAX_LENGTH` characters;
at most :data:`MAX_DEPTH` levels of nesting, leaves included (``a + b + c`` nests to
the left, so a sum of n terms is n levels deep, and ``--x`` is three); numbers within
float64's range (a literal that rounds to ±inf, such as ``1e400`` or a 400-digit
integer, is refused). Whatever passes them builds, differentiates and runs.
"""

from __future__ import annotations

import ast
import inspect
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
MAX_LENGTH = 10_000  # characters
MAX_DEPTH = 1_000  # levels of nesting; Python's own parser gives up near 3,000
_BINARY = {
    ast.Add: ops.add,
    ast.Sub: ops.subtract,
    ast.Mult: ops.multiply,
    ast.Div: ops.divide,
    ast.Pow: ops.power,
}
_TOO_DEEP = f"the expression nests more than {MAX_DEPTH} levels deep"


class ExpressionError(GraphError):
    """An expression outside the whitelist; ``column`` (1-based) points at the problem."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column


def _fail(node: ast.AST, message: str) -> ExpressionError:
    return ExpressionError(message, getattr(node, "col_offset", 0) + 1)


def _syntax_tree(text: str) -> ast.expr:
    """The ``ast`` of ``text`` (already stripped), or the ExpressionError that says why not."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression has {len(text)} characters; at most {MAX_LENGTH} are read", 1
        )
    try:
        return ast.parse(text, mode="eval").body
    except SyntaxError as e:
        # no offset: the text ended where more was expected
        raise ExpressionError(f"invalid syntax: {e.msg}", e.offset or len(text) + 1) from None
    except (RecursionError, MemoryError):  # CPython's parser on very deep nesting
        raise ExpressionError(_TOO_DEEP, 1) from None
    except ValueError as e:  # a NUL character, before Python 3.11.4 (later a SyntaxError)
        raise ExpressionError(f"invalid syntax: {e}", 1) from None


def _number(node: ast.Constant, text: str) -> Node:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(node, f"only numbers are allowed, not {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float64
        number = math.inf
    if not math.isfinite(number):
        literal = ast.get_source_segment(text, node) or str(value)
        shown = literal if len(literal) <= 20 else f"{literal[:12]}… ({len(literal)} characters)"
        raise _fail(node, f"the number {shown} is beyond float64's range (±1.8e308)")
    return constant(number)


def _children(node: ast.AST) -> list[ast.AST]:
    """The operands of ``node``, left to right, once ``node`` itself passed the whitelist."""
    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise _fail(node, f"{node.id} is a function: call it, e.g. {node.id}(x)")
        return []
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return [node.operand]
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _fail(node.func, f"{type(node.func).__name__} is not allowed here")
        if node.func.id not in FUNCTIONS:
            known = ", ".join(FUNCTIONS)
            raise _fail(node, f"unknown function {node.func.id}; known: {known}")
        if node.keywords:
            raise _fail(node.keywords[0], "keyword arguments are not allowed")
        return list(node.args)
    raise _fail(node, f"{type(node).__name__} is not allowed here")


def _combine(node: ast.AST, operands: list[Node], found: dict[str, Node], text: str) -> Node:
    """The graph node of ``node`` from its operands' nodes (``text``: the source)."""
    if isinstance(node, ast.Constant):
        return _number(node, text)
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return constant(CONSTANTS[node.id])
        if node.id not in found:
            found[node.id] = placeholder(node.id, shape=())
        return found[node.id]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](*operands)
    if isinstance(node, ast.UnaryOp):
        return ops.negative(operands[0]) if isinstance(node.op, ast.USub) else operands[0]
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    fn = FUNCTIONS[node.func.id]
    try:  # the arity, checked here: a function's own error would name the parser's line
        inspect.signature(fn).bind(*operands)
    except TypeError as e:
        raise _fail(node, f"{node.func.id}: {e}") from None
    return fn(*operands)


def parse(text: str, variables: dict[str, Node] | None = None) -> tuple[Node, dict[str, Node]]:
    """The graph of ``text`` and its variables ``{name: scalar placeholder}``.

    f, xs = parse("sin(x) * exp(y)")     # xs == {"x": ..., "y": ...}
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty", 1)
    text = text.strip()
    tree = _syntax_tree(text)
    found = {} if variables is None else variables
    # depth first, left to right, without recursion: each node is checked on the way down
    # (so the first error is the leftmost, in reading order) and built on the way up
    built: dict[int, Node] = {}
    stack: list[tuple[ast.AST, int, list[ast.AST] | None]] = [(tree, 1, None)]
    while stack:
        node, depth, operands = stack.pop()
        if operands is not None:
            inputs = [built.pop(id(c)) for c in operands]
            built[id(node)] = _combine(node, inputs, found, text)
            continue
        if depth > MAX_DEPTH:
            raise _fail(node, _TOO_DEEP)
        operands = _children(node)
        stack.append((node, depth, operands))
        stack.extend((c, depth + 1, None) for c in reversed(operands))
    return built[id(tree)], found
