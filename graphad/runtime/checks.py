"""The checks of an interpreted run (``debug=True``): each kernel's result against its
node's type, and for NaN or inf made from finite inputs; errors name the node, the pass
that made it and the user's line (and, inside a loop, the loop and the step)."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphad.compiler.contract import broken_contract, mismatch
from graphad.compiler.patterns import is_own
from graphad.compiler.plan import Step
from graphad.ir import ExecutionError, GraphError, Node, format_shape


def shapes(values: list[Any]) -> str:
    return ", ".join(format_shape(np.shape(v)) for v in values)


def where(node: Node) -> str:
    origin = node.origin
    made = "user code" if origin.kind == "user" else f"{origin.kind} pass, order {origin.order}"
    return f"node {node.name}, {made}, made at {origin.location}"


def kernel_error(step: Step, inputs: list[Any], e: Exception, at: str = "") -> ExecutionError:
    return ExecutionError(
        f"{at}{step.node.op} failed on inputs of shape {shapes(inputs)}: {e} ({where(step.node)})"
    )


def not_finite(value: Any) -> bool:
    if isinstance(value, tuple):
        return any(not_finite(v) for v in value)
    if isinstance(value, dict):
        return any(not_finite(v) for v in value.values())
    array = np.asarray(value)
    return array.dtype.kind in "fc" and not bool(np.all(np.isfinite(array)))


def run_step(step: Step, fn: Any, inputs: list[Any], checks: bool, at: str = "") -> Any:
    """``fn(*inputs)`` for ``step``; with ``checks``, its result checked against the node's
    type and for NaN or inf from finite inputs, else only an op defined outside graphad's.
    ``at`` prefixes errors (``"scan made at m.py:3, step 4: "``)."""
    try:
        value = fn(*inputs)
    except GraphError:
        raise
    except Exception as e:
        raise kernel_error(step, inputs, e, at) from e
    if checks or not is_own(step.node):
        why = mismatch(step.node.type, value)
        if why is not None:
            error = broken_contract(step.node, why)
            raise type(error)(f"{at}{error}") from None
    if checks and not_finite(value) and not any(not_finite(v) for v in inputs):
        raise ExecutionError(
            f"{at}{step.node.op} made NaN or inf from finite inputs of shape "
            f"{shapes(inputs)} ({where(step.node)})"
        )
    return value
