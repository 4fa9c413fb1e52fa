"""The bases of linear ops, whose derivative is the map itself, and of the ops whose derivative
is stated as a linear map (``JvpOnly``).

A linear op's ``jvp`` is the op applied to the tangent, and its ``vjp`` is its
transpose, the one rule each such op writes (``transpose``).  Three shapes of
linearity cover the library: in the first input (reshape, transpose, getitem,
sum, broadcast_to, cast, reading an entry of a structure, …; further inputs are
parameters such as index arrays or run-time shapes), in all inputs together
(concatenate, stack, making a tuple or a dict), and in each input separately
(matmul, einsum).  ``apply`` is the op on tangents: the op itself, except that a
structure op leaves absent (a sparse zero) what has no tangent.

A ``JvpOnly`` op (softmax, inv, solve, det, the decompositions) states its derivative
once, as its ``jvp``: a graph linear in the tangents, made of ops that each state their
own transpose.  Its vjp is the transpose of that graph, which the reverse pass builds
(:func:`graphad.autodiff.reverse.transposed_jvp`, JAX's linearize-and-transpose).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from graphad.ir import Node, Op, is_differentiable
from graphad.ir.dependence import Dependences, Detect
from graphad.ops._util import Tangents


@dataclass(frozen=True)
class Linear(Op):
    """y = A·x, linear in the first input; the others carry no derivative."""

    def transpose(self, node: Node, g: Node) -> Node:
        """Aᵀ·g, in the shape of the first input (or broadcastable to it)."""
        raise NotImplementedError(f"{self.name}: no transpose")

    def apply(self, node: Node, t: Node) -> Node | None:
        """A·ṫ: the op itself on the tangent of its first input."""
        return self(t, *node.inputs[1:])

    def vjp(self, node: Node, g: Node) -> tuple[Node | None, ...]:
        """x̄ = Aᵀ·g (none for an x that carries no derivative, such as an integer one)"""
        x = node.inputs[0]
        gx = self.transpose(node, g) if is_differentiable(x.type) else None
        return (gx, *(None for _ in node.inputs[1:]))

    def jvp(self, node: Node, t: Tangents) -> Node | None:
        """ẏ = A·ẋ"""
        return None if t[0] is None else self.apply(node, t[0])


@dataclass(frozen=True)
class JointlyLinear(Op):
    """y = A·(x₁, …, xₙ), linear in all inputs together."""

    def transpose(self, node: Node, g: Node) -> tuple[Node | None, ...]:
        """Aᵀ·g, one part per input (None: nothing for that input)."""
        raise NotImplementedError(f"{self.name}: no transpose")

    def apply(self, node: Node, t: Tangents) -> Node | None:
        """A·(ṫ₁, …, ṫₙ), zeros for a zero ṫᵢ"""
        # utility's zeros_like builds on this module (cast is linear): resolved when called
        from graphad.ops.utility import or_zeros

        return self(*map(or_zeros, t, node.inputs))

    def vjp(self, node: Node, g: Node) -> tuple[Node | None, ...]:
        """(x̄₁, …, x̄ₙ) = Aᵀ·g"""
        return self.transpose(node, g)

    def jvp(self, node: Node, t: Tangents) -> Node | None:
        """ẏ = A·(ẋ₁, …, ẋₙ)"""
        return self.apply(node, t)


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
        # the sum builds add_n, an elementwise op, which builds on this module: resolved here
        from graphad.ops.elementwise import sum_partials

        xs = node.inputs
        return sum_partials(
            None if tk is None else self(*xs[:k], tk, *xs[k + 1 :]) for k, tk in enumerate(t)
        )


@dataclass(frozen=True)
class JvpOnly(Op):
    """An op whose derivative is stated once, by ``jvp``, linear in the tangents.

    Its vjp is the transpose of that linear map (x̄ = Jᵀ·g), obtained by the reverse pass:
    the jvp built on fresh tangent placeholders, then swept back from its output seeded
    with g.  A jvp that is not linear in its tangents is refused there, by the op's name.
    ``linear`` lists the inputs in which the op is itself linear (the others held fixed),
    each with its ``transpose``: an op that appears in its own jvp, applied to a tangent
    (solve(A, ḃ - Ȧ·X)), needs it to end the recursion; the other ops of a jvp state
    their transposes already.
    """

    linear: ClassVar[tuple[int, ...]] = ()

    def transpose(self, node: Node, g: Node, k: int) -> Node:
        """The transpose of xₖ ↦ op(…, xₖ, …) for an input k in ``linear``, applied to g."""
        raise NotImplementedError(f"{self.name}: no transpose in input {k}")

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """the pattern of the jvp's graph, from the tangents to the output tangent"""
        return detect.through_jvp(node)
