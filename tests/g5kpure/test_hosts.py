"""Host names: execo's verified table (execo_behaviour §9.5), kavlan / interface / ipv6 forms, host ranges."""

from __future__ import annotations

import attrs
import pytest
from returns.result import Failure, Success

from g5kpure.errors import InvalidInput, ParseError
from g5kpure.hosts import (
    canonical_host_name,
    format_host_ranges,
    fqdn_to_short,
    get_host_cluster,
    get_host_interface,
    get_host_longname,
    get_host_shortname,
    get_host_site,
    get_kavlan_host_name,
    host_longname,
    host_shortname,
    interface_host_name,
    ipv6_host_name,
    natural_key,
    parse_host_name,
    parse_host_ranges,
    short_to_fqdn,
)

# input, canonical, cluster, site-from-name, short, longname (site from name or "lyon"/"nantes"), iface
EXECO_TABLE = [
    ("nova-1", "nova-1", "nova", None, "nova-1", "nova-1.lyon.grid5000.fr", "eth0"),
    ("nova-1-kavlan-4.lyon.grid5000.fr", "nova-1.lyon.grid5000.fr", "nova", "lyon", "nova-1",
     "nova-1-kavlan-4.lyon.grid5000.fr", "eth0"),
    ("nova-1-eth1-kavlan-4-ipv6.lyon.grid5000.fr", "nova-1.lyon.grid5000.fr", "nova", "lyon", "nova-1",
     "nova-1-eth1-kavlan-4-ipv6.lyon.grid5000.fr", "eth1"),
    ("nova-1-fpga0.lyon.grid5000.fr", "nova-1.lyon.grid5000.fr", "nova", "lyon", "nova-1",
     "nova-1-fpga0.lyon.grid5000.fr", "fpga0"),
    ("chiclet-1-ib0.lille.grid5000.fr", "chiclet-1.lille.grid5000.fr", "chiclet", "lille", "chiclet-1",
     "chiclet-1-ib0.lille.grid5000.fr", "ib0"),
    ("sagittaire2-3.lyon.grid5000.fr", "sagittaire2-3.lyon.grid5000.fr", "sagittaire2", "lyon", "sagittaire2-3",
     "sagittaire2-3.lyon.grid5000.fr", "eth0"),
    ("econome-7.nantes", "econome-7.nantes", "econome", "nantes", "econome-7", "econome-7.nantes.grid5000.fr",
     "eth0"),
    ("nova-1.lyon.grid5000.fr.", "nova-1.lyon.grid5000.fr.", "nova", "lyon", "nova-1", "nova-1.lyon.grid5000.fr",
     "eth0"),
    ("frontend.lyon.grid5000.fr", "frontend.lyon.grid5000.fr", None, None, "frontend",
     "frontend.lyon.grid5000.fr", None),
    ("nova_x-1.lyon.grid5000.fr", "nova_x-1.lyon.grid5000.fr", None, None, "nova_x-1",
     "nova_x-1.lyon.grid5000.fr", None),
    ("NOVA-1.lyon.grid5000.fr", "NOVA-1.lyon.grid5000.fr", "NOVA", "lyon", "NOVA-1", "NOVA-1.lyon.grid5000.fr",
     "eth0"),
    ("nova-1-kavlan-4", "nova-1", "nova", None, "nova-1", "nova-1-kavlan-4.lyon.grid5000.fr", "eth0"),
    ("chartreuse2-1.grenoble", "chartreuse2-1.grenoble", "chartreuse2", "grenoble", "chartreuse2-1",
     "chartreuse2-1.grenoble.grid5000.fr", "eth0"),
]


@pytest.mark.parametrize(("name", "canonical", "cluster", "site", "short", "longname", "iface"), EXECO_TABLE)
def test_execo_table(
    name: str, canonical: str, cluster: str | None, site: str | None, short: str, longname: str, iface: str | None
) -> None:
    assert canonical_host_name(name) == canonical
    assert get_host_cluster(name) == cluster
    assert get_host_site(name) == site
    assert host_shortname(name) == short
    assert host_longname(name, site="lyon") == Success(longname)
    assert get_host_interface(name) == iface
    assert get_host_shortname(name) == short
    assert get_host_longname(name, "lyon") == Success(longname)


def test_execo_site_of_name_is_not_validated() -> None:
    # uva is no known cluster, the site still comes from the name
    assert get_host_site("uva-1.lyon.grid5000.fr") == "lyon"
    assert get_host_cluster("uva-1.lyon.grid5000.fr") == "uva"


@pytest.mark.parametrize(
    ("host", "vlan", "expected"),
    [
        ("nova-1.lyon.grid5000.fr", 4, "nova-1-kavlan-4.lyon.grid5000.fr"),
        ("nova-1", 11, "nova-1-kavlan-11"),
        ("nova-1-eth1.lyon.grid5000.fr", 4, "nova-1-eth1-kavlan-4.lyon.grid5000.fr"),
        ("nova-1", "5", "nova-1-kavlan-5"),
        ("chartreuse2-1.grenoble.grid5000.fr", 4, "chartreuse2-1-kavlan-4.grenoble.grid5000.fr"),
        # differences from execo: an existing kavlan is replaced, -ipv6 stays last
        ("nova-1-kavlan-4.lyon.grid5000.fr", 5, "nova-1-kavlan-5.lyon.grid5000.fr"),
        ("nova-1-ipv6.lyon.grid5000.fr", 4, "nova-1-kavlan-4-ipv6.lyon.grid5000.fr"),
        # not a node name: execo's plain insertion before the first dot
        ("frontend.lyon.grid5000.fr", 4, "frontend-kavlan-4.lyon.grid5000.fr"),
    ],
)
def test_get_kavlan_host_name(host: str, vlan: int | str, expected: str) -> None:
    assert get_kavlan_host_name(host, vlan) == expected
    # the canonical name of a kavlan name of a node is the original canonical name
    if get_host_cluster(host) is not None:
        assert canonical_host_name(expected) == canonical_host_name(host)


@attrs.frozen
class _Host:
    address: str
    user: str = "root"


def test_values_with_address_keep_their_type_and_other_fields() -> None:
    host = _Host("nova-1-kavlan-4.lyon.grid5000.fr", user="alice")
    canon = canonical_host_name(host)
    assert canon == _Host("nova-1.lyon.grid5000.fr", user="alice")
    assert host.address == "nova-1-kavlan-4.lyon.grid5000.fr"  # input untouched
    assert get_kavlan_host_name(_Host("nova-1.lyon.grid5000.fr"), 4) == _Host("nova-1-kavlan-4.lyon.grid5000.fr")
    assert get_host_cluster(host) == "nova"
    assert host_shortname(host) == "nova-1"


def test_interface_and_ipv6_forms() -> None:
    assert interface_host_name("nova-1.lyon.grid5000.fr", "eth1") == "nova-1-eth1.lyon.grid5000.fr"
    assert interface_host_name("nova-1-eth1.lyon.grid5000.fr", "eth0") == "nova-1.lyon.grid5000.fr"
    assert interface_host_name("nova-1-kavlan-4.lyon", "ib0") == "nova-1-ib0-kavlan-4.lyon"
    assert ipv6_host_name("nova-1.lyon.grid5000.fr") == "nova-1-ipv6.lyon.grid5000.fr"
    assert ipv6_host_name("nova-1-eth1-kavlan-4.lyon.grid5000.fr") == "nova-1-eth1-kavlan-4-ipv6.lyon.grid5000.fr"
    assert ipv6_host_name("nova-1-ipv6") == "nova-1-ipv6"


def test_parse_host_name_parts_and_errors() -> None:
    parsed = parse_host_name("nova-12-eth1-kavlan-4-ipv6.lyon.grid5000.fr").unwrap()
    assert (parsed.cluster, parsed.number, parsed.interface, parsed.kavlan, parsed.ipv6, parsed.domain) == (
        "nova", "12", "eth1", 4, True, "lyon.grid5000.fr"
    )
    assert parsed.render() == "nova-12-eth1-kavlan-4-ipv6.lyon.grid5000.fr"
    bad = parse_host_name("frontend.lyon")
    assert isinstance(bad, Failure)
    assert isinstance(bad.failure(), ParseError)
    assert "frontend.lyon" in bad.failure().message


def test_empty_and_non_node_names_canonical_unchanged_parse_is_the_error_value() -> None:
    assert canonical_host_name("") == ""
    assert canonical_host_name("frontend.lyon") == "frontend.lyon"
    empty = parse_host_name("")
    assert isinstance(empty, Failure) and "the host name is empty" in empty.failure().message
    assert isinstance(parse_host_name("  "), Failure)
    assert parse_host_name("nova-1-kavlan-4.lyon").map(lambda n: n.canonical) == Success("nova-1.lyon")


def test_short_and_fqdn() -> None:
    assert short_to_fqdn("nova-1", "lyon") == "nova-1.lyon.grid5000.fr"
    assert fqdn_to_short("nova-1.lyon.grid5000.fr") == "nova-1"
    missing = host_longname("nova-1")
    assert isinstance(missing, Failure)
    assert isinstance(missing.failure(), InvalidInput)


@pytest.mark.parametrize(
    ("text", "hosts"),
    [
        ("paravance-[1-4,7].rennes", ("paravance-1.rennes", "paravance-2.rennes", "paravance-3.rennes",
                                      "paravance-4.rennes", "paravance-7.rennes")),
        ("nova-1.lyon.grid5000.fr", ("nova-1.lyon.grid5000.fr",)),
        ("a-[1-2].x,b-3.y", ("a-1.x", "a-2.x", "b-3.y")),
        ("n-[08-10]", ("n-08", "n-09", "n-10")),
        ("chartreuse2-[1,3]", ("chartreuse2-1", "chartreuse2-3")),
    ],
)
def test_parse_host_ranges(text: str, hosts: tuple[str, ...]) -> None:
    assert parse_host_ranges(text) == Success(hosts)


@pytest.mark.parametrize("text", ["a-[1-", "a-]1", "a-[x]", "a-[3-1]", "a-[[1]]", "a-[1],,b-2", "a b-[1]"])
def test_parse_host_ranges_errors(text: str) -> None:
    result = parse_host_ranges(text)
    assert isinstance(result, Failure)
    assert isinstance(result.failure(), ParseError)


def test_format_host_ranges() -> None:
    hosts = ["paravance-7.rennes", "paravance-2.rennes", "paravance-1.rennes", "paravance-3.rennes",
             "paravance-4.rennes", "paravance-2.rennes"]
    assert format_host_ranges(hosts) == Success("paravance-[1-4,7].rennes")
    assert format_host_ranges(["nova-1.lyon", "frontend.lyon", "chartreuse2-1"]) == Success(
        "chartreuse2-1,frontend.lyon,nova-1.lyon"
    )
    assert format_host_ranges(["n-08", "n-09"]) == Success("n-08,n-09")
    assert format_host_ranges([]) == Success("")
    bad = format_host_ranges(["a b"])
    assert isinstance(bad, Failure)
    assert isinstance(bad.failure(), InvalidInput)


def test_one_natural_sort_key() -> None:
    names = ["nova-10", "nova-2", "nova-1", "dahu-3", "x", "nova-2-eth1", "١٢"]
    assert sorted(names, key=natural_key) == ["dahu-3", "nova-1", "nova-2", "nova-2-eth1", "nova-10", "x", "١٢"]
