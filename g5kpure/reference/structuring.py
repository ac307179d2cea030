"""Structuring the Reference API's JSON into the models: cattrs converters whose errors name the path of the
wrong value, and the builders of clusters, sites and network equipments that a snapshot is made of.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from types import UnionType
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

import attrs

from g5kpure.errors import ParseError
from g5kpure.hosts import natural_key
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

if TYPE_CHECKING:
    import cattrs


def _strict(kind: type, name: str, accept: Callable[[Any], bool]) -> Callable[[Any, Any], Any]:
    def hook(value: Any, _: Any) -> Any:
        if not accept(value):
            raise TypeError(f"expected {name}, got {type(value).__name__} {excerpt(value)}")
        return kind(value) if kind is float else value

    return hook


def excerpt(value: Any) -> str:
    """A short text of ``value`` for an error message (at most 60 characters)."""
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _loose(value: Any, _: Any) -> Loose:
    if isinstance(value, str):
        return Loose(value)
    if isinstance(value, bool):
        return Loose(str(value).lower())
    if isinstance(value, int | float):
        return Loose(str(value))
    raise TypeError(f"expected a string or a number, got {type(value).__name__} {excerpt(value)}")


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
    raise TypeError(f"expected a string, got {type(value).__name__} {excerpt(value)}")


def _bool_hook(value: Any, _: Any) -> bool:
    if value is True or value is False:
        return bool(value)
    raise TypeError(f"expected a boolean, got {type(value).__name__} {excerpt(value)}")


def _int_hook(value: Any, _: Any) -> int:
    if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__} {excerpt(value)}")


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
                raise TypeError(f"expected an object for {cls.__name__}, got {type(value).__name__} {excerpt(value)}")
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
                raise TypeError(f"expected a list, got {type(value).__name__} {excerpt(value)}")
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
                        raise TypeError(f"expected an object, got {type(item).__name__} {excerpt(item)}")
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
    """Structure ``data`` as ``cls``; raises Bad(ParseError) with the path on failure."""
    if not isinstance(data, Mapping):
        raise Bad(ParseError(what=f"{cls.__name__} object", where=path, line=excerpt(data), hint="expected {...}"))
    try:
        return _converter(False).structure(data, cls)
    except Exception:
        pass
    try:
        return _converter(True).structure(data, cls)
    except Exception as exc:
        where, message = _error_path(exc, path)
        raise Bad(ParseError(what=f"{cls.__name__} from the Reference API", where=where, hint=message)) from None


class Bad(Exception):
    """Internal carrier of a ParseError out of nested loops (caught where a snapshot is built, never escapes)."""

    def __init__(self, error: ParseError) -> None:
        super().__init__(error.message)
        self.error = error


SITE_SKIP = ("clusters", "network_equipments", "pdus", "servers")
BACKBONE = ""  # the container of the backbone's equipments, beside the sites


def list_of(value: Any, what: str, path: str) -> Sequence[Any]:
    """The list at ``path`` (None: empty), else ``Bad``."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise Bad(ParseError(what=what, where=path, line=excerpt(value), hint="expected a list"))
    return value


def cluster_value(site: str, uid: str, raw: Any, path: str) -> Cluster:
    """A cluster and its nodes (natural order) from the API's JSON of the cluster."""
    if not isinstance(raw, Mapping):
        raise Bad(ParseError(what="cluster object", where=path, line=excerpt(raw), hint="expected {...}"))
    nodes: list[Node] = []
    for i, n_raw in enumerate(list_of(raw.get("nodes"), "nodes", f"{path}.nodes")):
        n_path = f"{path}.nodes[{i}]"
        if not isinstance(n_raw, Mapping):
            raise Bad(ParseError(what="node object", where=n_path, line=excerpt(n_raw), hint="expected {...}"))
        nodes.append(_structure({**n_raw, "site": site, "cluster": uid}, Node, n_path))
    nodes.sort(key=lambda n: natural_key(n.uid))
    c_fields = {k: v for k, v in raw.items() if k != "nodes"}
    c_fields.setdefault("uid", uid)
    cluster: Cluster = _structure({**c_fields, "site": site}, Cluster, path)
    return Cluster(**{**_fields(cluster), "nodes": tuple(nodes)})


def equipments_value(site: str | None, raw: Any, path: str) -> tuple[NetworkEquipment, ...]:
    """The network equipments of a site (``site`` is their default site) or of the backbone (``site`` None)."""
    return tuple(
        _structure({**e, "site": e.get("site", site)} if isinstance(e, Mapping) and site is not None else e,
                   NetworkEquipment, f"{path}[{i}]")
        for i, e in enumerate(list_of(raw, "network_equipments", path))
    )


def site_value(uid: str, head: Mapping[str, Any], clusters: tuple[Cluster, ...],
                equipments: tuple[NetworkEquipment, ...], path: str) -> Site:
    """A site from the API's JSON of the site without its clusters, with its clusters and equipments."""
    s_fields = {k: v for k, v in head.items() if k not in SITE_SKIP}
    s_fields.setdefault("uid", uid)
    site: Site = _structure(s_fields, Site, path)
    return Site(**{**_fields(site), "clusters": clusters, "network_equipments": equipments})


def _fields(value: Any) -> dict[str, Any]:
    return {a.name: getattr(value, a.name) for a in type(value).__attrs_attrs__}
