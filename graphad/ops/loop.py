"""The loop family: ops that run a body sub-graph over and over, described by a ``LoopForm``.

A loop op holds one :class:`LoopForm`, which says everything the rest of graphad needs to
know to type, rewrite, plan, run, differentiate and draw it, whatever kind of loop it is
(``scan``, ``fori_loop`` and ``while_loop`` are made in :mod:`graphad.control`):

- the **body**, a sub-graph traced once: its parameters are the *carries* (state handed
  from one step to the next), the *rows* of the ``xs`` (inputs sliced along their leading
  axis, row t at step t), the *consts* (values captured from outside, the same every step)
  and, when ``step`` is set, the step index t (an int64 scalar); its outputs are the new
  carries and the *per-step outputs*, stacked along a new leading axis (``ys``);
- the **trip count** T: ``length`` when known when the node is made, else input 0 when
  ``counted`` (an integer scalar computed by the graph), else the leading dim of the xs;
  a while loop (``cond`` set) runs until ``cond`` (a sub-graph of the carries and consts
  giving a bool scalar) is false, at most ``max_steps`` times when that is given;
- ``reverse``: steps run t = T-1 … 0 (row t of the xs is still read at step t, and per-step
  outputs are still stacked at row t); ``unroll``: how many steps one pass of the generated
  Python loop runs (fewer loop iterations, the same results);
- **checkpoints**: under a checkpoint policy (every k-th step, or k ≈ √T), a loop asked to
  (``checkpoints``) also returns the carries entering steps 0, k, 2k, … of its run, and a
  *replaying* loop (``replay``: the form of the loop that made them) recomputes the carries
  and per-step values of each stretch of k steps from those checkpoints as it needs them.

The inputs of a loop node are ``[count] carries xs consts`` and, for a replaying loop, the
replayed loop's ``checkpoints xs consts``; its value is a tuple ``(carries…, stacked
per-step outputs…, [checkpoints…], [trip count])``: the last entry only for while loops,
whose trip count is known only once they have run.  This module states the layout and the
type rule; the loops' derivatives, batching and tracing live in :mod:`graphad.control`, and
the compiler plans and generates the loop itself from the form.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from graphad.ir import (
    DTypeError,
    GraphError,
    Node,
    Op,
    ShapeError,
    TensorType,
    TupleType,
    ValueType,
    format_shape,
    shapes_compatible,
)

INT = np.dtype(np.int64)


@runtime_checkable
class Policy(Protocol):
    """A checkpoint policy: how many steps apart the carries are kept, for a trip count."""

    def every(self, trips: int) -> int: ...


@dataclass(frozen=True)
class Every:
    """Keep the carries entering every k-th step."""

    k: int

    def every(self, trips: int) -> int:
        return self.k

    def __str__(self) -> str:
        return str(self.k)


@dataclass(frozen=True)
class Sqrt:
    """k = ⌈√T⌉: about √T checkpoints and √T recomputed steps held at once, for one more
    forward run (the least memory for one extra run, Griewank's √T schedule)."""

    def every(self, trips: int) -> int:
        return max(1, math.isqrt(max(trips - 1, 0)) + 1)

    def __str__(self) -> str:
        return "sqrt"


def segments(trips: int, every: int) -> int:
    """How many checkpoints a run of ``trips`` steps keeps, one every ``every`` steps."""
    return -(-trips // every)


@dataclass(frozen=True, eq=False)
class Body:
    """A loop's sub-graph: placeholders ``params`` in, ``outputs`` out.

    ``slots[i]`` is the input of the loop node that ``params[i]`` stands for (its initial
    value, its stacked rows, or itself), or -1 for the step index.  Not compared by value:
    two bodies are the same body only when they are one object.
    """

    params: tuple[Node, ...]
    slots: tuple[int, ...]
    outputs: tuple[Node, ...]

    def with_outputs(self, outputs: Sequence[Node]) -> Body:
        return Body(self.params, self.slots, tuple(outputs))


def slots(
    carries: int, xs: int, consts: int, step: bool, counted: bool = False, replayed: int = 0
) -> tuple[int, ...]:
    """The input each body parameter stands for (see :class:`Body`): -1 for the step index,
    -2 for a row the replayed loop feeds."""
    first = 1 if counted else 0
    found = list(range(first, first + carries))
    found += [-2] * replayed
    start = first + carries
    found += list(range(start, start + xs - replayed))
    start += xs - replayed
    found += list(range(start, start + consts))
    return (*found, *([-1] if step else []))


def cond_slots(carries: int, consts: int, xs: int, counted: bool = False) -> tuple[int, ...]:
    """The inputs a while condition's parameters (the carries, then the consts) stand for."""
    first = 1 if counted else 0
    start = first + carries + xs
    return (*range(first, first + carries), *range(start, start + consts))


@dataclass(frozen=True, eq=False)
class LoopForm:
    """What a loop op runs; see the module docstring for the meaning of each field."""

    body: Body
    carries: int
    xs: int
    consts: int
    step: bool = False
    length: int | None = None
    counted: bool = False
    reverse: bool = False
    unroll: int = 1
    cond: Body | None = None
    max_steps: int | None = None
    checkpoint: Policy | None = None
    checkpoints: bool = False
    replay: LoopForm | None = None
    where: str = field(default="", compare=False)  # the user's line that made the loop

    # -- layout -------------------------------------------------------------------
    @property
    def outputs(self) -> int:
        """The number of per-step outputs."""
        return len(self.body.outputs) - self.carries

    @property
    def first(self) -> int:
        """The position of the first carry among the inputs (after the trip count)."""
        return 1 if self.counted else 0

    @property
    def replayed(self) -> int:
        """How many of the body's leading row parameters the replayed loop feeds (its
        per-step outputs, recomputed); the rest are fed from inputs."""
        return 0 if self.replay is None else self.replay.outputs

    @property
    def sliced(self) -> int:
        """The number of xs inputs (row parameters fed from inputs)."""
        return self.xs - self.replayed

    @property
    def own_inputs(self) -> int:
        return self.first + self.carries + self.sliced + self.consts

    @property
    def arity(self) -> int:
        extra = 0
        if self.replay is not None:
            extra = 2 * self.replay.carries + self.replay.sliced + self.replay.consts
        return self.own_inputs + extra

    def carry_inputs(self) -> range:
        return range(self.first, self.first + self.carries)

    def xs_inputs(self) -> range:
        start = self.first + self.carries
        return range(start, start + self.sliced)

    def const_inputs(self) -> range:
        start = self.first + self.carries + self.sliced
        return range(start, start + self.consts)

    def replay_inputs(self) -> tuple[range, range, range, range]:
        """The replayed loop's checkpoints, initial carries, xs and consts among the inputs
        (its run starts from the checkpoints; the initial carries are there for the rules,
        which state a replaying loop's derivatives by the loop it stands for)."""
        replay = self.replay
        start = self.own_inputs
        if replay is None:
            empty = range(start, start)
            return empty, empty, empty, empty
        inits = start + replay.carries
        xs = inits + replay.carries
        consts = xs + replay.sliced
        return (
            range(start, inits),
            range(inits, xs),
            range(xs, consts),
            range(consts, consts + replay.consts),
        )

    def carry_params(self) -> tuple[Node, ...]:
        return self.body.params[: self.carries]

    def x_params(self) -> tuple[Node, ...]:
        return self.body.params[self.carries : self.carries + self.xs]

    def const_params(self) -> tuple[Node, ...]:
        start = self.carries + self.xs
        return self.body.params[start : start + self.consts]

    def step_param(self) -> Node | None:
        return self.body.params[-1] if self.step else None

    def step_params(self) -> tuple[Node, ...]:
        """The step index parameter, when the body takes one."""
        return self.body.params[-1:] if self.step else ()

    def new_carries(self) -> tuple[Node, ...]:
        return self.body.outputs[: self.carries]

    def per_step(self) -> tuple[Node, ...]:
        return self.body.outputs[self.carries :]

    def checkpoint_outputs(self) -> range:
        """Positions of the checkpoints in the loop's value (empty unless ``checkpoints``)."""
        start = self.carries + self.outputs
        return range(start, start + (self.carries if self.checkpoints else 0))

    @property
    def size(self) -> int:
        """The number of entries of the loop's value."""
        return len(self.body.outputs) + len(self.checkpoint_outputs()) + (self.cond is not None)

    def sub_graphs(self) -> tuple[Body, ...]:
        """The body, the while condition, and the replayed loop's body, when present."""
        found = [self.body]
        if self.cond is not None:
            found.append(self.cond)
        if self.replay is not None:
            found.append(self.replay.body)
        return tuple(found)

    def with_sub_graphs(self, outputs: Sequence[Sequence[Node]]) -> LoopForm:
        """The same loop over its sub-graphs with new outputs (in ``sub_graphs`` order)."""
        it = iter(outputs)
        form = replace(self, body=self.body.with_outputs(next(it)))
        if self.cond is not None:
            form = replace(form, cond=self.cond.with_outputs(next(it)))
        if self.replay is not None:
            replay = self.replay
            form = replace(form, replay=replace(replay, body=replay.body.with_outputs(next(it))))
        return form

    def static_trips(self, types: Sequence[ValueType]) -> int | None:
        """T when the input types say it (``length``, or a static leading dim of an xs)."""
        if self.cond is not None:
            return None
        if self.length is not None:
            return self.length
        for i in (*self.xs_inputs(), *self.replay_inputs()[2]):
            t = types[i]
            if isinstance(t, TensorType) and t.shape and t.shape[0] is not None:
                return t.shape[0]
        return None

    # -- the type rule ----------------------------------------------------------------
    def infer(self, types: Sequence[ValueType]) -> TupleType:
        """The loop's value type, after checking every input against its parameter."""
        if len(types) != self.arity:
            raise GraphError(f"expected {self.arity} inputs, got {len(types)}")
        if self.counted:
            _trip_count(types[0])
        trips = self.static_trips(types)
        _rows(self, types, self.xs_inputs(), self.x_params()[self.replayed :], trips, "xs")
        _match(types, self.carry_inputs(), self.carry_params(), "carry")
        _match(types, self.const_inputs(), self.const_params(), "captured value")
        if self.replay is not None:
            _replay_inputs(self, types, trips)
        stacked = None if self.cond is not None else trips
        items: list[ValueType | None] = [p.type for p in self.carry_params()]
        for out in self.per_step():
            t = out.type
            if not isinstance(t, TensorType) or t.shape is None:
                raise DTypeError(f"a per-step output must be a tensor of known rank, got {t}")
            items.append(TensorType((stacked, *t.shape), t.dtype))
        if self.checkpoints:
            kept = self.kept(trips)
            items += [_stacked(p.type, kept) for p in self.carry_params()]
        if self.cond is not None:
            items.append(TensorType((), INT))
        return TupleType(tuple(items))

    def kept(self, trips: int | None) -> int | None:
        """How many checkpoints a run keeps, when ``trips`` is known."""
        if trips is None or self.checkpoint is None:
            return None
        return segments(trips, self.checkpoint.every(trips))


def _stacked(t: ValueType, rows: int | None) -> TensorType:
    assert isinstance(t, TensorType) and t.shape is not None
    return TensorType((rows, *t.shape), t.dtype)


def _trip_count(t: ValueType) -> None:
    if not isinstance(t, TensorType) or t.dtype.kind not in "iu" or t.shape not in ((), None):
        raise DTypeError(f"the trip count must be an integer scalar, got {t}")


def _compatible(a: ValueType, b: ValueType) -> bool:
    if isinstance(a, TensorType) and isinstance(b, TensorType):
        return a.dtype == b.dtype and shapes_compatible(a.shape, b.shape)
    return a == b


def _match(types: Sequence[ValueType], inputs: range, params: Sequence[Node], what: str) -> None:
    for k, (i, p) in enumerate(zip(inputs, params)):
        if not _compatible(types[i], p.type):
            raise DTypeError(f"{what} {k} is {types[i]} where the body takes {p.type}")


def _rows(
    form: LoopForm,
    types: Sequence[ValueType],
    inputs: range,
    params: Sequence[Node],
    trips: int | None,
    what: str,
) -> None:
    """Each sliced input is a tensor whose rows the body takes, all of the same length."""
    for k, (i, p) in enumerate(zip(inputs, params)):
        t = types[i]
        if not isinstance(t, TensorType) or not t.shape:
            raise ShapeError(f"{what} {k} must be an array with a leading axis, got {t}")
        if not _compatible(TensorType(t.shape[1:], t.dtype), p.type):
            raise DTypeError(f"{what} {k} has rows {t} where the body takes {p.type}")
        lead = t.shape[0]
        if lead is not None and trips is not None and lead != trips:
            told = "the length" if form.length is not None else "the other xs"
            raise ShapeError(
                f"{what} {k} has {lead} rows (shape {format_shape(t.shape)}) but {told} "
                f"give{'s' if form.length is not None else ''} {trips} steps"
            )


def _replay_inputs(form: LoopForm, types: Sequence[ValueType], trips: int | None) -> None:
    replay = form.replay
    assert replay is not None
    kept, inits, xs, consts = form.replay_inputs()
    rows = replay.kept(trips)
    for k, (i, p) in enumerate(zip(kept, replay.carry_params())):
        if not _compatible(types[i], _stacked(p.type, rows)):
            raise DTypeError(f"checkpoint {k} is {types[i]} where the replayed body takes {p.type}")
    _match(types, inits, replay.carry_params(), "replayed carry")
    _rows(form, types, xs, replay.x_params(), trips, "replayed xs")
    _match(types, consts, replay.const_params(), "replayed captured value")


class Loop(Op):
    """The family base of loop ops: a subclass is a frozen dataclass whose field ``form``
    (a :class:`LoopForm`) is the whole op; its rules (vjp, jvp, batch) and its kernel are
    the subclass's.  The compiler rewrites, plans and generates loops from the form alone,
    so its laws are stated for this family (``rule(Loop, family=True)``)."""

    control = "loop"
    chunking = "whole"  # stepped through by the Dask runner, never mapped over blocks
    form: LoopForm  # a dataclass field of each subclass

    def with_form(self, form: LoopForm) -> Loop:
        """The same kind of loop, running ``form``."""
        return type(self)(form)

    def infer(self, *types: ValueType) -> ValueType:
        return self.form.infer(types)

    @property
    def branches(self) -> tuple[Body, ...]:
        """The sub-graphs: the body, then the while condition and the replayed body."""
        return self.form.sub_graphs()

    def with_outputs(self, outputs: Sequence[Sequence[Node]]) -> Loop:
        return self.with_form(self.form.with_sub_graphs(outputs))

    def attributes(self) -> dict[str, Any]:
        """What errors and drawings show of the loop: its trip count and direction."""
        form = self.form
        shown: dict[str, Any] = {}
        if form.length is not None:
            shown["length"] = form.length
        if form.max_steps is not None:
            shown["max_steps"] = form.max_steps
        if form.reverse:
            shown["reverse"] = True
        if form.checkpoint is not None:
            shown["checkpoint"] = str(form.checkpoint)
        return shown

    def __str__(self) -> str:
        attrs = ", ".join(f"{k}={v}" for k, v in self.attributes().items())
        return f"{self.name}({attrs})" if attrs else self.name
