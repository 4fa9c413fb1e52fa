"""The rewrite driver: CSE, constant folding and the algebraic rules, bottom-up to a fixpoint.

One pass walks the graph from the fetches in topological order (so a dead node is never
visited, and is gone from the result: dead-node elimination).  Each node is rebuilt on
its inputs' replacements, then folded or simplified until no law applies, then merged
with an equal node seen before.  Passes repeat until one changes nothing, at most
``MAX_PASSES`` times; a pass that would leave more nodes than it found is not taken.
A replacement made by a rule takes the name and origin of the node it replaces.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from operator import is_

from graphad.compiler.cse import lookup
from graphad.compiler.fold import fold
from graphad.compiler.patterns import counting
from graphad.compiler.rules import rules_for
from graphad.ir import Node, adopt, rebuild, topo_sort

MAX_PASSES = 10
_MAX_STEPS_PER_NODE = 32  # each law shrinks or canonicalises; this only bounds a bad rule


def simplify(node: Node) -> Node | None:
    """The first of folding and the node's rules that applies, or ``None``."""
    if getattr(node.op, "branches", None) is not None:
        return rewrite_branches(node)
    folded = fold(node)
    if folded is not None:
        return folded
    for rule in rules_for(node):
        out = rule(node)
        if out is not None and out is not node:
            return out
    return None


def rewrite_branches(node: Node) -> Node | None:
    """cond(p, f, g) -> cond(p, rewrite(f), rewrite(g)): rewrites see inside sub-graphs.

    An op with sub-graphs offers ``branches`` (each with an ``output``) and
    ``with_outputs(*outputs)``, the same op over rewritten outputs.
    """
    branches = node.op.branches  # type: ignore[attr-defined]
    outputs = [rewrite([b.output])[0] for b in branches]
    if all(new is b.output for new, b in zip(outputs, branches)):
        return None
    return node.op.with_outputs(*outputs)(*node.inputs)  # type: ignore[attr-defined,no-any-return]


def rewrite_pass(order: Sequence[Node], stable: set[Node]) -> tuple[dict[Node, Node], bool]:
    """One bottom-up pass over ``order``: (each node's replacement, whether any changed).

    ``stable`` holds nodes no rule changed; with the same inputs no rule changes them
    later either (nodes are immutable), so later passes skip them.
    """
    known: set[Node] = set(order)
    new: dict[Node, Node] = {}
    table: dict[Hashable, Node] = {}
    changed = False
    consumers: dict[Node, int] = {}
    for node in order:
        for x in node.inputs:
            consumers[x] = consumers.get(x, 0) + 1
    uses: dict[Node, int] = {}  # consumers of each replacement, as rules see them
    with counting(uses):
        changed = _walk(order, stable, known, new, table, consumers, uses)
    return new, changed


def _walk(
    order: Sequence[Node],
    stable: set[Node],
    known: set[Node],
    new: dict[Node, Node],
    table: dict[Hashable, Node],
    consumers: dict[Node, int],
    uses: dict[Node, int],
) -> bool:
    changed = False
    for node in order:
        current = node
        if node.inputs:
            inputs = tuple(new[x] for x in node.inputs)
            if not all(map(is_, inputs, node.inputs)):
                current = rebuild(node, inputs)
                known.add(current)
                changed = True
        if current not in stable:
            for _ in range(_MAX_STEPS_PER_NODE):
                out = simplify(current)
                if out is None:
                    break
                current = adopt(out, current, known)
                known.add(current)
                changed = True
            stable.add(current)
        merged = lookup(table, current)
        if merged is not current:
            changed = True
        new[node] = merged
        uses[merged] = uses.get(merged, 0) + consumers.get(node, 0)
    return changed


def rewrite(outputs: Sequence[Node], max_passes: int = MAX_PASSES) -> list[Node]:
    """``outputs`` rewritten to a fixpoint of CSE, folding and the rules (at most
    ``max_passes`` passes); nodes that need no change are returned as they are."""
    current = list(outputs)
    order = topo_sort(current)
    stable: set[Node] = set()
    for _ in range(max_passes):
        new, changed = rewrite_pass(order, stable)
        if not changed:
            break
        result = [new[o] for o in current]
        result_order = topo_sort(result)
        if len(result_order) > len(order):
            break  # never grow the graph: keep what this pass started from
        current, order = result, result_order
    return current
