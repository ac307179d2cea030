"""Summaries of plannings and host sets: host counts per element, a text summary of counts, a line of hosts.

- :func:`max_resources`: how many hosts a planning holds per grid5000 / site / cluster;
- :func:`show_resources`: a text summary of counts per element, clusters grouped under their sites;
- :func:`hosts_list`: host names in natural order joined into one line (short names, or with their site).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from g5kpure.hosts import HasAddress, address_of, natural_key
from g5kpure.planning.model import Planning


def max_resources(planning: Planning) -> dict[str, int]:
    """A fresh mapping grid5000 / site / cluster -> number of hosts of the planning."""
    counts: dict[str, int] = {"grid5000": len(planning.hosts)}
    for host in planning.hosts:
        counts[host.site] = counts.get(host.site, 0) + 1
        counts[host.cluster] = counts.get(host.cluster, 0) + 1
    return counts


def hosts_list(hosts: Iterable[str | HasAddress], separator: str = " ", site: bool = False) -> str:
    """Host names in natural order joined by ``separator``: short names, or ``short.site`` with ``site``; plain
    text (no terminal colours)."""
    names = sorted((address_of(h) for h in hosts), key=lambda n: (natural_key(n.split(".", 1)[0]), n))
    parts = [n.split(".")[:2] for n in names]
    return separator.join(".".join(p) if site else p[0] for p in parts)


def show_resources(resources: Mapping[str, int], cluster_sites: Iterable[tuple[str, str]],
                   max_resources: Mapping[str, int] | None = None, msg: str = "Resources") -> str:
    """A text summary of a resource count per element.

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
