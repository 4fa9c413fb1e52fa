"""The legend shows every mark a drawing uses and no other, each sample unlike the others."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import graphad as ga
from graphad import viz

ATTRIBUTE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')


def statements(source: str) -> tuple[dict[str, dict[str, str]], list[dict[str, str]], set[str]]:
    """The node statements (id -> attributes) and edge attributes of DOT text, and the
    names of its clusters."""
    nodes: dict[str, dict[str, str]] = {}
    edges: list[dict[str, str]] = []
    for line in source.splitlines():
        line = line.strip()
        found = re.match(r"^(\S+) -> (\S+)(?: \[(.*)\])?$", line)
        if found:
            edges.append({k: v.strip('"') for k, v in ATTRIBUTE.findall(found[3] or "")})
            continue
        found = re.match(r"^(\S+) \[(.*)\]$", line)
        if found and found[1] not in ("graph", "node", "edge"):
            nodes[found[1]] = {k: v.strip('"') for k, v in ATTRIBUTE.findall(found[2])}
    return nodes, edges, set(re.findall(r"subgraph (cluster_\w+)", source))


def marks_and_legend(drawing: viz.Drawing) -> tuple[set[str], set[str], list[tuple[str, ...]]]:
    """The marks the drawing uses, the legend's entries, and the look of each sample."""
    source = drawing.source
    body, _, legend = source.partition("subgraph cluster_legend")
    nodes, edges, clusters = statements(body)
    used: set[str] = set()
    for key, attrs in nodes.items():
        if key.endswith("_more") or key.startswith(("fold", "hidden")):
            used.add("⋯ nodes not drawn")
            continue
        used.add("fill " + attrs["fillcolor"])
        used |= {"dashed: forward mode"} if "dashed" in attrs["style"] else set()
        used |= {"bold: asked for"} if attrs["penwidth"] == "2.5" else set()
        used.add({"ellipse": "input", "note": "constant", "box": "operation"}[attrs["shape"]])
    used |= {"into operand 1"} if any("headlabel" in e for e in edges) else set()
    used |= {"derivative of"} if any(e.get("arrowhead") == "empty" for e in edges) else set()
    used |= {"box: one pass"} if any(c.startswith("cluster_group") for c in clusters) else set()
    samples, _, _ = statements(legend)
    entries: set[str] = set()
    looks: list[tuple[str, ...]] = []
    for attrs in samples.values():
        label = attrs.get("label", "")
        if attrs.get("shape") in ("point", "plaintext"):
            if attrs.get("shape") == "plaintext" and label in ("into operand 1", "derivative of"):
                entries.add(label)
            continue
        look = tuple(attrs.get(k, "") for k in ("shape", "style", "fillcolor", "color", "penwidth"))
        looks.append(look)
        if label in ("your graph",) or label.startswith("order "):
            entries.add("fill " + attrs["fillcolor"])
        else:
            entries.add(label)
    return used, entries, looks


def forward() -> list[ga.Node]:
    x = ga.placeholder("x", shape=(3,))
    return [ga.sum(ga.exp(x) * 2.0)]


def gradient() -> list[ga.Node]:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(ga.sin(x) * x)
    return [y, ga.gradients(y, x)]


def second_order() -> list[ga.Node]:
    x = ga.placeholder("x", shape=(2,))
    y = ga.sum(ga.tanh(x) ** 3)
    return [ga.hessian(y, x), ga.jvp(y, x, np.ones(2))]


def big_chain() -> list[ga.Node]:
    x = ga.placeholder("x", shape=(3,))
    v = x
    for i in range(1500):
        v = ga.sin(v) if i % 2 else v * 0.5
    return [v]


@pytest.mark.parametrize(
    ("build", "options"),
    [
        (forward, {}),
        (forward, {"collapse_constants": True}),
        (gradient, {}),
        (gradient, {"link_adjoints": True}),
        (second_order, {}),
        (second_order, {"cluster": False}),
        (big_chain, {}),
    ],
    ids=["forward", "collapsed", "gradient", "links", "second-order", "no-boxes", "summary"],
)
def test_the_legend_shows_exactly_the_marks_used(
    build: Callable[[], list[ga.Node]], options: dict[str, object]
) -> None:
    used, entries, looks = marks_and_legend(viz.to_dot(build(), **options))  # type: ignore[arg-type]
    assert used == entries
    assert len(set(looks)) == len(looks), looks  # no two samples look alike


def test_each_mark_is_in_the_drawing_it_claims() -> None:
    """The cases above between them use every mark the legend knows."""
    seen: set[str] = set()
    for build, options in [(gradient, {"link_adjoints": True}), (second_order, {})]:
        seen |= marks_and_legend(viz.to_dot(build(), **options))[0]  # type: ignore[arg-type]
    seen |= marks_and_legend(viz.to_dot(big_chain()))[0]
    for mark in (
        "dashed: forward mode",
        "bold: asked for",
        "input",
        "constant",
        "operation",
        "into operand 1",
        "derivative of",
        "box: one pass",
        "⋯ nodes not drawn",
    ):
        assert mark in seen, mark
    assert {m for m in seen if m.startswith("fill ")} == {
        f"fill {c}" for c in viz.ORDER_COLOURS[:3]
    }


def test_the_notation_is_explained_where_it_is_used() -> None:
    source = viz.to_dot(gradient()).source
    legend = source.partition("cluster_legend")[2]
    assert "adjoint of x" in legend and "tangent" not in legend
    source = viz.to_dot(second_order()).source
    legend = source.partition("cluster_legend")[2]
    assert "tangent of x" in legend and "Hessian" in legend
    assert "cluster_legend" not in viz.to_dot(forward(), legend=False).source
