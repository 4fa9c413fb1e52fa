"""Float specialisation: 0-d float64 values as Python floats, their ops as ``math`` calls.

A Python float operation costs a tenth of a NumPy call on a 0-d array.  The results agree
with NumPy to rounding where both are defined; where NumPy would give inf or NaN, Python
raises instead (``1.0 / 0.0``, ``math.log(0.0)``, ``math.exp(1e3)``), and the generated
code falls back to the NumPy version of the whole plan for that run.
"""

from __future__ import annotations

import math

import numpy as np

from graphad.ir import Node, TensorType
from graphad.ops import elementwise as ew

FLOAT64 = np.dtype(np.float64)
# exact classes: a user's subclass may compute something else
TEMPLATES: dict[type, str] = {
    ew.Add: "({0} + {1})",
    ew.Subtract: "({0} - {1})",
    ew.Multiply: "({0} * {1})",
    ew.Divide: "({0} / {1})",
    ew.Negative: "(-{0})",
    ew.Square: "({0} * {0})",
    ew.Power: "m_pow({0}, {1})",
    # a float is false exactly when it is ±0.0 (NaN is true): the strong zeros' test
    ew.MultiplyNoNan: "({0} * {1} if {0} and {1} else 0.0)",
    ew.Xdivy: "({0} / {1} if {0} else 0.0)",
    ew.Exp: "m_exp({0})",
    ew.Log: "m_log({0})",
    ew.Log1p: "m_log1p({0})",
    ew.Expm1: "m_expm1({0})",
    ew.Sqrt: "m_sqrt({0})",
    ew.Sin: "m_sin({0})",
    ew.Cos: "m_cos({0})",
    ew.Tan: "m_tan({0})",
    ew.Arcsin: "m_asin({0})",
    ew.Arccos: "m_acos({0})",
    ew.Arctan: "m_atan({0})",
    ew.Sinh: "m_sinh({0})",
    ew.Cosh: "m_cosh({0})",
    ew.Tanh: "m_tanh({0})",
    ew.Abs: "abs({0})",
}
NAMESPACE = {
    "m_pow": math.pow,
    "m_exp": math.exp,
    "m_log": math.log,
    "m_log1p": math.log1p,
    "m_expm1": math.expm1,
    "m_sqrt": math.sqrt,
    "m_sin": math.sin,
    "m_cos": math.cos,
    "m_tan": math.tan,
    "m_asin": math.asin,
    "m_acos": math.acos,
    "m_atan": math.atan,
    "m_sinh": math.sinh,
    "m_cosh": math.cosh,
    "m_tanh": math.tanh,
}
# Python signals what NumPy turns into inf or NaN: then the NumPy version runs instead
FALLBACK_ERRORS = (ArithmeticError, ValueError)


def is_scalar_float(node: Node) -> bool:
    t = node.type
    return isinstance(t, TensorType) and t.shape == () and t.dtype == FLOAT64


def lowers(node: Node) -> bool:
    """Whether ``node`` runs as a Python float expression."""
    if type(node.op) is ew.AddN:
        return is_scalar_float(node) and all(is_scalar_float(x) for x in node.inputs)
    return (
        type(node.op) in TEMPLATES
        and is_scalar_float(node)
        and all(is_scalar_float(x) for x in node.inputs)
    )


def expression(node: Node, args: list[str]) -> str:
    """The Python expression computing ``node`` from its inputs' float expressions."""
    if type(node.op) is ew.AddN:
        return "(" + " + ".join(args) + ")"
    return TEMPLATES[type(node.op)].format(*args)
