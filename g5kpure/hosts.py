"""Grid'5000 host names: canonical forms, interface / kavlan / ipv6 variants, short and long names, host ranges.

A Grid'5000 node name is ``<cluster>-<n>`` where the cluster is letters optionally followed by digits
(``nova-1``, ``chartreuse2-1``). Variants add, in this order: an interface (``-eth1``, ``-ib0``, ``-fpga0``),
a kavlan (``-kavlan-4``) and ``-ipv6``, then an optional domain (``.lyon`` or ``.lyon.grid5000.fr``).
Functions accept a ``str`` or any value with an ``.address`` string attribute (like execo's ``Host``); where
they return a host, a value with an address is returned as a copy of the same type with the new address.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar, overload

import attrs
from attrs import frozen
from returns.iterables import Fold
from returns.result import Failure, Result, Success

from g5kpure.errors import InvalidInput, ParseError

G5K_DOMAIN = "grid5000.fr"

# <cluster>-<n> [-<iface>] [-kavlan-<id>] [-ipv6] [.<domain>]; the interface may not start with kavlan-N or ipv6.
_NAME_RE = re.compile(
    r"^(?P<cluster>[a-zA-Z]+\d*)-(?P<number>\d+)"
    r"(?:-(?!kavlan-\d)(?!ipv6)(?P<iface>\w+))?"
    r"(?:-kavlan-(?P<kavlan>\d+))?"
    r"(?P<ipv6>-ipv6)?"
    r"(?:\.(?P<domain>[.\w]+))?$"
)
_PLAIN_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class HasAddress(Protocol):
    """Anything with a host name in ``.address`` (execo's ``Host``, our own host values)."""

    @property
    def address(self) -> str: ...


H = TypeVar("H", bound=HasAddress)


@frozen
class HostName:
    """A parsed Grid'5000 node name: the node, and its interface / kavlan / ipv6 / domain decorations."""

    cluster: str
    number: str
    interface: str | None = None
    kavlan: int | None = None
    ipv6: bool = False
    domain: str = ""

    @property
    def node(self) -> str:
        """The bare node uid, e.g. ``nova-1``."""
        return f"{self.cluster}-{self.number}"

    @property
    def short(self) -> str:
        """The name without its domain, decorations kept (``nova-1-eth1-kavlan-4``)."""
        out = self.node
        if self.interface is not None:
            out += f"-{self.interface}"
        if self.kavlan is not None:
            out += f"-kavlan-{self.kavlan}"
        if self.ipv6:
            out += "-ipv6"
        return out

    @property
    def site(self) -> str | None:
        """The site named by the domain (its first label), or None for a short name."""
        return self.domain.split(".", 1)[0] if self.domain else None

    @property
    def canonical(self) -> str:
        """The canonical name: node plus domain, without interface, kavlan or ipv6 parts."""
        return self.node + (f".{self.domain}" if self.domain else "")

    def render(self) -> str:
        """The full name this value stands for."""
        return self.short + (f".{self.domain}" if self.domain else "")


def address_of(host: str | HasAddress) -> str:
    """The host name string of a ``str`` or of a value with an ``.address``."""
    return host if isinstance(host, str) else str(host.address)


def _with_address(host: Any, address: str) -> Any:
    if isinstance(host, str):
        return address
    if attrs.has(type(host)):
        return attrs.evolve(host, address=address)
    if dataclasses.is_dataclass(host) and not isinstance(host, type):
        return dataclasses.replace(host, address=address)
    replace = getattr(host, "_replace", None)
    if callable(replace):
        return replace(address=address)
    return address


def parse_host_name(host: str | HasAddress) -> Result[HostName, ParseError]:
    """Parse a Grid'5000 node name (any variant) into its parts, or say why it is not one."""
    name = address_of(host)
    if not name.strip():
        return Failure(ParseError(what="Grid'5000 node name", line=name, hint="the host name is empty"))
    match = _NAME_RE.match(name)
    if match is None:
        return Failure(
            ParseError(
                what="Grid'5000 node name",
                line=name,
                hint="expected <cluster>-<n>[-<iface>][-kavlan-<id>][-ipv6][.<site>[.grid5000.fr]]",
            )
        )
    kavlan = match.group("kavlan")
    return Success(
        HostName(
            cluster=match.group("cluster"),
            number=match.group("number"),
            interface=match.group("iface"),
            kavlan=int(kavlan) if kavlan is not None else None,
            ipv6=match.group("ipv6") is not None,
            domain=match.group("domain") or "",
        )
    )


def _parsed(name: str) -> HostName | None:
    return parse_host_name(name).value_or(None)


@overload
def canonical_host_name(host: str) -> str: ...
@overload
def canonical_host_name(host: H) -> H: ...
def canonical_host_name(host: str | H) -> str | H:
    """The name without interface, kavlan and ipv6 parts (domain kept); other names are returned unchanged.

    Like execo, this never fails: a name that is not a node name (a frontend, ``''``) comes back as given. For an
    error value instead, use ``parse_host_name(host).map(lambda n: n.canonical)``."""
    parsed = _parsed(address_of(host))
    if parsed is None:
        return host
    result: str | H = _with_address(host, parsed.canonical)
    return result


@overload
def get_kavlan_host_name(host: str, vlanid: int | str) -> str: ...
@overload
def get_kavlan_host_name(host: H, vlanid: int | str) -> H: ...
def get_kavlan_host_name(host: str | H, vlanid: int | str) -> str | H:
    """The DNS name of a host once switched into kavlan ``vlanid`` (``nova-1.lyon`` -> ``nova-1-kavlan-4.lyon``)."""
    name = address_of(host)
    parsed = _parsed(name)
    vlan = str(vlanid)
    if parsed is not None and vlan.isdigit() and vlan.isascii():
        new = attrs.evolve(parsed, kavlan=int(vlan)).render()
    else:
        short, sep, rest = name.partition(".")
        new = f"{short}-kavlan-{vlan}{sep}{rest}"
    result: str | H = _with_address(host, new)
    return result


@overload
def interface_host_name(host: str, interface: str) -> str: ...
@overload
def interface_host_name(host: H, interface: str) -> H: ...
def interface_host_name(host: str | H, interface: str) -> str | H:
    """The name of a host's other interface (``nova-1.lyon``, ``eth1`` -> ``nova-1-eth1.lyon``; ``eth0`` is bare)."""
    name = address_of(host)
    parsed = _parsed(name)
    iface = None if interface in ("", "eth0") else interface
    if parsed is None:
        short, sep, rest = name.partition(".")
        new = f"{short}-{iface}{sep}{rest}" if iface else name
    else:
        new = attrs.evolve(parsed, interface=iface).render()
    result: str | H = _with_address(host, new)
    return result


@overload
def ipv6_host_name(host: str) -> str: ...
@overload
def ipv6_host_name(host: H) -> H: ...
def ipv6_host_name(host: str | H) -> str | H:
    """The IPv6 name of a host (``nova-1.lyon.grid5000.fr`` -> ``nova-1-ipv6.lyon.grid5000.fr``)."""
    name = address_of(host)
    parsed = _parsed(name)
    if parsed is None:
        short, sep, rest = name.partition(".")
        new = name if short.endswith("-ipv6") else f"{short}-ipv6{sep}{rest}"
    else:
        new = attrs.evolve(parsed, ipv6=True).render()
    result: str | H = _with_address(host, new)
    return result


def get_host_cluster(host: str | HasAddress) -> str | None:
    """The cluster named by a node name (``chartreuse2-1`` -> ``chartreuse2``), None if it is not a node name."""
    parsed = _parsed(address_of(host))
    return parsed.cluster if parsed else None


def get_host_site(host: str | HasAddress) -> str | None:
    """The site named in a host's domain (``nova-1.lyon.grid5000.fr`` -> ``lyon``), None without a domain."""
    name = address_of(host)
    parsed = _parsed(name)
    if parsed is not None:
        return parsed.site
    return None


def get_host_interface(host: str | HasAddress) -> str | None:
    """The interface a node name designates (``eth0`` when none is written), None if it is not a node name."""
    parsed = _parsed(address_of(host))
    if parsed is None:
        return None
    return parsed.interface or "eth0"


def host_shortname(host: str | HasAddress) -> str:
    """The canonical name before its first dot (``nova-1-kavlan-4.lyon.grid5000.fr`` -> ``nova-1``)."""
    return canonical_host_name(address_of(host)).split(".", 1)[0]


def host_longname(host: str | HasAddress, site: str | None = None) -> Result[str, InvalidInput]:
    """The FQDN ``<short>.<site>.grid5000.fr`` (decorations kept); the site comes from the name or ``site``."""
    name = address_of(host).rstrip(".")
    short, _, domain = name.partition(".")
    the_site = domain.split(".", 1)[0] if domain else site
    if not the_site:
        return Failure(
            InvalidInput(name="host", value=name, expected="a name with its site (nova-1.lyon) or an explicit site")
        )
    return Success(f"{short}.{the_site}.{G5K_DOMAIN}")


def host_cluster_site(host: str | HasAddress) -> tuple[str, str] | None:
    """The (cluster, site) a node name names (``nova-1-eth1.lyon.grid5000.fr`` -> ``('nova', 'lyon')``); None for
    a name that is not a node name or that names no site (``nova-1``, ``nova-1.grid5000.fr``)."""
    parsed = _parsed(address_of(host))
    site = _named_site(parsed)
    return None if parsed is None or site is None else (parsed.cluster, site)


def _named_site(parsed: HostName | None) -> str | None:
    """The site a parsed name's domain names (``grid5000.fr`` alone names none)."""
    if parsed is None or parsed.domain == G5K_DOMAIN:
        return None
    return parsed.site


def node_fqdn(host: str | HasAddress, site: str | None = None) -> Result[str, InvalidInput]:
    """The canonical FQDN of a node from any form of its name: ``nova-1.lyon``, ``nova-1.lyon.grid5000.fr``,
    ``nova-1-eth1.lyon.grid5000.fr``, ``nova-1-kavlan-4.lyon.grid5000.fr`` and ``nova-1-ipv6.lyon`` all give
    ``nova-1.lyon.grid5000.fr``. The site comes from the name, else from ``site`` (so a bare ``nova-1`` needs it).

    A name that is not a node name, or a bare name without ``site``, is an InvalidInput saying what to write."""
    name = address_of(host)
    parsed = _parsed(name)
    if parsed is None:
        return Failure(InvalidInput(name="host", value=name,
                                    expected="a Grid'5000 node name such as nova-1.lyon or nova-1.lyon.grid5000.fr"))
    the_site = _named_site(parsed) or site
    if not the_site:
        return Failure(InvalidInput(
            name="host", value=name,
            expected=f"a node name with its site: {parsed.node}.<site> or {parsed.node}.<site>.{G5K_DOMAIN}"))
    return Success(short_to_fqdn(parsed.node, the_site))


def host_sort_key(host: str | HasAddress) -> tuple[Any, ...]:
    """Sort key of host names by site, cluster and node number in natural order (``nova-2`` before ``nova-10``,
    ``chartreuse`` before ``chartreuse2``); names that are not node names come first, in natural order."""
    name = address_of(host)
    parsed = _parsed(name)
    if parsed is None:
        return (0, natural_key(name))
    site = _named_site(parsed) or ""
    return (1, natural_key(site), natural_key(parsed.cluster), int(parsed.number), natural_key(name))


def short_to_fqdn(short: str, site: str) -> str:
    """``nova-1`` and ``lyon`` -> ``nova-1.lyon.grid5000.fr``."""
    return f"{short}.{site}.{G5K_DOMAIN}"


def fqdn_to_short(fqdn: str | HasAddress) -> str:
    """The part of a host name before its first dot (decorations kept)."""
    return address_of(fqdn).split(".", 1)[0]


# --- host ranges -----------------------------------------------------------------------------------------------

_RANGE_ITEM_RE = re.compile(r"^(\d+)(?:-(\d+))?$")
_SPLIT_NUM_RE = re.compile(r"^(?P<prefix>[^.]*?)(?P<num>\d+)(?P<suffix>(?:\..*)?)$")


def _expand_group(body: str, text: str) -> Result[tuple[str, ...], ParseError]:
    out: list[str] = []
    for item in body.split(","):
        match = _RANGE_ITEM_RE.match(item.strip())
        if match is None:
            return Failure(ParseError(what="host range item", where=f"[{body}]", line=text, hint="use [1-4,7]"))
        lo_s, hi_s = match.group(1), match.group(2)
        width = len(lo_s) if lo_s.startswith("0") and len(lo_s) > 1 else 0
        lo, hi = int(lo_s), int(hi_s) if hi_s is not None else int(lo_s)
        if hi < lo:
            return Failure(ParseError(what="host range", where=item, line=text, hint="the upper bound is lower"))
        if hi - lo > 100_000:
            return Failure(ParseError(what="host range", where=item, line=text, hint="more than 100000 hosts"))
        out.extend(str(n).zfill(width) for n in range(lo, hi + 1))
    return Success(tuple(out))


def _split_top_level(text: str) -> Result[tuple[str, ...], ParseError]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "[":
            depth += 1
            if depth > 1:
                return Failure(ParseError(what="host ranges", line=text, hint="brackets cannot nest"))
        elif char == "]":
            depth -= 1
            if depth < 0:
                return Failure(ParseError(what="host ranges", line=text, hint="unbalanced ']'"))
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth != 0:
        return Failure(ParseError(what="host ranges", line=text, hint="unbalanced '['"))
    parts.append(current)
    return Success(tuple(p.strip() for p in parts))


def parse_host_ranges(text: str) -> Result[tuple[str, ...], ParseError]:
    """Expand ``paravance-[1-4,7].rennes,nova-1.lyon`` into host names, in the order written."""
    return _split_top_level(text).bind(
        lambda patterns: Fold.collect((_expand_pattern(pattern, text) for pattern in patterns), Success(()))
    ).map(lambda names: tuple(host for hosts in names for host in hosts))


def _expand_pattern(pattern: str, text: str) -> Result[tuple[str, ...], ParseError]:
    """The host names of one comma-separated item: each ``[...]`` group expanded between the literal parts."""
    if not pattern:
        return Failure(ParseError(what="host ranges", line=text, hint="empty item between commas"))
    literals: list[str] = []
    bodies: list[str] = []
    rest = pattern
    while (start := rest.find("[")) >= 0:
        end = rest.index("]", start)
        literals.append(rest[:start])
        bodies.append(rest[start + 1 : end])
        rest = rest[end + 1 :]

    def named(groups: tuple[tuple[str, ...], ...]) -> Result[tuple[str, ...], ParseError]:
        expanded = [""]
        for literal, group in zip(literals, groups, strict=True):
            expanded = [e + literal + g for e in expanded for g in group]
        expanded = [e + rest for e in expanded]
        invalid = next((host for host in expanded if not _PLAIN_RE.match(host)), None)
        if invalid is not None:
            return Failure(ParseError(what="host name", where=pattern, line=text, hint=f"invalid name {invalid!r}"))
        return Success(tuple(expanded))

    # The first group that is not a range is the error; the names are checked once all groups are expanded.
    return Fold.collect((_expand_group(body, text) for body in bodies), Success(())).bind(named)


def _format_numbers(numbers: list[int]) -> str:
    parts: list[str] = []
    start = prev = numbers[0]
    for n in numbers[1:]:
        if n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ",".join(parts)


_DIGIT_RUNS = re.compile(r"([0-9]+)", re.ASCII)


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key putting ``dahu-2`` before ``dahu-10`` (digit runs compare as numbers; total on any text)."""
    return tuple((0, int(p), "") if p.isascii() and p.isdigit() else (1, 0, p) for p in _DIGIT_RUNS.split(text))


def format_host_ranges(hosts: Iterable[str | HasAddress]) -> Result[str, InvalidInput]:
    """Fold host names into ranges (``paravance-[1-4,7].rennes``); sorted, duplicates removed."""
    groups: dict[tuple[str, str], set[int]] = {}
    literals: set[str] = set()
    for host in hosts:
        name = address_of(host)
        if not _PLAIN_RE.match(name):
            return Failure(InvalidInput(name="host", value=name, expected="letters, digits, '-', '_' and '.'"))
        match = _SPLIT_NUM_RE.match(name)
        num = match.group("num") if match else ""
        if match is None or (len(num) > 1 and num.startswith("0")):
            literals.add(name)
            continue
        groups.setdefault((match.group("prefix"), match.group("suffix")), set()).add(int(num))
    items: list[tuple[tuple[Any, ...], str]] = []
    for (prefix, suffix), numbers in groups.items():
        ordered = sorted(numbers)
        text = f"{prefix}{ordered[0]}{suffix}" if len(ordered) == 1 else (
            f"{prefix}[{_format_numbers(ordered)}]{suffix}"
        )
        items.append((natural_key(f"{prefix}{ordered[0]}{suffix}"), text))
    for name in literals:
        items.append((natural_key(name), name))
    return Success(",".join(text for _, text in sorted(items)))


def get_host_shortname(host: str | HasAddress) -> str:
    """execo's name for ``host_shortname``: the canonical name before its first dot."""
    return host_shortname(host)


def get_host_longname(host: str | HasAddress, site: str | None = None) -> Result[str, InvalidInput]:
    """execo's name for ``host_longname``: ``<short>.<site>.grid5000.fr`` (execo gave None without a site)."""
    return host_longname(host, site)
