"""The testbed's OAR 2.6.1 frontend (grenoble): trixie's OAR 2.6.1 user commands, oarstat format 3 as on
Grid'5000, against the same OAR 2.5.9 server as the 2.5.9 frontends (rennes, nancy, lyon)."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from g5k.ssh import output_or_failure, run

from g5kpure.config import CommandOutput, ConnectionParams, FrontendAccess
from tests.conftest import Testbed

pytestmark = pytest.mark.integration

FORMAT_3_HEADER = "Job id     Name           User           Submission Date     S Queue"
FORMAT_2_HEADER = "Job id    S User     Duration   System message"


def _out(argv: tuple[str, ...], frontend: str, params: ConnectionParams) -> CommandOutput:
    value = output_or_failure(run(argv, frontend, FrontendAccess(params)))
    assert isinstance(value, CommandOutput), value
    return value


@pytest.fixture
def grenoble(oar26_frontends: tuple[str, ...]) -> str:
    return oar26_frontends[0]


@pytest.mark.parametrize("command", ["oarstat", "oarsub", "oardel", "oarwalltime", "oarnodes", "oarhold", "oarresume"])
def test_the_oar26_frontend_runs_oar_2_6_1(
    command: str, grenoble: str, testbed: Testbed, frontend_params: ConnectionParams
) -> None:
    # The version of the .debs the testbed unpacked (trixie's 2.6.1-1+deb13uN), as the command prints it.
    version = testbed.raw["oar26"]["packages"]["oar-user"].partition("-")[0]
    assert version == "2.6.1"
    out = _out((command, "-V"), grenoble, frontend_params)
    assert out.exit_code == 0
    assert re.fullmatch(rf"OAR version: {re.escape(version)} \(.+\)\n", out.stdout), out.stdout


def test_the_other_frontends_still_run_oar_2_5_9(live_frontends, frontend_params: ConnectionParams) -> None:
    for name in live_frontends:
        out = _out(("oarstat", "-V"), name, frontend_params)
        assert out.exit_code == 0
        assert out.stdout == "OAR version : 2.5.9 (Canicule)\n", (name, out.stdout)


def _state(job_id: int, frontend: str, params: ConnectionParams) -> str:
    out = _out(("oarstat", "-s", "-j", str(job_id)), frontend, params)
    assert out.exit_code == 0, out
    return out.stdout.strip().rpartition(": ")[2]


def test_a_job_submitted_with_oar_2_6_1_is_seen_by_both_and_deleted_with_its_oardel(
    grenoble: str, frontend_params: ConnectionParams
) -> None:
    # As alice: the spare user's logins on the 2.5.9 frontends are counted by another test.
    alice = frontend_params
    name = f"oar26-{uuid.uuid4().hex[:8]}"
    sub = _out(("oarsub", "-l", "core=1,walltime=0:05:00", "-n", name, "sleep 300"), grenoble, alice)
    assert sub.exit_code == 0, sub
    [job_id] = [int(m) for m in re.findall(r"^OAR_JOB_ID=(\d+)$", sub.stdout, re.M)]
    deleted = False
    try:
        # The same job through both generations of oarstat: 2.6.1 on grenoble, 2.5.9 on nancy.
        for frontend in (grenoble, "nancy"):
            full = _out(("oarstat", "-f", "-J", "-j", str(job_id)), frontend, alice)
            assert full.exit_code == 0, full
            job = json.loads(full.stdout)[str(job_id)]
            assert (job["name"], job["owner"]) == (name, alice.user)
        # Each frontend prints its own default text format: 3 (Grid'5000's) on grenoble, 2 (Debian's) on nancy.
        new = _out(("oarstat", "-j", str(job_id)), grenoble, alice).stdout.splitlines()
        assert new[0].rstrip() == FORMAT_3_HEADER and new[2].split()[:3] == [str(job_id), name, alice.user]
        old = _out(("oarstat", "-j", str(job_id)), "nancy", alice).stdout.splitlines()
        assert old[0].rstrip() == FORMAT_2_HEADER and old[2].split()[0] == str(job_id)
        dele = _out(("oardel", str(job_id)), grenoble, alice)
        assert dele.exit_code == 0, dele
        assert f"Deleting the job = {job_id} ...REGISTERED." in dele.stdout
        deleted = True
        deadline = time.monotonic() + 90
        while (state := _state(job_id, "nancy", alice)) not in ("Error", "Terminated"):
            assert time.monotonic() < deadline, f"job {job_id} still {state} after oardel"
            time.sleep(1)
        assert state == "Error"  # a deleted job ends in Error, in both generations
        assert _state(job_id, grenoble, alice) == "Error"
    finally:
        if not deleted:
            run(("oardel", str(job_id)), grenoble, FrontendAccess(alice))
