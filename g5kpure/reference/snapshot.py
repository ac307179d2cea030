"""A Reference API snapshot as one value: the whole grid at one version, structured from the API's JSON with
cattrs, indexed once, and its queries (sites, clusters, hosts, network equipments, raw attributes).

The input is the API's own JSON in its "deep" nesting (``GET /stable/?deep=true`` style, which is also the shape
of the embedded snapshot): ``{"sites": {uid: {..., "clusters": {uid: {..., "nodes": [...]}},
"network_equipments": [...]}}, "network_equipments": [<backbone>...]}``. Structuring tolerates unknown keys,
gives missing optional keys their defaults, and makes a value of the wrong type a ``ParseError`` naming its path
(``sites.lyon.clusters.nova.nodes[3].architecture.nb_cores``). The raw JSON of every element stays available
through ``Snapshot.attributes`` (a fresh copy each time). Cluster listings take an optional queue filter (none
by default; every cluster lists ``admin``); an unknown site, cluster or host is a ``NotFound`` value.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from attrs import field, frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NotFound, ParseError
from g5kpure.hosts import HasAddress, address_of, natural_key, parse_host_name
from g5kpure.reference.models import (
    DEFAULT_CLUSTER_QUEUES,
    Cluster,
    NetworkEquipment,
    Node,
    Site,
)
from g5kpure.reference.structuring import (
    BACKBONE,
    SITE_SKIP,
    Bad,
    cluster_value,
    equipments_value,
    excerpt,
    list_of,
    site_value,
)

# --- the index and the parts -----------------------------------------------------------------------------------


class _Index:
    """Where every element is, known without structuring any: sites, their clusters (natural order) with their
    listed queues and node uids, the equipments of each site and of the backbone with their ``site`` field."""

    def __init__(self, version: str, sites: Sequence[tuple[str, Sequence[tuple[str, Sequence[str], Sequence[str]]],
                                                           Sequence[tuple[str, str | None]]]],
                 backbone: Sequence[tuple[str, str | None]]) -> None:
        self.version = version
        self.site_uids = tuple(uid for uid, _, _ in sites)
        self.clusters_of = {uid: tuple(c for c, _, _ in clusters) for uid, clusters, _ in sites}
        self.cluster_site = {c: uid for uid, clusters, _ in sites for c, _, _ in clusters}
        self.queues = {c: tuple(q) for _, clusters, _ in sites for c, q, _ in clusters}
        self.node_uids = {c: tuple(n) for _, clusters, _ in sites for c, _, n in clusters}
        self.node_cluster = {n: c for c, nodes in self.node_uids.items() for n in nodes}
        self.equipments_of: dict[str, tuple[tuple[str, str | None], ...]] = {
            uid: tuple((e, s) for e, s in equipments) for uid, _, equipments in sites}
        self.equipments_of[BACKBONE] = tuple((e, s) for e, s in backbone)
        self.places: dict[str, list[tuple[str, str | None]]] = {}  # equipment uid -> (container, site field)
        for container in (*self.site_uids, BACKBONE):
            for e, s in self.equipments_of[container]:
                self.places.setdefault(e, []).append((container, s))

    def to_json(self) -> dict[str, Any]:
        """The index as JSON-able data (read back by :meth:`from_json`)."""
        return {
            "version": self.version,
            "sites": [[uid, [[c, list(self.queues[c]), list(self.node_uids[c])] for c in self.clusters_of[uid]],
                       [list(e) for e in self.equipments_of[uid]]] for uid in self.site_uids],
            "backbone": [list(e) for e in self.equipments_of[BACKBONE]],
        }

    @classmethod
    def from_json(cls, data: Any) -> _Index:
        """The index of :meth:`to_json`'s data; raises Bad when it does not have that shape."""

        def texts(value: Any) -> tuple[str, ...]:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TypeError("expected a list of strings")
            return tuple(value)

        def equipments(value: Any) -> list[tuple[str, str | None]]:
            if not isinstance(value, list):
                raise TypeError("expected a list of equipments")
            out: list[tuple[str, str | None]] = []
            for uid, site in value:
                if not isinstance(uid, str) or not (site is None or isinstance(site, str)):
                    raise TypeError("expected [uid, site] pairs")
                out.append((uid, site))
            return out

        try:
            version = data["version"]
            if not isinstance(version, str):
                raise TypeError("expected a version string")
            sites = [(str(uid), [(str(c), texts(q), texts(n)) for c, q, n in clusters], equipments(equips))
                     for uid, clusters, equips in data["sites"]]
            return cls(version, sites, equipments(data["backbone"]))
        except (TypeError, ValueError, KeyError) as exc:
            raise Bad(ParseError(what="snapshot index", hint=f"{exc}; rebuild it from the snapshot")) from None

    @classmethod
    def of_values(cls, version: str, sites: Sequence[Site], backbone: Sequence[NetworkEquipment]) -> _Index:
        """The index of structured sites and backbone."""
        return cls(version,
                   [(s.uid, [(c.uid, c.queues, [n.uid for n in c.nodes]) for c in s.clusters],
                     [(e.uid, e.site) for e in s.network_equipments]) for s in sites],
                   [(e.uid, e.site) for e in backbone])


def _site_key(uid: str) -> str:
    return f"site/{uid}"


def _cluster_key(uid: str) -> str:
    return f"cluster/{uid}"


_BACKBONE_KEY = "backbone"


@frozen
class SnapshotParts:
    """A snapshot cut for fast loading: its index (JSON-able data naming every element) and its parts, the
    API's JSON of each site without its clusters (``site/<uid>``), of each cluster with its nodes
    (``cluster/<uid>``) and of the backbone (``backbone``), each as JSON bytes."""

    index: Mapping[str, Any]
    parts: Mapping[str, bytes]


class _Store:
    """What a snapshot holds: its index, its parts (decoded objects only it holds, or JSON text decoded at each
    use) and the values structured from them, each on first use. Two threads may structure the same part at
    once: both get equal values, and either is kept."""

    def __init__(self, index: _Index, parts: Mapping[str, Any]) -> None:
        self.index = index
        self.parts = parts
        self.sites: dict[str, Site] = {}
        self.clusters: dict[str, Cluster] = {}
        self.nodes: dict[str, Node] = {}
        self.equipments: dict[str, tuple[NetworkEquipment, ...]] = {}

    def _json(self, key: str) -> Any:
        part = self.parts[key]
        return json.loads(part) if isinstance(part, str | bytes) else part

    def fresh(self, key: str, pick: Callable[[Any], Any]) -> Any:
        """``pick`` of a part's JSON, as a copy that nobody else holds."""
        part = self.parts[key]
        return pick(json.loads(part)) if isinstance(part, str | bytes) else copy.deepcopy(pick(part))

    def _structured(self, key: str, build: Callable[[Any], Any]) -> Any:
        try:
            return build(self._json(key))
        except Bad as bad:  # parts come from a snapshot already checked: damaged since
            raise ValueError(f"the snapshot part {key} is damaged: {bad.error.message}") from None

    def cluster(self, uid: str) -> Cluster:
        found = self.clusters.get(uid)
        if found is None:
            site = self.index.cluster_site[uid]
            found = self._structured(_cluster_key(uid),
                                     lambda raw: cluster_value(site, uid, raw, f"sites.{site}.clusters.{uid}"))
            self.remember_cluster(found)
        return found

    def remember_cluster(self, cluster: Cluster) -> None:
        self.nodes.update((n.uid, n) for n in cluster.nodes)
        self.clusters[cluster.uid] = cluster

    def node(self, uid: str) -> Node | None:
        cluster = self.index.node_cluster.get(uid)
        if cluster is None:
            return None
        if uid not in self.nodes:
            self.cluster(cluster)
        return self.nodes.get(uid)

    def site_equipments(self, container: str) -> tuple[NetworkEquipment, ...]:
        found = self.equipments.get(container)
        if found is None:
            if container == BACKBONE:
                found = self._structured(_BACKBONE_KEY, lambda raw: equipments_value(None, raw,
                                                                                      "network_equipments"))
            else:
                path = f"sites.{container}.network_equipments"
                found = self._structured(_site_key(container),
                                         lambda raw: equipments_value(container, raw.get("network_equipments"), path))
            self.equipments[container] = found
        return found

    def site(self, uid: str) -> Site:
        found = self.sites.get(uid)
        if found is None:
            clusters = tuple(self.cluster(c) for c in self.index.clusters_of[uid])
            equipments = self.site_equipments(uid)
            found = self._structured(_site_key(uid),
                                     lambda raw: site_value(uid, raw, clusters, equipments, f"sites.{uid}"))
            self.sites[uid] = found
        return found


# --- the snapshot ----------------------------------------------------------------------------------------------


def _accepts(listed: tuple[str, ...], queues: str | Iterable[str] | None) -> bool:
    """Whether a cluster listing ``listed`` queues (execo's default when none) meets ``queues`` (None: any)."""
    if queues is None:
        return True
    wanted = {queues} if isinstance(queues, str) else set(queues)
    return bool(wanted.intersection(listed or DEFAULT_CLUSTER_QUEUES))


@frozen(eq=False)
class Snapshot:
    """The whole grid at one version, with an index built once for O(1) lookups.

    ``version`` is the API version (commit) it came from. Sites, clusters and nodes are structured from the
    API's JSON when first asked for (a snapshot loaded from its parts answers ``sites()`` or ``clusters()``
    without structuring any node); ``sites_`` are all the Site values sorted by uid (each with its clusters,
    nodes and network equipments), ``backbone`` the Renater equipments. Queries that take a key return
    ``Result`` (``NotFound`` naming the key); listings are tuples in natural order.
    """

    version: str
    _store: _Store = field(repr=False)

    @property
    def sites_(self) -> tuple[Site, ...]:
        """Every site value, sorted by uid (structures the whole snapshot)."""
        return tuple(self._store.site(uid) for uid in self._store.index.site_uids)

    @property
    def backbone(self) -> tuple[NetworkEquipment, ...]:
        """The backbone's equipments (Renater)."""
        return self._store.site_equipments(BACKBONE)

    # -- sites --
    def sites(self) -> tuple[str, ...]:
        """Uids of all sites, sorted."""
        return self._store.index.site_uids

    def _unknown_site(self, site: str) -> NotFound:
        return NotFound(what="site", key=site, hint=f"known sites: {', '.join(self.sites())}")

    def site(self, site: str) -> Result[Site, NotFound]:
        """The site value of ``site``."""
        if site not in self._store.index.clusters_of:
            return Failure(self._unknown_site(site))
        return Success(self._store.site(site))

    def site_attributes(self, site: str) -> Result[dict[str, Any], NotFound]:
        """The API's JSON of a site (without its clusters and equipments), as a fresh dict."""
        if site not in self._store.index.clusters_of:
            return Failure(self._unknown_site(site))
        return Success(self._store.fresh(_site_key(site), lambda raw: {k: v for k, v in raw.items()
                                                                       if k not in SITE_SKIP}))

    # -- clusters --
    def cluster(self, cluster: str) -> Result[Cluster, NotFound]:
        """The cluster value of ``cluster``."""
        if cluster not in self._store.index.cluster_site:
            return Failure(NotFound(what="cluster", key=cluster, hint="see `g5k ref clusters` for the known ones"))
        return Success(self._store.cluster(cluster))

    def clusters(self, site: str | None = None, queues: str | Iterable[str] | None = None) -> Result[
        tuple[str, ...], NotFound
    ]:
        """Uids of the clusters of ``site`` (or of the grid), filtered on ``queues`` as ``filter_clusters``."""
        index = self._store.index
        if site is None:
            chosen: Iterable[str] = (c for s in index.site_uids for c in index.clusters_of[s])
        elif site not in index.clusters_of:
            return Failure(self._unknown_site(site))
        else:
            chosen = index.clusters_of[site]
        return Success(tuple(c for c in chosen if _accepts(index.queues[c], queues)))

    def cluster_attributes(self, cluster: str) -> Result[dict[str, Any], NotFound]:
        """The API's JSON of a cluster (without its nodes), as a fresh dict."""
        return self.cluster(cluster).map(lambda c: self._store.fresh(
            _cluster_key(c.uid), lambda raw: {k: v for k, v in raw.items() if k != "nodes"}))

    def cluster_queues(self, cluster: str) -> Result[tuple[str, ...], NotFound]:
        """The queues of a cluster (execo's default when it lists none)."""
        listed = self._store.index.queues.get(cluster)
        if listed is None:
            return Failure(NotFound(what="cluster", key=cluster, hint="see `g5k ref clusters` for the known ones"))
        return Success(listed or DEFAULT_CLUSTER_QUEUES)

    # -- hosts --
    def node(self, host: str | HasAddress) -> Result[Node, NotFound]:
        """The node value of a host given by any of its names (FQDN, short, kavlan, interface variants)."""
        name = address_of(host)
        # Called for every host of a planning: plain values here, no chain of Results.
        parsed = parse_host_name(name).value_or(None)
        uid = parsed.node if parsed is not None else name.split(".", 1)[0]
        found = self._store.node(uid)
        if found is None:
            return Failure(NotFound(what="host", key=name, hint="give a node name such as nova-1.lyon.grid5000.fr"))
        if parsed is not None and parsed.site not in (None, found.site):
            return Failure(NotFound(what="host", key=name, hint=f"{uid} is in site {found.site}"))
        return Success(found)

    def nodes(self, site: str | None = None, cluster: str | None = None,
              queues: str | Iterable[str] | None = None) -> Result[tuple[Node, ...], NotFound]:
        """Node values of a cluster, a site or the grid (natural order), clusters filtered on ``queues``."""
        if cluster is not None:
            where = self._store.index.cluster_site.get(cluster)
            if where is None or (site is not None and where != site):
                return Failure(NotFound(what="cluster", key=cluster if site is None else f"{cluster} in {site}"))
            return Success(self._store.cluster(cluster).nodes)
        return self.clusters(site, queues).map(
            lambda uids: tuple(n for uid in uids for n in self._store.cluster(uid).nodes)
        )

    def hosts(self, site: str | None = None, cluster: str | None = None,
              queues: str | Iterable[str] | None = None) -> Result[tuple[str, ...], NotFound]:
        """FQDNs of the hosts of a cluster, a site or the grid (natural order), clusters filtered on ``queues``."""
        return self.nodes(site, cluster, queues).map(lambda nodes: tuple(n.fqdn for n in nodes))

    def host_attributes(self, host: str | HasAddress) -> Result[dict[str, Any], NotFound]:
        """The API's JSON of a node, as a fresh dict."""
        return self.node(host).map(lambda n: self._store.fresh(
            _cluster_key(n.cluster), lambda raw: next(d for d in raw["nodes"] if d.get("uid") == n.uid)))

    def cluster_of(self, host: str | HasAddress) -> Result[str, NotFound]:
        """The cluster of a host known to the snapshot."""
        return self.node(host).map(lambda n: n.cluster)

    def site_of(self, element: str | HasAddress) -> Result[str, NotFound]:
        """The site of a host, a cluster or a site network equipment (``uid`` unique in the grid)."""
        name = address_of(element)
        index = self._store.index
        if name in index.cluster_site:
            return Success(index.cluster_site[name])
        if name in index.clusters_of:
            return Success(name)
        return self.node(name).map(lambda node: node.site).lash(lambda _: self._equipment_site(name))

    def _equipment_site(self, name: str) -> Result[str, NotFound]:
        sites = sorted({s for _, s in self._store.index.places.get(name, ()) if s is not None})
        if len(sites) == 1:
            return Success(sites[0])
        if sites:
            return Failure(NotFound(what="element", key=name, hint=f"ambiguous: an equipment of {', '.join(sites)}"))
        return Failure(NotFound(what="host, cluster or equipment", key=name))

    def fqdn(self, host: str | HasAddress) -> Result[str, NotFound]:
        """The canonical FQDN of a known host (``nova-1-kavlan-4`` -> ``nova-1.lyon.grid5000.fr``)."""
        return self.node(host).map(lambda n: n.fqdn)

    # -- network equipments --
    def _place(self, uid: str, site: str | None) -> Result[tuple[str, str | None], NotFound]:
        candidates = [p for p in self._store.index.places.get(uid, ()) if site is None or p[1] == site]
        if len(candidates) == 1:
            return Success(candidates[0])
        if not candidates:
            return Failure(NotFound(what="network equipment", key=uid if site is None else f"{uid} in {site}"))
        sites = ", ".join(sorted(str(s) for _, s in candidates))
        return Failure(NotFound(what="network equipment", key=uid, hint=f"ambiguous, give the site: {sites}"))

    def equipment(self, uid: str, site: str | None = None) -> Result[NetworkEquipment, NotFound]:
        """The network equipment ``uid`` (``site`` is needed for names used by several sites, like ``gw``)."""
        return self._place(uid, site).map(lambda place: next(
            e for e in self._store.site_equipments(place[0]) if e.uid == uid and e.site == place[1]))

    def equipment_attributes(self, uid: str, site: str | None = None) -> Result[dict[str, Any], NotFound]:
        """The API's JSON of a network equipment, as a fresh dict."""

        def pick(container: str, site_field: str | None) -> Callable[[Any], Any]:
            if container == BACKBONE:
                return lambda raw: next(e for e in raw if e.get("uid") == uid and e.get("site") == site_field)
            return lambda raw: next(e for e in raw["network_equipments"]
                                    if e.get("uid") == uid and e.get("site", container) == site_field)

        return self._place(uid, site).map(lambda place: self._store.fresh(
            _BACKBONE_KEY if place[0] == BACKBONE else _site_key(place[0]), pick(*place)))

    def equipments(self, site: str | None = None, cluster: str | None = None,
                   host: str | HasAddress | None = None) -> Result[tuple[str, ...], NotFound]:
        """Uids of the network equipments of a site, a cluster's hosts, a host, or the backbone (no argument)."""
        if host is not None:
            return self.node(host).map(_node_switches)
        if cluster is not None:
            return self.cluster(cluster).map(
                lambda c: tuple(sorted({s for n in c.nodes for s in _node_switches(n)}))
            )
        index = self._store.index
        if site is not None:
            if site not in index.clusters_of:
                return Failure(self._unknown_site(site))
            return Success(tuple(uid for uid, _ in index.equipments_of[site]))
        return Success(tuple(uid for uid, _ in index.equipments_of[BACKBONE]))

    # -- any element --
    def attributes(self, element: str | HasAddress) -> Result[dict[str, Any], NotFound]:
        """The API's JSON of a site, cluster, host or equipment named by ``element``, as a fresh dict."""
        name = address_of(element)
        if name in self._store.index.clusters_of:
            return self.site_attributes(name)
        if name in self._store.index.cluster_site:
            return self.cluster_attributes(name)
        return self.host_attributes(name).lash(lambda _: self._attributes_of_equipment(name))

    def _attributes_of_equipment(self, name: str) -> Result[dict[str, Any], NotFound]:
        if name in self._store.index.places:
            return self.equipment_attributes(name)
        return Failure(NotFound(what="site, cluster, host or equipment", key=name))

    def group_hosts(self, hosts: Iterable[str | HasAddress]) -> Result[dict[str, dict[str, tuple[Any, ...]]], NotFound]:
        """Group hosts (kept as given) by site then cluster, sorted; unknown hosts are an error naming them."""
        groups: dict[str, dict[str, list[Any]]] = {}
        unknown: list[str] = []
        for host in hosts:
            n = self.node(host).value_or(None)
            if n is not None:
                groups.setdefault(n.site, {}).setdefault(n.cluster, []).append(host)
            else:
                unknown.append(address_of(host))
        if unknown:
            return Failure(NotFound(what="hosts", key=", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")))
        return Success(
            {s: {c: tuple(groups[s][c]) for c in sorted(groups[s])} for s in sorted(groups)}
        )

    def parts(self) -> SnapshotParts:
        """The snapshot cut into its index and parts (JSON bytes), which :func:`snapshot_from_parts` reads back."""
        parts = {key: part if isinstance(part, bytes) else part.encode() if isinstance(part, str)
                 else json.dumps(part, separators=(",", ":"), default=str).encode()
                 for key, part in self._store.parts.items()}
        return SnapshotParts(self._store.index.to_json(), parts)


def _node_switches(node: Node) -> tuple[str, ...]:
    """Switches of a node's mountable Ethernet adapters (not the management one), as execo listed them."""
    return tuple(
        sorted(
            {
                a.switch
                for a in node.network_adapters
                if a.switch and not a.management and a.mountable and a.interface == "Ethernet"
            }
        )
    )


def filter_clusters(clusters: Iterable[Cluster], queues: str | Iterable[str] | None = None) -> tuple[Cluster, ...]:
    """Clusters whose queues meet ``queues`` (a name or names); None keeps all. Every cluster lists ``admin``."""
    return tuple(c for c in clusters if _accepts(c.queues, queues))


def _build(data: Mapping[str, Any], owned: bool = False) -> Snapshot:
    """The snapshot of ``data``, every element structured (so that any wrong value is found now); ``owned`` when
    nobody else holds ``data`` (its parts are then kept as they are, instead of being frozen as JSON text against
    later changes by the caller)."""
    raw_sites = data.get("sites", {})
    if not isinstance(raw_sites, Mapping):
        raise Bad(ParseError(what="sites", where="sites", line=excerpt(raw_sites), hint="expected an object"))
    sites: list[Site] = []
    parts: dict[str, Any] = {}
    for uid in sorted(raw_sites):
        path = f"sites.{uid}"
        s_raw = raw_sites[uid]
        if not isinstance(s_raw, Mapping):
            raise Bad(ParseError(what="site object", where=path, line=excerpt(s_raw), hint="expected {...}"))
        raw_clusters = s_raw.get("clusters", {})
        if not isinstance(raw_clusters, Mapping):
            raise Bad(ParseError(what="clusters", where=f"{path}.clusters", hint="expected an object keyed by uid"))
        clusters: list[Cluster] = []
        for c_uid in sorted(raw_clusters, key=natural_key):
            cluster = cluster_value(uid, c_uid, raw_clusters[c_uid], f"{path}.clusters.{c_uid}")
            clusters.append(cluster)
            parts[_cluster_key(cluster.uid)] = raw_clusters[c_uid]
        head = {k: v for k, v in s_raw.items() if k != "clusters"}
        equipments = equipments_value(uid, head.get("network_equipments"), f"{path}.network_equipments")
        site = site_value(uid, head, tuple(clusters), equipments, path)
        sites.append(site)
        parts[_site_key(site.uid)] = head
    backbone_raw = data.get("network_equipments")
    backbone = equipments_value(None, backbone_raw, "network_equipments")
    parts[_BACKBONE_KEY] = list(list_of(backbone_raw, "network_equipments", "network_equipments"))
    if not owned:
        parts = {key: json.dumps(part, separators=(",", ":"), default=str) for key, part in parts.items()}
    version = data.get("version")
    if not isinstance(version, str):
        meta = data.get("snapshot")
        version = meta.get("commit", "") if isinstance(meta, Mapping) else ""
    store = _Store(_Index.of_values(str(version), sites, backbone), parts)
    for site in sites:
        for cluster in site.clusters:
            store.remember_cluster(cluster)
        store.equipments[site.uid] = site.network_equipments
        store.sites[site.uid] = site
    store.equipments[BACKBONE] = backbone
    return Snapshot(version=str(version), store=store)


def snapshot_from_json(data: Any) -> Result[Snapshot, G5kError]:
    """Build a Snapshot from the decoded deep JSON of the Reference API (or the embedded snapshot)."""
    return _snapshot(data, owned=False)


def _snapshot(data: Any, owned: bool) -> Result[Snapshot, G5kError]:
    if not isinstance(data, Mapping):
        return Failure(ParseError(what="Reference API deep JSON", line=excerpt(data), hint="expected an object"))
    try:
        return Success(_build(data, owned))
    except Bad as bad:
        return Failure(bad.error)


def snapshot_from_bytes(payload: bytes) -> Result[Snapshot, G5kError]:
    """Build a Snapshot from JSON bytes (gzip-compressed bytes are refused: decompress first)."""
    if payload[:2] == b"\x1f\x8b":
        return Failure(InvalidInput(name="payload", value="gzip data", expected="decompressed JSON bytes"))
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return Failure(ParseError(what="Reference API JSON", hint=str(exc)[:200]))
    return _snapshot(data, owned=True)  # decoded here: no caller holds it, no need to freeze it as text


def snapshot_from_parts(parts: SnapshotParts) -> Result[Snapshot, G5kError]:
    """A Snapshot from the parts :meth:`Snapshot.parts` gave: its index is read now, each site and cluster is
    structured when first asked for. The parts must be those of a snapshot already built (a damaged part raises
    ValueError when used): the caller checks that what it stored is what it wrote."""
    try:
        index = _Index.from_json(parts.index)
    except Bad as bad:
        return Failure(bad.error)
    needed = [_site_key(s) for s in index.site_uids] + [_cluster_key(c) for c in index.cluster_site] + [_BACKBONE_KEY]
    missing = [key for key in needed if key not in parts.parts]
    if missing:
        return Failure(ParseError(what="snapshot parts", where=", ".join(missing[:5]), hint="missing parts"))
    return Success(Snapshot(version=index.version, store=_Store(index, dict(parts.parts))))
