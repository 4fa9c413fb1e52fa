"""Code generation: a plan lowered to straight-line Python, compiled once.

Each value is a local variable, each step one line calling the NumPy ufunc or the op's
kernel directly, and ``del`` follows a value's last use, so the per-node cost is close to
the call itself.  Long plans are cut into chunks of ``CHUNK`` steps (Python compiles a
function of 10⁵ statements slowly); values crossing a chunk boundary go through the slot
list.  0-d float64 regions become Python float arithmetic and ``math`` calls, each op's
``scalar`` formula (see :mod:`~graphad.compiler.floats`); an elementwise ufunc writes into
the buffer of an operand that dies at that step when nothing else can see that buffer
(``out=``), and an op that writes its kernel as an expression (``Op.code``: ``a @ b``, a
transpose or reshape as the array's method) is written out rather than called.  An op whose
``control`` is ``"select"`` (``cond``) becomes an ``if``/``else`` over its branches' own
code; any other op with sub-graphs runs its own kernel (a loop's is a generated loop).

A failing line is mapped back to its step, so an error names the node and its user line.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.compiler import floats
from graphad.compiler.contract import Checked
from graphad.compiler.patterns import is_own
from graphad.compiler.plan import Plan, Step
from graphad.ir import Constant, Node, Placeholder, SubGraph, TensorType, static_shape
from graphad.ops import _buffers as buffers
from graphad.ops._placing import Pending
from graphad.ops._ufunc import Binary, Unary

_ARG_NAME = re.compile(r"^\w+\((\w+)\)$")  # as_f64(v3) -> v3: the value behind an argument
CHUNK = 500  # compiling costs ~15 µs a line, and more per line in longer functions
_programs = itertools.count()


def ufunc_of(node: Node) -> Any:
    """The ufunc a node's kernel is exactly (a unary/binary op that keeps the default compute)."""
    op, compute = node.op, type(node.op).compute
    if isinstance(op, (Unary, Binary)) and (compute is Unary.compute or compute is Binary.compute):
        return op.ufunc
    return None


Line = tuple[Step, list[str]]  # the step a generated line runs, and its argument expressions


@dataclass
class Code:
    """Generated lines and, by line number, the step each runs (for error reports)."""

    lines: list[str]
    info: list[Line | None]

    def emit(self, text: str, line: Line | None = None) -> None:
        self.lines.append(text)
        self.info.append(line)


@dataclass
class Chunk:
    source: str
    lines: list[Line | None]  # by line number (1-based): the step the line runs, or None


class Program:
    """The plan as generated Python: ``run(slots)`` fills the fetch slots of ``slots``.

    Pickles as its source and namespace; the code is compiled again on load.
    ``specialised`` says whether a 0-d float64 version runs first (with the general
    version as fallback).
    """

    def __init__(self, plan: Plan, specialise: bool = True, pool: bool = True) -> None:
        self.plan = plan
        # decided here, once: a plan of small static values only (no loop or branch, whose
        # bodies are not looked into) never asks the pool for a buffer, so its runs skip
        # the pool's bookkeeping, which costs more than a small plan's kernels
        self.pooled = pool and not all(_small(s.node) for s in plan.steps)
        self.namespace: dict[str, Any] = {
            "Pending": Pending,
            "as_f64": np.float64,
            "ufunc_into": buffers.ufunc_into,
            **floats.NAMESPACE,
        }
        self.general = self._generate(plan, lower=False)
        lowered = specialise and any(floats.lowers(s.node) for s in plan.steps)
        # a re-run must have no side effects: the float version calls no kernel of a user's
        # op (one with a scalar formula runs the formula there, never its kernel)
        own = all(is_own(s.node) or floats.lowers(s.node) for s in plan.steps)
        self.fast = self._generate(plan, lower=True) if lowered and own else None
        self._compile()

    # -- pickling: code objects are not kept, they are made again -------------------
    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_fn")}
        state["namespace"] = {k: v for k, v in self.namespace.items() if k not in _POOL_NAMES}
        state.pop("pool", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._compile()

    def _compile(self) -> None:
        self.pool = buffers.BufferPool()  # each program its own, made again when unpickled
        self.namespace["give"] = self.pool.give
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
        return scope["chunk"]

    # -- running -----------------------------------------------------------------
    def run(self, slots: list[Any]) -> None:
        """Run every step on ``slots`` (constants and feeds filled in)."""
        if not self.pooled:
            self._run(slots)
            return
        self.pool.start_run()
        with buffers.running(self.pool):
            self._run(slots)

    def _run(self, slots: list[Any]) -> None:
        if self._fn_fast is not None:
            saved = list(slots)
            try:
                for fn in self._fn_fast:
                    fn(slots)
                return
            except floats.FALLBACK_ERRORS as e:
                found = self.failed_step(e)
                if found is None or not floats.lowers(found[0].node):
                    raise  # a kernel's own error, not Python float arithmetic's
                slots[:] = saved
        for fn in self._fn_general:
            fn(slots)

    def failed_step(self, error: BaseException) -> tuple[Step, list[Any]] | None:
        """The step whose generated line raised ``error``, and its input values."""
        chunks = {}
        for fns, gen in ((self._fn_general, self.general), (self._fn_fast, self.fast)):
            if fns is not None and gen is not None:
                chunks.update({fn.__code__: c for fn, c in zip(fns, gen)})
        tb = error.__traceback__
        found = None
        while tb is not None:
            chunk = chunks.get(tb.tb_frame.f_code)
            if chunk is not None and tb.tb_lineno < len(chunk.lines):
                line = chunk.lines[tb.tb_lineno]
                if line is not None:
                    step, args = line
                    scope = {**self.namespace, **tb.tb_frame.f_locals}
                    found = (step, [scope.get(_ARG_NAME.sub(r"\1", a)) for a in args])
            tb = tb.tb_next
        return found

    # -- generation --------------------------------------------------------------
    def _generate(self, plan: Plan, lower: bool) -> list[Chunk]:
        users = plan.consumers()
        fetched = set(plan.fetch_slots)
        lowered = {s.out for s in plan.steps if lower and floats.lowers(s.node)}
        pending, postponed = _pending(plan, users, fetched, lowered)
        held = {i for slots in postponed.values() for i in slots}
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
            info: list[Line | None] = [None, None]
            local: set[int] = set()
            loaded: set[int] = set()
            floated: set[int] = set()

            def arg(
                i: int,
                as_float: bool,
                local: set[int] = local,
                loaded: set[int] = loaded,
                floated: set[int] = floated,
                lines: list[str] = lines,
                info: list[Line | None] = info,
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
                    if i in lowered:
                        return f"v{i}"
                    if i not in floated:  # converted once, at its first use as a float
                        lines.append(f"    v{i}f = float(v{i})")
                        info.append(None)
                        floated.add(i)
                    return f"v{i}f"
                return f"as_f64(v{i})" if i in lowered else f"v{i}"

            for k in range(start, min(start + CHUNK, len(plan.steps))):
                step = plan.steps[k]
                node = step.node
                out = step.out
                call: str | None
                if out in lowered:
                    args = [arg(i, True) for i in step.ins]
                    call = floats.expression(node, args)
                elif out in pending:  # made where its consumer places it (ops._placing)
                    args = [arg(i, False) for i in step.ins]
                    self.namespace[f"op{out}"] = node.op
                    self.namespace.setdefault(f"dt_{node.dtype.name}", node.dtype)
                    call = f"Pending(op{out}, dt_{node.dtype.name}, {', '.join(args)})"
                else:
                    args = [arg(i, False) for i in step.ins]
                    reuse = self._reusable(step, users, fetched | held, ufuncs, lowered, order)
                    into = None
                    if reuse is None and out not in fetched:
                        into = self._into(step, args)
                    placed = any(i in pending for i in step.ins)  # its kernel places them
                    call = into or self._call(step, args, f"k{out}", reuse, written=not placed)
                if call is None:  # a selecting op: an if over its branches' code
                    self._branches(step, args, f"v{out}", f"b{out}_", "    ", Code(lines, info))
                else:
                    lines.append(f"    v{out} = {call}")
                    info.append((step, args))
                local.add(out)
                # a pending result's operands are released after the kernel that places it
                frees = [i for i in step.frees if i not in held] + postponed.get(out, [])
                for i in frees:
                    if i in loaded:  # first, so that the pool sees the local's reference only
                        lines.append(f"    slots[{i}] = None")
                        info.append(None)
                    if i in local:
                        local.discard(i)
                        if i not in lowered:  # a Python float is not worth a line to free
                            if self.pooled and _may_be_large(order[i]):
                                lines.append(f"    give(v{i})")
                                info.append(None)
                            lines.append(f"    del v{i}")
                            info.append(None)
                    if i in floated:
                        floated.discard(i)
            for i in sorted(local):
                if last_chunk.get(i, -1) > c or i in fetched:
                    # a float crossing into the next chunk stays a float; a fetch is NumPy's
                    value = f"as_f64(v{i})" if i in lowered and i in fetched else f"v{i}"
                    lines.append(f"    slots[{i}] = {value}")
                    info.append(None)
            lines.append("    return None")
            info.append(None)
            chunks.append(Chunk("\n".join(lines) + "\n", info))
        return chunks

    def _call(
        self, step: Step, args: list[str], kernel: str, reuse: int | None, written: bool = True
    ) -> str | None:
        """The expression running ``step`` on ``args`` (``None`` for a selecting op, whose
        branches are inlined), into the buffer of operand ``reuse`` when given; the op's
        own expression (``Op.code``) only when ``written``, else its kernel."""
        node = step.node
        if node.op.control == "select":
            return None
        ufunc = ufunc_of(node)
        if ufunc is not None:
            name = f"np_{ufunc.__name__}"
            self.namespace.setdefault(name, ufunc)
            extra = f", out=v{reuse}" if reuse is not None else ""
            return f"{name}({', '.join(args)}{extra})"
        if is_own(node):  # a user's op's results are checked against its type: called
            self.namespace[kernel] = step.fn  # an op's expression may call it
            expression = node.op.code(node, args, kernel) if written else None
            return f"{kernel}({', '.join(args)})" if expression is None else expression
        self.namespace[kernel] = Checked(step.fn, node)
        return f"{kernel}({', '.join(args)})"

    def _branches(
        self, step: Step, args: list[str], out: str, prefix: str, indent: str, code: Code
    ) -> None:
        """``if pred: <true branch> else: <false branch>``, each branch's plan inlined with
        its parameters bound to the cond's operands and its result assigned to ``out``."""
        for j, a in enumerate(args):
            if not a.isidentifier():  # evaluate a conversion once, not at every use
                code.emit(f"{indent}{prefix}a{j} = {a}")
                args[j] = f"{prefix}a{j}"
        code.emit(f"{indent}if {args[0]}:", (step, args))
        for k, branch in enumerate(step.node.op.branches):
            if k:
                code.emit(f"{indent}else:")
            self._inline(branch, args[1:], out, f"{prefix}{'tf'[k]}", indent + "    ", code)

    def _inline(
        self, branch: SubGraph, operands: list[str], out: str, prefix: str, indent: str, code: Code
    ) -> None:
        """A branch's own plan as code: straight calls, ``del`` after last use."""
        plan = Plan(list(branch.outputs))
        names: dict[int, str] = {}
        for p, s in zip(branch.params, branch.slots):
            if p in plan.slot:
                names[plan.slot[p]] = operands[s]
        for i, node in enumerate(plan.order):
            if isinstance(node.op, Constant):
                names[i] = f"{prefix}c{i}"
                self.namespace[names[i]] = node.op.value
        for step in plan.steps:
            args = [names[i] for i in step.ins]
            var = names[step.out] = f"{prefix}v{step.out}"
            call = self._call(step, args, f"{prefix}k{step.out}", None)
            if call is None:
                self._branches(step, args, var, f"{prefix}b{step.out}_", indent, code)
            else:
                code.emit(f"{indent}{var} = {call}", (step, args))
            for i in step.frees:
                if names.get(i, "").startswith(f"{prefix}v"):  # locals only, never operands
                    code.emit(f"{indent}del {names[i]}")
        code.emit(f"{indent}{out} = {names[plan.fetch_slots[0]]}")

    def _into(self, step: Step, args: list[str]) -> str | None:
        """A ufunc's result that may be large, written into a buffer of the program's pool
        laid out as :func:`~graphad.ops._buffers.batch_last` says, when its dtype is its
        operands' (``out=`` then casts nothing)."""
        node = step.node
        t = node.type
        ufunc = ufunc_of(node)
        if ufunc is None or not isinstance(t, TensorType) or not _may_be_large(node):
            return None
        if any(not isinstance(x.type, TensorType) or x.dtype != t.dtype for x in node.inputs):
            return None
        name, dtype = f"np_{ufunc.__name__}", f"dt_{t.dtype.name}"
        self.namespace.setdefault(name, ufunc)
        self.namespace.setdefault(dtype, t.dtype)
        shape = repr(t.shape) if t.is_static else "None"
        return f"ufunc_into({name}, {shape}, {dtype}, {', '.join(args)})"

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
        if buffers.batch_last(static_shape(t)):  # ufunc_into lays it out and runs it faster
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


def _pending(
    plan: Plan, users: dict[int, list[Step]], fetched: set[int], lowered: set[int]
) -> tuple[dict[int, int], dict[int, list[int]]]:
    """The results of placing ops (``Op.placing``: concatenations, reshapes) that one more
    placing op reads, once, and nothing else: each made a :class:`Pending` for that op's
    kernel to place (see :mod:`graphad.ops._placing`), mapped to the slot of the kernel that
    places the chain they end in (in the same chunk); and, by that kernel's slot, the
    operands of pending results whose release moves after it (they are read there)."""
    index = {s.out: k for k, s in enumerate(plan.steps)}
    root: dict[int, int] = {}
    for k in range(len(plan.steps) - 1, -1, -1):  # consumers first: a chain's root is known
        step = plan.steps[k]
        readers = users.get(step.out, [])
        if not step.node.op.placing or step.out in fetched or step.out in lowered:
            continue
        if not _may_be_large(step.node):  # a small copy costs less than a Pending
            continue
        if len(readers) != 1 or readers[0].ins.count(step.out) != 1:
            continue
        reader = readers[0]
        if not reader.node.op.placing or reader.out in lowered:
            continue
        end = root.get(reader.out, reader.out)
        if index[end] // CHUNK == k // CHUNK:
            root[step.out] = end
    released = {i: index[s.out] for s in plan.steps for i in s.frees}
    postponed: dict[int, list[int]] = {}
    for out, end in root.items():
        for i in plan.steps[index[out]].ins:
            later = postponed.setdefault(end, [])
            if released.get(i, 1 << 60) < index[end] and i not in later:
                later.append(i)
    return root, postponed


def _may_be_large(node: Node) -> bool:
    """Whether the node's value may reach the pool's ``MIN_BYTES`` or be laid out batch last:
    a tensor of unknown dims, or of a static shape that does."""
    t = node.type
    if not isinstance(t, TensorType) or t.shape is None:
        return False
    if not t.is_static:
        return True
    shape = static_shape(t)
    return math.prod(shape) * t.dtype.itemsize >= buffers.MIN_BYTES or buffers.batch_last(shape)


def _small(node: Node) -> bool:
    """Whether the node's value is surely below the pool's ``MIN_BYTES`` and not laid out
    batch last: a tensor of static shape, made by no loop or branch (whose bodies may make
    larger values).  A kernel draws from the pool buffers of its result's size only."""
    t = node.type
    if node.op.control is not None or not isinstance(t, TensorType) or not t.is_static:
        return False
    shape = static_shape(t)
    return math.prod(shape) * t.dtype.itemsize < buffers.MIN_BYTES and not buffers.batch_last(shape)


_POOL_NAMES = ("give",)  # the pool's functions in a namespace: not pickled


def make_program(plan: Plan, specialise: bool = True) -> Program:
    """Generate and compile the code of ``plan``."""
    return Program(plan, specialise)
