"""Reattaching to named jobs and synchronised multi-site advance reservations: the pure decisions.

Reattach (idempotent scripts): a script names its jobs; on a rerun :func:`decide_reattach` looks at the live jobs
of that name read on each site and says *reattach* (every site holds exactly one), *submit* (no site holds
one) or refuses with a :class:`~g5kpure.errors.ReattachConflict` naming the sites that hold one and those that
do not (or hold two, or could not be read): duplicates are never submitted silently.

Common date: :func:`next_common_date` is the step of the synchronised reservation. All sites are asked for the
same date; when some refuse with OAR's hint ("This reservation could run at ..."), the next common date is the
latest hint. A refusal without a hint (OAR 3 gives none, nor does OAR 2 for every reason) ends the search,
saying which site refused and why. The date only moves forward, the number of tries is bounded and no date after
``not_after`` is ever asked. The adapter (``g5k.reserve``) submits, deletes what was accepted, and calls this again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, ReattachConflict, Rejected, SiteAnswer
from g5kpure.oar.jobs import OarJobInfo
from g5kpure.oar.watch import OarJob

DEFAULT_MAX_TRIES = 5
"""How many common dates a synchronised reservation tries before giving up."""


def site_label(frontend: str | None) -> str:
    """How a frontend is named in reports (``None`` is the default frontend)."""
    return frontend if frontend is not None else "default frontend"


# ------------------------------------------------------------------------------------------------ reattach


def live_jobs_named(infos: Iterable[OarJobInfo], name: str) -> tuple[OarJobInfo, ...]:
    """The jobs of exactly this name that have not ended (not Terminated / Error), by job id."""
    return tuple(sorted((i for i in infos if i.name == name and not i.state.is_final), key=lambda i: i.job_id))


def check_job_name(name: object) -> Result[str, G5kError]:
    """Accept a job name usable as a reattach key: a non-empty string without NUL or leading ``-``."""
    if not isinstance(name, str) or not name.strip():
        return Failure(InvalidInput("job name", repr(name), "a non-empty name (the key used to find the jobs again)"))
    if "\0" in name or name.startswith("-"):
        return Failure(InvalidInput("job name", name, "a name without NUL bytes, not starting with '-'"))
    return Success(name)


def check_sites(frontends: Sequence[str | None]) -> Result[tuple[str | None, ...], G5kError]:
    """Accept a list of sites with one job each: at least one, no site twice."""
    if not frontends:
        return Failure(InvalidInput("sites", "", "at least one (submission, frontend) pair"))
    seen: set[str | None] = set()
    for f in frontends:
        if f in seen:
            return Failure(InvalidInput("sites", site_label(f), "each site at most once (one job per site)"))
        seen.add(f)
    return Success(tuple(frontends))


@frozen
class NamedJobs:
    """The live jobs of one name on each frontend that answered, and the frontends that could not be read."""

    name: str
    found: tuple[tuple[str | None, tuple[OarJobInfo, ...]], ...] = ()
    failed: tuple[tuple[str | None, G5kError], ...] = ()

    @property
    def jobs(self) -> tuple[OarJob, ...]:
        """Every job found, as (id, frontend) references, frontends in order."""
        return tuple(OarJob(i.job_id, f) for f, infos in self.found for i in infos)


@frozen
class Reattach:
    """Every site holds exactly one live job of the name: use these (nothing to submit)."""

    jobs: tuple[OarJob, ...]
    infos: tuple[OarJobInfo, ...]


@frozen
class SubmitAll:
    """No site holds a live job of the name: submit on every site."""


ReattachDecision = Reattach | SubmitAll


def decide_reattach(frontends: Sequence[str | None], named: NamedJobs) -> Result[ReattachDecision, G5kError]:
    """Reattach when every site holds one job of the name, submit when none does, else a ``ReattachConflict``."""
    failed = dict(named.failed)
    found = dict(named.found)
    unreadable = tuple((site_label(f), failed[f]) for f in frontends if f in failed)
    missing_answer = [f for f in frontends if f not in failed and f not in found]
    if missing_answer:
        return Failure(InvalidInput("sites", site_label(missing_answer[0]), "a site that was read for the jobs"))
    present = tuple((site_label(f), tuple(i.job_id for i in found[f])) for f in frontends if found.get(f))
    absent = tuple(site_label(f) for f in frontends if f in found and not found[f])
    if not unreadable and not present:
        return Success(SubmitAll())
    if not unreadable and not absent and all(len(ids) == 1 for _, ids in present):
        return Success(
            Reattach(tuple(OarJob(found[f][0].job_id, f) for f in frontends), tuple(found[f][0] for f in frontends))
        )
    return Failure(ReattachConflict(named.name, present, absent, unreadable))


# --------------------------------------------------------------------------------------------- common date


@frozen
class CommonDatePolicy:
    """Bounds of a synchronised reservation: at most ``max_tries`` dates, none after ``not_after`` (unix time)."""

    max_tries: int = DEFAULT_MAX_TRIES
    not_after: int | None = None


def check_common_request(start: object, policy: CommonDatePolicy, n_sites: int) -> Result[int, G5kError]:
    """Accept a first common date and its bounds: an int date, at least one try and one site, start <= not_after."""
    if isinstance(start, bool) or not isinstance(start, int):
        return Failure(InvalidInput("start", repr(start), "a unix timestamp (int)"))
    if isinstance(policy.max_tries, bool) or not isinstance(policy.max_tries, int) or policy.max_tries < 1:
        return Failure(InvalidInput("max tries", repr(policy.max_tries), "at least 1"))
    if policy.not_after is not None and policy.not_after < start:
        return Failure(InvalidInput("not_after", str(policy.not_after), f"a date at or after the start {start}"))
    if n_sites < 1:
        return Failure(InvalidInput("sites", "", "at least one (submission, frontend) pair"))
    return Success(start)


@frozen
class AllAccepted:
    """Every site accepted the date: keep the jobs."""

    date: int


@frozen
class RetryAt:
    """Delete what was accepted and ask every site for ``date`` (later than the last one)."""

    date: int


@frozen
class GiveUp:
    """Delete what was accepted and stop: ``why`` says which bound or answer stopped the search."""

    why: str


CommonDateStep = AllAccepted | RetryAt | GiveUp


def next_common_date(
    date: int, answers: Sequence[SiteAnswer], tries_done: int, policy: CommonDatePolicy
) -> CommonDateStep:
    """What to do after ``tries_done`` tries, the last at ``date`` answered by ``answers`` (total)."""
    refused = [a for a in answers if a.job_id is None]
    if answers and not refused:
        return AllAccepted(date)
    if not answers:
        return GiveUp("no site was asked")
    no_hint = [a for a in refused if a.could_run_at is None]
    if no_hint:
        said = "; ".join(f"{a.site}: {a.error.message if a.error is not None else 'no answer'}" for a in no_hint)
        bare = [a.site for a in no_hint if isinstance(a.error, Rejected)]
        advice = (
            f"; OAR on {', '.join(bare)} refused the date without saying when the request could run (OAR 3 never "
            "says): ask for another date, or fewer resources"
        ) if bare else ""  # fmt: skip
        return GiveUp(f"refused without a suggested date ({said}){advice}")
    hint = max(a.could_run_at for a in refused if a.could_run_at is not None)
    if hint <= date:
        return GiveUp(f"OAR suggested {hint}, not later than the date asked ({date}): nothing to move to")
    if policy.not_after is not None and hint > policy.not_after:
        return GiveUp(f"the next common date {hint} is after the latest acceptable one ({policy.not_after})")
    if tries_done >= policy.max_tries:
        return GiveUp(f"{tries_done} tries made (the maximum); the next common date would be {hint}")
    return RetryAt(hint)
