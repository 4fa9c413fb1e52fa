"""Float specialisation: 0-d float64 values as Python floats, their ops as scalar formulas.

A Python float operation costs a tenth of a NumPy call on a 0-d array.  An op that
declares a ``scalar`` formula (see :mod:`graphad.ir.scalar`) runs it here, with each
function the formula calls bound to Python's :mod:`math` function of that name.  The
results agree with NumPy to rounding where both are defined; where NumPy would give inf or
NaN, Python raises instead (``1.0 / 0.0``, ``math.log(0.0)``, ``math.exp(1e3)``), and the
generated code falls back to the NumPy version of the whole plan for that run.
"""

from __future__ import annotations

import math

import numpy as np

from graphad.ir import GraphError, Node, TensorType
from graphad.ir.scalar import FUNCTIONS, functions_of

FLOAT64 = np.dtype(np.float64)
# each function a formula may call, as Python floats run it: math's function of that name
NAMESPACE = {name: getattr(math, name) for name in FUNCTIONS}
# Python signals what NumPy turns into inf or NaN: then the NumPy version runs instead
FALLBACK_ERRORS = (ArithmeticError, ValueError)


def is_scalar_float(node: Node) -> bool:
    t = node.type
    return isinstance(t, TensorType) and t.shape == () and t.dtype == FLOAT64


def lowers(node: Node) -> bool:
    """Whether ``node`` runs as a Python float expression: its op has a scalar formula
    and it and its inputs are 0-d float64."""
    return (
        node.op.scalar is not None
        and is_scalar_float(node)
        and all(is_scalar_float(x) for x in node.inputs)
    )


def expression(node: Node, args: list[str]) -> str:
    """The Python expression computing ``node`` from its inputs' float expressions."""
    op, template = node.op, node.op.scalar
    assert template is not None, "asked of a node that lowers()"
    try:
        functions_of(template, len(args))  # only names this module binds
    except GraphError as e:
        where = f"node {node.name}, made at {node.origin.location}"
        raise type(e)(f"{op.name}: {e} ({where})") from None
    return op.scalar_code(args)
