"""get_job_by_name against the testbed's real OAR site through the real frontend sshd."""

from __future__ import annotations

import uuid

import pytest
from g5k.oar import oardel, oarsub
from g5k.planning import get_job_by_name
from g5k.results import performed
from returns.io import IOFailure, IOSuccess

from g5kpure.config import ConnectionParams, FrontendAccess
from g5kpure.errors import NotFound
from g5kpure.oar import OarJob, OarSubmission

pytestmark = pytest.mark.integration


def test_job_found_by_name_on_its_frontend(spare_user_params: ConnectionParams) -> None:
    access = FrontendAccess(spare_user_params)  # the spare user: no competition with other tests' jobs
    name = f"byname-{uuid.uuid4().hex[:8]}"
    sub = OarSubmission(resources=("nodes=1",), walltime=300, name=name, command="sleep 300")
    submitted = oarsub([(sub, "nancy")], access)[0]
    assert isinstance(submitted, IOSuccess), submitted
    job = performed(submitted).unwrap()
    try:
        found = get_job_by_name(name, ["nancy", "rennes"], access)  # one OAR site behind both: first frontend wins
        assert isinstance(found, IOSuccess), found
        assert performed(found).unwrap() == OarJob(job.job_id, "nancy")
        missing = get_job_by_name(f"absent-{uuid.uuid4().hex[:8]}", ["nancy"], access)
        assert isinstance(missing, IOFailure)
        error = performed(missing).failure()
        assert isinstance(error, NotFound) and error.key.startswith("absent-")
    finally:
        performed(oardel([(job.job_id, job.frontend)], access))
