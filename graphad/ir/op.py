"""``Op``: the contract every operation fulfils, and the way to add one.

An op is a value: its attributes (axis, shape, key, ...) are its only state,
and two ops are equal when their class and attributes are, so CSE can merge
nodes keyed on ``(op, inputs)``.  Each op class keeps together everything graphad
knows about the op; no other module keeps a table of op classes.

Rules:

- ``infer(*input_types) -> type``: the shape/dtype rule; raises a typed
  :class:`GraphError` whose message :meth:`Op.__call__` prefixes with the op,
  the operand types and the user's line;
- ``compute(*values) -> value``: the NumPy kernel;
- ``vjp(node, g) -> tuple``: one adjoint node (or ``None``: no gradient flows
  into that input) per input, in the shape of ``node`` where broadcasting
  applies; the reverse pass un-broadcasts once;
- ``jvp(node, tangents) -> node | None``: the output tangent, given one
  tangent per input (``None`` meaning zero);
- ``batch(node, xs, batched) -> node | None``: the op on inputs ``xs`` of which those
  with ``batched[i]`` carry an extra leading batch axis (of a length B that may be unknown
  until run time: a rule then takes it from the batched values' run-time shapes); ``None``
  (the default) means "run it once per example", which ``vmap`` then does (for a B known
  when the graph is built); a result of the node's own rank, not one more, is the same for
  every example (``shape_of`` a batch);
- ``run_type(types, values)``: the result's type for operands of the concrete ``types``
  whose values (arrays, possibly lazy) are ``values``; ``infer``'s by default.  An op whose
  result's shape is an operand's value (a run-time shape operand, as scatter-add's) reads
  it here, for a backend that must know a shape before the kernel runs (Dask's one-task
  kernels);
- ``vjp_wanted(node, g, wanted)``: ``vjp`` when the reverse pass needs only the inputs
  marked in ``wanted``; by default all of ``vjp``, and a family that states its rule per
  input builds only the adjoints asked for.

Each derivative is stated once.  graphad's own ops inherit ``vjp`` and ``jvp`` from a family
in :mod:`graphad.ops` and state one thing: ``Elementwise`` and ``Reduce`` their partials,
``Linear``, ``JointlyLinear`` and ``Multilinear`` their ``transpose``, ``JvpOnly`` its ``jvp``
(the reverse pass transposes it), ``ZeroDerivative`` nothing; no class of graphad's defines
both rules but the family bases and the ops with sub-graphs
(``tests/ops/test_derivatives_stated_once.py`` lists them).  A user's op may write both
rules, as below, or subclass a family (``tests/ir/test_new_elementwise_op.py``).
- ``sparsity(node, detect) -> tuple``: which entries of each input each output entry
  depends on, one :class:`~graphad.ir.dependence.Dependence` (or ``None``: no derivative
  flows) per input; by default the elementwise rule for an ``elementwise`` op and every
  entry on every entry (``Dense``, reported as "no rule") for any other.

Traits, declared as class attributes; the defaults are safe for any op:

- ``commutative = True``: the kernel gives the same result, bit for bit, for its two
  inputs in either order (CSE then merges ``a*b`` and ``b*a``); a node of more inputs is
  reordered only under ``fast_math``, as ``add_n``'s sum of three in another order is
  another association (see :mod:`graphad.compiler.cse`);
- ``elementwise = True``: output entry i depends only on the (broadcast) inputs' entries i
  (the default ``sparsity`` rule says so);
- ``scalar = "exp({0})"``: the kernel on Python scalars, a formula over the operands
  ``{0}, {1}, …`` and the functions of :mod:`graphad.ir.scalar`; generated code runs it in
  place of ``compute`` on 0-d float64 values (``scalar_code`` formats it);
- ``operator = "+"``: the Python operator that writes the op (``a + b``, ``-a``), for its
  :meth:`Op.notation`;
- ``compute_for(node)``: ``compute`` specialised to one node, what depends only on its static
  types and constant operands decided once when the plan is made (``compute`` by default);
- ``code(node, args)``: the kernel on arrays as one Python expression over the operands'
  expressions (an operator or a method of the array: ``({0} @ {1})``, ``{0}.transpose(…)``),
  which generated code writes in place of a call of ``compute`` (a loop body runs it once
  a step, where a call's overhead is most of a small kernel's cost); ``None`` by default;
- ``chunking``: how a chunked array backend (Dask) may run the kernel: ``"dispatch"``
  (default: its NumPy calls run on the chunked arrays themselves), ``"blocks"`` (it maps
  aligned blocks of its inputs to blocks of its output: run it block by block) or
  ``"whole"`` (it needs whole arrays, like a sort or a factorisation: one task);
- ``branches``: the sub-graphs the op runs (``cond``'s two branches, a loop's body), each
  with placeholders ``params`` fed from the op's operands (``slots``) and its ``outputs``;
  empty by default.  ``with_outputs`` makes the same op over sub-graphs with new outputs
  (the compiler's rewrites of them), and ``control`` says how the op runs them, for a
  compiler that lowers them into the code around the op: ``"select"`` runs
  ``branches[0]`` when input 0 is true, else ``branches[1]``, each fed from the inputs
  after it; ``"loop"`` runs them over and over as the op's ``form`` describes (a
  :class:`~graphad.ops.loop.LoopForm`: which inputs are carried, sliced per step or
  constant; the compiler plans and generates the loop from it, the runtimes step through
  it); ``None``, the op's own ``compute`` runs them.
- ``placing = True``: the result is the operands' entries, each copied to a place (a
  concatenation, a reshape): ``place(out, *values)`` writes it into an array it is given
  and ``placed_shape(*values)`` says its shape, and ``compute`` takes operands that are
  :class:`~graphad.ops._placing.Pending` (another placing op's result, not made yet) and
  places them where they go; generated code hands a placing op's result to the placing op
  that consumes it that way, so a chain of them copies each entry once;
- ``native(node)``: how a native backend (numba) computes a node of an op that is not a
  scalar formula: a ``Fold`` (a reduction, run inside the loop that computes its operand) or
  a ``Call`` (one expression in the part of NumPy numba compiles), see
  :mod:`graphad.ir.native`; ``None`` (the default): the node runs on NumPy between the
  compiled parts of the plan.

``notation(args)`` writes the op applied to operands written ``args``
(:mod:`graphad.ir.notation`: Python's syntax, NumPy's names); drawings label nodes with it and
formulas are made of it.  By default the ``operator``, else a call ``name(a, b, axis=1)`` with
the attributes that differ from their defaults; an op whose call reads poorly writes its own
(``p[1]``, ``x.T``).

A class that overrides ``compute`` loses the kernel traits (``commutative``, ``scalar``,
``operator``, ``code``, ``native``) it inherited unless it states them again: they were stated
for its base's kernel.

An op's ``name`` (its class name in snake case: ``LogSoftmax`` is ``log_softmax``) is how
errors, drawings and node names call it.  An op without attributes is one value, made once
per class (``Multiply() is Multiply()``).

Rules build their results from graphad ops only, so derivatives can be
differentiated again.  In a ``match`` statement, ``Op(module.Class)`` matches an op whose
class is exactly ``Class`` (``Class()`` would match its subclasses too); to match its
attributes too, ``Class(__class__=Class, axes=a)``, which a type checker reads as a Class.

Adding an op is writing one such class; there is nothing to register::

    @dataclass(frozen=True)
    class Softplus(ga.Op):
        elementwise = True
        chunking = "blocks"
        def infer(self, x):
            return x                                  # same shape and dtype
        def compute(self, x):
            return np.logaddexp(0, x)                 # log(1 + eˣ) without overflow
        def vjp(self, node, g):                       # x̄ = g·σ(x)
            return (g * ga.sigmoid(node.inputs[0]),)
        def jvp(self, node, t):
            return t[0] * ga.sigmoid(node.inputs[0])

    y = Softplus()(x)        # a node; gradients of any order work

A rule left out raises a DifferentiationError naming the op when a pass needs it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, ClassVar, Literal, Protocol

from graphad.ir import dependence
from graphad.ir.errors import DifferentiationError, GraphError
from graphad.ir.native import Call, Fold
from graphad.ir.node import Node, current_origin, make_node, user_location
from graphad.ir.notation import Term, call, infix, prefix
from graphad.ir.types import ValueType

Chunking = Literal["dispatch", "blocks", "whole"]
Control = Literal["select", "loop"]
# facts about one kernel, not about a family
KERNEL_TRAITS = ("commutative", "scalar", "operator", "compute_for", "code", "native", "placing")


class SubGraph(Protocol):
    """A graph an op runs inside itself: placeholders ``params`` in, ``outputs`` out;
    ``params[i]`` is fed from the op's operand ``slots[i]`` (which inputs are operands,
    the op's ``control`` says)."""

    @property
    def params(self) -> tuple[Node, ...]: ...

    @property
    def slots(self) -> tuple[int, ...]: ...

    @property
    def outputs(self) -> tuple[Node, ...]: ...


@functools.cache
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _same(value: Any, default: Any) -> bool:
    """Whether an attribute holds its default (an array or odd value compares unequal)."""
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError):
        return False


_SINGLES: dict[type, Any] = {}  # the one instance of each attributeless op class
_WITH_ATTRIBUTES: set[type] = set()  # the op classes found not to be


def _attributeless(cls: type) -> bool:
    """A frozen dataclass without fields that compares by value (not by identity)."""
    params = getattr(cls, "__dataclass_params__", None)
    return params is not None and params.frozen and params.eq and not fields(cls)


class Op:
    """Base class of all ops; subclasses are frozen dataclasses of their attributes."""

    # ``Op(module.Class)`` in a match statement: the op's class is exactly Class
    __match_args__ = ("__class__",)

    commutative: ClassVar[bool] = False
    elementwise: ClassVar[bool] = False
    scalar: ClassVar[str | None] = None
    operator: ClassVar[str | None] = None
    control: ClassVar[Control | None] = None
    placing: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "compute" in cls.__dict__:  # a new kernel: the old one's traits may not hold
            for trait in KERNEL_TRAITS:
                if trait not in cls.__dict__:
                    setattr(cls, trait, getattr(Op, trait))

    @property
    def chunking(self) -> Chunking:
        """How a chunked backend runs the kernel (see the module docstring)."""
        return "dispatch"

    @property
    def branches(self) -> tuple[SubGraph, ...]:
        """The sub-graphs the op runs; none by default."""
        return ()

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """An op without attributes (a frozen dataclass of no fields: ``Multiply()``) is one
        value, so its class makes it once: a graph of 10⁵ products holds one ``Multiply()``,
        not 10⁵ equal objects for the garbage collector to walk.  Ops with attributes are
        made as usual."""
        if not args and not kwargs:
            single = _SINGLES.get(cls)
            if single is not None:
                return single
            if cls not in _WITH_ATTRIBUTES:
                if _attributeless(cls):
                    single = _SINGLES[cls] = object.__new__(cls)
                    return single
                _WITH_ATTRIBUTES.add(cls)
        return object.__new__(cls)

    @property
    def name(self) -> str:
        return _snake(type(self).__name__)

    def infer(self, *types: Any) -> ValueType:
        """The output type from one ``ValueType`` per input.  Each op states its own arity
        and which types it takes (``infer(self, a: TensorType, b: TensorType)``, checking
        them with ``tensor()``), which one signature here cannot say: ``Any`` is that."""
        raise NotImplementedError(f"{self.name}: no shape rule")

    def compute(self, *values: Any) -> Any:
        raise NotImplementedError(f"{self.name}: no kernel")

    def vjp(self, node: Node, g: Node) -> Sequence[Node | None]:
        raise DifferentiationError(f"{self.name}: no vjp rule (reverse mode is not defined)")

    def jvp(self, node: Node, tangents: Sequence[Node | None]) -> Node | None:
        raise DifferentiationError(f"{self.name}: no jvp rule (forward mode is not defined)")

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node | None:
        """The op on a batch (``xs[i]`` has a leading batch axis where ``batched[i]``), or
        ``None``: run it once per example."""
        return None

    def sparsity(self, node: Node, detect: dependence.Detect) -> dependence.Dependences:
        """Which entries of each input each entry of ``node`` depends on: entry i on the
        broadcast inputs' entries i for an ``elementwise`` op; for any other, every entry on
        every entry (safe, and reported as the op having no rule)."""
        if self.elementwise:
            return dependence.elementwise(node)
        return dependence.dense(node, declared=False)

    def run_type(self, types: Sequence[ValueType], values: Sequence[Any]) -> ValueType:
        """The result's type for operands of the concrete ``types`` holding ``values``."""
        return self.infer(*types)

    def with_outputs(self, outputs: Sequence[Sequence[Node]]) -> Op:
        """The same op over its sub-graphs with ``outputs[k]`` as branch k's outputs."""
        raise GraphError(f"{self.name}: has no sub-graphs whose outputs could be replaced")

    def compute_for(self, node: Node) -> Callable[..., Any]:
        """``compute`` specialised to ``node``: what depends only on its static types and
        constant operands (a result too small for the buffer pool, an index in range) is
        decided here, once, when the plan is made, not on every run.  It takes what
        ``compute`` takes and returns the same bits; by default ``compute`` itself."""
        return self.compute

    def place(self, out: Any, *values: Any) -> None:
        """Write the result of ``values`` into ``out``, an array of the result's shape (a
        ``placing`` op; operands may be pending, see the trait)."""
        raise GraphError(f"{self.name}: does not place its result into a given array")

    def placed_shape(self, *values: Any) -> tuple[int, ...]:
        """The shape of the result of ``values`` (operands may be pending), before it is
        made (a ``placing`` op)."""
        raise GraphError(f"{self.name}: does not place its result into a given array")

    def code(self, node: Node, args: Sequence[str], kernel: str) -> str | None:
        """``compute`` of ``node``'s inputs as one Python expression over ``args`` (the
        operands' expressions in generated code), or ``None``: call ``compute``.  The
        expression may call ``compute`` itself by the name ``kernel`` (a cheap common case
        written out, the kernel for the rest)."""
        return None

    def scalar_code(self, args: Sequence[str]) -> str:
        """The ``scalar`` formula applied to the operands' expressions ``args``."""
        if self.scalar is None:
            raise GraphError(f"{self.name}: no scalar formula")
        return self.scalar.format(*args)

    def native(self, node: Node) -> Fold | Call | None:
        """How a native backend computes ``node``; ``None``: it runs on NumPy."""
        return None

    def vjp_wanted(self, node: Node, g: Node, wanted: Sequence[bool]) -> Sequence[Node | None]:
        """``vjp`` when the reverse pass needs only the inputs marked in ``wanted`` (those on
        a path to some x; an entry not wanted may be None).  By default all of ``vjp``; a
        family whose rule is stated per input builds only the adjoints asked for, as JAX's
        transpose rules build cotangents only for the linear inputs."""
        return self.vjp(node, g)

    def attributes(self) -> dict[str, Any]:
        if not is_dataclass(self):
            return {}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.repr}

    def changed_attributes(self) -> dict[str, Any]:
        """The attributes whose values differ from their defaults (``axis=1``, not
        ``keepdims=False``): what a reader needs to tell this op from its plain form."""
        if not is_dataclass(self):
            return {}
        changed = {}
        for f in fields(self):
            if not f.repr:
                continue
            value = getattr(self, f.name)
            if f.default is MISSING or not _same(value, f.default):
                changed[f.name] = value
        return changed

    def notation(self, args: Sequence[Term]) -> Term:
        """The op applied to operands written ``args``, in Python's syntax with NumPy's names:
        ``a + b`` for an op with an ``operator``, else ``name(a, b, axis=1)`` with the
        attributes that differ from their defaults (see :mod:`graphad.ir.notation`)."""
        if self.operator is not None and len(args) == 2:
            return infix(self.operator, args[0], args[1])
        if self.operator is not None and len(args) == 1:
            return prefix(self.operator, args[0])
        return call(self.name, args, **self.changed_attributes())

    def __str__(self) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in self.attributes().items())
        return f"{self.name}({attrs})" if attrs else self.name

    def describe(self, types: Sequence[ValueType]) -> str:
        """``add((2, 3):float64, (4,):float64)``: the op with its operand types, for errors."""
        return f"{self}(" + ", ".join(map(str, types)) + ")" if types else str(self)

    def __call__(self, *inputs: Any, name: str | None = None) -> Node:
        """Infer the output type and make the node (called ``name``, when given); shape
        errors name the user's line.

        Arrays and Python scalars among the inputs become constants (scalars take
        the dtype of the node inputs beside them, as NumPy does).
        """
        # looked up once for the node and the constants made for its scalar operands
        origin = current_origin()
        for x in inputs:
            if not isinstance(x, Node):
                from graphad.ir.leaves import as_nodes

                try:
                    inputs = as_nodes(*inputs, origin=origin)
                except GraphError as e:
                    raise type(e)(f"{self.name}: {e}") from None
                break
        types = [x.type for x in inputs]
        try:
            out_type = self.infer(*types)
        except GraphError as e:
            raise type(e)(f"{self.describe(types)}: {e} ({user_location()})") from None
        except Exception as e:  # a user-defined rule raising something else: still name it
            raise GraphError(
                f"{self.describe(types)}: {type(e).__name__}: {e} ({user_location()})"
            ) from e
        return make_node(self, inputs, out_type, name, origin)
