"""numba's compiled functions for the numba backend, kept on disk and timed.

A :class:`Kernel` is the function a generated module defines, loaded from (or written to)
a file named by the hash of its source in the cache directory, beside which numba caches
the compiled code, keyed by the source and the argument types: a second process loads it
instead of compiling, and equal regions of different graphs share one compiled function.
It is compiled when first called with new argument types (a feed of another dtype, rank or
memory layout is another specialisation, as NumPy-typed code must be), timed into
``compile_time``; numba failing on it is a :class:`CompileFailure`, which the callers turn
into running on NumPy.  With numba's own ``NUMBA_DISABLE_JIT`` the functions run as
Python, on NumPy (the op table's tests use it to check what is generated).
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numba
from numba.core import config as numba_config
from numba.core.errors import NumbaIRAssumptionWarning, NumbaPerformanceWarning

from graphad.compiler.native_code import KERNEL, module_source
from graphad.runtime import numba_math, numba_numpy
from graphad.runtime.numba_math import LIBRARY

OPTIONS = 'cache=True, error_model="numpy", nogil=True'  # no fastmath: IEEE results
_NUMPY_HASH = hashlib.sha256(
    Path(numba_numpy.__file__).read_bytes() + Path(numba_math.__file__).read_bytes()
).hexdigest()[:16]


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
        numpy = "graphad.runtime.numba_" + ("numpy" if self.jit else "nojit")
        # numba_numpy's and numba_math's functions are inlined into the cached code, which
        # numba's cache does not know: their source's hash in the text makes a new module
        # when they change.  Without jit, C's functions (math's): numba_math's are native only
        source = module_source(body, OPTIONS, numpy, LIBRARY, self.jit)
        text = f"# {numpy} {_NUMPY_HASH}\n" + source
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
                with warnings.catch_warnings():
                    # np.dot of a strided view: slower, not wrong; and numba's own pedantic
                    # check of variables' scopes in inlined code (numba_numpy.dot's loops)
                    warnings.simplefilter("ignore", NumbaPerformanceWarning)
                    warnings.simplefilter("ignore", NumbaIRAssumptionWarning)
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
