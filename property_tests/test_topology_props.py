"""Property tests of g5kpure.reference.topology on the embedded snapshot, for random sets of sites, clusters and hosts.

- the graph of a subset is a subgraph of the whole grid's (same node and edge attributes, same edge keys);
- the order and repetition of the elements do not matter;
- adding an element absent from a graph and removing it again gives the graph back; no function changes its input;
- a queue filter keeps a subgraph with the same sites, and every cluster named;
- every host reaches its site router, and hosts of two backbone-connected sites reach each other through both
  routers and the backbone only.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
from g5k.reference_data import embedded_snapshot
from hypothesis import assume, given
from hypothesis import strategies as st

from g5kpure.reference import topology as T

SNAP = embedded_snapshot()
SITES = SNAP.sites()
CLUSTERS = SNAP.clusters().unwrap()
HOSTS = SNAP.hosts().unwrap()
WHOLE = T.g5k_graph(SNAP).unwrap()

elements = st.one_of(st.sampled_from(SITES), st.sampled_from(CLUSTERS), st.sampled_from(HOSTS),
                     st.sampled_from(HOSTS).map(lambda h: h.split(".", 1)[0]))
element_lists = st.lists(elements, min_size=1, max_size=4)
small_lists = st.lists(st.one_of(st.sampled_from(CLUSTERS), st.sampled_from(HOSTS)), min_size=1, max_size=3)


def _snapshot_of(graph: nx.MultiGraph) -> Any:
    return T.graph_to_json(graph)


@given(element_lists)
def test_graph_of_a_subset_is_a_subgraph_of_the_whole(chosen: list[str]) -> None:
    graph = T.g5k_graph(SNAP, chosen).unwrap()
    for node, attrs in graph.nodes(data=True):
        assert node in WHOLE and WHOLE.nodes[node] == attrs
    for u, v, key, attrs in graph.edges(keys=True, data=True):
        assert WHOLE.has_edge(u, v, key) and WHOLE.edges[u, v, key] == attrs


@given(element_lists)
def test_order_and_repetition_do_not_matter(chosen: list[str]) -> None:
    once = _snapshot_of(T.g5k_graph(SNAP, chosen).unwrap())
    assert _snapshot_of(T.g5k_graph(SNAP, [*reversed(chosen), *chosen]).unwrap()) == once


@given(small_lists, st.sampled_from(CLUSTERS))
def test_add_then_rm_cluster_gives_the_graph_back(base: list[str], cluster: str) -> None:
    graph = T.g5k_graph(SNAP, base).unwrap()
    assume(cluster not in T.get_clusters(graph))
    before = _snapshot_of(graph)
    added = T.add_cluster(graph, SNAP, cluster).unwrap()
    assert set(T.get_hosts(added, cluster=cluster)) == set(SNAP.hosts(cluster=cluster).unwrap())
    assert _snapshot_of(T.rm_cluster(added, cluster).unwrap()) == before
    assert _snapshot_of(graph) == before


@given(small_lists, st.sampled_from(HOSTS))
def test_add_then_rm_host_gives_the_graph_back(base: list[str], host: str) -> None:
    graph = T.g5k_graph(SNAP, base).unwrap()
    assume(host not in graph)
    before = _snapshot_of(graph)
    added = T.add_host(graph, SNAP, host).unwrap()
    assert host in added
    assert _snapshot_of(T.rm_host(added, host).unwrap()) == before
    assert _snapshot_of(graph) == before


@given(small_lists, st.sampled_from(SITES))
def test_add_then_rm_site_gives_the_graph_back(base: list[str], site: str) -> None:
    graph = T.g5k_graph(SNAP, base).unwrap()
    assume(site not in T.get_sites(graph))
    before = _snapshot_of(graph)
    added = T.add_site(graph, SNAP, site).unwrap()
    assert site in T.get_sites(added)
    assert _snapshot_of(T.rm_site(added, site).unwrap()) == before
    assert _snapshot_of(graph) == before


@given(element_lists)
def test_adding_elements_one_by_one_builds_the_same_graph(chosen: list[str]) -> None:
    graph = T.g5k_graph(SNAP, chosen[:1]).unwrap()
    for element in chosen[1:]:
        if element in SITES:
            graph = T.add_site(graph, SNAP, element).unwrap()
        elif element in CLUSTERS:
            graph = T.add_cluster(graph, SNAP, element).unwrap()
        else:
            graph = T.add_host(graph, SNAP, element).unwrap()
    assert _snapshot_of(graph) == _snapshot_of(T.g5k_graph(SNAP, chosen).unwrap())


@given(element_lists)
def test_hosts_reach_their_router_and_other_sites_through_the_backbone(chosen: list[str]) -> None:
    graph = T.g5k_graph(SNAP, chosen).unwrap()
    backbone = set(T.get_backbone(graph))
    firsts = {}
    for site in T.get_sites(graph):
        router = T.get_site_router(graph, site).unwrap()
        hosts = T.get_hosts(graph, site=site)
        assert set(hosts) <= nx.node_connected_component(graph, router)
        assert set(T.get_clusters(graph, site)) == {graph.nodes[h]["cluster"] for h in hosts}
        if hosts and any(graph.nodes[n]["kind"] == "renater" for n in graph.neighbors(router)):
            firsts[site] = (router, hosts[0])
    for a, (ra, ha) in firsts.items():
        for b, (rb, hb) in firsts.items():
            if a < b:
                path = nx.shortest_path(graph, ha, hb)
                middle = path[path.index(ra) + 1:path.index(rb)]
                assert middle and set(middle) <= backbone


@given(element_lists, st.sampled_from(["default", "production", "testing", "admin"]))
def test_a_queue_filter_keeps_a_subgraph_and_named_clusters(chosen: list[str], queue: str) -> None:
    graph = T.g5k_graph(SNAP, chosen).unwrap()
    filtered = T.g5k_graph(SNAP, chosen, queues=queue).unwrap()
    assert set(filtered.nodes) <= set(graph.nodes)
    assert set(filtered.edges(keys=True)) <= set(graph.edges(keys=True))
    assert T.get_sites(filtered) == T.get_sites(graph)
    for cluster in (e for e in chosen if e in CLUSTERS):
        assert T.get_hosts(filtered, cluster=cluster) == SNAP.hosts(cluster=cluster).unwrap()
    for cluster in T.get_clusters(filtered):
        named = cluster in chosen or any(h in chosen or h.split(".", 1)[0] in chosen
                                         for h in T.get_hosts(filtered, cluster=cluster))
        assert named or queue in SNAP.cluster_queues(cluster).unwrap()
