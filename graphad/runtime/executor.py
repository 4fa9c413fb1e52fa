"""``Executor``: plan once, run many times.

The fetches are optimised (:func:`graphad.compiler.optimize`, unless ``optimize=False``),
planned (each needed node runs exactly once per run; a value is released right after its
last consumer) and lowered to generated Python (on the numba backend, its regions
compiled to native code first).  ``debug=True`` interprets the plan node by node instead,
checking every result against its node's type and for NaN and inf.
Feeds are validated completely before any kernel runs.  An Executor keeps no per-run
state, so many threads may run one at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from graphad.compiler import optimize_nodes
from graphad.compiler.codegen import Program
from graphad.compiler.plan import Plan, Step
from graphad.ir import (
    ExecutionError,
    FeedError,
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

    ``backend``: ``"auto"`` (NumPy, or Dask when a feed is a Dask array), ``"numpy"``,
    ``"dask"`` (fetches come back as lazy Dask arrays; see :mod:`graphad.runtime.backend`)
    or ``"numba"`` (the plan's compilable regions as native code, the rest on NumPy; see
    :mod:`graphad.runtime.numba_backend`: ``compile_time``, ``fallbacks`` and
    ``report()`` say what it compiled; ``cache_dir`` is where compiled code is kept, by
    default numba's cache directory).  On numba, ``debug=True`` runs the regions one by
    one and checks what each returns; a region that fails, or makes NaN or inf from finite
    inputs, is run again on NumPy node by node, to name the node.

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
        cache_dir: str | os.PathLike[str] | None = None,
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
        self.cache_dir = cache_dir
        self._lazy: backends.LazyProgram | None = None  # made at the first Dask run
        with collection_paused():  # large graphs compile faster: see graphad.ir._gc
            self._compile(optimize, debug)

    def _compile(self, optimize: bool, debug: bool) -> None:
        planned = optimize_nodes(self._nodes, self.fast_math) if optimize else self._nodes
        # the plan of the graph as optimised: what runs, but on the numba backend, where
        # it is the reference a failing compiled region is run again on to find the node
        self._reference = Plan(planned)
        self._native: Any = None
        plan = self._reference
        if self.backend == "numba":
            lowered = backends.numba_backend().Lowered(planned, self.cache_dir)
            self._native = lowered
            plan = Plan(lowered.fetches)
        self._plan = plan
        self.order = plan.order
        self.steps: list[Step] = plan.steps
        self.initial = plan.initial
        self.peak_live = plan.peak_live
        self._slot = plan.slot
        self._fetch_slots = plan.fetch_slots
        # compiling costs ~15 µs a line: past CODEGEN_LIMIT steps, interpreting is cheaper
        # than compiling for all but many runs, so huge plans are interpreted
        generate = not debug and len(self.steps) <= CODEGEN_LIMIT
        # a plan of native code alone that takes no buffers from the pool skips its bookkeeping
        native = self._native
        pool = self.reuse_buffers and (native is None or not native.all_native or native.pooled)
        self._program = Program(plan, pool=pool) if generate else None
        # a plan that is one compiled region is that region's call (numba_backend.Direct)
        self._direct = None if self._native is None or not generate else self._native.direct
        # the feeds are those of the graph as built, with or without the placeholders
        # that optimisation found unneeded: a feed_dict works the same either way
        if optimize:
            built = topo_sort(self._nodes)
            self.placeholders = [n for n in built if isinstance(n.op, Placeholder)]
        else:
            self.placeholders = self._reference.placeholders
        self._feeds = FeedChecker(self.placeholders, self._reference.order)

    # -- the numba backend's account of itself ------------------------------------
    @property
    def compile_time(self) -> float:
        """Seconds spent compiling (or loading from numba's cache) this Executor's native
        code so far; 0 on the other backends."""
        return 0.0 if self._native is None else float(self._native.compile_time)

    @property
    def fallbacks(self) -> tuple[Any, ...]:
        """On the numba backend, the nodes that run on NumPy, each with the reason
        (``.node``, ``.reason``); empty on the other backends, where everything does."""
        return () if self._native is None else tuple(self._native.fallbacks)

    def report(self) -> str:
        """What runs where: on the numba backend each compiled region's ops, every node
        left to NumPy and why, and the compile time."""
        if self._native is None:
            return f"backend {self.backend!r}: {len(self.steps)} steps on NumPy, nothing compiled"
        return str(self._native.report())

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
            "cache_dir": self.cache_dir,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        fetches = _rebuild(state["template"], state["graph"].nodes())
        Executor.__init__(
            self,
            fetches,
            state["optimize"],
            state["debug"],
            state.get("backend", "auto"),
            state.get("fast_math", False),
            state.get("reuse_buffers", True),
            state.get("cache_dir"),
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
        if self._direct is not None and not backends.any_dask(fed):
            buffers: set[int] = set()
            values = [_owned(v, buffers) for v in self._run_direct(fed)]
            return _rebuild(self._template, values)
        slots = list(self.initial)
        slot = self._slot
        to_dask = self.backend == "dask"  # NumPy feeds become Dask arrays (Dask's own chunks)
        for p, value in fed.items():
            i = slot.get(p)
            if i is not None:
                slots[i] = backends.as_dask(value) if to_dask else value
        if self.backend in ("auto", "dask") and (to_dask or backends.any_dask(fed)):
            return _rebuild(self._template, self._run_lazy(slots, compute))
        if self._native is not None and backends.any_dask(fed):
            raise FeedError(
                f"Executor: backend='numba' computes NumPy arrays, but was fed Dask arrays; "
                f"use backend='dask' (or 'auto') for them ({user_location()})"
            )
        if self._native is not None and self._native.all_native:
            self._steps(slots, fed)  # native code only: no NumPy warning to silence (~1 µs)
        else:
            with np.errstate(all="ignore"):
                self._steps(slots, fed)
        buffers = set()
        values = [_owned(slots[i], buffers) for i in self._fetch_slots]
        return _rebuild(self._template, values)

    def _run_direct(self, fed: dict[Node, Any]) -> list[Any]:
        """The fetches of a plan that is one compiled region, from one call of it; where it
        fails, the reference plan run on NumPy names the node."""
        assert self._direct is not None
        try:
            return self._direct.run(fed)
        except GraphError:
            raise
        except Exception as e:
            region = self._direct.region
            (step,) = [s for s in self.steps if s.node is region]
            inputs = [fed[x] if x in fed else self.initial[self._slot[x]] for x in region.inputs]
            with np.errstate(all="ignore"):
                self._find_on_numpy(fed, _RegionFailed(kernel_error(step, inputs, e)))
            raise  # _find_on_numpy raises

    def _steps(self, slots: list[Any], fed: dict[Node, Any]) -> None:
        try:
            if self._program is None:
                self._interpret(slots, checks=self.debug)
            else:
                self._execute(slots)
        except _RegionFailed as e:
            with np.errstate(all="ignore"):
                self._find_on_numpy(fed, e)

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
            raise self._failure(step, kernel_error(step, inputs, e)) from e

    def _interpret(self, slots: list[Any], checks: bool, steps: list[Step] | None = None) -> None:
        """The plan node by node; with ``checks``, each result against its type and for
        NaN/inf (``debug=True``, inside loops too, naming the step), else only the results
        of ops defined outside graphad."""
        for step in self.steps if steps is None else steps:
            fn = loops.checked(step.node) if checks and step.node.op.control == "loop" else None
            try:
                value = run_step(step, fn or step.fn, [slots[i] for i in step.ins], checks)
            except ExecutionError as e:
                raise self._failure(step, e) from e
            slots[step.out] = value
            for i in step.frees:
                slots[i] = None

    def _failure(self, step: Step, error: ExecutionError) -> Exception:
        """``error``, or, where a compiled region failed, the signal to find the node on
        NumPy (a region's error can name only the region)."""
        if self._native is not None and self._native.is_region(step.node):
            return _RegionFailed(error)
        return error

    def _find_on_numpy(self, fed: dict[Node, Any], failed: _RegionFailed) -> None:
        """Run the reference plan on NumPy, node by node (with ``debug``'s checks when
        asked): its error names the node and the user's line."""
        plan = self._reference
        slots = list(plan.initial)
        for p, value in fed.items():
            i = plan.slot.get(p)
            if i is not None:
                slots[i] = value
        self._interpret(slots, checks=self.debug, steps=plan.steps)
        raise ExecutionError(
            f"{failed.error}; the same run on NumPy succeeds, so the numba backend "
            f"disagrees with NumPy here: run with backend='numpy'"
        ) from failed.error


class _RegionFailed(Exception):
    """A compiled region failed (or made NaN from finite inputs under ``debug``): the
    reference plan is run to name the node."""

    def __init__(self, error: ExecutionError) -> None:
        super().__init__(str(error))
        self.error = error


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
    fetches: Any,
    feed_dict: Mapping[Any, Any] | None = None,
    optimize: bool = True,
    backend: str = "auto",
) -> Any:
    """One-shot ``Executor(fetches, optimize=optimize, backend=backend).run(feed_dict)``."""
    return Executor(fetches, optimize=optimize, backend=backend).run(feed_dict)
