"""Power distribution units (PDUs and wattmetres) of the Reference API: which outlet feeds which host.

A site's ``pdus`` collection lists each PDU with its outlets (``ports``: outlet number -> the device it feeds;
the API writes a device as a uid, a list of uids for a shared outlet, or ``{"uid": ...}``), its ``kind``
(``pdu`` when absent, ``wattmetre-only`` for a wattmetre that measures without switching) and the Kwollect
metrics it reports. Each node also lists its own ``pdu`` entries (``Node.pdu``). This module structures the
first into frozen values and answers "what powers this host" from either side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from attrs import frozen
from returns.iterables import Fold
from returns.result import Failure, Result, Success

from g5kpure.errors import NotFound, ParseError
from g5kpure.hosts import HasAddress, address_of, host_shortname, natural_key
from g5kpure.reference.snapshot import Snapshot

DEFAULT_KIND = "pdu"


@frozen
class Outlet:
    """One outlet of a PDU and the devices (node or server uids) it feeds."""

    port: str
    devices: tuple[str, ...]


@frozen
class Pdu:
    """A PDU or wattmetre of a site: kind, model, vendor, outlets in natural order, Kwollect metric names."""

    uid: str
    site: str
    kind: str = DEFAULT_KIND
    model: str = ""
    vendor: str = ""
    outlets: tuple[Outlet, ...] = ()
    metrics: tuple[str, ...] = ()

    def outlets_of(self, device: str) -> tuple[str, ...]:
        """The outlet numbers feeding ``device`` (a uid such as ``nova-1``)."""
        return tuple(o.port for o in self.outlets if device in o.devices)


@frozen
class PowerFeed:
    """One outlet feeding a host: the PDU's site and uid, its kind and the outlet number."""

    site: str
    pdu: str
    kind: str
    port: str


@frozen
class PduIndex:
    """Every PDU of the grid (sorted by site then uid), with a reverse index device -> outlets."""

    pdus: tuple[Pdu, ...]

    def sites(self) -> tuple[str, ...]:
        """Sites with at least one PDU, sorted."""
        return tuple(sorted({p.site for p in self.pdus}))

    def of_site(self, site: str) -> tuple[Pdu, ...]:
        """The PDUs of a site (empty for a site without any)."""
        return tuple(p for p in self.pdus if p.site == site)

    def pdu(self, uid: str, site: str | None = None) -> Result[Pdu, NotFound]:
        """The PDU named ``uid`` (``site`` needed when several sites use the name)."""
        found = [p for p in self.pdus if p.uid == uid and (site is None or p.site == site)]
        if len(found) == 1:
            return Success(found[0])
        if not found:
            return Failure(NotFound(what="PDU", key=uid if site is None else f"{uid} in {site}"))
        sites = ", ".join(p.site for p in found)
        return Failure(NotFound(what="PDU", key=uid, hint=f"several sites have one ({sites}): give the site"))

    def feeds(self, host: str | HasAddress, site: str | None = None) -> tuple[PowerFeed, ...]:
        """The outlets the PDUs' own tables list for a host (any name variant), in site, PDU, outlet order."""
        uid = host_shortname(address_of(host))
        return tuple(PowerFeed(p.site, p.uid, p.kind, port)
                     for p in self.pdus if site is None or p.site == site
                     for port in p.outlets_of(uid))


def _devices(value: Any, where: str) -> Result[tuple[str, ...], ParseError]:
    if isinstance(value, Mapping):
        return _devices(value.get("uid"), where)
    if isinstance(value, str):
        return Success((value,))
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return Success(tuple(value))
    return Failure(ParseError(what="PDU outlet", where=where, line=repr(value)[:100],
                              hint="expected a uid, a list of uids or {uid: ...}"))


def _text(item: Mapping[str, Any], key: str, where: str, default: str = "") -> Result[str, ParseError]:
    value = item.get(key, default)
    if value is None:
        return Success(default)
    if not isinstance(value, str):
        return Failure(ParseError(what=f"PDU {key}", where=where, line=repr(value)[:100], hint="expected a string"))
    return Success(value)


def parse_pdu(item: Any, site: str, where: str = "") -> Result[Pdu, ParseError]:
    """One PDU as the API serves it (``GET sites/<site>/pdus/<uid>``)."""
    here = where or f"sites.{site}.pdus"
    if not isinstance(item, Mapping) or not isinstance(item.get("uid"), str):
        return Failure(ParseError(what="PDU", where=here, line=repr(item)[:100], hint="expected an object with uid"))
    here = f"{here}.{item['uid']}"
    texts = Fold.collect(
        (_text(item, key, here, default) for key, default in (("kind", DEFAULT_KIND), ("model", ""), ("vendor", ""))),
        Success(()),
    )
    return Result.do(
        Pdu(uid=item["uid"], site=site, kind=kind, model=model, vendor=vendor, outlets=outlets, metrics=metrics)
        for kind, model, vendor in texts
        for outlets in _outlets(item.get("ports") or {}, here)
        for metrics in _metric_names(item.get("metrics") or [], here)
    )


def _outlets(ports: Any, here: str) -> Result[tuple[Outlet, ...], ParseError]:
    if not isinstance(ports, Mapping):
        return Failure(ParseError(what="PDU ports", where=here, line=repr(ports)[:100], hint="expected an object"))

    def outlet(port: Any) -> Result[Outlet, ParseError]:
        return _devices(ports[port], f"{here}.ports.{port}").map(lambda devices: Outlet(str(port), devices))

    return Fold.collect((outlet(port) for port in sorted(ports, key=lambda k: natural_key(str(k)))), Success(()))


def _metric_names(metrics: Any, here: str) -> Result[tuple[str, ...], ParseError]:
    if not isinstance(metrics, list) or not all(isinstance(m, Mapping) and isinstance(m.get("name"), str)
                                                for m in metrics):
        return Failure(ParseError(what="PDU metrics", where=here, line=repr(metrics)[:100],
                                  hint="expected a list of {name, ...}"))
    return Success(tuple(m["name"] for m in metrics))


def parse_site_pdus(payload: Any, site: str) -> Result[tuple[Pdu, ...], ParseError]:
    """A site's PDUs from the API collection (``{items: [...]}``) or a plain list, sorted by uid."""
    items = payload.get("items") if isinstance(payload, Mapping) else payload
    if not isinstance(items, list):
        return Failure(ParseError(what="PDU collection", where=f"sites.{site}.pdus", line=repr(payload)[:100],
                                  hint="expected {items: [...]} or a list"))
    parsed = Fold.collect((parse_pdu(item, site, f"sites.{site}.pdus[{i}]") for i, item in enumerate(items)),
                          Success(()))
    return parsed.map(lambda pdus: tuple(sorted(pdus, key=lambda p: natural_key(p.uid))))


def pdu_index(per_site: Iterable[tuple[str, tuple[Pdu, ...]]]) -> PduIndex:
    """An index over the PDUs of several sites."""
    return PduIndex(tuple(p for _, pdus in sorted(per_site) for p in pdus))


def parse_pdus(deep: Any) -> Result[PduIndex, ParseError]:
    """Every site's PDUs from the deep JSON of the Reference API (the embedded snapshot's layout)."""
    sites = deep.get("sites") if isinstance(deep, Mapping) else None
    if not isinstance(sites, Mapping):
        return Failure(ParseError(what="Reference API deep JSON", hint="expected {sites: {...}}"))

    def site_pdus(site: str) -> Result[tuple[str, tuple[Pdu, ...]], ParseError]:
        payload = sites[site].get("pdus") or [] if isinstance(sites[site], Mapping) else None
        return parse_site_pdus(payload, site).map(lambda pdus: (site, pdus))

    return Fold.collect((site_pdus(site) for site in sorted(sites)), Success(())).map(pdu_index)


def node_feeds(snapshot: Snapshot, host: str | HasAddress) -> Result[tuple[PowerFeed, ...], NotFound]:
    """The outlets a node's own ``pdu`` entries name (kind unknown there: the PDU index knows it)."""
    return snapshot.node(host).map(
        lambda node: tuple(PowerFeed(node.site, p.uid, "", str(p.port) if p.port is not None else "")
                           for p in node.pdu))


def host_feeds(index: PduIndex, snapshot: Snapshot, host: str | HasAddress) -> Result[tuple[PowerFeed, ...], NotFound]:
    """Every outlet feeding a host, from the PDUs' tables and the node's own entries (union, kinds filled in)."""
    return snapshot.node(host).map(lambda node: _feeds(index, snapshot, host, node.site))


def _feeds(index: PduIndex, snapshot: Snapshot, host: str | HasAddress, site: str) -> tuple[PowerFeed, ...]:
    found: dict[tuple[str, str], PowerFeed] = {(f.pdu, f.port): f for f in index.feeds(host, site)}
    for feed in node_feeds(snapshot, host).unwrap():
        if (feed.pdu, feed.port) not in found:
            kind = index.pdu(feed.pdu, site).map(lambda p: p.kind).value_or("")
            found[(feed.pdu, feed.port)] = PowerFeed(site, feed.pdu, kind, feed.port)
    return tuple(sorted(found.values(), key=lambda f: (f.pdu, natural_key(f.port))))
