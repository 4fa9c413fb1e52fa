"""``None`` (or any value that is no array) where an operand belongs is a typed error naming
the function, the argument that held it and the user's line; where NumPy gives ``None`` a
meaning (a one-sided clip) graphad gives it the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphad as ga

x = ga.placeholder("x", (3,))

NONE_OPERANDS: dict[str, tuple[Callable[[], Any], str]] = {
    "add_n": (lambda: ga.add_n(x, None), r"^add_n: argument xs\[1\]: None is not a value"),
    "sum": (lambda: ga.sum(None), r"^sum: argument x: None is not a value"),
    "matmul": (lambda: ga.matmul(x, None), r"^matmul: argument b: None is not a value"),
    "concatenate": (
        lambda: ga.concatenate([x, None]),
        r"^concatenate: argument xs\[1\]: None is not",
    ),
    "stack": (lambda: ga.stack([x, None]), r"^stack: argument xs\[1\]: None"),
    "add": (lambda: ga.add(x, None), r"^add: None is not a value"),
    "operator": (lambda: x * None, r"^multiply: None is not a value"),
    "exp": (lambda: ga.exp(None), r"^exp: None is not a value"),
    "np.matmul": (lambda: np.matmul(x, None), r"^matmul: argument b: None is not a value"),
    "ragged": (lambda: ga.sum([[1.0, 2.0], [3.0]]), r"^sum: argument x: cannot make an array"),
    "string": (lambda: ga.sin("abc"), r"^sin: 'abc' makes an array of <U3"),
    "constant": (lambda: ga.constant(None), r"^constant: None is not a value"),
    "linalg.inv": (lambda: ga.linalg.inv(None), r"^inv: argument a: None is not a value"),
}


@pytest.mark.parametrize("name", list(NONE_OPERANDS))
def test_an_operand_that_is_no_value_names_the_function_and_argument(name: str) -> None:
    call, message = NONE_OPERANDS[name]
    with pytest.raises(ga.GraphError, match=message) as info:
        call()
    assert str(info.value).endswith(")") and "test_none_arguments.py:" in str(info.value)


CLIPS: dict[str, tuple[Callable[[Any], Any], Callable[[np.ndarray], np.ndarray]]] = {
    "np.clip(x, 0, None)": (lambda n: np.clip(n, 0.0, None), lambda a: np.clip(a, 0.0, None)),
    "ga.clip(x, None, 1)": (lambda n: ga.clip(n, None, 1.0), lambda a: np.clip(a, None, 1.0)),
    "np.clip(min=)": (lambda n: np.clip(n, min=-0.5), lambda a: np.clip(a, min=-0.5)),
    "method": (lambda n: n.clip(max=0.5), lambda a: a.clip(max=0.5)),
}


@pytest.mark.parametrize("name", list(CLIPS))
def test_a_one_sided_clip_is_numpys_in_every_mode(run: Any, name: str) -> None:
    build, ref = CLIPS[name]
    value = np.array([-2.0, 0.25, 3.0])
    y = build(x)
    np.testing.assert_allclose(run([y, ga.gradients(ga.sum(y), x)], {x: value})[0], ref(value))
    g = run(ga.gradients(ga.sum(y), x), {x: value})
    np.testing.assert_allclose(g, (ref(value) == value).astype(float))
