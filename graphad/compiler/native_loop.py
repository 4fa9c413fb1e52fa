"""A loop whose body compiles, as the source of a numba step function.

A loop op's kernel (:class:`~graphad.compiler.loop_run.LoopProgram`) drives a *step
function* that runs n steps of the body (:mod:`~graphad.compiler.loop_code`).  When every
node of the body (and of a while loop's condition) has a native form, the step function is
written for numba instead, with the same arguments and result, so the driver runs it as it
runs the generated Python one (whole, by checkpointed stretches, replayed backwards), and a
step costs what its arithmetic costs::

    def body(v0, v1, v2):                   # the body as a region (native_code)
        ...
        return (v5, v7)
    def kernel(n, base, a0, X0, Y0):        # carries, xs, consts, stacked outputs
        c0 = a0.copy()                      # the loop's own buffer, of one type every step
        for j in range(n):                  # range(n - 1, -1, -1) when reversed
            o = body(c0, X0[j], np.int64(base + j))
            Y0[j] = o[1]
            c0 = o[0]
        return (c0,)

A while loop's kernel takes ``limit`` (-1: none), the carries and the consts, runs the
condition before each step, and returns whether it stopped there, the carries and n (the
driver names the loop when ``max_steps`` ran out).  Array constants of the body come last,
as arguments: the source names nothing of a particular graph's, so equal loops share it.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphad.compiler.native_code import LIBM, Library, RegionSource, dims
from graphad.compiler.plan import Plan
from graphad.compiler.regions import Form, Region, form, is_leaf
from graphad.ir import Constant, Node, TensorType, is_static
from graphad.ops.loop import Body, LoopForm


@dataclass(frozen=True)
class LoopSource:
    """The functions of a loop's module (``kernel`` last) and the array constants its
    kernel takes after the loop's own arguments."""

    text: str
    constants: tuple[Node, ...]


def _sub_graph(
    body: Body,
    name: str,
    forms: dict[Node, Form | str],
    carries: int = 0,
    library: Library = LIBM,
) -> RegionSource | str:
    """A sub-graph of the loop as a region function, or why it has none.  Its first
    ``carries`` outputs are the next carries, fresh arrays of one layout every step; the
    others are copied into the stacked outputs' rows at once, so they may be views."""
    plan = Plan(list(body.outputs))
    nodes = tuple(n for n in plan.order if not is_leaf(n))
    for n in nodes:
        found = forms.get(n)
        if found is None:
            found = forms[n] = form(n)
        if isinstance(found, str):
            return f"its {name} has {n.op.name} ({found})"
    for p in body.params:
        t = p.type
        if not isinstance(t, TensorType) or t.shape is None:
            return f"its {name} takes {t}"
    used = {c for n in nodes for c in n.inputs if isinstance(c.op, Constant)}
    used |= {o for o in body.outputs if isinstance(o.op, Constant)}
    inputs = (*body.params, *sorted(used, key=lambda c: c.id))
    region = Region(nodes, inputs, tuple(body.outputs))
    fresh = set(body.outputs[:carries])
    return RegionSource(region, forms, fresh, scratch=f"{name[0]}s", library=library)


def loop_source(form_: LoopForm, library: Library = LIBM) -> LoopSource | str:
    """The numba source of a loop form's step function, or why its loop stays in Python."""
    if any(not is_static(y.shape) for y in form_.per_step()):
        return "a per-step output's shape is known only at run time"
    forms: dict[Node, Form | str] = {}
    body = _sub_graph(form_.body, "body", forms, form_.carries, library)
    if isinstance(body, str):
        return body
    cond = None
    if form_.cond is not None:
        cond = _sub_graph(form_.cond, "condition", forms, library=library)
    if isinstance(cond, str):
        return cond
    lines = [body.source("body")]
    if cond is not None:
        lines.append(cond.source("cond"))
    constants = dict.fromkeys(
        x for s in (body, cond) if s is not None for x in s.arguments if isinstance(x.op, Constant)
    )
    lines.append(_kernel(form_, body, cond, list(constants)))
    return LoopSource("\n\n".join(lines), tuple(constants))


def _kernel(
    form: LoopForm, body: RegionSource, cond: RegionSource | None, constants: list[Node]
) -> str:
    c, nx, k = form.carries, form.xs, form.consts
    consts = [f"k{i}" for i in range(len(constants))]
    outs = [f"Y{i}" for i in range(form.outputs)]
    carries = [f"a{i}" for i in range(c)]
    qs = [f"q{i}" for i in range(k)]
    if cond is None:
        args = ["n", "base", *carries, *(f"X{i}" for i in range(nx)), *qs, *outs, *consts]
    else:
        args = ["limit", *carries, *qs, *outs, *consts]
    lines = [f"def kernel({', '.join(args)}):"]
    for i, p in enumerate(form.carry_params()):
        # an array carry is the loop's own copy: C-ordered and writable, as the body gives
        # its new value back, so the variable has one type every step
        lines.append(f"    c{i} = a{i}.copy()" if dims(p) else f"    c{i} = a{i}")
    for region in (body, cond):  # the regions' buffers, made once a call (two for a carry)
        if region is None or not region.scratches:
            continue
        for s in region.scratches:
            for name in (f"{s.name}_0", f"{s.name}_1") if s.alternate else (s.name,):
                lines.append(f"    {name} = np.empty({s.shape}, {s.dtype})")
        for even in (0, 1) if region.packs_buffers else ():
            names = [f"{s.name}_{even}" if s.alternate else s.name for s in region.scratches]
            lines.append(f"    {region.buffers}_{even} = ({', '.join(names)},)")
    step = "np.int64(n)" if cond is not None else "np.int64(base + j)"
    named: dict[Node, str] = {p: f"c{i}" for i, p in enumerate(form.carry_params())}
    named.update({p: f"X{i}[j]" for i, p in enumerate(form.x_params())})
    named.update({p: f"q{i}" for i, p in enumerate(form.const_params())})
    named.update(dict.fromkeys(form.step_params(), step))
    named.update(dict(zip(constants, consts)))

    parity = "n" if cond is not None else "j"
    indent = "        "

    def call(region: RegionSource, fn: str) -> str:
        args = region.grouped([named[x] for x in region.arguments])
        # the even or the odd steps' buffers, chosen before the call (numba inlines no call
        # with control flow among its arguments)
        if region.packs_buffers:
            b = region.buffers
            lines.append(f"{indent}{b} = {b}_0 if {parity} % 2 == 0 else {b}_1")
            args.append(b)
            return f"{fn}({', '.join(args)})"
        for s in region.scratches:
            if s.alternate:
                lines.append(f"{indent}{s.name} = {s.name}_0 if {parity} % 2 == 0 else {s.name}_1")
            args.append(s.name)
        return f"{fn}({', '.join(args)})"

    row = "n" if cond is not None else "j"
    if cond is None:
        loop = "range(n - 1, -1, -1)" if form.reverse else "range(n)"
        lines.append(f"    for j in {loop}:")
    else:
        lines += ["    n = 0", "    while True:"]
        lines.append(f"{indent}if not {call(cond, 'cond')}[0]:")
        lines += [f"{indent}    break", f"{indent}if n == limit:"]
        back = ", ".join(f"c{i}" for i in range(c))
        lines.append(f"{indent}    return False, ({back}{',' if c == 1 else ''}), n")
    lines.append(f"{indent}o = {call(body, 'body')}")
    for i, y in enumerate(form.per_step()):
        shape = dims(y)
        if not shape:
            lines.append(f"{indent}Y{i}[{row}] = o[{c + i}]")
            continue
        # the row copied entry by entry: numba's slice assignment costs more at this size
        lines += [f"{indent}y{i} = Y{i}[{row}]", f"{indent}p{i} = o[{c + i}]"]
        depth = indent
        for axis, d in enumerate(shape):
            lines.append(f"{depth}for i{axis} in range({d}):")
            depth += "    "
        at = ", ".join(f"i{a}" for a in range(len(shape)))
        lines.append(f"{depth}y{i}[{at}] = p{i}[{at}]")
    for i in range(c):
        lines.append(f"{indent}c{i} = o[{i}]")
    back = ", ".join(f"c{i}" for i in range(c))
    tuple_ = f"({back}{',' if c == 1 else ''})"
    if cond is None:
        lines.append(f"    return {tuple_}")
    else:
        lines += [f"{indent}n += 1", f"    return True, {tuple_}, n"]
    return "\n".join(lines) + "\n"
