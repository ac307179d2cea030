"""`g5k reserve`: one job per site, reattached by name on a rerun, optionally at a common advance date.

    g5k reserve --name exp1 -l nodes=2 -w 2:00:00 --frontend rennes --frontend lyon
        # first run: submits on both sites (all or nothing); later runs: the same jobs, nothing submitted
    g5k reserve --name exp1 -l nodes=2 -w 1:00:00 --frontend rennes --frontend lyon \\
        --at "2026-12-01 19:00:00" --not-after "2026-12-02 08:00:00" --tries 5
        # the same start on both sites: OAR's "could run at" hint moves the common date forward

Without --name nothing is looked up (a plain submission, or the common-date reservation). With --json the
result (jobs, whether they were reattached, the start and each try) is printed as JSON; --dry-run prints the
oarstat and oarsub commands and does nothing. Two runs with the same --name on one machine take turns (the second
reattaches to the first one's jobs). Ctrl-C or SIGTERM deletes what this run submitted (never reattached jobs),
then exits 130 / 143 with one line naming the jobs deleted.
"""

from __future__ import annotations

import argparse
import contextlib
import re
from datetime import tzinfo
from pathlib import Path
from typing import Any

from attrs import evolve
from g5k.cli.jobs import _context
from g5k.cli.main import EXIT_OK, emit, fail, to_jsonable
from g5k.cli.options import add_walltime, walltime_of
from g5k.interrupt import say
from g5k.journal import name_lock
from g5k.oar import Submissions, oarsub_plans, oarsubgrid
from g5k.reserve import Reserved, reserve_at_first_common_date, reserve_or_reattach
from g5k.results import performed
from returns.result import Failure, Result, Success

from g5kpure.config import plan_command
from g5kpure.errors import G5kError, InvalidInput
from g5kpure.oar import (
    DEFAULT_MAX_TRIES,
    check_job_name,
    format_unixts,
    make_submission,
    oarstat_mine_full_argv,
    to_unixts,
)

_NUMBER = re.compile(r"\d+")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register `g5k reserve`."""
    p = sub.add_parser(
        "reserve", parents=[common], help="one job per site: reattach by --name, or submit (optionally at --at)"
    )
    p.add_argument("--name", help="job name: reattach to the jobs of this name when every site holds one")
    p.add_argument("--frontend", action="append", default=[], help="frontend (site); repeat for one job per site")
    p.add_argument("-l", "--resources", action="append", default=[], help="resource request (repeat to join with +)")
    add_walltime(p)
    p.add_argument("--at", help="advance reservation at this common date: unix ts or 'YYYY-MM-DD HH:MM:SS' (--tz)")
    p.add_argument("--not-after", help="latest acceptable common date (with --at)")
    p.add_argument("--tries", type=int, default=DEFAULT_MAX_TRIES, help="how many common dates to try (with --at)")
    p.add_argument("--config", type=Path, help="configuration file (default: $G5K_CONFIG or the user's)")
    p.add_argument("--tz", default="Europe/Paris", help="zone of the OAR server (default Europe/Paris)")
    p.add_argument("command", nargs="?", help="the job's command (default: sleep until the walltime ends)")
    p.set_defaults(handler=run_reserve)


def _date(label: str, text: str | None, tz: tzinfo) -> Result[int | None, G5kError]:
    if text is None:
        return Success(None)
    value: object = int(text) if _NUMBER.fullmatch(text.strip()) else text
    got = to_unixts(value, tz=tz)
    if not isinstance(got, Success):
        return Failure(InvalidInput(label, text, "a unix timestamp or 'YYYY-MM-DD HH:MM:SS'"))
    return Success(int(got.unwrap()))


def _human(r: Reserved, tz: tzinfo) -> str:
    how = "reattached to" if r.reattached else "submitted"
    lines = [f"{how} OAR job {j.job_id} on {j.frontend or 'the default frontend'}" for j in r.jobs]
    if r.start is not None:
        tries = f"{len(r.tries)} tr{'y' if len(r.tries) == 1 else 'ies'}"
        lines.append(f"common start {format_unixts(r.start, tz)} (after {tries})")
    return "\n".join(lines)


def run_reserve(args: argparse.Namespace) -> int:
    """`g5k reserve`: reattach by name, or submit one job per site (at a common date with --at)."""
    ctx = _context(args)
    if not isinstance(ctx, Success):
        return fail(args, ctx.failure())
    c = ctx.unwrap()
    if args.name is not None and isinstance(named := check_job_name(args.name), Failure):
        return fail(args, named.failure())
    wall = walltime_of(args)
    if isinstance(wall, Failure):
        return fail(args, wall.failure())
    made = make_submission(args.resources or None, wall.unwrap(), name=args.name, command=args.command, tz=c.tz)
    if not isinstance(made, Success):
        return fail(args, made.failure())
    at, not_after = _date("--at", args.at, c.tz), _date("--not-after", args.not_after, c.tz)
    for got in (at, not_after):
        if not isinstance(got, Success):
            return fail(args, got.failure())
    start, last = at.unwrap(), not_after.unwrap()
    if start is None and (last is not None or args.tries != DEFAULT_MAX_TRIES):
        return fail(args, InvalidInput("--not-after/--tries", str(last or args.tries), "to be used with --at"))
    frontends: list[str | None] = list(args.frontend) or [None]
    specs = [(made.unwrap(), f) for f in frontends]
    if args.dry_run:
        lookups = [plan_command(oarstat_mine_full_argv(), f, c.access) for f in frontends] if args.name else []
        shown = [(evolve(s, reservation_date=start), f) for s, f in specs] if start is not None else specs
        lines: list[str] = []
        for plan in [*lookups, *oarsub_plans(shown, c.access, tz=c.tz)]:
            if not isinstance(plan, Success):
                return fail(args, plan.failure())
            lines.append(plan.unwrap().describe())
        emit(args, "\n".join(lines), {"plan": lines})
        return EXIT_OK
    result: Result[Reserved, G5kError]
    # the name is held until the jobs are kept or deleted: a second run with that name then sees the outcome
    with contextlib.ExitStack() as stack:
        if args.name is not None:
            stack.enter_context(name_lock(args.name, say))
        subs = stack.enter_context(Submissions(c.access))  # interrupted before the ids are printed: undone
        if args.name is not None:
            result = performed(reserve_or_reattach(specs, args.name, c.access, start=start, not_after=last,
                                                   max_tries=args.tries, tz=c.tz, submissions=subs, on_wait=say))
        elif start is not None:
            result = performed(reserve_at_first_common_date(specs, start, last, args.tries, c.access, tz=c.tz,
                                                            submissions=subs)).map(
                lambda cr: Reserved(cr.jobs, False, start=cr.start, tries=cr.tries)
            )
        else:
            result = performed(oarsubgrid(specs, access=c.access, tz=c.tz, submissions=subs)).map(
                lambda jobs: Reserved(jobs, False))
        if not isinstance(result, Success):
            return fail(args, result.failure())
        _print(args, result.unwrap(), c.tz)
    return EXIT_OK


def _print(args: argparse.Namespace, r: Reserved, tz: tzinfo) -> None:
    data = {
        "reattached": r.reattached,
        "jobs": [{"job_id": j.job_id, "frontend": j.frontend} for j in r.jobs],
        "start": r.start,
        "tries": to_jsonable(r.tries),
    }
    emit(args, _human(r, tz), data)
