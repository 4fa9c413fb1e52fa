"""Structures as values: tuples and dicts of nodes, and looking entries up.

The structure ops are linear (:mod:`~graphad.ops._linear`): making a tuple or a dict in
all its entries together, reading an entry in the structure read.  Their tangents and
adjoints are structures of the same kind, and inside the passes they are *sparse*: an
absent entry is a zero.  So the op applied to a tangent (its jvp) leaves absent what
has no tangent, and its transpose (its vjp) is the matching structure op with absent
entries: ``d["cat"]`` sends ``{"cat": ḡ}`` back to ``d``, not a dict padded with zeros,
so reverse mode shows which entries really took part (d̄ = {"cat": b̄}).  A tuple marks
an entry that carries nothing as absent (type ``None``, value ``None``).
:func:`~graphad.ops.elementwise.sum_partials` sums sparse structures entry by entry;
``densify`` pads them with zeros at the boundary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import (
    DictType,
    DTypeError,
    GraphError,
    IndexingError,
    Node,
    TensorType,
    TupleType,
    ValueType,
    as_node,
    user_location,
)
from graphad.ir import is_differentiable as is_differentiable  # the passes ask it here
from graphad.ir.dependence import Dependences, Detect, routed
from graphad.ir.notation import ATOM, Term, atom, wrap
from graphad.ops._linear import JointlyLinear, Linear
from graphad.ops._util import Tangents, building
from graphad.ops.shape import all_batched, full_like


@dataclass(frozen=True)
class MakeTuple(JointlyLinear):
    """(x₀, x₁, …); ``present`` marks which positions have an input (others are absent)."""

    present: tuple[bool, ...]

    def notation(self, args: Sequence[Term]) -> Term:
        """(a, b), None where an entry is absent"""
        it = iter(args)
        entries = [next(it).text if p else "None" for p in self.present]
        return atom(f"({entries[0]},)" if len(entries) == 1 else f"({', '.join(entries)})")

    def infer(self, *xs: ValueType) -> TupleType:
        it = iter(xs)
        return TupleType(tuple(next(it) if p else None for p in self.present))

    def compute(self, *xs: Any) -> tuple[Any, ...]:
        it = iter(xs)
        return tuple(next(it) if p else None for p in self.present)

    def positions(self) -> list[int]:
        return [i for i, p in enumerate(self.present) if p]

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """Every entry batched (unbatched ones repeated over the batch)"""
        return self(*all_batched(xs, batched))

    def apply(self, node: Node, t: Tangents) -> Node:
        """(ẋ₀, ẋ₁, …), absent where ẋᵢ is zero"""
        entries: list[Node | None] = [None] * len(self.present)
        for i, ti in zip(self.positions(), t):
            entries[i] = ti
        return make_tuple(*entries)

    def transpose(self, node: Node, g: Node) -> tuple[Node | None, ...]:
        """x̄ᵢ = ḡ[i] (nothing where ḡ has no entry i)"""
        return tuple(entry(g, i) for i in self.positions())

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """the entries of the items, one item after another"""
        return routed(self, node, range(len(node.inputs)))


@dataclass(frozen=True)
class MakeDict(JointlyLinear):
    """{k₀: x₀, k₁: x₁, …}"""

    keys: tuple[str, ...]

    def notation(self, args: Sequence[Term]) -> Term:
        """{'a': a, 'b': b}"""
        return atom("{" + ", ".join(f"{k!r}: {a.text}" for k, a in zip(self.keys, args)) + "}")

    def infer(self, *xs: ValueType) -> DictType:
        return DictType(tuple(zip(self.keys, xs)))

    def compute(self, *xs: Any) -> dict[str, Any]:
        return dict(zip(self.keys, xs))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """Every entry batched (unbatched ones repeated over the batch)"""
        return self(*all_batched(xs, batched))

    def apply(self, node: Node, t: Tangents) -> Node:
        """{kᵢ: ẋᵢ}, absent where ẋᵢ is zero"""
        return make_dict({k: ti for k, ti in zip(self.keys, t) if ti is not None})

    def transpose(self, node: Node, g: Node) -> tuple[Node | None, ...]:
        """x̄ₖ = ḡ[k] (nothing where ḡ has no key k)"""
        return tuple(entry(g, k) for k in self.keys)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """the entries of the items, one item after another"""
        return routed(self, node, range(len(node.inputs)))


@dataclass(frozen=True)
class TupleGet(Linear):
    """t[index] for a tuple-valued t."""

    index: int

    def notation(self, args: Sequence[Term]) -> Term:
        """t[0]"""
        return atom(f"{wrap(args[0], ATOM)}[{self.index}]")

    def infer(self, t: ValueType) -> ValueType:
        if not isinstance(t, TupleType):
            raise DTypeError(f"expected a tuple, got {t}")
        if not -len(t.items) <= self.index < len(t.items):
            raise IndexingError(f"tuple index {self.index} out of range for {len(t.items)} items")
        item = t.items[self.index]
        if item is None:
            raise IndexingError(f"entry {self.index} is absent")
        return item

    def compute(self, t: tuple[Any, ...]) -> Any:
        return t[self.index]

    def code(self, node: Node, args: Sequence[str], kernel: str) -> str:
        """t[index]"""
        return f"{args[0]}[{self.index}]"

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """An entry of a batched structure is batched"""
        return self(xs[0])

    def apply(self, node: Node, t: Node) -> Node | None:
        """ṫ[index]: none where ṫ has no such entry"""
        return entry(t, self.index)

    def transpose(self, node: Node, g: Node) -> Node:
        """t̄ = (∅, …, g at index, …, ∅)"""
        t = node.inputs[0].type
        if not isinstance(t, TupleType):  # infer asked it of the input
            raise DTypeError(f"expected a tuple, got {t}")
        n = len(t.items)
        entries: list[Node | None] = [None] * n
        entries[self.index % n] = g
        return make_tuple(*entries)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """each entry is the entry of that item"""
        return routed(self, node, (0,))


@dataclass(frozen=True)
class DictGet(Linear):
    """d[key] for a dict-valued d."""

    key: str

    def notation(self, args: Sequence[Term]) -> Term:
        """d['key']"""
        return atom(f"{wrap(args[0], ATOM)}[{self.key!r}]")

    def infer(self, d: ValueType) -> ValueType:
        if not isinstance(d, DictType):
            raise DTypeError(f"expected a dict, got {d}")
        if self.key not in d:
            raise IndexingError(f"no key {self.key!r}; the keys are {list(d.keys())}")
        return d[self.key]

    def compute(self, d: Mapping[str, Any]) -> Any:
        return d[self.key]

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """An entry of a batched structure is batched"""
        return self(xs[0])

    def apply(self, node: Node, t: Node) -> Node | None:
        """ḋ[key]: none where ḋ has no such key"""
        return entry(t, self.key)

    def transpose(self, node: Node, g: Node) -> Node:
        """d̄ = {key: g}"""
        return make_dict({self.key: g})

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """each entry is the entry of that item"""
        return routed(self, node, (0,))


# -- building and reading structures -------------------------------------------
def make_tuple(*xs: Any) -> Node:
    """A tuple-valued node; ``None`` entries are absent (used by sparse adjoints)."""
    present = tuple(x is not None for x in xs)
    return MakeTuple(present)(*(_as_entry(x) for x in xs if x is not None))


def make_dict(entries: Mapping[str, Any]) -> Node:
    """A dict-valued node with string keys, e.g. ``make_dict({"cat": a0, "dog": a1})``."""
    for k in entries:
        if not isinstance(k, str):
            raise GraphError(f"make_dict: keys must be strings, got {k!r} ({user_location()})")
    return MakeDict(tuple(entries))(*(_as_entry(v) for v in entries.values()))


def _as_entry(value: Any) -> Node:
    """An entry's node: a dict, or a tuple/list holding nodes, nests as a structure."""
    if isinstance(value, Mapping) or (isinstance(value, (tuple, list)) and _holds_node(value)):
        return structure(value)
    return as_node(value)  # anything else (an array, [[1, 2], [3, 4]]) is a constant


def _holds_node(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_holds_node(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return any(_holds_node(v) for v in value)
    return isinstance(value, Node)


def structure(value: Any) -> Node:
    """A node for a (nested) Python tuple/list/dict of nodes and arrays."""
    if isinstance(value, Node):
        return value
    if isinstance(value, Mapping):
        return make_dict({k: structure(v) for k, v in value.items()})
    if isinstance(value, (tuple, list)) and not _is_numeric_list(value):
        return make_tuple(*(structure(v) for v in value))
    return as_node(value)


def _is_numeric_list(value: Any) -> bool:
    return isinstance(value, list) and not any(
        isinstance(v, (Node, Mapping, tuple, list)) for v in value
    )


def entry(s: Node, key: int | str) -> Node | None:
    """``s[key]``, or ``None`` when the structure has no such entry (a sparse adjoint).

    Reading an entry of a ``make_tuple``/``make_dict`` node returns its input
    directly rather than building a lookup node.
    """
    t = s.type
    if isinstance(t, TupleType):
        if not isinstance(key, int) or not -len(t.items) <= key < len(t.items):
            return None
        if t.items[key] is None:
            return None
        if isinstance(s.op, MakeTuple):
            return s.inputs[s.op.positions().index(key % len(t.items))]
        return TupleGet(key)(s)
    if isinstance(t, DictType):
        if not isinstance(key, str) or key not in t:
            return None
        if isinstance(s.op, MakeDict):
            return s.inputs[s.op.keys.index(key)]
        return DictGet(key)(s)
    return None


def get(s: Node, key: int | str) -> Node:
    """``s[key]`` for a structure-valued node; a missing key fails now, naming the keys."""
    key = int(key) if isinstance(key, np.integer) else key
    if isinstance(s.type, TupleType) and not isinstance(key, (int, np.integer)):
        raise IndexingError(f"tuple {s.name} is indexed by ints, got {key!r} ({user_location()})")
    # always a lookup node, even on make_dict: gradients(y, d) must see y depend on d
    if isinstance(s.type, TupleType):
        return TupleGet(int(key))(s)  # infer reports a bad index with the user's line
    if not isinstance(key, str):  # no dict has it: the keys are strings
        with building("dict_get", s):
            if isinstance(s.type, DictType):
                raise IndexingError(f"no key {key!r}; the keys are {list(s.type.keys())}")
            raise DTypeError(f"expected a dict, got {s.type}")
    return DictGet(key)(s)  # infer reports a bad key with the user's line


# -- sparse adjoints -----------------------------------------------------------
def densify(adjoint: Node | None, x: Node) -> Node:
    """Pad a sparse adjoint with zeros of ``x``'s entries, so it has every key of x."""
    t = x.type
    if isinstance(t, TensorType):
        return adjoint if adjoint is not None else full_like(x, 0)
    if isinstance(t, TupleType):
        items = [
            densify(None if adjoint is None else entry(adjoint, i), _present(x, i))
            for i in range(len(t.items))
        ]
        return make_tuple(*items)
    assert isinstance(t, DictType)
    return make_dict(
        {k: densify(None if adjoint is None else entry(adjoint, k), _present(x, k)) for k in t}
    )


def _present(x: Node, key: int | str) -> Node:
    """``x[key]``, an entry the value ``x`` has (only an adjoint leaves entries out)."""
    found = entry(x, key)
    if found is None:
        raise GraphError(f"{x.name} has no entry {key!r} ({x.type})")
    return found
