"""Control flow: ``cond``, which runs only the branch its predicate selects.

Each branch is traced once into a small graph of its own over placeholders
(one per operand, plus one per outer node the branch function captured).
The ``Cond`` node takes the predicate, the operands and the captured values
as inputs and, at run time, executes only the taken branch.  Its rules are
conds too: the adjoint (tangent) of a cond is a cond over the two branches'
gradient (JVP) graphs, so the derivative flows only into the taken branch and
derivatives of any order stay conditional.  The branches are sub-graphs that the
compiler optimises and lowers into the code of the graph around them (an ``if``).
This module sits on top of the passes and the compiler, which the op needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphad.autodiff import jvp, vmap
from graphad.autodiff.reverse import sweep
from graphad.compiler.plan import Plan
from graphad.control.tracing import captured
from graphad.ir import (
    DTypeError,
    GraphError,
    Node,
    Op,
    TensorType,
    ValueType,
    as_node,
    placeholder,
    substitute,
    user_location,
)
from graphad.ir.dependence import Dependences, Detect, Local
from graphad.ir.pattern import Pattern
from graphad.ops._util import Tangents
from graphad.ops.selection import where
from graphad.ops.shape import lift, materialize
from graphad.ops.structure import densify, get, is_differentiable, make_tuple, structure


@dataclass(frozen=True, eq=False)
class Branch:
    """A traced branch: a sub-graph ``output`` computed from placeholders ``params``.

    ``params[i]`` is fed from input ``slots[i]`` of the cond node (after the
    predicate).  The executor's planner lowers the sub-graph into the code of the
    graph around it (and the rewrites optimise it); ``run`` interprets it, for
    ``Executor(..., debug=True)`` and for calling the op's ``compute`` directly.
    """

    params: tuple[Node, ...]
    slots: tuple[int, ...]
    output: Node
    plan: Plan = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plan", Plan([self.output]))

    @property
    def outputs(self) -> tuple[Node, ...]:
        """What the sub-graph computes: one node (a tuple or dict node for several values)."""
        return (self.output,)

    def __reduce__(self) -> tuple[Any, ...]:
        # planned again when loaded or copied: the plan is derived from params and output
        # (its steps and slots are keyed by their nodes), so it is not stored
        return (Branch, (self.params, self.slots, self.output))

    def run(self, values: Sequence[Any]) -> Any:
        plan = self.plan
        slots = list(plan.initial)
        for p, s in zip(self.params, self.slots):
            i = plan.slot.get(p)
            if i is not None:  # a branch may ignore some of its parameters
                slots[i] = values[s]
        for step in plan.steps:
            slots[step.out] = step.fn(*[slots[i] for i in step.ins])
            for i in step.frees:
                slots[i] = None
        return slots[plan.fetch_slots[0]]


@dataclass(frozen=True, eq=False)
class Cond(Op):
    """if pred: true.output else false.output, evaluating only the taken branch."""

    control = "select"  # compilers lower it into an if over its branches' own code
    # not in repr: an error names the op as "cond", not by its branches' whole graphs
    true: Branch = field(repr=False)
    false: Branch = field(repr=False)

    def infer(self, pred: ValueType, *rest: ValueType) -> ValueType:
        if (
            not isinstance(pred, TensorType)
            or pred.dtype.kind != "b"
            or pred.shape not in ((), None)
        ):
            raise DTypeError(f"the predicate must be a bool scalar, got {pred}")
        return self.true.output.type

    def compute(self, pred: Any, *values: Any) -> Any:
        return (self.true if bool(pred) else self.false).run(values)

    @property
    def branches(self) -> tuple[Branch, Branch]:
        """The sub-graphs (true, false): what planners lower and rewrites optimise."""
        return self.true, self.false

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node | None:
        """An unbatched predicate: a cond over the two branches batched (the taken one runs
        for the whole batch); a batched one: both branches batched and selected entry by
        entry, where(pred, true, false), as JAX's vmap turns a cond into a select (the
        untaken branch's values are computed and dropped; graphad's strong zeros keep its
        NaNs out of the derivatives)"""
        values, flags = xs[1:], batched[1:]
        if any(f and not isinstance(v.type, TensorType) for v, f in zip(values, flags)):
            return None  # a batched structure: run once per example
        like = next(x for x, b in zip(xs, batched) if b)
        if not batched[0]:
            true, false = (_batched_branch(b, values, flags) for b in self.branches)
            return Cond(true, false)(xs[0], *values)
        out = self.true.output.type
        if not isinstance(out, TensorType) or out.ndim is None:
            return None
        on, off = (_batched_inline(b, values, flags, like) for b in self.branches)
        return where(lift(xs[0], out.ndim), on, off)

    def with_outputs(self, outputs: Sequence[Sequence[Node]]) -> Cond:
        """The same cond with its branches' outputs replaced (rewritten sub-graphs)."""
        (true,), (false,) = outputs
        t, f = self.true, self.false
        return Cond(Branch(t.params, t.slots, true), Branch(f.params, f.slots, false))

    # Cond is the one op that states both rules (tests/ops/test_derivatives_stated_once.py):
    # each is a cond over the branches' derivative graphs, made by the passes themselves.
    # Deriving the vjp by transposing the jvp (JvpOnly) would meet a cond of tangents in the
    # jvp's graph, whose transpose is this vjp again; and a jvp from the vjp would need the
    # vjp's graph differentiated in g once more.  So both stay, each a cond of one pass.
    def vjp(self, node: Node, g: Node) -> tuple[Node | None, ...]:
        """x̄ = cond(pred, ∂true/∂x·g, ∂false/∂x·g): only the taken branch sends adjoints"""
        values = node.inputs[1:]
        wanted = [i for i, v in enumerate(values) if is_differentiable(v.type)]
        if not wanted:
            return (None,) * len(node.inputs)
        g = densify(g, node)  # the branches' cotangent placeholder takes no absent entries
        branches = [_adjoint_branch(b, values, wanted, g) for b in (self.true, self.false)]
        both = Cond(*branches)(node.inputs[0], *values, g)
        out: list[Node | None] = [None] * len(node.inputs)
        for k, i in enumerate(wanted):
            out[1 + i] = get(both, k)
        return tuple(out)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """the union of the two branches' patterns: either may run"""
        found: dict[int, list[Pattern]] = {}
        for branch in self.branches:
            patterns = detect(branch.outputs, branch.params)
            for slot, pattern in zip(branch.slots, patterns):
                found.setdefault(1 + slot, []).append(pattern)
        return tuple(
            Local(Pattern.union(found[k], found[k][0].shape)) if k in found else None
            for k in range(len(node.inputs))
        )

    def jvp(self, node: Node, t: Tangents) -> Node | None:
        """ẏ = cond(pred, JVP of true, JVP of false)"""
        values, tangents = node.inputs[1:], t[1:]
        given = [i for i, ti in enumerate(tangents) if ti is not None]
        if not given:
            return None
        branches = [_tangent_branch(b, values, given) for b in (self.true, self.false)]
        # fed to placeholders of the operands' full types: pad sparse structured tangents
        dense = [densify(tangents[i], values[i]) for i in given]
        return Cond(*branches)(node.inputs[0], *values, *dense)


def _batched_branch(branch: Branch, values: Sequence[Node], flags: Sequence[bool]) -> Branch:
    """``branch`` over its operands batched where ``flags`` says: a parameter of the batched
    type for each batched operand, the output batched (repeated over the batch when it
    depends on no batched operand, whose length a parameter then brings in)."""
    params, slots = list(branch.params), list(branch.slots)
    batches: dict[Node, Node] = {}
    for k, (p, s) in enumerate(zip(branch.params, branch.slots)):
        if flags[s]:
            params[k] = batches[p] = placeholder(p.name, type=values[s].type)
    if batches:
        output = vmap(branch.output, batches)
    else:  # the batch's length from a batched operand the branch does not read
        s = flags.index(True)
        params.append(placeholder("cond_batch", type=values[s].type))
        slots.append(s)
        output = materialize(branch.output, params[-1])
    return Branch(tuple(params), tuple(slots), output)


def _batched_inline(
    branch: Branch, values: Sequence[Node], flags: Sequence[bool], like: Node
) -> Node:
    """``branch``'s output for the batch, inlined in the graph around it (its parameters
    replaced by the operands: the batched ones through vmap)."""
    pairs = list(zip(branch.params, branch.slots))
    batches = {p: values[s] for p, s in pairs if flags[s]}
    output = vmap(branch.output, batches) if batches else materialize(branch.output, like)
    (output,) = substitute([output], {p: values[s] for p, s in pairs if not flags[s]})
    return output


def _params(values: Sequence[Node], tag: str) -> list[Node]:
    return [placeholder(f"{tag}{i}", type=v.type) for i, v in enumerate(values)]


def _adjoint_branch(branch: Branch, values: Sequence[Node], wanted: list[int], g: Node) -> Branch:
    """A branch computing the adjoints of ``values[wanted]`` from every value and g."""
    params = _params(values, "cond_value_")
    g_in = placeholder("cond_cotangent", type=g.type)
    (output,) = substitute(
        [branch.output], dict(zip(branch.params, (params[s] for s in branch.slots)))
    )
    xs = [params[i] for i in wanted]
    result = sweep(output, xs, g_in)
    adjoints = [densify(result.adjoint.get(x), x) for x in xs]
    return Branch((*params, g_in), tuple(range(len(values) + 1)), make_tuple(*adjoints))


def _tangent_branch(branch: Branch, values: Sequence[Node], given: list[int]) -> Branch:
    """A branch computing the output's tangent from every value and the given tangents."""
    params = _params(values, "cond_value_")
    tangents = [placeholder(f"cond_tangent_{i}", type=values[i].type) for i in given]
    (output,) = substitute(
        [branch.output], dict(zip(branch.params, (params[s] for s in branch.slots)))
    )
    out = jvp(output, [params[i] for i in given], tangents)
    n = len(values)
    return Branch((*params, *tangents), tuple(range(n + len(given))), out)


def _trace(
    fn: Callable[..., Any], operands: Sequence[Node], label: str
) -> tuple[list[Node], Node, list[Node]]:
    """Trace ``fn`` over placeholders: (parameters, output, captured outer nodes), the
    captured nodes replaced by the parameters after the operands'."""
    params = _params(operands, f"{label}_operand_")
    try:
        output = structure(fn(*params))
    except GraphError as e:
        raise type(e)(f"cond: tracing the {label} branch: {e}") from None
    frontier = captured([output], params)
    extra = [placeholder(f"{label}_captured_{i}", type=n.type) for i, n in enumerate(frontier)]
    (output,) = substitute([output], dict(zip(frontier, extra)))
    return [*params, *extra], output, frontier


def cond(
    pred: Any,
    true_fn: Callable[..., Any],
    false_fn: Callable[..., Any],
    operands: Sequence[Any] | Any = (),
) -> Any:
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``, as one graph node.

    ``pred`` is a bool scalar node.  Only the taken branch runs, and only it
    receives adjoints (so a branch that would give NaN for the untaken
    operands does no harm).  Both branches must return the same type; a
    branch may return a node or a tuple/dict of nodes (returned as such).
    Nodes the branch functions use from outside become inputs of the cond.

        y = cond(x > 0, lambda v: log(v), lambda v: zeros_like(v), [x])
    """
    for name, fn in (("true_fn", true_fn), ("false_fn", false_fn)):
        if not callable(fn):
            raise GraphError(
                f"cond: {name} must be a function of the operands, got {type(fn).__name__} "
                f"({user_location()})"
            )
    ops = [operands] if isinstance(operands, Node) else list(operands)
    p = as_node(pred)
    nodes = [as_node(o) for o in ops]
    params_t, out_t, captured_t = _trace(true_fn, nodes, "true")
    params_f, out_f, captured_f = _trace(false_fn, nodes, "false")
    if out_t.type != out_f.type:
        raise GraphError(
            f"cond: the branches return different types: {out_t.type} and "
            f"{out_f.type} ({user_location()})"
        )
    n, nt, nf = len(nodes), len(captured_t), len(captured_f)
    true = Branch(tuple(params_t), (*range(n), *range(n, n + nt)), out_t)
    false = Branch(tuple(params_f), (*range(n), *range(n + nt, n + nt + nf)), out_f)
    out = Cond(true, false)(p, *nodes, *captured_t, *captured_f)
    return _unpack(out, out_t)


def _unpack(node: Node, like: Node) -> Any:
    """Give a structured result back the way the branch returned it (tuple or dict of nodes)."""
    from graphad.ops.structure import MakeDict, MakeTuple

    if isinstance(like.op, MakeTuple) and all(like.op.present):
        return tuple(get(node, i) for i in range(len(like.op.present)))
    if isinstance(like.op, MakeDict):
        return {k: get(node, k) for k in like.op.keys}
    return node
