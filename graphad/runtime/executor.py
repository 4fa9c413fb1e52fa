"""``Executor``: plan once, run many times.

The fetches are optimised (:func:`graphad.compiler.optimize`, unless ``optimize=False``),
planned (each needed node runs exactly once per run; a value is released right after its
last consumer) and lowered to generated Python.  ``debug=True`` interprets the plan node
by node instead, checking every result against its node's type and for NaN and inf.
Feeds are validated completely before any kernel runs.  An Executor keeps no per-run
state, so many threads may run one at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from graphad.compiler import optimize_nodes
from graphad.compiler.codegen import Program
from graphad.compiler.plan import Plan, Step
from graphad.ir import (
    GraphError,
    Node,
    Placeholder,
    Snapshot,
    flag,
    topo_sort,
    user_location,
)
from graphad.ir._gc import collection_paused
from graphad.runtime import backend as backends
from graphad.runtime import loops
from graphad.runtime.checks import kernel_error, run_step
from graphad.runtime.feeds import FeedChecker

CODEGEN_LIMIT = 20_000


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

    ``optimize=False`` runs the graph as built; ``debug=True`` runs it node by node and
    names the node, op, origin and user line of the first kernel error, broken type or
    NaN/inf.  ``order``, ``steps`` and ``peak_live`` describe the plan that runs.

    One Executor may be run from many threads at once: a run keeps its values to itself,
    and the only state runs share (the feed signatures already checked) is locked.  An
    Executor pickles and copies (it is planned again when loaded), so it can be sent to
    worker processes; each returned array is the caller's own.

    ``backend``: ``"auto"`` (NumPy, or Dask when a feed is a Dask array), ``"numpy"`` or
    ``"dask"`` (fetches come back as lazy Dask arrays; see :mod:`graphad.runtime.backend`).

    ``fast_math=True`` lets the optimiser reassociate and factor floating-point sums and
    products (see :func:`graphad.optimize`): faster or smaller plans whose values may
    overflow, underflow or cancel where the graph as built does not.  Without it a
    rewrite changes a value by rounding only.

    ``reuse_buffers=True`` (NumPy backend): the large temporaries (256 KiB and more) of a run
    are kept for the next one instead of being returned to the system and mapped again
    (:mod:`graphad.ops._buffers`), at the cost of holding about one run's worth of them
    between runs; never a buffer the caller was handed.
    """

    def __init__(
        self,
        fetches: Any,
        optimize: bool = True,
        debug: bool = False,
        backend: str = "auto",
        fast_math: bool = False,
        reuse_buffers: bool = True,
    ) -> None:
        optimize = flag(optimize, "Executor: optimize")
        debug = flag(debug, "Executor: debug")
        fast_math = flag(fast_math, "Executor: fast_math")
        reuse_buffers = flag(reuse_buffers, "Executor: reuse_buffers")
        self._nodes: list[Node] = []
        self._template = _flatten(fetches, self._nodes)
        self.optimized = optimize
        self.debug = debug
        self.fast_math = fast_math
        self.reuse_buffers = reuse_buffers
        self.backend = backends.check_backend(backend)
        self._lazy: backends.LazyProgram | None = None  # made at the first Dask run
        with collection_paused():  # large graphs compile faster: see graphad.ir._gc
            self._compile(optimize, debug)

    def _compile(self, optimize: bool, debug: bool) -> None:
        planned = optimize_nodes(self._nodes, self.fast_math) if optimize else self._nodes
        self._plan = Plan(planned)
        self.order = self._plan.order
        self.steps: list[Step] = self._plan.steps
        self.initial = self._plan.initial
        self.peak_live = self._plan.peak_live
        self._slot = self._plan.slot
        self._fetch_slots = self._plan.fetch_slots
        # compiling costs ~15 µs a line: past CODEGEN_LIMIT steps, interpreting is cheaper
        # than compiling for all but many runs, so huge plans are interpreted
        generate = not debug and len(self.steps) <= CODEGEN_LIMIT
        self._program = Program(self._plan, pool=self.reuse_buffers) if generate else None
        # the feeds are those of the graph as built, with or without the placeholders
        # that optimisation found unneeded: a feed_dict works the same either way
        if optimize:
            built = topo_sort(self._nodes)
            self.placeholders = [n for n in built if isinstance(n.op, Placeholder)]
        else:
            self.placeholders = self._plan.placeholders
        self._feeds = FeedChecker(self.placeholders, self.order)

    def __getstate__(self) -> dict[str, Any]:
        # the graph as flat records: any depth pickles without recursion; planned again on load
        return {
            "graph": Snapshot(self._nodes),
            "template": self._template,
            "optimize": self.optimized,
            "debug": self.debug,
            "backend": self.backend,
            "fast_math": self.fast_math,
            "reuse_buffers": self.reuse_buffers,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        fetches = _rebuild(state["template"], state["graph"].nodes())
        backend, fast_math = state.get("backend", "auto"), state.get("fast_math", False)
        reuse = state.get("reuse_buffers", True)
        Executor.__init__(
            self, fetches, state["optimize"], state["debug"], backend, fast_math, reuse
        )

    # -- running ---------------------------------------------------------------
    def run(self, feed_dict: Mapping[Any, Any] | None = None, compute: bool = False) -> Any:
        """Evaluate the fetches; feeds are keyed by placeholder node or name.

        On the Dask backend the fetches are Dask arrays, or NumPy arrays computed in one
        ``dask.compute`` call with ``compute=True`` (on whatever scheduler is active).
        """
        if compute is not False:
            compute = flag(compute, "Executor.run: compute")
        fed = self._feeds.check({} if feed_dict is None else feed_dict)
        slots = list(self.initial)
        slot = self._slot
        to_dask = self.backend == "dask"  # NumPy feeds become Dask arrays (Dask's own chunks)
        for p, value in fed.items():
            i = slot.get(p)
            if i is not None:
                slots[i] = backends.as_dask(value) if to_dask else value
        if self.backend != "numpy" and (to_dask or backends.any_dask(fed)):
            return _rebuild(self._template, self._run_lazy(slots, compute))
        with np.errstate(all="ignore"):
            if self._program is None:
                self._interpret(slots, checks=self.debug)
            else:
                self._execute(slots)
        buffers: set[int] = set()
        values = [_owned(slots[i], buffers) for i in self._fetch_slots]
        return _rebuild(self._template, values)

    def _run_lazy(self, slots: list[Any], compute: bool) -> list[Any]:
        if self._lazy is None:
            self._lazy = backends.LazyProgram(self._plan, checks=self.debug)
        self._lazy.run(slots)
        values = [slots[i] for i in self._fetch_slots]
        if compute:
            return backends.compute(values)
        return [backends.as_dask(v) for v in values] if self.backend == "dask" else values

    def _execute(self, slots: list[Any]) -> None:
        assert self._program is not None
        try:
            self._program.run(slots)
        except GraphError:
            raise
        except Exception as e:  # a kernel failed: say which node, from where
            found = self._program.failed_step(e)
            if found is None:
                raise
            step, inputs = found
            raise kernel_error(step, inputs, e) from e

    def _interpret(self, slots: list[Any], checks: bool) -> None:
        """The plan node by node; with ``checks``, each result against its type and for
        NaN/inf (``debug=True``, inside loops too, naming the step), else only the results
        of ops defined outside graphad."""
        for step in self.steps:
            fn = loops.checked(step.node) if checks and step.node.op.control == "loop" else None
            slots[step.out] = run_step(step, fn or step.fn, [slots[i] for i in step.ins], checks)
            for i in step.frees:
                slots[i] = None


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


def evaluate(
    fetches: Any, feed_dict: Mapping[Any, Any] | None = None, optimize: bool = True
) -> Any:
    """One-shot ``Executor(fetches, optimize=optimize).run(feed_dict)``."""
    return Executor(fetches, optimize=optimize).run(feed_dict)
