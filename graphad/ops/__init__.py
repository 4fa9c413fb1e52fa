"""The op library: one module per family, each op a class with infer, compute, vjp, jvp.

This package re-exports the graph-building functions, named as in NumPy.
"""

from graphad.ops.elementwise import (
    abs,
    add,
    add_n,
    arccos,
    arcsin,
    arctan,
    clip,
    cos,
    cosh,
    divide,
    equal,
    exp,
    expm1,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    power,
    relu,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    where,
)
from graphad.ops.indexing import getitem
from graphad.ops.linalg import det, dot, einsum, inv, matmul, outer, solve, trace
from graphad.ops.nn import log_softmax, softmax
from graphad.ops.reduction import (
    argmax,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    prod,
    std,
    sum,
    var,
)
from graphad.ops.shape import (
    broadcast_like,
    broadcast_to,
    concatenate,
    expand_dims,
    matrix_transpose,
    reshape,
    split,
    squeeze,
    stack,
    sum_to,
    swapaxes,
    transpose,
)
from graphad.ops.utility import cast, ones_like, shape_of, stop_gradient, zeros_like

__all__ = [
    "abs", "add", "add_n", "arccos", "arcsin", "arctan", "argmax", "argmin", "broadcast_like",
    "broadcast_to", "cast", "clip", "concatenate", "cos", "cosh", "det", "divide", "dot",
    "einsum", "equal", "exp", "expand_dims", "expm1", "getitem", "greater", "greater_equal",
    "inv", "less", "less_equal", "log", "log1p", "log_softmax", "logical_and", "logical_not",
    "logical_or", "logsumexp", "matmul", "matrix_transpose", "max", "maximum", "mean", "min",
    "minimum", "multiply", "negative", "not_equal", "ones_like", "outer", "power", "prod",
    "relu", "reshape", "shape_of", "sigmoid", "sign", "sin", "sinh", "softmax", "solve",
    "split", "sqrt", "square", "squeeze", "stack", "std", "stop_gradient", "subtract", "sum",
    "sum_to", "swapaxes", "tan", "tanh", "trace", "transpose", "var", "where", "zeros_like",
]
