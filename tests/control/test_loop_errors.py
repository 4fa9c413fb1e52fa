"""Bad input to the loops: each error is typed, names the function, the argument or the
carry entry at fault, and the user's line; found when the node is made where it can be,
else at run time naming the loop."""

from __future__ import annotations

import re
import sys
from typing import Any

import numpy as np
import pytest

import graphad as ga

x = ga.placeholder("x", (3,))
xs = ga.placeholder("xs", (4, 3))
HERE = "test_loop_errors.py"


def line() -> int:
    return sys._getframe(1).f_lineno


def same(c: Any, v: Any) -> tuple[Any, None]:
    return c, None


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ga.scan(3, x, xs), ga.GraphError, "scan: f must be a function"),
        (lambda: ga.scan(lambda c, v: c, x, xs), ga.GraphError, r"f must return a pair"),
        (lambda: ga.scan(same, x), ga.GraphError, "give xs to scan over, or a length"),
        (lambda: ga.scan(same, x, length=-1), ga.GraphError, "length must be an int >= 0"),
        (lambda: ga.scan(same, x, length=2.0), ga.GraphError, "length must be an int >= 0"),
        (lambda: ga.scan(same, x, xs, length=5), ga.ShapeError, r"length=5 but xs has 4 rows"),
        (lambda: ga.scan(same, x, xs, reverse=1), ga.GraphError, "reverse must be a bool"),
        (lambda: ga.scan(same, x, xs, unroll=0), ga.GraphError, "unroll must be an int >= 1"),
        (lambda: ga.scan(same, x, xs, checkpoint=0), ga.GraphError, "checkpoint must be"),
        (lambda: ga.scan(same, x, xs, checkpoint="cube"), ga.GraphError, "checkpoint must be"),
        (
            lambda: ga.scan(same, x, ga.constant(1.0)),
            ga.ShapeError,
            r"xs must be an array with a leading axis to scan over, got \(\):float64",
        ),
        (
            lambda: ga.scan(same, x, (xs, ga.placeholder("b", (5,)))),
            ga.ShapeError,
            r"the xs differ in length: xs\[0\] has 4 rows, xs\[1\] has 5",
        ),
        (
            lambda: ga.scan(same, x, length=ga.placeholder("n", ())),
            ga.DTypeError,
            "length must be an integer scalar",
        ),
    ],
)
def test_bad_scan_arguments(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message) as e:
        call()
    assert f"{HERE}:" in str(e.value)


@pytest.mark.parametrize(
    ("body", "error", "shown"),
    [
        (lambda c, v: (ga.cast(c, "float32"), None), ga.DTypeError, "(3,):float32"),
        (lambda c, v: (c[:2], None), ga.ShapeError, "(2,):float64"),
        (lambda c, v: (ga.sum(c), None), ga.ShapeError, "():float64"),
    ],
    ids=["dtype", "shape", "rank"],
)
def test_a_carry_whose_type_changes_in_a_step_is_named_with_the_users_line(
    body: Any, error: type, shown: str
) -> None:
    here = line() + 2
    with pytest.raises(error) as e:
        ga.scan(body, x, xs)
    msg = str(e.value)
    assert msg.startswith("scan: carry is (3,):float64 before a step and ")
    assert shown in msg and f"{HERE}:{here}" in msg


def test_the_entry_of_a_structured_carry_is_named() -> None:
    init = {"a": x, "b": (1.0, ga.constant(np.int64(1)))}
    here = line() + 2
    with pytest.raises(ga.DTypeError) as e:
        ga.fori_loop(0, 3, lambda i, c: _halve(c), init)
    msg = str(e.value)
    assert "carry['b'][1] is ():int64 before a step and ():float64 after it" in msg
    assert msg.startswith("fori_loop:") and f"{HERE}:{here}" in msg


def _halve(c: dict[str, Any]) -> dict[str, Any]:
    return {"a": c["a"], "b": (c["b"][0], c["b"][1] / 2)}


def test_a_carry_of_another_structure_is_refused() -> None:
    with pytest.raises(
        ga.GraphError,
        match=re.escape(
            "returns a carry with entries carry[0], carry[1] where the initial carry has carry"
        ),
    ):
        ga.scan(lambda c, v: ((c, c), None), x, xs)


def test_an_error_inside_the_body_says_it_was_tracing_it() -> None:
    with pytest.raises(ga.ShapeError, match="scan: tracing the body: add"):
        ga.scan(lambda c, v: (c + ga.constant(np.ones(4)), None), x, xs)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ga.fori_loop(0, 3, "f", x), ga.GraphError, "body must be a function"),
        (lambda: ga.fori_loop(0.0, 3, lambda i, c: c, x), ga.DTypeError, "lower must be an int"),
        (
            lambda: ga.fori_loop(0, ga.placeholder("u", ()), lambda i, c: c, x),
            ga.DTypeError,
            r"upper must be an int or an integer scalar node, got \(\):float64",
        ),
        (lambda: ga.while_loop(None, lambda c: c, x), ga.GraphError, "cond must be a function"),
        (
            lambda: ga.while_loop(lambda c: c > 0, lambda c: c, x),
            ga.DTypeError,
            r"cond must return a bool scalar, got \(3,\):bool",
        ),
        (
            lambda: ga.while_loop(lambda c: ga.sum(c), lambda c: c, x),
            ga.DTypeError,
            "cond must return a bool scalar",
        ),
        (
            lambda: ga.while_loop(lambda c: True, lambda c: c, x),
            ga.DTypeError,
            "cond must return a bool scalar node, got bool",
        ),
        (
            lambda: ga.while_loop(lambda c: ga.sum(c) > 0, lambda c: c, x, max_steps=-1),
            ga.GraphError,
            "max_steps must be None or an int >= 0",
        ),
        (
            lambda: ga.while_loop(lambda c: ga.sum(c) > 0, lambda c: c[0], x),
            ga.ShapeError,
            r"while_loop: carry is \(3,\):float64 before a step and \(\):float64 after it",
        ),
    ],
)
def test_bad_fori_and_while_arguments(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message) as e:
        call()
    assert f"{HERE}:" in str(e.value)


def test_reverse_mode_through_an_unbounded_while_loop_says_to_give_max_steps() -> None:
    s = ga.placeholder("s", ())
    out = ga.while_loop(lambda v: v < 10.0, lambda v: v * 2.0, s)
    with pytest.raises(
        ga.DifferentiationError, match=r"give while_loop\(\.\.\., max_steps=N\)"
    ) as e:
        here = line() + 1
        ga.gradients(out, s)
    assert f"{HERE}:{here}" in str(e.value) and "made at test_loop_errors.py" in str(e.value)
    assert ga.evaluate(ga.jvp(out, s, 1.0), {s: 1.0}) == 16.0  # forward mode needs none


def test_xs_whose_lengths_differ_at_run_time_are_refused_before_the_loop_runs() -> None:
    a = ga.placeholder("a", (None,))
    b = ga.placeholder("b", (None,))
    here = line() + 1
    out, _ = ga.scan(lambda c, v: (c + v[0] * v[1], None), 0.0, (a, b))
    with pytest.raises(ga.ShapeError, match=r"xs 1 has 2 rows .* but the other xs give 3") as e:
        ga.evaluate(out, {a: np.ones(3), b: np.ones(2)})
    assert f"made at {HERE}:{here}, with the fed shapes" in str(e.value)


def test_a_failing_kernel_in_the_body_names_the_node_the_loop_and_the_step() -> None:
    m = ga.placeholder("m", (None, 2, 2))
    here = line() + 1
    out, _ = ga.scan(lambda c, v: (c + ga.sum(ga.inv(v)), None), 0.0, m)
    bad = np.stack([np.eye(2), np.eye(2), np.zeros((2, 2))])
    with pytest.raises(ga.ExecutionError) as e:
        ga.evaluate(out, {m: bad})
    msg = str(e.value)
    assert f"scan made at {HERE}:{here}, step 2: inv" in msg and "Singular matrix" in msg
