"""`g5k plan`: find where and when a request fits, and print the oarsub commands that would reserve it.

With no arguments it runs offline on the embedded synthetic full-grid planning (reference time 2026-03-24 10:00
Paris) for 40 nodes on grid5000 including 10 on nova, 2 hours; it prints the slot table around the answer, the
chosen slot, the per-site distribution and the exact oarsub argv per site (nothing is submitted), and writes
gantt.png and slots.png to --out (default out/; --format svg or png,svg for other formats). --dry-run prints the
same answer and writes nothing (with a live source: the requests it would send).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from g5k.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, emit, fail, to_jsonable
from g5k.cli.options import (
    RESERVATION,
    add_api_options,
    add_figure_format,
    add_reservation,
    add_walltime,
    failure_lines,
    formats_of,
    missing_ca_bundle,
    plural,
    reservation_of,
    walltime_of,
)
from g5k.planning import FOUR_WEEKS, SOURCES, Source, embedded_summary, get_planning
from g5k.results import performed
from returns.io import IOFailure
from returns.result import Failure, Result, Success

from g5kpure.charter import charter_periods
from g5kpure.config import Config, FrontendAccess, plan_command
from g5kpure.errors import G5kError, InvalidInput, Partial
from g5kpure.oar import OarSubmission, format_walltime, oarsub_argv, validate_submission
from g5kpure.planning import (
    JobSpec,
    Planning,
    Slot,
    Slots,
    compute_slots,
    distribute_hosts,
    find_free_slot,
    get_jobs_specs,
    paris_time,
    sites_of_elements,
    with_host_fqdns,
)

if TYPE_CHECKING:
    from g5k.api import APIConnection
    from g5k.db import DbSettings

DEFAULT_WANT = ("grid5000:40", "nova:10")
DEFAULT_WALLTIME = "2:00"
SLOTS_AROUND = 4
PLOT_DAYS = 4
FIGURES = ("gantt", "slots")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `plan` subcommand."""
    p = sub.add_parser(
        "plan", parents=[common], help="find a slot for a request and print the oarsub commands (offline by default)",
        description="Find the first slot where the wanted hosts are free and print the per-site oarsub commands. "
        "Counts are inclusive: grid5000:40 with nova:10 means 40 hosts in total, 10 of them on nova. Offline by "
        "default, on the embedded planning of 2026-03-24 10:00 (Paris time) and the four weeks after it.",
    )
    p.add_argument("--want", action="append", metavar="ELEMENT:N",
                   help="grid5000, a site, a cluster, kavlan or kavlan-global with a count (0 = all); repeatable; "
                   f"default {' '.join(DEFAULT_WANT)}")
    add_walltime(p, default=DEFAULT_WALLTIME)
    add_reservation(p, "the earliest start (default: the data's time, or now with a live source)",
                    aliases=("--at",))
    p.add_argument("--exclude", action="append", default=[], metavar="ELEMENT",
                   help="site, cluster or host to avoid (a host in any form: nova-1, nova-1.lyon, its FQDN...)")
    p.add_argument("--queues", default="default", metavar="QUEUES",
                   help="comma list of OAR queues whose clusters are planned, or all (default: default, as execo)")
    p.add_argument("--out-of-charter", action="store_true",
                   help="plan outside the usage charter only (nights, week-ends, holidays): charter periods are busy")
    p.add_argument("-t", "--type", dest="job_type", action="append", default=[], metavar="TYPE",
                   help="a job type of the printed oarsub commands (deploy, destructive...; repeatable)")
    p.add_argument("--project", metavar="PROJECT", help="the project of the printed oarsub commands")
    p.add_argument("-n", "--name", default=None, metavar="NAME", help="the job name of the printed oarsub commands")
    src = p.add_argument_group("where the planning is read")
    src.add_argument("--source", choices=SOURCES, default=None,
                     help="embedded (default), api (the Grid'5000 API), oardb (OAR databases), oarapi (OAR REST APIs)")
    src.add_argument("--live", action="store_true", help="the Grid'5000 API (same as --source api)")
    src.add_argument("--site", action="append", default=[], metavar="SITE",
                     help="a site to read (repeatable; default: the sites of the wanted elements)")
    add_api_options(src)
    src.add_argument("--oarapi", action="append", default=[], metavar="SITE=URL", help="OAR REST API root of a site")
    src.add_argument("--db-host", metavar="TEMPLATE", help="OAR database host, {site} replaced by the site")
    src.add_argument("--tunnel", choices=("auto", "always", "never"), default="auto",
                     help="reach the OAR database through the frontend: auto = only from outside Grid'5000")
    out = p.add_argument_group("figures")
    out.add_argument("--out", default="out", metavar="DIR",
                     help="directory of the figures gantt.png and slots.png (default out)")
    add_figure_format(out)
    out.add_argument("--no-plots", action="store_true", help="draw no figure")
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


def _usage(args: argparse.Namespace, error: G5kError) -> int:
    fail(args, error)
    return EXIT_USAGE


def _start(args: argparse.Namespace, source: Source, walltime: int) -> Result[int, G5kError]:
    """The earliest start: -r, else the embedded data's time, else now; a date the data cannot answer for is
    refused (before the embedded data's time or too late for its four weeks, or in the past for a live source)."""
    asked = reservation_of(args)
    if isinstance(asked, Failure):
        return Failure(asked.failure())
    typed = args.reservation_date
    now = int(time.time())
    if source != "embedded":
        at = asked.unwrap()
        if at is not None and at < now - 60:
            return Failure(InvalidInput(RESERVATION, typed, f"a date from now on ({paris_time(now)} Paris time): "
                                        "OAR plans the future only"))
        return Success(now + 60 if at is None else at)
    summary = embedded_summary()
    if isinstance(summary, IOFailure):
        return Failure(performed(summary).failure())
    t0 = int(performed(summary).unwrap()["T0"])
    at = asked.unwrap()
    if at is None:
        return Success(t0)
    last = t0 + FOUR_WEEKS - walltime
    if not t0 <= at <= last:
        return Failure(InvalidInput(RESERVATION, typed, f"a date the embedded planning covers, from {paris_time(t0)} "
                                    f"to {paris_time(last)} (Paris time) for this walltime; --live plans from now"))
    return Success(at)


def _read_failure(args: argparse.Namespace, error: G5kError) -> int:
    """Report a planning that could not be read: one line per endpoint and cause when every site failed."""
    if not isinstance(error, Partial) or error.succeeded or not error.failed:
        return fail(args, error)
    lines = failure_lines(error.failed)
    head = f"could not read the planning of any site ({plural(len(error.failed), 'site')} tried, every one failed)"
    if getattr(args, "json", False):
        emit(args, "", {"error": "Partial", "total": True, "message": head, "endpoints": lines,
                        "failed": {site: to_jsonable(e) for site, e in error.failed}})
    print(f"g5k: error: {head}:", file=sys.stderr)
    for line in lines:
        print(f"  {line}", file=sys.stderr)
    return EXIT_FAILURE


def run(args: argparse.Namespace) -> int:
    """Plan a request and print the slot, the distribution and the oarsub argv per site."""
    gc.freeze()  # the modules' objects live as long as the command: no collection needs to walk them again
    wanted_r = _parse_want(args.want or list(DEFAULT_WANT))
    if isinstance(wanted_r, Failure):
        return _usage(args, wanted_r.failure())
    walltime_r = walltime_of(args)
    if isinstance(walltime_r, Failure):
        return _usage(args, walltime_r.failure())
    formats = formats_of(args)
    if isinstance(formats, Failure):
        return _usage(args, formats.failure())
    roots = _pairs(args.oarapi, "--oarapi")
    if isinstance(roots, Failure):
        return _usage(args, roots.failure())
    wanted, walltime = wanted_r.unwrap(), walltime_r.unwrap() or 0
    source: Source = "api" if args.live else (args.source or "embedded")
    start_r = _start(args, source, walltime)
    if isinstance(start_r, Failure):
        return _usage(args, start_r.failure()) if isinstance(start_r.failure(), InvalidInput) else \
            fail(args, start_r.failure())
    start = start_r.unwrap()
    from g5k.config import runtime
    from g5k.reference_data import load_embedded_snapshot

    loaded = runtime(path=args.config)
    if isinstance(loaded, IOFailure):
        return fail(args, performed(loaded).failure())
    context = performed(loaded).unwrap()
    snapshot_io = load_embedded_snapshot()
    if isinstance(snapshot_io, IOFailure):
        return fail(args, performed(snapshot_io).failure())
    snapshot = performed(snapshot_io).unwrap()
    queues = None if args.queues == "all" else tuple(q for q in args.queues.split(",") if q)
    clusters_r = snapshot.clusters(queues=queues)
    if isinstance(clusters_r, Failure):
        return fail(args, clusters_r.failure())
    sites = args.site or list(sites_of_elements(snapshot, wanted, clusters_r.unwrap()))
    excluded = with_host_fqdns(args.exclude, snapshot)
    missing = missing_ca_bundle(args)
    if missing is not None:
        return _usage(args, missing)
    api, oarapi, settings = _connections(args, source, context.config, context.location, roots.unwrap())
    if args.dry_run and source != "embedded":
        return _dry_run(args, source, sites, api, oarapi, settings)
    periods = charter_periods(start, start + FOUR_WEEKS) if args.out_of_charter else ()
    planning_io = get_planning(
        ("grid5000",), source=source, starttime=start, vlan=any(w.startswith("kavlan") for w in wanted),
        sites=(sites or None) if source != "embedded" else None, api=api, oarapi=oarapi, db_settings=settings,
        out_of_chart=[(int(a), int(b)) for a, b in periods], queues=queues,
    )
    if isinstance(planning_io, IOFailure):
        return _read_failure(args, performed(planning_io).failure())
    planning: Planning = performed(planning_io).unwrap()
    outcome = plan_request(planning, wanted, walltime, excluded, args.name)
    if isinstance(outcome, Failure):
        return fail(args, outcome.failure())
    slots, slot, distribution, specs = outcome.unwrap()
    extra = {"job_type": tuple(args.job_type), "project": args.project}
    subs = [attrs.evolve(spec.submission(), **extra) for spec in specs]
    for sub in subs:  # a bad --name (e.g. '-x') is refused as an error, never written into an argv
        valid = validate_submission(sub)
        if isinstance(valid, Failure):
            return fail(args, valid.failure())
    commands = _commands(subs, specs, context.access, context.config)
    human = _render(planning, source, wanted, slots, slot, distribution, specs, commands)
    files: list[str] = []
    if not args.no_plots:
        paths = [Path(args.out) / f"{name}.{fmt}" for fmt in formats.unwrap() for name in FIGURES]
        if args.dry_run:
            human += "\n\nDry run: would write " + " and ".join(str(p) for p in paths)
        else:
            drawn = _figures(planning, slots, slot, wanted, paths, start)
            if isinstance(drawn, Failure):
                return fail(args, drawn.failure())
            files = drawn.unwrap()
            human += "\n\nWrote " + " and ".join(files)
    data = {
        "source": source, "start": planning.start, "end": planning.end, "walltime": walltime, "wanted": wanted,
        "slot": {"start": slot.start, "end": slot.end, "start_paris": paris_time(slot.start), "free": slot.as_dict()},
        "distribution": distribution,
        "jobs": [{"site": s.site, "resources": s.resources, "queue": s.queue, "argv": list(oarsub_argv(sub)),
                  "command": c}
                 for s, sub, c in zip(specs, subs, commands, strict=True)],
        "failed_sites": {site: {"error": error.kind, "message": error.message}
                         for site, error in planning.failed_sites},
        "files": files,
    }
    emit(args, human, data)
    return EXIT_OK


def _connections(args: argparse.Namespace, source: Source, conf: Config, location: Any,
                 roots: dict[str, str]) -> tuple[APIConnection | None, dict[str, APIConnection], DbSettings | None]:
    """The connections a source reads through (its libraries are imported only for that source): the Grid'5000
    API from the configuration (the API options over it; the password is asked before the first request), the
    OAR REST APIs of --oarapi (with the same --timeout), the OAR databases' settings."""
    api = None
    oarapi: dict[str, APIConnection] = {}
    settings = None
    if source in ("api", "oarapi"):
        from g5k.api import APIConnection

        if source == "api":
            api = APIConnection.from_config(conf, location, interactive=True, uri=args.api, username=args.api_user,
                                            timeout=args.timeout, verify=args.ca_bundle,
                                            allow_http_password=args.allow_http_password)
        oarapi = {site: APIConnection(url, use_keyring=False, timeout=args.timeout or conf.api_timeout)
                  for site, url in roots.items()}
    if source == "oardb":
        from g5k.db import DbSettings

        overrides: dict[str, Any] = {"tunnel": {"auto": None, "always": True, "never": False}[args.tunnel]}
        if args.db_host:
            overrides["host_template"] = args.db_host
        settings = DbSettings.from_config(conf, **overrides)
    return api, oarapi, settings


def _dry_run(args: argparse.Namespace, source: Source, sites: list[str], api: APIConnection | None,
             oarapi: dict[str, APIConnection], settings: DbSettings | None) -> int:
    """Print the requests (HTTP, SQL) a live source would send, and send nothing."""
    from g5k.planning import api_plans, oarapi_plans, oardb_plans

    plans: list[str] = []
    if api is not None:
        plans = [p.describe() for site in sites for p in api_plans(api, site)]
    elif source == "oarapi":
        plans = [p.describe() for site in sorted(oarapi) for p in oarapi_plans(oarapi[site])]
    elif settings is not None:
        from g5k.db import target_of

        for site in sites:
            target = target_of(site, settings)
            if isinstance(target, Failure):
                return fail(args, target.failure())
            plans.append(f"-- site {site}: database {target.unwrap().label}, read-only transaction")
            plans += [p.describe() for p in oardb_plans()]
    emit(args, "\n".join(plans), {"requests": plans})
    return EXIT_OK


def _figures(planning: Planning, slots: Slots, slot: Slot, wanted: dict[str, int], paths: list[Path],
             start: int) -> Result[list[str], G5kError]:
    """Draw the gantt (of the sites asked for) and slots figures of the first days and of the chosen slot, and
    write them to ``paths``."""
    from g5k.raster import save_scene

    from g5kpure.planning import clip_planning, restrict_planning, window_slots
    from g5kpure.plots import draw_gantt, draw_slots
    until = max(slot.end, planning.start + PLOT_DAYS * 86400)
    sites = {slots.site_of(e) for e in wanted}  # the sites asked for (every one for grid5000 or a vlan kind)
    kept = planning if "grid5000" in wanted or None in sites else restrict_planning(
        planning, [s for s in sites if s is not None])
    shown = clip_planning(kept, planning.start, until).value_or(kept)
    figures = {
        "gantt": draw_gantt(shown, highlight=(slot.start, slot.end), charter=charter_periods(start, until)),
        "slots": draw_slots(window_slots(slots, until), wanted=wanted, chosen=slot.start),
    }
    files: list[str] = []
    for path in paths:
        saved = save_scene(figures[path.stem], path)
        if isinstance(saved, IOFailure):
            return Failure(performed(saved).failure())
        files.append(str(path))
    return Success(files)


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


def _commands(subs: list[OarSubmission], specs: tuple[JobSpec, ...], access: FrontendAccess,
              conf: Config) -> list[str]:
    """How each site's oarsub would run (frontend, ssh target, quoted command line), as ``g5k sub --dry-run``
    shows it: the configured job key, the origin tag, the site's frontend."""
    lines = []
    for sub, spec in zip(subs, specs, strict=True):
        planned = plan_command(oarsub_argv(sub, job_key_file=conf.oar_job_key_file), spec.site, access)
        lines.append(planned.unwrap().describe() if isinstance(planned, Success)
                     else f"[{spec.site}] {planned.failure().message}")
    return lines


def _render(planning: Planning, source: str, wanted: dict[str, int], slots: Slots, slot: Slot,
            distribution: dict[str, int], specs: tuple[JobSpec, ...], commands: list[str]) -> str:
    what = {"embedded": "embedded synthetic planning", "api": "Grid'5000 API", "oardb": "OAR database",
            "oarapi": "OAR REST API"}[source]
    duration = format_walltime(slots.walltime)
    lines = [
        f"Planning: {what}, {plural(len(planning.sites), 'site')}, {plural(len(planning.hosts), 'usable host')}, "
        f"{paris_time(planning.start)} to {paris_time(planning.end)} (Paris time)",
        "Request: " + ", ".join(f"{e}:{n}" for e, n in wanted.items()) + f" for {duration}",
    ]
    if planning.failed_sites:
        lines.append("Sites not read: " + "; ".join(failure_lines(planning.failed_sites)))
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
    lines.append("Distribution: " + ", ".join(parts + vlans) + f" (total {plural(sum(per_site.values()), 'host')})")
    lines += ["", "oarsub per site (dry run: nothing is submitted):"]
    lines += [f"  {command}" for command in commands]
    return "\n".join(lines)
