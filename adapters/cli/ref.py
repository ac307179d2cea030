"""`g5k ref`: read the Grid'5000 Reference API (sites, clusters, hosts, any element) and refresh its cache.

The data source is an explicit choice: ``--embedded`` (the default: the snapshot shipped in the package),
``--cache`` (the on-disk cache), ``--live`` (the API, refreshing the cache when its version changed) or
``--auto`` (live, else cache, else embedded). Where the answer came from is always printed on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from g5k import config as config_adapter
from g5k.api import (
    APIConnection,
    HttpPlan,
    Loaded,
    ReferenceCache,
    Source,
    default_cache_dir,
    load_reference,
    refresh,
)
from g5k.cli.main import EXIT_OK, emit, fail
from g5k.reference_data import EMBEDDED_FILE, EMBEDDED_PACKAGE
from g5k.results import performed
from returns.io import IOFailure
from returns.result import Failure

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
    connection_options(source)

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
    connection_options(p)
    p.add_argument("--force", action="store_true", help="crawl even when the cached version is current")
    p.set_defaults(handler=_refresh, source=Source.LIVE)


def connection_options(parser: argparse.ArgumentParser) -> None:
    """Add the API connection options (--api, --user, --timeout, --cache-dir, --ca-bundle, --allow-http-password,
    --config)."""
    parser.add_argument("--api", default=None, help="API base URI (default: g5k.api_uri of the configuration)")
    parser.add_argument("--user", default=None,
                        help="API user (default: g5k.api_username of the configuration; password from the keyring "
                        "service grid5000_api, else asked once)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds allowed to each request, retries included (default: g5k.api_timeout of the "
                        "configuration)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="cache directory (default: user cache dir)")
    parser.add_argument("--ca-bundle", default=None, help="CA bundle to verify the API's certificate with")
    parser.add_argument("--allow-http-password", action="store_true", default=None,
                        help="send the API password even over a plain http:// URI to another machine (clear text; "
                        "default: g5k.api_allow_http_password, off)")
    parser.add_argument("--config", type=Path, default=None,
                        help="configuration file (default: $G5K_CONFIG or the user's)")


def api_connection(args: argparse.Namespace) -> APIConnection | G5kError:
    """The connection a run uses: the configuration (file, environment, where we run), --api/--user/--timeout/
    --ca-bundle/--allow-http-password overriding it. A dry run builds the very same one (the password is only
    asked when sending)."""
    loaded = performed(config_adapter.runtime(path=args.config))
    if isinstance(loaded, Failure):
        error: G5kError = loaded.failure()
        return error
    rt = loaded.unwrap()
    return APIConnection.from_config(rt.config, rt.location, interactive=True, uri=args.api, username=args.user,
                                     timeout=args.timeout, verify=args.ca_bundle,
                                     allow_http_password=args.allow_http_password)


def _cache(args: argparse.Namespace, api_uri: str) -> ReferenceCache:
    return ReferenceCache(args.cache_dir or default_cache_dir(), api_uri.rstrip("/"))


def _api_uri(args: argparse.Namespace) -> str | G5kError:
    """The API URI keying the cache, for reads of the cache alone (no connection, no keyring)."""
    if args.api:
        return str(args.api)
    loaded = performed(config_adapter.load_config(path=args.config))
    if isinstance(loaded, Failure):
        error: G5kError = loaded.failure()
        return error
    return loaded.unwrap().config.api_uri


def _setup(args: argparse.Namespace) -> tuple[APIConnection | None, ReferenceCache | None] | G5kError:
    """The connection (live and auto) and the cache (all but embedded) the chosen source needs."""
    source: Source = args.source
    if source is Source.EMBEDDED:
        return None, None
    if source is Source.CACHE:
        uri = _api_uri(args)
        return uri if isinstance(uri, G5kError) else (None, _cache(args, uri))
    conn = api_connection(args)
    return conn if isinstance(conn, G5kError) else (conn, _cache(args, conn.base_uri))


def _plans(conn: APIConnection) -> list[HttpPlan]:
    return [conn.plan("GET", ""), conn.plan("GET", "sites"), conn.plan("GET", "sites/SITE", {"deep": "true"}),
            conn.plan("GET", "network_equipments")]


def _dry_run(args: argparse.Namespace) -> int:
    source: Source = args.source
    setup = _setup(args)
    if isinstance(setup, G5kError):
        return fail(args, setup)
    conn, cache = setup
    lines: list[str] = []
    data: dict[str, Any] = {"source": source.value}
    if conn is not None and cache is not None:
        with conn:
            plans = _plans(conn)
        lines += [p.describe() + ("   (once per site listed)" if "SITE" in p.url else "") for p in plans]
        lines.append(f"then write {cache.path} if the version changed")
        data["requests"] = [p.describe() for p in plans]
    if cache is not None and source in (Source.CACHE, Source.AUTO):
        lines.append(f"read {cache.path}")
    if source in (Source.EMBEDDED, Source.AUTO):
        lines.append(f"read package data {EMBEDDED_PACKAGE}/{EMBEDDED_FILE}")
    data["plan"] = lines
    emit(args, "\n".join(lines), data)
    return EXIT_OK


def _load(args: argparse.Namespace) -> Loaded | G5kError:
    setup = _setup(args)
    if isinstance(setup, G5kError):
        return setup
    conn, cache = setup
    with conn or contextlib.nullcontext():
        result = load_reference(args.source, conn, cache)
    if isinstance(result, IOFailure):
        error: G5kError = performed(result).failure()
        return error
    loaded: Loaded = performed(result).unwrap()
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
    setup = _setup(args)
    if isinstance(setup, G5kError):
        return fail(args, setup)
    conn, cache = setup
    assert conn is not None and cache is not None  # the source of refresh is live
    with conn:
        result = refresh(conn, cache, force=args.force)
    if isinstance(result, IOFailure):
        return fail(args, performed(result).failure())
    loaded: Loaded = performed(result).unwrap()
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
