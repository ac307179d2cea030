"""The oargrid functions read their frontend access from the configuration (like execo's g5k_configuration);
explicit arguments win; with no frontend at all they refuse instead of running oargrid commands on this machine."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from g5k.cli.main import main
from g5k.oargrid import (
    get_current_oargrid_jobs,
    get_oargrid_job_info,
    get_oargrid_job_key,
    get_oargrid_job_nodes,
    get_oargrid_job_oar_jobs,
    oargriddel,
    oargridsub,
    plan_oargrid_command,
    plan_oargridsub,
    wait_oargrid_job_start,
)
from g5k.results import performed
from returns.io import IOResult
from returns.result import Failure

from g5kpure.config import ConnectionParams, FrontendAccess
from g5kpure.errors import ConfigError, G5kError, InvalidInput
from g5kpure.oar import OarSubmission, oargridstat_info_argv
from tests.conftest import OUTSIDE_NO_DEFAULT, WriteConfig, config_writer

CONFIGURED = """\
[g5k]
default_frontend = "lyon"
default_timeout = 120
location = "outside"

[frontend]
user = "me"
host_suffix = ".example.org"

[frontends.lyon]
port = 2222
"""

SPECS = [(OarSubmission(resources="nodes=2"), "rennes"), (OarSubmission(resources="nodes=1"), "nova")]


@pytest.fixture
def use_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WriteConfig:
    """Point G5K_CONFIG at a file holding the given text; no other configuration source is visible."""
    return config_writer(tmp_path, monkeypatch)


def failure_of(result: IOResult[object, G5kError]) -> G5kError:
    inner = performed(result)
    assert isinstance(inner, Failure), inner
    error: G5kError = inner.failure()
    return error


def test_configured_default_frontend_and_timeout_flow_into_the_plan(use_config: WriteConfig) -> None:
    use_config(CONFIGURED)
    plan = plan_oargridsub(SPECS, walltime=3600).unwrap()
    assert plan.describe().startswith("[lyon] ssh me@lyon.example.org:2222: oargridsub ")
    assert plan.describe().endswith("(timeout 120s)")  # g5k.default_timeout, since timeout=False
    words = shlex.split(plan.describe().split(": ", 1)[1].rsplit(" (", 1)[0])
    assert words == ["oargridsub", "-v", "-w", "1:0:0", "rennes:rdef=nodes=2,nova:rdef=nodes=1"]
    other = plan_oargrid_command(oargridstat_info_argv(7), frontend="rennes").unwrap()
    assert other.describe() == "[rennes] ssh me@rennes.example.org: oargridstat 7 (timeout 120s)"


def test_explicit_access_and_frontend_win(use_config: WriteConfig) -> None:
    use_config("[g5k]\nthis is not TOML\n")  # never read: the access is explicit
    access = FrontendAccess(params=ConnectionParams(host_suffix=".g5k", timeout=30), default_frontend="nancy")
    assert plan_oargridsub(SPECS, frontend_connection_params=access).unwrap().describe().startswith(
        "[nancy] ssh nancy.g5k: oargridsub ")
    assert plan_oargrid_command(("oargridstat",), "lille", access).unwrap().describe() == (
        "[lille] ssh lille.g5k: oargridstat (timeout 30s)")


def test_explicit_connection_params_keep_the_configured_default_frontend(use_config: WriteConfig) -> None:
    use_config(CONFIGURED)
    explicit = ConnectionParams(user="alice", host_suffix=".other.net", timeout=45)
    plan = plan_oargridsub(SPECS, frontend_connection_params=explicit).unwrap()
    assert plan.describe().startswith("[lyon] ssh alice@lyon.other.net: oargridsub ")  # no [frontends.lyon] port
    assert plan.describe().endswith("(timeout 45s)")


def test_on_a_frontend_no_ssh_for_local_frontend_runs_here(use_config: WriteConfig) -> None:
    use_config('[g5k]\nlocation = "frontend:rennes"\nno_ssh_for_local_frontend = true\n')
    assert plan_oargridsub(SPECS).unwrap().describe().startswith("[rennes] local: oargridsub ")
    use_config('[g5k]\nlocation = "frontend:rennes"\n')
    assert plan_oargridsub(SPECS).unwrap().describe().startswith("[rennes] ssh rennes.grid5000.fr: oargridsub ")


def test_no_frontend_at_all_is_refused_by_every_function(use_config: WriteConfig) -> None:
    use_config(OUTSIDE_NO_DEFAULT)
    planned = plan_oargridsub(SPECS)
    assert isinstance(planned, Failure)
    error = planned.failure()
    assert isinstance(error, InvalidInput) and error.name == "frontend"
    assert "default_frontend" in error.message
    # the performing functions refuse the same way before running anything
    for result in (
        oargridsub(SPECS),
        oargriddel([5]),
        get_oargrid_job_info(5),
        get_current_oargrid_jobs(),
        get_oargrid_job_nodes(5),
        get_oargrid_job_key(5),
        get_oargrid_job_oar_jobs(5),
        wait_oargrid_job_start(5, sleep=lambda _s: None),
    ):
        assert failure_of(result) == error
    # an explicit access without a default frontend is refused as well; naming the frontend is enough
    assert plan_oargrid_command(("oargridstat",), None, FrontendAccess()) == planned
    assert plan_oargrid_command(("oargridstat",), "lyon").unwrap().describe().startswith(
        "[lyon] ssh me@lyon.example.org: oargridstat")


def test_a_configuration_that_cannot_be_loaded_is_an_error_value(use_config: WriteConfig) -> None:
    path = use_config('[g5k]\ndefault_frontend = 3\n')
    planned = plan_oargridsub(SPECS, frontend="rennes")
    assert isinstance(planned, Failure)
    error = planned.failure()
    assert isinstance(error, ConfigError) and error.key == "g5k.default_frontend" and error.source == str(path)
    assert failure_of(oargriddel([5], frontend="rennes")) == error
    assert failure_of(get_current_oargrid_jobs(frontend="rennes")) == error
    assert failure_of(get_oargrid_job_nodes(5, frontend="rennes")) == error
    assert failure_of(get_oargrid_job_info(5, ConnectionParams(), frontend="rennes")) == error


def test_cli_grid_dry_runs_refuse_without_frontend(use_config: WriteConfig,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    use_config(OUTSIDE_NO_DEFAULT)
    for argv in (["grid", "sub", "rennes:nodes=1"], ["grid", "del", "3"], ["grid", "info", "3"],
                 ["grid", "nodes", "3"]):
        assert main([*argv, "--dry-run"]) == 1
        captured = capsys.readouterr()
        assert "local" not in captured.out and "default_frontend" in captured.err
    assert main(["grid", "sub", "rennes:nodes=1", "--dry-run", "--frontend", "rennes"]) == 0
    assert capsys.readouterr().out.startswith("[rennes] ssh me@rennes.example.org: oargridsub ")
