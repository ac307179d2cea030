"""The smaller helpers of execo_g5k's planning and utils modules, over g5kpure's values.

- :func:`max_resources`: how many hosts a planning holds per grid5000 / site / cluster (execo's
  ``max_resources``);
- :func:`get_hosts_jobs`: the first moment when given hosts are all free for a walltime, and the per-site OAR
  requests reserving exactly them (execo's ``get_hosts_jobs``; it raised UnboundLocalError when the hosts were
  never free together, here that is a ``NoSlot``; out-of-charter periods are added to the planning beforehand
  with ``add_busy_periods``);
- :func:`find_job_by_name`: the job of a given name among jobs read with oarstat (execo's ``get_job_by_name``
  raised KeyError for a job without a name; here a job without a name simply does not match);
- :func:`show_resources`: a text summary of counts per element (execo logged it);
- :func:`hosts_list`: host names joined into one line (execo's ``hosts_list``, without terminal colours);
- :func:`get_fastest_host`: the host with the highest ``performance.node_flops`` (execo compared each host with
  the attributes of the last host it had fetched, so its answer depended on the input order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NoSlot, NotFound
from g5kpure.hosts import HasAddress, address_of, canonical_host_name, host_longname, natural_key
from g5kpure.oar.dates import format_walltime
from g5kpure.oar.jobs import OarJobInfo
from g5kpure.planning.slots import JobSpec, Planning, compute_slots, get_jobs_specs, paris_time
from g5kpure.reference.snapshot import Snapshot


def max_resources(planning: Planning) -> dict[str, int]:
    """A fresh mapping grid5000 / site / cluster -> number of hosts of the planning."""
    counts: dict[str, int] = {"grid5000": len(planning.hosts)}
    for host in planning.hosts:
        counts[host.site] = counts.get(host.site, 0) + 1
        counts[host.cluster] = counts.get(host.cluster, 0) + 1
    return counts


def get_hosts_jobs(planning: Planning, hosts: Iterable[str | HasAddress], walltime: int,
                   name: str | None = None) -> Result[tuple[JobSpec, ...], G5kError]:
    """Per-site requests reserving exactly ``hosts`` at the first start where all are free for ``walltime``."""
    wanted: list[str] = []
    for host in hosts:
        given = canonical_host_name(address_of(host))
        found = planning.host(host_longname(given).value_or(given) if "." in given else given)
        if found is None:
            return Failure(NotFound(what="host in the planning", key=address_of(host),
                                    hint="get the planning of its site or cluster first"))
        if found.host not in wanted:
            wanted.append(found.host)
    if not wanted:
        return Failure(InvalidInput(name="hosts", value="", expected="at least one host"))
    slots = compute_slots(planning, walltime, include_hosts=True)
    if isinstance(slots, Failure):
        return Failure(slots.failure())
    all_slots = slots.unwrap()
    chosen = next((s for s in all_slots.slots if s.hosts is not None and set(wanted) <= s.hosts), None)
    if chosen is None:
        return Failure(NoSlot(f"the {len(wanted)} hosts are never all free for {format_walltime(walltime)} "
                              f"before {paris_time(planning.end)}"))
    return get_jobs_specs(dict.fromkeys(wanted, 1), all_slots, chosen, name=name)


def find_job_by_name(infos: Sequence[OarJobInfo], name: str) -> Result[OarJobInfo, NotFound]:
    """The first job (in the order given) whose name is ``name``."""
    for info in infos:
        if info.name == name:
            return Success(info)
    return Failure(NotFound(what="job named", key=name, hint=f"among {len(infos)} current jobs"))


def get_fastest_host(snapshot: Snapshot, hosts: Iterable[str | HasAddress]) -> Result[str | HasAddress, G5kError]:
    """The host (as given) with the highest node flops; the first one given on ties."""
    best: tuple[float, str | HasAddress] | None = None
    for host in hosts:
        node = snapshot.node(host)
        if isinstance(node, Failure):
            return Failure(node.failure())
        flops = node.unwrap().performance.node_flops
        if best is None or flops > best[0]:
            best = (flops, host)
    if best is None:
        return Failure(InvalidInput(name="hosts", value="", expected="at least one host"))
    return Success(best[1])


def hosts_list(hosts: Iterable[str | HasAddress], separator: str = " ", site: bool = False) -> str:
    """Host names in natural order joined by ``separator``: short names, or ``short.site`` with ``site``.

    execo_g5k's ``hosts_list`` sorted as text (``nova-10`` before ``nova-2``) and wrapped each name in terminal
    colour codes; here the order is natural and the text plain."""
    names = sorted((address_of(h) for h in hosts), key=lambda n: (natural_key(n.split(".", 1)[0]), n))
    parts = [n.split(".")[:2] for n in names]
    return separator.join(".".join(p) if site else p[0] for p in parts)


def show_resources(resources: Mapping[str, int], cluster_sites: Iterable[tuple[str, str]],
                   max_resources: Mapping[str, int] | None = None, msg: str = "Resources") -> str:
    """A text summary of a resource count per element (execo's ``show_resources`` logged it; this returns it).

    One line for grid5000 if present, then one per site in name order with its clusters in parentheses;
    ``n/m`` when ``max_resources`` gives the element's maximum; other elements (vlans, hosts) on a last line.
    ``cluster_sites`` are (cluster, site) pairs, e.g. ``Slots.cluster_sites``."""
    site_of = dict(cluster_sites)
    sites = set(site_of.values())

    def count(element: str) -> str:
        top = max_resources.get(element) if max_resources is not None else None
        return f"{resources[element]}" + (f"/{top}" if top is not None else "")

    lines = [f"{msg}:"]
    if "grid5000" in resources:
        lines.append(f"  grid5000: {count('grid5000')}")
    named_sites = sorted({e for e in resources if e in sites} | {site_of[e] for e in resources if e in site_of},
                         key=natural_key)
    for site in named_sites:
        clusters = sorted((e for e in resources if site_of.get(e) == site), key=natural_key)
        inner = ", ".join(f"{c}: {count(c)}" for c in clusters)
        head = f"  {site}: {count(site)}" if site in resources else f"  {site}:"
        lines.append(head + (f" ({inner})" if inner else ""))
    others = sorted((e for e in resources if e != "grid5000" and e not in sites and e not in site_of),
                    key=natural_key)
    if others:
        lines.append("  " + ", ".join(f"{e}: {count(e)}" for e in others))
    return "\n".join(lines)
