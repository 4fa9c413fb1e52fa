"""Results that are not made until their consumer says where they go.

A concatenation or a reshape (an op whose ``placing`` trait is set) copies its operands'
entries into a new array.  When its result is read by one more such op only, and copied
again there, the first copy is wasted: BA's Jacobian blocks (p, 2, 15) were joined from
three blocks, reshaped to a vector and joined with the weights' diagonal, 7.6 MB copied
twice.  Generated code (:mod:`graphad.compiler.codegen`) makes such a result a
:class:`Pending` (the op and its operands, nothing computed), and the consumer's kernel
places it: it finds the shapes (``Op.placed_shape``), draws one array for its own result
and has each pending operand write its entries into their part of it (``Op.place``), so
each entry is copied once, from where it was made to where it ends.  A kernel that is
handed a pending operand it does not place makes it first (:meth:`Pending.value`): the
op's own ``compute``, the same bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphad.ops._buffers import assign


class Pending:
    """``op(*values)`` of ``dtype`` (the node's), not computed yet: its consumer places it
    (see the module)."""

    __slots__ = ("_shape", "dtype", "op", "values")

    def __init__(self, op: Any, dtype: np.dtype, *values: Any) -> None:
        self.op = op
        self.dtype = dtype
        self.values = values
        self._shape: tuple[int, ...] | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        if self._shape is None:
            self._shape = tuple(self.op.placed_shape(*self.values))
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def value(self) -> Any:
        """The result, made by the op's own kernel."""
        return self.op.compute(*(made(v) for v in self.values))

    def place(self, out: np.ndarray) -> None:
        """Write the result into ``out`` (an array of its shape, of any layout)."""
        self.op.place(out, *self.values)


def made(value: Any) -> Any:
    """``value``, made where it is pending."""
    return value.value() if type(value) is Pending else value


def put(out: np.ndarray, value: Any) -> None:
    """``out[...] = value``: a pending value placed there, an array assigned."""
    if type(value) is Pending:
        value.place(out)
    else:
        assign(out, value)


def is_pending(value: Any) -> bool:
    return type(value) is Pending
