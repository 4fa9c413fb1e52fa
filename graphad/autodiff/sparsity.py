"""Sparsity detection: which entries of x each entry of y depends on, read from the graph.

Every node between the inputs x₁ … xₖ and the outputs gets a :class:`~graphad.ir.Pattern`
P (the node's entries × the entries of x₁ … xₖ side by side): P[i, j] is set when entry i
may depend on entry j.  An input's pattern is the identity; a node's is the union over
its inputs of the op's local pattern (its ``sparsity`` rule) composed with the input's:
P(out) = ∪ₖ Lₖ ∘ P(inₖ).  The rules are stated on the op families (elementwise ops
broadcast, reductions group, shape ops and indexing by constant index arrays move
entries, matmul and einsum unite over the contracted indices, ``where`` with a constant
condition selects, ``cond`` unites its branches, an op stated by its JVP has the pattern
of that graph); nothing depends on values, so the pattern holds at every point.  Only
derivatives are followed: a comparison, an index or a ``stop_gradient`` carries none.

Cost: each step is a vectorised move or merge of the stored pairs, so detection is linear
in the graph's size times the patterns' sizes (a merge sorts, O(p log p)), never in the
square of the entries.  An op that states no rule is taken to make every output entry
depend on every entry of its inputs (safe: the union of their patterns), and is
reported (``Detection.no_rule``, and a :class:`SparsityWarning` from the public
functions), as are rules that could not do better than dense (``fallbacks``: an index
computed at run time).

The Hessian pattern is the Jacobian pattern of the gradient graph.  That is exact up to
what the rules cannot see: structural, not numerical, zeros (x - x, or a product by a
computed zero, count as dependences), an index computed at run time (every entry it
could select), an op without a rule, and ``cond`` (both branches).  Ops linear in an
input need no special case: their adjoint is their transpose applied to the cotangent,
which depends on x only through the cotangent, so a linear op adds no Hessian entries
(the Hessian of Σ Aᵢⱼ xⱼ is empty), and a product of a linear map by a constant (a matrix
product, a ``where`` on a constant mask) keeps only the entries where the constant is
nonzero.  The pattern is symmetrised, P ∪ Pᵀ, as the Hessian is symmetric.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.autodiff._checks import check_inputs, check_target
from graphad.autodiff.reverse import gradients
from graphad.ir import (
    DifferentiationError,
    GraphError,
    Node,
    Op,
    Pattern,
    descendants,
    format_shape,
    placeholder,
    user_location,
)
from graphad.ir.dependence import Dense, Dependences, Local, dense, entry_count
from graphad.ir.pattern import INDEX
from graphad.ir.types import is_differentiable


class SparsityWarning(UserWarning):
    """A pattern is denser than it may be: some op on the way states no sparsity rule."""


@dataclass(frozen=True)
class Detection:
    """The pattern found (outputs' entries × inputs' entries) and where it was conservative:
    ``no_rule`` names the nodes whose op states no rule, ``fallbacks`` the rules that
    could not do better than dense, and why."""

    pattern: Pattern
    no_rule: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()


class TooDense(Exception):
    """A node's pattern grew past the limit detection was given."""


def _where(node: Node) -> str:
    return f"{node.op.name} (node {node.name}, made at {node.origin.location})"


def _walk(outputs: Sequence[Node], stop: Container[Node]) -> list[Node]:
    """The ancestors of ``outputs``, inputs before consumers, not expanded past ``stop``
    (nodes of an enclosing graph: they cannot depend on a sub-graph's fresh inputs)."""
    order: list[Node] = []
    done: set[Node] = set()
    stack = [(node, False) for node in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        if expanded or node in stop:
            done.add(node)
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((x, False) for x in reversed(node.inputs) if x not in done)
    return order


class Detector:
    """Detection over a graph and the sub-graphs its ops run (the ``detect`` given to the
    rules); collects what was conservative on the way."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.no_rule: dict[Node, None] = {}
        self.fallbacks: dict[str, None] = {}
        self.seen: set[Node] = set()  # nodes of graphs walked: no fresh input reaches them
        self.deriving: set[Op] = set()  # ops whose jvp graph is being read
        # keyed by the nodes themselves (held, so no other node can take their ids)
        self.memo: dict[tuple[Node | None, ...], list[Pattern]] = {}

    def pattern(self, outputs: Sequence[Node], inputs: Sequence[Node]) -> Pattern:
        """The outputs' entries (one output after another) × the inputs' entries."""
        order = _walk(outputs, self.seen)
        reached = descendants(order, inputs)
        sizes = [entry_count(x.type) for x in inputs]
        total = int(sum(sizes))
        patterns: dict[Node, Pattern] = {}
        start = 0
        for x, size in zip(inputs, sizes):
            indptr = np.arange(size + 1, dtype=INDEX)
            patterns[x] = Pattern((size, total), indptr, np.arange(start, start + size))
            start += size
        uses: dict[Node, int] = {}
        for node in order:
            if node in reached:
                for x in node.inputs:
                    uses[x] = uses.get(x, 0) + 1
        keep = set(outputs)
        for node in order:
            if node not in reached or node in patterns:
                continue
            if is_differentiable(node.type):
                found = self.step(node, patterns, total)
                if found is not None:
                    patterns[node] = found
            for x in node.inputs:  # a pattern no later node reads is dropped
                uses[x] -= 1
                if uses[x] == 0 and x not in keep:
                    patterns.pop(x, None)
        self.seen.update(order)
        rows = [patterns.get(y) or Pattern.empty((entry_count(y.type), total)) for y in outputs]
        return Pattern.stack_rows(rows, total)

    def step(self, node: Node, patterns: dict[Node, Pattern], total: int) -> Pattern | None:
        """A node's pattern from its inputs' and its op's rule."""
        inner = [patterns.get(x) for x in node.inputs]
        if all(p is None for p in inner):
            return None
        try:
            rows = entry_count(node.type)
        except DifferentiationError:
            raise DifferentiationError(
                f"sparsity: {_where(node)} has type {node.type}: detection needs static "
                f"shapes ({user_location()})"
            ) from None
        deps = node.op.sparsity(node, self)
        if len(deps) != len(node.inputs):
            raise DifferentiationError(
                f"{node.op.name}: its sparsity rule gave {len(deps)} dependences for "
                f"{len(node.inputs)} inputs ({_where(node)})"
            )
        parts = []
        for p, dep in zip(inner, deps):
            if p is None or dep is None:
                continue
            if isinstance(dep, Dense):
                if not dep.declared:
                    self.no_rule[node] = None
                elif dep.why:
                    self.fallbacks[f"{_where(node)}: {dep.why}"] = None
            parts.append(dep.apply(p, rows))
        found = Pattern.union(parts, (rows, total))
        if self.limit is not None and found.nnz > self.limit:
            raise TooDense(node)
        return found

    # -- the Detect protocol, for the rules of ops with sub-graphs ---------------------
    def __call__(self, outputs: Sequence[Node], inputs: Sequence[Node]) -> list[Pattern]:
        key = (*outputs, None, *inputs)
        if key not in self.memo:
            whole = self.pattern(outputs, inputs)
            bounds = np.cumsum([0] + [entry_count(x.type) for x in inputs])
            self.memo[key] = [whole.columns(lo, hi) for lo, hi in itertools.pairwise(bounds)]
        return self.memo[key]

    def through_jvp(self, node: Node) -> Dependences:
        op = node.op
        if op in self.deriving:  # the op appears in its own jvp (solve in its rhs)
            return dense(node, why=f"{op.name} within its own jvp")
        tangents = [
            placeholder(f"sparsity_tangent_{k}", type=x.type) if is_differentiable(x.type) else None
            for k, x in enumerate(node.inputs)
        ]
        try:
            out = op.jvp(node, tangents)
        except GraphError as e:
            return dense(node, why=f"its jvp could not be built: {e}")
        if out is None:
            return (None,) * len(node.inputs)
        given = [t for t in tangents if t is not None]
        self.deriving.add(op)
        try:
            found = iter(self([out], given))
        finally:
            self.deriving.discard(op)
        return tuple(None if t is None else Local(next(found)) for t in tangents)


def detect(ys: Sequence[Node], xs: Sequence[Node], limit: int | None = None) -> Detection:
    """The pattern of the Jacobian of ``ys`` (entries one output after another) with
    respect to ``xs`` (entries side by side).  ``limit``: raise :class:`TooDense` as soon
    as a node's pattern holds more entries."""
    detector = Detector(limit)
    pattern = detector.pattern(ys, xs)
    no_rule = tuple(_where(n) for n in detector.no_rule)
    return Detection(pattern, no_rule, tuple(detector.fallbacks))


def warn_conservative(found: Detection, fn: str) -> None:
    """A :class:`SparsityWarning` naming what made the pattern denser than it may be."""
    if found.no_rule:
        warnings.warn(
            f"{fn}: no sparsity rule for {', '.join(found.no_rule)}: each output entry is "
            "taken to depend on every input entry there",
            SparsityWarning,
            stacklevel=3,
        )


def scipy_sparse(fn: str) -> Any:
    """``scipy.sparse``, or a clear error naming the optional extra."""
    try:
        import scipy.sparse
    except ImportError:
        raise ImportError(
            f"{fn} returns scipy.sparse arrays: pip install 'graphad[scipy]' (or scipy)"
        ) from None
    return scipy.sparse


def _inputs(x: Any, fn: str) -> list[Node]:
    items, _ = check_inputs(x, fn)
    return items


def sparsity(y: Node, x: Node | Sequence[Node]) -> Any:
    """The pattern of ∂y/∂x, read from the graph: a ``scipy.sparse.csr_array`` of bools of
    shape (y.size, x.size) (several x: their columns side by side), True where an entry
    may be nonzero at some point.  Static shapes; scipy needed.

        ga.sparsity(x[1:] * x[:-1], x)    # (n-1, n): the diagonals 0 and 1
    """
    scipy_sparse("sparsity")
    y = check_target(y)
    found = detect([y], _inputs(x, "sparsity"))
    warn_conservative(found, "sparsity")
    return found.pattern.to_scipy()


def check_scalar(y: Node, fn: str) -> None:
    if y.shape != ():
        raise DifferentiationError(
            f"{fn}: y = {y.name} must be a scalar, got shape {format_shape(y.shape)} "
            f"({user_location()})"
        )


def hessian_pattern(
    y: Node, xs: Sequence[Node], fn: str, grads: Sequence[Node] | None = None
) -> Detection:
    """The symmetrised Jacobian pattern of the gradient graph of a scalar y (``grads``, when
    the caller has built it)."""
    check_scalar(y, fn)
    found = detect(gradients(y, list(xs)) if grads is None else grads, xs)
    p = found.pattern
    return Detection(Pattern.union([p, p.T], p.shape), found.no_rule, found.fallbacks)


def hessian_sparsity(y: Node, x: Node | Sequence[Node]) -> Any:
    """The pattern of ∂²y/∂x² for a scalar y: the Jacobian pattern of its gradient graph,
    symmetrised, as a ``scipy.sparse.csr_array`` of bools (x.size, x.size).

        ga.hessian_sparsity(ga.sum(x[1:] * x[:-1]), x)    # (n, n): diagonals -1 and 1
    """
    scipy_sparse("hessian_sparsity")
    y = check_target(y)
    found = hessian_pattern(y, _inputs(x, "hessian_sparsity"), "hessian_sparsity")
    warn_conservative(found, "hessian_sparsity")
    return found.pattern.to_scipy()
