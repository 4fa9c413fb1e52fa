"""Every way an Executor runs a graph, for regression tests that must hold in all of them.

``generated``: optimised, generated code (the 0-d float path included); ``unoptimised``:
the graph as built, generated code; ``debug``: optimised, interpreted node by node with
every result checked; ``dask``: the Dask backend, computed (where Dask is installed).
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Mapping
from typing import Any

import graphad as ga

MODES: dict[str, dict[str, Any]] = {
    "generated": {},
    "unoptimised": {"optimize": False},
    "debug": {"debug": True},
}
if importlib.util.find_spec("dask") is not None:
    MODES["dask"] = {"backend": "dask"}


def run(fetches: Any, feeds: Mapping[Any, Any], mode: str) -> Any:
    """``fetches`` at ``feeds`` in one of ``MODES`` (NumPy values in every mode)."""
    options = MODES[mode]
    ex = ga.Executor(fetches, **options)
    if mode != "dask":
        return ex.run(feeds)
    with warnings.catch_warnings():  # Dask's workers warn of the inf and NaN NumPy makes
        warnings.simplefilter("ignore", RuntimeWarning)
        return ex.run(feeds, compute=True)


def in_every_mode(
    fetches: Any, feeds: Mapping[Any, Any], skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``fetches`` at ``feeds`` in every mode but those in ``skip``."""
    return {mode: run(fetches, feeds, mode) for mode in MODES if mode not in skip}
