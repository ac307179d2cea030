"""PDUs of the reference data: structured from the embedded snapshot and from the API over a loopback server."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from g5k.api import APIConnection
from g5k.pdus import get_host_power_feeds, get_site_pdus, load_embedded_pdus
from g5k.reference_data import read_embedded_bytes
from g5k.results import performed
from returns.io import IOFailure, IOSuccess
from returns.result import Failure

from g5kpure.errors import G5kError, NotFound, ParseError
from g5kpure.reference import Outlet, PduIndex, PowerFeed, RetryPolicy, parse_pdu, parse_pdus, parse_site_pdus
from tests.fixtures.g5k_api.api_server import ApiServer
from tests.fixtures.g5k_api.pdu_state import PduState


def ok(result: Any) -> Any:
    assert isinstance(result, IOSuccess), result
    return performed(result).unwrap()


def err(result: Any) -> G5kError:
    assert isinstance(result, IOFailure), result
    error: G5kError = performed(result).failure()
    return error


@pytest.fixture(scope="module")
def deep() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read_embedded_bytes().unwrap())
    return data


@pytest.fixture(scope="module")
def index() -> PduIndex:
    loaded: PduIndex = ok(load_embedded_pdus())
    return loaded


def test_every_pdu_of_the_snapshot_is_indexed(index: PduIndex, deep: dict[str, Any]) -> None:
    expected = sum(len(s.get("pdus", [])) for s in deep["sites"].values())
    assert len(index.pdus) == expected == 108
    assert index.sites() == ("grenoble", "lille", "lyon", "nancy", "nantes", "rennes", "sophia", "strasbourg",
                             "toulouse")
    assert index.of_site("bordeaux") == ()


def test_a_pdu_outlets_in_natural_order(index: PduIndex) -> None:
    pdu = index.pdu("pdu1a", "lyon").unwrap()
    assert (pdu.kind, pdu.model, pdu.vendor) == ("pdu", "AP8886", "APC")
    assert pdu.outlets[:3] == (Outlet("14", ("neowise-1",)), Outlet("15", ("neowise-2",)),
                               Outlet("20", ("neowise-3",)))
    assert pdu.outlets_of("hydra-2") == ("36",)


def test_shared_outlets_and_wattmetres(index: PduIndex) -> None:
    wattmetres = [p for p in index.pdus if p.kind == "wattmetre-only"]
    assert len(wattmetres) == 8 and all("wattmetre_power_watt" in p.metrics for p in wattmetres)
    shared = [o for p in index.pdus for o in p.outlets if len(o.devices) > 1]
    assert shared and all(len(o.devices) >= 2 for o in shared)
    # an outlet written as {"uid": ...} is read like a bare uid
    kinovis = index.pdu("pdu-kinovis2-1").unwrap()
    assert kinovis.outlets_of("kinovis-3") == ("14",) and kinovis.vendor == "Raritan"


def test_an_ambiguous_or_unknown_pdu_is_not_found(index: PduIndex) -> None:
    ambiguous = index.pdu("wattmetrev3-1")
    assert isinstance(ambiguous, Failure) and "give the site" in ambiguous.failure().message
    assert index.pdu("wattmetrev3-1", "lyon").unwrap().site == "lyon"
    assert isinstance(index.pdu("nope").failure(), NotFound)


def test_host_feeds_join_both_sides(index: PduIndex) -> None:
    feeds = ok(get_host_power_feeds("neowise-1.lyon.grid5000.fr"))
    assert feeds == (PowerFeed("lyon", "pdu1a", "pdu", "14"), PowerFeed("lyon", "pdu1b", "pdu", "14"),
                     PowerFeed("lyon", "wattmetrev3-1", "wattmetre-only", "12"),
                     PowerFeed("lyon", "wattmetrev3-1", "wattmetre-only", "18"))
    # the same host under another name variant
    assert ok(get_host_power_feeds("neowise-1-kavlan-4.lyon")) == feeds
    # nova-1 is listed only by its own node entry: the kind comes from the PDU index
    assert ok(get_host_power_feeds("nova-1")) == (PowerFeed("lyon", "wattmetre1", "pdu", "7"),)
    assert isinstance(err(get_host_power_feeds("atlantis-1")), NotFound)


def test_malformed_pdus_are_parse_errors() -> None:
    assert isinstance(parse_pdu({"model": "x"}, "lyon").failure(), ParseError)
    bad_outlet = parse_pdu({"uid": "p", "ports": {"1": 3}}, "lyon")
    assert isinstance(bad_outlet, Failure) and "sites.lyon.pdus.p.ports.1" in bad_outlet.failure().message
    assert isinstance(parse_pdu({"uid": "p", "metrics": [{"x": 1}]}, "lyon").failure(), ParseError)
    assert isinstance(parse_pdu({"uid": "p", "model": 5}, "lyon").failure(), ParseError)
    assert isinstance(parse_site_pdus({"items": "x"}, "lyon").failure(), ParseError)
    assert isinstance(parse_pdus([]).failure(), ParseError)
    assert parse_pdu({"uid": "p", "ports": {"10": ["a-1", "a-2"], "9": {"uid": ["b-1"]}}}, "s").unwrap().outlets == (
        Outlet("9", ("b-1",)), Outlet("10", ("a-1", "a-2")))


@pytest.fixture
def conn(deep: dict[str, Any]) -> Iterator[APIConnection]:
    with ApiServer(PduState(copy.deepcopy(deep), "1" * 40)) as srv, \
            APIConnection(srv.base_uri, use_keyring=False, retry=RetryPolicy(max_attempts=1)) as c:
        yield c


@pytest.mark.integration
def test_live_site_pdus_match_the_embedded_ones(conn: APIConnection, index: PduIndex) -> None:
    assert ok(get_site_pdus("lyon", conn)) == index.of_site("lyon")
    assert ok(get_site_pdus("bordeaux", conn)) == ()
    assert isinstance(err(get_site_pdus("atlantis", conn)), NotFound)
