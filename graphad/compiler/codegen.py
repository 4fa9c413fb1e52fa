"""Code generation: a plan lowered to straight-line Python, compiled once.

Each value is a local variable, each step one line calling the NumPy ufunc or the op's
kernel directly, and ``del`` follows a value's last use, so the per-node cost is close to
the call itself.  Long plans are cut into chunks of ``CHUNK`` steps (Python compiles a
function of 10⁵ statements slowly); values crossing a chunk boundary go through the slot
list.  0-d float64 regions become Python float arithmetic and ``math`` calls (see
:mod:`~graphad.compiler.floats`); an elementwise ufunc writes into the buffer of an
operand that dies at that step when nothing else can see that buffer (``out=``).

A failing line is mapped back to its step, so an error names the node and its user line.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.compiler import floats
from graphad.compiler.contract import checked
from graphad.compiler.patterns import is_own
from graphad.compiler.plan import Plan, Step
from graphad.ir import Constant, Node, Placeholder, TensorType
from graphad.ops._ufunc import Binary, Unary

CHUNK = 500  # compiling costs ~15 µs a line, and more per line in longer functions
_programs = itertools.count()


def ufunc_of(node: Node) -> Any:
    """The ufunc a node's kernel is exactly (a unary/binary op that keeps the default compute)."""
    compute = type(node.op).compute
    if compute is Unary.compute or compute is Binary.compute:
        return node.op.ufunc  # type: ignore[attr-defined]
    return None


@dataclass
class Chunk:
    source: str
    lines: list[int | None]  # line number (1-based) -> index of the step it runs, or None


class Program:
    """The plan as generated Python: ``run(slots)`` fills the fetch slots of ``slots``.

    Pickles as its source and namespace; the code is compiled again on load.
    ``specialised`` says whether a 0-d float64 version runs first (with the general
    version as fallback).
    """

    def __init__(self, plan: Plan, specialise: bool = True) -> None:
        self.plan = plan
        self.namespace: dict[str, Any] = {"as_f64": np.float64, **floats.NAMESPACE}
        self.general = self._generate(plan, lower=False)
        lowered = specialise and any(floats.lowers(s.node) for s in plan.steps)
        own = all(is_own(s.node) for s in plan.steps)  # a re-run must have no side effects
        self.fast = self._generate(plan, lower=True) if lowered and own else None
        self._compile()

    # -- pickling: code objects are not kept, they are made again -------------------
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_fn")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._compile()

    def _compile(self) -> None:
        tag = f"<graphad program {next(_programs)}>"
        self._fn_general = [self._function(c, f"{tag} {i}") for i, c in enumerate(self.general)]
        self._fn_fast = (
            None
            if self.fast is None
            else [self._function(c, f"{tag} float {i}") for i, c in enumerate(self.fast)]
        )

    def _function(self, chunk: Chunk, filename: str) -> Callable[[list[Any]], None]:
        scope: dict[str, Any] = {}
        exec(compile(chunk.source, filename, "exec"), self.namespace, scope)
        return scope["chunk"]  # type: ignore[no-any-return]

    # -- running -----------------------------------------------------------------
    def run(self, slots: list[Any]) -> None:
        """Run every step on ``slots`` (constants and feeds filled in)."""
        if self._fn_fast is not None:
            saved = list(slots)
            try:
                for fn in self._fn_fast:
                    fn(slots)
                return
            except floats.FALLBACK_ERRORS as e:
                if self.failed_step(e) is None or not self._lowered_failure(e):
                    raise
                slots[:] = saved
        for fn in self._fn_general:
            fn(slots)

    def _lowered_failure(self, error: BaseException) -> bool:
        found = self.failed_step(error)
        return found is not None and floats.lowers(found[0].node)

    def failed_step(self, error: BaseException) -> tuple[Step, dict[str, Any]] | None:
        """The step whose generated line raised ``error``, and that frame's locals."""
        chunks = {}
        for fns, gen in ((self._fn_general, self.general), (self._fn_fast, self.fast)):
            if fns is not None and gen is not None:
                chunks.update({fn.__code__: c for fn, c in zip(fns, gen)})
        tb = error.__traceback__
        found = None
        while tb is not None:
            chunk = chunks.get(tb.tb_frame.f_code)
            if chunk is not None and tb.tb_lineno < len(chunk.lines):
                index = chunk.lines[tb.tb_lineno]
                if index is not None:
                    found = (self.plan.steps[index], tb.tb_frame.f_locals)
            tb = tb.tb_next
        return found

    # -- generation --------------------------------------------------------------
    def _generate(self, plan: Plan, lower: bool) -> list[Chunk]:
        users = plan.consumers()
        fetched = set(plan.fetch_slots)
        lowered = {s.out for s in plan.steps if lower and floats.lowers(s.node)}
        ufuncs = {s.out: ufunc_of(s.node) for s in plan.steps}
        last_chunk: dict[int, int] = {}
        for k, s in enumerate(plan.steps):
            for i in s.ins:
                last_chunk[i] = k // CHUNK
        order = plan.order
        for i in fetched:
            last_chunk[i] = 1 << 60
        chunks = []
        for start in range(0, len(plan.steps), CHUNK):
            c = start // CHUNK
            lines: list[str] = ["def chunk(slots):"]
            info: list[int | None] = [None, None]
            local: set[int] = set()
            loaded: set[int] = set()

            def arg(
                i: int,
                as_float: bool,
                local: set[int] = local,
                loaded: set[int] = loaded,
                lines: list[str] = lines,
                info: list[int | None] = info,
            ) -> str:
                node = order[i]
                if isinstance(node.op, Constant):
                    name = f"{'d' if as_float else 'c'}{i}"  # d: a Python float (double)
                    if name not in self.namespace:
                        value = node.op.value
                        self.namespace[name] = float(value) if as_float else value
                    return name
                if i not in local:
                    lines.append(f"    v{i} = slots[{i}]")
                    info.append(None)
                    local.add(i)
                    loaded.add(i)
                if as_float:
                    return f"v{i}" if i in lowered else f"float(v{i})"
                return f"as_f64(v{i})" if i in lowered else f"v{i}"

            for k in range(start, min(start + CHUNK, len(plan.steps))):
                step = plan.steps[k]
                node = step.node
                out = step.out
                if out in lowered:
                    args = [arg(i, True) for i in step.ins]
                    call = floats.expression(node, args)
                else:
                    args = [arg(i, False) for i in step.ins]
                    ufunc = ufuncs[out]
                    if ufunc is not None:
                        name = f"np_{ufunc.__name__}"
                        self.namespace.setdefault(name, ufunc)
                        reuse = self._reusable(step, users, fetched, ufuncs, lowered, order)
                        extra = f", out=v{reuse}" if reuse is not None else ""
                        call = f"{name}({', '.join(args)}{extra})"
                    else:
                        name = f"k{out}"
                        fn = step.fn if is_own(node) else checked(step.fn, node)
                        self.namespace[name] = fn
                        call = f"{name}({', '.join(args)})"
                lines.append(f"    v{out} = {call}")
                info.append(k)
                local.add(out)
                for i in step.frees:
                    if i in local:
                        lines.append(f"    del v{i}")
                        info.append(None)
                        local.discard(i)
                    if i in loaded:
                        lines.append(f"    slots[{i}] = None")
                        info.append(None)
            for i in sorted(local):
                if last_chunk.get(i, -1) > c or i in fetched:
                    value = f"as_f64(v{i})" if i in lowered else f"v{i}"
                    lines.append(f"    slots[{i}] = {value}")
                    info.append(None)
            lines.append("    return None")
            info.append(None)
            chunks.append(Chunk("\n".join(lines) + "\n", info))
        return chunks

    @staticmethod
    def _reusable(
        step: Step,
        users: dict[int, list[Step]],
        fetched: set[int],
        ufuncs: dict[int, Any],
        lowered: set[int],
        order: Sequence[Node],
    ) -> int | None:
        """An operand whose buffer the step may write its result into: it dies here, it
        was made by a ufunc (a fresh array nobody else holds), and every reader is a ufunc
        (which never returns a view of it); same shape and dtype as the result."""
        t = step.node.type
        if not isinstance(t, TensorType) or not t.is_static or not t.shape:
            return None
        for i in step.ins:
            if (
                i in step.frees
                and i not in fetched
                and i not in lowered
                and ufuncs.get(i) is not None
                and order[i].type == t
                and all(ufuncs.get(u.out) is not None for u in users.get(i, ()))
                and not isinstance(order[i].op, (Constant, Placeholder))
            ):
                return i
        return None


def make_program(plan: Plan, specialise: bool = True) -> Program:
    """Generate and compile the code of ``plan``."""
    return Program(plan, specialise)
