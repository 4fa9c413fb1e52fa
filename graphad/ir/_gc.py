"""Pausing Python's cyclic garbage collector while a large graph is compiled or derived.

Planning and a reverse sweep allocate an object or two per node while every node of the
graph stays alive: each full collection then walks millions of objects that cannot be
garbage, and on a 10⁵-node chain collections took two thirds of the planning time (half
of ``gradients``).  Graphs hold no reference cycles worth collecting mid-compile, and
collection resumes afterwards.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic collection inside the block (nested and concurrent blocks included)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                _age_young()
                gc.enable()


def _age_young() -> None:
    """Move every object in the young generations to the oldest one, without traversing
    them: what the block made is a graph that stays alive, and the first collections after
    it would otherwise walk all of it twice (generations 0 and 1) just to find it alive.
    ``gc.freeze`` then ``gc.unfreeze`` does that move in constant time; it is skipped when
    the program froze objects itself (a pre-forking server), which unfreeze would undo."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
