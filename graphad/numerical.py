"""Finite differences: the independent reference every derivative rule is checked against.

Forward difference ``(f(x+h) - f(x)) / h`` has error O(h) + O(ε/h), best at
h ≈ √ε; central difference ``(f(x+h) - f(x-h)) / 2h`` cancels the second-order
Taylor term, so its error is O(h²) + O(ε/h), best at h ≈ ∛ε (ε: the machine
epsilon of the dtype).  Those are the defaults, scaled by ``max(1, |x|)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphad.autodiff import gradients, jvp, sweep
from graphad.ir import (
    GraphError,
    Node,
    Placeholder,
    as_array,
    constant,
    descendants,
    placeholder,
    substitute,
    topo_sort,
    user_location,
)
from graphad.ops import add_n, multiply
from graphad.ops import sum as reduce_sum
from graphad.ops._util import is_float
from graphad.runtime import Executor

Fn = Callable[..., Any]


def default_eps(method: str, dtype: Any = np.float64) -> float:
    """√ε for forward differences, ∛ε for central ones (ε of ``dtype``)."""
    eps = float(np.finfo(np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.float64).eps)
    if method == "forward":
        return eps**0.5
    if method == "central":
        return eps ** (1 / 3)
    raise GraphError(f"method must be 'central' or 'forward', got {method!r} ({user_location()})")


def directional_derivative(
    f: Fn,
    xs: Sequence[np.ndarray],
    vs: Sequence[np.ndarray],
    method: str = "central",
    eps: float | None = None,
) -> np.ndarray:
    """d/dh f(xs + h·vs) at h = 0 (h real), by finite differences; f takes and returns
    arrays, real or complex (a complex direction moves the real and imaginary parts)."""
    xs = [_inexact(x) for x in xs]
    vs = [_inexact(v) for v in vs]
    scale = max([1.0, *(float(np.max(np.abs(x), initial=0.0)) for x in xs)])
    h = (default_eps(method) if eps is None else eps) * scale
    plus = _inexact(f(*(x + h * v for x, v in zip(xs, vs))))
    if method == "forward":
        return (plus - _inexact(f(*xs))) / h
    minus = _inexact(f(*(x - h * v for x, v in zip(xs, vs))))
    return (plus - minus) / (2 * h)


def _inexact(x: Any) -> np.ndarray:
    """``x`` as a float64 array, or complex128 when it is complex."""
    x = np.asarray(x)
    return x.astype(complex if x.dtype.kind == "c" else float)


def _least_precise(*dtypes: Any) -> np.dtype:
    """The float dtype with the largest ε among ``dtypes`` (float64 if none is a float)."""
    floats = [np.dtype(d) for d in dtypes if d is not None and np.dtype(d).kind == "f"]
    return max(floats, key=lambda d: np.finfo(d).eps, default=np.dtype(np.float64))


def _as_function(
    f: Fn | Node,
    x: Any,
    feed_dict: Mapping[Any, Any] | None,
    method: str,
    eps: float | None,
    who: str,
) -> tuple[Fn, np.ndarray, float | None]:
    """A NumPy function of x's value, that value, and the step, for a callable or a graph node.

    For a graph, ``x`` is one of its placeholders, by node or by name (as an Executor takes
    feeds), and its value comes from ``feed_dict``.  A graph runs in its own dtype, so its
    default step is that of its least precise end.  ``who`` names the caller in errors.
    """
    default_eps(method)  # a bad method is reported before anything runs
    if not isinstance(f, Node):
        if not callable(f):
            raise GraphError(
                f"{who}: f must be a graph node or a function of one array, got "
                f"{type(f).__name__} ({user_location()})"
            )
        return f, _point(x, who, "x"), eps
    placeholders = {n.name: n for n in topo_sort([f]) if isinstance(n.op, Placeholder)}
    if isinstance(x, str):
        if x not in placeholders:
            known = ", ".join(map(repr, placeholders)) or "none"
            raise GraphError(
                f"{who}: f has no placeholder named {x!r}; its placeholders are {known} "
                f"({user_location()})"
            )
        x = placeholders[x]
    if not isinstance(x, Node) or not isinstance(x.op, Placeholder):
        raise GraphError(
            f"{who}: with a graph f, x must be one of its placeholders (a node or a name), got "
            f"{x!r} ({user_location()})"
        )
    feeds = dict(feed_dict or {})
    # `k == x.name` on a node key would build an equal() node, so compare names as strings
    key = next((k for k in feeds if k is x or (isinstance(k, str) and k == x.name)), None)
    if key is None:
        raise GraphError(f"{who}: feed_dict has no value for x = {x.name!r} ({user_location()})")
    value = _point(feeds.pop(key), who, f"the value of x = {x.name!r}")
    ex = Executor(f)
    node = x

    def fn(v: np.ndarray) -> Any:
        return ex.run({**feeds, node: v})

    if eps is None:
        eps = default_eps(method, _least_precise(f.dtype, x.dtype))
    return fn, value, eps


def _point(value: Any, who: str, what: str) -> np.ndarray:
    """The point to differentiate at, as a float64 array, or an error naming ``what``."""
    try:
        array = as_array(value)
    except GraphError as e:
        raise GraphError(f"{who}: {what} is not an array: {e} ({user_location()})") from None
    if array.dtype.kind not in "biuf":
        raise GraphError(
            f"{who}: {what} must be real numbers, got {value!r} of dtype {array.dtype} "
            f"({user_location()})"
        )
    return array.astype(float)


def numerical_jacobian(
    f: Fn | Node,
    x: Any,
    feed_dict: Mapping[Any, Any] | None = None,
    method: str = "central",
    eps: float | None = None,
) -> np.ndarray:
    """∂f/∂x by finite differences, shape ``f(x).shape + x.shape``.

    ``f`` is a NumPy function of one array, or a graph node with ``x`` one of
    its placeholders, by node or by name (then the other placeholders come from
    ``feed_dict``);
    a graph's default step is that of the less precise of ``f``'s and ``x``'s dtypes.
    """
    fn, x0, eps = _as_function(f, x, feed_dict, method, eps, "numerical_jacobian")
    out_shape = np.shape(fn(x0))
    jac = np.empty(out_shape + x0.shape)
    basis = np.zeros_like(x0)
    for i in np.ndindex(*x0.shape):
        basis[i] = 1.0
        column = (..., *i)  # not inline: x[..., *i] is Python 3.11 syntax, and mypy reads it so
        jac[column] = directional_derivative(fn, [x0], [basis], method, eps)
        basis[i] = 0.0
    return jac


def numerical_gradient(
    f: Fn | Node,
    x: Any,
    feed_dict: Mapping[Any, Any] | None = None,
    method: str = "central",
    eps: float | None = None,
) -> np.ndarray:
    """∂ sum(f)/∂x by finite differences, shape ``x.shape`` (see ``numerical_jacobian``)."""
    fn, x0, eps = _as_function(f, x, feed_dict, method, eps, "numerical_gradient")

    def total(v: np.ndarray) -> float:
        return float(np.sum(fn(v)))

    return numerical_jacobian(total, x0, method=method, eps=eps)


# -- checking a graph's derivatives --------------------------------------------
@dataclass
class GradientCheck:
    """The outcome of :func:`check_gradients`; true when every comparison passed.

    ``suspect`` is the node (in reverse topological order from y, the first)
    whose adjoint disagrees with a finite difference of y taken with respect to
    that node; ``culprit`` is the consumer whose vjp rule sent the wrong partial.
    """

    ok: bool
    order: int
    errors: dict[str, float]
    tolerance: float
    suspect: Node | None = None
    culprit: Node | None = None
    messages: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = "passed" if self.ok else "FAILED"
        errs = ", ".join(f"{k} {v:.2e}" for k, v in self.errors.items())
        return "\n".join(
            [
                f"check_gradients order {self.order} {head}: {errs} "
                f"(tolerance {self.tolerance:.1e})",
                *self.messages,
            ]
        )


def _feeds(y: Node, feed_dict: Mapping[Any, Any]) -> dict[Node, np.ndarray]:
    by_name = {n.name: n for n in topo_sort([y]) if isinstance(n.op, Placeholder)}
    feeds: dict[Node, np.ndarray] = {}
    for key, value in feed_dict.items():
        node = by_name.get(key) if isinstance(key, str) else key
        if not isinstance(node, Node):
            raise GraphError(f"check_gradients: unknown feed {key!r} ({user_location()})")
        try:
            feeds[node] = as_array(value)
        except GraphError as e:
            raise type(e)(
                f"check_gradients: the feed of {node.name!r}: {e} ({user_location()})"
            ) from None
    return feeds


def _close(a: float, b: float) -> float:
    """Error relative to the magnitudes, with an absolute floor of the same size."""
    return abs(a - b) / (1.0 + max(abs(a), abs(b)))


class _Probe:
    """Evaluate a scalar graph with one node's value replaced, for finite differences."""

    def __init__(self, target: Node, feeds: dict[Node, np.ndarray], method: str, eps: Any):
        self.target, self.feeds, self.method, self.eps = target, feeds, method, eps

    def derivative(
        self, node: Node, value: np.ndarray, w: np.ndarray, consumer: Node | None = None
    ) -> float:

        probe = placeholder("probe", shape=value.shape, dtype=value.dtype)
        if consumer is None:
            (target,) = substitute([self.target], {node: probe})
        else:  # replace the node in this one consumer only
            inputs = [probe if x is node else x for x in consumer.inputs]
            (target,) = substitute([self.target], {consumer: consumer.op(*inputs)})

        ex = Executor(target)
        rest = {k: self.feeds[k] for k in ex.placeholders if k in self.feeds and k is not probe}

        def f(v: np.ndarray) -> Any:
            return ex.run({**rest, probe: v})

        return float(directional_derivative(f, [value], [w], self.method, self.eps))


def _localize(
    target: Node,
    xs: list[Node],
    feeds: dict[Node, np.ndarray],
    rng: Any,
    tol: float,
    method: str,
    eps: Any,
) -> tuple[Node | None, Node | None, list[str]]:

    result = sweep(target, xs)
    nodes = [n for n in result.adjoint if n is not target and is_float(n.type)]
    fetch = {
        "value": list(nodes),
        "adjoint": [result.adjoint[n] for n in nodes],
        "partials": [[p for _, p in result.partials[n]] for n in nodes],
    }
    vals = Executor(fetch).run(feeds)
    probe = _Probe(target, feeds, method, eps)
    for i, node in enumerate(nodes):  # consumers before inputs: the first bad one is nearest y
        value = np.asarray(vals["value"][i])
        w = rng.standard_normal(value.shape)
        fd = probe.derivative(node, value, w)
        ad = float(np.sum(np.asarray(vals["adjoint"][i]) * w))
        if _close(ad, fd) <= tol:
            continue
        msgs = [
            f"the adjoint of {node.name} ({node.op}, made at {node.origin.location}) "
            f"disagrees: AD {ad:.6g} vs finite difference {fd:.6g}"
        ]
        for (consumer, _), part in zip(result.partials[node], vals["partials"][i]):
            if consumer is None:
                continue
            fd_c = probe.derivative(node, value, w, consumer)
            ad_c = float(np.sum(np.asarray(part) * w))
            if _close(ad_c, fd_c) > tol:
                msgs.append(
                    f"the vjp rule of {consumer.op} (node {consumer.name}, made at "
                    f"{consumer.origin.location}) sent {ad_c:.6g}, finite "
                    f"differences give {fd_c:.6g}"
                )
                return node, consumer, msgs
        # every partial that arrived is right, so one that should have arrived did not:
        # a path from this node was cut by an op that sent no adjoint
        downstream = descendants(topo_sort([target]), [node])
        for consumer, cut in result.cut:
            if cut in downstream and is_float(cut.type):
                msgs.append(
                    f"{consumer.op} (node {consumer.name}, made at "
                    f"{consumer.origin.location}) sends no adjoint to {cut.name}, "
                    "but finite differences say the path carries one"
                )
                return node, consumer, msgs
        return node, None, msgs
    return None, None, ["no single adjoint disagrees; the error is in the seed or the feeds"]


def check_gradients(
    y: Node,
    xs: Node | Sequence[Node],
    feed_dict: Mapping[Any, Any],
    order: int = 1,
    method: str = "central",
    eps: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
) -> GradientCheck:
    """Compare reverse and forward mode with finite differences in random directions.

    ``xs`` are placeholders of ``y``'s graph, fed in ``feed_dict``.  A non-scalar
    y is reduced to ⟨u, y⟩ with a random u.  Order 1 compares ⟨∇y, v⟩ and the
    JVP along v with the difference quotient; order 2 does the same for
    ⟨∇y, w⟩ (so ⟨v, H w⟩) and also checks that H is symmetric
    (⟨v, H w⟩ = ⟨w, H v⟩).  On failure the result names the first node, going
    back from y, whose adjoint disagrees, and the op whose rule is wrong.
    Errors are |a - b| / (1 + max(|a|, |b|)); the default tolerance is 1e-5 in
    float64 and 1e-2 in float32, the default step ``default_eps`` of the least
    precise of y's and the xs' dtypes.

        assert check_gradients(y, [x, W], feeds, order=2)
    """

    if order not in (1, 2):
        raise GraphError(f"check_gradients: order must be 1 or 2, got {order!r}")
    items = [xs] if isinstance(xs, Node) else list(xs)
    for x in items:
        if not isinstance(x, Node) or not isinstance(x.op, Placeholder):
            raise GraphError("check_gradients: every x must be a placeholder of y's graph")
    feeds = _feeds(y, feed_dict)
    rng = np.random.default_rng(seed)
    low = any(np.dtype(x.dtype).itemsize < 8 for x in items) or np.dtype(y.dtype).itemsize < 8
    tol = rtol if rtol is not None else (1e-2 if low else 1e-5)
    if eps is None:  # the graph runs in its own dtype: step for its least precise end
        eps = default_eps(method, _least_precise(y.dtype, *(x.dtype for x in items)))
    y_value = np.asarray(Executor(y).run(feeds))
    target = y
    if y_value.shape != ():
        target = reduce_sum(multiply(y, constant(rng.standard_normal(y_value.shape))))
    direction = [rng.standard_normal(np.shape(feeds[x])) for x in items]
    w = [rng.standard_normal(np.shape(feeds[x])) for x in items]
    if order == 2:
        grads = gradients(target, items)
        target = reduce_sum(_inner(grads, w))
    ad_rev = gradients(target, items)
    ad_fwd = jvp(target, items, [constant(v) for v in direction])
    fetch = {"rev": ad_rev, "fwd": ad_fwd}
    if order == 2:  # symmetry: ⟨w, H v⟩ from the same gradient graph, seeded with v instead
        fetch["sym"] = gradients(reduce_sum(_inner(grads, direction)), items)
    vals = Executor(fetch).run(feeds)
    fd = _directional(target, items, feeds, direction, method, eps)
    rev = sum(float(np.sum(g * v)) for g, v in zip(vals["rev"], direction))
    errors = {"reverse": _close(rev, fd), "forward": _close(float(vals["fwd"]), fd)}
    if order == 2:
        errors["symmetry"] = _close(rev, sum(float(np.sum(g * v)) for g, v in zip(vals["sym"], w)))
    ok = all(e <= tol for e in errors.values())
    report = GradientCheck(ok, order, errors, tol)
    report.messages.append(
        f"AD reverse {rev:.10g}, forward {float(vals['fwd']):.10g}, "
        f"finite difference ({method}) {fd:.10g}"
    )
    if errors["reverse"] > tol:
        report.suspect, report.culprit, msgs = _localize(
            target, items, feeds, rng, tol, method, eps
        )
        report.messages.extend(msgs)
    return report


def _inner(grads: Sequence[Node], vs: Sequence[np.ndarray]) -> Node:

    return add_n(*(reduce_sum(multiply(g, constant(v))) for g, v in zip(grads, vs)))


def _directional(
    target: Node,
    xs: list[Node],
    feeds: dict[Node, np.ndarray],
    direction: list[np.ndarray],
    method: str,
    eps: Any,
) -> float:

    ex = Executor(target)
    needed, varied = set(ex.placeholders), set(xs)  # sets: `in` on a list of nodes builds equal()
    rest = {k: v for k, v in feeds.items() if k not in varied and k in needed}

    def f(*values: np.ndarray) -> Any:
        return ex.run({**rest, **dict(zip(xs, values))})

    return float(directional_derivative(f, [feeds[x] for x in xs], direction, method, eps))
