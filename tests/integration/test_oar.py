"""Live OAR functions against the testbed's real OAR 2.5.9 site, through the real frontend sshd."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from g5k.oar import (
    get_current_oar_jobs,
    get_oar_job_info,
    get_oar_job_nodes,
    oardel,
    oarsub,
    oarsubgrid,
    poll_jobs,
    wait_jobs_start,
    wait_oar_job_start,
)
from g5k.results import performed
from g5k.ssh import output_or_failure, run
from returns.result import Success

from g5kpure.config import CommandOutput, ConnectionParams, FrontendAccess
from g5kpure.errors import InvalidInput, NotFound, Partial, Rejected, Timeout, Unreachable
from g5kpure.oar import (
    DelStatus,
    OarJob,
    OarJobInfo,
    OarState,
    OarSubmission,
    PollPolicy,
    parse_job_nodes,
    parse_oarstat_job_text,
    parse_oarstat_jobs_json,
)
from tests.conftest import Testbed

pytestmark = pytest.mark.integration

FAST = PollPolicy(interval=1.0, near_interval=0.5, max_sleep=2.0)


@pytest.fixture(scope="module")
def access(frontend_params: ConnectionParams) -> FrontendAccess:
    return FrontendAccess(frontend_params)


@pytest.fixture(scope="module")
def spare(spare_user_params: ConnectionParams) -> FrontendAccess:
    """Access as the spare user: reservations here do not compete with other tests' (2 per user)."""
    return FrontendAccess(spare_user_params)


@pytest.fixture(scope="module")
def tz(oar_tz: str) -> ZoneInfo:
    return ZoneInfo(oar_tz)


@pytest.fixture
def cleanup(access: FrontendAccess) -> Iterator[list[OarJob]]:
    """Jobs a test created; deleted afterwards whatever happens."""
    jobs: list[OarJob] = []
    yield jobs
    if jobs:
        performed(oardel([(j.job_id, j.frontend) for j in jobs], access))


@pytest.fixture
def spare_cleanup(spare: FrontendAccess) -> Iterator[list[OarJob]]:
    """Jobs a test created as the spare user; deleted afterwards whatever happens."""
    jobs: list[OarJob] = []
    yield jobs
    if jobs:
        performed(oardel([(j.job_id, j.frontend) for j in jobs], spare))


def submit(access: FrontendAccess, tz: ZoneInfo, sub: OarSubmission, frontend: str, jobs: list[OarJob]) -> OarJob:
    result = performed(oarsub([(sub, frontend)], access, tz=tz)[0])
    assert isinstance(result, Success), result
    job: OarJob = result.unwrap()
    jobs.append(job)
    return job


def ssh_out(access: FrontendAccess, argv: tuple[str, ...], frontend: str = "rennes") -> CommandOutput:
    out = output_or_failure(run(argv, frontend, access))
    assert isinstance(out, CommandOutput), out
    return out


def oarstat_json(access: FrontendAccess, job_id: int) -> dict[int, OarJobInfo]:
    out = ssh_out(access, ("oarstat", "-f", "-J", "-j", str(job_id)))
    return {i.job_id: i for i in parse_oarstat_jobs_json(out.exit_code, out.stdout, out.stderr).unwrap()}


def wait_state(access: FrontendAccess, job: OarJob, wanted: set[OarState], within: float = 45.0) -> OarState:
    deadline = time.monotonic() + within
    state = OarState.UNKNOWN
    while time.monotonic() < deadline:
        state = performed(get_oar_job_info(job.job_id, job.frontend, access)).unwrap().state
        if state in wanted:
            return state
        time.sleep(0.5)
    return state


def test_submit_run_nodes_info_delete(access: FrontendAccess, tz: ZoneInfo, testbed: Testbed, cleanup) -> None:
    sub = OarSubmission(resources=("nodes=2",), walltime=600, name="g5kpure it", command="sleep 600")
    job = submit(access, tz, sub, "rennes", cleanup)
    assert job.frontend == "rennes"
    predictions: list[int | None] = []
    started = performed(wait_oar_job_start(job.job_id, "rennes", access, 90, predictions.append, policy=FAST))
    info = started.unwrap()
    assert info.state.is_running
    assert predictions and predictions[-1] == info.start_time
    nodes = performed(get_oar_job_nodes(job.job_id, "rennes", access, 30, policy=FAST)).unwrap()
    assert len(nodes) == 2
    assert set(nodes) <= set(testbed.nodes)
    p = ssh_out(access, ("oarstat", "-p", "-j", str(job.job_id)))
    assert parse_job_nodes(p.exit_code, p.stdout, p.stderr).unwrap() == nodes
    # info fields match what oarstat -f (text) says
    text = ssh_out(access, ("oarstat", "-f", "-j", str(job.job_id)))
    from_text = parse_oarstat_job_text(text.exit_code, text.stdout, text.stderr, tz=tz).unwrap()
    info = performed(get_oar_job_info(job.job_id, "nancy", access)).unwrap()
    for name in ("job_id", "owner", "name", "queue", "walltime", "assigned_hosts", "start_time", "command"):
        assert getattr(info, name) == getattr(from_text, name), name
    assert info.owner == "alice" and info.name == "g5kpure it" and info.walltime == 600
    assert "origin=g5kpure" in info.types
    # delete: the job ends in Error
    (outcome,) = performed(oardel([(job.job_id, "rennes")], access))
    assert outcome.status is DelStatus.DELETED and outcome.state_before is not None
    assert wait_state(access, job, {OarState.ERROR, OarState.TERMINATED}) in (OarState.ERROR, OarState.TERMINATED)
    (again,) = performed(oardel([(job.job_id, "lyon")], access))
    assert again.status is DelStatus.ALREADY_FINISHED


def test_job_id_from_environment(access: FrontendAccess, tz: ZoneInfo, cleanup, monkeypatch) -> None:
    """execo 2.8.2 raises TypeError here (it formats the environment's string with %i)."""
    job = submit(access, tz, OarSubmission(resources=("core=1",), walltime=300), "lyon", cleanup)
    monkeypatch.setenv("OAR_JOB_ID", str(job.job_id))
    assert performed(get_oar_job_info(None, "lyon", access)).unwrap().job_id == job.job_id
    monkeypatch.delenv("OAR_JOB_ID")
    assert isinstance(performed(get_oar_job_info(None, "lyon", access)).failure(), InvalidInput)
    assert isinstance(performed(get_oar_job_info(987654321, "lyon", access)).failure(), NotFound)


def test_oardel_outcomes_per_job(
    access: FrontendAccess, tz: ZoneInfo, other_user_params: ConnectionParams, dead_frontend: str, cleanup
) -> None:
    bob = FrontendAccess(other_user_params)
    bobs: list[OarJob] = []
    try:
        bobs_job = submit(bob, tz, OarSubmission(resources=("core=1",), walltime=300), "rennes", bobs)
        mine = submit(access, tz, OarSubmission(resources=("core=1",), walltime=300), "nancy", cleanup)
        outcomes = performed(
            oardel(
                [
                    (bobs_job.job_id, "rennes"),
                    (987654321, "rennes"),
                    (mine.job_id, "nancy"),
                    (mine.job_id, dead_frontend),
                ],
                access,
            )
        )
        assert [o.status for o in outcomes] == [
            DelStatus.NOT_YOURS,
            DelStatus.NOT_FOUND,
            DelStatus.DELETED,
            DelStatus.UNREACHABLE,
        ]
        assert isinstance(outcomes[0].error, Rejected) and "not the right user" in outcomes[0].error.reason
        assert isinstance(outcomes[3].error, Unreachable)
        assert [o.job for o in outcomes][2] == mine
    finally:
        performed(oardel([(j.job_id, j.frontend) for j in bobs], bob))


def test_advance_reservation_accepted_and_start_parsed(spare: FrontendAccess, tz: ZoneInfo, spare_cleanup) -> None:
    start = int(time.time()) + 3600
    sub = OarSubmission(resources=("nodes=1",), walltime=600, reservation_date=start)
    job = submit(spare, tz, sub, "rennes", spare_cleanup)
    info = performed(get_oar_job_info(job.job_id, "rennes", spare)).unwrap()
    assert info.is_reservation
    assert info.predicted_start == start
    assert info.state is OarState.WAITING
    # waiting for it is bounded: a timeout value, and the prediction was reported
    seen: list[int | None] = []
    began = time.monotonic()
    waited = performed(wait_oar_job_start(job.job_id, "rennes", spare, 2.0, seen.append, policy=FAST))
    assert isinstance(waited.failure(), Timeout)
    assert time.monotonic() - began < 15
    assert seen == [start]


def test_every_submission_option_is_accepted(access: FrontendAccess, tz: ZoneInfo, cleanup) -> None:
    subs = {
        "deploy": OarSubmission(
            resources=("nodes=1",),
            walltime=300,
            job_type=("deploy",),
            queue="default",
            sql_properties="cluster='parasilo'",
            name="with spaces in it",
            project="my project",
            directory="/tmp",
        ),
        "besteffort": OarSubmission(resources=("core=1",), walltime=300, job_type=("besteffort",)),
        "noop": OarSubmission(
            resources=("core=1",),
            walltime=300,
            job_type=("noop",),
            sql_properties="cluster = 'paravance' AND host LIKE 'paravance-%'",
        ),
    }
    jobs = {k: submit(access, tz, s, "rennes", cleanup) for k, s in subs.items()}
    infos = {k: performed(get_oar_job_info(j.job_id, "rennes", access)).unwrap() for k, j in jobs.items()}
    deploy = infos["deploy"]
    assert "deploy" in deploy.types
    assert deploy.name == "with spaces in it"
    assert deploy.project == "my project"
    assert deploy.queue == "default"
    assert deploy.properties is not None
    assert "cluster='parasilo'" in deploy.properties
    assert deploy.launching_directory == "/tmp"
    assert infos["besteffort"].queue == "besteffort" and "besteffort" in infos["besteffort"].types
    assert "noop" in infos["noop"].types
    noop_properties = infos["noop"].properties
    assert noop_properties is not None
    assert "paravance-%" in noop_properties


@pytest.mark.parametrize(
    ("sub", "exit_code", "words"),
    [
        (OarSubmission(resources=("nodes=1",), walltime=60, sql_properties="nosuchprop = 'x'"), 8, "nosuchprop"),
        (OarSubmission(resources=("nodes=100",), walltime=60), 8, "not enough resources"),
        (OarSubmission(resources=("nodes=1",), walltime=60, queue="nosuchqueue"), 248, "nosuchqueue"),
        (OarSubmission(resources=("nodes=1",), walltime=60, reservation_date=1_000_000_000), 10, "too old"),
    ],
    ids=["bad-property", "too-many-nodes", "bad-queue", "reservation-in-the-past"],
)
def test_real_rejections_are_typed(access: FrontendAccess, tz: ZoneInfo, sub, exit_code: int, words: str) -> None:
    err = performed(oarsub([(sub, "nancy")], access, tz=tz)[0]).failure()
    assert isinstance(err, Rejected), err
    assert err.exit_code == exit_code
    assert words.lower() in (err.reason + err.output).lower()
    assert err.frontend == "nancy"


def test_oarsubgrid_with_an_unreachable_site_leaves_no_job(  # execo: [] and jobs possibly still alive
    access: FrontendAccess, tz: ZoneInfo, live_frontends, dead_frontend: str
) -> None:
    marker = f"grid-{uuid.uuid4().hex[:12]}"
    sub = OarSubmission(resources=("core=1",), walltime=300, name=marker)
    sites = (live_frontends[0], live_frontends[1], dead_frontend)
    err = performed(oarsubgrid([(sub, s) for s in sites], access=access, tz=tz)).failure()
    assert isinstance(err, Partial)
    assert [k for k, _ in err.failed] == [dead_frontend]
    assert isinstance(err.failed[0][1], Unreachable)
    assert len(err.undone) == 2
    # as soon as the call returns, the real site shows no live job from that call
    out = ssh_out(access, ("oarstat", "-u", "-f", "-J"))
    infos = parse_oarstat_jobs_json(out.exit_code, out.stdout, out.stderr).unwrap()
    assert [i.job_id for i in infos if i.name == marker and not i.state.is_final] == []


def test_oarsubgrid_all_accepted(access: FrontendAccess, tz: ZoneInfo, live_frontends, cleanup) -> None:
    sub = OarSubmission(resources=("core=1",), walltime=120)
    jobs = performed(oarsubgrid([(sub, s) for s in live_frontends], walltime=300, access=access, tz=tz)).unwrap()
    cleanup.extend(jobs)
    assert tuple(j.frontend for j in jobs) == live_frontends
    infos = performed(poll_jobs(jobs, access))
    assert all(i.unwrap().walltime == 300 for i in infos)


def test_current_jobs_one_call_per_frontend_with_windows(  # execo: one more ssh per job, KeyError if unscheduled
    spare: FrontendAccess, tz: ZoneInfo, live_frontends, dead_frontend: str, spare_cleanup
) -> None:
    job = submit(spare, tz, OarSubmission(resources=("core=1",), walltime=300), "rennes", spare_cleanup)
    resa_start = int(time.time()) + 7200
    resa = submit(
        spare,
        tz,
        OarSubmission(resources=("core=1",), walltime=300, reservation_date=resa_start),
        "rennes",
        spare_cleanup,
    )
    frontends = [*live_frontends, dead_frontend]
    everything = performed(get_current_oar_jobs(frontends, access=spare)).unwrap()
    for f in live_frontends:
        assert OarJob(job.job_id, f) in everything.jobs and OarJob(resa.job_id, f) in everything.jobs
    assert [k for k, _ in everything.failed] == [dead_frontend]
    later = performed(
        get_current_oar_jobs(["lyon"], start_between=(resa_start - 60, resa_start + 60), access=spare)
    ).unwrap()
    assert OarJob(resa.job_id, "lyon") in later.jobs and OarJob(job.job_id, "lyon") not in later.jobs
    ends = performed(
        get_current_oar_jobs(["lyon"], end_between=(resa_start + 240, resa_start + 360), access=spare)
    ).unwrap()
    assert [j.job_id for j in ends.jobs if j.job_id in (job.job_id, resa.job_id)] == [resa.job_id]
    assert isinstance(performed(get_current_oar_jobs([dead_frontend], access=spare)).failure(), Unreachable)


def test_batched_watcher_waits_for_all(access: FrontendAccess, tz: ZoneInfo, cleanup) -> None:
    sub = OarSubmission(resources=("core=1",), walltime=300)
    jobs = [submit(access, tz, sub, f, cleanup) for f in ("rennes", "nancy", "rennes")]
    ghost = OarJob(987654321, "nancy")
    progress: list[tuple[OarJobInfo | None, ...]] = []
    results = performed(wait_jobs_start([*jobs, ghost], access, 90, policy=FAST, on_progress=progress.append))
    for job, res in zip(jobs, results, strict=False):
        assert res.unwrap().job_id == job.job_id and res.unwrap().state.is_running
    assert isinstance(results[3].failure(), NotFound)
    assert progress and all(len(p) == 4 for p in progress)
    assert all(p[3] is None for p in progress)  # the ghost is never read
    last = progress[-1]
    assert all(i is not None and i.state.is_running for i in last[:3])


def test_metacharacters_reach_oar_byte_for_byte(access: FrontendAccess, tz: ZoneInfo, cleanup) -> None:
    """execo wraps values in double quotes without escaping: $, backticks and quotes were expanded or broke."""
    name = 'n a"me $(id) `x`;|&*?~\\ é日本'
    command = "echo 'a  b' \"$HOME\" `true` ; exit 0 # ~ * ? \\ $x it's"
    sub = OarSubmission(resources=("core=1",), walltime=300, name=name, command=command)
    job = submit(access, tz, sub, "lyon", cleanup)
    info = oarstat_json(access, job.job_id)[job.job_id]
    assert info.name == name
    assert info.command == command


def test_single_quote_in_name_is_refused_by_oar_itself(access: FrontendAccess, tz: ZoneInfo) -> None:
    # OAR 2.5.9's oarsub pastes the name into SQL unescaped: the database refuses it, oarsub exits 8.
    sub = OarSubmission(resources=("core=1",), walltime=60, name="it's")
    err = performed(oarsub([(sub, "lyon")], access, tz=tz)[0]).failure()
    assert isinstance(err, Rejected)
    assert err.exit_code == 8
    assert "syntax error" in err.reason


def test_waiting_on_an_unreachable_frontend_gives_up_with_the_error(access: FrontendAccess, dead_frontend: str) -> None:
    began = time.monotonic()
    err = performed(wait_oar_job_start(1, dead_frontend, access, 60, policy=FAST)).failure()
    assert isinstance(err, Unreachable)
    assert dead_frontend in err.host
    assert time.monotonic() - began < 30  # a few retries, not the whole 60 s budget


def test_one_connection_per_frontend_per_poll(spare: FrontendAccess, tz: ZoneInfo, testbed: Testbed, spare_cleanup):
    # counted on the real frontend sshd's log: logins of the spare user (no other test logs in as it meanwhile)
    log = testbed.state_dir / "log" / "frontend-sshd.log"
    user = spare.params.user

    def logins() -> int:
        return log.read_text(errors="replace").count(f"Accepted publickey for {user} ")

    sub = OarSubmission(resources=("core=1",), walltime=300)
    jobs = [submit(spare, tz, sub, f, spare_cleanup) for f in ("rennes", "nancy", "rennes", "nancy", "rennes")]
    before = logins()
    infos = performed(poll_jobs(jobs, spare))
    assert [i.unwrap().job_id for i in infos] == [j.job_id for j in jobs]
    assert logins() - before == 2  # 5 jobs on 2 frontends: 2 oarstat calls
    before = logins()
    current = performed(get_current_oar_jobs(["rennes", "nancy", "lyon"], access=spare)).unwrap()
    assert {j.job_id for j in jobs} <= {j.job_id for j in current.jobs}
    assert logins() - before == 3
