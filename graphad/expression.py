"""Expressions typed on the command line, such as ``sin(x) * exp(y) / (1 + x**2)``, as graphs.

Parsed with Python's ``ast`` and a whitelist, and never ``eval``-ed: numbers, names, the
operators ``+ - * / % **``, unary minus and plus, one comparison at a time
(``x > 0``), and calls of graphad's elementwise functions (:data:`FUNCTIONS`: every one
graphad has that takes numbers), whose arguments are expressions, and settings where a
function wants one: keywords that are numbers, ``True``, ``False`` or ``None``
(``round(x, decimals=1)``), and ``True``, ``False`` or ``None`` in place
(``clip(x, None, 1)``).  Every other name is a scalar placeholder.  So what
:func:`graphad.formula` writes for a scalar graph reads back here.

An error says what is wrong and where: :class:`ExpressionError`'s ``column`` is the
1-based column (in characters) of the offending token, the operator itself for ``x ^ 2``
("use ** for powers") or ``a < b < c``.

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
import io
import math
import re
import tokenize
from collections.abc import Callable
from typing import Any, TypeGuard

from graphad import ops
from graphad.ir import GraphError, Node, constant, placeholder

FUNCTIONS: dict[str, Callable[..., Node]] = {
    name: getattr(ops, name)
    for name in (
        # arithmetic
        *("add", "add_n", "subtract", "multiply", "divide", "negative", "reciprocal", "power"),
        *("square", "sqrt", "remainder", "mod", "fmod"),
        *("multiply_no_nan", "xdivy", "xlogy"),
        # exponentials, logarithms, trigonometric and hyperbolic functions
        *("exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "logaddexp", "logaddexp2"),
        *("sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "hypot", "sinc"),
        *("sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh"),
        *("deg2rad", "radians", "rad2deg", "degrees", "sigmoid", "relu"),
        # signs, rounding and selection
        *("abs", "fabs", "sign", "copysign", "heaviside", "nan_to_num"),
        *("floor", "ceil", "trunc", "round", "around"),
        *("maximum", "minimum", "fmax", "fmin", "clip", "where"),
        # comparison and logic
        *("equal", "not_equal", "less", "less_equal", "greater", "greater_equal"),
        *("logical_and", "logical_or", "logical_not"),
        # complex parts (of real numbers here)
        *("real", "imag", "conj", "conjugate", "angle", "real_if_close"),
    )
}
CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan}
MAX_LENGTH = 10_000  # characters
MAX_DEPTH = 1_000  # levels of nesting; Python's own parser gives up near 3,000
_BINARY: dict[type, Callable[..., Node]] = {
    ast.Add: ops.add,
    ast.Sub: ops.subtract,
    ast.Mult: ops.multiply,
    ast.Div: ops.divide,
    ast.Mod: ops.remainder,
    ast.Pow: ops.power,
}
_COMPARE: dict[type, Callable[..., Node]] = {
    ast.Eq: ops.equal,
    ast.NotEq: ops.not_equal,
    ast.Lt: ops.less,
    ast.LtE: ops.less_equal,
    ast.Gt: ops.greater,
    ast.GtE: ops.greater_equal,
}
_REFUSED = {  # operators graphad has no scalar meaning for, and what to write instead
    ast.BitXor: "use ** for powers (^ is bitwise xor)",
    ast.MatMult: "@ multiplies matrices; the variables here are numbers: use *",
    ast.FloorDiv: "// is not allowed; use floor(a / b)",
    ast.BitAnd: "& is not allowed; use logical_and(a, b)",
    ast.BitOr: "| is not allowed; use logical_or(a, b)",
    ast.LShift: "<< is not allowed",
    ast.RShift: ">> is not allowed",
    ast.Invert: "~ is not allowed; use logical_not(a)",
    ast.Not: "not is not allowed; use logical_not(a)",
    ast.And: "and is not allowed; use logical_and(a, b)",
    ast.Or: "or is not allowed; use logical_or(a, b)",
    ast.Is: "is is not allowed; use ==",
    ast.IsNot: "is not is not allowed; use !=",
    ast.In: "in is not allowed",
    ast.NotIn: "not in is not allowed",
}
_WORDS = {  # what Python's node names stand for, in the user's terms
    "Subscript": "indexing ([...])",
    "IfExp": "if ... else",
    "Lambda": "lambda",
    "Starred": "unpacking (*)",
    "NamedExpr": "assignment (:=)",
}
_TOO_DEEP = f"the expression nests more than {MAX_DEPTH} levels deep"
_SETTINGS = (int, float, bool, type(None))  # arguments that are settings, not values


class ExpressionError(GraphError):
    """An expression outside the whitelist; ``column`` (1-based) points at the problem."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column


class _Source:
    """The text and its columns: ``ast`` counts UTF-8 bytes from each line's start, a user
    counts characters from the text's start."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")

    def column(self, line: int, byte: int) -> int:
        """The 1-based character column of ``byte`` (0-based) in ``line`` (1-based), counted
        over the whole text (a line break is one character)."""
        before = sum(len(s) + 1 for s in self.lines[: line - 1])
        return before + len(self.lines[line - 1].encode()[:byte].decode(errors="ignore")) + 1

    def start(self, node: ast.AST) -> int:
        return self.column(getattr(node, "lineno", 1), getattr(node, "col_offset", 0))

    def end(self, node: ast.AST) -> int:
        return self.column(getattr(node, "end_lineno", 1), getattr(node, "end_col_offset", 0))

    def token_after(self, node: ast.AST, skip: str = ")") -> int:
        """The column of the first token after ``node`` that is not in ``skip`` (closing
        parentheses): the operator between two operands."""
        at = (getattr(node, "end_lineno", 1), getattr(node, "end_col_offset", 0))
        try:
            for token in tokenize.generate_tokens(io.StringIO(self.text).readline):
                line, col = token.start
                byte = len(self.lines[line - 1][:col].encode())
                if (line, byte) >= at and token.string not in skip and token.string.strip():
                    return self.column(line, byte)
        except (tokenize.TokenError, SyntaxError):  # the text parsed: not expected
            pass
        return self.end(node)

    def fail(self, node: ast.AST, message: str) -> ExpressionError:
        return ExpressionError(message, self.start(node))


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


def _number(node: ast.Constant, source: _Source) -> Node:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise source.fail(node, f"only numbers are allowed, not {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float64
        number = math.inf
    if not math.isfinite(number):
        literal = ast.get_source_segment(source.text, node) or str(value)
        shown = literal if len(literal) <= 20 else f"{literal[:12]}… ({len(literal)} characters)"
        raise source.fail(node, f"the number {shown} is beyond float64's range (±1.8e308)")
    return constant(number)


def _setting(node: ast.AST) -> tuple[bool, Any]:
    """(True, value) for an argument that is a setting: a number, True, False or None,
    signed or not; (False, None) for an expression."""
    sign = 1
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, _SETTINGS):
        value = node.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, sign * value
        return (True, value) if sign == 1 else (False, None)
    return False, None


def _refused(node: ast.AST, source: _Source) -> ExpressionError | None:
    """The error for an operator graphad does not take, pointing at the operator."""
    if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
        message = _REFUSED.get(type(node.op), f"{type(node.op).__name__} is not allowed")
        return ExpressionError(message, source.token_after(node.left))
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd)):
        return source.fail(node, _REFUSED[type(node.op)])
    if isinstance(node, ast.BoolOp):
        return ExpressionError(_REFUSED[type(node.op)], source.token_after(node.values[0]))
    if isinstance(node, ast.Compare):
        for left, op in zip([node.left, *node.comparators], node.ops):
            if type(op) not in _COMPARE:
                return ExpressionError(_REFUSED[type(op)], source.token_after(left))
        if len(node.ops) > 1:
            return ExpressionError(
                "comparisons do not chain here (a < b < c); write logical_and(a < b, b < c)",
                source.token_after(node.comparators[0]),
            )
    return None


def _children(node: ast.AST, source: _Source) -> list[ast.AST]:
    """The operands of ``node``, left to right, once ``node`` itself passed the whitelist."""
    refused = _refused(node, source)
    if refused is not None:
        raise refused
    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise source.fail(node, f"{node.id} is a function: call it, e.g. {node.id}(x)")
        return []
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Compare):
        return [node.left, node.comparators[0]]
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            return _children(node.func, source)  # raises: what is called is no name
        if node.func.id not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise source.fail(node, f"unknown function {node.func.id}; known: {known}")
        for keyword in node.keywords:
            if keyword.arg is None:
                raise source.fail(keyword, "unpacking (**) is not allowed")
            if not _setting(keyword.value)[0]:
                raise source.fail(
                    keyword.value, f"{keyword.arg}= takes a number, True, False or None"
                )
        return [a for a in node.args if not _is_flag(a)]
    if isinstance(node, ast.Attribute):  # point at the dot, not at what it follows
        raise ExpressionError(
            f"attribute access (.{node.attr}) is not allowed", source.end(node.value)
        )
    if isinstance(node, ast.Subscript):
        raise ExpressionError(f"{_WORDS['Subscript']} is not allowed", source.end(node.value))
    if isinstance(node, ast.IfExp):
        raise ExpressionError(f"{_WORDS['IfExp']} is not allowed", source.token_after(node.body))
    what = _WORDS.get(type(node).__name__, type(node).__name__)
    raise source.fail(node, f"{what} is not allowed here")


def _is_flag(node: ast.AST) -> TypeGuard[ast.Constant]:
    """``True``, ``False`` or ``None`` as an argument: a setting (``clip(x, None, 1)``); a
    number there is an operand, a float constant as in ``maximum(x, 2)``."""
    return isinstance(node, ast.Constant) and any(node.value is v for v in (True, False, None))


def _call(node: ast.Call, operands: list[Node], source: _Source) -> Node:
    """The function called on its operands (nodes) and settings (Python values)."""
    it = iter(operands)
    args = [a.value if _is_flag(a) else next(it) for a in node.args]
    keywords = {k.arg: _setting(k.value)[1] for k in node.keywords if k.arg is not None}
    assert isinstance(node.func, ast.Name)  # the whitelist admits calls of names only
    name = node.func.id
    fn = FUNCTIONS[name]
    try:  # the arity, checked here: the function's own error would name the parser's line
        inspect.signature(fn).bind(*args, **keywords)
        out = fn(*args, **keywords)
    except TypeError as e:
        raise source.fail(node, f"{name}: {e}") from None
    except GraphError as e:  # without "(file.py:12)": the line that made the node is ours
        raise source.fail(node, re.sub(r" \([^()]*:\d+\)$", "", str(e))) from None
    if not isinstance(out, Node) or out.shape != ():
        raise source.fail(node, f"{name}(...) here does not give one number")
    return out


def _combine(node: ast.AST, operands: list[Node], found: dict[str, Node], source: _Source) -> Node:
    """The graph node of ``node`` from its operands' nodes."""
    if isinstance(node, ast.Constant):
        return _number(node, source)
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
    if isinstance(node, ast.Compare):
        return _COMPARE[type(node.ops[0])](*operands)
    assert isinstance(node, ast.Call)
    return _call(node, operands, source)


def parse(text: str, variables: dict[str, Node] | None = None) -> tuple[Node, dict[str, Node]]:
    """The graph of ``text`` and its variables ``{name: scalar placeholder}``; names already
    in ``variables`` stand for the nodes given there (the lines a formula names).

    f, xs = parse("sin(x) * exp(y)")     # xs == {"x": ..., "y": ...}
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty", 1)
    text = text.strip()
    tree = _syntax_tree(text)
    source = _Source(text)
    found = {} if variables is None else variables
    # depth first, left to right, without recursion: each node is checked on the way down
    # (so the first error is the leftmost, in reading order) and built on the way up
    built: dict[int, Node] = {}
    stack: list[tuple[ast.AST, int, list[ast.AST] | None]] = [(tree, 1, None)]
    while stack:
        node, depth, operands = stack.pop()
        if operands is not None:
            inputs = [built.pop(id(c)) for c in operands]
            built[id(node)] = _combine(node, inputs, found, source)
            continue
        if depth > MAX_DEPTH:
            raise source.fail(node, _TOO_DEEP)
        operands = _children(node, source)
        stack.append((node, depth, operands))
        stack.extend((c, depth + 1, None) for c in reversed(operands))
    return built[id(tree)], found
