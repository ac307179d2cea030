"""The configuration schema is written once (attrs field metadata) and everything is derived from it: the keys,
TOML reading, environment variables, `g5k config show`, the `g5k config init` template, per-frontend overrides
and the execo import. These tests go over every key of the schema, so that a new field is covered at once."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
from g5k.cli.main import main
from returns.result import Failure, Success

from g5kpure import config as c
from g5kpure.config import Setting
from g5kpure.config.kinds import METADATA
from g5kpure.errors import ConfigError
from tests.conftest import isolate, run_json, values

# A value of each kind that differs from every default: (environment text, TOML text, the value read).
SAMPLES: dict[c.Kind, tuple[str, str, object]] = {
    c.Kind.STR: ("some-text", '"some-text"', "some-text"),
    c.Kind.OPT_STR: ("some-text", '"some-text"', "some-text"),
    c.Kind.SECONDS: ("90s", '"1:30"', None),  # the TOML form is read as 1 h 30 min, see expected()
    c.Kind.PORT: ("2222", "2222", 2222),
    c.Kind.OPT_PORT: ("2222", "2222", 2222),
    c.Kind.STR_MAP: ("a=b&c=d", '{ a = "b", c = "d" }', (("a", "b"), ("c", "d"))),
    c.Kind.RULES: ('[["(.*)", "\\\\1.x"]]', '[["(.*)", "\\\\1.x"]]', (("(.*)", "\\1.x"),)),
}
SPECIAL = {"g5k.location": ("outside", '"outside"', "outside")}  # a free text is not a location


def sample(key: c.Key, source: str) -> tuple[str, object]:
    """The text to write for ``key`` in the environment or in TOML, and the value it must give."""
    value: object
    if key.name in SPECIAL:
        env, toml, value = SPECIAL[key.name]
    elif key.kind is c.Kind.BOOL:
        flipped = not c.default_of(key.name)
        env, toml, value = ("yes" if flipped else "no"), ("true" if flipped else "false"), flipped
    elif key.kind is c.Kind.SECONDS:
        env, toml, value = "90s", '"1:30"', (90.0 if source == "env" else 5400.0)
    else:
        env, toml, value = SAMPLES[key.kind]
    return (env if source == "env" else toml), value


def test_the_keys_are_the_fields_with_a_setting() -> None:
    def names(cls: type) -> list[str]:
        return [a.name for a in attrs.fields(cls) if isinstance(a.metadata.get(METADATA), Setting)]

    assert [k.attr for k in c.KEYS if k.section == "g5k"] == names(c.Config)
    for section in ("frontend", "oarsh"):
        assert [k.attr for k in c.KEYS if k.section == section] == names(c.ConnectionParams)
    assert list(c.SITE_OVERRIDE_FIELDS) == names(c.SiteOverride)
    assert c.SECTIONS == ("g5k", "frontend", "oarsh", "frontends")
    assert "frontend.timeout" not in c.KEYS_BY_NAME  # a copy of g5k.default_timeout, not a key
    assert c.KEYS_BY_NAME["frontend.keyfile"].attr == "key_filename"


def test_defaults_are_the_field_defaults() -> None:
    for key in c.KEYS:
        holder = c.DEFAULT_CONFIG if key.section == "g5k" else getattr(c.DEFAULT_CONFIG, key.section)
        assert c.default_of(key.name) == getattr(holder, key.attr)
    assert c.config_from({}) == c.DEFAULT_CONFIG == c.load().unwrap().config


def test_every_key_has_an_environment_variable_of_its_name() -> None:
    for key in c.KEYS:
        section, _, name = key.name.partition(".")
        ours = f"G5K_{name.upper()}" if section == "g5k" else f"G5K_{section.upper()}_{name.upper()}"
        assert key.env[0] == ours
    assert c.KEYS_BY_NAME["g5k.oar_job_key_file"].env == ("G5K_OAR_JOB_KEY_FILE", "OAR_JOB_KEY_FILE")
    assert len(c.env_variables()) == len({var for var, _ in c.env_variables()})


@pytest.mark.parametrize("key", c.KEYS, ids=lambda k: k.name)
def test_every_environment_variable_is_read(key: c.Key) -> None:
    for var in key.env:
        text, expected = sample(key, "env")
        res = c.load(env={var: text}).unwrap()
        assert c.value_of(res.config, key.name) == expected != c.default_of(key.name)
        assert res.origin(key.name) == c.Origin(c.OriginKind.ENVIRONMENT, var)
        assert res.warnings == ()


@pytest.mark.parametrize("key", c.KEYS, ids=lambda k: k.name)
def test_every_key_is_read_from_toml_with_its_line(key: c.Key) -> None:
    text, expected = sample(key, "toml")
    res = c.load(toml_text=f"# first\n[{key.section}]\n{key.short} = {text}\n", toml_source="f.toml").unwrap()
    assert c.value_of(res.config, key.name) == expected
    assert res.origin(key.name) == c.Origin(c.OriginKind.FILE, "f.toml", 3)
    assert c.load(toml_text=c.to_toml(res.config)).unwrap().config == res.config


@pytest.mark.parametrize("key", c.KEYS, ids=lambda k: k.name)
def test_a_value_of_the_wrong_type_names_the_key_the_file_and_the_line(key: c.Key) -> None:
    wrong = "[1]" if key.kind in (c.Kind.STR, c.Kind.OPT_STR, c.Kind.SECONDS) else '"text"'
    error = c.load(toml_text=f"[{key.section}]\n\n{key.short} = {wrong}\n", toml_source="f.toml").failure()
    assert isinstance(error, ConfigError)
    assert (error.key, error.source, error.line, error.problems) == (key.name, "f.toml", 3, ())
    assert error.reason.startswith(f"expected a {key.kind.value}" if key.kind is not c.Kind.BOOL else "expected a")


@pytest.mark.parametrize("key", c.KEYS, ids=lambda k: k.name)
def test_a_bad_environment_value_names_the_key_and_the_variable(key: c.Key) -> None:
    if key.kind in (c.Kind.STR, c.Kind.OPT_STR):
        return  # every text is a string
    var = key.env[0]
    error = c.load(env={var: "[not, this"}).failure()
    assert isinstance(error, ConfigError)
    assert (error.key, error.source, error.line) == (key.name, f"${var}", None)
    assert error.reason.startswith(f"${var}='[not, this': expected")


def test_the_init_template_has_every_key_its_default_and_its_variables() -> None:
    text = c.init_template()
    assert c.load(toml_text=text).unwrap().config == c.DEFAULT_CONFIG
    sections = text.split("\n[")
    for key in c.KEYS:
        body = next(s for s in sections if s.startswith(f"{key.section}]"))
        assert f"# {key.doc} (env: {', '.join(key.env)})" in body
        assert f"# {key.short} =" in body
    for key in c.SITE_KEYS:
        assert f"\n#   {key.short}: {key.doc}\n" in text
    for var, _ in c.env_variables():
        assert var in text


def test_show_lists_every_key_with_its_origin() -> None:
    res = c.load(toml_text="[frontends.lyon]\nport = 2200\n", toml_source="f.toml").unwrap()
    rows = {r.key: r for r in res.rows()}
    assert list(rows) == [k.name for k in c.KEYS] + ["frontends.lyon.port"]
    assert rows["frontends.lyon.port"].shown == "2200" and rows["frontends.lyon.port"].origin.line == 2
    assert [r.key for r in res.rows() if r.secret] == [k.name for k in c.KEYS if k.secret]


def test_g5k_config_show_prints_every_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    isolate(tmp_path, monkeypatch)
    code, data = run_json(["config", "show"], capsys)
    assert code == 0
    assert list(values(data)) == [k.name for k in c.KEYS]
    assert main(["config", "show"]) == 0
    human = capsys.readouterr().out
    for key in c.KEYS:
        assert f"\n{key.name} " in human
    assert "hunter2" not in json.dumps(data)


@pytest.mark.parametrize("key", c.SITE_KEYS, ids=lambda k: k.short)
def test_every_per_frontend_key_overrides_that_frontend_only(key: c.Key) -> None:
    text, expected = sample(key, "toml")
    res = c.load(toml_text=f"[frontends.lyon]\n{key.short} = {text}\n", toml_source="f.toml").unwrap()
    assert c.value_of(res.config, f"frontends.lyon.{key.short}") == expected
    assert res.origin(f"frontends.lyon.{key.short}") == c.Origin(c.OriginKind.FILE, "f.toml", 2)
    lyon = c.resolve_frontend("lyon", c.frontend_params(res.config, "lyon")).unwrap()
    rennes = c.resolve_frontend("rennes", c.frontend_params(res.config, "rennes")).unwrap()
    default = c.resolve_frontend("lyon", c.DEFAULT_CONFIG.frontend).unwrap()
    assert rennes == c.resolve_frontend("rennes", c.DEFAULT_CONFIG.frontend).unwrap()
    seen = {"host": lyon.host, "port": lyon.port, "user": lyon.user, "keyfile": lyon.key_filename,
            "proxy_jump": lyon.proxy_jump}
    assert seen[key.short] == expected != getattr(default, "key_filename" if key.short == "keyfile" else key.short)


@pytest.mark.parametrize("key", [k for k in c.KEYS if k.section == "frontend" and k.short not in
                                 c.SITE_OVERRIDE_FIELDS], ids=lambda k: k.name)
def test_a_key_that_is_not_per_frontend_is_refused_in_a_frontend_table(key: c.Key) -> None:
    text, _ = sample(key, "toml")
    error = c.load(toml_text=f"[frontends.lyon]\nport = 22\n{key.short} = {text}\n", toml_source="f.toml").failure()
    assert isinstance(error, ConfigError)
    assert (error.key, error.source, error.line) == (f"frontends.lyon.{key.short}", "f.toml", 3)
    assert error.reason == f"unknown key; expected one of {', '.join(c.SITE_OVERRIDE_FIELDS)}"


def test_arguments_reach_every_key_and_per_frontend_key() -> None:
    arguments = {k.name: sample(k, "toml")[1] for k in c.KEYS if k.name != "g5k.default_env_file"}
    arguments.update({f"frontends.lyon.{k.short}": sample(k, "toml")[1] for k in c.SITE_KEYS})
    res = c.load(arguments=arguments).unwrap()
    for name, value in arguments.items():
        assert c.value_of(res.config, name) == value
        assert res.origin(name).kind is c.OriginKind.ARGUMENT


# -- durations: the one duration grammar ------------------------------------------------------------------------


@pytest.mark.parametrize(("toml", "seconds"), [("90", 90.0), ("1.5", 1.5), ('"90s"', 90.0), ('"45m"', 2700.0),
                                               ('"1h30m"', 5400.0), ('"1:30:00"', 5400.0), ('"2"', 7200.0)])
def test_durations_in_toml_read_the_duration_grammar(toml: str, seconds: float) -> None:
    cfg = c.load(toml_text=f"[g5k]\ndefault_timeout = {toml}\n[frontend]\nconnect_timeout = {toml}\n").unwrap().config
    assert cfg.default_timeout == cfg.frontend.connect_timeout == cfg.frontend.timeout == seconds


@pytest.mark.parametrize(("text", "seconds"), [("7", 7.0), ("1.5", 1.5), ("90s", 90.0), ("1:30", 5400.0),
                                               (" 2h ", 7200.0)])
def test_durations_in_the_environment_a_plain_number_is_seconds(text: str, seconds: float) -> None:
    assert c.load(env={"G5K_POLLING_INTERVAL": text}).unwrap().config.polling_interval == seconds


@pytest.mark.parametrize(("toml", "fragment"), [('"300"', "300 hours is more than a week"), ('"0s"', "got '0s'"),
                                                ('"soon"', "could not parse"), ("0", "got 0")])
def test_a_bad_duration_says_what_the_grammar_reads(toml: str, fragment: str) -> None:
    error = c.load(toml_text=f"[g5k]\napi_timeout = {toml}\n", toml_source="f.toml").failure()
    assert isinstance(error, ConfigError)
    assert (error.key, error.source, error.line) == ("g5k.api_timeout", "f.toml", 2)
    assert error.reason.startswith(f"expected a {c.Kind.SECONDS.value}") and fragment in error.reason


def test_rewrite_rules_from_the_environment_are_written_as_in_toml() -> None:
    res = c.load(env={"G5K_FRONTEND_HOST_REWRITE": '[["(.*)", "\\\\1.g5k"]]'}).unwrap()
    assert c.resolve_frontend("lyon", res.config.frontend).unwrap().host == "lyon.g5k"
    for text in ('[["(", "x"]]', "(.*)=x", '[]\nrules = 1', '[[1, 2]]'):
        error = c.load(env={"G5K_OARSH_HOST_REWRITE": text}).failure()
        assert isinstance(error, ConfigError)
        assert (error.key, error.source) == ("oarsh.host_rewrite", "$G5K_OARSH_HOST_REWRITE")


# -- the execo import follows the schema --------------------------------------------------------------------------


def test_every_execo_key_is_converted_and_the_others_are_noted() -> None:
    g5k = [k for k in c.KEYS if k.section == "g5k" and k.name != "g5k.default_env_file"]
    items = ", ".join(f"{k.short!r}: {sample(k, 'toml')[1]!r}" for k in g5k if k.kind not in (
        c.Kind.STR_MAP, c.Kind.RULES))
    conn = [k for k in c.KEYS if k.section == "frontend" and k.kind is not c.Kind.RULES]
    params = ", ".join(f"{k.short!r}: {sample(k, 'toml')[1]!r}" for k in conn)
    text = f"g5k_configuration = {{{items}}}\ndefault_frontend_connection_params = {{{params}}}\n"
    imported = c.convert_execo_conf(text, "e.py")
    assert isinstance(imported, Success), imported
    converted = set(imported.unwrap().layer.keys())
    notes = "\n".join(imported.unwrap().notes)
    for key in g5k + conn:
        if key.kind in (c.Kind.STR_MAP, c.Kind.RULES):
            continue
        assert (key.name in converted) is key.execo, key.name
        if not key.execo:
            assert f"[{key.short!r}]" in notes and "line " in notes
    assert not isinstance(c.resolve(imported.unwrap().layer), Failure)
