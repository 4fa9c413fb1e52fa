"""The rules of the loop ops, each a loop again: vjp, jvp and batch.

**vjp.**  For a body c' = f(c, x, k) (carries c, rows x, consts k) with per-step outputs
y = h(c, x, k), the adjoint of a loop of T steps is a loop of T steps running the other way:

    c̄ ← ∂f/∂cᵀ·c̄ + ∂h/∂cᵀ·ȳₜ,   k̄ ← k̄ + ∂f/∂kᵀ·c̄ + ∂h/∂kᵀ·ȳₜ,   x̄ₜ = ∂f/∂xᵀ·c̄ + ∂h/∂xᵀ·ȳₜ

starting from the final carries' cotangent (and k̄ = 0).  Its body is the reverse sweep of
the forward body, built once on the body's own graph.  That sweep reads values of the
forward step: those that depend only on the consts stay in the backward body (the
compiler hoists them out of the loop), the rows x and the step index are fed again, and
every other value it reads (a carry, a tanh's output, …) is a *residual*: the forward
loop saves it, one row a step, as an extra per-step output.  That extra output is not a
second forward loop: the rule makes a *twin* of the forward node (same body, same inputs,
more per-step outputs), and the compiler's loop fusion (:mod:`graphad.compiler.loop_fusion`)
merges a loop into its twin, so a graph that fetches a loop's value and its gradient runs
the forward loop once.  Under a checkpoint policy the twin keeps only checkpoints, and
the backward loop *replays* each stretch of steps from its checkpoint to get the residuals
(``LoopForm.replay``).  A while loop's backward loop is a scan of its trip count, which
needs ``max_steps`` (the residuals' buffer).

**jvp.**  The loop over (carry, tangent): the body's forward sweep as the body, with a
tangent carry for every carry the tangents reach (found by a fixpoint over the body).

**batch.**  The loop over the body batched (a carry is batched when its start is, or when
its update reads a batched value: a fixpoint again); xs are batched along their second
axis inside the loop.  A while loop whose condition is batched runs while any example's
holds; an example whose condition fails keeps its carries (``where``).

A replaying loop (a checkpointed loop's backward loop) states its rules by the loop it
stands for: the same backward loop over residuals saved by a forward loop run without
checkpoints.  Its values are the same, so its derivatives are; a derivative of it stores
every step's residuals (the saving of checkpointing holds for first derivatives).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from graphad.autodiff.batching import vmap
from graphad.autodiff.forward import jvp as forward_jvp
from graphad.autodiff.reverse import sweep
from graphad.ir import (
    DifferentiationError,
    Node,
    TensorType,
    derivation,
    descendants,
    placeholder,
    substitute,
    topo_sort,
    user_location,
)
from graphad.ops import greater, reshape, swapaxes, where
from graphad.ops import sum as sum_of
from graphad.ops._batching import BatchingError
from graphad.ops._util import Tangents, is_differentiable
from graphad.ops.loop import Body, Loop, LoopForm, cond_slots, slots
from graphad.ops.shape import full_like, materialize
from graphad.ops.structure import densify, entry, get, make_tuple
from graphad.ops.utility import cast


def _loop(node: Node) -> tuple[Loop, LoopForm]:
    op = node.op
    assert isinstance(op, Loop)
    return op, op.form


def _make(
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


def _where(form: LoopForm) -> str:
    return f"made at {form.where}" if form.where else ""


# -- vjp -----------------------------------------------------------------------------
def vjp(node: Node, g: Node, wanted: Sequence[bool]) -> tuple[Node | None, ...]:
    """The adjoints of the loop's inputs (those ``wanted``): a backward loop's results."""
    op, form = _loop(node)
    if form.replay is not None:
        return _unfused_vjp(node, g, wanted)
    if form.cond is not None and form.max_steps is None:
        raise DifferentiationError(
            f"{op.name}: reverse mode through a while_loop stores the carries of every step "
            f"and so needs a bound: give while_loop(..., max_steps=N) (the loop {_where(form)}"
            f"; forward mode needs none) ({user_location()})"
        )
    inputs = node.inputs
    carry_in, xs_in, const_in = form.carry_inputs(), form.xs_inputs(), form.const_inputs()
    floats = [k for k, p in enumerate(form.carry_params()) if is_differentiable(p.type)]
    want_x = [k for k, i in enumerate(xs_in) if wanted[i] and is_differentiable(inputs[i].type)]
    want_k = [k for k, i in enumerate(const_in) if wanted[i] and is_differentiable(inputs[i].type)]
    out: list[Node | None] = [None] * len(inputs)
    want_c = any(wanted[i] and is_differentiable(inputs[i].type) for i in carry_in)
    if not (want_c or want_x or want_k):
        return tuple(out)
    for i in form.checkpoint_outputs():
        if entry(g, i) is not None:
            raise DifferentiationError(f"{op.name}: the checkpoints are not differentiated")
    carry_params, x_params = form.carry_params(), form.x_params()
    const_params, step = form.const_params(), form.step_param()
    # the cotangents flowing in: of the final carries, and of the per-step outputs per step
    g_carries = [placeholder(f"carry_cotangent_{k}", type=carry_params[k].type) for k in floats]
    g_rows = [
        j
        for j, y in enumerate(form.per_step())
        if is_differentiable(y.type) and entry(g, form.carries + j) is not None
    ]
    g_ys = [placeholder(f"output_cotangent_{j}", type=form.per_step()[j].type) for j in g_rows]
    with derivation(node.origin.kind, node.origin.order):  # a value of the body's pass
        sent = make_tuple(
            *(form.new_carries()[k] for k in floats), *(form.per_step()[j] for j in g_rows)
        )
    targets = [
        *(carry_params[k] for k in floats),
        *(x_params[k] for k in want_x),
        *(const_params[k] for k in want_k),
    ]
    swept = sweep(sent, targets, make_tuple(*g_carries, *g_ys))
    adjoint = {p: densify(swept.adjoint.get(p), p) for p in targets}
    sums = [placeholder(f"accumulated_{k}", type=const_params[k].type) for k in want_k]
    new_carries = [adjoint[carry_params[k]] for k in floats]
    new_carries += [s + adjoint[const_params[k]] for s, k in zip(sums, want_k)]
    per_step = [adjoint[x_params[k]] for k in want_x]
    # what the sweep reads of the forward step: residuals, rows, the step, invariants
    residuals, outputs = _residuals(form, [*new_carries, *per_step], [*g_carries, *g_ys, *sums])
    res_params = [placeholder(f"residual_{i}", type=r.type) for i, r in enumerate(residuals)]
    outputs = substitute(outputs, dict(zip(residuals, res_params)))
    reached = set(topo_sort(outputs))
    used_x = [k for k, p in enumerate(x_params) if p in reached]
    used_k = [k for k, p in enumerate(const_params) if p in reached]
    uses_step = step is not None and step in reached
    # the forward loop's twin: the same loop, saving the residuals (or its checkpoints)
    twin_form, res_rows, replay = _twin(op, form, residuals)
    twin = op.with_form(twin_form)(*inputs)
    # the backward loop's inputs: its carries' start, rows, consts (and trip count)
    while_loop = form.cond is not None
    count: list[Node] = []
    if while_loop:
        count = [get(twin, twin_form.size - 1)]
    elif form.counted:
        count = [inputs[0]]
    starts = [densify(entry(g, k), inputs[carry_in[k]]) for k in floats]
    starts += [full_like(inputs[const_in[k]], 0) for k in want_k]
    rows = [] if replay is not None else [get(twin, i) for i in res_rows]
    rows += [inputs[xs_in[k]] for k in used_x]
    rows += [entry(g, form.carries + j) for j in g_rows]  # type: ignore[misc]
    x_ps = [*res_params, *(x_params[k] for k in used_x), *g_ys]
    if not x_ps and not count and form.length is None:  # the trip count is the xs' length
        x_ps = [placeholder("trips", type=x_params[0].type)]
        rows = [inputs[xs_in[0]]]
    params = [*g_carries, *sums, *x_ps, *(const_params[k] for k in used_k)]
    params += form.step_params() if uses_step else ()
    extra: list[Node] = []
    changes: dict[str, Any] = {
        "reverse": not form.reverse if not while_loop else True,
        "counted": bool(count),
        "length": None if while_loop else form.length,
        "checkpoint": None,
        "max_steps": None,
    }
    if replay is not None:
        changes["replay"] = replay
        extra = [get(twin, i) for i in twin_form.checkpoint_outputs()]
        extra += [inputs[i] for i in carry_in]
        extra += [inputs[i] for i in xs_in] + [inputs[i] for i in const_in]
    back_form = _make(
        op,
        params,
        outputs,
        len(floats) + len(want_k),
        len(x_ps),
        len(used_k),
        uses_step,
        form,
        **changes,
    )
    from graphad.control.loops import Scan  # the backward loop of any loop is a scan

    back = Scan(back_form)(*count, *starts, *rows, *(inputs[const_in[k]] for k in used_k), *extra)
    for n, k in enumerate(floats):
        out[carry_in[k]] = get(back, n)
    for n, k in enumerate(want_k):
        out[const_in[k]] = get(back, len(floats) + n)
    for n, k in enumerate(want_x):
        out[xs_in[k]] = get(back, back_form.carries + n)
    return tuple(out)


def _residuals(
    form: LoopForm, outputs: list[Node], cotangents: list[Node]
) -> tuple[list[Node], list[Node]]:
    """The forward values the backward body reads that change from step to step, other than
    the rows and the step index (which are fed again): what the forward loop must save."""
    order = topo_sort(outputs)
    backward = descendants(order, cotangents)
    per_step = descendants(order, [*form.carry_params(), *form.x_params(), *form.step_params()])
    fed = set(form.x_params()) | set(form.step_params())
    found: dict[Node, None] = {}
    for n in order:
        if n in backward:
            for x in n.inputs:
                if x not in backward and x in per_step and x not in fed:
                    found[x] = None
    for o in outputs:
        if o not in backward and o in per_step and o not in fed:
            found[o] = None
    return list(found), outputs


def _twin(
    op: Loop, form: LoopForm, residuals: list[Node]
) -> tuple[LoopForm, list[int], LoopForm | None]:
    """The forward loop saving ``residuals`` (their positions in its value), or, under a
    checkpoint policy, keeping checkpoints (and the replayed form that recomputes them)."""
    if form.checkpoint is not None:
        body = form.body.with_outputs([*form.new_carries(), *residuals])
        replay = replace(form, body=body, checkpoints=False)
        return replace(form, checkpoints=True), [], replay
    per_step = list(form.per_step())
    index = {y: j for j, y in reversed(list(enumerate(per_step)))}  # by identity, first
    positions = []
    for r in residuals:
        if r not in index:
            index[r] = len(per_step)
            per_step.append(r)
        positions.append(form.carries + index[r])
    body = form.body.with_outputs([*form.new_carries(), *per_step])
    return replace(form, body=body), positions, None


# -- rules of a replaying loop: those of the loop it stands for -------------------------
def _unfused(node: Node, inputs: Sequence[Node]) -> Node:
    """The loop a replaying loop stands for, on ``inputs``: the backward loop over the
    residuals of a forward loop that saves every step's (no checkpoints)."""
    op, form = _loop(node)
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


def _stand_ins(node: Node) -> list[Node]:
    return [placeholder(f"loop_input_{i}", type=x.type) for i, x in enumerate(node.inputs)]


def _unfused_vjp(node: Node, g: Node, wanted: Sequence[bool]) -> tuple[Node | None, ...]:
    stand = _stand_ins(node)
    wanted_stand = [s for s, w in zip(stand, wanted) if w and is_differentiable(s.type)]
    swept = sweep(_unfused(node, stand), wanted_stand, g)
    found = [swept.adjoint.get(s) for s in stand]
    back = dict(zip(stand, node.inputs))
    made = [f for f in found if f is not None]
    rebuilt = iter(substitute(made, back))
    return tuple(None if f is None else next(rebuilt) for f in found)


def _unfused_jvp(node: Node, t: Tangents) -> Node | None:
    stand = _stand_ins(node)
    given = [(s, ti) for s, ti in zip(stand, t) if ti is not None]
    if not given:
        return None
    tangents = [placeholder(f"loop_tangent_{i}", type=s.type) for i, (s, _) in enumerate(given)]
    out = forward_jvp(_unfused(node, stand), [s for s, _ in given], tangents)
    back = dict(zip(stand, node.inputs))
    back.update((p, ti) for p, (_, ti) in zip(tangents, given))
    (result,) = substitute([out], back)
    return result


# -- jvp -----------------------------------------------------------------------------
def _reached(form: LoopForm, active: set[Node]) -> set[int]:
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


def jvp(node: Node, t: Tangents) -> Node | None:
    """The tangent of the loop's value: the loop over (carry, tangent)'s tangent entries."""
    op, form = _loop(node)
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
    moving = sorted(k for k in _reached(form, active) if is_differentiable(carry_params[k].type))
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
    joint = _make(
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


# -- batch ---------------------------------------------------------------------------
def batch(node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node | None:
    """The loop over its batched body (xs batched along axis 1 inside the loop)."""
    op, form = _loop(node)
    if form.replay is not None:
        ins = _stand_ins(node)
        out = vmap(_unfused(node, ins), {s: x for s, x, b in zip(ins, xs, batched) if b})
        back = {s: x for s, x, b in zip(ins, xs, batched) if not b}
        (result,) = substitute([out], back)
        return result
    if form.counted and batched[0]:
        raise BatchingError(
            f"{op.name}: the trip count differs between the examples of the batch; vmap a "
            f"while_loop instead, which runs each example until it is done ({user_location()})"
        )
    size = next((x.shape[0] for x, b in zip(xs, batched) if b), None)  # type: ignore[index]
    carry_in, xs_in, const_in = form.carry_inputs(), form.xs_inputs(), form.const_inputs()
    carry_params, x_params = form.carry_params(), form.x_params()
    const_params = form.const_params()
    active = {carry_params[k] for k, i in enumerate(carry_in) if batched[i]}
    active |= {x_params[k] for k, i in enumerate(xs_in) if batched[i]}
    active |= {const_params[k] for k, i in enumerate(const_in) if batched[i]}
    cond_batched = False
    if form.cond is not None:
        reaching = active | {carry_params[k] for k in _reached(form, active)}
        cond_order = topo_sort(list(form.cond.outputs))
        cond_batched = form.cond.outputs[0] in descendants(cond_order, reaching)
    moving = set(range(form.carries)) if cond_batched else _reached(form, active)
    sources = [carry_params[k] for k in sorted(moving)]
    sources += [p for p in (*x_params, *const_params) if p in active]
    stand = {p: placeholder(f"{p.name}_batch", type=_batched_type(p, size)) for p in sources}
    body_order = topo_sort(list(form.body.outputs))
    depends = descendants(body_order, sources)

    def batched_out(o: Node) -> Node:
        if o in depends:
            found: Node = vmap(o, {p: stand[p] for p in sources})
            return found
        return materialize(o, size)

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
    new_form = _make(
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
            inputs[i] = materialize(xs[i], size)
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
            entries[k] = materialize(entries[k], size)
    for j, b in enumerate(ys_batched):
        y = get(loop, form.carries + j)
        entries.append(swapaxes(y, 0, 1) if b else materialize(y, size))
    for k in form.checkpoint_outputs():
        cp = get(loop, k)
        moved = (k - form.carries - form.outputs) in moving
        entries.append(swapaxes(cp, 0, 1) if moved else materialize(cp, size))
    if form.cond is not None:
        entries.append(materialize(get(loop, form.size - 1), size))
    return make_tuple(*entries)


def _batched_type(p: Node, size: int | None) -> TensorType:
    t = p.type
    assert isinstance(t, TensorType) and t.shape is not None
    return TensorType((size, *t.shape), t.dtype)


def _select(pred: Node, new: Node, held: Node) -> Node:
    """new where the example's condition holds, else held (pred has one entry per example)."""
    extra = (held.ndim or 1) - 1
    shaped = reshape(pred, (-1, *([1] * extra))) if extra else pred
    return where(shaped, new, held)  # type: ignore[return-value]
