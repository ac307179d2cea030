"""The library's OAR functions against both OAR generations of the testbed, the same tests for each:
``nancy`` runs OAR 2.5.9's user commands (text format 2), ``grenoble`` OAR 2.6.1's (the user commands of
Grid'5000's 2.5.10, text format 3: ``# `` oarsub messages, snake_case oarstat keys). Both reach the same OAR
server, so a job is also read through the other generation and must read the same.

Nothing here tells the library which generation it talks to. Every job a test creates is deleted before it ends.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import attrs
import pytest
from g5k.oar import (
    get_current_oar_jobs,
    get_oar_job_info,
    get_oar_job_kavlan,
    get_oar_job_nodes,
    get_oar_job_subnets,
    oardel,
    oarsub,
    oarsubgrid,
    wait_jobs_start,
)
from g5k.oar_version import frontend_oar_version
from g5k.reserve import find_jobs_by_name, reserve_or_reattach
from g5k.results import performed
from g5k.ssh import output_or_failure, run
from returns.result import Success

from g5kpure.config import CommandOutput, ConnectionParams, FrontendAccess
from g5kpure.errors import Partial, Rejected, Unreachable
from g5kpure.oar import (
    DelStatus,
    OarGeneration,
    OarJob,
    OarJobInfo,
    OarState,
    OarstatFormat,
    OarSubmission,
    PollPolicy,
    parse_job_nodes,
    parse_oarstat_events,
    parse_oarstat_job_text,
    parse_oarstat_jobs_json,
    parse_oarstat_list,
    parse_oarstat_states,
    parse_oarsub_output,
)
from tests.conftest import Testbed, wait_for_reservation_quota

pytestmark = pytest.mark.integration

FAST = PollPolicy(interval=1.0, near_interval=0.5, max_sleep=2.0)
OLD, NEW = "nancy", "grenoble"
GENERATIONS = {OLD: (OarGeneration.OAR_2_5, OarstatFormat.CAMEL_CASE),
               NEW: (OarGeneration.OAR_2_6, OarstatFormat.FORMAT_3)}  # fmt: skip


@pytest.fixture(params=[OLD, NEW], ids=["oar-2.5.9", "oar-2.6.1"])
def frontend(request: pytest.FixtureRequest, live_frontends: tuple[str, ...], oar26_frontends: tuple[str, ...]) -> str:
    """A frontend of each generation: nancy (OAR 2.5.9), grenoble (OAR 2.6.1)."""
    name: str = request.param
    expected = live_frontends if name == OLD else oar26_frontends
    if name not in expected:
        pytest.fail(f"the testbed has no frontend {name} among {expected}: run `make testbed`")
    return name


@pytest.fixture(scope="module")
def access(frontend_params: ConnectionParams) -> FrontendAccess:
    return FrontendAccess(frontend_params)


@pytest.fixture(scope="module")
def tz(oar_tz: str) -> ZoneInfo:
    return ZoneInfo(oar_tz)


@pytest.fixture
def created(access: FrontendAccess) -> Iterator[list[OarJob]]:
    """Jobs a test created as the test user; deleted afterwards whatever happens."""
    jobs: list[OarJob] = []
    yield jobs
    if jobs:
        performed(oardel([(j.job_id, j.frontend) for j in jobs], access))


def ssh_out(access: FrontendAccess, frontend: str, *argv: str) -> CommandOutput:
    out = output_or_failure(run(argv, frontend, access))
    assert isinstance(out, CommandOutput), out
    return out


def submit(access: FrontendAccess, tz: ZoneInfo, sub: OarSubmission, frontend: str, jobs: list[OarJob]) -> OarJob:
    result = performed(oarsub([(sub, frontend)], access, tz=tz)[0])
    assert isinstance(result, Success), result
    job: OarJob = result.unwrap()
    jobs.append(job)
    return job


def printed_by_both(a: OarJobInfo, b: OarJobInfo) -> dict[str, tuple[object, object]]:
    """The fields both readings print whose values differ."""
    skip = set(a.not_printed) | set(b.not_printed) | {"not_printed"}
    return {f.name: (getattr(a, f.name), getattr(b, f.name)) for f in attrs.fields(OarJobInfo)
            if f.name not in skip and getattr(a, f.name) != getattr(b, f.name)}  # fmt: skip


def wait_state(access: FrontendAccess, job: OarJob, reached: Callable[[OarState], bool],
               within: float = 45.0) -> OarState:
    """The job's state once ``reached`` holds for it (or the last one seen after ``within`` s)."""
    deadline = time.monotonic() + within
    state = OarState.UNKNOWN
    while time.monotonic() < deadline:
        state = performed(get_oar_job_info(job.job_id, job.frontend, access)).unwrap().state
        if reached(state):
            break
        time.sleep(0.5)
    return state


def running(state: OarState) -> bool:
    # wait_jobs_start returns from Launching on: a test comparing two readings waits for the state to settle
    return state is OarState.RUNNING


def test_version_and_output_format(frontend: str, access: FrontendAccess) -> None:
    oar = performed(frontend_oar_version(frontend, access)).unwrap()
    assert (oar.generation, oar.text_format) == GENERATIONS[frontend]
    assert oar.oarstat.text == oar.oarsub.text == ("2.5.9" if frontend == OLD else "2.6.1")


def test_submit_watch_nodes_info_delete(frontend: str, access: FrontendAccess, tz: ZoneInfo, testbed: Testbed,
                                        created: list[OarJob]) -> None:  # fmt: skip
    name = f"gen-{uuid.uuid4().hex[:8]}"
    sub = OarSubmission(resources=("nodes=1",), walltime=600, name=name, command="sleep 600")
    jobs = [submit(access, tz, sub, frontend, created) for _ in range(2)]
    # the batched watcher: one oarstat -f -J per poll for both jobs
    started = performed(wait_jobs_start(jobs, access, 90, policy=FAST))
    infos = [s.unwrap() for s in started]
    assert all(i.state.is_running and i.name == name and i.owner == "alice" for i in infos)
    assert [wait_state(access, j, running) for j in jobs] == [OarState.RUNNING] * 2
    assert all(i.job_kind == "PASSIVE" and "origin=g5kpure" in i.types and i.walltime == 600 for i in infos)
    job = jobs[0]
    nodes = performed(get_oar_job_nodes(job.job_id, frontend, access, 30, policy=FAST)).unwrap()
    assert len(nodes) == 1 and set(nodes) <= set(testbed.nodes)
    p = ssh_out(access, frontend, "oarstat", "-p", "-j", str(job.job_id))
    assert parse_job_nodes(p.exit_code, p.stdout, p.stderr).unwrap() == nodes
    # the text of this generation's default format reads as its JSON does
    text = ssh_out(access, frontend, "oarstat", "-f", "-j", str(job.job_id))
    from_text = parse_oarstat_job_text(text.exit_code, text.stdout, text.stderr, tz=tz).unwrap()
    from_json = performed(get_oar_job_info(job.job_id, frontend, access)).unwrap()
    assert printed_by_both(from_text, from_json) == {} and from_text.assigned_hosts == nodes
    # the listing, the states and the events of this generation
    listed = ssh_out(access, frontend, "oarstat", "-j", str(job.job_id))
    (row,) = parse_oarstat_list(listed.exit_code, listed.stdout, listed.stderr, tz=tz).unwrap()
    assert (row.job_id, row.state, row.user) == (job.job_id, OarState.RUNNING, "alice")
    states = ssh_out(access, frontend, "oarstat", "-s", "-j", str(jobs[0].job_id), "-j", str(jobs[1].job_id))
    assert parse_oarstat_states(states.exit_code, states.stdout, states.stderr).unwrap() == {
        j.job_id: OarState.RUNNING for j in jobs
    }  # fmt: skip
    current = performed(get_current_oar_jobs([frontend], access=access)).unwrap()
    assert {j.job_id for j in jobs} <= {j.job_id for j in current.jobs}
    # delete: OAR registers it, the job ends, a second deletion finds it finished
    (outcome,) = performed(oardel([(job.job_id, frontend)], access))
    assert outcome.status is DelStatus.DELETED and outcome.state_before is OarState.RUNNING
    assert wait_state(access, job, lambda state: state.is_final) is OarState.ERROR
    (again,) = performed(oardel([(job.job_id, frontend)], access))
    assert again.status is DelStatus.ALREADY_FINISHED
    events = ssh_out(access, frontend, "oarstat", "-e", "-j", str(job.job_id))
    kinds = [e.kind for _, e in parse_oarstat_events(events.exit_code, events.stdout, events.stderr, tz=tz).unwrap()]
    assert kinds[0] == "FRAG_JOB_REQUEST"


def test_oarsub_json_and_refusals(frontend: str, access: FrontendAccess, tz: ZoneInfo, created: list[OarJob]) -> None:
    out = ssh_out(access, frontend, "oarsub", "-J", "-l", "core=1,walltime=0:05:00", "-n", "gen-json", "sleep 300")
    submitted = parse_oarsub_output(out.exit_code, out.stdout, out.stderr, tz=tz).unwrap()
    created.append(OarJob(submitted.job_id, frontend))
    info = performed(get_oar_job_info(submitted.job_id, frontend, access)).unwrap()
    assert info.name == "gen-json" and info.owner == "alice"
    too_many = OarSubmission(resources=("nodes=9",), walltime=60)
    err = performed(oarsub([(too_many, frontend)], access, tz=tz)[0]).failure()
    assert isinstance(err, Rejected) and err.exit_code == 8 and err.frontend == frontend
    assert err.reason == "There are not enough resources for your request"
    bad_type = OarSubmission(resources=("core=1",), walltime=60, job_type=("nosuchtype",))
    err = performed(oarsub([(bad_type, frontend)], access, tz=tz)[0]).failure()
    assert isinstance(err, Rejected) and err.reason == "[ADMISSION RULE] Error: unknown job type: nosuchtype"


def test_reservation_accepted_then_refused_with_its_could_run_at(
    frontend: str, other_user_params: ConnectionParams, tz: ZoneInfo
) -> None:
    bob = FrontendAccess(other_user_params)  # reservations as bob: alice's and carol's quotas stay for others
    start = (int(time.time()) + 3 * 86400 + random.randrange(0, 86400)) // 60 * 60
    name = f"gen-resa-{uuid.uuid4().hex[:8]}"
    date = datetime.fromtimestamp(start, tz).strftime("%Y-%m-%d %H:%M:%S")
    made: list[OarJob] = []
    try:
        wait_for_reservation_quota(bob, {frontend: 1}, 180.0)
        # through the raw command, to read this generation's acceptance line ("# Reservation valid --> OK" on 2.6)
        argv = ("oarsub", "-r", date, "-p", "cluster='parasilo'", "-l", "nodes=4,walltime=1:00:00", "-n", name)
        out = ssh_out(bob, frontend, *argv)
        read = parse_oarsub_output(out.exit_code, out.stdout, out.stderr, tz=tz)
        if isinstance(read, Success):
            made.append(OarJob(read.unwrap().job_id, frontend))
        assert read.unwrap().reservation_accepted is True, out
        info = performed(get_oar_job_info(made[0].job_id, frontend, bob)).unwrap()
        assert info.is_reservation and info.predicted_start == start and info.job_kind == "INTERACTIVE"
        refused_sub = OarSubmission(resources=("nodes=1",), walltime=600, sql_properties="cluster='parasilo'",
                                    reservation_date=start, name=f"{name}-ko")  # fmt: skip
        refused = performed(oarsub([(refused_sub, frontend)], bob, tz=tz)[0])
        if isinstance(refused, Success):
            made.append(refused.unwrap())
        err = refused.failure()
        assert isinstance(err, Rejected) and err.exit_code == 10 and err.frontend == frontend
        assert err.could_run_at is not None and start + 3600 <= err.could_run_at <= start + 3600 + 300
        assert "could run at" in err.reason and "# " not in err.reason
    finally:
        performed(oardel([(j.job_id, j.frontend) for j in made], bob))


def test_reattach_by_name(frontend: str, access: FrontendAccess, tz: ZoneInfo, created: list[OarJob]) -> None:
    name = f"gen-reattach-{uuid.uuid4().hex[:8]}"
    specs = [(OarSubmission(resources=("core=1",), walltime=300), frontend)]
    first = performed(reserve_or_reattach(specs, name, access, tz=tz)).unwrap()
    created.extend(first.jobs)
    assert not first.reattached and [j.frontend for j in first.jobs] == [frontend]
    again = performed(reserve_or_reattach(specs, name, access, tz=tz)).unwrap()
    assert again.reattached and again.jobs == first.jobs
    assert [(i.name, i.owner) for i in again.infos] == [(name, "alice")]
    found = performed(find_jobs_by_name(name, [frontend], access)).unwrap()
    assert found.jobs == first.jobs


def test_oarsubgrid_rollback_leaves_no_job(frontend: str, access: FrontendAccess, tz: ZoneInfo,
                                           dead_frontend: str) -> None:  # fmt: skip
    marker = f"gen-grid-{uuid.uuid4().hex[:8]}"
    sub = OarSubmission(resources=("core=1",), walltime=300, name=marker)
    err = performed(oarsubgrid([(sub, frontend), (sub, dead_frontend)], access=access, tz=tz)).failure()
    assert isinstance(err, Partial) and [k for k, _ in err.failed] == [dead_frontend]
    assert isinstance(err.failed[0][1], Unreachable) and len(err.undone) == 1
    out = ssh_out(access, frontend, "oarstat", "-u", "-f", "-J")
    infos = parse_oarstat_jobs_json(out.exit_code, out.stdout, out.stderr).unwrap()
    assert [i.job_id for i in infos if i.name == marker and not i.state.is_final] == []


def test_subnets_and_kavlan_stand_ins(frontend: str, access: FrontendAccess, tz: ZoneInfo,
                                      created: list[OarJob]) -> None:  # fmt: skip
    job = submit(access, tz, OarSubmission(resources=("core=1",), walltime=300, name="gen slash_22=1 kavlan=1"),
                 frontend, created)  # fmt: skip
    pairs, params = performed(get_oar_job_subnets(job.job_id, frontend, access, 60, policy=FAST)).unwrap()
    assert len(pairs) == 1022 and params.ip_prefix.endswith("/22")
    vlans = performed(get_oar_job_kavlan(job.job_id, frontend, access, 60, policy=FAST)).unwrap()
    assert vlans == (4 + job.job_id % 6,)


def test_one_job_reads_the_same_through_both_generations(
    access: FrontendAccess, tz: ZoneInfo, live_frontends: tuple[str, ...], oar26_frontends: tuple[str, ...],
    created: list[OarJob],
) -> None:
    assert OLD in live_frontends and NEW in oar26_frontends
    sub = OarSubmission(resources=("core=1",), walltime=300, name="gen-both", command="sleep 300")
    job = submit(access, tz, sub, NEW, created)
    performed(wait_jobs_start([job], access, 60, policy=FAST))[0].unwrap()
    assert wait_state(access, job, running) is OarState.RUNNING
    json_old = performed(get_oar_job_info(job.job_id, OLD, access)).unwrap()
    json_new = performed(get_oar_job_info(job.job_id, NEW, access)).unwrap()
    assert json_new == json_old
    texts = [ssh_out(access, fe, "oarstat", "-f", "-j", str(job.job_id)) for fe in (OLD, NEW)]
    old, new = (parse_oarstat_job_text(t.exit_code, t.stdout, t.stderr, tz=tz).unwrap() for t in texts)
    assert texts[0].stdout.startswith("Job_Id:") and texts[1].stdout.startswith("id:")
    assert new == old and printed_by_both(old, json_old) == {}
