"""Whole-graph passes over loops: fusing twins, and pruning what no one reads.

**Fusion.**  A loop's vjp (:mod:`graphad.control.loop_vjp`) asks the forward loop for
more per-step values (its residuals) by making a *twin* of it: the same kind of loop over
the same body parameters and the same new carries, on the same inputs, with more per-step
outputs (or keeping checkpoints).  Twins compute the same carries step by step, so one loop
computing the union of their outputs replaces them all: a graph that fetches a loop's
value and its gradient runs the forward loop once.  More generally, loops of one kind and
trip count whose carries start from the same nodes merge when their bodies, written over
one set of parameters (rows and consts paired by the input feeding them) and merged by
CSE, compute the same new carries: the tangent loops of a loop and of its twin, say (a
Hessian-vector product's), which differ only in the names of their placeholders.  The
pass runs before the rewrites, while twins share their body's nodes, and after them, when
the loops' inputs have been merged by CSE.

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

from graphad.compiler.cse import lookup
from graphad.ir import Node, rebuild, topo_sort
from graphad.ops.loop import Body, Loop, LoopForm, cond_slots, slots
from graphad.ops.structure import TupleGet, get, make_tuple

Remap = dict[int, int]  # old entry of a loop's value -> new entry


def _key(node: Node) -> Hashable:
    """What loops that may be fused share: their kind, their trip count and direction,
    their carries' start (the same input nodes), and the rest of the form that is not a
    body; checked further by comparing the bodies (``_fuse``)."""
    op = node.op
    assert isinstance(op, Loop)
    f = op.form
    carries = tuple(node.inputs[: f.first + f.carries])
    shape = (f.carries, f.step, f.length, f.counted, f.reverse, f.unroll, f.cond is not None)
    return (type(op), carries, shape, f.checkpoint, f.max_steps, f.replay is not None)


def fuse_loops(nodes: Sequence[Node]) -> list[Node]:
    """``nodes`` with loops that compute the same carries (from the same starts, by bodies
    equal but for their parameters' names) merged into one loop computing all their
    per-step outputs: a loop and its twins, and the loops derived alike from them."""
    groups: dict[Hashable, list[Node]] = {}
    for n in topo_sort(nodes):
        if isinstance(n.op, Loop) and n.op.form.replay is None:
            groups.setdefault(_key(n), []).append(n)
    merged: dict[Node, tuple[Node, Remap]] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        fused, parts = _Fusion(members[0]), [members[0]]
        for other in members[1:]:
            if fused.absorb(other):
                parts.append(other)
        if len(parts) > 1:
            loop = fused.node()
            for m in parts:
                merged[m] = (loop, fused.remap(m))
    if not merged:
        return list(nodes)
    return _redirect(nodes, merged)


class _Fusion:
    """Loops merged into one: the first one's body, with the rows, consts and per-step
    outputs of the others added, their bodies re-expressed over its parameters and merged
    by CSE (a loop is absorbed only when its carries come out as the same nodes)."""

    def __init__(self, first: Node) -> None:
        op = first.op
        assert isinstance(op, Loop)
        self.op, self.form, self.inputs, self.first = op, op.form, first.inputs, first
        f = self.form
        self.checkpoints = f.checkpoints
        self.table: dict[Hashable, Node] = {}
        self.x_params = list(f.x_params())
        self.x_inputs = [first.inputs[i] for i in f.xs_inputs()]
        self.k_params = list(f.const_params())
        self.k_inputs = [first.inputs[i] for i in f.const_inputs()]
        mine = {p: p for p in f.body.params}
        self.carries = self._canon(list(f.new_carries()), mine)
        self.cond = None if f.cond is None else self._canon(list(f.cond.outputs), mine)
        self.per_step: dict[Node, int] = {}
        self.entries: dict[Node, list[int]] = {}
        self._add(first, self._canon(list(f.per_step()), mine))

    def _canon(self, outputs: list[Node], params: dict[Node, Node]) -> list[Node]:
        """``outputs`` over this loop's parameters (``params`` maps them), merged by CSE."""
        new: dict[Node, Node] = {}
        for n in topo_sort(outputs):
            if n in params:
                new[n] = params[n]
                continue
            inputs = tuple(new[x] for x in n.inputs)
            rebuilt = n if all(a is b for a, b in zip(inputs, n.inputs)) else rebuild(n, inputs)
            new[n] = lookup(self.table, rebuilt)
        return [new[o] for o in outputs]

    def _add(self, node: Node, per_step: list[Node]) -> None:
        positions = []
        for y in per_step:
            positions.append(self.per_step.setdefault(y, len(self.per_step)))
        self.entries[node] = positions

    def absorb(self, other: Node) -> bool:
        """Merge ``other`` in when its carries and condition are this loop's."""
        f = form_of(other)
        mapping = dict(zip(f.carry_params(), self.form.carry_params()))
        mapping.update(zip(f.step_params(), self.form.step_params()))
        new_x: list[Node] = []
        new_k: list[Node] = []
        for p, i in zip(f.x_params(), f.xs_inputs()):
            mapping[p] = self._param(p, other.inputs[i], self.x_params, self.x_inputs, new_x)
        for p, i in zip(f.const_params(), f.const_inputs()):
            mapping[p] = self._param(p, other.inputs[i], self.k_params, self.k_inputs, new_k)
        carries = self._canon(list(f.new_carries()), mapping)
        cond = None if f.cond is None else self._canon(list(f.cond.outputs), mapping)
        same_cond = cond is None or all(a is b for a, b in zip(cond, self.cond or ()))
        if not all(a is b for a, b in zip(carries, self.carries)) or not same_cond:
            for params, inputs, added in (
                (self.x_params, self.x_inputs, new_x),
                (self.k_params, self.k_inputs, new_k),
            ):
                del params[len(params) - len(added) :], inputs[len(inputs) - len(added) :]
            return False
        self._add(other, self._canon(list(f.per_step()), mapping))
        self.checkpoints = self.checkpoints or f.checkpoints
        return True

    @staticmethod
    def _param(
        p: Node, source: Node, params: list[Node], inputs: list[Node], added: list[Node]
    ) -> Node:
        """This loop's parameter fed from ``source``, one added for it if there is none."""
        for q, i in zip(params, inputs):
            if i is source and q.type == p.type:
                return q
        params.append(p)
        inputs.append(source)
        added.append(p)
        return p

    def node(self) -> Node:
        f = self.form
        per_step = list(self.per_step)
        c, nx, nk = f.carries, len(self.x_params), len(self.k_params)
        params = (*f.carry_params(), *self.x_params, *self.k_params, *f.step_params())
        body = Body(params, slots(c, nx, nk, f.step, f.counted), (*self.carries, *per_step))
        cond = None
        if f.cond is not None:
            cparams = (*f.carry_params(), *self.k_params)
            cond = Body(cparams, cond_slots(c, nk, nx, f.counted), tuple(self.cond or ()))
        checkpoints = getattr(self, "checkpoints", f.checkpoints)
        self.fused = replace(f, body=body, xs=nx, consts=nk, cond=cond, checkpoints=checkpoints)
        head = self.inputs[: f.first + c]
        return self.op.with_form(self.fused)(*head, *self.x_inputs, *self.k_inputs)

    def remap(self, member: Node) -> Remap:
        old, new = form_of(member), self.fused
        remap = {k: k for k in range(old.carries)}
        for j, position in enumerate(self.entries[member]):
            remap[old.carries + j] = new.carries + position
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
            size = form_of(n).size
            new[n] = make_tuple(*(get(loop, remap[i]) if i in remap else None for i in range(size)))
            continue
        if isinstance(n.op, TupleGet) and n.inputs[0] in moved:
            loop, remap = moved[n.inputs[0]]
            new[n] = get(loop, remap[n.op.index % form_of(n.inputs[0]).size])
            continue
        inputs = tuple(new.get(x, x) for x in n.inputs)
        if all(a is b for a, b in zip(inputs, n.inputs)):
            new[n] = n
        else:
            new[n] = rebuild(n, inputs)
    return [new[n] for n in nodes]


def form_of(node: Node) -> LoopForm:
    """The form of a loop node (the passes here look only at loops)."""
    op = node.op
    assert isinstance(op, Loop)
    return op.form


# -- pruning -------------------------------------------------------------------------
def prune_loops(nodes: Sequence[Node]) -> list[Node]:
    """``nodes`` with every loop computing only the entries of its value that are read."""
    order = topo_sort(nodes)
    reads: dict[Node, set[int] | None] = {}
    for n in order:
        for x in n.inputs:
            if isinstance(x.op, Loop):
                if isinstance(n.op, TupleGet) and reads.get(x, set()) is not None:
                    read = reads.setdefault(x, set())
                    assert read is not None
                    read.add(n.op.index % x.op.form.size)
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
    step_param = f.step_param()
    if step:
        assert step_param is not None  # a loop that reads its step has a step parameter
        params.append(step_param)
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
