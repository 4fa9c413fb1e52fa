"""``minimize``: ``scipy.optimize.minimize`` on a graph, with its derivatives built for it.

scipy is an optional extra (``pip install 'graphad[scipy]'``), imported only when
``minimize`` runs, so ``import graphad`` never pays for it.  The module is not named
``minimize`` because ``ga.minimize`` is the function, which would shadow it on the package.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.autodiff import gradients, hvp, jacobian
from graphad.compiled import check_options
from graphad.ir import (
    DTypeError,
    FeedError,
    GraphError,
    Node,
    Placeholder,
    ShapeError,
    TensorType,
    as_array,
    format_shape,
    placeholder,
    user_location,
)
from graphad.runtime import Executor

# scipy's methods by the derivatives they use (names as scipy spells them, lower case)
GRADIENT_FREE = ("nelder-mead", "powell", "cobyla", "cobyqa")
GRADIENT_ONLY = ("cg", "bfgs", "l-bfgs-b", "tnc", "slsqp")
HESSIAN_OPTIONAL = ("newton-cg", "trust-constr")  # hess or hessp if given, else approximated
HESSIAN_EITHER = ("trust-ncg", "trust-krylov")  # need hess or hessp
HESSIAN_FULL = ("trust-exact", "dogleg")  # need hess
METHODS = GRADIENT_FREE + GRADIENT_ONLY + HESSIAN_OPTIONAL + HESSIAN_EITHER + HESSIAN_FULL

# minimize builds these from f's graph; x0 is its own argument
_BUILT = {
    "fun": "f is the graph's node",
    "x0": "x0 is minimize's third argument",
    "args": "give the other placeholders' values as feeds=",
    "jac": "the gradient is built from f's graph",
    "hess": "the Hessian is built from f's graph (hessian='hess' asks for it)",
    "hessp": "Hessian-vector products are built from f's graph (hessian='hessp')",
}


@dataclass(frozen=True)
class Layout:
    """Where each placeholder of ``wrt`` sits in scipy's flat float64 vector: its values
    ravelled, one placeholder after another, in the order of ``wrt``."""

    nodes: tuple[Node, ...]
    shapes: tuple[tuple[int, ...], ...]

    @property
    def offsets(self) -> list[int]:
        return [0, *np.cumsum([int(np.prod(s, dtype=np.int64)) for s in self.shapes]).tolist()]

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        """The flat vector as one array per placeholder, of its shape (views, not copies)."""
        o = self.offsets
        return [flat[o[i] : o[i + 1]].reshape(s) for i, s in enumerate(self.shapes)]

    def join(self, arrays: Sequence[Any]) -> np.ndarray:
        """One array per placeholder as the flat float64 vector (a real part only: f is real)."""
        parts = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
        return np.concatenate(parts) if parts else np.zeros(0)


class Objective:
    """f and its derivatives at scipy's points, one graph run per point.

    ``fun``, ``jac`` and ``hess`` at the same point share one run of
    ``[f, gradients, Hessian blocks]`` (the last point's values are kept); ``hessp`` runs
    the HVP graph once per call, as its vector changes from call to call.  ``runs`` and
    ``hvp_runs`` count the runs of each graph.
    """

    def __init__(
        self,
        f: Node,
        layout: Layout,
        feeds: dict[Node, Any],
        derivatives: str | None,
        options: Mapping[str, Any],
    ) -> None:
        self.layout = layout
        self.feeds = feeds
        xs = list(layout.nodes)
        fetches: dict[str, Any] = {"f": f}
        if derivatives is not None:
            fetches["g"] = gradients(f, xs)
        if derivatives == "hess":  # block (i, j): ∂gᵢ/∂xⱼ, forward over reverse as hessian()
            fetches["H"] = [[jacobian(g, x, mode="forward") for x in xs] for g in fetches["g"]]
        self.point = Executor(fetches, **options)
        self.product: Executor | None = None
        if derivatives == "hessp":
            self.tangents = [placeholder(f"minimize_v{i}", type=x.type) for i, x in enumerate(xs)]
            self.product = Executor(hvp(f, xs, self.tangents), **options)
        self.runs = 0
        self.hvp_runs = 0
        self._x: np.ndarray | None = None
        self._values: dict[str, Any] = {}

    def placeholders(self) -> list[Node]:
        """Every placeholder the graphs need, the tangents of the HVP graph left out."""
        found = list(self.point.placeholders)
        if self.product is not None:
            tangents = set(self.tangents)  # a set: `in` on a list of nodes would build `==` nodes
            found += [p for p in self.product.placeholders if p not in tangents]
        return list(dict.fromkeys(found))

    def at(self, x: np.ndarray) -> dict[str, Any]:
        if self._x is None or not np.array_equal(x, self._x):
            feed = {**self.feeds, **dict(zip(self.layout.nodes, self.layout.split(x)))}
            self._values = self.point.run(feed)
            self._x = np.array(x, dtype=np.float64)  # a copy: scipy may update x in place
            self.runs += 1
        return self._values

    def fun(self, x: np.ndarray) -> float:
        return float(self.at(x)["f"])

    def jac(self, x: np.ndarray) -> np.ndarray:
        return self.layout.join(self.at(x)["g"])

    def hess(self, x: np.ndarray) -> np.ndarray:
        sizes = np.diff(self.layout.offsets)
        blocks = self.at(x)["H"]
        rows = [
            [np.reshape(b, (m, n)) for b, n in zip(row, sizes)] for row, m in zip(blocks, sizes)
        ]
        return np.block(rows).astype(np.float64, copy=False)

    def hessp(self, x: np.ndarray, p: np.ndarray) -> np.ndarray:
        assert self.product is not None
        feed = {**self.feeds, **dict(zip(self.layout.nodes, self.layout.split(x)))}
        feed.update(zip(self.tangents, self.layout.split(np.asarray(p, dtype=np.float64))))
        self.hvp_runs += 1
        return self.layout.join(self.product.run(feed))


def _scipy_optimize() -> Any:
    try:
        return importlib.import_module("scipy.optimize")
    except ImportError:
        raise GraphError(
            "minimize needs scipy: pip install 'graphad[scipy]' (or pip install scipy) "
            f"({user_location()})"
        ) from None


def _tensor(p: Node) -> TensorType:
    """A placeholder of wrt's type (checked to be a tensor by ``_check_wrt``)."""
    assert isinstance(p.type, TensorType)
    return p.type


def _check_f(f: Any) -> Node:
    if not isinstance(f, Node):
        raise GraphError(f"minimize: f must be a node, got {type(f).__name__} ({user_location()})")
    if not isinstance(f.type, TensorType) or f.dtype.kind != "f":
        raise DTypeError(
            f"minimize: f = {f.name} (made at {f.origin.location}) has type {f.type}; it must "
            f"be a real float scalar ({user_location()})"
        )
    if f.shape != ():
        raise ShapeError(
            f"minimize: f = {f.name} (made at {f.origin.location}) has shape "
            f"{format_shape(f.shape)}; it must be a scalar (sum it, or take a norm) "
            f"({user_location()})"
        )
    return f


def _check_wrt(wrt: Any) -> tuple[list[Node], list[Any] | None, str]:
    """The placeholders of ``wrt``, its keys (a dict's, else None) and its kind."""
    if isinstance(wrt, Node):
        nodes, keys, kind = [wrt], None, "single"
    elif isinstance(wrt, Mapping):
        nodes, keys, kind = list(wrt.values()), list(wrt.keys()), "dict"
    elif isinstance(wrt, (list, tuple)):
        nodes, keys, kind = list(wrt), None, "list"
    else:
        raise GraphError(
            f"minimize: wrt must be a placeholder, or a list or dict of placeholders, got "
            f"{type(wrt).__name__} ({user_location()})"
        )
    if not nodes:
        raise GraphError(
            f"minimize: wrt is empty; give the placeholders to vary ({user_location()})"
        )
    for i, p in enumerate(nodes):
        what = "wrt" if kind == "single" else f"wrt[{keys[i] if keys else i!r}]"
        if not isinstance(p, Node) or not isinstance(p.op, Placeholder):
            got = f"a {p.op.name} node" if isinstance(p, Node) else type(p).__name__
            raise GraphError(
                f"minimize: {what} must be a placeholder, got {got} ({user_location()})"
            )
        if not isinstance(p.type, TensorType) or p.dtype.kind != "f":
            raise DTypeError(
                f"minimize: {what} = {p.name!r} has type {p.type}; scipy varies real float "
                f"arrays only ({user_location()})"
            )
        if any(p is q for q in nodes[:i]):
            raise GraphError(f"minimize: {what} = {p.name!r} is given twice ({user_location()})")
    return nodes, keys, kind


def _per_placeholder(
    given: Any,
    nodes: list[Node],
    keys: list[Any] | None,
    kind: str,
    what: str,
    default: bool = False,
) -> list[Any]:
    """``given`` (x0 or bounds) as one entry per placeholder: matched to a single
    placeholder as it is; to several by position (a list) or by key (a dict keyed by
    placeholder, its name, or wrt's own key; with ``default``, a placeholder without an
    entry gets None)."""
    if kind == "single":
        return [given]
    if isinstance(given, Mapping):
        entries: list[Any] = []
        used: set[Any] = set()
        for i, p in enumerate(nodes):
            ways = dict.fromkeys([p, p.name, *([keys[i]] if keys else [])])
            found = [k for k in ways if k in given]
            if not found and default:
                entries.append(None)
                continue
            if len(found) != 1:
                twice = "two entries (by placeholder and by name)" if found else "no entry"
                raise GraphError(f"minimize: {what} has {twice} for {p.name!r} ({user_location()})")
            entries.append(given[found[0]])
            used.add(found[0])
        extra = [k for k in given if k not in used]
        if extra:
            names = ", ".join(k.name if isinstance(k, Node) else repr(k) for k in extra)
            raise GraphError(
                f"minimize: {what} has entries for {names}, which are not in wrt "
                f"({user_location()})"
            )
        return entries
    if isinstance(given, (list, tuple)) and len(given) == len(nodes):
        return list(given)
    got = f"{len(given)} entries" if isinstance(given, (list, tuple)) else type(given).__name__
    raise GraphError(
        f"minimize: {what} must give one entry per placeholder of wrt ({len(nodes)}), as a "
        f"list or a dict, got {got} ({user_location()})"
    )


def _start(x0: Any, nodes: list[Node], keys: list[Any] | None, kind: str) -> list[np.ndarray]:
    """x0 as one float64 array per placeholder, each checked against its placeholder."""
    arrays = []
    for i, (p, value) in enumerate(zip(nodes, _per_placeholder(x0, nodes, keys, kind, "x0"))):
        what = "x0" if kind == "single" else f"x0[{keys[i] if keys else i!r}]"
        if isinstance(value, Node):
            raise GraphError(
                f"minimize: {what} (for {p.name!r}) is a node; give its starting values as "
                f"an array ({user_location()})"
            )
        try:  # a masked array through as_array, whose mask np.asarray would drop
            masked = isinstance(value, np.ma.MaskedArray)
            array = as_array(value) if masked else np.asarray(value)
        except (TypeError, ValueError, GraphError) as e:
            raise GraphError(
                f"minimize: {what} (for {p.name!r}): {e} ({user_location()})"
            ) from None
        if array.dtype.kind not in "biuf":
            raise DTypeError(
                f"minimize: {what} (for {p.name!r}) is {array.dtype.name}; it must be real "
                f"numbers ({user_location()})"
            )
        if not _tensor(p).accepts(array.shape):
            raise ShapeError(
                f"minimize: {what} (for {p.name!r}) has shape {format_shape(array.shape)}, "
                f"but {p.name!r} has shape {format_shape(p.shape)} ({user_location()})"
            )
        arrays.append(array.astype(np.float64))
    return arrays


def _bound(value: Any, shape: tuple[int, ...], side: str, what: str) -> np.ndarray:
    """One side of a placeholder's bounds, as a flat float64 array (None: unbounded)."""
    if value is None:
        return np.full(int(np.prod(shape, dtype=np.int64)), np.inf if side == "upper" else -np.inf)
    if isinstance(value, (list, tuple)) or not isinstance(
        value, (int, float, np.number, np.ndarray)
    ):
        # scipy's list of (low, high) pairs would read as (lower, upper) here: refused, not guessed
        raise GraphError(
            f"minimize: the {side} bound in {what} is {type(value).__name__}; give None, a "
            f"number or a NumPy array broadcastable to {format_shape(shape)} ({user_location()})"
        )
    try:
        return np.broadcast_to(np.asarray(value, dtype=np.float64), shape).ravel()
    except ValueError:
        raise ShapeError(
            f"minimize: the {side} bound in {what} has shape {format_shape(np.shape(value))}, "
            f"which does not broadcast to {format_shape(shape)} ({user_location()})"
        ) from None


def _bounds(bounds: Any, layout: Layout, keys: list[Any] | None, kind: str, optimize: Any) -> Any:
    """``bounds`` as scipy's ``Bounds`` on the flat vector."""
    if isinstance(bounds, optimize.Bounds):
        return bounds  # already on the flat vector
    nodes = list(layout.nodes)
    lower, upper = [], []
    for i, entry in enumerate(_per_placeholder(bounds, nodes, keys, kind, "bounds", default=True)):
        what = "bounds" if kind == "single" else f"bounds[{keys[i] if keys else i!r}]"
        shape = layout.shapes[i]
        if entry is None:
            entry = (None, None)
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise GraphError(
                f"minimize: {what} (for {nodes[i].name!r}) must be a pair (lower, upper) or "
                f"None, got {type(entry).__name__} ({user_location()})"
            )
        lower.append(_bound(entry[0], shape, "lower", what))
        upper.append(_bound(entry[1], shape, "upper", what))
    return optimize.Bounds(np.concatenate(lower), np.concatenate(upper))


def _derivatives(method: Any, hessian: Any) -> str | None:
    """What ``method`` gets: None (f only), "jac", "hess" or "hessp" (with the gradient)."""
    if hessian not in ("auto", "hess", "hessp", None):
        raise GraphError(
            f"minimize: hessian must be 'auto', 'hess', 'hessp' or None, got {hessian!r} "
            f"({user_location()})"
        )
    if callable(method):  # a custom minimiser: the gradient, and what the caller asks for
        return "jac" if hessian in ("auto", None) else hessian
    name = "bfgs" if method is None else method.lower() if isinstance(method, str) else method
    if name not in METHODS:
        raise GraphError(
            f"minimize: unknown method {method!r}; scipy's methods are "
            f"{', '.join(METHODS)} (any case), or a callable ({user_location()})"
        )
    if name in GRADIENT_FREE or name in GRADIENT_ONLY:
        if hessian in ("hess", "hessp"):
            raise GraphError(
                f"minimize: method {method!r} uses no Hessian; leave hessian='auto' "
                f"({user_location()})"
            )
        return None if name in GRADIENT_FREE else "jac"
    if name in HESSIAN_FULL:
        if hessian in ("hessp", None):
            raise GraphError(
                f"minimize: method {method!r} needs the full Hessian; use hessian='auto' or "
                f"'hess' ({user_location()})"
            )
        return "hess"
    if hessian is None:
        if name in HESSIAN_EITHER:
            raise GraphError(
                f"minimize: method {method!r} needs the Hessian or its products; use "
                f"hessian='auto', 'hess' or 'hessp' ({user_location()})"
            )
        return "jac"
    return "hessp" if hessian == "auto" else hessian


def _feeds(feeds: Any, nodes: list[Node], needed: list[Node]) -> dict[Node, Any]:
    """``feeds`` keyed by placeholder node; checked against wrt and what f needs."""
    if feeds is None:
        feeds = {}
    if not isinstance(feeds, Mapping):
        raise FeedError(
            f"minimize: feeds must be a dict of placeholder (or name) to value, got "
            f"{type(feeds).__name__} ({user_location()})"
        )
    by_name = {p.name: p for p in needed}
    varied = set(nodes)  # sets: `in` on a list of nodes would build `==` nodes
    resolved: dict[Node, Any] = {}
    for key, value in feeds.items():
        p = by_name.get(key) if isinstance(key, str) else key
        if not isinstance(p, Node) or not isinstance(p.op, Placeholder):
            known = ", ".join(repr(q.name) for q in needed if q not in varied) or "none"
            raise FeedError(
                f"minimize: feeds key {key!r} is not a placeholder f needs; the placeholders "
                f"to feed are {known} ({user_location()})"
            )
        if p in varied:
            raise FeedError(
                f"minimize: feeds gives {p.name!r}, which is in wrt: it is varied, not fed "
                f"(its start is x0) ({user_location()})"
            )
        if p in resolved:
            raise FeedError(f"minimize: feeds gives {p.name!r} twice ({user_location()})")
        resolved[p] = value
    missing = [p for p in needed if p not in varied and p not in resolved]
    if missing:
        names = ", ".join(f"{p.name!r} {p.type} (made at {p.origin.location})" for p in missing)
        raise FeedError(
            f"minimize: f needs placeholder(s) {names}; vary them (wrt) or give their values "
            f"(feeds=) ({user_location()})"
        )
    return resolved


def _restore(arrays: list[np.ndarray], keys: list[Any] | None, kind: str) -> Any:
    if kind == "single":
        return arrays[0]
    return dict(zip(keys, arrays)) if keys is not None else list(arrays)


def minimize(
    f: Node,
    wrt: Node | Sequence[Node] | Mapping[Any, Node],
    x0: Any,
    method: Any = None,
    *,
    feeds: Mapping[Any, Any] | None = None,
    bounds: Any = None,
    hessian: str | None = "auto",
    executor_options: Mapping[str, Any] | None = None,
    **scipy_options: Any,
) -> Any:
    """Minimise the scalar node ``f`` over the placeholders ``wrt`` with scipy.

    ``wrt``: a placeholder, or a list or dict of them, varied from ``x0`` (an array of the
    placeholder's shape, or a list/dict of arrays matching ``wrt``; a dict may be keyed by
    placeholder or name).  scipy sees one flat float64 vector: each placeholder ravelled,
    in the order of ``wrt``; constraints and callbacks (passed through) see that vector.
    ``feeds``: values of the other placeholders f needs, fixed for the run.  ``bounds``:
    per placeholder a pair ``(lower, upper)``, each None, a number or an array
    broadcastable to its shape (a list or dict of pairs for several), or a scipy
    ``Bounds`` on the flat vector.  ``method`` and ``**scipy_options`` (``tol``,
    ``options``, ``constraints``, ``callback``, ...) go to ``scipy.optimize.minimize``.

    What is built depends on what the method uses: nothing for Nelder-Mead, Powell,
    COBYLA, COBYQA; the gradient for CG, BFGS, L-BFGS-B, TNC, SLSQP (and the default);
    with ``hessian="auto"``, Hessian-vector products for Newton-CG, trust-ncg,
    trust-krylov, trust-constr and the full Hessian for trust-exact and dogleg
    (``hessian="hess"``/``"hessp"``/``None`` chooses where the method allows).  Products
    scale to large n; for small n, or a banded Hessian that ``jacobian`` colours (as
    Rosenbrock's), ``hessian="hess"`` is often faster: Newton-CG on 10-d Rosenbrock makes
    252 products but 62 Hessians.

    Cost: each point scipy asks about costs one run of the graph of f with what it uses
    (gradient, Hessian), shared by the ``fun``, ``jac`` and ``hess`` calls at that point;
    a ``hessp`` call costs one run of the HVP graph (f, its gradient and one tangent pass,
    a few times f's cost), as its vector is new each time.  ``x0`` is run before scipy
    starts, so bad feeds are reported at your line; scipy's first call reuses that run.

    Returns scipy's ``OptimizeResult`` with ``x`` in ``wrt``'s structure and shapes
    (``x_flat`` is scipy's vector; ``jac`` and ``hess_inv`` stay flat), ``graph_runs``
    (runs of f's graph) and ``hvp_runs`` (runs of the HVP graph)::

        x = ga.placeholder("x", (10,))
        f = ga.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        res = ga.minimize(f, x, np.zeros(10), method="trust-exact")
        res.x                                  # (10,): all ones
    """
    optimize = _scipy_optimize()
    f = _check_f(f)
    nodes, keys, kind = _check_wrt(wrt)
    for name, why in _BUILT.items():
        if name in scipy_options:
            raise GraphError(f"minimize: {name}= is not taken: {why} ({user_location()})")
    derivatives = _derivatives(method, hessian)
    options = dict(executor_options or {})
    check_options(options, "minimize: executor_options")
    start = _start(x0, nodes, keys, kind)
    layout = Layout(tuple(nodes), tuple(a.shape for a in start))
    if derivatives == "hess":
        unknown = [p for p in nodes if not _tensor(p).is_static]
        if unknown:
            raise ShapeError(
                f"minimize: method {method!r} uses the full Hessian, whose graph needs "
                f"fully known shapes; {unknown[0].name!r} has shape "
                f"{format_shape(unknown[0].shape)} ({user_location()})"
            )
    objective = Objective(f, layout, {}, derivatives, options)
    objective.feeds = _feeds(feeds, nodes, objective.placeholders())
    x_start = layout.join(start)
    try:
        objective.at(x_start)  # bad feeds fail here, at the caller's line, not inside scipy
    except FeedError as e:
        raise FeedError(f"minimize: {e}") from None
    if bounds is not None:
        scipy_options["bounds"] = _bounds(bounds, layout, keys, kind, optimize)
    if derivatives is not None:
        scipy_options["jac"] = objective.jac
    if derivatives in ("hess", "hessp"):
        scipy_options[derivatives] = getattr(objective, derivatives)
    result = optimize.minimize(objective.fun, x_start, method=method, **scipy_options)
    result.x_flat = result.x
    result.x = _restore([a.copy() for a in layout.split(result.x)], keys, kind)
    result.graph_runs = objective.runs
    result.hvp_runs = objective.hvp_runs
    return result
