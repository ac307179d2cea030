"""The `g5k sub|del|jobs|info|wait|nodes` commands against the testbed (configuration file written by it)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from g5k.cli.main import main
from g5k.oar import get_current_oar_jobs
from g5k.results import performed

from g5kpure.config import ConnectionParams, FrontendAccess
from tests.conftest import Testbed

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def testbed_config(g5k_config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("G5K_CONFIG", str(g5k_config_file))
    monkeypatch.delenv("OAR_JOB_ID", raising=False)


def g5k(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, json.loads(out.out) if "--json" in argv and out.out.strip() else out.out, out.err


def my_job_names(params: ConnectionParams, frontend: str) -> list[str | None]:
    current = performed(get_current_oar_jobs([frontend], access=FrontendAccess(params))).unwrap()
    return [i.name for i in current.infos if not i.state.is_final]


def test_sub_wait_nodes_info_jobs_del(capsys, testbed: Testbed, frontend_params: ConnectionParams) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    code, data, _ = g5k(
        capsys, "sub", "-l", "nodes=1", "-w", "300s", "-n", name, "--json", "--tz", testbed.timezone, "--", "sleep 300"
    )
    assert code == 0
    assert isinstance(data, list), data
    [submitted] = data
    job_id = str(submitted["job_id"])
    assert submitted["frontend"] is None  # the default frontend of the configuration (rennes)
    try:
        code, waited, _ = g5k(capsys, "wait", job_id, "--timeout", "90", "--json")
        assert code == 0 and waited["state"] in ("Running", "Launching")  # type: ignore[index]
        code, nodes, _ = g5k(capsys, "nodes", job_id, "--frontend", "nancy", "--json")
        assert code == 0 and len(nodes) == 1 and nodes[0] in testbed.nodes  # type: ignore[arg-type,index]
        code, info, _ = g5k(capsys, "info", job_id, "--frontend", "lyon", "--json")
        assert code == 0
        assert info["name"] == name and info["walltime"] == 300 and info["assigned_hosts"] == nodes  # type: ignore[index]
        code, text, _ = g5k(capsys, "info", job_id)
        assert f"name         {name}" in str(text)
        code, listing, err = g5k(capsys, "jobs", "--frontend", "rennes", "--frontend", "lille", "--json")
        assert code == 1  # lille is down: reported, and the rest is still listed
        assert [j["job_id"] for j in listing["jobs"] if j["name"] == name] == [int(job_id)]  # type: ignore[index]
        assert listing["failed"][0]["frontend"] == "lille"  # type: ignore[index]
        assert "lille" in err
    finally:
        code, outcome, _ = g5k(capsys, "del", job_id, "--json")
    assert code == 0 and outcome[0]["status"] == "deleted"  # type: ignore[index]


def test_dry_run_performs_nothing(capsys, frontend_params: ConnectionParams) -> None:
    name = f"dry-{uuid.uuid4().hex[:8]}"
    code, text, _ = g5k(capsys, "sub", "-l", "core=1", "-w", "60s", "-n", name, "--frontend", "lyon", "--dry-run")
    assert code == 0
    assert "[lyon] ssh alice@lyon.frontend.g5kpure.test:2222: oarsub -l core=1,walltime=0:01:00" in str(text)
    assert name in str(text)
    assert name not in my_job_names(frontend_params, "lyon")
    code, text, _ = g5k(capsys, "del", "12345", "--dry-run")
    assert code == 0 and "oardel 12345" in str(text)


def test_sub_on_several_frontends_is_all_or_nothing(capsys, frontend_params: ConnectionParams) -> None:
    name = f"grid-{uuid.uuid4().hex[:8]}"
    code, data, err = g5k(
        capsys, "sub", "-l", "core=1", "-w", "60s", "-n", name, "--frontend", "rennes", "--frontend", "lille", "--json"
    )
    assert code == 1
    assert data["error"] == "Partial" and len(data["undone"]) == 1  # type: ignore[index]
    assert "lille" in err
    assert name not in my_job_names(frontend_params, "rennes")


def test_bad_input_is_reported_not_raised(capsys) -> None:
    code, _, err = g5k(capsys, "info", "abc")
    assert code == 1 and "job id" in err
    code, _, err = g5k(capsys, "info")
    assert code == 1 and "OAR_JOB_ID" in err
    code, _, err = g5k(capsys, "sub", "-w", "1:xx", "--frontend", "rennes")
    assert code == 1
    code, _, err = g5k(capsys, "info", "1", "--tz", "Mars/Olympus")
    assert code == 1 and "--tz" in err


def test_wait_shows_the_predicted_start_and_respects_its_timeout(
    capsys, testbed: Testbed, spare_user_params: ConnectionParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as the spare user (through the configuration's environment variables): OAR allows 2 waiting reservations
    monkeypatch.setenv("G5K_FRONTEND_USER", str(spare_user_params.user))
    monkeypatch.setenv("G5K_FRONTEND_KEYFILE", str(spare_user_params.key_filename))
    start = int(time.time()) + 3600
    code, data, _ = g5k(
        capsys,
        "sub",
        "-l",
        "core=1",
        "-w",
        "300s",
        "-r",
        str(start),
        "--tz",
        testbed.timezone,
        "--frontend",
        "nancy",
        "--json",
    )
    assert code == 0
    job_id = str(data[0]["job_id"])  # type: ignore[index]
    try:
        code, _, err = g5k(capsys, "wait", job_id, "--frontend", "nancy", "--timeout", "2", "--tz", testbed.timezone)
        assert code == 1
        expected = datetime.fromtimestamp(start, ZoneInfo(testbed.timezone)).strftime("%Y-%m-%d %H:%M:%S")
        assert f"predicted start {expected}" in err
        assert "timed out" in err
    finally:
        g5k(capsys, "del", job_id, "--frontend", "nancy")
