"""The planning of Grid'5000 resources and the slots where a request fits.

A :class:`Planning` is a frozen value: for every usable host (and, when asked, every kavlan, subnet and disk)
the busy intervals over a window ``[start, end]``, merged and sorted; free intervals are derived from them.
It is built by pure functions from what each data source answers (the Grid'5000 API ``status``/``jobs``, rows
of the OAR database, the OAR REST API); the adapters fetch, this module only reads values.

:func:`compute_slots` sweeps once over the sorted boundaries of every interval; the finders
(:func:`find_first_slot`, :func:`find_max_slot`, :func:`find_free_slot`), :func:`distribute_hosts` and
:func:`get_jobs_specs` turn slots into per-site OAR resource requests.

Differences from execo_g5k (each is deliberate and tested):

- busy intervals are merged correctly: overlapping and nested jobs never produce false free time
  (execo's merge skips the last interval and reports a host free while a longer job still runs);
- nothing mutates its arguments (execo's ``compute_slots``, ``find_free_slot`` and ``distribute_hosts`` do);
- a wanted element absent from the planning is never silently satisfied: :func:`find_free_slot` answers a
  :class:`~g5kpure.errors.NoSlot` naming it;
- wanted counts are *inclusive*: ``{"grid5000": 40, "nova": 10}`` means 40 hosts in total, at least 10 of them on
  nova (execo adds a site's wanted clusters to the site and hands out the grid5000 count on top, so its
  ``distribute_hosts`` could return more hosts than ``find_free_slot`` had checked);
- :func:`distribute_hosts` answers a ``Failure`` when more is wanted than available (execo raises StopIteration);
- :func:`get_jobs_specs` emits well-formed OAR resource strings only, hosts in natural order, every value quoted;
  an element excluded from the slots stays in the ``host NOT IN`` / ``cluster NOT IN`` filter of its site
  (the slots record their exclusions), and the vlan counts are the ones :func:`distribute_hosts` answered;
- the builders are total: a malformed payload value is a ParseError naming its path, never a job silently
  dropped (a dropped job would show its busy hosts as free);
- kavlan kinds (``kavlan-local``, ``kavlan``, ``kavlan-global``) come from the data, not from vlan number ranges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from attrs import field, frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NoSlot, ParseError
from g5kpure.hosts import natural_key
from g5kpure.oar.dates import PARIS, format_walltime

Interval = tuple[int, int]

#: execo pads every job's end by 121 s (OAR needs time to clean a node after a job); same default here.
EXECO_END_MARGIN = 121
#: Vlan kinds as OAR/Grid'5000 name their resource types.
VLAN_KINDS = ("kavlan-local", "kavlan", "kavlan-global")
#: OAR states of a job that holds or will hold resources.
ACTIVE_JOB_STATES = frozenset(
    {"waiting", "tolaunch", "toackreservation", "launching", "running", "suspended", "resuming", "finishing"}
)
#: Node states that make a node unusable by default (execo keeps Absent and Suspected nodes).
DEFAULT_UNAVAILABLE_STATES = frozenset({"dead"})

_HOST_RE = re.compile(
    r"^(?P<short>(?P<cluster>[a-z][a-z0-9]*?)-(?P<num>\d+))(?:\.(?P<site>[a-z]+))?(?:\.grid5000\.fr)?$"
)


def paris_time(ts: int | float, seconds: bool = False) -> str:
    """A unix timestamp as ``YYYY-MM-DD HH:MM`` (``:SS`` with ``seconds``) in Europe/Paris time."""
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(ts, tz=UTC).astimezone(PARIS).strftime(fmt)


def host_cluster_site(host: str) -> tuple[str, str] | None:
    """The (cluster, site) of a Grid'5000 host name (``nova-1.lyon.grid5000.fr``), or None if it is not one."""
    m = _HOST_RE.match(host)
    if m is None or m.group("site") is None:
        return None
    return m.group("cluster"), m.group("site")


def host_sort_key(host: str) -> tuple[Any, ...]:
    """Sort key putting ``nova-2`` before ``nova-10`` (site, cluster, number)."""
    m = _HOST_RE.match(host)
    if m is None:
        return ("", "", natural_key(host))
    return (m.group("site") or "", m.group("cluster"), int(m.group("num")))


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


def _sorted_hosts(hosts: Iterable[HostPlanning]) -> tuple[HostPlanning, ...]:
    return tuple(sorted(hosts, key=lambda h: host_sort_key(h.host)))


def _sorted_resources(resources: Iterable[ResourcePlanning]) -> tuple[ResourcePlanning, ...]:
    return tuple(sorted(resources, key=lambda r: (r.site, r.kind, natural_key(r.name))))


@frozen
class Planning:
    """Busy intervals of hosts and other resources over [start, end]; sites whose data could not be read."""

    start: int
    end: int
    hosts: tuple[HostPlanning, ...] = field(converter=_sorted_hosts)
    resources: tuple[ResourcePlanning, ...] = field(default=(), converter=_sorted_resources)
    failed_sites: tuple[tuple[str, G5kError], ...] = ()
    _by_name: Mapping[str, HostPlanning] = field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        index: dict[str, HostPlanning] = {h.host: h for h in self.hosts}
        for h in self.hosts:
            index.setdefault(h.host.split(".", 1)[0], h)
        object.__setattr__(self, "_by_name", MappingProxyType(index))

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
        return {h.cluster: h.site for h in self.hosts}

    def vlans(self) -> tuple[ResourcePlanning, ...]:
        """The vlan resources (every kind)."""
        return tuple(r for r in self.resources if r.kind in VLAN_KINDS)

    def free(self, element: HostPlanning | ResourcePlanning) -> tuple[Interval, ...]:
        """Free intervals of a host or resource of this planning."""
        return free_intervals(element.busy, self.start, self.end)

    def host(self, name: str) -> HostPlanning | None:
        """The planning of one host by FQDN or short name, or None."""
        return self._by_name.get(name)


def empty_planning(start: int, end: int) -> Result[Planning, InvalidInput]:
    """A planning with nothing in it, checking that start < end."""
    if end <= start:
        return Failure(InvalidInput("planning window", f"{start}..{end}", "a start before the end"))
    return Success(Planning(start=start, end=end, hosts=()))


def merge_plannings(plannings: Sequence[Planning]) -> Result[Planning, InvalidInput]:
    """Several per-site plannings over the same window as one (hosts, resources and failures united)."""
    if not plannings:
        return Failure(InvalidInput("plannings", "()", "at least one planning"))
    first = plannings[0]
    if any((p.start, p.end) != (first.start, first.end) for p in plannings):
        return Failure(InvalidInput("plannings", "different windows", "plannings over the same [start, end]"))
    hosts = {h.host: h for p in plannings for h in p.hosts}
    resources = {(r.site, r.kind, r.name): r for p in plannings for r in p.resources}
    unique = {(site, error.message): (site, error) for p in plannings for site, error in p.failed_sites}
    failed = tuple(unique[key] for key in sorted(unique))
    return Success(
        Planning(start=first.start, end=first.end, hosts=hosts.values(), resources=resources.values(),
                 failed_sites=failed)
    )


def add_busy_periods(planning: Planning, periods: Iterable[Interval]) -> Planning:
    """A new planning where every host and resource is also busy during ``periods`` (e.g. the charter's)."""
    extra = tuple(periods)
    s, e = planning.start, planning.end
    return Planning(
        start=s,
        end=e,
        hosts=(HostPlanning(h.host, h.site, h.cluster, merge_intervals(h.busy + extra, s, e)) for h in planning.hosts),
        resources=(
            ResourcePlanning(r.site, r.kind, r.name, merge_intervals(r.busy + extra, s, e)) for r in planning.resources
        ),
        failed_sites=planning.failed_sites,
    )


def clip_planning(planning: Planning, start: int, end: int) -> Result[Planning, InvalidInput]:
    """A new planning over [start, end] (inside the original window) with every interval clipped to it."""
    s, e = max(start, planning.start), min(end, planning.end)
    if e <= s:
        return Failure(InvalidInput("window", f"{start}..{end}", f"inside {planning.start}..{planning.end}"))
    return Success(Planning(
        start=s, end=e,
        hosts=(HostPlanning(h.host, h.site, h.cluster, merge_intervals(h.busy, s, e)) for h in planning.hosts),
        resources=(ResourcePlanning(r.site, r.kind, r.name, merge_intervals(r.busy, s, e)) for r in planning.resources),
        failed_sites=planning.failed_sites,
    ))


def window_slots(slots: Slots, until: int) -> Slots:
    """The slots starting before ``until``, as if the planning ended there (for plotting a part of it)."""
    end = min(until, slots.planning_end)
    return Slots(walltime=slots.walltime, elements=slots.elements,
                 slots=tuple(s for s in slots.slots if s.start < end), cluster_sites=slots.cluster_sites,
                 planning_end=end, excluded=slots.excluded)


def restrict_planning(planning: Planning, elements: Iterable[str]) -> Planning:
    """A new planning keeping the hosts of the given elements (grid5000, sites, clusters, hosts) and their sites'
    resources."""
    wanted = set(elements)
    if "grid5000" in wanted:
        return planning
    hosts = tuple(
        h for h in planning.hosts
        if h.site in wanted or h.cluster in wanted or h.host in wanted or h.host.split(".", 1)[0] in wanted
    )
    sites = {h.site for h in hosts} | (wanted & set(planning.sites))
    return Planning(
        start=planning.start, end=planning.end, hosts=hosts,
        resources=(r for r in planning.resources if r.site in sites), failed_sites=planning.failed_sites,
    )


def exclude_elements(planning: Planning, excluded: Iterable[str]) -> Planning:
    """A new planning without the excluded sites, clusters, hosts (FQDN or short) and resources."""
    out = set(excluded)
    if not out:
        return planning
    hosts = tuple(
        h for h in planning.hosts
        if not ({h.site, h.cluster, h.host, h.host.split(".", 1)[0]} & out)
    )
    resources = tuple(r for r in planning.resources if r.site not in out and r.name not in out and r.kind not in out)
    return Planning(start=planning.start, end=planning.end, hosts=hosts, resources=resources,
                    failed_sites=planning.failed_sites)


# --------------------------------------------------------------------------------------------------------------
# Builders: one per data source. Each takes the payloads already fetched and returns Result[Planning, ParseError].
# --------------------------------------------------------------------------------------------------------------


class _Malformed(Exception):
    """Internal: a payload value that is not what the builder expects (turned into a ParseError, never raised out)."""

    def __init__(self, where: str, value: Any, expected: str) -> None:
        super().__init__(where)
        self.error = ParseError("planning payload", where, repr(value)[:200], f"expected {expected}")


def _mapping(value: Any, where: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise _Malformed(where, value, "an object")
    return value


def _items(value: Any, where: str) -> Sequence[Any]:
    """A JSON list (None or absent = empty); a string, a number or an object is malformed."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise _Malformed(where, value, "a list")
    return value


def _list(value: Any, where: str) -> Sequence[Any]:
    """A JSON list that must be there."""
    if not isinstance(value, list | tuple):
        raise _Malformed(where, value, "a list")
    return value


def _text(value: Any, where: str, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise _Malformed(where, value, "a string")
    return value


def _texts(value: Any, where: str) -> tuple[str, ...]:
    return tuple(_text(v, f"{where}[{i}]") for i, v in enumerate(_items(value, where)))


def _seconds(value: Any, where: str) -> int | None:
    """A non-negative whole number of seconds (an integral float is accepted); None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Malformed(where, value, "a number of seconds")
    if isinstance(value, float) and (not value.is_integer() or not abs(value) < 2**62):
        raise _Malformed(where, value, "a finite whole number of seconds")
    if value < 0:
        raise _Malformed(where, value, "a non-negative number of seconds")
    return int(value)


def _job_interval(
    state: str, started: int | None, scheduled: int | None, walltime: int | None, end_margin: int, where: str
) -> Interval | None:
    """The busy interval of an active job: from its start (``started``, else ``scheduled``) for ``walltime`` plus
    ``end_margin``. A *waiting* job with no start at all has not been scheduled by OAR yet and holds no resource:
    None. Any other active job without a start, or without a positive walltime, is malformed (never free)."""
    if walltime is None or walltime <= 0:
        raise _Malformed(f"{where}.walltime", walltime, "a positive walltime in seconds")
    start = started if started else scheduled
    if not start:
        if state == "waiting":
            return None
        raise _Malformed(where, state, f"a start time for a {state} job")
    return start, start + walltime + end_margin


def _vlan_name(kind: str, uid: str) -> str:
    return f"kavlan-{uid}" if not uid.startswith("kavlan") else uid


def _api_interval(job: Any, where: str, ignore_besteffort: bool, end_margin: int) -> Interval | None:
    """The busy interval of one job of a Grid'5000 API answer, None when it is inactive or ignored."""
    entry = _mapping(job, where)
    queue = _text(entry.get("queue"), f"{where}.queue", "")
    types = _texts(entry.get("types"), f"{where}.types")
    if ignore_besteffort and (queue == "besteffort" or "besteffort" in types):
        return None
    state = _text(entry.get("state"), f"{where}.state").lower()
    if state not in ACTIVE_JOB_STATES:
        return None
    return _job_interval(state, _seconds(entry.get("started_at"), f"{where}.started_at"),
                         _seconds(entry.get("scheduled_at"), f"{where}.scheduled_at"),
                         _seconds(entry.get("walltime"), f"{where}.walltime"), end_margin, where)


def _api_intervals(reservations: Any, where: str, ignore_besteffort: bool, end_margin: int) -> list[Interval]:
    return [iv for i, job in enumerate(_items(reservations, where))
            if (iv := _api_interval(job, f"{where}[{i}]", ignore_besteffort, end_margin)) is not None]


def planning_from_api(
    site: str,
    status: Any,
    start: int,
    end: int,
    jobs: Any = None,
    *,
    ignore_besteffort: bool = True,
    end_margin: int = EXECO_END_MARGIN,
    unavailable_states: frozenset[str] = DEFAULT_UNAVAILABLE_STATES,
    vlans: bool = True,
    subnets: bool = False,
    storage: bool = False,
) -> Result[Planning, G5kError]:
    """The planning of one site from the Grid'5000 API ``/sites/<site>/status`` answer (and optionally its
    ``/jobs?resources=yes`` answer): each active reservation busies its nodes from ``started_at`` (or
    ``scheduled_at``) for its walltime plus ``end_margin``; nodes in ``unavailable_states`` are left out.

    Total: any malformed value is a ParseError naming its path (e.g. ``rennes.jobs[3].walltime``); a job is never
    dropped for being malformed (that would report its hosts free). A waiting job with no start at all (OAR has
    not scheduled it yet) holds nothing and is left out."""
    if end <= start:
        return Failure(InvalidInput("planning window", f"{start}..{end}", "a start before the end"))
    try:
        return Success(_from_api(site, status, start, end, jobs, ignore_besteffort, end_margin, unavailable_states,
                                 vlans, subnets, storage))
    except _Malformed as bad:
        return Failure(bad.error)


def _from_api(
    site: str, status: Any, start: int, end: int, jobs: Any, ignore_besteffort: bool, end_margin: int,
    unavailable_states: frozenset[str], vlans: bool, subnets: bool, storage: bool,
) -> Planning:
    status = _mapping(status, f"{site}.status")
    nodes = _mapping(status.get("nodes"), f"{site}.status.nodes")
    busy: dict[str, list[Interval]] = {}
    hosts: dict[str, tuple[str, str]] = {}
    for name, node in nodes.items():
        where = f"{site}.status.nodes[{name!r}]"
        if not isinstance(name, str) or (parts := host_cluster_site(name)) is None:
            raise _Malformed(where, name, "a host name such as nova-1.lyon.grid5000.fr")
        entry = _mapping(node, where)
        if _text(entry.get("hard"), f"{where}.hard", "").lower() in unavailable_states:
            continue
        hosts[name] = parts
        busy[name] = _api_intervals(entry.get("reservations"), f"{where}.reservations", ignore_besteffort,
                                    end_margin)

    resources: dict[tuple[str, str], list[Interval]] = {}
    for section, wanted in (("vlans", vlans), ("subnets", subnets), ("disks", storage)):
        if not wanted or status.get(section) is None:
            continue
        for uid, raw in _mapping(status.get(section), f"{site}.status.{section}").items():
            where = f"{site}.status.{section}[{uid!r}]"
            entry = _mapping(raw, where)
            if _text(entry.get("hard"), f"{where}.hard", "").lower() in unavailable_states:
                continue
            kind = _text(entry.get("type"), f"{where}.type", "kavlan") if section == "vlans" else section[:-1]
            if section == "vlans" and kind not in VLAN_KINDS:
                continue
            name = _vlan_name(kind, str(uid)) if section == "vlans" else str(uid)
            resources[(kind, name)] = _api_intervals(entry.get("reservations"), f"{where}.reservations",
                                                     ignore_besteffort, end_margin)

    if jobs is not None:
        items = _list(_mapping(jobs, f"{site}.jobs").get("items"), f"{site}.jobs.items")
        vlan_kind = {name: kind for kind, name in resources}
        for i, job in enumerate(items):
            where = f"{site}.jobs[{i}]"
            iv = _api_interval(job, where, ignore_besteffort, end_margin)
            if iv is None:
                continue
            for node in _texts(job.get("assigned_nodes"), f"{where}.assigned_nodes"):
                if node in busy:
                    busy[node].append(iv)
            by_type = job.get("resources_by_type")
            by_type = {} if by_type is None else _mapping(by_type, f"{where}.resources_by_type")
            for j, vlan in enumerate(_items(by_type.get("vlans"), f"{where}.resources_by_type.vlans")):
                if isinstance(vlan, bool) or not isinstance(vlan, str | int):
                    raise _Malformed(f"{where}.resources_by_type.vlans[{j}]", vlan, "a vlan number")
                name = _vlan_name("kavlan", str(vlan))
                if name in vlan_kind:
                    resources[(vlan_kind[name], name)].append(iv)

    return Planning(
        start=start,
        end=end,
        hosts=(HostPlanning(n, hosts[n][1], hosts[n][0], merge_intervals(b, start, end)) for n, b in busy.items()),
        resources=(ResourcePlanning(site, k, n, merge_intervals(b, start, end)) for (k, n), b in resources.items()),
    )


@frozen
class OarResourceRow:
    """One row of OAR's ``resources`` table as the planning needs it."""

    resource_id: int
    type: str
    network_address: str
    state: str
    maintenance: str = "NO"
    vlan: str | None = None
    subnet_address: str | None = None


@frozen
class OarJobResourceRow:
    """One (job, resource) pair of an active job, with the job's state, queue, start (0 = none) and walltime."""

    job_id: int
    state: str
    queue_name: str
    start_time: int
    walltime: int
    resource_id: int
    types: tuple[str, ...] = ()


def _other_key(r: OarResourceRow, vlans: bool, subnets: bool) -> tuple[str, str] | None:
    if vlans and r.type in VLAN_KINDS and r.vlan:
        return r.type, _vlan_name(r.type, r.vlan)
    if subnets and r.type == "subnet" and r.subnet_address:
        return "subnet", r.subnet_address
    return None


def planning_from_oar_rows(
    site: str,
    resources: Sequence[OarResourceRow],
    job_resources: Sequence[OarJobResourceRow],
    start: int,
    end: int,
    *,
    ignore_besteffort: bool = True,
    end_margin: int = EXECO_END_MARGIN,
    vlans: bool = True,
    subnets: bool = False,
) -> Result[Planning, G5kError]:
    """The planning of one site from OAR database rows (resources, and the resources held by each active job):
    Dead and maintenance resources are left out; ``type='default'`` rows are cores grouped by network address;
    vlans (``kavlan-local``/``kavlan``/``kavlan-global`` rows) and subnets (``subnet`` rows) when asked.
    A Waiting job with no start (not scheduled yet) holds nothing; any other active job needs a start and a
    positive walltime (else a ParseError naming the job)."""
    if end <= start:
        return Failure(InvalidInput("planning window", f"{start}..{end}", "a start before the end"))
    try:
        return Success(_from_oar_rows(site, resources, job_resources, start, end, ignore_besteffort, end_margin,
                                      vlans, subnets))
    except _Malformed as bad:
        return Failure(bad.error)


def _from_oar_rows(
    site: str, resources: Sequence[OarResourceRow], job_resources: Sequence[OarJobResourceRow], start: int,
    end: int, ignore_besteffort: bool, end_margin: int, vlans: bool, subnets: bool,
) -> Planning:
    by_id: dict[int, OarResourceRow] = {r.resource_id: r for r in resources}
    busy: dict[str, list[Interval]] = {}
    others: dict[tuple[str, str], list[Interval]] = {}
    for r in resources:
        if r.state.lower() == "dead" or r.maintenance.upper() == "YES":
            continue
        if r.type == "default":
            if host_cluster_site(r.network_address) is None:
                raise _Malformed(f"{site}.resources[id={r.resource_id}].network_address", r.network_address,
                                 "a host name such as nova-1.lyon.grid5000.fr")
            busy[r.network_address] = []
        elif (key := _other_key(r, vlans, subnets)) is not None:
            others[key] = []
    for row in job_resources:
        if ignore_besteffort and (row.queue_name == "besteffort" or "besteffort" in row.types):
            continue
        state = row.state.lower()
        if state not in ACTIVE_JOB_STATES:
            continue
        where = f"{site}.jobs[id={row.job_id}]"
        iv = _job_interval(state, _seconds(row.start_time, f"{where}.start_time"), None,
                           _seconds(row.walltime, f"{where}.walltime"), end_margin, where)
        res = by_id.get(row.resource_id)
        if iv is None or res is None:  # not scheduled yet / a resource this planning does not list
            continue
        if res.type == "default":
            if res.network_address in busy:
                busy[res.network_address].append(iv)
        elif (key := _other_key(res, vlans, subnets)) is not None and key in others:
            others[key].append(iv)
    hosts = []
    for name, b in busy.items():
        cluster, hsite = host_cluster_site(name) or ("", site)
        hosts.append(HostPlanning(name, hsite, cluster, merge_intervals(b, start, end)))
    return Planning(
        start=start, end=end, hosts=hosts,
        resources=(ResourcePlanning(site, kind, name, merge_intervals(b, start, end))
                   for (kind, name), b in others.items()),
    )


def _rest_id(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Malformed(where, value, "a resource or job id (a non-negative integer)")
    return value


def _optional_text(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Malformed(where, value, "a string")
    return str(value)


def planning_from_oar_rest(
    site: str,
    resources: Any,
    jobs: Any,
    start: int,
    end: int,
    *,
    ignore_besteffort: bool = True,
    end_margin: int = EXECO_END_MARGIN,
    vlans: bool = True,
    subnets: bool = False,
) -> Result[Planning, G5kError]:
    """The planning of one site from the OAR REST API ``/resources/details.json`` and ``/jobs/details.json``
    answers (items of each); a job's start is ``start_time`` once started, else ``scheduled_start``.
    Total: malformed values are ParseErrors naming their path; a Waiting job with no start (not scheduled yet)
    holds nothing; every other active job needs a start and a walltime."""
    if end <= start:
        return Failure(InvalidInput("planning window", f"{start}..{end}", "a start before the end"))
    try:
        rows, pairs = _rest_rows(site, resources, jobs, ignore_besteffort)
    except _Malformed as bad:
        return Failure(bad.error)
    return planning_from_oar_rows(site, rows, pairs, start, end, ignore_besteffort=ignore_besteffort,
                                  end_margin=end_margin, vlans=vlans, subnets=subnets)


def _rest_rows(
    site: str, resources: Any, jobs: Any, ignore_besteffort: bool
) -> tuple[list[OarResourceRow], list[OarJobResourceRow]]:
    items = _list(_mapping(resources, f"{site}.resources").get("items"), f"{site}.resources.items")
    jitems = _list(_mapping(jobs, f"{site}.jobs").get("items"), f"{site}.jobs.items")
    rows: list[OarResourceRow] = []
    for i, raw in enumerate(items):
        where = f"{site}.resources[{i}]"
        it = _mapping(raw, where)
        rows.append(OarResourceRow(
            resource_id=_rest_id(it.get("id"), f"{where}.id"),
            type=_text(it.get("type"), f"{where}.type", "default"),
            network_address=_text(it.get("network_address"), f"{where}.network_address", ""),
            state=_text(it.get("state"), f"{where}.state", "Alive"),
            maintenance=_text(it.get("maintenance"), f"{where}.maintenance", "NO"),
            vlan=_optional_text(it.get("vlan"), f"{where}.vlan"),
            subnet_address=_optional_text(it.get("subnet_address"), f"{where}.subnet_address"),
        ))
    pairs: list[OarJobResourceRow] = []
    for i, raw in enumerate(jitems):
        where = f"{site}.jobs[{i}]"
        job = _mapping(raw, where)
        job_id = _rest_id(job.get("id"), f"{where}.id")
        state = _text(job.get("state"), f"{where}.state")
        queue = _text(job.get("queue"), f"{where}.queue", "")
        types = _texts(job.get("types"), f"{where}.types")
        if ignore_besteffort and (queue == "besteffort" or "besteffort" in types):
            continue
        if state.lower() not in ACTIVE_JOB_STATES:
            continue
        started = _seconds(job.get("start_time"), f"{where}.start_time")
        scheduled = _seconds(job.get("scheduled_start"), f"{where}.scheduled_start")
        walltime = _seconds(job.get("walltime"), f"{where}.walltime")
        begin = started or scheduled or 0
        _job_interval(state.lower(), begin, None, walltime, 0, where)  # malformed -> ParseError
        for j, r in enumerate(_items(job.get("resources"), f"{where}.resources")):
            rid = _rest_id(_mapping(r, f"{where}.resources[{j}]").get("id"), f"{where}.resources[{j}].id")
            pairs.append(OarJobResourceRow(job_id=job_id, state=state, queue_name=queue, start_time=begin,
                                           walltime=walltime or 0, resource_id=rid, types=types))
    return rows, pairs


# --------------------------------------------------------------------------------------------------------------
# Slots
# --------------------------------------------------------------------------------------------------------------


@frozen
class Slot:
    """A candidate start: [start, start + walltime] and the number of free hosts/vlans per element."""

    start: int
    end: int
    elements: tuple[str, ...] = field(repr=False, eq=False)
    counts: tuple[int, ...]
    kavlan_global_sites: tuple[str, ...] = ()
    hosts: frozenset[str] | None = None

    def free(self, element: str) -> int | None:
        """How many of ``element`` are free during the slot, or None if the element is not in the planning."""
        try:
            return self.counts[self.elements.index(element)]
        except ValueError:
            return None

    def as_dict(self) -> dict[str, int]:
        """A fresh mapping element -> free count."""
        return dict(zip(self.elements, self.counts, strict=True))


@frozen
class Excluded:
    """An element left out of the slots, resolved against the planning it was excluded from: ``kind`` is
    ``site``, ``cluster``, ``host`` (``name`` is then the FQDN) or ``resource`` (a vlan, a subnet, a disk or
    a vlan kind: ``site`` is empty when it names several)."""

    given: str
    kind: str
    name: str
    site: str


def resolve_exclusions(planning: Planning, excluded: Iterable[str]) -> tuple[Excluded, ...]:
    """The excluded elements that ``planning`` knows (sites, clusters, hosts by FQDN or short name, resources),
    sorted; hosts named by FQDN but absent (e.g. dead) are kept too, since OAR may still hand them out later."""
    clusters = {h.cluster: h.site for h in planning.hosts}
    sites = set(planning.sites)
    out: list[Excluded] = []
    for given in sorted(set(excluded)):
        found = planning.host(given)
        if given in sites:
            out.append(Excluded(given, "site", given, given))
        elif given in clusters:
            out.append(Excluded(given, "cluster", given, clusters[given]))
        elif found is not None:
            out.append(Excluded(given, "host", found.host, found.site))
        elif (parts := host_cluster_site(given)) is not None:
            out.append(Excluded(given, "host", given, parts[1]))
        else:
            owners = {r.site for r in planning.resources if given in (r.name, r.kind)}
            if owners:
                out.append(Excluded(given, "resource", given, owners.pop() if len(owners) == 1 else ""))
    return tuple(out)


@frozen
class Slots:
    """All slots of a planning for one walltime, in start order, with the planning's site/cluster hierarchy and
    the elements excluded from them (resolved before they were left out, so that job specs can still filter
    them out of OAR's choice)."""

    walltime: int
    elements: tuple[str, ...]
    slots: tuple[Slot, ...]
    cluster_sites: tuple[tuple[str, str], ...]
    planning_end: int
    excluded: tuple[Excluded, ...] = ()

    def site_of(self, element: str) -> str | None:
        """The site of a site or cluster element."""
        for cluster, site in self.cluster_sites:
            if element in (cluster, site):
                return site
        return None


def compute_slots(
    planning: Planning,
    walltime: int,
    excluded_elements: Iterable[str] = (),
    include_hosts: bool = False,
) -> Result[Slots, InvalidInput]:
    """Every candidate start of the planning with the free hosts per grid5000 / site / cluster and free vlans
    per kind for ``walltime`` seconds (execo's slot meaning), computed by one sweep over sorted boundaries.

    The candidate starts are execo's: the window start and every boundary of a busy interval (the window end
    excluded). An element is free for a start ``t`` when one of its free intervals ``(a, b)`` has ``a <= t`` and
    ``t + walltime <= b``, i.e. ``t`` lies in ``[a, b - walltime]``: each such range is one +1 event and one -1
    event, and the counts are swept once over the sorted events (O((E + L) log E) for E events and L starts)."""
    if isinstance(walltime, bool) or not isinstance(walltime, int) or walltime <= 0:
        return Failure(InvalidInput("walltime", str(walltime), "a positive number of seconds"))
    excluded = tuple(excluded_elements)
    plan = exclude_elements(planning, excluded)
    start, end = plan.start, plan.end
    cluster_keys = sorted({(h.site, h.cluster) for h in plan.hosts}, key=lambda sc: (sc[0], natural_key(sc[1])))
    vlans = [r for r in plan.resources if r.kind in VLAN_KINDS]
    sites = tuple(sorted({s for s, _ in cluster_keys} | {r.site for r in vlans}))
    kinds = tuple(k for k in VLAN_KINDS if any(k == r.kind for r in vlans))
    elements = ("grid5000", *sites, *(c for _, c in cluster_keys), *kinds)
    index = {e: i for i, e in enumerate(elements)}
    # each member (host or vlan) adds to the counters of its elements; a global vlan also to its site's flag
    global_slot = {site: i for i, site in enumerate(sorted({r.site for r in vlans if r.kind == "kavlan-global"}))}
    global_sites = tuple(global_slot)
    member_targets: list[tuple[int, ...]] = []
    member_host: list[str | None] = []
    member_global: list[int] = []
    points = {start, end}
    adds: list[int] = []
    removes: list[int] = []
    everything: tuple[HostPlanning | ResourcePlanning, ...] = (*plan.hosts, *vlans)
    n_members = len(everything) or 1
    for mid, element in enumerate(everything):
        if isinstance(element, HostPlanning):
            member_targets.append((0, index[element.site], index[element.cluster]))
            member_host.append(element.host)
            member_global.append(-1)
        else:
            member_targets.append((index[element.kind],))
            member_host.append(None)
            member_global.append(global_slot[element.site] if element.kind == "kavlan-global" else -1)
        cursor = start
        for s, e in element.busy:
            points.add(s)
            points.add(e)
            if s - cursor >= walltime:
                adds.append(cursor * n_members + mid)
                removes.append((s - walltime) * n_members + mid)
            cursor = max(cursor, e)
        if end - cursor >= walltime:
            adds.append(cursor * n_members + mid)
            removes.append((end - walltime) * n_members + mid)
    limits = sorted(points)[:-1] if everything else []
    adds.sort()
    removes.sort()

    counts = [0] * len(elements)
    global_free = [0] * len(global_sites)
    extras = include_hosts or bool(global_sites)
    free_hosts: set[str] = set()
    slots: list[Slot] = []
    ai = ri = 0
    na, nr = len(adds), len(removes)
    for limit in limits:
        add_below = (limit + 1) * n_members
        while ai < na and adds[ai] < add_below:
            mid = adds[ai] % n_members
            for t in member_targets[mid]:
                counts[t] += 1
            if extras:
                if member_global[mid] >= 0:
                    global_free[member_global[mid]] += 1
                host = member_host[mid]
                if include_hosts and host is not None:
                    free_hosts.add(host)
            ai += 1
        remove_below = limit * n_members
        while ri < nr and removes[ri] < remove_below:
            mid = removes[ri] % n_members
            for t in member_targets[mid]:
                counts[t] -= 1
            if extras:
                if member_global[mid] >= 0:
                    global_free[member_global[mid]] -= 1
                host = member_host[mid]
                if include_hosts and host is not None:
                    free_hosts.discard(host)
            ri += 1
        slots.append(
            Slot(
                start=limit,
                end=limit + walltime,
                elements=elements,
                counts=tuple(counts),
                kavlan_global_sites=tuple(site for site, n in zip(global_sites, global_free, strict=True) if n > 0),
                hosts=frozenset(free_hosts) if include_hosts else None,
            )
        )
    return Success(
        Slots(
            walltime=walltime,
            elements=elements,
            slots=tuple(slots),
            cluster_sites=tuple((c, s) for s, c in cluster_keys),
            planning_end=end,
            excluded=resolve_exclusions(planning, excluded),
        )
    )


def free_hosts_at(planning: Planning, start: int, walltime: int) -> frozenset[str]:
    """The hosts free during the whole of [start, start + walltime] (direct check, no sweep)."""
    return frozenset(
        h.host for h in planning.hosts
        if start >= planning.start and start + walltime <= planning.end
        and all(e <= start or s >= start + walltime for s, e in h.busy)
    )


# --------------------------------------------------------------------------------------------------------------
# Finders
# --------------------------------------------------------------------------------------------------------------

Wanted = Mapping[str, int]


def _check_wanted(slots: Slots, wanted: Wanted) -> Result[None, G5kError]:
    if not wanted:
        return Failure(InvalidInput("wanted", "{}", "at least one element with a count, e.g. {'grid5000': 10}"))
    for element, count in wanted.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            return Failure(InvalidInput(f"count of {element}", str(count), "a non-negative integer (0 = all)"))
    absent = sorted(e for e in wanted if e not in slots.elements)
    if absent:
        return Failure(NoSlot(
            f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} not in the planning "
            "(unknown, excluded, dead, or not of the requested queue)"
        ))
    return Success(None)


def _sum_wanted(slot: Slot, wanted: Wanted) -> int:
    hosts = sum(slot.free(e) or 0 for e in wanted if e not in VLAN_KINDS)
    return hosts


def _vlans_ok(slot: Slot, wanted: Wanted) -> bool:
    return all((slot.free(k) or 0) >= max(1, wanted[k]) for k in VLAN_KINDS if k in wanted)


def find_first_slot(slots: Slots, wanted: Wanted) -> Result[Slot, G5kError]:
    """The first slot with at least one free host among the wanted elements (and the wanted vlans free)."""
    check = _check_wanted(slots, wanted)
    if isinstance(check, Failure):
        return Failure(check.failure())
    host_elements = [e for e in wanted if e not in VLAN_KINDS]
    for slot in slots.slots:
        if (not host_elements or _sum_wanted(slot, wanted) > 0) and _vlans_ok(slot, wanted):
            return Success(slot)
    return Failure(NoSlot(f"no slot of {format_walltime(slots.walltime)} has any free host among "
                          f"{', '.join(sorted(wanted))} before {paris_time(slots.planning_end)}"))


def find_max_slot(slots: Slots, wanted: Wanted) -> Result[Slot, G5kError]:
    """The slot with the most free hosts among the wanted elements (the earliest on ties)."""
    check = _check_wanted(slots, wanted)
    if isinstance(check, Failure):
        return Failure(check.failure())
    best: Slot | None = None
    best_sum = 0
    for slot in slots.slots:
        if not _vlans_ok(slot, wanted):
            continue
        total = _sum_wanted(slot, wanted)
        if total > best_sum:
            best, best_sum = slot, total
    if best is None:
        return Failure(NoSlot(f"no slot of {format_walltime(slots.walltime)} has any free host among "
                              f"{', '.join(sorted(wanted))} before {paris_time(slots.planning_end)}"))
    return Success(best)


def _consistency(slots: Slots, wanted: Wanted) -> Result[None, G5kError]:
    # a site's (or grid5000's) count includes the counts wanted on its clusters (and sites)
    per_site: dict[str, int] = {}
    for element, n in wanted.items():
        site = slots.site_of(element)
        if site is not None and site != element:
            per_site[site] = per_site.get(site, 0) + n
    for site, inner in per_site.items():
        if site in wanted and 0 < wanted[site] < inner:
            return Failure(InvalidInput(f"count of {site}", str(wanted[site]),
                                        f"at least {inner}, the sum wanted on its clusters"))
    if "grid5000" in wanted and wanted["grid5000"] > 0:
        inner = sum(max(wanted[s], per_site.get(s, 0)) if s in wanted else per_site.get(s, 0)
                    for s in {*per_site, *(e for e in wanted if slots.site_of(e) == e)})
        if wanted["grid5000"] < inner:
            return Failure(InvalidInput("count of grid5000", str(wanted["grid5000"]),
                                        f"at least {inner}, the sum wanted on sites and clusters"))
    return Success(None)


def slot_satisfies(slot: Slot, wanted: Wanted) -> bool:
    """Whether every wanted element has at least its count free in the slot (0 = all that is free, at least one;
    execo accepted a slot where such an element had nothing free)."""
    return all((slot.free(e) or 0) >= max(1, n) for e, n in wanted.items() if e not in VLAN_KINDS) and _vlans_ok(
        slot, wanted)


def find_free_slot(slots: Slots, wanted: Wanted) -> Result[Slot, G5kError]:
    """The first slot where every wanted element has its count free; counts are inclusive (a site's count
    includes its wanted clusters', grid5000's includes all); NoSlot says which element falls short."""
    check = _check_wanted(slots, wanted)
    if isinstance(check, Failure):
        return Failure(check.failure())
    consistent = _consistency(slots, wanted)
    if isinstance(consistent, Failure):
        return Failure(consistent.failure())
    for slot in slots.slots:
        if slot_satisfies(slot, wanted):
            return Success(slot)
    return Failure(NoSlot(_why_no_slot(slots, wanted)))


def _why_no_slot(slots: Slots, wanted: Wanted) -> str:
    until = paris_time(slots.planning_end)
    duration = format_walltime(slots.walltime)
    if not slots.slots:
        return "the planning is empty (no host left after exclusions)"
    reasons = []
    for element in sorted(wanted):
        need = max(1, wanted[element])
        best = max(slot.free(element) or 0 for slot in slots.slots)
        if best < need:
            unit = "vlans" if element in VLAN_KINDS else "nodes"
            reasons.append(f"{element} has at most {best} of the {need} {unit} wanted free for {duration} "
                           f"until {until} (end of the planning)")
    if reasons:
        return "; ".join(reasons)
    return (f"each wanted count is met at some time, but never all at once for {duration} until {until}: "
            + ", ".join(f"{e}={n}" for e, n in sorted(wanted.items())))


# --------------------------------------------------------------------------------------------------------------
# Distribution and job specifications
# --------------------------------------------------------------------------------------------------------------


def distribute_hosts(
    slot: Slot,
    slots: Slots,
    wanted: Wanted,
    excluded_elements: Iterable[str] = (),
    ratio: float | None = None,
) -> Result[dict[str, int], G5kError]:
    """How many hosts to take from each cluster and site (beyond its listed clusters) to meet ``wanted`` in
    ``slot``: clusters first, then sites, then the rest of grid5000 round-robin over sites in name order (sites
    not wanted by name first, so that ``lyon: 10`` stays 10 while other sites have room).
    A count of 0 means all available (one for a vlan kind; vlans are counted as :func:`get_jobs_specs` requests
    them). Failure (NoSlot) when more is wanted than available."""
    excluded = set(excluded_elements)
    global_count = wanted.get("kavlan-global", 1)
    if not isinstance(global_count, bool) and isinstance(global_count, int) and global_count > 1:
        return Failure(InvalidInput("count of kavlan-global", str(global_count), "1 (one global vlan per job)"))
    check = _check_wanted(slots, {k: v for k, v in wanted.items() if k not in excluded})
    if isinstance(check, Failure):
        return Failure(check.failure())
    if ratio is not None and not 0 < ratio <= 1:
        return Failure(InvalidInput("ratio", str(ratio), "a number in (0, 1]"))
    sites = [e for e in slots.elements if slots.site_of(e) == e]
    clusters_of: dict[str, list[str]] = {}
    for cluster, site in slots.cluster_sites:
        clusters_of.setdefault(site, []).append(cluster)
    avail = slot.as_dict()
    for element in sorted(excluded):
        home = slots.site_of(element)
        if home is None or element not in avail:
            continue
        lost = avail[element]
        if home == element:
            for c in clusters_of.get(home, ()):
                avail[c] = 0
        else:
            avail[home] -= lost
        avail["grid5000"] -= lost
        avail[element] = 0
    want = {e: n for e, n in wanted.items() if e not in excluded}
    consistent = _consistency(slots, want)
    if isinstance(consistent, Failure):
        return Failure(consistent.failure())
    short = [
        f"{e} has {avail.get(e, 0)} of the {n} nodes wanted"
        for e, n in sorted(want.items()) if e not in VLAN_KINDS and avail.get(e, 0) < n
    ]
    if short:
        return Failure(NoSlot(f"at {paris_time(slot.start)}: " + "; ".join(short)))
    result: dict[str, int] = {}
    remaining = dict(avail)
    for cluster, site in slots.cluster_sites:
        if cluster in want:
            n = want[cluster] or avail[cluster]
            result[cluster] = n
            remaining[site] -= n
            remaining["grid5000"] -= n
    for site in sites:
        if site in want:
            taken = sum(result.get(c, 0) for c in clusters_of.get(site, ()))
            total = want[site] or avail[site]
            extra = max(0, total - taken)
            if extra > remaining[site]:
                return Failure(NoSlot(f"{site} has {avail[site]} of the {total} nodes wanted"))
            if extra:
                result[site] = extra
            remaining[site] -= extra
            remaining["grid5000"] -= extra
    if "grid5000" in want:
        total = want["grid5000"] or avail["grid5000"]
        rest = total - sum(v for v in result.values())
        if rest > sum(remaining[s] for s in sites if remaining[s] > 0):
            return Failure(NoSlot(f"grid5000 has {avail['grid5000']} of the {total} nodes wanted"))
        # sites with a count of their own keep it as long as other sites have room
        for pool in ([s for s in sites if s not in want], [s for s in sites if s in want]):
            pool = [s for s in pool if remaining[s] > 0]
            while rest > 0 and pool:
                for site in pool:
                    if rest == 0:
                        break
                    if remaining[site] > 0:
                        result[site] = result.get(site, 0) + 1
                        remaining[site] -= 1
                        rest -= 1
                pool = [s for s in pool if remaining[s] > 0]
    if ratio is not None:
        result = {k: int(v * ratio) for k, v in result.items()}
    result = {k: v for k, v in result.items() if v > 0}
    for kind in VLAN_KINDS:
        if kind in want:
            result[kind] = max(1, want[kind])
    return Success(result)


@frozen
class JobSpec:
    """One OAR submission of a multi-site request: the site, its ``-l`` resource string (without walltime),
    and the reservation start and walltime it is for."""

    site: str
    resources: str
    walltime: int
    reservation: int | None = None
    name: str | None = None


def _quoted(value: str) -> str:
    """An OAR SQL string literal (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _in_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(_quoted(v) for v in values) + ")"


def _resolve_for_specs(slots: Slots, element: str) -> Excluded | None:
    """An excluded element as the slots know it: recorded by compute_slots, else from the slots' hierarchy."""
    recorded = next((e for e in slots.excluded if e.given == element), None)
    if recorded is not None:
        return recorded
    home = slots.site_of(element)
    if home is not None:
        return Excluded(element, "site" if home == element else "cluster", element, home)
    if (parts := host_cluster_site(element)) is not None:
        return Excluded(element, "host", element, parts[1])
    m = _HOST_RE.match(element)
    if m is not None and m.group("site") is None and (site := slots.site_of(m.group("cluster"))) is not None:
        return Excluded(element, "host", f"{element}.{site}.grid5000.fr", site)
    if element in VLAN_KINDS:
        return Excluded(element, "resource", element, "")
    return None


def get_jobs_specs(
    resources: Mapping[str, int],
    slots: Slots,
    slot: Slot | None = None,
    excluded_elements: Iterable[str] = (),
    name: str | None = None,
) -> Result[tuple[JobSpec, ...], G5kError]:
    """One well-formed OAR resource request per site from a distribution (clusters, sites, FQDN hosts, vlan
    kinds): explicit hosts first, then clusters, then the site's other nodes, then the vlans; sites in name order.

    Excluded elements (``excluded_elements`` and those the slots were computed without) are filtered out of
    OAR's choice on their own site: an excluded host is in a ``host NOT IN`` condition of its cluster's and its
    site's requests, an excluded cluster in a ``cluster NOT IN`` condition of its site's (execo lost exclusions
    that the slots no longer knew). Requesting an excluded element, or one inside it, is an InvalidInput."""
    if "grid5000" in resources:
        return Failure(InvalidInput("resources", "grid5000", "per-site counts: call distribute_hosts first"))
    exclusions: list[Excluded] = []
    for element in sorted(set(excluded_elements) | {e.given for e in slots.excluded}):
        found = _resolve_for_specs(slots, element)
        if found is None:
            return Failure(InvalidInput("excluded element", element,
                                        "a site, a cluster or a host of the planning (FQDN or short name)"))
        exclusions.append(found)
    out_names = {e.name for e in exclusions} | {e.given for e in exclusions}
    excl_hosts: dict[str, set[str]] = {}
    excl_clusters: dict[str, set[str]] = {}
    for ex in exclusions:
        if ex.kind == "host":
            excl_hosts.setdefault(ex.site, set()).add(ex.name)
        elif ex.kind == "cluster":
            excl_clusters.setdefault(ex.site, set()).add(ex.name)
    hosts_by_site: dict[str, list[str]] = {}
    clusters_by_site: dict[str, list[tuple[str, int]]] = {}
    site_counts: dict[str, int] = {}
    for element, n in resources.items():
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            return Failure(InvalidInput(f"count of {element}", str(n), "a positive integer"))
        if element in VLAN_KINDS:
            if element in out_names:
                return Failure(InvalidInput("resources", element, "no element that is also excluded"))
            continue
        parts = host_cluster_site(element)
        site = parts[1] if parts is not None else slots.site_of(element)
        if site is None:
            return Failure(InvalidInput("element", element, "a site, a cluster, or a host FQDN of the planning"))
        lineage = {element, site} | ({parts[0], element.split(".", 1)[0]} if parts is not None else set())
        if lineage & out_names:
            inside = sorted(lineage & out_names)[0]
            return Failure(InvalidInput("resources", element,
                                        f"no element that is excluded or inside an excluded one ({inside})"))
        if parts is not None:
            hosts_by_site.setdefault(site, []).append(element)
        elif site == element:
            site_counts[site] = n
        else:
            clusters_by_site.setdefault(site, []).append((element, n))
    sites = sorted(set(hosts_by_site) | set(clusters_by_site) | set(site_counts))
    vlan_sites: dict[str, list[tuple[str, int]]] = {}
    for kind in ("kavlan-global", "kavlan", "kavlan-local"):
        if kind not in resources:
            continue
        count = resources[kind]
        if kind == "kavlan-global":
            if count != 1:
                return Failure(InvalidInput("count of kavlan-global", str(count), "1 (one global vlan per job)"))
            candidates = [s for s in sites if slot is None or s in slot.kavlan_global_sites]
            if not candidates:
                return Failure(NoSlot("no site of the request has its global kavlan free in this slot"))
            vlan_sites.setdefault(candidates[0], []).append((kind, count))
        elif len(sites) != 1:
            return Failure(InvalidInput("resources", kind, "hosts on exactly one site for a local kavlan "
                                        "(use kavlan-global across sites)"))
        else:
            vlan_sites.setdefault(sites[0], []).append((kind, count))
    specs = []
    for site in sites:
        rdefs = []
        hosts = sorted(hosts_by_site.get(site, ()), key=host_sort_key)
        if hosts:
            rdefs.append(f"{{host IN {_in_list(hosts)}}}/nodes={len(hosts)}")
        ex_hosts = sorted(excl_hosts.get(site, ()), key=host_sort_key)
        ex_clusters = sorted(excl_clusters.get(site, ()), key=natural_key)
        for cluster, n in sorted(clusters_by_site.get(site, ()), key=lambda cn: natural_key(cn[0])):
            cond = f"cluster={_quoted(cluster)}"
            mine = [h for h in ex_hosts if (host_cluster_site(h) or ("", ""))[0] == cluster]
            if mine:
                cond += f" AND host NOT IN {_in_list(mine)}"
            rdefs.append(f"{{{cond}}}/nodes={n}")
        if site in site_counts:
            conds = []
            if ex_hosts:
                conds.append(f"host NOT IN {_in_list(ex_hosts)}")
            if ex_clusters:
                conds.append(f"cluster NOT IN {_in_list(ex_clusters)}")
            prefix = "{" + " AND ".join(conds) + "}/" if conds else ""
            rdefs.append(f"{prefix}nodes={site_counts[site]}")
        for kind, count in vlan_sites.get(site, ()):
            rdefs.append(f"{{type={_quoted(kind)}}}/vlan={count}")
        specs.append(JobSpec(site=site, resources="+".join(rdefs), walltime=slots.walltime,
                             reservation=None if slot is None else slot.start, name=name))
    return Success(tuple(specs))
