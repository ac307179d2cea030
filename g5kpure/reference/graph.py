"""Reading a topology graph (as built by :mod:`g5kpure.reference.topology`): the kinds of its nodes, its sites,
clusters, hosts, site routers and backbone, a host's links and neighbours, an equipment's hosts, the graph as
plain JSON data, and its compact form (one node per cluster).

None of these functions changes the graph it is given.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import networkx as nx
from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import NotFound
from g5kpure.hosts import natural_key

# The ``kind`` attribute of a graph node; a site equipment's is the API's (``switch``, ``router``, ``hpcswitch``).
HOST_KIND = "node"
LINECARD_KIND = "linecard"
RENATER_KIND = "renater"
ROUTER_KIND = "router"
CLUSTER_KIND = "cluster"  # a node of the compact form: the hosts of one cluster


@frozen
class HostAdapter:
    """A network link of a host in a graph: its device, the equipment (or linecard) it reaches, and its rate."""

    device: str
    equipment: str
    port: str | None
    bandwidth: int | None
    active: bool


def host_node(graph: nx.MultiGraph, host: str) -> Result[str, NotFound]:
    """The graph node of ``host`` (its FQDN, or any name with its short name)."""
    if host in graph and graph.nodes[host].get("kind") == HOST_KIND:
        return Success(host)
    short = host.split(".", 1)[0]
    for n, uid in graph.nodes(data="uid"):
        if uid == short and graph.nodes[n].get("kind") == HOST_KIND:
            return Success(str(n))
    return Failure(NotFound(what="host in the graph", key=host))


def equipment_attrs(graph: nx.MultiGraph, name: str, not_kinds: tuple[str, ...]) -> Result[dict[str, Any], NotFound]:
    """The attributes of the graph node ``name``, unless it is missing or of one of ``not_kinds``."""
    attrs = graph.nodes.get(name)
    if attrs is None or attrs.get("kind") in not_kinds:
        return Failure(NotFound(what="equipment in the graph", key=name, hint="name it <uid>.<site>, e.g. gw.lyon"))
    return Success(attrs)


def get_sites(graph: nx.MultiGraph) -> tuple[str, ...]:
    """Sites present in the graph, sorted."""
    return tuple(sorted({str(s) for _, s in graph.nodes(data="site") if s}))


def get_clusters(graph: nx.MultiGraph, site: str | None = None) -> tuple[str, ...]:
    """Clusters with hosts in the graph (of ``site`` only when given; execo ignored ``site``), sorted."""
    return tuple(sorted({str(a["cluster"]) for _, a in graph.nodes(data=True)
                         if a.get("kind") == HOST_KIND and (site is None or a.get("site") == site)}))


def get_hosts(graph: nx.MultiGraph, cluster: str | None = None, site: str | None = None) -> tuple[str, ...]:
    """Host nodes of the graph (of a cluster and/or a site when given), in natural order."""
    return tuple(sorted((str(n) for n, a in graph.nodes(data=True)
                         if a.get("kind") == HOST_KIND and (cluster is None or a.get("cluster") == cluster)
                         and (site is None or a.get("site") == site)), key=natural_key))


def get_site_router(graph: nx.MultiGraph, site: str) -> Result[str, NotFound]:
    """The router node of ``site`` in the graph."""
    routers = sorted(str(n) for n, a in graph.nodes(data=True)
                     if a.get("kind") == ROUTER_KIND and a.get("site") == site)
    if not routers:
        known = ", ".join(get_sites(graph))
        return Failure(NotFound(what="router of site", key=site, hint=f"sites in the graph: {known}"))
    return Success(routers[0])


def get_backbone(graph: nx.MultiGraph) -> tuple[str, ...]:
    """The Renater backbone nodes of the graph, sorted."""
    return tuple(sorted(str(n) for n, k in graph.nodes(data="kind") if k == RENATER_KIND))


def get_host_adapters(graph: nx.MultiGraph, host: str) -> Result[tuple[HostAdapter, ...], NotFound]:
    """The links of a host (device, equipment, port, bandwidth, active), by device."""

    def adapters(name: str) -> tuple[HostAdapter, ...]:
        found = [HostAdapter(device=str(a.get("device", "")), equipment=str(v), port=a.get("port"),
                             bandwidth=a.get("bandwidth"), active=bool(a.get("active")))
                 for _, v, a in graph.edges(name, data=True) if a.get("link") == "host"]
        return tuple(sorted(found, key=lambda h: (natural_key(h.device), h.equipment)))

    return host_node(graph, host).map(adapters)


def get_host_neighbours(graph: nx.MultiGraph, host: str) -> Result[tuple[str, ...], NotFound]:
    """The other hosts attached to the same switches, routers or linecards as ``host``."""

    def neighbours(name: str) -> tuple[str, ...]:
        found = {str(m) for e in graph.neighbors(name) for m in graph.neighbors(e)
                 if m != name and graph.nodes[m].get("kind") == HOST_KIND}
        return tuple(sorted(found, key=natural_key))

    return host_node(graph, host).map(neighbours)


def get_equip_hosts(graph: nx.MultiGraph, equip: str) -> Result[tuple[str, ...], NotFound]:
    """Hosts attached to an equipment (node name ``<uid>.<site>``), directly or through its linecards."""

    def hosts(attrs: dict[str, Any]) -> tuple[str, ...]:
        ends = {equip} | {n for n in graph.neighbors(equip) if graph.nodes[n].get("kind") == LINECARD_KIND
                          and graph.nodes[n].get("uid") == attrs.get("uid")}
        found = {str(m) for e in ends for m in graph.neighbors(e) if graph.nodes[m].get("kind") == HOST_KIND}
        return tuple(sorted(found, key=natural_key))

    return equipment_attrs(graph, equip, (HOST_KIND, RENATER_KIND)).map(hosts)


def graph_to_json(graph: nx.MultiGraph) -> dict[str, Any]:
    """The graph as plain JSON data: its attributes, nodes and edges (with keys and attributes), sorted."""
    nodes = [{"id": str(n), **{k: v for k, v in a.items()}} for n, a in graph.nodes(data=True)]
    edges = []
    for u, v, k, a in graph.edges(keys=True, data=True):
        a_, b_ = sorted((str(u), str(v)))
        edges.append({"source": a_, "target": b_, "key": str(k), **dict(a)})
    return {"graph": dict(graph.graph), "nodes": sorted(nodes, key=lambda d: d["id"]),
            "edges": sorted(edges, key=lambda d: (d["source"], d["target"], d["key"]))}


def compact_graph(graph: nx.MultiGraph) -> nx.MultiGraph:
    """A new graph where the hosts of each cluster are one node (``kind="cluster"``, named after the cluster).

    A cluster node carries ``site``, ``hosts`` (how many), ``cores`` and ``power`` (sums); its links to an
    equipment become one edge keyed ``<cluster>|<equipment>`` with ``links`` (how many host links it stands for)
    and ``bandwidth`` (the fastest of them).
    """
    out = nx.MultiGraph(**graph.graph)
    out.add_nodes_from((n, a) for n, a in graph.nodes(data=True) if a.get("kind") != HOST_KIND)
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for host in get_hosts(graph):
        attrs = graph.nodes[host]
        name = str(attrs["cluster"])
        if name not in out:
            out.add_node(name, kind=CLUSTER_KIND, site=attrs.get("site"), hosts=0, cores=0, power=0.0)
        node = out.nodes[name]
        node["hosts"] += 1
        node["cores"] += attrs.get("cores") or 0
        node["power"] += attrs.get("power") or 0.0
        for _, other, edge in graph.edges(host, data=True):
            if graph.nodes[other].get("kind") == HOST_KIND:
                continue
            grouped[(name, str(other))].append(edge)
    for u, v, key, attrs in graph.edges(keys=True, data=True):
        if graph.nodes[u].get("kind") != HOST_KIND and graph.nodes[v].get("kind") != HOST_KIND:
            out.add_edge(u, v, key=key, **attrs)
    for (cluster, other), edges in sorted(grouped.items()):
        rates = [e["bandwidth"] for e in edges if e.get("bandwidth")]
        out.add_edge(cluster, other, key=f"{cluster}|{other}", link="host", links=len(edges),
                     bandwidth=max(rates) if rates else None, active=any(e.get("active") for e in edges))
    return out
