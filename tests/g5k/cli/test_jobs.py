"""`g5k sub|del|jobs|info|wait|nodes --dry-run`: the exact plan, nothing performed (no network needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from g5k.cli.main import main

CONFIG = """
[g5k]
default_frontend = "rennes"
location = "outside"
default_timeout = 120

[frontend]
user = "jdoe"
port = 2200
host_suffix = ".example.org"
"""


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("G5K_CONFIG", str(path))
    monkeypatch.delenv("OAR_JOB_ID", raising=False)


def dry(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main([argv[0], "--dry-run", "--json", *argv[1:]]) == 0
    plan: list[str] = json.loads(capsys.readouterr().out)["plan"]
    return plan


def test_sub_plan_on_the_default_frontend(capsys) -> None:
    (line,) = dry(capsys, "sub", "-l", "nodes=2", "-w", "3600s", "-n", "my run", "--", "sleep 10")
    assert line == (
        "[rennes] ssh jdoe@rennes.example.org:2200: oarsub -l nodes=2,walltime=1:00:00 -t origin=g5kpure "
        "-n 'my run' 'sleep 10' (timeout 120s)"
    )


def test_sub_plan_per_frontend_and_reservation_in_the_server_zone(capsys) -> None:
    lines = dry(
        capsys,
        "sub",
        "-l",
        "nodes=1",
        "-w",
        "1:30:00",
        "-r",
        "1700000000",
        "--frontend",
        "lyon",
        "--frontend",
        "nancy",
        "--tz",
        "UTC",
    )
    assert [ln.split("]")[0] for ln in lines] == ["[lyon", "[nancy"]
    assert all("-r '2023-11-14 22:13:20'" in ln and "walltime=1:30:00" in ln for ln in lines)


def test_other_commands_plan_their_oarstat_and_oardel(capsys) -> None:
    assert dry(capsys, "info", "42", "--frontend", "lyon") == [
        "[lyon] ssh jdoe@lyon.example.org:2200: oarstat -f -J -j 42 (timeout 120s)"
    ]
    assert dry(capsys, "wait", "42")[0].startswith("[rennes] ssh jdoe@rennes.example.org:2200: oarstat -f -J -j 42")
    assert "oarstat -f -J -j 42" in dry(capsys, "nodes", "42")[0]
    assert [ln.split(": ", 1)[1] for ln in dry(capsys, "del", "42", "43")] == [
        "oarstat -s -j 42 -j 43 (timeout 120s)",
        "oardel 42 43 (timeout 120s)",
    ]
    assert [ln.split("]")[0] for ln in dry(capsys, "jobs", "--frontend", "a", "--frontend", "b")] == ["[a", "[b"]


def test_job_id_from_the_environment(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAR_JOB_ID", "77")
    assert "oarstat -f -J -j 77" in dry(capsys, "info")[0]


def test_refusals_are_errors_not_plans(capsys) -> None:
    assert main(["sub", "-w", "0", "--dry-run"]) == 1
    assert "walltime" in capsys.readouterr().err
    assert main(["info", "x", "--dry-run"]) == 1
    assert "job id" in capsys.readouterr().err
    assert main(["sub", "-l", "nodes=1", "--frontend=-bad", "--dry-run"]) == 1
    assert "frontend name" in capsys.readouterr().err


def test_sub_plan_gives_the_configured_job_key_to_oar(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    # as execo: a configured oar_job_key_file (here from $OAR_JOB_KEY_FILE) becomes `-k -i KEY`
    monkeypatch.setenv("OAR_JOB_KEY_FILE", "/home/jdoe/.ssh/job key")
    (line,) = dry(capsys, "sub", "-l", "nodes=1", "-w", "600s", "--", "true")
    assert "oarsub -l nodes=1,walltime=0:10:00 -k -i '/home/jdoe/.ssh/job key' -t origin=g5kpure true" in line


def test_a_bare_walltime_is_hours_as_oar_reads_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sub", "-l", "nodes=1", "-w", "2", "--frontend", "rennes", "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "walltime=2:00:00" in captured.out and "g5k: walltime 2:00:00 (2 h)" in captured.err


def test_del_tells_being_killed_from_finished() -> None:
    from g5k.cli.jobs import deletion_progress

    from g5kpure.errors import Rejected
    from g5kpure.oar import DelOutcome, DelStatus, OarJob, OarState

    job = OarJob(12, "rennes")
    deleted = DelOutcome(job, DelStatus.DELETED, OarState.RUNNING)
    assert deletion_progress(deleted, OarState.RUNNING) == ("deleted, being killed (OAR state Running)", False)
    assert deletion_progress(deleted, OarState.FINISHING) == ("deleted, being killed (OAR state Finishing)", False)
    assert deletion_progress(deleted, OarState.ERROR) == ("deleted (finished: Error)", True)
    assert deletion_progress(deleted, None)[1] is None
    # oardel says "already killed" while OAR is still killing the job: not finished yet
    again = DelOutcome(job, DelStatus.ALREADY_FINISHED, OarState.RUNNING)
    assert deletion_progress(again, OarState.FINISHING) == (
        "already being killed by an earlier deletion (OAR state Finishing)", False)
    done = DelOutcome(job, DelStatus.ALREADY_FINISHED, OarState.TERMINATED)
    assert deletion_progress(done, None) == ("already finished (Terminated)", True)
    refused = DelOutcome(job, DelStatus.NOT_YOURS, OarState.WAITING, Rejected("not the right user"))
    assert deletion_progress(refused, None) == ("not yours (request rejected: not the right user)", None)


NO_FRONTEND = '[g5k]\nlocation = "outside"\n'


def test_without_frontend_nor_local_oar_the_error_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.toml").write_text(NO_FRONTEND)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    for argv in (["jobs"], ["sub", "-l", "nodes=1"], ["info", "42"], ["del", "42"], ["reserve", "-l", "nodes=1"],
                 ["grid", "info", "3"], ["grid", "sub", "rennes:nodes=1"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "pass --frontend SITE or set g5k.default_frontend" in err, argv
        assert "exit code 127" not in err and "Traceback" not in err


def test_without_frontend_the_local_oar_commands_run_as_on_a_frontend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.toml").write_text(NO_FRONTEND)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    oarstat = bin_dir / "oarstat"
    oarstat.write_text("#!/bin/sh\necho '{}'\n")
    oarstat.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert main(["jobs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"failed": [], "jobs": []}


def test_a_bad_reservation_date_is_refused_quoting_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sub", "-l", "nodes=1", "-r", "tomorrow 9am", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "invalid -r/--reservation 'tomorrow 9am': expected 'YYYY-MM-DD HH:MM[:SS]'" in err
    assert "Traceback" not in err
    (line,) = dry(capsys, "sub", "-l", "nodes=1", "-r", "2026-12-01 19:00", "--tz", "UTC")
    assert "-r '2026-12-01 19:00:00'" in line



def test_frontends_failing_alike_make_one_line(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from g5k.cli import jobs
    from returns.io import IOFailure

    from g5kpure.errors import Partial, Unreachable

    down = "[Errno 111] Connection refused"
    failed = [(site, Unreachable(f"{site} (access.example.org)", down)) for site in ("lyon", "nancy")]
    failed += [(site, Unreachable("gateway.example.org", down)) for site in ("lille", "rennes")]
    monkeypatch.setattr(jobs, "get_current_oar_jobs", lambda *_, **__: IOFailure(Partial("oarstat", (), failed)))
    assert main(["jobs", "--frontend", "lyon"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "g5k: error: oarstat failed:",
        "  lyon (access.example.org): connection refused",
        "  nancy (access.example.org): connection refused",
        "  gateway.example.org: connection refused (2 frontends: lille, rennes)",
    ]
