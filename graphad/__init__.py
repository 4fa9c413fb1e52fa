"""graphad: a graph-extension automatic-differentiation compiler with NumPy semantics.

Build a static graph of nodes, extend it with derivative nodes
(``gradients``, ``jvp``), and run any set of nodes with an ``Executor``.
Submodules (``ga.viz``, ``ga.numerical``, ...) and the drawing functions are
reachable after ``import graphad as ga`` and imported on first use, as in SciPy,
so a plain import does not pay for Graphviz and NetworkX.

The layers, bottom up, and the one direction of imports: at module level a module imports
only from its own package and from the layers below it; peers on one line do not import each
other, and the top layer sits freely on everything (``tests/codebase/test_import_direction.py``
checks it; docs/layout.md lists every module)::

    ir                    Node, types, the op contract (Op), errors, placeholders, constants
    ops                   the op families and the NumPy-named functions that build nodes
    autodiff | compiler   the derivative passes | rewrites, planning, code generation
    runtime               Executor, feeds, array backends
    control               ops that run sub-graphs (cond, the loops), derived by autodiff
    the top               this package (the public API), linalg, compiled, scipy_minimize,
                          numerical, viz, formulas, debug_print, explanation, expression,
                          cli, cli_checks, __main__

The one deliberate upward reach: the operators and NumPy protocols on ``Node`` (``x + y``,
``x[i]``, ``np.sum(x)``, a list of nodes taken as an array) are the functions of
:mod:`graphad.ops`, which ``ir`` imports inside the functions that need them, when first
called (:mod:`graphad.ir.node`, :func:`graphad.ir.leaves.as_node`), never at import time.
"""

import importlib
import importlib.util
from typing import Any

from graphad import linalg
from graphad.autodiff import (
    Adjoint,
    Adjoints,
    Coloring,
    SparsityWarning,
    adjoints,
    coloring,
    derivative,
    gradients,
    hessian,
    hessian_sparsity,
    hvp,
    jacobian,
    jvp,
    sparsity,
    vjp,
    vmap,
)
from graphad.compiled import Function, function
from graphad.compiler import optimize
from graphad.control import cond, fori_loop, scan, while_loop
from graphad.ir import (
    AxisError,
    DictType,
    DifferentiationError,
    DTypeError,
    ExecutionError,
    FeedError,
    GraphError,
    IndexingError,
    Node,
    Op,
    Origin,
    Pattern,
    ShapeError,
    SparseType,
    TensorType,
    TupleType,
    constant,
    placeholder,
)
from graphad.ops import *  # noqa: F403 - the NumPy-named functions are the API
from graphad.ops import __all__ as _ops_all
from graphad.ops._batching import BatchingError
from graphad.runtime import Executor, evaluate
from graphad.scipy_minimize import minimize

__version__ = "0.1.0"

# re-exported on first use: name -> the module that defines it
_LAZY = {
    "to_dot": "graphad.viz",
    "render": "graphad.viz",
    "to_networkx": "graphad.viz",
    "to_svg": "graphad.viz",
    "graph_stats": "graphad.viz",
    "explain": "graphad.explanation",
    "formula": "graphad.formulas",
    "dprint": "graphad.debug_print",
}


def __getattr__(name: str) -> Any:
    """``ga.viz``, ``ga.numerical``, ``ga.render``, ...: imported when first reached for."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'graphad' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Adjoint",
    "Adjoints",
    "AxisError",
    "BatchingError",
    "Coloring",
    "DTypeError",
    "DictType",
    "DifferentiationError",
    "ExecutionError",
    "Executor",
    "FeedError",
    "Function",
    "GraphError",
    "IndexingError",
    "Node",
    "Op",
    "Origin",
    "Pattern",
    "ShapeError",
    "SparseType",
    "SparsityWarning",
    "TensorType",
    "TupleType",
    "adjoints",
    "coloring",
    "cond",
    "constant",
    "derivative",
    "evaluate",
    "fori_loop",
    "function",
    "gradients",
    "hessian",
    "hessian_sparsity",
    "hvp",
    "jacobian",
    "jvp",
    "linalg",
    "minimize",
    "optimize",
    "sparsity",
    "scan",
    "vjp",
    "vmap",
    "while_loop",
    "placeholder",
    *_ops_all,
    *_LAZY,
]
