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
from types import UnionType
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

import attrs
from attrs import field, frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NotFound, ParseError
from g5kpure.hosts import HasAddress, address_of, natural_key, parse_host_name
from g5kpure.reference.models import (
    DEFAULT_CLUSTER_QUEUES,
    Alias,
    Channel,
    Cluster,
    Gpu,
    Kavlan,
    KavlanAddress,
    Loose,
    NetworkEquipment,
    Node,
    Site,
    Vlan,
)

if TYPE_CHECKING:
    import cattrs

# --- structuring -----------------------------------------------------------------------------------------------


def _strict(kind: type, name: str, accept: Callable[[Any], bool]) -> Callable[[Any, Any], Any]:
    def hook(value: Any, _: Any) -> Any:
        if not accept(value):
            raise TypeError(f"expected {name}, got {type(value).__name__} {_excerpt(value)}")
        return kind(value) if kind is float else value

    return hook


def _excerpt(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _loose(value: Any, _: Any) -> Loose:
    if isinstance(value, str):
        return Loose(value)
    if isinstance(value, bool):
        return Loose(str(value).lower())
    if isinstance(value, int | float):
        return Loose(str(value))
    raise TypeError(f"expected a string or a number, got {type(value).__name__} {_excerpt(value)}")


def _is_tuple_of(cls: type) -> Callable[[Any], bool]:
    target = tuple[cls, ...]  # type: ignore[valid-type]

    def predicate(t: Any) -> bool:
        return bool(t == target)

    return predicate


def _is_homogeneous_tuple(t: Any) -> bool:
    args: tuple[Any, ...] = get_args(t)
    return get_origin(t) is tuple and len(args) == 2 and any(a is Ellipsis for a in args[1:])


def _str_hook(value: Any, _: Any) -> str:
    if type(value) is str:  # the common case first: most leaves are strings
        return value
    if isinstance(value, str):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__} {_excerpt(value)}")


def _bool_hook(value: Any, _: Any) -> bool:
    if value is True or value is False:
        return bool(value)
    raise TypeError(f"expected a boolean, got {type(value).__name__} {_excerpt(value)}")


def _int_hook(value: Any, _: Any) -> int:
    if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__} {_excerpt(value)}")


def _is_optional(t: Any) -> bool:
    args: tuple[Any, ...] = get_args(t)
    return get_origin(t) in (Union, UnionType) and len(args) == 2 and type(None) in args


def _make_converter(detailed: bool) -> cattrs.Converter:
    import cattrs
    from cattrs.errors import IterableValidationError, IterableValidationNote
    from cattrs.gen import make_dict_structure_fn

    conv = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=False)
    conv.register_structure_hook(str, _str_hook)
    conv.register_structure_hook(bool, _bool_hook)
    conv.register_structure_hook(int, _int_hook)
    conv.register_structure_hook(
        float, _strict(float, "a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool))
    )
    conv.register_structure_hook(Loose, _loose)

    def attrs_factory(cls: type) -> Callable[[Any, Any], Any]:
        inner: Callable[[Any, Any], Any] = make_dict_structure_fn(cls, conv)

        def hook(value: Any, _: Any) -> Any:
            if type(value) is not dict and not isinstance(value, Mapping):
                raise TypeError(f"expected an object for {cls.__name__}, got {type(value).__name__} {_excerpt(value)}")
            return inner(value, cls)

        return hook

    conv.register_structure_hook_factory(attrs.has, attrs_factory)

    def optional_factory(optional_type: Any) -> Callable[[Any, Any], Any]:
        """``X | None``: the hook of X resolved once (cattrs' own looks it up for every value)."""
        inner_type = next(a for a in get_args(optional_type) if a is not type(None))
        inner_hook: list[Callable[[Any, Any], Any]] = []

        def hook(value: Any, _: Any) -> Any:
            if value is None:
                return None
            if not inner_hook:
                inner_hook.append(conv.get_structure_hook(inner_type))
            return inner_hook[0](value, inner_type)

        return hook

    conv.register_structure_hook_factory(_is_optional, optional_factory)

    def tuple_factory(tuple_type: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
        item_type = get_args(tuple_type)[0]
        item_hook: list[Callable[[Any, Any], Any]] = []  # resolved on first use, then called directly

        def hook(value: Any, _: Any) -> tuple[Any, ...]:
            if not isinstance(value, list | tuple):
                raise TypeError(f"expected a list, got {type(value).__name__} {_excerpt(value)}")
            if not item_hook:
                item_hook.append(conv.get_structure_hook(item_type))
            structure_item = item_hook[0]
            out: list[Any] = []
            for i, item in enumerate(value):
                try:
                    out.append(structure_item(item, item_type))
                except Exception as exc:
                    exc.__notes__ = [*getattr(exc, "__notes__", []), IterableValidationNote(str(i), i, item_type)]
                    raise IterableValidationError("while structuring a list", [exc], tuple) from None
            return tuple(out)

        return hook

    conv.register_structure_hook_factory(
        _is_homogeneous_tuple, tuple_factory
    )

    def keyed(cls: type, key: str) -> Callable[[Any, Any], tuple[Any, ...]]:
        """Structure the API's ``{key: {...}}`` dicts into a tuple of values carrying their key."""

        def hook(value: Any, _: Any) -> tuple[Any, ...]:
            if not isinstance(value, Mapping):
                raise TypeError(f"expected an object keyed by {key}, got {type(value).__name__}")
            out: list[Any] = []
            errors: list[Exception] = []
            for k, item in value.items():
                try:
                    if not isinstance(item, Mapping):
                        raise TypeError(f"expected an object, got {type(item).__name__} {_excerpt(item)}")
                    out.append(conv.structure({**item, key: str(k)}, cls))
                except Exception as exc:
                    exc.__notes__ = [*getattr(exc, "__notes__", []), IterableValidationNote(str(k), str(k), cls)]
                    errors.append(exc)
            if errors:
                raise IterableValidationError(f"while structuring {cls.__name__} items", errors, tuple)
            return tuple(out)

        return hook

    for cls in (Gpu, Channel, Vlan, Kavlan):
        conv.register_structure_hook_func(_is_tuple_of(cls), keyed(cls, "id"))

    def kavlan_addresses(value: Any, _: Any) -> tuple[KavlanAddress, ...]:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise TypeError(f"expected an object keyed by device, got {type(value).__name__}")
        out: list[KavlanAddress] = []
        for device, vlans in value.items():
            if type(vlans) is not dict and not isinstance(vlans, Mapping):
                raise TypeError(f"expected {{kavlan-N: ip}} for {device}, got {type(vlans).__name__}")
            name = str(device)
            for vlan, ip in vlans.items():
                if type(ip) is not str and not isinstance(ip, str):
                    raise TypeError(f"expected an IP string for {device}.{vlan}, got {type(ip).__name__}")
                out.append(KavlanAddress(name, str(vlan), ip))
        return tuple(out)

    conv.register_structure_hook_func(_is_tuple_of(KavlanAddress), kavlan_addresses)
    conv.register_structure_hook(
        Alias, lambda v, _: Alias(name=v) if isinstance(v, str) else conv.structure_attrs_fromdict(v, Alias)
    )
    return conv


_CONVERTERS: dict[bool, cattrs.Converter] = {}


def _converter(detailed: bool) -> cattrs.Converter:
    """The fast converter (``detailed=False``) structures valid data; on a failure the detailed one re-runs to
    name the path. Each is made on first use: a snapshot read from its parts may never structure anything."""
    conv = _CONVERTERS.get(detailed)
    if conv is None:
        conv = _CONVERTERS[detailed] = _make_converter(detailed)
    return conv


def _error_path(exc: BaseException, path: str) -> tuple[str, str]:
    """Walk a cattrs validation error down to its first leaf: (path, message)."""
    from cattrs.errors import (
        AttributeValidationNote,
        ClassValidationError,
        IterableValidationError,
        IterableValidationNote,
    )

    while isinstance(exc, ClassValidationError | IterableValidationError):
        if not exc.exceptions:
            break
        inner = exc.exceptions[0]
        for note in getattr(inner, "__notes__", []):
            if isinstance(note, AttributeValidationNote):
                path = f"{path}.{note.name}" if path else note.name
                break
            if isinstance(note, IterableValidationNote):
                path = f"{path}[{note.index}]" if isinstance(note.index, int) else f"{path}.{note.index}"
                break
        exc = inner
    message = str(exc)
    if isinstance(exc, KeyError):
        message = f"missing required key {exc}"
    return path, message


def _structure(data: Any, cls: type, path: str) -> Any:
    """Structure ``data`` as ``cls``; raises _Bad(ParseError) with the path on failure."""
    if not isinstance(data, Mapping):
        raise _Bad(ParseError(what=f"{cls.__name__} object", where=path, line=_excerpt(data), hint="expected {...}"))
    try:
        return _converter(False).structure(data, cls)
    except Exception:
        pass
    try:
        return _converter(True).structure(data, cls)
    except Exception as exc:
        where, message = _error_path(exc, path)
        raise _Bad(ParseError(what=f"{cls.__name__} from the Reference API", where=where, hint=message)) from None


class _Bad(Exception):
    """Internal carrier of a ParseError out of nested loops (never escapes this module)."""

    def __init__(self, error: ParseError) -> None:
        super().__init__(error.message)
        self.error = error


_SITE_SKIP = ("clusters", "network_equipments", "pdus", "servers")
_BACKBONE = ""  # the container of the backbone's equipments, beside the sites


def _list_of(value: Any, what: str, path: str) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise _Bad(ParseError(what=what, where=path, line=_excerpt(value), hint="expected a list"))
    return value


def _cluster_value(site: str, uid: str, raw: Any, path: str) -> Cluster:
    """A cluster and its nodes (natural order) from the API's JSON of the cluster."""
    if not isinstance(raw, Mapping):
        raise _Bad(ParseError(what="cluster object", where=path, line=_excerpt(raw), hint="expected {...}"))
    nodes: list[Node] = []
    for i, n_raw in enumerate(_list_of(raw.get("nodes"), "nodes", f"{path}.nodes")):
        n_path = f"{path}.nodes[{i}]"
        if not isinstance(n_raw, Mapping):
            raise _Bad(ParseError(what="node object", where=n_path, line=_excerpt(n_raw), hint="expected {...}"))
        nodes.append(_structure({**n_raw, "site": site, "cluster": uid}, Node, n_path))
    nodes.sort(key=lambda n: natural_key(n.uid))
    c_fields = {k: v for k, v in raw.items() if k != "nodes"}
    c_fields.setdefault("uid", uid)
    cluster: Cluster = _structure({**c_fields, "site": site}, Cluster, path)
    return Cluster(**{**_fields(cluster), "nodes": tuple(nodes)})


def _equipments_value(site: str | None, raw: Any, path: str) -> tuple[NetworkEquipment, ...]:
    """The network equipments of a site (``site`` is their default site) or of the backbone (``site`` None)."""
    return tuple(
        _structure({**e, "site": e.get("site", site)} if isinstance(e, Mapping) and site is not None else e,
                   NetworkEquipment, f"{path}[{i}]")
        for i, e in enumerate(_list_of(raw, "network_equipments", path))
    )


def _site_value(uid: str, head: Mapping[str, Any], clusters: tuple[Cluster, ...],
                equipments: tuple[NetworkEquipment, ...], path: str) -> Site:
    """A site from the API's JSON of the site without its clusters, with its clusters and equipments."""
    s_fields = {k: v for k, v in head.items() if k not in _SITE_SKIP}
    s_fields.setdefault("uid", uid)
    site: Site = _structure(s_fields, Site, path)
    return Site(**{**_fields(site), "clusters": clusters, "network_equipments": equipments})


def _fields(value: Any) -> dict[str, Any]:
    return {a.name: getattr(value, a.name) for a in type(value).__attrs_attrs__}


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
        self.equipments_of[_BACKBONE] = tuple((e, s) for e, s in backbone)
        self.places: dict[str, list[tuple[str, str | None]]] = {}  # equipment uid -> (container, site field)
        for container in (*self.site_uids, _BACKBONE):
            for e, s in self.equipments_of[container]:
                self.places.setdefault(e, []).append((container, s))

    def to_json(self) -> dict[str, Any]:
        """The index as JSON-able data (read back by :meth:`from_json`)."""
        return {
            "version": self.version,
            "sites": [[uid, [[c, list(self.queues[c]), list(self.node_uids[c])] for c in self.clusters_of[uid]],
                       [list(e) for e in self.equipments_of[uid]]] for uid in self.site_uids],
            "backbone": [list(e) for e in self.equipments_of[_BACKBONE]],
        }

    @classmethod
    def from_json(cls, data: Any) -> _Index:
        """The index of :meth:`to_json`'s data; raises _Bad when it does not have that shape."""

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
            raise _Bad(ParseError(what="snapshot index", hint=f"{exc}; rebuild it from the snapshot")) from None

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
        except _Bad as bad:  # parts come from a snapshot already checked: damaged since
            raise ValueError(f"the snapshot part {key} is damaged: {bad.error.message}") from None

    def cluster(self, uid: str) -> Cluster:
        found = self.clusters.get(uid)
        if found is None:
            site = self.index.cluster_site[uid]
            found = self._structured(_cluster_key(uid),
                                     lambda raw: _cluster_value(site, uid, raw, f"sites.{site}.clusters.{uid}"))
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
            if container == _BACKBONE:
                found = self._structured(_BACKBONE_KEY, lambda raw: _equipments_value(None, raw,
                                                                                      "network_equipments"))
            else:
                path = f"sites.{container}.network_equipments"
                found = self._structured(_site_key(container),
                                         lambda raw: _equipments_value(container, raw.get("network_equipments"), path))
            self.equipments[container] = found
        return found

    def site(self, uid: str) -> Site:
        found = self.sites.get(uid)
        if found is None:
            clusters = tuple(self.cluster(c) for c in self.index.clusters_of[uid])
            equipments = self.site_equipments(uid)
            found = self._structured(_site_key(uid),
                                     lambda raw: _site_value(uid, raw, clusters, equipments, f"sites.{uid}"))
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
        return self._store.site_equipments(_BACKBONE)

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
                                                                       if k not in _SITE_SKIP}))

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
        parsed = parse_host_name(name)
        uid = parsed.unwrap().node if isinstance(parsed, Success) else name.split(".", 1)[0]
        found = self._store.node(uid)
        if found is None:
            return Failure(NotFound(what="host", key=name, hint="give a node name such as nova-1.lyon.grid5000.fr"))
        if isinstance(parsed, Success) and parsed.unwrap().site not in (None, found.site):
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
        node = self.node(name)
        if isinstance(node, Success):
            return Success(node.unwrap().site)
        sites = sorted({s for _, s in index.places.get(name, ()) if s is not None})
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
            if container == _BACKBONE:
                return lambda raw: next(e for e in raw if e.get("uid") == uid and e.get("site") == site_field)
            return lambda raw: next(e for e in raw["network_equipments"]
                                    if e.get("uid") == uid and e.get("site", container) == site_field)

        return self._place(uid, site).map(lambda place: self._store.fresh(
            _BACKBONE_KEY if place[0] == _BACKBONE else _site_key(place[0]), pick(*place)))

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
        return Success(tuple(uid for uid, _ in index.equipments_of[_BACKBONE]))

    # -- any element --
    def attributes(self, element: str | HasAddress) -> Result[dict[str, Any], NotFound]:
        """The API's JSON of a site, cluster, host or equipment named by ``element``, as a fresh dict."""
        name = address_of(element)
        if name in self._store.index.clusters_of:
            return self.site_attributes(name)
        if name in self._store.index.cluster_site:
            return self.cluster_attributes(name)
        node = self.host_attributes(name)
        if isinstance(node, Success):
            return node
        if name in self._store.index.places:
            return self.equipment_attributes(name)
        return Failure(NotFound(what="site, cluster, host or equipment", key=name))

    def group_hosts(self, hosts: Iterable[str | HasAddress]) -> Result[dict[str, dict[str, tuple[Any, ...]]], NotFound]:
        """Group hosts (kept as given) by site then cluster, sorted; unknown hosts are an error naming them."""
        groups: dict[str, dict[str, list[Any]]] = {}
        unknown: list[str] = []
        for host in hosts:
            node = self.node(host)
            if isinstance(node, Success):
                n = node.unwrap()
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
        raise _Bad(ParseError(what="sites", where="sites", line=_excerpt(raw_sites), hint="expected an object"))
    sites: list[Site] = []
    parts: dict[str, Any] = {}
    for uid in sorted(raw_sites):
        path = f"sites.{uid}"
        s_raw = raw_sites[uid]
        if not isinstance(s_raw, Mapping):
            raise _Bad(ParseError(what="site object", where=path, line=_excerpt(s_raw), hint="expected {...}"))
        raw_clusters = s_raw.get("clusters", {})
        if not isinstance(raw_clusters, Mapping):
            raise _Bad(ParseError(what="clusters", where=f"{path}.clusters", hint="expected an object keyed by uid"))
        clusters: list[Cluster] = []
        for c_uid in sorted(raw_clusters, key=natural_key):
            cluster = _cluster_value(uid, c_uid, raw_clusters[c_uid], f"{path}.clusters.{c_uid}")
            clusters.append(cluster)
            parts[_cluster_key(cluster.uid)] = raw_clusters[c_uid]
        head = {k: v for k, v in s_raw.items() if k != "clusters"}
        equipments = _equipments_value(uid, head.get("network_equipments"), f"{path}.network_equipments")
        site = _site_value(uid, head, tuple(clusters), equipments, path)
        sites.append(site)
        parts[_site_key(site.uid)] = head
    backbone_raw = data.get("network_equipments")
    backbone = _equipments_value(None, backbone_raw, "network_equipments")
    parts[_BACKBONE_KEY] = list(_list_of(backbone_raw, "network_equipments", "network_equipments"))
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
    store.equipments[_BACKBONE] = backbone
    return Snapshot(version=str(version), store=store)


def snapshot_from_json(data: Any) -> Result[Snapshot, G5kError]:
    """Build a Snapshot from the decoded deep JSON of the Reference API (or the embedded snapshot)."""
    return _snapshot(data, owned=False)


def _snapshot(data: Any, owned: bool) -> Result[Snapshot, G5kError]:
    if not isinstance(data, Mapping):
        return Failure(ParseError(what="Reference API deep JSON", line=_excerpt(data), hint="expected an object"))
    try:
        return Success(_build(data, owned))
    except _Bad as bad:
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
    except _Bad as bad:
        return Failure(bad.error)
    needed = [_site_key(s) for s in index.site_uids] + [_cluster_key(c) for c in index.cluster_site] + [_BACKBONE_KEY]
    missing = [key for key in needed if key not in parts.parts]
    if missing:
        return Failure(ParseError(what="snapshot parts", where=", ".join(missing[:5]), hint="missing parts"))
    return Success(Snapshot(version=index.version, store=_Store(index, dict(parts.parts))))
