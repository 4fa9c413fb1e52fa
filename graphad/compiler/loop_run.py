"""Running a loop: the driver of its generated step function (:mod:`.loop_code`).

:class:`LoopProgram` is a loop op's kernel.  It finds the trip count (and checks that the
xs agree with it), allocates the stacked per-step outputs, and calls the step function:
once for the whole run; or once per stretch of k steps under a checkpoint policy, keeping
the carries entering each stretch; or, for a replaying loop (a checkpointed loop's
backward loop), stretch by stretch from the last, first recomputing the stretch's
per-step values from its checkpoint with the replayed loop's step function, then running
its own steps over them.  A while loop's step function stops at its condition or at
``max_steps`` (an ExecutionError naming the loop, never a silent truncation).  Python's
float arithmetic raising sends the run to the NumPy version; a kernel failing names the
body's node, the loop and the step.  It pickles as its form and is generated again when
loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from graphad.compiler import floats
from graphad.compiler.loop_code import Stepper
from graphad.ir import ExecutionError, GraphError, Node, TensorType, format_shape
from graphad.ops.loop import LoopForm, segments


class StepFunctions(Protocol):
    """What the driver asks of a loop's step functions (a :class:`Stepper`'s, or a native
    backend's with the same arguments): the float version to try first, if any, the
    general one, both in order, and the body's node a failure came from."""

    @property
    def _fn_fast(self) -> list[Callable[..., Any]] | None: ...

    @property
    def _fn_general(self) -> list[Callable[..., Any]]: ...

    @property
    def functions(self) -> list[Callable[..., Any]]: ...

    def failed_step(self, error: BaseException) -> tuple[Any, list[Any]] | None: ...


class LoopProgram:
    """A loop op's kernel: ``program(*inputs)`` is the loop's value (a tuple).

    ``where`` in errors is the loop's own description (its op and the user's line).
    ``make`` makes a form's step functions (generated Python by default; a native backend
    gives its own, with the same arguments)."""

    def __init__(
        self,
        form: LoopForm,
        name: str = "loop",
        make: Callable[[LoopForm], StepFunctions] = Stepper,
    ) -> None:
        self.form = form
        self.name = name
        self.stepper = make(form)
        self.replay = None if form.replay is None else make(form.replay)

    def __reduce__(self) -> tuple[Any, ...]:
        return (LoopProgram, (self.form, self.name))

    @property
    def where(self) -> str:
        return f"{self.name} made at {self.form.where}" if self.form.where else self.name

    def __call__(self, *values: Any) -> tuple[Any, ...]:
        try:
            return self._attempt(values)
        except ExecutionError as e:
            step = _step_number(e)
            if step is None:  # the driver's own (a trip count, max_steps): said already
                raise
            raise ExecutionError(f"{self.where}, step {step}: {e}") from e  # a loop inside
        except GraphError:
            raise
        except Exception as e:
            raise self._failed(e) from e

    def _attempt(self, values: Sequence[Any]) -> tuple[Any, ...]:
        """The float version, and the NumPy version where Python's floats raised."""
        fast = self.stepper._fn_fast
        if fast is not None:
            try:
                return self._run(values, fast[0])
            except floats.FALLBACK_ERRORS as e:
                found = self.stepper.failed_step(e)
                if found is None or not floats.lowers(found[0].node):
                    raise
        return self._run(values, self.stepper._fn_general[0])

    def _failed(self, e: BaseException) -> ExecutionError:
        """The body's node that failed, at which step, as an ExecutionError."""
        found = None
        for stepper in (self.stepper, self.replay):
            if stepper is not None and found is None:
                found = stepper.failed_step(e)
        step = _step_number(e)
        at = f"{self.where}, step {step}" if step is not None else self.where
        if found is None:
            return ExecutionError(f"{at}: {type(e).__name__}: {e}")
        node_step, inputs = found
        node = node_step.node
        shapes = ", ".join(format_shape(np.shape(v)) for v in inputs)
        return ExecutionError(
            f"{at}: {node.op} failed on inputs of shape {shapes}: {e} (node {node.name} of "
            f"the body, made at {node.origin.location})"
        )

    # -- the driver ---------------------------------------------------------------
    def _run(self, values: Sequence[Any], steps: Callable[..., Any]) -> tuple[Any, ...]:
        form = self.form
        if form.cond is not None:
            return self._while(values, steps)
        trips = trip_count(form, values, self.where)
        carries = [values[i] for i in form.carry_inputs()]
        xs = [values[i] for i in form.xs_inputs()]
        consts = [values[i] for i in form.const_inputs()]
        outs = [_buffer(out, trips) for out in form.per_step()]
        if form.replay is not None:
            carries = self._replayed(values, trips, carries, xs, consts, outs, steps)
            return (*carries, *_stacked(outs))
        if not form.checkpoints:
            if trips:
                carries = list(steps(trips, 0, *carries, *xs, *consts, *outs))
            return (*_arrays(carries), *_stacked(outs))
        assert form.checkpoint is not None
        every = form.checkpoint.every(trips)
        kept = [_buffer_like(c, segments(trips, every)) for c in carries]
        for s in range(segments(trips, every)):
            lo, hi = _rows_of(s, every, trips, form.reverse)
            for cp, c in zip(kept, carries):
                cp[s] = c
            views = [x[lo:hi] for x in (*xs,)]
            buffers = [y[lo:hi] for y in outs]
            carries = list(steps(hi - lo, lo, *carries, *views, *consts, *buffers))
        return (*_arrays(carries), *_stacked(outs), *kept)

    def _replayed(
        self,
        values: Sequence[Any],
        trips: int,
        carries: list[Any],
        xs: list[Any],
        consts: list[Any],
        outs: list[np.ndarray],
        steps: Callable[..., Any],
    ) -> list[Any]:
        """Backwards over stretches of k steps, last first: each stretch's carries and
        per-step values are recomputed from its checkpoint by the replayed loop, then this
        loop runs over them."""
        form, replay = self.form, self.form.replay
        assert replay is not None and replay.checkpoint is not None and self.replay is not None
        kept, _, rxs, rconsts = ([values[i] for i in r] for r in form.replay_inputs())
        every = replay.checkpoint.every(trips)
        stretch = [_buffer(out, min(every, trips)) for out in replay.per_step()]
        forward = self.replay.functions[-1]  # the NumPy version: its rows are stored
        for s in reversed(range(segments(trips, every))):
            lo, hi = _rows_of(s, every, trips, replay.reverse)
            n = hi - lo
            start_carries = [cp[s] for cp in kept]
            views = [x[lo:hi] for x in rxs]
            recomputed = [b[:n] for b in stretch]
            forward(n, lo, *start_carries, *views, *rconsts, *recomputed)
            rows = [*_stacked(recomputed), *(x[lo:hi] for x in xs)]
            buffers = [y[lo:hi] for y in outs]
            carries = list(steps(n, lo, *carries, *rows, *consts, *buffers))
        return _arrays(carries)

    def _while(self, values: Sequence[Any], steps: Callable[..., Any]) -> tuple[Any, ...]:
        form = self.form
        carries = [values[i] for i in form.carry_inputs()]
        consts = [values[i] for i in form.const_inputs()]
        limit = -1 if form.max_steps is None else form.max_steps
        outs = [_buffer(out, max(limit, 0)) for out in form.per_step()]
        if outs and form.max_steps is None:
            raise ExecutionError(f"{self.where}: stacking per-step values needs max_steps")
        found, n = steps(limit, *carries, *consts, *outs)
        if found is None:
            raise ExecutionError(
                f"{self.where}: the condition still held after max_steps={form.max_steps} "
                "steps; give a larger max_steps (the loop is not cut short silently)"
            )
        return (*_arrays(list(found)), *_stacked(outs, n), np.int64(n))


def trip_count(form: LoopForm, values: Sequence[Any], where: str) -> int:
    """T for one run: the length, the counted input or the xs' leading dim, which must agree."""
    trips: int | None = form.length
    if form.counted:
        trips = max(int(values[0]), 0)
    sliced = [values[i] for i in (*form.xs_inputs(), *form.replay_inputs()[2])]
    for k, x in enumerate(sliced):
        rows = np.shape(x)[0]
        if trips is None:
            trips = rows
        elif rows != trips:
            raise ExecutionError(f"{where}: xs {k} has {rows} rows but the loop runs {trips} steps")
    if trips is None:
        raise ExecutionError(f"{where}: no trip count (no length, count or xs)")
    return trips


def _rows_of(s: int, every: int, trips: int, reverse: bool) -> tuple[int, int]:
    """The rows of stretch s (in the order the loop runs) as [lo, hi)."""
    lo, hi = s * every, min(trips, (s + 1) * every)
    return (trips - hi, trips - lo) if reverse else (lo, hi)


def _buffer(node: Node, rows: int) -> Any:
    """A stacked output's buffer: ``rows`` rows of the node's type, or, when its shape is not
    known statically, rows kept as they come and stacked at the end (:class:`_Rows`)."""
    t = node.type
    assert isinstance(t, TensorType) and t.shape is not None
    if None in t.shape:
        return _Rows([None] * rows, 0, t)
    return np.empty((rows, *t.shape), t.dtype)


class _Rows:
    """The rows of a stacked output whose row shape is known only at run time: a list the
    step function writes by row index (``rows[j] = value``), sliced as views of it."""

    def __init__(self, store: list[Any], offset: int, t: TensorType) -> None:
        self.store, self.offset, self.type = store, offset, t

    def __setitem__(self, j: int, value: Any) -> None:
        self.store[self.offset + j] = value

    def __getitem__(self, rows: slice) -> _Rows:
        return _Rows(self.store, self.offset + (rows.start or 0), self.type)

    def stacked(self, count: int | None = None) -> np.ndarray:
        rows = self.store if count is None else self.store[:count]
        if not rows:
            shape = tuple(0 if d is None else d for d in self.type.shape or ())
            return np.empty((0, *shape), self.type.dtype)
        return np.stack([np.asarray(r, self.type.dtype) for r in rows])


def _stacked(outs: list[Any], count: int | None = None) -> list[Any]:
    """The stacked outputs as arrays (the first ``count`` rows, when given)."""
    done = []
    for y in outs:
        if isinstance(y, _Rows):
            done.append(y.stacked(count))
        else:
            done.append(y if count is None else y[:count])
    return done


def _buffer_like(value: Any, rows: int) -> np.ndarray:
    value = np.asarray(value)
    return np.empty((rows, *value.shape), value.dtype)


def _arrays(values: list[Any]) -> list[Any]:
    return [np.asarray(v) if isinstance(v, (int, float, complex)) else v for v in values]


def _step_number(e: BaseException) -> int | None:
    """The step index the generated loop was at when ``e`` was raised, from the frame of its
    step function (the outermost one: a loop inside the body has its own)."""
    tb = e.__traceback__
    while tb is not None:
        scope = tb.tb_frame.f_locals
        if tb.tb_frame.f_code.co_name == "chunk" and "j" in scope and "base" in scope:
            return int(scope["base"]) + int(scope["j"])
        if tb.tb_frame.f_code.co_name == "chunk" and "limit" in scope and "n" in scope:
            return int(scope["n"])
        tb = tb.tb_next
    return None
