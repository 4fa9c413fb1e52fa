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

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba.core import config as numba_config
from numba.core.errors import NumbaPerformanceWarning

from graphad.compiler.native_code import KERNEL, RegionSource, module_source
from graphad.compiler.plan import Plan
from graphad.compiler.regions import Form, Region, cut, form, is_leaf
from graphad.ir import Constant, Node, Op, TupleType, ValueType, rebuild
from graphad.ops.structure import entry

OPTIONS = 'cache=True, error_model="numpy", nogil=True'  # no fastmath: IEEE results
# numba compiles ~500 nodes a second: past this many, a plan stays on NumPy
NATIVE_LIMIT = 20_000


def default_cache_dir() -> Path:
    """numba's cache directory: ``NUMBA_CACHE_DIR`` when set, else its user-wide one."""
    # numba's settings are set at run time from the environment: read, not declared, names
    directory = getattr(numba_config, "CACHE_DIR", "")
    if directory:
        return Path(directory)
    from numba.misc.appdirs import AppDirs

    return Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)


# one lock for every kernel's compiling (numba compiles one function at a time anyway):
# kernels of one source share their compiled function, and its switch to compile
_COMPILING = threading.Lock()


class CompileFailure(Exception):
    """numba could not compile a region's function (a backend limit, not a user's error)."""


class Kernel:
    """A region's compiled function, loaded from (or written to) the cache directory.

    Called as the function itself; the first call with new argument types compiles (or
    loads from numba's cache) that specialisation, timed into ``compile_time``.
    """

    def __init__(self, body: str, directory: Path) -> None:
        # numba's own switch: with NUMBA_DISABLE_JIT the function runs as Python, on NumPy
        self.jit = not getattr(numba_config, "DISABLE_JIT", False)
        numpy = "graphad.runtime.numba_numpy" if self.jit else "numpy"
        text = module_source(body, f"@numba.njit({OPTIONS})", numpy)
        digest = hashlib.sha256(text.encode()).hexdigest()[:24]
        self.name = f"graphad_numba_{digest}" + ("" if self.jit else "_python")
        self.source = text
        module = sys.modules.get(self.name) or _load(self.name, text, directory)
        self.fn: Any = getattr(module, KERNEL)
        if self.jit:
            self.fn._can_compile = False  # new types come through _compile, which times it
        self.compile_time = 0.0
        self.cache_hits = 0
        self.compiled = 0

    def __call__(self, *args: Any) -> Any:
        try:
            return self.fn(*args)
        except (TypeError, RuntimeError) as e:
            # new argument types; or another thread's compiling let this call try to
            # compile too, and the compiler was closed again before its turn
            message = str(e)
            if not message.startswith(("No matching definition", "compilation disabled")):
                raise
        self._compile(args)
        return self.fn(*args)

    def _compile(self, args: Sequence[Any]) -> None:
        signature = tuple(numba.typeof(a) for a in args)
        with _COMPILING:
            if signature in self.fn.overloads:  # compiled meanwhile, by another thread
                return
            hits = sum(self.fn.stats.cache_hits.values())
            start = time.perf_counter()
            self.fn._can_compile = True
            try:
                with warnings.catch_warnings():  # np.dot of a strided view: slower, not wrong
                    warnings.simplefilter("ignore", NumbaPerformanceWarning)
                    self.fn.compile(signature)
            except Exception as e:  # a typing error, or numba's own failing on the source
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise CompileFailure(reason) from e
            finally:
                self.fn._can_compile = False
            self.compile_time += time.perf_counter() - start
            self.compiled += 1
            self.cache_hits += sum(self.fn.stats.cache_hits.values()) - hits


def _load(name: str, text: str, directory: Path) -> Any:
    """The module of ``text``, from its file in ``directory`` (written first if new)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.py"
    if not path.exists() or path.read_text() != text:
        # written whole or not at all: another process may be loading the same file
        fd, temp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(temp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Compiled:
    """How a region runs now: its kernel through a converting wrapper, or (numba having
    failed on it) its nodes on NumPy; ``failure`` says why."""

    kernel: Kernel
    region: Region
    arguments: tuple[Node, ...]
    run: Callable[..., tuple[Any, ...]] = field(init=False)
    failure: str | None = None

    def __post_init__(self) -> None:
        self.run = self._wrapper()

    def _wrapper(self) -> Callable[..., tuple[Any, ...]]:
        """``call(a0, …)``: the kernel on the arguments (0-d ones as Python numbers, one
        numba type whether fed as 0-d arrays or NumPy scalars), its 0-d results as NumPy
        scalars of their dtypes, as NumPy's kernels give them."""
        names = [f"a{i}" for i in range(len(self.arguments))]
        args = [
            (("bool" if x.dtype == np.bool_ else "float") + f"({a})") if x.shape == () else a
            for a, x in zip(names, self.arguments)
        ]
        outs = [
            f"{o.dtype.name}(r[{k}])" if o.shape == () else f"r[{k}]"
            for k, o in enumerate(self.region.outputs)
        ]
        code = (
            f"def call({', '.join(names)}):\n"
            f"    r = kernel({', '.join(args)})\n"
            f"    return ({', '.join(outs)},)\n"
        )
        scope: dict[str, Any] = {"kernel": self.kernel, "float64": np.float64}
        scope.update(float32=np.float32, bool=np.bool_)
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
        if compilable > NATIVE_LIMIT:  # an unrolled loop, say: compiling would take minutes
            too_many = (
                f"the plan has {compilable} compilable nodes, past the numba backend's "
                f"limit of {NATIVE_LIMIT}: numba would compile them for minutes"
            )
            forms = {n: too_many if not isinstance(f, str) else f for n, f in forms.items()}
        fetched = set(nodes)
        new: dict[Node, Node] = {}
        self.regions: list[Compiled] = []
        self._fallbacks: list[Fallback] = []
        for stage in cut(order, nodes, forms):
            if isinstance(stage, Node):
                reason = forms[stage]
                assert isinstance(reason, str)
                self._fallbacks.append(Fallback(stage, reason))
                new[stage] = rebuild(stage, tuple(new.get(x, x) for x in stage.inputs))
                continue
            source = RegionSource(stage, forms, {o for o in stage.outputs if o in fetched})
            compiled = Compiled(Kernel(source.source(), directory), stage, tuple(source.arguments))
            self.regions.append(compiled)
            node = NumbaRegion(compiled)(*(new.get(x, x) for x in compiled.arguments))
            for k, o in enumerate(stage.outputs):
                got = entry(node, k)
                assert got is not None
                new[o] = got
        self.fetches = [new.get(n, n) for n in nodes]

    @staticmethod
    def is_region(node: Node) -> bool:
        return isinstance(node.op, NumbaRegion)

    @property
    def fallbacks(self) -> tuple[Fallback, ...]:
        """The nodes that run on NumPy: those without a native form, and the nodes of
        regions numba could not compile."""
        failed = [Fallback(n, c.failure) for c in self.regions if c.failure for n in c.region.nodes]
        return (*self._fallbacks, *failed)

    @property
    def compile_time(self) -> float:
        return sum(c.kernel.compile_time for c in self.regions)

    def report(self) -> str:
        """What compiled and what did not: each region's ops, each fallback and why."""
        lines = [
            f"numba backend: {len(self.regions)} compiled region(s), "
            f"{len(self.fallbacks)} node(s) on NumPy; compile time {self.compile_time:.3f} s "
            f"({sum(c.kernel.cache_hits for c in self.regions)} loaded from the cache)"
        ]
        for k, c in enumerate(self.regions):
            ops = sorted({n.op.name for n in c.region.nodes})
            state = f" [on NumPy: {c.failure}]" if c.failure else ""
            lines.append(f"  region {k}: {len(c.region.nodes)} node(s): {', '.join(ops)}{state}")
        for f in self.fallbacks:
            lines.append(
                f"  on NumPy: {f.node.name} ({f.reason}), made at {f.node.origin.location}"
            )
        return "\n".join(lines)
