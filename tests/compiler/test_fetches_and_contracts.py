"""What the type checker found at the compiler's edges: fetches in any Mapping, and a
kernel's result checked against an absent entry of its declared structure."""

from __future__ import annotations

import types
from dataclasses import dataclass

import numpy as np
import pytest

import graphad as ga
from graphad.compiler.contract import mismatch
from graphad.ir import TensorType, TupleType


def test_optimize_answers_a_read_only_mapping_with_a_dict() -> None:
    x = ga.placeholder("x", shape=(2,))
    y = ga.sin(x) * 1.0
    out = ga.optimize(types.MappingProxyType({"y": y}))
    assert isinstance(out, dict) and list(out) == ["y"]
    assert out["y"].op.name == "sin"  # the * 1 is gone
    np.testing.assert_allclose(ga.evaluate(out["y"], {x: np.ones(2)}), np.sin(np.ones(2)))


def test_an_absent_entry_holds_nothing() -> None:
    declared = TupleType((None, TensorType((2,))))
    assert mismatch(declared, (None, np.zeros(2))) is None
    assert (
        mismatch(declared, (np.zeros(2), np.zeros(2))) == "[0]: ndarray where it declared no entry"
    )


@dataclass(frozen=True)
class FillsTheGap(ga.Op):
    """Declares its first entry absent, then computes one: a broken contract."""

    def infer(self, x: TensorType) -> TupleType:
        return TupleType((None, x))

    def compute(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x, x


def test_a_user_op_that_fills_an_absent_entry_is_caught() -> None:
    x = ga.placeholder("x", shape=(2,))
    pair = FillsTheGap()(x)
    with pytest.raises(ga.ExecutionError, match="where it declared no entry"):
        ga.evaluate(pair, {x: np.ones(2)})
