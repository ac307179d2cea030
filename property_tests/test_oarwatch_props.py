"""Properties of the pure live-OAR helpers: the wait schedule, batching, windows and frontend resolution."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from g5kpure.config import ConnectionParams, FrontendAccess, plan_command, resolve_frontend
from g5kpure.oar import (
    DeadlinePassed,
    Ended,
    OarJob,
    OarJobInfo,
    OarState,
    PollPolicy,
    Sleep,
    Started,
    group_by_frontend,
    in_window,
    next_wait_step,
)

states = st.sampled_from(list(OarState))
stamps = st.integers(min_value=0, max_value=4_000_000_000)
policies = st.tuples(st.floats(0.1, 50), st.floats(1, 10), st.floats(1, 10)).map(
    lambda t: PollPolicy(interval=t[0] * t[1], near_interval=t[0], max_sleep=t[0] * t[1] * t[2])
)


@given(
    state=states,
    start=st.none() | stamps,
    scheduled=st.none() | stamps,
    now=stamps,
    budget=st.none() | st.floats(0, 10_000),
    policy=policies,
)
def test_wait_step_is_total_and_bounded(state, start, scheduled, now, budget, policy) -> None:
    info = OarJobInfo(job_id=1, state=state, start_time=start, scheduled_start=scheduled)
    deadline = None if budget is None else now + budget
    step = next_wait_step(info, float(now), deadline, policy, started_at=float(now))
    if state.is_running:
        assert isinstance(step, Started)
    if isinstance(step, Sleep):
        assert 0 <= step.seconds <= policy.max_sleep
        if deadline is not None:
            assert now + step.seconds <= deadline
        assert not state.is_final
    if isinstance(step, DeadlinePassed):
        assert deadline is not None and now >= deadline
    if isinstance(step, Ended):
        assert state.is_final


@given(st.lists(st.tuples(st.integers(1, 50), st.sampled_from([None, "rennes", "lyon", "nancy"])), max_size=40))
def test_batching_keeps_every_job_once_and_one_group_per_frontend(pairs) -> None:
    jobs = [OarJob(j, f) for j, f in pairs]
    groups = group_by_frontend(jobs)
    assert len({f for f, _ in groups}) == len(groups) == len({j.frontend for j in jobs})
    regrouped = {OarJob(j, f) for f, ids in groups for j in ids}
    assert regrouped == set(jobs)
    assert sum(len(ids) for _, ids in groups) == len(set(jobs))


@given(start=stamps, walltime=st.integers(1, 10**6), a=stamps, b=stamps)
def test_window_membership_matches_the_interval(start, walltime, a, b) -> None:
    lo, hi = min(a, b), max(a, b)
    info = OarJobInfo(job_id=1, state=OarState.WAITING, scheduled_start=start, walltime=walltime)
    assert in_window(info, (lo, hi), None) == (lo <= start <= hi)
    assert in_window(info, None, (lo, hi)) == (lo <= start + walltime <= hi)


@given(name=st.text(max_size=30), suffix=st.sampled_from(["", ".grid5000.fr", ".frontend.example"]))
def test_resolution_is_total_and_never_yields_an_option(name, suffix) -> None:
    result = resolve_frontend(name, ConnectionParams(host_suffix=suffix))
    if isinstance(result, Success):
        host = result.unwrap().host
        assert host == name + suffix
        assert not host.startswith("-") and not any(c.isspace() for c in host)
    else:
        assert isinstance(result, Failure)


@given(argv=st.lists(st.text(max_size=20), min_size=1, max_size=6), timeout=st.none() | st.floats(0.1, 1e6))
def test_plans_keep_the_argv_and_the_timeout(argv, timeout) -> None:
    plan = plan_command(argv, "rennes", FrontendAccess(ConnectionParams()), timeout)
    if any("\0" in a for a in argv):
        assert isinstance(plan, Failure)
    else:
        assert plan.unwrap().argv == tuple(argv)
        assert plan.unwrap().timeout == timeout
