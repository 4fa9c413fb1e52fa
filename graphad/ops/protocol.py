"""NumPy's function protocol: ``np.sum(node)`` builds the node ``ga.sum(node)`` would.

``Node.__array_function__`` and the NumPy-named ``Node`` methods (``x.sum()``,
``x.std(ddof=1)``, ...) land in :func:`call`.  The arguments are bound to the
NumPy function's own signature first, so positional and keyword calls mean
what they mean in NumPy (``x.std(0, None, None, 1)`` is ``ddof=1``), then handed to
the graphad function of the same name by keyword, through the one check of arguments
(:mod:`graphad.ops._arguments`: ``dtype=`` with NumPy's meaning; ``out=``, ``where=``,
``initial=``, a non-C ``order=`` refused by name), errors naming NumPy's function
(``np.sum: out= ...``).  A NumPy function that graphad lacks is a :class:`GraphError`
naming it, never a NumPy traceback.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from graphad.ir import GraphError, Node, ShapeError, as_nodes, user_location
from graphad.ops import _arguments as arguments

_NO_VALUE = getattr(np, "_NoValue", object())

# NumPy keywords whose default means "nothing to do", and that graphad functions lack
_IGNORED = {"casting": "same_kind", "copy": None, "subok": True, "kind": None, "stable": None}
# graphad's spelling of a NumPy parameter, where it differs
_RENAMES: dict[str, dict[str, str]] = {
    "swapaxes": {"axis1": "a", "axis2": "b"},
    "clip": {"a_min": "lo", "a_max": "hi", "min": "lo", "max": "hi"},
}
# NumPy functions whose answer is static, known when the node is built
_STATIC: dict[str, Callable[[Node], Any]] = {
    "shape": lambda x: x.shape,
    "ndim": lambda x: x.ndim,
    "size": lambda x: x.size,
}
_ALIASES = {"amax": "max", "amin": "min", "round_": "round", "row_stack": "vstack"}


def _modules(numpy_module: str) -> tuple[ModuleType, ...]:
    import graphad.ops as ops

    if numpy_module == "numpy.linalg":
        from graphad.ops import decompositions, linalg

        return (decompositions, linalg)
    return (ops,)


def counterpart(func: Callable[..., Any]) -> Callable[..., Any] | None:
    """graphad's function of the same name as NumPy's ``func`` (None: graphad has none)."""
    name = _ALIASES.get(func.__name__, func.__name__)
    for module in _modules(getattr(func, "__module__", "numpy") or "numpy"):
        fn = getattr(module, name, None)
        if callable(fn) and not isinstance(fn, type) and fn.__module__.startswith("graphad."):
            return fn
    return None


@functools.cache
def _signature(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def _refuse(func: Callable[..., Any], why: str) -> GraphError:
    return GraphError(f"{_label(func)}: {why} ({user_location()})")


def call(func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """``func(*args, **kwargs)`` for NumPy's ``func``, built as graphad nodes."""
    name = func.__name__
    if name in _STATIC and len(args) == 1 and not kwargs and isinstance(args[0], Node):
        return _STATIC[name](args[0])
    fn = counterpart(func)
    if fn is None:
        raise _refuse(func, "graphad has no such function, so it cannot take graph nodes")
    label = _label(func)
    signature = _signature(func)
    if signature is None:  # no signature to bind to: hand the call over as it came
        return arguments.call(fn, args, kwargs, label)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise _refuse(func, str(e)) from None
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    renames = _RENAMES.get(name, {})
    params = signature.parameters
    for i, (key, value) in enumerate(bound.arguments.items()):
        kind = params[key].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            positional.extend(value)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            keywords.update(value)
        elif i == 0 or kind is inspect.Parameter.POSITIONAL_ONLY:
            positional.append(value)
        elif value is _NO_VALUE or _ignored(key, value, fn):
            continue
        elif key == "optimize" and name == "einsum":
            continue  # graphad's einsum plans its own contraction order
        else:
            keywords[renames.get(key, key)] = value
    return arguments.call(fn, positional, keywords, label)


def _ignored(key: str, value: Any, fn: Callable[..., Any]) -> bool:
    """A NumPy keyword at a value that asks for nothing, which graphad's ``fn`` lacks."""
    if key in _IGNORED and value == _IGNORED[key]:
        return True
    return arguments.is_default(key, value) and key not in arguments.accepted(fn)


def _label(func: Callable[..., Any]) -> str:
    """``np.sum``, ``np.linalg.norm``: how errors name NumPy's ``func``."""
    module = (getattr(func, "__module__", None) or "numpy").replace("numpy", "np", 1)
    return f"{module}.{func.__name__}"


def array_function(func: Callable[..., Any], types: Any, args: Any, kwargs: Any) -> Any:
    """The body of ``Node.__array_function__``."""
    if not all(issubclass(t, (Node, np.ndarray)) for t in types):
        return NotImplemented
    return call(func, args, kwargs)


def method(name: str, node: Node, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """``node.name(*args, **kwargs)`` with the meaning of ``ndarray.name``."""
    return call(getattr(np, name), (node, *args), kwargs)


# ufunc methods graphad has an op for: np.add.reduce is sum, np.multiply.accumulate cumprod
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}


def _reduce_parameters(
    array: Any,
    axis: Any = 0,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = _NO_VALUE,
    where: Any = True,
) -> None:
    """``ufunc.reduce``'s parameters, to bind a call to."""


def _accumulate_parameters(array: Any, axis: int = 0, dtype: Any = None, out: Any = None) -> None:
    """``ufunc.accumulate``'s parameters, to bind a call to."""


_METHODS = {
    "reduce": (_REDUCE, _reduce_parameters),
    "accumulate": (_ACCUMULATE, _accumulate_parameters),
}


def array_ufunc(
    ufunc: Any,
    method: str,
    fn: Callable[..., Any] | None,
    inputs: Sequence[Any],
    kwargs: dict[str, Any],
) -> Any:
    """The body of ``Node.__array_ufunc__`` past its fast path (a plain call of a ufunc
    graphad has): keywords (``np.exp(x, dtype=np.float32)``), the methods graphad has an op
    for (``np.add.reduce`` is ``sum`` along axis 0 by default, ``np.multiply.accumulate``
    is ``cumprod``, ``np.maximum.outer(a, b)`` is ``maximum`` of a against b broadcast),
    and a GraphError naming the rest (``np.add.at`` would write in place; ``a += node``
    would write the result into the array ``a``)."""
    label = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    if method == "__call__" and kwargs.get("out") is not None:
        raise GraphError(
            f"{label}: out= would write the result into an array, but a node has no value "
            "until the graph runs; use the node it returns (a += x with an array a is "
            f"{label}(a, x, out=a): write a = a + x) ({user_location()})"
        )
    if method == "at":
        raise GraphError(
            f"{label}: adds into its operand in place, and nodes are immutable; build the "
            f"result as a new node ({user_location()})"
        )
    if method == "__call__" or method == "outer":
        if fn is None:
            raise GraphError(f"{label}: graphad has no {ufunc.__name__} ({user_location()})")
        if method == "outer":
            return arguments.call(_outer(fn), inputs, kwargs, label)
        return arguments.call(fn, inputs, kwargs, label)
    names, parameters = _METHODS.get(method, ({}, None))
    name = names.get(ufunc.__name__)
    if parameters is None or name is None:
        raise GraphError(
            f"{label}: graphad has no op for it (it has {_has_methods()}) ({user_location()})"
        )
    try:
        given = inspect.signature(parameters).bind(*inputs, **kwargs).arguments
    except TypeError as e:
        raise GraphError(f"{label}: {e} ({user_location()})") from None
    keywords = {k: v for k, v in given.items() if k != "array"}
    keywords.setdefault("axis", 0)  # a ufunc method's default, where graphad's is None
    return arguments.call(_graphad(name), (given["array"],), keywords, label)


def _graphad(name: str) -> Callable[..., Any]:
    import graphad.ops as ops

    fn: Callable[..., Any] = getattr(ops, name)
    return fn


def _has_methods() -> str:
    found = [f"np.{u}.{m}" for m, (names, _) in _METHODS.items() for u in names]
    return ", ".join(found) + " and np.<ufunc>.outer"


def _outer(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``ufunc.outer(a, b)``: ``fn(a[..., None, ...], b)``, a given one axis of length 1 for
    each axis of b, so every entry of a meets every entry of b."""

    @functools.wraps(fn)
    def outer(a: Any, b: Any) -> Any:
        from graphad.ops.shape import expand_dims

        a, b = as_nodes(a, b)
        if a.ndim is None or b.ndim is None:
            raise ShapeError(f"{fn.__name__}.outer needs the ranks of its operands")
        return fn(expand_dims(a, tuple(range(a.ndim, a.ndim + b.ndim))), b) if b.ndim else fn(a, b)

    return outer
