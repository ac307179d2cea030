"""The oargrid adapter against the testbed: the oargrid stand-ins run real oarsub / oarstat / oardel per cluster."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from g5k.cli.main import main
from g5k.oargrid import (
    OargridDeleted,
    get_current_oargrid_jobs,
    get_oargrid_job_info,
    get_oargrid_job_key,
    get_oargrid_job_nodes,
    get_oargrid_job_oar_jobs,
    oargriddel,
    oargridsub,
    wait_oargrid_job_start,
)
from g5k.results import performed
from g5k.ssh import output_or_failure, run
from returns.io import IOResult
from returns.result import Success

from g5kpure.config import CommandOutput, Config, ConnectionParams, FrontendAccess, to_toml
from g5kpure.errors import G5kError, NotFound, Rejected
from g5kpure.oar import OargridJobInfo, OargridSubmitted, OarSubmission

pytestmark = pytest.mark.integration


def value(result: IOResult[Any, G5kError]) -> Any:
    """The value of an adapter's result, or its error value (tests branch on the kind)."""
    inner = performed(result)
    return inner.unwrap() if isinstance(inner, Success) else inner.failure()


@pytest.fixture
def access(frontend_params: ConnectionParams) -> FrontendAccess:
    return FrontendAccess(params=frontend_params, default_frontend="rennes")


@pytest.fixture
def tz(oar_tz: str) -> tzinfo:
    return ZoneInfo(oar_tz)


@pytest.fixture
def grid_jobs(access: FrontendAccess) -> Iterator[list[int]]:
    """Grid job ids a test created; whatever is left is deleted afterwards (no reservation leaked)."""
    created: list[int] = []
    yield created
    if created:
        oargriddel(created, access)


def oar_job(access: FrontendAccess, job_id: int) -> dict[str, object]:
    out = output_or_failure(run(("oarstat", "-J", "-fj", str(job_id)), "rennes", access, timeout=30))
    assert isinstance(out, CommandOutput) and out.exit_code == 0, out
    data: dict[str, object] = json.loads(out.stdout)[str(job_id)]
    return data


def oar_state(access: FrontendAccess, job_id: int) -> str:
    return str(oar_job(access, job_id)["state"])


def wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(1)
    return False


def test_grid_job_end_to_end(access: FrontendAccess, tz: tzinfo, grid_jobs: list[int], testbed) -> None:
    name = f"g5kpure-{uuid.uuid4().hex[:8]}"
    specs = [
        (OarSubmission(resources="nodes=1", name=name), "paravance"),
        (OarSubmission(resources="nodes=2", sql_properties="cpu > 0"), "parasilo"),
    ]
    before = time.time()
    sub = value(oargridsub(specs, walltime=600, frontend_connection_params=access, tz=tz))
    assert isinstance(sub, OargridSubmitted), sub
    grid_jobs.append(sub.grid_job_id)
    assert sub.ssh_key is not None and sub.ssh_key.endswith(f"_alice_{sub.grid_job_id}")
    assert value(get_oargrid_job_key(sub.grid_job_id, access)) == sub.ssh_key
    assert [alias for alias, _ in sub.oar_jobs] == ["paravance", "parasilo"]
    paravance_job, parasilo_job = (job for _, job in sub.oar_jobs)
    # the OAR jobs are real: OAR knows them with the requested walltime, name and owner
    real = oar_job(access, paravance_job)
    assert "walltime=0:10:0" in str(real["wanted_resources"]) and real["name"] == name and real["owner"] == "alice"

    assert sub.grid_job_id in value(get_current_oargrid_jobs(frontend_connection_params=access, tz=tz))
    info = value(get_oargrid_job_info(sub.grid_job_id, access, tz=tz))
    assert isinstance(info, OargridJobInfo), info
    assert info.user == "alice" and info.walltime == 600
    assert before - 5 <= info.start_date <= time.time() + 5
    assert info.oar_jobs == ((paravance_job, "paravance"), (parasilo_job, "parasilo"))

    def testbed_site_of(alias: str) -> str | None:
        return testbed.oar_site if alias in testbed.clusters else None

    by_site = value(get_oargrid_job_oar_jobs(sub.grid_job_id, access, site_of=testbed_site_of))
    assert by_site == ((paravance_job, "rennes"), (parasilo_job, "rennes"))
    # by default aliases are looked up in the embedded Reference API snapshot, where paravance (retired) is absent
    unknown = value(get_oargrid_job_oar_jobs(sub.grid_job_id, access))
    assert isinstance(unknown, NotFound) and unknown.key == "paravance"

    slept: list[float] = []
    started = value(wait_oargrid_job_start(sub.grid_job_id, access, tz=tz, sleep=slept.append))
    assert started == info.start_date and slept == []  # the start date is already past

    nodes = value(get_oargrid_job_nodes(sub.grid_job_id, access))
    assert isinstance(nodes, tuple), nodes
    assert len([n for n in nodes if n.startswith("paravance-")]) == 1
    assert len([n for n in nodes if n.startswith("parasilo-")]) == 2
    paravance_nodes = oar_job(access, paravance_job)["assigned_network_address"]
    parasilo_nodes = oar_job(access, parasilo_job)["assigned_network_address"]
    assert isinstance(paravance_nodes, list) and isinstance(parasilo_nodes, list)
    assert set(nodes) == set(paravance_nodes) | set(parasilo_nodes)

    deleted = value(oargriddel([sub.grid_job_id], access))
    assert deleted == (OargridDeleted(sub.grid_job_id, True, deleted[0].detail),)
    grid_jobs.clear()
    assert wait_for(lambda: {oar_state(access, j) for j in (paravance_job, parasilo_job)} <= {"Error", "Terminated"})
    assert sub.grid_job_id not in value(get_current_oargrid_jobs(frontend_connection_params=access, tz=tz))
    assert isinstance(value(get_oargrid_job_info(sub.grid_job_id, access, tz=tz)), NotFound)


def test_sql_clause_in_braces_reaches_oar(access: FrontendAccess, tz: tzinfo, grid_jobs: list[int]) -> None:
    spec = OarSubmission(resources="{cluster='parasilo'}/nodes=1")
    sub = value(oargridsub([(spec, "rennes")], walltime=300, frontend_connection_params=access, tz=tz))
    assert isinstance(sub, OargridSubmitted), sub
    grid_jobs.append(sub.grid_job_id)
    nodes = value(get_oargrid_job_nodes(sub.grid_job_id, access))
    assert isinstance(nodes, tuple) and len(nodes) == 1 and nodes[0].startswith("parasilo-")
    # "rennes" is a site alias: the embedded snapshot knows it as such
    assert value(get_oargrid_job_oar_jobs(sub.grid_job_id, access, sites=("rennes",))) == (
        (sub.oar_jobs[0][1], "rennes"),)


def test_rejection_is_a_value_and_leaves_no_job(access: FrontendAccess, tz: tzinfo) -> None:
    name = f"g5kpure-rej-{uuid.uuid4().hex[:8]}"
    specs = [(OarSubmission(resources="nodes=1", name=name), "paravance"),
             (OarSubmission(resources="nodes=99"), "parasilo")]
    result = value(oargridsub(specs, walltime=300, frontend_connection_params=access, tz=tz))
    assert isinstance(result, Rejected), result
    assert result.exit_code == 3 and "parasilo" in result.output
    submitted = re.search(r"\[paravance\] Reservation success on paravance : batchId = (\d+)", result.output)
    assert submitted is not None  # the first cluster's job was really submitted...
    job_id = int(submitted.group(1))
    assert oar_job(access, job_id)["name"] == name
    assert wait_for(lambda: oar_state(access, job_id) in ("Error", "Terminated"))  # ...then deleted


def test_advance_reservation_and_date_filters(access: FrontendAccess, tz: tzinfo, grid_jobs: list[int]) -> None:
    start = int(time.time()) + 3600
    sub = value(oargridsub([(OarSubmission(resources="nodes=1"), "paravance")], reservation_date=start,
                           walltime=600, frontend_connection_params=access, tz=tz))
    assert isinstance(sub, OargridSubmitted), sub
    grid_jobs.append(sub.grid_job_id)
    info = value(get_oargrid_job_info(sub.grid_job_id, access, tz=tz))
    assert isinstance(info, OargridJobInfo) and info.start_date == start and info.end_date == start + 600
    oar_id = sub.oar_jobs[0][1]
    assert oar_job(access, oar_id)["reservation"] in ("Scheduled", "toSchedule")
    later = value(get_current_oargrid_jobs((start - 60, start + 60), frontend_connection_params=access, tz=tz))
    assert sub.grid_job_id in later
    now = value(get_current_oargrid_jobs((time.time() - 60, time.time() + 60), frontend_connection_params=access,
                                         tz=tz))
    assert sub.grid_job_id not in now
    ends = value(get_current_oargrid_jobs(end_between=(start + 500, start + 700), frontend_connection_params=access,
                                          tz=tz))
    assert sub.grid_job_id in ends
    slept: list[float] = []
    value(wait_oargrid_job_start(sub.grid_job_id, access, tz=tz, sleep=slept.append, now=lambda: start - 10.0))
    assert slept == [10.0]


def test_deleting_someone_elses_or_unknown_grid_job_is_reported(
    access: FrontendAccess, other_user_params: ConnectionParams, tz: tzinfo, grid_jobs: list[int]
) -> None:
    sub = value(oargridsub([(OarSubmission(resources="nodes=1"), "paravance")], walltime=300,
                           frontend_connection_params=access, tz=tz))
    assert isinstance(sub, OargridSubmitted), sub
    grid_jobs.append(sub.grid_job_id)
    bob = FrontendAccess(params=other_user_params, default_frontend="rennes")
    outcome = value(oargriddel([sub.grid_job_id, 999999], bob))
    assert isinstance(outcome, tuple)
    assert [(o.grid_job_id, o.deleted) for o in outcome] == [(sub.grid_job_id, False), (999999, False)]
    assert "belongs to alice" in outcome[0].detail and "does not exist" in outcome[1].detail
    assert isinstance(value(get_oargrid_job_info(sub.grid_job_id, access, tz=tz)), OargridJobInfo)


def test_unreachable_frontend_is_a_value(access: FrontendAccess, dead_frontend: str) -> None:
    result = value(get_current_oargrid_jobs(frontend_connection_params=access, frontend=dead_frontend))
    assert isinstance(result, G5kError) and "unreachable" in result.message


def test_g5k_grid_commands_end_to_end(access: FrontendAccess, frontend_params: ConnectionParams, oar_tz: str,
                                      tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      grid_jobs: list[int]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(to_toml(Config(default_frontend="rennes", frontend=frontend_params)))
    base = ["--config", str(config), "--tz", oar_tz]
    assert main(["grid", "sub", *base, "parasilo:nodes=1", "-w", "300s", "--json"]) == 0
    sub = json.loads(capsys.readouterr().out)
    grid_jobs.append(sub["grid_job_id"])
    assert [alias for alias, _ in sub["oar_jobs"]] == ["parasilo"]
    assert main(["grid", "info", *base, str(sub["grid_job_id"])]) == 0
    info = capsys.readouterr().out
    assert "user      alice" in info and f"parasilo: {sub['oar_jobs'][0][1]}" in info
    assert main(["grid", "nodes", *base, str(sub["grid_job_id"])]) == 0
    nodes = capsys.readouterr().out.split()
    assert len(nodes) == 1 and nodes[0].startswith("parasilo-")
    assert main(["grid", "del", *base, str(sub["grid_job_id"]), "424242"]) == 1  # the second id does not exist
    out = capsys.readouterr().out
    assert f"{sub['grid_job_id']}: deleted" in out and "424242: NOT deleted" in out
    grid_jobs.clear()
    assert main(["grid", "info", *base, str(sub["grid_job_id"])]) == 1
    assert "not found" in capsys.readouterr().err


def test_library_calls_without_access_use_the_configuration(frontend_params: ConnectionParams, tz: tzinfo,
                                                            grid_jobs: list[int], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    monkeypatch.setenv("G5K_CONFIG", str(config))
    config.write_text(to_toml(Config(default_frontend="rennes", location="outside", frontend=frontend_params)))
    # no frontend_connection_params, no frontend: the configured default frontend over the configured ssh
    sub = value(oargridsub([(OarSubmission(resources="nodes=1"), "parasilo")], walltime=300, tz=tz))
    assert isinstance(sub, OargridSubmitted), sub
    grid_jobs.append(sub.grid_job_id)
    assert sub.grid_job_id in value(get_current_oargrid_jobs(tz=tz))
    info = value(get_oargrid_job_info(sub.grid_job_id, tz=tz))
    assert isinstance(info, OargridJobInfo) and info.user == "alice"
    # the configured default frontend, with the connection parameters given explicitly
    assert value(get_oargrid_job_key(sub.grid_job_id, frontend_params)) == sub.ssh_key
    # outside Grid'5000 with no default frontend: refused before anything runs, nothing deleted
    config.write_text(to_toml(Config(location="outside", frontend=frontend_params)))
    refused = value(oargriddel([sub.grid_job_id]))
    assert isinstance(refused, G5kError) and "default_frontend" in refused.message
    assert sub.grid_job_id in value(get_current_oargrid_jobs(tz=tz, frontend="nancy"))
    deleted = value(oargriddel([sub.grid_job_id], frontend="nancy"))  # naming the frontend is enough
    assert [(d.grid_job_id, d.deleted) for d in deleted] == [(sub.grid_job_id, True)]
    grid_jobs.clear()
