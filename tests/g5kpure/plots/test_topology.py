"""treemap: a Figure from a topology graph (object API, no pyplot, no DISPLAY), legends, layouts, compact mode."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
from g5k.reference_data import embedded_snapshot
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.legend import Legend

from g5kpure.plots import treemap
from g5kpure.plots import treemap as reexported
from g5kpure.plots.topology import layout_positions, rate_label
from g5kpure.reference import topology as T


@pytest.fixture(scope="module")
def grid() -> nx.MultiGraph:
    graph: nx.MultiGraph = T.g5k_graph(embedded_snapshot()).unwrap()
    return graph


def _legends(fig: Figure) -> dict[str, list[str]]:
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend is not None
    legends = [a for a in ax.artists if isinstance(a, Legend)] + [legend]
    return {lg.get_title().get_text(): [t.get_text() for t in lg.get_texts()] for lg in legends}


def test_treemap_of_the_grid_has_every_node_and_both_legends(grid: nx.MultiGraph) -> None:
    fig = treemap(grid)
    assert isinstance(fig, Figure) and reexported is treemap
    ax = fig.axes[0]
    points = sum(len(np.asarray(c.get_offsets())) for c in ax.collections if isinstance(c, PathCollection))
    segments = sum(len(c.get_segments()) for c in ax.collections if isinstance(c, LineCollection))
    assert points == grid.number_of_nodes() and segments == grid.number_of_edges()
    legends = _legends(fig)
    assert legends["node kinds"] == ["Renater backbone", "router", "switch", "linecard", "host"]
    assert "1 Gb/s" in legends["link rates"] and "10 Gb/s" in legends["link rates"]
    assert "Tb/s" in legends["link rates"][-1]
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compact_mode_draws_one_node_per_cluster(grid: nx.MultiGraph) -> None:
    # execo's compact mode crashed (get_clusters returned a list, then .items())
    fig = treemap(grid, compact=True)
    compact = T.compact_graph(grid)
    ax = fig.axes[0]
    points = sum(len(np.asarray(c.get_offsets())) for c in ax.collections if isinstance(c, PathCollection))
    assert points == compact.number_of_nodes() == grid.number_of_nodes() - 939 + 158
    assert "cluster (hosts)" in _legends(fig)["node kinds"]
    labels = {t.get_text() for t in ax.texts}
    assert "nova (20)" in labels and "gros (124)" in labels


def test_compact_graph_sums_the_hosts_of_each_cluster(grid: nx.MultiGraph) -> None:
    compact = T.compact_graph(grid)
    clusters = {n: a for n, a in compact.nodes(data=True) if a["kind"] == "cluster"}
    assert len(clusters) == 158 and sum(a["hosts"] for a in clusters.values()) == 939
    nova = clusters["nova"]
    assert nova["site"] == "lyon" and nova["hosts"] == 20 and nova["cores"] == 20 * 16
    links = compact.get_edge_data("nova", "force10.lyon")
    assert links == {"nova|force10.lyon": {"link": "host", "links": 20, "bandwidth": 10**10, "active": True}}
    assert sum(a.get("links", 0) for *_, a in compact.edges(data=True)) == 1220


@pytest.mark.parametrize("layout", ["radial", "tree", "spring"])
def test_layouts_place_every_node(layout: str) -> None:
    graph = T.g5k_graph(embedded_snapshot(), ["nova", "parasilo", "louvain"]).unwrap()
    pos = layout_positions(graph, layout)  # type: ignore[arg-type]
    assert set(pos) == set(graph.nodes)
    assert len(set(pos.values())) == len(pos)  # no two nodes on the same spot
    assert layout_positions(graph, layout) == pos  # type: ignore[arg-type]  # deterministic


def test_radial_layout_puts_the_backbone_hub_at_the_centre(grid: nx.MultiGraph) -> None:
    pos = layout_positions(grid, "radial")
    assert pos["renater-lyon"] == (0.0, 0.0)
    radius = {n: round((x * x + y * y) ** 0.5, 6) for n, (x, y) in pos.items()}
    assert all(radius[h] > radius[f"gw.{grid.nodes[h]['site']}"] for h in T.get_hosts(grid))


def test_unknown_layout_is_refused(grid: nx.MultiGraph) -> None:
    with pytest.raises(ValueError, match="unknown layout"):
        layout_positions(grid, "neato")  # type: ignore[arg-type]


def test_spring_layout_is_refused_beyond_its_size_but_draws_the_compact_grid(grid: nx.MultiGraph) -> None:
    with pytest.raises(ValueError, match="up to 499 nodes"):
        treemap(grid, layout="spring")
    assert isinstance(treemap(grid, layout="spring", compact=True), Figure)


def test_node_styles_can_be_overridden(grid: nx.MultiGraph) -> None:
    fig = treemap(T.g5k_graph(embedded_snapshot(), ["nova"]).unwrap(),
                  node_styles={"router": {"label": "gateway"}, "switch": {"color": "#000000"}})
    assert _legends(fig)["node kinds"] == ["gateway", "switch", "host"]


def test_empty_graph_and_rate_labels() -> None:
    assert isinstance(treemap(nx.MultiGraph()), Figure)
    assert [rate_label(r) for r in (None, 10**8, 10**9, 25 * 10**9, 1_280_000_000_000)] == [
        "unknown rate", "100 Mb/s", "1 Gb/s", "25 Gb/s", "1.28 Tb/s"]


def test_drawing_needs_neither_pyplot_nor_a_display() -> None:
    code = ("import sys\nfrom g5k.reference_data import embedded_snapshot\nfrom g5kpure.reference import topology\n"
            "from g5kpure.plots.topology import treemap\n"
            "fig = treemap(topology.g5k_graph(embedded_snapshot(), ['nova']).unwrap(), compact=True)\n"
            "import io; fig.savefig(io.BytesIO(), format='png')\n"
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\nprint('ok')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_compact_radial_labels_do_not_overlap_and_legends_sit_outside(grid: nx.MultiGraph) -> None:
    import itertools
    import math

    from matplotlib.text import Annotation

    fig = treemap(grid, compact=True)
    ax = fig.axes[0]
    ax.apply_aspect()
    labels = [a for a in ax.texts if isinstance(a, Annotation) and a.get_text().endswith(")")]
    assert len(labels) == 158  # every cluster, with its host count
    centre = ax.transData.transform((0.0, 0.0))
    polar = []
    for label in labels:
        x, y = ax.transData.transform(label.xy) - centre
        polar.append((math.atan2(y, x), math.hypot(x, y) * 72 / fig.dpi))
    polar.sort()
    gaps = [(b[0] - a[0]) * min(a[1], b[1]) for a, b in itertools.pairwise(polar)]
    assert min(gaps) >= 7.0  # points between neighbouring labels along the circle: at least the font's size
    axes_legend = ax.get_legend()
    assert axes_legend is not None
    for legend in [a for a in ax.artists if isinstance(a, Legend)] + [axes_legend]:
        x, _ = legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted()).p0
        assert x >= 0.999  # right of the drawing
