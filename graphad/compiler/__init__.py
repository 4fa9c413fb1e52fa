"""The compiler stage: graph rewrites (CSE, folding, algebra, dead nodes), planning and
code generation.

Builds on :mod:`graphad.ops` and :mod:`graphad.ir`, asking ops for their traits
(``commutative``, ``scalar``, ``branches``, ...) rather than testing their classes; it does not
import :mod:`graphad.autodiff`, its peer.  The runtime builds on it.

The rule every rewrite keeps: it may change a finite result by rounding, never turn a finite
value into inf or NaN, or inf or NaN into a finite value (the sign of a zero aside).  So
floating-point sums and products are reassociated or factored only where that is exact
(scales whose product is exact and that both grow or both shrink, sums whose order of
addition is kept, integers always); the laws that are not exact (``Rule.fast_math``:
``(x·a)·b -> x·(a·b)``, ``a·f + b·f -> (a + b)·f``, regrouped sums, and CSE's reordering of
a sum of three or more) run only when asked, ``optimize(..., fast_math=True)``.  Generated
0-d float code runs each op's scalar formula on Python floats and falls back to NumPy where
Python raises instead of giving NumPy's inf or NaN.
"""

from graphad.compiler.pipeline import optimize, optimize_nodes

__all__ = ["optimize", "optimize_nodes"]
