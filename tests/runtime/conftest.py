"""Fixtures of the runtime tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(
    params=[{}, {"optimize": False}, {"debug": True}], ids=["optimized", "as built", "debug"]
)
def executor_mode(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The Executor's three ways to run, as its keyword arguments: generated code of the
    optimised graph (the default), of the graph as built, and the interpreter that checks
    every node (also used past ``CODEGEN_LIMIT``)."""
    options: dict[str, Any] = request.param
    return options
