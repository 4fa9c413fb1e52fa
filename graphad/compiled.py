"""``function``: a graph compiled once into a Python callable on NumPy arrays.

The module is not named ``function`` because ``ga.function`` is the function: a module of
the same name would be shadowed by it on the package (``import graphad.function as m``
would give the function, not the module).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from graphad.ir import FeedError, GraphError, Node, Placeholder, Snapshot, user_location
from graphad.runtime import Executor

_NOT_OPTIONS = ("self", "fetches")


def check_options(options: Mapping[str, Any], who: str) -> None:
    """Refuse keywords ``Executor`` does not take, naming ``who`` was given them; the known
    ones are read from its signature, so an option added to it passes through."""
    known = [n for n in inspect.signature(Executor.__init__).parameters if n not in _NOT_OPTIONS]
    unknown = [k for k in options if k not in known]
    if unknown:
        raise GraphError(
            f"{who}: unknown Executor option(s) {', '.join(map(repr, unknown))}; the options "
            f"are {', '.join(known)} ({user_location()})"
        )


def _leaves(outputs: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every leaf of the ``outputs`` structure with its path (``outputs[1]['g']``)."""
    if isinstance(outputs, Mapping):
        for key, value in outputs.items():
            yield from _leaves(value, f"{path}[{key!r}]")
    elif isinstance(outputs, (list, tuple)):
        for i, value in enumerate(outputs):
            yield from _leaves(value, f"{path}[{i}]")
    else:
        yield path, outputs


def _check_inputs(inputs: Any) -> tuple[tuple[Node, ...], bool]:
    """``inputs`` as a tuple of distinct placeholders, and whether one was given alone."""
    single = isinstance(inputs, Node)
    if not single and not isinstance(inputs, (list, tuple)):
        raise GraphError(
            f"function: inputs must be a placeholder or a list of placeholders, got "
            f"{type(inputs).__name__} ({user_location()})"
        )
    items = (inputs,) if single else tuple(inputs)
    names: dict[str, int] = {}
    for i, p in enumerate(items):
        what = "inputs" if single else f"inputs[{i}]"
        if not isinstance(p, Node):
            raise GraphError(
                f"function: {what} must be a placeholder, got {type(p).__name__} "
                f"({user_location()})"
            )
        if not isinstance(p.op, Placeholder):
            raise GraphError(
                f"function: {what} = {p.name} is a {p.op.name} node made at "
                f"{p.origin.location}, not a placeholder; only placeholders can be "
                f"arguments ({user_location()})"
            )
        if p.name in names:
            j = names[p.name]
            same = "is given twice" if items[j] is p else "shares its name with another input"
            raise GraphError(
                f"function: inputs[{i}] = {p.name!r} {same} (inputs[{j}]); each argument "
                f"needs its own placeholder and name ({user_location()})"
            )
        names[p.name] = i
    return items, single


class Function:
    """A planned graph called like a Python function: ``f(x_value, W_value)``.

    Made by :func:`function`, which documents it.  ``inputs`` (the placeholders, in
    argument order), ``outputs`` (as given) and ``executor`` (the planned
    :class:`Executor`: its ``order``, ``steps`` and ``peak_live`` describe what runs) are
    there to inspect.  A Function keeps no state between calls, so many threads may call
    one at once; it pickles and copies (planned again when loaded), as an Executor does.
    """

    def __init__(self, inputs: Any, outputs: Any, **executor_options: Any) -> None:
        self.inputs, self._single = _check_inputs(inputs)
        check_options(executor_options, str(self))
        for path, leaf in _leaves(outputs, "outputs"):
            if not isinstance(leaf, Node):
                raise GraphError(
                    f"{self}: {path} is {type(leaf).__name__}; outputs must be a node, or "
                    f"a list, tuple or dict of nodes ({user_location()})"
                )
        self.outputs = outputs
        self._options = dict(executor_options)
        self.executor = Executor(outputs, **executor_options)
        given = set(self.inputs)
        missing = [p for p in self.executor.placeholders if p not in given]
        if missing:
            names = ", ".join(f"{p.name!r} {p.type} (made at {p.origin.location})" for p in missing)
            raise GraphError(
                f"{self}: the outputs need placeholder(s) {names}, which are not among the "
                f"inputs; add them to inputs ({user_location()})"
            )
        self._by_name = {p.name: p for p in self.inputs}

    def __str__(self) -> str:
        names = getattr(self, "inputs", ())
        return f"function({', '.join(p.name for p in names)})"

    def __repr__(self) -> str:
        return f"<{self} -> {len(self.executor.steps)} planned steps>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The outputs' values, in the structure of ``outputs``, at the given arguments."""
        n = len(self.inputs)
        if len(args) > n:
            raise FeedError(
                f"{self}: takes {n} argument{'s' if n != 1 else ''}, got {len(args)} "
                f"positional ({user_location()})"
            )
        feeds: dict[Node, Any] = dict(zip(self.inputs, args))
        for key, value in kwargs.items():
            p = self._by_name.get(key)
            if p is None:
                raise FeedError(
                    f"{self}: unknown keyword argument {key!r}; the arguments are "
                    f"{', '.join(repr(q.name) for q in self.inputs) or 'none'} "
                    f"({user_location()})"
                )
            if p in feeds:
                raise FeedError(
                    f"{self}: argument {key!r} is given twice, by position and by keyword "
                    f"({user_location()})"
                )
            feeds[p] = value
        missing = [p.name for p in self.inputs if p not in feeds]
        if missing:
            raise FeedError(
                f"{self}: missing argument(s) {', '.join(map(repr, missing))} ({user_location()})"
            )
        try:
            return self.executor.run(feeds)
        except FeedError as e:  # a value that does not fit its placeholder: say whose call
            raise FeedError(f"{self}: {e}") from None

    def __getstate__(self) -> dict[str, Any]:
        # inputs and outputs as one flat snapshot, so they share their nodes when loaded
        leaves = [leaf for _, leaf in _leaves(self.outputs, "outputs")]
        return {
            "graph": Snapshot([*self.inputs, *leaves]),
            "inputs": len(self.inputs),
            "single": self._single,
            "outputs": _shape_of(self.outputs),
            "options": self._options,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        nodes = state["graph"].nodes()
        inputs, leaves = nodes[: state["inputs"]], iter(nodes[state["inputs"] :])
        outputs = _fill(state["outputs"], leaves)
        Function.__init__(
            self, inputs[0] if state["single"] else inputs, outputs, **state["options"]
        )


def _shape_of(outputs: Any) -> Any:
    """``outputs`` with each node replaced by ``None``: the structure to refill on loading."""
    if isinstance(outputs, Mapping):
        return {k: _shape_of(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        items = [_shape_of(v) for v in outputs]
        return type(outputs)(*items) if hasattr(outputs, "_fields") else type(outputs)(items)
    return None


def _fill(template: Any, leaves: Iterator[Node]) -> Any:
    """``template`` with its ``None`` leaves replaced by ``leaves``, in order."""
    if isinstance(template, Mapping):
        return {k: _fill(v, leaves) for k, v in template.items()}
    if isinstance(template, (list, tuple)):
        items = [_fill(v, leaves) for v in template]
        return type(template)(*items) if hasattr(template, "_fields") else type(template)(items)
    return next(leaves)


def function(inputs: Node | Sequence[Node], outputs: Any, **executor_options: Any) -> Function:
    """A callable that runs ``outputs`` at argument values, planned once.

    ``inputs``: one placeholder, or a list of them (the arguments, in order); every
    placeholder the outputs need must be among them.  ``outputs``: a node, or a list,
    tuple or dict of nodes; the call returns NumPy values in the same structure.  The call
    takes one value per input, by position or by the placeholder's name as keyword; values
    are converted and checked as :class:`Executor` feeds are (array-likes and Python
    scalars become arrays of the placeholder's dtype; a wrong shape or dtype is a
    ``FeedError`` before anything runs; a structured placeholder takes a tuple or dict).
    ``executor_options`` (``optimize``, ``debug``, ``backend``, ``fast_math``,
    ``reuse_buffers``) go to the Executor, which is ``.executor``.  Shapes are the
    placeholders': with ``x`` of shape (n,) and ``W`` of shape (n, m) below, ``y`` is () and
    the gradients are (n,) and (n, m)::

        x, W = ga.placeholder("x", (3,)), ga.placeholder("W", (3, 4))
        y = ga.sum(ga.tanh(x @ W) ** 2)
        f = ga.function([x, W], [y, *ga.gradients(y, [x, W])])
        y_value, gx, gW = f(np.ones(3), W=np.ones((3, 4)))

    This is PyTensor's ``function([x, W], [y, gx])``: the graph is compiled once and each
    call runs it.  JAX's ``value_and_grad(f)`` transforms a Python function; here the
    derivatives are nodes of the graph, so a value and its gradient are simply two outputs
    of one function, computed in one run that shares the forward values between them.
    """
    return Function(inputs, outputs, **executor_options)
