"""`g5k reserve`: one job per site, reattached by name on a rerun, optionally at a common advance date.

    g5k reserve -n exp1 -l nodes=2 -w 2:00:00 --frontend rennes --frontend lyon
        # first run: submits on both sites (all or nothing); later runs: the same jobs, nothing submitted
    g5k reserve -n exp1 -l nodes=2 -w 1:00:00 --frontend rennes --frontend lyon \\
        -r "2026-12-01 19:00" --not-after "2026-12-02 08:00" --tries 5
        # the same start on both sites: OAR's "could run at" hint moves the common date forward
    g5k reserve -n exp2 -l nodes=4 -w 2 -t deploy -p "cluster='paravance'" --frontend rennes

The job options are oarsub's (-l, -w, -t, -p, -q, --project, -n); -r is the common start (--at is its old
spelling). Without --name nothing is looked up (a plain submission, or the common-date reservation). With --json the
result (jobs, whether they were reattached, the start and each try) is printed as JSON; --dry-run prints the
oarstat and oarsub commands and does nothing. Two runs with the same --name on one machine take turns (the second
reattaches to the first one's jobs). Ctrl-C or SIGTERM deletes what this run submitted (never reattached jobs),
then exits 130 / 143 with one line naming the jobs deleted.
"""

from __future__ import annotations

import argparse
import contextlib
from datetime import tzinfo
from typing import Any

from attrs import evolve
from g5k.cli.jobs import _context
from g5k.cli.main import EXIT_OK, emit, fail, to_jsonable
from g5k.cli.oarsub_options import submission_of
from g5k.cli.options import (
    DATE_FORMS,
    RESERVATION,
    add_config,
    add_frontend,
    add_job_options,
    add_reservation,
    add_resources,
    add_tz,
    add_walltime,
    read_date,
)
from g5k.interrupt import say
from g5k.journal import name_lock
from g5k.oar import Submissions, oarsub_plans, oarsubgrid
from g5k.reserve import Reserved, reserve_at_first_common_date, reserve_or_reattach
from g5k.results import performed
from returns.result import Failure, Result, Success

from g5kpure.config import plan_command
from g5kpure.errors import G5kError, InvalidInput
from g5kpure.oar import DEFAULT_MAX_TRIES, check_job_name, format_unixts, oarstat_mine_full_argv


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register `g5k reserve`."""
    p = sub.add_parser(
        "reserve", parents=[common], help="one job per site: reattach by --name, or submit (optionally at -r DATE)"
    )
    add_frontend(p, "the frontend (site) to reserve on; one job per --frontend", repeat=True)
    add_resources(p)
    add_walltime(p)
    add_job_options(p)
    add_reservation(p, "the common date every job starts at (an advance reservation, moved forward when a site "
                    "cannot start then)", aliases=("--at",))
    p.add_argument("--not-after", metavar="DATE", help=f"latest acceptable common date (with -r): {DATE_FORMS}")
    p.add_argument("--tries", type=int, default=DEFAULT_MAX_TRIES,
                   help=f"how many common dates to try (with -r; default {DEFAULT_MAX_TRIES})")
    add_config(p)
    add_tz(p)
    p.add_argument("command", nargs="?", help="the job's command (default: sleep until the walltime ends)")
    p.set_defaults(handler=run_reserve)


def _human(r: Reserved, tz: tzinfo) -> str:
    how = "reattached to" if r.reattached else "submitted"
    lines = [f"{how} OAR job {j.job_id} on {j.frontend or 'the default frontend'}" for j in r.jobs]
    if r.start is not None:
        tries = f"{len(r.tries)} tr{'y' if len(r.tries) == 1 else 'ies'}"
        lines.append(f"common start {format_unixts(r.start, tz)} (after {tries})")
    return "\n".join(lines)


def run_reserve(args: argparse.Namespace) -> int:
    """`g5k reserve`: reattach by name, or submit one job per site (at a common date with -r)."""
    ctx = _context(args)
    if not isinstance(ctx, Success):
        return fail(args, ctx.failure())
    c = ctx.unwrap()
    if args.name is not None and isinstance(named := check_job_name(args.name), Failure):
        return fail(args, named.failure())
    made = submission_of(args, c.tz)
    if not isinstance(made, Success):
        return fail(args, made.failure())
    not_after = Success(None) if args.not_after is None else read_date(args.not_after, "--not-after", c.tz)
    if not isinstance(not_after, Success):
        return fail(args, not_after.failure())
    # the -r date is the common start the reservation functions move forward, not one job's date
    start, last = made.unwrap().reservation_date, not_after.unwrap()
    spec = evolve(made.unwrap(), reservation_date=None)
    if start is None and (last is not None or args.tries != DEFAULT_MAX_TRIES):
        given = args.not_after if last is not None else str(args.tries)
        option = "--not-after" if last is not None else "--tries"
        return fail(args, InvalidInput(option, given, f"to be used with {RESERVATION}"))
    frontends: list[str | None] = list(args.frontend) or [None]
    specs = [(spec, f) for f in frontends]
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
