"""g5k.oar with no access and no job key given, against the testbed's real OAR site: the configuration
named by G5K_CONFIG (the testbed's generated g5k.toml: default frontend rennes, user, port, key) is what reaches
the frontend, and its ``oar_job_key_file`` reaches the real oarsub as ``-k -i KEY``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from g5k.oar import get_oar_job_info, oardel, oarsub, wait_jobs_final
from g5k.results import performed
from g5k.ssh import output_or_failure, run
from returns.result import Success

from g5kpure.config import CommandOutput, FrontendAccess
from g5kpure.errors import Rejected
from g5kpure.oar import OarJob, OarJobInfo, OarSubmission, parse_oarstat_jobs_json
from tests.conftest import Testbed

pytestmark = pytest.mark.integration


@pytest.fixture
def configured(g5k_config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The library reads the testbed's configuration file, and nothing else decides the key or the frontend."""
    monkeypatch.setenv("G5K_CONFIG", str(g5k_config_file))
    for name in ("OAR_JOB_KEY_FILE", "G5K_OAR_JOB_KEY_FILE", "G5K_DEFAULT_FRONTEND", "G5K_LOCATION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def explicit(testbed: Testbed) -> FrontendAccess:
    """An access built from the testbed state, independent of the configuration (to check and to clean up)."""
    return FrontendAccess(testbed.frontend)


def ssh_out(access: FrontendAccess, argv: tuple[str, ...]) -> CommandOutput:
    out = output_or_failure(run(argv, "rennes", access))
    assert isinstance(out, CommandOutput), out
    return out


def oarstat(access: FrontendAccess, job_id: int) -> OarJobInfo:
    out = ssh_out(access, ("oarstat", "-f", "-J", "-j", str(job_id)))
    (info,) = parse_oarstat_jobs_json(out.exit_code, out.stdout, out.stderr).unwrap()
    return info


def my_job_names(access: FrontendAccess, user: str) -> set[str | None]:
    out = ssh_out(access, ("oarstat", "-u", user, "-f", "-J"))
    return {i.name for i in parse_oarstat_jobs_json(out.exit_code, out.stdout, out.stderr).unwrap()}


def delete(explicit: FrontendAccess, job_id: int) -> None:
    job = OarJob(job_id, "rennes")
    (outcome,) = performed(oardel([(job.job_id, job.frontend)], explicit))
    assert outcome.ok, outcome
    state = wait_jobs_final([job], explicit, 120.0)[job]  # killing a running job may take OAR a while
    assert state is not None and state.is_final, state


@pytest.fixture
def job_key(explicit: FrontendAccess) -> Iterator[str]:
    """An RSA key pair made on the frontend by the test user (OAR 2.5 only takes ssh-rsa job keys)."""
    made = ssh_out(
        explicit, ("sh", "-c", 'd=$(mktemp -d) && ssh-keygen -q -t rsa -b 2048 -N \'\' -f "$d/key" && echo "$d/key"')
    )
    path = made.stdout.strip()
    assert made.exit_code == 0 and path.endswith("/key"), made
    try:
        yield path
    finally:
        ssh_out(explicit, ("rm", "-r", "--", path.rsplit("/", 1)[0]))


def test_oarsub_with_no_access_submits_on_the_configured_default_frontend(
    configured: None, explicit: FrontendAccess, testbed: Testbed
) -> None:
    name = f"g5kpure-cfg-{uuid.uuid4().hex[:8]}"
    sub = OarSubmission(resources="nodes=1", walltime=300, command="sleep 300", name=name)
    (result,) = oarsub([(sub, None)])
    submitted = performed(result)
    assert isinstance(submitted, Success), submitted
    job = submitted.unwrap()
    try:
        assert job.frontend is None  # the default frontend, as the caller asked
        seen = oarstat(explicit, job.job_id)  # the job is on rennes, as the configured user
        assert (seen.owner, seen.name) == (testbed.frontend.user, name)
        assert seen.initial_request is not None
        assert " -k " not in seen.initial_request  # the testbed configuration has no job key
        info = performed(get_oar_job_info(job.job_id))  # access=None reads the same site
        assert isinstance(info, Success), info
        assert (info.unwrap().job_id, info.unwrap().owner, info.unwrap().name) == (job.job_id, seen.owner, name)
    finally:
        delete(explicit, job.job_id)


def test_the_configured_job_key_reaches_the_real_oarsub(
    configured: None, explicit: FrontendAccess, job_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAR_JOB_KEY_FILE", job_key)
    name = f"g5kpure-key-{uuid.uuid4().hex[:8]}"
    sub = OarSubmission(resources="nodes=1", walltime=300, command="sleep 300", name=name)
    submitted = performed(oarsub([(sub, None)])[0])
    assert isinstance(submitted, Success), submitted
    job_id = submitted.unwrap().job_id
    try:
        initial_request = oarstat(explicit, job_id).initial_request
        assert initial_request is not None
        assert f"-k -i {job_key} " in initial_request
    finally:
        delete(explicit, job_id)


def test_a_configured_job_key_missing_on_the_frontend_is_oars_refusal(
    configured: None, explicit: FrontendAccess, testbed: Testbed, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = f"/nonexistent/g5kpure-{uuid.uuid4().hex[:8]}/key"
    monkeypatch.setenv("OAR_JOB_KEY_FILE", missing)
    name = f"g5kpure-nokey-{uuid.uuid4().hex[:8]}"
    sub = OarSubmission(resources="nodes=1", walltime=300, command="sleep 300", name=name)
    refused = performed(oarsub([(sub, None)])[0])
    if isinstance(refused, Success):  # never leak a job, even when the assertion below fails
        delete(explicit, refused.unwrap().job_id)
    assert not isinstance(refused, Success)
    err = refused.failure()
    assert isinstance(err, Rejected), err
    assert err.frontend == "rennes" and missing in err.message
    assert testbed.frontend.user is not None
    assert name not in my_job_names(explicit, testbed.frontend.user)
