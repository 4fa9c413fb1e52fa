"""The compiler stage: graph rewrites (CSE, folding, algebra, dead nodes), planning and
code generation.  Builds on ``ops``; the runtime builds on it."""

from graphad.compiler.pipeline import optimize, optimize_nodes

__all__ = ["optimize", "optimize_nodes"]
