"""The one exception hierarchy of graphad.

Every error a user can meet derives from :class:`GraphError`.  Construction
errors carry the op's name, the operand types and the user's source line;
run-time errors carry the node that failed and where it was made.
"""

from __future__ import annotations


class GraphError(Exception):
    """Base class of every error graphad raises on purpose.

    ``operand``, set only on an error about a value given where an array or a node was
    expected (``None``, a ragged list): that value, so that the public function it was
    given to can name the argument that held it.
    """

    operand: object


class ShapeError(GraphError, ValueError):
    """Operand shapes that no NumPy rule can combine."""


class DTypeError(GraphError, TypeError):
    """An operand dtype the op does not accept."""


class AxisError(ShapeError, IndexError):
    """An axis out of range for the operand's rank."""


class IndexingError(ShapeError, IndexError):
    """An index that is out of range or of a kind the op does not support."""


class FeedError(GraphError, KeyError):
    """Feeds that are missing, unknown, or contradict a placeholder's type."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class DifferentiationError(GraphError):
    """A derivative that cannot be built (unconnected input, missing rule, bad seed)."""


class ExecutionError(GraphError, RuntimeError):
    """A kernel failed at run time; the message names the node and its origin."""
