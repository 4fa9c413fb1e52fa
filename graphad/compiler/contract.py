"""A kernel's result against the type its op declared: an op that breaks its own ``infer``.

graphad's ops are tested to keep their contract; an op defined outside graphad is
checked after every call (the check is a shape and dtype comparison, cheap next to any
kernel), and every op is under ``Executor(..., debug=True)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphad.ir import (
    DictType,
    ExecutionError,
    Node,
    SparseType,
    TensorType,
    TupleType,
    ValueType,
    format_shape,
)


def mismatch(t: ValueType | None, value: Any) -> str | None:
    """Why ``value`` is not of type ``t`` (known dims and dtype), or ``None`` when it is
    (``t`` None: an absent entry of a structure, whose value is None)."""
    if t is None:
        return None if value is None else f"{type(value).__name__} where it declared no entry"
    if isinstance(t, TensorType):
        shape, dtype = np.shape(value), getattr(value, "dtype", None)
        if dtype is None:
            dtype = np.asarray(value).dtype
        if not t.accepts(shape):
            return f"shape {format_shape(shape)} where it declared {format_shape(t.shape)}"
        if dtype != t.dtype:
            return f"dtype {dtype} where it declared {t.dtype}"
        return None
    if isinstance(t, TupleType):
        if not isinstance(value, tuple) or len(value) != len(t.items):
            return f"{type(value).__name__} where it declared {t}"
        for i, (item, v) in enumerate(zip(t.items, value)):
            why = mismatch(item, v)
            if why is not None:
                return f"[{i}]: {why}"
        return None
    if isinstance(t, SparseType):
        return _sparse_mismatch(t, value)
    if isinstance(t, DictType):
        if not isinstance(value, dict) or list(value) != list(t.keys()):
            return f"{type(value).__name__} where it declared {t}"
        for k, item in t.items:
            why = mismatch(item, value[k])
            if why is not None:
                return f"[{k!r}]: {why}"
    return None


def _sparse_mismatch(t: SparseType, value: Any) -> str | None:
    """A CSR matrix of exactly the pattern's entries, in its order, and of t's dtype."""
    if getattr(value, "format", None) != "csr" or tuple(value.shape) != t.shape:
        return f"{type(value).__name__} where it declared {t}"
    if value.dtype != t.dtype:
        return f"dtype {value.dtype} where it declared {t.dtype}"
    p = t.pattern
    if not (np.array_equal(value.indptr, p.indptr) and np.array_equal(value.indices, p.indices)):
        return f"a sparse matrix of another pattern ({value.nnz} stored) where it declared {t}"
    return None


def broken_contract(node: Node, why: str) -> ExecutionError:
    return ExecutionError(
        f"{node.op} returned {why}: the op's compute disagrees with its own infer "
        f"(node {node.name} made at {node.origin.location})"
    )


class Checked:
    """``fn`` followed by a check of its result against ``node``'s type (a class, not a
    closure, so that generated code holding it pickles)."""

    def __init__(self, fn: Callable[..., Any], node: Node) -> None:
        self.fn = fn
        self.node = node

    def __call__(self, *args: Any) -> Any:
        value = self.fn(*args)
        why = mismatch(self.node.type, value)
        if why is not None:
            raise broken_contract(self.node, why)
        return value
