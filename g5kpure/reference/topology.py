"""The Grid'5000 network topology as a networkx MultiGraph, built from a Reference API snapshot value.

Nodes (names and ``kind`` attribute):
- hosts: the FQDN (``nova-1.lyon.grid5000.fr``), ``kind="node"``, with ``site``, ``cluster``, ``uid``,
  ``cores`` (``architecture.nb_cores``) and ``power`` (``performance.core_flops``);
- site equipments: ``<uid>.<site>`` (``gw.lyon``), ``kind`` as in the API (``switch``, ``router``, ``hpcswitch``),
  with ``site``, ``uid``, ``backplane`` (bits/s or None);
- linecards that declare their own backplane: ``<uid>-lc<index>.<site>``, ``kind="linecard"``; the ports of such
  a linecard hang on it, the other ports hang on the equipment itself;
- the Renater backbone: ``renater-<x>``, ``kind="renater"``.

Edges carry ``bandwidth`` (bits/s: the slowest known rate of the two ends), ``link`` (``host``, ``equipment``,
``linecard``, ``backbone``), ``active`` (a host link: the adapter is mounted) and, on the backbone, ``latency``
(seconds; not in the reference data, :data:`BACKBONE_LATENCY` is assumed). Edge keys name both ends (a host link
is keyed ``<fqdn>:<device>``), so parallel links stay distinct and the same link always has the same key.

What is in a graph: the chosen hosts, their switches, the site equipments on their way to the site router
(equipments left without hosts below them are pruned, in linear time), every site router, and, when two sites or
more are present, the Renater nodes on the shortest paths between their routers. A host link is one that a node
adapter names (its ``switch``, not the management adapter): ports seen only from the switch side (InfiniBand and
Omni-Path fabrics, cabled but disabled adapters) are not links of the graph, nor are ports towards servers, BMCs
and other devices that are not grid hosts; :func:`unresolved_links` lists the references of the data that name
nothing known.

Every function returns a new graph; none changes the graph it is given. There is no API call and no clock
inside: the snapshot is an argument, ``graph.graph["version"]`` is its version. Pruning is linear.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

import networkx as nx
from attrs import frozen
from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, NotFound
from g5kpure.reference.graph import (
    CLUSTER_KIND,
    HOST_KIND,
    LINECARD_KIND,
    RENATER_KIND,
    ROUTER_KIND,
    HostAdapter,
    compact_graph,
    equipment_attrs,
    get_backbone,
    get_clusters,
    get_equip_hosts,
    get_host_adapters,
    get_host_neighbours,
    get_hosts,
    get_site_router,
    get_sites,
    graph_to_json,
    host_node,
)
from g5kpure.reference.models import Linecard, NetworkEquipment, Node, Site
from g5kpure.reference.snapshot import Snapshot

#: The graph readers of :mod:`g5kpure.reference.graph` are re-exported: one module serves the whole topology API.
__all__ = [
    "BACKBONE_LATENCY",
    "CLUSTER_KIND",
    "HOST_KIND",
    "LINECARD_KIND",
    "RENATER_KIND",
    "ROUTER_KIND",
    "Edge",
    "HostAdapter",
    "Plan",
    "Queues",
    "UnresolvedLink",
    "add_backbone",
    "add_cluster",
    "add_equip",
    "add_host",
    "add_site",
    "compact_graph",
    "equipment_node",
    "g5k_graph",
    "get_backbone",
    "get_clusters",
    "get_equip_hosts",
    "get_host_adapters",
    "get_host_neighbours",
    "get_hosts",
    "get_site_router",
    "get_sites",
    "graph_to_json",
    "linecard_node",
    "rm_backbone",
    "rm_cluster",
    "rm_equip",
    "rm_host",
    "rm_site",
    "unresolved_links",
]

BACKBONE_LATENCY = 2.25e-3
"""Latency (seconds) given to backbone links: the reference data has none (execo used this constant)."""

_EQUIPMENT_PEERS = frozenset({"switch", "router", "hpcswitch"})

Edge = tuple[str, str, str, dict[str, Any]]


@frozen
class UnresolvedLink:
    """A link of the reference data whose far end is not known to the snapshot."""

    site: str | None
    source: str
    target: str
    reason: str


# --- names -----------------------------------------------------------------------------------------------------


def equipment_node(uid: str, site: str) -> str:
    """Graph name of a site equipment (``gw.lyon``)."""
    return f"{uid}.{site}"


def linecard_node(uid: str, site: str, index: int) -> str:
    """Graph name of a linecard with its own backplane (``gw-lc1.lyon``)."""
    return f"{uid}-lc{index}.{site}"


# --- per-site pieces -------------------------------------------------------------------------------------------


def _rate(*values: int | None) -> int | None:
    known = [v for v in values if v is not None and v > 0]
    return min(known) if known else None


def _port_end(equip: NetworkEquipment, site: str, index: int, card: Linecard) -> str:
    if card.backplane_bps is not None:
        return linecard_node(equip.uid, site, index)
    return equipment_node(equip.uid, site)


def _equipment_nodes(site: Site) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for equip in site.network_equipments:
        out.append((equipment_node(equip.uid, site.uid),
                    {"kind": equip.kind, "site": site.uid, "uid": equip.uid, "backplane": equip.backplane_bps}))
        for i, card in enumerate(equip.linecards):
            if card.backplane_bps is not None:
                out.append((linecard_node(equip.uid, site.uid, i),
                            {"kind": LINECARD_KIND, "site": site.uid, "uid": equip.uid, "index": i,
                             "backplane": card.backplane_bps, "rate": card.rate}))
    return out


@frozen
class _Side:
    """One end of an equipment-to-equipment link as one equipment describes it."""

    owner: str
    peer: str
    end: str
    iface: str
    peer_iface: str | None
    rate: int | None


def _equipment_sides(site: Site, unresolved: list[UnresolvedLink]) -> dict[tuple[str, str], list[_Side]]:
    known = {e.uid for e in site.network_equipments}
    sides: dict[tuple[str, str], list[_Side]] = defaultdict(list)
    for equip in site.network_equipments:
        channel_end: dict[str, str] = {}
        for i, card in enumerate(equip.linecards):
            for j, port in enumerate(card.ports):
                if port.uid is None:
                    continue
                end = _port_end(equip, site.uid, i, card)
                if port.kind == "channel":
                    channel_end.setdefault(port.uid, end)
                    continue
                if port.kind not in _EQUIPMENT_PEERS:
                    continue
                if port.uid not in known:
                    unresolved.append(UnresolvedLink(site.uid, equip.uid, port.uid, f"no {port.kind} of that name"))
                    continue
                if port.uid != equip.uid:
                    sides[(equip.uid, port.uid)].append(
                        _Side(equip.uid, port.uid, end, port.snmp_name or f"{i}/{j}", port.port,
                              _rate(port.rate, card.rate)))
        for channel in equip.channels:
            if channel.kind not in _EQUIPMENT_PEERS or channel.uid is None or channel.uid == equip.uid:
                continue
            if channel.uid not in known:
                unresolved.append(UnresolvedLink(site.uid, equip.uid, channel.uid, f"no {channel.kind} of that name"))
                continue
            end = channel_end.get(channel.id, equipment_node(equip.uid, site.uid))
            sides[(equip.uid, channel.uid)].append(
                _Side(equip.uid, channel.uid, end, channel.id, channel.port, _rate(channel.rate)))
    return sides


def _pair(a_sides: Sequence[_Side], b_sides: Sequence[_Side]) -> list[tuple[_Side | None, _Side | None]]:
    """Match the two descriptions of the links between two equipments: by interface names, then in order."""
    pairs: list[tuple[_Side | None, _Side | None]] = []
    free_b = list(b_sides)
    rest_a: list[_Side] = []
    for a in a_sides:
        match = next((b for b in free_b if a.peer_iface == b.iface or b.peer_iface == a.iface), None)
        if match is None:
            rest_a.append(a)
        else:
            free_b.remove(match)
            pairs.append((a, match))
    for k in range(max(len(rest_a), len(free_b))):
        pairs.append((rest_a[k] if k < len(rest_a) else None, free_b[k] if k < len(free_b) else None))
    return pairs


def _equipment_edges(site: Site, unresolved: list[UnresolvedLink]) -> list[Edge]:
    edges: list[Edge] = []
    for equip in site.network_equipments:
        here = equipment_node(equip.uid, site.uid)
        for i, card in enumerate(equip.linecards):
            if card.backplane_bps is not None:
                lc = linecard_node(equip.uid, site.uid, i)
                edges.append((here, lc, f"{here}|{lc}", {"bandwidth": card.backplane_bps, "link": "linecard",
                                                          "active": True}))
    sides = _equipment_sides(site, unresolved)
    pairs_done: set[tuple[str, str]] = set()
    keys: set[str] = set()
    for a_uid, b_uid in sorted(sides):
        pair = (min(a_uid, b_uid), max(a_uid, b_uid))
        if pair in pairs_done:
            continue
        pairs_done.add(pair)
        a_name, b_name = (equipment_node(u, site.uid) for u in pair)
        for a, b in _pair(sides.get(pair, []), sides.get((pair[1], pair[0]), [])):
            u = a.end if a is not None else a_name
            v = b.end if b is not None else b_name
            key = f"{u}:{a.iface if a else '?'}|{v}:{b.iface if b else '?'}"
            while key in keys:
                key += "+"
            keys.add(key)
            edges.append((u, v, key, {"bandwidth": _rate(a.rate if a else None, b.rate if b else None),
                                      "link": "equipment", "active": True}))
    return edges


def _host_attrs(node: Node) -> dict[str, Any]:
    return {"kind": HOST_KIND, "site": node.site, "cluster": node.cluster, "uid": node.uid,
            "cores": node.architecture.nb_cores, "power": node.performance.core_flops}


def _host_edges(site: Site, nodes: Iterable[Node], unresolved: list[UnresolvedLink]) -> list[Edge]:
    equips = {e.uid: e for e in site.network_equipments}
    ports: dict[tuple[str, str, str | None], tuple[int, int]] = {}
    for equip in site.network_equipments:
        for i, card in enumerate(equip.linecards):
            for j, port in enumerate(card.ports):
                if port.uid is not None and port.kind == "node":
                    ports.setdefault((equip.uid, port.uid, port.port), (i, j))
    edges: list[Edge] = []
    for node in nodes:
        for adapter in node.network_adapters:
            if not adapter.switch or adapter.management:
                continue
            found = equips.get(adapter.switch)
            if found is None:
                unresolved.append(UnresolvedLink(site.uid, node.uid, adapter.switch, "no equipment of that name"))
                continue
            equip = found
            where = ports.get((equip.uid, node.uid, adapter.device))
            attrs: dict[str, Any] = {"link": "host", "device": adapter.device, "active": adapter.mounted,
                                     "interface": adapter.interface}
            if where is None:
                end = equipment_node(equip.uid, site.uid)
                attrs |= {"bandwidth": _rate(adapter.rate), "port": adapter.switch_port}
            else:
                i, j = where
                card = equip.linecards[i]
                port = card.ports[j]
                end = _port_end(equip, site.uid, i, card)
                attrs |= {"bandwidth": _rate(port.rate or card.rate, adapter.rate),
                          "port": port.snmp_name or f"{i}/{j}"}
            edges.append((node.fqdn, end, f"{node.fqdn}:{adapter.device}", attrs))
    return edges


def _unit(graph: nx.MultiGraph, n: str) -> str:
    """The equipment a node belongs to (a linecard belongs to its equipment; anything else to itself)."""
    attrs = graph.nodes[n]
    if attrs.get("kind") == LINECARD_KIND:
        parent = equipment_node(str(attrs["uid"]), str(attrs["site"]))
        if parent in graph:
            return parent
    return n


def _members(graph: nx.MultiGraph, n: str) -> set[str]:
    attrs = graph.nodes[n]
    return {n} | {m for m in graph.neighbors(n)
                  if graph.nodes[m].get("kind") == LINECARD_KIND and graph.nodes[m].get("uid") == attrs.get("uid")
                  and graph.nodes[m].get("site") == attrs.get("site")}


def _prune(graph: nx.MultiGraph, start: Iterable[str] | None = None) -> None:
    """Remove, in place, equipments (with their linecards) and backbone nodes left hanging; never routers nor hosts.

    An equipment hangs when no host is attached to it or its linecards and it links to one other equipment at
    most; a linecard linked to nothing but its own equipment is dropped too. Each removal only re-examines the
    neighbours, so the whole pruning is linear in the size of the graph.
    """

    def removable(n: str) -> bool:
        kind = graph.nodes[n].get("kind")
        if kind in (HOST_KIND, ROUTER_KIND):
            return False
        if kind == RENATER_KIND:
            return len(set(graph.neighbors(n)) - {n}) <= 1
        unit = _unit(graph, n)
        if unit != n:
            return set(graph.neighbors(n)) - {n} <= {unit}
        members = _members(graph, n)
        outside = {m for member in members for m in graph.neighbors(member)} - members
        if any(graph.nodes[m].get("kind") == HOST_KIND for m in outside):
            return False
        return len({_unit(graph, m) for m in outside}) <= 1

    queue = deque(m for n in (list(graph.nodes) if start is None else start) if n in graph
                  for m in (n, _unit(graph, n)))
    while queue:
        n = queue.popleft()
        if n not in graph or not removable(n):
            continue
        gone = {n} if _unit(graph, n) != n else _members(graph, n)
        around = {m for g in gone for m in graph.neighbors(g)} - gone
        graph.remove_nodes_from(gone)
        for m in around:
            queue.append(m)
            queue.append(_unit(graph, m))


def _site_graph(site: Site, nodes: Sequence[Node], unresolved: list[UnresolvedLink]) -> nx.MultiGraph:
    graph = nx.MultiGraph()
    graph.add_nodes_from(_equipment_nodes(site))
    graph.add_nodes_from((n.fqdn, _host_attrs(n)) for n in nodes)
    for u, v, key, attrs in (*_equipment_edges(site, unresolved), *_host_edges(site, nodes, unresolved)):
        graph.add_edge(u, v, key=key, **attrs)
    _prune(graph)
    return graph


# --- backbone --------------------------------------------------------------------------------------------------


def _site_routers(snapshot: Snapshot) -> dict[str, str]:
    out: dict[str, str] = {}
    for uid in snapshot.sites():
        site = snapshot.site(uid).unwrap()
        routers = [e for e in site.network_equipments if e.kind == ROUTER_KIND]
        if routers:
            out[uid] = equipment_node(routers[0].uid, uid)
    return out


def _backbone_mesh(snapshot: Snapshot, unresolved: list[UnresolvedLink]) -> nx.MultiGraph:
    """Renater nodes and every site router, with the backbone links described by either side."""
    mesh = nx.MultiGraph()
    routers = _site_routers(snapshot)
    renater = {e.uid for e in snapshot.backbone}
    mesh.add_nodes_from((uid, {"kind": RENATER_KIND, "uid": uid}) for uid in sorted(renater))
    rates: dict[tuple[str, str], list[int | None]] = defaultdict(list)
    for equip in snapshot.backbone:
        for card in equip.linecards:
            for port in card.ports:
                rate = _rate(port.rate, card.rate)
                if port.uid in renater and port.uid != equip.uid:
                    rates[(min(equip.uid, port.uid), max(equip.uid, port.uid))].append(rate)
                elif port.kind == ROUTER_KIND and port.site_uid in routers:
                    rates[(routers[port.site_uid], equip.uid)].append(rate)
                elif port.uid is not None:
                    unresolved.append(UnresolvedLink(None, equip.uid, port.uid, "no site router or backbone node"))
    for site_uid, router in routers.items():
        site = snapshot.site(site_uid).unwrap()
        for equip in site.network_equipments:
            if equipment_node(equip.uid, site_uid) != router:
                continue
            for card in equip.linecards:
                for port in card.ports:
                    if port.kind != "backbone" or port.uid is None:
                        continue
                    if port.uid in renater:
                        rates[(router, port.uid)].append(_rate(port.rate, card.rate))
                    else:
                        unresolved.append(
                            UnresolvedLink(site_uid, equip.uid, port.uid, "no backbone node of that name"))
    for (u, v), found in sorted(rates.items()):
        for end in (u, v):
            if end not in mesh:
                site_uid = end.split(".", 1)[1]
                mesh.add_node(end, kind=ROUTER_KIND, site=site_uid, uid=end.split(".", 1)[0])
        a, b = sorted((u, v))
        mesh.add_edge(a, b, key=f"{a}|{b}", bandwidth=_rate(*found), latency=BACKBONE_LATENCY, link="backbone",
                      active=True)
    return mesh


def _add_backbone(graph: nx.MultiGraph, snapshot: Snapshot) -> None:
    """Add, in place, the backbone nodes and links on the shortest paths between the routers of ``graph``."""
    mesh = _backbone_mesh(snapshot, [])
    routers = sorted(n for n, k in graph.nodes(data="kind") if k == ROUTER_KIND and n in mesh)
    for i, r1 in enumerate(routers):
        for r2 in routers[i + 1:]:
            if not nx.has_path(mesh, r1, r2):
                continue
            path = nx.shortest_path(mesh, r1, r2)
            for n in path:
                if n not in graph:
                    graph.add_node(n, **mesh.nodes[n])
            for u, v in pairwise(path):
                for key, attrs in mesh.get_edge_data(u, v).items():
                    graph.add_edge(u, v, key=key, **attrs)


def _refresh_backbone(graph: nx.MultiGraph, snapshot: Snapshot) -> None:
    graph.remove_nodes_from([n for n, k in list(graph.nodes(data="kind")) if k == RENATER_KIND])
    if len(get_sites(graph)) > 1:
        _add_backbone(graph, snapshot)


# --- building --------------------------------------------------------------------------------------------------


Plan = dict[str, tuple[bool, frozenset[str]]]
Queues = str | Iterable[str] | None


def _nodes_named(snapshot: Snapshot, element: str) -> tuple[Node, ...] | None:
    """The nodes of the cluster called ``element``, else the node called so; None when there is neither."""
    nodes: Result[tuple[Node, ...], NotFound] = snapshot.cluster(element).map(lambda cluster: cluster.nodes)
    return nodes.lash(lambda _: snapshot.node(element).map(lambda node: (node,))).value_or(None)


def _resolve(snapshot: Snapshot, elements: Iterable[str] | None) -> Result[Plan, G5kError]:
    """Map each site concerned to (whole site wanted, uids of the nodes named in it)."""
    if elements is None:
        return Success({s: (True, frozenset()) for s in snapshot.sites()})
    whole: set[str] = set()
    named: dict[str, set[str]] = {}
    unknown: list[str] = []
    for element in elements:
        if is_successful(snapshot.site(element)):
            whole.add(element)
            continue
        nodes = _nodes_named(snapshot, element)
        if nodes is None:
            unknown.append(element)
            continue
        for n in nodes:
            named.setdefault(n.site, set()).add(n.uid)
    if unknown:
        return Failure(NotFound(what="site, cluster or host", key=", ".join(unknown),
                                hint="give site, cluster or host names of the snapshot"))
    return Success({s: (s in whole, frozenset(named.get(s, ()))) for s in sorted(whole | set(named))})


def _absorb(graph: nx.MultiGraph, part: nx.MultiGraph) -> None:
    """Add, in place, the nodes and edges of ``part`` to ``graph``, keeping edge keys (``update`` loses them)."""
    graph.add_nodes_from(part.nodes(data=True))
    graph.add_edges_from(part.edges(keys=True, data=True))


def _build(snapshot: Snapshot, plan: Plan, queues: Queues) -> nx.MultiGraph:
    graph = nx.MultiGraph(version=snapshot.version)
    for site_uid, (whole, named) in plan.items():
        site = snapshot.site(site_uid).unwrap()
        kept = {n.uid for n in snapshot.nodes(site=site_uid, queues=queues).unwrap()} if whole else set()
        chosen = tuple(n for n in snapshot.nodes(site=site_uid).unwrap() if n.uid in kept or n.uid in named)
        _absorb(graph, _site_graph(site, chosen, []))
    if len(plan) > 1:
        _add_backbone(graph, snapshot)
    return graph


def g5k_graph(snapshot: Snapshot, elements: Iterable[str] | None = None,
              queues: Queues = None) -> Result[nx.MultiGraph, G5kError]:
    """The topology of the given sites, clusters and hosts (default: the whole grid) as a MultiGraph.

    A site brings the hosts of its clusters whose queues meet ``queues`` (default: every cluster; execo kept the
    ``default`` queue only: pass ``queues="default"`` for its choice); clusters and hosts named are always taken.
    """
    chosen = None if elements is None else (elements,) if isinstance(elements, str) else tuple(elements)
    return _resolve(snapshot, chosen).map(lambda plan: _build(snapshot, plan, queues))


def unresolved_links(snapshot: Snapshot) -> tuple[UnresolvedLink, ...]:
    """Links of the reference data whose far end names no known node or equipment (kept out of every graph)."""
    found: list[UnresolvedLink] = []
    for uid in snapshot.sites():
        site = snapshot.site(uid).unwrap()
        nodes = {n.uid for c in site.clusters for n in c.nodes}
        found.extend(UnresolvedLink(uid, e.uid, p.uid, "no node of that name")
                     for e in site.network_equipments for card in e.linecards for p in card.ports
                     if p.kind == "node" and p.uid is not None and p.uid not in nodes)
        _equipment_edges(site, found)
        _host_edges(site, (n for c in site.clusters for n in c.nodes), found)
    _backbone_mesh(snapshot, found)
    return tuple(found)


# --- mutators (each returns a new graph) -----------------------------------------------------------------------


def _merge(graph: nx.MultiGraph, snapshot: Snapshot, known: Result[object, NotFound], element: str,
           queues: Queues = None) -> Result[nx.MultiGraph, G5kError]:
    """``graph`` plus the graph of ``element`` (once ``known`` says the snapshot has it), backbone refreshed."""

    def merged(part: nx.MultiGraph) -> nx.MultiGraph:
        out = graph.copy()
        _absorb(out, part)
        if len(get_sites(out)) > 1:
            _refresh_backbone(out, snapshot)
        return out

    found: Result[object, G5kError] = known
    return found.bind(lambda _: g5k_graph(snapshot, [element], queues)).map(merged)


def add_site(graph: nx.MultiGraph, snapshot: Snapshot, site: str,
             queues: Queues = None) -> Result[nx.MultiGraph, G5kError]:
    """A new graph: ``graph`` plus the hosts of ``site`` (clusters filtered on ``queues``) and its equipments."""
    return _merge(graph, snapshot, snapshot.site(site), site, queues)


def add_cluster(graph: nx.MultiGraph, snapshot: Snapshot, cluster: str) -> Result[nx.MultiGraph, G5kError]:
    """A new graph: ``graph`` plus the hosts of ``cluster`` and the equipments up to their site router."""
    return _merge(graph, snapshot, snapshot.cluster(cluster), cluster)


def add_host(graph: nx.MultiGraph, snapshot: Snapshot, host: str) -> Result[nx.MultiGraph, G5kError]:
    """A new graph: ``graph`` plus ``host`` (any name form) and the equipments up to its site router."""
    return _merge(graph, snapshot, snapshot.node(host), host)


def add_equip(graph: nx.MultiGraph, snapshot: Snapshot, equip: str, site: str) -> Result[nx.MultiGraph, G5kError]:
    """A new graph: ``graph`` plus equipment ``equip`` of ``site`` and its links to nodes already in the graph."""
    return snapshot.equipment(equip, site).map(lambda found: _with_equipment(graph, snapshot, found, site))


def _with_equipment(graph: nx.MultiGraph, snapshot: Snapshot, found: NetworkEquipment, site: str) -> nx.MultiGraph:
    site_value = snapshot.site(site).unwrap()
    mine = {n for n, _ in _equipment_nodes(Site(uid=site, network_equipments=(found,)))}
    out = graph.copy()
    out.add_nodes_from((n, a) for n, a in _equipment_nodes(site_value) if n in mine)
    hosts = tuple(n for n in snapshot.nodes(site=site).unwrap() if n.fqdn in graph)
    for u, v, key, attrs in (*_equipment_edges(site_value, []), *_host_edges(site_value, hosts, [])):
        if (u in mine or v in mine) and u in out and v in out:
            out.add_edge(u, v, key=key, **attrs)
    return out


def add_backbone(graph: nx.MultiGraph, snapshot: Snapshot) -> nx.MultiGraph:
    """A new graph: ``graph`` plus the Renater nodes and links on the shortest paths between its site routers."""
    out = graph.copy()
    _add_backbone(out, snapshot)
    return out


def _without(graph: nx.MultiGraph, nodes: Iterable[str]) -> nx.MultiGraph:
    """A copy without ``nodes``, pruned; a site left without hosts leaves the graph with all its nodes."""
    out = graph.copy()
    gone = {n for n in nodes if n in out}
    sites = {out.nodes[n].get("site") for n in gone if out.nodes[n].get("kind") == HOST_KIND}
    for site in sites:
        if not any(a.get("kind") == HOST_KIND and a.get("site") == site and n not in gone
                   for n, a in out.nodes(data=True)):
            gone |= {n for n, s in out.nodes(data="site") if s == site}
    neighbours = {m for n in gone for m in out.neighbors(n)} - gone
    out.remove_nodes_from(gone)
    _prune(out, neighbours)
    return out


def rm_host(graph: nx.MultiGraph, host: str) -> Result[nx.MultiGraph, NotFound]:
    """A new graph without ``host``, the equipments and backbone nodes left hanging, and its site if now hostless."""
    return host_node(graph, host).map(lambda name: _without(graph, [name]))


def _without_some(graph: nx.MultiGraph, gone: Sequence[str], what: str, key: str) -> Result[nx.MultiGraph, NotFound]:
    """:func:`_without` ``gone``, or ``NotFound`` (``what`` named ``key``) when there is nothing to remove."""
    return Success(_without(graph, gone)) if gone else Failure(NotFound(what=f"{what} in the graph", key=key))


def rm_cluster(graph: nx.MultiGraph, cluster: str) -> Result[nx.MultiGraph, NotFound]:
    """A new graph without the hosts of ``cluster`` and what is left hanging (as :func:`rm_host`)."""
    return _without_some(graph, get_hosts(graph, cluster=cluster), "cluster", cluster)


def rm_site(graph: nx.MultiGraph, site: str) -> Result[nx.MultiGraph, NotFound]:
    """A new graph without anything of ``site`` and without the backbone nodes left hanging."""
    return _without_some(graph, [n for n, s in graph.nodes(data="site") if s == site], "site", site)


def rm_equip(graph: nx.MultiGraph, equip: str, site: str | None = None) -> Result[nx.MultiGraph, NotFound]:
    """A new graph without an equipment (its node name, or its uid and site) and its linecards; hosts stay."""
    name = equip if site is None else equipment_node(equip, site)

    def removed(attrs: dict[str, Any]) -> nx.MultiGraph:
        out = graph.copy()
        out.remove_nodes_from([name, *(n for n, a in graph.nodes(data=True) if a.get("kind") == LINECARD_KIND
                                       and a.get("uid") == attrs.get("uid") and a.get("site") == attrs.get("site"))])
        return out

    return equipment_attrs(graph, name, (HOST_KIND, LINECARD_KIND, RENATER_KIND)).map(removed)


def rm_backbone(graph: nx.MultiGraph) -> nx.MultiGraph:
    """A new graph without the Renater nodes and their links."""
    out = graph.copy()
    out.remove_nodes_from(get_backbone(graph))
    return out


