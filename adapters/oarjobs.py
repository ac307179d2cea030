"""Live OAR jobs: delete, list, inspect, wait for and watch them on frontends (execo_g5k.oar's functions).

The conventions of ``g5k.oar`` (which re-exports everything here, and submits): job specs are ``(job_id,
frontend)`` pairs, ``frontend=None`` is the default frontend of ``access``, a missing job id is read from
``$OAR_JOB_ID``, ``timeout=False`` means the default timeout of the connection parameters and ``None`` no timeout,
``access=None`` the configured frontend access. Results are typed values, never None.

``get_current_oar_jobs`` reads each frontend once with ``oarstat -u -f -J`` (a job without a predicted start fails
a start window); ``oardel`` reports each job's outcome; the watchers make one ``oarstat`` per frontend per poll
whatever the number of jobs.
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final, Literal

from attrs import frozen
from g5k import config as config_adapter
from g5k.results import performed
from g5k.ssh import DEFAULT_MAX_PARALLEL, run_plans, to_ioresult
from returns.io import IO, IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.config import CommandOutput, CommandPlan, FrontendAccess, effective_timeout, plan_command
from g5kpure.errors import G5kError, NotFound, Partial, Rejected, Timeout, Unreachable
from g5kpure.oar import (
    DeadlinePassed,
    DelOutcome,
    DelStatus,
    Ended,
    G5kSubnetParams,
    OarJob,
    OarJobInfo,
    OarState,
    PollPolicy,
    Sleep,
    Started,
    check_job_id,
    classify_deletions,
    g5k_subnets_argvs,
    group_by_frontend,
    in_window,
    job_id_from_env,
    kavlan_argv,
    next_wait_step,
    oardel_argv,
    oarstat_job_argv,
    oarstat_jobs_argv,
    oarstat_mine_full_argv,
    oarstat_states_argv,
    parse_g5k_subnet_params,
    parse_g5k_subnets,
    parse_kavlan_ids,
    parse_oarstat_job_json,
    parse_oarstat_jobs_json,
    parse_oarstat_states,
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
                heals = isinstance(err, Timeout) or (isinstance(err, Unreachable) and not err.lasting)
                transient = heals and strikes[job] < _TRANSIENT_RETRIES
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
            pause = min(delays) if delays else policy.near_interval
            sleep(pause if deadline is None else max(0.0, min(pause, deadline - clock())))
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
