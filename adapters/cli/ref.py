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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from g5k.cli.main import EXIT_OK, emit, fail
from g5k.cli.options import add_api_options, api_connection_of, plain
from g5k.results import performed
from returns.result import Failure

from g5kpure.errors import G5kError
from g5kpure.hosts import format_host_ranges

if TYPE_CHECKING:  # the API adapter (requests) is imported only when a source needs it
    from g5k.api import APIConnection, HttpPlan, Loaded, ReferenceCache

    from g5kpure.reference import Snapshot

EMBEDDED = "embedded"
SOURCES = (
    (EMBEDDED, "read the snapshot shipped in the package (the default; offline)"),
    ("cache", "read the on-disk cache that g5k ref refresh writes (offline)"),
    ("live", "ask the API, refreshing the cache when the API's version changed"),
    ("auto", "ask the API, else read the cache, else the embedded snapshot"),
)
"""The data sources (``Source`` values of the API adapter) and what each flag does."""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `ref` command group."""
    ref = sub.add_parser("ref", help="read the Reference API (sites, clusters, hosts, elements)",
                         description=plain(__doc__ or ""))
    ref_sub = ref.add_subparsers(dest="ref_command", metavar="SUBCOMMAND")
    ref_sub.required = True

    source = argparse.ArgumentParser(add_help=False)
    group = source.add_mutually_exclusive_group()
    for name, what in SOURCES:
        group.add_argument(f"--{name}", dest="source", action="store_const", const=name, help=what)
    source.set_defaults(source=EMBEDDED)
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
    p.set_defaults(handler=_refresh, source="live")


def connection_options(parser: argparse.ArgumentParser) -> None:
    """Add the API options of every command (:func:`g5k.cli.options.add_api_options`) and ``--cache-dir``."""
    add_api_options(parser)
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                        help="directory of the reference cache (default: $G5K_CACHE_DIR, else the user cache dir)")


def _cache(args: argparse.Namespace, api_uri: str) -> ReferenceCache:
    from g5k.api import ReferenceCache, default_cache_dir

    return ReferenceCache(args.cache_dir or default_cache_dir(), api_uri.rstrip("/"))


def _api_uri(args: argparse.Namespace) -> str | G5kError:
    """The API URI keying the cache, for reads of the cache alone (no connection, no keyring)."""
    from g5k import config as config_adapter

    if args.api:
        return str(args.api)
    loaded = performed(config_adapter.load_config(path=args.config))
    if isinstance(loaded, Failure):
        error: G5kError = loaded.failure()
        return error
    return loaded.unwrap().config.api_uri


def _setup(args: argparse.Namespace) -> tuple[APIConnection | None, ReferenceCache | None] | G5kError:
    """The connection (live and auto) and the cache (all but embedded) the chosen source needs."""
    if args.source == EMBEDDED:
        return None, None
    if args.source == "cache":
        uri = _api_uri(args)
        return uri if isinstance(uri, G5kError) else (None, _cache(args, uri))
    conn = api_connection_of(args)
    return conn if isinstance(conn, G5kError) else (conn, _cache(args, conn.base_uri))


def _plans(conn: APIConnection) -> list[HttpPlan]:
    return [conn.plan("GET", ""), conn.plan("GET", "sites"), conn.plan("GET", "sites/SITE", {"deep": "true"}),
            conn.plan("GET", "network_equipments")]


def _dry_run(args: argparse.Namespace) -> int:
    from g5k.reference_data import EMBEDDED_FILE, EMBEDDED_PACKAGE

    setup = _setup(args)
    if isinstance(setup, G5kError):
        return fail(args, setup)
    conn, cache = setup
    lines: list[str] = []
    data: dict[str, Any] = {"source": args.source}
    if conn is not None and cache is not None:
        with conn:
            plans = _plans(conn)
        lines += [p.describe() + ("   (once per site listed)" if "SITE" in p.url else "") for p in plans]
        lines.append(f"then write {cache.path} if the version changed")
        data["requests"] = [p.describe() for p in plans]
    if cache is not None and args.source in ("cache", "auto"):
        lines.append(f"read {cache.path}")
    if args.source in (EMBEDDED, "auto"):
        lines.append(f"read package data {EMBEDDED_PACKAGE}/{EMBEDDED_FILE}")
    data["plan"] = lines
    emit(args, "\n".join(lines), data)
    return EXIT_OK


def _say_source(source: str, version: str, notes: tuple[str, ...]) -> None:
    note = "; ".join(notes)
    print(f"g5k: reference data from {source} (version {version[:12] or 'unknown'}){': ' + note if note else ''}",
          file=sys.stderr)


def _load(args: argparse.Namespace) -> tuple[Snapshot, str] | G5kError:
    """The snapshot of the chosen source and the source that answered (auto falls back), said on stderr; the
    embedded snapshot is read without the API adapter."""
    if args.source == EMBEDDED:
        from g5k.reference_data import load_embedded_snapshot

        embedded = performed(load_embedded_snapshot())
        if isinstance(embedded, Failure):
            failed: G5kError = embedded.failure()
            return failed
        _say_source(EMBEDDED, embedded.unwrap().version, ("embedded snapshot",))
        return embedded.unwrap(), EMBEDDED
    from g5k.api import Source, load_reference

    setup = _setup(args)
    if isinstance(setup, G5kError):
        return setup
    conn, cache = setup
    with conn or contextlib.nullcontext():
        result = performed(load_reference(Source(args.source), conn, cache))
    if isinstance(result, Failure):
        error: G5kError = result.failure()
        return error
    loaded: Loaded = result.unwrap()
    _say_source(loaded.source.value, loaded.snapshot.version, loaded.notes)
    return loaded.snapshot, loaded.source.value


def _with_snapshot(args: argparse.Namespace, body: Callable[[Snapshot, str], int]) -> int:
    if args.dry_run:
        return _dry_run(args)
    loaded = _load(args)
    if isinstance(loaded, G5kError):
        return fail(args, loaded)
    return body(*loaded)


def _sites(args: argparse.Namespace) -> int:
    def body(snap: Snapshot, source: str) -> int:
        sites = snap.sites()
        emit(args, "\n".join(sites), {"source": source, "sites": sites})
        return EXIT_OK

    return _with_snapshot(args, body)


def _clusters(args: argparse.Namespace) -> int:
    def body(snap: Snapshot, source: str) -> int:
        result = snap.clusters(args.site, args.queues)
        if isinstance(result, Failure):
            return fail(args, result.failure())
        clusters = result.unwrap()
        emit(args, "\n".join(clusters), {"source": source, "site": args.site, "clusters": clusters})
        return EXIT_OK

    return _with_snapshot(args, body)


def _hosts(args: argparse.Namespace) -> int:
    def body(snap: Snapshot, source: str) -> int:
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
        emit(args, text, {"source": source, "hosts": hosts})
        return EXIT_OK

    return _with_snapshot(args, body)


def _show(args: argparse.Namespace) -> int:
    def body(snap: Snapshot, source: str) -> int:
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
    from g5k.api import refresh

    with conn:
        result = performed(refresh(conn, cache, force=args.force))
    if isinstance(result, Failure):
        return fail(args, result.failure())
    loaded: Loaded = result.unwrap()
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
