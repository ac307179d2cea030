"""Remote execution on the nodes of a real OAR job of the testbed, and fan-out on the scale sshd.

A job is submitted with the test user's job key (``oarsub -k -i``); its nodes are reached for real through OAR's
node sshd (port 6667, user oar, OAR's login shell becoming the job's user) with that key, from "outside" through
the rennes frontend as jump host (the testbed's configuration says ``location = "outside"``). The job is deleted
in ``finally``. The scale sshd of ``tests/testbed/remote.sh`` serves 320 node names on loopback addresses.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from g5k.cli.main import main
from g5k.oar import get_oar_job_nodes, oardel, oarsub
from g5k.remote import Settings, get, job_access, put, run, settings
from g5k.results import performed
from returns.result import Success

from g5kpure.config import ConnectionParams, FrontendAccess
from g5kpure.errors import AuthError, InvalidInput, Timeout, Unreachable
from g5kpure.oar import OarSubmission
from g5kpure.remote import (
    Direction,
    HostStatus,
    Limits,
    NodeAccess,
    RemoteCommand,
    command_of,
    plan_copy,
    plan_run,
)
from tests.conftest import Testbed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def remote(testbed: Testbed) -> dict[str, Any]:
    """What tests/testbed/remote.sh wrote (job key paths, the scale sshd)."""
    path = testbed.state_dir / "remote.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        pytest.fail(f"no {path} ({exc!r}): run `make testbed` (or tests/testbed/remote.sh) as root first")
    return data


@pytest.fixture(scope="module")
def config_file(g5k_config_file: Path, remote: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The testbed's g5k.toml with the job key: given to oarsub on the frontend, used here for the nodes."""
    text = g5k_config_file.read_text()
    key = remote["job_key"]
    text = text.replace("[g5k]\n", f'[g5k]\noar_job_key_file = "{key["frontend_path"]}"\n', 1)
    text += f'\n[oarsh]\nkeyfile = "{key["local_path"]}"\n'
    path = tmp_path_factory.mktemp("remote") / "g5k.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def access(frontend_params: ConnectionParams) -> FrontendAccess:
    return FrontendAccess(frontend_params)


@pytest.fixture(scope="module")
def s(config_file: Path) -> Settings:
    got = performed(settings(config_file))
    assert isinstance(got, Success), got
    loaded: Settings = got.unwrap()
    return loaded


@pytest.fixture(scope="module")
def job(access: FrontendAccess, remote: dict[str, Any]) -> Iterator[tuple[int, tuple[str, ...]]]:
    """A running 3-node job submitted with the job key; deleted afterwards whatever happens."""
    sub = OarSubmission(resources=("nodes=3",), walltime=900, name="g5kpure-remote-test")
    (submitted,) = oarsub([(sub, "rennes")], access, job_key_file=remote["job_key"]["frontend_path"])
    got = performed(submitted)
    assert isinstance(got, Success), got
    job_id = got.unwrap().job_id
    try:
        hosts = performed(get_oar_job_nodes(job_id, "rennes", access, 120)).unwrap()
        assert len(hosts) == 3
        yield job_id, hosts
    finally:
        performed(oardel([(job_id, "rennes")], access))


def _g5k(capsys: pytest.CaptureFixture[str], config: Path, *argv: str) -> tuple[int, str, str]:
    cut = argv.index("--") if "--" in argv else len(argv)
    code = main([*argv[:cut], "--config", str(config), *argv[cut:]])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------------------------ g5k run


def test_run_prints_one_line_per_host_of_the_job(job: tuple[int, tuple[str, ...]], config_file: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    job_id, hosts = job
    code, nodes_out, _ = _g5k(capsys, config_file, "nodes", str(job_id), "--frontend", "rennes")
    assert code == 0 and tuple(nodes_out.split()) == hosts
    code, out, err = _g5k(capsys, config_file, "run", str(job_id), "--frontend", "rennes", "--", "hostname")
    assert code == 0, err
    lines = out.splitlines()
    assert [ln.split(":", 1)[0] for ln in lines] == list(hosts)
    assert "3 hosts: 3 ok" in err


def test_commands_run_as_the_job_user_through_oar_sshd(job: tuple[int, tuple[str, ...]], config_file: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    job_id, hosts = job
    code, out, _ = _g5k(capsys, config_file, "run", str(job_id), "--frontend", "rennes", "--json", "--shell",
                        "--", 'echo "$(id -un) ${SSH_CONNECTION##* }"')
    assert code == 0
    records = json.loads(out)
    assert [r["host"] for r in records] == list(hosts)
    for record in records:
        assert record["status"] == "ok" and record["exit_code"] == 0 and record["error"] is None
        assert record["stdout"] == "alice 6667\n" and record["seconds"] > 0


def test_an_unreachable_host_is_reported_while_the_others_succeed(
        job: tuple[int, tuple[str, ...]], config_file: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    job_id, hosts = job
    # an ssh configuration sending the second host's connection to an address where nothing listens
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(f"Host {hosts[1]}\n  HostName 127.0.20.9\n")
    code, out, err = _g5k(capsys, config_file, "run", str(job_id), "--frontend", "rennes", "--ssh-config",
                          str(ssh_config), "--json", "--", "true")
    assert code == 1
    by_host = {r["host"]: r for r in json.loads(out)}
    assert by_host[hosts[1]]["status"] == "unreachable"
    assert by_host[hosts[1]]["error"]["error"] == "Unreachable" and by_host[hosts[1]]["exit_code"] is None
    assert {by_host[h]["status"] for h in (hosts[0], hosts[2])} == {"ok"}
    code, out, err = _g5k(capsys, config_file, "run", str(job_id), "--frontend", "rennes", "--ssh-config",
                          str(ssh_config), "--", "true")
    assert code == 1 and f"{hosts[1]}: [unreachable" in out and "2 ok, 1 unreachable" in err


def test_a_dead_host_and_a_slow_one_never_lose_the_others_results(job: tuple[int, tuple[str, ...]],
                                                                  s: Settings) -> None:
    _, hosts = job
    slow = socket.gethostbyname(hosts[2])
    acc = job_access(s, "rennes").unwrap()
    command = command_of([f'case "$SSH_CONNECTION" in *" {slow} "*) sleep 30;; esac; echo done'], shell=True)
    plan = plan_run([*hosts, "nosuch-1.rennes.grid5000.fr"], command.unwrap(), acc, Limits(timeout=3)).unwrap()
    started = time.monotonic()
    report = performed(run(plan)).unwrap()
    assert time.monotonic() - started < 20
    assert [report.result_of(h).stdout for h in hosts[:2]] == ["done\n", "done\n"]  # type: ignore[union-attr]
    late = report.result_of(hosts[2])
    assert late is not None and isinstance(late.error, Timeout) and late.error.after_s == 3
    dead = report.result_of("nosuch-1.rennes.grid5000.fr")
    # through the frontend (the testbed runs "outside"), the name is resolved there: the tunnel fails
    assert dead is not None and isinstance(dead.error, Unreachable) and "forwarding failed" in dead.error.detail
    assert report.summary.describe() == "4 hosts: 2 ok, 1 unreachable, 1 timed out"


def test_a_key_the_nodes_do_not_know_is_an_auth_error(job: tuple[int, tuple[str, ...]], s: Settings,
                                                      testbed: Testbed) -> None:
    _, hosts = job
    acc = job_access(s, "rennes", key_filename=testbed.frontend.key_filename).unwrap()
    report = performed(run(plan_run(hosts, RemoteCommand(("true",)), acc).unwrap())).unwrap()
    assert {r.status for r in report.results} == {HostStatus.AUTH}
    assert all(isinstance(r.error, AuthError) and "Permission denied" in r.error.detail for r in report.results)


def test_hosts_outside_the_job_are_refused(job: tuple[int, tuple[str, ...]], config_file: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    job_id, _ = job
    code, _, err = _g5k(capsys, config_file, "run", str(job_id), "--frontend", "rennes", "--hosts", "nova-1",
                          "--", "true")
    assert code == 1 and "invalid host 'nova-1': expected a host of the job" in err and "Traceback" not in err


def test_put_and_get_round_trip(job: tuple[int, tuple[str, ...]], s: Settings, tmp_path: Path) -> None:
    _, hosts = job
    acc = job_access(s, "rennes").unwrap()
    src = tmp_path / "src"
    (src / "dir").mkdir(parents=True)
    (src / "a.txt").write_text("hello\n")
    (src / "dir" / "b.bin").write_bytes(bytes(range(256)))
    remote_dir = f"/tmp/g5kpure-remote-test-{job[0]}"
    made = performed(run(plan_run(hosts, RemoteCommand(("mkdir", "-p", remote_dir)), acc).unwrap())).unwrap()
    assert made.ok
    try:
        sent = performed(put(plan_copy(Direction.PUT, hosts, [str(src / "a.txt"), str(src / "dir")],
                                          remote_dir, acc).unwrap())).unwrap()
        assert sent.ok, sent
        back = tmp_path / "back"
        got = performed(get(plan_copy(Direction.GET, hosts, [f"{remote_dir}/a.txt", f"{remote_dir}/dir"],
                                         str(back), acc).unwrap())).unwrap()
        assert got.ok, got
        for host in hosts:
            assert (back / host / "a.txt").read_text() == "hello\n"
            assert (back / host / "dir" / "b.bin").read_bytes() == bytes(range(256))
        assert sorted(p.name for p in back.iterdir()) == sorted(hosts)  # the staging folder is gone
        missing = performed(get(plan_copy(Direction.GET, hosts[:1], ["/nonexistent/x"], str(back),
                                             acc).unwrap())).unwrap()
        assert missing.results[0].status is HostStatus.FAILED and "No such file" in missing.results[0].stderr
        nothing = performed(put(plan_copy(Direction.PUT, hosts, [str(tmp_path / "nope")], remote_dir,
                                             acc).unwrap()))
        assert nothing.failure().kind == "NotFound"
    finally:
        run(plan_run(hosts, RemoteCommand(("rm", "-rf", remote_dir)), acc).unwrap())


def test_g5k_put_and_get(job: tuple[int, tuple[str, ...]], config_file: Path, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    job_id, hosts = job
    f = tmp_path / "note.txt"
    f.write_text("from the cli\n")
    code, out, err = _g5k(capsys, config_file, "put", str(job_id), "--frontend", "rennes", str(f), "/tmp")
    assert code == 0, err
    assert out.splitlines() == [f"{h}: ok" for h in hosts]
    code, out, err = _g5k(capsys, config_file, "get", str(job_id), "--frontend", "rennes", "--json",
                          "/tmp/note.txt", str(tmp_path / "got"))
    assert code == 0 and [r["status"] for r in json.loads(out)] == ["ok"] * 3
    assert all((tmp_path / "got" / h / "note.txt").read_text() == "from the cli\n" for h in hosts)


def test_ssh_to_one_node(job: tuple[int, tuple[str, ...]], config_file: Path,
                         capfd: pytest.CaptureFixture[str]) -> None:
    job_id, hosts = job
    code = main(["ssh", str(job_id), "--frontend", "rennes", "--config", str(config_file), hosts[1], "--",
                 "echo", "$(id -un)@${SSH_CONNECTION%% *}"])
    out, _ = capfd.readouterr()
    assert code == 0 and out.strip().startswith("alice@")


def test_nodefile_has_one_line_per_core(job: tuple[int, tuple[str, ...]], config_file: Path, testbed: Testbed,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    job_id, hosts = job
    code, out, _ = _g5k(capsys, config_file, "nodefile", str(job_id), "--frontend", "rennes")
    assert code == 0
    lines = out.split()
    assert sorted(set(lines)) == sorted(hosts) and len(lines) == testbed.cores_per_node * len(hosts)


def test_extend_asks_oar_and_oar_grants_it(job: tuple[int, tuple[str, ...]], config_file: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    job_id, _ = job
    code, out, _ = _g5k(capsys, config_file, "extend", str(job_id), "--frontend", "rennes", "--json")
    assert code == 0
    before = json.loads(out)["current"]
    code, out, err = _g5k(capsys, config_file, "extend", str(job_id), "--frontend", "rennes", "+0:01")
    assert code == 0 and "accepted" in out, err
    for _ in range(60):  # the scheduler applies it at its next cycle
        code, out, _ = _g5k(capsys, config_file, "extend", str(job_id), "--frontend", "rennes", "--json")
        status = json.loads(out)
        if status["pending"] == 0:
            break
        time.sleep(1)
    assert status["current"] == before + 60 and status["granted"] >= 60
    code, _, err = _g5k(capsys, config_file, "extend", "999999", "--frontend", "rennes", "+0:01")
    assert code == 1 and "not found" in err and "Traceback" not in err


def test_dry_run_prints_the_commands_and_runs_nothing(config_file: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _g5k(capsys, config_file, "run", "4242", "--frontend", "rennes", "--dry-run", "--timeout", "5",
                        "--", "hostname")
    assert code == 0
    assert "oarstat -f -J -j 4242" in out and "-oPort=6667" in out and "-oUser=oar" in out
    assert "timeout --kill-after=5 5" in out and "{host}" in out and "-W %h:%p" in out


def test_without_a_job_key_the_error_says_what_to_set(g5k_config_file: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _g5k(capsys, g5k_config_file, "run", "4242", "--frontend", "rennes", "--", "true")
    assert code == 1 and "[oarsh] keyfile" in err


# ------------------------------------------------------------------------------------------------- scale


def test_fan_out_on_256_names_of_the_scale_sshd(remote: dict[str, Any]) -> None:
    scale = remote["scale"]
    hosts = [f"{scale['cluster']}-{n}.{scale['site']}.grid5000.fr" for n in range(1, 257)]
    acc = NodeAccess(user=scale["user"], port=scale["port"], key_filename=scale["key_filename"])
    plan = plan_run([*hosts, "nosuch-2.rennes.grid5000.fr"], RemoteCommand(("true",)), acc,
                    Limits(fanout=64, timeout=60, deadline=240)).unwrap()
    report = performed(run(plan)).unwrap()
    assert report.summary.ok == 256 and report.summary.unreachable == 1, report.summary.describe()
    assert [r.host for r in report.results][1:4] == hosts[:3]  # natural order: nosuch-2 first, scale-1, -2, -3


def test_bad_plans_are_refused_before_anything_runs() -> None:
    err = plan_run(["a"], RemoteCommand(("true",)), limits=Limits(fanout=0)).failure()
    assert isinstance(err, InvalidInput)
