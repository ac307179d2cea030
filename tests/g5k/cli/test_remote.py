"""The command line of g5k run / put / get / ssh / nodefile / extend / up: option parsing and --dry-run plans
(no testbed: a dry run contacts nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from g5k.cli.main import main

CONFIG = """\
[g5k]
default_frontend = "rennes"
location = "outside"
oar_job_key_file = "/home/me/.ssh/jobkey"

[frontend]
user = "me"
host_suffix = ".grid5000.fr"

[oarsh]
keyfile = "/keys/jobkey"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "g5k.toml"
    path.write_text(CONFIG)
    return path


def g5k(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_dry_run_reads_options_written_after_the_job_id(config: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = g5k(capsys, "run", "12", "--frontend", "rennes", "--config", str(config), "--dry-run",
                       "--fanout", "8", "--timeout", "5", "--", "echo", "a b")
    assert code == 0
    assert "oarstat -f -J -j 12" in out and "(fanout 8)" in out
    assert "-oPort=6667" in out and "-oUser=oar" in out and "-oIdentityFile=/keys/jobkey" in out
    assert "timeout --kill-after=5 5 sh -c" in out and "-W %h:%p -- rennes.grid5000.fr" in out


def test_root_and_kavlan(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = g5k(capsys, "run", "--config", str(config), "--user", "root", "--kavlan", "4", "--dry-run", "12",
                       "--", "true")
    assert code == 0 and "-oUser=root" in out and "-oPort=6667" not in out


def test_bad_values_are_refused_before_anything_runs(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = g5k(capsys, "run", "12", "--config", str(config), "--fanout", "0", "--", "true")
    assert code == 1 and "invalid --fanout '0'" in err
    code, _, err = g5k(capsys, "run", "12", "--config", str(config), "--timeout", "soon", "--", "true")
    assert code == 1 and "invalid --timeout 'soon'" in err
    code, _, err = g5k(capsys, "run", "12", "--config", str(config))
    assert code == 1 and "expected a command after --" in err
    code, _, err = g5k(capsys, "run", "x1", "--config", str(config), "--", "true")
    assert code == 1 and "Traceback" not in err
    code, _, err = g5k(capsys, "put", "12", "--config", str(config), "/nonexistent/file", "/tmp")
    assert code == 1 and "local file '/nonexistent/file' not found" in err
    code, _, err = g5k(capsys, "get", "12", "--config", str(config), "/only-one")
    assert code == 2


def test_copy_ssh_nodefile_extend_dry_runs(config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("x")
    code, out, _ = g5k(capsys, "put", "12", "--config", str(config), "--dry-run", str(f), "/tmp/in")
    assert code == 0 and "scp " in out and "-O" in out and "{host}:/tmp/in" in out
    code, out, _ = g5k(capsys, "get", "12", "--config", str(config), "--dry-run", "/tmp/out.csv", "res")
    assert code == 0 and "{host}:/tmp/out.csv" in out and "res/{host}/" in out
    code, out, _ = g5k(capsys, "ssh", "12", "--config", str(config), "--dry-run", "paravance-1")
    assert code == 0 and " -t -- paravance-1" in out
    code, out, _ = g5k(capsys, "nodefile", "12", "--config", str(config), "--dry-run")
    assert code == 0 and "oarstat -p -j 12" in out
    code, out, _ = g5k(capsys, "extend", "12", "--config", str(config), "--dry-run", "+1:30")
    assert code == 0 and "oarwalltime 12 +1:30:00" in out
    code, _, err = g5k(capsys, "extend", "12", "--config", str(config), "soon")
    assert code == 1 and "invalid walltime change 'soon'" in err


def test_without_a_job_key_the_error_says_what_to_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "g5k.toml"
    path.write_text('[g5k]\ndefault_frontend = "rennes"\nlocation = "outside"\n')
    code, _, err = g5k(capsys, "run", "12", "--config", str(path), "--dry-run", "--", "true")
    assert code == 1 and "[oarsh] keyfile" in err and "--user root" in err


def test_up_dry_run_prints_the_submission(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp = tmp_path / "exp.toml"
    exp.write_text('name = "e1"\nwalltime = "1:00"\n[[resources]]\nsite = "lyon"\ncluster = "nova"\nnodes = 2\n'
                   'roles = ["w"]\n')
    code, out, _ = g5k(capsys, "up", str(exp), "--config", str(config), "--dry-run")
    assert code == 0 and "[lyon] ssh me@lyon.grid5000.fr" in out
    assert "-k -i /home/me/.ssh/jobkey" in out and "-n e1" in out and "e1.inventory" in out
    code, _, err = g5k(capsys, "down", str(tmp_path / "nope.toml"), "--config", str(config))
    assert code == 1 and "cannot read the experiment file" in err
