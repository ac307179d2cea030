"""OARGRID on a frontend: the seed's ``execo_g5k.oargrid`` functions over the ssh adapter.

Every function builds its argv with ``g5kpure.oar.grid``, runs it on the default frontend (or ``frontend``)
and parses the answer; failures are values (``Rejected`` when oargridsub refuses, ``CommandFailed``,
``Unreachable``, ``Timeout``...). Dates are read and written in ``tz`` (Europe/Paris on Grid'5000).
``oargriddel`` reports each deletion; ``get_current_oargrid_jobs`` fetches the job details in parallel;
``wait_oargrid_job_start`` returns the start date it waited for.

Like execo's, these functions read their defaults from the configuration (``g5k.config``, execo's
``g5k_configuration``): with no ``frontend_connection_params`` they use the configured frontend parameters,
default frontend and ``no_ssh_for_local_frontend``; ``ConnectionParams`` replace the configured connection
parameters but keep the configured default frontend; a ``FrontendAccess`` is used as given. A configuration that
cannot be loaded is an error value. oargrid runs on a frontend: when no ``frontend`` is given and there is no
default frontend (outside Grid'5000 with no ``g5k.default_frontend``), the call is refused with an
``InvalidInput`` instead of running oargrid commands on this machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo
from itertools import takewhile

from attrs import evolve, frozen
from g5k import config as config_adapter
from g5k.results import performed
from g5k.ssh import output_or_failure, run_plans
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.config import CommandOutput, CommandPlan, ConnectionParams, FrontendAccess, plan_command
from g5kpure.errors import CommandFailed, G5kError, InvalidInput, NotFound, Rejected
from g5kpure.oar import (
    PARIS,
    OarSubmission,
    grid,
    to_unixts,
)

__all__ = [
    "OargridDeleted",
    "get_current_oargrid_jobs",
    "get_oargrid_job_info",
    "get_oargrid_job_key",
    "get_oargrid_job_nodes",
    "get_oargrid_job_oar_jobs",
    "oargriddel",
    "oargridsub",
    "plan_oargrid_command",
    "plan_oargridsub",
    "wait_oargrid_job_start",
]

Access = FrontendAccess | ConnectionParams | None
Timeout_ = float | bool | None


def _access(value: Access) -> Result[FrontendAccess, G5kError]:
    """The access to use: a ``FrontendAccess`` as given, else the configured one (``ConnectionParams`` replacing
    its connection parameters); a configuration that cannot be loaded is an error value."""
    if isinstance(value, FrontendAccess):
        return Success(value)
    loaded = performed(config_adapter.runtime())
    if isinstance(loaded, Failure):
        return Failure(loaded.failure())
    configured = loaded.unwrap().access
    if value is None:
        return Success(configured)
    return Success(evolve(configured, params=value, per_frontend=()))


_NO_FRONTEND = ("a frontend (site) to run oargrid on: pass frontend=..., set g5k.default_frontend "
                "($G5K_DEFAULT_FRONTEND) or --frontend, or give a FrontendAccess with default_frontend")


def _plan(argv: tuple[str, ...], frontend: str | None, access: FrontendAccess,
          timeout: Timeout_) -> Result[CommandPlan, G5kError]:
    if frontend is None and access.default_frontend is None:
        return Failure(InvalidInput("frontend", "(none given, no default frontend)", _NO_FRONTEND))
    return plan_command(argv, frontend, access, timeout)


def plan_oargrid_command(
    argv: tuple[str, ...],
    frontend: str | None = None,
    frontend_connection_params: Access = None,
    timeout: Timeout_ = False,
) -> Result[CommandPlan, G5kError]:
    """Where and how an oargrid command would run (``frontend``, else the default frontend; never "locally" by
    default: with no frontend at all it is an ``InvalidInput``)."""
    return _access(frontend_connection_params).bind(lambda acc: _plan(argv, frontend, acc, timeout))


def _plans(argvs: Iterable[tuple[str, ...]], frontend: str | None, access: FrontendAccess,
           timeout: Timeout_) -> Result[list[CommandPlan], G5kError]:
    """One plan per argv, or the first planning error."""
    plans: list[CommandPlan] = []
    for argv in argvs:
        planned = _plan(argv, frontend, access, timeout)
        if isinstance(planned, Failure):
            return Failure(planned.failure())
        plans.append(planned.unwrap())
    return Success(plans)


def _run(argv: tuple[str, ...], frontend: str | None, access: FrontendAccess,
         timeout: Timeout_) -> CommandOutput | G5kError:
    planned = _plan(argv, frontend, access, timeout)
    if isinstance(planned, Failure):
        error: G5kError = planned.failure()
        return error
    return output_or_failure(run_plans((planned.unwrap(),))[0])


def _tail(out: CommandOutput, lines: int = 4) -> str:
    text = [ln.strip() for ln in (out.stdout + "\n" + out.stderr).splitlines() if ln.strip()]
    return " | ".join(text[-lines:]) or f"exit code {out.exit_code}"


def _succeeded(argv: tuple[str, ...], out: CommandOutput | G5kError, gid: int | None = None,
               missing: tuple[str, ...] = ()) -> Result[CommandOutput, G5kError]:
    """The output of a command that exited 0; else ``NotFound`` (oargrid job ``gid``) when the output says one of
    ``missing``, else ``CommandFailed``."""
    if isinstance(out, G5kError):
        return Failure(out)
    if out.exit_code == 0:
        return Success(out)
    if gid is not None and any(word in out.stderr + out.stdout for word in missing):
        return Failure(NotFound("oargrid job", str(gid), _tail(out)))
    return Failure(CommandFailed(argv, out.exit_code, out.stderr, out.frontend, out.stdout))


def plan_oargridsub(
    job_specs: Iterable[tuple[OarSubmission, str]], reservation_date: object = None, walltime: object = None,
    job_type: str | Iterable[str] | None = None, queue: str | None = None, directory: str | None = None,
    additional_options: str | Iterable[str] | None = None, frontend_connection_params: Access = None,
    timeout: Timeout_ = False, job_key_file: str | None = None, frontend: str | None = None, tz: tzinfo = PARIS,
) -> Result[CommandPlan, G5kError]:
    """The exact frontend command ``oargridsub`` would run (what ``--dry-run`` prints)."""
    argv = grid.oargridsub_argv(job_specs, reservation_date, walltime, job_type, queue, directory,
                                additional_options, job_key_file, tz=tz)
    return argv.bind(lambda a: plan_oargrid_command(a, frontend, frontend_connection_params, timeout))


def oargridsub(
    job_specs: Iterable[tuple[OarSubmission, str]], reservation_date: object = None, walltime: object = None,
    job_type: str | Iterable[str] | None = None, queue: str | None = None, directory: str | None = None,
    additional_options: str | Iterable[str] | None = None, frontend_connection_params: Access = None,
    timeout: Timeout_ = False, job_key_file: str | None = None, frontend: str | None = None, tz: tzinfo = PARIS,
) -> IOResult[grid.OargridSubmitted, G5kError]:
    """Run the oargridsub :func:`plan_oargridsub` plans (same arguments) for ``(OarSubmission, clusteralias)``
    specs: the grid job's id, ssh key and OAR jobs, or ``Rejected`` with oargridsub's last words."""
    return _submit(plan_oargridsub(job_specs, reservation_date, walltime, job_type, queue, directory,
                                   additional_options, frontend_connection_params, timeout, job_key_file, frontend, tz))


def _submit(planned: Result[CommandPlan, G5kError]) -> IOResult[grid.OargridSubmitted, G5kError]:
    """Run a planned oargridsub; what it submitted, or ``Rejected`` with oargridsub's last words."""
    if isinstance(planned, Failure):
        return IOFailure(planned.failure())
    plan = planned.unwrap()
    out = output_or_failure(run_plans((plan,))[0])
    if isinstance(out, G5kError):
        return IOFailure(out)
    if out.exit_code != 0:
        return IOFailure(Rejected(reason=_tail(out), exit_code=out.exit_code, frontend=plan.frontend,
                                  output=out.stdout + out.stderr))
    parsed = grid.parse_oargridsub_output(out.stdout)
    return IOSuccess(parsed.unwrap()) if isinstance(parsed, Success) else IOFailure(parsed.failure())


@frozen
class OargridDeleted:
    """The outcome of one oargriddel: whether the grid job was deleted, and oargriddel's words."""

    grid_job_id: int
    deleted: bool
    detail: str = ""


def oargriddel(
    job_ids: Iterable[int],
    frontend_connection_params: Access = None,
    timeout: Timeout_ = False,
    frontend: str | None = None,
) -> IOResult[tuple[OargridDeleted, ...], G5kError]:
    """Delete oargrid jobs (all at once); each one's outcome (not yours, unknown... are reported, not raised)."""
    ids = tuple(job_ids)
    valid = len(list(takewhile(lambda gid: isinstance(gid, int) and not isinstance(gid, bool) and gid >= 0, ids)))
    planned = _access(frontend_connection_params).bind(
        lambda access: _plans((grid.oargriddel_argv(gid) for gid in ids[:valid]), frontend, access, timeout)
    )
    if isinstance(planned, Failure):
        return IOFailure(planned.failure())
    if valid < len(ids):
        return IOFailure(InvalidInput("oargrid job id", repr(ids[valid]), "a non-negative int"))
    plans = planned.unwrap()
    outcomes: list[OargridDeleted] = []
    for gid, result in zip(ids, run_plans(plans), strict=True):
        out = output_or_failure(result)
        if isinstance(out, G5kError):
            outcomes.append(OargridDeleted(gid, False, out.message))
        else:
            outcomes.append(OargridDeleted(gid, out.exit_code == 0, _tail(out)))
    return IOSuccess(tuple(outcomes))


def get_oargrid_job_info(
    oargrid_job_id: int, frontend_connection_params: Access = None, timeout: Timeout_ = False,
    frontend: str | None = None, tz: tzinfo = PARIS,
) -> IOResult[grid.OargridJobInfo, G5kError]:
    """Start date (unix time), walltime (s), user and OAR jobs of an oargrid job."""
    argv = grid.oargridstat_info_argv(oargrid_job_id)
    info = _access(frontend_connection_params).bind(
        lambda access: _info(argv, _run(argv, frontend, access, timeout), oargrid_job_id, tz)
    )
    return IOResult.from_result(info)


def _info(
    argv: tuple[str, ...], out: CommandOutput | G5kError, gid: int, tz: tzinfo
) -> Result[grid.OargridJobInfo, G5kError]:
    checked = _succeeded(argv, out, gid, missing=("not exist", "not found"))
    return checked.bind(lambda o: grid.parse_oargridstat_info(o.stdout, tz=tz))


def _between(value: int, bounds: tuple[object, object] | None, tz: tzinfo) -> Result[bool, G5kError]:
    if bounds is None:
        return Success(True)
    low, high = (to_unixts(b, tz=tz) for b in bounds)
    if isinstance(low, Failure):
        return Failure(low.failure())
    if isinstance(high, Failure):
        return Failure(high.failure())
    return Success(low.unwrap() <= value <= high.unwrap())


def get_current_oargrid_jobs(
    start_between: tuple[object, object] | None = None,
    end_between: tuple[object, object] | None = None,
    frontend_connection_params: Access = None,
    timeout: Timeout_ = False,
    frontend: str | None = None,
    tz: tzinfo = PARIS,
) -> IOResult[tuple[int, ...], G5kError]:
    """The current oargrid job ids, optionally only those starting / ending between two dates."""
    argv = grid.oargridstat_list_argv()
    got = _access(frontend_connection_params)
    if isinstance(got, Failure):
        return IOFailure(got.failure())
    access = got.unwrap()
    listed = _succeeded(argv, _run(argv, frontend, access, timeout))
    if isinstance(listed, Failure):
        return IOFailure(listed.failure())
    ids = grid.parse_oargridstat_list(listed.unwrap().stdout)
    if start_between is None and end_between is None:
        return IOSuccess(ids)
    planned = _plans((grid.oargridstat_info_argv(gid) for gid in ids), frontend, access, timeout)
    if isinstance(planned, Failure):
        return IOFailure(planned.failure())
    plans = planned.unwrap()
    kept: list[int] = []
    for gid, plan, result in zip(ids, plans, run_plans(plans), strict=True):
        read = _info(plan.argv, output_or_failure(result), gid, tz)
        if isinstance(read, Failure) and isinstance(read.failure(), NotFound):
            continue  # ended between the two calls
        if isinstance(read, Failure):
            return IOFailure(read.failure())
        info = read.unwrap()
        for value, bounds in ((info.start_date, start_between), (info.end_date, end_between)):
            ok = _between(value, bounds, tz)
            if isinstance(ok, Failure):
                return IOFailure(ok.failure())
            if not ok.unwrap():
                break
        else:
            kept.append(gid)
    return IOSuccess(tuple(kept))


def _default_site_of(alias: str) -> str | None:
    from g5k.reference_data import load_embedded_snapshot

    found = performed(load_embedded_snapshot()).bind(lambda snap: snap.site_of(alias))
    return found.unwrap() if isinstance(found, Success) else None


def get_oargrid_job_oar_jobs(
    oargrid_job_id: int, frontend_connection_params: Access = None, timeout: Timeout_ = False,
    frontend: str | None = None, site_of: Callable[[str], str | None] | None = None, sites: Iterable[str] = (),
) -> IOResult[tuple[tuple[int, str], ...], G5kError]:
    """The (OAR job id, site) pairs an oargrid job is made of (cluster aliases mapped to their site)."""
    lookup = site_of or _default_site_of

    def pairs(info: grid.OargridJobInfo) -> Result[tuple[tuple[int, str], ...], G5kError]:
        mapping: Mapping[str, str] = {
            alias: site for _, alias in info.oar_jobs if (site := lookup(alias)) is not None
        }
        return grid.oar_jobs_by_site(info.oar_jobs, sites, mapping)

    return get_oargrid_job_info(oargrid_job_id, frontend_connection_params, timeout, frontend).bind_result(pairs)


def wait_oargrid_job_start(
    oargrid_job_id: int, frontend_connection_params: Access = None, timeout: Timeout_ = False,
    frontend: str | None = None, tz: tzinfo = PARIS, sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.time,
) -> IOResult[int, G5kError]:
    """Sleep until an oargrid job's start date; returns that date (unix time)."""

    def waited(info: grid.OargridJobInfo) -> int:
        delay = info.start_date - now()
        if delay > 0:
            sleep(delay)
        return info.start_date

    return get_oargrid_job_info(oargrid_job_id, frontend_connection_params, timeout, frontend, tz).map(waited)


def get_oargrid_job_nodes(
    oargrid_job_id: int, frontend_connection_params: Access = None, timeout: Timeout_ = False,
    frontend: str | None = None,
) -> IOResult[tuple[str, ...], G5kError]:
    """The nodes of an oargrid job (waiting for it to run with ``-w``; without it on oargrids that lack -w)."""
    with_wait, without = grid.oargridstat_nodes_argvs(oargrid_job_id)

    def nodes(access: FrontendAccess) -> Result[tuple[str, ...], G5kError]:
        out = _run(with_wait, frontend, access, timeout)
        if isinstance(out, CommandOutput) and out.exit_code != 0:
            out = _run(without, frontend, access, timeout)
        checked = _succeeded(without, out, oargrid_job_id, missing=("not exist",))
        return checked.map(lambda o: grid.parse_oargridstat_nodes(o.stdout))

    return IOResult.from_result(_access(frontend_connection_params).bind(nodes))


def get_oargrid_job_key(
    oargrid_job_id: int, frontend_connection_params: Access = None, timeout: Timeout_ = False,
    frontend: str | None = None,
) -> IOResult[str, G5kError]:
    """Where oargrid keeps the ssh key of a grid job on the frontend (``/tmp/oargrid/oargrid_ssh_key_USER_ID``)."""
    info = get_oargrid_job_info(oargrid_job_id, frontend_connection_params, timeout, frontend)
    return info.map(lambda found: grid.oargrid_job_key_path(found.user, oargrid_job_id))
