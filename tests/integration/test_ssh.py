"""The ssh adapter against the testbed's real sshd (frontends rennes, nancy, lyon; lille refuses connections)."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from attrs import evolve
from g5k.ssh import output_or_failure, run, run_plans

from g5kpure.config import CommandOutput, ConnectionParams, FrontendAccess, plan_command
from g5kpure.errors import AuthError, CommandFailed, Timeout, Unreachable

pytestmark = pytest.mark.integration

WEIRD = (
    "a b",
    "'",
    '"',
    "$HOME",
    "`id`",
    "$(id)",
    "; rm -rf /tmp/nothing",
    "a|b&&c",
    "line1\nline2",
    "*",
    "~",
    "é ü 日本",
    "back\\slash",
    "",
    "-n",
    "%s",
    "tab\there",
)


def _ok(result: object) -> CommandOutput:
    value = output_or_failure(result)  # type: ignore[arg-type]
    assert isinstance(value, CommandOutput), value
    return value


def test_runs_on_every_live_frontend_as_the_test_user(frontend_params: ConnectionParams, live_frontends) -> None:
    access = FrontendAccess(frontend_params)
    for name in live_frontends:
        out = _ok(run(("sh", "-c", "id -un; echo to-stderr >&2; exit 3"), name, access))
        assert out.exit_code == 3
        assert out.stdout == "alice\n"
        assert out.stderr == "to-stderr\n"
        assert out.frontend == name
        assert not out.ok


def test_argv_reaches_the_remote_side_byte_for_byte(frontend_params: ConnectionParams) -> None:
    out = _ok(run(("printf", "%s\\0", *WEIRD), "rennes", FrontendAccess(frontend_params)))
    assert out.exit_code == 0
    assert tuple(out.stdout.split("\0")[:-1]) == WEIRD


def test_refused_connection_is_unreachable(frontend_params: ConnectionParams, dead_frontend: str) -> None:
    started = time.monotonic()
    err = output_or_failure(run(("true",), dead_frontend, FrontendAccess(frontend_params)))
    assert isinstance(err, Unreachable)
    assert dead_frontend in err.host
    assert time.monotonic() - started < frontend_params.connect_timeout + 5


def test_unknown_host_is_unreachable(frontend_params: ConnectionParams) -> None:
    err = output_or_failure(run(("true",), "nosuchsite", FrontendAccess(frontend_params)))
    assert isinstance(err, Unreachable)
    assert "nosuchsite.frontend" in err.host


def test_wrong_key_is_an_auth_error(frontend_params: ConnectionParams, other_user_params: ConnectionParams) -> None:
    wrong = evolve(frontend_params, key_filename=other_user_params.key_filename)
    err = output_or_failure(run(("true",), "nancy", FrontendAccess(wrong)))
    assert isinstance(err, AuthError)
    assert "nancy" in err.where


def test_command_hanging_past_its_timeout_is_a_timeout_and_is_stopped(frontend_params: ConnectionParams) -> None:
    marker = f"g5kpure-hang-{uuid.uuid4().hex}"
    started = time.monotonic()
    err = output_or_failure(
        run(("sh", "-c", "sleep 30; echo too late", marker), "lyon", FrontendAccess(frontend_params), timeout=1.5)
    )
    elapsed = time.monotonic() - started
    assert isinstance(err, Timeout)
    assert err.after_s == 1.5
    assert elapsed < 10
    # the remote command does not outlive its timeout (sshd signalled its process group)
    for _ in range(50):
        if subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode != 0:
            break
        time.sleep(0.1)
    assert subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1


def test_connection_killed_mid_command_is_unreachable(frontend_params: ConnectionParams) -> None:
    marker = f"g5kpure-kill-{uuid.uuid4().hex}"
    killed: list[str] = []

    def kill_session() -> None:
        for _ in range(50):
            found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
            if found:
                session = subprocess.run(
                    ["ps", "-o", "ppid=", "-p", found[0]], capture_output=True, text=True
                ).stdout.strip()
                subprocess.run(["kill", "-KILL", session], check=True)
                killed.append(session)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_session)
    killer.start()
    started = time.monotonic()
    err = output_or_failure(
        run(("sh", "-c", "sleep 20", marker), "rennes", FrontendAccess(frontend_params), timeout=15)
    )
    killer.join()
    assert killed, "the remote command was never seen running"
    assert isinstance(err, Unreachable)
    assert err.during.startswith("running command") and marker in err.during
    assert "without an exit status" in err.detail
    assert "lost" in err.message
    assert time.monotonic() - started < 15


def test_parallel_runs_come_back_in_input_order(frontend_params: ConnectionParams, live_frontends, dead_frontend):
    access = FrontendAccess(frontend_params)
    names = (*live_frontends, dead_frontend, *reversed(live_frontends))
    plans = [plan_command(("sh", "-c", 'sleep 0.5; echo "$0"', name), name, access).unwrap() for name in names]
    results = [output_or_failure(r) for r in run_plans(plans, max_parallel=3)]
    for name, result in zip(names, results, strict=True):
        if name == dead_frontend:
            assert isinstance(result, Unreachable)
        else:
            assert isinstance(result, CommandOutput)
            assert result.stdout == f"{name}\n"
            assert result.frontend == name


def test_local_frontend_runs_without_ssh(frontend_params: ConnectionParams) -> None:
    # no_ssh_for_local_frontend: the command runs here, as the test process's user, not as the ssh user
    access = FrontendAccess(frontend_params, local_frontend="rennes")
    local = _ok(run(("id", "-un"), "rennes", access))
    remote = _ok(run(("id", "-un"), "nancy", access))
    assert remote.stdout == "alice\n"
    assert local.stdout != "alice\n"
    assert local.stdout == subprocess.run(["id", "-un"], capture_output=True, text=True).stdout


def test_no_default_frontend_means_local(frontend_params: ConnectionParams) -> None:
    out = _ok(run(("printf", "%s", "x y"), None, FrontendAccess(frontend_params)))
    assert out.stdout == "x y"
    assert out.frontend == "local"


def test_local_timeout_and_missing_command() -> None:
    access = FrontendAccess(ConnectionParams())
    child = f"g5kpure-child-{uuid.uuid4().hex}"
    # the command starts a child of its own: the timeout stops both
    script = 'sh -c "sleep 30" "$0" & wait'
    assert isinstance(output_or_failure(run(("sh", "-c", script, child), None, access, timeout=0.5)), Timeout)
    assert subprocess.run(["pgrep", "-f", child], capture_output=True).returncode == 1
    missing = output_or_failure(run(("g5kpure-no-such-command",), None, access))
    assert isinstance(missing, CommandFailed)
    assert missing.exit_code == 127


def test_timeout_none_means_no_limit(frontend_params: ConnectionParams) -> None:
    access = FrontendAccess(frontend_params)
    plan = plan_command(("sleep", "1"), "rennes", access, timeout=None).unwrap()
    assert plan.timeout is None
    (result,) = run_plans([plan])
    assert _ok(result).exit_code == 0


def test_unusable_keys_are_auth_errors(frontend_params: ConnectionParams, tmp_path) -> None:
    not_a_key = tmp_path / "not-a-key"
    not_a_key.write_text("hello\n")
    for key in (str(tmp_path / "missing"), str(not_a_key)):
        err = output_or_failure(run(("true",), "rennes", FrontendAccess(evolve(frontend_params, key_filename=key))))
        assert isinstance(err, AuthError), (key, err)
        assert "rennes" in err.where


def test_user_refused_by_the_server_is_an_auth_error(frontend_params: ConnectionParams) -> None:
    # the frontend sshd accepts only the test users: root's login is refused whatever the key
    err = output_or_failure(run(("true",), "lyon", FrontendAccess(evolve(frontend_params, user="root"))))
    assert isinstance(err, AuthError)


def test_proxy_jump_goes_through_the_jump_host(frontend_params: ConnectionParams, dead_frontend: str) -> None:
    through_rennes = evolve(frontend_params, proxy_jump="alice@rennes.frontend.g5kpure.test:2222")
    out = _ok(run(("id", "-un"), "nancy", FrontendAccess(through_rennes)))
    assert out.stdout == "alice\n" and out.frontend == "nancy"
    # the target is fine but the jump host is down: the jump was really used
    through_dead = evolve(frontend_params, proxy_jump=f"alice@{dead_frontend}.frontend.g5kpure.test:2222")
    err = output_or_failure(run(("id", "-un"), "nancy", FrontendAccess(through_dead)))
    assert isinstance(err, Unreachable)
    assert f"via alice@{dead_frontend}" in err.host


def test_user_ssh_config_is_honoured(frontend_params: ConnectionParams, testbed, tmp_path, monkeypatch) -> None:
    # nothing in the parameters: host name, user, port and key all come from ~/.ssh/config, the host key from
    # ~/.ssh/known_hosts
    ssh_dir = tmp_path / ".ssh"
    ssh_dir.mkdir()
    (ssh_dir / "known_hosts").write_text(Path(testbed.known_hosts).read_text())
    (ssh_dir / "config").write_text(
        "Host myfrontend\n"
        "  HostName lyon.frontend.g5kpure.test\n"
        "  User alice\n"
        "  Port 2222\n"
        f"  IdentityFile {frontend_params.key_filename}\n"
    )
    monkeypatch.setenv("HOME", str(tmp_path))
    out = _ok(run(("id", "-un"), "myfrontend", FrontendAccess(ConnectionParams())))
    assert out.stdout == "alice\n"
