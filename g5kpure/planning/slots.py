"""Slots: the candidate starts of a planning with what is free there for a walltime, and the finders.

:func:`compute_slots` sweeps once over the sorted boundaries of every busy interval and counts, for each
candidate start, the free hosts per grid5000 / site / cluster and the free vlans per kind (a host is free for a
start when it stays free for the whole walltime). The finders (:func:`find_first_slot`, :func:`find_max_slot`,
:func:`find_free_slot`) pick a slot for a request; wanted counts are inclusive (``{"grid5000": 40, "nova": 10}``
means 40 hosts in total, at least 10 of them on nova), and a wanted element absent from the planning is a
:class:`~g5kpure.errors.NoSlot` naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from attrs import evolve, field, frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NoSlot
from g5kpure.oar.dates import format_walltime
from g5kpure.planning.model import (
    VLAN_KINDS,
    HostPlanning,
    Planning,
    ResourcePlanning,
    exclude_elements,
    fqdn_in,
    paris_time,
)


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
    """The excluded elements that ``planning`` knows (sites, clusters, hosts named in any form, resources),
    sorted. A host absent from the planning (e.g. dead) is kept too, by its FQDN, when its name gives its site
    or its cluster is planned, since OAR may still hand it out later."""
    clusters = planning.cluster_sites()
    sites = set(planning.sites)
    out: list[Excluded] = []
    for given in sorted(set(excluded)):
        found = planning.host(given)
        owners = {r.site for r in planning.resources if given in (r.name, r.kind)}
        if given in sites:
            out.append(Excluded(given, "site", given, given))
        elif given in clusters:
            out.append(Excluded(given, "cluster", given, clusters[given]))
        elif found is not None:
            out.append(Excluded(given, "host", found.host, found.site))
        elif owners:
            out.append(Excluded(given, "resource", given, owners.pop() if len(owners) == 1 else ""))
        elif isinstance(fqdn := planning.fqdn(given), Success):
            out.append(host_excluded(given, fqdn.unwrap()))
    return tuple(out)


def host_excluded(given: str, fqdn: str) -> Excluded:
    """An excluded host: as given, and by its canonical FQDN on its site."""
    return Excluded(given, "host", fqdn, fqdn.split(".")[1])


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
    cluster_queues: tuple[tuple[str, str], ...] = ()

    def site_of(self, element: str) -> str | None:
        """The site of a site or cluster element."""
        for cluster, site in self.cluster_sites:
            if element in (cluster, site):
                return site
        return None

    def fqdn(self, name: str) -> Result[str, InvalidInput]:
        """The canonical FQDN of a node named in any form (a bare ``nova-1`` takes its cluster's site here)."""
        return fqdn_in(name, dict(self.cluster_sites))

    def queue_of(self, cluster: str) -> str:
        """The OAR queue a job on ``cluster`` is submitted to (``default`` unless the planning says otherwise)."""
        return dict(self.cluster_queues).get(cluster, "default")


def window_slots(slots: Slots, until: int) -> Slots:
    """The slots starting before ``until``, as if the planning ended there (for plotting a part of it)."""
    end = min(until, slots.planning_end)
    return evolve(slots, slots=tuple(s for s in slots.slots if s.start < end), planning_end=end)


def compute_slots(
    planning: Planning,
    walltime: int,
    excluded_elements: Iterable[str] = (),
    include_hosts: bool = False,
) -> Result[Slots, InvalidInput]:
    """Every candidate start of the planning with the free hosts per grid5000 / site / cluster and free vlans
    per kind for the whole of ``walltime`` seconds from it, computed by one sweep over sorted boundaries.

    The candidate starts are the window start and every boundary of a busy interval (the window end
    excluded). An element is free for a start ``t`` when one of its free intervals ``(a, b)`` has ``a <= t`` and
    ``t + walltime <= b``, i.e. ``t`` lies in ``[a, b - walltime]``: each such range is one +1 event and one -1
    event, and the counts are swept once over the sorted events (O((E + L) log E) for E events and L starts)."""
    if isinstance(walltime, bool) or not isinstance(walltime, int) or walltime <= 0:
        return Failure(InvalidInput("walltime", str(walltime), "a positive number of seconds"))
    excluded = tuple(excluded_elements)
    plan = exclude_elements(planning, excluded)
    start, end = plan.start, plan.end
    cluster_keys = plan.clusters
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
            cluster_queues=tuple((c, q) for c, q in plan.cluster_queues if c in index),
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


def check_wanted(slots: Slots, wanted: Wanted) -> Result[None, G5kError]:
    """Success when ``wanted`` is a non-empty mapping of elements of the slots to non-negative counts."""
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
    return sum(slot.free(e) or 0 for e in wanted if e not in VLAN_KINDS)


def _vlans_ok(slot: Slot, wanted: Wanted) -> bool:
    return all((slot.free(k) or 0) >= max(1, wanted[k]) for k in VLAN_KINDS if k in wanted)


def find_first_slot(slots: Slots, wanted: Wanted) -> Result[Slot, G5kError]:
    """The first slot with at least one free host among the wanted elements (and the wanted vlans free)."""
    return check_wanted(slots, wanted).bind(lambda _: _first_slot(slots, wanted))


def _first_slot(slots: Slots, wanted: Wanted) -> Result[Slot, G5kError]:
    host_elements = [e for e in wanted if e not in VLAN_KINDS]
    for slot in slots.slots:
        if (not host_elements or _sum_wanted(slot, wanted) > 0) and _vlans_ok(slot, wanted):
            return Success(slot)
    return Failure(_nothing_free(slots, wanted))


def find_max_slot(slots: Slots, wanted: Wanted) -> Result[Slot, G5kError]:
    """The slot with the most free hosts among the wanted elements (the earliest on ties)."""
    return check_wanted(slots, wanted).bind(lambda _: _max_slot(slots, wanted))


def _max_slot(slots: Slots, wanted: Wanted) -> Result[Slot, G5kError]:
    best: Slot | None = None
    best_sum = 0
    for slot in slots.slots:
        if not _vlans_ok(slot, wanted):
            continue
        total = _sum_wanted(slot, wanted)
        if total > best_sum:
            best, best_sum = slot, total
    if best is None:
        return Failure(_nothing_free(slots, wanted))
    return Success(best)


def _nothing_free(slots: Slots, wanted: Wanted) -> NoSlot:
    return NoSlot(f"no slot of {format_walltime(slots.walltime)} has any free host among "
                  f"{', '.join(sorted(wanted))} before {paris_time(slots.planning_end)}")


def wanted_consistency(slots: Slots, wanted: Wanted) -> Result[None, G5kError]:
    """Success when each site's (and grid5000's) count is at least what is wanted inside it (counts are
    inclusive: a site's count includes its clusters', grid5000's its sites' and clusters')."""
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
    """Whether every wanted element has at least its count free in the slot (0 = all that is free, at least one)."""
    return all((slot.free(e) or 0) >= max(1, n) for e, n in wanted.items() if e not in VLAN_KINDS) and _vlans_ok(
        slot, wanted)


def find_free_slot(slots: Slots, wanted: Wanted) -> Result[Slot, G5kError]:
    """The first slot where every wanted element has its count free; counts are inclusive (a site's count
    includes its wanted clusters', grid5000's includes all); NoSlot says which element falls short."""
    return (check_wanted(slots, wanted)
            .bind(lambda _: wanted_consistency(slots, wanted))
            .bind(lambda _: _satisfying_slot(slots, wanted)))


def _satisfying_slot(slots: Slots, wanted: Wanted) -> Result[Slot, G5kError]:
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

