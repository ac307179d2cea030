"""Building the whole-grid topology graph, as ratios against baselines measured in the same run.

Baselines: loading the embedded snapshot (``snapshot_from_bytes``: what any use of the graph pays first), and a
naive build that adds the hosts one by one and, after each, filters hanging equipments the way execo did (scan
every node, restart the scan after each removal: about O(H·N²)). The naive build must give the same graph.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

import networkx as nx

from g5kpure.plots import treemap
from g5kpure.plots.topology import layout_positions
from g5kpure.reference import Snapshot, snapshot_from_bytes
from g5kpure.reference import topology as T


def best_of(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Best wall time of ``repeat`` runs of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _hanging(graph: nx.MultiGraph, n: str) -> bool:
    """execo-like test: an equipment without hosts below it and with at most one other neighbour."""
    kind = graph.nodes[n].get("kind")
    if kind in (T.HOST_KIND, T.ROUTER_KIND, T.RENATER_KIND):
        return False
    unit = T._unit(graph, n)
    if unit != n:
        return set(graph.neighbors(n)) - {n} <= {unit}
    members = T._members(graph, n)
    outside = {m for member in members for m in graph.neighbors(member)} - members
    if any(graph.nodes[m].get("kind") == T.HOST_KIND for m in outside):
        return False
    return len({T._unit(graph, m) for m in outside}) <= 1


def naive_filter(graph: nx.MultiGraph) -> None:
    """Remove hanging equipments by rescanning every node from the start after each removal."""
    removed = True
    while removed:
        removed = False
        for n in list(graph.nodes):
            if _hanging(graph, n):
                gone = {n} if T._unit(graph, n) != n else T._members(graph, n)
                graph.remove_nodes_from(gone)
                removed = True
                break


def naive_build(snapshot: Snapshot, sites: tuple[str, ...]) -> nx.MultiGraph:
    """Hosts added one at a time to each site's equipment graph, with the naive filter after each one."""
    graph = nx.MultiGraph(version=snapshot.version)
    for uid in sites:
        site = snapshot.site(uid).unwrap()
        part = nx.MultiGraph()
        part.add_nodes_from(T._equipment_nodes(site))
        for u, v, key, attrs in T._equipment_edges(site, []):
            part.add_edge(u, v, key=key, **attrs)
        naive_filter(part)
        for cluster in site.clusters:
            for node in cluster.nodes:
                # the host's switches come back with it, as execo re-added equipments for every host
                full = nx.MultiGraph()
                full.add_nodes_from(T._equipment_nodes(site))
                for u, v, key, attrs in T._equipment_edges(site, []):
                    full.add_edge(u, v, key=key, **attrs)
                part.add_nodes_from((n, full.nodes[n]) for n in full if n not in part)
                part.add_edges_from(e for e in full.edges(keys=True, data=True) if not part.has_edge(e[0], e[1], e[2]))
                part.add_node(node.fqdn, **T._host_attrs(node))
                for u, v, key, attrs in T._host_edges(site, (node,), []):
                    part.add_edge(u, v, key=key, **attrs)
                naive_filter(part)
        T._absorb(graph, part)
    if len(sites) > 1:
        T._add_backbone(graph, snapshot)
    return graph


def main() -> None:
    """Print build times and ratios."""
    compressed = resources.files("g5kpure.data").joinpath("reference_compact.json.gz").read_bytes()
    payload = gzip.decompress(compressed)
    t_load = best_of(lambda: snapshot_from_bytes(payload).unwrap(), repeat=3)
    snap = snapshot_from_bytes(payload).unwrap()
    t_graph = best_of(lambda: T.g5k_graph(snap).unwrap())
    graph = T.g5k_graph(snap).unwrap()
    print(f"whole grid: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges")
    print(f"snapshot_from_bytes (baseline)  {t_load * 1e3:8.1f} ms")
    print(f"g5k_graph(whole grid)           {t_graph * 1e3:8.1f} ms  = {t_graph / t_load:.2f} x the snapshot load"
          "  (target: well under 1000 ms)")

    t_naive = best_of(lambda: naive_build(snap, snap.sites()), repeat=2)
    same = T.graph_to_json(naive_build(snap, snap.sites())) == T.graph_to_json(graph)
    print(f"naive execo-like filter (baseline) {t_naive * 1e3:8.1f} ms; g5k_graph = {t_naive / t_graph:.0f} x faster; "
          f"same graph: {same}")
    if not same:
        raise SystemExit("the naive build and g5k_graph disagree")

    t_add = best_of(lambda: T.add_cluster(graph, snap, "nova").unwrap())
    t_rm = best_of(lambda: T.rm_cluster(graph, "nova").unwrap())
    print(f"add_cluster on the whole grid {t_add * 1e3:.1f} ms, rm_cluster {t_rm * 1e3:.1f} ms "
          f"(each returns a new graph: a copy is {best_of(graph.copy) * 1e3:.1f} ms)")

    t_layout = best_of(lambda: layout_positions(graph), repeat=3)
    t_figure = best_of(lambda: treemap(graph), repeat=3)
    print(f"radial layout of the whole grid {t_layout * 1e3:.1f} ms, treemap figure {t_figure * 1e3:.1f} ms "
          f"= {t_figure / t_graph:.1f} x the graph build")


if __name__ == "__main__":
    main()
