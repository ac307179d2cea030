"""KaVLAN through the Grid'5000 API: requests to build, answers to parse, and kavlan networks from a snapshot.

The API proxies the KaVLAN service under ``/sites/<site>/vlans``: the list of vlans (the ``DEFAULT`` one has type
``NULL``), the nodes of a vlan, the current vlan of nodes, the vlans of a user, and ``POST /vlans/<id>/nodes``
with a JSON array of node names, answered per node with ``success`` / ``unchanged`` / ``failure``.
Nothing here performs a request: ``g5k.kavlan`` sends the ``VlanRequest`` values and hands the decoded JSON
back to the parsers, which never raise.

Moving nodes posts the JSON array the API documents to ``/sites/<site>/vlans/<id>/nodes``; the primary
interface ``eth0`` is named as kavlan knows it (``nova-1.lyon.grid5000.fr``), any name variant of a host is
accepted and a host of another site is refused; a node the API did not switch is a ``Partial`` failure naming it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from attrs import frozen
from returns.iterables import Fold
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NotFound, ParseError, Partial, Rejected
from g5kpure.hosts import HasAddress, HostName, address_of, canonical_host_name, interface_host_name, parse_host_name
from g5kpure.reference.models import Site

DEFAULT_VLAN = "DEFAULT"
NODE_STATUSES = frozenset({"success", "unchanged", "failure"})


# --- values ----------------------------------------------------------------------------------------------------


@frozen
class VlanInfo:
    """One vlan of a site: its uid (``"4"``, ``"DEFAULT"``) and kind (``kavlan-local``, ``kavlan``,
    ``kavlan-global``, ``kavlan-remote``; None for the default vlan, whose API type is ``NULL``)."""

    uid: str
    kind: str | None

    @property
    def is_default(self) -> bool:
        """True for the production (default) vlan."""
        return self.uid == DEFAULT_VLAN


@frozen
class VlanRequest:
    """One request to the API: method, path relative to the API root, and its JSON body: a list of node names
    (``body``) or an object of string fields (``fields``); neither for none."""

    method: str
    path: str
    body: tuple[str, ...] | None = None
    fields: tuple[tuple[str, str], ...] | None = None

    def body_json(self) -> list[str] | dict[str, str] | None:
        """The body as the JSON value to send (a fresh list or dict)."""
        if self.body is not None:
            return list(self.body)
        return dict(self.fields) if self.fields is not None else None

    def describe(self) -> str:
        """One line for --dry-run."""
        value = self.body_json()
        body = f" {json.dumps(value)}" if value is not None else ""
        return f"{self.method} {self.path}{body}"


@frozen
class NodeOutcome:
    """What the API did with one node: ``success`` (moved), ``unchanged`` (already there) or ``failure``."""

    host: str
    status: str
    message: str = ""


@frozen
class VlanChange:
    """The answer to a vlan change, one outcome per requested node, in request order."""

    site: str
    vlan: str
    outcomes: tuple[NodeOutcome, ...]

    @property
    def moved(self) -> tuple[str, ...]:
        """Nodes switched into the vlan by this request."""
        return tuple(o.host for o in self.outcomes if o.status == "success")

    @property
    def unchanged(self) -> tuple[str, ...]:
        """Nodes that were already in the vlan."""
        return tuple(o.host for o in self.outcomes if o.status == "unchanged")

    @property
    def failed(self) -> tuple[NodeOutcome, ...]:
        """Nodes the API did not switch, with its message."""
        return tuple(o for o in self.outcomes if o.status == "failure")

    def to_result(self) -> Result[VlanChange, G5kError]:
        """Success when every node is in the vlan now, else a ``Partial`` naming each refused node."""
        if not self.failed:
            return Success(self)
        return Failure(Partial(
            what=f"switching nodes into vlan {self.vlan} of {self.site}",
            succeeded=self.moved + self.unchanged,
            failed=tuple((o.host, Rejected(reason=o.message or "refused by kavlan", frontend=self.site))
                         for o in self.failed),
        ))


@frozen
class KavlanNetwork:
    """The IPv4 network of a kavlan of a site (execo's ``get_kavlan_network``): address, prefix length, gateway."""

    site: str
    vlan: str
    network: str
    prefix_len: int
    gateway: str | None = None

    @property
    def cidr(self) -> str:
        """``network/prefix_len``."""
        return f"{self.network}/{self.prefix_len}"


# --- inputs ----------------------------------------------------------------------------------------------------


def check_vlan_id(vlan_id: int | str) -> Result[str, G5kError]:
    """The vlan uid as the API spells it: a positive number, or ``DEFAULT`` (any case) for the production vlan."""
    text = str(vlan_id).strip()
    if text.upper() == DEFAULT_VLAN:
        return Success(DEFAULT_VLAN)
    if isinstance(vlan_id, bool) or not (text.isdigit() and text.isascii()) or int(text) <= 0:
        return Failure(InvalidInput(name="vlan id", value=str(vlan_id), expected="a positive number or DEFAULT"))
    return Success(str(int(text)))


_SITE_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def _check_site(site: str) -> Result[str, G5kError]:
    if not _SITE_RE.match(site):
        return Failure(InvalidInput(name="site", value=site, expected="a site uid such as rennes"))
    return Success(site)


def vlan_node_name(host: str | HasAddress, site: str, interface: str = "eth0") -> Result[str, G5kError]:
    """The name kavlan knows a host's interface by (``nova-1``, ``eth1``, ``lyon`` -> ``nova-1-eth1.lyon.grid5000.fr``).

    Any variant of the host name is accepted (short, FQDN, ``-kavlan-N``, another interface); a name of another
    site is refused."""
    name = address_of(host)
    parsed: Result[HostName, G5kError] = parse_host_name(name)
    return parsed.bind(lambda named: _vlan_node_name(name, named.site, site, interface))


def _vlan_node_name(name: str, named_site: str | None, site: str, interface: str) -> Result[str, G5kError]:
    if named_site is not None and named_site != site:
        return Failure(InvalidInput(name="host", value=name, expected=f"a host of site {site} (it names {named_site})"))
    if interface and not interface.replace("-", "_").isidentifier():
        return Failure(InvalidInput(name="interface", value=interface, expected="an interface such as eth0 or eth1"))
    short = canonical_host_name(name).split(".", 1)[0]
    return Success(interface_host_name(f"{short}.{site}.grid5000.fr", interface))


def vlan_node_names(hosts: Iterable[str | HasAddress], site: str,
                    interface: str = "eth0") -> Result[tuple[str, ...], G5kError]:
    """Kavlan names of several hosts, in the given order without duplicates; the first bad name is the error."""
    def some(names: tuple[str, ...]) -> Result[tuple[str, ...], G5kError]:
        if not names:
            return Failure(InvalidInput(name="hosts", value="", expected="at least one host"))
        return Success(tuple(dict.fromkeys(names)))

    return Fold.collect((vlan_node_name(host, site, interface) for host in hosts), Success(())).bind(some)


# --- requests --------------------------------------------------------------------------------------------------


def vlans_request(site: str) -> Result[VlanRequest, G5kError]:
    """The request listing the vlans of a site."""
    return _check_site(site).map(lambda s: VlanRequest("GET", f"sites/{s}/vlans"))


def vlan_request(site: str, vlan_id: int | str) -> Result[VlanRequest, G5kError]:
    """The request describing one vlan of a site."""
    return _check_site(site).bind(
        lambda s: check_vlan_id(vlan_id).map(lambda v: VlanRequest("GET", f"sites/{s}/vlans/{v}")))


def vlan_nodes_request(site: str, vlan_id: int | str) -> Result[VlanRequest, G5kError]:
    """The request listing the nodes in a vlan of a site."""
    return vlan_request(site, vlan_id).map(lambda r: VlanRequest("GET", r.path + "/nodes"))


def nodes_vlan_request(site: str, hosts: Iterable[str | HasAddress],
                       interface: str = "eth0") -> Result[VlanRequest, G5kError]:
    """The request asking the current vlan of some hosts' interface."""
    items = tuple(hosts)
    return _check_site(site).bind(
        lambda s: vlan_node_names(items, s, interface).map(
            lambda names: VlanRequest("POST", f"sites/{s}/vlans/nodes", names)))


def user_vlans_request(site: str, user: str) -> Result[VlanRequest, G5kError]:
    """The request listing the vlans a user may use on a site."""
    if not user or not all(c.isalnum() or c in "._-" for c in user):
        return Failure(InvalidInput(name="user", value=user, expected="a Grid'5000 login"))
    return _check_site(site).map(lambda s: VlanRequest("GET", f"sites/{s}/vlans/users/{user}"))


def vlan_users_request(site: str, vlan_id: int | str) -> Result[VlanRequest, G5kError]:
    """The request listing the users allowed in a vlan of a site."""
    return vlan_request(site, vlan_id).map(lambda r: VlanRequest("GET", r.path + "/users"))


def dhcpd_request(site: str, vlan_id: int | str, action: str) -> Result[VlanRequest, G5kError]:
    """The request starting or stopping the DHCP server of a kavlan (``action``: ``start`` or ``stop``)."""
    if action not in ("start", "stop"):
        return Failure(InvalidInput(name="dhcpd action", value=action, expected="start or stop"))
    if check_vlan_id(vlan_id).map(lambda uid: uid == DEFAULT_VLAN).value_or(False):
        return Failure(InvalidInput(name="vlan id", value=DEFAULT_VLAN, expected="a kavlan id (not the default vlan)"))
    return vlan_request(site, vlan_id).map(
        lambda r: VlanRequest("PUT", r.path + "/dhcpd", fields=(("action", action),)))


def set_nodes_vlan_request(site: str, hosts: Iterable[str | HasAddress], interface: str,
                           vlan_id: int | str) -> Result[VlanRequest, G5kError]:
    """The request switching an interface of hosts of a site into a vlan (``DEFAULT`` puts them back)."""
    items = tuple(hosts)
    return _check_site(site).bind(
        lambda s: check_vlan_id(vlan_id).bind(
            lambda v: vlan_node_names(items, s, interface).map(
                lambda names: VlanRequest("POST", f"sites/{s}/vlans/{v}/nodes", names))))


# --- answers ---------------------------------------------------------------------------------------------------


def _vlan_of(item: Any, where: str) -> Result[VlanInfo, ParseError]:
    if not isinstance(item, dict) or not isinstance(item.get("uid"), str | int):
        return Failure(ParseError(what="vlan", where=where, line=repr(item)[:100], hint="expected {uid, type}"))
    kind = item.get("type")
    if kind is not None and not isinstance(kind, str):
        return Failure(ParseError(what="vlan type", where=where, line=repr(kind)[:100]))
    return Success(VlanInfo(uid=str(item["uid"]), kind=None if kind in (None, "NULL") else kind))


def parse_vlan(payload: Any) -> Result[VlanInfo, ParseError]:
    """One vlan item (``GET sites/<s>/vlans/<id>``)."""
    return _vlan_of(payload, "vlan item")


def parse_vlans(payload: Any) -> Result[tuple[VlanInfo, ...], ParseError]:
    """The vlan collection of a site, in the API's order."""
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return Failure(ParseError(what="vlan collection", line=repr(payload)[:100], hint="expected {items: [...]}"))
    return Fold.collect((_vlan_of(item, f"items[{i}]") for i, item in enumerate(items)), Success(()))


def parse_vlan_nodes(payload: Any) -> Result[tuple[str, ...], ParseError]:
    """The node names of a vlan (``GET sites/<s>/vlans/<id>/nodes``), in the API's order."""
    nodes = payload.get("nodes") if isinstance(payload, dict) else None
    if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
        return Failure(ParseError(what="vlan nodes", line=repr(payload)[:100], hint="expected {nodes: [names]}"))
    return Success(tuple(nodes))


def parse_nodes_vlan(payload: Any) -> Result[tuple[tuple[str, str], ...], ParseError]:
    """The current vlan of nodes (``{name: vlan}``) as (name, vlan uid) pairs sorted by name."""
    if not isinstance(payload, dict):
        return Failure(ParseError(what="nodes' vlans", line=repr(payload)[:100], hint="expected {name: vlan}"))
    pairs: list[tuple[str, str]] = []
    for name, vlan in payload.items():
        if not isinstance(vlan, str | int) or isinstance(vlan, bool):
            return Failure(ParseError(what="vlan of a node", where=str(name), line=repr(vlan)[:100]))
        pairs.append((str(name), str(vlan)))
    return Success(tuple(sorted(pairs)))


def parse_user_vlans(payload: Any) -> Result[tuple[str, ...], ParseError]:
    """The vlan uids a user may use (``GET sites/<s>/vlans/users/<user>``)."""
    vlans = payload.get("vlans") if isinstance(payload, dict) else None
    if not isinstance(vlans, list) or not all(isinstance(v, str | int) for v in vlans):
        return Failure(ParseError(what="user vlans", line=repr(payload)[:100], hint="expected {vlans: [...]}"))
    return Success(tuple(str(v) for v in vlans))


def parse_vlan_users(payload: Any) -> Result[tuple[str, ...], ParseError]:
    """The logins allowed in a vlan (``GET sites/<s>/vlans/<id>/users``), in the API's order."""
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("uid"), str) for i in items):
        return Failure(ParseError(what="vlan users", line=repr(payload)[:100], hint="expected {items: [{uid}]}"))
    return Success(tuple(i["uid"] for i in items))


def parse_set_nodes_answer(payload: Any, site: str, vlan_id: str,
                           requested: Sequence[str]) -> Result[VlanChange, G5kError]:
    """The per-node answer to a vlan change; a requested node missing from the answer counts as a failure."""
    if not isinstance(payload, dict):
        return Failure(ParseError(what="vlan change answer", line=repr(payload)[:100],
                                  hint="expected {name: {status, message}}"))
    outcomes: list[NodeOutcome] = []
    for name in requested:
        entry = payload.get(name)
        if entry is None:
            outcomes.append(NodeOutcome(name, "failure", "the API gave no answer for this node"))
            continue
        status = entry.get("status") if isinstance(entry, dict) else None
        if status not in NODE_STATUSES:
            return Failure(ParseError(what="vlan change status", where=name, line=repr(entry)[:100],
                                      hint="expected success, unchanged or failure"))
        message = entry.get("message")
        outcomes.append(NodeOutcome(name, str(status), message if isinstance(message, str) else ""))
    return Success(VlanChange(site=site, vlan=vlan_id, outcomes=tuple(outcomes)))


# --- from the reference data -----------------------------------------------------------------------------------


def kavlan_network(site: Site, vlan_id: int | str) -> Result[KavlanNetwork, G5kError]:
    """The IPv4 network of kavlan ``vlan_id`` of a site, from its Reference API ``kavlans`` entry."""
    return check_vlan_id(vlan_id).bind(lambda uid: _kavlan_network(site, uid))


def _kavlan_network(site: Site, uid: str) -> Result[KavlanNetwork, G5kError]:
    key = "default" if uid == DEFAULT_VLAN else uid
    found = next((k for k in site.kavlans if k.id == key), None)
    if found is None or not found.network:
        known = ", ".join(k.id for k in site.kavlans) or "none"
        return Failure(NotFound(what="kavlan", key=f"{uid} of {site.uid}", hint=f"the site's kavlans: {known}"))
    try:
        net = ipaddress.IPv4Network(found.network, strict=False)
    except ValueError:
        return Failure(ParseError(what="kavlan network", where=f"sites.{site.uid}.kavlans.{key}", line=found.network))
    return Success(KavlanNetwork(site=site.uid, vlan=uid, network=str(net.network_address),
                                 prefix_len=net.prefixlen, gateway=found.gateway))


#: The OUI execo_g5k gave the MAC addresses of virtual machines in a kavlan.
VM_MAC_PREFIX = "00:20:4e"


def vm_mac(ip: str) -> str:
    """A MAC address for a virtual machine at ``ip``: ``00:20:4e`` then the last three bytes of the address.

    Unlike execo_g5k (random MACs), the MAC is derived from the address: the same input gives the same MAC,
    and addresses of one kavlan (at most a /18) never share a MAC."""
    b = ipaddress.IPv4Address(ip).packed
    return f"{VM_MAC_PREFIX}:{b[1]:02x}:{b[2]:02x}:{b[3]:02x}"


def kavlan_ip_mac(site: Site, vlan_id: int | str, taken: Iterable[str] = (),
                  limit: int | None = None) -> Result[tuple[tuple[str, str], ...], G5kError]:
    """(ip, mac) pairs for virtual machines in a kavlan of a site (execo's ``get_kavlan_ip_mac``), in address order.

    Left out: the network and broadcast addresses, the gateway, every address ending in .0, .254 or .255 (as
    execo), and the ``taken`` addresses (give the nodes' own kavlan addresses, ``Node.kavlan``; execo instead
    skipped a fixed range of the network, which today's node addresses no longer follow)."""
    return kavlan_network(site, vlan_id).map(lambda net: _vm_addresses(net, taken, limit))


def _vm_addresses(net: KavlanNetwork, taken: Iterable[str], limit: int | None) -> tuple[tuple[str, str], ...]:
    excluded = set(taken)
    if net.gateway:
        excluded.add(net.gateway)
    pairs: list[tuple[str, str]] = []
    for address in ipaddress.IPv4Network(net.cidr).hosts():
        text = str(address)
        if address.packed[3] in (0, 254, 255) or text in excluded:
            continue
        pairs.append((text, vm_mac(text)))
        if limit is not None and len(pairs) >= limit:
            break
    return tuple(pairs)
