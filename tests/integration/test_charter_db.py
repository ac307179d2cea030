"""The charter's remaining allowance read from the REAL OAR database of the testbed, on jobs this test submits.

OAR limits a user to two waiting advance reservations, and the test users are shared with other tests, so:
- the exact hand-computed totals use a far-future work day D (chosen at random, so no other job is there) with
  two reservations of alice and two of bob;
- the running / besteffort checks use today's real jobs and look at the test's own job ids only.
Every job is deleted at the end (no reservation leaked).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from attrs import evolve
from g5k.cli.main import main
from g5k.db import (
    CharterReport,
    DbSettings,
    SqlPlan,
    charter_plans,
    g5k_charter_remaining,
    run_plans,
    site_remaining,
)
from g5k.results import performed
from g5k.ssh import output_or_failure, run
from returns.io import IOFailure, IOResult

from g5kpure.charter import CharterRules, charter_remaining, is_work_day, parse_core_counts, parse_job_rows
from g5kpure.config import CommandOutput, ConnectionParams, FrontendAccess
from g5kpure.errors import AuthError, DbError, G5kError, Timeout, Unreachable
from tests import conftest

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
QUOTA = 16 * 7200  # 4 nodes x 4 cores per cluster, 2 hours each
ALL_DAY = CharterRules(work_weekdays=range(7), fixed_holidays=(), easter_offsets=(), day_start=datetime.min.time(),
                       day_end=datetime.max.time().replace(microsecond=0))
INJECTION = "x' OR '1'='1"


class Jobs:
    """Submits OAR jobs as a testbed user through the frontend and deletes them all at the end."""

    def __init__(self, params: ConnectionParams, oar_tz: str) -> None:
        self.access = FrontendAccess(params)
        self.tz = ZoneInfo(oar_tz)
        self.ids: list[int] = []

    def _run(self, argv: tuple[str, ...]) -> CommandOutput:
        out = output_or_failure(run(argv, "rennes", self.access, 120))
        assert isinstance(out, CommandOutput), out
        return out

    def submit(self, *options: str, at: float | None = None) -> int:
        """oarsub with ``options`` (a reservation at unix time ``at`` when given); retries while OAR's limit of
        two waiting reservations per user is reached by another test's reservation."""
        argv = ("oarsub", *options)
        if at is not None:
            argv += ("-r", datetime.fromtimestamp(at, self.tz).strftime("%Y-%m-%d %H:%M:%S"))
        for _ in range(60):
            out = self._run(argv)
            found = re.search(r"^OAR_JOB_ID=(\d+)\s*$", out.stdout, re.M)
            if found and out.exit_code == 0:
                self.ids.append(int(found.group(1)))
                return int(found.group(1))
            if "more than 2 waiting advance reservations" not in out.stdout + out.stderr:
                break
            time.sleep(2)
        raise AssertionError(f"oarsub {options} failed: {out.exit_code} {out.stdout} {out.stderr}")

    def delete_all(self, db_settings: DbSettings) -> None:
        """oardel every job submitted, then wait until OAR has ended them (so no reservation lingers)."""
        if not self.ids:
            return
        out = self._run(("oardel", *map(str, self.ids)))
        assert out.exit_code == 0, out
        deadline = time.monotonic() + 60
        while any(_state(db_settings, i) not in ("Error", "Terminated") for i in self.ids):
            assert time.monotonic() < deadline, {i: _state(db_settings, i) for i in self.ids}
            time.sleep(0.5)


@pytest.fixture(scope="module")
def db_settings(testbed: conftest.Testbed) -> DbSettings:
    """Direct access to the testbed's database with its read-only role (the seed's four keys)."""
    return DbSettings(
        dbname=testbed.db.dbname,
        user=testbed.db.user,
        password=testbed.db.password,
        port=testbed.db.port,
        host_template=testbed.db.host,
        tunnel=False,
        connect_timeout=5,
        statement_timeout=20,
    )


def _far_work_day(rng: random.Random) -> date:
    while True:
        day = date.today() + timedelta(days=rng.randint(700, 2500))
        far_from_dst = all(abs((day - date(day.year, m, 28)).days) > 8 for m in (3, 10))
        if is_work_day(day) and far_from_dst:
            return day  # a work day away from DST changes (the walltimes below are fixed lengths anyway)


def paris(day: date, hour: int, minute: int = 0) -> float:
    """Unix time of a Paris wall time on ``day``."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).timestamp()


@pytest.fixture(scope="module")
def far_day(
    testbed: conftest.Testbed, oar_tz: str, db_settings: DbSettings
) -> Iterator[tuple[date, dict[str, int]]]:
    """Day D and the ids of the reservations made on it (deleted afterwards)."""
    day = _far_work_day(random.Random())
    alice = Jobs(testbed.frontend, oar_tz)
    bob = Jobs(testbed.other_user, oar_tz)
    try:
        ids = {
            # alice: one plain reservation across the whole day D (Paris 23:00 the day before, 26 hours, 1 core)
            "across": alice.submit("-l", "core=1,walltime=26:00:00", "-p", "cluster='paravance'", "sleep 1",
                                   at=paris(day - timedelta(days=1), 23)),
            # alice: a deploy job with a second type (one node = 4 cores, 1 hour at noon)
            "deploy_multi": alice.submit("-t", "deploy", "-t", "idempotent", "-l", "nodes=1,walltime=1:00:00",
                                         "-p", "cluster='parasilo'", at=paris(day, 12)),
            # bob: 2 cores for 1 hour at 10:00 (counted), 2 cores 19:00-21:00 (outside charter time)
            "bob_morning": bob.submit("-l", "core=2,walltime=1:00:00", "-p", "cluster='paravance'", "sleep 1",
                                      at=paris(day, 10)),
            "bob_evening": bob.submit("-l", "core=2,walltime=2:00:00", "-p", "cluster='parasilo'", "sleep 1",
                                      at=paris(day, 19)),
        }
        yield day, ids
    finally:
        alice.delete_all(db_settings)
        bob.delete_all(db_settings)


def _report(got: IOResult[CharterReport, G5kError]) -> CharterReport:
    assert not isinstance(got, IOFailure), got
    return performed(got).unwrap()


def _by_cluster(report: CharterReport) -> dict[str, tuple[int, int, int, tuple[int, ...]]]:
    (site,) = report.sites
    assert site.error is None, site.error
    return {c.cluster: (c.cores, c.used, c.remaining, c.job_ids) for c in site.clusters}


def test_remaining_on_a_far_day_is_computed_by_hand(
    far_day: tuple[date, dict[str, int]], db_settings: DbSettings
) -> None:
    day, ids = far_day
    alice = _by_cluster(_report(g5k_charter_remaining(["rennes"], day, "alice", settings=db_settings)))
    across = 1 * 26 * 3600  # the reservation spanning the whole day: counted (execo missed it)
    deploy = 4 * 3600  # one node, counted once although it has two types (execo counted it twice)
    assert alice == {
        "paravance": (16, across, QUOTA - across, (ids["across"],)),
        "parasilo": (16, deploy, QUOTA - deploy, (ids["deploy_multi"],)),
    }
    bob = _by_cluster(_report(g5k_charter_remaining(["rennes"], day, "bob", settings=db_settings)))
    assert bob == {
        "paravance": (16, 2 * 3600, QUOTA - 2 * 3600, (ids["bob_morning"],)),
        "parasilo": (16, 0, QUOTA, ()),  # 19:00-21:00 is outside charter time
    }


def test_the_day_before_and_after(far_day: tuple[date, dict[str, int]], db_settings: DbSettings) -> None:
    day, _ = far_day
    before = day - timedelta(days=1)
    after = _by_cluster(_report(g5k_charter_remaining(["rennes"], day + timedelta(days=1), "alice",
                                                      settings=db_settings)))
    # the 26-hour reservation ends at 01:00 on D+1: outside D+1's charter time
    assert after["paravance"][1:] == (0, QUOTA, ())
    if is_work_day(before):  # it starts at 23:00 on D-1: outside D-1's charter time too
        prev = _by_cluster(_report(g5k_charter_remaining(["rennes"], before, "alice", settings=db_settings)))
        assert prev["paravance"][1:] == (0, QUOTA, ())


def test_rows_are_one_per_job_and_source(far_day: tuple[date, dict[str, int]], db_settings: DbSettings) -> None:
    day, ids = far_day
    got = run_plans("rennes", charter_plans("alice", day), db_settings)
    assert not isinstance(got, IOFailure), got
    cores_raw, jobs_raw = performed(got).unwrap()
    assert parse_core_counts(cores_raw).unwrap() == {"paravance": 16, "parasilo": 16}
    rows = parse_job_rows(jobs_raw).unwrap()
    mine = {r.job_id: r for r in rows}
    assert set(mine) == {ids["across"], ids["deploy_multi"]}
    multi = mine[ids["deploy_multi"]]
    assert multi.types == frozenset({"deploy", "idempotent"})
    assert (multi.source, multi.resources, multi.walltime, multi.start_time) == ("predicted", 4, 3600,
                                                                                 int(paris(day, 12)))
    assert len(rows) == 2  # a job with two types is still one row


def test_user_name_with_sql_quote_is_a_user_without_jobs(
    far_day: tuple[date, dict[str, int]], db_settings: DbSettings
) -> None:
    day, _ = far_day
    report = _report(g5k_charter_remaining(["rennes"], day, INJECTION, settings=db_settings))
    assert report.user == INJECTION
    assert _by_cluster(report) == {"paravance": (16, 0, QUOTA, ()), "parasilo": (16, 0, QUOTA, ())}
    got = run_plans("rennes", charter_plans(INJECTION, day), db_settings)
    assert performed(got).unwrap()[1] == ()


def test_through_the_frontend_tunnel(
    far_day: tuple[date, dict[str, int]], db_settings: DbSettings, frontend_params: ConnectionParams
) -> None:
    day, ids = far_day
    tunnelled = evolve(db_settings, tunnel=True, frontend=frontend_params)
    report = _report(g5k_charter_remaining(["rennes"], day, "bob", settings=tunnelled))
    assert _by_cluster(report)["paravance"] == (16, 7200, QUOTA - 7200, (ids["bob_morning"],))


def test_failing_site_is_reported_with_the_others(far_day: tuple[date, dict[str, int]], db_settings: DbSettings,
                                                   dead_frontend: str) -> None:
    day, _ = far_day
    settings = evolve(db_settings, site_hosts={dead_frontend: "127.0.20.9"})
    report = _report(g5k_charter_remaining(["rennes", dead_frontend], day, "bob", settings=settings))
    assert [s.site for s in report.sites] == ["rennes", dead_frontend]
    assert report.sites[0].error is None
    assert report.remaining()["paravance"] == QUOTA - 7200
    ((site, error),) = report.failed
    assert site == dead_frontend
    assert isinstance(error, Unreachable)
    assert "127.0.20.9:5432" in error.message


# --- today's real jobs: running (counted once), besteffort (never counted) ------------------------------------------


def _state(db_settings: DbSettings, job_id: int) -> str:
    got = run_plans("rennes", [SqlPlan("state", "SELECT state FROM jobs WHERE job_id = %(id)s", {"id": job_id})],
                    db_settings)
    return str(performed(got).unwrap()[0][0][0])


@pytest.fixture(scope="module")
def running_jobs(testbed: conftest.Testbed, oar_tz: str, db_settings: DbSettings) -> Iterator[dict[str, int]]:
    """A plain job, a besteffort job and a besteffort job with a second type, all running now (alice)."""
    jobs = Jobs(testbed.frontend, oar_tz)
    try:
        ids = {
            "plain": jobs.submit("-l", "core=1,walltime=0:10:00", "-p", "cluster='paravance'", "sleep 600"),
            "besteffort": jobs.submit("-t", "besteffort", "-l", "core=1,walltime=0:10:00", "sleep 600"),
            "besteffort_multi": jobs.submit("-t", "besteffort", "-t", "idempotent", "-l", "core=1,walltime=0:10:00",
                                            "sleep 600"),
        }
        deadline = time.monotonic() + 90
        while any(_state(db_settings, i) != "Running" for i in ids.values()):
            assert time.monotonic() < deadline, {k: _state(db_settings, i) for k, i in ids.items()}
            time.sleep(1)
        yield ids
    finally:
        jobs.delete_all(db_settings)


def test_running_job_counted_once_and_besteffort_never(running_jobs: dict[str, int], db_settings: DbSettings) -> None:
    today = datetime.now(PARIS).date()
    got = run_plans("rennes", charter_plans("alice", today, ALL_DAY), db_settings)
    cores_raw, jobs_raw = performed(got).unwrap()
    rows = [r for r in parse_job_rows(jobs_raw).unwrap() if r.job_id in running_jobs.values()]
    plain = [r for r in rows if r.job_id == running_jobs["plain"]]
    # the database gives the running job twice (its resources and the scheduler's plan), as execo's UNION did
    assert sorted(r.source for r in plain) == ["assigned", "predicted"]
    assert {r.job_id for r in rows if "besteffort" in r.types} == {running_jobs["besteffort"],
                                                                    running_jobs["besteffort_multi"]}
    cores = parse_core_counts(cores_raw).unwrap()
    out = {c.cluster: c for c in charter_remaining(rows, cores, today, "alice", ALL_DAY)}
    assert (out["paravance"].used, out["paravance"].job_ids) == (1 * 600, (running_jobs["plain"],))
    assert sum(c.used for c in out.values()) == 600
    # and end to end, among whatever else alice runs today: the running job once, besteffort jobs never
    site = _report(g5k_charter_remaining(["rennes"], today, "alice", settings=db_settings, rules=ALL_DAY)).sites[0]
    counted = [j for c in site.clusters for j in c.job_ids]
    assert counted.count(running_jobs["plain"]) == 1
    assert running_jobs["besteffort"] not in counted and running_jobs["besteffort_multi"] not in counted


# --- failures as values ---------------------------------------------------------------------------------------------


def test_wrong_password_is_an_auth_error(db_settings: DbSettings) -> None:
    got = site_remaining("rennes", date(2030, 1, 7), "alice", evolve(db_settings, password="wrong"))
    assert isinstance(performed(got).failure(), AuthError)


def test_slow_statement_is_a_timeout(db_settings: DbSettings) -> None:
    got = run_plans("rennes", [SqlPlan("sleep", "SELECT pg_sleep(%(s)s)", {"s": 5})],
                    evolve(db_settings, statement_timeout=0.3))
    err = performed(got).failure()
    assert isinstance(err, Timeout)
    assert err.after_s == 0.3


@pytest.fixture
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP port on loopback that accepts connections and never says a word (a hung database server)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        for conn in accepted:
            conn.close()
        thread.join(timeout=5)


@pytest.mark.parametrize(("asked", "applied"), [(0.5, 2), (3.0, 3)])
def test_silent_database_is_a_connect_timeout(db_settings: DbSettings, silent_server: tuple[int, list[socket.socket]],
                                              asked: float, applied: int) -> None:
    port, accepted = silent_server
    settings = evolve(db_settings, host_template="127.0.0.1", port=port, connect_timeout=asked)
    began = time.monotonic()
    got = run_plans("rennes", [SqlPlan("one", "SELECT 1")], settings)
    waited = time.monotonic() - began
    err = performed(got).failure()
    assert isinstance(err, Timeout), err
    assert accepted, "the connection reached the silent server (a timeout, not a refusal)"
    assert err.host == "127.0.0.1"
    assert err.what == f"connection to {db_settings.user}@127.0.0.1:{port}/{db_settings.dbname} (rennes)"
    assert err.after_s == applied  # what libpq applied (whole seconds, at least 2), not the sub-second request
    assert waited >= applied - 0.1


def test_silent_database_behind_the_frontend_is_a_connect_timeout(
    db_settings: DbSettings, frontend_params: ConnectionParams, silent_server: tuple[int, list[socket.socket]]
) -> None:
    # through the ssh tunnel: the frontend reaches the port (the tunnel is proven), then the server never answers
    port, accepted = silent_server
    settings = evolve(db_settings, host_template="127.0.0.1", port=port, connect_timeout=2, tunnel=True,
                      frontend=frontend_params)
    err = performed(run_plans("rennes", [SqlPlan("one", "SELECT 1")], settings)).failure()
    assert isinstance(err, Timeout), err
    assert err.after_s == 2
    assert accepted  # reached through the frontend


def test_transactions_are_read_only(db_settings: DbSettings) -> None:
    got = run_plans("rennes", [SqlPlan("write", "CREATE TEMPORARY TABLE g5kpure_probe (a int)")], db_settings)
    err = performed(got).failure()
    assert isinstance(err, DbError)
    assert "read-only" in err.detail


def test_unknown_database_host_is_unreachable(db_settings: DbSettings) -> None:
    got = run_plans("rennes", [SqlPlan("one", "SELECT 1")], evolve(db_settings, host_template="oardb.{site}.invalid"))
    err = performed(got).failure()
    assert isinstance(err, Unreachable)
    assert "oardb.rennes.invalid" in err.host


def test_cli_remaining_end_to_end(far_day: tuple[date, dict[str, int]], db_settings: DbSettings,
                                  monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                  tmp_path: Path) -> None:
    day, ids = far_day
    monkeypatch.setenv("G5K_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("G5K_OAR_PGSQL_RO_DB", db_settings.dbname)
    monkeypatch.setenv("G5K_OAR_PGSQL_RO_USER", db_settings.user)
    monkeypatch.setenv("G5K_OAR_PGSQL_RO_PASSWORD", db_settings.password)
    base = ["charter", "remaining", "--json", "--day", day.isoformat(), "--user", "bob", "--tunnel", "never"]
    assert main([*base, "--site", "rennes", "--db-host", db_settings.host_template]) == 0
    data = json.loads(capsys.readouterr().out)
    (site,) = data["sites"]
    got = {c["cluster"]: (c["remaining"], c["job_ids"]) for c in site["clusters"]}
    assert got == {"paravance": (QUOTA - 7200, [ids["bob_morning"]]), "parasilo": (QUOTA, [])}
    # a site whose database does not answer: reported, exit code 1, the other site still answered
    hosts = ["--db-host", db_settings.host_template, "--db-host", "nowhere=127.0.20.9"]  # nothing listens there
    assert main([*base, "--site", "rennes", "--site", "nowhere", *hosts]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert [s["site"] for s in data["sites"]] == ["rennes", "nowhere"]
    assert data["sites"][1]["error"]["error"] == "Unreachable"
    assert "partly failed" in captured.err
