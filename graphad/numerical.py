"""Finite differences: the independent reference every derivative rule is checked against.

Forward difference ``(f(x+h) - f(x)) / h`` has error O(h) + O(ε/h), best at
h ≈ √ε; central difference ``(f(x+h) - f(x-h)) / 2h`` cancels the second-order
Taylor term, so its error is O(h²) + O(ε/h), best at h ≈ ∛ε (ε: the machine
epsilon of the dtype).  Those are the defaults, scaled by ``max(1, |x|)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from graphad.ir import GraphError, Node, Placeholder

Fn = Callable[..., Any]


def default_eps(method: str, dtype: Any = np.float64) -> float:
    """√ε for forward differences, ∛ε for central ones (ε of ``dtype``)."""
    eps = float(np.finfo(np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.float64).eps)
    if method == "forward":
        return eps ** 0.5
    if method == "central":
        return eps ** (1 / 3)
    raise ValueError(f"method must be 'central' or 'forward', got {method!r}")


def directional_derivative(
    f: Fn,
    xs: Sequence[np.ndarray],
    vs: Sequence[np.ndarray],
    method: str = "central",
    eps: float | None = None,
) -> np.ndarray:
    """d/dh f(xs + h·vs) at h = 0, by finite differences; f takes and returns arrays."""
    xs = [np.asarray(x, dtype=float) for x in xs]
    vs = [np.asarray(v, dtype=float) for v in vs]
    scale = max([1.0, *(float(np.max(np.abs(x), initial=0.0)) for x in xs)])
    h = (default_eps(method) if eps is None else eps) * scale
    plus = np.asarray(f(*(x + h * v for x, v in zip(xs, vs))), dtype=float)
    if method == "forward":
        return (plus - np.asarray(f(*xs), dtype=float)) / h
    minus = np.asarray(f(*(x - h * v for x, v in zip(xs, vs))), dtype=float)
    return (plus - minus) / (2 * h)


def _as_function(f: Fn | Node, x: Any, feed_dict: Mapping[Any, Any] | None) -> tuple[Fn, Any]:
    """A NumPy function of x's value, and that value, for a callable or for a graph node."""
    if not isinstance(f, Node):
        return f, x
    from graphad.runtime import Executor

    if not isinstance(x, Node) or not isinstance(x.op, Placeholder):
        raise GraphError("numerical differentiation of a graph needs x to be a placeholder")
    feeds = dict(feed_dict or {})
    key = next((k for k in feeds if k is x or k == x.name), None)
    if key is None:
        raise GraphError(f"feed_dict has no value for x = {x.name!r}")
    value = feeds.pop(key)
    ex = Executor(f)

    def fn(v: np.ndarray) -> Any:
        return ex.run({**feeds, x: v})

    return fn, np.asarray(value, dtype=float)


def numerical_jacobian(
    f: Fn | Node,
    x: Any,
    feed_dict: Mapping[Any, Any] | None = None,
    method: str = "central",
    eps: float | None = None,
) -> np.ndarray:
    """∂f/∂x by finite differences, shape ``f(x).shape + x.shape``.

    ``f`` is a NumPy function of one array, or a graph node with ``x`` one of
    its placeholders (then the other placeholders come from ``feed_dict``).
    """
    fn, x0 = _as_function(f, x, feed_dict)
    x0 = np.asarray(x0, dtype=float)
    out_shape = np.shape(fn(x0))
    jac = np.empty(out_shape + x0.shape)
    basis = np.zeros_like(x0)
    for i in np.ndindex(*x0.shape):
        basis[i] = 1.0
        jac[(...,) + i] = directional_derivative(fn, [x0], [basis], method, eps)
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
    fn, x0 = _as_function(f, x, feed_dict)

    def total(v: np.ndarray) -> float:
        return float(np.sum(fn(v)))

    return numerical_jacobian(total, x0, method=method, eps=eps)
