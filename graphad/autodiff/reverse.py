"""Reverse mode as graph extension: ``gradients`` and the sweep behind it.

Seed, prune, reverse sweep, un-broadcast, accumulate, answer.  Each consumer's
partial adjoint stays its own node until they are summed once (v̄₂ = v̄₂→₄ +
v̄₂→₃, :func:`~graphad.ops.elementwise.sum_partials`), so they can be inspected and drawn.

An op of the ``JvpOnly`` family states only its jvp; its vjp is the transpose of that
linear map, built here (:func:`transposed_jvp`) by the same sweep run over the jvp's graph.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphad.autodiff._checks import check_inputs, check_target, derivative_order, node_name
from graphad.autodiff.forward import fit_tangent
from graphad.ir import (
    Derivation,
    DictType,
    DifferentiationError,
    GraphError,
    Node,
    Op,
    Origin,
    Placeholder,
    Role,
    SparseType,
    TensorType,
    as_node,
    derivation,
    descendants,
    format_shape,
    placeholder,
    rebuild,
    shapes_compatible,
    substitute,
    tagged,
    topo_sort,
    transform,
    user_location,
)
from graphad.ir._gc import collection_paused
from graphad.ops import cast, sum_to, zeros_like
from graphad.ops._linear import JvpOnly
from graphad.ops._util import is_float
from graphad.ops.elementwise import Negative, sum_partials
from graphad.ops.shape import full_like
from graphad.ops.structure import densify, entry, is_differentiable, make_dict, make_tuple
from graphad.ops.utility import ShapeOf, shape_from_operands, shape_of


@dataclass
class Sweep:
    """What one reverse sweep built: every adjoint, its partials, and where paths were cut."""

    adjoint: dict[Node, Node] = field(default_factory=dict)
    partials: dict[Node, list[tuple[Node | None, Node]]] = field(default_factory=dict)
    cut: list[tuple[Node, Node]] = field(default_factory=list)  # (consumer, input it cut)
    depends: set[Node] = field(default_factory=set)
    transposing: tuple[Op, ...] = ()  # the JvpOnly ops whose jvp this sweep transposes
    origin: Origin = field(default_factory=Origin)  # of the nodes the sweep made


def unbroadcast(g: Node, x: Node, consumer: Node) -> Node:
    """Sum ``g`` down to ``x``'s shape and cast it to ``x``'s dtype: the one un-broadcast."""
    t = x.type
    if not isinstance(t, TensorType):
        return g  # a structure's adjoint is assembled entry by entry, already in shape
    gt = g.type
    if isinstance(gt, TensorType) and gt.shape == t.shape and gt.dtype == t.dtype and t.is_static:
        return g  # most adjoints: nothing to sum and nothing to cast, asked cheaply
    same = t.is_static and g.shape == x.shape
    if not same and not (g.shape == x.shape and _cannot_stretch(x, consumer)):
        g = _sum_to(g, x)
    return cast(g, x.dtype)


def _sum_to(g: Node, x: Node) -> Node:
    """sum_to(g, x), taken inside a negation: -Σv negates the sum, not every entry of the
    larger v (the same numbers; the adjoint of a subtracted broadcast operand, x - b)."""
    if isinstance(g.op, Negative):
        return -sum_to(g.inputs[0], x)
    return sum_to(g, x)


def _cannot_stretch(x: Node, consumer: Node) -> bool:
    """No other input of ``consumer`` can broadcast ``x`` to a larger shape at run time.

    Then an adjoint whose static shape equals x's (unknown dims included) has x's
    run-time shape, and the run-time ``sum_to`` (which would keep x's value alive just
    for its shape) is not needed: each other input has no more dims than x, and each
    of its dims is 1 or lines up with a known dim of x.
    """
    if x.shape is None:
        return False
    for other in consumer.inputs:
        if other is x:
            continue
        shape = other.shape if isinstance(other.type, TensorType) else None
        if shape is None or len(shape) > len(x.shape):
            return False
        lined_up = zip(reversed(shape), reversed(x.shape))
        if any(d != 1 and xd is None for d, xd in lined_up):
            return False
    return True


def _seed(y: Node, g: Any) -> Node:
    if not isinstance(y.type, TensorType):  # a structure: its cotangent is a structure too
        if not isinstance(g, Node) or type(g.type) is not type(y.type):
            raise DifferentiationError(
                f"gradients: y = {node_name(y)} is a structure {y.type}; give grad_y, a "
                f"structure of the same kind ({user_location()})"
            )
        return g
    if g is None:
        # with a static shape, not ones_like(y): the gradient graph must not have to compute
        # y (nor need the feeds of branches that reach no x) just to learn y's shape
        return full_like(y, 1)
    try:
        g = as_node(g)
    except GraphError as e:
        raise DifferentiationError(f"gradients: grad_y: {e}") from None
    ys, gs = y.shape, g.shape
    if not isinstance(g.type, TensorType) or not shapes_compatible(ys, gs):
        raise DifferentiationError(
            f"gradients: grad_y has shape {format_shape(gs)} but y = {node_name(y)} has "
            f"shape {format_shape(ys)} ({user_location()})"
        )
    # a complex seed of a real y keeps its real part: under the real pairing that is its
    # projection onto y's cotangents, as for any complex adjoint of a real value
    return cast(g, y.dtype)


def sweep(y: Node, xs: Sequence[Node], g: Any = None) -> Sweep:
    """Run the reverse sweep from ``y`` to ``xs`` seeded with the cotangent ``g`` (``None``:
    ones), building adjoint nodes."""
    order = topo_sort([y])
    result = Sweep()
    result.depends = descendants(order, xs)
    with derivation("reverse", derivative_order([n for n in order if n in result.depends])) as d:
        result.origin = d.origin
        seed = _seed(y, g)  # checked even when y depends on no x: a bad seed is an error
        if y in result.depends:
            _backward(order, seed, result)
        _note_roles(result, d)
    return result


def _note_roles(result: Sweep, d: Derivation) -> None:
    """Record on the nodes the sweep made whose adjoints they are: each total, and each
    partial where several were summed (a lone partial is its total)."""
    d.note_all("adjoint", result.adjoint)
    note = d.note
    for node, parts in result.partials.items():
        if len(parts) > 1:
            for consumer, p in parts:
                if consumer is not None:
                    note(p, Role("partial", node, consumer))


def _backward(order: list[Node], seed: Node, result: Sweep) -> None:
    """The sweep proper, from the last node of ``order`` (its ``seed``) back: each node's
    adjoint is the sum of the partials its consumers sent, and its vjp sends it on."""
    result.partials[order[-1]] = [(None, seed)]
    for node in reversed(order):
        parts = result.partials.get(node)
        if parts is None:
            continue
        g = parts[0][1] if len(parts) == 1 else sum_partials([p for _, p in parts], node.type)
        assert g is not None  # every partial sent is a node
        result.adjoint[node] = g
        if node.inputs:
            _propagate(node, g, result)


def _propagate(node: Node, g: Node, result: Sweep) -> None:
    """Send ``node``'s adjoint ``g`` to those of its inputs that lead to some x."""
    inputs = node.inputs
    partials = result.partials
    for x, gx in zip(inputs, _vjp(node, g, result)):
        if x not in result.depends:
            continue
        if gx is None or not is_differentiable(x.type):
            result.cut.append((node, x))
            continue
        part = (node, unbroadcast(gx, x, node))
        parts = partials.get(x)
        if parts is None:
            partials[x] = [part]
        else:
            parts.append(part)


def _vjp(node: Node, g: Node, result: Sweep) -> tuple[Node | None, ...]:
    """The op's vjp of ``g``: its rule, or the transpose of its jvp (``JvpOnly``) for the
    inputs that lead to some x."""
    op = node.op
    if isinstance(op, JvpOnly):
        wanted = [x in result.depends and is_differentiable(x.type) for x in node.inputs]
        return transposed_jvp(node, g, wanted, result.transposing)
    if type(op).vjp is Op.vjp:
        raise DifferentiationError(
            f"{op.name}: no vjp rule, so reverse mode cannot pass through "
            f"{node_name(node)}; give {type(op).__name__} a vjp method ({user_location()})"
        )
    wanted = [x in result.depends for x in node.inputs]
    contributions = tuple(op.vjp_wanted(node, g, wanted))
    if len(contributions) != len(node.inputs):
        raise DifferentiationError(
            f"{op.name}: vjp returned {len(contributions)} adjoints for {len(node.inputs)} inputs"
        )
    return contributions


def transposed_jvp(
    node: Node, g: Node, wanted: Sequence[bool], transposing: tuple[Op, ...] = ()
) -> tuple[Node | None, ...]:
    """x̄ₖ = Jₖᵀ·g for the inputs ``wanted``, from the jvp ẏ = Σₖ Jₖ·ẋₖ of a ``JvpOnly`` op.

    The jvp is built on stand-ins (placeholders of the inputs' types, the op applied to
    them) and on fresh tangent placeholders ṫₖ, so the graph swept is the op's own, not
    everything above it; the sweep runs over it from ẏ, seeded with a stand-in of g (with
    g's entries: absent ones stay absent), back to the ṫₖ, each op of the jvp sending
    on its transpose; then the real nodes replace the stand-ins.  An input in the op's
    ``linear`` is transposed by the op's ``transpose`` when it is the only kind wanted
    (solve(A, ḃ) in solve's own jvp).  An adjoint that depends on the ṫₖ (other than
    through their shapes) means the jvp was not linear: a DifferentiationError; so does a
    jvp that applies the op to a tangent in an input not in ``linear`` (``transposing``
    lists the ops whose transposes are being built, outermost first), which would recurse.
    """
    op = node.op
    assert isinstance(op, JvpOnly)
    ks = [k for k, w in enumerate(wanted) if w]
    if all(k in op.linear for k in ks):
        return tuple(op.transpose(node, g, k) if w else None for k, w in enumerate(wanted))
    if op in transposing:
        raise _cannot_transpose(
            node, f"its jvp applies {op.name} to a tangent of an input that is not in its linear"
        )
    inputs = [placeholder(f"{op.name}_x{k}", type=x.type) for k, x in enumerate(node.inputs)]
    primal = rebuild(node, tuple(inputs))
    tangents = [
        placeholder(f"{op.name}_t{k}", type=x.type) if w else None
        for k, (x, w) in enumerate(zip(node.inputs, wanted))
    ]
    sources = [t for t in tangents if t is not None]
    out = op.jvp(primal, tangents)
    order = topo_sort([] if out is None else [fit_tangent(out, primal)])
    local = Sweep(depends=descendants(order, sources), transposing=(*transposing, op))
    if not order or order[-1] not in local.depends:
        raise _cannot_transpose(node, "its jvp does not depend on the tangents (a zero is None)")
    seed, back = _stand_in(g, f"{op.name}_g")
    _backward(order, seed, local)
    adjoints = [None if t is None else local.adjoint.get(t) for t in tangents]
    found = [a for a in adjoints if a is not None]
    if _reads_values(found, sources):
        raise _cannot_transpose(node, "its jvp is not linear in the tangents")
    back.update(zip(inputs, node.inputs))
    back[primal] = node
    shapes = _tangent_shapes(found, local.depends, dict(zip(tangents, inputs)))
    back.update(zip(shapes, substitute(shapes.values(), back)))
    # a tangent whose shape its rule cannot give from its operands': the same graph on the
    # inputs has its shape (computing it, which only unknown dims ever ask)
    back.update((t, x) for t, x in zip(tangents, node.inputs) if t is not None)
    rebuilt = iter(substitute(found, back))
    return tuple(None if a is None else next(rebuilt) for a in adjoints)


def _tangent_shapes(
    adjoints: list[Node], tangent: set[Node], stands: dict[Node | None, Node]
) -> dict[Node, Node]:
    """For each ``shape_of`` of a tangent node in the transposed graph (a transpose asks a
    shape it cannot know statically: unknown dims), a node giving that shape from the
    shapes of the op's inputs (``stands``: tangent placeholder -> its input's stand-in),
    without computing the tangent."""
    made: dict[Node, Node | None] = {}

    def shape(m: Node) -> Node:
        if m in stands:
            return shape_of(stands[m])
        if m not in tangent:
            return shape_of(m)
        if m not in made:
            made[m] = shape_from_operands(m, shape)
        found = made[m]
        if found is None:
            raise LookupError  # no rule: this shape stays asked of the tangent
        return found

    out: dict[Node, Node] = {}
    for n in topo_sort(adjoints):
        if isinstance(n.op, ShapeOf) and n.inputs[0] in tangent:
            with contextlib.suppress(LookupError):
                out[n] = shape(n.inputs[0])
    return out


def _stand_in(g: Node, name: str) -> tuple[Node, dict[Node, Node]]:
    """A placeholder for the cotangent ``g``, a structure of them for a structured g (absent
    where g has no entry), and the map from each placeholder back to its part of g."""
    t = g.type
    if isinstance(t, (TensorType, SparseType)):
        p = placeholder(name, type=t)
        return p, {p: g}
    keys: list[Any] = list(t.keys()) if isinstance(t, DictType) else list(range(len(t.items)))
    back: dict[Node, Node] = {}
    parts: dict[Any, Node] = {}
    for k in keys:
        e = entry(g, k)
        if e is not None:
            parts[k], more = _stand_in(e, f"{name}[{k!r}]")
            back.update(more)
    if isinstance(t, DictType):
        return make_dict(parts), back
    return make_tuple(*(parts.get(k) for k in keys)), back


def _reads_values(adjoints: list[Node], tangents: list[Node]) -> bool:
    """Whether some adjoint depends on the value of a tangent (not only on its shape)."""
    reached = set(tangents)
    for node in topo_sort(adjoints):
        if node in reached or isinstance(node.op, ShapeOf):  # a shape is not a value
            continue
        if any(x in reached for x in node.inputs):
            reached.add(node)
    return any(a in reached for a in adjoints)


def _cannot_transpose(node: Node, why: str) -> DifferentiationError:
    return DifferentiationError(
        f"{node.op.name}: {why}, so reverse mode cannot transpose it into a vjp at "
        f"{node_name(node)} ({user_location()})"
    )


def _unconnected_error(y: Node, x: Node, result: Sweep) -> DifferentiationError:
    msg = f"gradients: y = {node_name(y)} does not depend on x = {node_name(x)}"
    downstream = descendants(topo_sort([y]), [x])
    # name the op where each path stopped carrying a derivative: the one that refused a
    # float input (stop_gradient), or the one that made a bool/int value from a float
    # (a comparison), not the op downstream that received that value (where, cast)
    cuts = [c for c, i in result.cut if i in downstream and is_float(i.type)]
    cuts += [
        n
        for n in downstream
        if not is_float(n.type) and any(i in downstream and is_float(i.type) for i in n.inputs)
    ]
    if cuts:
        where = ", ".join(f"{c.op.name} {node_name(c)}" for c in cuts)
        msg += f": every path is cut by a non-differentiable op: {where}"
    return DifferentiationError(msg + f" ({user_location()})")


def _zeros(adjoint: Node | None, x: Node) -> Node:
    """Zeros for x, or for the entries of x that y skips.  For a placeholder x that y does
    not depend on, ``zeros_like(x)``: the answer holds x, so x is fed (by node or by name)
    as when y depends on it, and the compiler folds it to a constant where x's shape is
    static."""
    if adjoint is None and isinstance(x.type, TensorType) and isinstance(x.op, Placeholder):
        return zeros_like(x)
    return densify(adjoint, x)


def gradients(
    y: Node, xs: Node | Sequence[Node], grad_y: Any = None, unconnected: str = "zero"
) -> Any:
    """Adjoint nodes ∂y/∂x for each x, built into the same graph.

    ``y``: a float tensor (a complex one needs ``grad_y``).  With ``grad_y=None``
    the seed is ones, so a non-scalar ``y`` gives the gradient of ``sum(y)`` (as
    TensorFlow 1 and the dlsys API do); a ``grad_y`` of y's shape gives the
    vector-Jacobian product ``grad_yᵀ·∂y/∂x``.  Each result has its x's shape and dtype.  An x that
    y does not depend on gets zeros (``unconnected="zero"``), ``None``
    (``"none"``) or a DifferentiationError (``"raise"``).  One node in gives
    one node out; a list gives a list.  The result is ordinary graph, so it
    can be differentiated again::

        gx = gradients(sum(x ** 3), x)      # 3x²
        hx = gradients(gx, x)               # 6x  (gradient of sum(gx))
    """
    if unconnected not in ("zero", "none", "raise"):
        raise DifferentiationError(
            f"gradients: unconnected must be 'zero', 'none' or 'raise', got {unconnected!r}"
        )
    if isinstance(y, Node) and not isinstance(y.type, TensorType) and grad_y is None:
        raise DifferentiationError(
            f"gradients: y = {node_name(y)} is a structure {y.type}; give grad_y, a structure "
            f"of the same kind, to seed it ({user_location()})"
        )
    if grad_y is None or isinstance(getattr(y, "type", None), TensorType):
        y = check_target(y)  # a structured y is allowed with a structured grad_y
    if grad_y is None and y.dtype.kind == "c":
        # JAX and autograd refuse too: a ones seed would silently take the real part
        raise DifferentiationError(
            f"gradients: y = {node_name(y)} is complex ({y.type}); give grad_y, or "
            f"differentiate a real function of it such as real(y) or abs(y) ({user_location()})"
        )
    items, single = check_inputs(xs, "gradients")
    with transform("gradients"), collection_paused():  # a graph that all stays alive: _gc
        result = sweep(y, items, grad_y)
    out: list[Node | None] = []
    for x in items:
        adjoint = result.adjoint.get(x)
        if adjoint is None and unconnected == "raise":
            raise _unconnected_error(y, x, result)
        if unconnected == "zero" and (adjoint is None or not isinstance(x.type, TensorType)):
            with tagged(result.origin):
                adjoint = _zeros(adjoint, x)
        out.append(adjoint)
    return out[0] if single else out
