"""``scan`` and ``fori_loop``: counted loops, as one graph node whatever the trip count.

``scan(f, init, xs)`` is ``jax.lax.scan``: ``f(carry, x) -> (carry, y)`` is traced once
into a body sub-graph (values it uses from outside become inputs of the loop node), run for
each row of ``xs`` (or ``length`` times), and the result is ``(final carry, ys)`` with the
``y`` of every step stacked along a new leading axis.  Carries, rows and outputs may be
nodes or tuples, lists and dicts of them (or structured nodes); each keeps its form.

Everything that can be checked when the node is made is: a carry whose type changes in one
step, xs of different lengths, a ``length`` that disagrees with the xs, each named by its
entry (``carry[1]['h']``) and the user's line.  A leading dim not known until run time
(xs of shape ``(None, ...)``) is allowed: the trip count is then the xs' length at run time.

``fori_loop(lower, upper, body, init)`` is a scan whose body takes the index i = lower + t;
its bounds may be nodes, computed by the graph: then the trip count max(upper - lower, 0)
is an input of the scan, known when the loop starts, so the loop stays a scan and is
reverse-differentiable (JAX makes such a loop a while loop, which it cannot differentiate
in reverse mode).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphad.control.loops import Scan
from graphad.control.tracing import Tree, close_over, flatten, unflatten
from graphad.ir import (
    DTypeError,
    GraphError,
    Node,
    ShapeError,
    TensorType,
    as_node,
    format_shape,
    placeholder,
    user_location,
)
from graphad.ops import maximum, subtract
from graphad.ops._util import tensor
from graphad.ops.loop import Body as LoopBody
from graphad.ops.loop import Every, LoopForm, Policy, Sqrt, slots
from graphad.ops.structure import get
from graphad.ops.utility import cast

INT64 = np.dtype(np.int64)


def policy(checkpoint: Any, fn: str) -> Policy | None:
    """A checkpoint policy from ``scan``'s argument: k, "sqrt" or a policy object."""
    if checkpoint is None:
        return None
    if isinstance(checkpoint, str) and checkpoint == "sqrt":
        return Sqrt()
    if isinstance(checkpoint, (int, np.integer)) and not isinstance(checkpoint, bool):
        if checkpoint >= 1:
            return Every(int(checkpoint))
    elif isinstance(checkpoint, Policy) and not isinstance(checkpoint, type):
        return checkpoint
    raise GraphError(
        f"{fn}: checkpoint must be None, an int k >= 1 (keep every k-th carry), 'sqrt' or a "
        f"policy with an every(trips) method, got {checkpoint!r} ({user_location()})"
    )


def _leaves(value: Any, what: str, fn: str) -> tuple[list[Node], Tree]:
    try:
        return flatten(value)
    except GraphError as e:
        raise type(e)(f"{fn}: {what}: {e} ({user_location()})") from None


def check_carry(
    init: list[Node], tree: Tree, new: list[Node], new_tree: Tree, fn: str, who: str
) -> list[TensorType]:
    """The carry types, after checking that ``who`` returns a carry of init's structure and
    types (unknown dims may meet known ones: the carry type is then the less known)."""
    want, got = tree.paths("carry"), new_tree.paths("carry")
    if want != got:
        raise GraphError(
            f"{fn}: {who} returns a carry with entries {', '.join(got) or 'none'} where the "
            f"initial carry has {', '.join(want) or 'none'} ({user_location()})"
        )
    joined = []
    for path, a, b in zip(want, init, new):
        ta, tb = a.type, b.type
        assert isinstance(ta, TensorType) and isinstance(tb, TensorType)
        if ta.dtype != tb.dtype:
            raise DTypeError(
                f"{fn}: {path} is {ta} before a step and {tb} after it: a carry keeps its "
                f"dtype (cast it in {who}) ({user_location()})"
            )
        if ta.shape is None or tb.shape is None or len(ta.shape) != len(tb.shape):
            if ta.shape != tb.shape:
                raise ShapeError(
                    f"{fn}: {path} is {ta} before a step and {tb} after it: a carry keeps "
                    f"its shape ({user_location()})"
                )
            joined.append(ta)
            continue
        dims = []
        for da, db in zip(ta.shape, tb.shape):
            if da is not None and db is not None and da != db:
                raise ShapeError(
                    f"{fn}: {path} is {ta} before a step and {tb} after it: a carry keeps "
                    f"its shape ({user_location()})"
                )
            dims.append(da if da == db else None)
        joined.append(TensorType(tuple(dims), ta.dtype))
    return joined


Call = Callable[[Any, Any, "Node | None"], tuple[Any, Any]]  # (carry, x, step) -> (carry, y)


def _trace(
    fn: str,
    call: Call,
    init: list[Node],
    tree: Tree,
    xs_tree: Tree,
    rows: list[TensorType],
    step: bool,
) -> tuple[list[Node], list[Node], Tree, list[Node], list[Node], list[Node]]:
    """Trace the body once (twice when a carry's type must be widened to unknown dims):
    (carry params, row params, ys' tree, outputs, captured outer nodes, their params)."""
    types: list[TensorType] = [tensor(x.type, "carry") for x in init]  # tensor leaves
    for _ in range(2):
        carries = [placeholder(f"carry{i}", type=t) for i, t in enumerate(types)]
        x_params = [placeholder(f"row{i}", type=t) for i, t in enumerate(rows)]
        index = placeholder("step", type=TensorType((), INT64)) if step else None
        try:
            new, y = call(unflatten(tree, iter(carries)), unflatten(xs_tree, iter(x_params)), index)
        except GraphError as e:
            raise type(e)(f"{fn}: tracing the body: {e}") from None
        new_leaves, new_tree = _leaves(new, "the carry the body returns", fn)
        y_leaves, y_tree = _leaves(y, "the per-step output", fn)
        joined = check_carry(carries, tree, new_leaves, new_tree, fn, "the body")
        if joined == types:
            break
        types = joined
    else:
        raise ShapeError(f"{fn}: the carry's shape keeps changing ({user_location()})")
    own = [*carries, *x_params, *([index] if index is not None else [])]
    (outputs,), outer, stand = close_over([[*new_leaves, *y_leaves]], [own], fn)
    params = [*carries, *x_params, *stand, *([index] if index is not None else [])]
    return params, x_params, y_tree, outputs, outer, stand


def make_scan(
    fn: str,
    call: Call,
    init: Any,
    xs: Any,
    length: Any,
    reverse: bool,
    unroll: int,
    checkpoint: Any,
    step: bool = False,
) -> tuple[Node, Tree, Tree, int]:
    """The scan node, the carries' and ys' trees, and the number of carries."""
    where = user_location()
    if not isinstance(reverse, (bool, np.bool_)):
        raise GraphError(f"{fn}: reverse must be a bool, got {reverse!r} ({where})")
    if isinstance(unroll, bool) or not isinstance(unroll, (int, np.integer)) or unroll < 1:
        raise GraphError(f"{fn}: unroll must be an int >= 1, got {unroll!r} ({where})")
    kept = policy(checkpoint, fn)
    init_leaves, tree = _leaves(init, "init", fn)
    xs_leaves, xs_tree = _leaves(xs, "xs", fn)
    rows = []
    lead: tuple[str, int] | None = None
    for path, x in zip(xs_tree.paths("xs"), xs_leaves):
        t = x.type
        if not isinstance(t, TensorType) or not t.shape:
            raise ShapeError(
                f"{fn}: {path} must be an array with a leading axis to scan over, got "
                f"{x.type} ({where})"
            )
        rows.append(TensorType(t.shape[1:], t.dtype))
        if t.shape[0] is not None:
            if lead is not None and lead[1] != t.shape[0]:
                raise ShapeError(
                    f"{fn}: the xs differ in length: {lead[0]} has {lead[1]} rows, {path} "
                    f"has {t.shape[0]} (shape {format_shape(t.shape)}) ({where})"
                )
            lead = lead or (path, t.shape[0])
    count: list[Node] = []
    static: int | None = None
    if isinstance(length, Node):
        if not isinstance(length.type, TensorType) or length.dtype.kind not in "iu":
            raise DTypeError(f"{fn}: length must be an integer scalar, got {length.type} ({where})")
        if length.shape not in ((), None):
            raise ShapeError(f"{fn}: length must be a scalar, got {length.type} ({where})")
        count = [cast(maximum(length, 0), INT64)]
    elif length is not None:
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
            raise GraphError(
                f"{fn}: length must be an int >= 0 or an integer node, got {length!r} ({where})"
            )
        static = int(length)
        if lead is not None and lead[1] != static:
            raise ShapeError(f"{fn}: length={static} but {lead[0]} has {lead[1]} rows ({where})")
    elif not xs_leaves:
        raise GraphError(f"{fn}: give xs to scan over, or a length ({where})")
    params, _, y_tree, outputs, outer, stand = _trace(
        fn, call, init_leaves, tree, xs_tree, rows, step
    )
    c = len(init_leaves)
    body = LoopBody(
        tuple(params), slots(c, len(rows), len(stand), step, bool(count)), tuple(outputs)
    )
    form = LoopForm(
        body=body,
        carries=c,
        xs=len(rows),
        consts=len(stand),
        step=step,
        length=static,
        counted=bool(count),
        reverse=bool(reverse),
        unroll=int(unroll),
        checkpoint=kept,
        where=where,
    )
    node = Scan(form)(*count, *init_leaves, *xs_leaves, *outer)
    return node, tree, y_tree, c


def scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any = None,
    length: int | Node | None = None,
    reverse: bool = False,
    unroll: int = 1,
    checkpoint: int | str | Policy | None = None,
) -> tuple[Any, Any]:
    """``(final carry, ys)`` of ``f(carry, x) -> (carry, y)`` run over the rows of ``xs``.

    ``init``: the first carry (a node, array, or a tuple/list/dict of them); ``xs``: arrays
    (or a tree of them) sliced along their leading axis, or ``None`` with ``length`` steps
    (an int, or an integer node computed by the graph); ``reverse``: run from the last row
    to the first (ys stay in row order); ``unroll``: steps per pass of the generated loop.
    ``checkpoint``: reverse mode keeps every k-th carry (``"sqrt"``: k ≈ √T, T known at run
    time) and recomputes the others, instead of storing one of each value per step.  The
    graph holds one node whatever the trip count; every derivative of it is a loop too::

        def step(h, x):
            h = ga.tanh(W @ h + x)
            return h, ga.sum(h)
        h_T, sums = ga.scan(step, h0, xs)            # xs: (T, 8), sums: (T,)
    """
    if not callable(f):
        raise GraphError(
            f"scan: f must be a function (carry, x) -> (carry, y), got {type(f).__name__} "
            f"({user_location()})"
        )

    def call(carry: Any, x: Any, _: Node | None) -> tuple[Any, Any]:
        result = f(carry, x)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise GraphError(
                f"scan: f must return a pair (carry, y), got {type(result).__name__} "
                f"({user_location()})"
            )
        return result[0], result[1]

    node, tree, y_tree, c = make_scan("scan", call, init, xs, length, reverse, unroll, checkpoint)
    n = len(y_tree.paths())
    carry = unflatten(tree, iter(get(node, i) for i in range(c)))
    ys = unflatten(y_tree, iter(get(node, c + j) for j in range(n)))
    return carry, ys


def fori_loop(
    lower: int | Node,
    upper: int | Node,
    body: Callable[[Node, Any], Any],
    init: Any,
    checkpoint: int | str | Policy | None = None,
) -> Any:
    """The carry after ``body(i, carry)`` for i = lower, …, upper - 1 (no step when
    upper <= lower).  The bounds are ints or integer scalar nodes; i is an int64 scalar.

        x = ga.fori_loop(0, 10, lambda i, x: x * 0.5 + ga.cast(i, "float64"), x0)
    """
    if not callable(body):
        raise GraphError(
            f"fori_loop: body must be a function (i, carry) -> carry, got "
            f"{type(body).__name__} ({user_location()})"
        )
    bounds: list[int | Node] = []
    for name, b in (("lower", lower), ("upper", upper)):
        if isinstance(b, (int, np.integer)) and not isinstance(b, bool):
            bounds.append(int(b))
            continue
        t = b.type if isinstance(b, Node) else None
        if not isinstance(t, TensorType) or t.dtype.kind not in "iu" or t.shape not in ((), None):
            shown = t if t is not None else type(b).__name__
            raise DTypeError(
                f"fori_loop: {name} must be an int or an integer scalar node, got {shown} "
                f"({user_location()})"
            )
        bounds.append(b)
    lo, hi = bounds
    start: Any = lo if isinstance(lo, int) else cast(lo, INT64)

    def call(carry: Any, x: Any, t: Node | None) -> tuple[Any, Any]:
        assert t is not None
        i = t if isinstance(start, int) and start == 0 else t + start
        return body(i, carry), None

    length: int | Node
    if isinstance(lo, int) and isinstance(hi, int):
        length = max(hi - lo, 0)
    else:
        length = cast(subtract(as_node(hi), as_node(lo)), INT64)
    node, tree, _, c = make_scan(
        "fori_loop", call, init, None, length, False, 1, checkpoint, step=True
    )
    return unflatten(tree, iter(get(node, i) for i in range(c)))
