"""The numba backend: the optimised plan's compiled regions as native code.

``Executor(fetches, backend="numba")`` cuts the plan into regions
(:mod:`graphad.compiler.regions`), writes each as the source of one function
(:mod:`graphad.compiler.native_code`) and has numba compile it in nopython mode, with
NumPy's error model (1/0 is inf, as in NumPy, not an exception) and no fastmath (IEEE
results).  The nodes without a native form run on NumPy between the regions, so a plan is
never refused as a whole; ``Executor.fallbacks`` names them and why.

The plan that runs is the graph rewritten: each region one node of :class:`NumbaRegion`
(its outputs a tuple, read by ``entry`` nodes), the fallbacks rebuilt on those, so the
generated Python that runs every plan runs this one, and its memory plan frees a region's
results after their last reader.

Compilation is paid once.  A region's source is written to a file named by its hash in
the cache directory (``cache_dir``, by default numba's: ``NUMBA_CACHE_DIR`` when set, else
its user-wide cache), and numba caches the compiled function beside it, keyed by the source
and the argument types: a second process loads it instead of compiling, and equal regions
of different graphs share one compiled function.  A function is compiled when first called
with new argument types (a feed of another dtype, rank or memory layout is another
specialisation, as NumPy-typed code must be); the time it takes, or takes to load from the
cache, is the Executor's ``compile_time``.  A region numba cannot compile runs its nodes
on NumPy instead, and says so among the fallbacks.

This module imports numba; nothing imports it until a numba backend is asked for, so
``import graphad`` does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphad.compiler.native_code import RegionSource, Scratch
from graphad.compiler.plan import Plan
from graphad.compiler.regions import Form, Region, cut, form, is_leaf
from graphad.ir import Constant, Node, Op, TupleType, ValueType, rebuild
from graphad.ops._buffers import MIN_BYTES, empty, running_pool
from graphad.ops.loop import Loop
from graphad.ops.structure import TupleGet, entry
from graphad.runtime.numba_kernel import CompileFailure, Kernel, default_cache_dir
from graphad.runtime.numba_loops import NumbaLoop, native_loop
from graphad.runtime.numba_math import LIBRARY

# numba compiles ~500 nodes a second: past this many, a plan stays on NumPy
NATIVE_LIMIT = 20_000


@dataclass
class Compiled:
    """How a region runs now: its kernel through a converting wrapper, or (numba having
    failed on it) its nodes on NumPy; ``failure`` says why."""

    kernel: Kernel
    region: Region
    arguments: tuple[Node, ...]
    buffers: tuple[Scratch, ...] = ()  # the kernel's last arguments, from the run's pool
    run: Callable[..., tuple[Any, ...]] = field(init=False)
    failure: str | None = None

    def __post_init__(self) -> None:
        self.run = self._wrapper()

    def _wrapper(self) -> Callable[..., tuple[Any, ...]]:
        """``call(a0, …)``: the kernel on the arguments (0-d ones as Python numbers, one
        numba type whether fed as 0-d arrays or NumPy scalars), its 0-d results as NumPy
        scalars of their dtypes, as NumPy's kernels give them.  numba's dispatcher is called
        directly; only arguments of new types go through the ``Kernel``, which compiles
        them (a call less, a tenth of a small region's run)."""
        names = [f"a{i}" for i in range(len(self.arguments))]
        args = [
            (("bool" if x.dtype == np.bool_ else "float") + f"({a})") if x.shape == () else a
            for a, x in zip(names, self.arguments)
        ]
        outs = [
            f"{o.dtype.name}(r[{k}])" if o.shape == () else f"r[{k}]"
            for k, o in enumerate(self.region.outputs)
        ]
        # the large arrays of known shape it makes are written into buffers drawn from the
        # run's pool (see RegionSource); those it does not return go back to it at once
        lines = [f"def call({', '.join(names)}):"]
        for k, b in enumerate(self.buffers):
            lines.append(f"    {b.name} = empty({b.shape}, dtype{k}, None, 'C')")
        every = ", ".join(args + [b.name for b in self.buffers])
        lines += [
            "    try:",
            f"        r = dispatcher({every})",
            "    except (TypeError, RuntimeError):  # new types: compiled, or a kernel's error",
            f"        r = kernel({every})",
        ]
        scratch = [b.name for b in self.buffers if not b.returned]
        if scratch:
            lines.append("    pool = running_pool()")
            lines.append("    if pool is not None:")
            lines += [f"        pool.give({name})" for name in scratch]
        lines.append(f"    return ({', '.join(outs)},)")
        code = "\n".join(lines) + "\n"
        scope: dict[str, Any] = {"kernel": self.kernel, "dispatcher": self.kernel.fn}
        scope.update(float64=np.float64, float32=np.float32, bool=np.bool_)
        scope.update(empty=empty, running_pool=running_pool)
        scope.update({f"dtype{k}": np.dtype(b.dtype[3:]) for k, b in enumerate(self.buffers)})
        exec(compile(code, f"<graphad numba call {self.kernel.name}>", "exec"), scope)
        return scope["call"]

    def __call__(self, *args: Any) -> tuple[Any, ...]:
        try:
            return self.run(*args)
        except CompileFailure as e:
            self.failure = f"numba could not compile the region: {e}"
            self.run = self._on_numpy
            return self.run(*args)

    def _on_numpy(self, *args: Any) -> tuple[Any, ...]:
        values: dict[Node, Any] = dict(zip(self.arguments, args))
        for x in self.region.inputs:
            if x not in values:  # a scalar constant, written into the source as a literal
                assert isinstance(x.op, Constant)
                values[x] = x.op.value
        with np.errstate(all="ignore"):  # as on the NumPy backend: inf and NaN are values
            for n in self.region.nodes:
                values[n] = n.op.compute(*(values[x] for x in n.inputs))
        return tuple(values[o] for o in self.region.outputs)


@dataclass(frozen=True, eq=False)
class NumbaRegion(Op):
    """A compiled region of a plan: its arguments in, the tuple of its outputs out."""

    compiled: Compiled

    @property
    def name(self) -> str:
        return "numba_region"

    def infer(self, *types: ValueType) -> TupleType:
        return TupleType(tuple(o.type for o in self.compiled.region.outputs))

    def compute(self, *args: Any) -> tuple[Any, ...]:
        return self.compiled(*args)

    def __str__(self) -> str:
        nodes = self.compiled.region.nodes
        return f"numba_region({len(nodes)} nodes: {', '.join(sorted({n.op.name for n in nodes}))})"


@dataclass(frozen=True)
class Direct:
    """A plan that is one compiled region whose arguments are placeholders and constants,
    each fetch one of its outputs: ``run(fed)`` (feeds by placeholder) calls the region
    and gives the fetches, in order, without the plan's generated Python around it (W2
    n = 10: a fifth of a run).  ``region`` is the plan's node that runs it."""

    region: Node
    run: Callable[[dict[Node, Any]], list[Any]]


def direct(fetches: Sequence[Node]) -> Direct | None:
    """The plan of ``fetches`` run as one call of its one region, when it is one."""
    regions = {x.inputs[0] for x in fetches if x.inputs and isinstance(x.inputs[0].op, NumbaRegion)}
    if len(regions) != 1:
        return None
    (region,) = regions
    op = region.op
    assert isinstance(op, NumbaRegion)
    if not all(is_leaf(x) for x in region.inputs):
        return None
    scope: dict[str, Any] = {"compiled": op.compiled}
    args = []
    for i, x in enumerate(region.inputs):
        leaf = x.op
        scope[f"x{i}"] = leaf.value if isinstance(leaf, Constant) else x
        args.append(f"x{i}" if isinstance(leaf, Constant) else f"fed[x{i}]")
    outs = []
    for f in fetches:
        if f.inputs != (region,) or not isinstance(f.op, TupleGet):
            return None
        outs.append(f"r[{f.op.index}]")
    code = f"def run(fed):\n    r = compiled({', '.join(args)})\n    return [{', '.join(outs)}]\n"
    exec(compile(code, f"<graphad numba plan {op.compiled.kernel.name}>", "exec"), scope)
    return Direct(region, scope["run"])


@dataclass(frozen=True)
class Fallback:
    """A node that runs on NumPy, and why."""

    node: Node
    reason: str


class Lowered:
    """``nodes`` (optimised fetches) with their compiled regions as ``NumbaRegion`` nodes:
    ``fetches`` (the graph that runs), ``regions`` and the nodes left to NumPy."""

    def __init__(self, nodes: Sequence[Node], cache_dir: Path | None = None) -> None:
        directory = default_cache_dir() / "graphad" if cache_dir is None else Path(cache_dir)
        order = Plan(list(nodes)).order
        forms: dict[Node, Form | str] = {n: form(n) for n in order if not is_leaf(n)}
        compilable = sum(not isinstance(f, str) for f in forms.values())
        too_many = compilable > NATIVE_LIMIT
        if too_many:  # an unrolled loop, say: compiling would take minutes
            why = (
                f"the plan has {compilable} compilable nodes, past the numba backend's "
                f"limit of {NATIVE_LIMIT}: numba would compile them for minutes"
            )
            forms = {n: why if not isinstance(f, str) else f for n, f in forms.items()}
        fetched = set(nodes)
        new: dict[Node, Node] = {}
        self.regions: list[Compiled] = []
        self.loops: list[Node] = []  # loop nodes rebuilt to run native step functions
        self._fallbacks: list[Fallback] = []
        for stage in cut(order, nodes, forms):
            if isinstance(stage, Node):
                inputs = tuple(new.get(x, x) for x in stage.inputs)
                reason = forms[stage]
                assert isinstance(reason, str)
                if isinstance(stage.op, Loop) and not too_many:
                    loop = native_loop(stage, inputs, directory)
                    if isinstance(loop, Node):
                        self.loops.append(loop)
                        new[stage] = loop
                        continue
                    reason = f"{stage.op.name}'s loop stays in Python: {loop}"
                self._fallbacks.append(Fallback(stage, reason))
                new[stage] = rebuild(stage, inputs)
                continue
            fresh = {o for o in stage.outputs if o in fetched}
            source = RegionSource(stage, forms, fresh, library=LIBRARY, pooled=MIN_BYTES)
            kernel = Kernel(source.source(), directory)
            compiled = Compiled(kernel, stage, tuple(source.arguments), tuple(source.scratches))
            self.regions.append(compiled)
            node = NumbaRegion(compiled)(*(new.get(x, x) for x in compiled.arguments))
            for k, o in enumerate(stage.outputs):
                got = entry(node, k)
                assert got is not None
                new[o] = got
        self.fetches = [new.get(n, n) for n in nodes]
        # a region writing into the pool's buffers runs inside the plan, which holds the pool
        plain = not (self._fallbacks or self.loops or self.pooled)
        self.direct = direct(self.fetches) if plain else None

    @staticmethod
    def is_region(node: Node) -> bool:
        return isinstance(node.op, NumbaRegion)

    @property
    def fallbacks(self) -> tuple[Fallback, ...]:
        """The nodes that run on NumPy: those without a native form, the nodes of regions
        numba could not compile, and loops whose steps it could not compile."""
        failed = [Fallback(n, c.failure) for c in self.regions if c.failure for n in c.region.nodes]
        failed += [Fallback(n, s.failure) for n in self.loops for s in _steps(n) if s.failure]
        return (*self._fallbacks, *failed)

    @property
    def pooled(self) -> bool:
        """Whether a region writes large arrays into buffers of the run's pool."""
        return any(c.buffers for c in self.regions)

    @property
    def all_native(self) -> bool:
        """Whether every node runs as native code (``fallbacks`` is empty), asked every run."""
        if self._fallbacks or any(c.failure for c in self.regions):
            return False
        return not any(s.failure for n in self.loops for s in _steps(n))

    @property
    def kernels(self) -> list[Kernel]:
        """The compiled functions: each region's, each loop's step functions."""
        return [c.kernel for c in self.regions] + [s.kernel for n in self.loops for s in _steps(n)]

    @property
    def compile_time(self) -> float:
        return sum(k.compile_time for k in self.kernels)

    def report(self) -> str:
        """What compiled and what did not: each region's ops, each native loop, each
        fallback and why."""
        lines = [
            f"numba backend: {len(self.regions)} compiled region(s), {len(self.loops)} native "
            f"loop(s), {len(self.fallbacks)} node(s) on NumPy; compile time "
            f"{self.compile_time:.3f} s ({sum(k.cache_hits for k in self.kernels)} loaded "
            "from the cache)"
        ]
        for k, c in enumerate(self.regions):
            ops = sorted({n.op.name for n in c.region.nodes})
            state = f" [on NumPy: {c.failure}]" if c.failure else ""
            lines.append(f"  region {k}: {len(c.region.nodes)} node(s): {', '.join(ops)}{state}")
        for n in self.loops:
            failed = [s.failure for s in _steps(n) if s.failure]
            state = f" [steps in Python: {failed[0]}]" if failed else ""
            lines.append(f"  loop {n.name}: native steps, made at {n.origin.location}{state}")
        for f in self.fallbacks:
            lines.append(
                f"  on NumPy: {f.node.name} ({f.reason}), made at {f.node.origin.location}"
            )
        return "\n".join(lines)


def _steps(node: Node) -> list[Any]:
    """A native loop's step functions (its own and its replayed loop's)."""
    op = node.op
    return op.steps if isinstance(op, NumbaLoop) else []
