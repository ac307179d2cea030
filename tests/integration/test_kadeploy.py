"""deploy() / Kadeployer against the testbed: the kadeploy3 stand-in on the frontends, node checks over real ssh.

The fake nodes (paravance-N / parasilo-N .rennes.grid5000.fr -> 127.0.10.N / 127.0.11.N) get an sshd of their
own for these tests (started by the ``node_ssh`` fixture, as alice, on a free port). The stand-in marks the
nodes it deploys; ``kadeploy3-standin-ctl check`` run over ssh on a node sees that mark.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from attrs import evolve
from g5k.cli.main import main
from g5k.kadeploy import DeployResult, Kadeployer, deploy
from g5k.ssh import output_or_failure, run
from returns.io import IOResult

from g5kpure.config import CommandOutput, Config, ConnectionParams, FrontendAccess, to_toml
from g5kpure.deploy import Attempt, Deployment, KadeploySettings
from g5kpure.errors import G5kError, Timeout

pytestmark = pytest.mark.integration

CHECK = "kadeploy3-standin-ctl check"
PARAVANCE = tuple(f"paravance-{i}.rennes.grid5000.fr" for i in range(1, 5))
PARASILO = tuple(f"parasilo-{i}.rennes.grid5000.fr" for i in range(1, 5))


def _free_port(addresses: list[str]) -> int:
    for port in range(2300, 2400):
        try:
            for address in addresses:
                with socket.socket() as s:
                    s.bind((address, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port for the node sshd")


@pytest.fixture(scope="module")
def node_ssh(testbed, tmp_path_factory) -> Iterator[ConnectionParams]:
    """An sshd answering on every fake node address (as the test user); yields the node connection params."""
    addresses = [socket.gethostbyname(h) for h in testbed.nodes]
    port = _free_port(addresses)
    work: Path = tmp_path_factory.mktemp("node-sshd")
    work.chmod(0o755)
    key = work / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    config = work / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", *(f"ListenAddress {a}" for a in addresses), f"HostKey {key}",
        f"PidFile {work / 'sshd.pid'}", f"AllowUsers {testbed.frontend.user}", "PermitRootLogin no",
        "PubkeyAuthentication yes", "AuthorizedKeysFile .ssh/authorized_keys", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "UsePAM no", "MaxStartups 200:30:400", "StrictModes no", "",
    ]))
    Path("/run/sshd").mkdir(exist_ok=True)
    subprocess.run(["/usr/sbin/sshd", "-f", str(config), "-E", str(work / "sshd.log")], check=True)
    pidfile = work / "sshd.pid"
    for _ in range(50):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.1)
    pid = int(pidfile.read_text())
    known_hosts = work / "known_hosts"  # the nodes' host key, under their names and addresses
    host_key = " ".join(Path(f"{key}.pub").read_text().split()[:2])
    known_hosts.write_text("".join(f"[{name}]:{port} {host_key}\n" for name in (*testbed.nodes, *addresses)))
    try:
        yield ConnectionParams(user=testbed.frontend.user, port=port, key_filename=testbed.frontend.key_filename,
                               timeout=30.0, connect_timeout=5.0, known_hosts=str(known_hosts))
    finally:
        os.kill(pid, signal.SIGTERM)


@pytest.fixture(autouse=True)
def testbed_config(g5k_config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls that leave settings to the configuration read the testbed's, never the user's."""
    monkeypatch.setenv("G5K_CONFIG", str(g5k_config_file))


@pytest.fixture
def access(frontend_params: ConnectionParams) -> Iterator[FrontendAccess]:
    """Frontend access to the testbed, with the kadeploy3 stand-in reset before and after each test."""
    acc = FrontendAccess(params=frontend_params, default_frontend="rennes")
    ctl(acc, "reset")
    yield acc
    ctl(acc, "reset")


def ctl(access: FrontendAccess, *args: str) -> str:
    out = output_or_failure(run(("kadeploy3-standin-ctl", *args), "rennes", access, timeout=30))
    assert isinstance(out, CommandOutput), out
    assert out.exit_code == 0, out.stderr
    return out.stdout


def runs(access: FrontendAccess) -> list[list[str]]:
    return [line.split() for line in ctl(access, "runs").splitlines()]


def ok(result: IOResult[DeployResult, G5kError]) -> DeployResult:
    value = output_or_failure(result)
    assert isinstance(value, DeployResult), value
    return value


def test_all_hosts_deployed_at_once(access: FrontendAccess, node_ssh: ConnectionParams) -> None:
    hosts = PARAVANCE + PARASILO[:2]
    result = ok(deploy(Deployment(hosts, env_name="debian12-min"), CHECK, node_ssh, num_tries=3,
                       frontend_connection_params=access))
    assert result.deployed == frozenset(hosts) and result.undeployed == frozenset()
    assert result.why == "all deployed" and result.tries == 1
    assert runs(access) == [list(hosts)]  # one kadeploy3 run on the rennes frontend, every host in it
    assert set(ctl(access, "deployed").split()) == set(hosts)
    assert result.history_of(hosts[0]) == (
        Attempt(0, "check", False, "check command exited with 1"), Attempt(1, "deploy", True), Attempt(1, "check", True)
    )


def test_failed_hosts_are_redeployed_alone_until_they_succeed(
    access: FrontendAccess, node_ssh: ConnectionParams
) -> None:
    ctl(access, "fail", PARAVANCE[1], "1")
    ctl(access, "fail", PARASILO[0], "2")
    hosts = PARAVANCE[:3] + PARASILO[:1]
    result = ok(deploy(Deployment(hosts, env_name="debian12-min"), CHECK, node_ssh, num_tries=3,
                       frontend_connection_params=access))
    assert result.deployed == frozenset(hosts) and result.tries == 3
    assert runs(access) == [list(hosts), [PARAVANCE[1], PARASILO[0]], [PARASILO[0]]]
    deploys = [a for a in result.history_of(PARASILO[0]) if a.action == "deploy"]
    assert [(a.try_number, a.deployed) for a in deploys] == [(1, False), (2, False), (3, True)]
    assert deploys[0].reason == "Deploy[SetDeploymentEnvUntrusted] wait_reboot timeout"


def test_tries_exhausted_reports_the_failed_hosts(access: FrontendAccess, node_ssh: ConnectionParams) -> None:
    ctl(access, "fail", PARAVANCE[0])
    result = ok(deploy(Deployment(PARAVANCE[:2], env_name="e"), CHECK, node_ssh, num_tries=2,
                       frontend_connection_params=access))
    assert result.deployed == frozenset({PARAVANCE[1]}) and result.undeployed == frozenset({PARAVANCE[0]})
    assert result.why == "tries exhausted" and len(runs(access)) == 2


def test_check_enough_func_stops_early(access: FrontendAccess, node_ssh: ConnectionParams) -> None:
    ctl(access, "fail", PARAVANCE[3])
    seen: list[tuple[int, int]] = []

    def enough(deployed: frozenset[str], undeployed: frozenset[str]) -> bool:
        seen.append((len(deployed), len(undeployed)))
        return len(deployed) >= 3

    result = ok(deploy(Deployment(PARAVANCE, env_name="e"), CHECK, node_ssh, num_tries=5, check_enough_func=enough,
                       frontend_connection_params=access))
    assert result.why == "enough" and result.tries == 1
    assert result.undeployed == frozenset({PARAVANCE[3]})
    assert len(runs(access)) == 1
    assert seen == [(0, 4), (3, 1)]


def test_already_deployed_hosts_are_not_redeployed(access: FrontendAccess, node_ssh: ConnectionParams) -> None:
    ctl(access, "mark", PARAVANCE[0])
    ctl(access, "mark", PARAVANCE[2])
    first = ok(deploy(Deployment(PARAVANCE, env_name="e"), CHECK, node_ssh, frontend_connection_params=access))
    assert first.deployed == frozenset(PARAVANCE)
    assert runs(access) == [[PARAVANCE[1], PARAVANCE[3]]]
    again = ok(deploy(Deployment(PARAVANCE, env_name="e"), CHECK, node_ssh, frontend_connection_params=access))
    assert again.deployed == frozenset(PARAVANCE) and again.tries == 0 and again.why == "all deployed"
    assert len(runs(access)) == 1  # the rerun deployed nothing


def test_hanging_frontend_hits_deploy_timeout(access: FrontendAccess, node_ssh: ConnectionParams) -> None:
    ctl(access, "hang", "20")
    started = time.monotonic()
    result = ok(deploy(Deployment(PARAVANCE[:2], env_name="e"), CHECK, node_ssh, num_tries=1,
                       frontend_connection_params=access, deploy_timeout=3))
    elapsed = time.monotonic() - started
    ctl(access, "hang", "0")
    assert elapsed < 20  # execo ignores deploy_timeout and would wait for the whole hang
    assert result.deployed == frozenset() and result.undeployed == frozenset(PARAVANCE[:2])
    assert [f for f, _ in result.frontend_failures] == ["rennes"]
    error: G5kError = result.frontend_failures[0][1]
    assert isinstance(error, Timeout) and error.after_s == 3
    assert "timed out" in result.history_of(PARAVANCE[0])[-2].reason


def test_kadeployer_runs_one_kadeploy3_per_frontend_in_parallel(access: FrontendAccess) -> None:
    hosts = (PARAVANCE[0], "gros-1.nancy.grid5000.fr", "nova-1.lyon.grid5000.fr", PARAVANCE[1])
    result = output_or_failure(Kadeployer(Deployment(hosts, env_name="e"), access).run())
    assert not isinstance(result, G5kError), result
    assert result.deployed_hosts == frozenset(hosts)
    assert sorted(runs(access)) == sorted([[PARAVANCE[0], PARAVANCE[1]], ["gros-1.nancy.grid5000.fr"],
                                           ["nova-1.lyon.grid5000.fr"]])
    assert sorted(o.frontend for o in result.outputs) == ["lyon", "nancy", "rennes"]


def test_without_check_kadeploy_report_decides(access: FrontendAccess) -> None:
    ctl(access, "fail", PARASILO[1], "1")
    result = ok(deploy(Deployment(PARASILO[:2], env_name="e"), False, num_tries=2, frontend_connection_params=access))
    assert result.deployed == frozenset(PARASILO[:2]) and result.tries == 2
    assert runs(access) == [list(PARASILO[:2]), [PARASILO[1]]]


def test_unreachable_frontend_fails_its_hosts_only(access: FrontendAccess, dead_frontend: str) -> None:
    hosts = (PARAVANCE[0], f"nova-1.{dead_frontend}.grid5000.fr")
    result = ok(deploy(Deployment(hosts, env_name="e"), None, frontend_connection_params=access))
    assert result.deployed == frozenset({PARAVANCE[0]})
    assert result.undeployed == frozenset({hosts[1]})
    assert [f for f, _ in result.frontend_failures] == [dead_frontend]
    assert "unreachable" in result.history_of(hosts[1])[0].reason


def test_kavlan_checks_use_kavlan_names(access: FrontendAccess, node_ssh: ConnectionParams) -> None:
    # Only kavlan names resolve to the nodes here; any other name goes nowhere, so a check that did not use
    # the kavlan names would find no node deployed.
    params = evolve(node_ssh, host_rewrite=((r"(paravance-\d+)-kavlan-4(\..*)", r"\1\2"), (r".*", "nowhere.invalid")))
    result = ok(deploy(Deployment(PARAVANCE[:2], env_name="e", vlan=4), CHECK, params,
                       frontend_connection_params=access))
    assert result.deployed == frozenset(PARAVANCE[:2]) and result.tries == 1
    assert runs(access) == [list(PARAVANCE[:2])]


def test_invalid_deployment_is_refused_before_anything_runs(access: FrontendAccess) -> None:
    result = output_or_failure(deploy(Deployment(PARAVANCE[:1]), CHECK, frontend_connection_params=access))
    assert isinstance(result, G5kError) and "env_name" in result.message
    assert runs(access) == []


def test_g5k_deploy_command_end_to_end(access: FrontendAccess, node_ssh: ConnectionParams, frontend_params,
                                       tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # the command checks the nodes' host keys against ~/.ssh/known_hosts
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    (tmp_path / "home" / ".ssh" / "known_hosts").write_text(Path(str(node_ssh.known_hosts)).read_text())
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = tmp_path / "config.toml"
    config.write_text(to_toml(Config(default_frontend="rennes", frontend=frontend_params)))
    ctl(access, "fail", PARASILO[2], "1")
    ctl(access, "mark", PARASILO[0])
    code = main(["deploy", "--config", str(config), "-e", "debian12-min", "parasilo-[1-3].rennes.grid5000.fr",
                 "--tries", "2", "--check", CHECK, "--node-user", str(node_ssh.user), "--node-port",
                 str(node_ssh.port), "--node-key", str(node_ssh.key_filename), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert sorted(data["deployed"]) == list(PARASILO[:3]) and data["undeployed"] == []
    assert data["tries"] == 2 and data["why"] == "all deployed"
    assert runs(access) == [[PARASILO[1], PARASILO[2]], [PARASILO[2]]]
    ctl(access, "fail", PARASILO[3])
    code = main(["deploy", "--config", str(config), "-e", "x", PARASILO[3], "--no-check"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"FAIL {PARASILO[3]}: Deploy[SetDeploymentEnvUntrusted] wait_reboot timeout" in out


def test_kadeploy3_refusing_to_start_is_reported_with_its_message(access: FrontendAccess) -> None:
    settings = KadeploySettings(kadeploy3_options="-k --no-such-option")
    result = ok(deploy(Deployment(PARAVANCE[:1], env_name="e"), False, frontend_connection_params=access,
                       settings=settings))
    assert result.undeployed == frozenset(PARAVANCE[:1])
    reason = result.history_of(PARAVANCE[0])[-1].reason
    assert reason.startswith("kadeploy3 exited with 1") and "unknown option --no-such-option" in reason
    assert [type(e).__name__ for _, e in result.frontend_failures] == ["CommandFailed"]


def test_configuration_supplies_frontend_default_frontend_and_kadeploy3_options(
    access: FrontendAccess, frontend_params: ConnectionParams, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    monkeypatch.setenv("G5K_CONFIG", str(config))
    config.write_text(to_toml(Config(default_frontend="rennes", location="outside", frontend=frontend_params,
                                     kadeploy3_options="-k --no-such-option-from-config")))
    # no access, no settings: the short name goes to the configured frontend, over the configured ssh
    # parameters, and the real kadeploy3 (stand-in) there receives the configured options
    result = ok(deploy(Deployment(("paravance-1",), env_name="e"), False))
    assert result.undeployed == frozenset({"paravance-1"})
    assert "unknown option --no-such-option-from-config" in result.history_of("paravance-1")[-1].reason
    assert [frontend for frontend, _ in result.frontend_failures] == ["rennes"]
    config.write_text(to_toml(Config(default_frontend="rennes", location="outside", frontend=frontend_params,
                                     kadeploy3_options="-k -V4")))
    result = ok(deploy(Deployment(PARAVANCE[:2], env_name="e"), False))
    assert result.deployed == frozenset(PARAVANCE[:2]) and result.frontend_failures == ()
    assert runs(access) == [list(PARAVANCE[:2])]
    # outside Grid'5000 with no default frontend, short names are refused before anything runs
    config.write_text(to_toml(Config(location="outside", frontend=frontend_params)))
    refused = output_or_failure(deploy(Deployment(("paravance-2", "parasilo-1"), env_name="e"), False))
    assert isinstance(refused, G5kError) and "'paravance-2, parasilo-1'" in refused.message
    assert runs(access) == [list(PARAVANCE[:2])]
