"""The arguments of the public graph-building functions, checked in one place.

Every NumPy-named function (``ga.sum``, ``ga.exp``, ``ga.linalg.svd``, ...) is called
through :func:`call`, which the ``name=`` wrapper (:mod:`graphad.ops._naming`) applies:

- NumPy's keywords that a graphad function does not list take NumPy's meaning or are
  refused by name.  ``dtype=`` is supported: where NumPy computes the function with a
  ufunc, the operands are cast to the loop NumPy picks for that output dtype
  (``exp(x, dtype=np.float32)`` computes in float32, ``add(i, j, dtype=float)`` in
  float64, and a cast NumPy's ``same_kind`` rule refuses is refused); where NumPy's
  function takes a ``dtype`` (``sum``, ``mean``, ``cumprod``, ...) the operand is cast
  first, which is what NumPy's accumulator dtype amounts to.  ``out=`` (nodes are
  immutable), ``where=``, ``initial=``, ``order="F"``, ``casting=`` and ``subok=`` other
  than their defaults are refused, each with what to write instead;
- a call that does not fit the function's signature (an unknown keyword, an argument
  missing or too many) is a GraphError naming the function and the argument;
- an operand that is no value (``None``, a ragged list, a string) is an error naming the
  function and the argument that held it.

Each error ends with the user's line.  A call that fits costs one ``try`` more.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphad.ir import DTypeError, GraphError, Node, as_dtype, as_nodes, user_location
from graphad.ops.utility import cast

# NumPy keywords whose default means "nothing to do"
DEFAULTS: dict[str, tuple[Any, ...]] = {
    "out": (None,),
    "where": (True,),
    "casting": ("same_kind",),
    "order": ("C", "K", "A", None),
    "subok": (True,),
    "copy": (None, True),
    "signature": (None,),
}
# NumPy keywords graphad does not support, and what to write instead
REFUSED = {
    "out": "nodes are immutable; use the result it returns",
    "where": "graphad computes every entry; select among them with ga.where",
    "initial": "combine it with the result instead (ga.maximum(ga.max(x), initial))",
    "order": "graphad's arrays are C-ordered (ravel takes order='F')",
    "casting": "operands are cast by NumPy's same_kind rule; cast them with ga.cast first",
    "subok": "nodes are not subclasses of ndarray",
    "signature": "ufunc loops are chosen by the operands' dtypes (dtype= chooses the output)",
}


@functools.cache
def accepted(fn: Callable[..., Any]) -> frozenset[str]:
    """The keyword names ``fn`` takes (``"**"`` when it takes any)."""
    params = inspect.signature(fn).parameters.values()
    names = {
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        names.add("**")
    return frozenset(names)


def is_default(key: str, value: Any) -> bool:
    """Whether NumPy's keyword ``key`` has a value that asks for nothing."""
    return any(value is d or (isinstance(d, str) and value == d) for d in DEFAULTS.get(key, ()))


def refusal(label: str, key: str) -> GraphError:
    """The error for NumPy's keyword ``key`` given to graphad's ``fn``."""
    why = REFUSED.get(key, "graphad does not support it")
    return GraphError(f"{label}: {key}= is not supported: {why} ({user_location()})")


def call(
    fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any], label: str = ""
) -> Any:
    """``fn(*args, **kwargs)`` with NumPy's keywords and argument errors handled as the
    module docstring says; errors call the function ``label`` (by default its name:
    NumPy's protocol passes ``np.sum``)."""
    label = label or fn.__name__
    dtype = None
    if kwargs and not kwargs.keys() <= accepted(fn) and "**" not in accepted(fn):
        kwargs = dict(kwargs)
        for key in [k for k in kwargs if k not in accepted(fn)]:
            value = kwargs.pop(key)
            if key == "dtype":
                dtype = value
            elif is_default(key, value):
                continue
            elif key in REFUSED:
                raise refusal(label, key)
            else:
                raise GraphError(
                    f"{label}: unexpected argument {key}=; graphad's {fn.__name__} takes "
                    f"({_parameters(fn)}) ({user_location()})"
                )
    try:
        if dtype is not None:
            return _with_dtype(fn, args, kwargs, dtype, label)
        return fn(*args, **kwargs)
    except (GraphError, TypeError) as e:
        error = failure(fn, args, kwargs, e, label)
        if error is e:
            raise
        raise error from None


def failure(
    fn: Callable[..., Any],
    args: Sequence[Any],
    kwargs: dict[str, Any],
    e: GraphError | TypeError,
    label: str = "",
) -> Exception:
    """The error a failed call ``fn(*args, **kwargs)`` raises: one naming the argument
    that held an operand that is no value, or the misfit with ``fn``'s signature; else
    ``e`` itself (a fault inside, already named)."""
    label = label or fn.__name__
    if isinstance(e, GraphError):
        operand = getattr(e, "operand", _NOT_AN_OPERAND)
        if operand is _NOT_AN_OPERAND:
            return e
        return type(e)(f"{label}: {_argument(fn, args, kwargs, operand)}{e}")
    try:  # a TypeError: a call that does not fit, or a fault inside; binding tells which
        inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as bad:
        return GraphError(
            f"{label}: {bad}; graphad's {fn.__name__} takes ({_parameters(fn)}) ({user_location()})"
        )
    return e


_NOT_AN_OPERAND = object()


def _parameters(fn: Callable[..., Any]) -> str:
    """``a, axis=None, keepdims=False``: what ``fn`` takes, for errors."""
    params = inspect.signature(fn).parameters.values()
    bare = (p.replace(annotation=inspect.Parameter.empty) for p in params if p.name != "name")
    return ", ".join(map(str, bare))


def _argument(
    fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any], value: Any
) -> str:
    """``"b = None: "``: the argument of ``fn`` that held ``value``, or "" if none did."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs).arguments
    except TypeError:
        return ""
    for key, given in bound.items():
        if given is value:
            return f"argument {key}: "
        if isinstance(given, (list, tuple)):
            for i, item in enumerate(given):
                if item is value:
                    return f"argument {key}[{i}]: "
    return ""


def _with_dtype(
    fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any], dtype: Any, label: str
) -> Any:
    """``fn`` computed with NumPy's ``dtype=``: in the ufunc loop NumPy picks for that
    output dtype, or on the operands cast first (a reduction's accumulator, the result of
    a join)."""
    name = fn.__name__
    try:
        dt = as_dtype(dtype)
    except DTypeError as e:
        raise DTypeError(f"{label}: dtype={dtype!r}: {e} ({user_location()})") from None
    numpy_fn = getattr(np, name, None)
    if isinstance(numpy_fn, np.ufunc):
        if numpy_fn.nout != 1 or len(args) != numpy_fn.nin or kwargs:
            raise refusal(label, "dtype")
        nodes = as_nodes(*args)
        dtypes = tuple(x.dtype for x in nodes)
        try:
            loop = numpy_fn.resolve_dtypes((*dtypes, None), signature=(*(None,) * len(dtypes), dt))
        except (TypeError, np.exceptions.DTypePromotionError) as e:
            raise DTypeError(f"{label}: dtype={dt.name}: {e} ({user_location()})") from None
        out = fn(*(cast(x, d) for x, d in zip(nodes, loop)))
        return cast(out, loop[-1])
    takes = numpy_fn is not None and "dtype" in _numpy_parameters(numpy_fn)
    if not takes or not args:
        raise GraphError(
            f"{label}: dtype= is not an argument of NumPy's {name}, nor of graphad's "
            f"({user_location()})"
        )
    first = args[0]
    if isinstance(first, (list, tuple)) and not isinstance(first, Node):  # a join's operands
        operands: Any = [cast(x, dt) for x in as_nodes(*first)]
    else:
        operands = cast(as_nodes(first)[0], dt)
    return fn(operands, *args[1:], **kwargs)


@functools.cache
def _numpy_parameters(numpy_fn: Callable[..., Any]) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(numpy_fn).parameters)
    except (TypeError, ValueError):
        return frozenset()
