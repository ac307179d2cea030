"""The elements a request names (grid5000, sites, clusters, hosts) read against the reference snapshot: the sites
that hold them, and host names written as their canonical FQDN (a bare ``nova-1`` takes its cluster's site)."""

from __future__ import annotations

from collections.abc import Iterable

from returns.result import Success

from g5kpure.planning.model import fqdn_in
from g5kpure.reference.snapshot import Snapshot


def snapshot_cluster_sites(snapshot: Snapshot) -> dict[str, str]:
    """A fresh mapping cluster -> site of every cluster of the snapshot."""
    return {cluster: site for site in snapshot.sites() for cluster in snapshot.clusters(site).value_or(())}


def sites_of_elements(
    snapshot: Snapshot, elements: Iterable[str], clusters: Iterable[str] | None = None
) -> tuple[str, ...]:
    """The sites holding ``elements``, sorted: a site itself, a cluster's site, a host's site (from its name, or
    from its cluster); grid5000 brings the sites of ``clusters`` (every cluster of the snapshot when None).
    Elements the snapshot cannot place are left out."""
    site_of = snapshot_cluster_sites(snapshot)
    known = set(snapshot.sites())
    sites: set[str] = set()
    for element in elements:
        if element == "grid5000":
            sites |= {site_of[c] for c in (site_of if clusters is None else clusters) if c in site_of}
        elif element in known:
            sites.add(element)
        elif element in site_of:
            sites.add(site_of[element])
        elif isinstance(fqdn := fqdn_in(element, site_of), Success):
            sites.add(fqdn.unwrap().split(".")[1])
    return tuple(sorted(sites))


def with_host_fqdns(elements: Iterable[str], snapshot: Snapshot) -> tuple[str, ...]:
    """The elements with every host name whose site is known (from the name, or from its cluster in the snapshot)
    written as its canonical FQDN (``nova-1``, ``nova-1.lyon``, ``nova-1-eth1.lyon.grid5000.fr`` ->
    ``nova-1.lyon.grid5000.fr``); sites, clusters and other names unchanged."""
    site_of = snapshot_cluster_sites(snapshot)
    known = set(snapshot.sites())
    return tuple(
        element if element in known or element in site_of else fqdn_in(element, site_of).value_or(element)
        for element in elements
    )
