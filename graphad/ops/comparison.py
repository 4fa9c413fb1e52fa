"""Comparisons and logic: elementwise ops whose result is bool.

They broadcast and promote as NumPy does.  A boolean is piecewise constant
in the operands, so no derivative flows through these ops in either mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import Node
from graphad.ops._constant import ZeroDerivative
from graphad.ops._ufunc import Binary, Unary, binary, unary


@dataclass(frozen=True)
class Compare(ZeroDerivative, Binary):
    """A comparison or logical op: its boolean result is piecewise constant in the operands."""


@dataclass(frozen=True)
class Equal(Compare):
    ufunc = np.equal
    scalar = "({0} == {1})"
    operator = "=="


@dataclass(frozen=True)
class NotEqual(Compare):
    ufunc = np.not_equal
    scalar = "({0} != {1})"
    operator = "!="


@dataclass(frozen=True)
class Less(Compare):
    ufunc = np.less
    scalar = "({0} < {1})"
    operator = "<"


@dataclass(frozen=True)
class LessEqual(Compare):
    ufunc = np.less_equal
    scalar = "({0} <= {1})"
    operator = "<="


@dataclass(frozen=True)
class Greater(Compare):
    ufunc = np.greater
    scalar = "({0} > {1})"
    operator = ">"


@dataclass(frozen=True)
class GreaterEqual(Compare):
    ufunc = np.greater_equal
    scalar = "({0} >= {1})"
    operator = ">="


@dataclass(frozen=True)
class LogicalAnd(Compare):
    ufunc = np.logical_and
    scalar = "({0} != 0 and {1} != 0)"


@dataclass(frozen=True)
class LogicalOr(Compare):
    ufunc = np.logical_or
    scalar = "({0} != 0 or {1} != 0)"


@dataclass(frozen=True)
class LogicalNot(ZeroDerivative, Unary):
    ufunc = np.logical_not
    scalar = "({0} == 0)"


# -- public functions ----------------------------------------------------------
def equal(a: Any, b: Any) -> Node:
    return binary(Equal(), a, b)


def not_equal(a: Any, b: Any) -> Node:
    return binary(NotEqual(), a, b)


def less(a: Any, b: Any) -> Node:
    return binary(Less(), a, b)


def less_equal(a: Any, b: Any) -> Node:
    return binary(LessEqual(), a, b)


def greater(a: Any, b: Any) -> Node:
    return binary(Greater(), a, b)


def greater_equal(a: Any, b: Any) -> Node:
    return binary(GreaterEqual(), a, b)


def logical_and(a: Any, b: Any) -> Node:
    return binary(LogicalAnd(), a, b)


def logical_or(a: Any, b: Any) -> Node:
    return binary(LogicalOr(), a, b)


def logical_not(x: Any) -> Node:
    return unary(LogicalNot(), x)
