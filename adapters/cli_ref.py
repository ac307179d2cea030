"""`g5k ref`: read the Grid'5000 Reference API (sites, clusters, hosts, any element) and refresh its cache.

The data source is an explicit choice: ``--embedded`` (the default: the snapshot shipped in the package),
``--cache`` (the on-disk cache), ``--live`` (the API, refreshing the cache when its version changed) or
``--auto`` (live, else cache, else embedded). Where the answer came from is always printed on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from returns.io import IOFailure
from returns.result import Failure
from returns.unsafe import unsafe_perform_io

from adapters.api import (
    APIConnection,
    HttpPlan,
    Loaded,
    ReferenceCache,
    Source,
    default_cache_dir,
    load_reference,
    refresh,
)
from adapters.cli import EXIT_OK, emit, fail
from adapters.reference_data import EMBEDDED_FILE, EMBEDDED_PACKAGE
from g5kpure.config import DEFAULT_API_URI
from g5kpure.errors import G5kError
from g5kpure.hosts import format_host_ranges


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `ref` command group."""
    ref = sub.add_parser("ref", help="read the Reference API (sites, clusters, hosts, elements)",
                         description=__doc__)
    ref_sub = ref.add_subparsers(dest="ref_command", metavar="SUBCOMMAND")
    ref_sub.required = True

    source = argparse.ArgumentParser(add_help=False)
    group = source.add_mutually_exclusive_group()
    for name in ("embedded", "cache", "live", "auto"):
        group.add_argument(f"--{name}", dest="source", action="store_const", const=Source(name),
                           help=f"read the {name} data" + (" (default)" if name == "embedded" else ""))
    source.set_defaults(source=Source.EMBEDDED)
    _connection_options(source)

    p = ref_sub.add_parser("sites", parents=[common, source], help="list the sites")
    p.set_defaults(handler=_sites)

    p = ref_sub.add_parser("clusters", parents=[common, source], help="list clusters (of a site)")
    p.add_argument("site", nargs="?", help="only this site's clusters")
    p.add_argument("--queues", action="append", help="keep clusters with one of these queues (default, "
                   "production, testing; every cluster lists admin); repeatable")
    p.set_defaults(handler=_clusters)

    p = ref_sub.add_parser("hosts", parents=[common, source], help="list host FQDNs (of a site or a cluster)")
    p.add_argument("element", nargs="?", help="a site or a cluster (default: the whole grid)")
    p.add_argument("--queues", action="append", help="keep clusters with one of these queues; repeatable")
    p.add_argument("--ranges", action="store_true", help="print folded ranges (paravance-[1-4,7].rennes...)")
    p.set_defaults(handler=_hosts)

    p = ref_sub.add_parser("show", parents=[common, source], help="print the API JSON of a site, cluster, host "
                           "or network equipment")
    p.add_argument("element", help="site, cluster, host (any name form) or equipment uid")
    p.add_argument("--site", help="the site of an equipment whose uid several sites use (gw)")
    p.set_defaults(handler=_show)

    p = ref_sub.add_parser("refresh", parents=[common], help="refresh the on-disk cache from the live API")
    _connection_options(p)
    p.add_argument("--force", action="store_true", help="crawl even when the cached version is current")
    p.set_defaults(handler=_refresh, source=Source.LIVE)


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", default=os.environ.get("G5K_API_URI", DEFAULT_API_URI),
                        help="API base URI (default %(default)s)")
    parser.add_argument("--user", default=os.environ.get("G5K_API_USERNAME"),
                        help="API user (password from the keyring service grid5000_api, else asked once)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default %(default)s)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="cache directory (default: user cache dir)")
    parser.add_argument("--ca-bundle", default=None, help="CA bundle to verify the API's certificate with")


def _conn(args: argparse.Namespace) -> APIConnection:
    return APIConnection(args.api, username=args.user, timeout=args.timeout,
                         verify=args.ca_bundle or True, interactive=not args.dry_run)


def _cache(args: argparse.Namespace) -> ReferenceCache:
    return ReferenceCache(args.cache_dir or default_cache_dir(), args.api.rstrip("/"))


def _plans(conn: APIConnection) -> list[HttpPlan]:
    return [conn.plan("GET", ""), conn.plan("GET", "sites"), conn.plan("GET", "sites/SITE", {"deep": "true"}),
            conn.plan("GET", "network_equipments")]


def _dry_run(args: argparse.Namespace) -> int:
    source: Source = args.source
    lines: list[str] = []
    data: dict[str, Any] = {"source": source.value}
    if source in (Source.LIVE, Source.AUTO):
        conn = APIConnection(args.api, username=args.user, timeout=args.timeout, verify=args.ca_bundle or True,
                             interactive=False)
        plans = _plans(conn)
        lines += [p.describe() + ("   (once per site listed)" if "SITE" in p.url else "") for p in plans]
        lines.append(f"then write {_cache(args).path} if the version changed")
        data["requests"] = [p.describe() for p in plans]
    if source in (Source.CACHE, Source.AUTO):
        lines.append(f"read {_cache(args).path}")
    if source in (Source.EMBEDDED, Source.AUTO):
        lines.append(f"read package data {EMBEDDED_PACKAGE}/{EMBEDDED_FILE}")
    data["plan"] = lines
    emit(args, "\n".join(lines), data)
    return EXIT_OK


def _load(args: argparse.Namespace) -> Loaded | G5kError:
    conn = _conn(args) if args.source in (Source.LIVE, Source.AUTO) else None
    result = load_reference(args.source, conn, _cache(args))
    if isinstance(result, IOFailure):
        error: G5kError = unsafe_perform_io(result.failure())
        return error
    loaded: Loaded = unsafe_perform_io(result.unwrap())
    note = "; ".join(loaded.notes)
    print(f"g5k: reference data from {loaded.source.value}"
          f" (version {loaded.snapshot.version[:12] or 'unknown'}){': ' + note if note else ''}",
          file=sys.stderr)
    return loaded


def _with_snapshot(args: argparse.Namespace, body: Any) -> int:
    if args.dry_run:
        return _dry_run(args)
    loaded = _load(args)
    if isinstance(loaded, G5kError):
        return fail(args, loaded)
    return int(body(loaded))


def _sites(args: argparse.Namespace) -> int:
    def body(loaded: Loaded) -> int:
        sites = loaded.snapshot.sites()
        emit(args, "\n".join(sites), {"source": loaded.source.value, "sites": sites})
        return EXIT_OK

    return _with_snapshot(args, body)


def _clusters(args: argparse.Namespace) -> int:
    def body(loaded: Loaded) -> int:
        result = loaded.snapshot.clusters(args.site, args.queues)
        if isinstance(result, Failure):
            return fail(args, result.failure())
        clusters = result.unwrap()
        emit(args, "\n".join(clusters), {"source": loaded.source.value, "site": args.site, "clusters": clusters})
        return EXIT_OK

    return _with_snapshot(args, body)


def _hosts(args: argparse.Namespace) -> int:
    def body(loaded: Loaded) -> int:
        snap = loaded.snapshot
        element = args.element
        if element is None:
            result = snap.hosts(queues=args.queues)
        elif element in snap.sites():
            result = snap.hosts(site=element, queues=args.queues)
        else:
            result = snap.hosts(cluster=element)
        if isinstance(result, Failure):
            return fail(args, result.failure())
        hosts = result.unwrap()
        text = format_host_ranges(hosts).unwrap() if args.ranges else "\n".join(hosts)
        emit(args, text, {"source": loaded.source.value, "hosts": hosts})
        return EXIT_OK

    return _with_snapshot(args, body)


def _show(args: argparse.Namespace) -> int:
    def body(loaded: Loaded) -> int:
        snap = loaded.snapshot
        result = snap.equipment_attributes(args.element, args.site) if args.site else snap.attributes(args.element)
        if isinstance(result, Failure):
            return fail(args, result.failure())
        attributes = result.unwrap()
        emit(args, json.dumps(attributes, indent=2, sort_keys=True), attributes)
        return EXIT_OK

    return _with_snapshot(args, body)


def _refresh(args: argparse.Namespace) -> int:
    if args.dry_run:
        return _dry_run(args)
    cache = _cache(args)
    with _conn(args) as conn:
        result = refresh(conn, cache, force=args.force)
    if isinstance(result, IOFailure):
        return fail(args, unsafe_perform_io(result.failure()))
    loaded: Loaded = unsafe_perform_io(result.unwrap())
    snap = loaded.snapshot
    summary = {
        "cache": str(cache.path),
        "version": snap.version,
        "sites": len(snap.sites()),
        "clusters": len(snap.clusters().unwrap()),
        "hosts": len(snap.hosts().unwrap()),
        "notes": loaded.notes,
    }
    human = (f"{cache.path}: version {snap.version[:12]}, {summary['sites']} sites, {summary['clusters']} clusters, "
             f"{summary['hosts']} hosts" + "".join(f"\n  {n}" for n in loaded.notes))
    emit(args, human, summary)
    return EXIT_OK
