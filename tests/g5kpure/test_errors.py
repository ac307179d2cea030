"""The error values: messages, equality, and the exception form scripts see."""

from __future__ import annotations

import copy
import pickle
import traceback

import pytest
from g5k import value_of
from returns.io import IOFailure, IOSuccess
from returns.result import Failure, Success

from g5kpure.errors import InvalidInput, NoCommonDate, Rejected, Timeout, value_or_raise


def test_errors_are_values() -> None:
    a, b = InvalidInput("walltime", "x", "a duration"), InvalidInput("walltime", "x", "a duration")
    assert a == b and hash(a) == hash(b) and {a, b} == {a}
    assert copy.deepcopy(a) == a and pickle.loads(pickle.dumps(a)) == a
    r = Rejected("no resources", exit_code=10, could_run_at=1800000000, frontend="lyon")
    assert pickle.loads(pickle.dumps(r)) == r and r.kind == "Rejected"


def test_value_or_raise_gives_the_value_or_raises_the_error_with_its_message() -> None:
    assert value_or_raise(Success(3)) == 3
    error = Timeout("rennes", 5.0)
    with pytest.raises(Timeout) as caught:
        value_or_raise(Failure(error))
    assert caught.value == error and str(caught.value) == error.message and "rennes" in str(caught.value)


def test_value_of_reads_io_results_too() -> None:
    assert value_of(IOSuccess("ok")) == "ok" and value_of(Success(1)) == 1
    error = InvalidInput("--tz", "Mars/Olympus", "an IANA zone name")
    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        value_of(IOFailure(error))


def test_a_failed_unwrap_shows_the_error_message() -> None:
    error = NoCommonDate("every site refused", start=1800000000)
    try:
        Failure(error).unwrap()
    except Exception as exc:  # returns raises UnwrapFailedError from the error itself
        text = "".join(traceback.format_exception(exc))
        assert exc.__cause__ is error and "every site refused" in text
    else:
        raise AssertionError("unwrap of a Failure returned")
