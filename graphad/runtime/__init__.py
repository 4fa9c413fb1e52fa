"""Running graphs: ``Executor`` (plan once, run many times) and ``evaluate``."""

from graphad.runtime.executor import Executor, Step, evaluate
from graphad.runtime.feeds import FeedChecker

__all__ = ["Executor", "FeedChecker", "Step", "evaluate"]
