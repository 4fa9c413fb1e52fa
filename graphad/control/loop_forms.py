"""What the loops' rules share: making a loop's form over new parameters, the fixpoint of
which carries a set of values reaches, and the loop a replaying loop stands for.

A replaying loop (a checkpointed loop's backward loop) states its rules by the loop it
stands for (``unfused``): the same backward loop over residuals saved by a forward loop run
without checkpoints.  Its values are the same, so its derivatives are; a derivative of it
stores every step's residuals (the saving of checkpointing holds for first derivatives).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from graphad.ir import Node, descendants, placeholder, topo_sort
from graphad.ops.loop import Body, Loop, LoopForm, cond_slots, slots
from graphad.ops.structure import get


def loop_of(node: Node) -> tuple[Loop, LoopForm]:
    op = node.op
    assert isinstance(op, Loop)
    return op, op.form


def make_form(
    op: Loop,
    params: Sequence[Node],
    outputs: Sequence[Node],
    carries: int,
    xs: int,
    consts: int,
    step: bool,
    like: LoopForm,
    cond: Node | None = None,
    **changes: Any,
) -> LoopForm:
    """A form of ``like``'s kind over new parameters (carries, xs rows, consts, [step])."""
    counted = changes.get("counted", like.counted)
    replay = changes.get("replay")
    replayed = 0 if replay is None else replay.outputs
    body = Body(tuple(params), slots(carries, xs, consts, step, counted, replayed), tuple(outputs))
    cond_body = None
    if cond is not None:
        cparams = (*params[:carries], *params[carries + xs : carries + xs + consts])
        cond_body = Body(cparams, cond_slots(carries, consts, xs - replayed, counted), (cond,))
    return replace(
        like,
        body=body,
        carries=carries,
        xs=xs,
        consts=consts,
        step=step,
        cond=cond_body,
        replay=replay,
        checkpoints=changes.get("checkpoints", False),
        **{k: v for k, v in changes.items() if k not in ("replay", "checkpoints")},
    )


def made_at(form: LoopForm) -> str:
    return f"made at {form.where}" if form.where else ""


def reached(form: LoopForm, active: set[Node]) -> set[int]:
    """The carries a value of ``active`` reaches, step after step (a fixpoint)."""
    order = topo_sort(list(form.body.outputs))
    reached: set[int] = set()
    while True:
        sources = active | {form.carry_params()[k] for k in reached}
        found = descendants(order, sources)
        more = {k for k, new in enumerate(form.new_carries()) if new in found} | reached
        more |= {k for k, p in enumerate(form.carry_params()) if p in active}
        if more == reached:
            return reached
        reached = more


# -- rules of a replaying loop: those of the loop it stands for -------------------------
def unfused(node: Node, inputs: Sequence[Node]) -> Node:
    """The loop a replaying loop stands for, on ``inputs``: the backward loop over the
    residuals of a forward loop that saves every step's (no checkpoints)."""
    op, form = loop_of(node)
    replay = form.replay
    assert replay is not None
    _, inits, rxs, rconsts = form.replay_inputs()
    count = [inputs[0]] if form.counted else []
    plain = replace(replay, checkpoint=None, checkpoints=False)
    full = op.with_form(plain)(*count, *(inputs[i] for i in (*inits, *rxs, *rconsts)))
    residuals = [get(full, replay.carries + j) for j in range(replay.outputs)]
    own = [inputs[i] for i in range(form.first, form.first + form.carries)]
    back = replace(form, replay=None)
    xs = [inputs[i] for i in form.xs_inputs()]
    consts = [inputs[i] for i in form.const_inputs()]
    return op.with_form(back)(*count, *own, *residuals, *xs, *consts)


def stand_ins(node: Node) -> list[Node]:
    return [placeholder(f"loop_input_{i}", type=x.type) for i, x in enumerate(node.inputs)]
