"""A pool of large temporaries that a program's runs hand to each other, and the allocation
graphad's kernels draw their results from.

glibc maps a large allocation afresh (``mmap``) and returns it to the system when freed,
and it trims the top of its heap past a threshold: a plan whose temporaries are megabytes
page-faults them in again on every run.  BA's Jacobian (ba1) took 4,738 page faults and
8 ms of system time a run beside 20 ms of computing.  Setting ``MALLOC_MMAP_THRESHOLD_``
and ``MALLOC_TRIM_THRESHOLD_`` avoids that for the whole process, but a library cannot ask
its users to; a program keeps its own large buffers instead:

- ``give(a)``, where the generated code releases a value: an array of at least
  ``MIN_BYTES`` that owns its memory and that nothing but the releasing code refers to
  (its reference count says so: no view of it, no caller, no other run holds it) is kept,
  keyed by shape and dtype;
- ``take(shape, dtype)``, where a ufunc's result would be allocated: a kept buffer of that
  shape and dtype, written with ``out=``, or None (NumPy allocates);
- ``empty(shape, dtype)`` and ``zeros(shape, dtype)``, which graphad's kernels that make
  large arrays (gathers, scatters, concatenations, sums of partials) allocate with: from
  the pool of the run in progress on this thread (:func:`running`), else NumPy's.

A buffer is in the pool or in one run's hands, never both: ``take`` removes it, and only
an array nobody else refers to goes back, so runs in many threads share the pool safely (a
lock guards its lists) and a fetched value, which the caller holds, is never taken back.
The pool keeps, of each shape and dtype, no more buffers than one run has taken, and only
of the shapes its last two runs asked for: a run whose shapes change (a batch of another
size) does not keep the old ones alive.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

Key = tuple[tuple[int, ...], np.dtype]
MIN_BYTES = 1 << 18  # 256 KiB: below it glibc serves allocations from its heap, cheaply


class _Probe:
    def count(self, a: Any) -> int:
        return sys.getrefcount(a)


def _held() -> int:
    """The references an array has inside ``give`` when only the releasing code's local
    variable holds it (3 on CPython 3.11: the variable, give's parameter, getrefcount's
    argument), measured the way the generated code calls it, in case an interpreter counts
    otherwise."""
    scope: dict[str, Any] = {}
    code = "def chunk(count):\n    v = np.empty(1)\n    return count(v)\n"
    exec(compile(code, "<graphad buffer probe>", "exec"), {"np": np}, scope)
    return int(scope["chunk"](_Probe().count))


HELD = _held()
BASE_HELD = 2  # an array only a view refers to: the view's base, getrefcount's argument


class BufferPool:
    """Large arrays a program's runs reuse, by (shape, dtype); see the module docstring."""

    def __init__(self) -> None:
        self._free: dict[Key, list[np.ndarray]] = {}
        # key -> [the last run that asked for it, its asks in that run, the most in one run]
        self._asked: dict[Key, list[int]] = {}
        self._run = 0
        self._lock = threading.Lock()

    def start_run(self) -> None:
        """A run begins: forget the buffers of shapes no run has asked for since the one
        before the last."""
        with self._lock:
            self._run += 1
            stale = [k for k, asked in self._asked.items() if asked[0] < self._run - 1]
            for k in stale:
                del self._asked[k]
                self._free.pop(k, None)

    def take(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
        """A kept buffer of ``shape`` and ``dtype``, or None (allocate)."""
        key = (shape, dtype)
        with self._lock:
            asked = self._asked.get(key)
            if asked is None:
                self._asked[key] = [self._run, 1, 1]
            elif asked[0] == self._run:
                asked[1] += 1
                asked[2] = max(asked[2], asked[1])
            else:
                asked[0], asked[1] = self._run, 1
            free = self._free.get(key)
            return free.pop() if free else None

    def give(self, a: Any) -> None:
        """Keep ``a`` when it is a large array that owns its memory and that only the caller's
        variable refers to, or the array a view of it (only the caller's variable referring
        to the view, only the view to the array) is a view of; anything else is left alone."""
        if type(a) is not np.ndarray or sys.getrefcount(a) > HELD:
            return
        if a.base is not None:  # the view goes now: its array is free when nothing else has it
            if type(a.base) is not np.ndarray or sys.getrefcount(a.base) > BASE_HELD:
                return
            a = a.base
        if a.base is not None or a.nbytes < MIN_BYTES or not a.flags.c_contiguous:
            return
        if not a.flags.writeable:
            return
        key = (a.shape, a.dtype)
        with self._lock:
            asked = self._asked.get(key)
            if asked is None:
                return  # a shape no step of a recent run wants
            free = self._free.setdefault(key, [])
            if len(free) < asked[2]:  # no more than one run takes
                free.append(a)

    def held(self) -> int:
        """Bytes kept in the pool."""
        with self._lock:
            return sum(a.nbytes for free in self._free.values() for a in free)

    def clear(self) -> None:
        with self._lock:
            self._free.clear()
            self._asked.clear()


_current = threading.local()  # .pool: the pool of the run in progress on this thread


def running_pool() -> BufferPool | None:
    """The pool of the run in progress on this thread, if any."""
    return getattr(_current, "pool", None)


@contextlib.contextmanager
def running(pool: BufferPool | None) -> Iterator[None]:
    """The kernels called on this thread inside draw from ``pool`` (a run of its program)."""
    saved = getattr(_current, "pool", None)
    _current.pool = pool
    try:
        yield
    finally:
        _current.pool = saved


# -- layout ------------------------------------------------------------------------------
# NumPy's loops run their innermost axis in one call and pay ~10 ns per call: over a (p, 2, 3)
# array that broadcasts against a (p, 1, 3) one, the innermost axis has 3 entries, and the
# product takes 0.25-0.5 ms where the same numbers laid out (2, 3, p) take 0.04 ms.  A long
# batch of short rows (what vmap makes) is therefore laid out with its first axis innermost
# in memory ("batch last": the array is a view (np.moveaxis) of a C-ordered (..., p)
# buffer); NumPy's elementwise loops and slice sums then run p entries at a time, and their
# results keep the layout.  The values are the same either way.
BATCH_MIN = 64  # a first axis at least this long
ROW_MAX = 16  # rows of at most this many entries
LAYOUT_MIN = 4096  # entries: below it a layout is not worth a thought
LARGEST_ITEM = 32  # bytes of NumPy's widest item (complex256): a bound on any result's item


def batch_last(shape: tuple[int, ...]) -> bool:
    """Whether graphad lays out an array of ``shape`` with its first axis innermost."""
    return (
        len(shape) >= 2
        and shape[0] >= BATCH_MIN
        and math.prod(shape[1:]) <= ROW_MAX
        and math.prod(shape) >= LAYOUT_MIN
    )


def plain(t: Any, like: bool = True) -> bool:
    """Whether a kernel's result of type ``t`` is surely small enough for NumPy's own
    allocation, never the pool's, and in C order: a tensor of static shape under
    ``MIN_BYTES``, not laid out batch last, nor (``like``: a kernel that lays its result out
    as an operand's) with a first axis long enough to follow a batch-last operand.  Known
    from the type alone, so a kernel decides it once (``Op.compute_for``), not on every run."""
    shape, dtype = getattr(t, "shape", None), getattr(t, "dtype", None)
    if shape is None or dtype is None or any(d is None for d in shape):
        return False
    if math.prod(shape) * dtype.itemsize >= MIN_BYTES or batch_last(shape):
        return False
    return not like or len(shape) < 2 or shape[0] < BATCH_MIN


def _buffer(shape: tuple[int, ...], dtype: np.dtype, filled: bool) -> np.ndarray:
    """A C-ordered buffer of ``shape``: the running program's pool's, else NumPy's."""
    if math.prod(shape) * dtype.itemsize < MIN_BYTES:  # the pool keeps none: not looked up
        return np.zeros(shape, dtype) if filled else np.empty(shape, dtype)
    pool = getattr(_current, "pool", None)
    if pool is not None:
        found = pool.take(shape, dtype)
        if found is not None:
            if filled:
                found.fill(0)
            return found
    return np.zeros(shape, dtype) if filled else np.empty(shape, dtype)


def empty(shape: tuple[int, ...], dtype: Any, like: Any = None, layout: str = "auto") -> Any:
    """An uninitialised array for a kernel's result: from the running program's pool when it
    keeps one; laid out batch last when :func:`batch_last` says so or the array ``like``
    (an operand whose entries the kernel places in the result) is laid out so, with a first
    axis of the same length (``layout="C"``: C order always, for kernels that write C order
    fastest)."""
    return _array(shape, np.dtype(dtype), like, layout, False)


def zeros(shape: tuple[int, ...], dtype: Any, like: Any = None) -> Any:
    """An array of zeros, laid out and drawn as :func:`empty`'s."""
    return _array(shape, np.dtype(dtype), like, "auto", True)


def _array(shape: tuple[int, ...], dt: np.dtype, like: Any, layout: str, filled: bool) -> Any:
    # a first axis shorter than BATCH_MIN (most small arrays) rules both layouts out at once
    if layout == "auto" and len(shape) >= 2 and shape[0] >= BATCH_MIN:
        follows = is_batch_last(like) and like.shape[0] == shape[0]
        if follows or batch_last(shape):
            return _first(_buffer((*shape[1:], shape[0]), dt, filled))
    return _buffer(shape, dt, filled)


# np.moveaxis checks and normalises its axes on each call (~4 µs, and a derivative of BA
# makes ~240 such calls a run); these permutations are computed once per rank
@functools.cache
def _to_last(ndim: int) -> tuple[int, ...]:
    return (*range(1, ndim), 0)


@functools.cache
def _to_first(ndim: int) -> tuple[int, ...]:
    return (ndim - 1, *range(ndim - 1))


def _last(a: np.ndarray) -> np.ndarray:
    """np.moveaxis(a, 0, -1): a view with the first axis last."""
    return a.transpose(_to_last(a.ndim))


def _first(a: np.ndarray) -> np.ndarray:
    """np.moveaxis(a, -1, 0): a view with the last axis first."""
    return a.transpose(_to_first(a.ndim))


def is_batch_last(a: Any) -> bool:
    """Whether ``a`` is an array laid out with its first axis innermost (and others)."""
    return type(a) is np.ndarray and a.ndim >= 2 and a.strides[0] == a.itemsize


# Copying a batch-last array into one of another layout (C order: a (p, 2, 15) block of
# BA's Jacobian), np.copyto walks the destination's order: its innermost loop runs over a
# row's few entries, each read p entries apart, and it moves 7.6 MB in 2.7-3.3 ms when the
# operands are not in cache.  Copying one row position at a time instead reads each
# position's run of p entries in one stream (the writes are strided): 1.0-1.2 ms, the same
# numbers moved.  That takes one pass over the destination per row position, which pays
# while the destination stays in the cache between passes: beyond SPAN_MAX bytes (BA ba4's
# 49 MB of blocks: 16.9 ms against np.copyto's 9.7) and for rows of more than COLUMNS_MAX
# entries, np.copyto copies.
COLUMNS_MAX = 64
SPAN_MAX = 1 << 24


def assign(out: np.ndarray, x: Any) -> None:
    """``out[...] = x`` for ``x`` of ``out``'s shape (np.copyto's casting), fastest for the
    layouts at hand: a batch-last ``x`` into an ``out`` not laid out so and spanning at most
    ``SPAN_MAX`` bytes, one row position (``x[:, i, j]``, a run along the batch axis) at a
    time; anything else by np.copyto."""
    if (
        is_batch_last(x)
        and not is_batch_last(out)
        and x.shape == out.shape
        and x.shape[0] >= BATCH_MIN
        and math.prod(x.shape[1:]) <= COLUMNS_MAX
        and abs(out.strides[0]) * out.shape[0] <= SPAN_MAX
    ):
        rows, targets = _last(x), _last(out)  # (..., p): a row position's run is [i, j, :]
        for position in np.ndindex(x.shape[1:]):
            np.copyto(targets[position], rows[position])
        return
    np.copyto(out, x)


def result_shape(*args: Any) -> tuple[int, ...]:
    """The broadcast shape of ``args``: for arrays, np.broadcast's (C, ~0.3 µs), where
    np.broadcast_shapes costs ~1.2 µs in Python; a derivative of small arrays asks often."""
    if len(args) <= 32 and all(type(a) is np.ndarray for a in args):
        return np.broadcast(*args).shape
    return np.broadcast_shapes(*(np.shape(a) for a in args))


def _tiny(args: tuple[Any, ...]) -> bool:
    """Whether arrays ``args`` broadcast to a result surely neither laid out batch last nor
    drawn from a pool: the product of their sizes (a bound on the broadcast's, or one
    empty) under ``LAYOUT_MIN``.  A few attribute reads, cheaper than any shape."""
    n = 1
    for a in args:
        if type(a) is not np.ndarray:
            return False
        n *= a.size
    return n < LAYOUT_MIN and n * LARGEST_ITEM < MIN_BYTES


def ufunc_into(
    ufunc: np.ufunc, shape: tuple[int, ...] | None, dtype: np.dtype | None, *args: Any
) -> Any:
    """``ufunc(*args)`` into a buffer of the running program's pool, laid out by
    :func:`batch_last`: then the operands are handed to the ufunc with their first axis
    moved last, so that NumPy's loop runs along it whatever the operands' own layouts.
    ``shape``: the result's, when known statically (else the operands' broadcast);
    ``dtype``: the result's (None: NumPy's result type of ``args``, found only when a
    buffer is drawn)."""
    if shape is None:
        if _tiny(args):  # a derivative's loop body calls this every step on a few numbers
            return ufunc(*args)
        shape = result_shape(*args)
    if not batch_last(shape):
        if math.prod(shape) * LARGEST_ITEM < MIN_BYTES:  # a small result: not looked up
            return ufunc(*args)
        dtype = np.result_type(*args) if dtype is None else dtype
        out = (
            _buffer(shape, dtype, False) if math.prod(shape) * dtype.itemsize >= MIN_BYTES else None
        )
        return ufunc(*args, out=out)
    dtype = np.result_type(*args) if dtype is None else dtype
    buffer = _buffer((*shape[1:], shape[0]), dtype, False)
    ndim = len(shape)
    moved = []
    for a in args:
        k = np.ndim(a)
        if k == ndim:
            moved.append(_last(a))
        elif k == 0:
            moved.append(a)
        else:  # aligned with the trailing axes: one more, of length 1, for the first
            moved.append(np.expand_dims(a, -1))
    ufunc(*moved, out=buffer)
    return _first(buffer)
