"""``optimize(fetches)``: the rewrite stage as one call, on fetches of any structure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphad.compiler.driver import rewrite
from graphad.compiler.loop_fusion import fuse_loops, prune_loops
from graphad.ir import GraphError, Node, one_origin, topo_sort, user_location
from graphad.ir._gc import collection_paused


def fetched_nodes(fetches: Any) -> list[Node]:
    """The nodes in ``fetches`` (a node, or lists, tuples and dicts of nodes), in order."""
    out: list[Node] = []
    _leaves(fetches, out)
    return out


def _leaves(fetches: Any, out: list[Node]) -> None:
    if isinstance(fetches, Node):
        out.append(fetches)
    elif isinstance(fetches, Mapping):
        for v in fetches.values():
            _leaves(v, out)
    elif isinstance(fetches, (list, tuple)):
        for v in fetches:
            _leaves(v, out)
    elif fetches is not None:
        raise GraphError(
            f"optimize: fetches must be nodes, or lists, tuples or dicts of nodes; got "
            f"{type(fetches).__name__} ({user_location()})"
        )


def _replace(fetches: Any, new: Mapping[Node, Node]) -> Any:
    if isinstance(fetches, Node):
        return new[fetches]
    if isinstance(fetches, Mapping):
        # a dict, as an Executor answers: not every Mapping's class is built from pairs
        return {k: _replace(v, new) for k, v in fetches.items()}
    if isinstance(fetches, tuple) and hasattr(fetches, "_fields"):  # a namedtuple
        return type(fetches)(*(_replace(v, new) for v in fetches))
    if isinstance(fetches, (list, tuple)):
        return type(fetches)(_replace(v, new) for v in fetches)
    return fetches


def optimize_nodes(nodes: list[Node], fast_math: bool = False) -> list[Node]:
    """The rewritten nodes, one per node given (see ``optimize``)."""
    if not nodes:
        return []
    # a rewrite adds nodes to a graph that all stays alive (see graphad.ir._gc), and the
    # nodes it makes take the origins of those they replace: the user's line that called
    # it is looked up once, not once per node made
    with collection_paused(), one_origin():
        order = topo_sort(nodes)
        if not any(n.op.control == "loop" for n in order):  # a class attribute: cheap
            return rewrite(nodes, fast_math=fast_math, order=order)  # no loop passes to run
        # loops: twins fused while they still share their bodies' nodes, then pruned to what
        # is read before and after the rewrites (which may leave fewer entries read)
        nodes = prune_loops(fuse_loops(nodes))
        rewritten = rewrite(nodes, fast_math=fast_math)
        pruned = prune_loops(fuse_loops(rewritten))
        unchanged = all(a is b for a, b in zip(pruned, rewritten))
        return rewritten if unchanged else rewrite(pruned, fast_math=fast_math)


def optimize(fetches: Any, fast_math: bool = False) -> Any:
    """The fetches rewritten to a smaller graph with the same values, in the same structure.

    Common subexpressions are merged, constants folded, algebra simplified (``x*1``,
    ``x+0``, no-op reshapes and casts, seeds of ones, ...), and only what the fetches
    need is kept.  Values agree with the original graph up to floating-point rounding
    (and the sign of a zero): a finite value stays finite, and inf and NaN stay what they
    are.  ``fast_math=True`` also reassociates and factors floating-point sums and products
    (``(x·a)·b -> x·(a·b)``, ``a·f + b·f -> (a + b)·f``), which may overflow or cancel where
    the graph as built does not.  Nodes keep their names and origins; the original graph
    is not changed.

        gx = optimize(gradients(y, x))      # one node in, one node out
    """
    nodes = fetched_nodes(fetches)
    return _replace(fetches, dict(zip(nodes, optimize_nodes(nodes, fast_math))))
