"""A region of a plan as the source of one function that numba compiles in nopython mode.

The function takes the region's inputs and returns its outputs.  Elementwise nodes
(their ``scalar`` formulas) are fused into loop nests: nodes whose shapes are provably
equal and that do not wait on one another through another kind of node share one nest,
each entry computed once, as a local scalar; a value is stored to an array only where
something outside its nest reads it.  A ``Fold`` runs inside the nest that computes its
operand (one pass over memory, no temporary); a ``Call`` is one statement.  Broadcasting
is NumPy's: an operand is indexed by the loop indices of the axes it spans, by 0 on an axis
it stretches (an unknown dim decides that at run time).  Every entry is rounded to its
node's dtype as it is made, so float32 arithmetic is float32's, as in NumPy.

Which nest a node joins: with ``level(n)`` the most nest boundaries on a path into n (an
edge from a fold or call, or between elementwise nodes of different shapes, is one), the
elementwise nodes of one level and one shape form one nest, and the folds and calls of a
level run after its nests.  So a nest never waits on itself, as ``regions`` argues for the
fallbacks.

Shapes are symbolic: a known dim is its length, an unknown one the set of the unknown
input dims it is the broadcast of (by value and axis), so two shapes that are equal that
way are equal at run time, and the nest's bounds come from its operands' shapes.  The
source names values by their position in the region only, so equal regions of different
graphs give equal source (and share one compiled function); scalar constants are written
into it as literals.

A formula that branches (the chain rule's strong products and quotients, ``maximum``'s NaN
test, ``where``) is a function of its own in the module, called where it is used: numba
mends the variables of a function's branches in time that grows with the product of their
number and the function's blocks, so a kernel with W5's 240 strong products written inline
took 9 s to compile, and 0.9 s calling one function for them all.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from graphad.compiler.regions import Form, Region, Scalar
from graphad.ir import Constant, Node
from graphad.ir.native import Call, Fold
from graphad.ir.scalar import FUNCTIONS

# an unknown dim: the broadcast of the unknown input dims in the set, by (value, axis)
Dim = int | frozenset[tuple[int, int]]
KERNEL = "kernel"
FORMULA = "formula_"  # a function of a branching formula's own (see RegionSource.formula)
# up to this many branching formulas a region writes inline: each function of its own costs
# numba a pipeline of its own (~0.1 s), few branches cost it little (W1's regions have two)
INLINE_BRANCHES = 16
GROUP = 24  # a loop body's arguments in tuples of this many (numba inlines calls of <= 30)
CHUNK = 512  # entries a vectorised loop makes before a carried fold adds them up
CASTS = {"float64": "np.float64", "float32": "np.float32", "bool": "np.bool_"}
CASTS.update({t: f"np.{t}" for t in ("int64", "int32", "int16", "int8")})  # a step index


def dims(x: Node) -> tuple[int | None, ...]:
    """The shape of a value in a region (of known rank: ``regions.form`` sees to it)."""
    shape = x.shape
    assert shape is not None, f"{x.name} has no known rank"
    return shape


def literal(value: np.ndarray) -> str:
    """A 0-d constant as a Python literal of its dtype (exact: repr round-trips)."""
    v = value.item()
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, int):
        return repr(v)
    text = "np.nan" if math.isnan(v) else ("np.inf" if v > 0 else "-np.inf")
    text = repr(v) if math.isfinite(v) else text
    return text if value.dtype == np.float64 else f"{CASTS[value.dtype.name]}({text})"


@dataclass(frozen=True)
class Library:
    """The functions a region's formulas call, as its module binds them: :mod:`math`'s (C's),
    but ``names`` from ``module``, which a compiler inlines and vectorises.  ``guards``:
    (function, test) for those of them that answer only part of their domain, where
    ``module``'s ``test(x)`` is true for an argument beyond it.  A nest that calls one tests
    every argument as it goes (an ``or`` of the tests, which vectorises too) and, if any
    was beyond, runs again with C's functions (``exact_<name>``, all of them, so the pass
    is short code): a second pass that only such rare arguments (sin of 10⁹) pay for.  0-d
    code calls C's functions too: there is no loop to vectorise."""

    module: str = "math"
    names: frozenset[str] = frozenset()
    guards: tuple[tuple[str, str], ...] = ()

    def calls(self, code: str) -> bool:
        """Whether a statement of generated code calls one of ``names``."""
        return any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in self.names
            for n in ast.walk(ast.parse(code))
        )

    def guarded(self, expression: str, exact: bool) -> tuple[str, list[str]]:
        """``expression`` (with ``exact``, its calls of ``names`` are C's functions) and the
        tests of the arguments of its guarded calls."""
        tests = dict(self.guards)
        tree = ast.parse(expression, mode="eval")
        calls = [
            (n, n.func.id)
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in self.names
        ]
        found = [f"{tests[f]}({ast.unparse(c.args[0])})" for c, f in calls if f in tests]
        if not exact or not calls:
            return expression, found
        for c, f in calls:
            c.func = ast.Name(f"exact_{f}", ast.Load())
        return ast.unparse(tree), found

    def imports(self, jit: bool) -> str:
        """The module's lines that bind the functions (the vectorised ones only ``jit``)."""
        lines = [f"from math import {', '.join(sorted(FUNCTIONS))}"]
        if jit and self.names:
            lines.append(f"from {self.module} import {', '.join(sorted(self.names))}")
        if self.guards:
            tests = sorted({t for _, t in self.guards})
            lines.append(f"from {self.module} import {', '.join(tests)}")
        if self.names:
            exact = ", ".join(f"{f} as exact_{f}" for f in sorted(self.names))
            lines.append(f"from math import {exact}")
        return "\n".join(lines)


LIBM = Library()  # C's functions, through math


@dataclass(frozen=True)
class Scratch:
    """A buffer a loop body writes a value into: one for all steps, or two the loop
    alternates between (``alternate``: the value is a next carry); or one a region's caller
    draws from its pool for a run (``returned``: the value is an output of the region)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    alternate: bool
    returned: bool = False


@dataclass
class Nest:
    """Elementwise nodes computed in one loop nest, and the folds of them it runs."""

    level: int
    shape: tuple[Dim, ...]
    members: list[Node] = field(default_factory=list)
    folds: list[Node] = field(default_factory=list)


class RegionSource:
    """The source of ``region``'s function; ``arguments``: the inputs it takes, in order
    (scalar constants are literals in the source, not arguments)."""

    def __init__(
        self,
        region: Region,
        forms: dict[Node, Form | str],
        fresh: set[Node],
        scratch: str = "",
        library: Library = LIBM,
        pooled: int | None = None,
    ) -> None:
        self.region = region
        self.library = library
        self.forms = forms
        self.fresh = fresh  # outputs that must not share memory with anything
        # with a prefix (a loop body's), arrays of known shape are written into buffers the
        # caller passes in one tuple (``scratches``: name, shape, dtype, fresh), made once;
        # a fresh one (a next carry) is one of two the caller alternates between steps, so
        # the step reading the carry never writes into it
        self.prefix = scratch
        # without one (a plan's region), arrays of known shape of at least ``pooled`` bytes
        # are written into buffers the caller passes, one argument each after the inputs,
        # drawn from its program's pool: numba's own allocation maps such an array afresh
        # every call and page-faults it in (GMM 1k d64 K50: 12,664 faults, 25 of 38 ms in
        # one region), where the pool hands the last run's buffer back
        self.pooled = None if scratch else pooled
        self.scratches: list[Scratch] = []
        self.inside = set(region.nodes)
        self.number = {v: k for k, v in enumerate((*region.inputs, *region.nodes))}
        self.literals = {
            x: literal(x.op.value)
            for x in region.inputs
            if isinstance(x.op, Constant) and x.shape == ()
        }
        self.arguments = [x for x in region.inputs if x not in self.literals]
        self.shapes = self._shapes()
        self.lines: list[str] = []
        self.formulas: dict[str, str] = {}  # name -> source of a branching formula's function
        self.apart = sum(map(self._branching, region.nodes)) > INLINE_BRANCHES

    # -- names ------------------------------------------------------------------
    def name(self, x: Node) -> str:
        """The scalar or array ``x`` is outside a nest: a literal or ``v<k>``."""
        return self.literals.get(x) or f"v{self.number[x]}"

    def is_scalar(self, x: Node) -> bool:
        return isinstance(self.forms.get(x), Scalar) and x in self.inside

    # -- symbolic shapes, levels, nests -------------------------------------------
    def _shapes(self) -> dict[Node, tuple[Dim, ...]]:
        shapes: dict[Node, tuple[Dim, ...]] = {}
        for x in (*self.region.inputs, *self.region.nodes):
            static = dims(x)
            if not self.is_scalar(x):
                shapes[x] = tuple(
                    d if d is not None else frozenset({(self.number[x], a)})
                    for a, d in enumerate(static)
                )
                continue
            rank = len(static)
            known: list[Dim] = []
            for axis, d in enumerate(static):
                if d is not None:
                    known.append(d)
                    continue
                unknown: set[tuple[int, int]] = set()
                for y in x.inputs:
                    k = axis - (rank - len(dims(y)))
                    dim = shapes[y][k] if k >= 0 else 1
                    if not isinstance(dim, int):
                        unknown |= dim
                known.append(frozenset(unknown))
            shapes[x] = tuple(known)
        return shapes

    def nests(self) -> tuple[list[Nest], dict[Node, int]]:
        """The nests, in an order they can run in, and each node's level."""
        level: dict[Node, int] = {}
        for n in self.region.nodes:
            levels = [0]
            for x in n.inputs:
                if x not in self.inside:
                    continue
                joins = self.is_scalar(n) and self.is_scalar(x) and self.shapes[x] == self.shapes[n]
                boundary = self.is_scalar(n) and not joins
                levels.append(level[x] + boundary)
            level[n] = max(levels)
        nests: dict[tuple[int, tuple[Dim, ...]], Nest] = {}
        for n in self.region.nodes:
            if self.is_scalar(n):
                key = (level[n], self.shapes[n])
                nests.setdefault(key, Nest(*key)).members.append(n)
            elif isinstance(self.forms[n], Fold) and self.is_scalar(n.inputs[0]):
                x = n.inputs[0]
                nests[(level[x], self.shapes[x])].folds.append(n)
        return sorted(nests.values(), key=lambda nest: nest.level), level

    # -- emitting ------------------------------------------------------------------
    def emit(self, line: str, depth: int = 1) -> None:
        self.lines.append("    " * depth + line)

    def source(self, name: str = KERNEL) -> str:
        """``def kernel(...)``: the region's function (called ``name``), after the functions
        of its branching formulas; its scratch buffers, if any, are its last arguments."""
        self.lines = [""]
        self.scratches = []
        self.formulas = {}
        for x in self.arguments:
            cast = CASTS[x.dtype.name] if x.shape == () else ""
            self.emit(f"v{self.number[x]} = {cast}(a{self.number[x]})")
        nests, level = self.nests()
        stored = self._stored(nests)
        fused = {f for nest in nests for f in nest.folds}
        for d in range(max(level.values(), default=-1) + 1):
            for nest in nests:
                if nest.level == d:
                    self._nest(nest, stored)
            for n in self.region.nodes:
                if level[n] != d or self.is_scalar(n) or n in fused:
                    continue
                form = self.forms[n]
                if isinstance(form, Fold):
                    self._standalone_fold(n)
                else:
                    assert isinstance(form, Call)
                    names = [self.name(x) for x in n.inputs]
                    buffer = self._scratch(n) if form.into is not None else None
                    self.emit(f"v{self.number[n]} = {form.code(names, buffer)}")
        outs = []
        for o in self.region.outputs:
            # a fresh output shares no memory: a view is copied, and so is an input handed
            # straight back (a loop body's carry that does not change)
            made = self.forms.get(o)
            view = (isinstance(made, Call) and made.view) or o not in self.inside
            copy = o in self.fresh and view and o.shape != () and o not in self.literals
            outs.append(self.name(o) + (".copy()" if copy else ""))
        self.emit(f"return ({', '.join(outs)},)")
        # a loop body's arguments come in tuples: numba inlines no call of more than 30
        args = [f"a{self.number[x]}" for x in self.arguments]
        unpack: list[str] = []
        if self.prefix:
            groups = self.grouped(args)
            if len(groups) < len(args):
                for g, group in enumerate(self._groups(args)):
                    unpack += [f"    {a} = {self.prefix}_args{g}[{k}]" for k, a in enumerate(group)]
                args = [f"{self.prefix}_args{g}" for g in range(len(groups))]
        if self.packs_buffers:
            args.append(self.buffers)
            unpack += [f"    {s.name} = {self.buffers}[{k}]" for k, s in enumerate(self.scratches)]
        else:  # apart: a tuple of them is copied and unpacked every step
            args += [s.name for s in self.scratches]
        self.lines[1:1] = unpack
        self.lines[0] = f"def {name}({', '.join(args)}):"
        return "".join(f"{f}\n\n" for f in self.formulas.values()) + "\n".join(self.lines) + "\n"

    @staticmethod
    def _groups(args: list[str]) -> list[list[str]]:
        return [args[k : k + GROUP] for k in range(0, len(args), GROUP)]

    def grouped(self, args: list[str]) -> list[str]:
        """A loop body's arguments as its caller passes them: as they are, or, past
        ``GROUP`` of them, in tuples of ``GROUP``."""
        if not self.prefix or len(args) <= GROUP:
            return args
        return [f"({', '.join(group)},)" for group in self._groups(args)]

    @property
    def packs_buffers(self) -> bool:
        """Whether the scratch buffers come in one tuple (the arguments would be too many
        for numba to inline the call) rather than one argument each: a loop body's only
        (a region's function is called from Python, never inlined)."""
        if not self.prefix:
            return False
        count = len(self.arguments)
        calls = count if count <= GROUP else -(-count // GROUP)
        return bool(self.scratches) and calls + len(self.scratches) > GROUP

    @property
    def buffers(self) -> str:
        """The name of the tuple of scratch buffers, the function's last argument."""
        return f"{self.prefix}_buffers"

    def _scratch(self, n: Node) -> str | None:
        """The buffer ``n``'s array is written into, where the caller gives buffers (a loop
        body's; a region's of at least ``pooled`` bytes) and n's shape is known; None: a
        new array."""
        shape = n.shape
        if not shape or shape is None or None in shape:
            return None
        static = tuple(d for d in shape if d is not None)
        if self.prefix:
            name = f"{self.prefix}{self.number[n]}"
            scratch = Scratch(name, static, CASTS[n.dtype.name], n in self.fresh)
        elif self.pooled is not None and math.prod(static) * n.dtype.itemsize >= self.pooled:
            returned = any(n is o for o in self.region.outputs)
            scratch = Scratch(f"b{self.number[n]}", static, CASTS[n.dtype.name], False, returned)
        else:
            return None
        self.scratches.append(scratch)
        return scratch.name

    def _stored(self, nests: list[Nest]) -> set[Node]:
        """The elementwise nodes read outside their nest (or returned): stored to arrays."""
        nest_of = {m: id(nest) for nest in nests for m in nest.members}
        folded = {f for nest in nests for f in nest.folds}
        stored = {o for o in self.region.outputs if o in nest_of}
        for n in self.region.nodes:
            for x in n.inputs:
                if x in nest_of and n not in folded and nest_of.get(n) != nest_of[x]:
                    stored.add(x)
        return stored

    def _bounds(self, nest: Nest, reads: Sequence[Node]) -> list[str]:
        """The nest's extent per axis: literals, or the broadcast of what it reads."""
        if all(isinstance(d, int) for d in nest.shape):
            return [str(d) for d in nest.shape]
        shapes = ", ".join(f"{self.name(x)}.shape" for x in reads)
        k = len(self.lines)
        self.emit(f"s{k} = np.broadcast_shapes({shapes})")
        return [str(d) if isinstance(d, int) else f"s{k}[{a}]" for a, d in enumerate(nest.shape)]

    def _index(self, x: Node, nest: Nest) -> str:
        """The entry of array ``x`` at the nest's indices, NumPy-broadcast."""
        rank, own = len(nest.shape), self.shapes[x]
        index = []
        for j, d in enumerate(own):
            axis = rank - len(own) + j
            if d == nest.shape[axis] or (isinstance(d, int) and d != 1):
                index.append(f"i{axis}")
            elif d == 1:
                index.append("0")
            else:  # stretched or not: only the run-time dim says
                index.append(f"(i{axis} if {self.name(x)}.shape[{j}] != 1 else 0)")
        return f"{self.name(x)}[{', '.join(index)}]"

    def _nest(self, nest: Nest, stored: set[Node]) -> None:
        members = set(nest.members)
        reads = list(
            dict.fromkeys(
                x
                for n in (*nest.members, *nest.folds)
                for x in n.inputs
                if x not in members and x.shape != ()
            )
        )
        bounds = self._bounds(nest, reads)
        for m in nest.members:
            if m in stored and bounds:  # a 0-d one is its scalar
                dims = ", ".join(bounds)
                buffer = self._scratch(m)
                if buffer is not None:
                    self.emit(f"v{self.number[m]} = {buffer}")
                    continue
                self.emit(
                    f"v{self.number[m]} = np.empty(({dims}{',' if dims else ''}), "
                    f"{CASTS[m.dtype.name]})"
                )
        for f in nest.folds:
            self._fold_start(f, bounds)
        # a 0-d nest is scalar code, nothing to vectorise: C's functions, each a call, rather
        # than inlined arithmetic (a scalar recurrence of 50 steps would inline 50 copies)
        body, guards = self._body(nest, stored, exact=not bounds)
        guards = guards if bounds else []
        carried = self._carried(nest, body, bounds)
        for f in carried:
            self.emit(f"q{self.number[f]} = np.empty({CHUNK}, {CASTS[f.inputs[0].dtype.name]})")
        flag = f"g{self.number[nest.members[0]]}" if guards else ""
        if guards:  # some entries are beyond a vectorised function's domain: C's, again
            self.emit(f"{flag} = False")
            body += [(f"{flag} = {flag} | {test}", ()) for test in dict.fromkeys(guards)]
        self._loops(nest, body, bounds, carried, 1)
        if guards:
            self.emit(f"if {flag}:")
            for f in nest.folds:
                self._fold_start(f, bounds, 2)
            self._loops(nest, self._body(nest, stored, exact=True)[0], bounds, carried, 2)
        for f in nest.folds:
            self._fold_finish(f, bounds)

    def _body(
        self, nest: Nest, stored: set[Node], exact: bool
    ) -> tuple[list[tuple[str, tuple[Node, ...]]], list[str]]:
        """The statements of one entry of the nest (the folds' steps last, each with the
        fold it is the step of), and the tests of the arguments of its calls that a
        vectorised function cannot answer; with ``exact``, those calls are C's functions."""
        members = set(nest.members)
        lines: list[tuple[str, tuple[Node, ...]]] = []
        guards: list[str] = []
        read: dict[Node, str] = {}
        here = [f"i{a}" for a in range(len(nest.shape))]
        for m in nest.members:
            args = []
            for x in m.inputs:
                if x in members:
                    args.append(f"e{self.number[x]}")
                elif x.shape == ():
                    args.append(self.name(x))
                else:
                    if x not in read:
                        read[x] = f"r{self.number[x]}"
                        lines.append((f"{read[x]} = {self._index(x, nest)}", ()))
                    args.append(read[x])
            k = self.number[m]
            value = self.formula(m.op.scalar_code, args)
            values: list[tuple[str, str]] = []
            if ":=" in value:  # numba cannot type a name bound inside an expression
                value, values = hoisted(value, f"_{k}")
            if not self._exact(m):
                value = f"{CASTS[m.dtype.name]}({value})"
            for name, expression in (*values, (f"e{k}", value)):
                expression, tests = self.library.guarded(expression, exact)
                guards += tests
                lines.append((f"{name} = {expression}", ()))
            if m in stored:
                target = f"v{k}[{', '.join(here)}]" if here else f"v{k}"
                lines.append((f"{target} = e{k}", ()))
        for f in nest.folds:
            x = f.inputs[0]
            if x in members:
                value = f"e{self.number[x]}"
            else:
                value = self._index(x, nest) if x.shape != () else self.name(x)
            lines.append((value, (f,)))
        return lines, guards

    def _carried(
        self, nest: Nest, body: list[tuple[str, tuple[Node, ...]]], bounds: list[str]
    ) -> list[Node]:
        """The folds whose running value the innermost loop carries (they reduce its axis),
        where the loop is worth vectorising: it calls a vectorised function, and its length
        is not known to be short.  A carried float sum keeps LLVM from vectorising the loop
        (IEEE addition is not associative), so those steps run after the loop, over a chunk
        of the entries kept in a buffer, in the same order."""
        last = len(bounds) - 1
        if last < 0 or (bounds[last].isdigit() and int(bounds[last]) < CHUNK):
            return []
        if not any(self.library.calls(line) for line, folds in body if not folds):
            return []
        carried = []
        for f in nest.folds:
            form, _ = self._fold_axes(f)
            if last in form.axes:
                carried.append(f)
        return carried

    def _loops(
        self,
        nest: Nest,
        body: list[tuple[str, tuple[Node, ...]]],
        bounds: list[str],
        carried: list[Node],
        depth: int,
    ) -> None:
        """The nest's loops around ``body``; the steps of the ``carried`` folds after the
        innermost one, a chunk of entries at a time.  A fold over the innermost axes runs in
        a local between its loops: stored through memory at every step, numba cannot keep
        it in a register (a store to another array might alias it), and the nest runs 2-3x
        slower (GMM's Σ_d z², 1000 x 50 x 64)."""
        base = depth
        inner = {f: self._inner_start(f, len(bounds)) for f in nest.folds}
        last = len(bounds) - 1
        for axis, bound in enumerate(bounds):
            for f in nest.folds:
                if inner[f] == axis:
                    self.emit(f"u{self.number[f]} = {self._running(f)}", depth)
            if axis == last and carried:
                self.emit(f"for c{axis} in range(0, {bound}, {CHUNK}):", depth)
                depth += 1
                self.emit(f"h{axis} = min(c{axis} + {CHUNK}, {bound})", depth)
                self.emit(f"for i{axis} in range(c{axis}, h{axis}):", depth)
            else:
                self.emit(f"for i{axis} in range({bound}):", depth)
            depth += 1
        for line, folds in body:
            if not folds:
                self.emit(line, depth)
            elif folds[0] in carried:
                self.emit(f"q{self.number[folds[0]]}[i{last} - c{last}] = {line}", depth)
            else:
                self._fold_step(folds[0], line, depth, local=inner[folds[0]] is not None)
        if carried:
            self.emit(f"for i{last} in range(c{last}, h{last}):", depth - 1)
            for f in carried:
                value = f"q{self.number[f]}[i{last} - c{last}]"
                self._fold_step(f, value, depth, local=inner[f] is not None)
        for axis in reversed(range(len(bounds))):
            for f in nest.folds:
                if inner[f] == axis:
                    self.emit(f"{self._running(f)} = u{self.number[f]}", base + axis)

    def formula(self, code: Callable[[list[str]], str], args: list[str]) -> str:
        """The formula ``code`` writes on ``args``; one that branches as a call of a function
        of its own, defined once a module (``formulas``), which numba types, mends and
        lowers once, not at each use (see the module docstring), where the region has more
        than ``INLINE_BRANCHES`` of them.  LLVM inlines it where it is called, so the kernel
        runs as fast (W5: 1.51 µs a call, 1.52 inline)."""
        params = [f"x{i}" for i in range(len(args))]
        formula = code(params)
        # a formula that calls a vectorised function stays inline, where its arguments are
        # guarded and 0-d code calls C's function (a function of its own would not be)
        if not self.apart or not branches(formula) or self.library.calls(formula):
            return code(args)
        name = FORMULA + hashlib.sha256(formula.encode()).hexdigest()[:12]
        if name not in self.formulas:
            lines = [f"def {name}({', '.join(params)}):"]
            if ":=" in formula:
                formula, values = hoisted(formula, "")
                lines += [f"    {v} = {e}" for v, e in values]
            lines.append(f"    return {formula}")
            self.formulas[name] = "\n".join(lines) + "\n"
        return f"{name}({', '.join(args)})"

    def _branching(self, n: Node) -> bool:
        """Whether node ``n``'s formula (or its fold's step) branches."""
        form = self.forms.get(n)
        if isinstance(form, Fold):
            return branches(form.step.format("x0", "x1"))
        if not isinstance(form, Scalar):
            return False
        return branches(n.op.scalar_code([f"x{i}" for i in range(max(len(n.inputs), 1))]))

    @staticmethod
    def _exact(m: Node) -> bool:
        """Whether a float64 node's formula gives a float64 as it stands: its operands are
        float64, so no rounding to the node's dtype is needed (one cast fewer to compile)."""
        return m.dtype == np.float64 and all(x.dtype == np.float64 for x in m.inputs)

    def _standalone_fold(self, f: Node) -> None:
        """A fold of a value no nest here computes: a nest of its own over that value."""
        x = f.inputs[0]
        nest = Nest(0, self.shapes[x], [], [f])
        self._nest(nest, set())

    # -- folds -------------------------------------------------------------------
    def _fold_axes(self, f: Node) -> tuple[Fold, list[int]]:
        """The fold, and the operand axes its output keeps (the reduced ones kept as 1)."""
        form = self.forms[f]
        assert isinstance(form, Fold)
        rank = len(dims(f.inputs[0]))
        return form, [a for a in range(rank) if a not in form.axes or a in form.kept]

    def _fold_start(self, f: Node, bounds: list[str], depth: int = 1) -> None:
        form, axes = self._fold_axes(f)
        k = self.number[f]
        start = f"np.float64({literal(np.array(form.start))})"  # float64 under NumPy's rules too
        if not axes:  # the running value is one number
            self.emit(f"t{k} = {start}", depth)
            return
        extents = ["1" if a in form.axes else bounds[a] for a in axes]
        # a float64 running value that is the result itself (``_fold_finish``) runs in a
        # region's buffer when it is large
        itself = form.finish == "{0}" and f.dtype == np.float64
        if itself and not self.prefix and extents == [str(d) for d in dims(f)]:
            buffer = self._scratch(f)
            if buffer is not None:
                self.emit(f"t{k} = {buffer}", depth)
                self.emit(f"t{k}.fill({start})", depth)
                return
        self.emit(f"t{k} = np.full(({', '.join(extents)},), {start})", depth)

    def _inner_start(self, f: Node, rank: int) -> int | None:
        """The first of the nest's axes that fold ``f`` reduces, when it reduces the
        innermost axes of the nest only (and keeps others): its running value is a local
        there; else None."""
        form, axes = self._fold_axes(f)
        reduced = sorted(a % rank for a in form.axes) if rank else []
        if not axes or not reduced or reduced != list(range(rank - len(reduced), rank)):
            return None
        return reduced[0]

    def _running(self, f: Node) -> str:
        """The entry of fold ``f``'s running array at the nest's indices."""
        form, axes = self._fold_axes(f)
        return f"t{self.number[f]}[{', '.join('0' if a in form.axes else f'i{a}' for a in axes)}]"

    def _fold_step(self, f: Node, value: str, depth: int, local: bool = False) -> None:
        form, axes = self._fold_axes(f)
        k = self.number[f]

        def step(args: list[str]) -> str:
            return form.step.format(*args)

        if not axes:
            self.emit(f"t{k} = {self.formula(step, [f't{k}', value])}", depth)
            return
        if local:  # the running value is u<k> itself (see ``_loops``)
            self.emit(f"u{k} = {self.formula(step, [f'u{k}', value])}", depth)
            return
        at = self._running(f)
        self.emit(f"u{k} = {at}", depth)
        self.emit(f"{at} = {self.formula(step, [f'u{k}', value])}", depth)

    def _fold_finish(self, f: Node, bounds: list[str]) -> None:
        form, axes = self._fold_axes(f)
        count = f"float({' * '.join(bounds[a] for a in form.axes) or '1'})"
        cast = CASTS[f.dtype.name]
        k = self.number[f]
        if not axes:
            self.emit(f"v{k} = {cast}({form.finish.format(f't{k}', count)})")
            return
        if form.finish == "{0}" and f.dtype == np.float64:
            self.emit(f"v{k} = t{k}")
            return
        self.emit(f"v{k} = np.empty(t{k}.shape, {CASTS[f.dtype.name]})")
        self.emit(f"w{k} = v{k}.reshape(t{k}.size)")
        self.emit(f"x{k} = t{k}.reshape(t{k}.size)")
        self.emit(f"for j in range(t{k}.size):")
        self.emit(f"w{k}[j] = {cast}({form.finish.format(f'x{k}[j]', count)})", 2)


@functools.cache
def branches(formula: str) -> bool:
    """Whether ``formula`` has a conditional: ``if``, ``and`` or ``or``."""
    tree = ast.parse(formula, mode="eval")
    return any(isinstance(n, (ast.IfExp, ast.BoolOp)) for n in ast.walk(tree))


def hoisted(formula: str, suffix: str) -> tuple[str, list[tuple[str, str]]]:
    """``formula`` with each value it names (``(_p := x * y)``) computed first, as
    ``[(name, expression)]`` in the order Python evaluates them, its names made unique
    with ``suffix``.  The same value in every case: formulas are pure arithmetic, so a value
    computed where a branch would not have needed it changes nothing."""
    bound: list[tuple[str, str]] = []

    class Hoist(ast.NodeTransformer):
        def visit_NamedExpr(self, node: ast.NamedExpr) -> ast.AST:
            value = self.visit(node.value)  # names bound inside it come first
            name = node.target.id + suffix
            bound.append((name, ast.unparse(value)))
            return ast.Name(name, ast.Load())

        def visit_Name(self, node: ast.Name) -> ast.AST:
            return ast.Name(node.id + suffix, node.ctx) if node.id.startswith("_") else node

    tree = Hoist().visit(ast.parse(formula, mode="eval"))
    return ast.unparse(tree), bound


def module_source(
    body: str, options: str, numpy: str = "numpy", library: Library = LIBM, jit: bool = True
) -> str:
    """A module around a region's functions (each under numba's ``njit(options)``): the
    functions its formulas call, as :mod:`graphad.ir.scalar` names them, bound by
    ``library`` (C's, which are :mod:`math`'s, or vectorised ones where ``jit``), and as
    ``np`` the module ``numpy`` names (NumPy, or a module of the same functions that a
    compiler prefers).  Functions other than ``kernel`` and the formulas' (a loop's body and
    condition) are inlined into it: a call per step, with its arrays' reference counts,
    costs more than a small body's arithmetic.  A formula's function comes with each region
    that calls it (a loop's body and its condition, say) and is defined once."""
    lines = []
    defined = set()
    for function in re.split(r"\n(?=def )", body.strip("\n")):
        head = function.partition("(")[0]
        if head in defined:
            continue
        defined.add(head)
        own = head == f"def {KERNEL}" or head.startswith(f"def {FORMULA}")
        inline = "" if own else ', inline="always"'
        lines += [f"@numba.njit({options}{inline})", function.rstrip("\n"), "", ""]
    functions = "\n".join(lines).rstrip("\n")
    imports = library.imports(jit)
    return f"import numba\nimport {numpy} as np\n{imports}\n\n\n{functions}\n"
