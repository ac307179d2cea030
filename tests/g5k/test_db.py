"""Unit tests of g5k.db (plans, settings, error classification, the report) and of `g5k charter`."""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path

import psycopg2
import psycopg2.errors
import pytest
from g5k import db
from g5k.cli.charter import parse_day, parse_instant
from g5k.cli.main import main
from g5k.config import Facts
from g5k.forward import ForwardFailed, G5kAutoPortForwarder, inside_grid5000, open_forward
from g5k.results import performed
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Success

from g5kpure.charter import DEFAULT_RULES, JOB_ROW_COLUMNS, CharterRules, ClusterRemaining, day_bounds
from g5kpure.config import Config, ConnectionParams, SiteOverride
from g5kpure.errors import AuthError, DbError, G5kError, InvalidInput, Partial, Timeout, Unreachable

INJECTION = "x' OR '1'='1"


def test_execo_bug_sql_built_by_interpolation() -> None:
    """execo formatted the user and cluster into its SQL with %; here they are parameters, never in the text."""
    plan = db.jobs_plan(INJECTION, 100, 200)
    assert plan.statement == db.JOBS_SQL
    assert INJECTION not in plan.statement
    assert dict(plan.params) == {
        "user": INJECTION, "start": 100, "end": 200, "resource_type": "default", "finished": ("Terminated", "Error")
    }
    # every value the statement names is a parameter, and nothing else is formatted in
    assert set(re.findall(r"%\((\w+)\)s", plan.statement)) == {k for k, _ in plan.params}
    assert "%s" not in plan.statement.replace("%(", "")
    cores = db.cores_plan()
    assert set(re.findall(r"%\((\w+)\)s", cores.statement)) == {"resource_type", "dead"}


def test_jobs_statement_selects_the_parsed_columns_in_order() -> None:
    for branch in db.JOBS_SQL.split("UNION ALL"):
        select = branch.split("FROM jobs j")[0]
        positions = []
        for column in JOB_ROW_COLUMNS:
            match = re.search(rf"(AS {column}\b|\bj\.{column}\b|\br\.{column}\b|\bg\.{column}\b)", select)
            assert match is not None, (column, select)
            positions.append(match.start())
        assert positions == sorted(positions)


def test_describe_shows_statement_and_parameters() -> None:
    text = db.jobs_plan(INJECTION, 1, 2).describe()
    assert text.startswith("-- jobs of the user between 1 and 2")
    assert "user=\"x' OR '1'='1\"" in text
    assert "JOIN assigned_resources" in text


def test_charter_plans_cover_a_dst_day() -> None:
    cores, jobs = db.charter_plans("alice", date(2024, 10, 27))
    params = dict(jobs.params)
    assert params["end"] - params["start"] == 25 * 3600  # type: ignore[operator]
    assert cores.purpose == "cores per cluster"


def test_settings_from_config_and_hosts() -> None:
    config = Config(oar_pgsql_ro_db="oarX", oar_pgsql_ro_user="ro", oar_pgsql_ro_password="pw", oar_pgsql_ro_port=5433)
    settings = db.DbSettings.from_config(config, site_hosts={"lille": "10.0.0.9"})
    assert (settings.dbname, settings.user, settings.password, settings.port) == ("oarX", "ro", "pw", 5433)
    assert settings.host_of("rennes") == "oardb.rennes.grid5000.fr"
    assert settings.host_of("lille") == "10.0.0.9"
    assert "pw" not in repr(settings)
    assert settings.frontend == config.frontend
    over = Config(frontends=(("lyon", SiteOverride(user="me", port=2200)),), location="outside")
    from_over = db.DbSettings.from_config(over)
    assert (from_over.frontend_of("lyon").user, from_over.frontend_of("lyon").port) == ("me", 2200)
    assert from_over.frontend_of("rennes") == over.frontend
    assert from_over.location == "outside"
    defaults = db.DbSettings.from_config(Config())
    assert (defaults.dbname, defaults.user, defaults.password, defaults.port) == ("oar2", "oarreader", "read", 5432)


@pytest.mark.parametrize(
    ("site", "settings", "name"),
    [
        ("-rennes", db.DbSettings(), "site"),
        ("ren nes", db.DbSettings(), "site"),
        ("", db.DbSettings(), "site"),
        ("rennes", db.DbSettings(port=0), "oar_pgsql_ro_port"),
        ("rennes", db.DbSettings(host_template="a host"), "database host"),
        ("rennes", db.DbSettings(statement_timeout=0), "database timeouts"),
    ],
)
def test_target_refuses_bad_values(site: str, settings: db.DbSettings, name: str) -> None:
    got = db.target_of(site, settings)
    assert isinstance(got, Failure)
    assert isinstance(got.failure(), InvalidInput)
    assert got.failure().name == name


def test_bad_site_fails_before_any_connection() -> None:
    got = db.run_plans("-x", [db.cores_plan()], db.DbSettings())
    assert isinstance(got, IOFailure)
    assert isinstance(performed(got).failure(), InvalidInput)


TARGET = db.DbTarget("rennes", "oardb.rennes.grid5000.fr", 5432, "oar2", "oarreader")


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (psycopg2.OperationalError('connection to server failed: FATAL:  password authentication failed for user "x"'),
         AuthError),
        (psycopg2.OperationalError("connection to server at \"h\" failed: Connection refused"), Unreachable),
        (psycopg2.OperationalError("could not translate host name \"oardb.x\" to address"), Unreachable),
        (psycopg2.OperationalError("timeout expired"), Timeout),
        (psycopg2.OperationalError('FATAL:  database "nope" does not exist'), DbError),
        (psycopg2.errors.QueryCanceled("canceling statement due to statement timeout"), Timeout),
        (psycopg2.errors.ReadOnlySqlTransaction("cannot execute CREATE TABLE in a read-only transaction"), DbError),
        (OSError("network is down"), Unreachable),
    ],
)
def test_failures_are_classified(exc: BaseException, kind: type[G5kError]) -> None:
    err = db._classify(exc, TARGET, db.DbSettings(), 1.23)
    assert type(err) is kind
    assert err.message


def _reader(answers: dict[str, IOResult[tuple[ClusterRemaining, ...], G5kError]]) -> db.SiteReader:
    calls: list[tuple[str, date, str]] = []

    def read(site: str, day: date, user: str, settings: db.DbSettings, rules: CharterRules) -> IOResult[
        tuple[ClusterRemaining, ...], G5kError
    ]:
        calls.append((site, day, user))
        return answers[site]

    read.calls = calls  # type: ignore[attr-defined]
    return read


def test_execo_bug_failing_site_is_reported_not_dropped() -> None:
    """execo logged a warning and left the site's clusters out of its dict; here the site stays, with its error."""
    ok = (ClusterRemaining("paravance", 16, 115200, 3600, 111600, (7,)),)
    boom = Unreachable("oardb.lille.grid5000.fr:5432", "refused")
    reader = _reader({"rennes": IOSuccess(ok), "lille": IOFailure(boom)})
    got = db.g5k_charter_remaining(["rennes", "lille", "rennes"], date(2024, 7, 1), "alice", site_reader=reader)
    report = performed(got).unwrap()
    assert [s.site for s in report.sites] == ["rennes", "lille"]  # input order, duplicates once
    assert report.sites[0].clusters == ok
    assert report.failed == (("lille", boom),)
    assert report.remaining() == {"paravance": 111600}
    strict = report.to_result()
    assert isinstance(strict, Failure)
    partial = strict.failure()
    assert isinstance(partial, Partial)
    assert partial.succeeded == ("rennes",)
    assert sorted(c[0] for c in reader.calls) == ["lille", "rennes"]  # type: ignore[attr-defined]


def test_all_sites_ok_is_a_success() -> None:
    reader = _reader({"rennes": IOSuccess(())})
    got = db.g5k_charter_remaining(["rennes"], date(2024, 7, 1), "bob", site_reader=reader)
    report = performed(got).unwrap()
    assert report.to_result() == Success(report)
    assert report.user == "bob"


@pytest.mark.parametrize("sites", [[], "rennes"])
def test_sites_must_be_a_list(sites: list[str]) -> None:
    got = db.g5k_charter_remaining(sites, date(2024, 7, 1), "alice")
    assert isinstance(got, IOFailure)
    assert isinstance(performed(got).failure(), InvalidInput)


def test_default_user() -> None:
    assert db.default_user(Config(api_username="carol")) == "carol"
    assert db.default_user(None)


# --- CLI --------------------------------------------------------------------------------------------------


def test_parse_instant_and_day() -> None:
    assert parse_instant("1719820800") == Success(1719820800.0)
    assert parse_instant("2024-07-01 10:00:00") == Success(1719820800.0)
    assert isinstance(parse_instant("tomorrow"), Failure)
    assert parse_day("2024-07-01") == Success(date(2024, 7, 1))
    assert isinstance(parse_day("01/07/2024"), Failure)


def test_cli_charter_at(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["charter", "--json", "--at", "2024-07-05 20:00:00"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["charter_time"] is False
    assert (data["next_period"]["start"], data["next_period"]["end"]) == (1720422000.0, 1720458000.0)
    assert main(["charter", "--at", "2024-07-01 10:00:00"]) == 0
    out = capsys.readouterr().out
    assert "charter time" in out and "current period: 2024-07-01 10:00:00 -> 2024-07-01 19:00:00" in out
    assert main(["charter", "--at", "soon"]) == 2


@pytest.fixture
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No configuration file and no G5K_* variable: the built-in defaults apply."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("G5K_CONFIG", str(tmp_path / "absent.toml"))
    for name in [n for n in os.environ if n.startswith("G5K_") and n != "G5K_CONFIG"]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_cli_remaining_dry_run_prints_the_plan(capsys: pytest.CaptureFixture[str],
                                               no_user_config: pytest.MonkeyPatch) -> None:
    code = main(["charter", "remaining", "--dry-run", "--json", "--site", "rennes", "--site", "nowhere-9",
                 "--day", "2024-07-01", "--user", INJECTION])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["site"] for d in data] == ["rennes", "nowhere-9"]
    assert data[1]["target"]["host"] == "oardb.nowhere-9.grid5000.fr"
    jobs = data[0]["plans"][1]
    assert jobs["params"]["user"] == INJECTION
    assert INJECTION not in jobs["statement"]
    start, end = day_bounds(date(2024, 7, 1), DEFAULT_RULES)
    assert (jobs["params"]["start"], jobs["params"]["end"]) == (start, end) == (1719784800, 1719871200)
    assert main(["charter", "remaining", "--dry-run", "--site", "rennes", "--day", "July"]) == 2


# --- where we run decides direct access or a tunnel -------------------------------------------------------------


def test_inside_grid5000_from_facts_and_forced_location() -> None:
    assert inside_grid5000(facts=Facts("frennes.rennes.grid5000.fr", "", ()))
    assert inside_grid5000(facts=Facts("paravance-3", "rennes.grid5000.fr", ()))
    assert not inside_grid5000(facts=Facts("laptop", "example.org", ()))
    assert not inside_grid5000(facts=Facts("x.grid5000Xfr", "", ()))
    assert inside_grid5000("frontend:lyon", facts=Facts("laptop", "example.org", ()))
    assert not inside_grid5000("outside", facts=Facts("frennes.rennes.grid5000.fr", "", ()))


def test_direct_forward_needs_no_connection() -> None:
    got = open_forward("rennes", "oardb.rennes.grid5000.fr", 5432, location="frontend:rennes")
    forward = performed(got).unwrap()
    assert (forward.target, forward.tunnelled) == (("oardb.rennes.grid5000.fr", 5432), False)
    with G5kAutoPortForwarder("rennes", "oardb.rennes.grid5000.fr", 5432, inside=True) as target:
        assert target == ("oardb.rennes.grid5000.fr", 5432)


def test_forwarder_location_comes_from_the_configuration(tmp_path: Path,
                                                         no_user_config: pytest.MonkeyPatch) -> None:
    config_file = tmp_path / "g5k.toml"
    config_file.write_text('[g5k]\nlocation = "frontend:lyon"\n')
    no_user_config.setenv("G5K_CONFIG", str(config_file))
    # inside Grid'5000 by configuration: the target itself, no ssh connection attempted
    with G5kAutoPortForwarder("lyon", "oardb.lyon.grid5000.fr", 5432) as target:
        assert target == ("oardb.lyon.grid5000.fr", 5432)
    # a configuration value given directly, instead of the files
    with G5kAutoPortForwarder("lyon", "db", 5432, config=Config(location="node:lyon")) as target:
        assert target == ("db", 5432)
    no_user_config.setenv("G5K_OAR_PGSQL_RO_PORT", "not-a-port")
    with pytest.raises(ForwardFailed) as raised, G5kAutoPortForwarder("lyon", "db", 5432):
        pass
    assert "oar_pgsql_ro_port" in raised.value.error.message
    # with explicit parameters and an explicit answer to "inside?", the configuration is not even read
    with G5kAutoPortForwarder("lyon", "db", 5432, ConnectionParams(), inside=True) as target:
        assert target == ("db", 5432)


def test_without_settings_the_configuration_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    config_file = tmp_path / "g5k.toml"
    config_file.write_text('[g5k]\noar_pgsql_ro_db = "oar"\noar_pgsql_ro_port = 6543\n')
    monkeypatch.setenv("G5K_CONFIG", str(config_file))
    monkeypatch.setenv("G5K_API_USERNAME", "dave")
    monkeypatch.setenv("G5K_OAR_PGSQL_RO_PASSWORD", "s3cret")
    seen: list[tuple[str, db.DbSettings]] = []

    def read(site: str, day: date, user: str, settings: db.DbSettings, rules: CharterRules) -> IOResult[
        tuple[ClusterRemaining, ...], G5kError
    ]:
        seen.append((user, settings))
        return IOSuccess(())

    report = performed(db.g5k_charter_remaining(["rennes"], date(2024, 7, 1), site_reader=read)).unwrap()
    assert report.user == "dave"
    ((user, settings),) = seen
    assert user == "dave"
    assert (settings.dbname, settings.port, settings.password, settings.user) == ("oar", 6543, "s3cret", "oarreader")
    monkeypatch.setenv("G5K_OAR_PGSQL_RO_PORT", "not-a-port")
    bad = db.g5k_charter_remaining(["rennes"], date(2024, 7, 1), site_reader=read)
    assert isinstance(bad, IOFailure)
    assert "oar_pgsql_ro_port" in performed(bad).failure().message


def test_settings_use_the_configured_host_template() -> None:
    config = Config(oar_pgsql_ro_host="db.{site}.example")
    settings = db.DbSettings.from_config(config)
    assert settings.host_template == "db.{site}.example"
    assert settings.host_of("rennes") == "db.rennes.example"
    assert db.target_of("lyon", settings).unwrap().host == "db.lyon.example"
    assert db.DbSettings.from_config(Config()).host_of("rennes") == "oardb.rennes.grid5000.fr"
    # an explicit override still wins over the configuration
    assert db.DbSettings.from_config(config, host_template="x-{site}").host_of("nancy") == "x-nancy"


def test_cli_dry_run_targets_the_configured_database_host(capsys: pytest.CaptureFixture[str],
                                                          no_user_config: pytest.MonkeyPatch) -> None:
    no_user_config.setenv("G5K_OAR_PGSQL_RO_HOST", "db.{site}.example")
    args = ["charter", "remaining", "--dry-run", "--json", "--site", "rennes", "--day", "2024-07-01"]
    assert main(args) == 0
    (data,) = json.loads(capsys.readouterr().out)
    assert data["target"]["host"] == "db.rennes.example"
    assert main(["charter", "remaining", "--dry-run", "--site", "rennes", "--day", "2024-07-01"]) == 0
    assert "database oarreader@db.rennes.example:5432/oar2 (rennes)" in capsys.readouterr().out
    # --db-host overrides the configured template; SITE=HOST overrides it for one site
    assert main([*args, "--site", "lyon", "--db-host", "lyon=10.1.2.3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["target"]["host"] for d in data] == ["db.rennes.example", "10.1.2.3"]
    assert main([*args, "--db-host", "other.{site}.test"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["target"]["host"] == "other.rennes.test"


def test_cli_plan_dry_run_targets_the_configured_database_host(capsys: pytest.CaptureFixture[str],
                                                               no_user_config: pytest.MonkeyPatch) -> None:
    no_user_config.setenv("G5K_OAR_PGSQL_RO_HOST", "db.{site}.example")
    code = main(["plan", "--source", "oardb", "--dry-run", "--want", "rennes:2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "database oarreader@db.rennes.example:5432/oar2 (rennes)" in out


def test_charter_remaining_without_settings_uses_the_configured_host(no_user_config: pytest.MonkeyPatch) -> None:
    no_user_config.setenv("G5K_OAR_PGSQL_RO_HOST", "db.{site}.example")
    seen: list[str] = []

    def read(site: str, day: date, user: str, settings: db.DbSettings, rules: CharterRules) -> IOResult[
        tuple[ClusterRemaining, ...], G5kError
    ]:
        seen.append(settings.host_of(site))
        return IOSuccess(())

    got = db.g5k_charter_remaining(["rennes", "lille"], date(2024, 7, 1), "alice", site_reader=read)
    assert isinstance(got, IOSuccess)
    assert sorted(seen) == ["db.lille.example", "db.rennes.example"]


def test_cli_db_host_template_and_per_site(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["charter", "remaining", "--dry-run", "--json", "--site", "rennes", "--site", "lyon", "--day", "2024-07-01",
            "--db-host", "db.{site}.example", "--db-host", "lyon=10.1.2.3", "--tunnel", "never"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(d["target"]["host"], d["tunnel"]) for d in data] == [("db.rennes.example", False), ("10.1.2.3", False)]


def test_connect_timeout_reports_what_libpq_applies() -> None:
    for asked, applied in ((0.5, 2), (2.0, 2), (2.1, 3), (10.0, 10)):
        settings = db.DbSettings(connect_timeout=asked)
        assert db.libpq_connect_timeout(settings) == applied
        err = db._classify(psycopg2.OperationalError("timeout expired"), TARGET, settings, 9.9)
        assert isinstance(err, Timeout)
        assert (err.after_s, err.host) == (applied, "oardb.rennes.grid5000.fr")
