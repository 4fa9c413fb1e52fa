"""Running graphs: ``Executor`` (plan once, run many times) and ``evaluate``."""

from graphad.runtime.executor import Executor, Step, evaluate

__all__ = ["Executor", "Step", "evaluate"]
