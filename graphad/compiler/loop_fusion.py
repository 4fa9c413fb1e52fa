"""Whole-graph passes over loops: fusing twins, and pruning what no one reads.

**Fusion.**  A loop's vjp (:mod:`graphad.control.loop_rules`) asks the forward loop for
more per-step values (its residuals) by making a *twin* of it: the same kind of loop over
the same body parameters and the same new carries, on the same inputs, with more per-step
outputs (or keeping checkpoints).  Twins compute the same carries step by step, so one loop
computing the union of their outputs replaces them all: a graph that fetches a loop's
value and its gradient runs the forward loop once.  The pass runs before the rewrites,
while twins still share their body's nodes.

**Pruning.**  A loop's value is a tuple read entry by entry (``t[i]``).  Entries no one
reads are dropped: per-step outputs, checkpoints, and carries that neither a read entry
nor the condition needs, step after step (a fixpoint over the body); so are the body
parameters (rows, consts, the step index) that nothing left reads, and the inputs behind
them.  A gradient graph's forward twin thus keeps the user's outputs only where they are
fetched, and a loop whose result is half used runs half a body.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import replace

from graphad.ir import Node, rebuild, topo_sort
from graphad.ops.loop import Body, Loop, LoopForm, cond_slots, slots
from graphad.ops.structure import TupleGet, get, make_tuple

Remap = dict[int, int]  # old entry of a loop's value -> new entry


def _key(node: Node) -> Hashable:
    """What twins share: the loop's kind and everything of its form but its per-step
    outputs and whether it keeps checkpoints; its inputs."""
    op = node.op
    assert isinstance(op, Loop)
    f = op.form
    cond = None if f.cond is None else (f.cond.params, f.cond.outputs)
    replay = None if f.replay is None else id(f.replay)
    shape = (f.carries, f.xs, f.consts, f.step, f.length, f.counted, f.reverse, f.unroll)
    policy = (f.checkpoint, f.max_steps, replay)
    return (type(op), f.body.params, f.new_carries(), cond, shape, policy, node.inputs)


def fuse_loops(nodes: Sequence[Node]) -> list[Node]:
    """``nodes`` with twin loops merged into one loop computing all their outputs."""
    groups: dict[Hashable, list[Node]] = {}
    for n in topo_sort(nodes):
        if isinstance(n.op, Loop):
            groups.setdefault(_key(n), []).append(n)
    merged: dict[Node, tuple[Node, Remap]] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        first = members[0].op
        assert isinstance(first, Loop)
        form = first.form
        per_step: dict[Node, int] = {}
        for m in members:
            for y in m.op.form.per_step():  # type: ignore[attr-defined]
                per_step.setdefault(y, len(per_step))
        checkpoints = any(m.op.form.checkpoints for m in members)  # type: ignore[attr-defined]
        body = form.body.with_outputs([*form.new_carries(), *per_step])
        fused_form = replace(form, body=body, checkpoints=checkpoints)
        fused = first.with_form(fused_form)(*members[0].inputs)
        for m in members:
            merged[m] = (fused, _fused_entries(m.op.form, fused_form, per_step))  # type: ignore[attr-defined]
    if not merged:
        return list(nodes)
    return _redirect(nodes, merged)


def _fused_entries(old: LoopForm, new: LoopForm, per_step: dict[Node, int]) -> Remap:
    remap = {k: k for k in range(old.carries)}
    for j, y in enumerate(old.per_step()):
        remap[old.carries + j] = new.carries + per_step[y]
    for k, i in enumerate(old.checkpoint_outputs()):
        remap[i] = new.checkpoint_outputs()[k]
    if old.cond is not None:
        remap[old.size - 1] = new.size - 1
    return remap


def _redirect(nodes: Sequence[Node], moved: dict[Node, tuple[Node, Remap]]) -> list[Node]:
    """``nodes`` rebuilt with each read ``t[i]`` of a moved loop t reading its new entry
    (and any other use of t a tuple of those entries)."""
    new: dict[Node, Node] = {}
    for n in topo_sort(nodes):
        if n in moved:
            loop, remap = moved[n]
            size = n.op.form.size  # type: ignore[attr-defined]
            new[n] = make_tuple(*(get(loop, remap[i]) if i in remap else None for i in range(size)))
            continue
        if isinstance(n.op, TupleGet) and n.inputs[0] in moved:
            loop, remap = moved[n.inputs[0]]
            new[n] = get(loop, remap[n.op.index % n.inputs[0].op.form.size])  # type: ignore[attr-defined]
            continue
        inputs = tuple(new.get(x, x) for x in n.inputs)
        if all(a is b for a, b in zip(inputs, n.inputs)):
            new[n] = n
        else:
            new[n] = rebuild(n, inputs)
    return [new[n] for n in nodes]


# -- pruning -------------------------------------------------------------------------
def prune_loops(nodes: Sequence[Node]) -> list[Node]:
    """``nodes`` with every loop computing only the entries of its value that are read."""
    order = topo_sort(nodes)
    reads: dict[Node, set[int] | None] = {}
    for n in order:
        for x in n.inputs:
            if isinstance(x.op, Loop):
                if isinstance(n.op, TupleGet) and reads.get(x, set()) is not None:
                    reads.setdefault(x, set()).add(n.op.index % x.op.form.size)  # type: ignore[union-attr]
                else:
                    reads[x] = None  # read whole: keep everything
    for n in nodes:
        if isinstance(n.op, Loop):
            reads[n] = None
    moved: dict[Node, tuple[Node, Remap]] = {}
    for n, read in reads.items():
        if read is None:
            continue
        pruned = _pruned(n, read)
        if pruned is not None:
            moved[n] = pruned
    if not moved:
        return list(nodes)
    return _redirect(nodes, moved)


def _pruned(node: Node, read: set[int]) -> tuple[Node, Remap] | None:
    """The loop computing the entries ``read`` of ``node``'s value, or None when it
    computes nothing more than those already."""
    op = node.op
    assert isinstance(op, Loop)
    f = op.form
    if f.replay is not None:
        return None  # its rows come from the replayed loop: kept as the rule made it
    kept_cp = {k for k, i in enumerate(f.checkpoint_outputs()) if i in read}
    ys = [j for j in range(f.outputs) if f.carries + j in read]
    carries = _needed_carries(f, {k for k in range(f.carries) if k in read} | kept_cp, ys)
    roots = [f.new_carries()[k] for k in carries] + [f.per_step()[j] for j in ys]
    if f.cond is not None:
        roots.append(f.cond.outputs[0])
    reached = set(topo_sort(roots))
    xs = [k for k, p in enumerate(f.x_params()) if p in reached]
    trips_from_xs = f.cond is None and f.length is None and not f.counted
    if not xs and trips_from_xs and f.xs:
        xs = [0]  # the trip count is its length
    consts = [k for k, p in enumerate(f.const_params()) if p in reached]
    step = f.step and f.step_param() in reached
    if (
        len(carries) == f.carries
        and len(ys) == f.outputs
        and len(xs) == f.xs
        and len(consts) == f.consts
        and step == f.step
        and (bool(kept_cp) or not f.checkpoints)
    ):
        return None
    cp, xp, kp = f.carry_params(), f.x_params(), f.const_params()
    params = [*(cp[k] for k in carries), *(xp[k] for k in xs), *(kp[k] for k in consts)]
    params += [f.step_param()] if step else []  # type: ignore[list-item]
    outputs = [*(f.new_carries()[k] for k in carries), *(f.per_step()[j] for j in ys)]
    c, nx, nk = len(carries), len(xs), len(consts)
    body = Body(tuple(params), slots(c, nx, nk, step, f.counted), tuple(outputs))
    cond = None
    if f.cond is not None:
        cparams = (*(cp[k] for k in carries), *(kp[k] for k in consts))
        cond = Body(cparams, cond_slots(c, nk, nx, f.counted), f.cond.outputs)
    form = replace(
        f,
        body=body,
        carries=c,
        xs=nx,
        consts=nk,
        step=step,
        cond=cond,
        checkpoints=f.checkpoints and bool(kept_cp),
    )
    inputs = node.inputs
    count = [inputs[0]] if f.counted else []
    new_inputs = [
        *count,
        *(inputs[f.carry_inputs()[k]] for k in carries),
        *(inputs[f.xs_inputs()[k]] for k in xs),
        *(inputs[f.const_inputs()[k]] for k in consts),
    ]
    loop = op.with_form(form)(*new_inputs)
    remap = {k: n for n, k in enumerate(carries)}
    remap.update({f.carries + j: c + n for n, j in enumerate(ys)})
    for n, k in enumerate(carries):
        if k in kept_cp:
            remap[f.checkpoint_outputs()[k]] = form.checkpoint_outputs()[n]
    if f.cond is not None:
        remap[f.size - 1] = form.size - 1
    return loop, remap


def _needed_carries(f: LoopForm, read: set[int], ys: list[int]) -> list[int]:
    """The carries the entries read need, step after step: a fixpoint over the body."""
    needed = set(read)
    while True:
        roots = [f.new_carries()[k] for k in needed] + [f.per_step()[j] for j in ys]
        if f.cond is not None:
            roots.append(f.cond.outputs[0])
        reached = set(topo_sort(roots))
        more = needed | {k for k, p in enumerate(f.carry_params()) if p in reached}
        if more == needed:
            return sorted(needed)
        needed = more
