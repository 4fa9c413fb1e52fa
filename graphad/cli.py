"""The command line (``graphad`` or ``python -m graphad``): ``demo`` and ``diff``.

It uses only what a user would: the public API, an ``Executor`` and finite differences.
Whatever is typed ends in the work done or in one line on stderr and an exit status
(:data:`EXIT_FAILED`, :data:`EXIT_USAGE`), never in a traceback or a run that does not end:
the expression is bounded by :mod:`graphad.expression`, the derivatives by ``--max-order``
and ``--max-nodes``, the drawing by ``--max-drawn``, and every output path and renderer is
checked before the work starts.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import graphad as ga
from graphad.cli_checks import (
    EXIT_FAILED,
    EXIT_USAGE,
    SHOWN,
    CommandError,
    NodeBudget,
    Parser,
    assignments,
    expression_apart,
    names,
    natural,
    output_dir,
    output_file,
    positive,
    printable,
    quoted,
    while_drawing,
)
from graphad.expression import MAX_DEPTH, MAX_LENGTH, ExpressionError, parse
from graphad.formulas import formula_lines
from graphad.ir import topo_sort
from graphad.numerical import numerical_gradient
from graphad.viz.labels import subscript

_UP = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "⁰¹²³⁴⁵⁶⁷⁸⁹")
TOLERANCE = 1e-6  # central differences in float64 are good to about 1e-10 here
MAX_ORDER = 100  # sin(x) to order 100 takes milliseconds; the node budget bounds the rest
MAX_NODES = 20_000  # about a second to differentiate, optimise and run
MAX_DRAWN = 1_000  # Graphviz lays out 1,000 nodes in seconds, 3,000 in minutes


def _count(nodes: Sequence[ga.Node], forward: set[ga.Node]) -> str:
    """Nodes needed to compute ``nodes``, and how many of them are not forward nodes."""
    order = topo_sort(nodes)
    new = sum(n not in forward for n in order)
    return f"{len(order):4d} nodes ({new} made by differentiation)"


def notes_example() -> tuple[ga.Node, ga.Node]:
    """The notes' example: v₂ = exp(v₁), v₃ = v₂ + 1, v₄ = v₂·v₃; returns (v₁, v₄)."""
    v1 = ga.placeholder("v1", shape=())
    # graphad.ops gives its public functions name= when imported (ops._naming), which mypy
    # cannot see: it checks the functions as defined
    v2 = ga.exp(v1, name="v2")  # type: ignore[call-arg]
    v3 = ga.add(v2, 1.0, name="v3")  # type: ignore[call-arg]
    return v1, ga.multiply(v2, v3, name="v4")  # type: ignore[call-arg]


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
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise CommandError(f"--seed must be an integer >= 0, not {seed!r}")
    draw_path = output_file(draw, "--draw") if draw else None
    out_dir = output_dir(out, "--out") if out else None
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
    if draw_path is not None:
        from graphad.viz import render

        derivatives = {x: gx, W: gW, y: t}  # labels: x̄, W̄, ẏ
        while_drawing(
            f"--draw {quoted(str(draw))}",
            lambda: render(
                [y, gx, gW, hx, t],
                draw_path,
                title="y, its gradient, hx (order 2), jvp t",
                derivatives=derivatives,
            ),
        )
        print(f"\ndrawing of every node (colour = derivative order): {draw_path}")
    if out_dir is not None:
        paths: list[Path] = []
        while_drawing(
            f"--out {quoted(str(out))}", lambda: paths.extend(draw_notes_example(out_dir))
        )
        print("\nthe notes' example drawn: " + ", ".join(map(str, paths)))
    ok = worst < TOLERANCE
    print(f"{'ok' if ok else 'FAILED'}: max error {worst:.2e} (tolerance {TOLERANCE})")
    return 0 if ok else EXIT_FAILED


def partial_derivatives(
    f: ga.Node,
    xs: list[ga.Node],
    wrt: list[str],
    order: int,
    first: ga.Adjoints,
    budget: NodeBudget | None = None,
) -> dict[str, ga.Node]:
    """``{"f": f, "∂f/∂x": ..., "∂²f/∂x∂y": ...}`` up to ``order``, each mixed partial once;
    the first order is the adjoints of ``first`` (zeros for an x that f does not use).
    ``budget`` counts every node made, after each differentiation, so that an order that
    multiplies the graph stops as soon as it passes the limit, not when it is done."""
    budget = NodeBudget(sys.maxsize) if budget is None else budget
    budget.add(f, 0)
    results = {"f": f}
    level: dict[tuple[int, ...], ga.Node] = {(): f}
    for k in range(1, order + 1):
        nxt: dict[tuple[int, ...], ga.Node] = {}
        for index, node in level.items():
            if k == 1:
                grads = [first[x].total if x in first else ga.gradients(f, x) for x in xs]
            else:
                grads = ga.gradients(node, xs)
            for i, g in enumerate(grads):
                budget.add(g, k)
                nxt.setdefault(tuple(sorted((*index, i))), g)
        level = nxt
        power = "" if k == 1 else subscript(k).translate(_UP)
        for key, node in level.items():
            results[f"∂{power}f/" + "".join(f"∂{wrt[i]}" for i in key)] = node
    return results


def diff(args: argparse.Namespace) -> int:
    """f and its derivatives up to ``--order`` as formulas, with their values at ``--at``."""
    if not 1 <= args.order <= args.max_order:
        raise CommandError(
            "--order must be 1 or more"
            if args.order < 1
            else f"--order {args.order} is above the limit {args.max_order} "
            "(--max-order): raise it if you mean it"
        )
    f, variables = parse(args.expression)
    at = assignments(args.at)
    wrt = names(args.wrt, "--wrt") if args.wrt else sorted(variables)
    unknown = [w for w in wrt if w not in variables]
    if unknown:
        raise CommandError(f"--wrt names {unknown} not in the expression")
    unknown = [name for name in at if name not in variables]
    if unknown:
        raise CommandError(f"--at names {unknown} not in the expression")
    missing = [v for v in variables if v not in at]
    if at and missing:
        raise CommandError(f"--at gives no value for {missing}")
    svg = output_file(args.svg, "--svg") if args.svg else None

    xs = [variables[w] for w in wrt]
    first = ga.adjoints(f, xs)  # the first order, with the partials the drawing labels
    budget = NodeBudget(args.max_nodes)
    results = partial_derivatives(f, xs, wrt, args.order, first, budget)
    if svg is not None:
        drawn = len(topo_sort([*results.values(), *(first[x].total for x in xs if x in first)]))
        if drawn > args.max_drawn:
            raise CommandError(
                f"--svg: the drawing would have {drawn} nodes, more than {args.max_drawn} "
                "(--max-drawn), which Graphviz lays out in minutes: ask for a lower --order, "
                "or raise --max-drawn if you mean it"
            )
    lines = formula_lines(results)  # values the formulas share are named once, first
    feeds = {variables[name]: value for name, value in at.items()}
    values = ga.evaluate([line.node for line in lines], feeds) if at else None
    width = max(len(line.name or "") for line in lines)
    for k, line in enumerate(lines):
        text = f"{line.name or '':<{width}} = {line.text}"
        print(text if values is None else f"{text} = {float(values[k]):.10g}")
    if args.explain:
        print()
        print(ga.explain(f, xs, values=feeds or None))
    if svg is not None:
        while_drawing(
            f"--svg {quoted(args.svg)}",
            lambda: ga.render(
                list(results.values()), svg, title=args.expression, derivatives=first
            ),
        )
        print(f"drawing: {svg}")
    return 0


_DIFF_VALUES = ("--wrt", "--order", "--at", "--svg", "--max-order", "--max-nodes", "--max-drawn")
_EXAMPLE = """graphad diff "sin(x) * exp(y) / (1 + x**2)" --wrt x,y --order 2 \\
      --at x=0.7,y=0.1"""
_EXIT_STATUS = f"""exit status:
  0  done
  {EXIT_FAILED}  the work failed: a check, the Graphviz renderer, writing a file
  {EXIT_USAGE}  bad usage: a bad expression, option or output path, or a limit exceeded
     (found before anything is printed or written)"""
_EXPRESSIONS = f"""The expression: numbers, variables, + - * / % ** (not ^), one comparison
such as x > 0, pi, e, inf, nan, and graphad's elementwise functions, such as sin(x),
maximum(x, y), where(x > 0, x, 0), round(x, decimals=1); at most {MAX_LENGTH}
characters and {MAX_DEPTH} levels of nesting (a sum of n terms is n levels deep);
numbers within float64's range.  One that starts with a minus sign is written as it
is (graphad diff "-x"), except "--" and a letter, read as an option: put it last,
after "--" (... --at x=1 -- --x).

Each line is a formula, simplified as graphad runs it; values several formulas share
are named once, in lines before them (v1 = ...).  With --at, each line ends with its
value there."""


def _parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter  # the texts below keep their lines
    parser = Parser(
        prog="graphad",
        description="graphad: automatic differentiation by extending a static graph.",
        epilog=f"example:\n  {_EXAMPLE} --explain\n\n{_EXIT_STATUS}",
        formatter_class=raw,
    )
    parser.add_argument("--version", action="version", version=f"graphad {ga.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_demo = commands.add_parser(
        "demo",
        help="build a small graph, differentiate it twice, run it and check it",
        epilog=_EXIT_STATUS,
        formatter_class=raw,
    )
    run_demo.add_argument(
        "--seed", type=natural, default=0, help="seed of the random inputs, >= 0 (default 0)"
    )
    run_demo.add_argument(
        "--draw", metavar="PATH", help="also draw the graph with Graphviz (.svg, .png or .pdf)"
    )
    run_demo.add_argument(
        "--out", metavar="DIR", help="also write forward, gradient and Hessian SVGs of the notes"
    )
    run_diff = commands.add_parser(
        "diff",
        help="differentiate an expression: the derivatives' formulas (and values --at a point)",
        description=(
            "Print f and its partial derivatives up to --order as formulas, and their "
            f"values at --at.\n\n{_EXPRESSIONS}"
        ),
        epilog=f"example:\n  {_EXAMPLE} --svg out.svg --explain\n\n{_EXIT_STATUS}",
        formatter_class=raw,
    )
    # optional for argparse only: "-x" is taken out of the arguments before it reads them
    run_diff.add_argument("expression", nargs="?", help='e.g. "sin(x) * exp(y) / (1 + x**2)"')
    run_diff.add_argument("--wrt", help="variables, comma-separated (default: all)")
    run_diff.add_argument("--order", type=int, default=1, help="highest order (default 1)")
    run_diff.add_argument(
        "--at",
        default="",
        help="the point to evaluate at: a value for each variable and no other, e.g. x=0.7,y=0.1",
    )
    run_diff.add_argument(
        "--svg", metavar="PATH", help="draw f and its derivatives (.svg, .png or .pdf)"
    )
    run_diff.add_argument("--explain", action="store_true", help="write out the reverse sweep")
    limits = run_diff.add_argument_group(
        "limits", "Work beyond them is refused early, with exit status 2."
    )
    for option, default, text in (
        ("--max-order", MAX_ORDER, "highest --order accepted"),
        ("--max-nodes", MAX_NODES, "most nodes the derivatives' graph may reach"),
        ("--max-drawn", MAX_DRAWN, "most nodes --svg draws"),
    ):
        limits.add_argument(
            option, type=positive, default=default, metavar="N", help=f"{text} (default {default})"
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``graphad COMMAND ...``: the status to exit with (see :data:`EXIT_USAGE`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):  # ∂ and x̄ on a terminal that cannot show them
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = _parser()
    expression = None
    if argv[:1] == ["diff"]:
        rest, expression = expression_apart(argv[1:], _DIFF_VALUES)
        argv = ["diff", *rest]
    args = parser.parse_args(argv)
    prog = f"graphad {args.command}" if args.command else "graphad"
    try:
        if args.command == "demo":
            return demo(args.seed, args.draw, args.out)
        if args.command == "diff":
            if expression is not None and args.expression is not None:
                raise CommandError(
                    f"two expressions, {quoted(expression)} and {quoted(args.expression)}"
                )
            if expression is not None:
                args.expression = expression
            if args.expression is None:
                raise CommandError("the expression is missing (see --help)")
            return diff(args)
    except ExpressionError as e:
        print(f"{prog}: {printable(str(e))}", file=sys.stderr)
        text = args.expression.strip()
        if len(text) <= SHOWN and text.isprintable():  # the column, pointed at
            print(f"  {text}\n  {' ' * (e.column - 1)}^", file=sys.stderr)
        return EXIT_USAGE
    except CommandError as e:
        print(f"{prog}: {printable(str(e))}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, as a shell reports it
    except BrokenPipeError:  # the reader left (| head): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    parser.print_help()
    return 0
