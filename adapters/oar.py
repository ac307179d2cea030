"""Live OAR: submit, delete, list, inspect, wait for and watch jobs on frontends (execo_g5k.oar's functions).

Submitting lives here; deleting, reading and waiting live in ``g5k.oarjobs``, re-exported here: import both from
``g5k.oar``.

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

Every submission goes through a :class:`Submissions` operation: it is journaled (``g5k.journal``) before it is
sent and with its job id as soon as OAR gives it, and an interruption (Ctrl-C, SIGTERM, any exception) deletes
what the operation submitted before the exception goes on (``oarsub``, ``oarsubgrid``: re-raised, with a note).
"""

from __future__ import annotations

import contextlib
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import tzinfo
from types import TracebackType

from attrs import evolve, frozen
from g5k.interrupt import ABANDONED, Shield, mark_abandoned, result_of, say
from g5k.journal import USER_JOURNAL, JournalArg, Recorder, resolve
from g5k.oarjobs import (
    CONFIGURED,
    DEFAULT_POLICY,
    CallDefaults,
    CurrentJobs,
    KeyFileArg,
    PredictionCallback,
    ProgressCallback,
    TimeoutArg,
    _defaults,
    _resolved_access,
    get_current_oar_jobs,
    get_oar_job_info,
    get_oar_job_kavlan,
    get_oar_job_nodes,
    get_oar_job_states,
    get_oar_job_subnets,
    my_jobs,
    oardel,
    poll_jobs,
    resolve_defaults,
    wait_jobs_final,
    wait_jobs_start,
    wait_oar_job_start,
)
from g5k.results import performed
from g5k.ssh import DEFAULT_MAX_PARALLEL, run_plan
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.config import LOCAL, CommandOutput, CommandPlan, FrontendAccess, plan_command
from g5kpure.errors import G5kError, Partial, Rejected
from g5kpure.oar import (
    DEFAULT_ORIGIN_TAG,
    DELETION_SETTLE,
    PARIS,
    DelOutcome,
    DelStatus,
    GridOverrides,
    JournalEntry,
    Leftover,
    OarJob,
    OarSubmission,
    apply_overrides,
    claim_named,
    decide_grid,
    describe_jobs,
    ends_by,
    grid_failure,
    maybe_submitted,
    oarsub_argv,
    parse_oarsub_output,
    rollback_note,
    settled_deletion,
    validate_submission,
)

__all__ = [
    "CONFIGURED", "DEFAULT_POLICY", "CallDefaults", "CurrentJobs", "KeyFileArg", "PredictionCallback",
    "ProgressCallback", "Submissions", "TimeoutArg", "Undone", "get_current_oar_jobs", "get_oar_job_info",
    "get_oar_job_kavlan", "get_oar_job_nodes", "get_oar_job_states", "get_oar_job_subnets", "guarded", "my_jobs",
    "oardel", "oarsub", "oarsub_plans", "oarsubgrid", "poll_jobs", "resolve_defaults", "wait_jobs_final",
    "wait_jobs_start", "wait_oar_job_start",
]


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


# ---------------------------------------------------------------------------------------------- oarsubgrid


def oarsubgrid(
    job_specs: Sequence[tuple[OarSubmission, str | None]], reservation_date: int | None = None,
    walltime: int | None = None, job_type: tuple[str, ...] | None = None, queue: str | None = None,
    directory: str | None = None, additional_options: tuple[str, ...] | None = None,
    access: FrontendAccess | None = None, timeout: TimeoutArg = False,
    *, tz: tzinfo = PARIS, job_key_file: KeyFileArg = CONFIGURED, origin_tag: str | None = DEFAULT_ORIGIN_TAG,
    rollback_wait: float = DELETION_SETTLE, submissions: Submissions | None = None, journal: JournalArg = USER_JOURNAL,
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
        self, access: FrontendAccess | None = None, timeout: TimeoutArg = False, *,
        rollback_wait: float = DELETION_SETTLE, journal: JournalArg = USER_JOURNAL, command: str | None = None,
        notify: Callable[[str], None] = say,
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
                results[i] = result_of(future)
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
        final = tuple(settled_deletion(o, settled) for o in outcomes)
        killing = tuple(o.job for o, f in zip(outcomes, final, strict=True)
                        if o.status is DelStatus.DELETED and f.status is not DelStatus.DELETED)
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
        entries = [Leftover(self.recorder.id, e, self.recorder.command, self.recorder.owner) for e in lost.values()]
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
    rollback_wait: float = DELETION_SETTLE, journal: JournalArg = USER_JOURNAL,
) -> Iterator[Submissions]:
    """The caller's ``submissions`` when given (it keeps control of what is kept), else a new operation."""
    if submissions is not None:
        yield submissions
        return
    with Submissions(access, timeout, rollback_wait=rollback_wait, journal=journal) as subs:
        yield subs
