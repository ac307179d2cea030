"""An experiment file brought up, up again (a no-op that submits, deploys and writes nothing) and down on the
testbed's real OAR: no reservation date, so the first common slot is read from the OAR database; the hosts are
deployed through the kadeploy3 stand-in (its marks carry the environment's name, which the file's check command
looks for on the node, reached through OAR's sshd with the job key); an interrupted `g5k up` deletes what it
submitted.

Whatever happens, the tests delete every job of their experiment's name in ``finally``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from g5k.cli.main import main
from g5k.oar import get_current_oar_jobs, oardel
from g5k.results import performed
from g5k.ssh import output_or_failure, run

from g5kpure.config import CommandOutput, ConnectionParams, FrontendAccess
from tests.conftest import REPO_DIR, Testbed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def config_file(testbed: Testbed, g5k_config_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The testbed's g5k.toml with the job key of tests/testbed/remote.sh (oarsub -k -i, and for the nodes)."""
    try:
        key = json.loads((testbed.state_dir / "remote.json").read_text())["job_key"]
    except (OSError, ValueError, KeyError) as exc:
        pytest.fail(f"no remote.json in {testbed.state_dir} ({exc!r}): run `make testbed` as root first")
    text = g5k_config_file.read_text()
    text = text.replace("[g5k]\n", f'[g5k]\noar_job_key_file = "{key["frontend_path"]}"\n', 1)
    text += f'\n[oarsh]\nkeyfile = "{key["local_path"]}"\n'
    path = tmp_path_factory.mktemp("experiment") / "g5k.toml"
    path.write_text(text)
    return path


def _mine(access: FrontendAccess, name: str) -> list[Any]:
    got = performed(get_current_oar_jobs(["rennes"], access=access)).unwrap()
    return [(j, i) for j, i in zip(got.jobs, got.infos, strict=True) if i.name == name and not i.state.is_final]


def _g5k(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


BUSY_RESERVATIONS = "waiting advance reservations"
"""OAR's per-user admission rule (at most 2 waiting advance reservations): other tests running as the same user
at the same time may hold both for a few seconds."""


def _up(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`g5k up`, again while OAR refused only because other tests held the user's waiting reservations."""
    for _ in range(20):
        code, out, err = _g5k(capsys, "up", *argv)
        if code == 0 or BUSY_RESERVATIONS not in err:
            break
        time.sleep(5)
    return code, out, err


def _deployed_marks(access: FrontendAccess) -> dict[str, str]:
    """The kadeploy3 stand-in's marks on the rennes frontend: node name -> environment deployed there."""
    line = ('cd "/tmp/kadeploy3-standin-$(id -un)/deployed" 2>/dev/null && for f in *; do case $f in *[a-z]*) '
            'printf "%s %s\\n" "$f" "$(cat "$f")";; esac; done; true')
    out = output_or_failure(run(("sh", "-c", line), "rennes", access, timeout=30))
    assert isinstance(out, CommandOutput) and out.exit_code == 0, out
    return dict(row.split(" ", 1) for row in out.stdout.splitlines() if " " in row)


def test_up_up_again_and_down(tmp_path: Path, config_file: Path, frontend_params: ConnectionParams, oar_tz: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    access = FrontendAccess(frontend_params)
    name = f"g5kpure-exp-{uuid.uuid4().hex[:8]}"
    env = f"{name}-env"  # the stand-in marks each node it deploys with it: no other run's mark passes the check
    check = f'set -- $SSH_CONNECTION; grep -qx {env} "/tmp/kadeploy3-standin-$(id -un)/deployed/$3"'
    exp = tmp_path / "exp.toml"
    exp.write_text(f"""\
name = "{name}"
walltime = "0:10:00"
planning = "oardb"             # no reservation date: the first common slot of the OAR database's planning

[deploy]
environment = "{env}"
check = '{check}'
access = "oarsh"               # the testbed's nodes keep OAR's sshd (no root sshd there)

[[resources]]
site = "rennes"
cluster = "paravance"
nodes = 2
roles = ["server"]

[[resources]]
site = "rennes"
nodes = 1
roles = ["client"]
""")
    common = ["--config", str(config_file), "--tz", oar_tz]
    try:
        before = int(time.time())
        code, out, err = _up(capsys, str(exp), *common, "--json", "--wait", "300")
        assert code == 0, err
        first = json.loads(out)
        assert first["changed"] and not first["reattached"] and len(first["jobs"]) == 1
        assert before <= first["start"] <= int(time.time()) and "first slot of the planning" in first["start_why"]
        hosts = sorted({*first["roles"]["server"], *first["roles"]["client"]})
        assert sorted(first["deployed"]) == hosts  # none was deployed: all are deployed now
        marks = _deployed_marks(access)
        assert all(marks.get(h) == env for h in hosts), marks
        assert len(first["roles"]["server"]) == 2 and len(first["roles"]["client"]) == 1
        assert all(h.startswith("paravance-") for h in first["roles"]["server"])
        assert not set(first["roles"]["server"]) & set(first["roles"]["client"])
        assert len(_mine(access, name)) == 1
        folder = Path(first["inventory"])
        inventory = json.loads((folder / "inventory.json").read_text())
        assert inventory["roles"] == first["roles"] and inventory["jobs"] == {"rennes": first["jobs"][0]["job_id"]}
        assert "[server]" in (folder / "hosts.ini").read_text()
        # the written ssh_config reaches a node for real: OAR's sshd, the job key, through the frontend
        host = first["roles"]["client"][0]
        done = subprocess.run(["ssh", "-F", str(folder / "ssh_config"), host, "id -un"], capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0 and done.stdout.strip() == "alice", done.stderr

        code, out, err = _g5k(capsys, "up", str(exp), *common)
        assert code == 0, err
        assert "is already up" in out and "nothing submitted, deployed or written" in out
        assert len(_mine(access, name)) == 1  # the second up submitted nothing
        assert "checking which of the 3 host(s)" in err and "deploying" not in err  # the check found them deployed
        assert "reading the planning" not in err  # reattaching needs no planning

        code, out, _ = _g5k(capsys, "status", str(exp), *common)
        assert code == 0 and f"experiment {name}: up" in out and "Running" in out

        code, out, err = _g5k(capsys, "down", str(exp), *common)
        assert code == 0 and "deleted" in out, err
        assert _mine(access, name) == []
        assert not (folder / "inventory.json").exists()

        code, out, _ = _g5k(capsys, "status", str(exp), *common)
        assert code == 1 and "rennes: no job" in out
        code, out, _ = _g5k(capsys, "down", str(exp), *common)
        assert code == 0 and "no job to delete" in out
    finally:
        left = _mine(access, name)
        if left:
            performed(oardel([(j.job_id, j.frontend) for j, _ in left], access))


def test_a_bad_file_is_refused_with_its_line(tmp_path: Path, config_file: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    exp = tmp_path / "bad.toml"
    exp.write_text('name = "x"\nwalltime = "0:10:00"\n\n[[resources]]\nsite = "rennes"\nnodes = "two"\nroles = ["a"]\n')
    code, _, err = _g5k(capsys, "up", str(exp), "--config", str(config_file))
    assert code == 1 and f"{exp} line 6" in err and "resources[0].nodes" in err and "Traceback" not in err
    code, _, err = _g5k(capsys, "up", str(tmp_path / "missing.toml"), "--config", str(config_file))
    assert code == 1 and "cannot read the experiment file" in err


def test_up_dry_run_submits_nothing(tmp_path: Path, config_file: Path, frontend_params: ConnectionParams,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    exp = tmp_path / "dry.toml"
    name = f"g5kpure-dry-{uuid.uuid4().hex[:8]}"
    exp.write_text(f'name = "{name}"\nwalltime = 600\n[[resources]]\nsite = "rennes"\nnodes = 1\nroles = ["a"]\n')
    code, out, _ = _g5k(capsys, "up", str(exp), "--config", str(config_file), "--dry-run")
    assert code == 0 and "oarsub -l nodes=1,walltime=0:10:00 -k -i" in out and f"-n {name}" in out
    assert _mine(FrontendAccess(frontend_params), name) == []


def test_an_interrupted_up_deletes_what_it_submitted(tmp_path: Path, config_file: Path,
                                                     frontend_params: ConnectionParams, oar_tz: str) -> None:
    access = FrontendAccess(frontend_params)
    name = f"g5kpure-int-{uuid.uuid4().hex[:8]}"
    exp = tmp_path / "exp.toml"
    # a reservation an hour away: submitted at once, then `up` waits for it to start, and is interrupted there
    exp.write_text(f'name = "{name}"\nwalltime = "0:05:00"\nreservation = {int(time.time()) + 3600}\n'
                   '[[resources]]\nsite = "rennes"\nnodes = 1\nroles = ["a"]\n')
    argv = [sys.executable, "-m", "g5k", "up", str(exp), "--config", str(config_file), "--tz", oar_tz]
    proc: subprocess.Popen[str] | None = None
    try:
        for _ in range(20):  # again while other tests hold the user's waiting reservations (see BUSY_RESERVATIONS)
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_DIR,
                                    env={**os.environ, "PYTHONUNBUFFERED": "1"})
            assert proc.stderr is not None
            said: list[str] = []
            for line in proc.stderr:
                said.append(line)
                if "waiting until the jobs run" in line:
                    break
            if any("g5k: submitted" in line for line in said) or BUSY_RESERVATIONS not in "".join(said):
                break
            proc.communicate()
            time.sleep(5)
        assert proc is not None
        assert any("g5k: submitted" in line for line in said), "".join(said)
        assert len(_mine(access, name)) == 1
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "Traceback" not in rest, rest
        # the job it submitted was deleted before it exited (OAR ends a deleted job within a few seconds)
        for _ in range(30):
            if not _mine(access, name):
                break
            time.sleep(1)
        assert _mine(access, name) == []
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        left = _mine(access, name)
        if left:
            performed(oardel([(j.job_id, j.frontend) for j, _ in left], access))


def test_no_common_slot_in_the_oar_rest_planning_says_why_and_submits_nothing(
        tmp_path: Path, config_file: Path, testbed: Testbed, frontend_params: ConnectionParams, oar_tz: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    name = f"g5kpure-noslot-{uuid.uuid4().hex[:8]}"
    exp = tmp_path / "exp.toml"
    exp.write_text(f'name = "{name}"\nwalltime = "1:00:00"\nplanning = "oarapi"\n\n[oarapi]\n'
                   f'rennes = "{testbed.api_url}"\n\n[[resources]]\nsite = "rennes"\ncluster = "paravance"\n'
                   'nodes = 9\nroles = ["a"]\n')  # the testbed has 4 paravance nodes
    try:
        code, _, err = _g5k(capsys, "up", str(exp), "--config", str(config_file), "--tz", oar_tz)
        assert code == 1 and "Traceback" not in err, err
        assert "reading the planning of rennes from the OAR REST API" in err
        assert "no slot found: paravance has at most 4 of the 9 nodes wanted free for 1:00:00" in err
        assert _mine(FrontendAccess(frontend_params), name) == []
    finally:
        left = _mine(FrontendAccess(frontend_params), name)
        if left:
            performed(oardel([(j.job_id, j.frontend) for j, _ in left], FrontendAccess(frontend_params)))
