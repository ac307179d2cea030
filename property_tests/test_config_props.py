"""Property tests of g5kpure.config: TOML round trips, totality of the parsers, merge order."""

from __future__ import annotations

import re
import tomllib

from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from g5kpure import config as c
from g5kpure.config import ConnectionParams
from g5kpure.errors import ConfigError

text = st.text(max_size=40)
opt_text = st.none() | st.text(min_size=1, max_size=20)
seconds = st.floats(min_value=0.001, max_value=1e6, allow_nan=False, allow_infinity=False)
ports = st.integers(min_value=1, max_value=65535)
names = st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True)
str_map = st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3).map(
    lambda d: tuple(sorted(d.items())))
rules = st.lists(
    st.tuples(st.sampled_from([r"(.*)", r"([a-z]+)", "lyon", r"(.*)\.grid5000\.fr"]),
              st.sampled_from([r"\1.g5k", "127.0.0.1", "h", r"\1"])),
    max_size=3,
).map(lambda rs: tuple(r for r in rs if re.compile(r[0]).groups or "\\" not in r[1]))


@st.composite
def params(draw: st.DrawFn, timeout: float) -> ConnectionParams:
    return ConnectionParams(user=draw(opt_text), port=draw(st.none() | ports), key_filename=draw(opt_text),
                            host_suffix=draw(text), host_rewrite=draw(rules), proxy_jump=draw(opt_text),
                            timeout=timeout, connect_timeout=draw(seconds))


@st.composite
def configs(draw: st.DrawFn) -> c.Config:
    timeout = draw(seconds)
    env_name = draw(opt_text)
    overrides = draw(st.dictionaries(names, st.builds(
        c.SiteOverride, host=opt_text, port=st.none() | ports, user=opt_text, keyfile=opt_text,
        proxy_jump=opt_text), max_size=3))
    return c.Config(
        kadeploy3=draw(text), kadeploy3_options=draw(text), default_env_name=env_name,
        default_env_file=None if env_name is not None else draw(opt_text), default_timeout=timeout,
        check_deployed_command=draw(opt_text), no_ssh_for_local_frontend=draw(st.booleans()),
        polling_interval=draw(seconds), tiny_polling_interval=draw(seconds), default_frontend=draw(opt_text),
        api_uri=draw(text), api_username=draw(opt_text), api_additional_args=draw(str_map),
        api_timeout=draw(seconds), api_verify_ssl_cert=draw(st.booleans()), oar_job_key_file=draw(opt_text),
        oar_pgsql_ro_db=draw(text), oar_pgsql_ro_user=draw(text), oar_pgsql_ro_password=draw(text),
        oar_pgsql_ro_port=draw(ports), oar_pgsql_ro_host=draw(text),
        location=draw(st.none() | st.sampled_from(["outside", "frontend:lyon", "node:rennes"])),
        frontend=draw(params(timeout)), oarsh=draw(params(timeout)),
        frontends=tuple(sorted(overrides.items())),
    )


@given(configs())
def test_toml_written_from_a_config_parses_back_equal(cfg: c.Config) -> None:
    parsed = c.load(toml_text=c.to_toml(cfg), toml_source="t")
    assert isinstance(parsed, Success), parsed
    assert parsed.unwrap().config == cfg


@given(st.text())
def test_toml_string_round_trips_through_tomllib(value: str) -> None:
    assert tomllib.loads(f"k = {c.toml_string(value)}")["k"] == value


@given(st.text())
def test_toml_key_round_trips_through_tomllib(value: str) -> None:
    assert tomllib.loads(f"{c.toml_key(value)} = 1") == {value: 1}


@given(st.text(max_size=300))
def test_parse_toml_never_raises(value: str) -> None:
    result = c.parse_toml(value, "t")
    assert isinstance(result, Success | Failure)
    if isinstance(result, Failure):
        assert isinstance(result.failure(), ConfigError)


@given(st.dictionaries(st.sampled_from([v for v, _ in c.env_variables()]), st.text(max_size=20)))
def test_parse_env_never_raises_and_errors_name_the_variable(env: dict[str, str]) -> None:
    result = c.parse_env(env)
    if isinstance(result, Failure):
        error = result.failure()
        for problem in error.problems or (error,):
            assert problem.source.lstrip("$") in env
    else:
        assert result.unwrap().warnings == ()


@given(st.dictionaries(st.sampled_from(["G5K_API_USERNAME", "G5K_KADEPLOY3"]), st.text(min_size=1, max_size=10)),
       st.dictionaries(st.sampled_from(["api_username", "kadeploy3"]), st.text(min_size=1, max_size=10)),
       st.dictionaries(st.sampled_from(["g5k.api_username", "g5k.kadeploy3"]), st.text(min_size=1, max_size=10)))
def test_later_layers_win(env: dict[str, str], file: dict[str, str], args: dict[str, str]) -> None:
    toml = "[g5k]\n" + "".join(f"{k} = {c.toml_string(v)}\n" for k, v in file.items())
    res = c.load(toml_text=toml, env=env, arguments=args).unwrap()
    for name in ("api_username", "kadeploy3"):
        expected = args.get(f"g5k.{name}", env.get(f"G5K_{name.upper()}", file.get(name, c.default_of(f"g5k.{name}"))))
        assert getattr(res.config, name) == expected


@given(st.text(max_size=300))
def test_convert_execo_never_raises(value: str) -> None:
    assert isinstance(c.convert_execo_conf(value), Success | Failure)


@given(st.text(max_size=60), st.text(max_size=30),
       st.dictionaries(st.sampled_from(["OAR_JOB_ID", "OAR_NODEFILE", "HOME"]), st.text(max_size=5)))
def test_locate_is_total_and_sites_come_from_the_name(hostname: str, domain: str, env: dict[str, str]) -> None:
    loc = c.locate(hostname, domain, env).unwrap()
    if loc.site is not None:
        assert loc.site in (hostname + "." + domain).lower()


@given(st.text(max_size=200))
def test_python_grid5000_reader_never_raises(value: str) -> None:
    assert isinstance(c.username_from_python_grid5000(value), Success | Failure)


@given(configs())
def test_key_lines_point_at_each_written_key(cfg: c.Config) -> None:
    text = c.to_toml(cfg)
    lines = text.split("\n")  # TOML lines: \x85 or \u2028 inside a string do not break them
    found = c.key_lines(text)
    for spec in c.KEYS:
        section, name = spec.name.split(".", 1)
        line = found[spec.name]
        assert lines[line - 1].startswith(f"{name} = ")
        header = max(i for i in range(line) if lines[i].startswith("["))
        assert lines[header] == f"[{section}]"


@given(st.lists(names, min_size=1, max_size=5, unique=True), st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Nd"), whitelist_characters=".-\\"), min_size=1, max_size=8))
def test_a_rewrite_function_tabulated_gives_the_same_hosts(sites: list[str], tail: str) -> None:
    from g5kpure.config import resolve_frontend

    def func(site: str) -> str:
        return f"{site}.{tail}"

    from g5k.config import tabulate

    rules = tabulate("frontend.host_rewrite", func, sites).unwrap()
    cfg = c.load(arguments={"frontend.host_rewrite": rules}).unwrap().config
    for site in sites:
        assert resolve_frontend(site, cfg.frontend).unwrap().host == func(site)


@given(st.integers(min_value=1, max_value=20_000), st.sampled_from(["[", "{ a = ", "[{ a = "]),
       st.sampled_from(["[g5k]\napi_uri = ", "x = ", "[frontend]\nhost_rewrite = "]))
def test_parse_toml_is_total_on_deep_nesting(depth: int, opener: str, prefix: str) -> None:
    result = c.parse_toml(prefix + opener * depth, "t")
    assert isinstance(result, Failure) and isinstance(result.failure(), ConfigError)


@given(st.integers(min_value=1, max_value=200_000), st.sampled_from(["[", "(", "-", "not ", "{'a': ", "1+"]))
def test_convert_execo_is_total_on_deep_nesting(depth: int, opener: str) -> None:
    result = c.convert_execo_conf("g5k_configuration = " + opener * depth + "1", "x.py")
    assert isinstance(result, Success | Failure)
    if isinstance(result, Failure):
        assert isinstance(result.failure(), ConfigError)


logins = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,15}", fullmatch=True).filter(
    lambda s: s not in ("null", "Null", "NULL", "y", "Y", "n", "N") and s.lower() not in (
        "yes", "no", "true", "false", "on", "off"))


@given(st.text(alphabet=st.sampled_from(list("username:'\"[]{}#&*!|>- \t\nab1._")), max_size=80))
def test_python_grid5000_reader_gives_only_login_names(value: str) -> None:
    result = c.username_from_python_grid5000(value, "y")
    if isinstance(result, Success):
        for key, got, origin in result.unwrap().entries:
            assert key == "g5k.api_username" and isinstance(got, str)
            assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", got)
            assert origin.line is not None and "username" in value.splitlines()[origin.line - 1]
    else:
        assert result.failure().line is not None


@given(logins, st.sampled_from(["{}", "'{}'", '"{}"', "{}  # comment", "'{}' # c"]), st.integers(0, 3))
def test_python_grid5000_a_login_in_any_quoting_is_read_back(login: str, form: str, indent: int) -> None:
    pad = " " * indent
    text = f"{pad}uri: https://x/\n{pad}username: {form.format(login)}\n{pad}password: p\n"
    layer = c.username_from_python_grid5000(text, "y").unwrap()
    assert layer.entries == (("g5k.api_username", login, c.Origin(c.OriginKind.FILE, "y", 2)),)
