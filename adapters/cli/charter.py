"""`g5k charter`: is it charter time, when is the next period; `g5k charter remaining`: allowance left per cluster."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from g5k.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, emit, fail
from g5k.cli.options import DATE_FORMS, add_config, read_date
from g5k.config import load_config
from g5k.db import DbSettings, charter_plans, default_user, g5k_charter_remaining, target_of
from g5k.results import performed
from returns.io import IOFailure
from returns.result import Failure, Result, Success

from g5kpure.charter import DEFAULT_RULES, g5k_charter_time, get_next_charter_period
from g5kpure.config import Config
from g5kpure.errors import G5kError, InvalidInput
from g5kpure.oar import format_unixts, zone_named

SEARCH_DAYS = 31
"""How far ahead `g5k charter` looks for the next charter period."""

_ZONE = zone_named(DEFAULT_RULES.timezone).unwrap()  # CharterRules refuses an unknown zone
T = TypeVar("T")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `charter` command group."""
    p = sub.add_parser(
        "charter", parents=[common], help="usage charter: charter time now or at --at, remaining allowance"
    )
    p.add_argument("--at", metavar="DATE", help=f"the instant to check (default: now): {DATE_FORMS}, Paris time")
    p.set_defaults(handler=run_time)
    csub = p.add_subparsers(dest="charter_command", metavar="SUBCOMMAND")
    r = csub.add_parser("remaining", parents=[common], help="charter allowance left per cluster (OAR database)")
    r.add_argument("--site", action="append", required=True, metavar="S", help="site to read (repeatable)")
    r.add_argument("--day", metavar="YYYY-MM-DD", help="the day (default: today, Paris time)")
    r.add_argument("--user", metavar="LOGIN", help="the Grid'5000 user whose allowance is read (default: "
                   "g5k.api_username, else the login name)")
    r.add_argument(
        "--db-host",
        action="append",
        default=[],
        metavar="HOST",
        help="database host: a template where {site} is replaced (default: the oar_pgsql_ro_host setting,"
        " oardb.{site}.grid5000.fr unless configured), or SITE=HOST for one site (repeatable)",
    )
    r.add_argument(
        "--tunnel",
        choices=("auto", "always", "never"),
        default="auto",
        help="reach the database through the frontend: auto = only from outside Grid'5000",
    )
    add_config(r)
    r.set_defaults(handler=run_remaining)


def _paris(ts: float) -> str:
    return format_unixts(math.floor(ts), _ZONE)


def _option(text: str | None, parse: Callable[[str], Result[T, G5kError]], default: Callable[[], T]) -> Result[
    T, G5kError
]:
    """An option's value read with ``parse``, or ``default()`` when it is not given."""
    return Success(default()) if text is None else parse(text)


def _usage(args: argparse.Namespace, error: G5kError) -> int:
    """Report an option that cannot be read; the usage exit code."""
    fail(args, error)
    return EXIT_USAGE


def _today() -> date:
    return datetime.fromtimestamp(time.time(), _ZONE).date()


def parse_instant(text: str) -> Result[float, G5kError]:
    """An instant from the command line: a date ``YYYY-MM-DD HH:MM[:SS]`` in Paris time, or a unix timestamp."""
    return read_date(text, "--at", _ZONE).map(float)


def parse_day(text: str) -> Result[date, G5kError]:
    """A day from the command line (YYYY-MM-DD)."""
    try:
        return Success(date.fromisoformat(text.strip()))
    except ValueError:
        return Failure(InvalidInput("--day", text, "a day YYYY-MM-DD"))


def run_time(args: argparse.Namespace) -> int:
    """Say whether --at (default now) is charter time and when the next charter period starts and ends."""
    read_at = _option(args.at, parse_instant, time.time)
    if isinstance(read_at, Failure):
        return _usage(args, read_at.failure())
    at = read_at.unwrap()
    inside = g5k_charter_time(at)
    period = get_next_charter_period(at, at + SEARCH_DAYS * 86400)
    data: dict[str, Any] = {"at": at, "at_paris": _paris(at), "charter_time": inside, "next_period": None}
    lines = [f"{_paris(at)} (Europe/Paris): {'charter time' if inside else 'outside charter time'}"]
    if period is not None:
        start, end = period
        data["next_period"] = {"start": start, "end": end, "start_paris": _paris(start), "end_paris": _paris(end)}
        label = "current period" if inside else "next period"
        lines.append(f"{label}: {_paris(start)} -> {_paris(end)}")
    else:
        lines.append(f"no charter period in the next {SEARCH_DAYS} days")
    emit(args, "\n".join(lines), data)
    return EXIT_OK


def _config(path: Path | None) -> Result[Config, G5kError]:
    return performed(load_config(path=path)).map(lambda loaded: loaded.config)


def run_remaining(args: argparse.Namespace) -> int:
    """Print the remaining charter allowance per cluster of the sites (or the plan under --dry-run)."""
    config = _config(args.config)
    if isinstance(config, Failure):
        return fail(args, config.failure())
    conf = config.unwrap()
    overrides: dict[str, Any] = {"tunnel": {"auto": None, "always": True, "never": False}[args.tunnel]}
    for entry in args.db_host:
        site, sep, host = entry.partition("=")
        if sep:
            overrides["site_hosts"] = (*overrides.get("site_hosts", ()), (site, host))
        else:
            overrides["host_template"] = entry
    settings = DbSettings.from_config(conf, **overrides)
    read_day = _option(args.day, parse_day, _today)
    if isinstance(read_day, Failure):
        return _usage(args, read_day.failure())
    day = read_day.unwrap()
    user = args.user if args.user is not None else default_user(conf)
    if args.dry_run:
        return _dry_run(args, settings, day, user)
    got = g5k_charter_remaining(args.site, day, user, settings=settings)
    if isinstance(got, IOFailure):
        return fail(args, performed(got).failure())
    report = performed(got).unwrap()
    lines = [f"charter allowance left to {report.user} on {report.day.isoformat()} (core-hours):"]
    for site in report.sites:
        if site.error is not None:
            lines.append(f"  {site.site}: FAILED: {site.error.message}")
            continue
        for c in site.clusters:
            lines.append(
                f"  {site.site}/{c.cluster}: {c.remaining / 3600:.2f} left of {c.quota / 3600:.2f}"
                f" ({c.cores} cores, used {c.used / 3600:.2f}, jobs {list(c.job_ids) or '-'})"
            )
    emit(args, "\n".join(lines), report)
    partial = report.to_result()
    if isinstance(partial, Failure):
        print(f"g5k: error: {partial.failure().message}", file=sys.stderr)  # the report is on stdout already
        return EXIT_FAILURE
    return EXIT_OK


def _dry_run(args: argparse.Namespace, settings: DbSettings, day: date, user: str) -> int:
    plans = charter_plans(user, day)
    out: list[dict[str, Any]] = []
    lines: list[str] = []
    for site in dict.fromkeys(args.site):
        target = target_of(site, settings)
        if isinstance(target, Failure):
            return fail(args, target.failure())
        t = target.unwrap()
        how = {None: "direct inside Grid'5000, else through the frontend", True: "through the frontend",
               False: "direct"}[settings.tunnel]
        lines.append(f"-- site {site}: database {t.label}, {how}; read-only transaction")
        lines.extend(p.describe() for p in plans)
        out.append({"site": site, "target": t, "tunnel": settings.tunnel,
                    "plans": [{"purpose": p.purpose, "statement": p.statement.strip(), "params": dict(p.params)}
                              for p in plans]})
    emit(args, "\n".join(lines), out)
    return EXIT_OK
