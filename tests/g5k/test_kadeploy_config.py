"""deploy() / Kadeployer / plan_kadeploy read their defaults from the configuration file (like execo's
g5k_configuration); explicit arguments win; short host names with no default frontend are refused, not run here."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from g5k.cli.main import main
from g5k.kadeploy import Kadeployer, configured_defaults, deploy, plan_kadeploy
from g5k.results import performed
from returns.result import Failure, Success

from g5kpure.config import ConnectionParams, FrontendAccess
from g5kpure.deploy import Deployment, KadeploySettings
from g5kpure.errors import ConfigError, InvalidInput
from tests.conftest import OUTSIDE_NO_DEFAULT, WriteConfig, config_writer

CONFIGURED = """\
[g5k]
kadeploy3 = "/opt/kadeploy3/bin/kadeploy3"
kadeploy3_options = "-k --force-steps"
default_env_name = "debian12-big"
check_deployed_command = "test -e /etc/deployed"
default_frontend = "lyon"
location = "outside"

[frontend]
user = "me"
host_suffix = ".example.org"

[frontends.rennes]
port = 2222
"""


@pytest.fixture
def use_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WriteConfig:
    """Point G5K_CONFIG at a file holding the given text; no other configuration source is visible."""
    return config_writer(tmp_path, monkeypatch)


def unwrapped(described: str) -> str:
    """A described kadeploy3 command without its pid-recording wrapper (``sh -c '...' PREFIX``)."""
    return re.sub(r"sh -c '[^']*' \S+ ", "", described, count=1)


def argv_of(described: str) -> list[str]:
    """The kadeploy3 argv of a described plan line: ``[site] ssh host: sh -c '...' PREFIX ARGV (timeout ...)``."""
    return shlex.split(unwrapped(described).split(": ", 1)[1].rsplit(" (", 1)[0])


def test_configured_command_options_env_and_default_frontend_flow_into_the_plan(use_config: WriteConfig) -> None:
    use_config(CONFIGURED)
    plan = plan_kadeploy(Deployment(("nova-1", "nova-2", "paravance-3.rennes.grid5000.fr")),
                         file_prefix="/tmp/p").unwrap()
    lines = plan.describe().splitlines()
    assert lines[0].startswith("[lyon] ssh me@lyon.example.org: ")  # short names: the configured default frontend
    assert argv_of(lines[0]) == ["/opt/kadeploy3/bin/kadeploy3", "-k", "--force-steps", "-e", "debian12-big",
                                 "-m", "nova-1", "-m", "nova-2", "-o", "/tmp/p-lyon.ok", "-n", "/tmp/p-lyon.ko"]
    assert unwrapped(lines[1]).startswith("[rennes] ssh me@rennes.example.org:2222: /opt/kadeploy3/bin/kadeploy3 -k ")
    assert lines[1].endswith("(timeout 3600s)")  # DEFAULT_DEPLOY_TIMEOUT: a silent link cannot hold it forever


def test_kadeployer_and_defaults_take_the_configured_settings(use_config: WriteConfig) -> None:
    use_config(CONFIGURED)
    access, settings = configured_defaults().unwrap()
    assert (access.default_frontend, access.local_frontend, access.params.user) == ("lyon", None, "me")
    assert settings == KadeploySettings(kadeploy3="/opt/kadeploy3/bin/kadeploy3",
                                        kadeploy3_options="-k --force-steps", default_env_name="debian12-big",
                                        check_deployed_command="test -e /etc/deployed")
    k = Kadeployer(Deployment(("nova-1",), env_file="/home/me/e.dsc"), timeout=600)
    assert k.config_error is None and k.settings == settings and k.access == access
    [command] = k.plan().unwrap().commands
    assert unwrapped(command.describe()).startswith("[lyon] ssh me@lyon.example.org: /opt/kadeploy3/bin/kadeploy3 -k "
                                         "--force-steps -a /home/me/e.dsc -m nova-1 ")
    assert command.timeout == 600.0


def test_explicit_arguments_win_and_skip_the_configuration(use_config: WriteConfig) -> None:
    use_config("[g5k]\nthis is not TOML\n")  # never read: both explicit
    access = FrontendAccess(params=ConnectionParams(host_suffix=".g5k"), default_frontend="nancy")
    settings = KadeploySettings(kadeploy3="k3", kadeploy3_options="-d")
    [command] = plan_kadeploy(Deployment(("grisou-1",), env_name="e"), access, settings,
                              file_prefix="/tmp/x").unwrap().commands
    assert unwrapped(command.describe()).startswith("[nancy] ssh nancy.g5k: k3 -d -e e -m grisou-1 -o /tmp/x-nancy.ok")
    assert Kadeployer(Deployment(("grisou-1",), env_name="e"), access, settings).config_error is None


def test_explicit_connection_params_keep_the_configured_default_frontend(use_config: WriteConfig) -> None:
    use_config(CONFIGURED)
    explicit = ConnectionParams(user="alice", host_suffix=".other.net")
    [lyon, rennes] = plan_kadeploy(Deployment(("nova-1", "parasilo-1.rennes"), env_name="e"), explicit,
                                   file_prefix="/tmp/x").unwrap().commands
    # the explicit parameters replace the configured ones, [frontends.rennes] included; settings stay configured
    assert unwrapped(lyon.describe()).startswith("[lyon] ssh alice@lyon.other.net: /opt/kadeploy3/bin/kadeploy3 -k ")
    assert unwrapped(rennes.describe()).startswith(
        "[rennes] ssh alice@rennes.other.net: /opt/kadeploy3/bin/kadeploy3 -k ")


def test_short_names_without_default_frontend_are_refused_by_name(use_config: WriteConfig) -> None:
    use_config(OUTSIDE_NO_DEFAULT)
    dep = Deployment(("nova-1", "nova-3.lyon", "nova-2"), env_name="e")
    planned = plan_kadeploy(dep)
    assert isinstance(planned, Failure)
    error = planned.failure()
    assert isinstance(error, InvalidInput)
    assert error.value == "nova-1, nova-2"  # exactly the hosts whose site cannot be told
    assert "default_frontend" in error.message
    assert Kadeployer(dep).plan() == planned
    ran = performed(Kadeployer(dep).run())
    assert isinstance(ran, Failure) and ran.failure() == error
    # refused before any check or kadeploy3: nothing would answer on these names anyway
    done = performed(deploy(dep, check_deployed_command=True, num_tries=2))
    assert isinstance(done, Failure) and done.failure() == error
    # an explicit access without a default frontend is refused the same way
    assert plan_kadeploy(dep, FrontendAccess(), KadeploySettings()) == planned
    # host.site names alone need no default frontend
    only_sited = plan_kadeploy(Deployment(("nova-3.lyon",), env_name="e"))
    assert isinstance(only_sited, Success)
    shown = unwrapped(only_sited.unwrap().commands[0].describe())
    assert shown.startswith("[lyon] ssh me@lyon.example.org: kadeploy3 -k -d ")


def test_on_a_frontend_short_names_go_to_its_site_and_no_ssh_is_honoured(use_config: WriteConfig) -> None:
    use_config('[g5k]\nlocation = "frontend:rennes"\nno_ssh_for_local_frontend = true\n')
    [local, remote] = plan_kadeploy(Deployment(("paravance-1", "nova-1.lyon"), env_name="e"),
                                    file_prefix="/tmp/x").unwrap().commands
    assert unwrapped(local.describe()).startswith("[rennes] local: kadeploy3 -k -d -e e -m paravance-1 ")
    assert unwrapped(remote.describe()).startswith("[lyon] ssh lyon.grid5000.fr: kadeploy3 ")
    use_config('[g5k]\nlocation = "frontend:rennes"\n')
    [ssh, _] = plan_kadeploy(Deployment(("paravance-1", "nova-1.lyon"), env_name="e"),
                             file_prefix="/tmp/x").unwrap().commands
    assert unwrapped(ssh.describe()).startswith("[rennes] ssh rennes.grid5000.fr: kadeploy3 ")


def test_a_configuration_that_cannot_be_loaded_is_an_error_value(use_config: WriteConfig) -> None:
    path = use_config('[g5k]\nkadeploy3_options = 3\n')
    dep = Deployment(("nova-1.lyon",), env_name="e")
    planned = plan_kadeploy(dep)
    assert isinstance(planned, Failure)
    error = planned.failure()
    assert isinstance(error, ConfigError) and error.key == "g5k.kadeploy3_options" and error.source == str(path)
    k = Kadeployer(dep)
    assert k.config_error == error and k.plan() == planned
    ran = performed(k.run())
    assert isinstance(ran, Failure) and ran.failure() == error
    done = performed(deploy(dep))
    assert isinstance(done, Failure) and done.failure() == error
    # only settings explicit: the access still needs the configuration, so still the error
    assert plan_kadeploy(dep, settings=KadeploySettings()) == planned


def test_cli_dry_run_refuses_short_names_outside_without_default(use_config: WriteConfig,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    use_config(OUTSIDE_NO_DEFAULT)
    assert main(["deploy", "-e", "debian12-min", "nova-1", "nova-2.lyon", "--dry-run"]) == 1
    captured = capsys.readouterr()
    assert "local" not in captured.out and "'nova-1'" in captured.err
    assert main(["deploy", "-e", "debian12-min", "nova-1", "--no-check", "--dry-run", "--frontend", "lyon"]) == 0
    assert unwrapped(capsys.readouterr().out).startswith("[lyon] ssh me@lyon.example.org: kadeploy3 -k -d -e "
                                                        "debian12-min")
