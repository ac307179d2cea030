"""g5k.oar with no access / no job key given: the effective configuration (G5K_CONFIG) supplies them, as
execo's ``g5k_configuration`` does; a configuration that cannot be loaded is the error value (nothing runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from g5k.oar import (
    CONFIGURED,
    get_current_oar_jobs,
    get_oar_job_info,
    get_oar_job_kavlan,
    get_oar_job_nodes,
    get_oar_job_subnets,
    oardel,
    oarsub,
    oarsub_plans,
    oarsubgrid,
    poll_jobs,
    resolve_defaults,
    wait_jobs_final,
    wait_jobs_start,
    wait_oar_job_start,
)
from g5k.results import performed
from returns.io import IOFailure, IOSuccess
from returns.result import Failure

from g5kpure.config import CommandPlan, ConnectionParams, FrontendAccess
from g5kpure.errors import ConfigError
from g5kpure.oar import DelStatus, OarJob, OarSubmission
from tests.conftest import success_of

CONFIG = """
[g5k]
default_frontend = "rennes"
location = "outside"
default_timeout = 120
oar_job_key_file = "/home/jdoe/.ssh/job key"

[frontend]
user = "jdoe"
port = 2200
host_suffix = ".example.org"

[frontends.lyon]
user = "lyonuser"
port = 2300
"""

SUB = OarSubmission(resources="nodes=1", walltime=600, command="true")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the file written by a test counts: no user config, no ~/.python-grid5000.yaml, no stray env."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("OAR_JOB_KEY_FILE", "OAR_JOB_ID", "G5K_DEFAULT_FRONTEND", "G5K_LOCATION", "G5K_OAR_JOB_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


def use_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "g5k.toml"
    path.write_text(text)
    monkeypatch.setenv("G5K_CONFIG", str(path))
    return path


def plan_of(result: object) -> CommandPlan:
    return success_of(result, CommandPlan)


def test_configured_default_frontend_user_port_suffix_timeout_and_key_reach_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(tmp_path, monkeypatch, CONFIG)
    (result,) = oarsub_plans([(SUB, None)], None, origin_tag=None)
    plan = plan_of(result)
    assert plan.frontend == "rennes"
    assert plan.endpoint is not None
    assert (plan.endpoint.host, plan.endpoint.user, plan.endpoint.port) == ("rennes.example.org", "jdoe", 2200)
    assert plan.timeout == 120.0
    assert plan.argv == ("oarsub", "-l", "nodes=1,walltime=0:10:00", "-k", "-i", "/home/jdoe/.ssh/job key", "true")
    assert plan.describe() == (
        "[rennes] ssh jdoe@rennes.example.org:2200: oarsub -l nodes=1,walltime=0:10:00 "
        "-k -i '/home/jdoe/.ssh/job key' true (timeout 120s)"
    )


def test_per_site_overrides_of_the_configuration_apply_to_named_frontends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(tmp_path, monkeypatch, CONFIG)
    lyon, nancy = (plan_of(r) for r in oarsub_plans([(SUB, "lyon"), (SUB, "nancy")], origin_tag=None))
    assert lyon.endpoint is not None and nancy.endpoint is not None
    assert (lyon.endpoint.host, lyon.endpoint.user, lyon.endpoint.port) == ("lyon.example.org", "lyonuser", 2300)
    assert (nancy.endpoint.host, nancy.endpoint.user, nancy.endpoint.port) == ("nancy.example.org", "jdoe", 2200)


def test_the_job_key_from_the_environment_beats_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_config(tmp_path, monkeypatch, CONFIG)
    monkeypatch.setenv("OAR_JOB_KEY_FILE", "/keys/from-env")
    (result,) = oarsub_plans([(SUB, None)], origin_tag=None)
    assert plan_of(result).argv[3:6] == ("-k", "-i", "/keys/from-env")


def test_explicit_none_asks_for_no_key_and_an_explicit_path_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(tmp_path, monkeypatch, CONFIG)
    (none,) = oarsub_plans([(SUB, None)], job_key_file=None, origin_tag=None)
    assert plan_of(none).argv == ("oarsub", "-l", "nodes=1,walltime=0:10:00", "true")
    (mine,) = oarsub_plans([(SUB, None)], job_key_file="/mine", origin_tag=None)
    assert plan_of(mine).argv[3:6] == ("-k", "-i", "/mine")
    (configured,) = oarsub_plans([(SUB, None)], job_key_file=CONFIGURED, origin_tag=None)
    assert "/home/jdoe/.ssh/job key" in plan_of(configured).argv


def test_an_explicit_access_is_used_as_given_but_the_key_still_comes_from_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(tmp_path, monkeypatch, CONFIG)
    mine = FrontendAccess(ConnectionParams(user="me", port=22, host_suffix=".mine"), default_frontend="nancy")
    (result,) = oarsub_plans([(SUB, None)], mine, origin_tag=None)
    plan = plan_of(result)
    assert plan.endpoint is not None
    assert (plan.frontend, plan.endpoint.host, plan.endpoint.user, plan.endpoint.port) == (
        "nancy",
        "nancy.mine",
        "me",
        22,
    )
    assert plan.argv[3:6] == ("-k", "-i", "/home/jdoe/.ssh/job key")


def test_no_ssh_for_the_local_frontend_comes_from_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(tmp_path, monkeypatch, '[g5k]\nlocation = "frontend:lyon"\nno_ssh_for_local_frontend = true\n')
    here, there = (plan_of(r) for r in oarsub_plans([(SUB, None), (SUB, "nancy")], job_key_file=None, origin_tag=None))
    assert (here.frontend, here.endpoint) == ("lyon", None)  # the site we run on, without ssh
    assert there.endpoint is not None and there.endpoint.host == "nancy.grid5000.fr"


def test_resolve_defaults_shows_what_a_call_would_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_config(tmp_path, monkeypatch, CONFIG)
    got = resolve_defaults()
    assert isinstance(got, IOSuccess)
    d = performed(got).unwrap()
    assert (d.access.default_frontend, d.access.params.user, d.job_key_file) == (
        "rennes",
        "jdoe",
        "/home/jdoe/.ssh/job key",
    )
    assert performed(resolve_defaults(job_key_file=None)).unwrap().job_key_file is None


BROKEN = {
    "not TOML": "[g5k\ndefault_frontend = 'rennes'\n",
    "wrong type": "[g5k]\ndefault_frontend = 3\n",
    "unknown key": "[frontend]\nprot = 22\n",
}


@pytest.mark.parametrize("text", list(BROKEN.values()), ids=list(BROKEN))
def test_a_broken_configuration_is_each_plans_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = use_config(tmp_path, monkeypatch, text)
    plans = oarsub_plans([(SUB, None), (SUB, "lyon")])
    assert len(plans) == 2
    for p in plans:
        assert isinstance(p, Failure)
        assert isinstance(p.failure(), ConfigError)
        assert str(path) in p.failure().message


def test_a_broken_configuration_is_the_error_value_of_every_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(tmp_path, monkeypatch, BROKEN["wrong type"])

    def config_error(value: object) -> None:
        assert isinstance(value, IOFailure | Failure), value
        err = performed(value).failure() if isinstance(value, IOFailure) else value.failure()
        assert isinstance(err, ConfigError)
        assert err.key == "g5k.default_frontend"

    for r in oarsub([(SUB, None), (SUB, "lyon")]):
        config_error(r)
    config_error(oarsubgrid([(SUB, "rennes"), (SUB, "lyon")]))
    config_error(get_oar_job_info(42))
    config_error(get_current_oar_jobs(["rennes"]))
    config_error(wait_oar_job_start(42))
    config_error(get_oar_job_nodes(42))
    config_error(get_oar_job_subnets(42))
    config_error(get_oar_job_kavlan(42))
    config_error(resolve_defaults())
    jobs = [OarJob(42, "rennes"), OarJob(43, None)]
    for polled in performed(poll_jobs(jobs)):
        config_error(polled)
    for waited in performed(wait_jobs_start(jobs)):
        config_error(waited)
    outcomes = performed(oardel([(42, "rennes"), (43, None)]))
    assert [(o.job, o.status) for o in outcomes] == [(jobs[0], DelStatus.FAILED), (jobs[1], DelStatus.FAILED)]
    assert all(isinstance(o.error, ConfigError) for o in outcomes)
    assert wait_jobs_final(jobs, timeout=1.0) == {jobs[0]: None, jobs[1]: None}


def test_a_broken_configuration_is_not_read_when_everything_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(tmp_path, monkeypatch, BROKEN["not TOML"])
    mine = FrontendAccess(ConnectionParams(user="me", host_suffix=".mine"))
    (result,) = oarsub_plans([(SUB, "lyon")], mine, job_key_file=None, origin_tag=None)
    assert plan_of(result).describe() == (
        "[lyon] ssh me@lyon.mine: oarsub -l nodes=1,walltime=0:10:00 true (timeout 900s)"
    )
    (needs_key,) = oarsub_plans([(SUB, "lyon")], mine, origin_tag=None)
    assert isinstance(needs_key, Failure) and isinstance(needs_key.failure(), ConfigError)
