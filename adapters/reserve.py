"""Reattach to named jobs, and reserve the same start on several sites using OAR's "could run at" hint.

- :func:`find_jobs_by_name`: the caller's live jobs of a name on each frontend (one ``oarstat -u -f -J`` per
  frontend, in parallel); a frontend that cannot be read is reported in ``failed``, never dropped.
- :func:`reserve_or_reattach`: the jobs of that name when every site holds one (nothing submitted), an
  all-or-nothing submission when none does, else a ``ReattachConflict`` (nothing submitted either).
- :func:`reserve_at_first_common_date`: ask every site for an advance reservation at the same date; when some
  refuse with OAR's suggested date, delete what the others accepted (and wait until OAR shows it ended), move
  to the latest suggestion and try again, within ``max_tries`` and ``not_after``.
- :func:`clean_leftovers`: delete what commands that died left in the journal (``g5k cleanup``), jobs whose id
  never came back being found by their name.

The decisions are pure (``g5kpure.oar.reserve``); this module only runs oarstat / oarsub / oardel. Both
submitting functions are all or nothing, interruptions included: Ctrl-C or SIGTERM during the call deletes what
it submitted before the exception goes on (``g5k.oar.Submissions``).

Two calls with the same name on one machine take turns (a lock per name in the state directory,
``g5k.journal.name_lock``): the second finds the first one's jobs and reattaches. Across machines, reattach is
a read followed by a submission: two runs started at the same instant on two machines may both submit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import TypeVar

from attrs import evolve, frozen
from g5k.journal import USER_JOURNAL, JournalArg, JournalFile, leftovers, name_lock, user_journal
from g5k.oar import (
    CONFIGURED,
    CallDefaults,
    KeyFileArg,
    Submissions,
    TimeoutArg,
    guarded,
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
    DELETION_SETTLE,
    LOST_GRACE,
    PARIS,
    DelStatus,
    Journal,
    JournalEntry,
    OarJob,
    OarJobInfo,
    OarSubmission,
    Transaction,
    claim_named,
    close_transaction,
    forget,
    settled_deletion,
    settled_unnamed,
    site_label,
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
    rollback_wait: float = DELETION_SETTLE, submissions: Submissions | None = None, journal: JournalArg = USER_JOURNAL,
    on_wait: Callable[[str], None] | None = None,
) -> IOResult[Reserved, G5kError]:
    """The live jobs named ``name`` when every site of ``specs`` holds one (nothing submitted); when none does,
    one job per site submitted all or nothing (``oarsubgrid``, or a synchronised reservation from ``start``);
    when only some do, a ``ReattachConflict`` naming them (nothing submitted). Submissions get ``name``;
    ``start`` / ``not_after`` / ``max_tries`` apply only to a submission (reattached jobs are kept as they are).
    The name is locked on this machine for the call (``on_wait`` is told when another process holds it)."""
    checked = core.check_job_name(name).bind(lambda _: core.check_sites([f for _, f in specs]))
    resolved = _checked_defaults(checked.bind(lambda _: _valid(specs)), access, job_key_file)
    if not isinstance(resolved, Success):
        return IOFailure(resolved.failure())
    _, defaults = resolved.unwrap()
    access, job_key_file = defaults.access, defaults.job_key_file
    with name_lock(name, on_wait):
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
                                                  rollback_wait=rollback_wait, submissions=submissions,
                                                  journal=journal)
            return common.map(lambda c: Reserved(c.jobs, False, start=c.start, tries=c.tries))
        grid = oarsubgrid(named_specs, access=access, timeout=timeout, tz=tz, job_key_file=job_key_file,
                          origin_tag=origin_tag, rollback_wait=rollback_wait, submissions=submissions,
                          journal=journal)
        return grid.map(lambda jobs: Reserved(jobs, False))


# ----------------------------------------------------------------------------------------------- common date


def reserve_at_first_common_date(
    specs: Specs, start: int, not_after: int | None = None, max_tries: int = core.DEFAULT_MAX_TRIES,
    access: FrontendAccess | None = None, timeout: TimeoutArg = False,
    *, tz: tzinfo = PARIS, job_key_file: KeyFileArg = CONFIGURED, origin_tag: str | None = DEFAULT_ORIGIN_TAG,
    rollback_wait: float = DELETION_SETTLE, submissions: Submissions | None = None, journal: JournalArg = USER_JOURNAL,
) -> IOResult[CommonReservation, G5kError]:
    """Advance reservations starting at the same date on every site: ``start`` first, then OAR's latest
    "could run at" date while some site refuses (what others accepted is deleted before each new try), at most
    ``max_tries`` dates and none after ``not_after``. A ``NoCommonDate`` tells what each site said at each try.
    Interrupted, it deletes what it holds and re-raises (see ``g5k.oar.Submissions``)."""
    policy = core.CommonDatePolicy(max_tries, not_after)
    checked = _valid(specs).bind(lambda _: core.check_common_request(start, policy, len(specs)))
    resolved = _checked_defaults(checked, access, job_key_file)
    if not isinstance(resolved, Success):
        return IOFailure(resolved.failure())
    date, defaults = resolved.unwrap()
    acc, key_file = defaults.access, defaults.job_key_file
    tries: list[ReservationTry] = []
    with guarded(submissions, acc, timeout, rollback_wait=rollback_wait, journal=journal) as subs:
        while True:
            at_date = [(evolve(sub, reservation_date=date), f) for sub, f in specs]
            results = [
                performed(r)
                for r in oarsub(at_date, acc, timeout, tz=tz, job_key_file=key_file, origin_tag=origin_tag,
                                submissions=subs)
            ]
            answers = tuple(_answer(f, r) for (_, f), r in zip(specs, results, strict=True))
            tries.append(ReservationTry(date, answers))
            step = core.next_common_date(date, answers, len(tries), policy)
            if isinstance(step, core.AllAccepted):
                jobs = tuple(r.unwrap() for r in results if isinstance(r, Success))
                return IOSuccess(CommonReservation(jobs, step.date, tuple(tries)))
            undone = subs.rollback([r.unwrap() for r in results if isinstance(r, Success)])
            subs.check()
            leaked = (tuple(str(j) for j in undone.left) + tuple(f"{j} (still being killed)" for j in undone.killing)
                      + tuple(f"a job named {e.name} on {e.frontend}" for e in undone.lost))
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


# ------------------------------------------------------------------------------------------------- cleanup


@frozen
class Cleanup:
    """What ``clean_leftovers`` found in the journal and did: the jobs deleted (or, dry run, to delete), those
    found by name (entries whose id never came back), those already gone, what failed, and what stays."""

    deleted: tuple[OarJob, ...] = ()
    found_by_name: tuple[tuple[str, OarJob], ...] = ()
    already_gone: tuple[OarJob, ...] = ()
    failed: tuple[tuple[str, G5kError], ...] = ()
    unresolved: tuple[JournalEntry, ...] = ()
    """Submissions without an id whose frontend could not be read, or that may still reach OAR."""
    forgotten: int = 0
    """Entries dropped from the journal (cleaned, or whose job has surely ended)."""
    elsewhere: tuple[Transaction, ...] = ()
    """Transactions of processes on other machines (not judged from here)."""
    dry_run: bool = False

    @property
    def clean(self) -> bool:
        """True when nothing is left to do on this machine."""
        return not self.failed and not self.unresolved


def clean_leftovers(
    access: FrontendAccess | None = None, timeout: TimeoutArg = False, *, dry_run: bool = False,
    journal: JournalFile | None = None, rollback_wait: float = DELETION_SETTLE, wait_grace: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> IOResult[Cleanup, G5kError]:
    """Delete what commands that died on this machine left in the journal (default: the user's): the jobs known
    by id, and those of submissions whose id never came back, found by name on their frontend (after waiting out
    ``LOST_GRACE`` for recent ones when ``wait_grace``, telling ``on_wait``). Returns once OAR shows the jobs
    ended (at most ``rollback_wait`` s) and the journal forgets them. ``dry_run``: find them, delete nothing."""
    file = journal or user_journal()
    found = performed(leftovers(file))
    if not isinstance(found, Success):
        return IOFailure(found.failure())
    lo = found.unwrap()
    resolved = performed(resolve_defaults(access, None))
    if not isinstance(resolved, Success):
        return IOFailure(resolved.failure())
    acc = resolved.unwrap().access
    unnamed = lo.unnamed
    recent = [time.time() - lo_.entry.sent_at for lo_ in unnamed]
    if unnamed and wait_grace and not dry_run and min(recent) <= LOST_GRACE:
        pause = LOST_GRACE - min(recent) + 1.0
        if on_wait is not None:
            on_wait(f"waiting {pause:.0f} s: a submission of the dead command may still be reaching OAR")
        time.sleep(pause)
    frontends = list(dict.fromkeys(lo_.entry.frontend for lo_ in unnamed))
    listed = performed(my_jobs(frontends, acc, timeout)) if frontends else ()
    read = {f: r.unwrap() for f, r in listed if isinstance(r, Success)}
    failed: list[tuple[str, G5kError]] = [(f"jobs of {site_label(f)}", r.failure()) for f, r in listed
                                          if not isinstance(r, Success)]
    claimed = claim_named(unnamed, read, lo.jobs)
    refs: dict[OarJob, tuple[str, str]] = {j: lo_.ref for lo_ in lo.entries if (j := lo_.entry.job) is not None}
    by_name: list[tuple[str, OarJob]] = []
    for lo_ in unnamed:
        if lo_.ref in claimed:
            job = OarJob(claimed[lo_.ref], lo_.entry.frontend)
            refs[job] = lo_.ref
            by_name.append((lo_.entry.name, job))
    settled_refs = settled_unnamed(unnamed, read, claimed, time.time())
    unresolved = tuple(lo_.entry for lo_ in unnamed if lo_.ref not in claimed and lo_.ref not in settled_refs)
    if dry_run:
        return IOSuccess(Cleanup(tuple(refs), tuple(by_name), (), tuple(failed), unresolved, 0, lo.elsewhere, True))
    outcomes = performed(oardel([(j.job_id, j.frontend) for j in refs], acc, timeout))
    deleted = [o.job for o in outcomes if o.status is DelStatus.DELETED]
    states = wait_jobs_final(deleted, acc, rollback_wait, command_timeout=timeout)
    done: list[OarJob] = []
    gone: list[OarJob] = []
    for o in (settled_deletion(o, states) for o in outcomes):
        if o.status is DelStatus.DELETED:
            done.append(o.job)
        elif o.ok:
            gone.append(o.job)
        else:
            failed.append((str(o.job), o.error or Rejected(f"deletion {o.status.value}")))
    forget_refs = [refs[j] for j in (*done, *gone)] + list(settled_refs) + list(lo.expired)
    updated = performed(file.update(lambda j: forget(_without(j, lo.empty), forget_refs)))
    if not isinstance(updated, Success):
        failed.append(("journal", updated.failure()))
    return IOSuccess(Cleanup(tuple(done), tuple(by_name), tuple(gone), tuple(failed), unresolved,
                             len(forget_refs), lo.elsewhere))


def _without(journal: Journal, transaction_ids: Sequence[str]) -> Journal:
    for tid in transaction_ids:
        journal = close_transaction(journal, tid)
    return journal
