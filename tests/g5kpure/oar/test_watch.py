"""The pure part of live OAR handling: batching, polling schedule, windows, deletion outcomes, oarsubgrid."""

from __future__ import annotations

import pytest
from returns.result import Failure, Success

from g5kpure.errors import InvalidInput, NotFound, ParseError, Partial, Rejected, Unreachable
from g5kpure.oar import (
    DeadlinePassed,
    DelOutcome,
    DelStatus,
    Ended,
    GridOverrides,
    OarJob,
    OarJobInfo,
    OarState,
    OarSubmission,
    PollPolicy,
    Sleep,
    Started,
    apply_overrides,
    check_job_id,
    classify_deletions,
    decide_grid,
    grid_failure,
    group_by_frontend,
    in_window,
    job_id_from_env,
    next_wait_step,
    oarstat_jobs_argv,
    oarstat_states_argv,
    parse_oarstat_states,
    settled_deletion,
    watch_delay,
)

POLICY = PollPolicy(interval=20, near_interval=10, max_sleep=300)


def info(state: OarState, start: int | None = None, scheduled: int | None = None, walltime: int = 3600) -> OarJobInfo:
    return OarJobInfo(job_id=7, state=state, start_time=start, scheduled_start=scheduled, walltime=walltime)


def test_one_oarstat_per_frontend_for_many_jobs() -> None:
    jobs = [OarJob(1, "rennes"), OarJob(2, "lyon"), OarJob(3, "rennes"), OarJob(1, "rennes"), OarJob(4, None)]
    groups = group_by_frontend(jobs)
    assert groups == (("rennes", (1, 3)), ("lyon", (2,)), (None, (4,)))
    assert oarstat_jobs_argv(groups[0][1]) == ("oarstat", "-f", "-J", "-j", "1", "-j", "3")
    assert oarstat_states_argv((1, 3)) == ("oarstat", "-s", "-j", "1", "-j", "3")
    with pytest.raises(ValueError):
        oarstat_jobs_argv(())
    with pytest.raises(ValueError):
        oarstat_jobs_argv((0,))


def test_states_of_several_jobs_from_the_real_capture() -> None:
    # the real output of "oarstat -s -j 2 -j 3 -j 6" (OAR 2.5.9 capture), plus a CRLF line end
    states = parse_oarstat_states(0, "6: Waiting\n3: Waiting\r\n2: Running\n").unwrap()
    assert dict(states) == {6: OarState.WAITING, 3: OarState.WAITING, 2: OarState.RUNNING}
    assert parse_oarstat_states(0, "").unwrap() == {}
    assert isinstance(parse_oarstat_states(0, "garbage here\n"), Failure)
    assert isinstance(parse_oarstat_states(1, "", "--state can only be used with an id"), Failure)


def test_job_ids_from_the_environment_and_arguments() -> None:
    assert job_id_from_env("1234\n") == Success(1234)
    for bad in (None, "", "abc", "-3", "0", "１２"):
        assert isinstance(job_id_from_env(bad), Failure), bad
    assert check_job_id(5) == Success(5)
    assert check_job_id("5") == Success(5)
    for bad_id in (True, 0, -1, "x", 1.5):
        result = check_job_id(bad_id)
        assert isinstance(result, Failure) and isinstance(result.failure(), InvalidInput)


def test_wait_steps() -> None:
    now = 1_000_000.0
    assert isinstance(next_wait_step(info(OarState.RUNNING, start=int(now)), now, None, POLICY), Started)
    assert isinstance(next_wait_step(info(OarState.LAUNCHING), now, None, POLICY), Started)
    # a short job that ran and finished between two polls counts as started
    assert isinstance(next_wait_step(info(OarState.TERMINATED, start=int(now) - 5), now, None, POLICY), Started)
    assert isinstance(next_wait_step(info(OarState.ERROR), now, None, POLICY), Ended)
    # unknown prediction: the normal interval
    assert next_wait_step(info(OarState.WAITING), now, None, POLICY) == Sleep(20)
    # start predicted in an hour: sleep long (bounded by max_sleep), not in 20 s steps
    assert next_wait_step(info(OarState.WAITING, scheduled=int(now) + 3600), now, None, POLICY) == Sleep(300)
    # start predicted in 100 s: wake up near_interval before it
    assert next_wait_step(info(OarState.WAITING, scheduled=int(now) + 100), now, None, POLICY) == Sleep(90)
    # predicted start close or already passed: poll every near_interval
    assert next_wait_step(info(OarState.WAITING, scheduled=int(now) + 5), now, None, POLICY) == Sleep(10)
    assert next_wait_step(info(OarState.WAITING, scheduled=int(now) - 50), now, None, POLICY) == Sleep(10)


def test_wait_is_bounded_by_the_deadline() -> None:
    now = 1_000_000.0
    waiting = info(OarState.WAITING, scheduled=int(now) + 3600)
    assert next_wait_step(waiting, now, now + 7, POLICY, started_at=now - 3) == Sleep(7)
    assert next_wait_step(waiting, now + 7, now + 7, POLICY, started_at=now - 3) == DeadlinePassed(10)
    # a running job wins over an expired deadline
    assert isinstance(next_wait_step(info(OarState.RUNNING), now + 9, now, POLICY), Started)


def test_watch_delay_is_the_shortest_need() -> None:
    now = 1_000_000.0
    infos = [info(OarState.WAITING), info(OarState.WAITING, scheduled=int(now) + 15), info(OarState.RUNNING)]
    assert watch_delay(infos, now, POLICY) == 10
    assert watch_delay([info(OarState.RUNNING)], now, POLICY) == 0


def test_policy_is_checked() -> None:
    with pytest.raises(ValueError):
        PollPolicy(interval=5, near_interval=10)


def test_windows_on_start_and_end() -> None:
    job = info(OarState.WAITING, scheduled=1000, walltime=600)
    assert in_window(job, None, None)
    assert in_window(job, (900, 1000), (1600, 1600))
    assert not in_window(job, (1001, 2000), None)
    assert not in_window(job, None, (0, 1599))
    unknown = info(OarState.WAITING)
    assert in_window(unknown, None, None)
    assert not in_window(unknown, (0, 10**10), None)


def test_deletion_outcomes_from_real_oardel_output() -> None:
    states = {19: OarState.RUNNING, 20: OarState.WAITING, 8: OarState.RUNNING, 5: OarState.TERMINATED}
    stdout = (
        "Deleting the job = 19 ...REGISTERED.\nDeleting the job = 20 ...REGISTERED.\nDeleting the job = 8 ...ERROR.\n"
    )
    stderr = "Cannot frag 8 ; You are not the right user.\n"
    out = classify_deletions("lyon", (19, 20, 8, 5, 99), states, 1, stdout, stderr)
    assert [o.status for o in out] == [
        DelStatus.DELETED,
        DelStatus.DELETED,
        DelStatus.NOT_YOURS,
        DelStatus.ALREADY_FINISHED,
        DelStatus.NOT_FOUND,
    ]
    assert out[2].error is not None and "not the right user" in out[2].error.message
    assert [o.ok for o in out] == [True, True, False, True, True]
    assert out[0].job == OarJob(19, "lyon") and out[0].state_before is OarState.RUNNING


def test_deletion_without_verdict_is_a_failure() -> None:
    (out,) = classify_deletions(None, (3,), {3: OarState.RUNNING}, 1, "", "something odd")
    assert out.status is DelStatus.FAILED and isinstance(out.error, Rejected)


def test_grid_overrides_are_imposed() -> None:
    sub = OarSubmission(resources=("nodes=2",), walltime=60, queue="default", name="x")
    out = apply_overrides(sub, GridOverrides(reservation_date=1000, walltime=3600, job_type=("deploy",)))
    assert (out.reservation_date, out.walltime, out.job_type, out.queue, out.name) == (
        1000,
        3600,
        ("deploy",),
        "default",
        "x",
    )
    assert apply_overrides(sub, GridOverrides()) == sub
    # the caller's submission is untouched (execo's oarsubgrid mutated the OarSubmission objects it was given)
    assert sub == OarSubmission(resources=("nodes=2",), walltime=60, queue="default", name="x")


def test_grid_is_all_or_nothing() -> None:
    ok = decide_grid(["rennes", "lyon"], [Success(OarJob(1, "rennes")), Success(OarJob(2, "lyon"))])
    assert ok.all_accepted and ok.to_delete == ()
    down = Unreachable("lille", "refused")
    bad = decide_grid(
        ["rennes", "lille", None], [Success(OarJob(1, "rennes")), Failure(down), Failure(NotFound("a", "b"))]
    )
    assert not bad.all_accepted
    assert bad.to_delete == (OarJob(1, "rennes"),)
    assert bad.failed == (("lille", down), ("default frontend", NotFound("a", "b")))
    deleted = DelOutcome(OarJob(1, "rennes"), DelStatus.DELETED)
    err = grid_failure(bad, [deleted])
    assert isinstance(err, Partial)
    assert err.undone == ("1@rennes",)
    assert [k for k, _ in err.failed] == ["lille", "default frontend"]


def test_a_registered_deletion_counts_once_the_job_is_seen_ended() -> None:
    job, other = OarJob(7, "rennes"), OarJob(8, "rennes")
    deleted = DelOutcome(job, DelStatus.DELETED, OarState.LAUNCHING)
    assert settled_deletion(deleted, {job: OarState.ERROR}) == deleted
    still = settled_deletion(deleted, {job: OarState.RUNNING})
    assert still.status is DelStatus.FAILED and not still.ok and isinstance(still.error, Rejected)
    assert still.error.message.endswith("deletion of job 7@rennes registered but the job is still Running")
    unseen = settled_deletion(deleted, {other: OarState.ERROR}).error
    assert isinstance(unseen, Rejected) and unseen.message.endswith("still unknown")
    refused = DelOutcome(job, DelStatus.NOT_YOURS, OarState.RUNNING, Rejected("not the right user"))
    assert settled_deletion(refused, {}) == refused


def test_grid_failure_names_jobs_that_could_not_be_deleted() -> None:
    decision = decide_grid(["a", "b"], [Success(OarJob(1, "a")), Failure(Rejected("no"))])
    leaked = DelOutcome(OarJob(1, "a"), DelStatus.UNREACHABLE, error=Unreachable("a"))
    err = grid_failure(decision, [leaked])
    assert isinstance(err, Partial)
    assert err.undone == ()
    assert [k for k, _ in err.failed] == ["b", "job 1@a NOT deleted"]


def test_single_site_refusal_is_returned_as_is() -> None:
    refusal = Rejected("There are not enough resources for your request", 8)
    assert grid_failure(decide_grid(["a"], [Failure(refusal)]), []) == refusal
    assert isinstance(parse_oarstat_states(0, "x"), Failure) and isinstance(
        parse_oarstat_states(0, "x").failure(), ParseError
    )
