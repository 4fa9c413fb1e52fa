"""The compiler stage: graph rewrites (CSE, folding, algebra, dead nodes), planning and
code generation.

Builds on :mod:`graphad.ops` and :mod:`graphad.ir`, asking ops for their traits
(``commutative``, ``scalar``, ``branches``, ...) rather than testing their classes; it does not
import :mod:`graphad.autodiff`, its peer.  The runtime builds on it.
"""

from graphad.compiler.pipeline import optimize, optimize_nodes

__all__ = ["optimize", "optimize_nodes"]
