"""NumPy's einsum notations, rewritten into the one form the ``Einsum`` op takes.

The op takes explicit subscripts of letters ('ij,jk->ik') whose dims agree.
Everything else NumPy accepts is a spelling of such a call, rewritten here
when the node is built:

- the sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``: ints become letters;
- implicit output ('ij,jk'): the letters used once, in alphabetical order, after
  the broadcast dims of ``...``;
- ``...``: fresh letters for the broadcast dims, right-aligned across operands;
- a letter of size 1 in one operand and n in another (NumPy broadcasts it): the
  size-1 dim is dropped from that operand (an integer index), which is exactly
  broadcasting it: the operand is constant along that letter.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

from graphad.ir import Node, ShapeError, as_nodes, known_shape
from graphad.ops._util import known_ndim
from graphad.ops.indexing import getitem

_LETTERS = string.ascii_letters


def _from_sublists(args: Sequence[Any]) -> tuple[str, list[Any]]:
    out = args[-1] if len(args) % 2 else None
    pairs = args[:-1] if len(args) % 2 else args
    operands, specs = list(pairs[0::2]), list(pairs[1::2])

    def letters(sublist: Sequence[Any]) -> str:
        try:
            return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sublist)
        except (IndexError, TypeError):
            raise ShapeError(f"sublists hold ints below 52 or Ellipsis, got {sublist!r}") from None

    text = ",".join(letters(s) for s in specs)
    return (text + "->" + letters(out) if out is not None else text), operands


def _expand(subscripts: str, ndims: Sequence[int]) -> tuple[list[str], str]:
    """Explicit input and output subscripts without ``...``."""
    lhs, arrow, out = subscripts.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(ndims):
        raise ShapeError(f"{subscripts!r} names {len(ins)} operands, got {len(ndims)}")
    used = set(subscripts) - set(".,->")
    if not all(c in _LETTERS for c in used):
        raise ShapeError(f"bad subscripts {subscripts!r}")
    free = iter(c for c in _LETTERS if c not in used)
    spans = []
    for spec, ndim in zip(ins, ndims):
        if "..." in spec:
            spans.append(ndim - len(spec.replace("...", "")))
            if spans[-1] < 0:
                raise ShapeError(f"operand {spec!r} has rank {ndim}")
        else:
            spans.append(0)
    width = max(spans, default=0)
    batch = "".join(next(free) for _ in range(width))
    ins = [s.replace("...", batch[width - k :]) for s, k in zip(ins, spans)]
    if not arrow:
        counts = "".join(ins)
        once = sorted(c for c in set(counts) if counts.count(c) == 1 and c not in batch)
        return ins, batch + "".join(once)
    if "..." in out:
        return ins, out.replace("...", batch)
    if batch:
        raise ShapeError(f"{subscripts!r}: the output needs '...' for the broadcast dims of '...'")
    return ins, out


def _unbroadcast(ins: list[str], xs: list[Node]) -> tuple[list[str], list[Node]]:
    """Drop a letter's size-1 dims from the operands where another operand has it larger."""
    sizes: dict[str, set[int]] = {}
    for spec, x in zip(ins, xs):
        for c, d in zip(spec, known_shape(x)):
            if d is not None:
                sizes.setdefault(c, set()).add(d)
    stretched = {c for c, ds in sizes.items() if 1 in ds and len(ds) > 1}
    if not stretched:
        return ins, xs
    out_ins, out_xs = [], []
    for spec, x in zip(ins, xs):
        drop = [
            i for i, (c, d) in enumerate(zip(spec, known_shape(x))) if c in stretched and d == 1
        ]
        if drop:
            x = getitem(x, tuple(0 if i in drop else slice(None) for i in range(len(spec))))
            spec = "".join(c for i, c in enumerate(spec) if i not in drop)
        out_ins.append(spec)
        out_xs.append(x)
    return out_ins, out_xs


def explicit(args: Sequence[Any]) -> tuple[str, tuple[Node, ...]]:
    """NumPy's einsum arguments as (explicit subscripts, operand nodes)."""
    if isinstance(args[0], str):
        subscripts, operands = args[0].replace(" ", ""), list(args[1:])
    else:
        subscripts, operands = _from_sublists(args)
    xs = list(as_nodes(*operands))
    ins, out = _expand(subscripts, [known_ndim(x.type) for x in xs])
    ins, xs = _unbroadcast(ins, xs)
    return ",".join(ins) + "->" + out, tuple(xs)
