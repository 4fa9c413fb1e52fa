"""Running graphs: ``Executor`` (plan once, run many times) and ``evaluate``.

Builds on :mod:`graphad.compiler` (it optimises, plans and generates the code it runs), and on
:mod:`graphad.ops` and :mod:`graphad.ir`.  Ops with sub-graphs (:mod:`graphad.control`) sit
above it: it runs them through the op's traits (``control``, ``branches``) and ``compute``,
never by importing them.
"""

from graphad.compiler.plan import Step
from graphad.runtime.executor import Executor, evaluate
from graphad.runtime.feeds import FeedChecker

__all__ = ["Executor", "FeedChecker", "Step", "evaluate"]
