"""Reattach to named jobs, and reserve the same start on several sites using OAR's "could run at" hint.

- :func:`find_jobs_by_name`: the caller's live jobs of a name on each frontend (one ``oarstat -u -f -J`` per
  frontend, in parallel); a frontend that cannot be read is reported in ``failed``, never dropped.
- :func:`reserve_or_reattach`: the jobs of that name when every site holds one (nothing submitted), an
  all-or-nothing submission when none does, else a ``ReattachConflict`` (nothing submitted either).
- :func:`reserve_at_first_common_date`: ask every site for an advance reservation at the same date; when some
  refuse with OAR's suggested date, delete what the others accepted (and wait until OAR shows it ended), move
  to the latest suggestion and try again, within ``max_tries`` and ``not_after``.

The decisions are pure (``g5kpure.oar.reserve``); this module only runs oarstat / oarsub / oardel.

Limit: reattach is a read followed by a submission, not a lock: two runs started at the same instant may
both find nothing and both submit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import TypeVar

from attrs import evolve, frozen
from g5k.oar import (
    CONFIGURED,
    CallDefaults,
    KeyFileArg,
    TimeoutArg,
    my_jobs,
    oardel,
    oarsub,
    oarsubgrid,
    resolve_defaults,
    wait_jobs_final,
)
from g5k.results import performed
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.config import FrontendAccess
from g5kpure.errors import G5kError, NoCommonDate, Rejected, ReservationTry, SiteAnswer
from g5kpure.oar import (
    DEFAULT_ORIGIN_TAG,
    PARIS,
    DelStatus,
    OarJob,
    OarJobInfo,
    OarSubmission,
    validate_submission,
)
from g5kpure.oar import reserve as core

Specs = Sequence[tuple[OarSubmission, str | None]]
T = TypeVar("T")


@frozen
class Reserved:
    """The jobs held for a name, one per site in the order of the specs, and whether they already existed."""

    jobs: tuple[OarJob, ...]
    reattached: bool
    infos: tuple[OarJobInfo, ...] = ()
    start: int | None = None
    tries: tuple[ReservationTry, ...] = ()


@frozen
class CommonReservation:
    """Advance reservations holding the same start on every site (spec order), and the tries that led there."""

    jobs: tuple[OarJob, ...]
    start: int
    tries: tuple[ReservationTry, ...]


# ------------------------------------------------------------------------------------------------ find


def find_jobs_by_name(
    name: str,
    frontends: Sequence[str | None] | None = None,
    access: FrontendAccess | None = None,
    timeout: TimeoutArg = False,
) -> IOResult[core.NamedJobs, G5kError]:
    """The caller's live jobs named exactly ``name`` on each frontend (one oarstat per frontend, in parallel);
    unreadable frontends are listed in ``failed``. Fails only on a bad name."""
    checked = core.check_job_name(name)
    if not isinstance(checked, Success):
        return IOFailure(checked.failure())
    names: list[str | None] = list(dict.fromkeys(frontends)) if frontends is not None else [None]
    resolved = performed(resolve_defaults(access, None))
    if not isinstance(resolved, Success):
        return IOFailure(resolved.failure())
    found: list[tuple[str | None, tuple[OarJobInfo, ...]]] = []
    failed: list[tuple[str | None, G5kError]] = []
    for frontend, parsed in performed(my_jobs(names, resolved.unwrap().access, timeout)):
        if isinstance(parsed, Success):
            found.append((frontend, core.live_jobs_named(parsed.unwrap(), name)))
        else:
            failed.append((frontend, parsed.failure()))
    return IOSuccess(core.NamedJobs(name, tuple(found), tuple(failed)))


# ------------------------------------------------------------------------------------------------ reattach


def reserve_or_reattach(
    specs: Specs, name: str, access: FrontendAccess | None = None, timeout: TimeoutArg = False,
    *, start: int | None = None, not_after: int | None = None, max_tries: int = core.DEFAULT_MAX_TRIES,
    tz: tzinfo = PARIS, job_key_file: KeyFileArg = CONFIGURED, origin_tag: str | None = DEFAULT_ORIGIN_TAG,
    rollback_wait: float = 30.0,
) -> IOResult[Reserved, G5kError]:
    """The live jobs named ``name`` when every site of ``specs`` holds one (nothing submitted); when none does,
    one job per site submitted all or nothing (``oarsubgrid``, or a synchronised reservation from ``start``);
    when only some do, a ``ReattachConflict`` naming them (nothing submitted). Submissions get ``name``;
    ``start`` / ``not_after`` / ``max_tries`` apply only to a submission (reattached jobs are kept as they are)."""
    checked = core.check_job_name(name).bind(lambda _: core.check_sites([f for _, f in specs]))
    resolved = _checked_defaults(checked.bind(lambda _: _valid(specs)), access, job_key_file)
    if not isinstance(resolved, Success):
        return IOFailure(resolved.failure())
    _, defaults = resolved.unwrap()
    access, job_key_file = defaults.access, defaults.job_key_file
    named = performed(find_jobs_by_name(name, [f for _, f in specs], access, timeout))
    decision = named.bind(lambda n: core.decide_reattach([f for _, f in specs], n))
    if not isinstance(decision, Success):
        return IOFailure(decision.failure())
    chosen = decision.unwrap()
    if isinstance(chosen, core.Reattach):
        return IOSuccess(Reserved(chosen.jobs, True, chosen.infos))
    named_specs = [(evolve(sub, name=name), f) for sub, f in specs]
    if start is not None:
        common = reserve_at_first_common_date(named_specs, start, not_after, max_tries, access, timeout, tz=tz,
                                              job_key_file=job_key_file, origin_tag=origin_tag,
                                              rollback_wait=rollback_wait)
        return common.map(lambda c: Reserved(c.jobs, False, start=c.start, tries=c.tries))
    grid = oarsubgrid(named_specs, access=access, timeout=timeout, tz=tz, job_key_file=job_key_file,
                      origin_tag=origin_tag, rollback_wait=rollback_wait)
    return grid.map(lambda jobs: Reserved(jobs, False))


# ----------------------------------------------------------------------------------------------- common date


def reserve_at_first_common_date(
    specs: Specs, start: int, not_after: int | None = None, max_tries: int = core.DEFAULT_MAX_TRIES,
    access: FrontendAccess | None = None, timeout: TimeoutArg = False,
    *, tz: tzinfo = PARIS, job_key_file: KeyFileArg = CONFIGURED, origin_tag: str | None = DEFAULT_ORIGIN_TAG,
    rollback_wait: float = 30.0,
) -> IOResult[CommonReservation, G5kError]:
    """Advance reservations starting at the same date on every site: ``start`` first, then OAR's latest
    "could run at" date while some site refuses (what others accepted is deleted before each new try), at most
    ``max_tries`` dates and none after ``not_after``. A ``NoCommonDate`` tells what each site said at each try."""
    policy = core.CommonDatePolicy(max_tries, not_after)
    checked = _valid(specs).bind(lambda _: core.check_common_request(start, policy, len(specs)))
    resolved = _checked_defaults(checked, access, job_key_file)
    if not isinstance(resolved, Success):
        return IOFailure(resolved.failure())
    date, defaults = resolved.unwrap()
    acc, key_file = defaults.access, defaults.job_key_file
    tries: list[ReservationTry] = []
    while True:
        at_date = [(evolve(sub, reservation_date=date), f) for sub, f in specs]
        results = [
            performed(r)
            for r in oarsub(at_date, acc, timeout, tz=tz, job_key_file=key_file, origin_tag=origin_tag)
        ]
        answers = tuple(_answer(f, r) for (_, f), r in zip(specs, results, strict=True))
        tries.append(ReservationTry(date, answers))
        step = core.next_common_date(date, answers, len(tries), policy)
        if isinstance(step, core.AllAccepted):
            jobs = tuple(r.unwrap() for r in results if isinstance(r, Success))
            return IOSuccess(CommonReservation(jobs, step.date, tuple(tries)))
        accepted = [r.unwrap() for r in results if isinstance(r, Success)]
        leaked = _rollback(accepted, acc, timeout, rollback_wait)
        if leaked or isinstance(step, core.GiveUp):
            why = step.why if isinstance(step, core.GiveUp) else "accepted jobs could not be deleted"
            return IOFailure(NoCommonDate(why, start, not_after, tuple(tries), leaked))
        date = step.date


def _checked_defaults(checked: Result[T, G5kError], access: FrontendAccess | None,
                      job_key_file: KeyFileArg) -> Result[tuple[T, CallDefaults], G5kError]:
    """The checked value and the access and key a call uses, once the check passed (nothing resolved before)."""
    return checked.bind(lambda value: performed(resolve_defaults(access, job_key_file)).map(lambda d: (value, d)))


def _valid(specs: Specs) -> Result[None, G5kError]:
    """Refuse a bad submission before anything is submitted on any site."""
    for sub, _ in specs:
        valid = validate_submission(sub)
        if not isinstance(valid, Success):
            return Failure(valid.failure())
    return Success(None)


def _answer(frontend: str | None, result: Result[OarJob, G5kError]) -> SiteAnswer:
    if isinstance(result, Success):
        return SiteAnswer(core.site_label(frontend), job_id=result.unwrap().job_id)
    error = result.failure()
    if isinstance(error, Rejected) and not error.frontend:
        error = evolve(error, frontend=core.site_label(frontend))
    return SiteAnswer(core.site_label(frontend), error=error)


def _rollback(jobs: Sequence[OarJob], access: FrontendAccess, timeout: TimeoutArg, wait: float) -> tuple[str, ...]:
    """Delete ``jobs`` and wait until OAR shows them ended; the jobs still alive afterwards (a leak)."""
    if not jobs:
        return ()
    outcomes = performed(oardel([(j.job_id, j.frontend) for j in jobs], access, timeout))
    deleted = [o.job for o in outcomes if o.status is DelStatus.DELETED]
    settled = wait_jobs_final(deleted, access, wait, command_timeout=timeout)
    leaked = [str(o.job) for o in outcomes if not o.ok]
    leaked += [str(j) for j in deleted if not ((s := settled.get(j)) is not None and s.is_final)]
    return tuple(leaked)
