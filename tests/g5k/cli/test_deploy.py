"""`g5k deploy --dry-run` and `g5k grid ... --dry-run`: the exact plans, nothing performed; usage errors."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from g5k.cli.main import main
from g5k.kadeploy import node_params, plan_kadeploy, settings_from_config
from returns.result import Failure

from g5kpure.config import Config, ConnectionParams, FrontendAccess, to_toml
from g5kpure.deploy import DEFAULT_CHECK_DEPLOYED_COMMAND, EXECO_CHECK_DEPLOYED_COMMAND, Deployment, KadeploySettings


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration file with a default frontend; HOME and XDG point to an empty place."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "config.toml"
    path.write_text(to_toml(Config(default_frontend="rennes", kadeploy3_options="-k",
                                   frontend=ConnectionParams(user="me", host_suffix=".example.org"))))
    return path


def test_deploy_dry_run_prints_check_and_one_kadeploy3_per_frontend(config: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["deploy", "--config", str(config), "-e", "debian12-min", "paravance-[1-2].rennes.grid5000.fr",
                 "nova-1.lyon", "--tries", "3", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("check on each of 3 hosts") and "ssh root@paravance-1.rennes.grid5000.fr" in lines[0]
    assert "nvme" in lines[0]  # our NVMe-aware default replaces execo's default from the configuration
    rennes = lines[1]
    assert rennes.startswith("[rennes] ssh me@rennes.example.org: ")
    argv = shlex.split(rennes.split(": ", 1)[1].rsplit(" (", 1)[0])
    # kadeploy3 runs behind a shell recording its pid next to its node files (so that it can be stopped)
    assert argv[:2] == ["sh", "-c"] and argv[3] == "/tmp/g5kpure-kadeploy-DRYRUN-rennes"
    assert argv[4:] == ["kadeploy3", "-k", "-e", "debian12-min", "-m", "paravance-1.rennes.grid5000.fr",
                    "-m", "paravance-2.rennes.grid5000.fr", "-o", "/tmp/g5kpure-kadeploy-DRYRUN-rennes.ok",
                    "-n", "/tmp/g5kpure-kadeploy-DRYRUN-rennes.ko"]
    assert " kadeploy3 -k -e debian12-min -m nova-1.lyon" in lines[2]
    assert lines[2].startswith("[lyon] ssh me@lyon.example.org: sh -c ")
    assert lines[3] == "up to 3 tries, each on the hosts not yet deployed"


def test_deploy_dry_run_no_check_json_and_short_names(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["deploy", "--config", str(config), "-a", "/home/me/env.dsc", "n-1", "--no-check", "--json",
                 "--dry-run", "--frontend", "nancy", "--timeout", "600"])
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert code == 0 and len(plan) == 2
    assert plan[0].startswith("[nancy] ssh me@nancy.example.org: sh -c ")
    assert " kadeploy3 -k -a /home/me/env.dsc -m n-1" in plan[0]
    assert plan[0].endswith("(timeout 600s)")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["deploy", "n-1.rennes", "--dry-run"], "env_name or env_file"),
        (["deploy", "-e", "x", "bad host", "--dry-run"], "invalid host"),
        (["deploy", "-e", "x", "n-1.rennes", "--tries", "0", "--dry-run"], "--tries"),
        (["deploy", "-e", "x", "n-[3-1].rennes", "--dry-run"], "range"),
        (["grid", "sub", "nocolon", "--dry-run"], "ALIAS:RESOURCES"),
        (["grid", "sub", "a:{x in ('a','b')}/nodes=1", "--dry-run"], "no ','"),
    ],
)
def test_bad_input_is_an_error_value(config: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                     needle: str) -> None:
    code = main([*argv[:2], "--config", str(config), *argv[2:]] if argv[0] == "grid" else
                [argv[0], "--config", str(config), *argv[1:]])
    err = capsys.readouterr().err
    assert code == 1
    assert needle in err


def test_grid_dry_runs(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grid", "sub", "--config", str(config), "rennes:{cluster='nova'}/nodes=2", "lyon:nodes=1",
                 "-w", "3600s", "-t", "deploy", "--dry-run"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("[rennes] ssh me@rennes.example.org: ")
    argv = shlex.split(line.split(": ", 1)[1].rsplit(" (", 1)[0])
    assert argv == ["oargridsub", "-v", "-t", "deploy", "-w", "1:0:0",
                    "rennes:rdef={\\\\\\\"cluster='nova'\\\\\\\"}/nodes=2,lyon:rdef=nodes=1"]
    assert main(["grid", "del", "--config", str(config), "3", "4", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "[rennes] ssh me@rennes.example.org: oargriddel 3 (timeout 900s)",
        "[rennes] ssh me@rennes.example.org: oargriddel 4 (timeout 900s)",
    ]
    assert main(["grid", "nodes", "--config", str(config), "3", "--dry-run"]) == 0
    assert "oargridstat -w -l 3" in capsys.readouterr().out
    assert main(["grid", "info", "--config", str(config), "3", "--dry-run", "--frontend", "lyon"]) == 0
    assert capsys.readouterr().out.startswith("[lyon] ssh me@lyon.example.org: oargridstat 3")


def test_settings_from_config_replaces_execo_default_check_only() -> None:
    assert settings_from_config(Config(check_deployed_command=EXECO_CHECK_DEPLOYED_COMMAND)).check_deployed_command \
        == DEFAULT_CHECK_DEPLOYED_COMMAND
    assert settings_from_config(Config(check_deployed_command="test -e /deployed")).check_deployed_command \
        == "test -e /deployed"
    mine = settings_from_config(Config(kadeploy3="/opt/k3", kadeploy3_options="-k", default_env_name="",
                                       default_env_file="/e.dsc"))
    assert (mine.kadeploy3, mine.kadeploy3_options, mine.default_env_name, mine.default_env_file) == (
        "/opt/k3", "-k", None, "/e.dsc")


def test_node_params_accepts_seed_style_dicts() -> None:
    assert node_params(None).unwrap() == ConnectionParams(user="root", timeout=30.0)
    assert node_params({"user": "me", "keyfile": "/k", "port": 22}).unwrap() == ConnectionParams(
        user="me", key_filename="/k", port=22, timeout=30.0)
    bad = node_params({"usr": "me"})
    assert isinstance(bad, Failure) and "usr" in bad.failure().message


def test_plan_kadeploy_places_each_run_on_its_frontend() -> None:
    access = FrontendAccess(params=ConnectionParams(host_suffix=".g5k"), default_frontend="rennes")
    plan = plan_kadeploy(Deployment(("a-1", "b-1.lyon"), env_name="e"), access, KadeploySettings(), deploy_timeout=60,
                         file_prefix="/tmp/p").unwrap()
    assert [(c.frontend, c.endpoint.host if c.endpoint else None, c.timeout) for c in plan.commands] == [
        ("rennes", "rennes.g5k", 60.0), ("lyon", "lyon.g5k", 60.0)]
    lyon = plan.commands[1].argv
    assert lyon[:2] == ("sh", "-c") and lyon[3:] == ("/tmp/p-lyon", *plan.runs[1].argv)
    assert isinstance(plan_kadeploy(Deployment(("a b",), env_name="e"), access, KadeploySettings()), Failure)


def test_grid_sub_reads_the_shared_job_options(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grid", "sub", "--config", str(config), "rennes:nodes=2", "-w", "2", "-r", "2026-12-01 19:00",
                 "--tz", "UTC", "-p", "x=1", "-n", "exp", "-q", "default", "--dry-run"]) == 0
    argv = shlex.split(capsys.readouterr().out.strip().split(": ", 1)[1].rsplit(" (", 1)[0])
    assert argv == ["oargridsub", "-v", "-s", "2026-12-01 19:00:00", "-q", "default", "-w", "2:0:0",
                    "rennes:rdef=nodes=2:prop=x=1:name=exp"]
    assert main(["grid", "sub", "--file", str(config), "rennes:nodes=2", "-r", "2026-12-01", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "invalid -r/--reservation '2026-12-01'" in err and "Traceback" not in err
