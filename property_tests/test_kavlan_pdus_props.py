"""Totality of the KaVLAN and PDU parsers on any JSON value, and kavlan node names that read back."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Result, Success

from g5kpure.hosts import parse_host_name
from g5kpure.reference import kavlan, pdus

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def is_result(value: Any) -> bool:
    return isinstance(value, Result)


@given(json_values)
def test_kavlan_parsers_are_total(payload: Any) -> None:
    for parser in (kavlan.parse_vlans, kavlan.parse_vlan, kavlan.parse_vlan_nodes, kavlan.parse_nodes_vlan,
                   kavlan.parse_user_vlans):
        assert is_result(parser(payload))
    assert is_result(kavlan.parse_set_nodes_answer(payload, "rennes", "4", ("a-1.rennes.grid5000.fr",)))


@given(json_values)
def test_pdu_parsers_are_total(payload: Any) -> None:
    assert is_result(pdus.parse_pdu(payload, "lyon"))
    assert is_result(pdus.parse_site_pdus(payload, "lyon"))
    assert is_result(pdus.parse_pdus(payload))
    assert is_result(pdus.parse_pdus({"sites": {"lyon": {"pdus": payload}}}))


@given(st.from_regex(r"[a-z]{1,8}[0-9]?", fullmatch=True), st.integers(1, 999),
       st.sampled_from(["eth0", "eth1", "eth2", "ib0"]), st.sampled_from(["", ".rennes", ".rennes.grid5000.fr"]),
       st.sampled_from(["", "-kavlan-4"]))
def test_kavlan_names_read_back(cluster: str, number: int, interface: str, domain: str, vlan: str) -> None:
    given_name = f"{cluster}-{number}{vlan}{domain}"
    named = kavlan.vlan_node_name(given_name, "rennes", interface)
    assert isinstance(named, Success), named
    back = parse_host_name(named.unwrap()).unwrap()
    assert back.node == f"{cluster}-{number}" and back.site == "rennes" and back.kavlan is None
    assert back.interface == (None if interface == "eth0" else interface)
    other = kavlan.vlan_node_name(f"{cluster}-{number}.lyon", "rennes", interface)
    assert isinstance(other, Failure)
