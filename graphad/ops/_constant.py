"""The base of ops whose result derivatives treat as constant in their inputs.

Indices (argmax, argsort), booleans (comparisons, logic), signs, shapes and
filled arrays are piecewise constant in their operands; ``stop_gradient`` is
declared so.  Either way no derivative flows, in either mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphad.ir import Node, Op
from graphad.ir.dependence import Dependences, Detect
from graphad.ops._util import Tangents


@dataclass(frozen=True)
class ZeroDerivative(Op):
    """An op through which no derivative flows."""

    def vjp(self, node: Node, g: Node) -> tuple[None, ...]:
        """x̄ = 0 for every input"""
        return (None,) * len(node.inputs)

    def jvp(self, node: Node, t: Tangents) -> None:
        """ẏ = 0"""
        return None

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """no entry depends on any input (its derivative is zero)"""
        return (None,) * len(node.inputs)
