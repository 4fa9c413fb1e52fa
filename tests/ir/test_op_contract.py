"""The op contract: what an op declares about itself, its safe defaults, and that the rest
of graphad asks the op (no module keeps a table of op classes or tests a class's name)."""

from __future__ import annotations

import ast
import importlib
import math
import pkgutil
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.compiler import floats, optimize
from graphad.control import Branch, Cond
from graphad.ir import GraphError, Node, Op, TensorType, topo_sort
from graphad.ir.scalar import FUNCTIONS, functions_of
from graphad.ops.elementwise import Multiply

PACKAGE = Path(ga.__file__).parent


@dataclass(frozen=True)
class Plain(Op):
    """A user's op that declares nothing but its rules."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x * 2.0


@dataclass(frozen=True)
class Scaled(Multiply):
    """A user's subclass of multiply with another kernel: multiply's kernel traits are gone."""

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b + 1.0


@dataclass(frozen=True)
class Renamed(Multiply):
    """A user's subclass of multiply with multiply's kernel: its traits still hold."""


def test_a_users_op_gets_safe_defaults() -> None:
    op = Plain()
    assert not op.commutative and not op.elementwise and op.scalar is None
    assert op.chunking == "dispatch" and op.branches == () and op.control is None
    x = ga.placeholder("x", (3,))
    assert op.batch(op(x), [x], [True]) is None  # run once per example
    with pytest.raises(GraphError, match="plain: has no sub-graphs"):
        op.with_outputs([])
    with pytest.raises(GraphError, match="plain: no scalar formula"):
        op.scalar_code(["a"])
    xs = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(ga.evaluate(ga.vmap(op(x), {x: xs})), xs * 2.0)


def test_a_new_kernel_drops_the_kernel_traits_it_inherited() -> None:
    assert Multiply.commutative and Multiply.scalar is not None
    assert not Scaled.commutative and Scaled.scalar is None
    assert Scaled.elementwise  # a family trait: still an elementwise op
    assert Renamed.commutative and Renamed.scalar == Multiply.scalar
    a, b = ga.placeholder("a", ()), ga.placeholder("b", ())
    both = Scaled()(a, b) + Scaled()(b, a)
    assert [n.op.name for n in topo_sort([optimize(both)])].count("scaled") == 2
    ex = ga.Executor(Scaled()(a, b))
    assert ex._program is not None and ex._program.fast is None  # its kernel runs
    assert ex.run({a: 2.0, b: 3.0}) == 7.0


def formula_ops() -> list[Op]:
    """One instance of every graphad op class that declares a scalar formula."""
    classes: set[type[Op]] = set()
    todo = list(Op.__subclasses__())
    while todo:  # a class below two bases is reached twice: the set keeps it once
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("graphad.") and cls.scalar is not None:
            classes.add(cls)
    return sorted((cls() for cls in classes), key=lambda op: op.name)


FORMULAS = formula_ops()


@pytest.mark.parametrize("op", FORMULAS, ids=[op.name for op in FORMULAS])
def test_a_scalar_formula_is_the_kernel_on_floats(op: Op) -> None:
    """Each formula, with its functions' NumPy meanings and with Python's math, gives what
    ``compute`` gives, at points where every op with a formula is defined."""
    arity = 1 + max(int(k) for k in re.findall(r"\{(\d+)\}", op.scalar))  # type: ignore[arg-type]
    rng = np.random.default_rng(15)
    for _ in range(20):
        args = rng.uniform(0.1, 0.9, arity)
        want = op.compute(*args)
        code = op.scalar_code([f"_{i}" for i in range(arity)])
        scope = {f"_{i}": np.float64(v) for i, v in enumerate(args)}
        assert functions_of(op.scalar, arity) <= FUNCTIONS.keys()  # type: ignore[arg-type]
        as_numpy = eval(code, {**FUNCTIONS}, scope)
        assert as_numpy == want, (code, args)
        as_python = eval(code, {**floats.NAMESPACE}, {k: float(v) for k, v in scope.items()})
        assert math.isclose(as_python, float(want), rel_tol=4e-16), (code, args)


def test_add_n_sums_any_number_of_floats_left_to_right() -> None:
    op = ga.ops.elementwise.AddN()
    assert op.scalar_code(["a", "b", "c"]) == "(a + b + c)"


def test_a_formula_outside_the_vocabulary_is_refused_naming_the_op() -> None:
    @dataclass(frozen=True)
    class Clamp(Op):
        elementwise = True
        scalar = "max({0}, 0.0)"

        def infer(self, x: TensorType) -> TensorType:
            return x

        def compute(self, x: np.ndarray) -> np.ndarray:
            return np.maximum(x, 0.0)

    x = ga.placeholder("x", ())
    with pytest.raises(GraphError, match=r"clamp: scalar formula .* uses max"):
        ga.Executor(Clamp()(x))


# -- sub-graphs: a loop-shaped op fits the protocol ---------------------------------
@dataclass(frozen=True, eq=False)
class Repeat(Op):
    """body(body(…body(x))), ``times`` times: an op with a body sub-graph, as a loop is."""

    body: Branch
    times: int

    def infer(self, x: TensorType) -> Any:
        return self.body.output.type

    def compute(self, x: np.ndarray) -> np.ndarray:
        for _ in range(self.times):
            x = self.body.run([x])
        return x

    @property
    def branches(self) -> tuple[Branch]:
        return (self.body,)

    def with_outputs(self, outputs: Sequence[Sequence[Node]]) -> Repeat:
        ((out,),) = outputs
        return Repeat(Branch(self.body.params, self.body.slots, out), self.times)


def test_an_op_with_a_body_is_rewritten_inside_and_run_by_its_kernel() -> None:
    p = ga.placeholder("p", (3,))
    body = Branch((p,), (0,), (p * 1.0) * 0.5 + 0.0)
    x = ga.placeholder("x", (3,))
    y = Repeat(body, 3)(x)
    out = optimize(y)
    inner = [n.op.name for n in topo_sort(list(out.op.branches[0].outputs)) if n.inputs]
    assert inner == ["multiply"]  # the rewrites saw inside the body
    ex = ga.Executor(y)
    assert ex._program is not None
    assert "k1(" in "".join(c.source for c in ex._program.general)  # its kernel, no if
    np.testing.assert_allclose(ex.run({x: np.ones(3)}), np.full(3, 0.125))


def test_cond_declares_its_branches_and_how_they_run() -> None:
    x = ga.placeholder("x", ())
    y = ga.cond(x > 0, lambda v: v * 1.0, lambda v: -v, [x])
    assert isinstance(y.op, Cond) and y.op.control == "select" and len(y.op.branches) == 2
    t, f = y.op.branches
    rebuilt = y.op.with_outputs([(t.params[0],), f.outputs])
    assert rebuilt.branches[0].outputs == (t.params[0],) and rebuilt.branches[1] is not f


# -- nobody keeps a table of op classes, nobody asks a class its name ----------------
def modules() -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages([str(PACKAGE)], "graphad.")
        if not info.name.endswith("__main__")
    ]


def op_classes_in(value: Any) -> list[type]:
    items: list[Any] = []
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, (tuple, list, set, frozenset)):
        items = list(value)
    return [v for v in items if isinstance(v, type) and issubclass(v, Op)]


# Not tables of what an op is: Op.__new__'s memo of the one instance of each attributeless op
# class (and of the classes that have attributes), filled as ops are made, holding nothing
# that a class does not say itself.
CACHES = {"graphad.ir.op._SINGLES", "graphad.ir.op._WITH_ATTRIBUTES"}


def test_no_module_keeps_a_table_of_op_classes() -> None:
    tables = []
    for name in modules():
        module = importlib.import_module(name)
        for key, value in vars(module).items():
            if op_classes_in(value) and f"{name}.{key}" not in CACHES:
                tables.append(f"{name}.{key}")
    assert tables == []


TRAITS = {"batch", "branches", "with_outputs", "commutative", "elementwise", "scalar"}
TRAITS |= {"chunking", "control"}


def test_nothing_asks_a_class_its_name_or_looks_traits_up_by_string() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                parts = [node.left, *node.comparators]
                named = any(isinstance(p, ast.Attribute) and p.attr == "__name__" for p in parts)
                if named and any(isinstance(p, ast.Constant) for p in parts):
                    found.append(f"{path.name}:{node.lineno}: compares a __name__ to a name")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in TRAITS
            ):
                asked = node.args[1].value
                found.append(f"{path.name}:{node.lineno}: {node.func.id}(..., {asked!r})")
    assert found == []


def test_a_formula_may_name_its_own_values_with_an_underscore_only() -> None:
    """``_p := …`` names a value the formula computes once (multiply_no_nan's product); a
    name without the underscore could be one of the generated code's, and is refused."""
    assert functions_of("(_p if (_p := {0} * {1}) == _p else 0.0)", 2) == frozenset()
    with pytest.raises(GraphError, match=r"uses p; .* _like_this with :="):
        functions_of("(p if (p := {0} * {1}) == p else 0.0)", 2)
    with pytest.raises(GraphError, match=r"uses _q"):
        functions_of("(_p if (_p := {0}) == _q else 0.0)", 1)
