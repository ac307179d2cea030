"""`g5k config show|init|import-execo|path` on temporary HOME / XDG directories, and the config adapter."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from g5k import config as config_adapter
from g5k.cli.main import main
from g5k.doctor import Check, Report, Verdict, guarded
from g5k.results import performed
from returns.result import Failure, Success

from g5kpure import config as core
from g5kpure.errors import ConfigError
from tests.conftest import isolate, run_json, values


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME and XDG_CONFIG_HOME, with none of our variables set."""
    isolate(tmp_path, monkeypatch)
    (tmp_path / "home").mkdir()
    return tmp_path


def config_file(home: Path) -> Path:
    return home / "xdg" / "g5kpure" / "config.toml"


def write_config(home: Path, text: str | bytes) -> Path:
    """Write the configuration file of the user ``home`` stands for."""
    path = config_file(home)
    path.parent.mkdir(parents=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_path_follows_xdg(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(config_file(home))


def test_g5k_config_variable_wins(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("G5K_CONFIG", str(home / "elsewhere.toml"))
    assert config_adapter.config_path() == home / "elsewhere.toml"


def test_show_defaults_without_any_file(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(["config", "show"], capsys)
    assert code == 0
    rows = values(data)
    assert rows["g5k.api_uri"]["value"] == '"https://api.grid5000.fr/3.0/"'
    assert rows["g5k.api_uri"]["origin"] == "default"
    assert isinstance(data, dict) and [f["found"] for f in data["files"]] == [False, False]


def test_show_origins_and_masked_password(home: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(home, "[g5k]\napi_username = 'alice'\noar_pgsql_ro_password = 'hunter2'\n"
                              "polling_interval = 3\n")
    monkeypatch.setenv("G5K_POLLING_INTERVAL", "4")
    code, data = run_json(["config", "show"], capsys)
    assert code == 0
    rows = values(data)
    assert rows["g5k.api_username"] == {"key": "g5k.api_username", "value": '"alice"', "origin": "file",
                                        "where": str(path), "line": 2, "secret": False}
    assert rows["g5k.oar_pgsql_ro_password"]["value"] == "********"
    assert rows["g5k.polling_interval"]["origin"] == "environment"
    assert rows["g5k.polling_interval"]["where"] == "G5K_POLLING_INTERVAL"
    assert "hunter2" not in json.dumps(data)
    assert main(["config", "show"]) == 0
    human = capsys.readouterr().out
    assert "hunter2" not in human
    assert f"# file {path} line 2" in human


def test_show_reports_a_bad_file_with_its_line(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(home, "[g5k]\n\npoling_interval = 3\n")
    assert main(["config", "show"]) == 1
    err = capsys.readouterr().err
    assert "g5k.poling_interval" in err and f"{path} line 3" in err and "did you mean 'g5k.polling_interval'" in err


def test_python_grid5000_username_is_read_but_never_its_password(home: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (home / "home" / ".python-grid5000.yaml").write_text("username: carol\npassword: topsecret\n")
    code, data = run_json(["config", "show"], capsys)
    assert code == 0
    row = values(data)["g5k.api_username"]
    assert row["value"] == '"carol"' and row["line"] == 1
    assert "topsecret" not in json.dumps(data)


def test_init_writes_a_commented_file_that_parses_to_defaults(home: Path) -> None:
    assert main(["config", "init"]) == 0
    path = config_file(home)
    text = path.read_text()
    assert text == core.init_template()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert core.load(toml_text=text).unwrap().config == core.DEFAULT_CONFIG
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temporary file left


def test_init_refuses_to_overwrite_without_force(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(home, "[g5k]\napi_username = 'mine'\n")
    assert main(["config", "init"]) == 1
    assert "use --force" in capsys.readouterr().err
    assert path.read_text() == "[g5k]\napi_username = 'mine'\n"
    assert main(["config", "init", "--force"]) == 0
    assert path.read_text() == core.init_template()


def test_init_dry_run_writes_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "init", "--dry-run"]) == 0
    assert f"# would write {config_file(home)}" in capsys.readouterr().out
    assert not config_file(home).exists()


EXECO = """\
import re
g5k_configuration = {
    'api_username': 'dave',
    'default_frontend': 'nancy',
    'api_additional_args': ["branch=testing"],
}
default_frontend_connection_params = {
    'host_rewrite_func': lambda host: re.sub(r"^(.*)$", lambda m: m.group(1), host),
}
open('/tmp/should-not-exist', 'w')
"""


def test_import_execo_converts_without_running(home: Path, capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (home / "home" / ".execo.conf.py").write_text(EXECO.replace("/tmp/should-not-exist", str(marker)))
    assert main(["config", "import-execo"]) == 0
    out = capsys.readouterr().out
    assert "not converted: default_frontend_connection_params['host_rewrite_func'] is code" in out
    assert "line 10: skipped \"open(" in out
    assert not marker.exists()
    written = config_file(home).read_text()
    assert "#   line 10: skipped" in written and "# not converted" not in written
    cfg = core.load(toml_text=config_file(home).read_text()).unwrap().config
    assert (cfg.api_username, cfg.default_frontend) == ("dave", "nancy")
    assert cfg.api_additional_args == (("branch", "testing"),)
    assert cfg.frontend.host_suffix == ".grid5000.fr"  # the unconvertible lambda left the default in place


def test_import_execo_refuses_overwrite_and_missing_source(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "import-execo"]) == 1
    assert "not found" in capsys.readouterr().err
    (home / "home" / ".execo.conf.py").write_text("g5k_configuration = {'api_username': 'x'}\n")
    path = write_config(home, "# mine\n")
    assert main(["config", "import-execo"]) == 1
    assert path.read_text() == "# mine\n"
    assert main(["config", "import-execo", "--stdout"]) == 0
    assert 'api_username = "x"' in capsys.readouterr().out
    assert main(["config", "import-execo", "--force"]) == 0
    assert 'api_username = "x"' in path.read_text()


def test_import_execo_syntax_error_is_reported(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "home" / ".execo.conf.py").write_text("g5k_configuration = {\n")
    assert main(["config", "import-execo", "--stdout"]) == 1
    assert "not valid Python" in capsys.readouterr().err


def test_load_config_layers_files_and_environment(home: Path) -> None:
    write_config(home, "[g5k]\napi_username = 'file'\n")
    (home / "home" / ".python-grid5000.yaml").write_text("username: yaml\n")
    env = {"HOME": str(home / "home"), "XDG_CONFIG_HOME": str(home / "xdg"), "OAR_JOB_KEY_FILE": "/k"}
    loaded = performed(config_adapter.load_config(env)).unwrap()
    assert loaded.config.api_username == "file"
    assert loaded.config.oar_job_key_file == "/k"
    assert [f.found for f in loaded.files] == [True, True]


def test_unreadable_file_is_an_error_value(home: Path) -> None:
    path = write_config(home, b"\xff\xfe not utf-8")
    got = performed(config_adapter.load_config())
    assert isinstance(got, Failure) and isinstance(got.failure(), ConfigError)
    assert got.failure().source == str(path)


def test_facts_and_location(home: Path) -> None:
    resolv = home / "resolv.conf"
    resolv.write_text("# x\nsearch lyon.grid5000.fr grid5000.fr\nnameserver 1.1.1.1\n")
    assert config_adapter._resolv_domain(resolv.read_text()) == "lyon.grid5000.fr"
    facts = config_adapter.Facts("flyon", "lyon.grid5000.fr", ())
    loc = performed(config_adapter.where_we_run(core.DEFAULT_CONFIG, facts)).unwrap()
    assert (loc.place, loc.site) == (core.Place.FRONTEND, "lyon")
    forced = performed(config_adapter.where_we_run(core.Config(location="outside"), facts)).unwrap()
    assert forced.place is core.Place.OUTSIDE
    real = config_adapter.gather_facts({"OAR_JOB_ID": "7", "PATH": "/bin"}, resolv)
    assert real.env == (("OAR_JOB_ID", "7"),)


def test_guarded_turns_a_crash_into_a_failed_check() -> None:
    def boom() -> Check:
        raise RuntimeError("kaput")

    (check,) = guarded("thing", boom)
    assert check.verdict is Verdict.FAIL and "RuntimeError: kaput" in check.detail
    report = Report((check, Check("other", Verdict.OK, "fine")))
    assert not report.ok
    assert "fail  thing" in report.render() and "1 failed" in report.render()


def test_write_atomic_creates_directories(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c.toml"
    got = performed(config_adapter.write_atomic(target, "x = 1\n"))
    assert isinstance(got, Success) and target.read_text() == "x = 1\n"


def test_outside_access_needs_a_jump_host(tmp_path: Path) -> None:
    from g5k.doctor import Options, check_outside_access

    outside = core.Location(core.Place.OUTSIDE)
    opts = Options(env={"HOME": str(tmp_path)})
    warn = check_outside_access(core.DEFAULT_CONFIG, outside, ("lyon",), opts)
    assert warn is not None and warn.verdict is Verdict.WARN and 'proxy_jump = "access.grid5000.fr"' in warn.fix
    jump = core.load(toml_text="[frontend]\nproxy_jump = 'me@access.grid5000.fr'\n").unwrap().config
    ok = check_outside_access(jump, outside, ("lyon",), opts)
    assert ok is not None and ok.verdict is Verdict.OK
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text("Host *.grid5000.fr\n  ProxyJump access.grid5000.fr\n")
    via_ssh = check_outside_access(core.DEFAULT_CONFIG, outside, ("lyon",), opts)
    assert via_ssh is not None and via_ssh.verdict is Verdict.OK and "ssh/config" in via_ssh.detail
    assert check_outside_access(core.DEFAULT_CONFIG, core.Location(core.Place.FRONTEND, "lyon"), ("lyon",),
                                opts) is None


def test_probe_output_verdicts() -> None:
    from g5k.doctor import _frontend_checks, probe_plans
    from returns.result import Success as Ok

    from g5kpure.config import CommandOutput

    (plan,) = probe_plans(core.DEFAULT_CONFIG, core.Location(core.Place.OUTSIDE), ("lyon",), 30.0)
    probe = plan.unwrap()
    assert probe.argv[:2] == ("sh", "-c") and probe.argv[-1] == "kadeploy3"
    assert probe.endpoint is not None and probe.endpoint.host == "lyon.grid5000.fr"

    def out(stdout: str, code: int = 0) -> Ok[CommandOutput]:
        return Ok(CommandOutput(("sh",), "lyon", code, stdout, "", 0.25))

    everything = "".join(f"found {c}\n" for c in ("oarsub", "oarstat", "oardel", "oarnodes", "kadeploy3"))
    ssh, oar = _frontend_checks("lyon", plan, out(everything), "kadeploy3")
    assert (ssh.verdict, ssh.elapsed_s, oar.verdict) == (Verdict.OK, 0.25, Verdict.OK)
    _, oar = _frontend_checks("lyon", plan, out(everything.replace("found kadeploy3", "missing kadeploy3")),
                              "kadeploy3")
    assert oar.verdict is Verdict.WARN
    _, oar = _frontend_checks("lyon", plan, out("missing oarsub\r\nfound oarstat\r\n"), "kadeploy3")
    assert oar.verdict is Verdict.FAIL and "oarsub" in oar.detail and "oardel" in oar.detail
    _, oar = _frontend_checks("lyon", plan, out("", 127), "kadeploy3")
    assert oar.verdict is Verdict.FAIL and "exited with 127" in oar.detail


def test_doctor_dry_run_prints_the_plan_and_does_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(home, "[g5k]\ndefault_frontend = 'rennes'\nlocation = 'outside'\n[frontends.lyon]\nport = 2200\n")
    assert main(["doctor", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "[rennes] ssh rennes.grid5000.fr: sh -c" in out
    assert "[lyon] ssh lyon.grid5000.fr:2200: sh -c" in out
    assert "GET https://api.grid5000.fr/3.0/ [anonymous" in out
    assert "[lyon] SQL on oarreader@oardb.lyon.grid5000.fr:5432/oar2 through a tunnel" in out


def test_runtime_gives_config_location_and_access(home: Path) -> None:
    path = write_config(home, "[g5k]\nno_ssh_for_local_frontend = true\n")
    facts = config_adapter.Facts("frennes.rennes.grid5000.fr", "", ())
    rt = performed(config_adapter.runtime(facts=facts)).unwrap()
    assert rt.location == core.Location(core.Place.FRONTEND, "rennes", rt.location.reason)
    assert (rt.access.default_frontend, rt.access.local_frontend) == ("rennes", "rennes")
    path.write_text("[g5k]\nlocation = 'moon'\n")
    assert isinstance(performed(config_adapter.runtime(facts=facts)), Failure)


# -- a programmatic host rewrite function -----------------------------------------------------------------------


def _env(home: Path) -> dict[str, str]:
    return {"HOME": str(home / "home"), "XDG_CONFIG_HOME": str(home / "xdg")}


def test_a_rewrite_function_is_tabulated_over_the_known_sites_and_configured_frontends(home: Path) -> None:
    from g5kpure.config import resolve_frontend

    write_config(home, "[g5k]\ndefault_frontend = 'mysite'\n[frontends.other]\nport = 2222\n")
    loaded = performed(config_adapter.load_config(
        _env(home), arguments={"frontend.host_rewrite": lambda h: h + ".g5k"})).unwrap()
    frontend = loaded.config.frontend
    for site in ("lyon", "rennes", "nancy", "mysite"):
        assert resolve_frontend(site, frontend).unwrap().host == f"{site}.g5k"
    assert resolve_frontend("other", core.frontend_params(loaded.config, "other")).unwrap().host == "other.g5k"
    assert loaded.resolved.origin("frontend.host_rewrite").kind is core.OriginKind.ARGUMENT


def test_a_rewrite_function_over_explicit_names(home: Path) -> None:
    from g5kpure.config import resolve_frontend

    loaded = performed(config_adapter.load_config(
        _env(home), arguments={"frontend.host_rewrite": lambda h: f"fe-{h}.example"}, names=["rennes", "lyon"]))
    cfg = loaded.unwrap().config
    assert cfg.frontend.host_rewrite == (("lyon", "fe-lyon.example"), ("rennes", "fe-rennes.example"))
    assert resolve_frontend("nancy", cfg.frontend).unwrap().host == "nancy.grid5000.fr"


def test_a_node_rewrite_function_is_tabulated_over_the_snapshot_hosts(home: Path) -> None:
    from g5kpure.config import resolve_frontend

    loaded = performed(config_adapter.load_config(
        _env(home), arguments={"oarsh.host_rewrite": lambda h: h.replace(".grid5000.fr", ".g5k")}))
    oarsh = loaded.unwrap().config.oarsh
    assert len(oarsh.host_rewrite) > 100
    host = next(p for p, _ in oarsh.host_rewrite).replace("\\", "")
    assert resolve_frontend(host, oarsh).unwrap().host == host.replace(".grid5000.fr", ".g5k")


def test_a_rewrite_function_that_cannot_be_honoured_is_an_error_never_dropped(home: Path) -> None:
    got = performed(config_adapter.load_config(
        _env(home), arguments={"frontend.host_rewrite": lambda h: h + ".g5k"}, names=()))
    assert isinstance(got, Failure)
    assert got.failure().key == "frontend.host_rewrite" and "no names" in got.failure().reason

    def picky(name: str) -> str:
        if name == "lyon":
            raise KeyError(name)
        return "" if name == "nancy" else name

    got = performed(config_adapter.load_config(
        _env(home), arguments={"frontend.host_rewrite": picky, "g5k.api_uri": 1}, names=("lyon", "nancy", "x")))
    assert isinstance(got, Failure)
    reasons = [p.reason for p in got.failure().problems]
    assert any("failed on 'lyon'" in r and "KeyError" in r for r in reasons)
    assert "g5k.api_uri" in [p.key for p in got.failure().problems]
    got = performed(config_adapter.load_config(
        _env(home), arguments={"frontend.host_rewrite": picky}, names=("nancy", "x")))
    assert isinstance(got, Failure) and "gave '' for 'nancy'" in got.failure().reason


# -- warnings and several problems --------------------------------------------------------------------------------


def test_show_reports_unknown_g5k_variables_as_warnings(home: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("G5K_BOGUS", "1")
    monkeypatch.setenv("G5K_POLING_INTERVAL", "3")
    code, data = run_json(["config", "show"], capsys)
    assert code == 0
    assert isinstance(data, dict)
    assert [(w["where"], w["key"]) for w in data["warnings"]] == [("$G5K_BOGUS", "(environment)"),
                                                                   ("$G5K_POLING_INTERVAL", "(environment)")]
    assert "did you mean $G5K_POLLING_INTERVAL?" in data["warnings"][1]["reason"]
    assert values(data)["g5k.polling_interval"]["origin"] == "default"
    assert main(["config", "show"]) == 0
    human = capsys.readouterr().out
    assert "# warning: $G5K_BOGUS: not a g5kpure variable, ignored; " in human
    assert "# warning: $G5K_POLING_INTERVAL: not a g5kpure variable, ignored; did you mean $G5K_POLLING_INTERVAL?" \
        in human


def test_show_reports_every_problem_of_a_file(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(home, "[g5k]\napi_uri = 1\n\npoling_interval = 3\n[frontend]\nport = 0\n")
    assert main(["config", "show"]) == 1
    err = capsys.readouterr().err
    assert "3 configuration problems" in err
    for key, line in (("g5k.api_uri", 2), ("g5k.poling_interval", 4), ("frontend.port", 6)):
        assert f"configuration key '{key}' in {path} line {line}" in err
    code, data = run_json(["config", "show"], capsys)
    assert code == 1 and isinstance(data, dict)
    assert [(p["key"], p["line"]) for p in data["problems"]] == [("g5k.api_uri", 2), ("g5k.poling_interval", 4),
                                                                  ("frontend.port", 6)]


def test_doctor_configuration_check_warns_and_lists_every_problem(home: Path) -> None:
    from g5k import doctor

    env = {**_env(home), "G5K_BOGUS": "1"}
    check, _, _ = doctor.check_config(doctor.Options(env=env))
    assert check.verdict is Verdict.WARN and "$G5K_BOGUS: not a g5kpure variable" in check.detail
    path = write_config(home, "[g5k]\napi_uri = 1\n\npoling_interval = 3\n")
    check, cfg, _ = doctor.check_config(doctor.Options(env=env))
    assert check.verdict is Verdict.FAIL and cfg == core.DEFAULT_CONFIG
    assert "g5k.api_uri" in check.detail and "g5k.poling_interval" in check.detail
    assert f"edit {path} line 2, {path} line 4;" in check.fix


def test_show_refuses_a_python_grid5000_username_that_is_not_a_login(home: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    yaml = home / "home" / ".python-grid5000.yaml"
    yaml.write_text("password: p\nusername: {x: 1}\n")
    assert main(["config", "show"]) == 1
    assert f"configuration key 'username' in {yaml} line 2: expected 'username: LOGIN'" in capsys.readouterr().err
    yaml.write_text("auth:\n  username: carol\n")
    code, data = run_json(["config", "show"], capsys)
    assert code == 0 and isinstance(data, dict)
    assert values(data)["g5k.api_username"]["value"] == "(unset)"
    assert [(w["where"], w["line"]) for w in data["warnings"]] == [(str(yaml), 2)]


def test_a_file_name_too_long_for_the_system_is_an_error_not_a_traceback(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    too_long = home / ("x" * 300)
    for args in (["config", "init", "--file", str(too_long)], ["config", "init", "--file", str(too_long / "a.toml")],
                 ["config", "show", "--file", str(too_long)]):
        assert main(args) == 1, args
        err = capsys.readouterr().err
        assert err.startswith("g5k: error: configuration key '(file)' in ") and "name too long" in err, err
    monkeypatch.setenv("G5K_CONFIG", str(too_long))
    code, data = run_json(["config", "path"], capsys)
    assert code == 0 and data == {"path": str(too_long), "exists": False}


def test_every_config_command_names_its_file_with_config(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = home / "elsewhere.toml"
    assert main(["config", "init", "--config", str(target), "--dry-run"]) == 0
    assert f"# would write {target}" in capsys.readouterr().out and not target.exists()
    assert main(["config", "init", "--config", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote {target}\n" and target.read_text() == core.init_template()
    target.write_text("[g5k]\napi_username = 'erin'\n")
    for option in ("--config", "--file"):  # --file: the old spelling, still read
        assert main(["config", "show", option, str(target), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert {"path": str(target), "found": True} in [{k: f[k] for k in ("path", "found")} for f in data["files"]]
    assert main(["doctor", "--config", str(target), "--dry-run"]) == 0
    assert main(["config", "import-execo", "--from", str(home / "none.py"), "--config", str(target)]) == 1
    assert "Traceback" not in capsys.readouterr().err
