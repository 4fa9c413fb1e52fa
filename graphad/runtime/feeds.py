"""Feed validation: every fed value is checked against its placeholder before any kernel runs.

Missing, unknown and doubly fed placeholders, wrong shapes, dtypes that cannot hold the
fed values, and structures with the wrong keys are all reported as ``FeedError`` naming
the placeholder and the user's line.  With unknown dims, every node's type is re-inferred
from the fed shapes (once per distinct signature) so that a shape error is found before
the first kernel, not inside it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graphad.ir import (
    DictType,
    FeedError,
    GraphError,
    Node,
    Placeholder,
    TensorType,
    TupleType,
    ValueType,
    fits,
    format_shape,
    user_location,
)
from graphad.runtime.backend import conform as conform_lazy
from graphad.runtime.backend import is_dask

_CHECKED_SIGNATURES = 64


class FeedChecker:
    """Checks feeds for the placeholders of one planned ``order`` of nodes."""

    def __init__(self, placeholders: Sequence[Node], order: Sequence[Node]) -> None:
        self.placeholders = list(placeholders)
        self.order = list(order)
        by_name: dict[str, Node] = {}
        for p in self.placeholders:
            if p.name in by_name:
                raise GraphError(
                    f"Executor: two placeholders are named {p.name!r} "
                    f"({by_name[p.name].origin.location} and {p.origin.location}); "
                    "feeds by name would be ambiguous"
                )
            by_name[p.name] = p
        self._by_name = by_name
        self._needed = set(self.placeholders)
        # fed-type signatures already checked; bounded, as a server may see endless shapes
        self._concrete_checked: OrderedDict[tuple[Any, ...], None] = OrderedDict()
        self._lock = threading.Lock()  # runs from many threads share the cache
        self._dynamic = not all(_all_static(n.type) for n in self.order)
        # the placeholders' static types, when every one is an array of
        # static shape: the common feeds of such a graph are checked in one pass (``quick``)
        static = {p: p.type for p in self.placeholders if type(p.type) is TensorType}
        every = len(static) == len(self.placeholders) and all(t.is_static for t in static.values())
        self._static: dict[Node, TensorType] | None = static if every else None

    def check(self, feed_dict: Mapping[Any, Any]) -> dict[Node, Any]:
        """The fed value of every placeholder, conformed to its type (arrays read-only)."""
        fed = self.quick(feed_dict) if type(feed_dict) is dict else None
        if fed is None:
            fed = self._resolve(feed_dict)
        if self._dynamic:
            self._check_concrete(fed)
        return fed

    def quick(self, feed_dict: dict[Any, Any]) -> dict[Node, np.ndarray] | None:
        """The feeds, as ``check`` gives them, when each placeholder is fed once (by node or
        by name) an ndarray of its dtype and static shape (or a Python float for a float64
        number), and nothing else is fed: what ``_resolve`` checks, in one pass (it took a
        third of a run of W2 n = 10 on numba).  None for any other feeds: ``_resolve``
        checks them, or says what is wrong."""
        static = self._static
        if static is None or len(feed_dict) != len(static):
            return None
        fed: dict[Node, np.ndarray] = {}
        for key, value in feed_dict.items():
            # names apart: a str meeting a node of the same hash would build an equal node
            node = self._by_name.get(key) if type(key) is str else key
            t = static.get(node) if type(node) is Node else None
            if t is None or node is None:
                return None
            array = _common(t, value)
            if array is None:
                return None
            fed[node] = array
        return fed if len(fed) == len(static) else None  # else one fed twice, one missing

    def _resolve(self, feed_dict: Mapping[Any, Any]) -> dict[Node, np.ndarray]:
        if not isinstance(feed_dict, Mapping):
            raise FeedError(
                f"feed_dict must be a dict of placeholder (or name) to value, got "
                f"{type(feed_dict).__name__} ({user_location()})"
            )
        fed: dict[Node, Any] = {}
        unknown = []
        for key, value in feed_dict.items():
            if isinstance(key, str):
                node = self._by_name.get(key)
                if node is None:
                    unknown.append(key)
                    continue
            elif isinstance(key, Node):
                if not isinstance(key.op, Placeholder):
                    raise FeedError(f"feed key {key.name} is not a placeholder ({user_location()})")
                node = key
                if node not in self._needed:  # not needed by these fetches: checked all the same
                    _conform(node.type, value, f"placeholder {node.name!r}")
            else:
                raise FeedError(
                    f"feed keys must be placeholders or names, got {key!r} ({user_location()})"
                )
            if node in fed:
                raise FeedError(f"placeholder {node.name!r} is fed twice ({user_location()})")
            fed[node] = value
        if unknown:
            known = ", ".join(repr(p.name) for p in self.placeholders) or "none"
            raise FeedError(
                f"unknown feed name(s) {', '.join(map(repr, unknown))}; the placeholders "
                f"these fetches need are {known} ({user_location()})"
            )
        missing = [p for p in self.placeholders if p not in fed]
        if missing:
            names = ", ".join(f"{p.name!r} {p.type} ({p.origin.location})" for p in missing)
            others = {p.name for p in fed if p not in self._needed}
            namesakes = [p.name for p in missing if p.name in others]
            hint = (
                f"; a different placeholder of the same name was fed for {namesakes}: a node "
                "is its own placeholder, not one of its name (an unpickled or copied graph has "
                "new ones), so feed the node these fetches were built from, or feed by name"
                if namesakes
                else ""
            )
            raise FeedError(f"missing feed(s) for placeholder(s) {names}{hint} ({user_location()})")
        return {p: _conform(p.type, fed[p], f"placeholder {p.name!r}") for p in self.placeholders}

    def _check_concrete(self, fed: dict[Node, np.ndarray]) -> None:
        """With unknown dims, re-infer every type from the fed shapes before any kernel runs."""
        concrete: dict[Node, Any] = {p: _type_of(fed[p]) for p in fed}
        key = tuple(concrete[p] for p in self.placeholders)
        with self._lock:
            if key in self._concrete_checked:
                self._concrete_checked.move_to_end(key)
                return
        for node in self.order:
            if node in concrete:
                continue
            if not node.inputs:
                concrete[node] = node.type
                continue
            types = [concrete[x] for x in node.inputs]
            try:
                concrete[node] = node.op.infer(*types)
            except GraphError as e:
                raise type(e)(
                    f"{node.op.describe(types)}: {e} (node {node.name} made at "
                    f"{node.origin.location}, with the fed shapes)"
                ) from None
        with self._lock:  # two threads may have checked the same new signature: both add it
            self._concrete_checked[key] = None
            if len(self._concrete_checked) > _CHECKED_SIGNATURES:
                self._concrete_checked.popitem(last=False)


def _all_static(t: Any) -> bool:
    if type(t) is TensorType:
        return t.shape is not None and None not in t.shape
    if isinstance(t, TupleType):
        return all(_all_static(i) for i in t.items)
    if isinstance(t, DictType):
        return all(_all_static(i) for _, i in t.items)
    return True


def _type_of(value: Any) -> ValueType:
    """The concrete type of a fed value, conformed (arrays, and tuples and dicts of them)."""
    if isinstance(value, tuple):
        return TupleType(tuple(_type_of(v) for v in value))
    if isinstance(value, dict):
        return DictType(tuple((k, _type_of(v)) for k, v in value.items()))
    return TensorType(value.shape, value.dtype)


def _common(t: TensorType, value: Any) -> np.ndarray | None:
    """``value`` read-only, where it is the common feed of a tensor placeholder ``t``: an
    ndarray of its dtype and shape, or a Python float for a float64 number (exact); else
    None."""
    kind = type(value)
    if kind is np.ndarray and value.dtype == t.dtype and value.shape == t.shape:
        if value.flags.writeable:  # a read-only view: no kernel writes to the user's array
            value = value.view()
            value.flags.writeable = False
        return value
    if kind is float and t.dtype == np.float64 and t.shape == ():
        array = np.array(value)
        array.flags.writeable = False
        return array
    return None


def _conform(t: ValueType | None, value: Any, where: str) -> Any:
    """Check a fed value against a placeholder's type, key by key; arrays come back read-only."""
    if t is None:  # placeholder() refuses types with absent entries
        raise FeedError(f"{where} is an absent entry, which cannot be fed ({user_location()})")
    if isinstance(t, DictType):
        if not isinstance(value, Mapping):
            raise FeedError(
                f"{where} is a dict {t} but was fed {type(value).__name__} ({user_location()})"
            )
        missing = [k for k in t if k not in value]
        extra = [k for k in value if k not in t]
        if missing or extra:
            raise FeedError(
                f"{where} expects keys {list(t.keys())}: missing {missing}, "
                f"unexpected {extra} ({user_location()})"
            )
        return {k: _conform(i, value[k], f"{where}[{k!r}]") for k, i in t.items}
    if isinstance(t, TupleType):
        if not isinstance(value, (tuple, list)) or len(value) != len(t.items):
            got = len(value) if isinstance(value, (tuple, list)) else type(value).__name__
            raise FeedError(
                f"{where} is a tuple of {len(t.items)} but was fed {got} ({user_location()})"
            )
        return tuple(
            _conform(i, v, f"{where}[{n}]") for n, (i, v) in enumerate(zip(t.items, value))
        )
    assert isinstance(t, TensorType)
    # the common feed needs none of the checks below (a fifth of a small derivative's run:
    # W2 n = 10, W5)
    common = _common(t, value)
    if common is not None:
        return common
    if isinstance(value, Node):
        raise FeedError(
            f"{where} was fed node {value.name}, which has no value until the graph runs; "
            f"feed an array ({user_location()})"
        )
    if type(value) is not np.ndarray and is_dask(value):  # checked by metadata, not computed
        return conform_lazy(t, value, where)
    if isinstance(value, np.ma.MaskedArray) and np.ma.is_masked(value):  # np.asarray: no mask
        raise FeedError(
            f"{where} was fed a masked array with entries masked out, whose values would be "
            f"used as they are; fill or drop them first ({user_location()})"
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise FeedError(f"{where}: cannot make an array of the fed value: {e}") from None
    if array.dtype == object or not np.can_cast(array.dtype, t.dtype, casting="same_kind"):
        raise FeedError(
            f"{where} is {t.dtype.name} but was fed {array.dtype.name} ({user_location()})"
        )
    if not t.accepts(array.shape):
        raise FeedError(
            f"{where} has shape {format_shape(t.shape)} but was fed shape "
            f"{format_shape(array.shape)} ({user_location()})"
        )
    if array.dtype != t.dtype:
        if not fits(array, t.dtype):
            raise FeedError(
                f"{where} is {t.dtype.name}: the fed {array.dtype.name} values do "
                f"not fit in it ({user_location()})"
            )
        array = array.astype(t.dtype)
    elif array.flags.writeable:
        array = array.view()  # a read-only view: no kernel can write to the user's array
        array.flags.writeable = False
    return array
