"""graphad: a graph-extension automatic-differentiation compiler with NumPy semantics.

Build a static graph of nodes, extend it with derivative nodes
(``gradients``, ``jvp``), and run any set of nodes with an ``Executor``.
"""

from graphad.autodiff import (
    Adjoint,
    Adjoints,
    adjoints,
    derivative,
    gradients,
    hessian,
    hvp,
    jacobian,
    jvp,
    vjp,
)
from graphad.compiler import optimize
from graphad.control import cond
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
    ShapeError,
    TensorType,
    TupleType,
    constant,
    placeholder,
)
from graphad.ops import *  # noqa: F403 - the NumPy-named functions are the API
from graphad.ops import __all__ as _ops_all
from graphad.runtime import Executor, evaluate

__version__ = "0.1.0"

__all__ = [
    "Adjoint",
    "Adjoints",
    "AxisError",
    "DTypeError",
    "DictType",
    "DifferentiationError",
    "ExecutionError",
    "Executor",
    "FeedError",
    "GraphError",
    "IndexingError",
    "Node",
    "Op",
    "Origin",
    "ShapeError",
    "TensorType",
    "TupleType",
    "adjoints",
    "cond",
    "constant",
    "derivative",
    "evaluate",
    "gradients",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
    "optimize",
    "vjp",
    "placeholder",
    *_ops_all,
]
