"""Unit tests of g5kpure.config: defaults, TOML parsing with lines, merge order, environment, where-we-run."""

from __future__ import annotations

import re

import pytest

from g5kpure import config as c
from g5kpure.config import resolve_frontend
from g5kpure.errors import ConfigError
from tests.conftest import failure_of, success_of


def ok(result: object) -> c.Resolved:
    return success_of(result, c.Resolved)


def err(result: object) -> ConfigError:
    return failure_of(result, ConfigError)


# -- defaults -------------------------------------------------------------------------------------------------


def test_defaults_are_the_seeds() -> None:
    cfg = c.DEFAULT_CONFIG
    assert cfg.kadeploy3 == "kadeploy3"
    assert cfg.kadeploy3_options == "-k -d"
    assert cfg.default_env_name is None and cfg.default_env_file is None
    assert cfg.default_timeout == 900
    # Not execo's default: ours also recognises a node deployed on an NVMe or eMMC disk.
    assert cfg.check_deployed_command == (
        "! (mount | grep -E '^/dev/([[:alpha:]]+|(nvme[0-9]+n[0-9]+|mmcblk[0-9]+)p)2 on / ')"
    )
    assert cfg.no_ssh_for_local_frontend is False
    assert (cfg.polling_interval, cfg.tiny_polling_interval) == (20, 10)
    assert cfg.default_frontend is None
    assert cfg.api_uri == "https://api.grid5000.fr/3.0/"
    assert cfg.api_username is None
    assert cfg.api_additional_args == ()
    assert cfg.oar_job_key_file is None
    assert (cfg.oar_pgsql_ro_db, cfg.oar_pgsql_ro_user, cfg.oar_pgsql_ro_password, cfg.oar_pgsql_ro_port) == (
        "oar2", "oarreader", "read", 5432)
    assert (cfg.oarsh.user, cfg.oarsh.port) == ("oar", 6667)


def test_default_frontend_rewrite_maps_site_to_its_frontend_host() -> None:
    endpoint = resolve_frontend("lyon", c.frontend_params(c.DEFAULT_CONFIG, "lyon")).unwrap()
    assert endpoint.host == "lyon.grid5000.fr"


def test_empty_inputs_give_the_defaults_with_default_origins() -> None:
    res = ok(c.load(toml_text="", env={}))
    assert res.config == c.DEFAULT_CONFIG
    assert {o.kind for _, o in res.origins} == {c.OriginKind.DEFAULT}
    assert len(res.origins) == len(c.KEYS)


def test_password_is_not_in_repr() -> None:
    assert "read" not in repr(c.Config(oar_pgsql_ro_password="read")).replace("oarreader", "")


# -- TOML -----------------------------------------------------------------------------------------------------


FILE = """\
# comment
[g5k]
api_username = "alice"
default_timeout = 60
api_additional_args = { branch = "testing" }

[frontend]
user = "alice"
proxy_jump = "access.grid5000.fr"
host_rewrite = [["(.*)", "\\\\1.g5k"]]

[oarsh]
keyfile = "~/.ssh/oar_key"

[frontends.rennes]
host = "127.0.0.1"
port = 2222
"""


def test_toml_values_and_lines() -> None:
    res = ok(c.load(toml_text=FILE, toml_source="cfg.toml"))
    cfg = res.config
    assert cfg.api_username == "alice"
    assert cfg.default_timeout == 60.0
    assert cfg.api_additional_args == (("branch", "testing"),)
    assert cfg.frontend.user == "alice"
    assert cfg.frontend.proxy_jump == "access.grid5000.fr"
    assert cfg.frontend.host_rewrite == (("(.*)", "\\1.g5k"),)
    assert cfg.frontend.timeout == 60.0 and cfg.oarsh.timeout == 60.0
    assert cfg.oarsh.key_filename == "~/.ssh/oar_key"
    assert cfg.site_override("rennes") == c.SiteOverride(host="127.0.0.1", port=2222)
    assert res.origin("g5k.api_username") == c.Origin(c.OriginKind.FILE, "cfg.toml", 3)
    assert res.origin("g5k.default_timeout").line == 4
    assert res.origin("frontend.host_rewrite").line == 10
    assert res.origin("oarsh.keyfile").line == 13
    assert res.origin("frontends.rennes.port").line == 17
    assert res.origin("g5k.api_uri") == c.DEFAULT_ORIGIN


def test_rewrite_rules_and_site_override_reach_the_endpoint() -> None:
    cfg = ok(c.load(toml_text=FILE)).config
    rennes = resolve_frontend("rennes", c.frontend_params(cfg, "rennes")).unwrap()
    assert (rennes.host, rennes.port, rennes.user) == ("127.0.0.1", 2222, "alice")
    lyon = resolve_frontend("lyon", c.frontend_params(cfg, "lyon")).unwrap()
    assert (lyon.host, lyon.port, lyon.proxy_jump) == ("lyon.g5k", None, "access.grid5000.fr")


@pytest.mark.parametrize(
    ("text", "key", "line", "fragment"),
    [
        ("[g5k]\n\napi_uri = 3\n", "g5k.api_uri", 3, "expected a string"),
        ("[g5k]\napi_ur = 'x'\n", "g5k.api_ur", 2, "did you mean 'g5k.api_uri'"),
        ("[g5k]\ndefault_timeout = -1\n", "g5k.default_timeout", 2, "seconds > 0"),
        ("[g5k]\ndefault_timeout = true\n", "g5k.default_timeout", 2, "got bool"),
        ("[g5k]\nno_ssh_for_local_frontend = 'yes'\n", "g5k.no_ssh_for_local_frontend", 2, "boolean"),
        ("[g5k]\noar_pgsql_ro_port = 70000\n", "g5k.oar_pgsql_ro_port", 2, "port number"),
        ("\n[nope]\nx = 1\n", "nope", 2, "unknown section"),
        ("api_uri = 'x'\n", "api_uri", 1, "write it as api_uri under [g5k]"),
        ("[frontend]\nhost_rewrite = [['(', 'x']]\n", "frontend.host_rewrite", 2, "invalid regex"),
        ("[frontend]\nhost_rewrite = [['a', '\\2']]\n", "frontend.host_rewrite", 2, "invalid regex"),
        ("[frontend]\nhost_rewrite = [['a']]\n", "frontend.host_rewrite", 2, "two strings"),
        ("[frontends.rennes]\nhots = 'x'\n", "frontends.rennes.hots", 2, "unknown key"),
        ("[g5k]\napi_additional_args = { branch = 1 }\n", "g5k.api_additional_args.branch", 2, "expected a string"),
        ("[g5k]\nlocation = 'mars'\n", "g5k.location", 2, "outside, frontend:SITE"),
        ("[g5k]\ndefault_env_name = 'a'\ndefault_env_file = 'b'\n", "g5k.default_env_file", 3, "keep only one"),
    ],
)
def test_bad_values_name_key_and_line(text: str, key: str, line: int, fragment: str) -> None:
    error = err(c.load(toml_text=text, toml_source="cfg.toml"))
    assert error.key == key
    assert error.line == line
    assert error.source == "cfg.toml"
    assert fragment in error.reason
    assert f"cfg.toml line {line}" in error.message


def test_syntax_error_has_the_line() -> None:
    error = err(c.parse_toml("[g5k]\napi_uri = \n", "cfg.toml"))
    assert error.key == "(syntax)"
    assert error.line == 2


def test_empty_string_unsets_an_optional_value() -> None:
    cfg = ok(c.load(toml_text="[g5k]\ncheck_deployed_command = ''\n")).config
    assert cfg.check_deployed_command is None


def test_key_lines_handles_quoted_keys_dotted_keys_and_multiline_strings() -> None:
    text = 'a = """\nb = 1\n"""\n[t."x y"]\nk.j = 2\n[frontends.lyon]\nhost = "h"\n'
    lines = c.key_lines(text)
    assert lines["a"] == 1
    assert "b" not in lines
    assert lines["t.x y.k.j"] == 5
    assert lines["frontends.lyon.host"] == 7


# -- merge order and environment -------------------------------------------------------------------------------


def test_merge_order_defaults_file_env_arguments() -> None:
    text = "[g5k]\napi_username = 'file'\npolling_interval = 5\nkadeploy3 = 'kd-file'\n"
    env = {"G5K_API_USERNAME": "env", "G5K_POLLING_INTERVAL": "7"}
    res = ok(c.load(toml_text=text, toml_source="f", env=env, arguments={"g5k.api_username": "arg"},
                    python_grid5000_yaml="username: yaml\n", yaml_source="y"))
    assert res.config.api_username == "arg"
    assert res.origin("g5k.api_username").kind is c.OriginKind.ARGUMENT
    assert res.config.polling_interval == 7.0
    assert res.origin("g5k.polling_interval") == c.Origin(c.OriginKind.ENVIRONMENT, "G5K_POLLING_INTERVAL")
    assert res.config.kadeploy3 == "kd-file"
    assert res.origin("g5k.kadeploy3").line == 4
    only_yaml = ok(c.load(python_grid5000_yaml="username: yaml\n", toml_text="", yaml_source="y"))
    assert only_yaml.config.api_username == "yaml"
    file_beats_yaml = ok(c.load(python_grid5000_yaml="username: yaml\n", toml_text=text))
    assert file_beats_yaml.config.api_username == "file"


def test_environment_beats_the_file_for_the_oar_key_unlike_execo() -> None:
    """execo let the config file's oar_job_key_file win over $OAR_JOB_KEY_FILE; here the environment wins."""
    res = ok(c.load(toml_text="[g5k]\noar_job_key_file = '/from/file'\n", env={"OAR_JOB_KEY_FILE": "/from/env"}))
    assert res.config.oar_job_key_file == "/from/env"
    assert c.node_params(res.config).key_filename == "/from/env"


def test_our_variable_beats_oars() -> None:
    res = ok(c.load(env={"OAR_JOB_KEY_FILE": "/oar", "G5K_OAR_JOB_KEY_FILE": "/ours"}))
    assert res.config.oar_job_key_file == "/ours"


@pytest.mark.parametrize(
    ("env", "attr", "expected"),
    [
        ({"G5K_NO_SSH_FOR_LOCAL_FRONTEND": "yes"}, "no_ssh_for_local_frontend", True),
        ({"G5K_API_VERIFY_SSL_CERT": "0"}, "api_verify_ssl_cert", False),
        ({"G5K_OAR_PGSQL_RO_PORT": "5433"}, "oar_pgsql_ro_port", 5433),
        ({"G5K_API_ADDITIONAL_ARGS": "branch=testing&x=1"}, "api_additional_args", (("branch", "testing"),
                                                                                      ("x", "1"))),
        ({"G5K_DEFAULT_ENV_NAME": ""}, "default_env_name", None),
        ({"G5K_DEFAULT_TIMEOUT": "1.5"}, "default_timeout", 1.5),
    ],
)
def test_environment_values_are_converted(env: dict[str, str], attr: str, expected: object) -> None:
    assert getattr(ok(c.load(env=env)).config, attr) == expected


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"G5K_DEFAULT_TIMEOUT": "soon"}, "g5k.default_timeout"),
        ({"G5K_OAR_PGSQL_RO_PORT": "54x"}, "g5k.oar_pgsql_ro_port"),
        ({"G5K_NO_SSH_FOR_LOCAL_FRONTEND": "maybe"}, "g5k.no_ssh_for_local_frontend"),
        ({"G5K_API_ADDITIONAL_ARGS": "novalue"}, "g5k.api_additional_args"),
        ({"G5K_FRONTEND_PORT": "0"}, "frontend.port"),
    ],
)
def test_bad_environment_values_name_the_variable(env: dict[str, str], key: str) -> None:
    error = err(c.load(env=env))
    assert error.key == key
    (var,) = env
    assert error.source == f"${var}"
    assert var in error.message


def test_unrelated_environment_is_ignored() -> None:
    assert ok(c.load(env={"HOME": "/x", "PATH": "/bin", "G5KSOMETHING": "1"})).config == c.DEFAULT_CONFIG


def test_the_core_refuses_a_rewrite_function_instead_of_dropping_it() -> None:
    for key in ("frontend.host_rewrite", "oarsh.host_rewrite"):
        error = err(c.layer_from_arguments({key: lambda h: h + ".g5k"}))
        assert error.key == key and "g5k.config.load_config" in error.reason
    error = err(c.load(arguments={"frontend.host_rewrite": lambda h: h, "g5k.api_uri": 3}))
    assert [p.key for p in error.problems] == ["frontend.host_rewrite", "g5k.api_uri"]


def test_rules_from_table_match_each_name_exactly() -> None:
    rules = c.rules_from_table("frontend.host_rewrite", [("rennes", "fe-rennes.example"), ("a.b", "x\\y")])
    assert rules.unwrap() == ((re.escape("a.b"), "x\\\\y"), ("rennes", "fe-rennes.example"))
    params = c.ConnectionParams(host_suffix=".grid5000.fr", host_rewrite=rules.unwrap())
    assert resolve_frontend("rennes", params).unwrap().host == "fe-rennes.example"
    assert resolve_frontend("a.b", params).unwrap().host == "x\\y"
    assert resolve_frontend("axb", params).unwrap().host == "axb.grid5000.fr"


def test_rules_from_table_reports_every_bad_host() -> None:
    error = err(c.rules_from_table("oarsh.host_rewrite", [("a", 1), ("b", ""), ("c", "ok"), ("d", "x y")]))
    assert [p.reason.split(" for ")[1].split(";")[0] for p in error.problems] == ["'a'", "'b'", "'d'"]


def test_a_function_is_refused_in_a_file_layer() -> None:
    error = err(c.layer_from_mapping({"frontend": {"host_rewrite": len}}, c.Origin(c.OriginKind.FILE, "f")))
    assert error.key == "frontend.host_rewrite"


def test_argument_keys_must_be_dotted() -> None:
    assert err(c.load(arguments={"api_uri": "x"})).key == "api_uri"


# -- python-grid5000 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("uri: https://api.grid5000.fr/\nusername: bob\npassword: secret\n", "bob"),
        ("username: 'o_brien'  # me\n", "o_brien"),
        ('username: "b\\u006fb"\n', "bob"),
        ("---\n# mine\nusername: bob # hi\npassword: secret\n...\n", "bob"),
        ("  username: bob\n  password: secret\n", "bob"),  # the whole mapping may be indented
        ("password: secret\n", None),
        ("username: null\n", None),
        ("username:\npassword: secret\n", None),
        ("username: 0123\n", "0123"),  # a login that YAML reads as a number or a date is taken as written
        ("username: 2024-01-02\n", "2024-01-02"),
        ("\ufeff%YAML 1.1\n---\nusername: 'bob'\n", "bob"),
        ("<<: {x: 1}\nusername: bob\n", "bob"),
    ],
)
def test_python_grid5000_username_only(text: str, expected: str | None) -> None:
    layer = c.username_from_python_grid5000(text, "y.yaml").unwrap()
    if expected is None:
        assert layer.get("g5k.api_username") is None
    else:
        line = text[: text.index("username")].count("\n") + 1
        assert layer.get("g5k.api_username") == (expected, c.Origin(c.OriginKind.FILE, "y.yaml", line))
    assert all("secret" not in repr(v) for _, v, _ in layer.entries)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("username: [a, b\n", 1, "a list or mapping"),
        ("username: {x: 1}\n", 1, "a list or mapping"),
        ("username: a b c\n", 1, "got 'a b c'"),
        ("username: 'a b'\n", 1, "got 'a b'"),
        ("username: b:ob\n", 1, "got 'b:ob'"),
        ('username: "a\\"b"\n', 1, "got 'a\"b'"),
        ("password: x\nusername: yes\n", 2, "YAML boolean yes"),
        ("username: &a bob\n", 1, "anchor, alias, tag"),
        ("username: *a\n", 1, "anchor, alias, tag"),
        ("username: !!str bob\n", 1, "anchor, alias, tag"),
        ("username: |\n  bob\n", 1, "block scalar"),
        ("username:\n  - a\n", 1, "continued on the next lines"),
        ("username:\n  x: 1\n", 1, "continued on the next lines"),
        ("username: bob\n  more\n", 1, "continued on the next lines"),
        ("username: 'bob\n", 1, "must close on the same line"),
        ('username: "bob" x\n', 1, "must close on the same line"),
        ("username: bob\nx: 1\nusername: al\n", 3, "second top-level 'username' (the first is on line 1)"),
        ("x: &a bob\nusername: *a\n", 2, "anchor, alias, tag"),
        ("username: bob\npassword: [a\n", 2, "not valid YAML (while parsing a flow sequence"),
        ("username: bob\n---\nusername: al\n", 1, "expected a single document in the stream"),
        ("username: bob\n\x07\n", 2, "not valid YAML: special characters are not allowed (U+0007)"),
        ("username:\n  bob\n", 1, "continued on the next lines"),
    ],
)
def test_python_grid5000_anything_but_a_login_is_an_error_with_its_line(text: str, line: int, fragment: str) -> None:
    error = err(c.username_from_python_grid5000(text, "y.yaml"))
    assert (error.key, error.source, error.line) == ("username", "y.yaml", line)
    assert fragment in error.reason


@pytest.mark.parametrize(("text", "lines"), [
    ("g5k:\n  username: bob\n", [2]),
    ("auth: {username: bob}\n", [1]),
    ("- username: bob\n", [1]),
    ("a:\n  username: x\nb:\n  username: y\n", [2, 4]),
])
def test_python_grid5000_a_nested_username_is_not_read_and_is_reported(text: str, lines: list[int]) -> None:
    layer = c.username_from_python_grid5000(text, "y.yaml").unwrap()
    assert layer.entries == ()
    assert [(w.source, w.line) for w in layer.warnings] == [("y.yaml", n) for n in lines]
    assert "not a top-level 'username:' entry, so not read" in layer.warnings[0].reason
    assert ok(c.load(python_grid5000_yaml=text, yaml_source="y.yaml")).warnings == layer.warnings


# -- show ------------------------------------------------------------------------------------------------------


def test_rows_mask_passwords_and_show_origins() -> None:
    res = ok(c.load(toml_text="[g5k]\noar_pgsql_ro_password = 'hunter2'\n", toml_source="f.toml"))
    rows = {r.key: r for r in res.rows()}
    assert rows["g5k.oar_pgsql_ro_password"].shown == "********"
    assert "hunter2" not in repr(res.rows())
    assert rows["g5k.oar_pgsql_ro_password"].origin.describe() == "file f.toml line 2"
    assert rows["g5k.api_uri"].origin.describe() == "default"
    assert rows["g5k.api_username"].shown == "(unset)"


# -- where we run ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hostname", "domain", "env", "place", "site"),
    [
        ("flyon.lyon.grid5000.fr", "", {}, c.Place.FRONTEND, "lyon"),
        ("frennes", "rennes.grid5000.fr", {}, c.Place.FRONTEND, "rennes"),
        ("frontend.nancy.grid5000.fr", "", {}, c.Place.FRONTEND, "nancy"),
        ("nova-3.lyon.grid5000.fr", "", {}, c.Place.NODE, "lyon"),
        ("paravance-1", "rennes.grid5000.fr", {"OAR_JOB_ID": "42"}, c.Place.NODE, "rennes"),
        ("flyon.lyon.grid5000.fr", "", {"OAR_NODEFILE": "/var/lib/oar/42"}, c.Place.NODE, "lyon"),
        ("laptop", "", {}, c.Place.OUTSIDE, None),
        ("laptop.example.org", "", {}, c.Place.OUTSIDE, None),
        ("access.grid5000.fr", "", {}, c.Place.OUTSIDE, None),
    ],
)
def test_locate(hostname: str, domain: str, env: dict[str, str], place: c.Place, site: str | None) -> None:
    loc = c.locate(hostname, domain, env).unwrap()
    assert (loc.place, loc.site) == (place, site)
    assert loc.reason


def test_locate_matches_the_domain_literally_unlike_execo() -> None:
    """execo's regex left the dots of grid5000.fr unescaped, so flyon.lyonXgrid5000Yfr looked like Grid'5000."""
    assert c.locate("flyon.lyon.grid5000Xfr", "").unwrap().place is c.Place.OUTSIDE


def test_forced_location_wins_and_is_checked() -> None:
    assert c.locate("laptop", "", {}, forced="frontend:rennes").unwrap() == c.Location(
        c.Place.FRONTEND, "rennes", "set in the configuration")
    assert c.locate("flyon.lyon.grid5000.fr", "", {}, forced="outside").unwrap().place is c.Place.OUTSIDE
    assert err(c.locate("x", "", {}, forced="node:")).key == "g5k.location"


def test_api_access_depends_on_where_we_run() -> None:
    outside = c.Location(c.Place.OUTSIDE)
    frontend = c.Location(c.Place.FRONTEND, "lyon")
    anon_out = c.api_access(c.DEFAULT_CONFIG, outside)
    assert anon_out.username is None and "api_username" in anon_out.problem
    anon_in = c.api_access(c.DEFAULT_CONFIG, frontend)
    assert anon_in.username is None and not anon_in.problem and "frontend" in anon_in.reason
    bob = c.Config(api_username="bob")
    assert c.api_access(bob, outside).username == "bob"
    assert c.api_access(bob, outside).uri == "https://api.grid5000.fr/3.0/"


def test_local_frontend_and_default_frontend() -> None:
    here = c.Location(c.Place.FRONTEND, "lyon")
    assert not c.runs_locally(c.DEFAULT_CONFIG, here, "lyon")
    no_ssh = c.Config(no_ssh_for_local_frontend=True)
    assert c.runs_locally(no_ssh, here, "lyon")
    assert not c.runs_locally(no_ssh, here, "rennes")
    assert not c.runs_locally(no_ssh, c.Location(c.Place.NODE, "lyon"), "lyon")
    assert c.default_frontend(c.DEFAULT_CONFIG, here) == "lyon"
    assert c.default_frontend(c.Config(default_frontend="nancy"), here) == "nancy"
    assert c.default_frontend(c.DEFAULT_CONFIG, c.Location(c.Place.OUTSIDE)) is None


def test_configured_frontends() -> None:
    cfg = ok(c.load(toml_text="[g5k]\ndefault_frontend='lyon'\n[frontends.rennes]\nport=22\n[frontends.nancy]\n"
                              "port=23\n")).config
    assert c.configured_frontends(cfg, c.Location(c.Place.OUTSIDE)) == ("lyon", "nancy", "rennes")


def test_node_params_default_to_the_oar_job_key() -> None:
    params = c.node_params(c.Config(oar_job_key_file="/k"))
    assert (params.user, params.port, params.key_filename) == ("oar", 6667, "/k")


# -- templates and writing ------------------------------------------------------------------------------------


def test_init_template_parses_to_the_defaults_and_documents_every_key() -> None:
    text = c.init_template()
    assert ok(c.load(toml_text=text)).config == c.DEFAULT_CONFIG
    for key in c.KEYS:
        assert f"# {key.name.split('.', 1)[1]} =" in text


def test_to_toml_round_trip() -> None:
    cfg = ok(c.load(toml_text=FILE)).config
    assert ok(c.load(toml_text=c.to_toml(cfg))).config == cfg


# -- execo conversion -----------------------------------------------------------------------------------------


EXECO = '''\
import re

default_connection_params = {
    'host_rewrite_func': lambda host: re.sub("\\.grid5000\\.fr$", ".g5k", host),
    'taktuk_gateway': 'g5k'
    }

default_frontend_connection_params = {
    'host_rewrite_func': lambda host: host + ".g5k",
    'pty': True,
    }

g5k_configuration = {
    'api_username': 'mimbert',
    'api_additional_args': ["branch=testing"],
    'default_frontend': 'lyon',
    'oar_job_key_file': '/home/mimbert/.oar_key',
    'no_such_key': 1,
    }
g5k_configuration['polling_interval'] = 5
default_oarsh_oarcp_params = {'user': 'oar', 'port': 6667, 'keyfile': '/k', 'ssh': 'ssh',
    'host_rewrite_func': lambda h: h.upper()}
print("side effect")
'''


def test_execo_conversion_reads_literals_and_explains_the_rest() -> None:
    imported = c.convert_execo_conf(EXECO, "execo.conf.py").unwrap()
    cfg = ok(c.resolve(imported.layer)).config
    assert cfg.api_username == "mimbert"
    assert cfg.api_additional_args == (("branch", "testing"),)
    assert cfg.default_frontend == "lyon"
    assert cfg.oar_job_key_file == "/home/mimbert/.oar_key"
    assert cfg.polling_interval == 5.0
    assert (cfg.frontend.host_suffix, cfg.frontend.host_rewrite) == (".g5k", ())
    assert resolve_frontend("lyon", cfg.frontend).unwrap().host == "lyon.g5k"
    assert cfg.oarsh.key_filename == "/k"
    node = resolve_frontend("nova-1.lyon.grid5000.fr", cfg.oarsh).unwrap()
    assert node.host == "nova-1.lyon.g5k"
    notes = "\n".join(imported.notes)
    assert "no_such_key" in notes
    assert "taktuk_gateway" in notes
    assert "'pty'" in notes
    assert "host_rewrite_func'] is code" in notes  # the h.upper() lambda
    text = c.layer_to_toml(imported.layer, imported.notes)
    assert ok(c.load(toml_text=text)).config == cfg


def test_execo_conversion_never_executes(tmp_path: object) -> None:
    text = "import os\ng5k_configuration = {'api_username': __import__('os').system('false')}\n"
    imported = c.convert_execo_conf(text).unwrap()
    assert imported.layer.entries == ()
    assert imported.notes == (
        "line 1: skipped 'import os': only the execo dicts are read, nothing is run",
        "line 2: not converted: g5k_configuration['api_username'] is not a literal value",
    )


def test_execo_notes_say_converted_or_not_and_every_skipped_statement_has_its_line() -> None:
    notes = c.convert_execo_conf(EXECO, "execo.conf.py").unwrap().notes
    by_line = {int(n.split(":")[0].removeprefix("line ")): n for n in notes}
    assert by_line[1] == "line 1: skipped 'import re': only the execo dicts are read, nothing is run"
    assert by_line[4].startswith("line 4: converted: default_connection_params['host_rewrite_func'] became [oarsh]")
    assert by_line[5].startswith("line 5: not converted: default_connection_params['taktuk_gateway']")
    assert by_line[22].startswith("line 22: not converted: default_oarsh_oarcp_params['host_rewrite_func'] is code")
    assert by_line[23] == "line 23: skipped 'print(\"side effect\")': only the execo dicts are read, nothing is run"
    assert all(n.split(": ")[1].startswith(("converted", "not converted", "skipped")) for n in notes)


def test_execo_arbitrary_statements_are_each_noted_never_run() -> None:
    text = ("import os\nos.system('touch /tmp/x')\nif True:\n    g5k_configuration = {'api_username': 'a'}\n"
            "x = 1\n'doc'\ng5k_configuration = dict(api_username='b')\n")
    imported = c.convert_execo_conf(text, "x.py").unwrap()
    assert imported.layer.entries == ()
    assert [n.split(":")[0] for n in imported.notes] == ["line 1", "line 2", "line 3", "line 5", "line 6", "line 7"]
    assert "skipped \"os.system('touch /tmp/x')\"" in imported.notes[1]
    assert "skipped 'if True:...'" in imported.notes[2]


def test_execo_syntax_error_is_a_value() -> None:
    error = err(c.convert_execo_conf("g5k_configuration = {\n", "x.py"))
    assert error.source == "x.py" and error.line == 1


def test_frontend_access_places_commands() -> None:
    from g5kpure.config import plan_command

    cfg = ok(c.load(toml_text="[g5k]\nno_ssh_for_local_frontend = true\n[frontends.nancy]\nport = 2200\n")).config
    on_lyon = c.frontend_access(cfg, c.Location(c.Place.FRONTEND, "lyon"))
    assert on_lyon.default_frontend == "lyon" and on_lyon.local_frontend == "lyon"
    assert plan_command(("oarstat",), None, on_lyon).unwrap().endpoint is None
    nancy = plan_command(("oarstat",), "nancy", on_lyon).unwrap().endpoint
    assert nancy is not None and (nancy.host, nancy.port) == ("nancy.grid5000.fr", 2200)
    outside = c.frontend_access(cfg, c.Location(c.Place.OUTSIDE))
    assert outside.default_frontend is None and outside.local_frontend is None


# -- api_additional_args as a list, pathological input ----------------------------------------------------------


def test_api_additional_args_accepts_the_seeds_list_form_in_toml() -> None:
    text = '[g5k]\napi_additional_args = ["branch=testing", "x=a=b"]\n'
    cfg = ok(c.load(toml_text=text)).config
    assert cfg.api_additional_args == (("branch", "testing"), ("x", "a=b"))
    assert cfg == ok(c.load(toml_text='[g5k]\napi_additional_args = { branch = "testing", x = "a=b" }\n')).config


@pytest.mark.parametrize("item", ['"branch"', '"=x"', "1"])
def test_api_additional_args_list_items_must_be_key_value(item: str) -> None:
    error = err(c.parse_toml(f"[g5k]\n\napi_additional_args = [\"a=b\", {item}]\n", "cfg.toml"))
    assert (error.key, error.line) == ("g5k.api_additional_args", 3)
    assert "item 2" in error.reason and "key=value" in error.reason


@pytest.mark.parametrize("depth", [400, 1000, 100_000])
def test_deeply_nested_toml_is_an_error_value(depth: int) -> None:
    error = err(c.parse_toml("[g5k]\napi_uri = " + "[" * depth + "]" * depth + "\n", "cfg.toml"))
    assert error.key in ("(syntax)", "g5k.api_uri") and error.source == "cfg.toml"


def test_a_nested_value_is_shown_short_in_the_message() -> None:
    error = err(c.parse_toml("[g5k]\napi_uri = " + "[" * 100 + "]" * 100 + "\n"))
    assert error.key == "g5k.api_uri" and "[[[[...]]]]" in error.reason and len(error.reason) < 200


@pytest.mark.parametrize("text", ["-" * 100_000 + "1", "1" + "+1" * 100_000, "g5k_configuration = " + "[" * 100_000,
                                  "x = 1\0", "g5k_configuration = {'a': " + "(" * 5000 + ")" * 5000 + "}"])
def test_pathological_execo_files_are_error_values(text: str) -> None:
    error = err(c.convert_execo_conf(text, "x.py"))
    assert error.key == "(syntax)" and error.source == "x.py"


# -- every problem reported, unknown variables ------------------------------------------------------------------


def test_a_file_with_several_problems_reports_each_with_its_line() -> None:
    text = ("[g5k]\napi_uri = 3\npolling_intervall = 5\ndefault_timeout = -1\n[bogus]\nx = 1\n"
            "[frontends.lyon]\nport = 'x'\nhots = 'h'\n")
    error = err(c.parse_toml(text, "cfg.toml"))
    got = [(p.key, p.line) for p in error.problems]
    assert got == [("g5k.api_uri", 2), ("g5k.polling_intervall", 3), ("g5k.default_timeout", 4), ("bogus", 5),
                   ("frontends.lyon.port", 8), ("frontends.lyon.hots", 9)]
    assert all(p.source == "cfg.toml" for p in error.problems) and error.source == "cfg.toml"
    assert "did you mean 'g5k.polling_interval'?" in error.problems[1].reason
    assert error.message.startswith("6 configuration problems:\n  - configuration key 'g5k.api_uri' in cfg.toml line 2")
    assert error.message.count("\n  - ") == 6


def test_one_problem_stays_a_plain_error() -> None:
    error = err(c.parse_toml("[g5k]\napi_uri = 3\n", "cfg.toml"))
    assert (error.key, error.line, error.problems) == ("g5k.api_uri", 2, ())


def test_problems_of_every_layer_are_reported_together() -> None:
    error = err(c.load(toml_text="[g5k]\napi_uri = 3\n", toml_source="f", env={
        "G5K_DEFAULT_TIMEOUT": "soon", "G5K_FRONTEND_PORT": "x"}, arguments={"g5k.polling_interval": "x"}))
    assert [(p.key, p.source) for p in error.problems] == [
        ("g5k.api_uri", "f"), ("g5k.default_timeout", "$G5K_DEFAULT_TIMEOUT"), ("frontend.port", "$G5K_FRONTEND_PORT"),
        ("g5k.polling_interval", "")]


def test_cross_key_problems_are_reported_together() -> None:
    error = err(c.load(toml_text="[g5k]\ndefault_env_name = 'a'\ndefault_env_file = 'b'\nlocation = 'moon'\n"))
    assert [p.key for p in error.problems] == ["g5k.default_env_file", "g5k.location"]


def test_unknown_g5k_variables_are_warnings_with_the_closest_name() -> None:
    res = ok(c.load(env={"G5K_BOGUS": "1", "G5K_API_USERNAM": "me", "G5K_CONFIG": "/c", "G5K_CACHE_DIR": "/d",
                         "G5K_API_URI": "https://x/", "OTHER": "1"}))
    assert res.config.api_uri == "https://x/" and res.config.api_username is None
    assert [w.source for w in res.warnings] == ["$G5K_API_USERNAM", "$G5K_BOGUS"]
    assert "did you mean $G5K_API_USERNAME?" in res.warnings[0].reason
    assert "not a g5kpure variable, ignored" in res.warnings[1].reason
    assert c.warning_text(res.warnings[1]).startswith("$G5K_BOGUS: not a g5kpure variable, ignored; ")
    nested = c.load(python_grid5000_yaml="a:\n  username: x\n", yaml_source="y.yaml").unwrap().warnings[0]
    assert c.warning_text(nested).startswith("y.yaml line 2: username: not a top-level 'username:' entry")
    assert "did you mean" not in res.warnings[1].reason


def test_key_lines_count_only_real_line_breaks() -> None:
    text = '[g5k]\noar_pgsql_ro_host = "\x85[0\u2028x"\napi_uri = "u"\n'
    assert c.key_lines(text)["g5k.api_uri"] == 3
    assert err(c.parse_toml(text + "kadeploy3 = 1\n", "f")).line == 4


def test_execo_notes_quote_the_statement_of_their_line() -> None:
    notes = c.convert_execo_conf("x = '\x85'\r\nprint(1)\ry = 2\n").unwrap().notes
    assert [n.split(": skipped ")[1].split(":")[0] for n in notes] == ['"x = \'\\x85\'"', "'print(1)'", "'y = 2'"]

