"""The bases of linear ops: the derivative of a linear map is the map itself.

A linear op's ``jvp`` is the op applied to the tangent, and its ``vjp`` is its
transpose, the one rule each such op writes (``transpose``).  Three shapes of
linearity cover the library: in the first input (reshape, transpose, getitem,
sum, broadcast_to, …; further inputs are parameters such as index arrays or
run-time shapes), in all inputs together (concatenate, stack), and in each
input separately (matmul, einsum).
"""

from __future__ import annotations

from dataclasses import dataclass

from graphad.ir import Node, Op
from graphad.ops._util import Tangents, add_tangents
from graphad.ops.utility import or_zeros


@dataclass(frozen=True)
class Linear(Op):
    """y = A·x, linear in the first input; the others carry no derivative."""

    def transpose(self, node: Node, g: Node) -> Node:
        """Aᵀ·g, in the shape of the first input (or broadcastable to it)."""
        raise NotImplementedError(f"{self.name}: no transpose")

    def vjp(self, node: Node, g: Node) -> tuple[Node | None, ...]:
        """x̄ = Aᵀ·g"""
        return (self.transpose(node, g), *(None for _ in node.inputs[1:]))

    def jvp(self, node: Node, t: Tangents) -> Node | None:
        """ẏ = A·ẋ"""
        return None if t[0] is None else self(t[0], *node.inputs[1:])


@dataclass(frozen=True)
class JointlyLinear(Op):
    """y = A·(x₁, …, xₙ), linear in all inputs together."""

    def transpose(self, node: Node, g: Node) -> tuple[Node, ...]:
        """Aᵀ·g, one part per input."""
        raise NotImplementedError(f"{self.name}: no transpose")

    def vjp(self, node: Node, g: Node) -> tuple[Node, ...]:
        """(x̄₁, …, x̄ₙ) = Aᵀ·g"""
        return self.transpose(node, g)

    def jvp(self, node: Node, t: Tangents) -> Node:
        """ẏ = A·(ẋ₁, …, ẋₙ), zeros for a zero ẋᵢ"""
        return self(*map(or_zeros, t, node.inputs))


@dataclass(frozen=True)
class Multilinear(Op):
    """y = f(x₁, …, xₙ), linear in each input when the others are held fixed."""

    def transpose(self, node: Node, g: Node, k: int) -> Node:
        """The transpose of xₖ ↦ f(x₁, …, xₖ, …, xₙ), applied to g."""
        raise NotImplementedError(f"{self.name}: no transpose")

    def vjp(self, node: Node, g: Node) -> tuple[Node, ...]:
        """x̄ₖ = (∂f/∂xₖ)ᵀ·g"""
        return tuple(self.transpose(node, g, k) for k in range(len(node.inputs)))

    def jvp(self, node: Node, t: Tangents) -> Node | None:
        """ẏ = Σₖ f(x₁, …, ẋₖ, …, xₙ)"""
        xs = node.inputs
        return add_tangents(
            *(None if tk is None else self(*xs[:k], tk, *xs[k + 1 :]) for k, tk in enumerate(t))
        )
