"""Loops as generated Python: the body's plan inlined into a ``for`` (or ``while``) loop.

A loop form (:class:`~graphad.ops.loop.LoopForm`) compiles to a *step function*, one Python
function whose loop runs n steps of the body on local variables::

    def chunk(n, base, a0, X0, q0, Y0):      # carries, xs (n rows), consts, output buffers
        for j in range(n):                  # range(n - 1, -1, -1) when reversed
            r0 = X0[j]                      # the rows of the xs this step
            v3 = np_matmul(q0, a0)          # the body, one line a node, as in Program
            v4 = np_add(v3, r0, out=v3)
            v5 = np_tanh(v4, out=v4)
            Y0[j] = a0                      # per-step outputs into preallocated buffers
            a0 = v5                         # the new carries, all at once
        return (a0,)

The body is planned and generated once; its values are locals (a name per node, ``del``
after last use), elementwise ufuncs write into the buffer of an operand that dies at that
step (``out=``; a carry renewed by a ufunc each step is the loop's own buffer, copied once,
so an accumulator is updated in place), a per-step output is written into its row of a
stacked array allocated before the loop, and 0-d float64 regions run as Python float
arithmetic (carries and rows included: a scalar recurrence runs on floats from start to
end), with the NumPy version of the whole loop as the fallback where Python raises (as in
:class:`Program`).  A while loop inlines its condition at the top of a ``while True``.
Each step function is a self-contained unit (its own source and namespace) that a native
backend can take; :mod:`graphad.compiler.loop_run` drives it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphad.compiler import floats
from graphad.compiler.codegen import Chunk, Code, Program, ufunc_of
from graphad.compiler.patterns import is_own
from graphad.compiler.plan import Plan, Step
from graphad.ir import Constant, Node, TensorType
from graphad.ops.loop import LoopForm


def _is_float(node: Node) -> bool:
    return floats.is_scalar_float(node)


class Stepper(Program):
    """The step function of one loop form, generated and compiled (a float version first
    when some of the body lowers to Python floats, the NumPy version as its fallback)."""

    def __init__(self, form: LoopForm, specialise: bool = True) -> None:
        self.form = form
        self.namespace = {
            "as_f64": np.float64,
            "np_int64": np.int64,
            "np_empty": np.empty,
            "np_shape": np.shape,
            **floats.NAMESPACE,
        }
        plans = [Plan(list(b.outputs)) for b in (form.body, form.cond) if b is not None]
        steps = [s for p in plans for s in p.steps]
        lowered = specialise and any(floats.lowers(s.node) for s in steps)
        own = all(is_own(s.node) or floats.lowers(s.node) for s in steps)
        self.general = [self._loop(lower=False)]
        self.fast = [self._loop(lower=True)] if lowered and own else None
        self._compile()

    def __reduce__(self) -> tuple[Any, ...]:
        return (Stepper, (self.form, self.fast is not None))

    @property
    def functions(self) -> list[Callable[..., Any]]:
        """The step functions to try, the float version first."""
        return [*(self._fn_fast or ()), *self._fn_general]

    # -- generation -------------------------------------------------------------
    def _loop(self, lower: bool) -> Chunk:
        form = self.form
        c, nx, k = form.carries, form.xs, form.consts
        carries = [f"a{i}" for i in range(c)]
        outs = [f"Y{i}" for i in range(form.outputs)]
        args = ["n", "base", *carries, *(f"X{i}" for i in range(nx)), *(f"q{i}" for i in range(k))]
        if form.cond is not None:
            args = ["limit", *carries, *(f"q{i}" for i in range(k))]
        code = Code([f"def chunk({', '.join([*args, *outs])}):"], [None, None])
        body_plan = Plan(list(form.body.outputs))
        cond_plan = None if form.cond is None else Plan(list(form.cond.outputs))
        # a carry runs as a Python float when it is a 0-d float64 whose new value lowers
        floated = {
            i
            for i, new in enumerate(form.new_carries())
            if lower and _is_float(form.carry_params()[i]) and floats.lowers(new)
        }
        names: dict[Node, str] = {}
        float_names: dict[Node, str] = {}
        owned = _owned(form, body_plan, floated)
        for i, p in enumerate(form.carry_params()):
            if i in owned:  # the loop's own buffer from here on: ufuncs may write into it
                code.emit(f"    a{i} = a{i}.copy()")
            if i in floated:
                code.emit(f"    a{i} = float(a{i})")
                float_names[p] = f"a{i}"
            else:
                names[p] = f"a{i}"
        used = _used(body_plan) | (set() if cond_plan is None else _used(cond_plan))
        wants_float = _float_inputs(body_plan, lower) | (
            set() if cond_plan is None else _float_inputs(cond_plan, lower)
        )
        for i, p in enumerate(form.const_params()):
            names[p] = f"q{i}"
            if p in wants_float and _is_float(p):
                code.emit(f"    q{i}f = float(q{i})")
                float_names[p] = f"q{i}f"
        rows: list[str] = []
        for i, p in enumerate(form.x_params()):
            if p not in used:
                continue
            if p in wants_float and _is_float(p):
                code.emit(f"    L{i} = X{i}.tolist()")  # Python floats, read once
                rows.append(f"r{i} = L{i}[j]")
                float_names[p] = f"r{i}"
            else:
                rows.append(f"r{i} = X{i}[j]")
                names[p] = f"r{i}"
        step = form.step_param()
        if step is not None and step in used:
            index = "n" if form.cond is not None else "base + j"
            rows.append(f"t = np_int64({index})")
            names[step] = "t"
        emit = _Emitter(self, lower, names, float_names, {form.carry_params()[i] for i in owned})
        if form.cond is not None:
            assert cond_plan is not None  # planned above for a loop with a condition
            self._while(code, emit, cond_plan, body_plan, rows, floated)
        else:
            self._for(code, emit, body_plan, rows, floated)
        back = ", ".join(f"as_f64(a{i})" if i in floated else f"a{i}" for i in range(c))
        if form.cond is not None:
            code.emit(f"    return ({back}{',' if c == 1 else ''}), n")
        else:
            code.emit(f"    return ({back}{',' if c == 1 else ''})")
        return Chunk("\n".join(code.lines) + "\n", code.info)

    def _for(
        self, code: Code, emit: _Emitter, plan: Plan, rows: list[str], floated: set[int]
    ) -> None:
        form = self.form
        unroll = max(1, form.unroll)
        if unroll == 1:
            loop = "range(n - 1, -1, -1)" if form.reverse else "range(n)"
            code.emit(f"    for j in {loop}:")
            self._step(code, emit, plan, rows, floated, "        ", "j")
            return
        code.emit(f"    m = n - n % {unroll}")
        if form.reverse:  # j = n-1, n-2, …: whole groups first, the remainder last
            code.emit(f"    for jj in range(n - 1, n - 1 - m, -{unroll}):")
            for u in range(unroll):
                code.emit(f"        j = jj - {u}")
                self._step(code, emit, plan, rows, floated, "        ", "j")
            code.emit("    for j in range(n - 1 - m, -1, -1):")
        else:
            code.emit(f"    for jj in range(0, m, {unroll}):")
            for u in range(unroll):
                code.emit(f"        j = jj + {u}")
                self._step(code, emit, plan, rows, floated, "        ", "j")
            code.emit("    for j in range(m, n):")
        self._step(code, emit, plan, rows, floated, "        ", "j")

    def _while(
        self,
        code: Code,
        emit: _Emitter,
        cond: Plan,
        body: Plan,
        rows: list[str],
        floated: set[int],
    ) -> None:
        code.emit("    n = 0")
        code.emit("    while True:")
        emit.plan(code, cond, "        ", owning=False)  # the body reads the carries next
        code.emit(f"        if not {emit.value(cond.order[cond.fetch_slots[0]], False)}:")
        code.emit("            break")
        code.emit("        if n == limit:")
        code.emit("            return None, n")  # the driver names the loop and its limit
        self._step(code, emit, body, rows, floated, "        ", "n")
        code.emit("        n += 1")

    def _step(
        self,
        code: Code,
        emit: _Emitter,
        plan: Plan,
        rows: list[str],
        floated: set[int],
        indent: str,
        row: str,
    ) -> None:
        """One step: read the rows, run the body, store the per-step outputs, move the
        carries on (all at once: a body may swap them)."""
        form = self.form
        for line in rows:
            code.emit(indent + line)
        emit.plan(code, plan, indent)
        for i, out in enumerate(form.per_step()):
            code.emit(f"{indent}Y{i}[{row}] = {emit.value(out, False)}")
        if form.carries:
            new = [emit.value(out, i in floated) for i, out in enumerate(form.new_carries())]
            targets = ", ".join(f"a{i}" for i in range(form.carries))
            code.emit(f"{indent}{targets} = {', '.join(new)}")
        emit.forget()


def _owned(form: LoopForm, plan: Plan, floated: set[int]) -> set[int]:
    """The carries whose buffers the loop can own: copied once before the first step, and
    afterwards always the fresh result of a ufunc of the step before (no other carry's
    too), so that a ufunc reading the carry for the last time may write into it."""
    made = {s.node for s in plan.steps if ufunc_of(s.node) is not None}
    news = list(form.new_carries())
    return {
        i
        for i, (p, new) in enumerate(zip(form.carry_params(), news))
        if i not in floated
        and new in made
        and sum(n is new for n in news) == 1
        and isinstance(p.type, TensorType)
        and p.type.is_static
        and bool(p.type.shape)
    }


def _used(plan: Plan) -> set[Node]:
    """The nodes some step of ``plan`` reads, and its fetches."""
    found = {plan.order[i] for s in plan.steps for i in s.ins}
    found.update(plan.order[i] for i in plan.fetch_slots)
    return found


def _float_inputs(plan: Plan, lower: bool) -> set[Node]:
    """The inputs of steps that run as Python floats."""
    if not lower:
        return set()
    return {plan.order[i] for s in plan.steps if floats.lowers(s.node) for i in s.ins}


class _Emitter:
    """Writes the lines of a sub-graph's plan on named inputs: each value a local, floats
    where the step lowers, ``out=`` into operands that die, ``del`` after last use."""

    def __init__(
        self,
        program: Stepper,
        lower: bool,
        names: dict[Node, str],
        floats_: dict[Node, str],
        owned: set[Node],
    ) -> None:
        self.program = program
        self.owned = owned  # carries whose buffers the loop owns (see _owned)
        self.owning = True
        self.lower = lower
        self.names = dict(names)  # node -> the local holding it as an array
        self.float_names = dict(floats_)  # node -> the local holding it as a Python float
        self.inputs = set(names) | set(floats_)
        self.made: list[Node] = []  # values made in this step, forgotten at its end
        self.count = 0

    def value(self, node: Node, as_float: bool) -> str:
        """The expression of ``node``'s value, as a float or as an array."""
        if isinstance(node.op, Constant):
            return self._constant(node, as_float)
        if as_float:
            name = self.float_names.get(node)
            if name is None:
                return f"float({self.names[node]})"
            return name
        name = self.names.get(node)
        if name is None:
            return f"as_f64({self.float_names[node]})"
        return name

    def _constant(self, node: Node, as_float: bool) -> str:
        """A constant's name in the namespace (``d``: as a Python float)."""
        name = f"{'d' if as_float else 'c'}{node.id}"
        op = node.op
        assert isinstance(op, Constant)
        value = op.value
        self.program.namespace.setdefault(name, float(value) if as_float else value)
        return name

    def plan(self, code: Code, plan: Plan, indent: str, owning: bool = True) -> None:
        """The lines of ``plan``'s steps, its parameters already named; ``owning``: a
        carry the loop owns may be written into at its last use in ``plan``."""
        self.owning = owning
        order = plan.order
        users = plan.consumers()
        fetched = set(plan.fetch_slots)
        lowered = {s.out for s in plan.steps if self.lower and floats.lowers(s.node)}
        ufuncs = {s.out: ufunc_of(s.node) for s in plan.steps}
        for step in plan.steps:
            node = step.node
            self.count += 1
            var = f"v{self.count}"
            if step.out in lowered:
                args = [self.value(order[i], True) for i in step.ins]
                code.emit(f"{indent}{var} = {floats.expression(node, args)}", (step, args))
                self.float_names[node] = var
            else:
                args = [self.value(order[i], False) for i in step.ins]
                reuse = self._reusable(step, users, fetched, ufuncs, lowered, order)
                reused = None if reuse is None else self.names[order[reuse]]
                call = self._call(step, args, f"k{node.id}", reused)
                if call is None:
                    prefix = f"b{self.count}_"
                    self.program._branches(step, args, var, prefix, indent, code)
                else:
                    code.emit(f"{indent}{var} = {call}", (step, args))
                self.names[node] = var
            self.made.append(node)
            for i in step.frees:
                gone = order[i]
                if gone in self.inputs or isinstance(gone.op, Constant):
                    continue
                if gone in self.names and i not in lowered:
                    code.emit(f"{indent}del {self.names[gone]}")

    def _reusable(
        self,
        step: Step,
        users: dict[int, list[Step]],
        fetched: set[int],
        ufuncs: dict[int, Any],
        lowered: set[int],
        order: Sequence[Node],
    ) -> int | None:
        """Program's rule (an operand that dies here, a fresh ufunc result read by ufuncs
        only), with the carries the loop owns counted as fresh."""
        found = Program._reusable(step, users, fetched, ufuncs, lowered, order)
        if found is not None or not self.owned or not self.owning:
            return found
        t = step.node.type
        if ufunc_of(step.node) is None or not isinstance(t, TensorType):
            return None
        for i in step.ins:
            x = order[i]
            if (
                x in self.owned
                and i in step.frees
                and i not in fetched
                and x.type == t
                and all(ufuncs.get(u.out) is not None for u in users.get(i, ()))
            ):
                return i
        return None

    def _call(self, step: Step, args: list[str], kernel: str, reuse: str | None) -> str | None:
        node = step.node
        if node.op.control == "select":
            return None
        ufunc = ufunc_of(node)
        if ufunc is not None:
            name = f"np_{ufunc.__name__}"
            self.program.namespace.setdefault(name, ufunc)
            extra = f", out={reuse}" if reuse is not None else ""
            return f"{name}({', '.join(args)}{extra})"
        return self.program._call(step, args, kernel, None)

    def forget(self) -> None:
        """Values made in a step are not known in the next (its names are reused)."""
        for node in self.made:
            self.names.pop(node, None)
            self.float_names.pop(node, None)
        self.made = []
