"""Drawing a large graph summarised: what is left out, what stands in for it, and a note.

Graphviz lays out a few hundred nodes in about a second and a thousand in many (the
WebAssembly build more slowly still), and a reader cannot follow more.  Beyond
``limit`` nodes a drawing is summarised in three steps, each only while the one before
left too many nodes:

1. constants are not drawn: their consumers' labels write them (``x + 1.0``);
2. chains are folded: a run of nodes each of which is the only consumer of the one
   before (an unrolled recurrence, ``sin(sin(sin(x)))``) keeps its ends, and one dotted
   box ``⋯ 96 nodes: sin ×48, multiply ×48`` stands in for the rest;
3. only the nodes nearest the outputs are drawn (the ``limit`` closest, by edges, to a
   node asked for), the others behind one dotted box ``⋯ 1,234 nodes not drawn``.

The drawing's title then says what was done and that ``full=True`` draws everything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from graphad.ir import Constant, Node, Placeholder

LIMIT = 1000  # nodes drawn before a drawing is summarised
HIDDEN = "hidden"  # the key of the stand-in for the nodes farthest from the outputs
_MIN_FOLD = 3  # a run folds when it would hide at least this many nodes


@dataclass
class Fold:
    """One stand-in for nodes not drawn: its ``key`` (the drawing's id), the nodes, its
    text, and for a folded chain the drawn nodes at its two ``ends``."""

    key: str
    nodes: list[Node]
    text: str
    ends: tuple[Node, ...] = ()


@dataclass
class Summary:
    """Which nodes are drawn, which stand-in replaces each node that is not, and why."""

    shown: set[Node]
    stand_in: dict[Node, Fold] = field(default_factory=dict)
    folds: list[Fold] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    collapsed: bool = False  # constants written into their consumers

    @property
    def note(self) -> str:
        """One line for the drawing's title, empty when nothing was left out."""
        if not self.steps:
            return ""
        return "summarised: " + "; ".join(self.steps) + " (full=True draws every node)"


def summarise(
    order: Sequence[Node],
    shown: set[Node],
    fetched: set[Node],
    limit: int = LIMIT,
    collapse_constants: bool = False,
) -> Summary:
    """The summary of the nodes ``shown`` (in topological ``order``), at most about
    ``limit`` of them drawn; ``collapse_constants`` leaves constants out whatever the size."""
    summary = Summary(set(shown))
    total = len(summary.shown)
    if collapse_constants or total > limit:
        constants = {n for n in summary.shown if isinstance(n.op, Constant) and n not in fetched}
        summary.shown -= constants
        summary.collapsed = True
        if total > limit and constants:
            summary.steps.append(f"{len(constants):,} constants written into their consumers")
    if len(summary.shown) > limit:
        _fold_chains(order, summary, fetched)
    if len(summary.shown) + len(summary.folds) > limit:
        _nearest(order, summary, fetched, limit)
    return summary


def _fold_chains(order: Sequence[Node], summary: Summary, fetched: set[Node]) -> None:
    """Fold every run of single-consumer nodes longer than its two ends plus _MIN_FOLD."""
    shown = summary.shown
    consumers: Counter[Node] = Counter()
    for node in order:
        if node in shown:
            for x in set(node.inputs):
                if x in shown:
                    consumers[x] += 1

    def link(node: Node) -> Node | None:
        """The one drawn input of ``node``, when ``node`` is its only consumer."""
        inputs = [x for x in node.inputs if x in shown]
        if len(inputs) != 1 or consumers[inputs[0]] != 1:
            return None
        return inputs[0]

    def foldable(node: Node) -> bool:
        return node not in fetched and not isinstance(node.op, Placeholder)

    runs: dict[Node, list[Node]] = {}  # the last node of a run so far -> the run
    for node in order:
        if node not in shown:
            continue
        before = link(node)
        if before is not None and before in runs and foldable(before):
            run = runs.pop(before)
            run.append(node)
            runs[node] = run
        else:
            runs[node] = [node]
    folded = 0
    for run in runs.values():
        inner = [n for n in run[1:-1] if foldable(n)]
        if len(inner) < _MIN_FOLD or len(inner) != len(run) - 2:
            continue
        ops = Counter(n.op.name for n in inner)
        what = ", ".join(f"{name} ×{count:,}" for name, count in ops.most_common(3))
        text = f"⋯ {len(inner):,} nodes: {what}"
        fold = Fold(f"fold{len(summary.folds)}", inner, text, (run[0], run[-1]))
        summary.folds.append(fold)
        for n in inner:
            summary.stand_in[n] = fold
        shown.difference_update(inner)
        folded += len(inner)
    if folded:
        chains = len(summary.folds)
        summary.steps.append(f"{folded:,} nodes of {chains} chain{'s' * (chains > 1)} folded")


def _nearest(order: Sequence[Node], summary: Summary, fetched: set[Node], limit: int) -> None:
    """Keep the boxes nearest the outputs: those fewer than H edges below a box nobody
    consumes, for the largest H that fits ``limit``, with the inputs and constants they
    read; one stand-in for all the others.  What is kept holds every consumer of what it
    holds, so edges only go from the stand-in up into it: the layout stays acyclic."""
    shown = summary.shown

    def box(node: Node) -> object | None:
        if node in shown:
            return node
        return summary.stand_in.get(node)

    height: dict[object, int] = {}
    readers: dict[object, list[object]] = {}
    for node in reversed(order):
        key = box(node)
        if key is None:
            continue
        height.setdefault(key, 0)
        for x in node.inputs:
            below = box(x)
            if below is not None and below is not key:
                height[below] = max(height.get(below, 0), height[key] + 1)
                readers.setdefault(below, []).append(key)
    leaves = {k for k in height if isinstance(k, Node) and not k.inputs}
    levels: dict[int, list[object]] = {}
    for key, h in height.items():
        if key not in leaves:
            levels.setdefault(h, []).append(key)
    kept: set[object] = {leaf for leaf in leaves if leaf in fetched}
    for h in sorted(levels):
        more = set(levels[h])
        if kept and len(kept | more) > limit:
            break
        kept |= more
    dropped_nodes = [n for n in order if (k := box(n)) is not None and k not in kept]
    if not dropped_nodes:
        return
    rest = Fold(HIDDEN, dropped_nodes, f"⋯ {len(dropped_nodes):,} nodes not drawn")
    summary.folds = [f for f in summary.folds if f in kept] + [rest]
    for n in dropped_nodes:
        summary.stand_in[n] = rest
    shown.difference_update(dropped_nodes)
    drawn = len(shown) + sum(len(f.nodes) for f in summary.folds[:-1])
    summary.steps.append(
        f"the {drawn:,} nodes nearest the outputs drawn, {len(dropped_nodes):,} others not"
    )
