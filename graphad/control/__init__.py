"""Control flow: ops with sub-graphs, traced once, whose derivatives are control flow again.

``cond`` runs one of two branches; the loops run a body over and over:
``scan`` (a body over a sequence, carrying state), ``fori_loop`` (a counted loop) and
``while_loop`` (until a condition fails).  Each traces its functions once into sub-graphs
over placeholders, so the outer graph holds one node whatever the trip count.  This package
sits on top of the passes and the compiler, which its ops' rules and kernels use.
"""

from graphad.control.cond import Branch, Cond, cond
from graphad.control.loops import LoopOp, Scan, WhileLoop
from graphad.control.scan import fori_loop, scan
from graphad.control.while_loop import while_loop

__all__ = [
    "Branch",
    "Cond",
    "LoopOp",
    "Scan",
    "WhileLoop",
    "cond",
    "fori_loop",
    "scan",
    "while_loop",
]
