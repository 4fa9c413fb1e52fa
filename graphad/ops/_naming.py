"""``name=`` on every graph-building function, given in one place.

``named(fn)`` is ``fn`` with a keyword ``name``: the node the call returns is
called so (a list or tuple of nodes, as ``split`` returns, gets ``name_0``,
``name_1``, ...).  A name is part of making a node, so it is written while the node is
still only the call's own: a node made by this very call, which nothing else
can hold yet.  A call that makes no node (``add_n(x)`` returns ``x``) has
nothing to name and says so rather than rename the user's node.  The call itself goes
through :func:`graphad.ops._arguments.call`, which checks the arguments (NumPy's keywords
among them) in one place.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from graphad.ir import GraphError, Node, user_location
from graphad.ops._arguments import call, failure


def _newest(args: Any) -> int:
    """The highest id among the nodes in ``args`` (one level into lists and dicts)."""
    found = -1
    for a in args:
        items = a.values() if isinstance(a, Mapping) else a if isinstance(a, list | tuple) else [a]
        for item in items:
            if isinstance(item, Node):
                found = max(found, item.id)
    return found


def _name(node: Node, name: str, newest: int, fn: str) -> None:
    if not isinstance(node, Node) or node.id <= newest:
        made = node.name if isinstance(node, Node) else type(node).__name__
        raise GraphError(
            f"{fn}(name={name!r}): the call made no new node (it returned {made} as it was), "
            f"so there is nothing to name ({user_location()})"
        )
    object.__setattr__(node, "name", name)  # at birth: no one else holds this node yet


def named(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with an optional ``name=`` for the node it makes."""

    @functools.wraps(fn)
    def build(*args: Any, name: str | None = None, **kwargs: Any) -> Any:
        if name is None and not kwargs:  # the common call, with its checks on failure only
            try:
                return fn(*args)
            except (GraphError, TypeError) as e:
                error = failure(fn, args, kwargs, e)
                if error is e:
                    raise
                raise error from None
        if name is None:
            return call(fn, args, kwargs)
        if not isinstance(name, str) or not name:
            raise GraphError(
                f"{fn.__name__}: name must be a non-empty string, got {name!r} ({user_location()})"
            )
        newest = _newest((*args, *kwargs.values()))
        out = call(fn, args, kwargs)
        if isinstance(out, list | tuple):
            for i, node in enumerate(out):
                _name(node, f"{name}_{i}", newest, fn.__name__)
        else:
            _name(out, name, newest, fn.__name__)
        return out

    signature = inspect.signature(fn)
    keyword = inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None)
    parameters = list(signature.parameters.values())
    if parameters and parameters[-1].kind is inspect.Parameter.VAR_KEYWORD:
        parameters.insert(-1, keyword)
    else:
        parameters.append(keyword)
    # inspect.signature reads __signature__ (PEP 362), which typeshed does not declare
    build.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return build
