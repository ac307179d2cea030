"""`g5k sub | del | jobs | info | wait | nodes`: OAR jobs on the frontends of the configuration.

    g5k sub -l nodes=2 -w 1:00:00 -- "sleep 3600"           # on the default frontend
    g5k sub -l nodes=1 -w 2 --frontend rennes --frontend lyon  # one job per site, all or nothing
    g5k jobs --frontend rennes --frontend lyon
    g5k info 1234 --frontend rennes
    g5k wait 1234 --frontend rennes --timeout 600            # predicted start and a progress line
    g5k nodes 1234 --frontend rennes
    g5k del 1234 1235 --frontend rennes                        # per job: being killed, or finished

Every command takes --frontend, --json and --dry-run (print the ssh commands and do nothing); a missing job id
is read from $OAR_JOB_ID. The configuration (``g5k config show``) says how frontends are reached.

`g5k sub` is all or nothing, interruptions included: Ctrl-C or SIGTERM before it has printed the job ids
deletes what it submitted, then exits 130 / 143 with one line naming the jobs deleted (see ``g5k.oar.Submissions``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from attrs import frozen
from g5k import config as config_adapter
from g5k.cli.main import EXIT_FAILURE, EXIT_OK, emit, fail, to_jsonable
from g5k.cli.oarsub_options import add_submission_arguments, submission_of
from g5k.cli.options import add_config, add_frontend, add_tz, failure_lines, no_frontend, zone_of
from g5k.oar import (
    Submissions,
    get_current_oar_jobs,
    get_oar_job_info,
    get_oar_job_states,
    oardel,
    oarsub,
    oarsub_plans,
    oarsubgrid,
    wait_jobs_final,
    wait_jobs_start,
)
from g5k.results import performed
from returns.result import Failure, Result, Success

from g5kpure.config import FrontendAccess, plan_command
from g5kpure.errors import G5kError, InvalidInput, Partial
from g5kpure.oar import (
    DelOutcome,
    DelStatus,
    OarJob,
    OarJobInfo,
    OarState,
    PollPolicy,
    format_unixts,
    job_id_from_env,
    oardel_argv,
    oarstat_job_argv,
    oarstat_mine_full_argv,
    oarstat_states_argv,
)


@frozen
class Context:
    """What every job command needs: how to reach frontends, the polling policy and the OAR server's zone."""

    access: FrontendAccess
    policy: PollPolicy
    tz: tzinfo
    job_key_file: str | None = None


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the job commands: sub, del, jobs, info, wait, nodes."""
    shared = argparse.ArgumentParser(add_help=False)
    add_config(shared)
    add_tz(shared)

    p = sub.add_parser("sub", parents=[common, shared], help="submit a job (one per --frontend, all or nothing)")
    add_frontend(p, "the frontend (site) to submit on; one job per --frontend", repeat=True)
    add_submission_arguments(p)
    p.add_argument("command", nargs="?", help="the job's command (default: sleep until the walltime ends)")
    p.set_defaults(handler=run_sub)

    d = sub.add_parser("del", parents=[common, shared], help="delete jobs (per job: deleted, already finished...)")
    d.add_argument("job_ids", nargs="*", help="job ids (default: $OAR_JOB_ID)")
    add_frontend(d, "the frontend (site) of the jobs")
    d.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait up to SECONDS until OAR has finished killing the jobs (default: do not wait)")
    d.set_defaults(handler=run_del)

    j = sub.add_parser("jobs", parents=[common, shared], help="my current jobs (one oarstat per frontend)")
    add_frontend(j, "a frontend (site) to list the jobs of", repeat=True)
    j.set_defaults(handler=run_jobs)

    for name, handler, what in (
        ("info", run_info, "everything OAR says about a job"),
        ("wait", run_wait, "wait until a job runs, showing its predicted start"),
        ("nodes", run_nodes, "the hosts of a job (waits until it runs)"),
    ):
        c = sub.add_parser(name, parents=[common, shared], help=what)
        c.add_argument("job_id", nargs="?", help="job id (default: $OAR_JOB_ID)")
        add_frontend(c, "the frontend (site) of the job")
        if name != "info":
            c.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
        c.set_defaults(handler=handler)


# ------------------------------------------------------------------------------------------------ helpers


def _context(args: argparse.Namespace) -> Result[Context, G5kError]:
    zone = zone_of(args)
    if isinstance(zone, Failure):
        return Failure(zone.failure())
    tz = zone.unwrap()
    loaded = performed(config_adapter.runtime(path=args.config))
    if not isinstance(loaded, Success):
        return Failure(loaded.failure())
    rt = loaded.unwrap()
    config = rt.config
    near = min(config.tiny_polling_interval, config.polling_interval)
    policy = PollPolicy(config.polling_interval, near, max(300.0, config.polling_interval))
    if "frontend" in vars(args) and not args.dry_run and (missing := no_frontend(args.frontend, rt.access)):
        return Failure(missing)
    return Success(Context(rt.access, policy, tz, config.oar_job_key_file))


def _job_id(text: str | None) -> Result[int, G5kError]:
    if text is None:
        return job_id_from_env(os.environ.get("OAR_JOB_ID"))
    return job_id_from_env(text).alt(lambda _: InvalidInput("job id", text, "a positive integer"))


def _when(ts: int | None, tz: tzinfo) -> str:
    return "unknown" if ts is None else format_unixts(ts, tz)


def _dry(args: argparse.Namespace, plans: list[Result[Any, G5kError]]) -> int:
    lines: list[str] = []
    for plan in plans:
        if not isinstance(plan, Success):
            return fail(args, plan.failure())
        lines.append(plan.unwrap().describe())
    emit(args, "\n".join(lines), {"plan": [p.unwrap().describe() for p in plans]})
    return EXIT_OK


def _describe(info: OarJobInfo, tz: tzinfo) -> str:
    rows = [
        ("job", str(info.job_id)),
        ("state", info.state_text or info.state.value),
        ("owner", info.owner),
        ("name", info.name or ""),
        ("queue", info.queue),
        ("project", info.project),
        ("types", ", ".join(info.types)),
        ("walltime", str(info.walltime)),
        ("submitted", _when(info.submission_time, tz)),
        ("start", _when(info.predicted_start, tz) + ("" if info.start_time is not None else " (predicted)")),
        ("reservation", info.reservation),
        ("hosts", " ".join(info.assigned_hosts)),
        ("command", info.command),
        ("message", info.message),
    ]
    return "\n".join(f"{k:12} {v}" for k, v in rows)


# ----------------------------------------------------------------------------------------------- handlers


def run_sub(args: argparse.Namespace) -> int:
    """`g5k sub`: submit one job (or one per --frontend, all or nothing)."""
    ctx = _context(args)
    if not isinstance(ctx, Success):
        return fail(args, ctx.failure())
    c = ctx.unwrap()
    made = submission_of(args, c.tz)
    if not isinstance(made, Success):
        return fail(args, made.failure())
    frontends: list[str | None] = list(args.frontend) or [None]
    specs = [(made.unwrap(), f) for f in frontends]
    if args.dry_run:
        return _dry(args, list(oarsub_plans(specs, c.access, tz=c.tz, job_key_file=c.job_key_file)))
    got: Result[tuple[OarJob, ...], G5kError]
    with Submissions(c.access) as subs:  # interrupted before the ids are printed: the jobs are deleted
        if len(specs) == 1:
            submitted = oarsub(specs, c.access, tz=c.tz, job_key_file=c.job_key_file, submissions=subs)[0]
            got = performed(submitted).map(lambda job: tuple[OarJob, ...]((job,)))
        else:
            got = performed(oarsubgrid(specs, access=c.access, tz=c.tz, job_key_file=c.job_key_file,
                                       submissions=subs))
        if not isinstance(got, Success):
            return fail(args, got.failure())
        jobs = got.unwrap()
        human = "\n".join(f"OAR job {j.job_id} submitted on {j.frontend or 'the default frontend'}" for j in jobs)
        emit(args, human, [{"job_id": j.job_id, "frontend": j.frontend} for j in jobs])
    return EXIT_OK


def deletion_progress(outcome: DelOutcome, after: OarState | None) -> tuple[str, bool | None]:
    """How far the deletion of a job has gone, in words, and whether the job is finished (None: unknown).
    OAR registers a deletion at once, then takes a while to kill the job (it stays Running, then Finishing):
    such a job is "being killed", not yet "finished"."""
    before = outcome.state_before
    if outcome.status is DelStatus.DELETED:
        if after is None:
            return "deleted (deletion registered; state not read back)", None
        if after.is_final:
            return f"deleted (finished: {after.value})", True
        return f"deleted, being killed (OAR state {after.value})", False
    if outcome.status is DelStatus.ALREADY_FINISHED and before is not None and not before.is_final:
        now = after or before
        if now.is_final:
            return f"already being killed by an earlier deletion (finished: {now.value})", True
        return f"already being killed by an earlier deletion (OAR state {now.value})", False
    if outcome.status is DelStatus.ALREADY_FINISHED:
        return outcome.status.value + (f" ({before.value})" if before is not None else ""), True
    why = f" ({outcome.error.message})" if outcome.error is not None else ""
    return outcome.status.value + why, outcome.status is DelStatus.NOT_FOUND or None


def run_del(args: argparse.Namespace) -> int:
    """`g5k del`: delete jobs and report, per job, what happened."""
    ctx = _context(args)
    if not isinstance(ctx, Success):
        return fail(args, ctx.failure())
    c = ctx.unwrap()
    ids: list[int] = []
    for text in args.job_ids or [None]:
        jid = _job_id(text)
        if not isinstance(jid, Success):
            return fail(args, jid.failure())
        ids.append(jid.unwrap())
    if args.dry_run:
        return _dry(
            args,
            [
                plan_command(oarstat_states_argv(ids), args.frontend, c.access),
                plan_command(oardel_argv(*ids), args.frontend, c.access),
            ],
        )
    outcomes = performed(oardel([(j, args.frontend) for j in ids], c.access))
    killing = [o.job for o in outcomes if o.status in (DelStatus.DELETED, DelStatus.ALREADY_FINISHED)
               and o.state_before is not None and not o.state_before.is_final]
    after: dict[int, OarState] = {}
    if killing and args.wait > 0:
        after = {j.job_id: s for j, s in wait_jobs_final(killing, c.access, args.wait).items() if s is not None}
    elif killing:
        read = performed(get_oar_job_states([j.job_id for j in killing], args.frontend, c.access))
        after = dict(read.unwrap()) if isinstance(read, Success) else {}
    progress = [deletion_progress(o, after.get(o.job.job_id)) for o in outcomes]
    lines = [f"job {o.job.job_id}: {words}" for o, (words, _) in zip(outcomes, progress, strict=True)]
    data = [
        {
            "job_id": o.job.job_id,
            "frontend": o.job.frontend,
            "status": o.status.value,
            "state_before": o.state_before.value if o.state_before else None,
            "state_after": after[o.job.job_id].value if o.job.job_id in after else None,
            "finished": finished,
            "progress": words,
            "error": o.error.message if o.error is not None else None,
        }
        for o, (words, finished) in zip(outcomes, progress, strict=True)
    ]
    emit(args, "\n".join(lines), data)
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILURE


def run_jobs(args: argparse.Namespace) -> int:
    """`g5k jobs`: my current jobs on the given frontends."""
    ctx = _context(args)
    if not isinstance(ctx, Success):
        return fail(args, ctx.failure())
    c = ctx.unwrap()
    frontends: list[str | None] = list(args.frontend) or [None]
    if args.dry_run:
        return _dry(args, [plan_command(oarstat_mine_full_argv(), f, c.access) for f in frontends])
    got = performed(get_current_oar_jobs(frontends, access=c.access))
    if not isinstance(got, Success):
        return _fail_per_frontend(args, got.failure())
    current = got.unwrap()
    lines = [f"{'frontend':10} {'job':>8} {'state':10} {'start':19} {'walltime':>8} name"]
    for job, info in zip(current.jobs, current.infos, strict=True):
        lines.append(
            f"{job.frontend or '-':10} {job.job_id:>8} {info.state.value:10} {_when(info.predicted_start, c.tz):19} "
            f"{info.walltime if info.walltime is not None else '?':>8} {info.name or ''}"
        )
    for line in failure_lines(current.failed, "frontend"):
        print(f"g5k: warning: {line}", file=sys.stderr)
    data = {
        "jobs": [{"frontend": j.frontend, **_info_data(i)} for j, i in zip(current.jobs, current.infos, strict=True)],
        "failed": [{"frontend": f, "error": e.message} for f, e in current.failed],
    }
    emit(args, "\n".join(lines), data)
    return EXIT_FAILURE if current.failed else EXIT_OK


def _fail_per_frontend(args: argparse.Namespace, error: G5kError) -> int:
    """Report a failure; one that several frontends share is one line per endpoint and cause."""
    if not isinstance(error, Partial) or args.json:
        return fail(args, error)
    lines = failure_lines(error.failed, "frontend")
    done = f" (succeeded: {', '.join(error.succeeded)})" if error.succeeded else ""
    print(f"g5k: error: {error.what} failed{done}:" + "".join(f"\n  {line}" for line in lines), file=sys.stderr)
    return EXIT_FAILURE


def _info_data(info: OarJobInfo) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(info)
    return data


def run_info(args: argparse.Namespace) -> int:
    """`g5k info ID`: everything OAR says about a job."""

    def read(c: Context, job_id: int) -> Result[OarJobInfo, G5kError]:
        return performed(get_oar_job_info(job_id, args.frontend, c.access))

    def show(c: Context, info: OarJobInfo) -> int:
        emit(args, _describe(info, c.tz), _info_data(info))
        return EXIT_OK

    return _about_job(args, read, show)


def _wait(args: argparse.Namespace, c: Context, job_id: int) -> Result[OarJobInfo, G5kError]:
    """Wait for the job; on a terminal, a progress line (state, predicted start, time waited) ticks each second."""
    began = time.monotonic()
    show = sys.stderr.isatty() and not args.json
    job = OarJob(job_id, args.frontend)
    last: list[OarJobInfo] = []

    def line() -> None:
        if show and last:
            info = last[-1]
            text = f"job {job}: {info.state.value}, start {_when(info.predicted_start, c.tz)}"
            print(f"\r{text}, waited {time.monotonic() - began:.0f}s ", end="", file=sys.stderr, flush=True)

    def predicted(_job: OarJob, ts: int | None) -> None:
        print(("\n" if show and last else "") + f"job {job}: predicted start {_when(ts, c.tz)}", file=sys.stderr)

    def progress(infos: tuple[OarJobInfo | None, ...]) -> None:
        if infos[0] is not None:
            last.append(infos[0])
        line()

    def ticking_sleep(seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(1.0, left))
            line()

    (result,) = performed(
        wait_jobs_start(
            [job],
            c.access,
            args.timeout,
            policy=c.policy,
            sleep=ticking_sleep,
            on_prediction=predicted,
            on_progress=progress,
        )
    )
    if show:
        print(file=sys.stderr)
    return result


def _about_job(
    args: argparse.Namespace,
    read: Callable[[Context, int], Result[OarJobInfo, G5kError]],
    show: Callable[[Context, OarJobInfo], int],
) -> int:
    """Read the job of ``args`` with ``read`` (or plan its oarstat under --dry-run), then ``show`` it."""
    ctx = _context(args)
    if not isinstance(ctx, Success):
        return fail(args, ctx.failure())
    c = ctx.unwrap()
    jid = _job_id(args.job_id)
    if not isinstance(jid, Success):
        return fail(args, jid.failure())
    if args.dry_run:
        return _dry(args, [plan_command(oarstat_job_argv(jid.unwrap()), args.frontend, c.access)])
    got = read(c, jid.unwrap())
    if not isinstance(got, Success):
        return fail(args, got.failure())
    return show(c, got.unwrap())


def _when_running(args: argparse.Namespace, show: Callable[[Context, OarJobInfo], int]) -> int:
    """Wait until the job of ``args`` runs (or plan the oarstat under --dry-run), then ``show`` it."""
    return _about_job(args, lambda c, job_id: _wait(args, c, job_id), show)


def run_wait(args: argparse.Namespace) -> int:
    """`g5k wait ID`: wait until a job runs, printing its predicted start and a progress line."""

    def show(c: Context, info: OarJobInfo) -> int:
        since = _when(info.start_time, c.tz)
        human = f"job {info.job_id} is {info.state.value} since {since} on {len(info.assigned_hosts)} host(s)"
        emit(args, human, _info_data(info))
        return EXIT_OK

    return _when_running(args, show)


def run_nodes(args: argparse.Namespace) -> int:
    """`g5k nodes ID`: the hosts of a job, one per line (waits until it runs)."""

    def show(_: Context, info: OarJobInfo) -> int:
        emit(args, "\n".join(info.assigned_hosts), list(info.assigned_hosts))
        return EXIT_OK

    return _when_running(args, show)
