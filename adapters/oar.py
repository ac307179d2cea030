"""Live OAR: submit, delete, list, inspect, wait for and watch jobs on frontends (execo_g5k.oar's functions).

Each function builds argvs with ``g5kpure.oar.submission`` / ``g5kpure.oar.watch``, runs them with ``g5k.ssh``
(in parallel across frontends) and parses the outputs with the core. Calling conventions follow execo where
they are sound: job specs are ``(submission, frontend)`` / ``(job_id, frontend)`` pairs, ``frontend=None`` is
the default frontend of ``access``, a missing job id is read from ``$OAR_JOB_ID``, ``timeout=False`` means the
default timeout of the connection parameters and ``None`` no timeout. Results are typed values, never None.

Defaults come from the effective configuration (``g5k.config.runtime``), as execo's come from
``g5k_configuration``: ``access=None`` means the configured frontend access (connection parameters, per-site
overrides, default frontend, ``no_ssh_for_local_frontend``), and a ``job_key_file`` left out means the
configured ``oar_job_key_file`` (``$OAR_JOB_KEY_FILE``), given to OAR as ``oarsub -k -i KEY``. Pass
``job_key_file=None`` to submit without a key whatever the configuration says, or a path to use that one. The
configuration is read once per call, and only when something is left to it; when it cannot be loaded the call
returns the ``ConfigError`` as its error value (per item where results are per item) and runs nothing.

``tz`` is the time zone of the OAR server (Europe/Paris on Grid'5000): it is used for ``-r`` dates and for
the dates OAR prints as text; JSON outputs carry unix times.

``get_current_oar_jobs`` reads each frontend once with
``oarstat -u -f -J`` (a job without a predicted start fails a start window); ``oardel`` reports each job's
outcome; ``oarsubgrid`` never changes the caller's submissions and, when a site fails, deletes what it
submitted and returns once those jobs have ended, with an error value listing what happened. Values are quoted
with ``shlex``; a timed-out command is stopped on the frontend, not left running.
"""

from __future__ import annotations

import contextlib
import enum
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import tzinfo
from types import TracebackType
from typing import Final, Literal

from attrs import evolve, frozen
from g5k import config as config_adapter
from g5k.interrupt import ABANDONED, Shield, mark_abandoned, say
from g5k.journal import USER_JOURNAL, JournalArg, Recorder, resolve, this_process
from g5k.results import performed
from g5k.ssh import DEFAULT_MAX_PARALLEL, run_plan, run_plans, to_ioresult
from returns.io import IO, IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.config import LOCAL, CommandOutput, CommandPlan, FrontendAccess, effective_timeout, plan_command
from g5kpure.errors import G5kError, NotFound, Partial, Rejected, Timeout, Unreachable
from g5kpure.oar import (
    DEFAULT_ORIGIN_TAG,
    PARIS,
    DeadlinePassed,
    DelOutcome,
    DelStatus,
    Ended,
    G5kSubnetParams,
    GridOverrides,
    JournalEntry,
    Leftover,
    OarJob,
    OarJobInfo,
    OarState,
    OarSubmission,
    PollPolicy,
    Sleep,
    Started,
    apply_overrides,
    check_job_id,
    claim_named,
    classify_deletions,
    decide_grid,
    describe_jobs,
    ends_by,
    g5k_subnets_argvs,
    grid_failure,
    group_by_frontend,
    in_window,
    job_id_from_env,
    kavlan_argv,
    maybe_submitted,
    next_wait_step,
    oardel_argv,
    oarstat_job_argv,
    oarstat_jobs_argv,
    oarstat_mine_full_argv,
    oarstat_states_argv,
    oarsub_argv,
    parse_g5k_subnet_params,
    parse_g5k_subnets,
    parse_kavlan_ids,
    parse_oarstat_job_json,
    parse_oarstat_jobs_json,
    parse_oarstat_states,
    parse_oarsub_output,
    rollback_note,
    validate_submission,
)


class _Configured(enum.Enum):
    KEY_FILE = "the configured oar_job_key_file"


CONFIGURED: Final = _Configured.KEY_FILE
"""Default of ``job_key_file``: the configured ``oar_job_key_file`` (``None`` explicitly means no key)."""

KeyFileArg = str | None | Literal[_Configured.KEY_FILE]
"""A job key argument: a path, ``None`` (no key) or ``CONFIGURED`` (the configuration's, maybe none)."""

DEFAULT_POLICY = PollPolicy()
"""execo's polling: every 20 s while the start is unknown or far, every 10 s around it."""

TimeoutArg = float | bool | None
PredictionCallback = Callable[[int | None], None]
ProgressCallback = Callable[[tuple[OarJobInfo | None, ...]], None]
"""Called after each poll with the latest info read for each job (None when it could not be read yet)."""

_TRANSIENT_RETRIES = 3  # consecutive unreachable/timeout polls tolerated while waiting


@frozen
class CallDefaults:
    """What one call uses: the frontend access and the job key given to OAR (None: no key)."""

    access: FrontendAccess
    job_key_file: str | None


def _defaults(access: FrontendAccess | None, job_key_file: KeyFileArg = None) -> Result[CallDefaults, G5kError]:
    """The given access and key, the configured ones for what is left to the configuration."""
    if access is not None and job_key_file is not CONFIGURED:
        return Success(CallDefaults(access, job_key_file))
    loaded = performed(config_adapter.runtime())
    if not isinstance(loaded, Success):
        return Failure(loaded.failure())
    rt = loaded.unwrap()
    key = rt.config.oar_job_key_file if job_key_file is CONFIGURED else job_key_file
    return Success(CallDefaults(rt.access if access is None else access, key))


def resolve_defaults(
    access: FrontendAccess | None = None, job_key_file: KeyFileArg = CONFIGURED
) -> IOResult[CallDefaults, G5kError]:
    """The frontend access and job key a call of this module would use (configured ones for what is missing)."""
    return IOResult.from_result(_defaults(access, job_key_file))


def _resolved_access(access: FrontendAccess | None) -> Result[FrontendAccess, G5kError]:
    return _defaults(access).map(lambda d: d.access)


def _perform(
    requests: Sequence[tuple[tuple[str, ...], str | None]],
    access: FrontendAccess,
    timeout: TimeoutArg,
    max_parallel: int = DEFAULT_MAX_PARALLEL,
) -> list[Result[CommandOutput, G5kError]]:
    """Run (argv, frontend) requests in parallel; results in input order (planning errors included)."""
    return _run_planned([plan_command(argv, frontend, access, timeout) for argv, frontend in requests], max_parallel)


def _run_planned(
    planned: Sequence[Result[CommandPlan, G5kError]], max_parallel: int = DEFAULT_MAX_PARALLEL
) -> list[Result[CommandOutput, G5kError]]:
    """Run the plans that could be made, in parallel; per plan (input order) its output or its planning error."""
    outputs = iter(run_plans([p.unwrap() for p in planned if isinstance(p, Success)], max_parallel))
    return [performed(next(outputs)) if isinstance(p, Success) else Failure(p.failure()) for p in planned]


def _one(
    argv: tuple[str, ...], frontend: str | None, access: FrontendAccess, timeout: TimeoutArg
) -> Result[CommandOutput, G5kError]:
    return _perform([(argv, frontend)], access, timeout)[0]


def _job_id(job_id: int | str | None) -> Result[int, G5kError]:
    """The given job id, or ``$OAR_JOB_ID`` when none is given (read here, in the adapter)."""
    if job_id is None:
        return job_id_from_env(os.environ.get("OAR_JOB_ID"))
    return check_job_id(job_id)


def _job_and_access(job_id: int | str | None, access: FrontendAccess | None) -> Result[
    tuple[int, FrontendAccess], G5kError
]:
    """The job id (see :func:`_job_id`) and the frontend access (the configured one when None)."""
    return _job_id(job_id).bind(lambda jid: _resolved_access(access).map(lambda acc: (jid, acc)))


# ------------------------------------------------------------------------------------------------ oarsub


def oarsub_plans(
    job_specs: Sequence[tuple[OarSubmission, str | None]], access: FrontendAccess | None = None,
    timeout: TimeoutArg = False, *, tz: tzinfo = PARIS, job_key_file: KeyFileArg = CONFIGURED,
    origin_tag: str | None = DEFAULT_ORIGIN_TAG,
) -> tuple[Result[CommandPlan, G5kError], ...]:
    """The commands ``oarsub`` would run (for --dry-run): one per (submission, frontend).

    ``access=None``: the configured access; ``job_key_file`` left out: the configured key (``None``: no key).
    A configuration that cannot be loaded is each spec's error."""
    resolved = _defaults(access, job_key_file)
    if not isinstance(resolved, Success):
        return tuple(Failure(resolved.failure()) for _ in job_specs)
    acc, key = resolved.unwrap().access, resolved.unwrap().job_key_file

    def plan(sub: OarSubmission, frontend: str | None) -> Result[CommandPlan, G5kError]:
        argv = oarsub_argv(sub, job_key_file=key, origin_tag=origin_tag, tz=tz)
        return plan_command(argv, frontend, acc, timeout)

    plans: list[Result[CommandPlan, G5kError]] = []
    for sub, frontend in job_specs:
        valid = validate_submission(sub)
        plans.append(plan(valid.unwrap(), frontend) if isinstance(valid, Success) else Failure(valid.failure()))
    return tuple(plans)


def oarsub(
    job_specs: Sequence[tuple[OarSubmission, str | None]], access: FrontendAccess | None = None,
    timeout: TimeoutArg = False, *, tz: tzinfo = PARIS, job_key_file: KeyFileArg = CONFIGURED,
    origin_tag: str | None = DEFAULT_ORIGIN_TAG, submissions: Submissions | None = None,
    journal: JournalArg = USER_JOURNAL,
) -> tuple[IOResult[OarJob, G5kError], ...]:
    """Run the commands of :func:`oarsub_plans` (same arguments) in parallel: per spec the job, or why OAR
    refused it (``Rejected``), or why it could not be planned (then nothing is submitted for it).

    Each submission is journaled (see :class:`Submissions`; a submission without a name gets one, ``g5k-*``).
    Interrupted (Ctrl-C, SIGTERM), the call deletes the jobs it submitted, then re-raises. Given
    ``submissions``, it submits within that operation (which then decides what to keep)."""
    if submissions is not None:
        done = submissions.submit(job_specs, access, timeout, tz=tz, job_key_file=job_key_file, origin_tag=origin_tag)
        return tuple(IOResult.from_result(r) for r in done)
    with Submissions(access, timeout, journal=journal) as subs:
        done = subs.submit(job_specs, access, timeout, tz=tz, job_key_file=job_key_file, origin_tag=origin_tag)
    return tuple(IOResult.from_result(r) for r in done)


def _submitted(out: Result[CommandOutput, G5kError], frontend: str | None, tz: tzinfo) -> Result[OarJob, G5kError]:
    if not isinstance(out, Success):
        return Failure(out.failure())
    o = out.unwrap()
    parsed = parse_oarsub_output(o.exit_code, o.stdout, o.stderr, tz=tz)
    if isinstance(parsed, Success):
        return Success(OarJob(parsed.unwrap().job_id, frontend))
    err = parsed.failure()
    if isinstance(err, Rejected):
        err = evolve(err, frontend=o.frontend)
    return Failure(err)


# ------------------------------------------------------------------------------------------------ oardel


def oardel(
    job_specs: Sequence[tuple[int, str | None]],
    access: FrontendAccess | None = None,
    timeout: TimeoutArg = False,
) -> IO[tuple[DelOutcome, ...]]:
    """Delete jobs; per job (input order): deleted, already finished, not found, not yours, unreachable.

    Per frontend (in parallel): one ``oarstat -s`` reads the jobs' states, then one ``oardel`` deletes those
    that exist and have not finished (OAR says REGISTERED even for a finished job). ``access=None``: the
    configured access; a configuration that cannot be loaded fails every job (nothing is run)."""
    jobs = [OarJob(j, f) for j, f in job_specs]
    groups = group_by_frontend(jobs)
    if not groups:
        return IO(())
    resolved = _resolved_access(access)
    if not isinstance(resolved, Success):
        return IO(tuple(DelOutcome(j, DelStatus.FAILED, None, resolved.failure()) for j in jobs))
    acc = resolved.unwrap()
    with ThreadPoolExecutor(max_workers=min(len(groups), DEFAULT_MAX_PARALLEL)) as pool:
        per_group = list(pool.map(lambda g: _oardel_one_frontend(g[0], g[1], acc, timeout), groups))
    by_job = {o.job: o for outcomes in per_group for o in outcomes}
    return IO(tuple(by_job[j] for j in jobs))


def _oardel_one_frontend(
    frontend: str | None, job_ids: tuple[int, ...], access: FrontendAccess, timeout: TimeoutArg
) -> tuple[DelOutcome, ...]:
    def all_with(status: DelStatus, error: G5kError) -> tuple[DelOutcome, ...]:
        return tuple(DelOutcome(OarJob(j, frontend), status, None, error) for j in job_ids)

    bad = [j for j in job_ids if isinstance(check_job_id(j), Failure)]
    if bad:
        return tuple(
            DelOutcome(OarJob(j, frontend), DelStatus.FAILED, None, check_job_id(j).failure())
            if j in bad
            else DelOutcome(OarJob(j, frontend), DelStatus.FAILED, None, Rejected("not tried: another id was invalid"))
            for j in job_ids
        )
    seen = _one(oarstat_states_argv(job_ids), frontend, access, timeout)
    if not isinstance(seen, Success):
        err = seen.failure()
        return all_with(DelStatus.UNREACHABLE if isinstance(err, Unreachable | Timeout) else DelStatus.FAILED, err)
    s = seen.unwrap()
    states_r = parse_oarstat_states(s.exit_code, s.stdout, s.stderr)
    if not isinstance(states_r, Success):
        return all_with(DelStatus.FAILED, states_r.failure())
    states = states_r.unwrap()
    live = [j for j in job_ids if j in states and not states[j].is_final]
    if not live:
        return classify_deletions(frontend, job_ids, states, 0, "", "")
    done = _one(oardel_argv(*live), frontend, access, timeout)
    if not isinstance(done, Success):
        err = done.failure()
        status = DelStatus.UNREACHABLE if isinstance(err, Unreachable | Timeout) else DelStatus.FAILED
        quiet = classify_deletions(frontend, [j for j in job_ids if j not in live], states, 0, "", "")
        lost = {j: DelOutcome(OarJob(j, frontend), status, states[j], err) for j in live}
        by_id = {o.job.job_id: o for o in quiet} | lost
        return tuple(by_id[j] for j in job_ids)
    d = done.unwrap()
    return classify_deletions(frontend, job_ids, states, d.exit_code, d.stdout, d.stderr)


# ------------------------------------------------------------------------------------------- job info


def get_oar_job_info(
    job_id: int | str | None = None,
    frontend: str | None = None,
    access: FrontendAccess | None = None,
    timeout: TimeoutArg = False,
) -> IOResult[OarJobInfo, G5kError]:
    """Everything oarstat knows about one job (``oarstat -f -J -j ID``); an unknown job is ``NotFound``."""

    def read(jid: int, acc: FrontendAccess) -> Result[OarJobInfo, G5kError]:
        out = _one(oarstat_job_argv(jid), frontend, acc, timeout)
        return out.bind(lambda o: parse_oarstat_job_json(o.exit_code, o.stdout, o.stderr, job_id=jid))

    return to_ioresult(_job_and_access(job_id, access).bind(lambda found: read(*found)))


def get_oar_job_states(
    job_ids: Sequence[int], frontend: str | None = None, access: FrontendAccess | None = None,
    timeout: TimeoutArg = False,
) -> IOResult[Mapping[int, OarState], G5kError]:
    """The states of jobs of one frontend (one ``oarstat -s``); a job OAR does not know is absent."""
    acc = _resolved_access(access)
    if not isinstance(acc, Success):
        return IOFailure(acc.failure())
    out = _one(oarstat_states_argv(job_ids), frontend, acc.unwrap(), timeout)
    return to_ioresult(out.bind(lambda o: parse_oarstat_states(o.exit_code, o.stdout, o.stderr)))


def poll_jobs(
    jobs: Sequence[OarJob], access: FrontendAccess | None = None, timeout: TimeoutArg = False
) -> IO[tuple[Result[OarJobInfo, G5kError], ...]]:
    """The info of several jobs with ONE oarstat call per frontend (in parallel); results in input order.
    ``access=None``: the configured access (a configuration that cannot be loaded is every job's error)."""
    resolved = _resolved_access(access)
    if not isinstance(resolved, Success):
        return IO(tuple(Failure(resolved.failure()) for _ in jobs))
    acc = resolved.unwrap()
    groups = group_by_frontend(jobs)
    outs = _perform([(oarstat_jobs_argv(ids), frontend) for frontend, ids in groups], acc, timeout)
    found: dict[OarJob, Result[OarJobInfo, G5kError]] = {}
    for (frontend, ids), out in zip(groups, outs, strict=True):
        parsed = out.bind(lambda o: parse_oarstat_jobs_json(o.exit_code, o.stdout, o.stderr))
        for j in ids:
            key = OarJob(j, frontend)
            if not isinstance(parsed, Success):
                found[key] = Failure(parsed.failure())
                continue
            match = [i for i in parsed.unwrap() if i.job_id == j]
            found[key] = (
                Success(match[0]) if match else Failure(NotFound("OAR job", str(key), "oarstat does not know it"))
            )
    return IO(tuple(found[j] for j in jobs))


@frozen
class CurrentJobs:
    """The caller's current jobs on several frontends, and the frontends that could not be read."""

    jobs: tuple[OarJob, ...]
    infos: tuple[OarJobInfo, ...]
    failed: tuple[tuple[str, G5kError], ...] = ()


def get_current_oar_jobs(
    frontends: Sequence[str | None] | None = None,
    start_between: tuple[float, float] | None = None,
    end_between: tuple[float, float] | None = None,
    access: FrontendAccess | None = None,
    timeout: TimeoutArg = False,
) -> IOResult[CurrentJobs, G5kError]:
    """The caller's current jobs on each frontend (one ``oarstat -u -f -J`` per frontend, in parallel),
    filtered on their (predicted) start and end; fails only when no frontend answered."""
    names: list[str | None] = list(frontends) if frontends is not None else [None]
    acc = _resolved_access(access)
    if not isinstance(acc, Success):
        return IOFailure(acc.failure())
    jobs: list[OarJob] = []
    infos: list[OarJobInfo] = []
    failed: list[tuple[str, G5kError]] = []
    for frontend, parsed in performed(my_jobs(names, acc.unwrap(), timeout)):
        if not isinstance(parsed, Success):
            failed.append((frontend or "default frontend", parsed.failure()))
            continue
        for info in parsed.unwrap():
            if in_window(info, start_between, end_between):
                jobs.append(OarJob(info.job_id, frontend))
                infos.append(info)
    if failed and len(failed) == len(names):
        return IOFailure(failed[0][1] if len(failed) == 1 else _partial("oarstat", failed))
    return IOSuccess(CurrentJobs(tuple(jobs), tuple(infos), tuple(failed)))


def my_jobs(
    frontends: Sequence[str | None], access: FrontendAccess, timeout: TimeoutArg = False
) -> IO[tuple[tuple[str | None, Result[tuple[OarJobInfo, ...], G5kError]], ...]]:
    """The caller's jobs on each frontend, in full: one ``oarstat -u -f -J`` per frontend, in parallel; per
    frontend (input order) its jobs sorted by id, or why they could not be read."""
    outs = _perform([(oarstat_mine_full_argv(), f) for f in frontends], access, timeout)
    parsed = (out.bind(lambda o: parse_oarstat_jobs_json(o.exit_code, o.stdout, o.stderr)) for out in outs)
    return IO(tuple(zip(frontends, parsed, strict=True)))


def _partial(what: str, failed: list[tuple[str, G5kError]]) -> G5kError:
    return Partial(what, failed=tuple(failed))


# -------------------------------------------------------------------------------------------- waiting


def wait_oar_job_start(
    job_id: int | str | None = None,
    frontend: str | None = None,
    access: FrontendAccess | None = None,
    timeout: TimeoutArg = None,
    prediction_callback: PredictionCallback | None = None,
    *,
    policy: PollPolicy = DEFAULT_POLICY,
    command_timeout: TimeoutArg = False,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> IOResult[OarJobInfo, G5kError]:
    """Wait until a job runs; its info then. ``timeout`` bounds the whole wait (seconds; None = until the job
    starts or ends; False = the default timeout of the connection parameters). ``prediction_callback`` gets
    OAR's predicted start (unix time or None) each time it changes."""
    resolved = _job_and_access(job_id, access)
    if not isinstance(resolved, Success):
        return IOFailure(resolved.failure())
    jid, acc = resolved.unwrap()
    results = wait_jobs_start(
        [OarJob(jid, frontend)],
        acc,
        timeout,
        policy=policy,
        command_timeout=command_timeout,
        clock=clock,
        sleep=sleep,
        on_prediction=(lambda _job, ts: prediction_callback(ts)) if prediction_callback else None,
    )
    return to_ioresult(performed(results)[0])


def wait_jobs_start(
    jobs: Sequence[OarJob],
    access: FrontendAccess | None = None,
    timeout: TimeoutArg = None,
    *,
    policy: PollPolicy = DEFAULT_POLICY,
    command_timeout: TimeoutArg = False,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    on_prediction: Callable[[OarJob, int | None], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> IO[tuple[Result[OarJobInfo, G5kError], ...]]:
    """The batched watcher: wait until every job has started (or ended); each poll costs one oarstat per
    frontend whatever the number of jobs. Per job (input order): its info once running, ``Rejected`` if it
    ended without running, ``Timeout`` at the deadline, or the error that made it unreadable.
    ``access=None``: the configured access (a configuration that cannot be loaded is every job's error)."""
    resolved = _resolved_access(access)
    if not isinstance(resolved, Success):
        return IO(tuple(Failure(resolved.failure()) for _ in jobs))
    acc = resolved.unwrap()
    started_at = clock()
    limit = effective_timeout(timeout, acc.params)  # execo's convention: False = the default timeout
    deadline = None if limit is None else started_at + limit
    pending = list(dict.fromkeys(jobs))
    final: dict[OarJob, Result[OarJobInfo, G5kError]] = {}
    predictions: dict[OarJob, int | None] = {}
    strikes: dict[OarJob, int] = {}
    latest: dict[OarJob, OarJobInfo] = {}
    while pending:
        polled = performed(poll_jobs(pending, acc, command_timeout))
        now = clock()
        delays: list[float] = []
        for job, res in zip(list(pending), polled, strict=True):
            if not isinstance(res, Success):
                err = res.failure()
                strikes[job] = strikes.get(job, 0) + 1
                transient = isinstance(err, Unreachable | Timeout) and strikes[job] < _TRANSIENT_RETRIES
                if transient and (deadline is None or now < deadline):
                    delays.append(policy.near_interval)
                    continue
                final[job] = Failure(err)
                pending.remove(job)
                continue
            strikes.pop(job, None)
            info = res.unwrap()
            latest[job] = info
            if on_prediction is not None and (job not in predictions or predictions[job] != info.predicted_start):
                on_prediction(job, info.predicted_start)
            predictions[job] = info.predicted_start
            step = next_wait_step(info, now, deadline, policy, started_at)
            if isinstance(step, Started):
                final[job] = Success(step.info)
                pending.remove(job)
            elif isinstance(step, Ended):
                final[job] = Failure(_ended(job, step.info))
                pending.remove(job)
            elif isinstance(step, DeadlinePassed):
                final[job] = Failure(Timeout(f"waiting for OAR job {job} to start", round(step.waited, 1)))
                pending.remove(job)
            elif isinstance(step, Sleep):
                delays.append(step.seconds)
        if on_progress is not None:
            on_progress(tuple(latest.get(j) for j in jobs))
        if pending:
            sleep(min(delays) if delays else policy.near_interval)
    return IO(tuple(final[j] for j in jobs))


def _ended(job: OarJob, info: OarJobInfo) -> G5kError:
    why = f": {info.message}" if info.message else ""
    return Rejected(
        f"OAR job {job} ended in state {info.state.value} without running{why}", frontend=job.frontend or ""
    )


# -------------------------------------------------------------------------------- nodes, subnets, kavlan


def get_oar_job_nodes(
    job_id: int | str | None = None, frontend: str | None = None, access: FrontendAccess | None = None,
    timeout: TimeoutArg = None, *, policy: PollPolicy = DEFAULT_POLICY, command_timeout: TimeoutArg = False,
) -> IOResult[tuple[str, ...], G5kError]:
    """The hosts of a job (sorted, unique), once it has started (waits like execo, at most ``timeout``)."""
    started = _started(job_id, frontend, access, timeout, policy, command_timeout)
    return to_ioresult(started.map(lambda found: found[1].assigned_hosts))


def _started(
    job_id: int | str | None,
    frontend: str | None,
    access: FrontendAccess | None,
    timeout: TimeoutArg,
    policy: PollPolicy,
    command_timeout: TimeoutArg,
) -> Result[tuple[FrontendAccess, OarJobInfo], G5kError]:
    """The access used and the job's info once it runs (see :func:`wait_oar_job_start`)."""
    acc = _resolved_access(access)
    if not isinstance(acc, Success):
        return Failure(acc.failure())
    started = wait_oar_job_start(
        job_id, frontend, acc.unwrap(), timeout, policy=policy, command_timeout=command_timeout
    )
    return performed(started).map(lambda info: (acc.unwrap(), info))


def get_oar_job_subnets(
    job_id: int | str | None = None, frontend: str | None = None, access: FrontendAccess | None = None,
    timeout: TimeoutArg = None, *, policy: PollPolicy = DEFAULT_POLICY, command_timeout: TimeoutArg = False,
) -> IOResult[tuple[tuple[tuple[str, str], ...], G5kSubnetParams], G5kError]:
    """A job's subnet addresses as (ip, mac) pairs and the subnet's network parameters (``g5k-subnets``),
    once it has started; ``NotFound`` when the job holds no subnet."""
    started = _started(job_id, frontend, access, timeout, policy, command_timeout)
    if not isinstance(started, Success):
        return IOFailure(started.failure())
    acc, info = started.unwrap()
    pairs_argv, params_argv = g5k_subnets_argvs(info.job_id)
    pairs_out, params_out = _perform([(pairs_argv, frontend), (params_argv, frontend)], acc, command_timeout)
    pairs = pairs_out.bind(lambda o: parse_g5k_subnets(o.exit_code, o.stdout, o.stderr))
    params = params_out.bind(lambda o: parse_g5k_subnet_params(o.exit_code, o.stdout, o.stderr))
    if pairs == Success(()) and params_out.map(lambda o: o.exit_code == 0 and not o.stdout.strip()) == Success(True):
        hint = "g5k-subnets lists none for it: reserve one with slash_22=1"
        return IOFailure(NotFound("subnet of OAR job", str(info.job_id), hint=hint))
    if not isinstance(pairs, Success):
        return IOFailure(pairs.failure())
    if not isinstance(params, Success):
        return IOFailure(params.failure())
    return IOSuccess((pairs.unwrap(), params.unwrap()))


def get_oar_job_kavlan(
    job_id: int | str | None = None, frontend: str | None = None, access: FrontendAccess | None = None,
    timeout: TimeoutArg = None, *, policy: PollPolicy = DEFAULT_POLICY, command_timeout: TimeoutArg = False,
) -> IOResult[tuple[int, ...], G5kError]:
    """A job's kavlan ids (``kavlan -j ID -V``; empty when it has none), once it has started."""
    started = _started(job_id, frontend, access, timeout, policy, command_timeout)
    return to_ioresult(
        started.bind(lambda found: _one(kavlan_argv(found[1].job_id), frontend, found[0], command_timeout))
        .bind(_kavlan_ids)
    )


def _kavlan_ids(out: CommandOutput) -> Result[tuple[int, ...], G5kError]:
    # kavlan answers a job without a vlan with the line "no vlan found" (and a failure status): no vlan, no error
    if out.stdout.strip().lower() == "no vlan found":
        return Success(())
    return parse_kavlan_ids(out.exit_code, out.stdout, out.stderr)


# ---------------------------------------------------------------------------------------------- oarsubgrid


def oarsubgrid(
    job_specs: Sequence[tuple[OarSubmission, str | None]], reservation_date: int | None = None,
    walltime: int | None = None, job_type: tuple[str, ...] | None = None, queue: str | None = None,
    directory: str | None = None, additional_options: tuple[str, ...] | None = None,
    access: FrontendAccess | None = None, timeout: TimeoutArg = False,
    *, tz: tzinfo = PARIS, job_key_file: KeyFileArg = CONFIGURED, origin_tag: str | None = DEFAULT_ORIGIN_TAG,
    rollback_wait: float = 30.0, submissions: Submissions | None = None, journal: JournalArg = USER_JOURNAL,
) -> IOResult[tuple[OarJob, ...], G5kError]:
    """Submit one job per site at once, all or nothing: when any site refuses or cannot be reached, the
    jobs the other sites accepted are deleted, and the call returns once OAR shows them ended (at most
    ``rollback_wait`` s); the error lists what failed, what was undone and any job still alive.

    Interrupted (Ctrl-C, SIGTERM, or any exception): no new submission is sent, those in flight are awaited,
    every job submitted is deleted, then the exception is re-raised (``KeyboardInterrupt`` stays a
    ``KeyboardInterrupt``), with a note saying what was deleted. A submission whose answer was lost (connection
    cut while oarsub ran) is looked for by its name; the journal keeps it when it cannot be found yet.

    ``access=None``: the configured access; ``job_key_file`` left out: the configured key (``None``: no key).
    A configuration that cannot be loaded is the error, and nothing is submitted. Given ``submissions``, the
    jobs are submitted within that operation (the caller keeps them by leaving its block normally)."""
    resolved = _defaults(access, job_key_file)
    if not isinstance(resolved, Success):
        return IOFailure(resolved.failure())
    acc, key = resolved.unwrap().access, resolved.unwrap().job_key_file
    overrides = GridOverrides(reservation_date, walltime, job_type, queue, directory, additional_options)
    specs = [(apply_overrides(sub, overrides), frontend) for sub, frontend in job_specs]
    with guarded(submissions, acc, timeout, rollback_wait=rollback_wait, journal=journal) as subs:
        results = [performed(r) for r in oarsub(specs, acc, timeout, tz=tz, job_key_file=key, origin_tag=origin_tag,
                                                submissions=subs)]
        decision = decide_grid([f for _, f in specs], results)
        if decision.all_accepted:
            return IOSuccess(decision.accepted)
        undone = subs.rollback(decision.to_delete)
        subs.check()
    error = grid_failure(decision, undone.outcomes)
    if undone.lost and isinstance(error, Partial):
        lost = tuple((f"job named {e.name} on {e.frontend}", _LOST) for e in undone.lost)
        error = evolve(error, failed=(*error.failed, *lost))
    return IOFailure(error)


_LOST = Rejected("its submission's answer was lost and no job of that name was found yet: the journal keeps it "
                 "for `g5k cleanup`")


def _settled(outcome: DelOutcome, settled: Mapping[OarJob, OarState | None]) -> DelOutcome:
    if outcome.status is not DelStatus.DELETED:
        return outcome
    state = settled.get(outcome.job)
    if state is not None and state.is_final:
        return outcome
    seen = state.value if state is not None else "unknown"
    return evolve(
        outcome,
        status=DelStatus.FAILED,
        error=Rejected(f"deletion of job {outcome.job} registered but the job is still {seen}"),
    )


def wait_jobs_final(
    jobs: Sequence[OarJob],
    access: FrontendAccess | None = None,
    timeout: float = 30.0,
    *,
    command_timeout: TimeoutArg = False,
    interval: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Mapping[OarJob, OarState | None]:
    """Wait (at most ``timeout`` s) until the jobs reach a final state (Terminated / Error), with one
    ``oarstat`` per frontend per poll; the last state seen of each job (None when it could not be read, e.g.
    with ``access=None`` and a configuration that cannot be loaded: then nothing is run)."""
    deadline = clock() + timeout
    last: dict[OarJob, OarState | None] = dict.fromkeys(jobs)
    if not last:
        return last
    resolved = _resolved_access(access)
    if not isinstance(resolved, Success):
        return last
    acc = resolved.unwrap()
    pending = list(last)
    while pending:
        for job, res in zip(list(pending), performed(poll_jobs(pending, acc, command_timeout)), strict=True):
            if isinstance(res, Success):
                last[job] = res.unwrap().state
                if res.unwrap().state.is_final:
                    pending.remove(job)
        if not pending or clock() >= deadline:
            break
        sleep(interval)
    return last


# --------------------------------------------------------------------------------- guarded submissions


@frozen
class Undone:
    """What a rollback did: each deletion's outcome (a job still alive after the wait counts as FAILED), the jobs
    OAR registered the deletion of but had not finished killing (``killing``, among the FAILED), and the
    submissions whose answer was lost and whose job could not be found by name (kept in the journal)."""

    outcomes: tuple[DelOutcome, ...] = ()
    lost: tuple[JournalEntry, ...] = ()
    killing: tuple[OarJob, ...] = ()

    @property
    def deleted(self) -> tuple[OarJob, ...]:
        """The jobs that are gone."""
        return tuple(o.job for o in self.outcomes if o.ok)

    @property
    def left(self) -> tuple[OarJob, ...]:
        """The jobs that could not be deleted (those still being killed aside)."""
        return tuple(o.job for o in self.outcomes if not o.ok and o.job not in self.killing)


_NOT_SENT = "not submitted: the operation was interrupted before this submission was sent"


class Submissions:
    """The jobs one operation submits, undone when it fails or is interrupted (a context manager).

    Inside ``with Submissions(access) as subs:``, :meth:`submit` records each submission in the journal before
    sending it and each job id as soon as OAR gives it; :meth:`rollback` deletes jobs (and waits until OAR shows
    them ended). Leaving the block normally hands the jobs still held to the caller: the journal forgets them.
    Leaving it with an exception (Ctrl-C, SIGTERM, a bug) stops new submissions, waits for those in flight,
    deletes every job submitted and not yet deleted, then lets the exception go on with a note naming what was
    deleted. During a rollback, a second Ctrl-C says what is still being deleted and a third stops waiting: the
    exception then carries the ids left and how to delete them (the journal keeps them for ``g5k cleanup``).

    ``access=None``: the configured access; ``timeout``: each oarsub / oardel / oarstat command's;
    ``journal``: where submissions are recorded (default: the user's journal; ``None``: in memory only)."""

    def __init__(
        self, access: FrontendAccess | None = None, timeout: TimeoutArg = False, *, rollback_wait: float = 30.0,
        journal: JournalArg = USER_JOURNAL, command: str | None = None, notify: Callable[[str], None] = say,
    ) -> None:
        self.access = access
        self.timeout = timeout
        self.rollback_wait = rollback_wait
        self.recorder = Recorder(resolve(journal), command if command is not None else shlex.join(sys.argv))
        self.shield = Shield(notify)
        self.deleted: list[OarJob] = []
        """Every job this operation deleted so far."""
        self._cv = threading.Condition()
        self._in_flight = 0
        self._stopped = False
        self._live: dict[str, OarJob] = {}
        self._lost: dict[str, JournalEntry] = {}
        self._left: dict[str, OarJob] = {}
        self._abandoned = False

    def __enter__(self) -> Submissions:
        self.shield.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc is None or self._abandoned:
                return
            self.stop()
            undone = self.shield.undo(lambda: self._undo(None), self._still)
            if undone is ABANDONED:
                mark_abandoned(exc)
                exc.add_note(self._abandoned_note())
            else:
                exc.add_note(rollback_note(self.deleted, undone.left, undone.lost, killing=undone.killing))
        finally:
            self.shield.release()
            self.recorder.keep_only([*self._left, *self._lost, *(self._live if exc is not None else ())])

    # -------------------------------------------------------------------------------- submitting

    def stop(self) -> None:
        """Send no new submission (those in flight go on)."""
        with self._cv:
            self._stopped = True

    def submit(
        self, job_specs: Sequence[tuple[OarSubmission, str | None]], access: FrontendAccess | None = None,
        timeout: TimeoutArg = False, *, tz: tzinfo = PARIS, job_key_file: KeyFileArg = CONFIGURED,
        origin_tag: str | None = DEFAULT_ORIGIN_TAG,
    ) -> tuple[Result[OarJob, G5kError], ...]:
        """Submit in parallel (see :func:`oarsub`): per spec the job or why there is none. Submissions without
        a name get one (``g5k-*``) so that a job whose id never came back can be found."""
        named = [(sub if sub.name else evolve(sub, name=self.recorder.new_name()), f) for sub, f in job_specs]
        plans = oarsub_plans(named, access or self.access, timeout, tz=tz, job_key_file=job_key_file,
                             origin_tag=origin_tag)
        results: list[Result[OarJob, G5kError]] = [Failure(p.failure()) if isinstance(p, Failure)
                                                   else Failure(Rejected(_NOT_SENT)) for p in plans]
        todo = [i for i, p in enumerate(plans) if isinstance(p, Success)]
        if not todo:
            return tuple(results)
        pool = ThreadPoolExecutor(max_workers=min(len(todo), DEFAULT_MAX_PARALLEL), thread_name_prefix="g5k-oarsub")
        try:
            futures = {i: pool.submit(self._send, plans[i].unwrap(), named[i][0], named[i][1], tz) for i in todo}
            for i, future in futures.items():
                results[i] = future.result()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return tuple(results)

    def _send(self, plan: CommandPlan, sub: OarSubmission, frontend: str | None, tz: tzinfo) -> Result[
        OarJob, G5kError
    ]:
        with self._cv:
            if self._stopped:
                return Failure(Rejected(_NOT_SENT, frontend=plan.frontend))
            self._in_flight += 1
        try:
            where = None if plan.frontend == LOCAL else plan.frontend
            entry = self.recorder.sent(where, sub.name or "", ends_by(time.time(), sub.reservation_date, sub.walltime))
            result = _submitted(performed(run_plan(plan)), frontend, tz)
            if isinstance(result, Success):
                self.recorder.got_job(entry.key, result.unwrap().job_id)
                self._live[entry.key] = result.unwrap()
            elif maybe_submitted(result.failure()):
                self._lost[entry.key] = evolve(entry, frontend=frontend)
            else:
                self.recorder.gone([entry.key])
            return result
        finally:
            with self._cv:
                self._in_flight -= 1
                self._cv.notify_all()

    # -------------------------------------------------------------------------------- undoing

    def rollback(self, jobs: Sequence[OarJob] | None = None) -> Undone:
        """Delete ``jobs`` (default: every job held) and the jobs of submissions whose answer was lost, found by
        name; return once OAR shows them ended (at most ``rollback_wait`` s). Signals meanwhile are counted (see
        the class doc); when the user stops waiting, the interruption is raised with the ids left."""
        undone = self.shield.undo(lambda: self._undo(jobs), self._still)
        if undone is not ABANDONED:
            return undone
        self._abandoned = True
        exc = self.shield.exception()
        mark_abandoned(exc)
        exc.add_note(self._abandoned_note())
        raise exc

    def check(self) -> None:
        """Raise the interruption asked for by a signal received during a rollback (once it is done)."""
        self.shield.check()

    def _undo(self, jobs: Sequence[OarJob] | None) -> Undone:
        with self._cv:
            while self._in_flight:
                self._cv.wait(0.5)
        resolved = _resolved_access(self.access)
        acc = resolved.unwrap() if isinstance(resolved, Success) else FrontendAccess()
        keys = {job: key for key, job in self._live.items()}
        targets = [j for j in (jobs if jobs is not None else list(self._live.values())) if j in keys]
        found = self._find_lost(acc)
        for key, job in found.items():
            keys[job] = key
            targets.append(job)
        if not targets:
            return Undone((), tuple(self._lost.values()))
        outcomes = performed(oardel([(j.job_id, j.frontend) for j in targets], acc, self.timeout))
        deleted = [o.job for o in outcomes if o.status is DelStatus.DELETED]
        settled = wait_jobs_final(deleted, acc, self.rollback_wait, command_timeout=self.timeout)
        final = tuple(_settled(o, settled) for o in outcomes)
        killing = tuple(o.job for o in outcomes if o.status is DelStatus.DELETED
                        and not ((state := settled.get(o.job)) is not None and state.is_final))
        for o in final:
            key = keys[o.job]
            self._live.pop(key, None)
            if o.ok:
                self._left.pop(key, None)
                self.deleted.append(o.job)
                self.recorder.gone([key])
            else:
                self._left[key] = o.job
        return Undone(final, tuple(self._lost.values()), killing)

    def _find_lost(self, acc: FrontendAccess) -> dict[str, OarJob]:
        """The jobs of the submissions whose answer was lost, found by name on their frontends (by entry key)."""
        lost = dict(self._lost)
        if not lost:
            return {}
        me = this_process()
        entries = [Leftover(self.recorder.id, e, self.recorder.command, me) for e in lost.values()]
        frontends = list(dict.fromkeys(e.frontend for e in lost.values()))
        listed = performed(my_jobs(frontends, acc, self.timeout))
        read = {f: r.unwrap() for f, r in listed if isinstance(r, Success)}
        found: dict[str, OarJob] = {}
        for (_, key), job_id in claim_named(entries, read, self._live.values()).items():
            entry = self._lost.pop(key)
            found[key] = OarJob(job_id, entry.frontend)
            self.recorder.got_job(key, job_id)
            self._live[key] = found[key]
        return found

    def _still(self) -> str:
        """What is still being undone (read without locks: called from a signal handler)."""
        waiting = f"waiting for {self._in_flight} submission(s) in flight, then " if self._in_flight else ""
        jobs = list(self._live.values())
        if not jobs:
            return f"{waiting}deleting what was submitted"
        return f"{waiting}still deleting OAR jobs {describe_jobs(jobs)}"

    def _abandoned_note(self) -> str:
        left = [*self._live.values(), *self._left.values()]
        return rollback_note(self.deleted, left, list(self._lost.values()), abandoned=True)


@contextlib.contextmanager
def guarded(
    submissions: Submissions | None, access: FrontendAccess | None = None, timeout: TimeoutArg = False, *,
    rollback_wait: float = 30.0, journal: JournalArg = USER_JOURNAL,
) -> Iterator[Submissions]:
    """The caller's ``submissions`` when given (it keeps control of what is kept), else a new operation."""
    if submissions is not None:
        yield submissions
        return
    with Submissions(access, timeout, rollback_wait=rollback_wait, journal=journal) as subs:
        yield subs
