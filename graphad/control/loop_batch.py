"""The batch rule of a loop (``vmap``): the loop over its batched body.

A carry is batched when its start is, or when its update reads a batched value (a fixpoint
over the body); xs are batched along their second axis inside the loop (the loop slices
the first), and per-step outputs come back batch first.  A while loop whose condition is
batched runs while any example's holds, and an example whose condition fails keeps its
carries (``where``); a counted loop whose trip count differs between examples is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from graphad.autodiff.batching import vmap
from graphad.control.loop_forms import loop_of, make_form, reached, stand_ins, unfused
from graphad.ir import (
    Node,
    TensorType,
    descendants,
    known_shape,
    placeholder,
    substitute,
    topo_sort,
    user_location,
)
from graphad.ops import greater, reshape, swapaxes, where
from graphad.ops import sum as sum_of
from graphad.ops._batching import BatchingError
from graphad.ops.shape import materialize
from graphad.ops.structure import get, make_tuple
from graphad.ops.utility import cast


def batch(node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node | None:
    """The loop over its batched body (xs batched along axis 1 inside the loop)."""
    op, form = loop_of(node)
    if form.replay is not None:
        ins = stand_ins(node)
        out = vmap(unfused(node, ins), {s: x for s, x, b in zip(ins, xs, batched) if b})
        back = {s: x for s, x, b in zip(ins, xs, batched) if not b}
        (result,) = substitute([out], back)
        return result
    if form.counted and batched[0]:
        raise BatchingError(
            f"{op.name}: the trip count differs between the examples of the batch; vmap a "
            f"while_loop instead, which runs each example until it is done ({user_location()})"
        )
    like = next(x for x, b in zip(xs, batched) if b)  # B, statically or at run time
    size = known_shape(like)[0]
    carry_in, xs_in, const_in = form.carry_inputs(), form.xs_inputs(), form.const_inputs()
    carry_params, x_params = form.carry_params(), form.x_params()
    const_params = form.const_params()
    active = {carry_params[k] for k, i in enumerate(carry_in) if batched[i]}
    active |= {x_params[k] for k, i in enumerate(xs_in) if batched[i]}
    active |= {const_params[k] for k, i in enumerate(const_in) if batched[i]}
    cond_batched = False
    if form.cond is not None:
        reaching = active | {carry_params[k] for k in reached(form, active)}
        cond_order = topo_sort(list(form.cond.outputs))
        cond_batched = form.cond.outputs[0] in descendants(cond_order, reaching)
    moving = set(range(form.carries)) if cond_batched else reached(form, active)
    sources = [carry_params[k] for k in sorted(moving)]
    sources += [p for p in (*x_params, *const_params) if p in active]
    stand = {p: placeholder(f"{p.name}_batch", type=_batched_type(p, size)) for p in sources}
    body_order = topo_sort(list(form.body.outputs))
    depends = descendants(body_order, sources)

    def batched_out(o: Node) -> Node:
        if o in depends:
            found: Node = vmap(o, {p: stand[p] for p in sources})
            return found
        return materialize(o, stand[sources[0]])  # a batched value of the body

    new_carries: list[Node] = []
    for k, new in enumerate(form.new_carries()):
        new_carries.append(batched_out(new) if k in moving else new)
    per_step = list(form.per_step())
    ys_batched = [o in depends for o in per_step]
    per_step = [batched_out(o) if b else o for o, b in zip(per_step, ys_batched)]
    params = [stand.get(p, p) for p in form.body.params]
    cond = None
    if form.cond is not None:
        cond_out = form.cond.outputs[0]
        if cond_batched:
            pred = vmap(cond_out, {p: stand[p] for p in sources if p in set(form.cond.params)})
            # each example's carries move on only while its own condition holds
            held = [stand[carry_params[k]] for k in range(form.carries)]
            new_carries = [_select(pred, n, h) for n, h in zip(new_carries, held)]
            cond = greater(sum_of(cast(pred, "int64")), 0)  # any example's holds
        else:
            cond = substitute([cond_out], stand)[0] if stand else cond_out
    if form.cond is not None and cond_batched and form.outputs:
        raise BatchingError(
            f"{op.name}: vmap of the gradient of a while_loop whose condition differs between "
            f"the examples is not supported ({user_location()})"
        )
    new_form = make_form(
        op,
        params,
        [*new_carries, *per_step],
        form.carries,
        form.xs,
        form.consts,
        form.step,
        form,
        cond=cond,
        checkpoints=form.checkpoints,
    )
    if form.cond is not None and new_form.cond is not None:
        cparams = tuple(stand.get(p, p) for p in form.cond.params)
        new_form = replace(new_form, cond=replace(new_form.cond, params=cparams))
    inputs = list(node.inputs)
    for k, i in enumerate(carry_in):
        if k in moving and not batched[i]:
            inputs[i] = materialize(xs[i], like)
        elif batched[i]:
            inputs[i] = xs[i]
    for i in xs_in:
        inputs[i] = swapaxes(xs[i], 0, 1) if batched[i] else xs[i]
    for i in const_in:
        inputs[i] = xs[i]
    loop = op.with_form(new_form)(*inputs)
    entries = [get(loop, k) for k in range(form.carries)]
    for k in range(form.carries):
        if k not in moving:
            entries[k] = materialize(entries[k], like)
    for j, b in enumerate(ys_batched):
        y = get(loop, form.carries + j)
        entries.append(swapaxes(y, 0, 1) if b else materialize(y, like))
    for k in form.checkpoint_outputs():
        cp = get(loop, k)
        moved = (k - form.carries - form.outputs) in moving
        entries.append(swapaxes(cp, 0, 1) if moved else materialize(cp, like))
    if form.cond is not None:
        entries.append(materialize(get(loop, form.size - 1), like))
    return make_tuple(*entries)


def _batched_type(p: Node, size: int | None) -> TensorType:
    t = p.type
    assert isinstance(t, TensorType) and t.shape is not None
    return TensorType((size, *t.shape), t.dtype)


def _select(pred: Node, new: Node, held: Node) -> Node:
    """new where the example's condition holds, else held (pred has one entry per example)."""
    extra = (held.ndim or 1) - 1
    shaped = reshape(pred, (-1, *([1] * extra))) if extra else pred
    return where(shaped, new, held)
