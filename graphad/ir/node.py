"""``Node``: one immutable vertex of the graph, and where it came from.

Provenance, what graphad's transforms record on the nodes they make (the API that drawings,
``explain`` and formulas read):

- ``node.origin``: an :class:`Origin`, one value shared by every node of one pass: ``kind``
  (``"user"``, ``"reverse"``, ``"forward"``), derivative ``order``, the user's ``location``
  that started it and the ``transform`` the user called (``"gradients"``, ``"hessian"``,
  ``"vmap"``, ...; ``""`` for the user's own nodes).  Equal values are one group: a
  Hessian's gradient pass is ``Origin("reverse", 1, "f.py:3", "hessian")``, its forward
  pass and its own final reshapes ``Origin("forward", 2, "f.py:3", "hessian")``;
- ``node.roles``: the :class:`Role` s a node plays, recorded by the pass that made it:
  the ``adjoint`` of a node, the ``partial`` adjoint a ``consumer`` sent it, the
  ``tangent`` of a node, the ``batch`` of a node (``vmap``), the ``jacobian`` or
  ``hessian`` of a node ``wrt`` another.  Empty for every other node (the user's, and a
  pass's intermediate values).  One node may play several (``v̄₃`` is also ``v̄₂→₃`` when
  ``v₃ = v₂ + 1``); the total comes first.

Both are set when the pass makes the node and never change afterwards; rewrites
(``rebuild``, ``adopt``), pickling and ``copy.deepcopy`` keep them.

Operators on nodes are sugar for the functions in :mod:`graphad.ops`.  They
are resolved when first called (``_fns``), not imported here, so that ``ir`` stays
the bottom layer: ``ops`` builds on ``ir`` and ``ir`` never imports ``ops``
at import time.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import functools
import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, NoReturn

import numpy as np

from graphad.ir.types import TensorType, ValueType, format_shape

if TYPE_CHECKING:
    from graphad.ir.op import Op

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ids = itertools.count()


@dataclass(frozen=True)
class Origin:
    """Which pass made a node: ``"user"`` (order 0), ``"reverse"`` or ``"forward"`` (order k),
    at the user's ``location``, inside the ``transform`` the user called (``""``: none)."""

    kind: str = "user"
    order: int = 0
    location: str = "<unknown>"
    transform: str = ""


class Role(NamedTuple):
    """What a node made by a transform is (see the module docstring): the ``kind``
    (``"adjoint"``, ``"partial"``, ``"tangent"``, ``"batch"``, ``"jacobian"``,
    ``"hessian"``) ``of`` a node, sent by ``consumer`` (a partial), with respect to ``wrt``
    (a Jacobian or Hessian).  Compared by the identity of its nodes (``Node.__eq__``
    builds a node)."""

    kind: str
    of: Node
    consumer: Node | None = None
    wrt: Node | None = None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Role)
            and self.kind == other.kind
            and self.of is other.of
            and self.consumer is other.consumer
            and self.wrt is other.wrt
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self.kind, id(self.of), id(self.consumer), id(self.wrt)))


_derivation: contextvars.ContextVar[Origin | None] = contextvars.ContextVar(
    "graphad_derivation", default=None
)
# the transform the user called, and the user's line that called it, while it runs
_transform: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "graphad_transform", default=None
)


@contextlib.contextmanager
def transform(name: str) -> Iterator[None]:
    """Run the block as the user's call of transform ``name`` (``"gradients"``,
    ``"hessian"``, ...): the passes inside record it, and the user's line found here, in
    their origins.  Inside another transform (hessian's gradients), the outer one's."""
    if _transform.get() is not None:
        yield
        return
    token = _transform.set((name, user_location()))
    try:
        yield
    finally:
        _transform.reset(token)


def running_transform() -> str | None:
    """The name of the transform the user called that is running now, if any."""
    found = _transform.get()
    return None if found is None else found[0]


_OWN_KIND = {"reverse": "adjoint", "forward": "tangent"}  # the role a pass's nodes mostly play


class Derivation:
    """One pass of a transform, while it runs: the ``origin`` of the nodes it makes, and
    :meth:`note`, which records the role a node plays on nodes this pass made."""

    __slots__ = ("first", "origin")

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.first = next(_ids)  # every node made from here on has a larger id

    def made(self, node: Node) -> bool:
        """Whether this pass made ``node`` (the user's and earlier passes' nodes are left
        as they are, whatever role they play here)."""
        return node.id > self.first

    def note(self, node: Node, role: Role) -> None:
        """Record that ``node``, if this pass made it, plays ``role`` (once)."""
        if node.id > self.first:
            roles = node.roles
            if role not in roles:
                _set_roles(node, (*roles, role))

    def note_all(self, kind: str, made: Mapping[Node, Node]) -> None:
        """Record that each value of ``made`` this pass made plays ``Role(kind, key)``: a
        sweep's adjoints, a pass's tangents (each key once, so no role twice).  A sweep pays
        this once per node, so a role of the pass's own kind (the adjoint of ``of`` for a
        reverse pass, its tangent for a forward one) is stored as ``of`` alone, and made a
        Role when asked for (``Node.roles``)."""
        first = self.first
        own = kind == _OWN_KIND.get(self.origin.kind)
        for of, node in made.items():
            if node.id > first:
                _set_roles(node, (*node._roles, of if own else Role(kind, of)))


def pass_origin(kind: str, order: int) -> Origin:
    """The origin of a pass ``kind`` at ``order`` started now: inside a transform, its name
    and the user's line that called it; else the user's line and no transform."""
    running = _transform.get()
    if running is None:
        return _origin(kind, order, user_location(), "")
    return _origin(kind, order, running[1], running[0])


@contextlib.contextmanager
def derivation(kind: str, order: int) -> Iterator[Derivation]:
    """Tag every node made inside the block as made by pass ``kind`` at ``order``, at the
    user's line that started the pass (found once, not once per node); the
    :class:`Derivation` yielded records the roles of the nodes the pass makes."""
    record = Derivation(pass_origin(kind, order))
    token = _derivation.set(record.origin)
    try:
        yield record
    finally:
        _derivation.reset(token)


@contextlib.contextmanager
def tagged(origin: Origin) -> Iterator[None]:
    """Tag every node made inside the block with ``origin`` (a transform's own nodes made
    after its pass, such as a Hessian's final reshape, belong to that pass)."""
    token = _derivation.set(origin)
    try:
        yield
    finally:
        _derivation.reset(token)


@contextlib.contextmanager
def one_origin() -> Iterator[None]:
    """Tag every node made inside the block with the origin current at its start (the
    running pass's, or the user's line): one stack walk for the block, not one per node.
    For graphad's own passes, between whose frames no user code makes nodes, so that each
    node gets the origin its own walk would have found."""
    with tagged(current_origin()):
        yield


_CONTEXTLIB = os.path.abspath(contextlib.__file__)
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__))


@functools.lru_cache(maxsize=4096)
def _in_package(filename: str) -> bool:
    # contextlib's frames belong to graphad's own `with` blocks, and NumPy's to the NumPy
    # function the user called on a node (np.sum([x, None])): never the user's line
    path = os.path.abspath(filename)
    return (
        path.startswith(_PACKAGE_DIR + os.sep)
        or path.startswith(_NUMPY_DIR + os.sep)
        or path == _CONTEXTLIB
    )


# Every node made outside a pass walks the stack to the user's frame; per code object,
# whether it is graphad's own (None) or the user's short file name, so the walk is a dict
# lookup a frame.
_code_files: dict[Any, str | None] = {}
_UNSEEN: Any = object()  # a code object not classified yet


def _user_file(code: Any) -> str | None:
    filename = code.co_filename
    name = None if _in_package(filename) else os.path.basename(filename)
    _code_files[code] = name
    return name


def _user_frame() -> tuple[str, int]:
    frame: FrameType | None = sys._getframe(2)
    files = _code_files
    while frame is not None:
        # the lookup inline, not a call a frame: this loop runs for every node a user makes
        code = frame.f_code
        name = files.get(code, _UNSEEN)
        if name is _UNSEEN:
            name = _user_file(code)
        if name is not None:
            return name, frame.f_lineno
        frame = frame.f_back
    return "<graphad>", 0


def user_location() -> str:
    """``file.py:12`` of the innermost stack frame outside the graphad package."""
    name, line = _user_frame()
    return f"{name}:{line}" if line else name


def flag(value: Any, what: str) -> bool:
    """``value`` as a switch, which must be True or False (NumPy's bool too): a string such
    as ``"no"`` would read as true and turn on what it meant to turn off."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    from graphad.ir.errors import GraphError

    raise GraphError(f"{what} must be True or False, got {value!r} ({user_location()})")


@functools.lru_cache(maxsize=65536)
def _origin(kind: str, order: int, location: str, transform: str = "") -> Origin:
    # one Origin per place and pass: a loop that builds 10⁵ nodes on one line shares one
    return Origin(kind, order, location, transform)


@functools.lru_cache(maxsize=65536)
def _user_origin(name: str, line: int) -> Origin:
    return _origin("user", 0, f"{name}:{line}" if line else name)


def current_origin() -> Origin:
    tag = _derivation.get()
    return tag if tag is not None else _user_origin(*_user_frame())


def users_own() -> bool:
    """Whether the nodes made now are the user's own (no graphad pass, derivation or
    rewrite, is tagging them with an origin of its own)."""
    return _derivation.get() is None


_SHALLOW = 64  # ancestors a node may have and still pickle by plain recursion
_pickling = threading.local()


def _listed() -> set[int]:
    """Ids of nodes that a deeper node listed ahead of itself in the pickle being written."""
    if not hasattr(_pickling, "ids"):
        _pickling.ids = set()
    ids: set[int] = _pickling.ids
    return ids


class _Unlist:
    """Pickled right after a listing: forgets the marks of listed nodes that the pickle had
    stored before (the pickler never asked them again); loads as ``()``."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids

    def __reduce__(self) -> tuple[Any, ...]:
        _listed().difference_update(self.ids)
        return (tuple, ())


def _restore(
    op: Op,
    inputs: tuple[Node, ...],
    type: ValueType,
    name: str | int,
    origin: Origin,
    roles: tuple[Role | Node, ...] = (),
) -> Node:
    """A loaded or copied node: same op, inputs, type, name, origin and roles (as the slot
    holds them); a fresh id."""
    node = make_node(op, inputs, type, name, origin)
    if roles:
        _set_roles(node, roles)  # made here, not yet seen by anyone
    return node


def _restore_after(ancestors: tuple[Node, ...], _unlisted: tuple[()], *record: Any) -> Node:
    return _restore(*record)


class Snapshot:
    """A flat, picklable copy of the graph behind ``nodes``: one record per node, inputs
    first, inputs as positions.  Pickling it costs no recursion and no walk per node, which
    is how an Executor stores its graph; ``nodes()`` rebuilds new nodes, sharing kept."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        roots = list(nodes)
        order = _post_order(roots, lambda n: False)
        index = {id(n): i for i, n in enumerate(order)}
        self.records: list[tuple[Op, tuple[int, ...], ValueType, str, Origin]] = [
            (n.op, tuple(index[id(x)] for x in n.inputs), n.type, n.name, n.origin) for n in order
        ]
        self.roots = [index[id(n)] for n in roots]

    def nodes(self) -> list[Node]:
        made: list[Node] = []
        for op, inputs, value_type, name, origin in self.records:
            made.append(_restore(op, tuple(made[i] for i in inputs), value_type, name, origin))
        return [made[i] for i in self.roots]


def _post_order(roots: Iterable[Node], skip: Callable[[Node], bool]) -> list[Node]:
    """The nodes ``roots`` depend on, inputs first, not entering nodes for which ``skip``
    holds; iterative, so any depth works (the graph walks proper live in ``ir.graph``)."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(r, False) for r in reversed(list(roots))]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen or skip(node):
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((x, False) for x in reversed(node.inputs) if id(x) not in seen)
    return order


def _ops() -> ModuleType:
    import graphad.ops

    return graphad.ops


class _Functions:
    """``graphad.ops``' functions for the operators on nodes, resolved at first use and
    unwrapped from their ``name=`` wrapper (an operator passes no name): an attribute read
    per operator instead of an import, a module lookup and a wrapper call, which were a
    sixth of building a chain of products and sums."""

    def __getattr__(self, name: str) -> Any:
        fn = getattr(_ops(), name)
        fn = getattr(fn, "__wrapped__", fn)
        setattr(self, name, fn)
        return fn


_fns = _Functions()


def _numpy_method(name: str) -> Any:
    """``ndarray.<name>`` for nodes: NumPy's signature and meaning, graphad's op."""

    def method(self: Node, *args: Any, **kwargs: Any) -> Any:
        from graphad.ops.protocol import method as call

        return call(name, self, args, kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``ndarray.{name}``: ``np.{name}(self, ...)`` as a node; ``out=`` is refused."
    return method


class _Fields:
    """The storage of a node, writable: ``make_node`` fills one in with plain attribute
    stores and then makes it a ``Node``, whose ``__setattr__`` refuses every write."""

    __slots__ = ("__weakref__", "_name", "_roles", "id", "inputs", "op", "origin", "type")
    op: Op
    inputs: tuple[Node, ...]
    type: ValueType
    origin: Origin
    id: int
    _name: str | int | None  # see Node.name
    # see Node.roles; a node in it stands for Role(<its pass's own kind>, node): see
    # Derivation.note_all
    _roles: tuple[Role | Node, ...]


class Node(_Fields):
    """An immutable graph vertex: ``op`` applied to ``inputs``, of static ``type``.

    Nodes hash by identity; ``a == b`` builds an ``equal`` node as in NumPy.
    Structural equality is the business of CSE.
    """

    __slots__ = ()  # the fields are _Fields' slots

    __match_args__ = ("op", "inputs")

    def __init__(
        self,
        op: Op,
        inputs: tuple[Node, ...],
        type: ValueType,
        name: str | None = None,
        *,
        origin: Origin | None = None,
    ) -> None:
        """``origin``: where the node comes from; by default the pass running (``derivation``)
        or the user's line, which a caller that makes several nodes at once looks up once."""
        set_ = object.__setattr__
        set_(self, "op", op)
        set_(self, "inputs", inputs if inputs.__class__ is tuple else tuple(inputs))
        set_(self, "type", type)
        set_(self, "id", next(_ids))
        set_(self, "_name", name)
        set_(self, "origin", origin if origin is not None else current_origin())
        set_(self, "_roles", ())

    @property
    def name(self) -> str:
        """The name given, else ``<op>_<id>``: spelled out when asked (a few nodes are, for
        errors and drawings), not stored as a string per node of a 10⁵-node graph.  A node
        rebuilt on new inputs keeps the name of the one it replaces: ``_name`` then holds
        that node's id (same op, so the same ``<op>_`` prefix)."""
        name = self._name
        if name is None:
            return f"{self.op.name}_{self.id}"
        return name if isinstance(name, str) else f"{self.op.name}_{name}"

    @name.setter
    def name(self, name: str) -> None:
        # reached only through object.__setattr__, as a node is named at birth (name=) or
        # takes the name of the node a rewrite replaces; ``node.name = ...`` raises
        object.__setattr__(self, "_name", name)

    @property
    def roles(self) -> tuple[Role, ...]:
        """What this node is, as the transform that made it recorded: ``(Role("adjoint",
        x),)`` for ``gradients(y, x)``; empty for the user's nodes and a pass's intermediate
        values (see the module docstring)."""
        found = self._roles
        if not found:
            return ()
        own = _OWN_KIND.get(self.origin.kind, "")
        return tuple(r if isinstance(r, Role) else Role(own, r) for r in found)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"Node is immutable (tried to set {key!r})")

    # -- pickling and copying ----------------------------------------------------
    # A pickle keeps identity: a node reached twice (shared sub-graphs, several fetches in one
    # pickle) is stored once by the pickler's memo and loads as one node.  Inputs pickle
    # before their consumer, which recurses once per level; a node deeper than _SHALLOW first
    # lists its ancestors, inputs before consumers, so that each of them finds its own inputs
    # already stored and a 10⁵-node chain pickles without deep recursion.
    def __reduce__(self) -> tuple[Any, ...]:
        record: tuple[Any, ...] = (self.op, self.inputs, self.type, self.name, self.origin)
        if self._roles:
            record += (self._roles,)
        marks = _listed()
        if id(self) in marks:  # listed by a deeper node: its inputs are stored already
            marks.discard(id(self))
            return (_restore, record)
        ancestors = _post_order(self.inputs, lambda n: False)
        if len(ancestors) < _SHALLOW:
            return (_restore, record)
        ids = [id(n) for n in ancestors]
        marks.update(ids)
        return (_restore_after, (tuple(ancestors), _Unlist(ids), *record))

    def __copy__(self) -> Node:
        return self  # immutable, like a tuple

    def __deepcopy__(self, memo: dict[int, Any]) -> Node:
        """A new graph of the same ops and types; what ``memo`` holds already is reused."""
        for node in _post_order([self], lambda n: id(n) in memo):
            if id(node) in memo:  # copied meanwhile, as what a role of another node names
                continue
            inputs = tuple(memo[id(x)] for x in node.inputs)
            op = copy.deepcopy(node.op, memo)  # a placeholder's op: a new, distinct input
            roles = tuple(
                Role(
                    r.kind,
                    copy.deepcopy(r.of, memo),
                    None if r.consumer is None else copy.deepcopy(r.consumer, memo),
                    None if r.wrt is None else copy.deepcopy(r.wrt, memo),
                )
                for r in node.roles
            )
            memo[id(node)] = _restore(op, inputs, node.type, node.name, node.origin, roles)
        return memo[id(self)]

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"Node is immutable (tried to delete {key!r})")

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<Node {self.name} {self.type}>"

    def _repr_html_(self) -> str:
        """Jupyter's view of a node: what it computes, its type, where it came from, whose
        derivative it is, and the size of the graph behind it (``ga.to_dot`` draws it)."""
        import html

        from graphad.ir.notation import atom

        expression = self.op.notation([atom(x.name) for x in self.inputs]).text
        origin = self.origin
        made = "your code" if origin.kind == "user" else f"{origin.kind} pass, order {origin.order}"
        if origin.transform:
            made += f" of {origin.transform}"
        roles = "; ".join(
            f"{r.kind} of {r.of.name}"
            + (f" sent by {r.consumer.name}" if r.consumer is not None else "")
            + (f" with respect to {r.wrt.name}" if r.wrt is not None else "")
            for r in self.roles
        )
        behind = _post_order([self], lambda n: False)
        derived = sum(n.origin.kind != "user" for n in behind)
        rows = [
            ("computes", expression),
            ("type", str(self.type)),
            ("made by", f"{made} at {origin.location}"),
            *([("is the", roles)] if roles else []),
            (
                "graph",
                f"{len(behind):,} nodes, {derived:,} made by differentiation; ga.to_dot draws it",
            ),
        ]
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'><code>{html.escape(v)}</code></td></tr>"
            for k, v in rows
        )
        title = html.escape(self.name)
        return f"<table><caption style='text-align:left'><b>{title}</b></caption>{cells}</table>"

    def __bool__(self) -> bool:
        from graphad.ir.errors import GraphError

        raise GraphError(
            f"the truth value of node {self.name} is not known until the graph runs; "
            f"use ga.where or ga.cond instead of Python if/and/or ({user_location()})"
        )

    def _no_value(self, what: str) -> NoReturn:
        from graphad.ir.errors import GraphError

        raise GraphError(
            f"{what}: node {self.name} has no value until the graph runs; evaluate it with "
            f"ga.evaluate or an Executor ({user_location()})"
        )

    def __float__(self) -> float:
        self._no_value("float(node)")

    def __int__(self) -> int:
        self._no_value("int(node)")

    def __complex__(self) -> complex:
        self._no_value("complex(node)")

    def __index__(self) -> int:
        self._no_value("a node used as a Python int")

    # -- static facts ---------------------------------------------------------
    @property
    def shape(self) -> tuple[int | None, ...] | None:
        return self.type.shape if isinstance(self.type, TensorType) else None

    @property
    def dtype(self) -> Any:
        return self.type.dtype if isinstance(self.type, TensorType) else None

    @property
    def ndim(self) -> int | None:
        return self.type.ndim if isinstance(self.type, TensorType) else None

    def __len__(self) -> int:
        from graphad.ir.types import DictType, TupleType

        if isinstance(self.type, (TupleType, DictType)):
            return len(self.type.items)
        shape = self.shape
        if not shape or shape[0] is None:
            from graphad.ir.errors import ShapeError

            raise ShapeError(f"len() of {self.name} with shape {format_shape(shape)}")
        return shape[0]

    def __iter__(self) -> Iterator[Node]:
        """Entries of a tuple, keys of a dict, rows of a tensor with a known first dim."""
        from graphad.ir.types import DictType

        if isinstance(self.type, DictType):
            # a dict node iterates its keys, as a dict does; the annotation says what every
            # other node yields (entries), which is what callers unpack
            return iter(self.type.keys())  # type: ignore[arg-type]
        return (self[i] for i in range(len(self)))

    def keys(self) -> tuple[str, ...]:
        """The keys of a dict-valued node."""
        from graphad.ir.errors import GraphError
        from graphad.ir.types import DictType

        if not isinstance(self.type, DictType):
            raise GraphError(f"{self.name} is not a dict (type {self.type})")
        return self.type.keys()

    # -- NumPy interoperation ---------------------------------------------------
    _UFUNC_NAMES: ClassVar[dict[str, str]] = {"true_divide": "divide", "absolute": "abs"}

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``np.sin(node)`` and ``array * node`` build graph nodes, like ``ga.sin``/``*``."""
        fn = getattr(_ops(), self._UFUNC_NAMES.get(ufunc.__name__, ufunc.__name__), None)
        if method == "__call__" and not kwargs and fn is not None:
            return fn(*inputs)
        from graphad.ops.protocol import array_ufunc  # methods, keywords, what is missing

        return array_ufunc(ufunc, method, fn, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """``np.sum(node)``, ``np.concatenate([a, b])``: graphad's function of that name."""
        from graphad.ops.protocol import array_function

        return array_function(func, types, args, kwargs)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        self._no_value("np.asarray(node)")

    # -- NumPy-style operators (sugar for graphad.ops) -------------------------
    def __add__(self, other: Any) -> Node:
        return _fns.add(self, other)

    def __radd__(self, other: Any) -> Node:
        return _fns.add(other, self)

    def __sub__(self, other: Any) -> Node:
        return _fns.subtract(self, other)

    def __rsub__(self, other: Any) -> Node:
        return _fns.subtract(other, self)

    def __mul__(self, other: Any) -> Node:
        return _fns.multiply(self, other)

    def __rmul__(self, other: Any) -> Node:
        return _fns.multiply(other, self)

    def __truediv__(self, other: Any) -> Node:
        return _fns.divide(self, other)

    def __rtruediv__(self, other: Any) -> Node:
        return _fns.divide(other, self)

    def __mod__(self, other: Any) -> Node:
        return _fns.remainder(self, other)

    def __rmod__(self, other: Any) -> Node:
        return _fns.remainder(other, self)

    def __pow__(self, other: Any) -> Node:
        return _fns.power(self, other)

    def __rpow__(self, other: Any) -> Node:
        return _fns.power(other, self)

    def __matmul__(self, other: Any) -> Node:
        return _fns.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Node:
        return _fns.matmul(other, self)

    def __neg__(self) -> Node:
        return _fns.negative(self)

    def __pos__(self) -> Node:
        return self

    def __abs__(self) -> Node:
        return _fns.abs(self)

    # == and != build nodes, as NumPy's build arrays, where object's return a bool
    def __eq__(self, other: Any) -> Node:  # type: ignore[override]
        return _fns.equal(self, other)

    def __ne__(self, other: Any) -> Node:  # type: ignore[override]  # a node too, as ==
        return _fns.not_equal(self, other)

    def __lt__(self, other: Any) -> Node:
        return _fns.less(self, other)

    def __le__(self, other: Any) -> Node:
        return _fns.less_equal(self, other)

    def __gt__(self, other: Any) -> Node:
        return _fns.greater(self, other)

    def __ge__(self, other: Any) -> Node:
        return _fns.greater_equal(self, other)

    def __getitem__(self, index: Any) -> Node:
        return _fns.getitem(self, index)

    @property
    def T(self) -> Node:
        return _fns.transpose(self)

    def reshape(self, *shape: Any) -> Node:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return _fns.reshape(self, shape)

    def transpose(self, *axes: Any) -> Node:
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = tuple(axes[0]) if axes[0] is not None else ()
        return _fns.transpose(self, axes or None)

    # ndarray's methods, with NumPy's arguments, through NumPy's function protocol
    sum = _numpy_method("sum")
    mean = _numpy_method("mean")
    prod = _numpy_method("prod")
    max = _numpy_method("max")
    min = _numpy_method("min")
    var = _numpy_method("var")
    std = _numpy_method("std")
    argmax = _numpy_method("argmax")
    argmin = _numpy_method("argmin")
    cumsum = _numpy_method("cumsum")
    cumprod = _numpy_method("cumprod")
    ravel = _numpy_method("ravel")
    squeeze = _numpy_method("squeeze")
    swapaxes = _numpy_method("swapaxes")
    repeat = _numpy_method("repeat")
    clip = _numpy_method("clip")
    dot = _numpy_method("dot")
    trace = _numpy_method("trace")
    diagonal = _numpy_method("diagonal")
    argsort = _numpy_method("argsort")
    take = _numpy_method("take")

    def flatten(self, order: str = "C") -> Node:
        """A 1-D copy, as ``ndarray.flatten`` (nodes are immutable, so the same as ravel)."""
        return self.ravel(order)

    def sort(self, *args: Any, **kwargs: Any) -> None:
        from graphad.ir.errors import GraphError

        raise GraphError(
            f"{self.name}.sort() would sort in place, and nodes are immutable; "
            f"use ga.sort({self.name}) ({user_location()})"
        )

    @property
    def size(self) -> int | None:
        """The number of entries (None while a dim is unknown)."""
        return self.type.size if isinstance(self.type, TensorType) else None

    def astype(self, dtype: Any) -> Node:
        return _fns.cast(self, dtype)


_blank = object.__new__


def make_node(
    op: Op, inputs: tuple[Node, ...], type: ValueType, name: str | int | None, origin: Origin
) -> Node:
    """A new node of ``op`` on ``inputs`` (a tuple), of ``type``, called ``name`` (``None``:
    ``<op>_<id>``; an int k: ``<op>_k``), from ``origin``: what ``Node(...)`` makes, at a
    third of its cost.

    Ops, constants, rewrites and loading make their nodes here, 10⁵s for a long chain, so
    a node is made as a ``_Fields``, whose six fields are set by plain stores, and then
    given the class ``Node`` (same slots, so same layout): through ``Node.__setattr__``,
    which must refuse writes, each store would be an ``object.__setattr__`` call instead.
    """
    node = _blank(_Fields)
    node.op = op
    node.inputs = inputs
    node.type = type
    node.id = next(_ids)
    node._name = name
    node.origin = origin
    node._roles = ()
    node.__class__ = Node
    return node  # type: ignore[return-value]  # a Node since the line above, unseen by mypy


# the slot's own setter, a third of object.__setattr__'s cost (mypy does not model slots)
_set_roles = _Fields._roles.__set__  # type: ignore[attr-defined,misc]
