"""The command line: ``python -m graphad demo`` builds, differentiates and runs a small graph.

It uses only what a user would: the public API, an ``Executor`` and finite differences.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

import graphad as ga
from graphad.ir import topo_sort
from graphad.numerical import numerical_gradient

TOLERANCE = 1e-6  # central differences in float64 are good to about 1e-10 here


def _count(nodes: Sequence[ga.Node], forward: set[ga.Node]) -> str:
    """Nodes needed to compute ``nodes``, and how many of them are not forward nodes."""
    order = topo_sort(nodes)
    new = sum(n not in forward for n in order)
    return f"{len(order):4d} nodes ({new} made by differentiation)"


def demo(seed: int, draw: str | None = None) -> int:
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

        path = render([y, gx, gW, hx, t], draw, title="y, its gradient, hx (order 2), jvp t")
        print(f"\ndrawing of every node (colour = derivative order): {path}")
    ok = worst < TOLERANCE
    print(f"{'ok' if ok else 'FAILED'}: max error {worst:.2e} (tolerance {TOLERANCE})")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m graphad",
        description="graphad: automatic differentiation by extending a static graph.",
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
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(args.seed, args.draw)
    parser.print_help()
    return 0
