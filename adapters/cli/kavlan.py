"""`g5k vlan`: KaVLAN through the Grid'5000 API: list a site's vlans, see which nodes are where, move nodes.

    g5k vlan list rennes                                   # vlans and their kinds
    g5k vlan nodes rennes 4                                # nodes in vlan 4
    g5k vlan where rennes parasilo-1 parasilo-2 [-i eth1]  # the vlan of each host's interface
    g5k vlan set rennes 4 parasilo-[1-3].rennes [-i eth0]  # move hosts into vlan 4 (DEFAULT: back)
    g5k vlan network rennes 4                              # the vlan's IPv4 network (reference data)

Hosts may be given as ranges (parasilo-[1-3].rennes). --dry-run prints the HTTP request.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from g5k.api import APIConnection
from g5k.cli.main import EXIT_OK, emit, fail
from g5k.cli.options import add_api_options, api_connection_of, plain
from g5k.kavlan import (
    get_kavlan_network,
    get_nodes_vlan,
    get_vlan_nodes,
    get_vlans,
    set_nodes_vlan,
)
from g5k.results import performed
from returns.io import IOFailure, IOResult
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError
from g5kpure.hosts import parse_host_ranges
from g5kpure.reference import kavlan


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `vlan` command group."""
    vlan = sub.add_parser("vlan", help="KaVLAN: list vlans, see and move nodes", description=plain(__doc__ or ""),
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    vlan_sub = vlan.add_subparsers(dest="vlan_command", metavar="SUBCOMMAND")
    vlan_sub.required = True
    conn = argparse.ArgumentParser(add_help=False)
    add_api_options(conn)

    p = vlan_sub.add_parser("list", parents=[common, conn], help="the vlans of a site and their kinds")
    p.add_argument("site")
    p.set_defaults(handler=_list)

    p = vlan_sub.add_parser("nodes", parents=[common, conn], help="the nodes in a vlan")
    p.add_argument("site")
    p.add_argument("vlan", help="vlan id or DEFAULT")
    p.set_defaults(handler=_nodes)

    p = vlan_sub.add_parser("where", parents=[common, conn], help="the vlan each host's interface is in")
    p.add_argument("site")
    p.add_argument("hosts", nargs="+", help="host names or ranges")
    p.add_argument("-i", "--interface", default="eth0", help="interface (default %(default)s)")
    p.set_defaults(handler=_where)

    p = vlan_sub.add_parser("set", parents=[common, conn], help="move hosts' interface into a vlan")
    p.add_argument("site")
    p.add_argument("vlan", help="vlan id, or DEFAULT to go back to the production network")
    p.add_argument("hosts", nargs="+", help="host names or ranges")
    p.add_argument("-i", "--interface", default="eth0", help="interface (default %(default)s)")
    p.set_defaults(handler=_set)

    p = vlan_sub.add_parser("network", parents=[common], help="the IPv4 network of a vlan (embedded reference)")
    p.add_argument("site")
    p.add_argument("vlan")
    p.set_defaults(handler=_network)


def _hosts(texts: list[str]) -> Result[tuple[str, ...], G5kError]:
    out: list[str] = []
    for text in texts:
        parsed = parse_host_ranges(text)
        if isinstance(parsed, Failure):
            return Failure(parsed.failure())
        out.extend(parsed.unwrap())
    return Success(tuple(out))


def _online(args: argparse.Namespace, call: Callable[[APIConnection], IOResult[Any, G5kError]], show: Any) -> int:
    conn = api_connection_of(args)
    if isinstance(conn, G5kError):
        return fail(args, conn)
    return _done(args, call(conn), show)


def _done(args: argparse.Namespace, result: IOResult[Any, G5kError], show: Any) -> int:
    if isinstance(result, IOFailure):
        return fail(args, performed(result).failure())
    value = performed(result).unwrap()
    human, data = show(value)
    emit(args, human, data)
    return EXIT_OK


def _dry(args: argparse.Namespace, request: Result[kavlan.VlanRequest, G5kError]) -> int:
    if isinstance(request, Failure):
        return fail(args, request.failure())
    conn = api_connection_of(args)
    if isinstance(conn, G5kError):
        return fail(args, conn)
    req = request.unwrap()
    plan = conn.plan(req.method, req.path, body=req.body_json())
    emit(args, plan.describe(), {"request": plan.describe()})
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    if args.dry_run:
        return _dry(args, kavlan.vlans_request(args.site))
    return _online(args, lambda c: get_vlans(args.site, c),
                 lambda vlans: ("\n".join(f"{v.uid}\t{v.kind or 'default'}" for v in vlans),
                                {"site": args.site, "vlans": [{"uid": v.uid, "kind": v.kind} for v in vlans]}))


def _nodes(args: argparse.Namespace) -> int:
    if args.dry_run:
        return _dry(args, kavlan.vlan_nodes_request(args.site, args.vlan))
    return _online(args, lambda c: get_vlan_nodes(args.site, args.vlan, c),
                 lambda nodes: ("\n".join(nodes), {"site": args.site, "vlan": args.vlan, "nodes": list(nodes)}))


def _where(args: argparse.Namespace) -> int:
    hosts = _hosts(args.hosts)
    if isinstance(hosts, Failure):
        return fail(args, hosts.failure())
    if args.dry_run:
        return _dry(args, kavlan.nodes_vlan_request(args.site, hosts.unwrap(), args.interface))
    return _online(args, lambda c: get_nodes_vlan(args.site, hosts.unwrap(), args.interface, c),
                 lambda pairs: ("\n".join(f"{n}\t{v}" for n, v in pairs), {n: v for n, v in pairs}))


def _set(args: argparse.Namespace) -> int:
    hosts = _hosts(args.hosts)
    if isinstance(hosts, Failure):
        return fail(args, hosts.failure())
    if args.dry_run:
        return _dry(args, kavlan.set_nodes_vlan_request(args.site, hosts.unwrap(), args.interface, args.vlan))

    def show(change: kavlan.VlanChange) -> tuple[str, dict[str, Any]]:
        lines = [f"{o.host}\t{o.status}\t{o.message}".rstrip() for o in change.outcomes]
        return "\n".join(lines), {"site": change.site, "vlan": change.vlan, "moved": list(change.moved),
                                  "unchanged": list(change.unchanged)}

    return _online(args, lambda c: set_nodes_vlan(args.site, hosts.unwrap(), args.interface, args.vlan, c), show)


def _network(args: argparse.Namespace) -> int:
    if args.dry_run:
        emit(args, "read the embedded reference snapshot", {"plan": "read the embedded reference snapshot"})
        return EXIT_OK
    return _done(args, get_kavlan_network(args.site, args.vlan),
                 lambda net: (f"{net.cidr} gateway {net.gateway or 'unknown'}",
                              {"site": net.site, "vlan": net.vlan, "network": net.cidr, "gateway": net.gateway}))
