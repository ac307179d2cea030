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
from typing import Any, Union, get_args, get_origin

import attrs
import cattrs
from attrs import field, frozen
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NotFound, ParseError
from g5kpure.hosts import HasAddress, address_of, natural_key, parse_host_name
from g5kpure.reference.models import (
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


# The fast converter structures valid data; on a failure the detailed one re-runs to name the path.
_FAST = _make_converter(detailed=False)
_DETAILED = _make_converter(detailed=True)


def _error_path(exc: BaseException, path: str) -> tuple[str, str]:
    """Walk a cattrs validation error down to its first leaf: (path, message)."""
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
        return _FAST.structure(data, cls)
    except Exception:
        pass
    try:
        return _DETAILED.structure(data, cls)
    except Exception as exc:
        where, message = _error_path(exc, path)
        raise _Bad(ParseError(what=f"{cls.__name__} from the Reference API", where=where, hint=message)) from None


class _Bad(Exception):
    """Internal carrier of a ParseError out of nested loops (never escapes this module)."""

    def __init__(self, error: ParseError) -> None:
        super().__init__(error.message)
        self.error = error


_SITE_SKIP = ("clusters", "network_equipments", "pdus", "servers")


def _list_of(value: Any, what: str, path: str) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise _Bad(ParseError(what=what, where=path, line=_excerpt(value), hint="expected a list"))
    return value


def _site_from_json(uid: str, data: Any, path: str) -> tuple[Site, dict[str, Any]]:
    if not isinstance(data, Mapping):
        raise _Bad(ParseError(what="site object", where=path, line=_excerpt(data), hint="expected {...}"))
    raw_clusters = data.get("clusters", {})
    if not isinstance(raw_clusters, Mapping):
        raise _Bad(ParseError(what="clusters", where=f"{path}.clusters", hint="expected an object keyed by uid"))
    clusters: list[Cluster] = []
    for c_uid in sorted(raw_clusters, key=natural_key):
        c_raw = raw_clusters[c_uid]
        c_path = f"{path}.clusters.{c_uid}"
        if not isinstance(c_raw, Mapping):
            raise _Bad(ParseError(what="cluster object", where=c_path, line=_excerpt(c_raw), hint="expected {...}"))
        nodes: list[Node] = []
        for i, n_raw in enumerate(_list_of(c_raw.get("nodes"), "nodes", f"{c_path}.nodes")):
            n_path = f"{c_path}.nodes[{i}]"
            if not isinstance(n_raw, Mapping):
                raise _Bad(ParseError(what="node object", where=n_path, line=_excerpt(n_raw), hint="expected {...}"))
            nodes.append(_structure({**n_raw, "site": uid, "cluster": c_uid}, Node, n_path))
        nodes.sort(key=lambda n: natural_key(n.uid))
        c_fields = {k: v for k, v in c_raw.items() if k != "nodes"}
        c_fields.setdefault("uid", c_uid)
        cluster: Cluster = _structure({**c_fields, "site": uid}, Cluster, c_path)
        clusters.append(Cluster(**{**_fields(cluster), "nodes": tuple(nodes)}))
    raw_equipments = _list_of(data.get("network_equipments"), "network_equipments", f"{path}.network_equipments")
    equipments = tuple(
        _structure({**e, "site": e.get("site", uid)} if isinstance(e, Mapping) else e, NetworkEquipment, e_path)
        for i, e in enumerate(raw_equipments)
        for e_path in (f"{path}.network_equipments[{i}]",)
    )
    s_fields = {k: v for k, v in data.items() if k not in _SITE_SKIP}
    s_fields.setdefault("uid", uid)
    site: Site = _structure(s_fields, Site, path)
    return Site(**{**_fields(site), "clusters": tuple(clusters), "network_equipments": equipments}), dict(data)


def _fields(value: Any) -> dict[str, Any]:
    return {a.name: getattr(value, a.name) for a in type(value).__attrs_attrs__}


# --- the snapshot ----------------------------------------------------------------------------------------------


@frozen(eq=False)
class Snapshot:
    """The whole grid at one version, with indexes built once for O(1) lookups.

    ``version`` is the API version (commit) it came from, ``sites_`` the Site values sorted by uid (each with
    its clusters, nodes and network equipments), ``backbone`` the Renater equipments. Queries that take a key
    return ``Result`` (``NotFound`` naming the key); listings are tuples in natural order.
    """

    version: str
    sites_: tuple[Site, ...] = field(repr=False)
    backbone: tuple[NetworkEquipment, ...] = field(repr=False)
    _site_by_uid: Mapping[str, Site] = field(repr=False)
    _cluster_by_uid: Mapping[str, Cluster] = field(repr=False)
    _node_by_uid: Mapping[str, Node] = field(repr=False)
    _equipments_by_uid: Mapping[str, tuple[NetworkEquipment, ...]] = field(repr=False)
    # The API's JSON of each element: text (from a caller's objects, frozen at build) or decoded objects that only
    # this snapshot holds (decoded by snapshot_from_bytes itself); never handed out, copied on every read.
    _raw: Mapping[tuple[str, str, str], Any] = field(repr=False)

    # -- sites --
    def sites(self) -> tuple[str, ...]:
        """Uids of all sites, sorted."""
        return tuple(s.uid for s in self.sites_)

    def site(self, site: str) -> Result[Site, NotFound]:
        """The site value of ``site``."""
        found = self._site_by_uid.get(site)
        if found is None:
            return Failure(NotFound(what="site", key=site, hint=f"known sites: {', '.join(self.sites())}"))
        return Success(found)

    def site_attributes(self, site: str) -> Result[dict[str, Any], NotFound]:
        """The API's JSON of a site (without its clusters and equipments), as a fresh dict."""
        return self.site(site).map(lambda s: self._copy_raw(("site", s.uid, "")))

    # -- clusters --
    def cluster(self, cluster: str) -> Result[Cluster, NotFound]:
        """The cluster value of ``cluster``."""
        found = self._cluster_by_uid.get(cluster)
        if found is None:
            return Failure(NotFound(what="cluster", key=cluster, hint="see `g5k ref clusters` for the known ones"))
        return Success(found)

    def clusters(self, site: str | None = None, queues: str | Iterable[str] | None = None) -> Result[
        tuple[str, ...], NotFound
    ]:
        """Uids of the clusters of ``site`` (or of the grid), filtered on ``queues`` as ``filter_clusters``."""
        if site is None:
            chosen: Iterable[Cluster] = (c for s in self.sites_ for c in s.clusters)
        else:
            found = self._site_by_uid.get(site)
            if found is None:
                return Failure(NotFound(what="site", key=site, hint=f"known sites: {', '.join(self.sites())}"))
            chosen = found.clusters
        return Success(tuple(c.uid for c in filter_clusters(chosen, queues)))

    def cluster_attributes(self, cluster: str) -> Result[dict[str, Any], NotFound]:
        """The API's JSON of a cluster (without its nodes), as a fresh dict."""
        return self.cluster(cluster).map(lambda c: self._copy_raw(("cluster", c.uid, "")))

    def cluster_queues(self, cluster: str) -> Result[tuple[str, ...], NotFound]:
        """The queues of a cluster (execo's default when it lists none)."""
        return self.cluster(cluster).map(lambda c: c.effective_queues)

    # -- hosts --
    def node(self, host: str | HasAddress) -> Result[Node, NotFound]:
        """The node value of a host given by any of its names (FQDN, short, kavlan, interface variants)."""
        name = address_of(host)
        parsed = parse_host_name(name)
        uid = parsed.unwrap().node if isinstance(parsed, Success) else name.split(".", 1)[0]
        found = self._node_by_uid.get(uid)
        if found is None:
            return Failure(NotFound(what="host", key=name, hint="give a node name such as nova-1.lyon.grid5000.fr"))
        if isinstance(parsed, Success) and parsed.unwrap().site not in (None, found.site):
            return Failure(NotFound(what="host", key=name, hint=f"{uid} is in site {found.site}"))
        return Success(found)

    def nodes(self, site: str | None = None, cluster: str | None = None,
              queues: str | Iterable[str] | None = None) -> Result[tuple[Node, ...], NotFound]:
        """Node values of a cluster, a site or the grid (natural order), clusters filtered on ``queues``."""
        if cluster is not None:
            found = self._cluster_by_uid.get(cluster)
            if found is None or (site is not None and found.site != site):
                return Failure(NotFound(what="cluster", key=cluster if site is None else f"{cluster} in {site}"))
            return Success(found.nodes)
        return self.clusters(site, queues).map(
            lambda uids: tuple(n for uid in uids for n in self._cluster_by_uid[uid].nodes)
        )

    def hosts(self, site: str | None = None, cluster: str | None = None,
              queues: str | Iterable[str] | None = None) -> Result[tuple[str, ...], NotFound]:
        """FQDNs of the hosts of a cluster, a site or the grid (natural order), clusters filtered on ``queues``."""
        return self.nodes(site, cluster, queues).map(lambda nodes: tuple(n.fqdn for n in nodes))

    def host_attributes(self, host: str | HasAddress) -> Result[dict[str, Any], NotFound]:
        """The API's JSON of a node, as a fresh dict."""
        return self.node(host).map(lambda n: self._copy_raw(("node", n.uid, "")))

    def cluster_of(self, host: str | HasAddress) -> Result[str, NotFound]:
        """The cluster of a host known to the snapshot."""
        return self.node(host).map(lambda n: n.cluster)

    def site_of(self, element: str | HasAddress) -> Result[str, NotFound]:
        """The site of a host, a cluster or a site network equipment (``uid`` unique in the grid)."""
        name = address_of(element)
        if name in self._cluster_by_uid:
            return Success(self._cluster_by_uid[name].site)
        if name in self._site_by_uid:
            return Success(name)
        node = self.node(name)
        if isinstance(node, Success):
            return Success(node.unwrap().site)
        equips = [e for e in self._equipments_by_uid.get(name, ()) if e.site is not None]
        if len({e.site for e in equips}) == 1:
            return Success(str(equips[0].site))
        if equips:
            sites = ", ".join(sorted(str(e.site) for e in equips))
            return Failure(NotFound(what="element", key=name, hint=f"ambiguous: an equipment of {sites}"))
        return Failure(NotFound(what="host, cluster or equipment", key=name))

    def fqdn(self, host: str | HasAddress) -> Result[str, NotFound]:
        """The canonical FQDN of a known host (``nova-1-kavlan-4`` -> ``nova-1.lyon.grid5000.fr``)."""
        return self.node(host).map(lambda n: n.fqdn)

    # -- network equipments --
    def equipment(self, uid: str, site: str | None = None) -> Result[NetworkEquipment, NotFound]:
        """The network equipment ``uid`` (``site`` is needed for names used by several sites, like ``gw``)."""
        candidates = self._equipments_by_uid.get(uid, ())
        if site is not None:
            candidates = tuple(e for e in candidates if e.site == site)
        if len(candidates) == 1:
            return Success(candidates[0])
        if not candidates:
            return Failure(NotFound(what="network equipment", key=uid if site is None else f"{uid} in {site}"))
        sites = ", ".join(sorted(str(e.site) for e in candidates))
        return Failure(NotFound(what="network equipment", key=uid, hint=f"ambiguous, give the site: {sites}"))

    def equipment_attributes(self, uid: str, site: str | None = None) -> Result[dict[str, Any], NotFound]:
        """The API's JSON of a network equipment, as a fresh dict."""
        return self.equipment(uid, site).map(lambda e: self._copy_raw(("equipment", e.uid, e.site or "")))

    def equipments(self, site: str | None = None, cluster: str | None = None,
                   host: str | HasAddress | None = None) -> Result[tuple[str, ...], NotFound]:
        """Uids of the network equipments of a site, a cluster's hosts, a host, or the backbone (no argument)."""
        if host is not None:
            return self.node(host).map(_node_switches)
        if cluster is not None:
            return self.cluster(cluster).map(
                lambda c: tuple(sorted({s for n in c.nodes for s in _node_switches(n)}))
            )
        if site is not None:
            return self.site(site).map(lambda s: tuple(e.uid for e in s.network_equipments))
        return Success(tuple(e.uid for e in self.backbone))

    # -- any element --
    def attributes(self, element: str | HasAddress) -> Result[dict[str, Any], NotFound]:
        """The API's JSON of a site, cluster, host or equipment named by ``element``, as a fresh dict."""
        name = address_of(element)
        if name in self._site_by_uid:
            return self.site_attributes(name)
        if name in self._cluster_by_uid:
            return self.cluster_attributes(name)
        node = self.host_attributes(name)
        if isinstance(node, Success):
            return node
        if name in self._equipments_by_uid:
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

    def _copy_raw(self, key: tuple[str, str, str]) -> dict[str, Any]:
        value = self._raw[key]
        copied: dict[str, Any] = json.loads(value) if isinstance(value, str) else copy.deepcopy(value)
        return copied


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
    items = tuple(clusters)
    if queues is None:
        return items
    wanted = {queues} if isinstance(queues, str) else set(queues)
    return tuple(c for c in items if wanted.intersection(c.effective_queues))


def _build(data: Mapping[str, Any], owned: bool = False) -> Snapshot:
    """The snapshot of ``data``; ``owned`` when nobody else holds ``data`` (its parts are then kept as they are,
    instead of being frozen as JSON text against later changes by the caller)."""
    raw_sites = data.get("sites", {})
    if not isinstance(raw_sites, Mapping):
        raise _Bad(ParseError(what="sites", where="sites", line=_excerpt(raw_sites), hint="expected an object"))
    sites: list[Site] = []
    raw: dict[tuple[str, str, str], Any] = {}  # the caller's JSON, frozen below as text
    for uid in sorted(raw_sites):
        site, site_raw = _site_from_json(uid, raw_sites[uid], f"sites.{uid}")
        sites.append(site)
        raw[("site", uid, "")] = {k: v for k, v in site_raw.items() if k not in _SITE_SKIP}
        for c_uid, c_raw in site_raw.get("clusters", {}).items():
            raw[("cluster", c_uid, "")] = {k: v for k, v in c_raw.items() if k != "nodes"}
            for n_raw in c_raw.get("nodes", ()):
                raw[("node", n_raw["uid"], "")] = n_raw
        for e_raw in site_raw.get("network_equipments", ()):
            raw[("equipment", e_raw["uid"], e_raw.get("site", uid))] = e_raw
    backbone_raw = _list_of(data.get("network_equipments"), "network_equipments", "network_equipments")
    backbone = tuple(
        _structure(e, NetworkEquipment, f"network_equipments[{i}]") for i, e in enumerate(backbone_raw)
    )
    for e_raw in backbone_raw:
        raw[("equipment", e_raw["uid"], "")] = e_raw
    frozen_raw = raw if owned else {key: json.dumps(value, separators=(",", ":"), default=str)
                                    for key, value in raw.items()}
    clusters = {c.uid: c for s in sites for c in s.clusters}
    nodes = {n.uid: n for c in clusters.values() for n in c.nodes}
    equipments: dict[str, list[NetworkEquipment]] = {}
    for equip in (*[e for s in sites for e in s.network_equipments], *backbone):
        equipments.setdefault(equip.uid, []).append(equip)
    version = data.get("version")
    if not isinstance(version, str):
        meta = data.get("snapshot")
        version = meta.get("commit", "") if isinstance(meta, Mapping) else ""
    return Snapshot(
        version=str(version),
        sites_=tuple(sites),
        backbone=backbone,
        site_by_uid={s.uid: s for s in sites},
        cluster_by_uid=clusters,
        node_by_uid=nodes,
        equipments_by_uid={k: tuple(v) for k, v in equipments.items()},
        raw=frozen_raw,
    )


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
