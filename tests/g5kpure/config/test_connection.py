"""Frontend resolution and command planning (pure)."""

from __future__ import annotations

import shlex

from returns.result import Failure, Success

from g5kpure.config import (
    LOCAL,
    ConnectionParams,
    Endpoint,
    FrontendAccess,
    effective_timeout,
    plan_command,
    resolve_frontend,
    rewrite_host,
)
from g5kpure.errors import InvalidInput


def test_suffix_rewrite_like_execo_default() -> None:
    params = ConnectionParams(host_suffix=".grid5000.fr", user="jdoe", port=22, key_filename="k")
    assert resolve_frontend("lyon", params) == Success(
        Endpoint(frontend="lyon", host="lyon.grid5000.fr", port=22, user="jdoe", key_filename="k")
    )


def test_first_matching_rule_wins_and_may_use_groups() -> None:
    params = ConnectionParams(
        host_rewrite=((r"(rennes|nancy)", r"f\1.example.org"), (r".*", "catchall")), host_suffix=".unused"
    )
    assert rewrite_host("rennes", params) == Success("frennes.example.org")
    assert rewrite_host("lyon", params) == Success("catchall")


def test_rules_match_the_whole_name_else_the_suffix_applies() -> None:
    params = ConnectionParams(host_rewrite={"ren": "x"}, host_suffix=".s")
    assert params.host_rewrite == (("ren", "x"),)
    assert rewrite_host("rennes", params) == Success("rennes.s")


def test_bad_rule_is_an_invalid_input_value() -> None:
    result = rewrite_host("lyon", ConnectionParams(host_rewrite=(("(", "x"),)))
    assert isinstance(result, Failure)
    assert isinstance(result.failure(), InvalidInput)
    bad_group = rewrite_host("lyon", ConnectionParams(host_rewrite=((".*", r"\3"),)))
    assert isinstance(bad_group, Failure)


def test_names_that_could_inject_ssh_options_are_refused() -> None:
    for name in ("-oProxyCommand=x", "", "a b", "lyon\n"):
        result = resolve_frontend(name, ConnectionParams())
        assert isinstance(result, Failure), name
        assert result.failure().name == "frontend name"
    rewritten = resolve_frontend("lyon", ConnectionParams(host_rewrite=((".*", "-bad"),)))
    assert isinstance(rewritten, Failure)


def test_port_out_of_range_is_refused() -> None:
    assert isinstance(resolve_frontend("lyon", ConnectionParams(port=70000)), Failure)


def test_timeout_semantics_false_default_none_unlimited() -> None:
    params = ConnectionParams(timeout=42.0)
    assert effective_timeout(False, params) == 42.0
    assert effective_timeout(None, params) is None
    assert effective_timeout(3, params) == 3.0


def test_plan_on_named_frontend_uses_its_own_parameters() -> None:
    access = FrontendAccess(
        ConnectionParams(host_suffix=".grid5000.fr"),
        per_frontend={"lille": ConnectionParams(port=2200, user="u", timeout=5.0)},
    )
    plan = plan_command(["oarstat", "-u"], "lille", access).unwrap()
    assert plan.endpoint == Endpoint(frontend="lille", host="lille", port=2200, user="u")
    assert plan.timeout == 5.0
    other = plan_command(["oarstat"], "lyon", access).unwrap()
    assert other.endpoint is not None and other.endpoint.host == "lyon.grid5000.fr"
    assert other.timeout == 900.0


def test_default_and_local_frontend() -> None:
    access = FrontendAccess(ConnectionParams(), default_frontend="rennes", local_frontend="nancy")
    assert plan_command(["true"], None, access).unwrap().frontend == "rennes"
    local = plan_command(["true"], "nancy", access).unwrap()
    assert local.endpoint is None and local.frontend == "nancy"
    nothing = plan_command(["true"], None, FrontendAccess(ConnectionParams()))
    assert nothing.unwrap().endpoint is None and nothing.unwrap().frontend == LOCAL


def test_bad_argv_and_timeout_are_refused() -> None:
    access = FrontendAccess()
    assert isinstance(plan_command([], "lyon", access), Failure)
    assert isinstance(plan_command(["a\0b"], "lyon", access), Failure)
    assert isinstance(plan_command(["true"], "lyon", access, timeout=0), Failure)


def test_describe_shows_where_what_and_the_limit() -> None:
    access = FrontendAccess(ConnectionParams(user="alice", port=2222, proxy_jump="access.grid5000.fr"))
    plan = plan_command(["oarsub", "-n", "a b", "sleep 1"], "lyon", access, timeout=7).unwrap()
    text = plan.describe()
    assert "alice@lyon:2222" in text and "access.grid5000.fr" in text and "7s" in text
    assert shlex.split(plan.command_line) == ["oarsub", "-n", "a b", "sleep 1"]
