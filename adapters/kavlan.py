"""KaVLAN operations over the Grid'5000 API: list vlans, read which nodes are where, switch nodes between vlans.

Each function builds its ``VlanRequest`` with ``g5kpure.reference.kavlan``, sends it once through an ``APIConnection``
(GET retried on transient failures, POST never), and parses the answer; errors come back as values
(``HttpError``, ``AuthError``, ``NotFound``, ``ParseError``, ``Partial`` for nodes the API refused to switch).
``plan_*`` functions give the exact HTTP request without sending it (``--dry-run``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from g5k.api import APIConnection, HttpPlan, ReferenceCache, Source, load_reference
from g5k.results import performed
from returns.io import IOFailure, IOResult
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError
from g5kpure.hosts import HasAddress
from g5kpure.reference import KavlanNetwork, VlanChange, VlanInfo, VlanRequest, kavlan

_T = TypeVar("_T")


def _plan(conn: APIConnection, request: VlanRequest) -> HttpPlan:
    return conn.plan(request.method, request.path, body=request.body_json())


def _send(conn: APIConnection, request: Result[VlanRequest, G5kError],
          parse: Callable[[Any], Result[_T, Any]]) -> IOResult[_T, G5kError]:
    if isinstance(request, Failure):
        return IOFailure(request.failure())
    answer = conn.perform(_plan(conn, request.unwrap()))
    if isinstance(answer, IOFailure):
        return answer
    parsed: Result[_T, G5kError] = parse(performed(answer).unwrap())
    return IOResult.from_result(parsed)


def plan_set_nodes_vlan(site: str, hosts: Iterable[str | HasAddress], interface: str, vlan_id: int | str,
                        conn: APIConnection | None = None) -> Result[HttpPlan, G5kError]:
    """The HTTP request ``set_nodes_vlan`` would send, without sending it."""
    the_conn = conn or APIConnection()
    return kavlan.set_nodes_vlan_request(site, hosts, interface, vlan_id).map(lambda r: _plan(the_conn, r))


def set_nodes_vlan(site: str, hosts: Iterable[str | HasAddress], interface: str, vlan_id: int | str,
                   conn: APIConnection | None = None) -> IOResult[VlanChange, G5kError]:
    """Switch an interface of hosts of a site into a vlan (``DEFAULT``: back to production); ``Partial`` names
    the nodes the API refused."""
    the_conn = conn or APIConnection()
    request = kavlan.set_nodes_vlan_request(site, hosts, interface, vlan_id)
    if isinstance(request, Failure):
        return IOFailure(request.failure())
    sent = request.unwrap()
    vlan = sent.path.rsplit("/", 2)[-2]
    return _send(the_conn, request,
                 lambda p: kavlan.parse_set_nodes_answer(p, site, vlan, sent.body or ()).bind(
                     lambda change: change.to_result()))


def get_vlans(site: str, conn: APIConnection | None = None) -> IOResult[tuple[VlanInfo, ...], G5kError]:
    """The vlans of a site with their kinds."""
    return _send(conn or APIConnection(), kavlan.vlans_request(site), kavlan.parse_vlans)


def get_vlan(site: str, vlan_id: int | str, conn: APIConnection | None = None) -> IOResult[VlanInfo, G5kError]:
    """One vlan of a site."""
    return _send(conn or APIConnection(), kavlan.vlan_request(site, vlan_id), kavlan.parse_vlan)


def get_vlan_nodes(site: str, vlan_id: int | str,
                   conn: APIConnection | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """The node names currently in a vlan of a site."""
    return _send(conn or APIConnection(), kavlan.vlan_nodes_request(site, vlan_id), kavlan.parse_vlan_nodes)


def get_nodes_vlan(site: str, hosts: Iterable[str | HasAddress], interface: str = "eth0",
                   conn: APIConnection | None = None) -> IOResult[tuple[tuple[str, str], ...], G5kError]:
    """The vlan each of some hosts' interface is in, as (kavlan node name, vlan uid) pairs."""
    return _send(conn or APIConnection(), kavlan.nodes_vlan_request(site, hosts, interface), kavlan.parse_nodes_vlan)


def get_user_vlans(site: str, user: str, conn: APIConnection | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """The vlan uids of a site a user may use (those of the user's running kavlan jobs)."""
    return _send(conn or APIConnection(), kavlan.user_vlans_request(site, user), kavlan.parse_user_vlans)


def get_kavlan_network(site: str, vlan_id: int | str, source: Source = Source.EMBEDDED,
                       conn: APIConnection | None = None,
                       cache: ReferenceCache | None = None) -> IOResult[KavlanNetwork, G5kError]:
    """The IPv4 network of a kavlan of a site, from the reference data (execo's ``get_kavlan_network``)."""
    def pick(snapshot: Any) -> IOResult[KavlanNetwork, G5kError]:
        found = snapshot.site(site)
        if isinstance(found, Failure):
            return IOFailure(found.failure())
        return IOResult.from_result(kavlan.kavlan_network(found.unwrap(), vlan_id))

    loaded = load_reference(source, conn, cache)
    if isinstance(loaded, IOFailure):
        return loaded
    return pick(performed(loaded).unwrap().snapshot)



def get_kavlan_ip_mac(site: str, vlan_id: int | str, limit: int | None = None, source: Source = Source.EMBEDDED,
                      conn: APIConnection | None = None,
                      cache: ReferenceCache | None = None) -> IOResult[tuple[tuple[str, str], ...], G5kError]:
    """(ip, mac) pairs for virtual machines in a kavlan of a site, leaving out the nodes' own addresses there."""
    loaded = load_reference(source, conn, cache)
    if isinstance(loaded, IOFailure):
        return loaded
    snapshot = performed(loaded).unwrap().snapshot
    found = snapshot.site(site)
    if isinstance(found, Failure):
        return IOFailure(found.failure())
    vlan = kavlan.check_vlan_id(vlan_id).value_or("")
    taken = {k.ip for n in snapshot.nodes(site=site).value_or(()) for k in n.kavlan if k.vlan == f"kavlan-{vlan}"}
    return IOResult.from_result(kavlan.kavlan_ip_mac(found.unwrap(), vlan_id, taken, limit))


def get_vlan_users(site: str, vlan_id: int | str, conn: APIConnection | None = None) -> IOResult[tuple[str, ...],
                                                                                                   G5kError]:
    """The logins allowed to use a vlan of a site."""
    return _send(conn or APIConnection(), kavlan.vlan_users_request(site, vlan_id), kavlan.parse_vlan_users)


def set_vlan_dhcpd(site: str, vlan_id: int | str, action: str,
                   conn: APIConnection | None = None) -> IOResult[None, G5kError]:
    """Start or stop the DHCP server of a kavlan (``action``: ``start`` / ``stop``); any 2xx answer is success."""
    def accepted(_answer: Any) -> Result[None, G5kError]:
        return Success(None)

    return _send(conn or APIConnection(), kavlan.dhcpd_request(site, vlan_id, action), accepted)
