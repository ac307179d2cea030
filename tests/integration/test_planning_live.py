"""The planning read from the REAL testbed OAR site (its PostgreSQL database and its REST API), on a running job
and an advance reservation submitted by the test through the frontend; compute_slots on it.

The reservation is placed at a random minute far in the future so that no other test's job is there; every job
submitted here is deleted at the end (no reservation leaked).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from g5k.api import APIConnection
from g5k.cli.main import main
from g5k.db import DbSettings
from g5k.oar import get_oar_job_info, oardel, oarsub, wait_oar_job_start
from g5k.planning import get_planning
from g5k.results import performed
from returns.io import IOSuccess
from returns.unsafe import unsafe_perform_io

from g5kpure.config import ConnectionParams, FrontendAccess
from g5kpure.errors import Rejected
from g5kpure.oar import OarSubmission
from g5kpure.planning import EXECO_END_MARGIN, Planning, compute_slots, distribute_hosts, find_free_slot, get_jobs_specs
from tests.conftest import Testbed

pytestmark = pytest.mark.integration

RUN_WALLTIME = 1200
RESA_WALLTIME = 3600


class Submitted:
    """Jobs submitted by this module (job id, access), deleted at the end."""

    def __init__(self) -> None:
        self.jobs: list[tuple[int, FrontendAccess]] = []

    def submit(self, sub: OarSubmission, users: list[ConnectionParams], tz: str) -> tuple[int, FrontendAccess]:
        """Submit as the first user OAR accepts (OAR allows two waiting reservations per user); retry a while."""
        last = None
        for _ in range(30):
            for params in users:
                access = FrontendAccess(params)
                (result,) = oarsub([(sub, "rennes")], access, 120, tz=ZoneInfo(tz))
                if isinstance(result, IOSuccess):
                    job = performed(result).unwrap()
                    self.jobs.append((job.job_id, access))
                    return job.job_id, access
                last = performed(result).failure()
                if not (isinstance(last, Rejected) and "advance reservations" in last.message):
                    raise AssertionError(f"oarsub refused: {last}")
            time.sleep(2)
        raise AssertionError(f"oarsub refused: {last}")

    def delete_all(self) -> None:
        for job_id, access in self.jobs:
            unsafe_perform_io(oardel([(job_id, "rennes")], access, 120))


@pytest.fixture(scope="module")
def jobs(testbed: Testbed) -> Iterator[tuple[int, int, tuple[str, ...], int, int]]:
    """A running job (id, start, hosts) and an advance reservation (id, start), both of this test."""
    submitted = Submitted()
    users = [testbed.frontend, testbed.other_user]
    try:
        run_id, run_access = submitted.submit(
            OarSubmission(resources="nodes=1", walltime=RUN_WALLTIME, command=f"sleep {RUN_WALLTIME}"),
            users, testbed.timezone)
        started = wait_oar_job_start(run_id, "rennes", run_access, 120)
        info = performed(started).unwrap()
        assert info.start_time is not None and len(info.assigned_hosts) == 1
        rnd = random.Random()
        resa_at = (int(time.time()) // 60 + rnd.randint(30 * 24 * 60, 300 * 24 * 60)) * 60
        resa_id, _ = submitted.submit(
            OarSubmission(resources="nodes=2", walltime=RESA_WALLTIME, reservation_date=resa_at), users,
            testbed.timezone)
        yield run_id, info.start_time, info.assigned_hosts, resa_id, resa_at
    finally:
        submitted.delete_all()


def db_settings(testbed: Testbed) -> DbSettings:
    db = testbed.db
    return DbSettings(dbname=db.dbname, user=db.user, password=db.password, port=db.port, host_template=db.host,
                      tunnel=False)


def read(testbed: Testbed, source: str, start: int, end: int) -> Planning:
    if source == "oardb":
        got = get_planning(["rennes"], source="oardb", starttime=start, endtime=end, db_settings=db_settings(testbed))
    else:
        conn = APIConnection(testbed.api_url, use_keyring=False)
        got = get_planning(["rennes"], source="oarapi", starttime=start, endtime=end, oarapi={"rennes": conn})
    planning = performed(got).unwrap()
    assert planning.failed_sites == ()
    return planning


@pytest.mark.parametrize("source", ["oardb", "oarapi"])
def test_planning_shows_the_jobs_of_the_test(
    testbed: Testbed, jobs: tuple[int, int, tuple[str, ...], int, int], source: str
) -> None:
    _, run_start, run_hosts, _, resa_at = jobs
    start = int(time.time())
    planning = read(testbed, source, start, resa_at + 4 * 3600)
    # (other tests may set a node Dead for a while: it is then left out, never invented)
    assert {h.host for h in planning.hosts} <= set(testbed.nodes) and len(planning.hosts) >= 3
    # the running job: its host busy from now until at least its end plus the margin
    (run_host,) = run_hosts
    busy = planning.host(run_host)
    assert busy is not None and busy.busy[0][0] == start
    assert busy.busy[0][1] >= run_start + RUN_WALLTIME + EXECO_END_MARGIN
    # the reservation: exactly two hosts busy from its start, for its walltime plus the margin
    at_resa = [h for h in planning.hosts if any(s == resa_at for s, _ in h.busy)]
    assert len(at_resa) == 2
    for h in at_resa:
        (interval,) = [iv for iv in h.busy if iv[0] == resa_at]
        assert interval == (resa_at, resa_at + RESA_WALLTIME + EXECO_END_MARGIN)
    # compute_slots agrees: the reservation's hosts are not free in the slot starting at it, free after it
    slots = compute_slots(planning, 1800, include_hosts=True).unwrap()
    by_start = {s.start: s for s in slots.slots}
    assert resa_at in by_start
    free_at = by_start[resa_at].hosts or frozenset()
    assert not free_at & {h.host for h in at_resa}
    after = by_start[resa_at + RESA_WALLTIME + EXECO_END_MARGIN].hosts or frozenset()
    assert {h.host for h in at_resa} <= after
    # the whole site for 4 hours: the first such slot starts after the running job, never across the reservation
    slot = find_free_slot(compute_slots(planning, 4 * 3600).unwrap(), {"rennes": len(testbed.nodes)}).unwrap()
    assert slot.start >= run_start + RUN_WALLTIME + EXECO_END_MARGIN
    assert slot.end <= resa_at or slot.start >= resa_at + RESA_WALLTIME + EXECO_END_MARGIN


def test_database_and_rest_api_agree(testbed: Testbed, jobs: tuple[int, int, tuple[str, ...], int, int]) -> None:
    _, run_start, run_hosts, resa_id, resa_at = jobs
    start = int(time.time()) + 5
    from_db = read(testbed, "oardb", start, resa_at + 4 * 3600)
    from_api = read(testbed, "oarapi", start, resa_at + 4 * 3600)
    # other tests' jobs come and go between the two reads: compare what this test's jobs make busy
    run_end = run_start + RUN_WALLTIME + EXECO_END_MARGIN
    resa = (resa_at, resa_at + RESA_WALLTIME + EXECO_END_MARGIN)

    def ours(planning: Planning) -> dict[str, tuple[tuple[int, int], ...]]:
        return {h.host: tuple(iv for iv in h.busy if iv == resa or (iv[0] <= run_end - 1 < iv[1]
                                                                    and h.host in run_hosts))
                for h in planning.hosts}

    assert ours(from_db) == ours(from_api)
    assert sum(1 for v in ours(from_db).values() if resa in v) == 2
    # OAR itself says the reservation is scheduled at that start
    info = performed(get_oar_job_info(resa_id, "rennes", FrontendAccess(testbed.frontend), 60)).unwrap()
    assert info.reservation == "Scheduled"
    assert resa_at in (info.start_time, info.scheduled_start)
    if info.assigned_hosts:
        at_resa = {h.host for h in from_db.hosts if any(s == resa_at for s, _ in h.busy)}
        assert set(info.assigned_hosts) == at_resa


def test_unreachable_database_is_reported_per_site(testbed: Testbed) -> None:
    bad = DbSettings(dbname=testbed.db.dbname, user=testbed.db.user, password=testbed.db.password, port=1,
                     host_template="127.0.0.1", tunnel=False, connect_timeout=2)
    start = int(time.time())
    got = get_planning(["rennes"], source="oardb", starttime=start, db_settings=bad)
    error = performed(got).failure()
    assert "rennes" in error.message and "127.0.0.1" in error.message


def test_cli_plan_reads_the_live_site(
    testbed: Testbed, jobs: tuple[int, int, tuple[str, ...], int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, _, _, resa_at = jobs
    before = int(time.time())
    code = main(["plan", "--source", "oarapi", "--oarapi", f"rennes={testbed.api_url}", "--queues", "all",
                 "--want", "rennes:2", "--walltime", "0:30", "--json", "--no-plots"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"] == "oarapi" and data["failed_sites"] == {}
    assert before + 60 <= data["start"] <= int(time.time()) + 60
    assert data["slot"]["start"] >= data["start"] and data["slot"]["free"]["rennes"] >= 2
    assert data["slot"]["start"] < resa_at  # a 30-minute slot for 2 of 8 nodes exists long before the reservation
    (job,) = data["jobs"]
    assert job["site"] == "rennes" and job["argv"][:3] == ["oarsub", "-l", "nodes=2,walltime=0:30:00"]


def test_job_specs_are_accepted_by_real_oar(
    testbed: Testbed, jobs: tuple[int, int, tuple[str, ...], int, int]
) -> None:
    """The resource strings get_jobs_specs writes (cluster, exclusions, site remainder) are accepted by the real
    oarsub, and OAR places the reservation on hosts that honour them."""
    _, _, _, _, resa_at = jobs
    start = resa_at + 86400  # a free day far away: nothing of any test there
    planning = read(testbed, "oardb", start, start + 86400)
    excluded = ("paravance-1.rennes.grid5000.fr",)
    slots = compute_slots(planning, 1800, excluded_elements=excluded).unwrap()
    wanted = {"rennes": 3, "parasilo": 2}
    slot = find_free_slot(slots, wanted).unwrap()
    assert slot.start == start
    share = distribute_hosts(slot, slots, wanted, excluded_elements=excluded).unwrap()
    assert share == {"parasilo": 2, "rennes": 1}
    (spec,) = get_jobs_specs(share, slots, slot, excluded_elements=excluded, name="planned").unwrap()
    # the parasilo request needs no filter: the excluded host is a paravance one
    assert spec.resources == "{cluster='parasilo'}/nodes=2+{host NOT IN ('paravance-1.rennes.grid5000.fr')}/nodes=1"
    submitted = Submitted()
    try:
        job_id, _ = submitted.submit(
            OarSubmission(resources=spec.resources, walltime=spec.walltime, reservation_date=spec.reservation,
                          name=spec.name),
            [testbed.frontend, testbed.other_user], testbed.timezone)
        after = read(testbed, "oardb", start, start + 86400)
        taken = [h for h in after.hosts if h.busy and h.busy[0][0] == start]
        assert len(taken) == 3 and job_id > 0
        assert "paravance-1.rennes.grid5000.fr" not in {h.host for h in taken}
        assert sum(1 for h in taken if h.cluster == "parasilo") >= 2
    finally:
        submitted.delete_all()


def test_excluded_cluster_is_honoured_by_real_oar(
    testbed: Testbed, jobs: tuple[int, int, tuple[str, ...], int, int]
) -> None:
    """A cluster excluded from the slots is in the ``cluster NOT IN`` filter of its site's request even when the
    caller does not repeat the exclusion (the slots remember it), and the real OAR honours it."""
    _, _, _, _, resa_at = jobs
    start = resa_at + 3 * 86400  # a free day far away: nothing of any test there
    planning = read(testbed, "oardb", start, start + 86400)
    clusters = sorted({h.cluster for h in planning.hosts})
    assert len(clusters) >= 2
    excluded = clusters[0]
    slots = compute_slots(planning, 1800, excluded_elements=[excluded]).unwrap()
    slot = find_free_slot(slots, {"rennes": 2}).unwrap()
    share = distribute_hosts(slot, slots, {"rennes": 2}).unwrap()
    (spec,) = get_jobs_specs(share, slots, slot, name="planned-excl").unwrap()
    assert spec.resources == f"{{cluster NOT IN ('{excluded}')}}/nodes=2"
    submitted = Submitted()
    try:
        submitted.submit(
            OarSubmission(resources=spec.resources, walltime=spec.walltime, reservation_date=spec.reservation,
                          name=spec.name),
            [testbed.frontend, testbed.other_user], testbed.timezone)
        after = read(testbed, "oardb", start, start + 86400)
        taken = [h for h in after.hosts if h.busy and h.busy[0][0] == slot.start]
        assert len(taken) == 2 and all(h.cluster != excluded for h in taken)
    finally:
        submitted.delete_all()
