"""The builders of a :class:`~g5kpure.planning.model.Planning`, one per data source, from answers already fetched.

- :func:`planning_from_api`: the Grid'5000 API ``/sites/<site>/status`` answer (and its ``/jobs`` answer);
- :func:`planning_from_oar_rows`: rows of an OAR database (``resources`` and the resources of active jobs);
- :func:`planning_from_oar_rest`: the OAR REST API ``/resources/details.json`` and ``/jobs/details.json`` answers.

Each active job busies its resources from its start for its walltime plus an end margin (the time OAR needs to
clean a node). The builders are total: a malformed payload value is a ParseError naming its path, never a job
silently dropped (a dropped job would show its busy hosts as free). Node names are stored as canonical FQDNs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, ParseError
from g5kpure.hosts import host_cluster_site, host_shortname, short_to_fqdn
from g5kpure.planning.model import (
    VLAN_KINDS,
    HostPlanning,
    Interval,
    Planning,
    ResourcePlanning,
    check_window,
    merge_intervals,
)

#: Seconds added to every job's end (OAR needs time to clean a node after a job), as execo_g5k does.
EXECO_END_MARGIN = 121
#: OAR states of a job that holds or will hold resources.
ACTIVE_JOB_STATES = frozenset(
    {"waiting", "tolaunch", "toackreservation", "launching", "running", "suspended", "resuming", "finishing"}
)
#: Node states that make a node unusable by default (Absent and Suspected nodes are kept).
DEFAULT_UNAVAILABLE_STATES = frozenset({"dead"})

class _Malformed(Exception):
    """Internal: a payload value that is not what the builder expects (turned into a ParseError, never raised out)."""

    def __init__(self, where: str, value: Any, expected: str) -> None:
        super().__init__(where)
        self.error = ParseError("planning payload", where, repr(value)[:200], f"expected {expected}")


def _total(start: int, end: int, build: Callable[[], Planning]) -> Result[Planning, G5kError]:
    """``build()`` over a checked window, a malformed payload value turned into its ParseError."""
    window: Result[None, G5kError] = check_window(start, end)
    return window.bind(lambda _: _built(build))


def _built(build: Callable[[], Planning]) -> Result[Planning, G5kError]:
    try:
        return Success(build())
    except _Malformed as bad:
        return Failure(bad.error)


def _node(name: Any, where: str) -> tuple[str, str, str]:
    """The canonical FQDN, cluster and site of a node name of a payload (it must name its site)."""
    parts = host_cluster_site(name) if isinstance(name, str) else None
    if parts is None:
        raise _Malformed(where, name, "a host name such as nova-1.lyon.grid5000.fr")
    return short_to_fqdn(host_shortname(name), parts[1]), parts[0], parts[1]


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


def _ignored(ignore_besteffort: bool, queue: str, types: Sequence[str]) -> bool:
    """Whether a job is left out: a besteffort one (by queue or type) when those are ignored."""
    return ignore_besteffort and (queue == "besteffort" or "besteffort" in types)


def _api_interval(job: Any, where: str, ignore_besteffort: bool, end_margin: int) -> Interval | None:
    """The busy interval of one job of a Grid'5000 API answer, None when it is inactive or ignored."""
    entry = _mapping(job, where)
    queue = _text(entry.get("queue"), f"{where}.queue", "")
    types = _texts(entry.get("types"), f"{where}.types")
    if _ignored(ignore_besteffort, queue, types):
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


def planning_from_api(site: str, status: Any, start: int, end: int, jobs: Any = None, *, ignore_besteffort: bool = True,
                      end_margin: int = EXECO_END_MARGIN,
                      unavailable_states: frozenset[str] = DEFAULT_UNAVAILABLE_STATES, vlans: bool = True,
                      subnets: bool = False, storage: bool = False) -> Result[Planning, G5kError]:
    """The planning of one site from the Grid'5000 API ``/sites/<site>/status`` answer (and optionally its
    ``/jobs?resources=yes`` answer): each active reservation busies its nodes from ``started_at`` (or
    ``scheduled_at``) for its walltime plus ``end_margin``; nodes in ``unavailable_states`` are left out.

    Total: any malformed value is a ParseError naming its path (e.g. ``rennes.jobs[3].walltime``); a job is never
    dropped for being malformed (that would report its hosts free). A waiting job with no start at all (OAR has
    not scheduled it yet) holds nothing and is left out."""
    return _total(start, end, lambda: _from_api(site, status, start, end, jobs, ignore_besteffort, end_margin,
                                                unavailable_states, vlans, subnets, storage))


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
        fqdn, cluster, host_site = _node(name, where)
        entry = _mapping(node, where)
        if _text(entry.get("hard"), f"{where}.hard", "").lower() in unavailable_states:
            continue
        hosts[fqdn] = (cluster, host_site)
        busy.setdefault(fqdn, []).extend(_api_intervals(entry.get("reservations"), f"{where}.reservations",
                                                        ignore_besteffort, end_margin))

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
                parts = host_cluster_site(node)
                fqdn = short_to_fqdn(host_shortname(node), parts[1]) if parts is not None else node
                if fqdn in busy:
                    busy[fqdn].append(iv)
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


def planning_from_oar_rows(site: str, resources: Sequence[OarResourceRow], job_resources: Sequence[OarJobResourceRow],
                           start: int, end: int, *, ignore_besteffort: bool = True,
                           end_margin: int = EXECO_END_MARGIN, vlans: bool = True,
                           subnets: bool = False) -> Result[Planning, G5kError]:
    """The planning of one site from OAR database rows (resources, and the resources held by each active job):
    Dead and maintenance resources are left out; ``type='default'`` rows are cores grouped by network address;
    vlans (``kavlan-local``/``kavlan``/``kavlan-global`` rows) and subnets (``subnet`` rows) when asked.
    A Waiting job with no start (not scheduled yet) holds nothing; any other active job needs a start and a
    positive walltime (else a ParseError naming the job)."""
    return _total(start, end, lambda: _from_oar_rows(site, resources, job_resources, start, end, ignore_besteffort,
                                                     end_margin, vlans, subnets))


def _from_oar_rows(
    site: str, resources: Sequence[OarResourceRow], job_resources: Sequence[OarJobResourceRow], start: int,
    end: int, ignore_besteffort: bool, end_margin: int, vlans: bool, subnets: bool,
) -> Planning:
    by_id: dict[int, OarResourceRow] = {r.resource_id: r for r in resources}
    nodes: dict[str, tuple[str, str, str]] = {}  # network address -> FQDN, cluster, site
    busy: dict[str, list[Interval]] = {}
    others: dict[tuple[str, str], list[Interval]] = {}
    for r in resources:
        if r.state.lower() == "dead" or r.maintenance.upper() == "YES":
            continue
        if r.type == "default":
            node = _node(r.network_address, f"{site}.resources[id={r.resource_id}].network_address")
            nodes[r.network_address] = node
            busy[node[0]] = []
        elif (key := _other_key(r, vlans, subnets)) is not None:
            others[key] = []
    for row in job_resources:
        state = row.state.lower()
        if _ignored(ignore_besteffort, row.queue_name, row.types) or state not in ACTIVE_JOB_STATES:
            continue
        where = f"{site}.jobs[id={row.job_id}]"
        iv = _job_interval(state, _seconds(row.start_time, f"{where}.start_time"), None,
                           _seconds(row.walltime, f"{where}.walltime"), end_margin, where)
        res = by_id.get(row.resource_id)
        if iv is None or res is None:  # not scheduled yet / a resource this planning does not list
            continue
        if res.type == "default":
            if res.network_address in nodes:
                busy[nodes[res.network_address][0]].append(iv)
        elif (key := _other_key(res, vlans, subnets)) is not None and key in others:
            others[key].append(iv)
    where_of = {fqdn: (cluster, host_site) for fqdn, cluster, host_site in nodes.values()}
    return Planning(
        start=start, end=end,
        hosts=(HostPlanning(fqdn, where_of[fqdn][1], where_of[fqdn][0], merge_intervals(b, start, end))
               for fqdn, b in busy.items()),
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


def planning_from_oar_rest(site: str, resources: Any, jobs: Any, start: int, end: int, *,
                           ignore_besteffort: bool = True, end_margin: int = EXECO_END_MARGIN, vlans: bool = True,
                           subnets: bool = False) -> Result[Planning, G5kError]:
    """The planning of one site from the OAR REST API ``/resources/details.json`` and ``/jobs/details.json``
    answers (items of each); a job's start is ``start_time`` once started, else ``scheduled_start``.
    Total: malformed values are ParseErrors naming their path; a Waiting job with no start (not scheduled yet)
    holds nothing; every other active job needs a start and a walltime."""

    def build() -> Planning:
        rows, pairs = _rest_rows(site, resources, jobs, ignore_besteffort)
        return _from_oar_rows(site, rows, pairs, start, end, ignore_besteffort, end_margin, vlans, subnets)

    return _total(start, end, build)


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
        if _ignored(ignore_besteffort, queue, types) or state.lower() not in ACTIVE_JOB_STATES:
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
