"""``Op``: the contract every operation fulfils, and the way to add one.

An op is a value: its attributes (axis, shape, key, ...) are its only state,
and two ops are equal when their class and attributes are, so CSE can merge
nodes keyed on ``(op, inputs)``.  Each op class keeps four things together:

- ``infer(*input_types) -> type``: the shape/dtype rule; raises a typed
  :class:`GraphError` whose message :meth:`Op.__call__` prefixes with the op,
  the operand types and the user's line;
- ``compute(*values) -> value``: the NumPy kernel;
- ``vjp(node, g) -> tuple``: one adjoint node (or ``None``: no gradient flows
  into that input) per input, in the shape of ``node`` where broadcasting
  applies; the reverse pass un-broadcasts once;
- ``jvp(node, tangents) -> node | None``: the output tangent, given one
  tangent per input (``None`` meaning zero).

Rules build their results from graphad ops only, so derivatives can be
differentiated again.

Adding an op is writing one such class; there is nothing to register::

    @dataclass(frozen=True)
    class Softplus(ga.Op):
        def infer(self, x):
            return x                                  # same shape and dtype
        def compute(self, x):
            return np.logaddexp(0, x)                 # log(1 + eˣ) without overflow
        def vjp(self, node, g):                       # x̄ = g·σ(x)
            return (g * ga.sigmoid(node.inputs[0]),)
        def jvp(self, node, t):
            return t[0] * ga.sigmoid(node.inputs[0])

    y = Softplus()(x)        # a node; gradients of any order work

A rule left out raises a DifferentiationError naming the op when a pass needs it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from typing import Any

from graphad.ir.errors import DifferentiationError, GraphError
from graphad.ir.node import Node, current_origin, make_node, user_location
from graphad.ir.types import ValueType


@functools.cache
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_SINGLES: dict[type, Any] = {}  # the one instance of each attributeless op class
_WITH_ATTRIBUTES: set[type] = set()  # the op classes found not to be


def _attributeless(cls: type) -> bool:
    """A frozen dataclass without fields that compares by value (not by identity)."""
    params = getattr(cls, "__dataclass_params__", None)
    return params is not None and params.frozen and params.eq and not fields(cls)


class Op:
    """Base class of all ops; subclasses are frozen dataclasses of their attributes."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """An op without attributes (a frozen dataclass of no fields: ``Multiply()``) is one
        value, so its class makes it once: a graph of 10⁵ products holds one ``Multiply()``,
        not 10⁵ equal objects for the garbage collector to walk.  Ops with attributes are
        made as usual."""
        if not args and not kwargs:
            single = _SINGLES.get(cls)
            if single is not None:
                return single
            if cls not in _WITH_ATTRIBUTES:
                if _attributeless(cls):
                    single = _SINGLES[cls] = object.__new__(cls)
                    return single
                _WITH_ATTRIBUTES.add(cls)
        return object.__new__(cls)

    @property
    def name(self) -> str:
        return _snake(type(self).__name__)

    def infer(self, *types: ValueType) -> ValueType:
        raise NotImplementedError(f"{self.name}: no shape rule")

    def compute(self, *values: Any) -> Any:
        raise NotImplementedError(f"{self.name}: no kernel")

    def vjp(self, node: Node, g: Node) -> Sequence[Node | None]:
        raise DifferentiationError(f"{self.name}: no vjp rule (reverse mode is not defined)")

    def jvp(self, node: Node, tangents: Sequence[Node | None]) -> Node | None:
        raise DifferentiationError(f"{self.name}: no jvp rule (forward mode is not defined)")

    def vjp_wanted(self, node: Node, g: Node, wanted: Sequence[bool]) -> Sequence[Node | None]:
        """``vjp`` when the reverse pass needs only the inputs marked in ``wanted`` (those on
        a path to some x; an entry not wanted may be None).  By default all of ``vjp``; a
        family whose rule is stated per input builds only the adjoints asked for, as JAX's
        transpose rules build cotangents only for the linear inputs."""
        return self.vjp(node, g)

    def attributes(self) -> dict[str, Any]:
        if not is_dataclass(self):
            return {}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.repr}

    def __str__(self) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in self.attributes().items())
        return f"{self.name}({attrs})" if attrs else self.name

    def describe(self, types: Sequence[ValueType]) -> str:
        """``add((2, 3):float64, (4,):float64)``: the op with its operand types, for errors."""
        return f"{self}(" + ", ".join(map(str, types)) + ")" if types else str(self)

    def __call__(self, *inputs: Any, name: str | None = None) -> Node:
        """Infer the output type and make the node (called ``name``, when given); shape
        errors name the user's line.

        Arrays and Python scalars among the inputs become constants (scalars take
        the dtype of the node inputs beside them, as NumPy does).
        """
        # looked up once for the node and the constants made for its scalar operands
        origin = current_origin()
        for x in inputs:
            if not isinstance(x, Node):
                from graphad.ir.leaves import as_nodes

                try:
                    inputs = as_nodes(*inputs, origin=origin)
                except GraphError as e:
                    raise type(e)(f"{self.name}: {e}") from None
                break
        types = [x.type for x in inputs]
        try:
            out_type = self.infer(*types)
        except GraphError as e:
            raise type(e)(f"{self.describe(types)}: {e} ({user_location()})") from None
        except Exception as e:  # a user-defined rule raising something else: still name it
            raise GraphError(
                f"{self.describe(types)}: {type(e).__name__}: {e} ({user_location()})"
            ) from e
        return make_node(self, inputs, out_type, name, origin)
