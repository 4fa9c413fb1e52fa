"""Loops whose bodies compile, as native loops (the numba backend's loops).

A loop node (``scan``, ``fori_loop``, ``while_loop``, and the backward and tangent loops
their derivatives are) runs under its usual driver (:class:`~graphad.compiler.loop_run.
LoopProgram`: trip count, checkpointed stretches, replays, ``max_steps``), but when every
node of its body, of a while loop's condition and of the loop a backward loop replays has
a native form, its step functions are numba's (:mod:`graphad.compiler.native_loop`): the
driver calls native code once a run (once a stretch under checkpoints), and a step costs
what its arithmetic costs.  The node is rebuilt with a :class:`NumbaLoop` op running that
program; a loop that does not compile keeps its op and runs its generated Python steps,
and the backend's fallbacks say why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphad.compiler.loop_code import Stepper
from graphad.compiler.loop_run import LoopProgram
from graphad.compiler.native_loop import LoopSource, loop_source
from graphad.ir import Constant, Node, TensorType
from graphad.ir.node import make_node
from graphad.ops.loop import Loop, LoopForm
from graphad.runtime.numba_kernel import CompileFailure, Kernel
from graphad.runtime.numba_math import LIBRARY


def _scalar(p: Node) -> np.dtype | None:
    """The dtype of a 0-d parameter; None for an array (loop_source checked it a tensor)."""
    t = p.type
    assert isinstance(t, TensorType)
    return t.dtype if t.shape == () else None


def _to_python(dtype: np.dtype) -> Callable[[Any], Any]:
    """How a 0-d value is handed to numba: one Python number type, whatever it came as."""
    return bool if dtype.kind == "b" else (int if dtype.kind in "iu" else float)


class NativeSteps:
    """A loop form's step function compiled by numba, called as the generated Python one
    is: ``steps(n, base, *carries, *xs, *consts, *outs)`` (a while loop's
    ``steps(limit, *carries, *consts, *outs)``, giving the carries or None, and n).  If
    numba cannot compile it, the Python step function runs instead, and ``failure`` says
    why."""

    def __init__(self, form: LoopForm, source: LoopSource, directory: Path) -> None:
        self.form = form
        self.kernel = Kernel(source.text, directory)
        self.constants = [c.op.value for c in source.constants if isinstance(c.op, Constant)]
        self.failure: str | None = None
        carries = [_scalar(p) for p in form.carry_params()]
        self._carry_in = [None if d is None else _to_python(d) for d in carries]
        consts = [_scalar(p) for p in form.const_params()]
        self._const_in = [None if d is None else _to_python(d) for d in consts]
        self._carry_out = carries
        self._python: Callable[..., Any] | None = None

    # what the driver asks of step functions (loop_run.StepFunctions)
    @property
    def _fn_fast(self) -> list[Callable[..., Any]] | None:
        return None  # no float version to try first: native code is IEEE's already

    @property
    def _fn_general(self) -> list[Callable[..., Any]]:
        return [self]

    @property
    def functions(self) -> list[Callable[..., Any]]:
        return [self]

    def failed_step(self, error: BaseException) -> tuple[Any, list[Any]] | None:
        return None  # native code has no line per node: the driver names the loop

    def __call__(self, *args: Any) -> Any:
        if self._python is not None:
            return self._python(*args)
        try:
            return self._native(args)
        except CompileFailure as e:
            self.failure = f"numba could not compile the loop: {e}"
            self._python = Stepper(self.form)._fn_general[0]
            return self._python(*args)

    def _native(self, args: Sequence[Any]) -> Any:
        form = self.form
        lead = 1 if form.cond is not None else 2
        c, k = form.carries, form.consts
        values = [int(a) for a in args[:lead]]
        carries = args[lead : lead + c]
        values += [v if f is None else f(v) for f, v in zip(self._carry_in, carries)]
        rest = list(args[lead + c :])
        xs = 0 if form.cond is not None else form.xs
        values += rest[:xs]
        consts = rest[xs : xs + k]
        values += [v if f is None else f(v) for f, v in zip(self._const_in, consts)]
        values += rest[xs + k :]  # the stacked outputs' buffers
        result = self.kernel(*values, *self.constants)
        if form.cond is None:
            return self._carries(result)
        done, found, n = result
        return (self._carries(found) if done else None), n

    def _carries(self, found: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(v if d is None else np.asarray(v, d) for v, d in zip(found, self._carry_out))


@dataclass(frozen=True, eq=False)
class NumbaLoop(Loop):
    """A loop run by native step functions; named as the loop it stands for."""

    form: LoopForm = field(repr=False)
    label: str = "loop"
    program: LoopProgram | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.label

    def compute(self, *values: Any) -> tuple[Any, ...]:
        assert self.program is not None
        return self.program(*values)

    @property
    def steps(self) -> list[NativeSteps]:
        """The native step functions: the loop's, and the replayed loop's."""
        program = self.program
        found: list[Any] = [] if program is None else [program.stepper, program.replay]
        return [s for s in found if isinstance(s, NativeSteps)]


def native_loop(node: Node, inputs: tuple[Node, ...], directory: Path) -> Node | str:
    """``node`` (a loop) rebuilt on ``inputs`` to run native step functions, or why its
    loop cannot be compiled."""
    op = node.op
    assert isinstance(op, Loop)
    forms = [op.form] if op.form.replay is None else [op.form, op.form.replay]
    sources: dict[int, LoopSource] = {}
    for f in forms:
        found = loop_source(f, LIBRARY)
        if isinstance(found, str):
            return found
        sources[id(f)] = found

    def make(form: LoopForm) -> NativeSteps:
        return NativeSteps(form, sources[id(form)], directory)

    program = LoopProgram(op.form, op.name, make)
    loop = NumbaLoop(op.form, op.name, program)
    return make_node(loop, inputs, node.type, node.name, node.origin)
