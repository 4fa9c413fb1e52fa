"""Laws on loops, stated for the loop family (``ops.loop.Loop``): they read the loop's form.

The body of a loop is rewritten as a sub-graph of its own (the driver's
``rewrite_branches``); what a law of this module adds is moving work across the loop's
boundary, which only the loop node can do.
"""

from __future__ import annotations

from dataclasses import replace

from graphad.compiler.patterns import Uses, rule
from graphad.ir import Constant, Node, Placeholder, descendants, placeholder, substitute, topo_sort
from graphad.ops.loop import Body, Loop, cond_slots, slots


@rule(Loop, family=True)
def hoist_invariants(node: Node, uses: Uses) -> Node | None:
    """loop(…, k; body reading f(k)) -> loop(…, k, f(k); body reading a new const)
    (f(k) computed once before the loop: a value of the body that depends on its consts
    alone, not on the carries, the rows or the step index)"""
    op = node.op
    assert isinstance(op, Loop)
    form = op.form
    if form.replay is not None or not form.consts:
        return None
    subs = [form.body] if form.cond is None else [form.body, form.cond]
    outputs = [o for b in subs for o in b.outputs]
    order = topo_sort(outputs)
    varying = descendants(order, [*form.carry_params(), *form.x_params(), *form.step_params()])
    from_consts = descendants(order, form.const_params())
    invariant = {
        n
        for n in order
        if n in from_consts and n not in varying and not isinstance(n.op, Placeholder)
    }
    frontier: dict[Node, None] = {}
    for n in order:
        if n in varying:
            frontier.update(dict.fromkeys(x for x in n.inputs if x in invariant))
    frontier.update(dict.fromkeys(o for o in outputs if o in invariant))
    hoisted = [n for n in frontier if not isinstance(n.op, Constant)]
    if not hoisted:
        return None
    outer = substitute(hoisted, dict(zip(form.const_params(), _inputs(node, form.const_inputs()))))
    params = [placeholder(f"hoisted_{i}", type=n.type) for i, n in enumerate(hoisted)]
    swap = dict(zip(hoisted, params))
    c, nx, nk = form.carries, form.xs, form.consts + len(hoisted)
    consts = (*form.const_params(), *params)
    body_params = (*form.carry_params(), *form.x_params(), *consts, *form.step_params())
    body = Body(
        body_params,
        slots(c, nx, nk, form.step, form.counted),
        tuple(substitute(list(form.body.outputs), swap)),
    )
    cond = None
    if form.cond is not None:
        cond = Body(
            (*form.carry_params(), *consts),
            cond_slots(c, nk, nx, form.counted),
            tuple(substitute(list(form.cond.outputs), swap)),
        )
    new = replace(form, body=body, consts=nk, cond=cond)
    return op.with_form(new)(*node.inputs, *outer)


def _inputs(node: Node, positions: range) -> list[Node]:
    return [node.inputs[i] for i in positions]
