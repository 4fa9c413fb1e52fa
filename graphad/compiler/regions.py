"""Regions: a plan cut into the parts a native backend compiles and the nodes it leaves to NumPy.

Each node either has a native form (:func:`form`: an elementwise op's ``scalar`` formula,
or the ``Fold`` or ``Call`` its op declares, on dtypes the backend computes) or a reason it
has none.  A node without one is a *fallback*: it runs on NumPy, and the compiled code must
stop before it and start again after it.  :func:`cut` cuts as few times as the graph allows:
with d(n) the most fallbacks on a path into n (counting n's inputs, not n), the compiled
nodes of one d form one region, and the fallbacks of one d run between region d and
region d + 1.  A region's inputs are ready before it runs (they are of smaller d, or
inputs of the graph) and nothing of one d waits for a fallback of the same d, so the
stages run in order and every region is as large as it can be: no plan is refused as a
whole, and no order of the nodes gives fewer regions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from graphad.ir import Constant, GraphError, Node, Placeholder, TensorType
from graphad.ir.native import Call, Fold, check_call
from graphad.ir.scalar import functions_of

# what a compiled loop computes with: real floats and the bools that select between them
DTYPES = frozenset({np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.bool_)})


@dataclass(frozen=True)
class Scalar:
    """An elementwise node run as its op's scalar formula, entry by entry."""


Form = Scalar | Fold | Call


@dataclass(frozen=True)
class Region:
    """Compiled nodes run as one function: ``nodes`` in plan order, ``inputs`` the values
    from outside it, ``outputs`` those read after it (or fetched)."""

    nodes: tuple[Node, ...]
    inputs: tuple[Node, ...]
    outputs: tuple[Node, ...]


def form(node: Node) -> Form | str:
    """The native form of ``node``, or why it has none (a reason for the fallback report)."""
    op = node.op
    if isinstance(op, (Placeholder, Constant)):
        return "a leaf"
    if op.branches or op.control is not None:
        return f"{op.name} runs sub-graphs"
    types = [t for t in (node.type, *(x.type for x in node.inputs)) if isinstance(t, TensorType)]
    if len(types) != len(node.inputs) + 1:
        return f"{op.name} has structured values"
    if any(t.shape is None for t in types):
        return f"{op.name} has a value of unknown rank"
    if types[0].dtype not in DTYPES or not all(_operand_dtype(x) for x in node.inputs):
        return f"{op.name} on {', '.join(sorted({t.dtype.name for t in types}))}"
    if op.elementwise and op.scalar is not None:
        try:
            functions_of(op.scalar, max(len(node.inputs), 1))
        except GraphError as e:
            return f"{op.name}: {e}"
        return Scalar()
    native = op.native(node)
    if isinstance(native, Fold):
        return native if node.inputs[0].dtype.kind == "f" else f"{op.name} folds no floats"
    if isinstance(native, Call):
        check_call(native.template, len(node.inputs))
        if native.into is not None:  # {out} as one operand more
            arity = len(node.inputs)
            check_call(native.into.replace("{out}", f"{{{arity}}}"), arity + 1)
        return native
    return f"{op.name} has no native form"


def _operand_dtype(x: Node) -> bool:
    """An operand a compiled loop can read: of a computed dtype, or an integer scalar (the
    exponent of ``x ** 2``, a loop's step index), which formulas take as Python takes it."""
    return x.dtype in DTYPES or (x.shape == () and x.dtype.kind in "iu")


def is_leaf(node: Node) -> bool:
    return isinstance(node.op, (Placeholder, Constant))


def cut(
    order: Sequence[Node],
    fetches: Sequence[Node],
    forms: dict[Node, Form | str],
    most: int = 2_000,
) -> list[Region | Node]:
    """The stages of a plan: regions and, between them, the fallback nodes, in the order
    they run (``order``: every node, inputs first; ``forms``: each non-leaf node's form).
    A region holds at most ``most`` nodes (a compiler's time grows faster than a function's
    size): a larger one is cut into consecutive pieces, in plan order."""
    falls = {n for n in order if not is_leaf(n) and isinstance(forms[n], str)}
    depth: dict[Node, int] = {}
    for node in order:
        if not is_leaf(node):
            depth[node] = max((depth.get(x, 0) + (x in falls) for x in node.inputs), default=0)
    # each value's readers, by stage: region d is stage 2d, the fallbacks after it 2d + 1
    readers: dict[Node, set[int]] = {}
    for node in depth:
        for x in node.inputs:
            readers.setdefault(x, set()).add(2 * depth[node] + (node in falls))
    fetched = set(fetches)
    stages: list[Region | Node] = []
    for d in range(max(depth.values(), default=-1) + 1):
        members = [n for n in depth if depth[n] == d and n not in falls]
        piece_of = {n: k // most for k, n in enumerate(members)}
        last_read: dict[Node, int] = {}  # the last piece of this region that reads a value
        for n in members:
            for x in n.inputs:
                last_read[x] = max(last_read.get(x, -1), piece_of[n])
        for start in range(0, len(members), most):
            piece = members[start : start + most]
            inside = set(piece)
            inputs = dict.fromkeys(x for n in piece for x in n.inputs if x not in inside)
            outputs = [
                n
                for n in piece
                if n in fetched
                or readers.get(n, {2 * d}) != {2 * d}
                or last_read.get(n, -1) > start // most
            ]
            stages.append(Region(tuple(piece), tuple(inputs), tuple(outputs)))
        stages.extend(n for n in depth if depth[n] == d and n in falls)
    return stages
