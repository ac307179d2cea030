"""PDUs from the embedded snapshot or the live API (``GET sites/<site>/pdus``), structured by ``g5kpure.reference``."""

from __future__ import annotations

import json

from g5k.api import APIConnection
from g5k.reference_data import EmbeddedOnce, load_embedded_snapshot
from g5k.results import performed
from returns.io import IOFailure, IOResult
from returns.result import Failure, Result

from g5kpure.errors import G5kError, ParseError
from g5kpure.hosts import HasAddress
from g5kpure.reference import Pdu, PduIndex, PowerFeed, host_feeds, parse_pdus, parse_site_pdus


def _decode(payload: bytes) -> Result[PduIndex, G5kError]:
    try:
        deep = json.loads(payload)
    except ValueError as exc:
        return Failure(ParseError(what="embedded reference snapshot", hint=str(exc)))
    parsed: Result[PduIndex, G5kError] = parse_pdus(deep)
    return parsed


_PDUS = EmbeddedOnce(_decode)


def load_embedded_pdus() -> IOResult[PduIndex, G5kError]:
    """The PDUs of the embedded snapshot, parsed on first use, then shared."""
    return _PDUS.load()


def get_site_pdus(site: str, conn: APIConnection | None = None) -> IOResult[tuple[Pdu, ...], G5kError]:
    """The PDUs of a site from the live API."""
    answer = (conn or APIConnection()).get(f"sites/{site}/pdus")
    if isinstance(answer, IOFailure):
        return answer
    parsed: Result[tuple[Pdu, ...], G5kError] = parse_site_pdus(performed(answer).unwrap(), site)
    return IOResult.from_result(parsed)


def get_host_power_feeds(host: str | HasAddress) -> IOResult[tuple[PowerFeed, ...], G5kError]:
    """The PDU outlets feeding a host according to the embedded snapshot (PDU tables and the node's entries)."""
    def feeds(index: PduIndex) -> IOResult[tuple[PowerFeed, ...], G5kError]:
        snapshot = load_embedded_snapshot()
        if isinstance(snapshot, IOFailure):
            return snapshot
        found: Result[tuple[PowerFeed, ...], G5kError] = host_feeds(index, performed(snapshot).unwrap(), host)
        return IOResult.from_result(found)

    return load_embedded_pdus().bind(feeds)


