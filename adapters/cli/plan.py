"""`g5k plan`: find where and when a request fits, and print the oarsub commands that would reserve it.

With no arguments it runs offline on the embedded synthetic full-grid planning (reference time 2026-03-24 10:00
Paris) for 40 nodes on grid5000 including 10 on nova, 2 hours; it prints the slot table around the answer, the
chosen slot, the per-site distribution and the exact oarsub argv per site (nothing is submitted), and writes
gantt.png and slots.png to --out (default ``out/``).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from g5k.api import APIConnection
from g5k.cli.main import EXIT_OK, EXIT_USAGE, emit, fail
from g5k.cli.options import add_walltime, walltime_of
from g5k.config import runtime
from g5k.db import DbSettings, target_of
from g5k.oar import oarsub_plans
from g5k.planning import (
    FOUR_WEEKS,
    SOURCES,
    Source,
    api_plans,
    embedded_summary,
    get_planning,
    oarapi_plans,
    oardb_plans,
    save_figure,
)
from g5k.reference_data import load_embedded_snapshot
from g5k.results import performed
from returns.io import IOFailure
from returns.result import Failure, Result, Success

from g5kpure.charter import charter_periods
from g5kpure.config import FrontendAccess
from g5kpure.errors import G5kError, InvalidInput
from g5kpure.oar import format_walltime, oar_date_to_unixts, oarsub_argv, validate_submission
from g5kpure.planning import (
    JobSpec,
    Planning,
    Slot,
    Slots,
    clip_planning,
    compute_slots,
    distribute_hosts,
    find_free_slot,
    get_jobs_specs,
    paris_time,
    sites_of_elements,
    window_slots,
    with_host_fqdns,
)

DEFAULT_WANT = ("grid5000:40", "nova:10")
DEFAULT_WALLTIME = "2:00"
SLOTS_AROUND = 4
PLOT_DAYS = 4


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `plan` subcommand."""
    p = sub.add_parser(
        "plan", parents=[common], help="find a slot for a request and print the oarsub commands (offline by default)",
        description="Find the first slot where the wanted hosts are free and print the per-site oarsub commands. "
        "Counts are inclusive: grid5000:40 with nova:10 means 40 hosts in total, 10 of them on nova.",
    )
    add_walltime(p, default=DEFAULT_WALLTIME)
    p.add_argument("--want", action="append", metavar="ELEMENT:N",
                   help="grid5000, a site, a cluster, kavlan or kavlan-global with a count (0 = all); repeatable; "
                   f"default {' '.join(DEFAULT_WANT)}")
    p.add_argument("--exclude", action="append", default=[], metavar="ELEMENT",
                   help="site, cluster or host to avoid (a host in any form: nova-1, nova-1.lyon, its FQDN...)")
    p.add_argument("--at", help="earliest start, 'YYYY-MM-DD HH:MM[:SS]' Paris time (default: the data's time)")
    p.add_argument("--queues", default="default",
                   help="comma list of OAR queues whose clusters are planned, or 'all' (default %(default)s, as execo)")
    p.add_argument("--source", choices=SOURCES, default=None, help="where to read the planning (default embedded)")
    p.add_argument("--live", action="store_true", help="read the Grid'5000 API (same as --source api)")
    p.add_argument("--site", action="append", default=[], help="site to read (repeatable; default: wanted sites)")
    p.add_argument("--api", default=None, help="Grid'5000 API base URI (default: configuration's api_uri)")
    p.add_argument("--api-user", default=None,
                   help="API user name (default: the configuration's; password from the keyring or asked)")
    p.add_argument("--oarapi", action="append", default=[], metavar="SITE=URL", help="OAR REST API root of a site")
    p.add_argument("--db-host", metavar="TEMPLATE", help="OAR database host; {site} is replaced")
    p.add_argument("--tunnel", choices=("auto", "always", "never"), default="auto",
                   help="reach the OAR database through the frontend: auto = only from outside Grid'5000")
    p.add_argument("--out-of-charter", action="store_true",
                   help="plan outside the usage charter only (nights, week-ends, holidays): charter periods are busy")
    p.add_argument("--name", default=None, help="job name given to oarsub")
    p.add_argument("--out", default="out", help="directory for gantt.png and slots.png (default %(default)s)")
    p.add_argument("--no-plots", action="store_true", help="do not write the figures")
    p.set_defaults(handler=run)


def _parse_want(items: list[str]) -> Result[dict[str, int], G5kError]:
    wanted: dict[str, int] = {}
    for item in items:
        element, sep, count = item.rpartition(":")
        if not sep or not element or not count.isdigit():
            return Failure(InvalidInput("--want", item, "ELEMENT:N, e.g. grid5000:40 or lyon:10"))
        wanted[element] = int(count)
    return Success(wanted)


def _pairs(items: list[str], what: str) -> Result[dict[str, str], G5kError]:
    out: dict[str, str] = {}
    for item in items:
        site, sep, value = item.partition("=")
        if not sep or not site or not value:
            return Failure(InvalidInput(what, item, "SITE=VALUE"))
        out[site] = value
    return Success(out)


def _table(slots: Slots, chosen: Slot, columns: list[str]) -> str:
    index = slots.slots.index(chosen)
    lo, hi = max(0, index - SLOTS_AROUND), min(len(slots.slots), index + SLOTS_AROUND + 1)
    width = max(9, *(len(c) + 1 for c in columns))
    lines = ["  start (Paris)        " + "".join(c.rjust(width) for c in columns)]
    for slot in slots.slots[lo:hi]:
        mark = ">" if slot is chosen else " "
        cells = "".join(str(slot.free(c)).rjust(width) for c in columns)
        lines.append(f"{mark} {paris_time(slot.start, seconds=True)}  {cells}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Plan a request and print the slot, the distribution and the oarsub argv per site."""
    wanted_r = _parse_want(args.want or list(DEFAULT_WANT))
    if isinstance(wanted_r, Failure):
        fail(args, wanted_r.failure())
        return EXIT_USAGE
    walltime_r = walltime_of(args)
    if isinstance(walltime_r, Failure):
        fail(args, walltime_r.failure())
        return EXIT_USAGE
    wanted, walltime = wanted_r.unwrap(), walltime_r.unwrap() or 0
    source: Source = "api" if args.live else (args.source or "embedded")
    start: int
    if args.at:
        at = oar_date_to_unixts(args.at if args.at.count(":") == 2 else args.at + ":00")
        if isinstance(at, Failure):
            fail(args, at.failure())
            return EXIT_USAGE
        start = int(at.unwrap())
    elif source == "embedded":
        summary = embedded_summary()
        if isinstance(summary, IOFailure):
            return fail(args, performed(summary).failure())
        start = int(performed(summary).unwrap()["T0"])
    else:
        start = int(time.time()) + 60
    roots = _pairs(args.oarapi, "--oarapi")
    if isinstance(roots, Failure):
        fail(args, roots.failure())
        return EXIT_USAGE
    loaded = runtime(dict(os.environ))
    if isinstance(loaded, IOFailure):
        return fail(args, performed(loaded).failure())
    context = performed(loaded).unwrap()
    conf = context.config
    snapshot_io = load_embedded_snapshot()
    if isinstance(snapshot_io, IOFailure):
        return fail(args, performed(snapshot_io).failure())
    snapshot = performed(snapshot_io).unwrap()
    queues = None if args.queues == "all" else tuple(q for q in args.queues.split(",") if q)
    clusters_r = snapshot.clusters(queues=queues)
    if isinstance(clusters_r, Failure):
        return fail(args, clusters_r.failure())
    clusters = clusters_r.unwrap()
    sites = args.site or list(sites_of_elements(snapshot, wanted, clusters))
    excluded = with_host_fqdns(args.exclude, snapshot)
    # the configuration's API access (no credentials inside Grid'5000, password asked before the first request);
    # built for the api source only (--api / --api-user win)
    api = (APIConnection.from_config(conf, context.location, interactive=True, uri=args.api, username=args.api_user)
           if source == "api" else None)
    oarapi = {site: APIConnection(url, use_keyring=False) for site, url in roots.unwrap().items()}
    overrides: dict[str, Any] = {"tunnel": {"auto": None, "always": True, "never": False}[args.tunnel]}
    if args.db_host:
        overrides["host_template"] = args.db_host
    settings = DbSettings.from_config(conf, **overrides)
    if args.dry_run and source != "embedded":
        plans: list[str] = []
        if api is not None:
            plans = [p.describe() for site in sites for p in api_plans(api, site)]
        elif source == "oarapi":
            plans = [p.describe() for site in sorted(oarapi) for p in oarapi_plans(oarapi[site])]
        else:
            for site in sites:
                target = target_of(site, settings)
                if isinstance(target, Failure):
                    return fail(args, target.failure())
                plans.append(f"-- site {site}: database {target.unwrap().label}, read-only transaction")
                plans += [p.describe() for p in oardb_plans()]
        emit(args, "\n".join(plans), {"requests": plans})
        return EXIT_OK
    periods = charter_periods(start, start + FOUR_WEEKS) if args.out_of_charter else ()
    planning_io = get_planning(
        ("grid5000",), source=source, starttime=start, vlan=any(w.startswith("kavlan") for w in wanted),
        sites=(sites or None) if source != "embedded" else None, api=api, oarapi=oarapi, db_settings=settings,
        out_of_chart=[(int(a), int(b)) for a, b in periods], queues=queues,
    )
    if isinstance(planning_io, IOFailure):
        return fail(args, performed(planning_io).failure())
    planning: Planning = performed(planning_io).unwrap()
    outcome = plan_request(planning, wanted, walltime, excluded, args.name)
    if isinstance(outcome, Failure):
        return fail(args, outcome.failure())
    slots, slot, distribution, specs = outcome.unwrap()
    for spec in specs:  # a bad --name (e.g. '-x') is refused as an error, never written into an argv
        valid = validate_submission(spec.submission())
        if isinstance(valid, Failure):
            return fail(args, valid.failure())
    commands = _commands(specs, context.access)
    human = _render(planning, source, wanted, slots, slot, distribution, specs, commands)
    files: list[str] = []
    if not args.no_plots:
        from g5kpure.plots import draw_gantt, draw_slots

        out = Path(args.out)
        until = max(slot.end, planning.start + PLOT_DAYS * 86400)
        shown = clip_planning(planning, planning.start, until).value_or(planning)
        for figure, name in ((draw_gantt(shown, highlight=(slot.start, slot.end)), "gantt.png"),
                             (draw_slots(window_slots(slots, until), elements=list(wanted), chosen=slot.start),
                              "slots.png")):
            saved = save_figure(figure, out / name)
            if isinstance(saved, IOFailure):
                return fail(args, performed(saved).failure())
            files.append(str(out / name))
        human += "\n\nWrote " + " and ".join(files)
    data = {
        "source": source, "start": planning.start, "end": planning.end, "walltime": walltime, "wanted": wanted,
        "slot": {"start": slot.start, "end": slot.end, "start_paris": paris_time(slot.start), "free": slot.as_dict()},
        "distribution": distribution,
        "jobs": [{"site": s.site, "resources": s.resources, "queue": s.queue, "argv": list(oarsub_argv(s.submission())),
                  "command": c}
                 for s, c in zip(specs, commands, strict=True)],
        "failed_sites": {site: {"error": error.kind, "message": error.message}
                         for site, error in planning.failed_sites},
        "files": files,
    }
    emit(args, human, data)
    return EXIT_OK


def plan_request(
    planning: Planning, wanted: dict[str, int], walltime: int, excluded: tuple[str, ...], name: str | None
) -> Result[tuple[Slots, Slot, dict[str, int], tuple[JobSpec, ...]], G5kError]:
    """Slots, the first fitting slot, its distribution and the per-site job specs of a request."""
    slots_r = compute_slots(planning, walltime, excluded)
    if isinstance(slots_r, Failure):
        return Failure(slots_r.failure())
    slots = slots_r.unwrap()
    slot_r = find_free_slot(slots, wanted)
    if isinstance(slot_r, Failure):
        return Failure(slot_r.failure())
    slot = slot_r.unwrap()
    dist_r = distribute_hosts(slot, slots, wanted)
    if isinstance(dist_r, Failure):
        return Failure(dist_r.failure())
    specs_r = get_jobs_specs(dist_r.unwrap(), slots, slot, excluded, name)
    if isinstance(specs_r, Failure):
        return Failure(specs_r.failure())
    return Success((slots, slot, dist_r.unwrap(), specs_r.unwrap()))


def _commands(specs: tuple[JobSpec, ...], access: FrontendAccess) -> list[str]:
    """How each site's oarsub would run (frontend, ssh target, quoted command line), as --dry-run shows it."""
    subs = [(spec.submission(), spec.site) for spec in specs]
    plans = oarsub_plans(subs, access)
    return [p.unwrap().describe() if isinstance(p, Success) else f"[{spec.site}] {p.failure().message}"
            for p, spec in zip(plans, specs, strict=True)]


def _render(planning: Planning, source: str, wanted: dict[str, int], slots: Slots, slot: Slot,
            distribution: dict[str, int], specs: tuple[JobSpec, ...], commands: list[str]) -> str:
    what = {"embedded": "embedded synthetic planning", "api": "Grid'5000 API", "oardb": "OAR database",
            "oarapi": "OAR REST API"}[source]
    duration = format_walltime(slots.walltime)
    lines = [
        f"Planning: {what}, {len(planning.sites)} sites, {len(planning.hosts)} usable hosts, "
        f"{paris_time(planning.start)} to {paris_time(planning.end)} (Paris time)",
        "Request: " + ", ".join(f"{e}:{n}" for e, n in wanted.items()) + f" for {duration}",
    ]
    if planning.failed_sites:
        lines.append("Sites not read: " + "; ".join(f"{s}: {e.message}" for s, e in planning.failed_sites))
    columns = list(dict.fromkeys(["grid5000", *wanted, *(s.site for s in specs)]))
    lines += ["", f"Free hosts for {duration} by start time ('>' = chosen):", _table(slots, slot, columns), ""]
    lines.append(f"Chosen slot: {paris_time(slot.start)} to {paris_time(slot.end)}")
    per_site: dict[str, int] = {}
    inner: dict[str, list[str]] = {}
    for element, n in distribution.items():
        site = slots.site_of(element)
        if site is not None:
            per_site[site] = per_site.get(site, 0) + n
            if site != element:
                inner.setdefault(site, []).append(f"{element} {n}")
    parts = [f"{s} {n}" + (f" ({', '.join(inner[s])})" if s in inner else "") for s, n in sorted(per_site.items())]
    vlans = [f"{k} {n}" for k, n in distribution.items() if slots.site_of(k) is None]
    lines.append("Distribution: " + ", ".join(parts + vlans) + f" (total {sum(per_site.values())} hosts)")
    lines += ["", "oarsub per site (dry run: nothing is submitted):"]
    lines += [f"  {command}" for command in commands]
    return "\n".join(lines)
