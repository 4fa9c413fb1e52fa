"""The rewrite rules' language: what a rule is, and what it may ask of a node.

A rule is a function ``(node, uses) -> Node | None`` stating one law in its docstring
and matching it with Python's ``match``; :func:`rule` makes it a :class:`Rule` that
carries, next to its definition, the op classes it applies to and those one of its
operands must have::

    @rule(ew.Subtract, operands=(ew.Negative,))
    def sub_negative(node: Node, uses: Uses) -> Node | None:
        '''x - (-y) -> x + y'''
        match node.inputs:
            case (x, Node(op=Op(ew.Negative), inputs=(y,))):
                return ew.Add()(x, y)
        return None

A law holds for the op it was proved for, not for a user's subclass that may compute
anything: a rule is tried only on nodes whose op class is exactly one of its ``ops`` (so
its pattern is over the node's inputs), and an operand's op is matched exactly too, as
``Op(ew.Negative)`` (``Op``'s one match argument is the op's class, compared with ``==``;
``ew.Negative()`` would match subclasses).  ``operands`` is what the pattern asks of the
operands' classes, stated for the driver, which then tries a rule only on nodes that have
such an operand (a class pattern costs a few hundred nanoseconds; most nodes have none).
What a rule needs beyond the node arrives as arguments: ``uses``, how many consumers each
value has in the graph being rewritten.  Nothing is cached on nodes: a constant's
``splat`` is a fact the constant states when it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import Constant, Node, Op, TensorType, constant
from graphad.ops import elementwise as ew
from graphad.ops.shape import BroadcastTo
from graphad.ops.utility import OnesLike, ZerosLike

Uses = Mapping[Node, int]  # how many consumers each node has in the graph being rewritten
Apply = Callable[[Node, Uses], "Node | None"]


@dataclass(frozen=True)
class Rule:
    """A law, ``apply(node, uses) -> replacement | None``, tried on nodes whose op's class
    is exactly one of ``ops`` (with ``family``, on every graphad op of a subclass of one:
    for a law that only runs the op's own kernel, as constant folding does) and, when
    ``operands`` are given, one of whose inputs has an op of exactly one of those classes.

    ``fast_math``: the law is not exact in floating point (it reassociates or factors
    products and sums, which can turn a finite value into inf or NaN, or back): it is
    applied to float and complex nodes only under the opt-in (``Executor(...,
    fast_math=True)``), and always to integer nodes, whose wrapping arithmetic is a ring
    where it is exact."""

    apply: Apply
    ops: tuple[type[Op], ...]
    operands: tuple[type[Op], ...] = ()
    family: bool = False
    fast_math: bool = False

    def __call__(self, node: Node, uses: Uses) -> Node | None:
        return self.apply(node, uses)

    @property
    def name(self) -> str:
        return self.apply.__name__

    @property
    def law(self) -> str:
        """The law, as the rule's docstring states it."""
        return (self.apply.__doc__ or "").strip()

    def applies_to(self, cls: type) -> bool:
        """Whether the rule is one of op class ``cls``'s."""
        if cls in self.ops:
            return True
        return self.family and issubclass(cls, self.ops) and is_own_class(cls)

    def tried_on(self, cls: type, operands: Sequence[type]) -> bool:
        """Whether the rule is tried on a node of op class ``cls`` whose inputs' op classes
        are ``operands``."""
        wanted = self.operands
        return self.applies_to(cls) and (not wanted or any(o in wanted for o in operands))


def rule(
    *ops: type[Op],
    operands: tuple[type[Op], ...] = (),
    family: bool = False,
    fast_math: bool = False,
) -> Callable[[Apply], Rule]:
    """Make the function below a :class:`Rule` for nodes of the op classes ``ops`` (with an
    operand of one of the classes ``operands``, when given; only under the opt-in for
    floats, with ``fast_math``).  Nothing is registered: the rule modules are read when a
    rewrite first needs them."""

    def make(apply: Apply) -> Rule:
        return Rule(apply, ops, operands, family, fast_math)

    return make


def exact_ring(node: Node) -> bool:
    """Whether ``node`` holds integers, whose wrapping arithmetic (modulo 2ⁿ) is associative
    and distributive: reassociating or factoring its sums and products changes nothing."""
    dtype = node.dtype
    return dtype is not None and dtype.kind in "iu"


def is_own_class(cls: type) -> bool:
    """Whether the op class is one of graphad's own (pure, known) ops, not a user's."""
    return cls.__module__.startswith("graphad.")


def is_own(node: Node) -> bool:
    """Whether the node's op is one of graphad's own (pure, known) ops, not a user's."""
    return type(node.op).__module__.startswith("graphad.")


# -- what a rule asks of a node --------------------------------------------------
def single_use(node: Node, uses: Uses) -> bool:
    """Whether ``node`` has exactly one consumer: a rule may then rebuild it in another form
    without the old one staying alive beside it."""
    return uses.get(node, 0) == 1


def negated(x: Node, uses: Uses) -> Node | None:
    """y when x is -y and x has no other consumer (so moving the negation costs nothing)."""
    match x:
        case Node(op=Op(ew.Negative), inputs=(y,)) if uses.get(x, 0) == 1:
            return y
    return None


def splat(node: Node) -> Any:
    """The one value every entry of ``node`` has, known before it runs; else ``None``.

    Small constants (their ``splat``), broadcasts of them, ``zeros_like`` and ``ones_like``.
    NaN is never reported (it equals nothing, so no law may use it).
    """
    op = node.op
    cls = type(op)
    if isinstance(op, Constant):
        return op.splat
    if cls is BroadcastTo:
        return splat(node.inputs[0])
    if cls is ZerosLike:
        return np.zeros((), node.dtype)[()]
    if cls is OnesLike:
        return np.ones((), node.dtype)[()]
    return None


def is_splat(node: Node, value: float) -> bool:
    """Whether every entry of ``node`` is known to equal ``value``."""
    v = splat(node)
    return v is not None and bool(v == value)


def static_type(node: Node) -> TensorType | None:
    """The node's tensor type when its shape is fully known."""
    t = node.type
    return t if isinstance(t, TensorType) and t.is_static else None


def same(x: Node, node: Node) -> bool:
    """x already has node's type: replacing node by x changes no shape and no dtype."""
    return x.type == node.type


def keeps(x: Node, partner: Node, node: Node) -> bool:
    """``node = f(x, partner)`` has x's type and x's run-time shape: the partner cannot
    stretch x at run time (each of its dims is 1 or a known dim of x; no more dims).
    Equal static types are not enough where dims are unknown: (?,) + (?,) may be
    (1,) + (3,)."""
    if not same(x, node):
        return False
    ps, xs = partner.shape, x.shape
    if ps is None or xs is None or len(ps) > len(xs):
        return False
    return all(p == 1 or (p is not None and p == d) for p, d in zip(reversed(ps), reversed(xs)))


def size(x: Node) -> int | None:
    """The number of entries of x when its shape is static."""
    # TensorType.size: math.prod on the int dims (np.prod of a tuple cost 8 µs a call, asked
    # twice per product)
    return x.size


def smaller(c: Node, than: Node) -> bool:
    """c has fewer elements than ``than`` and the same dtype (so c broadcasts into it)."""
    sc, st = size(c), size(than)
    return sc is not None and st is not None and sc < st and c.dtype == than.dtype


def filled(value: Any, like: Node) -> Node:
    """``value`` everywhere in ``like``'s static shape and dtype: a scalar constant,
    broadcast (so a large splat costs one number of memory, not a whole array)."""
    t = static_type(like)
    assert t is not None
    one = constant(np.asarray(value, dtype=t.dtype))
    return BroadcastTo(t.shape)(one) if t.shape else one
