"""``graphad diff`` in formula's terms (issue 17 item 5): formulas without ``--at``, formula
and value with it, every elementwise function, errors pointing at the offending token."""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import pytest

import graphad as ga
from graphad import expression
from graphad.cli import main
from graphad.expression import parse


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["diff", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_without_at_each_derivative_is_printed_as_its_formula(capsys) -> None:
    status, out, err = run(capsys, "sin(x)*y", "--wrt", "x,y", "--order", "2")
    assert status == 0 and err == ""
    assert out.splitlines() == [
        "f        = sin(x)*y",
        "∂f/∂x    = y*cos(x)",
        "∂f/∂y    = sin(x)",
        # the chain rule's strong-zero product y·sin(x): not f, which is NaN where 0 meets inf
        "∂²f/∂x∂x = -(y*sin(x))",
        "∂²f/∂x∂y = cos(x)",
        "∂²f/∂y∂y = 0.0",
    ]


def test_with_at_each_line_ends_with_its_value(capsys) -> None:
    status, out, _ = run(capsys, "sin(x)*y", "--at", "x=0.5,y=2")
    assert status == 0
    assert out.splitlines() == [
        f"f     = sin(x)*y = {math.sin(0.5) * 2:.10g}",
        f"∂f/∂x = y*cos(x) = {math.cos(0.5) * 2:.10g}",
        f"∂f/∂y = sin(x) = {math.sin(0.5):.10g}",
    ]


def read_back(lines: list[str]) -> dict[str, ga.Node]:
    """Each printed ``label = formula`` read by the CLI's parser, named lines first."""
    variables: dict[str, ga.Node] = {}
    found: dict[str, ga.Node] = {}
    for line in lines:
        label, formula = (part.strip() for part in line.split(" = ")[:2])
        node, _ = parse(formula, variables)
        found[label] = node
        if label.isidentifier():
            variables[unicodedata.normalize("NFKC", label)] = node
    return found


def test_shared_values_are_named_once_and_the_lines_compute_the_values(capsys) -> None:
    text = "sin(x) * exp(y) / (1 + x**2)"
    status, out, _ = run(capsys, text, "--wrt", "x,y", "--order", "2", "--at", "x=0.7,y=0.1")
    lines = out.splitlines()
    assert status == 0 and lines[0] == "v1       = 1.0 + x**2 = 1.49"
    assert lines[1].startswith("f        = sin(x)*exp(y)/v1 = ")
    assert sum("1.0 + x**2" in line for line in lines) == 1  # named once, then used by name
    nodes = read_back(lines)
    for line in lines:
        label = line.split(" = ")[0].strip()
        feeds = {n: {"x": 0.7, "y": 0.1}[n.name] for n in ga.ir.topo_sort([nodes[label]])
                 if isinstance(n.op, ga.ir.Placeholder)}  # fmt: skip
        value = ga.evaluate(nodes[label], feeds)
        assert float(line.rsplit(" = ", 1)[1]) == pytest.approx(value, rel=1e-9)


def test_explain_runs_without_a_point_too(capsys) -> None:
    status, out, _ = run(capsys, "x*x", "--explain")
    assert status == 0
    assert out.splitlines()[:3] == ["f     = x*x", "∂f/∂x = x*2.0", ""]
    assert "x̄ = x̄→v₁[0] + x̄→v₁[1]" in out


def elementwise_op_classes() -> list[type]:
    found, stack = [], [ga.Op]
    while stack:
        for cls in stack.pop().__subclasses__():
            stack.append(cls)
            if cls.elementwise and cls not in found:
                found.append(cls)
    return found


def test_every_elementwise_function_graphad_has_is_allowed() -> None:
    """Every op class that is elementwise and made by a public function of graphad's name is
    in the parser's whitelist, except ``cast``, whose operand is a dtype, not a number."""
    names = set()
    for cls in elementwise_op_classes():
        name = getattr(cls, "name", None)
        name = name if isinstance(name, str) else ga.ir.op._snake(cls.__name__)
        if callable(getattr(ga, name, None)) and name in ga.ops.__all__:
            names.add(name)
    assert names - set(expression.FUNCTIONS) == {"cast"}
    assert len(names) > 60
    for name in expression.FUNCTIONS:  # each one reads and runs on numbers
        for args in ("x", "x, 0.5", "x > 0, x, 0.5"):
            try:
                f, _ = parse(f"{name}({args})")
            except expression.ExpressionError:
                continue
            assert np.ndim(ga.evaluate(f, {"x": 0.375})) == 0, name
            break
        else:
            pytest.fail(f"{name} takes none of 1, 2 or 3 numbers")


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("x ^ 2", 3, "use ** for powers"),
        ("sin(x)^2", 7, "use ** for powers"),
        ("ｘ*ｙ ^ 2", 5, "use ** for powers"),  # columns are characters, not bytes
        ("x < y < 1", 7, "comparisons do not chain"),
        ("x @ y", 3, "@ multiplies matrices"),
        ("np.sin(x)", 3, "attribute access (.sin) is not allowed"),
        ("x +* 2", 4, "invalid syntax"),
    ],
)
def test_errors_point_at_the_offending_token(capsys, text, column, message) -> None:
    status, out, err = run(capsys, text)
    assert status == 2 and out == ""
    first, quoted, caret = err.splitlines()
    assert first.startswith(f"graphad diff: column {column}: {message}")
    assert quoted == f"  {text}" and caret == "  " + " " * (column - 1) + "^"
    assert text[column - 1] in "^<@.+*" or message == "invalid syntax"


def test_at_must_give_every_variable_when_it_is_given(capsys) -> None:
    status, _, err = run(capsys, "x*y", "--at", "x=1")
    assert status == 2 and "--at gives no value for ['y']" in err
    status, out, _ = run(capsys, "x*y")
    assert status == 0 and out.splitlines()[0] == "f     = x*y"
