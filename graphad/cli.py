"""The command line (``graphad`` or ``python -m graphad``): ``demo`` and ``diff``.

It uses only what a user would: the public API, an ``Executor`` and finite differences.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import graphad as ga
from graphad.ir import topo_sort
from graphad.numerical import numerical_gradient
from graphad.viz.labels import subscript

_UP = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "⁰¹²³⁴⁵⁶⁷⁸⁹")
TOLERANCE = 1e-6  # central differences in float64 are good to about 1e-10 here


def _count(nodes: Sequence[ga.Node], forward: set[ga.Node]) -> str:
    """Nodes needed to compute ``nodes``, and how many of them are not forward nodes."""
    order = topo_sort(nodes)
    new = sum(n not in forward for n in order)
    return f"{len(order):4d} nodes ({new} made by differentiation)"


def notes_example() -> tuple[ga.Node, ga.Node]:
    """The notes' example: v₂ = exp(v₁), v₃ = v₂ + 1, v₄ = v₂·v₃; returns (v₁, v₄)."""
    v1 = ga.placeholder("v1", shape=())
    v2 = ga.exp(v1, name="v2")
    v3 = ga.add(v2, 1.0, name="v3")
    return v1, ga.multiply(v2, v3, name="v4")


def draw_notes_example(out: Path) -> list[Path]:
    """forward.svg, gradient.svg and hessian.svg of the notes' example, in ``out``."""
    from graphad.viz import render

    out.mkdir(parents=True, exist_ok=True)
    v1, v4 = notes_example()
    first = ga.adjoints(v4, v1)
    second = ga.adjoints(first[v1].total, v1)
    return [
        render(v4, out / "forward.svg", title="v₄ = v₂·v₃, v₃ = v₂ + 1, v₂ = exp(v₁)"),
        render(v4, out / "gradient.svg", title="reverse mode: v̄₁", derivatives=first),
        render(
            second[v1].total,
            out / "hessian.svg",
            title="the adjoint of v̄₁: d²v₄/dv₁²",
            derivatives=[first, second],
        ),
    ]


def demo(seed: int, draw: str | None = None, out: str | None = None) -> int:
    """y = sum(tanh(x @ W)²) + ½·sum(x·x): its gradient, a second derivative and a JVP."""
    x = ga.placeholder("x", shape=(3,))
    W = ga.placeholder("W", shape=(3, 4))
    y = ga.sum(ga.tanh(x @ W) ** 2) + 0.5 * ga.sum(x * x)
    gx, gW = ga.gradients(y, [x, W])  # reverse mode: new nodes of the same graph
    hx = ga.gradients(gx, x)  # grad of grad: d sum(gx) / dx
    v = np.ones(3)
    t = ga.jvp(y, x, ga.constant(v))  # forward mode: the tangent ∂y/∂x · v

    rng = np.random.default_rng(seed)
    feeds = {"x": rng.standard_normal(3), "W": 0.5 * rng.standard_normal((3, 4))}  # by name
    values = ga.Executor({"y": y, "gx": gx, "gW": gW, "hx": hx, "t": t}).run(feeds)

    print("y = sum(tanh(x @ W) ** 2) + 0.5 * sum(x * x)")
    print(f"inputs: standard normal, seed {seed}; W scaled by 0.5\n")
    with np.printoptions(precision=5, suppress=True):
        print(f"x  = {feeds['x']}")
        for name, value in values.items():
            print(f"{name:2s} = {value}".replace("\n", "\n" + " " * 5))

    forward = set(topo_sort([y]))
    print("\ngraph sizes:")
    print(f"  forward      y        {_count([y], forward)}")
    print(f"  gradient     gx, gW   {_count([gx, gW], forward)}")
    print(f"  2nd order    hx       {_count([hx], forward)}")
    print(f"  forward mode t        {_count([t], forward)}")

    references = {  # each derivative against an independent reference
        "gx vs central differences of y ": (values["gx"], numerical_gradient(y, x, feeds)),
        "gW vs central differences of y ": (values["gW"], numerical_gradient(y, W, feeds)),
        "hx vs central differences of gx": (values["hx"], numerical_gradient(gx, x, feeds)),
        "t  vs gx·v (forward vs reverse)": (values["t"], values["gx"] @ v),
    }
    print("\nchecks, max abs error:")
    worst = 0.0
    for name, (value, reference) in references.items():
        error = float(np.max(np.abs(value - reference)))
        worst = max(worst, error)
        print(f"  {name}  {error:.2e}")
    if draw:
        from graphad.viz import render

        derivatives = {x: gx, W: gW, y: t}  # labels: x̄, W̄, ẏ
        path = render(
            [y, gx, gW, hx, t],
            draw,
            title="y, its gradient, hx (order 2), jvp t",
            derivatives=derivatives,
        )
        print(f"\ndrawing of every node (colour = derivative order): {path}")
    if out:
        paths = draw_notes_example(Path(out))
        print("\nthe notes' example drawn: " + ", ".join(map(str, paths)))
    ok = worst < TOLERANCE
    print(f"{'ok' if ok else 'FAILED'}: max error {worst:.2e} (tolerance {TOLERANCE})")
    return 0 if ok else 1


def _assignments(text: str) -> dict[str, float]:
    """``x=0.7,y=0.1`` as ``{"x": 0.7, "y": 0.1}``."""
    found = {}
    for item in filter(None, text.split(",")):
        name, sep, value = item.partition("=")
        try:
            found[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ValueError(f"--at: expected name=number, got {item!r}")
    return found


def partial_derivatives(
    f: ga.Node, xs: list[ga.Node], wrt: list[str], order: int, first: ga.Adjoints
) -> dict[str, ga.Node]:
    """``{"f": f, "∂f/∂x": ..., "∂²f/∂x∂y": ...}`` up to ``order``, each mixed partial once;
    the first order is the adjoints of ``first`` (zeros for an x that f does not use)."""
    results = {"f": f}
    level = {(): f}
    for k in range(1, order + 1):
        nxt: dict[tuple[int, ...], ga.Node] = {}
        for index, node in level.items():
            if k == 1:
                grads = [first[x].total if x in first else ga.gradients(f, x) for x in xs]
            else:
                grads = ga.gradients(node, xs)
            for i, g in enumerate(grads):
                nxt.setdefault(tuple(sorted((*index, i))), g)
        level = nxt
        power = "" if k == 1 else subscript(k).translate(_UP)
        for key, node in level.items():
            results[f"∂{power}f/" + "".join(f"∂{wrt[i]}" for i in key)] = node
    return results


def diff(args: argparse.Namespace) -> int:
    """Derivatives of an expression up to ``--order``, at ``--at``."""
    from graphad.expression import ExpressionError, parse

    try:
        f, variables = parse(args.expression)
    except ExpressionError as e:
        print(f"graphad diff: {e}", file=sys.stderr)
        print(f"  {args.expression}\n  {' ' * (e.column - 1)}^", file=sys.stderr)
        return 2
    try:
        at = _assignments(args.at)
        wrt = [w.strip() for w in args.wrt.split(",")] if args.wrt else sorted(variables)
        unknown = [w for w in wrt if w not in variables]
        missing = [v for v in variables if v not in at]
        if unknown or missing or args.order < 1:
            raise ValueError(
                f"--wrt names {unknown} not in the expression"
                if unknown
                else f"--at gives no value for {missing}"
                if missing
                else "--order must be 1 or more"
            )
    except ValueError as e:
        print(f"graphad diff: {e}", file=sys.stderr)
        return 2
    xs = [variables[w] for w in wrt]
    first = ga.adjoints(f, xs)  # the first order, with the partials the drawing labels
    results = partial_derivatives(f, xs, wrt, args.order, first)
    feeds = {variables[name]: value for name, value in at.items() if name in variables}
    values = ga.evaluate(results, feeds)
    width = max(map(len, results))
    for name, value in values.items():
        print(f"{name:<{width}} = {float(value):.10g}")
    if args.explain:
        print()
        print(ga.explain(f, xs, values=feeds))
    if args.svg:
        path = ga.render(list(results.values()), args.svg, title=args.expression, derivatives=first)
        print(f"drawing: {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="graphad",
        description="graphad: automatic differentiation by extending a static graph.",
        epilog=(
            'example: graphad diff "sin(x) * exp(y) / (1 + x**2)" --wrt x,y --order 2 '
            "--at x=0.7,y=0.1 --explain"
        ),
    )
    parser.add_argument("--version", action="version", version=f"graphad {ga.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_demo = commands.add_parser(
        "demo", help="build a small graph, differentiate it twice, run it and check it"
    )
    run_demo.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    run_demo.add_argument(
        "--draw", metavar="PATH", help="also draw the graph with Graphviz (.svg, .png or .pdf)"
    )
    run_demo.add_argument(
        "--out", metavar="DIR", help="also write forward, gradient and Hessian SVGs of the notes"
    )
    run_diff = commands.add_parser(
        "diff",
        help="differentiate an expression and print the derivatives' values",
        epilog='example: graphad diff "sin(x) * exp(y) / (1 + x**2)" --wrt x,y --order 2 '
        "--at x=0.7,y=0.1 --svg out.svg --explain",
    )
    run_diff.add_argument("expression", help='e.g. "sin(x) * exp(y) / (1 + x**2)"')
    run_diff.add_argument("--wrt", help="variables, comma-separated (default: all)")
    run_diff.add_argument("--order", type=int, default=1, help="highest order (default 1)")
    run_diff.add_argument("--at", default="", help="values, e.g. x=0.7,y=0.1")
    run_diff.add_argument("--svg", metavar="PATH", help="draw f and its derivatives")
    run_diff.add_argument("--explain", action="store_true", help="write out the reverse sweep")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(args.seed, args.draw, args.out)
    if args.command == "diff":
        return diff(args)
    parser.print_help()
    return 0
