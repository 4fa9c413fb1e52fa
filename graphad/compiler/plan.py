"""Planning: the order the needed nodes run in, a slot per value, and where each slot dies.

A slot is released right after its last consumer, so intermediates live as briefly as
the order allows; fetched values and constants are never released.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphad.ir import Constant, Node, Placeholder, topo_sort


@dataclass(frozen=True, slots=True)  # slots: one tracked object per step, not two
class Step:
    """One kernel call: ``slots[out] = fn(*slots[ins])``, then clear ``frees``."""

    node: Node
    fn: Callable[..., Any]
    ins: tuple[int, ...]
    out: int
    frees: tuple[int, ...]


class Plan:
    """The nodes that ``fetches`` need, in order, with their slots and release points.

    ``order``: every needed node, inputs first; ``slot[node]``: its index in ``order``;
    ``placeholders``; ``initial``: a slot list with the constants filled in; ``steps``:
    the kernel calls; ``fetch_slots``; ``peak_live``: the most non-constant values alive
    at once (fed values included).
    """

    def __init__(self, fetches: Sequence[Node]) -> None:
        self.order = order = topo_sort(fetches)
        self.slot = slot = {node: i for i, node in enumerate(order)}
        self.fetch_slots = [slot[n] for n in fetches]
        kinds = [type(node.op) for node in order]
        self.placeholders = [n for n, k in zip(order, kinds) if issubclass(k, Placeholder)]
        # one pass of plain ints: slots, not nodes, key the release points
        ins_of = [tuple([slot[x] for x in node.inputs]) for node in order]
        last_use: dict[int, int] = {}
        for i, ins in enumerate(ins_of):
            for j in ins:
                last_use[j] = i
        kept = {slot[n] for n in fetches}
        kept.update(i for i, k in enumerate(kinds) if issubclass(k, Constant))
        frees_at: dict[int, list[int]] = {}
        for j, i in last_use.items():
            if j not in kept:
                frees_at.setdefault(i, []).append(j)
        self.initial: list[Any] = [None] * len(order)
        self.steps: list[Step] = []
        append = self.steps.append
        no_frees: tuple[int, ...] = ()
        for i, (node, kind, ins) in enumerate(zip(order, kinds, ins_of)):
            if not ins:
                if isinstance(node.op, Constant):
                    self.initial[i] = node.op.value
                    continue
                if issubclass(kind, Placeholder):
                    continue
            frees = no_frees if (free := frees_at.get(i)) is None else tuple(free)
            # the kernel specialised to the node: static checks made here, once, not per run
            append(Step(node, node.op.compute_for(node), ins, i, frees))
        self.peak_live = self._peak_live()

    def _peak_live(self) -> int:
        live = peak = len(self.placeholders)
        for step in self.steps:
            live += 1
            peak = max(peak, live)
            live -= len(step.frees)
        return peak

    def consumers(self) -> dict[int, list[Step]]:
        """For each slot, the steps that read it."""
        users: dict[int, list[Step]] = {}
        for step in self.steps:
            for i in step.ins:
                users.setdefault(i, []).append(step)
        return users
