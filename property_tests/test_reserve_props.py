"""Properties of the synchronised reservation's next-date step and of the reattach decision."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from g5kpure.errors import ReattachConflict, Rejected, SiteAnswer, Unreachable
from g5kpure.oar import (
    AllAccepted,
    CommonDatePolicy,
    GiveUp,
    NamedJobs,
    OarJobInfo,
    OarState,
    Reattach,
    RetryAt,
    SubmitAll,
    decide_reattach,
    next_common_date,
)

START = 1_800_000_000

# What one site answers to one date: accept, refuse with a hint offset (may be <= 0: a buggy hint), refuse
# without a hint, or be unreachable.
answer_kind = st.one_of(
    st.just(("ok", 0)),
    st.tuples(st.just("hint"), st.integers(-100, 100_000)),
    st.just(("nohint", 0)),
    st.just(("down", 0)),
)


def to_answer(site: str, date: int, kind: tuple[str, int], job: int) -> SiteAnswer:
    tag, offset = kind
    if tag == "ok":
        return SiteAnswer(site, job_id=job)
    if tag == "hint":
        return SiteAnswer(site, error=Rejected("refused", 10, date + offset, frontend=site))
    if tag == "nohint":
        return SiteAnswer(site, error=Rejected("refused", 10, None, frontend=site))
    return SiteAnswer(site, error=Unreachable(site))


@given(
    n_sites=st.integers(1, 4),
    script=st.lists(st.lists(answer_kind, min_size=4, max_size=4), min_size=1, max_size=30),
    max_tries=st.integers(1, 8),
    bound=st.none() | st.integers(0, 300_000),
)
def test_search_moves_forward_stays_bounded_and_terminates(n_sites, script, max_tries, bound) -> None:
    policy = CommonDatePolicy(max_tries, None if bound is None else START + bound)
    date, dates, tries = START, [START], 0
    while True:
        kinds = script[tries % len(script)][:n_sites]
        answers = [to_answer(f"s{i}", date, k, 100 + i) for i, k in enumerate(kinds)]
        tries += 1
        step = next_common_date(date, answers, tries, policy)
        assert tries <= max_tries  # never asked to try once more than allowed
        if isinstance(step, AllAccepted):
            assert step.date == date and all(a.job_id is not None for a in answers)
            break
        if isinstance(step, GiveUp):
            assert step.why
            break
        assert isinstance(step, RetryAt)
        assert step.date > date  # never backwards, never stuck
        assert policy.not_after is None or step.date <= policy.not_after
        hints = [a.could_run_at for a in answers if a.could_run_at is not None]
        assert step.date == max(hints)  # the latest of OAR's suggestions
        date = step.date
        dates.append(date)
    assert dates == sorted(set(dates))
    assert len(dates) <= max_tries


@given(
    present=st.lists(st.integers(0, 2), min_size=1, max_size=4),
    unreadable=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_reattach_never_submits_when_any_job_exists_or_a_site_is_unknown(present, unreadable) -> None:
    sites = [f"s{i}" for i in range(len(present))]
    found = []
    failed = []
    job = 1
    for i, (site, count) in enumerate(zip(sites, present, strict=True)):
        if unreadable[i]:
            failed.append((site, Unreachable(site)))
            continue
        infos = []
        for _ in range(count):
            infos.append(OarJobInfo(job_id=job, state=OarState.RUNNING, name="exp"))
            job += 1
        found.append((site, tuple(infos)))
    decision = decide_reattach(sites, NamedJobs("exp", tuple(found), tuple(failed)))
    readable_counts = [c for c, u in zip(present, unreadable, strict=False) if not u]
    if any(unreadable[: len(sites)]):
        assert isinstance(decision.failure(), ReattachConflict)
    elif all(c == 0 for c in readable_counts):
        assert decision.unwrap() == SubmitAll()
    elif all(c == 1 for c in readable_counts):
        got = decision.unwrap()
        assert isinstance(got, Reattach) and [j.frontend for j in got.jobs] == sites
    else:
        err = decision.failure()
        assert isinstance(err, ReattachConflict)
        assert {s for s, _ in err.present} | set(err.absent) == set(sites)
