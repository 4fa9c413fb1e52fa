"""``ga.function``: a graph called like a Python function, and every way to call it wrongly."""

from __future__ import annotations

import copy
import pickle
import re
from collections import namedtuple
from typing import Any

import numpy as np
import pytest

import graphad as ga

HERE = r"\(test_function.py:\d+\)"  # every error names the line of this file that caused it


def model() -> tuple[ga.Node, ga.Node, ga.Node]:
    """x (3,), W (3, 4) and y = Σ tanh(x @ W)² + ½ Σ x², a scalar."""
    x = ga.placeholder("x", (3,))
    W = ga.placeholder("W", (3, 4))
    return x, W, ga.sum(ga.tanh(x @ W) ** 2) + 0.5 * ga.sum(x * x)


def values() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal(3), rng.standard_normal((3, 4))


def expected(xv: np.ndarray, Wv: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """y, ∂y/∂x and ∂y/∂W by hand: with t = tanh(xW), ȳ_t = 2t(1 - t²)."""
    t = np.tanh(xv @ Wv)
    u = 2 * t * (1 - t**2)
    return float(np.sum(t**2) + 0.5 * xv @ xv), Wv @ u + xv, np.outer(xv, u)


def test_positional_and_keyword_calls_return_the_outputs_structure() -> None:
    x, W, y = model()
    gx, gW = ga.gradients(y, [x, W])
    xv, Wv = values()
    y_e, gx_e, gW_e = expected(xv, Wv)
    f = ga.function([x, W], [y, gx, gW])
    for got in (f(xv, Wv), f(xv, W=Wv), f(W=Wv, x=xv)):
        assert isinstance(got, list) and len(got) == 3
        np.testing.assert_allclose(got[0], y_e, rtol=1e-12)
        np.testing.assert_allclose(got[1], gx_e, rtol=1e-12)
        np.testing.assert_allclose(got[2], gW_e, rtol=1e-12)
    single = ga.function([x, W], y)(xv, Wv)
    assert np.shape(single) == ()  # a NumPy scalar or 0-d array, as the Executor returns
    as_tuple = ga.function((x, W), (y, gx))(xv, Wv)
    assert isinstance(as_tuple, tuple) and as_tuple[1].shape == (3,)
    as_dict = ga.function([x, W], {"y": y, "grads": {"x": gx, "W": gW}})(xv, Wv)
    assert set(as_dict) == {"y", "grads"} and as_dict["grads"]["W"].shape == (3, 4)
    Pair = namedtuple("Pair", ["value", "grad"])
    pair = ga.function([x, W], Pair(y, gx))(xv, Wv)
    assert isinstance(pair, Pair)
    np.testing.assert_allclose(pair.grad, gx_e, rtol=1e-12)


def test_a_single_placeholder_is_the_one_argument() -> None:
    x = ga.placeholder("x", (3,))
    f = ga.function(x, ga.sum(x**2))
    assert f.inputs == (x,)
    assert float(f(np.arange(3.0))) == 5.0
    assert float(f(x=[1, 2, 3])) == 14.0  # an array-like of ints, converted as feeds are


def test_python_scalars_and_array_likes_are_converted_to_the_placeholder_dtype() -> None:
    a = ga.placeholder("a", (), dtype="float32")
    b = ga.placeholder("b", (2,), dtype="float32")
    f = ga.function([a, b], a * b)
    out = f(2, [1.5, 3])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [3.0, 6.0])


def test_a_structured_placeholder_is_fed_a_structure() -> None:
    d = ga.placeholder("d", type={"w": ga.TensorType((2,)), "b": ga.TensorType(())})
    t = ga.placeholder("t", type=(ga.TensorType((2,)), ga.TensorType((2,))))
    out = d["w"] * t[0] + d["b"] * t[1]
    f = ga.function([d, t], out)
    got = f({"w": np.array([1.0, 2.0]), "b": 3.0}, (np.ones(2), np.array([0.0, 1.0])))
    np.testing.assert_array_equal(got, [1.0, 5.0])


def test_an_input_the_outputs_do_not_use_is_taken_and_checked_all_the_same() -> None:
    x = ga.placeholder("x", (2,))
    unused = ga.placeholder("unused", (3,))
    f = ga.function([x, unused], 2 * x)
    np.testing.assert_array_equal(f(np.ones(2), np.zeros(3)), [2.0, 2.0])
    with pytest.raises(ga.FeedError, match=r"function\(x, unused\): .*'unused'.*shape \(3,\)"):
        f(np.ones(2), np.zeros(4))


def test_executor_options_pass_through_and_the_plan_is_there_to_inspect() -> None:
    x, W, y = model()
    xv, Wv = values()
    f = ga.function([x, W], y, optimize=False, backend="numpy")
    assert isinstance(f.executor, ga.Executor)
    assert f.executor.optimized is False and f.executor.backend == "numpy"
    assert len(f.executor.order) >= len(f.executor.steps) > 0
    assert repr(f) == f"<function(x, W) -> {len(f.executor.steps)} planned steps>"
    np.testing.assert_allclose(f(xv, Wv), expected(xv, Wv)[0], rtol=1e-12)
    z = ga.placeholder("z", ())
    checked = ga.function(z, ga.log(z), debug=True)
    with pytest.raises(ga.ExecutionError, match="NaN or inf"):
        checked(-1.0)


def test_the_plan_is_made_once_and_each_call_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    x, W, y = model()
    made = []
    original = ga.Executor.__init__

    def counting(self: ga.Executor, *args: Any, **kwargs: Any) -> None:
        made.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ga.Executor, "__init__", counting)
    f = ga.function([x, W], [y, ga.gradients(y, x)])
    for _ in range(3):
        f(*values())
    assert len(made) == 1


def test_a_function_pickles_and_copies() -> None:
    x, W, y = model()
    gx = ga.gradients(y, x)
    xv, Wv = values()
    f = ga.function([x, W], {"y": y, "g": [gx]}, optimize=False)
    for g in (pickle.loads(pickle.dumps(f)), copy.deepcopy(f)):
        assert [p.name for p in g.inputs] == ["x", "W"]
        assert g.executor.optimized is False
        got, want = g(xv, W=Wv), f(xv, W=Wv)
        np.testing.assert_array_equal(got["y"], want["y"])
        np.testing.assert_array_equal(got["g"][0], want["g"][0])
    single = pickle.loads(pickle.dumps(ga.function(x, 2 * x)))
    np.testing.assert_array_equal(single(xv), 2 * xv)


# -- bad calls -------------------------------------------------------------------------------


def called() -> ga.Function:
    x, W, y = model()
    return ga.function([x, W], y)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((1, 2, 3), {}, r"function\(x, W\): takes 2 arguments, got 3 positional"),
        ((np.ones(3),), {}, r"function\(x, W\): missing argument\(s\) 'W'"),
        ((), {}, r"function\(x, W\): missing argument\(s\) 'x', 'W'"),
        (
            (np.ones(3), np.ones((3, 4))),
            {"x": np.ones(3)},
            r"function\(x, W\): argument 'x' is given twice, by position and by keyword",
        ),
        (
            (np.ones(3),),
            {"w": np.ones((3, 4))},
            r"function\(x, W\): unknown keyword argument 'w'; the arguments are 'x', 'W'",
        ),
        (
            (np.ones(4), np.ones((3, 4))),
            {},
            r"function\(x, W\): placeholder 'x' has shape \(3,\) but was fed shape \(4,\)",
        ),
        (
            (np.ones(3), np.ones((3, 4), dtype=complex)),
            {},
            r"function\(x, W\): placeholder 'W' is float64 but was fed complex128",
        ),
        (
            (np.ones(3), "abc"),
            {},
            r"function\(x, W\): placeholder 'W' is float64 but was fed str",
        ),
    ],
    ids=["too-many", "too-few", "none", "twice", "unknown-keyword", "shape", "dtype", "str"],
)
def test_bad_calls_name_the_function_the_argument_and_the_line(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    f = called()
    with pytest.raises(ga.FeedError, match=message + ".*" + HERE):
        f(*args, **kwargs)


def test_bad_functions_are_refused_when_made() -> None:
    x, W, y = model()
    cases: list[tuple[Any, Any, dict[str, Any], str]] = [
        ("x", y, {}, r"function: inputs must be a placeholder or a list of placeholders, got str"),
        ([x, np.ones(3)], y, {}, r"function: inputs\[1\] must be a placeholder, got ndarray"),
        ([x, 2 * W], y, {}, r"function: inputs\[1\] = .* is a multiply node made at .*"),
        ([x, W, x], y, {}, r"function: inputs\[2\] = 'x' is given twice \(inputs\[0\]\)"),
        (
            [x, W, ga.placeholder("x", ())],
            y,
            {},
            r"function: inputs\[2\] = 'x' shares its name with another input \(inputs\[0\]\)",
        ),
        (
            [x, W],
            [y, 1.0],
            {},
            r"function\(x, W\): outputs\[1\] is float; outputs must be a node",
        ),
        (
            [x, W],
            {"a": [y, "b"]},
            {},
            r"function\(x, W\): outputs\['a'\]\[1\] is str",
        ),
        (
            [x],
            y,
            {},
            r"function\(x\): the outputs need placeholder\(s\) 'W' \(3, 4\):float64 \(made at "
            r"test_function.py:\d+\), which are not among the inputs",
        ),
        (
            [x, W],
            y,
            {"optimise": False},
            r"function\(x, W\): unknown Executor option\(s\) 'optimise'; the options are "
            r"optimize, debug, backend",
        ),
    ]
    for inputs, outputs, options, message in cases:
        with pytest.raises(ga.GraphError, match=message + ".*" + HERE):
            ga.function(inputs, outputs, **options)


def test_the_docstring_example_runs() -> None:
    doc = ga.function.__doc__
    assert doc is not None
    block = re.search(r"::\n\n((?:        .*\n)+)", doc)
    assert block is not None
    code = "\n".join(line[8:] for line in block.group(1).splitlines())
    namespace: dict[str, Any] = {"ga": ga, "np": np}
    exec(code, namespace)
    assert namespace["gW"].shape == (3, 4)
    assert "PyTensor" in doc and "value_and_grad" in doc
