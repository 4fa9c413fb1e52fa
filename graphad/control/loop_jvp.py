"""The jvp of a loop: the loop over (carry, tangent), its body the body's forward sweep.

A tangent carry is made for each float carry the given tangents reach, step after step (a
fixpoint over the body); the other carries keep no tangent.  The loop's condition (a while
loop's) reads the carries and consts it always did.  The joint loop computes the carries
again beside their tangents: when a graph fetches both, the compiler's loop fusion runs one.
"""

from __future__ import annotations

from dataclasses import replace

from graphad.autodiff.forward import jvp as forward_jvp
from graphad.control.loop_forms import loop_of, make_form, reached, stand_ins, unfused
from graphad.ir import Node, descendants, is_differentiable, placeholder, substitute, topo_sort
from graphad.ops._util import Tangents
from graphad.ops.structure import densify, get, make_tuple


def jvp(node: Node, t: Tangents) -> Node | None:
    """The tangent of the loop's value: the loop over (carry, tangent)'s tangent entries."""
    op, form = loop_of(node)
    if form.replay is not None:
        return _unfused_jvp(node, t)
    inputs = node.inputs
    carry_in, xs_in, const_in = form.carry_inputs(), form.xs_inputs(), form.const_inputs()
    carry_params, x_params = form.carry_params(), form.x_params()
    const_params = form.const_params()
    given_c = {k for k, i in enumerate(carry_in) if t[i] is not None}
    given_x = [k for k, i in enumerate(xs_in) if t[i] is not None]
    given_k = [k for k, i in enumerate(const_in) if t[i] is not None]
    active = {carry_params[k] for k in given_c}
    active |= {x_params[k] for k in given_x} | {const_params[k] for k in given_k}
    if not active:
        return None
    moving = sorted(k for k in reached(form, active) if is_differentiable(carry_params[k].type))
    t_carry = [placeholder(f"carry_tangent_{k}", type=carry_params[k].type) for k in moving]
    t_x = [placeholder(f"row_tangent_{k}", type=x_params[k].type) for k in given_x]
    t_k = [placeholder(f"const_tangent_{k}", type=const_params[k].type) for k in given_k]
    sources = [
        *(carry_params[k] for k in moving),
        *(x_params[k] for k in given_x),
        *(const_params[k] for k in given_k),
    ]
    body_order = topo_sort(list(form.body.outputs))
    moved = descendants(body_order, sources)
    ys = [j for j, y in enumerate(form.per_step()) if y in moved and is_differentiable(y.type)]
    targets = [form.new_carries()[k] for k in moving] + [form.per_step()[j] for j in ys]
    tangents = forward_jvp(targets, sources, [*t_carry, *t_x, *t_k]) if targets else []
    c, nx, nk = form.carries, form.xs, form.consts
    params = [*carry_params, *t_carry, *x_params, *t_x, *const_params, *t_k]
    params += form.step_params()
    outputs = [*form.new_carries(), *tangents[: len(moving)], *form.per_step()]
    outputs += tangents[len(moving) :]
    cond = None if form.cond is None else form.cond.outputs[0]
    joint = make_form(
        op,
        params,
        outputs,
        c + len(moving),
        nx + len(given_x),
        nk + len(given_k),
        form.step,
        form,
        cond=cond,
        checkpoints=form.checkpoints,
    )
    if joint.cond is not None:  # the condition reads the carries and consts it always did
        cparams = (*carry_params, *t_carry, *const_params, *t_k)
        joint = replace(joint, cond=replace(joint.cond, params=cparams))
    count = [inputs[0]] if form.counted else []
    starts = [densify(t[carry_in[k]], inputs[carry_in[k]]) for k in moving]
    loop = op.with_form(joint)(
        *count,
        *(inputs[i] for i in carry_in),
        *starts,
        *(inputs[i] for i in xs_in),
        *(t[xs_in[k]] for k in given_x),
        *(inputs[i] for i in const_in),
        *(t[const_in[k]] for k in given_k),
    )
    entries: list[Node | None] = [None] * form.size
    for n, k in enumerate(moving):
        entries[k] = get(loop, c + n)
    stacked = joint.carries + form.outputs
    for n, j in enumerate(ys):
        entries[c + j] = get(loop, stacked + n)
    kept = list(joint.checkpoint_outputs())
    for n, k in enumerate(moving):
        if kept:
            entries[form.checkpoint_outputs()[k]] = get(loop, kept[c + n])
    return make_tuple(*entries)


def _unfused_jvp(node: Node, t: Tangents) -> Node | None:
    stand = stand_ins(node)
    given = [(s, ti) for s, ti in zip(stand, t) if ti is not None]
    if not given:
        return None
    tangents = [placeholder(f"loop_tangent_{i}", type=s.type) for i, (s, _) in enumerate(given)]
    out = forward_jvp(unfused(node, stand), [s for s, _ in given], tangents)
    back = dict(zip(stand, node.inputs))
    back.update((p, ti) for p, (_, ti) in zip(tangents, given))
    (result,) = substitute([out], back)
    return result
