"""From a chosen slot to OAR requests: how many hosts each cluster and site gives, and one job per site.

:func:`distribute_hosts` shares a request out over clusters and sites in a slot; :func:`get_jobs_specs` writes one
well-formed OAR resource request per site (hosts in natural order, every value quoted), keeping every excluded
element out of OAR's choice on its site, and carrying the OAR queue of the clusters it draws from (one queue per
job: a job cannot mix clusters of two queues); :func:`get_hosts_jobs` reserves exactly given hosts at the first
start where they are all free. Hosts are named in any form and written as their canonical FQDN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from attrs import frozen
from returns.iterables import Fold
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NoSlot, NotFound
from g5kpure.hosts import HasAddress, address_of, get_host_cluster, host_shortname, host_sort_key, natural_key
from g5kpure.oar.dates import format_walltime
from g5kpure.oar.submission import OarSubmission
from g5kpure.planning.model import VLAN_KINDS, Planning, paris_time
from g5kpure.planning.slots import (
    Excluded,
    Slot,
    Slots,
    Wanted,
    check_wanted,
    compute_slots,
    host_excluded,
    wanted_consistency,
)


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
    want = {e: n for e, n in wanted.items() if e not in excluded}
    return (check_wanted(slots, want)
            .bind(lambda _: _check_ratio(ratio))
            .bind(lambda _: wanted_consistency(slots, want))
            .bind(lambda _: _distribute(slot, slots, want, excluded, ratio)))


def _check_ratio(ratio: float | None) -> Result[None, G5kError]:
    if ratio is not None and not 0 < ratio <= 1:
        return Failure(InvalidInput("ratio", str(ratio), "a number in (0, 1]"))
    return Success(None)


def _distribute(slot: Slot, slots: Slots, want: Wanted, excluded: set[str],
                ratio: float | None) -> Result[dict[str, int], G5kError]:
    """The distribution of :func:`distribute_hosts` once ``want`` (without the excluded elements) is checked."""
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
    the reservation start and walltime it is for, its name, and its OAR queue (None for the default queue)."""

    site: str
    resources: str
    walltime: int
    reservation: int | None = None
    name: str | None = None
    queue: str | None = None

    def submission(self) -> OarSubmission:
        """The oarsub submission of this job (``oarsub_argv(spec.submission())`` is its command line)."""
        return OarSubmission(resources=self.resources, walltime=self.walltime, reservation_date=self.reservation,
                             name=self.name, queue=self.queue)


def _quoted(value: str) -> str:
    """An OAR SQL string literal (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _in_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(_quoted(v) for v in values) + ")"


def _resolve_for_specs(slots: Slots, element: str) -> Result[Excluded, InvalidInput]:
    """An excluded element as the slots know it: recorded by compute_slots, else from the slots' hierarchy; a
    host named without its site takes its cluster's (an InvalidInput saying what to write when unknown)."""
    recorded = next((e for e in slots.excluded if e.given == element), None)
    if recorded is not None:
        return Success(recorded)
    home = slots.site_of(element)
    if home is not None:
        return Success(Excluded(element, "site" if home == element else "cluster", element, home))
    if element in VLAN_KINDS:
        return Success(Excluded(element, "resource", element, ""))
    if get_host_cluster(element) is not None:
        return slots.fqdn(element).map(lambda fqdn: host_excluded(element, fqdn))
    return Failure(InvalidInput("excluded element", element,
                                "a site, a cluster or a host of the planning (FQDN or short name)"))


def _job_queue(slots: Slots, site: str, clusters: Iterable[str]) -> Result[str | None, InvalidInput]:
    """The OAR queue of one site's job: the one queue of the clusters it may draw from (None for ``default``)."""
    by_queue: dict[str, list[str]] = {}
    for cluster in sorted(set(clusters), key=natural_key):
        by_queue.setdefault(slots.queue_of(cluster), []).append(cluster)
    if len(by_queue) > 1:
        mix = "; ".join(f"{queue}: {', '.join(names)}" for queue, names in sorted(by_queue.items()))
        return Failure(InvalidInput(f"resources of {site}", mix,
                                    "clusters of one OAR queue in one job (name clusters of one queue, exclude the "
                                    "others, or plan a single queue)"))
    queue = next(iter(by_queue), "default")
    return Success(None if queue == "default" else queue)


@frozen
class _SiteRequest:
    """What one site's job asks for: hosts by FQDN, counts per cluster, a count on the rest of the site, vlans,
    and what it must leave out."""

    hosts: tuple[str, ...] = ()
    clusters: tuple[tuple[str, int], ...] = ()
    count: int | None = None
    vlans: tuple[tuple[str, int], ...] = ()
    excluded_hosts: tuple[str, ...] = ()
    excluded_clusters: tuple[str, ...] = ()

    def resources(self) -> str:
        """The ``-l`` resource string: explicit hosts, then clusters, then the rest of the site, then vlans."""
        rdefs = []
        if self.hosts:
            rdefs.append(f"{{host IN {_in_list(self.hosts)}}}/nodes={len(self.hosts)}")
        for cluster, n in self.clusters:
            cond = f"cluster={_quoted(cluster)}"
            mine = [h for h in self.excluded_hosts if get_host_cluster(h) == cluster]
            if mine:
                cond += f" AND host NOT IN {_in_list(mine)}"
            rdefs.append(f"{{{cond}}}/nodes={n}")
        if self.count is not None:
            conds = []
            if self.excluded_hosts:
                conds.append(f"host NOT IN {_in_list(self.excluded_hosts)}")
            if self.excluded_clusters:
                conds.append(f"cluster NOT IN {_in_list(self.excluded_clusters)}")
            prefix = "{" + " AND ".join(conds) + "}/" if conds else ""
            rdefs.append(f"{prefix}nodes={self.count}")
        rdefs += [f"{{type={_quoted(kind)}}}/vlan={count}" for kind, count in self.vlans]
        return "+".join(rdefs)

    def clusters_drawn(self, slots: Slots, site: str) -> set[str]:
        """The clusters OAR may take this job's hosts from."""
        drawn = {c for h in self.hosts if (c := get_host_cluster(h)) is not None} | {c for c, _ in self.clusters}
        if self.count is not None:
            drawn |= {c for c, s in slots.cluster_sites if s == site and c not in self.excluded_clusters}
        return drawn


def get_jobs_specs(
    resources: Mapping[str, int],
    slots: Slots,
    slot: Slot | None = None,
    excluded_elements: Iterable[str] = (),
    name: str | None = None,
) -> Result[tuple[JobSpec, ...], G5kError]:
    """One well-formed OAR resource request per site from a distribution (clusters, sites, hosts named in any
    form, vlan kinds): explicit hosts first, then clusters, then the site's other nodes, then the vlans; sites in
    name order. Each job carries the OAR queue of the clusters it draws from; a job that would mix clusters of
    two queues is an InvalidInput naming them.

    Excluded elements (``excluded_elements`` and those the slots were computed without) are filtered out of
    OAR's choice on their own site: an excluded host is in a ``host NOT IN`` condition (by FQDN) of its cluster's
    and its site's requests, an excluded cluster in a ``cluster NOT IN`` condition of its site's. Requesting an
    excluded element, or one inside it, is an InvalidInput; so is a host named without its site whose cluster
    the slots do not know."""
    if "grid5000" in resources:
        return Failure(InvalidInput("resources", "grid5000", "per-site counts: call distribute_hosts first"))
    resolved: Result[tuple[Excluded, ...], G5kError] = Fold.collect(
        (_resolve_for_specs(slots, e) for e in sorted(set(excluded_elements) | {e.given for e in slots.excluded})),
        Success(()),
    )
    return resolved.bind(lambda exclusions: _jobs_specs(resources, slots, slot, exclusions, name))


def _jobs_specs(resources: Mapping[str, int], slots: Slots, slot: Slot | None, exclusions: tuple[Excluded, ...],
                name: str | None) -> Result[tuple[JobSpec, ...], G5kError]:
    """The requests of :func:`get_jobs_specs` once the excluded elements are resolved."""
    out_names = {e.name for e in exclusions} | {e.given for e in exclusions}
    hosts_by_site: dict[str, dict[str, None]] = {}
    clusters_by_site: dict[str, list[tuple[str, int]]] = {}
    site_counts: dict[str, int] = {}
    for element, n in resources.items():
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            return Failure(InvalidInput(f"count of {element}", str(n), "a positive integer"))
        if element in VLAN_KINDS:
            if element in out_names:
                return Failure(InvalidInput("resources", element, "no element that is also excluded"))
            continue
        site = slots.site_of(element)
        lineage = {element}
        if site is None:
            if get_host_cluster(element) is None:
                return Failure(InvalidInput("element", element, "a site, a cluster, or a host FQDN of the planning"))
            fqdn = slots.fqdn(element)
            if isinstance(fqdn, Failure):
                return Failure(fqdn.failure())
            host = fqdn.unwrap()
            site = host.split(".")[1]
            lineage |= {host, host_shortname(host), get_host_cluster(host) or ""}
            hosts_by_site.setdefault(site, {})[host] = None
        elif site == element:
            site_counts[site] = n
        else:
            clusters_by_site.setdefault(site, []).append((element, n))
        if (lineage | {site}) & out_names:
            inside = sorted((lineage | {site}) & out_names)[0]
            return Failure(InvalidInput("resources", element,
                                        f"no element that is excluded or inside an excluded one ({inside})"))
    sites = sorted(set(hosts_by_site) | set(clusters_by_site) | set(site_counts))

    def job_spec(site: str, vlans: list[tuple[str, int]]) -> Result[JobSpec, G5kError]:
        request = _SiteRequest(
            hosts=tuple(sorted(hosts_by_site.get(site, ()), key=host_sort_key)),
            clusters=tuple(sorted(clusters_by_site.get(site, ()), key=lambda cn: natural_key(cn[0]))),
            count=site_counts.get(site),
            vlans=tuple(vlans),
            excluded_hosts=tuple(sorted((e.name for e in exclusions if e.kind == "host" and e.site == site),
                                        key=host_sort_key)),
            excluded_clusters=tuple(sorted((e.name for e in exclusions if e.kind == "cluster" and e.site == site),
                                           key=natural_key)),
        )
        return _job_queue(slots, site, request.clusters_drawn(slots, site)).map(
            lambda queue: JobSpec(site=site, resources=request.resources(), walltime=slots.walltime,
                                  reservation=None if slot is None else slot.start, name=name, queue=queue))

    return _vlan_sites(resources, sites, slot).bind(
        lambda vlan_sites: Fold.collect((job_spec(site, vlan_sites.get(site, [])) for site in sites), Success(()))
    )


def _vlan_sites(resources: Mapping[str, int], sites: list[str],
                slot: Slot | None) -> Result[dict[str, list[tuple[str, int]]], G5kError]:
    """The site whose job asks for each wanted vlan kind: a global vlan on the first site of the request whose
    global kavlan is free in the slot, a local or routed vlan on the one site of the request."""
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
    return Success(vlan_sites)


def get_hosts_jobs(planning: Planning, hosts: Iterable[str | HasAddress], walltime: int,
                   name: str | None = None) -> Result[tuple[JobSpec, ...], G5kError]:
    """Per-site requests reserving exactly ``hosts`` (named in any form) at the first start where all are free
    for ``walltime``; out-of-charter periods are added to the planning beforehand with ``add_busy_periods``."""
    wanted: list[str] = []
    for host in hosts:
        given = address_of(host)
        found = planning.host(given)
        if found is None:
            missing = NotFound(what="host in the planning", key=given,
                               hint="get the planning of its site or cluster first")
            # A host name the planning cannot read is refused for that, before being missing.
            refused = planning.fqdn(given).swap().value_or(missing) if get_host_cluster(given) is not None else missing
            return Failure(refused)
        if found.host not in wanted:
            wanted.append(found.host)
    if not wanted:
        return Failure(InvalidInput(name="hosts", value="", expected="at least one host"))
    slots: Result[Slots, G5kError] = compute_slots(planning, walltime, include_hosts=True)
    return slots.bind(lambda all_slots: _hosts_jobs(planning, all_slots, wanted, walltime, name))


def _hosts_jobs(planning: Planning, all_slots: Slots, wanted: list[str], walltime: int,
                name: str | None) -> Result[tuple[JobSpec, ...], G5kError]:
    chosen = next((s for s in all_slots.slots if s.hosts is not None and set(wanted) <= s.hosts), None)
    if chosen is None:
        return Failure(NoSlot(f"the {len(wanted)} hosts are never all free for {format_walltime(walltime)} "
                              f"before {paris_time(planning.end)}"))
    return get_jobs_specs(dict.fromkeys(wanted, 1), all_slots, chosen, name=name)
