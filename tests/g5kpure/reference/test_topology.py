"""The topology graph on the real embedded snapshot: counts, attributes, paths, and the execo bugs it fixes."""

from __future__ import annotations

import gzip
import itertools
import json
from importlib import resources
from typing import Any

import networkx as nx
import pytest
from g5k.reference_data import embedded_snapshot
from returns.result import Failure, Success

from g5kpure.errors import NotFound
from g5kpure.reference import Snapshot
from g5kpure.reference import topology as T

# Sites whose router the reference data links to the Renater backbone (bordeaux names a renater node that does not
# exist; louvain and strasbourg have no backbone link at all).
CONNECTED_SITES = ("grenoble", "lille", "luxembourg", "lyon", "nancy", "nantes", "rennes", "sophia", "toulouse")
ISOLATED_SITES = ("bordeaux", "louvain", "strasbourg")


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The embedded snapshot's JSON, read directly (independent of the reference models and topology)."""
    data = resources.files("g5kpure.data").joinpath("reference_compact.json.gz").read_bytes()
    loaded: dict[str, Any] = json.loads(gzip.decompress(data))
    return loaded


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return embedded_snapshot()


@pytest.fixture(scope="module")
def grid(snap: Snapshot) -> nx.MultiGraph:
    result = T.g5k_graph(snap)
    assert isinstance(result, Success)
    graph: nx.MultiGraph = result.unwrap()
    return graph


def _raw_adapter_links(raw: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """(fqdn, device, switch uid, switch_port) of every node adapter naming a switch (the management one aside)."""
    links = set()
    for site, site_data in raw["sites"].items():
        for cluster in site_data.get("clusters", {}).values():
            for node in cluster["nodes"]:
                for adapter in node["network_adapters"]:
                    if adapter.get("switch") and not adapter.get("management"):
                        links.add((f"{node['uid']}.{site}.grid5000.fr", adapter["device"], adapter["switch"],
                                   adapter["switch_port"]))
    return links


def _host_links(graph: nx.MultiGraph) -> set[tuple[str, str, str, str]]:
    links = set()
    for u, v, attrs in graph.edges(data=True):
        if attrs["link"] != "host":
            continue
        host, equip = (u, v) if graph.nodes[u]["kind"] == "node" else (v, u)
        links.add((host, attrs["device"], graph.nodes[equip]["uid"], attrs["port"]))
    return links


# --- counts on the whole grid ------------------------------------------------------------------------------------


def test_every_node_to_switch_link_of_the_data_is_resolved(grid: nx.MultiGraph, raw: dict[str, Any]) -> None:
    expected = _raw_adapter_links(raw)
    assert len(expected) == 1220
    # every link reaches the named switch on the port whose SNMP name the node adapter gives
    assert _host_links(grid) == expected
    assert sum(1 for *_, a in grid.edges(data=True) if a["link"] == "host") == 1220


def test_node_and_site_counts_match_the_raw_data(grid: nx.MultiGraph, raw: dict[str, Any]) -> None:
    raw_hosts = {f"{n['uid']}.{s}.grid5000.fr" for s, sd in raw["sites"].items()
                 for c in sd.get("clusters", {}).values() for n in c["nodes"]}
    assert set(T.get_hosts(grid)) == raw_hosts
    assert len(raw_hosts) == 939
    assert T.get_sites(grid) == tuple(sorted(raw["sites"]))
    assert len(T.get_clusters(grid)) == 158
    assert T.get_backbone(grid) == tuple(sorted(e["uid"] for e in raw["network_equipments"]))
    routers = [n for n, k in grid.nodes(data="kind") if k == "router"]
    assert len(routers) == 12


def test_host_attributes_come_from_the_node_data(grid: nx.MultiGraph, raw: dict[str, Any]) -> None:
    for site, site_data in raw["sites"].items():
        for cluster, cluster_data in site_data.get("clusters", {}).items():
            for node in cluster_data["nodes"]:
                attrs = grid.nodes[f"{node['uid']}.{site}.grid5000.fr"]
                assert attrs["kind"] == "node"
                assert attrs["cluster"] == cluster and attrs["site"] == site
                assert attrs["cores"] == node["architecture"]["nb_cores"]
                assert attrs["power"] == node["performance"]["core_flops"]


def test_edges_all_carry_a_bandwidth_and_backbone_edges_a_latency(grid: nx.MultiGraph) -> None:
    kinds = {a["link"] for *_, a in grid.edges(data=True)}
    assert kinds == {"host", "equipment", "linecard", "backbone"}
    for _, _, attrs in grid.edges(data=True):
        assert isinstance(attrs["bandwidth"], int) and attrs["bandwidth"] > 0
        assert ("latency" in attrs) == (attrs["link"] == "backbone")
    backbone = [a for *_, a in grid.edges(data=True) if a["link"] == "backbone"]
    assert backbone and all(a["latency"] == T.BACKBONE_LATENCY and a["bandwidth"] == 10**10 for a in backbone)


def test_backbone_links_are_those_of_the_data(grid: nx.MultiGraph, raw: dict[str, Any]) -> None:
    pairs = set()
    for equip in raw["network_equipments"]:
        for card in equip["linecards"]:
            for port in card["ports"]:
                peer = f"gw.{port['site_uid']}" if port.get("kind") == "router" else port["uid"]
                pairs.add(frozenset((equip["uid"], peer)))
    for site, site_data in raw["sites"].items():
        for equip in site_data["network_equipments"]:
            for card in equip.get("linecards", []):
                for port in card.get("ports", []):
                    if port.get("kind") == "backbone" and port["uid"] != "renater-bordeaux":
                        pairs.add(frozenset((f"{equip['uid']}.{site}", port["uid"])))
    found = {frozenset((u, v)) for u, v, a in grid.edges(data=True) if a["link"] == "backbone"}
    assert found == pairs


def test_parallel_links_stay_distinct(grid: nx.MultiGraph) -> None:
    # servan-1 reaches gw.grenoble through three Ethernet and two FPGA/Ethernet adapters
    keys = sorted(k for _, v, k in grid.edges("servan-1.grenoble.grid5000.fr", keys=True) if v == "gw.grenoble")
    assert keys == [f"servan-1.grenoble.grid5000.fr:{d}" for d in ("eth0", "eth1", "eth2", "fpga0", "fpga1")]
    all_keys = [k for *_, k in grid.edges(keys=True)]
    assert len(all_keys) == len(set(all_keys))


def test_fpga_ethernet_links_are_kept_where_execo_dropped_them(grid: nx.MultiGraph) -> None:
    fpga = [a for *_, a in grid.edges(data=True) if a.get("interface") == "FPGA/Ethernet"]
    assert len(fpga) == 4
    assert {a["bandwidth"] for a in fpga} == {100 * 10**9}


def test_port_channels_are_one_link_at_the_channel_rate(grid: nx.MultiGraph) -> None:
    # lille: gw port-channel1 <-> sw-1 lag2, a 200 Gb/s LAG of two member ports described on both sides
    links = grid.get_edge_data("gw-lc1.lille", "sw-1.lille")
    assert list(links) == ["gw-lc1.lille:port-channel1|sw-1.lille:lag2"]
    assert links["gw-lc1.lille:port-channel1|sw-1.lille:lag2"]["bandwidth"] == 200 * 10**9


def test_linecards_with_their_own_backplane_are_nodes(grid: nx.MultiGraph) -> None:
    attrs = grid.nodes["sgravillon2-lc7.nancy"]
    assert attrs["kind"] == "linecard" and attrs["backplane"] == 1_280_000_000_000 and attrs["index"] == 7
    assert grid.get_edge_data("sgravillon2.nancy", "sgravillon2-lc7.nancy")[
        "sgravillon2.nancy|sgravillon2-lc7.nancy"]["bandwidth"] == 1_280_000_000_000


# --- paths -------------------------------------------------------------------------------------------------------


def test_every_host_reaches_its_site_router(grid: nx.MultiGraph) -> None:
    for site in T.get_sites(grid):
        router = T.get_site_router(grid, site).unwrap()
        component = nx.node_connected_component(grid, router)
        assert set(T.get_hosts(grid, site=site)) <= component


def test_paths_between_sites_go_through_both_routers_and_the_backbone(grid: nx.MultiGraph) -> None:
    backbone = set(T.get_backbone(grid))
    for a, b in itertools.combinations(CONNECTED_SITES, 2):
        src, dst = T.get_hosts(grid, site=a)[0], T.get_hosts(grid, site=b)[-1]
        path = nx.shortest_path(grid, src, dst)
        ra, rb = f"gw.{a}", f"gw.{b}"
        assert ra in path and rb in path and path.index(ra) < path.index(rb)
        middle = path[path.index(ra) + 1:path.index(rb)]
        assert middle and set(middle) <= backbone


def test_sites_without_backbone_links_are_tolerated_and_unreachable(grid: nx.MultiGraph, snap: Snapshot) -> None:
    for site in ISOLATED_SITES:
        router = f"gw.{site}"
        assert not any(grid.nodes[n]["kind"] == "renater" for n in grid.neighbors(router))
        with pytest.raises(nx.NetworkXNoPath):
            nx.shortest_path(grid, router, "gw.lyon")
    unresolved = T.unresolved_links(snap)
    assert unresolved[-1] == T.UnresolvedLink("bordeaux", "gw", "renater-bordeaux", "no backbone node of that name")


def test_unresolved_links_name_the_ports_of_retired_nodes(snap: Snapshot, raw: dict[str, Any]) -> None:
    expected = []
    for site, site_data in sorted(raw["sites"].items()):
        nodes = {n["uid"] for c in site_data.get("clusters", {}).values() for n in c["nodes"]}
        expected += [(site, e["uid"], p["uid"]) for e in site_data["network_equipments"]
                     for card in e.get("linecards", []) for p in card.get("ports", [])
                     if p.get("kind") == "node" and p["uid"] not in nodes]
    found = [(u.site, u.source, u.target) for u in T.unresolved_links(snap) if u.reason == "no node of that name"]
    assert found == expected and len(found) == 9  # drac-4..6 of grenoble, cabled to gw and the InfiniBand switch


def test_a_site_without_clusters_is_its_router(snap: Snapshot) -> None:
    graph = T.g5k_graph(snap, ["bordeaux"]).unwrap()
    assert list(graph.nodes) == ["gw.bordeaux"]
    assert T.get_hosts(graph) == () and T.get_clusters(graph) == ()


# --- subsets -----------------------------------------------------------------------------------------------------


def test_a_cluster_brings_its_switches_up_to_the_router_only(snap: Snapshot) -> None:
    graph = T.g5k_graph(snap, ["nova"]).unwrap()
    assert T.get_clusters(graph) == ("nova",)
    assert len(T.get_hosts(graph)) == len(snap.hosts(cluster="nova").unwrap())
    equipments = sorted(n for n, k in graph.nodes(data="kind") if k != "node")
    assert equipments == ["force10.lyon", "gw.lyon"]
    assert T.get_backbone(graph) == ()  # one site: no backbone


def test_two_sites_bring_the_backbone_path_between_them(snap: Snapshot) -> None:
    graph = T.g5k_graph(snap, ["nova-1.lyon.grid5000.fr", "parasilo-1"]).unwrap()
    assert T.get_hosts(graph) == ("nova-1.lyon.grid5000.fr", "parasilo-1.rennes.grid5000.fr")
    assert T.get_backbone(graph) == ("renater-lyon", "renater-nantes", "renater-rennes")
    path = nx.shortest_path(graph, "nova-1.lyon.grid5000.fr", "parasilo-1.rennes.grid5000.fr")
    assert path == ["nova-1.lyon.grid5000.fr", "force10.lyon", "gw.lyon", "renater-lyon", "renater-nantes",
                    "renater-rennes", "gw.rennes", "parasilo-sw-1.rennes", "parasilo-1.rennes.grid5000.fr"]


def test_a_single_name_is_one_element_not_its_letters(snap: Snapshot) -> None:
    assert _same(T.g5k_graph(snap, "nova").unwrap(), T.g5k_graph(snap, ["nova"]).unwrap())


def test_queues_filter_the_clusters_of_a_site_as_execo_did_with_default(snap: Snapshot) -> None:
    everything = T.g5k_graph(snap, ["rennes"]).unwrap()
    default = T.g5k_graph(snap, ["rennes"], queues="default").unwrap()
    assert T.get_hosts(default) == snap.hosts(site="rennes", queues="default").unwrap()
    assert len(T.get_clusters(default)) < len(T.get_clusters(everything)) == 40
    assert "abacus1" in T.get_clusters(everything) and "abacus1" not in T.get_clusters(default)
    # a cluster named explicitly is taken whatever its queues
    both = T.g5k_graph(snap, ["rennes", "abacus1"], queues="default").unwrap()
    assert set(T.get_clusters(both)) == set(T.get_clusters(default)) | {"abacus1"}
    assert T.get_sites(T.add_site(default, snap, "lyon", queues="production").unwrap()) == ("lyon", "rennes")


def test_unknown_elements_are_named(snap: Snapshot) -> None:
    result = T.g5k_graph(snap, ["lyon", "nosuchcluster", "nova-99"])
    assert isinstance(result, Failure)
    error = result.failure()
    assert isinstance(error, NotFound) and error.key == "nosuchcluster, nova-99"


def test_graph_records_the_snapshot_version(grid: nx.MultiGraph, snap: Snapshot) -> None:
    assert grid.graph == {"version": snap.version}
    assert snap.version == "9ebe1b1e12d4496acf54e276f6885445a57f8c04"


# --- accessors and the execo bugs --------------------------------------------------------------------------------


def test_get_clusters_honours_the_site_execo_ignored_it(grid: nx.MultiGraph, snap: Snapshot) -> None:
    assert T.get_clusters(grid, "lyon") == tuple(sorted(snap.clusters("lyon").unwrap()))
    assert "nova" in T.get_clusters(grid, "lyon") and "dahu" not in T.get_clusters(grid, "lyon")
    assert T.get_clusters(grid, "bordeaux") == ()


def test_get_hosts_by_cluster_and_site(grid: nx.MultiGraph, snap: Snapshot) -> None:
    assert T.get_hosts(grid, cluster="nova") == snap.hosts(cluster="nova").unwrap()
    assert T.get_hosts(grid, site="lille") == snap.hosts(site="lille").unwrap()
    assert T.get_hosts(grid, cluster="nova", site="lille") == ()


def test_get_equip_hosts_works_for_switches_execo_iterated_a_literal_string(grid: nx.MultiGraph) -> None:
    hosts = T.get_equip_hosts(grid, "force10.lyon").unwrap()
    assert "nova-1.lyon.grid5000.fr" in hosts and len(hosts) == 39
    # through the linecard of a switch
    assert "chiclet-1.lille.grid5000.fr" in T.get_equip_hosts(grid, "sw-chiclet-1.lille").unwrap()
    assert isinstance(T.get_equip_hosts(grid, "nova-1.lyon.grid5000.fr"), Failure)
    assert isinstance(T.get_equip_hosts(grid, "force10"), Failure)


def test_switches_with_many_ports_are_handled_execo_sorted_dicts(grid: nx.MultiGraph, snap: Snapshot) -> None:
    # execo's _equip_has_nodes sorted a list of port dicts: TypeError for any equipment with two ports or more
    assert len(T.get_equip_hosts(grid, "sgros1.nancy").unwrap()) == 124
    # hostless leaf switches (admin switches, HPC switches) are pruned, transit switches kept
    assert "sw-adm-1.rennes" not in grid and "sneowiseib1.lyon" not in grid
    assert "swcore-01-rba.rennes" in grid and T.get_equip_hosts(grid, "swcore-01-rba.rennes").unwrap() == ()


def test_get_site_router_and_backbone(grid: nx.MultiGraph) -> None:
    assert T.get_site_router(grid, "lyon") == Success("gw.lyon")
    missing = T.get_site_router(grid, "paris")
    assert isinstance(missing, Failure) and "lyon" in missing.failure().message


def test_get_host_adapters(grid: nx.MultiGraph) -> None:
    adapters = T.get_host_adapters(grid, "nova-1").unwrap()
    assert adapters == (T.HostAdapter(device="eth0", equipment="force10.lyon", port="TenGigabitEthernet 0/25",
                                      bandwidth=10**10, active=True),)
    assert [a.device for a in T.get_host_adapters(grid, "servan-1.grenoble.grid5000.fr").unwrap()] == [
        "eth0", "eth1", "eth2", "fpga0", "fpga1"]
    assert isinstance(T.get_host_adapters(grid, "nova-99"), Failure)


def test_get_host_neighbours(grid: nx.MultiGraph) -> None:
    neighbours = T.get_host_neighbours(grid, "nova-1.lyon.grid5000.fr").unwrap()
    assert "nova-1.lyon.grid5000.fr" not in neighbours
    assert set(neighbours) == set(T.get_equip_hosts(grid, "force10.lyon").unwrap()) - {"nova-1.lyon.grid5000.fr"}


# --- mutators ----------------------------------------------------------------------------------------------------


def _same(a: nx.MultiGraph, b: nx.MultiGraph) -> bool:
    return bool(T.graph_to_json(a) == T.graph_to_json(b))


def test_rm_equip_takes_the_graph_name_execo_removed_the_bare_uid(snap: Snapshot) -> None:
    graph = T.g5k_graph(snap, ["lille"]).unwrap()
    before = T.graph_to_json(graph)
    out = T.rm_equip(graph, "sw-chiclet-1", "lille").unwrap()
    assert "sw-chiclet-1.lille" not in out and "sw-chiclet-1-lc1.lille" not in out
    assert "chiclet-1.lille.grid5000.fr" in out  # hosts stay, disconnected
    assert T.graph_to_json(graph) == before  # the given graph is unchanged
    assert _same(T.rm_equip(graph, "sw-chiclet-1.lille").unwrap(), out)
    assert isinstance(T.rm_equip(graph, "sw-chiclet-1"), Failure)


def test_add_equip_then_rm_equip(snap: Snapshot) -> None:
    graph = T.g5k_graph(snap, ["nova"]).unwrap()
    out = T.add_equip(graph, snap, "sneowise", "lyon").unwrap()
    assert "sneowise.lyon" in out and out.has_edge("sneowise.lyon", "gw.lyon")
    assert "sneowise.lyon" not in graph
    assert _same(T.rm_equip(out, "sneowise.lyon").unwrap(), graph)
    assert isinstance(T.add_equip(graph, snap, "gw", "nowhere"), Failure)


def test_add_and_rm_host_cluster_site(snap: Snapshot) -> None:
    graph = T.g5k_graph(snap, ["nova"]).unwrap()
    with_host = T.add_host(graph, snap, "chiclet-1.lille.grid5000.fr").unwrap()
    assert "chiclet-1.lille.grid5000.fr" in with_host and "sw-chiclet-1-lc1.lille" in with_host
    assert "renater-paris" in with_host  # a second site brings the backbone
    assert _same(T.rm_host(with_host, "chiclet-1").unwrap(), graph)
    with_cluster = T.add_cluster(graph, snap, "taurus").unwrap()
    assert _same(T.rm_cluster(with_cluster, "taurus").unwrap(), graph)
    with_site = T.add_site(graph, snap, "rennes").unwrap()
    assert T.get_sites(with_site) == ("lyon", "rennes")
    assert _same(T.rm_site(with_site, "rennes").unwrap(), graph)
    assert isinstance(T.add_site(graph, snap, "paris"), Failure)
    assert isinstance(T.rm_cluster(graph, "taurus"), Failure)
    assert isinstance(T.rm_host(graph, "taurus-1"), Failure)


def test_rm_host_prunes_the_switch_left_without_hosts(snap: Snapshot) -> None:
    graph = T.g5k_graph(snap, ["nova-1", "nova-4", "sagittaire-3"]).unwrap()
    assert "salome.lyon" in graph
    out = T.rm_host(graph, "sagittaire-3.lyon.grid5000.fr").unwrap()
    assert sorted(out.nodes) == ["force10.lyon", "gw.lyon", "nova-1.lyon.grid5000.fr", "nova-4.lyon.grid5000.fr"]
    # the last host of a site takes the site (router included) with it
    assert list(T.rm_cluster(out, "nova").unwrap().nodes) == []


def test_rm_site_prunes_the_backbone_left_hanging(grid: nx.MultiGraph) -> None:
    out = grid
    for site in ("lille", "nancy", "luxembourg"):
        out = T.rm_site(out, site).unwrap()
    assert "renater-paris" not in out and "renater-lille" not in out and "renater-lyon" in out
    for site in CONNECTED_SITES:
        if site not in ("lille", "nancy", "luxembourg", "lyon"):
            out = T.rm_site(out, site).unwrap()
    assert T.get_backbone(out) == ()
    assert isinstance(T.rm_site(out, "nancy"), Failure)


def test_rm_and_add_backbone(grid: nx.MultiGraph, snap: Snapshot) -> None:
    bare = T.rm_backbone(grid)
    assert T.get_backbone(bare) == () and T.get_backbone(grid) != ()
    assert _same(T.add_backbone(bare, snap), grid)


def test_graph_to_json_lists_nodes_and_edges_with_attributes(snap: Snapshot) -> None:
    data = T.graph_to_json(T.g5k_graph(snap, ["nova-1"]).unwrap())
    assert [n["id"] for n in data["nodes"]] == ["force10.lyon", "gw.lyon", "nova-1.lyon.grid5000.fr"]
    assert data["edges"][-1] == {"source": "force10.lyon", "target": "nova-1.lyon.grid5000.fr",
                                 "key": "nova-1.lyon.grid5000.fr:eth0", "link": "host", "device": "eth0",
                                 "active": True, "interface": "Ethernet", "bandwidth": 10**10,
                                 "port": "TenGigabitEthernet 0/25"}
    json.dumps(data)


def test_rm_cluster_prunes_a_chain_of_linecard_switches(snap: Snapshot) -> None:
    # chartreuse2 hangs on imag-1b-F2-prod-01 (through its linecard), itself behind imag-1b-F3-prod-01's linecard
    graph = T.g5k_graph(snap, ["dahu-1"]).unwrap()
    added = T.add_cluster(graph, snap, "chartreuse2").unwrap()
    assert {"imag-1b-F3-prod-01.grenoble", "imag-1b-F3-prod-01-lc1.grenoble"} <= set(added.nodes)
    assert _same(T.rm_cluster(added, "chartreuse2").unwrap(), graph)
