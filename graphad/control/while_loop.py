"""``while_loop``: the body run while a condition holds, as one graph node.

``while_loop(cond, body, init)`` traces ``cond(carry) -> bool scalar`` and
``body(carry) -> carry`` once each; values either uses from outside become inputs of the
loop node.  The trip count is known only once the loop has run.

Forward mode needs nothing more: the tangent loop runs the same steps, the condition
reading the carries as before.  Reverse mode runs a scan backwards over the carries of
every step, which must be stored: ``max_steps=N`` bounds that store (a buffer of N rows).
A run that would take more than N steps raises an ``ExecutionError`` naming the loop,
never a silently truncated result; without ``max_steps``, ``gradients`` through the loop
raises a ``DifferentiationError`` saying to give it.  (JAX reverse-differentiates no
while loop; a bounded one is enough here, as the trip count is a fact of the run.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphad.control.loops import WhileLoop
from graphad.control.scan import check_carry
from graphad.control.tracing import close_over, flatten, unflatten
from graphad.ir import DTypeError, GraphError, Node, TensorType, placeholder, user_location
from graphad.ops.loop import Body, LoopForm, cond_slots, slots
from graphad.ops.structure import get


def while_loop(
    cond: Callable[[Any], Node],
    body: Callable[[Any], Any],
    init: Any,
    max_steps: int | None = None,
) -> Any:
    """The carry once ``cond(carry)`` is false, after ``carry = body(carry)`` steps.

    ``init``: a node, array, or a tuple/list/dict of them; ``cond`` returns a bool scalar
    node; ``body`` a carry of init's structure and types.  ``max_steps``: at most this many
    steps (more is an ExecutionError), which reverse mode needs::

        x = ga.while_loop(lambda x: x > 1.0, lambda x: x * 0.5, x0, max_steps=100)
    """
    where = user_location()
    for name, fn in (("cond", cond), ("body", body)):
        if not callable(fn):
            raise GraphError(
                f"while_loop: {name} must be a function of the carry, got "
                f"{type(fn).__name__} ({where})"
            )
    if max_steps is not None and (
        isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 0
    ):
        raise GraphError(
            f"while_loop: max_steps must be None or an int >= 0, got {max_steps!r} ({where})"
        )
    try:
        init_leaves, tree = flatten(init)
    except GraphError as e:
        raise type(e)(f"while_loop: init: {e} ({where})") from None
    carries = [placeholder(f"carry{i}", type=x.type) for i, x in enumerate(init_leaves)]
    carry = unflatten(tree, iter(carries))
    try:
        pred = cond(carry)
        new = body(unflatten(tree, iter(carries)))
    except GraphError as e:
        raise type(e)(f"while_loop: tracing: {e}") from None
    if not isinstance(pred, Node):
        raise DTypeError(
            f"while_loop: cond must return a bool scalar node, got {type(pred).__name__} ({where})"
        )
    t = pred.type
    if not isinstance(t, TensorType) or t.dtype.kind != "b" or t.shape not in ((), None):
        raise DTypeError(f"while_loop: cond must return a bool scalar, got {t} ({where})")
    new_leaves, new_tree = flatten(new)
    types = check_carry(carries, tree, new_leaves, new_tree, "while_loop", "body")
    if types != [p.type for p in carries]:
        raise GraphError(
            f"while_loop: the carry's type depends on the step: "
            f"{', '.join(map(str, types))} ({where})"
        )
    (outputs, (pred,)), outer, stand = close_over(
        [new_leaves, [pred]], [carries, carries], "while_loop"
    )
    c, k = len(carries), len(stand)
    form = LoopForm(
        body=Body((*carries, *stand), slots(c, 0, k, False), tuple(outputs)),
        carries=c,
        xs=0,
        consts=k,
        cond=Body((*carries, *stand), cond_slots(c, k, 0), (pred,)),
        max_steps=None if max_steps is None else int(max_steps),
        where=where,
    )
    node = WhileLoop(form)(*init_leaves, *outer)
    return unflatten(tree, iter(get(node, i) for i in range(c)))
