"""Reattach by name and synchronised advance reservations against the testbed's real OAR 2.5.9 site.

The three live frontend names reach ONE OAR server. To make them behave like three sites (each with its own
"my jobs" and its own per-user limit of 2 waiting reservations), each name is reached as a different account
through the adapter's normal per-frontend configuration: rennes as alice, nancy as bob, lyon as carol.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from g5k.cli.main import main
from g5k.oar import get_oar_job_info, oardel, oarsub
from g5k.reserve import find_jobs_by_name, reserve_at_first_common_date, reserve_or_reattach
from g5k.results import performed
from g5k.ssh import output_or_failure, run
from returns.result import Success

from g5kpure.config import CommandOutput, ConnectionParams, FrontendAccess
from g5kpure.errors import NoCommonDate, ReattachConflict, Unreachable
from g5kpure.oar import OarJob, OarJobInfo, OarState, OarSubmission, parse_oarstat_jobs_json
from tests.conftest import wait_for_reservation_quota

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sites(
    frontend_params: ConnectionParams, other_user_params: ConnectionParams, spare_user_params: ConnectionParams
) -> FrontendAccess:
    """rennes as alice, nancy as bob, lyon as carol."""
    return FrontendAccess(frontend_params, per_frontend={"nancy": other_user_params, "lyon": spare_user_params})


@pytest.fixture(scope="module")
def tz(oar_tz: str) -> ZoneInfo:
    return ZoneInfo(oar_tz)


@pytest.fixture
def created(sites: FrontendAccess) -> Iterator[list[OarJob]]:
    """Jobs a test created through ``sites``; deleted afterwards whatever happens."""
    jobs: list[OarJob] = []
    yield jobs
    if jobs:
        performed(oardel([(j.job_id, j.frontend) for j in jobs], sites))


def live_named(sites: FrontendAccess, frontend: str, name: str) -> list[OarJobInfo]:
    """What the real oarstat says: the live jobs of that name of the account behind ``frontend``."""
    out = output_or_failure(run(("oarstat", "-u", "-f", "-J"), frontend, sites))
    assert isinstance(out, CommandOutput), out
    infos = parse_oarstat_jobs_json(out.exit_code, out.stdout, out.stderr).unwrap()
    return [i for i in infos if i.name == name and not i.state.is_final]


def test_reattach_finds_the_jobs_and_submits_nothing_more(
    sites: FrontendAccess, tz: ZoneInfo, live_frontends, dead_frontend: str, created: list[OarJob]
) -> None:
    name = f"reattach-{uuid.uuid4().hex[:10]}"
    sub = OarSubmission(resources=("core=1",), walltime=300)
    specs = [(sub, f) for f in live_frontends]
    first = performed(reserve_or_reattach(specs, name, sites, tz=tz)).unwrap()
    created.extend(first.jobs)
    assert not first.reattached
    assert [j.frontend for j in first.jobs] == list(live_frontends)
    for job in first.jobs:
        assert [i.job_id for i in live_named(sites, job.frontend or "", name)] == [job.job_id]
    # the rerun: the same jobs, nothing submitted
    again = performed(reserve_or_reattach(specs, name, sites, tz=tz)).unwrap()
    assert again.reattached
    assert again.jobs == first.jobs
    assert [i.name for i in again.infos] == [name] * 3
    assert [i.owner for i in again.infos] == ["alice", "bob", "carol"]
    for job in first.jobs:
        assert [i.job_id for i in live_named(sites, job.frontend or "", name)] == [job.job_id]
    # the lookup itself: one answer per frontend, the unreachable one reported
    found = performed(find_jobs_by_name(name, [*live_frontends, dead_frontend], sites)).unwrap()
    assert found.jobs == first.jobs
    assert [f for f, _ in found.failed] == [dead_frontend] and isinstance(found.failed[0][1], Unreachable)
    # once deleted, the name is free again: find_jobs_by_name sees nothing live
    performed(oardel([(j.job_id, j.frontend) for j in first.jobs], sites))
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        gone = performed(find_jobs_by_name(name, live_frontends, sites)).unwrap()
        if not gone.jobs:
            break
        time.sleep(0.5)
    assert gone.jobs == () and gone.failed == ()


def test_partial_presence_is_an_error_and_submits_nothing(
    sites: FrontendAccess, tz: ZoneInfo, live_frontends, dead_frontend: str, created: list[OarJob]
) -> None:
    name = f"partial-{uuid.uuid4().hex[:10]}"
    sub = OarSubmission(resources=("core=1",), walltime=300, name=name)
    only = performed(oarsub([(sub, "rennes")], sites, tz=tz)[0]).unwrap()
    created.append(only)
    err = performed(reserve_or_reattach([(sub, f) for f in live_frontends], name, sites, tz=tz)).failure()
    assert isinstance(err, ReattachConflict), err
    assert err.present == (("rennes", (only.job_id,)),)
    assert err.absent == ("nancy", "lyon")
    assert "not on nancy, lyon" in err.message
    # a site that cannot be read: no decision, nothing submitted either
    down = performed(reserve_or_reattach([(sub, "nancy"), (sub, dead_frontend)], name, sites, tz=tz)).failure()
    assert isinstance(down, ReattachConflict) and [s for s, _ in down.unreadable] == [dead_frontend]
    assert [i.job_id for i in live_named(sites, "rennes", name)] == [only.job_id]
    assert live_named(sites, "nancy", name) == [] and live_named(sites, "lyon", name) == []


def test_common_date_moves_to_oars_hint_on_every_site_and_leaves_nothing_behind(
    sites: FrontendAccess, tz: ZoneInfo, other_user_params: ConnectionParams, created: list[OarJob]
) -> None:
    bob = FrontendAccess(other_user_params)
    name = f"common-{uuid.uuid4().hex[:10]}"
    # a date days ahead at a random minute, so that no other test's reservation is in the way
    start = (int(time.time()) + 2 * 86400 + random.randrange(0, 86400)) // 60 * 60
    blocker_sub = OarSubmission(
        resources=("{cluster='parasilo'}/nodes=4",), walltime=3600, reservation_date=start, name=f"{name}-blocker"
    )
    blockers: list[OarJob] = []
    try:
        # nancy is bob, the blocker too
        wait_for_reservation_quota(sites, {"rennes": 1, "nancy": 2, "lyon": 1}, 240.0)
        blocker = performed(oarsub([(blocker_sub, "rennes")], bob, tz=tz)[0])
        assert isinstance(blocker, Success), blocker
        blockers.append(blocker.unwrap())
        parasilo = OarSubmission(resources=("nodes=1",), walltime=600, sql_properties="cluster='parasilo'", name=name)
        paravance = OarSubmission(resources=("nodes=1",), walltime=600, sql_properties="cluster='paravance'", name=name)
        specs = [(parasilo, "rennes"), (paravance, "nancy"), (parasilo, "lyon")]

        # bounded by not_after: nancy's job accepted at `start` is deleted, the error tells each site's answer
        err = performed(reserve_at_first_common_date(specs, start, start + 600, 5, sites, tz=tz)).failure()
        assert isinstance(err, NoCommonDate), err
        (only,) = err.tries
        rennes, nancy, lyon = only.answers
        assert nancy.job_id is not None and rennes.job_id is None and lyon.job_id is None
        hint = rennes.could_run_at
        assert hint is not None and hint >= start + 3600 and lyon.could_run_at == hint
        assert "after the latest acceptable one" in err.why and err.leaked == ()
        assert performed(get_oar_job_info(nancy.job_id, "nancy", sites)).unwrap().state.is_final
        assert all(live_named(sites, f, name) == [] for f in ("rennes", "nancy", "lyon"))

        wait_for_reservation_quota(sites, {"rennes": 1, "nancy": 1, "lyon": 1}, 240.0)
        # unbounded: the second try lands on OAR's hint on all three sites
        got = performed(reserve_at_first_common_date(specs, start, None, 5, sites, tz=tz))
        if isinstance(got, Success):
            created.extend(got.unwrap().jobs)
        common = got.unwrap()
        assert common.start == hint
        assert [t.date for t in common.tries] == [start, hint]
        first_try, second_try = common.tries
        assert [a.job_id is not None for a in first_try.answers] == [False, True, False]
        assert all(a.job_id is not None for a in second_try.answers)
        assert [j.frontend for j in common.jobs] == ["rennes", "nancy", "lyon"]
        for job, owner in zip(common.jobs, ("alice", "bob", "carol"), strict=True):
            info = performed(get_oar_job_info(job.job_id, job.frontend, sites)).unwrap()
            assert info.is_reservation and info.state is OarState.WAITING
            assert info.predicted_start == hint and info.owner == owner
            # nothing left from the rejected try: the only live job of that name is the one kept
            assert [i.job_id for i in live_named(sites, job.frontend or "", name)] == [job.job_id]
        first_nancy = first_try.answers[1].job_id
        assert first_nancy is not None and first_nancy != common.jobs[1].job_id
        assert performed(get_oar_job_info(first_nancy, "nancy", sites)).unwrap().state.is_final
    finally:
        performed(oardel([(j.job_id, j.frontend) for j in blockers], bob))


def test_cli_reserve_twice_reattaches(
    g5k_config_file, frontend_params: ConnectionParams, capsys, monkeypatch, created: list[OarJob]
) -> None:
    monkeypatch.setenv("G5K_CONFIG", str(g5k_config_file))
    name = f"cli-reserve-{uuid.uuid4().hex[:8]}"
    argv = ["reserve", "--json", "--name", name, "-l", "core=1", "-w", "300s", "--frontend", "rennes", "--tz", "UTC"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    created.extend(OarJob(j["job_id"], j["frontend"]) for j in first["jobs"])
    assert first["reattached"] is False and len(first["jobs"]) == 1
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["reattached"] is True and second["jobs"] == first["jobs"]
    alice = FrontendAccess(frontend_params)
    assert [i.job_id for i in live_named(alice, "rennes", name)] == [first["jobs"][0]["job_id"]]
