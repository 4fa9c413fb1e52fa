"""An identity op that counts its kernel's calls, for tests of how often graphad runs a
node: once per step of the loop body it sits in, once per taken branch, once when hoisted.
A test module imports ``CALLS``, ``Count`` and the autouse fixture ``reset_calls``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pytest

import graphad as ga

CALLS: Counter[str] = Counter()


@dataclass(frozen=True)
class Count(ga.Op):
    """The identity; its kernel counts its calls under ``tag``."""

    tag: str = "n"

    def infer(self, x: ga.TensorType) -> ga.TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        CALLS[self.tag] += 1
        return x

    def vjp(self, node: ga.Node, g: ga.Node) -> tuple[ga.Node]:
        """x̄ = g"""
        return (g,)

    def jvp(self, node: ga.Node, t: Sequence[ga.Node | None]) -> ga.Node | None:
        return t[0]


@pytest.fixture(autouse=True)
def reset_calls() -> Iterator[None]:
    CALLS.clear()
    yield
    CALLS.clear()
