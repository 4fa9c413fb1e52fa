"""``Executor``: plan once, run many times.

The plan is a flat list of kernel calls over numbered value slots.  Each
needed node runs exactly once per run; a slot is cleared right after its
last consumer, so intermediates are released as early as the order allows.
Feeds are validated completely before any kernel runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import (
    Constant,
    ExecutionError,
    GraphError,
    Node,
    Placeholder,
    Snapshot,
    format_shape,
    topo_sort,
    user_location,
)
from graphad.runtime.feeds import FeedChecker


@dataclass(frozen=True)
class Step:
    """One kernel call: ``slots[out] = fn(*slots[ins])``, then clear ``frees``."""

    node: Node
    fn: Callable[..., Any]
    ins: tuple[int, ...]
    out: int
    frees: tuple[int, ...]


def _flatten(fetches: Any, nodes: list[Node]) -> Any:
    """Collect the nodes in ``fetches`` and return a template to rebuild its structure."""
    if isinstance(fetches, Node):
        nodes.append(fetches)
        return len(nodes) - 1
    if fetches is None:  # e.g. gradients(..., unconnected="none"): fetched as None
        return None
    if isinstance(fetches, Mapping):
        return {k: _flatten(v, nodes) for k, v in fetches.items()}
    if isinstance(fetches, (list, tuple)):
        return _same_kind(fetches, [_flatten(v, nodes) for v in fetches])
    raise GraphError(
        f"Executor: fetches must be nodes, or lists, tuples or dicts of nodes; "
        f"got {type(fetches).__name__} ({user_location()})"
    )


def _same_kind(like: list[Any] | tuple[Any, ...], items: list[Any]) -> Any:
    """``items`` as a sequence of ``like``'s class: a namedtuple takes its fields one by one."""
    if isinstance(like, tuple) and hasattr(like, "_fields"):
        return type(like)(*items)
    return type(like)(items)


def _rebuild(template: Any, values: list[Any]) -> Any:
    if template is None or isinstance(template, int):
        return None if template is None else values[template]
    if isinstance(template, dict):
        return {k: _rebuild(v, values) for k, v in template.items()}
    return _same_kind(template, [_rebuild(v, values) for v in template])


class Executor:
    """Evaluates a fixed set of fetches; ``fetches`` is a node, or a list/tuple/dict of nodes.

    ex = Executor([y, gx])
    y_value, gx_value = ex.run({x: np.ones(3)})    # or feed by name: {"x": ...}

    One Executor may be run from many threads at once: a run keeps its values to itself,
    and the only state runs share (the feed signatures already checked) is locked.  An
    Executor pickles and copies (it is planned again when loaded), so it can be sent to
    worker processes; each returned array is the caller's own.
    """

    def __init__(self, fetches: Any) -> None:
        self._nodes: list[Node] = []
        self._template = _flatten(fetches, self._nodes)
        self.order = topo_sort(self._nodes)
        self.placeholders = [n for n in self.order if isinstance(n.op, Placeholder)]
        self._plan()
        self._feeds = FeedChecker(self.placeholders, self.order)

    def __getstate__(self) -> dict[str, Any]:
        # the graph as flat records: any depth pickles without recursion; planned again on load
        return {"graph": Snapshot(self._nodes), "template": self._template}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(_rebuild(state["template"], state["graph"].nodes()))  # type: ignore[misc]

    # -- planning --------------------------------------------------------------
    def _plan(self) -> None:
        slot = {node: i for i, node in enumerate(self.order)}
        last_use: dict[Node, int] = {}
        for i, node in enumerate(self.order):
            for x in node.inputs:
                last_use[x] = i
        keep = set(self._nodes)
        self.initial: list[Any] = [None] * len(self.order)
        self.steps: list[Step] = []
        frees_at: dict[int, list[int]] = {}
        for node, i in last_use.items():
            if node not in keep and not isinstance(node.op, Constant):
                frees_at.setdefault(i, []).append(slot[node])
        for i, node in enumerate(self.order):
            if isinstance(node.op, Constant):
                self.initial[i] = node.op.value
            elif not isinstance(node.op, Placeholder):
                ins = tuple(slot[x] for x in node.inputs)
                frees = tuple(frees_at.get(i, ()))
                self.steps.append(Step(node, node.op.compute, ins, i, frees))
        self._slot = slot
        self.peak_live = self._peak_live()

    def _peak_live(self) -> int:
        """Most non-constant values alive at once during a run (fed values included)."""
        live = len(self.placeholders)
        peak = live
        for step in self.steps:
            live += 1
            peak = max(peak, live)
            live -= len(step.frees)
        return peak

    # -- running ---------------------------------------------------------------
    def run(self, feed_dict: Mapping[Any, Any] | None = None) -> Any:
        """Evaluate the fetches; feeds are keyed by placeholder node or name."""
        fed = self._feeds.check({} if feed_dict is None else feed_dict)
        slots = list(self.initial)
        for p, value in fed.items():
            slots[self._slot[p]] = value
        step = None
        try:
            with np.errstate(all="ignore"):
                for step in self.steps:
                    slots[step.out] = step.fn(*[slots[i] for i in step.ins])
                    for i in step.frees:
                        slots[i] = None
        except GraphError:
            raise
        except Exception as e:  # a kernel failed: say which node, from where
            assert step is not None
            shapes = ", ".join(format_shape(np.shape(slots[i])) for i in step.ins)
            raise ExecutionError(
                f"{step.node.op} failed on inputs of shape {shapes}: {e} "
                f"(node {step.node.name} made at {step.node.origin.location})"
            ) from e
        buffers: set[int] = set()
        values = [_owned(slots[self._slot[n]], buffers) for n in self._nodes]
        return _rebuild(self._template, values)


def _owned(value: Any, buffers: set[int]) -> Any:
    """A fetched value the caller may keep and write, sharing no memory with the others.

    Read-only arrays (views of feeds or constants, broadcasts) are copied, and so is an
    array whose buffer an earlier fetch already returned (``[t, stop_gradient(t)]``, a
    view and its base, one node fetched twice); ``buffers`` holds the ids of the buffers
    handed out so far.  Fresh results are returned as they are.
    """
    if isinstance(value, np.ndarray):
        base = _buffer(value)
        if not value.flags.writeable or id(base) in buffers:
            value = value.copy()
            base = value
        buffers.add(id(base))
        return value
    if isinstance(value, tuple):
        return tuple(_owned(v, buffers) for v in value)
    if isinstance(value, dict):
        return {k: _owned(v, buffers) for k, v in value.items()}
    return value


def _buffer(array: np.ndarray) -> Any:
    """The object that owns ``array``'s memory: the end of its chain of bases."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array if array.base is None else array.base


def evaluate(fetches: Any, feed_dict: Mapping[Any, Any] | None = None) -> Any:
    """One-shot ``Executor(fetches).run(feed_dict)``."""
    return Executor(fetches).run(feed_dict)
