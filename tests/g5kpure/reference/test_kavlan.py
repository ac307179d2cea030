"""g5kpure.reference.kavlan on the g5k-api kavlan fixtures, and g5k.kavlan against a real HTTP server on loopback."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from g5k.api import APIConnection, Source
from g5k.kavlan import (
    get_kavlan_ip_mac,
    get_kavlan_network,
    get_nodes_vlan,
    get_user_vlans,
    get_vlan,
    get_vlan_nodes,
    get_vlan_users,
    get_vlans,
    plan_set_nodes_vlan,
    set_nodes_vlan,
    set_vlan_dhcpd,
)
from g5k.reference_data import embedded_snapshot, read_embedded_bytes
from g5k.results import performed
from returns.io import IOFailure, IOSuccess
from returns.result import Failure, Success

from g5kpure.errors import AuthError, G5kError, HttpError, InvalidInput, NotFound, ParseError, Partial, Rejected
from g5kpure.reference import RetryPolicy, kavlan
from tests.conftest import FIXTURES_DIR
from tests.fixtures.g5k_api.api_server import ApiServer
from tests.fixtures.g5k_api.kavlan_state import KavlanState

FIXTURES = FIXTURES_DIR / "g5k_api" / "kavlan"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def ok(result: Any) -> Any:
    assert isinstance(result, IOSuccess), result
    return performed(result).unwrap()


def err(result: Any) -> G5kError:
    assert isinstance(result, IOFailure), result
    error: G5kError = performed(result).failure()
    return error


# --- pure: inputs and requests ---------------------------------------------------------------------------------


def test_vlan_ids_are_normalised_or_refused() -> None:
    assert kavlan.check_vlan_id(4) == Success("4")
    assert kavlan.check_vlan_id("016") == Success("16")
    assert kavlan.check_vlan_id("default") == Success("DEFAULT")
    for bad in (0, -3, "4a", "", True, "../1"):
        result = kavlan.check_vlan_id(bad)
        assert isinstance(result, Failure), bad
        assert isinstance(result.failure(), InvalidInput)


def test_node_names_follow_kavlan_naming_whatever_the_variant_given() -> None:
    names = kavlan.vlan_node_names(
        ["parasilo-1", "parasilo-2.rennes", "parasilo-3-kavlan-4.rennes.grid5000.fr", "parasilo-1.rennes"],
        "rennes", "eth1")
    assert names == Success(("parasilo-1-eth1.rennes.grid5000.fr", "parasilo-2-eth1.rennes.grid5000.fr",
                             "parasilo-3-eth1.rennes.grid5000.fr"))
    # eth0 is the bare name, as kavlan lists it (execo sent nova-1-eth0...)
    assert kavlan.vlan_node_name("parasilo-4-eth1.rennes", "rennes") == Success("parasilo-4.rennes.grid5000.fr")


def test_node_names_of_another_site_or_not_nodes_are_refused() -> None:
    other = kavlan.vlan_node_names(["nova-1.lyon.grid5000.fr"], "rennes")
    assert isinstance(other, Failure) and "a host of site rennes (it names lyon)" in other.failure().message
    assert isinstance(kavlan.vlan_node_names(["frontend"], "rennes").failure(), ParseError)
    assert isinstance(kavlan.vlan_node_names([], "rennes").failure(), InvalidInput)
    assert isinstance(kavlan.vlan_node_names(["nova-1"], "rennes", "eth1;rm").failure(), InvalidInput)


def test_set_nodes_vlan_request_is_a_json_array_to_the_nodes_of_the_vlan() -> None:
    request = kavlan.set_nodes_vlan_request("rennes", ["parasilo-1", "parasilo-2"], "eth0", 4).unwrap()
    assert request == kavlan.VlanRequest("POST", "sites/rennes/vlans/4/nodes",
                                         ("parasilo-1.rennes.grid5000.fr", "parasilo-2.rennes.grid5000.fr"))
    assert request.body_json() == ["parasilo-1.rennes.grid5000.fr", "parasilo-2.rennes.grid5000.fr"]
    assert request.describe() == ('POST sites/rennes/vlans/4/nodes '
                                  '["parasilo-1.rennes.grid5000.fr", "parasilo-2.rennes.grid5000.fr"]')
    bad_site = kavlan.set_nodes_vlan_request("Rennes/../x", ["parasilo-1"], "eth0", 4)
    assert isinstance(bad_site.failure(), InvalidInput)
    assert kavlan.vlans_request("rennes") == Success(kavlan.VlanRequest("GET", "sites/rennes/vlans"))
    assert kavlan.vlan_nodes_request("rennes", "default").unwrap().path == "sites/rennes/vlans/DEFAULT/nodes"
    assert kavlan.user_vlans_request("rennes", "snoir").unwrap().path == "sites/rennes/vlans/users/snoir"
    assert isinstance(kavlan.user_vlans_request("rennes", "a/b").failure(), InvalidInput)


# --- pure: parsing the real answers ----------------------------------------------------------------------------


def test_parse_vlan_collection_of_rennes() -> None:
    vlans = kavlan.parse_vlans(fixture("kavlan-rennes-index.json")).unwrap()
    assert len(vlans) == 22
    assert vlans[0] == kavlan.VlanInfo("DEFAULT", None) and vlans[0].is_default
    kinds = {v.uid: v.kind for v in vlans}
    assert [kinds[str(i)] for i in (1, 2, 3)] == ["kavlan-local"] * 3
    assert [kinds[str(i)] for i in range(4, 10)] == ["kavlan"] * 6
    assert kinds["16"] == "kavlan-global"
    assert sum(1 for k in kinds.values() if k == "kavlan-remote") == 11


def test_parse_vlan_items_nodes_and_users() -> None:
    assert kavlan.parse_vlan(fixture("kavlan-rennes-vlan.json")) == Success(kavlan.VlanInfo("3", "kavlan-local"))
    assert kavlan.parse_vlan(fixture("kavlan-rennes-vlan-remote.json")) == Success(
        kavlan.VlanInfo("15", "kavlan-remote"))
    assert kavlan.parse_vlan_nodes(fixture("kavlan-rennes-nodes-1.json")) == Success(
        ("parapide-18.rennes.grid5000.fr", "parapide-19.rennes.grid5000.fr"))
    assert kavlan.parse_user_vlans(fixture("kavlan-rennes-users-snoir.json")) == Success(("1",))


def test_vlan_users_and_dhcpd_requests() -> None:
    assert kavlan.parse_vlan_users(fixture("kavlan-rennes-vlan-users-1.json")) == Success(("snoir",))
    assert isinstance(kavlan.parse_vlan_users({"items": [{"name": "x"}]}).failure(), ParseError)
    assert kavlan.vlan_users_request("rennes", 4).unwrap().path == "sites/rennes/vlans/4/users"
    start = kavlan.dhcpd_request("rennes", 4, "start").unwrap()
    assert (start.method, start.path, start.body_json()) == ("PUT", "sites/rennes/vlans/4/dhcpd", {"action": "start"})
    assert start.describe() == 'PUT sites/rennes/vlans/4/dhcpd {"action": "start"}'
    assert isinstance(kavlan.dhcpd_request("rennes", 4, "restart").failure(), InvalidInput)
    assert isinstance(kavlan.dhcpd_request("rennes", "DEFAULT", "stop").failure(), InvalidInput)


def test_parsers_refuse_wrong_shapes_with_a_parse_error() -> None:
    for parser in (kavlan.parse_vlans, kavlan.parse_vlan, kavlan.parse_vlan_nodes, kavlan.parse_user_vlans,
                   kavlan.parse_nodes_vlan):
        bads: tuple[Any, ...] = (None, [], "x", {"items": "no"}, {"nodes": [1]}, {"vlans": [None]}, {"a": None})
        for bad in bads:
            result = parser(bad)
            if isinstance(result, Success):  # some shapes are valid for some parsers only
                continue
            assert isinstance(result.failure(), ParseError), (parser, bad)
    assert isinstance(kavlan.parse_vlans({"items": [{"type": "kavlan"}]}).failure(), ParseError)
    assert kavlan.parse_nodes_vlan({"b-1.x": "4", "a-1.x": "DEFAULT"}) == Success(
        (("a-1.x", "DEFAULT"), ("b-1.x", "4")))


def test_set_nodes_answer_per_node_and_missing_nodes_fail() -> None:
    answer = {"a-1.r.grid5000.fr": {"status": "success", "message": "ok"},
              "a-2.r.grid5000.fr": {"status": "unchanged", "message": "already"},
              "a-3.r.grid5000.fr": {"status": "failure", "message": "not yours"}}
    requested = ("a-1.r.grid5000.fr", "a-2.r.grid5000.fr", "a-3.r.grid5000.fr", "a-4.r.grid5000.fr")
    change = kavlan.parse_set_nodes_answer(answer, "r", "4", requested).unwrap()
    assert change.moved == ("a-1.r.grid5000.fr",)
    assert change.unchanged == ("a-2.r.grid5000.fr",)
    assert [(o.host, o.message) for o in change.failed] == [
        ("a-3.r.grid5000.fr", "not yours"), ("a-4.r.grid5000.fr", "the API gave no answer for this node")]
    partial = change.to_result().failure()
    assert isinstance(partial, Partial)
    assert partial.succeeded == ("a-1.r.grid5000.fr", "a-2.r.grid5000.fr")
    assert [k for k, _ in partial.failed] == ["a-3.r.grid5000.fr", "a-4.r.grid5000.fr"]
    assert isinstance(partial.failed[0][1], Rejected) and "not yours" in partial.message
    bad = kavlan.parse_set_nodes_answer({"a-1.r.grid5000.fr": {"status": "maybe"}}, "r", "4", requested[:1])
    assert isinstance(bad.failure(), ParseError)


def test_kavlan_network_from_the_snapshot() -> None:
    rennes = embedded_snapshot().site("rennes").unwrap()
    net = kavlan.kavlan_network(rennes, 4).unwrap()
    assert (net.network, net.prefix_len, net.gateway, net.cidr) == ("10.24.0.0", 18, "10.24.63.254", "10.24.0.0/18")
    assert kavlan.kavlan_network(rennes, "16").unwrap().cidr == "10.27.192.0/18"
    assert kavlan.kavlan_network(rennes, 1).unwrap().cidr == "192.168.192.0/20"
    missing = kavlan.kavlan_network(rennes, 99)
    assert isinstance(missing.failure(), NotFound) and "the site's kavlans: " in missing.failure().message


def test_vm_addresses_skip_gateways_and_node_addresses() -> None:
    snapshot = embedded_snapshot()
    rennes = snapshot.site("rennes").unwrap()
    nodes = {k.ip for n in snapshot.nodes(site="rennes").unwrap() for k in n.kavlan if k.vlan == "kavlan-4"}
    assert "10.24.7.1" in nodes  # the data places node addresses inside the network
    pairs = kavlan.kavlan_ip_mac(rennes, 4, taken=nodes).unwrap()
    ips = [ip for ip, _ in pairs]
    assert ips[:3] == ["10.24.0.1", "10.24.0.2", "10.24.0.3"]
    assert not nodes & set(ips)
    assert "10.24.63.254" not in ips and not any(ip.endswith((".0", ".254", ".255")) for ip in ips)
    assert len(ips) == 64 * 253 - len(nodes)
    macs = [mac for _, mac in pairs]
    assert len(set(macs)) == len(macs) and macs[0] == "00:20:4e:18:00:01"
    assert kavlan.kavlan_ip_mac(rennes, 4, limit=2).unwrap() == (("10.24.0.1", "00:20:4e:18:00:01"),
                                                                  ("10.24.0.2", "00:20:4e:18:00:02"))
    assert isinstance(kavlan.kavlan_ip_mac(rennes, 99).failure(), NotFound)


# --- adapters against the loopback server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def deep() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read_embedded_bytes().unwrap())
    return data


@pytest.fixture
def state(deep: dict[str, Any]) -> KavlanState:
    return KavlanState(copy.deepcopy(deep), "1" * 40)


@pytest.fixture
def conn(state: KavlanState) -> Iterator[APIConnection]:
    with ApiServer(state) as srv, APIConnection(srv.base_uri, use_keyring=False,
                                                retry=RetryPolicy(max_attempts=1)) as c:
        yield c


@pytest.mark.integration
def test_list_vlans_and_one_vlan_over_http(conn: APIConnection) -> None:
    vlans = ok(get_vlans("rennes", conn))
    assert [v.uid for v in vlans][:5] == ["DEFAULT", "1", "2", "3", "4"]
    assert ok(get_vlan("rennes", 16, conn)) == kavlan.VlanInfo("16", "kavlan-global")
    assert isinstance(err(get_vlan("rennes", 99, conn)), NotFound)
    assert ok(get_user_vlans("rennes", "snoir", conn)) == ("1",)
    assert isinstance(err(get_user_vlans("rennes", "nobody", conn)), NotFound)


@pytest.mark.integration
def test_set_nodes_vlan_moves_nodes_and_back(conn: APIConnection, state: KavlanState) -> None:
    hosts = ["parasilo-1", "parasilo-2.rennes.grid5000.fr"]
    change = ok(set_nodes_vlan("rennes", hosts, "eth1", 1, conn))
    assert change.moved == ("parasilo-1-eth1.rennes.grid5000.fr", "parasilo-2-eth1.rennes.grid5000.fr")
    path, body, content_type = state.posted[-1]
    assert path == "/stable/sites/rennes/vlans/1/nodes" and content_type == "application/json"
    assert json.loads(body or b"") == ["parasilo-1-eth1.rennes.grid5000.fr", "parasilo-2-eth1.rennes.grid5000.fr"]
    assert ok(get_vlan_nodes("rennes", 1, conn)) == ("parasilo-1-eth1.rennes.grid5000.fr",
                                                     "parasilo-2-eth1.rennes.grid5000.fr")
    assert ok(get_nodes_vlan("rennes", hosts, "eth1", conn)) == (
        ("parasilo-1-eth1.rennes.grid5000.fr", "1"), ("parasilo-2-eth1.rennes.grid5000.fr", "1"))
    assert ok(get_nodes_vlan("rennes", hosts, "eth0", conn)) == (
        ("parasilo-1.rennes.grid5000.fr", "DEFAULT"), ("parasilo-2.rennes.grid5000.fr", "DEFAULT"))
    again = ok(set_nodes_vlan("rennes", hosts[:1], "eth1", 1, conn))
    assert again.unchanged == ("parasilo-1-eth1.rennes.grid5000.fr",) and again.moved == ()
    back = ok(set_nodes_vlan("rennes", hosts, "eth1", "DEFAULT", conn))
    assert len(back.moved) == 2
    assert ok(get_vlan_nodes("rennes", 1, conn)) == ()


@pytest.mark.integration
def test_refused_nodes_are_a_partial_failure(conn: APIConnection, state: KavlanState) -> None:
    error = err(set_nodes_vlan("rennes", ["parasilo-1", "parasilo-999"], "eth0", 1, conn))
    assert isinstance(error, Partial)
    assert error.succeeded == ("parasilo-1.rennes.grid5000.fr",)
    assert [k for k, _ in error.failed] == ["parasilo-999.rennes.grid5000.fr"]
    assert "unknown node parasilo-999.rennes.grid5000.fr" in error.message
    not_owned = err(set_nodes_vlan("rennes", ["parasilo-3"], "eth0", 5, conn))
    assert isinstance(not_owned, Partial) and "vlan 5 is not reserved by snoir" in not_owned.message
    assert state.node_vlan["parasilo-3.rennes.grid5000.fr"] == "DEFAULT"


@pytest.mark.integration
def test_bad_input_sends_nothing_and_dry_run_plans_the_request(conn: APIConnection, state: KavlanState) -> None:
    assert isinstance(err(set_nodes_vlan("rennes", ["nova-1.lyon"], "eth0", 4, conn)), InvalidInput)
    assert isinstance(err(set_nodes_vlan("rennes", ["parasilo-1"], "eth0", "x", conn)), InvalidInput)
    assert state.posted == []
    plan = plan_set_nodes_vlan("rennes", ["parasilo-1"], "eth0", 4, conn).unwrap()
    assert plan.method == "POST" and plan.url.endswith("/stable/sites/rennes/vlans/4/nodes")
    assert plan.body == '["parasilo-1.rennes.grid5000.fr"]'
    assert state.posted == []


@pytest.mark.integration
def test_vlan_users_and_dhcpd_over_http(conn: APIConnection, state: KavlanState) -> None:
    assert ok(get_vlan_users("rennes", 1, conn)) == ("snoir",)
    assert ok(get_vlan_users("rennes", 4, conn)) == ()
    assert ok(set_vlan_dhcpd("rennes", 1, "stop", conn)) is None
    assert state.dhcpd == {"1": "stop"}
    refused = err(set_vlan_dhcpd("rennes", 4, "start", conn))
    assert isinstance(refused, AuthError) and "not your vlan" in refused.message
    assert state.dhcpd == {"1": "stop"}


@pytest.mark.integration
def test_server_refusals_are_http_errors(conn: APIConnection, state: KavlanState) -> None:
    state.add_fault("/stable/sites/rennes/vlans/4/nodes", "status", 500)
    error = err(set_nodes_vlan("rennes", ["parasilo-1"], "eth0", 4, conn))
    assert isinstance(error, HttpError) and error.status == 500 and error.method == "POST"
    assert state.hits["/stable/sites/rennes/vlans/4/nodes"] == 1  # a POST is never retried


@pytest.mark.integration
def test_kavlan_network_from_the_embedded_source() -> None:
    assert ok(get_kavlan_network("lyon", 13, Source.EMBEDDED)).vlan == "13"
    assert isinstance(err(get_kavlan_network("atlantis", 4, Source.EMBEDDED)), NotFound)


def test_kavlan_ip_mac_from_the_embedded_source_leaves_node_addresses_out() -> None:
    pairs = ok(get_kavlan_ip_mac("rennes", 4))
    ips = {ip for ip, _ in pairs}
    assert "10.24.7.1" not in ips and "10.24.0.1" in ips
    assert ok(get_kavlan_ip_mac("rennes", 4, limit=1)) == (("10.24.0.1", "00:20:4e:18:00:01"),)
    assert isinstance(err(get_kavlan_ip_mac("atlantis", 4)), NotFound)
