"""Watching and managing live OAR jobs, the pure part: job references, batched oarstat argvs, the polling
schedule of ``wait_oar_job_start``, time-window filters, per-job deletion outcomes and the all-or-nothing
decision of ``oarsubgrid``. The adapter (``g5k.oar``) performs the commands.

Waiting sleeps until the predicted start only in bounded steps (``max_sleep``) and re-reads the prediction each
time, so an earlier start is noticed; the whole wait is bounded by a deadline. Watching J jobs on S frontends
costs S oarstat calls per poll (``oarstat -f -J -j A -j B ...``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence

from attrs import evolve, field, frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, Partial, Rejected
from g5kpure.oar.delete import oardel_reasons, oardel_verdicts
from g5kpure.oar.jobs import OarJobInfo, OarState
from g5kpure.oar.submission import OarSubmission

# -------------------------------------------------------------------------------------------- references


@frozen
class OarJob:
    """A job on a frontend: its id and the frontend name the caller used (``None`` = default frontend)."""

    job_id: int
    frontend: str | None = None

    def __str__(self) -> str:
        return f"{self.job_id}@{self.frontend}" if self.frontend else str(self.job_id)


def job_id_from_env(value: str | None) -> Result[int, G5kError]:
    """The job id held by an ``OAR_JOB_ID`` environment value (the adapter reads the environment)."""
    if value is None or not value.strip():
        return Failure(InvalidInput("job id", "", "a job id, or OAR_JOB_ID set in the environment (inside a job)"))
    text = value.strip()
    if not text.isdigit() or not text.isascii() or int(text) <= 0:
        return Failure(InvalidInput("OAR_JOB_ID", value, "a positive integer"))
    return Success(int(text))


def check_job_id(job_id: object) -> Result[int, G5kError]:
    """Accept a positive int job id (or its decimal text)."""
    if isinstance(job_id, bool):
        return Failure(InvalidInput("job id", repr(job_id), "a positive integer"))
    if isinstance(job_id, int) and job_id > 0:
        return Success(job_id)
    if isinstance(job_id, str):
        return job_id_from_env(job_id).alt(lambda _: InvalidInput("job id", job_id, "a positive integer"))
    return Failure(InvalidInput("job id", repr(job_id), "a positive integer"))


def group_by_frontend(jobs: Iterable[OarJob]) -> tuple[tuple[str | None, tuple[int, ...]], ...]:
    """Job ids per frontend, frontends in order of first appearance, ids unique in order of appearance."""
    groups: dict[str | None, list[int]] = {}
    for job in jobs:
        ids = groups.setdefault(job.frontend, [])
        if job.job_id not in ids:
            ids.append(job.job_id)
    return tuple((frontend, tuple(ids)) for frontend, ids in groups.items())


# ------------------------------------------------------------------------------------- batched oarstat


def oarstat_jobs_argv(job_ids: Sequence[int]) -> tuple[str, ...]:
    """One ``oarstat -f -J`` reading several jobs at once (``-j A -j B ...``)."""
    if not job_ids:
        raise ValueError("oarstat_jobs_argv needs at least one job id")
    argv = ["oarstat", "-f", "-J"]
    for j in job_ids:
        if isinstance(j, bool) or not isinstance(j, int) or j <= 0:
            raise ValueError(f"an OAR job id is a positive int, not {j!r}")
        argv += ["-j", str(j)]
    return tuple(argv)


def oarstat_states_argv(job_ids: Sequence[int]) -> tuple[str, ...]:
    """One ``oarstat -s`` reading the states of several jobs (``-s -j A -j B ...``)."""
    return ("oarstat", "-s", *oarstat_jobs_argv(job_ids)[3:])


def oarstat_mine_full_argv() -> tuple[str, ...]:
    """The caller's jobs, in full, as JSON (``oarstat -u -f -J``): with scheduled starts, in one call."""
    return ("oarstat", "-u", "-f", "-J")


# ------------------------------------------------------------------------------------ polling schedule


@frozen
class PollPolicy:
    """How often to poll a job that has not started: ``interval`` while its start is unknown or far,
    ``near_interval`` around its predicted start, and never sleep more than ``max_sleep`` at once."""

    interval: float = 20.0
    near_interval: float = 10.0
    max_sleep: float = 300.0

    def __attrs_post_init__(self) -> None:
        if not 0 < self.near_interval <= self.interval <= self.max_sleep:
            raise ValueError("PollPolicy needs 0 < near_interval <= interval <= max_sleep")


@frozen
class Started:
    """The job runs (or ran: a job that finished before we looked counts as started)."""

    info: OarJobInfo


@frozen
class Ended:
    """The job reached a final state without our ever seeing it run (e.g. deleted, or a refused reservation)."""

    info: OarJobInfo


@frozen
class DeadlinePassed:
    """The deadline has passed."""

    waited: float


@frozen
class Sleep:
    """Poll again after ``seconds``."""

    seconds: float


WaitStep = Started | Ended | DeadlinePassed | Sleep


def next_wait_step(
    info: OarJobInfo, now: float, deadline: float | None, policy: PollPolicy = PollPolicy(), started_at: float = 0.0
) -> WaitStep:
    """What to do after reading ``info`` at ``now`` while waiting for the job to start (total)."""
    state = info.state
    if state.is_running or state in (OarState.FINISHING,):
        return Started(info)
    if state is OarState.TERMINATED and info.start_time is not None:
        return Started(info)
    if state.is_final:
        return Ended(info)
    if deadline is not None and now >= deadline:
        return DeadlinePassed(max(0.0, now - started_at))
    predicted = info.predicted_start
    if predicted is None:
        delay = policy.interval
    else:
        ahead = predicted - now
        delay = (
            policy.near_interval if ahead <= policy.interval else min(ahead - policy.near_interval, policy.max_sleep)
        )
    if deadline is not None:
        delay = min(delay, max(0.0, deadline - now))
    return Sleep(max(delay, 0.0))


def watch_delay(infos: Iterable[OarJobInfo], now: float, policy: PollPolicy = PollPolicy()) -> float:
    """How long a watcher of several jobs sleeps before its next poll: the shortest delay any pending job needs."""
    delays = [step.seconds for step in (next_wait_step(i, now, None, policy) for i in infos) if isinstance(step, Sleep)]
    return min(delays) if delays else 0.0


# --------------------------------------------------------------------------------------- time windows


def job_window(info: OarJobInfo) -> tuple[int | None, int | None]:
    """The (start, end) of a job as unix times: actual or predicted start, and start + walltime."""
    start = info.predicted_start
    if start is None:
        return None, None
    end = start + info.walltime if info.walltime is not None else None
    return start, end


def in_window(
    info: OarJobInfo, start_between: tuple[float, float] | None, end_between: tuple[float, float] | None
) -> bool:
    """True when the job's start is within ``start_between`` and its end within ``end_between`` (inclusive;
    a missing window accepts anything; a job whose start or end is unknown fails a window on it)."""
    start, end = job_window(info)
    if start_between is not None and (start is None or not start_between[0] <= start <= start_between[1]):
        return False
    return not (end_between is not None and (end is None or not end_between[0] <= end <= end_between[1]))


# ------------------------------------------------------------------------------------------- deletion


class DelStatus(enum.Enum):
    """What happened to one job that was asked to be deleted."""

    DELETED = "deleted"
    ALREADY_FINISHED = "already finished"
    NOT_FOUND = "not found"
    NOT_YOURS = "not yours"
    UNREACHABLE = "unreachable"
    FAILED = "failed"


@frozen
class DelOutcome:
    """The outcome of deleting one job: its status, the state seen before, and the error if any."""

    job: OarJob
    status: DelStatus
    state_before: OarState | None = None
    error: G5kError | None = None

    @property
    def ok(self) -> bool:
        """True when the job is not (or no longer) running for us: deleted, already finished or not found."""
        return self.status in (DelStatus.DELETED, DelStatus.ALREADY_FINISHED, DelStatus.NOT_FOUND)


def classify_deletions(
    frontend: str | None,
    job_ids: Sequence[int],
    states: Mapping[int, OarState],
    exit_code: int | None,
    stdout: str,
    stderr: str,
) -> tuple[DelOutcome, ...]:
    """Per-job outcomes of ``oardel`` on ``frontend`` given the states read just before (oardel was run on
    the jobs that existed and were not final). OAR answers REGISTERED even for a finished job and "not the
    right user" even for a missing one: the states read first tell those cases apart."""
    verdicts = dict(oardel_verdicts(stdout, stderr))
    reasons = oardel_reasons(stdout + "\n" + stderr)
    outcomes: list[DelOutcome] = []
    for j in job_ids:
        job = OarJob(j, frontend)
        before = states.get(j)
        if before is None:
            outcomes.append(DelOutcome(job, DelStatus.NOT_FOUND))
        elif before.is_final:
            outcomes.append(DelOutcome(job, DelStatus.ALREADY_FINISHED, before))
        elif verdicts.get(j) == "REGISTERED":
            outcomes.append(DelOutcome(job, DelStatus.DELETED, before))
        else:
            reason = reasons.get(j, "")
            error = Rejected(
                f"cannot delete job {j}: {reason or 'oardel gave no verdict'}", exit_code, frontend=frontend or ""
            )
            if "not the right user" in reason:
                outcomes.append(DelOutcome(job, DelStatus.NOT_YOURS, before, error))
            elif "does not exist" in reason:
                outcomes.append(DelOutcome(job, DelStatus.NOT_FOUND, before))
            elif "already killed" in reason or "terminated" in reason.lower():
                outcomes.append(DelOutcome(job, DelStatus.ALREADY_FINISHED, before))
            else:
                outcomes.append(DelOutcome(job, DelStatus.FAILED, before, error))
    return tuple(outcomes)


def settled_deletion(outcome: DelOutcome, states: Mapping[OarJob, OarState | None]) -> DelOutcome:
    """A registered deletion (``DELETED``) once OAR was watched ending the jobs (``states``: the last state seen of
    each): unchanged when the job reached a final state, else ``FAILED`` saying what state it is still in."""
    if outcome.status is not DelStatus.DELETED:
        return outcome
    state = states.get(outcome.job)
    if state is not None and state.is_final:
        return outcome
    seen = state.value if state is not None else "unknown"
    return evolve(
        outcome,
        status=DelStatus.FAILED,
        error=Rejected(f"deletion of job {outcome.job} registered but the job is still {seen}"),
    )


# ------------------------------------------------------------------------------------------ oarsubgrid


@frozen
class GridOverrides:
    """Values that ``oarsubgrid`` imposes on every per-site submission (``None`` = keep the submission's)."""

    reservation_date: int | None = None
    walltime: int | None = None
    job_type: tuple[str, ...] | None = None
    queue: str | None = None
    directory: str | None = None
    additional_options: tuple[str, ...] | None = field(default=None)


def apply_overrides(sub: OarSubmission, overrides: GridOverrides) -> OarSubmission:
    """The per-site submission with the grid-wide values imposed."""
    changes: dict[str, object] = {}
    for name in ("reservation_date", "walltime", "job_type", "queue", "directory", "additional_options"):
        value = getattr(overrides, name)
        if value is not None:
            changes[name] = value
    return evolve(sub, **changes)  # type: ignore[arg-type]


@frozen
class GridDecision:
    """What oarsubgrid must do after the per-site submissions: keep all jobs, or delete ``to_delete``."""

    accepted: tuple[OarJob, ...]
    failed: tuple[tuple[str, G5kError], ...]

    @property
    def all_accepted(self) -> bool:
        """True when every site accepted its submission."""
        return not self.failed

    @property
    def to_delete(self) -> tuple[OarJob, ...]:
        """The jobs to delete so that nothing is left (all of them when any site failed)."""
        return () if self.all_accepted else self.accepted


def decide_grid(frontends: Sequence[str | None], results: Sequence[Result[OarJob, G5kError]]) -> GridDecision:
    """Sort per-site submission results into accepted jobs and failures (all or nothing)."""
    accepted: list[OarJob] = []
    failed: list[tuple[str, G5kError]] = []
    for frontend, result in zip(frontends, results, strict=True):
        match result:
            case Success(job):
                accepted.append(job)
            case Failure(error):
                failed.append((frontend or "default frontend", error))
    return GridDecision(tuple(accepted), tuple(failed))


def grid_failure(decision: GridDecision, deletions: Sequence[DelOutcome]) -> G5kError:
    """The error value of a failed oarsubgrid: the refusal itself when one site alone was asked and refused,
    else a ``Partial`` naming the failed sites, the jobs deleted and any job that could not be deleted."""
    undone = tuple(str(d.job) for d in deletions if d.ok)
    leaked = tuple(
        (f"job {d.job} NOT deleted", d.error or Rejected(f"deletion {d.status.value}")) for d in deletions if not d.ok
    )
    if len(decision.failed) == 1 and not decision.accepted:
        return decision.failed[0][1]
    return Partial("oarsubgrid (all or nothing)", succeeded=(), failed=(*decision.failed, *leaked), undone=undone)
