"""The loop ops: ``Scan`` (a counted loop, over xs or a trip count) and ``WhileLoop``.

Both are :class:`~graphad.ops.loop.Loop` ops: a frozen dataclass of one field, the
:class:`~graphad.ops.loop.LoopForm` that describes the loop, so the compiler types,
rewrites, plans and generates them from the form alone.  What this module adds is what
needs the passes: their kernel (the compiled loop, made once per op), and their rules,
which :mod:`.loop_vjp`, :mod:`.loop_jvp` and :mod:`.loop_batch` build as loops again, and
their sparsity, which :mod:`.loop_sparsity` reads from the body step after step:

- vjp: a scan running backwards over the per-step values the forward loop saved (its
  *residuals*), whose body is the reverse sweep of the forward body (see ``loop_vjp``);
- jvp: the loop over (carry, tangent), whose body is the forward sweep of the body;
- batch: the loop over the batched body (a while loop whose condition differs between
  examples runs until every example is done, finished ones held where they stopped).

So ``gradients`` of a gradient through a loop differentiates the backward loop, and so on
for every order, with no special case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphad.compiler.loop_run import LoopProgram
from graphad.control import loop_batch, loop_jvp, loop_sparsity, loop_vjp
from graphad.ir import Node
from graphad.ir.dependence import Dependences, Detect
from graphad.ops._util import Tangents
from graphad.ops.loop import Loop, LoopForm


class LoopOp(Loop):
    """What ``Scan`` and ``WhileLoop`` share: the compiled kernel and the rules."""

    form: LoopForm

    def compute(self, *values: Any) -> tuple[Any, ...]:
        return self.program(*values)

    @property
    def program(self) -> LoopProgram:
        """The loop compiled (generated once, when first run)."""
        found: LoopProgram | None = self.__dict__.get("_program")
        if found is None:
            found = LoopProgram(self.form, self.name)
            object.__setattr__(self, "_program", found)
        return found

    def __getstate__(self) -> dict[str, Any]:
        return {"form": self.form}  # the compiled loop is made again when loaded

    def vjp(self, node: Node, g: Node) -> tuple[Node | None, ...]:
        """x̄ = backward scan over the saved per-step values of the body's vjp"""
        return self.vjp_wanted(node, g, [True] * len(node.inputs))

    def vjp_wanted(self, node: Node, g: Node, wanted: Sequence[bool]) -> tuple[Node | None, ...]:
        return loop_vjp.vjp(node, g, wanted)

    def jvp(self, node: Node, t: Tangents) -> Node | None:
        """ẏ = the loop over (carry, tangent), its body the body's jvp"""
        return loop_jvp.jvp(node, t)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node | None:
        """the loop over the batched body"""
        return loop_batch.batch(node, xs, batched)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """the body's pattern carried step by step (a scan of known length), or to its
        fixpoint (a while loop, a trip count known at run time)"""
        return loop_sparsity.sparsity(node, detect)


@dataclass(frozen=True, eq=False)
class Scan(LoopOp):
    """Carries through T steps of the body (T fixed when the loop starts), stacking the
    per-step outputs: ``lax.scan``, and ``fori_loop``."""

    form: LoopForm = field(repr=False)


@dataclass(frozen=True, eq=False)
class WhileLoop(LoopOp):
    """Carries through the body while the condition holds (at most ``max_steps`` times)."""

    form: LoopForm = field(repr=False)
