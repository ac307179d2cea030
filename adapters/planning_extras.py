"""execo_g5k's ``get_job_by_name``: the caller's current job of a given name, over the frontends given."""

from __future__ import annotations

from collections.abc import Sequence

from g5k.oar import TimeoutArg, get_current_oar_jobs
from returns.io import IOFailure, IOResult
from returns.result import Failure
from returns.unsafe import unsafe_perform_io

from g5kpure.config import FrontendAccess
from g5kpure.errors import G5kError
from g5kpure.oar import OarJob
from g5kpure.planning import find_job_by_name


def get_job_by_name(job_name: str, frontends: Sequence[str | None] | None = None,
                    access: FrontendAccess | None = None, timeout: TimeoutArg = False) -> IOResult[OarJob, G5kError]:
    """The first current job named ``job_name`` (frontends in the order given, one oarstat each, in parallel)."""
    current = get_current_oar_jobs(frontends, access=access, timeout=timeout)
    if isinstance(current, IOFailure):
        return current
    jobs = unsafe_perform_io(current.unwrap())
    found = find_job_by_name(jobs.infos, job_name)
    if isinstance(found, Failure):
        error: G5kError = found.failure()
        return IOFailure(error)
    index = jobs.infos.index(found.unwrap())
    return IOResult.from_value(jobs.jobs[index])
