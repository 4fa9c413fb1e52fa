"""Feed validation: every fed value is checked against its placeholder before any kernel runs.

Missing, unknown and wrongly shaped or typed feeds, values the placeholder's dtype cannot hold,
unneeded placeholders fed anyway and nodes fed as values are a FeedError naming the placeholder
and the user's line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
import pytest

import graphad as ga
from graphad.ir import Op, TensorType

HERE = "test_feeds.py"


def _line() -> int:
    return sys._getframe(1).f_lineno


@dataclass(frozen=True)
class Counted(Op):
    """The identity (as a fresh array) that logs each kernel call in ``calls``."""

    calls: list[str] = field(compare=False, hash=False, repr=False)

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        self.calls.append("ran")
        return np.array(x, copy=True)


def _graph() -> tuple[list[str], dict[str, ga.Node], ga.Node]:
    calls: list[str] = []
    ph = {
        "x": ga.placeholder("x", shape=(3,)),
        "w": ga.placeholder("w", shape=(3,)),
        "n": ga.placeholder("n", shape=(), dtype="int64"),
    }
    y = Counted(calls)(ph["x"]) * ph["w"] + ph["n"]
    return calls, ph, y


def test_all_missing_feeds_are_named_at_once() -> None:
    calls, _, y = _graph()
    with pytest.raises(ga.FeedError) as info:
        ga.evaluate(y, {"w": np.ones(3)})
    message = str(info.value)
    assert "missing" in message and "'x'" in message and "'n'" in message
    assert "'w'" not in message
    assert calls == []


def test_unknown_feed_names() -> None:
    calls, _, y = _graph()
    feed = {"x": np.ones(3), "w": np.ones(3), "n": 1, "wieght": np.ones(3), "bias": 0.0}
    with pytest.raises(ga.FeedError) as info:
        ga.evaluate(y, feed)
    message = str(info.value)
    assert "'wieght'" in message and "'bias'" in message
    assert calls == []


def test_wrong_feed_shape() -> None:
    calls, ph, y = _graph()
    with pytest.raises(ga.FeedError) as info:
        ga.evaluate(y, {ph["x"]: np.ones(3), ph["w"]: np.ones((3, 1)), ph["n"]: 1})
    message = str(info.value)
    assert "'w'" in message and "(3,)" in message and "(3, 1)" in message
    assert calls == []


def test_wrong_feed_dtype() -> None:
    calls, ph, y = _graph()
    with pytest.raises(ga.FeedError) as info:
        ga.evaluate(y, {ph["x"]: np.ones(3), ph["w"]: np.ones(3), ph["n"]: 1.5})
    message = str(info.value)
    assert "'n'" in message and "int64" in message and "float64" in message
    assert calls == []


def test_fed_shape_that_contradicts_the_graph_fails_before_any_kernel() -> None:
    calls: list[str] = []
    p = ga.placeholder("p", shape=(None, 3))
    q = ga.placeholder("q", shape=(None, 2))
    line = _line() + 1
    y = Counted(calls)(p) @ q
    with pytest.raises(ga.GraphError) as info:
        ga.evaluate(y, {p: np.ones((2, 3)), q: np.ones((4, 2))})
    message = str(info.value)
    for part in ("matmul", "(2, 3)", "(4, 2)", f"{HERE}:{line}"):
        assert part in message, message
    assert calls == []
    np.testing.assert_array_equal(ga.evaluate(y, {p: np.ones((2, 3)), q: np.ones((3, 2))}), 3.0)


# issue 7 item 1
@pytest.mark.parametrize(
    ("dtype", "value"),
    [
        ("int64", np.array([2**63, 1], dtype=np.uint64)),
        ("int32", np.array([2**31], dtype=np.int64)),
        ("int8", np.array([-129], dtype=np.int16)),
        ("uint8", np.array([-1], dtype=np.int8)),
        ("uint32", np.array([2**32], dtype=np.uint64)),
        ("float32", np.array([1e300])),
    ],
)
def test_a_fed_value_outside_the_placeholder_dtype_is_refused(dtype: str, value) -> None:
    p = ga.placeholder("p", shape=(None,), dtype=dtype)
    line = _line() + 2
    with pytest.raises(ga.FeedError) as info:
        ga.evaluate(p, {p: value})
    message = str(info.value)
    assert "'p'" in message and dtype in message and f"{HERE}:{line}" in message


def test_values_at_the_limits_of_the_target_dtype_are_fed_exactly() -> None:
    p = ga.placeholder("p", shape=(2,), dtype="int64")
    edge = np.array([2**63 - 1, 0], dtype=np.uint64)
    np.testing.assert_array_equal(ga.evaluate(p, {p: edge}), [2**63 - 1, 0])
    q = ga.placeholder("q", shape=(2,), dtype="uint8")
    np.testing.assert_array_equal(
        ga.evaluate(q, {q: np.array([0, 255], dtype=np.uint64)}), [0, 255]
    )


def test_an_unneeded_placeholder_fed_by_node_is_checked() -> None:
    x = ga.placeholder("x", shape=(3,))
    z = ga.placeholder("z", shape=(3,))
    with pytest.raises(ga.FeedError, match="'z'"):
        ga.evaluate(x, {x: np.ones(3), z: "garbage"})
    with pytest.raises(ga.FeedError, match="'z'"):
        ga.evaluate(x, {x: np.ones(3), z: np.ones(4)})
    # a well-typed extra feed is still allowed, as in TensorFlow
    np.testing.assert_array_equal(ga.evaluate(x, {x: np.ones(3), z: np.ones(3)}), np.ones(3))


def test_feeding_a_node_as_a_value_says_so() -> None:
    x, z = ga.placeholder("x", shape=(3,)), ga.placeholder("z", shape=(3,))
    line = _line() + 2
    with pytest.raises(ga.FeedError) as info:
        ga.evaluate(x, {x: z})
    message = str(info.value)
    assert "'x'" in message and "node z" in message and f"{HERE}:{line}" in message


def test_feeds_of_the_placeholders_own_type_take_the_short_path_and_stay_protected() -> None:
    """An array of the placeholder's dtype and shape, or a Python float for a 0-d float64,
    skips the general checks: it still reaches kernels read-only, the user's array as it was."""
    from graphad.runtime.feeds import FeedChecker

    x, s = ga.placeholder("x", (3,)), ga.placeholder("s", ())
    mine = np.arange(3.0)
    fed = FeedChecker([x, s], [x, s]).check({x: mine, s: 0.5})
    assert not fed[x].flags.writeable and not fed[s].flags.writeable
    assert mine.flags.writeable and np.shares_memory(fed[x], mine)
    assert fed[s].dtype == np.float64 and fed[s].shape == () and float(fed[s]) == 0.5
    with pytest.raises(ga.FeedError, match="has shape"):
        FeedChecker([x], [x]).check({x: np.arange(4.0)})


def test_the_one_pass_check_takes_only_feeds_the_general_checks_pass_unchanged() -> None:
    """With every placeholder of static shape, feeds of their own dtype and shape, by node or
    by name, are checked in one pass (``FeedChecker.quick``); anything else goes to the
    general checks, which convert it or refuse it naming the placeholder, as before."""
    from graphad.runtime.feeds import FeedChecker

    x, w = ga.placeholder("x", (3,)), ga.placeholder("w", (2, 2))
    checker = FeedChecker([x, w], [x, w])
    mine = np.arange(3.0)
    quick = checker.quick({x: mine, "w": np.ones((2, 2))})
    assert quick is not None and set(quick) == {x, w} and not quick[x].flags.writeable
    assert mine.flags.writeable and np.shares_memory(quick[x], mine)
    ints = {x: np.arange(3), w: np.ones((2, 2))}
    assert checker.quick(ints) is None and checker.check(ints)[x].dtype == np.float64
    for feeds, message in [
        ({x: mine, "x": mine}, "fed twice"),
        ({x: mine}, "missing feed"),
        ({x: mine, w: np.ones((2, 3))}, "has shape"),
        ({x: mine, w: np.ones((2, 2)), "v": mine}, "unknown feed name"),
        ({x: mine, w: [[1.0, 2.0], [3.0, 4.0j]]}, "is float64 but was fed complex128"),
    ]:
        assert checker.quick(feeds) is None
        with pytest.raises(ga.FeedError, match=message):
            checker.check(feeds)
    assert FeedChecker([x, ga.placeholder("n", (None,))], [x]).quick({x: mine}) is None
