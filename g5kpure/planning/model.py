"""The planning value: busy intervals per host and per other resource (vlan, subnet, disk) over a window.

A :class:`Planning` is frozen: for every usable host (and, when asked, every kavlan, subnet and disk) the busy
intervals over ``[start, end]``, merged and sorted; free intervals are derived from them. Hosts are found by any
form of their name (FQDN, ``nova-1.lyon``, a bare ``nova-1`` of a planned cluster, interface / kavlan / ipv6
variants), always through the one host grammar of :mod:`g5kpure.hosts`. The functions here make new plannings
from old ones: merged, clipped, restricted to elements, without excluded elements, with extra busy periods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from attrs import evolve, field, frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput
from g5kpure.hosts import get_host_cluster, host_shortname, natural_key, node_fqdn
from g5kpure.oar.dates import PARIS

Interval = tuple[int, int]

#: Vlan kinds as OAR/Grid'5000 name their resource types.
VLAN_KINDS = ("kavlan-local", "kavlan", "kavlan-global")


def paris_time(ts: int | float, seconds: bool = False) -> str:
    """A unix timestamp as ``YYYY-MM-DD HH:MM`` (``:SS`` with ``seconds``) in Europe/Paris time."""
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(ts, tz=UTC).astimezone(PARIS).strftime(fmt)


def _merged(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    merged: list[Interval] = []
    for s, e in sorted((int(s), int(e)) for s, e in intervals if e > s):
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return tuple(merged)


def merge_intervals(intervals: Iterable[Interval], start: int, end: int) -> tuple[Interval, ...]:
    """Busy intervals clipped to [start, end], sorted, with overlapping, nested and touching ones merged."""
    return _merged((max(s, start), min(e, end)) for s, e in intervals if e > start and s < end)


def free_intervals(busy: Sequence[Interval], start: int, end: int) -> tuple[Interval, ...]:
    """The gaps of merged busy intervals inside [start, end] (never empty nor inverted)."""
    free: list[Interval] = []
    cursor = start
    for s, e in busy:
        if s > cursor:
            free.append((cursor, s))
        cursor = max(cursor, e)
    if cursor < end:
        free.append((cursor, end))
    return tuple(free)


@frozen
class HostPlanning:
    """One host: its site, cluster and busy intervals (stored sorted and merged, whatever the order given)."""

    host: str
    site: str
    cluster: str
    busy: tuple[Interval, ...] = field(converter=_merged)


@frozen
class ResourcePlanning:
    """One non-host resource of a site (a vlan, a subnet or a disk): its kind, name and busy intervals (stored
    sorted and merged)."""

    site: str
    kind: str
    name: str
    busy: tuple[Interval, ...] = field(converter=_merged)


@lru_cache(maxsize=1 << 16)
def _host_names(host: str, site: str, cluster: str) -> tuple[tuple[Any, ...], str, str]:
    """The sort key (site, cluster and name in natural order), canonical FQDN and node name of a planned host
    (remembered: plannings are rebuilt often from the same hosts)."""
    key = (site, natural_key(cluster), natural_key(host))
    return key, node_fqdn(host, site).value_or(host), host_shortname(host)


def _sorted_hosts(hosts: Iterable[HostPlanning]) -> tuple[HostPlanning, ...]:
    return tuple(sorted(hosts, key=lambda h: _host_names(h.host, h.site, h.cluster)[0]))


def _sorted_resources(resources: Iterable[ResourcePlanning]) -> tuple[ResourcePlanning, ...]:
    return tuple(sorted(resources, key=lambda r: (r.site, r.kind, natural_key(r.name))))


def _pairs(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(dict(pairs).items()))


def fqdn_in(name: str, site_of_cluster: Mapping[str, str]) -> Result[str, InvalidInput]:
    """The canonical FQDN of a node named in any form; a bare ``nova-1`` takes the site of its cluster from
    ``site_of_cluster`` (an InvalidInput saying what to write when the cluster is not there)."""
    cluster = get_host_cluster(name)
    return node_fqdn(name, site_of_cluster.get(cluster) if cluster is not None else None)


@frozen
class Planning:
    """Busy intervals of hosts and other resources over [start, end]; sites whose data could not be read; the
    OAR queue of the clusters whose jobs are not submitted to the default queue (``cluster_queues``)."""

    start: int
    end: int
    hosts: tuple[HostPlanning, ...] = field(converter=_sorted_hosts)
    resources: tuple[ResourcePlanning, ...] = field(default=(), converter=_sorted_resources)
    failed_sites: tuple[tuple[str, G5kError], ...] = ()
    cluster_queues: tuple[tuple[str, str], ...] = field(default=(), converter=_pairs)
    _by_name: Mapping[str, HostPlanning] = field(init=False, eq=False, repr=False, hash=False)
    _site_of: Mapping[str, str] = field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        index: dict[str, HostPlanning] = {h.host: h for h in self.hosts}
        for h in self.hosts:
            _, fqdn, short = _host_names(h.host, h.site, h.cluster)
            index.setdefault(fqdn, h)
            index.setdefault(short, h)
        object.__setattr__(self, "_by_name", MappingProxyType(index))
        object.__setattr__(self, "_site_of", MappingProxyType({h.cluster: h.site for h in self.hosts}))

    @property
    def sites(self) -> tuple[str, ...]:
        """Sites with at least one host or resource, sorted."""
        return tuple(sorted({h.site for h in self.hosts} | {r.site for r in self.resources}))

    @property
    def clusters(self) -> tuple[tuple[str, str], ...]:
        """(site, cluster) pairs with at least one host, sorted by site then cluster name."""
        return tuple(sorted({(h.site, h.cluster) for h in self.hosts}, key=lambda sc: (sc[0], natural_key(sc[1]))))

    def cluster_sites(self) -> dict[str, str]:
        """A fresh mapping cluster -> site."""
        return dict(self._site_of)

    def vlans(self) -> tuple[ResourcePlanning, ...]:
        """The vlan resources (every kind)."""
        return tuple(r for r in self.resources if r.kind in VLAN_KINDS)

    def free(self, element: HostPlanning | ResourcePlanning) -> tuple[Interval, ...]:
        """Free intervals of a host or resource of this planning."""
        return free_intervals(element.busy, self.start, self.end)

    def fqdn(self, name: str) -> Result[str, InvalidInput]:
        """The canonical FQDN of a node named in any form (a bare ``nova-1`` takes its cluster's site here)."""
        return fqdn_in(name, self._site_of)

    def host(self, name: str) -> HostPlanning | None:
        """The planning of one host named in any form (FQDN, ``nova-1.lyon``, ``nova-1``, variants), or None."""
        found = self._by_name.get(name)
        if found is None and isinstance(fqdn := self.fqdn(name), Success):
            found = self._by_name.get(fqdn.unwrap())
        return found

    def hosts_named(self, names: Iterable[str]) -> frozenset[str]:
        """The FQDNs of the hosts of this planning that ``names`` name (in any form); other names are ignored."""
        return frozenset(found.host for name in names if (found := self.host(name)) is not None)


def empty_planning(start: int, end: int) -> Result[Planning, InvalidInput]:
    """A planning with nothing in it, checking that start < end."""
    return check_window(start, end).map(lambda _: Planning(start=start, end=end, hosts=()))


def check_window(start: int, end: int) -> Result[None, InvalidInput]:
    """Success when ``start < end``, else the InvalidInput of a planning window."""
    if end <= start:
        return Failure(InvalidInput("planning window", f"{start}..{end}", "a start before the end"))
    return Success(None)


def merge_plannings(plannings: Sequence[Planning]) -> Result[Planning, InvalidInput]:
    """Several per-site plannings over the same window as one (hosts, resources, failures and queues united)."""
    if not plannings:
        return Failure(InvalidInput("plannings", "()", "at least one planning"))
    first = plannings[0]
    if any((p.start, p.end) != (first.start, first.end) for p in plannings):
        return Failure(InvalidInput("plannings", "different windows", "plannings over the same [start, end]"))
    hosts = {h.host: h for p in plannings for h in p.hosts}
    resources = {(r.site, r.kind, r.name): r for p in plannings for r in p.resources}
    unique = {(site, error.message): (site, error) for p in plannings for site, error in p.failed_sites}
    failed = tuple(unique[key] for key in sorted(unique))
    queues = {cluster: queue for p in plannings for cluster, queue in p.cluster_queues}
    return Success(
        Planning(start=first.start, end=first.end, hosts=hosts.values(), resources=resources.values(),
                 failed_sites=failed, cluster_queues=queues)
    )


def _reclipped(planning: Planning, start: int, end: int, extra: tuple[Interval, ...] = ()) -> Planning:
    """The planning over [start, end] with every busy interval (plus ``extra``) clipped to it."""
    return evolve(
        planning,
        start=start,
        end=end,
        hosts=(evolve(h, busy=merge_intervals(h.busy + extra, start, end)) for h in planning.hosts),
        resources=(evolve(r, busy=merge_intervals(r.busy + extra, start, end)) for r in planning.resources),
    )


def add_busy_periods(planning: Planning, periods: Iterable[Interval]) -> Planning:
    """A new planning where every host and resource is also busy during ``periods`` (e.g. the charter's)."""
    return _reclipped(planning, planning.start, planning.end, tuple(periods))


def clip_planning(planning: Planning, start: int, end: int) -> Result[Planning, InvalidInput]:
    """A new planning over [start, end] (inside the original window) with every interval clipped to it."""
    s, e = max(start, planning.start), min(end, planning.end)
    if e <= s:
        return Failure(InvalidInput("window", f"{start}..{end}", f"inside {planning.start}..{planning.end}"))
    return Success(_reclipped(planning, s, e))


def restrict_planning(planning: Planning, elements: Iterable[str]) -> Planning:
    """A new planning keeping the hosts of the given elements (grid5000, sites, clusters, hosts named in any form)
    and their sites' resources."""
    wanted = set(elements)
    if "grid5000" in wanted:
        return planning
    named = planning.hosts_named(wanted)
    hosts = tuple(h for h in planning.hosts if h.site in wanted or h.cluster in wanted or h.host in named)
    sites = {h.site for h in hosts} | (wanted & set(planning.sites))
    return evolve(planning, hosts=hosts, resources=(r for r in planning.resources if r.site in sites))


def exclude_elements(planning: Planning, excluded: Iterable[str]) -> Planning:
    """A new planning without the excluded sites, clusters, hosts (named in any form) and resources."""
    out = set(excluded)
    if not out:
        return planning
    named = planning.hosts_named(out)
    hosts = tuple(h for h in planning.hosts if h.site not in out and h.cluster not in out and h.host not in named)
    resources = tuple(r for r in planning.resources if r.site not in out and r.name not in out and r.kind not in out)
    return evolve(planning, hosts=hosts, resources=resources)
