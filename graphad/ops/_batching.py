"""Helpers of the ``batch`` rules: values with one extra leading (batch) axis.

A ``batch(node, xs, batched)`` rule gets the node's inputs, each either
batched (a leading axis of length B in front of the input's own shape) or
not, and returns the node's value for the whole batch, batch axis first; or
``None`` when it has no rule for that case, and ``vmap`` runs the op once per
example instead.  Ops without a ``batch`` method are run once per example too.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphad.ir import GraphError, Node, Op, known_shape


class BatchingError(GraphError):
    """A graph that cannot be batched as asked (unknown batch size or rank, bad batch)."""


def batch_size(xs: Sequence[Node], batched: Sequence[bool]) -> int | None:
    """B, from the first batched input (None when unknown until run time)."""
    return next(known_shape(x, "a batched input")[0] for x, b in zip(xs, batched) if b)


def rank(node: Node) -> int:
    """``node``'s rank, which a batch rule needs statically."""
    if node.ndim is None:
        raise BatchingError(f"{node.op.name}: batching needs the rank of {node.name}")
    return node.ndim


def shift(axes: Sequence[int]) -> tuple[int, ...]:
    """Non-negative axes of an unbatched value, as axes of its batched value."""
    return tuple(a + 1 for a in axes)


class OnMatrices(Op):
    """An op of one operand that acts on its trailing (..., M, N) matrices, stacks and all
    (inv, det, the decompositions): its batch rule is the op itself."""

    chunking = "whole"  # LAPACK factorisations: Dask's versions need one chunk

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """op(Ab): a batch is one more stack axis"""
        return self(xs[0])
