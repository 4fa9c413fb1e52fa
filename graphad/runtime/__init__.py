"""Running graphs: ``Executor`` (plan once, run many times) and ``evaluate``."""

from graphad.compiler.plan import Step
from graphad.runtime.executor import Executor, evaluate
from graphad.runtime.feeds import FeedChecker

__all__ = ["Executor", "FeedChecker", "Step", "evaluate"]
