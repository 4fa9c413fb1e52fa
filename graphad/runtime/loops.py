"""Loops stepped through by an interpreter: under ``debug=True`` and on the Dask backend.

The generated loop (:mod:`graphad.compiler.loop_code`) is the fast path.  Two runs need
the body run node by node instead, step by step: ``debug=True``, which checks every value
of every step and names the step where a kernel fails or a NaN appears; and Dask, whose
steps build a lazy graph (each row of the xs a lazy slice, the per-step outputs stacked
lazily at the end).  :func:`interpret` is that loop, once, for both: it takes how to run a
sub-graph and how to stack rows.  A replaying loop (a checkpointed loop's backward loop)
is interpreted by first running the loop it replays from its start without checkpoints:
the values are the same, as each stretch's replay recomputes exactly those steps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from graphad.compiler.loop_run import trip_count
from graphad.compiler.plan import Plan
from graphad.ir import ExecutionError, Node, TensorType
from graphad.ops.loop import Body, Loop, LoopForm, segments
from graphad.runtime.checks import run_step

RunBody = Callable[[Body, list[Any], int], list[Any]]  # (sub-graph, inputs, step) -> outputs
Stack = Callable[[list[Any], TensorType], Any]  # rows of a per-step output -> stacked


def describe(op: Loop) -> str:
    form = op.form
    return f"{op.name} made at {form.where}" if form.where else op.name


Settle = Callable[[list[Any]], list[Any]]  # a while loop's carries, before its condition


def _same(values: list[Any]) -> list[Any]:
    return values


def interpret(
    op: Loop,
    values: Sequence[Any],
    run: RunBody,
    stack: Stack,
    settle: Settle = _same,
) -> tuple[Any, ...]:
    """The loop's value, each step's sub-graphs run by ``run``, per-step outputs stacked by
    ``stack``; a while loop's carries are passed through ``settle`` before its condition
    is read as a Python bool (Dask computes them there, once a step)."""
    form = op.form
    if form.cond is not None:
        return _while(op, form, values, run, stack, settle)
    trips = trip_count(form, values, describe(op))
    c = form.carries
    carries = [values[i] for i in form.carry_inputs()]
    xs = [values[i] for i in form.xs_inputs()]
    consts = [values[i] for i in form.const_inputs()]
    if form.replay is not None:
        xs = [*_replayed(op, form, values, run, stack, settle), *xs]
    rows: list[list[Any]] = [[None] * trips for _ in range(form.outputs)]
    every = form.checkpoint.every(trips) if form.checkpoints and form.checkpoint else 0
    kept: list[list[Any]] = [[] for _ in range(c)]
    order = range(trips - 1, -1, -1) if form.reverse else range(trips)
    for position, t in enumerate(order):
        if every and position % every == 0:
            for k, carry in enumerate(carries):
                kept[k].append(carry)
        step = [np.int64(t)] if form.step else []
        out = run(form.body, [*carries, *(x[t] for x in xs), *consts, *step], t)
        carries = out[:c]
        for j in range(form.outputs):
            rows[j][t] = out[c + j]
    stacked = [stack(r, _row_type(y)) for r, y in zip(rows, form.per_step())]
    if form.checkpoints:
        assert every or not trips
        kept_rows = [stack(k, _value_type(p)) for k, p in zip(kept, form.carry_params())]
        assert all(len(k) == segments(trips, every or 1) for k in kept)
        return (*carries, *stacked, *kept_rows)
    return (*carries, *stacked)


def _replayed(
    op: Loop,
    form: LoopForm,
    values: Sequence[Any],
    run: RunBody,
    stack: Stack,
    settle: Settle,
) -> list[Any]:
    """The rows a replaying loop reads: the replayed loop's per-step outputs, all steps."""
    replay = form.replay
    assert replay is not None
    _, inits, xs, consts = form.replay_inputs()
    count = [values[0]] if form.counted else []
    inputs = [*count, *(values[i] for i in (*inits, *xs, *consts))]
    plain = replace(replay, checkpoint=None, checkpoints=False)
    out = interpret(op.with_form(plain), inputs, run, stack, settle)
    return list(out[replay.carries :])


def _while(
    op: Loop,
    form: LoopForm,
    values: Sequence[Any],
    run: RunBody,
    stack: Stack,
    settle: Settle,
) -> tuple[Any, ...]:
    assert form.cond is not None
    c = form.carries
    carries = [values[i] for i in form.carry_inputs()]
    consts = [values[i] for i in form.const_inputs()]
    rows: list[list[Any]] = [[] for _ in range(form.outputs)]
    n = 0
    while True:
        carries = settle(carries)
        if not bool(run(form.cond, [*carries, *consts], n)[0]):
            break
        if form.max_steps is not None and n == form.max_steps:
            raise ExecutionError(
                f"{describe(op)}: the condition still held after max_steps={form.max_steps} "
                "steps; give a larger max_steps (the loop is not cut short silently)"
            )
        step = [np.int64(n)] if form.step else []
        out = run(form.body, [*carries, *consts, *step], n)
        carries = out[:c]
        for j in range(form.outputs):
            rows[j].append(out[c + j])
        n += 1
    stacked = [stack(r, _row_type(y)) for r, y in zip(rows, form.per_step())]
    return (*carries, *stacked, np.int64(n))


def _row_type(node: Node) -> TensorType:
    assert isinstance(node.type, TensorType)
    return node.type


def _value_type(node: Node) -> TensorType:
    return _row_type(node)


def stack_numpy(rows: list[Any], t: TensorType) -> np.ndarray:
    """Rows stacked along a new leading axis (no rows: an empty array of the row type)."""
    if not rows:
        shape = tuple(0 if d is None else d for d in t.shape or ())
        return np.empty((0, *shape), t.dtype)
    return np.stack([np.asarray(r, t.dtype) for r in rows])


class Plans:
    """Each sub-graph's plan, made once."""

    def __init__(self) -> None:
        self.plans: dict[int, Plan] = {}

    def of(self, body: Body) -> Plan:
        plan = self.plans.get(id(body))
        if plan is None:
            plan = self.plans[id(body)] = Plan(list(body.outputs))
        return plan


def feed(plan: Plan, body: Body, inputs: list[Any]) -> list[Any]:
    """The plan's slots with the constants and ``inputs`` (one per parameter) filled in."""
    slots = list(plan.initial)
    for p, value in zip(body.params, inputs):
        i = plan.slot.get(p)
        if i is not None:
            slots[i] = value
    return slots


class Checked:
    """A loop node run step by step under ``debug=True``: every value of every step checked
    (type, NaN or inf from finite inputs), nested loops likewise; an error names the loop
    and the step."""

    def __init__(self, node: Node) -> None:
        op = node.op
        assert isinstance(op, Loop)
        self.op = op
        self.plans = Plans()

    def __call__(self, *values: Any) -> tuple[Any, ...]:
        return interpret(self.op, values, self._run, stack_numpy)

    def _run(self, body: Body, inputs: list[Any], t: int) -> list[Any]:
        plan = self.plans.of(body)
        slots = feed(plan, body, inputs)
        at = f"{describe(self.op)}, step {t}: "
        for step in plan.steps:
            inputs = [slots[i] for i in step.ins]
            if step.node.op.control == "loop":
                try:
                    slots[step.out] = run_step(step, checked(step.node), inputs, True, at)
                except ExecutionError as e:  # a loop inside: its step, within this one's
                    raise ExecutionError(f"{at}{e}") from e
            else:
                slots[step.out] = run_step(step, step.fn, inputs, True, at)
            for i in step.frees:
                slots[i] = None
        return [slots[i] for i in plan.fetch_slots]


def checked(node: Node) -> Checked:
    """The checked runner of a loop node (``debug=True``)."""
    return Checked(node)
