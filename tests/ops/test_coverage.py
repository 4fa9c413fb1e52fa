"""Every op function graphad exports has a row in the op table, or a stated reason not to.

A row belongs to the function its id names before any ``[variant]``.  The
exceptions are listed here, in one place, each with where it is checked
instead; an exception that gains a row, or stops being exported, fails too, so
the list cannot go stale.  New elementwise ops (issue 9 and the rest of issue
10: mod, floor, arctan2, hypot, logaddexp, complex parts, ...) need rows when they
are exported: there is no exception for them.
"""

from __future__ import annotations

import graphad as ga
import graphad.linalg
import graphad.ops

from .cases import CASES

NO_DERIVATIVE = "bool or integer results: nothing to differentiate"

COMPARED = (
    f"{NO_DERIVATIVE}; tests/ir/test_nodes_and_types.py (operators) and tests/ops/test_selection.py"
)

EXCEPTIONS = {
    "equal": COMPARED,
    "not_equal": COMPARED,
    "less": COMPARED,
    "less_equal": COMPARED,
    "greater": COMPARED,
    "greater_equal": COMPARED,
    "logical_and": COMPARED,
    "logical_or": COMPARED,
    "logical_not": COMPARED,
    "argmax": COMPARED,
    "argmin": COMPARED,
    "argsort": f"{NO_DERIVATIVE}; tests/ops/test_numpy_coverage.py (and as the index of "
    "take_along_axis[argsort])",
    "argpartition": f"{NO_DERIVATIVE}; tests/ops/test_numpy_coverage.py",
    "nonzero": f"{NO_DERIVATIVE}; tests/ops/test_where.py",
    "shape_of": f"{NO_DERIVATIVE}; the unknown-dims column of the table runs it",
    "make_tuple": "structure-valued: tests/ops/test_structures.py",
    "make_dict": "structure-valued: tests/ops/test_structures.py",
    "to_sparse": "sparse-valued: the rows of todense and sparse_values build on it",
}


def exported_ops() -> set[str]:
    """Names of the op functions of ``ga`` and ``ga.linalg`` (not result classes)."""
    ops = {n for n in graphad.ops.__all__ if not isinstance(getattr(ga, n), type)}
    return ops | {n for n in graphad.linalg.__all__ if not isinstance(getattr(ga.linalg, n), type)}


def rows() -> set[str]:
    return {c.id.split("[")[0] for c in CASES}


def test_every_exported_op_has_a_row_or_a_stated_exception() -> None:
    missing = sorted(exported_ops() - rows() - set(EXCEPTIONS))
    assert missing == [], f"exported ops without a row in tests/ops/cases.py: {missing}"


def test_exceptions_are_exported_and_rowless() -> None:
    stale = sorted(n for n in EXCEPTIONS if n not in exported_ops() or n in rows())
    assert stale == [], f"exceptions that are not exported, or have rows now: {stale}"
