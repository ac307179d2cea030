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


_TERMINAL = (HOST_KIND, CLUSTER_KIND)


def _tree(simple: nx.Graph, kinds: Mapping[str, Any]) -> dict[str, list[str]]:
    """A breadth-first tree from the virtual root (children in natural order) in which hosts and clusters are
    leaves: a cluster linked to two switches hangs from the first one reached, and an equipment reached only
    through a cluster hangs from it."""
    children: dict[str, list[str]] = {_ROOT: []}
    frontier = [_ROOT]
    seen = {_ROOT}
    for through_terminals in (False, True):
        if through_terminals:
            frontier = [n for n in children if n != _ROOT]
        while frontier:
            following: list[str] = []
            for node in frontier:
                if node != _ROOT and kinds.get(node) in _TERMINAL and not through_terminals:
                    continue
                for other in sorted(simple.neighbors(node), key=natural_key):
                    if other not in seen:
                        seen.add(other)
                        children.setdefault(node, []).append(other)
                        children[other] = []
                        following.append(other)
            frontier = following
    return children


def _radial(simple: nx.Graph, kinds: Mapping[str, Any]) -> dict[str, Position]:
    """Concentric circles: each node on the circle of its depth (the leaves all on the outer one, the inner
    circles spread wider than their depth, where the sites meet), each subtree in an angle that grows with its
    leaves."""
    children = _tree(simple, kinds)
    order: list[tuple[str, int]] = [(_ROOT, 0)]
    for node, depth in order:  # grows while it is read: breadth-first
        order += [(child, depth + 1) for child in children.get(node, ())]
    depth_of = dict(order)
    outer = max(depth_of.values()) - 1
    weight: dict[str, int] = {}
    for node, _ in reversed(order):  # a subtree's leaves, plus one per inner node: small sites get some room
        below = children.get(node, ())
        weight[node] = sum(weight[c] for c in below) + 1 if below else 1
    pos: dict[str, Position] = {}
    stack: list[tuple[str, float, float]] = [(_ROOT, 0.0, 2 * math.pi)]
    while stack:
        node, start, span = stack.pop()
        angle = start + span / 2
        depth = outer if not children.get(node) else max(depth_of[node] - 1, 0)
        radius = outer * (depth / outer) ** 0.6 if outer else 0.0  # inner circles spread wider than their depth
        pos[node] = (radius * math.cos(angle), radius * math.sin(angle))
        offset = start
        for child in children.get(node, ()):
            share = span * weight[child] / weight[node]
            stack.append((child, offset, share))
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
        return _radial(simple, nx.get_node_attributes(graph, "kind"))
    raise ValueError(f"unknown layout {layout!r}: expected radial, tree or spring")


_HALO = {"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.6}
SMALL_GRAPH = 80
"""Up to this many nodes, switches, linecards and hosts are labelled too."""


def _label(node: str, attrs: Mapping[str, Any], kind: str | None, small: bool, sites: set[str]) -> str | None:
    """The text shown beside a node, or None: clusters with their host count, routers by their site, the
    backbone's nodes not named after a site of ``sites``, and in a small graph every node."""
    if kind == CLUSTER_KIND:
        return f"{node} ({attrs.get('hosts', 0)})"
    if kind == ROUTER_KIND:
        return str(attrs.get("site") or node)
    if kind == RENATER_KIND:  # the backbone node of a site is named after it: its router names the site already
        return node if small or node.removeprefix("renater-") not in sites else None
    if small:
        return node.split(".", 1)[0] if kind == HOST_KIND else node
    return None


def _draw_labels(ax: Any, shown: nx.MultiGraph, pos: Mapping[str, Position], kinds: Mapping[str, Any],
                 radial: bool, sizes: Mapping[str, float]) -> None:
    """Labels along their radius in the radial layout, pointing outward from their node: each subtree keeps its
    own angle, so labels on one circle never cross; routers (sites) in bold; the backbone in grey."""
    small = len(shown) <= SMALL_GRAPH
    sites = {str(shown.nodes[n].get("site")) for n, k in kinds.items() if k == ROUTER_KIND}
    for node in sorted(shown.nodes, key=natural_key):
        kind = kinds.get(node)
        text = _label(node, shown.nodes[node], kind, small, sites)
        if text is None:
            continue
        x, y = pos[node]
        bold = {"fontsize": 9, "fontweight": "bold"} if kind == ROUTER_KIND else {"fontsize": 7}
        grey = "#555555" if kind == RENATER_KIND else "black"
        if radial and kind != RENATER_KIND and (x or y):
            angle = math.degrees(math.atan2(y, x))
            flip = 90 < angle % 360 < 270
            # outward beyond the node; a router's toward the centre, over the one link to its backbone node
            inward = kind == ROUTER_KIND and bool(shown.degree(node))
            away = (math.sqrt(sizes.get(node, 12.0)) / 2 + 3) * (-1 if inward else 1)  # the marker's radius and a gap
            along = (away * math.cos(math.radians(angle)), away * math.sin(math.radians(angle)))
            ax.annotate(text, (x, y), xytext=along, textcoords="offset points", rotation=angle - 180 if flip else angle,
                        rotation_mode="anchor", ha="right" if flip != inward else "left", va="center", color=grey,
                        zorder=4, bbox=_HALO if inward else None, **bold)
        else:
            ax.annotate(text, (x, y), xytext=(0, 6), textcoords="offset points", ha="center", va="bottom",
                        color=grey, zorder=4, **bold)


def treemap(graph: nx.MultiGraph, *, compact: bool = False, layout: Layout = "radial", labels: bool = True,
            title: str | None = None, size: tuple[float, float] | None = None,
            node_styles: Mapping[str, Mapping[str, Any]] | None = None) -> Figure:
    """A figure of the topology: nodes styled by kind, links coloured and sized by rate, both legends beside the
    drawing; clusters (``compact``) or hosts labelled, sites named at their router.

    In the radial layout the clusters (or hosts) sit on the outer circle and every label points outward along
    its node's radius, one angle each, so that labels do not overlap. ``node_styles`` overrides the style of
    some node kinds (keys ``color``, ``marker``, ``size``, ``label``); a ValueError names a layout that cannot
    draw this graph (see :func:`layout_positions`).
    """
    styles = {**NODE_STYLES, **{k: {**NODE_STYLES.get(k, OTHER_STYLE), **v} for k, v in (node_styles or {}).items()}}
    shown = compact_graph(graph) if compact else graph
    pos = layout_positions(shown, layout)
    kinds = nx.get_node_attributes(shown, "kind")
    fig = Figure(figsize=size or (17.0, 14.0))
    ax = fig.add_axes((0.01, 0.01, 0.8, 0.94))
    ax.set_axis_off()
    rates = sorted({a.get("bandwidth") or 0 for *_, a in shown.edges(data=True)})
    rate_style = {r: (RATE_COLOURS[i % len(RATE_COLOURS)], 0.5 + 2.5 * i / max(1, len(rates) - 1))
                  for i, r in enumerate(rates)}
    for rate in rates:
        segments = [(pos[u], pos[v]) for u, v, a in shown.edges(data=True) if (a.get("bandwidth") or 0) == rate]
        colour, width = rate_style[rate]
        ax.add_collection(LineCollection(segments, colors=colour, linewidths=width, alpha=0.8, zorder=1))
    present = sorted({str(k) for k in kinds.values()}, key=lambda k: list(styles).index(k)
                     if k in styles else len(styles))
    sizes: dict[str, float] = {}
    for kind in present:
        style = styles.get(kind, OTHER_STYLE)
        nodes = [n for n in shown.nodes if kinds.get(n) == kind]
        sizes.update((n, style["size"] * (1 + math.log2(max(1, shown.nodes[n].get("hosts", 1))) / 2)
                      if kind == CLUSTER_KIND else style["size"]) for n in nodes)
        ax.scatter([pos[n][0] for n in nodes], [pos[n][1] for n in nodes], s=[sizes[n] for n in nodes],
                   c=style["color"], marker=style["marker"], edgecolors="#333333", linewidths=0.5, zorder=2)
    if labels:
        _draw_labels(ax, shown, pos, kinds, layout == "radial", sizes)
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    if layout != "tree":  # a square view, drawn at equal scales; tree layers are rows: they use the whole height
        width = height = max(width, height)
        ax.set_aspect("equal", adjustable="box")
    room = 0.28 * max(width, height, 1.0)  # for the labels beyond the outer nodes
    mid_x, mid_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    ax.set_xlim(mid_x - width / 2 - room, mid_x + width / 2 + room)
    ax.set_ylim(mid_y - height / 2 - room, mid_y + height / 2 + room)
    kind_handles = [Line2D([], [], linestyle="", marker=styles.get(k, OTHER_STYLE)["marker"],
                           markerfacecolor=styles.get(k, OTHER_STYLE)["color"], markeredgecolor="#333333",
                           markersize=9, label=styles.get(k, {"label": k})["label"]) for k in present]
    rate_handles = [Line2D([], [], color=rate_style[r][0], linewidth=rate_style[r][1], label=rate_label(r))
                    for r in rates]
    kinds_legend = ax.legend(handles=kind_handles, title="node kinds", loc="upper left", bbox_to_anchor=(1.0, 1.0),
                             fontsize=9, frameon=False)
    ax.add_artist(kinds_legend)
    ax.legend(handles=rate_handles, title="link rates", loc="upper left", bbox_to_anchor=(1.0, 0.72), fontsize=9,
              frameon=False)
    version = str(graph.graph.get("version", ""))[:10]
    default = f"Grid'5000 topology{' (compact)' if compact else ''}" + (f", reference {version}" if version else "")
    ax.set_title(title if title is not None else default)
    return fig
