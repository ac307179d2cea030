"""Round trips of host names and host ranges on generated names; totality of the parsers."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from g5kpure.hosts import (
    HostName,
    canonical_host_name,
    format_host_ranges,
    fqdn_to_short,
    get_host_cluster,
    get_host_interface,
    get_kavlan_host_name,
    host_longname,
    interface_host_name,
    ipv6_host_name,
    parse_host_name,
    parse_host_ranges,
    short_to_fqdn,
)

clusters = st.from_regex(r"[a-zA-Z]{1,8}[0-9]{0,2}", fullmatch=True)
numbers = st.integers(min_value=0, max_value=9999).map(str)
interfaces = st.from_regex(r"[a-z]{1,5}[0-9]{0,2}", fullmatch=True).filter(
    lambda s: not s.startswith("ipv6") and s != "eth0"
)
labels = st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True)
domains = st.one_of(
    st.just(""),
    labels,
    labels.map(lambda site: f"{site}.grid5000.fr"),
)
host_names = st.builds(
    HostName,
    cluster=clusters,
    number=numbers,
    interface=st.none() | interfaces,
    kavlan=st.none() | st.integers(min_value=0, max_value=999),
    ipv6=st.booleans(),
    domain=domains,
)


@given(host_names)
def test_parse_render_round_trip(name: HostName) -> None:
    assert parse_host_name(name.render()) == Success(name)


@given(host_names)
def test_canonical_strips_decorations_and_is_idempotent(name: HostName) -> None:
    canon = canonical_host_name(name.render())
    assert canon == name.canonical
    assert canonical_host_name(canon) == canon
    assert get_host_cluster(name.render()) == name.cluster


@given(host_names, st.integers(min_value=0, max_value=999))
def test_kavlan_form_round_trip(name: HostName, vlan: int) -> None:
    kavlan_name = get_kavlan_host_name(name.render(), vlan)
    assert parse_host_name(kavlan_name) == Success(attrs.evolve(name, kavlan=vlan))
    assert canonical_host_name(kavlan_name) == name.canonical


@given(host_names, interfaces)
def test_interface_form_round_trip(name: HostName, iface: str) -> None:
    named = interface_host_name(name.render(), iface)
    assert parse_host_name(named) == Success(attrs.evolve(name, interface=iface))
    assert get_host_interface(named) == iface
    assert interface_host_name(named, "eth0") == attrs.evolve(name, interface=None).render()
    assert canonical_host_name(named) == name.canonical


@given(host_names)
def test_ipv6_form_round_trip(name: HostName) -> None:
    named = ipv6_host_name(name.render())
    assert parse_host_name(named) == Success(attrs.evolve(name, ipv6=True))
    assert ipv6_host_name(named) == named
    assert canonical_host_name(named) == name.canonical


@given(host_names, labels)
def test_short_fqdn_round_trip(name: HostName, site: str) -> None:
    short = name.short
    fqdn = short_to_fqdn(short, site)
    assert fqdn_to_short(fqdn) == short
    assert host_longname(short, site=site) == Success(fqdn)
    assert host_longname(fqdn) == Success(fqdn)


host_lists = st.lists(
    st.one_of(host_names.map(HostName.render), st.from_regex(r"[a-z][a-z0-9.-]{0,12}", fullmatch=True)),
    max_size=30,
).filter(lambda hosts: all(".." not in h and not h.endswith("-") for h in hosts))


@given(host_lists)
def test_ranges_round_trip(hosts: list[str]) -> None:
    text = format_host_ranges(hosts).unwrap()
    expanded = parse_host_ranges(text).unwrap() if hosts else ()
    assert sorted(expanded) == sorted(set(hosts))
    assert format_host_ranges(expanded).unwrap() == text


@given(st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=40, unique=True), clusters, domains)
def test_ranges_fold_a_cluster_into_one_bracket(numbers: list[int], cluster: str, domain: str) -> None:
    suffix = f".{domain}" if domain else ""
    hosts = [f"{cluster}-{n}{suffix}" for n in numbers]
    text = format_host_ranges(hosts).unwrap()
    assert text.count(cluster + "-") == 1
    assert parse_host_ranges(text) == Success(tuple(f"{cluster}-{n}{suffix}" for n in sorted(numbers)))


@given(st.text(max_size=60))
def test_parsers_are_total(text: str) -> None:
    assert isinstance(parse_host_ranges(text), Success | Failure)
    assert isinstance(parse_host_name(text), Success | Failure)
    assert isinstance(canonical_host_name(text), str)
