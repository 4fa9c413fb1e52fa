"""The intermediate representation: nodes, types, ops, errors, leaves.

The bottom layer: ``ir`` imports nothing of graphad's outside itself at module level.  The
operators on ``Node`` are sugar for :mod:`graphad.ops`' functions, which it reaches lazily
inside the functions that need them (:mod:`graphad.ir.node`): the one deliberate upward
import.  The op contract, every rule and trait an op declares, is :mod:`graphad.ir.op`.

Glossary (one name per concept, used throughout graphad):

- **node**: an immutable vertex, ``op`` applied to ``inputs``, with a static ``type``;
- **op**: what a node computes, a value defined by its class and attributes;
- **inputs**: the nodes an op is applied to;
- **type**: ``TensorType(shape, dtype)``, ``TupleType``, ``DictType`` or ``SparseType``
  (a matrix of known sparsity ``Pattern``);
- **g**: the incoming cotangent of a node in reverse mode, in every rule and pass; the
  *adjoint* of a node is its total cotangent, the sum of the partial ones its consumers
  send (v̄₂ = v̄₂→₄ + v̄₂→₃).  The public keywords ``gradients(..., grad_y=)`` and
  ``vjp(y, xs, v)`` are the caller's seed g, named as TensorFlow 1 and JAX name it;
- **t**: a tangent in forward mode (``None`` means zero);
- **vjp** / **jvp**: an op's reverse and forward rules;
- **gradients** / **jvp**: the passes that call those rules over a graph;
- **origin**: which pass (user, reverse, forward) and derivative order made a node, inside
  which transform the user called;
- **role**: what a node made by a transform is: the adjoint, partial adjoint, tangent or batch
  of which node (``node.roles``).
"""

from graphad.ir.errors import (
    AxisError,
    DifferentiationError,
    DTypeError,
    ExecutionError,
    FeedError,
    GraphError,
    IndexingError,
    ShapeError,
)
from graphad.ir.graph import adopt, descendants, rebuild, substitute, topo_sort
from graphad.ir.leaves import (
    Constant,
    Placeholder,
    as_array,
    as_node,
    as_nodes,
    constant,
    is_constant,
    placeholder,
)
from graphad.ir.node import (
    Derivation,
    Node,
    Origin,
    Role,
    Snapshot,
    derivation,
    flag,
    one_origin,
    pass_origin,
    running_transform,
    tagged,
    transform,
    user_location,
)
from graphad.ir.notation import Term
from graphad.ir.op import Chunking, Control, Op, SubGraph
from graphad.ir.pattern import Pattern
from graphad.ir.types import (
    DictType,
    Dims,
    Shape,
    SparseType,
    TensorType,
    TupleType,
    Typed,
    ValueType,
    as_dtype,
    as_index,
    as_type,
    broadcast_shapes,
    fits,
    float_dtype,
    format_shape,
    is_differentiable,
    is_static,
    known_shape,
    normalize_axes,
    result_dtype,
    shapes_compatible,
    static_shape,
)

__all__ = [
    "AxisError",
    "Chunking",
    "Constant",
    "Control",
    "DTypeError",
    "Derivation",
    "DictType",
    "DifferentiationError",
    "Dims",
    "ExecutionError",
    "FeedError",
    "GraphError",
    "IndexingError",
    "Node",
    "Op",
    "Origin",
    "Pattern",
    "Placeholder",
    "Role",
    "Shape",
    "ShapeError",
    "Snapshot",
    "SparseType",
    "SubGraph",
    "TensorType",
    "Term",
    "TupleType",
    "Typed",
    "ValueType",
    "adopt",
    "as_array",
    "as_dtype",
    "as_index",
    "as_node",
    "as_nodes",
    "as_type",
    "broadcast_shapes",
    "constant",
    "derivation",
    "descendants",
    "fits",
    "flag",
    "float_dtype",
    "format_shape",
    "is_constant",
    "is_differentiable",
    "is_static",
    "known_shape",
    "normalize_axes",
    "one_origin",
    "pass_origin",
    "placeholder",
    "rebuild",
    "result_dtype",
    "running_transform",
    "shapes_compatible",
    "static_shape",
    "substitute",
    "tagged",
    "topo_sort",
    "transform",
    "user_location",
]
