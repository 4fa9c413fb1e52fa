"""The Executor: what it computes, when it frees, how it takes feeds and returns fetches."""

from __future__ import annotations

import collections
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import graphad as ga
import graphad.runtime.executor as executor_module
from graphad.ir import Node, Op, TensorType


@dataclass(frozen=True)
class Counted(Op):
    """The identity (as a fresh array) that logs each kernel call in ``calls``."""

    tag: str
    calls: list[str] = field(compare=False, hash=False, repr=False)

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        self.calls.append(self.tag)
        return np.array(x, copy=True)

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        return (g,)


@dataclass(frozen=True)
class Traced(Op):
    """The sum of its inputs; notes which earlier outputs are still alive when it runs."""

    tag: str
    outputs: dict[str, weakref.ref] = field(compare=False, hash=False, repr=False)
    alive: dict[str, list[str]] = field(compare=False, hash=False, repr=False)

    def infer(self, *types: TensorType) -> TensorType:
        return types[0]

    def compute(self, *xs: np.ndarray) -> np.ndarray:
        self.alive[self.tag] = sorted(t for t, ref in self.outputs.items() if ref() is not None)
        out = np.add.reduce(xs) if len(xs) > 1 else xs[0] + 0.0
        self.outputs[self.tag] = weakref.ref(out)
        return out


@dataclass(frozen=True)
class WritesInPlace(Op):
    """A broken kernel that writes into its input."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        x += 1.0
        return x


# -- what runs -----------------------------------------------------------------
def test_each_needed_node_is_computed_once_per_run() -> None:
    calls: list[str] = []
    x = ga.placeholder("x", shape=(3,))
    a = Counted("a", calls)(x)
    fetches = [a + a, a * 2.0, ga.sin(a), a]  # three consumers, and fetched itself
    ex = ga.Executor(fetches)
    ex.run({x: np.ones(3)})
    assert calls == ["a"]
    ex.run({x: np.zeros(3)})
    assert calls == ["a", "a"]


def test_forward_and_gradient_fetches_share_forward_work() -> None:
    calls: list[str] = []
    x = ga.placeholder("x", shape=(3,))
    h = ga.exp(Counted("h", calls)(x))  # exp's rule reuses the forward node
    y = ga.sum(h * h)
    gx = ga.gradients(y, x)
    v = np.array([0.0, 0.5, -1.0])
    got_y, got_g = ga.evaluate([y, gx], {x: v})
    assert calls == ["h"]
    assert np.isclose(got_y, np.sum(np.exp(2 * v)))
    np.testing.assert_allclose(got_g, 2 * np.exp(2 * v))


def test_nothing_unneeded_is_computed() -> None:
    calls: list[str] = []
    x = ga.placeholder("x", shape=(2,))
    z = ga.placeholder("z", shape=(2,))
    p = Counted("p", calls)(x)
    q = Counted("q", calls)(x)
    r = Counted("r", calls)(z)
    _unused = p + q + r
    ex = ga.Executor(ga.sin(p))
    assert [s.node.op.name for s in ex.steps] == ["counted", "sin"]
    ex.run({x: np.ones(2)})  # z is not needed, so it need not be fed
    assert calls == ["p"]


# -- memory --------------------------------------------------------------------
def test_intermediates_are_released_after_their_last_use() -> None:
    outputs: dict[str, weakref.ref] = {}
    alive: dict[str, list[str]] = {}

    def traced(tag: str, *inputs: Node) -> Node:
        return Traced(tag, outputs, alive)(*inputs)

    x = ga.placeholder("x", shape=(4,))
    a = traced("a", x)
    b = traced("b", a)
    c = traced("c", b)
    d = traced("d", c)
    e = traced("e", d, b)  # b lives until e
    ex = ga.Executor(e)
    assert [s.node for s in ex.steps] == [a, b, c, d, e]
    result = ex.run({x: np.arange(4.0)})
    assert alive == {"a": [], "b": ["a"], "c": ["b"], "d": ["b", "c"], "e": ["b", "d"]}
    np.testing.assert_array_equal(result, 2 * np.arange(4.0))
    assert [name for name, ref in outputs.items() if ref() is not None] == ["e"]


def test_fetched_intermediates_are_kept() -> None:
    outputs: dict[str, weakref.ref] = {}
    alive: dict[str, list[str]] = {}
    x = ga.placeholder("x", shape=(2,))
    a = Traced("a", outputs, alive)(x)
    b = Traced("b", outputs, alive)(a)
    c = Traced("c", outputs, alive)(b)
    got_a, got_c = ga.Executor([a, c]).run({x: np.ones(2)})
    assert alive["c"] == ["a", "b"]
    np.testing.assert_array_equal(got_a, [1.0, 1.0])
    np.testing.assert_array_equal(got_c, [1.0, 1.0])


def test_steps_free_slots_after_the_last_consumer() -> None:
    x = ga.placeholder("x", shape=(2,))
    a = ga.sin(x)
    b = ga.cos(a)
    c = a * b
    d = ga.exp(c)
    ex = ga.Executor(d)
    slot = {s.node: s.out for s in ex.steps}
    frees = {s.node: set(s.frees) for s in ex.steps}
    assert slot[a] in frees[c] and slot[b] in frees[c] and slot[c] in frees[d]
    assert not frees[b] & {slot[a]}  # a is still needed by c
    assert slot[d] not in set().union(*frees.values())  # the fetch is never freed


# -- feeds and fetches ---------------------------------------------------------
def test_fetch_structures_are_returned_as_given() -> None:
    x = ga.placeholder("x", shape=(2,))
    y, z = x * 2.0, x + 1.0
    v = np.array([1.0, 2.0])
    assert isinstance(ga.evaluate(y, {x: v}), np.ndarray)
    as_list = ga.evaluate([y, z], {x: v})
    as_tuple = ga.evaluate((y, z), {x: v})
    as_dict = ga.evaluate({"double": y, "next": z}, {x: v})
    nested = ga.evaluate({"a": [y, (z, y)], "b": {"c": z}}, {x: v})
    assert isinstance(as_list, list) and isinstance(as_tuple, tuple)
    assert list(as_dict) == ["double", "next"]
    np.testing.assert_array_equal(as_list[0], [2.0, 4.0])
    np.testing.assert_array_equal(as_tuple[1], [2.0, 3.0])
    np.testing.assert_array_equal(as_dict["next"], [2.0, 3.0])
    assert isinstance(nested["a"], list) and isinstance(nested["a"][1], tuple)
    np.testing.assert_array_equal(nested["a"][1][1], [2.0, 4.0])
    np.testing.assert_array_equal(nested["b"]["c"], [2.0, 3.0])
    assert ga.evaluate([], {}) == []


def test_feeds_by_node_or_by_name() -> None:
    x = ga.placeholder("x", shape=(2,))
    w = ga.placeholder("w", shape=(2,))
    y = x * w
    xv, wv = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    for feed in ({x: xv, w: wv}, {"x": xv, "w": wv}, {x: xv, "w": wv}):
        np.testing.assert_array_equal(ga.evaluate(y, feed), [3.0, 8.0])
    with pytest.raises(ga.FeedError, match="fed twice"):
        ga.evaluate(y, {x: xv, "x": xv, w: wv})
    with pytest.raises(ga.FeedError, match="not a placeholder"):
        ga.evaluate(y, {x: xv, w: wv, y: xv})


def test_feeds_convert_lists_and_scalars() -> None:
    x = ga.placeholder("x", shape=(3,))
    s = ga.placeholder("s", shape=())
    got = ga.evaluate(x * s, {x: [1, 2, 3], s: 2})
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [2.0, 4.0, 6.0])


def test_fed_arrays_are_never_mutated_nor_aliased_writable() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    v = np.arange(6.0).reshape(2, 3)
    original = v.copy()
    views = [x, x.T, x.reshape(3, 2), x[0], x[:, 1:], ga.stop_gradient(x), ga.squeeze(x[None])]
    for value in ga.evaluate(views, {x: v}):
        assert not (np.shares_memory(value, v) and value.flags.writeable)
    with pytest.raises(ga.ExecutionError):
        ga.evaluate(WritesInPlace()(x), {x: v})
    np.testing.assert_array_equal(v, original)
    assert v.flags.writeable  # the user's array is left as it was


def test_plan_once_run_many_times() -> None:
    x = ga.placeholder("x", shape=(None,))
    y = ga.sum(ga.sin(x) * x)
    gx = ga.gradients(y, x)
    ex = ga.Executor({"y": y, "gx": gx})
    steps = ex.steps

    def no_replanning(*args: Any) -> Any:
        raise AssertionError("run() must not plan again")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(executor_module, "topo_sort", no_replanning)
        for v in (np.array([0.5]), np.linspace(-1, 1, 5), np.array([2.0, 3.0])):
            got = ex.run({x: v})
            assert np.isclose(got["y"], np.sum(np.sin(v) * v))
            np.testing.assert_allclose(got["gx"], np.cos(v) * v + np.sin(v))
    assert ex.steps is steps


def test_executor_rejects_bad_fetches_and_ambiguous_names() -> None:
    x = ga.placeholder("x", shape=(2,))
    with pytest.raises(ga.GraphError, match="fetches"):
        ga.Executor([x, np.ones(2)])
    other = ga.placeholder("x", shape=(2,))
    with pytest.raises(ga.GraphError, match="'x'"):
        ga.Executor(x + other)


def test_peak_live_of_a_long_chain_is_small() -> None:
    x = ga.placeholder("x", shape=(2,))
    y = x
    for _ in range(1000):
        y = ga.cos(y)
    ex = ga.Executor(y)
    assert ex.peak_live <= 3
    kept = ga.Executor([y, x * 2.0])
    assert kept.peak_live <= 4


# -- fetched values are the caller's own ------------------------------------------
# issue 7 item 6
def test_fetched_arrays_never_share_memory(executor_mode: dict[str, Any]) -> None:
    x = ga.placeholder("x", shape=(2, 3))
    t = x * 2
    fetches = [t, ga.stop_gradient(t), t, t[0], ga.reshape(t, (3, 2)), x, t.T]
    values = ga.Executor(fetches, **executor_mode).run({x: np.ones((2, 3))})
    for i, a in enumerate(values):
        assert a.flags.writeable
        for b in values[i + 1 :]:
            assert not np.shares_memory(a, b)
    values[0][...] = 7
    assert np.all(values[1] == 2) and np.all(values[2] == 2)


def test_fetches_inside_structures_share_no_memory() -> None:
    x = ga.placeholder("x", shape=(3,))
    t = ga.exp(x)
    got = ga.evaluate({"a": t, "b": ga.make_tuple(t, ga.stop_gradient(t))}, {x: np.zeros(3)})
    a, (b, c) = got["a"], got["b"]
    assert not np.shares_memory(a, b) and not np.shares_memory(b, c)


Pair = collections.namedtuple("Pair", "value grad")


def test_namedtuple_fetches_come_back_as_the_namedtuple() -> None:
    x = ga.placeholder("x", shape=(3,))
    got = ga.evaluate(Pair(ga.sum(x), ga.gradients(ga.sum(x * x), x)), {x: np.ones(3)})
    assert isinstance(got, Pair) and got.value == 3.0
    np.testing.assert_array_equal(got.grad, 2 * np.ones(3))
