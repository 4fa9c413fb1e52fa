"""The vjp of a loop: a scan running the other way over what the forward loop saved.

For a body c' = f(c, x, k) (carries c, rows x, consts k) with per-step outputs
y = h(c, x, k), the adjoint of a loop of T steps is a loop of T steps running the other way:

    c̄ ← ∂f/∂cᵀ·c̄ + ∂h/∂cᵀ·ȳₜ,   k̄ ← k̄ + ∂f/∂kᵀ·c̄ + ∂h/∂kᵀ·ȳₜ,   x̄ₜ = ∂f/∂xᵀ·c̄ + ∂h/∂xᵀ·ȳₜ

starting from the final carries' cotangent (and k̄ = 0).  Its body is the reverse sweep of
the forward body, built once on the body's own graph.  That sweep reads values of the
forward step: those that depend only on the consts stay in the backward body (the
compiler hoists them out of the loop), the rows x and the step index are fed again, and
every other value it reads (a carry, 1 - tanh², …) is a *residual*: the forward loop saves
it, one row a step, as an extra per-step output.  That extra output is not a second
forward loop: the rule makes a *twin* of the forward node (same body, same inputs, more
per-step outputs), and the compiler's loop fusion (:mod:`graphad.compiler.loop_fusion`)
merges a loop into its twin, so a graph that fetches a loop's value and its gradient runs
the forward loop once.  Under a checkpoint policy the twin keeps only checkpoints, and
the backward loop *replays* each stretch of steps from its checkpoint to get the residuals
(``LoopForm.replay``).  A while loop's backward loop is a scan of its trip count, which
needs ``max_steps`` (the residuals' buffer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from graphad.autodiff.reverse import sweep
from graphad.control.loop_forms import loop_of, made_at, make_form, stand_ins, unfused
from graphad.ir import (
    DifferentiationError,
    Node,
    derivation,
    descendants,
    is_differentiable,
    placeholder,
    substitute,
    topo_sort,
    user_location,
)
from graphad.ops.loop import Loop, LoopForm
from graphad.ops.shape import full_like
from graphad.ops.structure import densify, entry, get, make_tuple


def vjp(node: Node, g: Node, wanted: Sequence[bool]) -> tuple[Node | None, ...]:
    """The adjoints of the loop's inputs (those ``wanted``): a backward loop's results."""
    op, form = loop_of(node)
    if form.replay is not None:
        return _unfused_vjp(node, g, wanted)
    if form.cond is not None and form.max_steps is None:
        raise DifferentiationError(
            f"{op.name}: reverse mode through a while_loop stores the carries of every step "
            f"and so needs a bound: give while_loop(..., max_steps=N) (the loop {made_at(form)}"
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
    for j in g_rows:  # the per-step outputs g has an entry for
        row = entry(g, form.carries + j)
        assert row is not None
        rows.append(row)
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
    back_form = make_form(
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


def _unfused_vjp(node: Node, g: Node, wanted: Sequence[bool]) -> tuple[Node | None, ...]:
    stand = stand_ins(node)
    wanted_stand = [s for s, w in zip(stand, wanted) if w and is_differentiable(s.type)]
    swept = sweep(unfused(node, stand), wanted_stand, g)
    found = [swept.adjoint.get(s) for s in stand]
    back = dict(zip(stand, node.inputs))
    made = [f for f in found if f is not None]
    rebuilt = iter(substitute(made, back))
    return tuple(None if f is None else next(rebuilt) for f in found)
