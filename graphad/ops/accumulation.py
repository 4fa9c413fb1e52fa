"""``ScatterSum``: a sum whose terms are added into one buffer, some of them at a basic
index (a slice, an int, ...) of it.

The adjoint of an array read in many places (a camera vector sliced into rotation, centre,
focal length, ...) is the sum of one ``scatter_add`` per read, each a zero array of the
whole shape with one slice's adjoint in it: k zero arrays and a k-term sum.  The compiler
rewrites such a sum (:func:`graphad.compiler.rules.sums.scatters_into_one`) into one
``ScatterSum``, which fills one buffer with the first term and adds each further one where
it lands: one array, and each scattered term touches only its slice.

The terms are added in their order, as ``add_n`` adds them: each entry of the result is the
same sum of the same numbers, left to right, without the zeros the scatters added (which
can change only the sign of a zero result).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import (
    ExecutionError,
    IndexingError,
    Node,
    ShapeError,
    TensorType,
    ValueType,
    as_node,
    format_shape,
    is_differentiable,
    is_static,
    known_shape,
    result_dtype,
    shapes_compatible,
)
from graphad.ir.dependence import (
    SAME,
    Dependence,
    Dependences,
    Detect,
    Scatter,
    numbering,
)
from graphad.ir.native import Call
from graphad.ir.notation import LOOSE, SUM, Term, shape_text, wrap
from graphad.ops._buffers import empty, plain, zeros
from graphad.ops._linear import JointlyLinear
from graphad.ops._util import tensor
from graphad.ops.indexing import (
    _ALL,
    GetItem,
    Item,
    _decode,
    _encode,
    _result_shape,
    full_slices,
    index_text,
    placed_text,
    spanned_shape,
)
from graphad.ops.shape import _batched_target, materialize
from graphad.ops.utility import shape_of

Part = tuple[Item, ...] | None  # a term's basic index into the result, or None: all of it


@dataclass(frozen=True)
class ScatterSum(JointlyLinear):
    """t₁ + t₂ + … into one array of ``shape``, term k added at its basic index ``parts[k]``
    (None: the whole array, a term of the result's shape); ``shape`` may hold None, then
    the last input is the run-time shape."""

    chunking = "whole"  # adds into one buffer in place

    parts: tuple[Part, ...]
    shape: tuple[int | None, ...]

    def notation(self, args: Sequence[Term]) -> Term:
        """a + scatter g into (2, 11) at [:, 0:3] + …"""
        terms = []
        for a, part in zip(args, self.parts):
            if part is None:
                terms.append(wrap(a, SUM + 1))
            else:
                terms.append(
                    f"(scatter {wrap(a, SUM)} into {shape_text(self.shape)} "
                    f"at [{index_text(part, ())}])"
                )
        return Term(" + ".join(terms), SUM if len(terms) > 1 else LOOSE)

    def infer(self, *types: TensorType) -> TensorType:
        terms = types[: len(self.parts)]
        if not terms or len(types) > len(self.parts) + 1:
            raise ShapeError(f"{len(self.parts)} parts for {len(types)} operands")
        out = TensorType(self.shape, result_dtype(*(tensor(t).dtype for t in terms)))
        for k, (t, part) in enumerate(zip(terms, self.parts)):
            if part is not None and any(item[0] == "array" for item in part):
                raise ShapeError(f"term {k}: a scattered term's index must be basic")
            expect = self.shape if part is None else _result_shape(part, out, ())
            if not shapes_compatible(expect, t.shape) or t.dtype != out.dtype:
                raise ShapeError(f"term {k} of {t} does not fit {format_shape(expect)}:{out.dtype}")
        if len(types) == len(self.parts) and not is_static(self.shape):
            rank = len(self.shape)
            spanned = {a for p in self.parts if p is not None for a, _ in full_slices(p, rank)}
            whole = any(p is None for p in self.parts)
            if not whole and any(d is None and a not in spanned for a, d in enumerate(self.shape)):
                raise ShapeError(f"shape {format_shape(self.shape)} without its run-time shape")
        return out

    def run_type(self, types: Sequence[ValueType], values: Sequence[Any]) -> TensorType:
        """Unknown dims from the run-time shape operand's value, else from the terms placed
        there by a full slice: a lazy backend knows them before the sum runs."""
        out = self.infer(*(tensor(t) for t in types))
        if out.is_static:
            return out
        n = len(self.parts)
        if len(values) > n:
            shape = values[n]
            if not isinstance(shape, np.ndarray):  # itself lazy: not known until it computes
                raise ExecutionError(
                    f"{self.name}: the shape of the result is not known before it computes"
                )
            return TensorType(tuple(int(d) for d in shape), out.dtype)
        # views of one scalar: the terms' concrete shapes, without their memory
        stand_ins = [
            np.broadcast_to(np.zeros((), bool), [int(d or 0) for d in tensor(t).shape or ()])
            for t in types
        ]
        return TensorType(spanned_shape(self.shape, list(zip(stand_ins, self.parts))), out.dtype)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """entry i of a whole term on entry i; each entry of a scattered term into the entry
        its index sends it to"""
        result = numbering(node.type)
        rules: list[Dependence | None] = []
        for x, part in zip(node.inputs, self.parts):
            if not is_differentiable(x.type):
                rules.append(None)
            elif part is None:
                rules.append(SAME)
            else:
                rules.append(Scatter(np.asarray(GetItem(part).compute(result)).ravel()))
        return (*rules, *(None for _ in node.inputs[len(self.parts) :]))

    def compute_for(self, node: Node) -> Callable[..., Any]:
        """For a small static shape, decided once: each index decoded, the dtype infer's,
        the result in NumPy's own memory."""
        if len(node.inputs) != len(self.parts) or not plain(node.type):
            views = _tiling(self.parts, self.shape)
            if views is not None and node.dtype.kind in "fc":
                return functools.partial(self._tiled, views)
            return self.compute
        shape = tuple(int(d) for d in self.shape if d is not None)
        views = tuple(None if p is None else _view_index(p) for p in self.parts)
        return functools.partial(self._summed, shape, node.dtype, views)

    def _summed(
        self, shape: tuple[int, ...], dtype: np.dtype, views: tuple[Any, ...], *terms: Any
    ) -> Any:
        """compute's sum: the first term copied or added into zeros, the others added."""
        first = terms[0]
        if type(first) is not np.ndarray:
            return self.compute(*terms)
        if views[0] is None and first.shape == shape:
            out = np.empty(shape, dtype)
            np.copyto(out, first)
        else:
            out = np.zeros(shape, dtype)
            _added(out, first, views[0])
        for term, view in zip(terms[1:], views[1:]):
            _added(out, term, view)
        return out

    def _tiled(self, views: tuple[tuple[Any, ...], ...], *values: Any) -> Any:
        """compute's sum where each entry has one term (the parts tile the result): each
        term written into its place plus 0.0, the zeros compute adds it to (so -0.0 is 0.0
        as there), without filling the result with zeros first."""
        n = len(self.parts)
        terms = values[:n]
        if not all(type(t) is np.ndarray for t in terms):
            return self.compute(*values)
        if len(values) > n:
            shape = tuple(int(d) for d in values[n])
        else:
            shape = spanned_shape(self.shape, list(zip(terms, self.parts)))
        out = empty(shape, np.result_type(*terms), like=terms[-1])
        for term, view in zip(terms, views):
            np.add(term, 0.0, out=out[view])
        return out

    def compute(self, *values: np.ndarray) -> np.ndarray:
        n = len(self.parts)
        terms = values[:n]
        if len(values) > n:
            shape = tuple(int(d) for d in values[n])
        else:  # unknown dims are those of the terms that span them (infer checked)
            shape = spanned_shape(self.shape, list(zip(terms, self.parts)))
        first, part = terms[0], self.parts[0]
        dtype = np.result_type(*terms)
        if part is None and np.shape(first) == shape:
            out = empty(shape, dtype, like=first)
            np.copyto(out, first)
        else:  # laid out as the terms are (batch last, when they are)
            out = zeros(shape, dtype, like=terms[-1])
            _add(out, first, part)
        for term, part in zip(terms[1:], self.parts[1:]):
            _add(out, term, part)
        return out

    def native(self, node: Node) -> Call | None:
        """each term placed in an array of the result's shape by np.concatenate and the
        arrays added in order: the first between zeros (+ 0.0, as compute adds it into
        zeros), the others between -0.0, which adds nothing, not even to a -0.0 (float
        terms of known shapes, each index picking along one axis)"""
        n = len(self.parts)
        if len(node.inputs) != n or not is_static(self.shape) or not self.shape:
            return None
        dims = tuple(int(d) for d in self.shape if d is not None)  # is_static: all ints
        terms = []
        for k, (x, part) in enumerate(zip(node.inputs, self.parts)):
            if x.ndim is None or x.dtype != node.dtype or x.dtype.kind != "f":
                return None
            items = () if part is None else part
            if part is None and x.shape != node.shape:  # a whole term broadcast: not here
                return None
            dtype = x.dtype.name
            text = placed_text(items, dims, x.ndim, dtype, f"{{{k}}}", "0.0" if k == 0 else "-0.0")
            if text is None:
                return None
            terms.append(f"({text} + 0.0)" if k == 0 and part is not None else text)
        if terms == ["{0}"]:
            return Call("{0}", view=True)
        return Call(f"({' + '.join(terms)})")

    def transpose(self, node: Node, g: Node) -> tuple[Node | None, ...]:
        """t̄ₖ = g[indexₖ] (g itself for a whole term); no adjoint for the run-time shape"""
        grads = [g if part is None else GetItem(part)(g) for part in self.parts]
        return (*grads, *(None for _ in node.inputs[len(self.parts) :]))

    def apply(self, node: Node, t: Sequence[Node | None]) -> Node | None:
        """Σ ṫₖ at indexₖ over the terms with a tangent (a zero tangent adds nothing)"""
        n = len(self.parts)
        kept = [k for k in range(n) if t[k] is not None]
        if not kept:
            return None
        terms = [t[k] for k in kept]
        op = ScatterSum(tuple(self.parts[k] for k in kept), self.shape)
        return op(*terms, *node.inputs[n:])

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """scatter_sum(tbₖ at [:, indexₖ]) into (B, *shape), unbatched terms repeated"""
        n = len(self.parts)
        like = next(x for x, b in zip(xs, batched) if b)
        terms = [x if b else materialize(x, like) for x, b in zip(xs[:n], batched[:n])]
        parts = tuple(None if p is None else (_ALL, *p) for p in self.parts)
        if not xs[n:]:  # B known or not, the terms give it at their ':'
            return ScatterSum(parts, (known_shape(like)[0], *self.shape))(*terms)
        dims, extra = _batched_target(self.shape, like, xs[n:])
        assert dims is not None  # shape is known to its rank
        return ScatterSum(parts, dims)(*terms, *extra)


def _tiling(parts: tuple[Part, ...], shape: tuple[int | None, ...]) -> tuple[Any, ...] | None:
    """The parts' indices (decoded), where they tile the result: each takes every axis
    whole but one, the same for all, of known length, and there an int or a slice of step 1;
    those pick disjoint ranges that together cover the axis.  Else None."""
    rank, axis, spans = len(shape), None, []
    for part in parts:
        if part is None or any(item[0] not in ("int", "slice", "ellipsis") for item in part):
            return None
        used = sum(item[0] != "ellipsis" for item in part)
        expanded: list[Item] = []
        for item in part:
            expanded.extend([_ALL] * (rank - used) if item[0] == "ellipsis" else [item])
        expanded.extend([_ALL] * (rank - len(expanded)))
        picked = [(a, item) for a, item in enumerate(expanded) if item != _ALL]
        if len(expanded) != rank or len(picked) != 1 or axis not in (None, picked[0][0]):
            return None
        axis, item = picked[0]
        n = shape[axis]
        if n is None:
            return None
        if item[0] == "int":
            k = item[1] + n if item[1] < 0 else item[1]
            if not 0 <= k < n:
                return None
            spans.append((k, k + 1))
        else:
            start, stop, step = slice(*item[1:]).indices(n)
            if step != 1 or start >= stop:
                return None
            spans.append((start, stop))
    ends = [0]
    for start, stop in sorted(spans):
        if start != ends[-1]:
            return None
        ends.append(stop)
    if axis is None or ends[-1] != shape[axis]:
        return None
    return tuple(_view_index(part) for part in parts if part is not None)


def _add(out: np.ndarray, term: Any, part: Part) -> None:
    """out[part] += term, in place."""
    _added(out, term, None if part is None else _view_index(part))


def _view_index(part: tuple[Any, ...]) -> tuple[Any, ...]:
    """The basic index ``part`` decoded, ``...`` last: an index of ints is then a view too."""
    index = _decode(part, ())
    return index if Ellipsis in index else (*index, Ellipsis)


def _added(out: np.ndarray, term: Any, index: tuple[Any, ...] | None) -> None:
    """out[index] += term (index decoded; None: all of out), in place."""
    if index is None:
        np.add(out, term, out=out)
        return
    view = out[index]
    np.add(view, term, out=view)


def scatter_sum(
    terms: Sequence[tuple[Any, Any]], shape: Sequence[int | None], like: Node | None = None
) -> Node:
    """Σₖ tₖ added into an array of ``shape`` at a basic index (ints, slices, None, ...;
    None in place of the index: the whole array), in the order given; ``like`` gives the
    run-time shape where ``shape`` holds None and no term spans it.

        scatter_sum([(a, (slice(None), slice(0, 2))), (b, None)], (3, 4))   # b + a at [:, 0:2]
    """
    dims = tuple(shape)
    nodes: list[Node] = []
    parts: list[Part] = []
    for value, index in terms:
        nodes.append(as_node(value))
        if index is None:
            parts.append(None)
            continue
        items, arrays, _ = _encode(index)
        if arrays:
            raise IndexingError(f"scatter_sum: the index {index!r} is not basic (ints, slices)")
        parts.append(items)
    extra = () if like is None or is_static(dims) else (shape_of(like),)
    return ScatterSum(tuple(parts), dims)(*nodes, *extra)
