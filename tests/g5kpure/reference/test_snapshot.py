"""The Reference API models and Snapshot queries, on the embedded snapshot and on captured API answers."""

from __future__ import annotations

import copy
import gzip
import json
from importlib import resources
from typing import Any

import pytest
from g5k.reference_data import embedded_snapshot, load_embedded_snapshot, read_embedded_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from g5kpure.errors import InvalidInput, NotFound, ParseError
from g5kpure.reference import Cluster, Snapshot, filter_clusters, natural_key, snapshot_from_bytes, snapshot_from_json
from tests.conftest import FIXTURES_DIR

FIXTURES = FIXTURES_DIR / "g5k_api" / "reference_api_derived"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read_embedded_bytes().unwrap())
    return data


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return embedded_snapshot()


def test_embedded_counts_match_the_data_notes(snap: Snapshot) -> None:
    assert snap.version == "9ebe1b1e12d4496acf54e276f6885445a57f8c04"
    assert len(snap.sites()) == 12
    assert snap.sites()[0] == "bordeaux"
    assert len(snap.clusters().unwrap()) == 158
    assert len(snap.hosts().unwrap()) == 939
    assert sum(n.architecture.nb_cores for n in snap.nodes().unwrap()) == 31190
    gpu_nodes = [n for n in snap.nodes().unwrap() if n.gpu_devices]
    assert (len(gpu_nodes), sum(n.nb_gpus for n in gpu_nodes)) == (244, 766)
    assert len(snap.equipments().unwrap()) == 10  # the renater backbone
    assert sum(len(snap.equipments(site=s).unwrap()) for s in snap.sites()) == 74
    assert snap.clusters("bordeaux") == Success(())


def test_cluster_queue_filter_semantics(snap: Snapshot) -> None:
    every = snap.clusters().unwrap()
    assert snap.clusters(queues="admin").unwrap() == every  # every cluster lists admin
    assert len(snap.clusters(queues="default").unwrap()) == 35
    assert len(snap.clusters(queues="production").unwrap()) == 121
    assert set(snap.clusters(queues="testing").unwrap()) == {"engelbourg", "ramstein"}
    assert len(snap.clusters(queues=["default", "testing"]).unwrap()) == 37
    assert len(snap.hosts(queues="default").unwrap()) == 539
    assert "nova" in snap.clusters("lyon", queues="default").unwrap()
    assert snap.cluster_queues("nova") == Success(("default", "admin"))  # as the API lists them


def test_filter_clusters_defaults_missing_queues_like_execo() -> None:
    bare = Cluster(uid="x")
    prod = Cluster(uid="p", queues=("abaca", "admin", "production"))
    assert filter_clusters([bare, prod], "default") == (bare,)
    assert filter_clusters([bare, prod], "besteffort") == (bare,)
    assert filter_clusters([bare, prod], None) == (bare, prod)
    assert filter_clusters([bare, prod], []) == ()


def test_node_model(snap: Snapshot) -> None:
    node = snap.node("nova-1").unwrap()
    assert (node.site, node.cluster, node.fqdn) == ("lyon", "nova", "nova-1.lyon.grid5000.fr")
    assert (node.architecture.nb_procs, node.architecture.nb_cores, node.architecture.nb_threads) == (2, 16, 32)
    assert node.main_memory.ram_size == 68719476736
    assert node.processor.version == "E5-2620 v4"
    eth0 = node.network_adapters[0]
    assert (eth0.device, eth0.switch, eth0.rate, eth0.mounted) == ("eth0", "force10", 10_000_000_000, True)
    bmc = node.network_adapters[-1]
    assert (bmc.device, bmc.management, bmc.switch) == ("bmc", True, None)
    assert ("eth0", "kavlan-4", "10.12.4.1") in {(k.device, k.vlan, k.ip) for k in node.kavlan}
    assert node.supported_job_types.queues == ("admin", "default")
    assert node.pdu[0].uid == "wattmetre1"
    assert node.performance.node_flops == 537600000000.0


def test_gpu_and_storage_models(snap: Snapshot) -> None:
    sirius = snap.node("sirius-1.lyon.grid5000.fr").unwrap()
    assert [g.id for g in sirius.gpu_devices] == [f"nvidia{i}" for i in range(8)]
    assert all(g.memory > 0 and g.vendor for g in sirius.gpu_devices)
    reservable = [d for n in snap.nodes().unwrap() for d in n.storage_devices if d.reservation]
    assert len(reservable) == 326


def test_network_equipment_model(snap: Snapshot) -> None:
    gw = snap.equipment("gw", site="lyon").unwrap()
    assert gw.kind == "router"
    assert "gw-lyon" in {a.name for a in gw.alias}
    assert gw.linecards[0].ports == ()  # {} placeholder linecard keeps its position
    ports = [p for lc in gw.linecards for p in lc.ports]
    assert any(p.is_placeholder for p in ports)
    assert any(p.kind == "backbone" and p.uid == "renater-lyon" for p in ports)
    assert {v.id for v in gw.vlans} >= {"vlan100", "vlan701"}
    kavlan1 = next(v for v in gw.vlans if v.id == "vlan701")
    assert kavlan1.name == "kavlan-1"
    lille_sw = snap.equipment("sw-1", site="lille").unwrap()
    assert any(a.ip is not None for a in lille_sw.alias)  # alias given as {name, ip}
    renater = snap.equipment("renater-lyon").unwrap()
    assert renater.site is None and renater.kind == "virtual"


def test_equipment_lookups(snap: Snapshot) -> None:
    ambiguous = snap.equipment("gw")
    assert isinstance(ambiguous, Failure)
    assert "give the site" in ambiguous.failure().message
    assert snap.equipments(host="nova-1.lyon.grid5000.fr") == Success(("force10",))
    assert snap.equipments(cluster="nova") == Success(("force10",))
    assert "gw" in snap.equipments(site="lyon").unwrap()
    assert isinstance(snap.equipments(site="atlantis"), Failure)
    # every switch a node names exists in its site (data notes: 1,220/1,220)
    for node in snap.nodes().unwrap():
        for adapter in node.network_adapters:
            if adapter.switch:
                assert isinstance(snap.equipment(adapter.switch, site=node.site), Success)


def test_host_queries(snap: Snapshot) -> None:
    nova = snap.hosts(cluster="nova").unwrap()
    assert nova[0] == "nova-1.lyon.grid5000.fr"
    assert nova == tuple(sorted(nova, key=natural_key))
    assert len(nova) == 20
    assert snap.hosts(site="lyon", cluster="nova") == Success(nova)
    wrong_site = snap.hosts(site="rennes", cluster="nova")
    assert isinstance(wrong_site, Failure)
    assert len(snap.hosts(site="lyon").unwrap()) == 69
    assert snap.cluster_of("nova-1-kavlan-4.lyon.grid5000.fr") == Success("nova")
    chartreuse2 = snap.hosts(cluster="chartreuse2").unwrap()[0]
    assert snap.cluster_of(chartreuse2) == Success("chartreuse2")  # cluster name ending in a digit
    assert snap.cluster_of(chartreuse2.split(".")[0] + "-kavlan-4") == Success("chartreuse2")
    assert snap.site_of("nova-1-eth1.lyon.grid5000.fr") == Success("lyon")
    assert snap.site_of("nova-1") == Success("lyon")
    assert snap.site_of("nova") == Success("lyon")
    assert snap.site_of("force10") == Success("lyon")
    assert snap.site_of("lyon") == Success("lyon")
    assert snap.fqdn("nova-1-kavlan-4") == Success("nova-1.lyon.grid5000.fr")
    # a node named with the wrong site is not silently accepted
    assert isinstance(snap.node("nova-1.rennes.grid5000.fr"), Failure)


def test_unknown_elements_are_not_found_values(snap: Snapshot) -> None:
    for result in (
        snap.site("atlantis"),
        snap.cluster("unicorn"),
        snap.node("unicorn-1.lyon.grid5000.fr"),
        snap.clusters("atlantis"),
        snap.hosts(cluster="unicorn"),
        snap.site_of("unicorn-1"),
        snap.attributes("unicorn"),
    ):
        assert isinstance(result, Failure)
        assert isinstance(result.failure(), NotFound)
    assert "lyon" in snap.site("atlantis").failure().message  # lists the known sites


def test_attributes_are_fresh_copies_of_the_api_json(snap: Snapshot, raw: dict[str, Any]) -> None:
    attrs_ = snap.attributes("nova-1").unwrap()
    assert attrs_ == raw["sites"]["lyon"]["clusters"]["nova"]["nodes"][0]
    attrs_["architecture"]["nb_cores"] = 999
    assert snap.host_attributes("nova-1").unwrap()["architecture"]["nb_cores"] == 16
    site = snap.attributes("lyon").unwrap()
    assert site["frontend_ip"] == "172.16.63.101"
    assert "clusters" not in site and "network_equipments" not in site
    cluster = snap.attributes("nova").unwrap()
    assert cluster["nodes_count"] == 23 and "nodes" not in cluster
    assert snap.equipment_attributes("gw", "lyon").unwrap()["kind"] == "router"
    assert snap.attributes("force10").unwrap()["model"] == "Force10 S4810"


def test_group_hosts(snap: Snapshot) -> None:
    hosts = ["nova-4.lyon.grid5000.fr", "taurus-3.lyon.grid5000.fr", "nova-1", "sirius-1-kavlan-4.lyon"]
    grouped = snap.group_hosts(hosts).unwrap()
    assert grouped == {
        "lyon": {
            "nova": ("nova-4.lyon.grid5000.fr", "nova-1"),  # as given, in order
            "sirius": ("sirius-1-kavlan-4.lyon",),
            "taurus": ("taurus-3.lyon.grid5000.fr",),
        }
    }
    grenoble = snap.hosts(cluster="chartreuse2").unwrap()[0]
    assert list(snap.group_hosts([grenoble, "nova-1"]).unwrap()) == ["grenoble", "lyon"]
    unknown = snap.group_hosts(["nova-1", "paravance-1.rennes.grid5000.fr"])  # not in this snapshot
    assert isinstance(unknown, Failure)
    assert "paravance-1" in unknown.failure().message


def test_api_shapes_with_links_and_extra_keys_are_tolerated(snap: Snapshot) -> None:
    site = fixture("GET_stable_sites_lyon.json")
    cluster = fixture("GET_stable_sites_lyon_clusters_nova.json")
    nodes = fixture("GET_stable_sites_lyon_clusters_nova_nodes.json")["items"]
    gw = fixture("GET_stable_sites_lyon_network_equipments_gw.json")
    backbone = fixture("GET_stable_network_equipments.json")["items"]
    deep = {
        "version": cluster["version"],
        "sites": {"lyon": {**site, "clusters": {"nova": {**cluster, "nodes": nodes}}, "network_equipments": [gw]}},
        "network_equipments": backbone,
    }
    small = snapshot_from_json(deep).unwrap()
    assert small.version == cluster["version"]
    assert small.hosts() == snap.hosts(cluster="nova")
    assert small.node("nova-1").unwrap() == snap.node("nova-1").unwrap()
    assert small.equipment("gw").unwrap().kind == "router"
    assert small.attributes("nova-1").unwrap()["bmc_version"]  # full JSON kept, unknown keys included
    assert len(small.equipments().unwrap()) == 10


def _break(raw: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(raw)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return broken


NOVA = ("sites", "lyon", "clusters", "nova", "nodes")


@pytest.mark.parametrize(
    ("path", "value", "where", "why"),
    [
        ((*NOVA, 3, "architecture"), "x", "sites.lyon.clusters.nova.nodes[3].architecture", "expected an object"),
        ((*NOVA, 3, "architecture", "nb_cores"), "16", "sites.lyon.clusters.nova.nodes[3].architecture.nb_cores",
         "expected an integer"),
        ((*NOVA, 3, "uid"), KeyError, "sites.lyon.clusters.nova.nodes[3].uid", "missing"),
        ((*NOVA, 3, "network_adapters", 2, "rate"), [1], "sites.lyon.clusters.nova.nodes[3].network_adapters[2].rate",
         "expected an integer"),
        (("sites", "lyon", "clusters", "sirius", "nodes", 0, "gpu_devices", "nvidia1", "memory"), "big",
         "sites.lyon.clusters.sirius.nodes[0].gpu_devices.nvidia1.memory", "expected an integer"),
        (("sites", "lyon", "clusters", "nova", "queues"), "default", "sites.lyon.clusters.nova.queues",
         "expected a list"),
        (("sites", "lyon", "kavlans", "4", "network"), 3, "sites.lyon.kavlans.4.network", "expected a string"),
        (("sites", "lyon", "network_equipments", 0, "linecards", 0, "ports", 3, "rate"), "fast",
         "sites.lyon.network_equipments[0].linecards[0].ports[3].rate", "expected an integer"),
        (("network_equipments", 1, "uid"), 3, "network_equipments[1].uid", "expected a string"),
        ((*NOVA, 0), "nova-1", "sites.lyon.clusters.nova.nodes[0]", ""),
        (("sites", "lyon", "clusters"), [], "sites.lyon.clusters", ""),
    ],
)
def test_wrong_types_are_parse_errors_naming_the_path(
    raw: dict[str, Any], path: tuple[Any, ...], value: Any, where: str, why: str
) -> None:
    result = snapshot_from_json(_break(raw, path, value))
    assert isinstance(result, Failure)
    error = result.failure()
    assert isinstance(error, ParseError)
    assert error.where == where
    assert why in error.message


def test_missing_optional_keys_take_defaults() -> None:
    snap = snapshot_from_json({"sites": {"x": {"clusters": {"c": {"nodes": [{"uid": "c-2"}, {"uid": "c-10"},
                                                                             {"uid": "c-1"}]}}}}}).unwrap()
    assert snap.hosts() == Success(("c-1.x.grid5000.fr", "c-2.x.grid5000.fr", "c-10.x.grid5000.fr"))
    node = snap.node("c-1").unwrap()
    assert node.architecture.nb_cores == 0 and node.network_adapters == () and node.gpu_devices == ()
    assert snap.cluster_queues("c") == Success(("admin", "default", "besteffort"))
    assert snap.version == ""


def test_loading_from_bytes_and_bad_payloads(raw: dict[str, Any]) -> None:
    payload = read_embedded_bytes().unwrap()
    assert snapshot_from_bytes(payload).unwrap().hosts() == embedded_snapshot().hosts()
    truncated = snapshot_from_bytes(payload[: len(payload) // 2])
    assert isinstance(truncated, Failure) and isinstance(truncated.failure(), ParseError)
    compressed = resources.files("g5kpure.data").joinpath("reference_compact.json.gz").read_bytes()
    assert isinstance(snapshot_from_bytes(compressed).failure(), InvalidInput)
    assert gzip.decompress(compressed) == payload
    assert isinstance(snapshot_from_json([1, 2]).failure(), ParseError)
    assert isinstance(snapshot_from_json({"sites": []}).failure(), ParseError)


def test_embedded_snapshot_is_loaded_once(snap: Snapshot) -> None:
    assert embedded_snapshot() is snap
    assert load_embedded_snapshot().unwrap()  # IOSuccess


def test_cluster_queues_answers_for_every_cluster(snap: Snapshot) -> None:
    # execo answered None for clusters outside the default queue
    production = snap.clusters(queues="production").unwrap()[0]
    assert "production" in snap.cluster_queues(production).unwrap()
    assert snap.equipments(cluster=production).unwrap() != ()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)


@given(data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_structuring_is_total_on_mutated_api_json(raw: dict[str, Any], data: st.DataObject) -> None:
    lyon = raw["sites"]["lyon"]
    small = {
        "sites": {"lyon": {**{k: v for k, v in lyon.items() if k not in ("clusters", "network_equipments")},
                           "clusters": {"sirius": lyon["clusters"]["sirius"]},
                           "network_equipments": lyon["network_equipments"][:1]}},
        "network_equipments": raw["network_equipments"][:2],
    }
    path = data.draw(st.sampled_from(_paths(small)))
    value = data.draw(json_values)
    mutated = _break(small, path, value)
    result = snapshot_from_json(mutated)
    if isinstance(result, Failure):
        error = result.failure()
        assert isinstance(error, ParseError)
        assert error.where.startswith(("sites", "network_equipments"))
    else:
        assert result.unwrap().sites() == ("lyon",)


def test_snapshot_does_not_share_the_callers_json(raw: dict[str, Any]) -> None:
    mine = copy.deepcopy(raw)
    snap = snapshot_from_json(mine).unwrap()
    mine["sites"]["lyon"]["clusters"]["nova"]["nodes"][0]["architecture"]["nb_cores"] = 1
    mine["sites"]["lyon"]["frontend_ip"] = "0.0.0.0"
    assert snap.attributes("nova-1").unwrap()["architecture"]["nb_cores"] == 16
    assert snap.site_attributes("lyon").unwrap()["frontend_ip"] == "172.16.63.101"
    assert snap.node("nova-1").unwrap().architecture.nb_cores == 16


def test_bytes_and_json_paths_give_the_same_answers_and_fresh_copies(raw: dict[str, Any]) -> None:
    from_bytes = snapshot_from_bytes(read_embedded_bytes().unwrap()).unwrap()
    from_json = snapshot_from_json(copy.deepcopy(raw)).unwrap()
    sample = (*from_bytes.sites(), *from_bytes.clusters().unwrap()[::10], *from_bytes.hosts().unwrap()[::50],
              "force10")
    assert len(sample) > 40
    for element in sample:
        assert from_bytes.attributes(element).unwrap() == from_json.attributes(element).unwrap(), element
    for element in ("lyon", "nova", "nova-1"):
        first = from_bytes.attributes(element).unwrap()
        first["uid"] = "changed"
        first.setdefault("extra", []).append(1)
        again = from_bytes.attributes(element).unwrap()
        assert again["uid"] == element and "extra" not in again
    equipment = from_bytes.equipment_attributes("gw", "lyon").unwrap()
    equipment["linecards"].clear()
    assert from_bytes.equipment_attributes("gw", "lyon").unwrap()["linecards"]
    assert from_bytes.sites() == from_json.sites() and from_bytes.hosts() == from_json.hosts()


def test_a_too_deeply_nested_payload_is_a_parse_error() -> None:
    result = snapshot_from_bytes(b"[" * 100_000 + b"]" * 100_000)
    assert isinstance(result, Failure) and isinstance(result.failure(), ParseError)


def test_the_embedded_build_restores_the_garbage_collector_state() -> None:
    import gc

    from g5k.reference_data import _build_without_gc

    payload = read_embedded_bytes().unwrap()
    assert gc.isenabled()
    assert _build_without_gc(payload).unwrap().hosts() == embedded_snapshot().hosts()
    assert gc.isenabled()
    gc.disable()
    try:
        assert isinstance(_build_without_gc(b"{"), Failure)
        assert not gc.isenabled()
    finally:
        gc.enable()
