"""The compiler stage: graph rewrites (CSE, folding, algebra, dead nodes), planning and
code generation.  Builds on ``ops``; the runtime builds on it."""

from graphad.compiler.pipeline import graph_stats, optimize, optimize_nodes

__all__ = ["graph_stats", "optimize", "optimize_nodes"]
