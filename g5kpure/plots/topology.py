"""A drawing of a topology graph: graph in, ``matplotlib.figure.Figure`` out (object API, no pyplot, no DISPLAY).

The layout comes from networkx itself, with no graphviz program: ``"radial"`` (default) places the breadth-first
tree of networkx (``nx.bfs_tree`` from the backbone, or from each site router) on concentric circles, each node
getting an angle proportional to the hosts below it; ``"tree"`` is ``nx.bfs_layout`` (layers as rows);
``"spring"`` is ``nx.spring_layout`` with a fixed seed (small graphs only: networkx needs scipy beyond 500 nodes).
``compact=True`` draws one node per cluster (:func:`g5kpure.reference.graph.compact_graph`). Legends name the
node kinds and the link rates. execo's ``treemap`` needed the graphviz ``neato`` program and its compact mode crashed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import networkx as nx
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from g5kpure.hosts import natural_key
from g5kpure.reference.graph import CLUSTER_KIND, HOST_KIND, RENATER_KIND, ROUTER_KIND, compact_graph

Layout = Literal["radial", "tree", "spring"]
Position = tuple[float, float]

NODE_STYLES: Mapping[str, Mapping[str, Any]] = {
    RENATER_KIND: {"color": "#9CF7BC", "marker": "p", "size": 220, "label": "Renater backbone"},
    ROUTER_KIND: {"color": "#BFDFF2", "marker": "8", "size": 180, "label": "router"},
    "switch": {"color": "#F5C9CD", "marker": "s", "size": 90, "label": "switch"},
    "hpcswitch": {"color": "#E0B0FF", "marker": "s", "size": 90, "label": "HPC switch"},
    "linecard": {"color": "#F9F6A5", "marker": "d", "size": 50, "label": "linecard"},
    HOST_KIND: {"color": "#F0F7BE", "marker": "o", "size": 12, "label": "host"},
    CLUSTER_KIND: {"color": "#F0F7BE", "marker": "o", "size": 80, "label": "cluster (hosts)"},
}
OTHER_STYLE: Mapping[str, Any] = {"color": "#DDDDDD", "marker": "^", "size": 40, "label": "other"}
RATE_COLOURS = ("#999999", "#666666", "#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b",
                "#e377c2", "#17becf", "#bcbd22", "#000000")
_ROOT = "\x00root"
SPRING_MAX_NODES = 499


def rate_label(bandwidth: float | None) -> str:
    """A link rate as a short text (``10 Gb/s``, ``1.28 Tb/s``, ``unknown``)."""
    if not bandwidth:
        return "unknown rate"
    if bandwidth >= 1e12:
        return f"{bandwidth / 1e12:g} Tb/s"
    if bandwidth >= 1e9:
        return f"{bandwidth / 1e9:g} Gb/s"
    return f"{bandwidth / 1e6:g} Mb/s"


def _layout_graph(graph: nx.MultiGraph) -> nx.Graph:
    """A simple graph with a virtual root above the backbone, the routers and every other component."""
    simple = nx.Graph()
    simple.add_nodes_from(sorted(graph.nodes, key=natural_key))
    simple.add_edges_from(sorted(((u, v) if natural_key(u) <= natural_key(v) else (v, u)
                                  for u, v in graph.edges()), key=lambda e: (natural_key(e[0]), natural_key(e[1]))))
    kinds = nx.get_node_attributes(graph, "kind")
    simple.add_node(_ROOT)
    for component in sorted((sorted(c, key=natural_key) for c in nx.connected_components(graph)),
                            key=lambda c: natural_key(c[0])):
        hubs = [n for n in component if kinds.get(n) == RENATER_KIND]
        if hubs:  # the busiest backbone node sits at the centre
            simple.add_edge(_ROOT, max(hubs, key=lambda n: (graph.degree(n), n)))
        else:  # a component off the backbone hangs one level further out, from its router
            top = ([n for n in component if kinds.get(n) == ROUTER_KIND] or component)[0]
            pad = f"{_ROOT}{top}"
            simple.add_edge(_ROOT, pad)
            simple.add_edge(pad, top)
    return simple


def _radial(simple: nx.Graph) -> dict[str, Position]:
    tree = nx.bfs_tree(simple, _ROOT)
    weight: dict[str, int] = {}
    for node in reversed(list(nx.topological_sort(tree))):
        children = list(tree.successors(node))
        weight[node] = sum(weight[c] for c in children) if children else 1
    pos: dict[str, Position] = {}
    stack: list[tuple[str, float, float, int]] = [(_ROOT, 0.0, 2 * math.pi, 0)]
    while stack:
        node, start, span, depth = stack.pop()
        angle = start + span / 2
        radius = max(depth - 1, 0)  # the root is virtual: its first child is the centre
        pos[node] = (radius * math.cos(angle), radius * math.sin(angle))
        offset = start
        for child in tree.successors(node):
            share = span * weight[child] / weight[node]
            stack.append((child, offset, share, depth + 1))
            offset += share
    return {n: p for n, p in pos.items() if not n.startswith(_ROOT)}


def layout_positions(graph: nx.MultiGraph, layout: Layout = "radial") -> dict[str, Position]:
    """Node positions of ``graph`` for a layout computed with networkx (no graphviz)."""
    if len(graph) == 0:
        return {}
    if layout == "spring":
        if len(graph) > SPRING_MAX_NODES:
            raise ValueError(f"the spring layout draws up to {SPRING_MAX_NODES} nodes (networkx needs scipy beyond); "
                             f"this graph has {len(graph)}: use the radial or tree layout, or the compact mode")
        spring = nx.spring_layout(nx.Graph(graph), seed=5000, method="force")
        return {str(n): (float(x), float(y)) for n, (x, y) in spring.items()}
    simple = _layout_graph(graph)
    if layout == "tree":
        raw = nx.bfs_layout(simple, _ROOT, align="horizontal")
        return {str(n): (float(x), -float(y)) for n, (x, y) in raw.items() if not str(n).startswith(_ROOT)}
    if layout == "radial":
        return _radial(simple)
    raise ValueError(f"unknown layout {layout!r}: expected radial, tree or spring")


def treemap(graph: nx.MultiGraph, *, compact: bool = False, layout: Layout = "radial", labels: bool = True,
            title: str | None = None, size: tuple[float, float] = (14.0, 14.0),
            node_styles: Mapping[str, Mapping[str, Any]] | None = None) -> Figure:
    """A figure of the topology: nodes styled by kind, links coloured and sized by rate, with both legends.

    ``node_styles`` overrides the style of some node kinds (keys ``color``, ``marker``, ``size``, ``label``);
    a ValueError names a layout that cannot draw this graph (see :func:`layout_positions`).
    """
    styles = {**NODE_STYLES, **{k: {**NODE_STYLES.get(k, OTHER_STYLE), **v} for k, v in (node_styles or {}).items()}}
    shown = compact_graph(graph) if compact else graph
    pos = layout_positions(shown, layout)
    fig = Figure(figsize=size)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_axis_off()
    rates = sorted({a.get("bandwidth") or 0 for *_, a in shown.edges(data=True)})
    rate_style = {r: (RATE_COLOURS[i % len(RATE_COLOURS)], 0.5 + 2.5 * i / max(1, len(rates) - 1))
                  for i, r in enumerate(rates)}
    for rate in rates:
        segments = [(pos[u], pos[v]) for u, v, a in shown.edges(data=True) if (a.get("bandwidth") or 0) == rate]
        colour, width = rate_style[rate]
        ax.add_collection(LineCollection(segments, colors=colour, linewidths=width, alpha=0.8, zorder=1))
    kinds = nx.get_node_attributes(shown, "kind")
    present = sorted({str(k) for k in kinds.values()}, key=lambda k: list(styles).index(k)
                     if k in styles else len(styles))
    for kind in present:
        style = styles.get(kind, OTHER_STYLE)
        nodes = [n for n in shown.nodes if kinds.get(n) == kind]
        size_of = [style["size"] * (1 + math.log2(shown.nodes[n].get("hosts", 1))) if kind == CLUSTER_KIND
                   else style["size"] for n in nodes]
        ax.scatter([pos[n][0] for n in nodes], [pos[n][1] for n in nodes], s=size_of, c=style["color"],
                   marker=style["marker"], edgecolors="#333333", linewidths=0.5, zorder=2)
    if labels:
        for node, kind in kinds.items():
            if kind in (HOST_KIND, "linecard") and not (kind == HOST_KIND and len(shown) <= 60):
                continue
            text = (f"{node} ({shown.nodes[node].get('hosts', 0)})" if kind == CLUSTER_KIND
                    else node.split(".", 1)[0] if kind == HOST_KIND else node)
            ax.text(pos[node][0], pos[node][1], text, fontsize=7 if kind != RENATER_KIND else 8,
                    ha="center", va="bottom", zorder=3)
    ax.autoscale_view()
    if layout != "tree":  # tree layers are rows: let them use the whole height
        ax.set_aspect("equal", adjustable="datalim")
    kind_handles = [Line2D([], [], linestyle="", marker=styles.get(k, OTHER_STYLE)["marker"],
                           markerfacecolor=styles.get(k, OTHER_STYLE)["color"], markeredgecolor="#333333",
                           markersize=9, label=styles.get(k, {"label": k})["label"]) for k in present]
    rate_handles = [Line2D([], [], color=rate_style[r][0], linewidth=rate_style[r][1], label=rate_label(r))
                    for r in rates]
    kinds_legend = ax.legend(handles=kind_handles, title="node kinds", loc="upper left", fontsize=8)
    ax.add_artist(kinds_legend)
    ax.legend(handles=rate_handles, title="link rates", loc="upper right", fontsize=8)
    version = str(graph.graph.get("version", ""))[:10]
    default = f"Grid'5000 topology{' (compact)' if compact else ''}" + (f" — reference {version}" if version else "")
    ax.set_title(title if title is not None else default)
    return fig
