"""`g5k reserve --dry-run`: oarsub's vocabulary (-l, -w, -t, -p, -q, --project, -n, -r) reaches the oarsub argv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from g5k.cli.main import main


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[g5k]\nlocation = "outside"\ndefault_frontend = "rennes"\n')
    monkeypatch.setenv("G5K_CONFIG", str(path))


def plan(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(["reserve", "--dry-run", "--json", *argv]) == 0
    lines: list[str] = json.loads(capsys.readouterr().out)["plan"]
    return lines


def test_job_types_properties_queue_and_project_reach_oarsub(capsys: pytest.CaptureFixture[str]) -> None:
    lines = plan(capsys, "-t", "deploy", "-p", "cluster='paravance'", "-q", "production", "--project", "p1",
                 "-l", "nodes=2", "-w", "2", "--frontend", "rennes", "--frontend", "lyon")
    assert [ln.split("]")[0] for ln in lines] == ["[rennes", "[lyon"]
    for line in lines:
        assert "oarsub -l nodes=2,walltime=2:00:00 -t deploy " in line
        assert "-q production" in line and "--project p1" in line and "paravance" in line


def test_a_name_looks_up_the_jobs_first(capsys: pytest.CaptureFixture[str]) -> None:
    lookup, submit = plan(capsys, "-n", "exp1", "-l", "nodes=1")
    assert "oarstat -u -f -J" in lookup and "-n exp1" in submit
    assert plan(capsys, "--name", "exp1", "-l", "nodes=1") == [lookup, submit]


def test_at_is_the_old_spelling_of_the_reservation_date(capsys: pytest.CaptureFixture[str]) -> None:
    with_r = plan(capsys, "-l", "nodes=1", "-r", "2026-12-01 19:00", "--tz", "UTC")
    assert "-r '2026-12-01 19:00:00'" in with_r[0]
    assert plan(capsys, "-l", "nodes=1", "--at", "2026-12-01 19:00", "--tz", "UTC") == with_r
    assert plan(capsys, "-l", "nodes=1", "--reservation", "1796151600", "--tz", "UTC") == with_r


@pytest.mark.parametrize(("argv", "quoted"), [
    (["-r", "2026-13-01 19:00"], "invalid -r/--reservation '2026-13-01 19:00'"),
    (["--at", "next monday"], "invalid -r/--reservation 'next monday'"),
    (["-r", "2026-12-01 19:00", "--not-after", "soon"], "invalid --not-after 'soon'"),
    (["--not-after", "2026-12-01 19:00"], "invalid --not-after '2026-12-01 19:00': expected to be used with -r"),
    (["-w", "forever"], "'forever'"),
])
def test_bad_values_are_refused_quoting_what_was_typed(capsys: pytest.CaptureFixture[str], argv: list[str],
                                                       quoted: str) -> None:
    assert main(["reserve", "-l", "nodes=1", "--dry-run", *argv]) == 1
    captured = capsys.readouterr()
    assert quoted in captured.err and "Traceback" not in captured.err and captured.out == ""
