"""The error values: messages, equality, and the exception form scripts see."""

from __future__ import annotations

import copy
import pickle
import traceback

import pytest
from g5k import value_of
from returns.io import IOFailure, IOSuccess
from returns.result import Failure, Success

from g5kpure.errors import AuthError, InvalidInput, NoCommonDate, Rejected, Timeout, Unreachable, value_or_raise


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


def test_a_timeout_says_what_it_was_doing_and_never_names_its_host_twice() -> None:
    connecting = Timeout("ssh connection to rennes (alice@rennes.grid5000.fr)", 5.0, "rennes",
                         during="reading the ssh banner")
    assert connecting.message.startswith("ssh connection to rennes (alice@rennes.grid5000.fr) timed out after 5s "
                                         "while reading the ssh banner;")
    assert Timeout("kadeploy3 on rennes", 30.0, "rennes").message.startswith("kadeploy3 on rennes timed out after 30s;")
    # a host whose name is only part of a longer word is still named
    assert Timeout("waiting for nancy-2", 3.0, "nancy").message.startswith("waiting for nancy-2 on nancy timed out")
    assert Timeout("GET http://x/", None).message.startswith("GET http://x/ timed out after the time limit;")


def test_a_lost_connection_is_not_an_unreachable_host_and_the_fix_fits_the_service() -> None:
    lost = Unreachable("api.example.org", "connection reset by peer", 1.25, during="reading the answer of GET /")
    assert lost.message.startswith("connection to api.example.org lost after 1.2s while reading the answer of GET /: "
                                   "connection reset by peer; retry")
    refused = Unreachable("127.0.0.1:9", "connection refused", 0.0)
    assert refused.message == ("127.0.0.1:9 is unreachable after 0.0s: connection refused; check the host name, port "
                               "and network")
    assert Unreachable("h", "x", fix="check the URL").message.endswith("; check the URL")


def test_an_auth_error_carries_its_own_fix() -> None:
    assert AuthError("rennes", "bad key").message.endswith("; check the user name, key or password")
    refused = AuthError("rennes", "the host key of rennes has CHANGED", fix="remove it with ssh-keygen -R rennes")
    assert refused.message == ("authentication refused by rennes: the host key of rennes has CHANGED; remove it with "
                               "ssh-keygen -R rennes")
