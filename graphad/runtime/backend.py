"""Array backends: the same plan on NumPy arrays (default) or lazily on Dask arrays.

graphad's kernels are written with NumPy's functions; NumPy hands a call on Dask arrays to
``dask.array`` (NEP 13/18 dispatch: ``__array_ufunc__``, ``__array_function__``), so most
kernels build Dask graphs unchanged and nothing is computed until the caller asks.  The
backend is chosen once per run (``Executor(backend="dask")``, or Dask feeds); the NumPy
path pays nothing for it.  What NumPy-only fast paths the generated code takes (``out=``
buffer reuse, Python-float regions, ``cond`` as ``if``) the Dask runner does not: it
interprets the plan step by step, which costs microseconds per node per run and nothing
per chunk.

Each op says how a chunked backend may run its kernel (its ``chunking``).  Ops that Dask
has no lazy chunked form of (``"whole"``: scatter-add, LAPACK factorisations, sorts,
getitem with index arrays) run lazily as **one task** on the whole array: the kernel is
called on NumPy arrays inside the Dask graph, on a worker, never in the caller's process.
An elementwise kernel of several NumPy calls (``"blocks"``) runs whole on each block, one
Dask layer instead of one per call.  A selecting op (``cond``) evaluates both branches
lazily and selects with ``where``, as Dask cannot branch on a value it has not computed; a
loop runs step by step, each step's body building graph (:mod:`graphad.runtime.loops`).

Scheduling is Dask's: the threaded default, ``dask.distributed`` (a ``Client`` set up by
the user) or anything ``dask.compute`` accepts.  Constants and NumPy feeds enter the Dask
graph as one key each, so a cluster ships them to workers once, not once per chunk.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphad.compiler.codegen import ufunc_of
from graphad.compiler.contract import broken_contract, mismatch
from graphad.compiler.patterns import is_own
from graphad.compiler.plan import Plan
from graphad.ir import (
    ExecutionError,
    FeedError,
    GraphError,
    Node,
    SparseType,
    TensorType,
    TupleType,
    fits,
    format_shape,
    user_location,
)
from graphad.ops import linalg, shape
from graphad.ops._util import tensor
from graphad.ops.loop import Loop
from graphad.runtime import loops

BACKENDS = ("auto", "numpy", "dask", "numba")


def is_dask(value: Any) -> bool:
    """Whether ``value`` is a Dask array (without importing Dask)."""
    return type(value).__module__.startswith("dask.") and hasattr(value, "__dask_graph__")


def any_dask(value: Any) -> bool:
    """Whether a fed value (an array or a structure of arrays, or the feeds) holds a Dask
    array."""
    if type(value) is np.ndarray:  # the common case first: a NumPy run pays ~50 ns a feed
        return False
    if isinstance(value, dict):  # the feeds, or a fed dict
        value = value.values()
    elif not isinstance(value, (tuple, list)):
        return is_dask(value)
    for v in value:  # noqa: SIM110 - a loop costs a quarter of any() over a generator
        if type(v) is not np.ndarray and any_dask(v):
            return True
    return False


def dask_array() -> Any:
    """The ``dask.array`` module, or a clear error saying how to install it."""
    if "dask.array" in sys.modules:
        return sys.modules["dask.array"]
    try:
        return importlib.import_module("dask.array")
    except ImportError as e:
        raise GraphError(
            f"backend='dask' needs Dask: pip install 'graphad[dask]' ({e}) ({user_location()})"
        ) from None


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise GraphError(
            f"Executor: backend must be one of {', '.join(map(repr, BACKENDS))}, got "
            f"{backend!r} ({user_location()})"
        )
    if backend == "dask":
        dask_array()
    if backend == "numba":
        numba_backend()
    return backend


def numba_backend() -> Any:
    """:mod:`graphad.runtime.numba_backend` (which imports numba), or a clear error saying
    how to install numba."""
    try:
        return importlib.import_module("graphad.runtime.numba_backend")
    except ImportError as e:
        if not (e.name or "").startswith(("numba", "llvmlite")):
            raise
        raise GraphError(
            f"backend='numba' needs numba: pip install 'graphad[numba]' ({e}) ({user_location()})"
        ) from None


class LazyProgram:
    """A plan run on Dask arrays: each step builds Dask graph, nothing is computed.

    Each result's shape and dtype (Dask's metadata) is checked against its node's type
    for ops defined outside graphad, and for every op with ``checks`` (``debug=True``;
    NaN/inf cannot be looked for without computing)."""

    def __init__(self, plan: Plan, checks: bool = False) -> None:
        self.plan = plan
        self.kernels = [lazy_kernel(step.node) for step in plan.steps]
        self.checked = [checks or not is_own(step.node) for step in plan.steps]

    def run(self, slots: list[Any]) -> None:
        for step, kernel, checked in zip(self.plan.steps, self.kernels, self.checked):
            inputs = [slots[i] for i in step.ins]
            try:
                slots[step.out] = value = kernel(*inputs)
            except GraphError:
                raise
            except Exception as e:
                raise ExecutionError(
                    f"{step.node.op} failed on Dask inputs of shape "
                    f"{', '.join(str(getattr(v, 'shape', ())) for v in inputs)}: {e} "
                    f"(node {step.node.name}, made at {step.node.origin.location})"
                ) from e
            if checked:
                why = mismatch(step.node.type, value)
                if why is not None:
                    raise broken_contract(step.node, why)
            for i in step.frees:
                slots[i] = None


def lazy_kernel(node: Node) -> Callable[..., Any]:
    """The function computing ``node`` lazily on Dask (and NumPy) inputs."""
    op = node.op
    if op.control == "select":  # cond
        return _LazyCond(op)
    if op.control == "loop":
        return _LazyLoop(node)
    chunking = op.chunking
    if chunking == "whole":
        return _OneTask(node)
    if chunking == "blocks" and ufunc_of(node) is None:  # one ufunc is Dask's own blockwise
        return _Blockwise(node)
    # Dask's own limits, not the ops': its reshape and einsum need some axes in one chunk
    if isinstance(op, shape.Reshape):
        return _Reshape(op)
    if isinstance(op, linalg.Einsum):
        return _Einsum(op)
    return op.compute


class _Blockwise:
    """An op whose kernel maps blocks to blocks, in several NumPy calls (sigmoid, the
    strong-zero products, add_n): the whole kernel per block, one Dask layer instead of
    one per call.  Its checks of values (real_if_close's) run on each block at compute
    time."""

    def __init__(self, node: Node) -> None:
        self.op = node.op
        self.dtype = tensor(node.type).dtype
        self.kernel = _Reported(node.op, _where(node))

    def __call__(self, *xs: Any) -> Any:
        if not any(is_dask(x) for x in xs):
            return self.op.compute(*xs)
        from dask.array.core import elemwise  # blockwise, broadcasting as NumPy does

        return elemwise(self.kernel, *xs, dtype=self.dtype)


class _Reshape:
    """Dask reshapes only where chunk boundaries allow; else the trailing axes (and then
    all axes) are merged into one chunk first, lazily."""

    def __init__(self, op: Any) -> None:
        self.op = op

    def __call__(self, x: Any, *rest: Any) -> Any:
        try:
            return self.op.compute(x, *rest)
        except NotImplementedError:
            if not is_dask(x):
                raise
        trailing = x.rechunk(dict.fromkeys(range(1, x.ndim), -1))
        try:
            return self.op.compute(trailing, *rest)
        except NotImplementedError:
            return self.op.compute(x.rechunk(-1), *rest)


class _Einsum:
    """Dask's einsum needs an index repeated within one operand (a diagonal) to be chunked
    alike on its axes: those axes become one chunk each."""

    def __init__(self, op: Any) -> None:
        self.op = op
        self.operands = op.subscripts.split("->")[0].split(",")

    def __call__(self, *xs: Any) -> Any:
        return self.op.compute(*(_diagonal_ready(s, x) for s, x in zip(self.operands, xs)))


def _diagonal_ready(subscripts: str, x: Any) -> Any:
    letters = subscripts.replace("...", "")
    repeated = {c for c in letters if letters.count(c) > 1}
    if not repeated or not is_dask(x) or "..." in subscripts:
        return x
    return x.rechunk({i: -1 for i, c in enumerate(letters) if c in repeated})


class _OneTask:
    """``node``'s NumPy kernel as a single Dask task over whole arrays."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def __call__(self, *inputs: Any) -> Any:
        if not any(is_dask(v) for v in inputs):
            return self.node.op.compute(*inputs)
        import dask

        da = dask_array()
        op = self.node.op
        types = [_concrete(x.type, v) for x, v in zip(self.node.inputs, inputs)]
        try:
            out = op.run_type(types, inputs)
        except GraphError as e:
            raise ExecutionError(f"{e} ({_where(self.node)})") from None
        value = dask.delayed(_Reported(op, _where(self.node)), pure=True)(*inputs)
        if isinstance(out, TensorType):
            return da.from_delayed(value, out.shape, dtype=out.dtype)
        if isinstance(out, SparseType):  # a SciPy matrix has no Dask array: a lazy object
            return value
        assert isinstance(out, TupleType)
        return tuple(
            da.from_delayed(value[k], t.shape, dtype=t.dtype)
            for k, t in enumerate(tensor(t, f"{op.name}'s entry") for t in out.items)
        )


class _Reported:
    """``op.compute`` on a worker, with NumPy's warnings off as on the NumPy path; failing
    at compute time, it names the op and the node.

    Holds the op and a description, not the node: it travels to workers by pickle."""

    def __init__(self, op: Any, where: str) -> None:
        self.op = op
        self.where = where

    def __call__(self, *inputs: Any) -> Any:
        try:
            with np.errstate(all="ignore"):  # as on NumPy: inf and NaN are values, not warnings
                return self.op.compute(*inputs)
        except Exception as e:
            shapes = ", ".join(str(np.shape(v)) for v in inputs)
            raise ExecutionError(
                f"{self.op} failed on inputs of shape {shapes}: {e} ({self.where})"
            ) from e


def _where(node: Node) -> str:
    return f"node {node.name}, made at {node.origin.location}"


def _concrete(t: Any, value: Any) -> Any:
    if isinstance(t, TensorType) and not t.is_static:
        return TensorType(tuple(value.shape), t.dtype)
    return t


class _LazyCond:
    """Both branches built lazily, the result chosen by ``where(pred, t, f)`` leaf by leaf."""

    def __init__(self, op: Any) -> None:
        self.op = op
        self.branches = [LazyProgram(Plan(list(b.outputs))) for b in op.branches]

    def __call__(self, pred: Any, *values: Any) -> Any:
        if not is_dask(pred) and not any(is_dask(v) for v in values):
            return self.op.compute(pred, *values)
        results = []
        for branch, program in zip(self.op.branches, self.branches):
            plan = program.plan
            slots = list(plan.initial)
            for p, s in zip(branch.params, branch.slots):
                i = plan.slot.get(p)
                if i is not None:
                    slots[i] = values[s]
            program.run(slots)
            results.append(slots[plan.fetch_slots[0]])
        return _select(pred, *results)


class _LazyLoop:
    """A loop stepped through lazily: each step's body builds Dask graph on lazy rows of the
    xs, the per-step outputs are stacked lazily; a while loop computes its carries once a
    step (``persist``), as its condition decides whether there is a next step."""

    def __init__(self, node: Node) -> None:
        assert isinstance(node.op, Loop)  # made for loop nodes only (control == "loop")
        self.op = node.op
        self.programs: dict[int, LazyProgram] = {}

    def __call__(self, *values: Any) -> Any:
        if not any(is_dask(v) for v in values):
            return self.op.compute(*values)
        return loops.interpret(self.op, values, self._run, _stack, _persisted)

    def _run(self, body: Any, inputs: list[Any], step: int) -> list[Any]:
        program = self.programs.get(id(body))
        if program is None:
            program = self.programs[id(body)] = LazyProgram(Plan(list(body.outputs)))
        slots = loops.feed(program.plan, body, inputs)
        program.run(slots)
        return [slots[i] for i in program.plan.fetch_slots]


def _stack(rows: list[Any], t: TensorType) -> Any:
    if not rows:
        return loops.stack_numpy(rows, t)
    da = dask_array()
    return da.stack([da.asarray(r) for r in rows])


def _persisted(values: list[Any]) -> list[Any]:
    import dask

    return list(dask.persist(*values))


def _select(pred: Any, t: Any, f: Any) -> Any:
    if isinstance(t, tuple):
        return tuple(_select(pred, a, b) for a, b in zip(t, f))
    if isinstance(t, dict):
        return {k: _select(pred, t[k], f[k]) for k in t}
    return dask_array().where(pred, t, f)


def as_dask(value: Any) -> Any:
    """A fed or fetched value with every NumPy array in it made a Dask array."""
    if isinstance(value, dict):
        return {k: as_dask(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(as_dask(v) for v in value)
    if value is None or is_dask(value):
        return value
    return dask_array().asarray(value)


def conform(t: TensorType, value: Any, where: str) -> Any:
    """A fed Dask array checked against its placeholder's type by its metadata only."""
    shape = tuple(value.shape)
    if any(d != d for d in shape):  # NaN: chunk sizes unknown (after boolean masking)
        raise FeedError(
            f"{where} was fed a Dask array of unknown shape {shape}; call "
            f"compute_chunk_sizes() on it first ({user_location()})"
        )
    if not np.can_cast(value.dtype, t.dtype, casting="same_kind"):
        raise FeedError(
            f"{where} is {t.dtype.name} but was fed {value.dtype.name} ({user_location()})"
        )
    if not t.accepts(shape):
        raise FeedError(
            f"{where} has shape {format_shape(t.shape)} but was fed shape "
            f"{format_shape(shape)} ({user_location()})"
        )
    masked = isinstance(getattr(value, "_meta", None), np.ma.MaskedArray)
    if value.dtype == t.dtype and not masked:
        return value
    # a narrowing cast and a mask are checked lazily, block by block, when the graph computes
    check = _FeedBlocks(t.dtype, where, user_location())
    return value.map_blocks(check, dtype=t.dtype, meta=np.empty((0,) * value.ndim, t.dtype))


class _FeedBlocks:
    """A fed Dask array's blocks as the placeholder's dtype, checked as a NumPy feed is: a
    value the dtype cannot hold, or an entry masked out, is a FeedError naming the feed
    when the block computes (a cast would wrap 300 to 44 in int8, or overflow to inf).

    Holds the dtype and a description: it travels to workers by pickle."""

    def __init__(self, dtype: np.dtype, where: str, fed_at: str) -> None:
        self.dtype = dtype
        self.where = where
        self.fed_at = fed_at  # the user's line that ran the graph, not the one computing it

    def __call__(self, block: Any) -> np.ndarray:
        if np.ma.is_masked(block):
            raise FeedError(
                f"{self.where} was fed a masked array with entries masked out, whose values "
                f"would be used as they are; fill or drop them first (fed at {self.fed_at})"
            )
        block = np.ma.getdata(block)
        if not fits(block, self.dtype):
            raise FeedError(
                f"{self.where} is {self.dtype.name}: the fed {block.dtype.name} values do not "
                f"fit in it (fed at {self.fed_at})"
            )
        return block.astype(self.dtype, copy=False)


def compute(values: Sequence[Any]) -> list[Any]:
    """Every Dask array in ``values`` computed (one ``dask.compute`` call: shared work once)."""
    import dask

    return list(dask.compute(*values))
