"""Watching jobs when the frontend's name does not resolve: one clear error at once, no retry, no sleep."""

from __future__ import annotations

from g5k.oarjobs import wait_jobs_start
from g5k.results import performed
from returns.result import Failure

from g5kpure.config import ConnectionParams, FrontendAccess
from g5kpure.errors import Unreachable
from g5kpure.oar import OarJob


def test_a_frontend_name_that_does_not_resolve_ends_the_wait_at_once() -> None:
    access = FrontendAccess(ConnectionParams(host_suffix=".invalid", connect_timeout=5))
    slept: list[float] = []
    (got,) = performed(wait_jobs_start([OarJob(1234, "nosuchsite")], access, timeout=60, sleep=slept.append))
    assert isinstance(got, Failure)
    error = got.failure()
    assert isinstance(error, Unreachable) and error.lasting and error.after_s is None
    assert error.host.startswith("nosuchsite") and "name not resolved" in error.detail
    assert "no network?" in error.message and " after " not in error.message
    assert slept == []  # never retried, so the wait ends with the first poll
