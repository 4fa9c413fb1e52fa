"""The rewrite driver: CSE, constant folding and the algebraic rules, bottom-up to a fixpoint.

One pass walks the graph from the fetches in topological order (so a dead node is never
visited, and is gone from the result: dead-node elimination).  Each node is rebuilt on
its inputs' replacements, then folded or simplified until no law applies, then merged
with an equal node seen before.  Passes repeat until one changes nothing, at most
``MAX_PASSES`` times; a pass that would leave more nodes than it found is not taken (a
sub-graph's operations counted twice: see ``size``).
A replacement made by a rule takes the name and origin of the node it replaces.

The rules tried on a node are read from :mod:`~graphad.compiler.rules` once per rewrite
for each op class and operand classes seen (those of its op class whose operands it has);
what they ask beyond the node (how many consumers each value has) is passed to them.
Laws that are not exact in floating point (``Rule.fast_math``) are tried on float nodes
only when the rewrite is asked for ``fast_math``, and so is CSE's reordering of the
operands of a sum of more than two (see :mod:`~graphad.compiler.cse`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from operator import is_

import numpy as np

from graphad.compiler.cse import lookup
from graphad.compiler.fold import fold_on
from graphad.compiler.patterns import Apply, Uses, exact_ring
from graphad.compiler.rules import all_rules, rules_tried_on
from graphad.ir import Node, adopt, rebuild, topo_sort

MAX_PASSES = 16
_MAX_STEPS_PER_NODE = 32  # each law shrinks or canonicalises; this only bounds a bad rule


def simplify(
    node: Node, uses: Uses, rules: Sequence[Apply], fast_math: bool = False
) -> Node | None:
    """The first of folding and ``rules`` (those of the node's op class) that applies to
    ``node``, given the consumers of each value (``uses``), or ``None``.  Floating-point
    warnings of folding are silenced by the pass (see ``Rewriter.run_pass``)."""
    if node.op.branches:  # its sub-graphs first; an op that runs them is not folded
        inside = rewrite_branches(node, fast_math)
        if inside is not None:
            return inside
    else:
        folded = fold_on(node, node.inputs)
        if folded is not None:
            return folded
    for apply in rules:
        out = apply(node, uses)
        if out is not None and out is not node:
            return out
    return None


def rewrite_branches(node: Node, fast_math: bool = False) -> Node | None:
    """op(…; f, g) -> op(…; rewrite(f), rewrite(g)): rewrites see inside sub-graphs.

    An op with sub-graphs (``cond``'s branches, a loop's body) offers ``branches``, each
    with its ``outputs``, and ``with_outputs``, the same op over rewritten outputs.
    """
    op = node.op
    branches = op.branches
    outputs = [tuple(rewrite(list(b.outputs), fast_math=fast_math)) for b in branches]
    if all(all(map(is_, new, b.outputs)) for new, b in zip(outputs, branches)):
        return None
    return op.with_outputs(outputs)(*node.inputs)


class Rewriter:
    """The state passes share: ``stable`` nodes (no rule changes them; with the same inputs
    none will later, as nodes are immutable) and the CSE ``table``.  A table entry stays
    valid across passes: a node with an entry's key computes what the entry computes
    from the same inputs, whether or not the entry is still used.  So a later pass only
    looks again at nodes whose inputs changed."""

    def __init__(self, fast_math: bool = False) -> None:
        self.fast_math = fast_math
        self.rules = all_rules()
        # the rules tried on a node, by its op class and its inputs' op classes: the laws exact
        # in floating point, and all of them (None when all are exact, so that the dtype is
        # asked only of nodes of a kind that has an inexact law)
        self.by_kind: dict[tuple[type, ...], tuple[tuple[Apply, ...], tuple[Apply, ...] | None]]
        self.by_kind = {}
        self.stable: set[Node] = set()
        self.canonical: set[Node] = set()  # nodes that are their key's entry
        self.table: dict[Hashable, Node] = {}
        # stable nodes simplified while some of their inputs had other consumers too
        self.shared: dict[Node, tuple[Node, ...]] = {}

    def reopen(self, order: Sequence[Node]) -> bool:
        """Take back ``stable`` from the nodes of ``order`` one of whose inputs had other
        consumers when they were simplified and has none now: laws that need a single use
        may apply to them.  ``False`` when there is no such node (nothing could change)."""
        consumers: dict[Node, int] = {}
        for node in order:
            for x in node.inputs:
                consumers[x] = consumers.get(x, 0) + 1
        present = set(order)
        again = {
            node
            for node, inputs in self.shared.items()
            if node in present and any(consumers.get(x, 0) <= 1 for x in inputs)
        }
        self.shared = {}
        if not again:
            return False
        self.stable -= again
        self.canonical -= again
        return True

    def run_pass(self, order: Sequence[Node]) -> tuple[dict[Node, Node], bool]:
        """One bottom-up pass over ``order``: (each node's replacement, whether any changed)."""
        consumers: dict[Node, int] = {}
        for node in order:
            for x in node.inputs:
                consumers[x] = consumers.get(x, 0) + 1
        uses: dict[Node, int] = {}  # consumers of each replacement, as rules see them
        new: dict[Node, Node] = {}
        # folding runs kernels on constants: an overflow there is met, and reported, when the
        # graph runs; silenced once for the pass, not entered and left once per node
        with np.errstate(all="ignore"):
            changed = self._walk(order, new, consumers, uses)
        return new, changed

    def rules_of(self, node: Node) -> tuple[Apply, ...]:
        """The rules tried on ``node``, in order (those not exact in floating point only
        under ``fast_math`` or for integers)."""
        kind = (type(node.op), *[type(x.op) for x in node.inputs])
        found = self.by_kind.get(kind)
        if found is None:
            tried = rules_tried_on(node, self.rules)
            strict = tuple(r.apply for r in tried if not r.fast_math)
            every = tuple(r.apply for r in tried)
            found = self.by_kind[kind] = (strict, None if every == strict else every)
        exact, loose = found
        if loose is not None and (self.fast_math or exact_ring(node)):
            return loose
        return exact

    def settled(self, order: Sequence[Node]) -> bool:
        """Whether a pass over ``order`` would change nothing: every node was simplified
        already (and is stable) and is the entry of its CSE key.  The walk then maps each
        node to itself, so rules never run and no input changes."""
        canonical, stable, table, loose = self.canonical, self.stable, self.table, self.fast_math
        return all(n in canonical or (n in stable and lookup(table, n, loose) is n) for n in order)

    def _walk(
        self,
        order: Sequence[Node],
        new: dict[Node, Node],
        consumers: dict[Node, int],
        uses: dict[Node, int],
    ) -> bool:
        known: set[Node] = set(order)
        stable, canonical, rules_of = self.stable, self.canonical, self.rules_of
        changed = False
        for node in order:
            current = node
            if node.inputs:
                inputs = tuple([new[x] for x in node.inputs])
                if not all(map(is_, inputs, node.inputs)):
                    # folded on its new inputs when they are constants, as simplify would
                    # fold it rebuilt: not made only to be thrown away
                    folded = fold_on(node, inputs)
                    if folded is None:
                        current = rebuild(node, inputs)
                    else:
                        current = adopt(folded, node, known)
                    known.add(current)
                    changed = True
            if current not in canonical:
                if current not in stable:
                    for _ in range(_MAX_STEPS_PER_NODE):
                        out = simplify(current, uses, rules_of(current), self.fast_math)
                        if out is None:
                            break
                        current = adopt(out, current, known)
                        known.add(current)
                        changed = True
                    stable.add(current)
                    shared = tuple(x for x in current.inputs if uses.get(x, 0) > 1)
                    if shared:
                        self.shared[current] = shared
                merged = lookup(self.table, current, self.fast_math)
                if merged is current:
                    canonical.add(current)
                else:
                    changed = True
                    current = merged
            new[node] = current
            uses[current] = uses.get(current, 0) + consumers.get(node, 0)
        return changed


def size(order: Sequence[Node]) -> int:
    """The size a pass must not grow: the nodes of ``order``, and twice the operations of
    the sub-graphs of each op that runs them (a ``control``: a loop's body runs many times,
    so a value moved out of it, as hoisting does, makes the graph smaller)."""
    total = len(order)
    for node in order:
        if node.op.control is None:  # a class attribute, cheap to ask of 10⁵ nodes
            continue
        for branch in node.op.branches:
            inner = topo_sort(list(branch.outputs))
            total += 2 * (size(inner) - sum(1 for n in inner if not n.inputs))
    return total


def rewrite(
    outputs: Sequence[Node],
    max_passes: int = MAX_PASSES,
    fast_math: bool = False,
    order: Sequence[Node] | None = None,
) -> list[Node]:
    """``outputs`` rewritten to a fixpoint of CSE, folding and the rules (at most
    ``max_passes`` passes; with ``fast_math``, the laws inexact in floating point too);
    nodes that need no change are returned as they are.  ``order``: the outputs'
    topological order, when the caller has it already."""
    current = list(outputs)
    order = topo_sort(current) if order is None else list(order)
    rewriter, reopened = Rewriter(fast_math), False
    for _ in range(max_passes):
        new, changed = rewriter.run_pass(order)
        if not changed:
            if reopened or not rewriter.reopen(order):
                break
            reopened = True  # one more look at nodes beside once-shared inputs
            continue
        reopened = False
        result = [new[o] for o in current]
        result_order = topo_sort(result)
        if size(result_order) > size(order):
            break  # never grow the graph: keep what this pass started from
        current, order = result, result_order
        if rewriter.settled(order):
            # the next pass would change nothing, but for single-use laws beside inputs
            # whose other consumers may be gone: look at those nodes alone
            if not rewriter.reopen(order):
                break
            reopened = True
    return current
