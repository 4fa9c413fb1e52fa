"""NumPy's function protocol: ``np.sum(node)`` builds the node ``ga.sum(node)`` would.

``Node.__array_function__`` and the NumPy-named ``Node`` methods (``x.sum()``,
``x.std(ddof=1)``, ...) land in :func:`call`.  The arguments are bound to the
NumPy function's own signature first, so positional and keyword calls mean
what they mean in NumPy (``x.std(0, None, None, 1)`` is ``ddof=1``), then handed to
the graphad function of the same name by keyword.  NumPy-only keywords are
handled here, once: ``out=`` is refused (nodes are immutable), ``dtype=`` casts
the operand first (what NumPy's accumulator dtype amounts to), and ``where=``,
``initial=``, a non-C ``order=`` are refused by name.  A NumPy function that
graphad lacks is a :class:`GraphError` naming it, never a NumPy traceback.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from graphad.ir import GraphError, Node, user_location
from graphad.ops.utility import cast

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
    module = (getattr(func, "__module__", None) or "numpy").replace("numpy", "np", 1)
    return GraphError(f"{module}.{func.__name__}: {why} ({user_location()})")


def call(func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """``func(*args, **kwargs)`` for NumPy's ``func``, built as graphad nodes."""
    name = func.__name__
    if name in _STATIC and len(args) == 1 and not kwargs and isinstance(args[0], Node):
        return _STATIC[name](args[0])
    fn = counterpart(func)
    if fn is None:
        raise _refuse(func, "graphad has no such function, so it cannot take graph nodes")
    signature = _signature(func)
    if signature is None:  # no signature to bind to: hand the call over as it came
        return fn(*args, **kwargs)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise _refuse(func, str(e)) from None
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    dtype = None
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
        elif value is _NO_VALUE or (key in _IGNORED and value == _IGNORED[key]):
            continue
        elif key == "out":
            if value is not None:
                raise _refuse(func, "out= is not supported: nodes are immutable; use the result")
        elif key == "dtype" and "dtype" not in _signature_of(fn):
            dtype = value
        elif key == "order" and value in ("C", "K", "A", None):
            continue
        elif key == "optimize" and name == "einsum":
            continue  # graphad's einsum plans its own contraction order
        else:
            keywords[renames.get(key, key)] = value
    if dtype is not None:
        if not positional or not isinstance(positional[0], Node):
            raise _refuse(func, "dtype= needs the operand to be a node")
        positional[0] = cast(positional[0], dtype)
    accepted = _signature_of(fn)
    unknown = [k for k in keywords if k not in accepted and "**" not in accepted]
    if unknown:
        raise _refuse(func, f"graphad's {name} does not support {', '.join(unknown)}=")
    try:
        inspect.signature(fn).bind(*positional, **keywords)
    except TypeError as e:  # an argument NumPy's signature takes and graphad's does not
        raise _refuse(func, f"graphad's {name} does not take these arguments: {e}") from None
    return fn(*positional, **keywords)


@functools.cache
def _signature_of(fn: Callable[..., Any]) -> frozenset[str]:
    """The keyword names ``fn`` takes (``"**"`` when it takes any)."""
    sig = inspect.signature(fn)
    names = {
        k
        for k, p in sig.parameters.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        names.add("**")
    return frozenset(names)


def array_function(func: Callable[..., Any], types: Any, args: Any, kwargs: Any) -> Any:
    """The body of ``Node.__array_function__``."""
    if not all(issubclass(t, (Node, np.ndarray)) for t in types):
        return NotImplemented
    return call(func, args, kwargs)


def method(name: str, node: Node, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """``node.name(*args, **kwargs)`` with the meaning of ``ndarray.name``."""
    return call(getattr(np, name), (node, *args), kwargs)
