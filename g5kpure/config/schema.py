"""Configuration values: the seed's ``g5k_configuration`` keys, connection settings, where the code runs.

A configuration is built from *layers*, merged in this documented order (later wins):

    defaults  <  files (TOML text, ~/.python-grid5000.yaml username)  <  environment  <  explicit arguments

Every value remembers where it came from (an ``Origin``: default, file and line, environment variable,
argument). Unknown keys and wrong types are ``ConfigError`` values naming the key and the file line. A config
file never executes code: a host rewrite is data (exact names, a regular expression, a suffix); programmatic
users may still pass a callable to ``g5k.config.load_config``, which runs it over the known names and
turns it into rules (the core never calls user code, and never drops a callable: it refuses it as a value).

Differences from execo_g5k (on purpose):
- ``~/.execo.conf.py`` was executed; here TOML is parsed, and an execo file is *converted* by reading its
  dict literals with ``ast`` (``convert_execo_conf``), never run.
- execo let ``oar_job_key_file`` in the file win over ``$OAR_JOB_KEY_FILE``; here the environment beats the
  file, like every other key (one rule for all keys).
- ``api_additional_args`` is a string table (execo 2.8.2 used a dict, its docs a list of "key=value" strings;
  both are accepted, in TOML too).
- execo guessed the site with an unescaped ``.`` in ``grid5000.fr``; ``locate`` matches the domain exactly.
"""

from __future__ import annotations

import ast
import difflib
import enum
import json
import math
import re
import reprlib
import tomllib
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from attrs import evolve, field, frozen
from returns.result import Failure, Result, Success

from g5kpure.config.connection import ConnectionParams, FrontendAccess
from g5kpure.deploy.kadeploy import DEFAULT_CHECK_DEPLOYED_COMMAND
from g5kpure.errors import ConfigError

ACCESS_HOST: Final = "access.grid5000.fr"
DEFAULT_API_URI: Final = "https://api.grid5000.fr/3.0/"
KEYRING_SERVICE: Final = "grid5000_api"



# --------------------------------------------------------------------------------------------------------------
# Where values come from


class OriginKind(enum.Enum):
    """The kind of layer a value came from, weakest first."""

    DEFAULT = "default"
    FILE = "file"
    ENVIRONMENT = "environment"
    ARGUMENT = "argument"


@frozen
class Origin:
    """Where one configuration value came from: its layer kind, the file or variable, and the file line."""

    kind: OriginKind
    where: str = ""
    line: int | None = None

    def describe(self) -> str:
        """A short human description, e.g. ``file ~/.config/g5kpure/config.toml line 3``."""
        if self.kind is OriginKind.DEFAULT:
            return "default"
        text = f"{self.kind.value} {self.where}".rstrip()
        return text + (f" line {self.line}" if self.line is not None else "")


DEFAULT_ORIGIN: Final = Origin(OriginKind.DEFAULT)


# --------------------------------------------------------------------------------------------------------------
# The configuration value


@frozen
class SiteOverride:
    """Per-frontend settings that beat the common [frontend] settings (e.g. a frontend on another host/port)."""

    host: str | None = None
    port: int | None = None
    user: str | None = None
    keyfile: str | None = None
    proxy_jump: str | None = None


FRONTEND_PARAMS: Final = ConnectionParams(host_suffix=".grid5000.fr")
OARSH_PARAMS: Final = ConnectionParams(user="oar", port=6667)


@frozen
class Config:
    """The effective configuration: the seed's ``g5k_configuration`` keys, the frontend connection parameters
    (``frontend``, execo's ``default_frontend_connection_params``: site -> ``SITE.grid5000.fr``), the node
    parameters through OAR's sshd (``oarsh``: user oar, port 6667, the job key) and per-frontend overrides.

    ``frontend.timeout`` and ``oarsh.timeout`` always equal ``default_timeout``."""

    kadeploy3: str = "kadeploy3"
    kadeploy3_options: str = "-k -d"
    default_env_name: str | None = None
    default_env_file: str | None = None
    default_timeout: float = 900.0
    check_deployed_command: str | None = DEFAULT_CHECK_DEPLOYED_COMMAND
    no_ssh_for_local_frontend: bool = False
    polling_interval: float = 20.0
    tiny_polling_interval: float = 10.0
    default_frontend: str | None = None
    api_uri: str = DEFAULT_API_URI
    api_username: str | None = None
    api_additional_args: tuple[tuple[str, str], ...] = ()
    api_timeout: float = 30.0
    api_verify_ssl_cert: bool = True
    oar_job_key_file: str | None = None
    oar_pgsql_ro_db: str = "oar2"
    oar_pgsql_ro_user: str = "oarreader"
    oar_pgsql_ro_password: str = field(default="read", repr=False)
    oar_pgsql_ro_port: int = 5432
    oar_pgsql_ro_host: str = "oardb.{site}.grid5000.fr"
    location: str | None = None
    frontend: ConnectionParams = FRONTEND_PARAMS
    oarsh: ConnectionParams = OARSH_PARAMS
    frontends: tuple[tuple[str, SiteOverride], ...] = ()

    def site_override(self, site: str) -> SiteOverride | None:
        """The per-frontend override of ``site``, if any."""
        for name, override in self.frontends:
            if name == site:
                return override
        return None


DEFAULT_CONFIG: Final = Config()


# --------------------------------------------------------------------------------------------------------------
# The schema: every key, its kind, default, environment variables and meaning


class Kind(enum.Enum):
    """The type of a configuration key."""

    STR = "string"
    OPT_STR = "string (\"\" = unset)"
    SECONDS = "number of seconds > 0"
    BOOL = "boolean"
    PORT = "port number 1-65535"
    OPT_PORT = "port number 1-65535 (\"\" = unset)"
    STR_MAP = "table of strings"
    RULES = "list of [regex, replacement] pairs"


@frozen
class Key:
    """One configuration key: dotted name, kind, environment variables and a one-line meaning."""

    name: str
    kind: Kind
    doc: str
    env: tuple[str, ...] = ()
    secret: bool = False


def _g5k(name: str, kind: Kind, doc: str, *extra_env: str, secret: bool = False) -> Key:
    return Key(f"g5k.{name}", kind, doc, (f"G5K_{name.upper()}", *extra_env), secret)


def _conn(section: str, env_prefix: str) -> tuple[Key, ...]:
    return (
        Key(f"{section}.user", Kind.OPT_STR, "ssh user (unset: ~/.ssh/config or the local user)",
            (f"{env_prefix}_USER",)),
        Key(f"{section}.port", Kind.OPT_PORT, "ssh port (unset: ~/.ssh/config or 22)", (f"{env_prefix}_PORT",)),
        Key(f"{section}.keyfile", Kind.OPT_STR, "private key file (unset: ssh agent / ~/.ssh/config)",
            (f"{env_prefix}_KEYFILE",)),
        Key(f"{section}.proxy_jump", Kind.OPT_STR, "ssh jump host, e.g. access.grid5000.fr from outside (unset: "
            "~/.ssh/config)", (f"{env_prefix}_PROXY_JUMP",)),
        Key(f"{section}.host_suffix", Kind.STR, "appended to a name no host_rewrite rule matches",
            (f"{env_prefix}_HOST_SUFFIX",)),
        Key(f"{section}.host_rewrite", Kind.RULES, "[regex, replacement] rules on the whole name; first match wins"),
        Key(f"{section}.connect_timeout", Kind.SECONDS, "seconds allowed to open an ssh connection",
            (f"{env_prefix}_CONNECT_TIMEOUT",)),
    )


KEYS: Final[tuple[Key, ...]] = (
    _g5k("kadeploy3", Kind.STR, "kadeploy3 command"),
    _g5k("kadeploy3_options", Kind.STR, "kadeploy3 command line options"),
    _g5k("default_env_name", Kind.OPT_STR, "default environment name for deployments"),
    _g5k("default_env_file", Kind.OPT_STR, "default environment file for deployments"),
    _g5k("default_timeout", Kind.SECONDS, "timeout of every call to Grid'5000 services except deployments"),
    _g5k("check_deployed_command", Kind.OPT_STR, "shell command returning 0 on a correctly deployed node"),
    _g5k("no_ssh_for_local_frontend", Kind.BOOL, "run commands of the local site without ssh"),
    _g5k("polling_interval", Kind.SECONDS, "seconds between polls (e.g. waiting for a job start)"),
    _g5k("tiny_polling_interval", Kind.SECONDS, "short poll interval (start date passed, job not running yet)"),
    _g5k("default_frontend", Kind.OPT_STR, "default frontend (site) when none is given"),
    _g5k("api_uri", Kind.STR, "base URI of the Grid'5000 REST API"),
    _g5k("api_username", Kind.OPT_STR, "user name for the API (basic auth, needed from outside Grid'5000)"),
    _g5k("api_additional_args", Kind.STR_MAP, "query arguments added to every API request (e.g. branch)"),
    _g5k("api_timeout", Kind.SECONDS, "timeout of one API request"),
    _g5k("api_verify_ssl_cert", Kind.BOOL, "verify the API's TLS certificate"),
    _g5k("oar_job_key_file", Kind.OPT_STR, "ssh key given to OAR jobs (oarsub -k -i)", "OAR_JOB_KEY_FILE"),
    _g5k("oar_pgsql_ro_db", Kind.STR, "OAR database name"),
    _g5k("oar_pgsql_ro_user", Kind.STR, "OAR database read-only user"),
    _g5k("oar_pgsql_ro_password", Kind.STR, "OAR database read-only password", secret=True),
    _g5k("oar_pgsql_ro_port", Kind.PORT, "OAR database port"),
    _g5k("oar_pgsql_ro_host", Kind.STR, "host of a site's OAR database ({site} is replaced by the site)"),
    _g5k("location", Kind.OPT_STR, "where the code runs: unset (detect), outside, frontend:SITE or node:SITE"),
    *_conn("frontend", "G5K_FRONTEND"),
    *_conn("oarsh", "G5K_OARSH"),
)

KEYS_BY_NAME: Final[Mapping[str, Key]] = {k.name: k for k in KEYS}
SITE_OVERRIDE_FIELDS: Final[Mapping[str, Kind]] = {
    "host": Kind.OPT_STR,
    "port": Kind.OPT_PORT,
    "user": Kind.OPT_STR,
    "keyfile": Kind.OPT_STR,
    "proxy_jump": Kind.OPT_STR,
}
SECTIONS: Final = ("g5k", "frontend", "oarsh", "frontends")
_REWRITE_FIELDS: Final = ("hosts", "pattern", "replacement", "suffix")

Value = str | int | float | bool | None | tuple[tuple[str, str], ...]

_CONN_ATTRS: Final = {"keyfile": "key_filename"}


def _attr_path(key: str) -> tuple[str, str]:
    section, _, name = key.partition(".")
    return section, name


def value_of(config: Config, key: str) -> Value:
    """The value of a dotted key (``g5k.api_uri``, ``frontend.port``, ``frontends.lyon.host``) in ``config``."""
    section, name = _attr_path(key)
    if section == "g5k":
        return getattr(config, name)  # type: ignore[no-any-return]
    if section in ("frontend", "oarsh"):
        return getattr(getattr(config, section), _CONN_ATTRS.get(name, name))  # type: ignore[no-any-return]
    site, _, fld = name.rpartition(".")
    override = config.site_override(site)
    return None if override is None else getattr(override, fld)


def default_of(key: str) -> Value:
    """The default value of a dotted key."""
    return value_of(DEFAULT_CONFIG, key)


# --------------------------------------------------------------------------------------------------------------
# Layers


@frozen
class Layer:
    """A partial configuration: dotted keys with checked values and their origin. Layers merge; later wins."""

    entries: tuple[tuple[str, Value, Origin], ...] = ()
    warnings: tuple[ConfigError, ...] = ()
    """Things worth reporting that did not stop the layer (e.g. an unknown ``G5K_*`` variable)."""

    def keys(self) -> tuple[str, ...]:
        """The dotted keys this layer sets, in order."""
        return tuple(k for k, _, _ in self.entries)

    def get(self, key: str) -> tuple[Value, Origin] | None:
        """The value and origin this layer gives to ``key`` (the last one if set twice)."""
        found: tuple[Value, Origin] | None = None
        for k, v, o in self.entries:
            if k == key:
                found = (v, o)
        return found


EMPTY_LAYER: Final = Layer()


def combine(errors: Iterable[ConfigError]) -> ConfigError:
    """One error for one or more problems: the problem itself, or an error listing each of them (``problems``)."""
    flat: list[ConfigError] = []
    for error in errors:
        flat.extend(error.problems or (error,))
    if not flat:
        raise ValueError("combine() needs at least one error")
    if len(flat) == 1:
        return flat[0]
    sources = {e.source for e in flat}
    keys = ", ".join(dict.fromkeys(e.key for e in flat))
    reason = "; ".join(f"{e.key}" + (f" (line {e.line})" if e.line is not None else "") + f": {e.reason}"
                       for e in flat)
    return ConfigError(keys, reason, sources.pop() if len(sources) == 1 else "", flat[0].line, tuple(flat))


def _all_or_errors(results: Iterable[Result[Layer, ConfigError]]) -> Result[tuple[Layer, ...], ConfigError]:
    """The layers when every result is one, else every error at once."""
    layers: list[Layer] = []
    errors: list[ConfigError] = []
    for result in results:
        if isinstance(result, Failure):
            errors.append(result.failure())
        else:
            layers.append(result.unwrap())
    return Failure(combine(errors)) if errors else Success(tuple(layers))


_REPR: Final = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 80
_REPR.maxother = 80


def _shown(value: object) -> str:
    """A short repr of a value for a message (bounded depth and length, even for deeply nested input)."""
    return _REPR.repr(value)


def _check(key: str, kind: Kind, raw: object, origin: Origin) -> Result[Value, ConfigError]:
    """Check one raw value (from TOML or Python) against its kind."""

    def bad(reason: str) -> Result[Value, ConfigError]:
        return Failure(ConfigError(key, reason, origin.where, origin.line))

    got = type(raw).__name__
    if kind in (Kind.STR, Kind.OPT_STR):
        if raw is None and kind is Kind.OPT_STR:
            return Success(None)
        if not isinstance(raw, str):
            return bad(f"expected a {kind.value}, got {got} {_shown(raw)}")
        return Success(None if kind is Kind.OPT_STR and raw == "" else raw)
    if kind is Kind.SECONDS:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            return bad(f"expected a {kind.value}, got {got} {_shown(raw)}")
        if not math.isfinite(raw) or raw <= 0:
            return bad(f"expected a {kind.value}, got {_shown(raw)}")
        return Success(float(raw))
    if kind is Kind.BOOL:
        if not isinstance(raw, bool):
            return bad(f"expected a boolean (true or false), got {got} {_shown(raw)}")
        return Success(raw)
    if kind in (Kind.PORT, Kind.OPT_PORT):
        if kind is Kind.OPT_PORT and (raw is None or raw == ""):
            return Success(None)
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 65535:
            return bad(f"expected a {kind.value}, got {got} {_shown(raw)}")
        return Success(raw)
    if kind is Kind.STR_MAP:
        return _check_str_map(key, raw, origin)
    return _check_rules(key, raw, origin)


def _check_str_map(key: str, raw: object, origin: Origin) -> Result[Value, ConfigError]:
    """A table of strings; also a list of "key=value" strings (execo's documented form of api_additional_args)."""
    if isinstance(raw, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in raw):
        raw = dict(raw)
    elif isinstance(raw, list | tuple):
        table: dict[str, str] = {}
        for number, item in enumerate(raw, start=1):
            k, sep, v = item.partition("=") if isinstance(item, str) else ("", "", "")
            if not sep or not k:
                return Failure(ConfigError(key, f"item {number}: expected a \"key=value\" string, got "
                                           f"{_shown(item)}", origin.where, origin.line))
            table[k] = v
        raw = table
    if not isinstance(raw, Mapping):
        return Failure(ConfigError(key, f"expected a table of strings, got {type(raw).__name__}", origin.where,
                                   origin.line))
    pairs: list[tuple[str, str]] = []
    for k, v in raw.items():
        if not isinstance(k, str) or not isinstance(v, str):
            return Failure(ConfigError(f"{key}.{k}", f"expected a string, got {type(v).__name__} {_shown(v)}",
                                       origin.where, origin.line))
        pairs.append((k, v))
    return Success(tuple(sorted(pairs)))


def _check_rules(key: str, raw: object, origin: Origin) -> Result[Value, ConfigError]:
    """Host rewrite rules: a list of [regex, replacement] pairs (order kept), or a table regex = replacement."""

    def bad(reason: str) -> Result[Value, ConfigError]:
        return Failure(ConfigError(key, reason, origin.where, origin.line))

    if isinstance(raw, Mapping):
        raw = list(raw.items())
    if not isinstance(raw, list | tuple):
        return bad(f"expected a {Kind.RULES.value}, got {type(raw).__name__} {_shown(raw)}")
    rules: list[tuple[str, str]] = []
    for number, item in enumerate(raw, start=1):
        if (not isinstance(item, list | tuple) or len(item) != 2
                or not all(isinstance(x, str) for x in item)):
            return bad(f"rule {number}: expected [regex, replacement] (two strings), got {_shown(item)}")
        pattern, replacement = str(item[0]), str(item[1])
        try:
            re.sub(pattern, replacement, "")  # compiles the regex and checks the template's group references
        except (re.error, IndexError) as exc:
            return bad(f"rule {number}: invalid regex or replacement {pattern!r} -> {replacement!r}: {exc}")
        rules.append((pattern, replacement))
    return Success(tuple(rules))


def _site_key_ok(site: str) -> bool:
    return bool(site) and not any(c.isspace() or c == "." for c in site)


def layer_from_mapping(values: Mapping[str, object], origin: Origin,
                       lines: Mapping[str, int] | None = None) -> Result[Layer, ConfigError]:
    """Check a nested mapping shaped like the TOML file (``{"g5k": {...}, "frontend": {...}}``) into a layer;
    every wrong key or value is reported (one error listing them all when there are several)."""
    entries: list[tuple[str, Value, Origin]] = []
    errors: list[ConfigError] = []
    line_of = lines or {}

    def at(key: str) -> Origin:
        line = _best_line(line_of, key)
        return Origin(origin.kind, origin.where, line if line is not None else origin.line)

    for section, body in values.items():
        if section not in SECTIONS:
            home = next((k.name for k in KEYS if _attr_path(k.name)[1] == section), None)
            reason = (f"unknown top-level key: write it as {_attr_path(home)[1]} under [{_attr_path(home)[0]}]"
                      if home else f"unknown section; expected one of {', '.join(SECTIONS)}")
            errors.append(ConfigError(section, reason, origin.where, at(section).line))
            continue
        if not isinstance(body, Mapping):
            errors.append(ConfigError(section, f"expected a table, got {type(body).__name__}", origin.where,
                                      at(section).line))
            continue
        if section == "frontends":
            _frontends_entries(body, at, entries, errors)
            continue
        for name, raw in body.items():
            key = f"{section}.{name}"
            spec = KEYS_BY_NAME.get(key)
            if spec is None:
                errors.append(ConfigError(key, f"unknown key; {_suggest(key)}", origin.where, at(key).line))
                continue
            checked = _check(key, spec.kind, raw, at(key))
            if isinstance(checked, Failure):
                errors.append(checked.failure())
                continue
            entries.append((key, checked.unwrap(), at(key)))
    if errors:
        return Failure(combine(errors))
    return Success(Layer(tuple(entries)))


def _frontends_entries(body: Mapping[str, object], at: Callable[[str], Origin],
                       entries: list[tuple[str, Value, Origin]], errors: list[ConfigError]) -> None:
    """Check the [frontends.NAME] tables, adding their entries and their errors."""
    for site, table in body.items():
        base = f"frontends.{site}"
        if not _site_key_ok(site):
            errors.append(ConfigError(base, "a frontend name has no dots or spaces", at(base).where, at(base).line))
            continue
        if not isinstance(table, Mapping):
            errors.append(ConfigError(base, f"expected a table, got {type(table).__name__}", at(base).where,
                                      at(base).line))
            continue
        entries.append((base, None, at(base)))  # declares the frontend, even with no setting of its own
        for name, raw in table.items():
            key = f"{base}.{name}"
            kind = SITE_OVERRIDE_FIELDS.get(name)
            if kind is None:
                errors.append(ConfigError(key, f"unknown key; expected one of {', '.join(SITE_OVERRIDE_FIELDS)}",
                                          at(key).where, at(key).line))
                continue
            checked = _check(key, kind, raw, at(key))
            if isinstance(checked, Failure):
                errors.append(checked.failure())
                continue
            entries.append((key, checked.unwrap(), at(key)))


def _suggest(key: str) -> str:
    section, name = _attr_path(key)
    known = [_attr_path(k.name)[1] for k in KEYS if k.name.startswith(section + ".")]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    if close:
        return f"did you mean '{section}.{close[0]}'?"
    return f"known keys of [{section}]: {', '.join(known)}"


# --------------------------------------------------------------------------------------------------------------
# TOML text


_BARE = re.compile(r"[A-Za-z0-9_-]+")
_LINE_NO = re.compile(r"at line (\d+)")


def parse_toml(text: str, source: str = "") -> Result[Layer, ConfigError]:
    """Parse configuration TOML text into a layer; errors name the key and the line in ``source``."""
    origin = Origin(OriginKind.FILE, source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _LINE_NO.search(str(exc))
        line = int(found.group(1)) if found else None
        return Failure(ConfigError("(syntax)", f"invalid TOML: {exc}", source, line))
    except (RecursionError, MemoryError) as exc:  # tomllib recurses once per nested array or inline table
        return Failure(ConfigError("(syntax)", f"TOML nested too deeply to read ({type(exc).__name__}); a "
                                   "configuration needs at most two levels of arrays", source))
    return layer_from_mapping(data, origin, key_lines(text))


def _best_line(lines: Mapping[str, int], key: str) -> int | None:
    parts = key.split(".")
    while parts:
        found = lines.get(".".join(parts))
        if found is not None:
            return found
        parts.pop()
    return None


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_KEY_PART = re.compile(r"""\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*""")


def _split_key(text: str) -> tuple[tuple[str, ...], str] | None:
    """Split a TOML dotted key at the start of ``text``; return the parts and the rest of the text."""
    parts: list[str] = []
    pos = 0
    while True:
        m = _KEY_PART.match(text, pos)
        if m is None or m.end() == pos:
            return None
        bare, basic, literal = m.groups()
        if basic is not None:
            try:
                basic = json.loads(f'"{basic}"')
            except ValueError:
                return None
        part = bare if bare is not None else basic if basic is not None else literal
        parts.append(str(part))
        pos = m.end()
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        return tuple(parts), text[pos:]


def key_lines(text: str) -> dict[str, int]:
    """The 1-based line where each dotted key (or table header) is defined in TOML text (best effort)."""
    lines: dict[str, int] = {}
    table: tuple[str, ...] = ()
    in_multiline: str | None = None
    for number, raw in enumerate(_LINE_BREAK.split(text), start=1):  # TOML breaks lines at \n only (not at \x85)
        line = raw.strip()
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            inner = line[2:] if line.startswith("[[") else line[1:]
            split = _split_key(inner)
            if split is not None:
                table = split[0]
                lines.setdefault(".".join(table), number)
            continue
        split = _split_key(line)
        if split is None or not split[1].startswith("="):
            continue
        parts, rest = split
        full = (*table, *parts)
        lines.setdefault(".".join(full), number)
        value = rest[1:].strip()
        for quote in ('"""', "'''"):
            if value.startswith(quote) and value.count(quote) == 1:
                in_multiline = quote
        if value.startswith("{"):
            for m in re.finditer(r"(?:^|[{,])\s*([A-Za-z0-9_-]+)\s*=", value):
                lines.setdefault(".".join((*full, m.group(1))), number)
    return lines


_TOML_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
                         "\r": "\\r"}


def toml_string(text: str) -> str:
    """A TOML basic string literal for ``text`` (control characters escaped, other characters kept)."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(name: str) -> str:
    """A TOML key: bare when possible, quoted otherwise."""
    return name if _BARE.fullmatch(name) else toml_string(name)


def _toml_value(value: Value, kind: Kind | None = None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if value is None:
        return '""'
    if kind is Kind.RULES:
        return "[" + ", ".join(f"[{toml_string(p)}, {toml_string(r)}]" for p, r in value) + "]"
    inner = ", ".join(f"{toml_key(k)} = {toml_string(v)}" for k, v in value)
    return "{ " + inner + " }" if inner else "{}"


def to_toml(config: Config) -> str:
    """TOML text that parses back to ``config``."""
    out: list[str] = []
    section = ""
    for spec in KEYS:
        sec, name = _attr_path(spec.name)
        value = value_of(config, spec.name)
        if sec != section:
            out.append(("\n" if out else "") + f"[{sec}]")
            section = sec
        out.append(f"{name} = {_toml_value(value, spec.kind)}")
    for site, override in config.frontends:
        fields = [(n, getattr(override, n)) for n in SITE_OVERRIDE_FIELDS if getattr(override, n) is not None]
        out.append(f"\n[frontends.{toml_key(site)}]")
        out.extend(f"{n} = {_toml_value(v)}" for n, v in fields)
    return "\n".join(out) + "\n"


def init_template() -> str:
    """The commented configuration file written by ``g5k config init``: every key, commented out, with its
    default and meaning; parsing it gives the defaults."""
    out = [
        "# g5kpure configuration (TOML). Every key is optional; uncomment to change a default.",
        "# Precedence: defaults < this file < environment variables < explicit arguments.",
        "# `g5k config show` prints the effective values and where each came from; `g5k doctor` checks them.",
        "# Passwords do not belong here: the API password is kept in the system keyring.",
    ]
    section = ""
    for spec in KEYS:
        sec, name = _attr_path(spec.name)
        if sec != section:
            out.append("")
            out.append(f"[{sec}]")
            section = sec
        value = default_of(spec.name)
        env = f" (env: {', '.join(spec.env)})" if spec.env else ""
        out.append(f"# {spec.doc}{env}")
        shown = "" if value is None and spec.kind is Kind.OPT_PORT else _toml_value(value, spec.kind)
        out.append(f"# {name} = {shown}" if shown else f"# {name} =")
    out += [
        "",
        "# Host rewrite rules are data, e.g. reach every site through ssh aliases *.g5k:",
        '# host_rewrite = [["(.*)", "\\\\1.g5k"]]',
        "",
        "# Per-frontend settings beat [frontend] (e.g. a frontend reached on another host or port):",
        "# [frontends.lyon]",
        '# host = "lyon.grid5000.fr"',
        "# port = 22",
        "",
        "# From outside Grid'5000 (ssh through access.grid5000.fr, API over HTTPS with basic auth):",
        "# [g5k]",
        '# api_username = "your_login"',
        "# [frontend]",
        '# user = "your_login"',
        '# proxy_jump = "access.grid5000.fr"',
    ]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------------------
# Environment and explicit arguments


_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def env_variables() -> tuple[tuple[str, str], ...]:
    """Every environment variable read, with the dotted key it sets."""
    return tuple((var, k.name) for k in KEYS for var in k.env)


def _from_env_text(spec: Key, var: str, text: str) -> Result[Value, ConfigError]:
    origin = Origin(OriginKind.ENVIRONMENT, var)

    def bad(reason: str) -> Result[Value, ConfigError]:
        return Failure(ConfigError(spec.name, f"${var}={text!r}: {reason}", f"${var}"))

    raw: object = text
    if spec.kind is Kind.SECONDS:
        try:
            raw = float(text)
        except ValueError:
            return bad(f"expected a {spec.kind.value}")
    elif spec.kind in (Kind.PORT, Kind.OPT_PORT):
        if text.strip() == "" and spec.kind is Kind.OPT_PORT:
            raw = None
        elif not re.fullmatch(r"[0-9]+", text.strip(" \t")):
            return bad(f"expected a {spec.kind.value}")
        else:
            raw = int(text.strip(" \t"))
    elif spec.kind is Kind.BOOL:
        low = text.strip().lower()
        if low not in _TRUE | _FALSE:
            return bad("expected one of 1/true/yes/on or 0/false/no/off")
        raw = low in _TRUE
    elif spec.kind is Kind.STR_MAP:
        pairs = {}
        for item in (p for p in text.split("&") if p):
            k, sep, v = item.partition("=")
            if not sep or not k:
                return bad("expected key=value pairs separated by &")
            pairs[k] = v
        raw = pairs
    checked = _check(spec.name, spec.kind, raw, origin)
    if isinstance(checked, Failure):
        return bad(checked.failure().reason)
    return checked


OTHER_VARIABLES: Final[Mapping[str, str]] = {
    "G5K_CONFIG": "the configuration file to read",
    "G5K_CACHE_DIR": "the directory of the reference cache",
    "G5K_EXECO_PYTHON": "the python with execo used by the benchmarks",
}
"""``G5K_*`` variables read elsewhere than the configuration layers (not reported as unknown)."""


def parse_env(env: Mapping[str, str]) -> Result[Layer, ConfigError]:
    """The layer given by environment variables (``G5K_API_USERNAME``, ``OAR_JOB_KEY_FILE``, ...).

    A known variable with a bad value is an error naming it (all of them are reported, not only the first). An
    unknown ``G5K_*`` variable (a typo such as ``G5K_API_USERNAM``) is a warning of the layer, with the closest
    known variable; other variables are unrelated and ignored. When both ``G5K_OAR_JOB_KEY_FILE`` and
    ``OAR_JOB_KEY_FILE`` are set, the first (ours) wins."""
    entries: list[tuple[str, Value, Origin]] = []
    errors: list[ConfigError] = []
    for spec in KEYS:
        for var in spec.env:
            if var in env:
                checked = _from_env_text(spec, var, env[var])
                if isinstance(checked, Failure):
                    errors.append(checked.failure())
                else:
                    entries.append((spec.name, checked.unwrap(), Origin(OriginKind.ENVIRONMENT, var)))
                break
    if errors:
        return Failure(combine(errors))
    known = [var for var, _ in env_variables()] + list(OTHER_VARIABLES)
    warnings = tuple(_unknown_variable(var, known) for var in sorted(env)
                     if var.startswith("G5K_") and var not in known)
    return Success(Layer(tuple(entries), warnings))


def _unknown_variable(var: str, known: list[str]) -> ConfigError:
    tails = {name.removeprefix("G5K_"): name for name in known}
    close = difflib.get_close_matches(var.removeprefix("G5K_"), list(tails), n=1, cutoff=0.75)
    hint = f"did you mean ${tails[close[0]]}?" if close else "`g5k config init` lists the variables read"
    return ConfigError("(environment)", f"not a g5kpure variable, ignored; {hint}", f"${var}")


def warning_text(warning: ConfigError) -> str:
    """One line for a warning: where (variable, or file and line), the key when it says more, and why."""
    where = warning.source + (f" line {warning.line}" if warning.line is not None else "")
    key = "" if warning.key.startswith("(") else f"{warning.key}: "
    return f"{where}: {key}{warning.reason}" if where else f"{key}{warning.reason}"


def rules_from_table(key: str, table: Iterable[tuple[str, object]]) -> Result[tuple[tuple[str, str], ...],
                                                                             ConfigError]:
    """Host rewrite rules matching exactly each name of ``(name, host)`` pairs (e.g. a programmatic rewrite
    function tabulated by the adapter); a host that is not a host name is an error naming the name."""
    rules: list[tuple[str, str]] = []
    errors: list[ConfigError] = []
    for name, host in sorted(dict(table).items()):
        if not isinstance(host, str) or not host or host.startswith("-") or any(ch.isspace() for ch in host):
            errors.append(ConfigError(key, f"the rewrite function gave {_shown(host)} for {name!r}; expected a "
                                      "host name", "(argument)"))
            continue
        rules.append((re.escape(name), host.replace("\\", "\\\\")))
    return Failure(combine(errors)) if errors else Success(tuple(rules))


def layer_from_arguments(values: Mapping[str, object], where: str = "") -> Result[Layer, ConfigError]:
    """The layer of explicit arguments, by dotted key (``{"g5k.api_username": "me"}``).

    The values are data: a function given as ``frontend.host_rewrite`` / ``oarsh.host_rewrite`` is an error
    here (never dropped); ``g5k.config.load_config`` accepts one and tabulates it over the known names
    into rules (``rules_from_table``) before calling this."""
    nested: dict[str, dict[str, object]] = {}
    errors: list[ConfigError] = []
    for key, raw in values.items():
        section, _, name = key.partition(".")
        if not name:
            errors.append(ConfigError(key, "expected a dotted key such as 'g5k.api_uri'", where))
            continue
        if callable(raw):
            errors.append(ConfigError(key, "a function is not a configuration value; for a host rewrite give "
                                      "[regex, replacement] rules, or give the function to "
                                      "g5k.config.load_config, which tabulates it over the known names",
                                      where))
            continue
        if section == "frontends":
            site, _, fld = name.rpartition(".")
            table = nested.setdefault("frontends", {}).setdefault(site, {})
            table[fld] = raw  # type: ignore[index]
        else:
            nested.setdefault(section, {})[name] = raw
    mapped = layer_from_mapping(nested, Origin(OriginKind.ARGUMENT, where))
    if errors:
        return Failure(combine(errors + ([mapped.failure()] if isinstance(mapped, Failure) else [])))
    return mapped


# --------------------------------------------------------------------------------------------------------------
# ~/.python-grid5000.yaml (username only)


_YAML_KEY = re.compile(r"""(?:username|"username"|'username')[ \t]*:(?=[ \t]|$)""")
_YAML_MENTION = re.compile(r"""(?:^|[\s{,\-?])["']?username["']?[ \t]*:(?:[ \t]|$)""")
_YAML_NULL: Final = frozenset({"", "~", "null", "Null", "NULL"})
_YAML_BOOL: Final = frozenset(w for b in ("y", "yes", "n", "no", "true", "false", "on", "off")
                              for w in (b, b.capitalize(), b.upper()))
_LOGIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


def _yaml_scalar(rest: str) -> tuple[str | None, str]:
    """The text of the one-line YAML scalar ``rest`` (after ``key:``) and ``""``, or ``None`` and why not."""
    rest = rest.strip(" \t")
    if rest.startswith('"'):
        m = re.match(r'"((?:[^"\\]|\\.)*)"[ \t]*(?:#.*)?$', rest)
        if m is None:
            return None, "a double-quoted value must close on the same line (nothing after it but a comment)"
        try:
            return str(json.loads(f'"{m.group(1)}"')), ""
        except ValueError:
            return None, "an escape sequence we do not read; write the name without escapes"
    if rest.startswith("'"):
        m = re.match(r"'((?:[^']|'')*)'[ \t]*(?:#.*)?$", rest)
        if m is None:
            return None, "a single-quoted value must close on the same line (nothing after it but a comment)"
        return m.group(1).replace("''", "'"), ""
    plain = re.sub(r"(?:^|[ \t])#.*$", "", rest).rstrip(" \t")
    if plain[:1] in ("[", "{"):
        return None, "a list or mapping, not a name"
    if plain[:1] in ("&", "*", "!", "|", ">", "%", "@", "`") or plain.startswith(("- ", "? ", ": ")):
        return None, "YAML syntax (anchor, alias, tag, block scalar or indicator), not a plain name"
    if ": " in plain or plain.endswith(":"):
        return None, "a nested mapping, not a name"
    return plain, ""


def username_from_python_grid5000(text: str, source: str = "") -> Result[Layer, ConfigError]:
    """The ``api_username`` layer given by the top-level ``username:`` entry of a python-grid5000 YAML file.

    Only a one-line scalar (plain, 'single' or "double" quoted) that is a login name (letters, digits, ``.``,
    ``_``, ``-``) is taken; anything else there (a list, a mapping, an alias, a boolean, several words, a second
    ``username``) is an error naming the line. A ``username`` that is not a top-level entry (nested, in a flow
    mapping) is not read and is reported as a warning of the layer. The password such files may hold is never
    read into our values."""

    def bad(number: int, reason: str) -> Result[Layer, ConfigError]:
        return Failure(ConfigError("username", reason, source, number))

    lines = text.removeprefix("\ufeff").splitlines()
    content = [(n, raw) for n, raw in enumerate(lines, start=1)
               if raw.strip(" \t") and not raw.strip(" \t").startswith("#")
               and raw.rstrip(" \t") not in ("---", "...") and not raw.startswith("%")]
    root = len(content[0][1]) - len(content[0][1].lstrip(" ")) if content else 0
    found: tuple[int, str] | None = None
    mentions: list[int] = []
    for index, (number, raw) in enumerate(content):
        indent = len(raw) - len(raw.lstrip(" "))
        body = raw[indent:]
        top = indent == root and not body.startswith("\t")
        key = _YAML_KEY.match(body) if top else None
        if key is None:
            if _YAML_MENTION.search(raw):
                mentions.append(number)
            continue
        if found is not None:
            return bad(number, f"a second top-level 'username' (the first is on line {found[0]})")
        following = content[index + 1][1] if index + 1 < len(content) else ""
        continued = len(following) - len(following.lstrip(" \t")) > root
        value, why = _yaml_scalar(body[key.end():])
        if value is None:
            return bad(number, f"expected 'username: LOGIN', got {why}")
        if continued:
            return bad(number, "expected 'username: LOGIN' on one line, got a value continued on the next lines "
                       "(a nested mapping, a list or a multi-line text)")
        plain = not body[key.end():].strip(" \t").startswith(("'", '"'))
        if plain and value in _YAML_NULL:
            found = (number, "")
            continue
        if plain and value in _YAML_BOOL:
            return bad(number, f"expected a login name, got the YAML boolean {value}; quote it if it is your login")
        if not _LOGIN.fullmatch(value):
            return bad(number, f"expected a login name (letters, digits, '.', '_', '-'), got {_shown(value)}")
        found = (number, value)
    warnings: tuple[ConfigError, ...] = ()
    if found is None and mentions:
        warnings = tuple(ConfigError("username", "not a top-level 'username:' entry, so not read (python-grid5000 "
                                     "reads only the top-level one); move it to the top level to use it",
                                     source, n) for n in mentions)
    if found is None or not found[1]:
        return Success(Layer((), warnings))
    origin = Origin(OriginKind.FILE, source, found[0])
    return Success(Layer((("g5k.api_username", found[1], origin),)))


# --------------------------------------------------------------------------------------------------------------
# Merging


@frozen
class Resolved:
    """A configuration with the origin of every key (defaults included) and the warnings met on the way."""

    config: Config
    origins: tuple[tuple[str, Origin], ...]
    warnings: tuple[ConfigError, ...] = ()
    """What the layers reported without failing (unknown variables, entries skipped), to be shown to the user."""

    def origin(self, key: str) -> Origin:
        """Where ``key``'s value came from."""
        for k, o in self.origins:
            if k == key:
                return o
        return DEFAULT_ORIGIN

    def rows(self) -> tuple[ShownValue, ...]:
        """Every key with its value (secrets masked) and origin, for display."""
        out: list[ShownValue] = []
        for key, origin in self.origins:
            spec = KEYS_BY_NAME.get(key)
            value = value_of(self.config, key)
            secret = spec.secret if spec is not None else False
            kind = spec.kind if spec is not None else None
            out.append(ShownValue(key, _display(value, secret, kind), origin, secret))
        return tuple(out)


@frozen
class ShownValue:
    """One row of ``g5k config show``: key, displayed value (secrets masked), origin."""

    key: str
    shown: str
    origin: Origin
    secret: bool = False


def _display(value: Value, secret: bool, kind: Kind | None) -> str:
    if secret and value:
        return "********"
    if value is None:
        return "(unset)"
    return _toml_value(value, kind)


def resolve(*layers: Layer) -> Result[Resolved, ConfigError]:
    """Merge layers over the defaults (later layers win) and check the whole; keep each value's origin and the
    layers' warnings."""
    values: dict[str, tuple[Value, Origin]] = {}
    for layer in layers:
        for key, value, origin in layer.entries:
            values[key] = (value, origin)

    def pick(key: str) -> Value:
        got = values.get(key)
        return got[0] if got is not None else default_of(key)

    def conn(section: str) -> ConnectionParams:
        return ConnectionParams(
            user=pick(f"{section}.user"),  # type: ignore[arg-type]
            port=pick(f"{section}.port"),  # type: ignore[arg-type]
            key_filename=pick(f"{section}.keyfile"),  # type: ignore[arg-type]
            host_suffix=pick(f"{section}.host_suffix"),  # type: ignore[arg-type]
            host_rewrite=pick(f"{section}.host_rewrite"),
            proxy_jump=pick(f"{section}.proxy_jump"),  # type: ignore[arg-type]
            timeout=pick("g5k.default_timeout"),  # type: ignore[arg-type]
            connect_timeout=pick(f"{section}.connect_timeout"),  # type: ignore[arg-type]
        )

    sites = sorted({k.split(".")[1] for k in values if k.startswith("frontends.")})
    frontends = tuple(
        (site, SiteOverride(**{f: values[f"frontends.{site}.{f}"][0] for f in SITE_OVERRIDE_FIELDS
                               if f"frontends.{site}.{f}" in values}))  # type: ignore[arg-type]
        for site in sites
    )
    g5k = {_attr_path(k.name)[1]: pick(k.name) for k in KEYS if k.name.startswith("g5k.")}
    config = Config(**g5k, frontend=conn("frontend"), oarsh=conn("oarsh"), frontends=frontends)  # type: ignore[arg-type]
    errors: list[ConfigError] = []
    if config.default_env_name is not None and config.default_env_file is not None:
        origin = values.get("g5k.default_env_file", (None, DEFAULT_ORIGIN))[1]
        errors.append(ConfigError("g5k.default_env_file", "both default_env_name and default_env_file are set; "
                                  "keep only one", origin.where, origin.line))
    if config.location is not None:
        located = parse_location(config.location)
        if isinstance(located, Failure):
            origin = values.get("g5k.location", (None, DEFAULT_ORIGIN))[1]
            errors.append(ConfigError("g5k.location", located.failure().reason, origin.where, origin.line))
    if errors:
        return Failure(combine(errors))
    keys = [k.name for k in KEYS] + [f"frontends.{s}.{f}" for s in sites for f in SITE_OVERRIDE_FIELDS
                                     if f"frontends.{s}.{f}" in values]
    origins = tuple((k, values[k][1] if k in values else DEFAULT_ORIGIN) for k in keys)
    return Success(Resolved(config, origins, tuple(w for layer in layers for w in layer.warnings)))


def load(*, toml_text: str | None = None, toml_source: str = "", env: Mapping[str, str] | None = None,
         arguments: Mapping[str, object] | None = None,
         python_grid5000_yaml: str | None = None, yaml_source: str = "") -> Result[Resolved, ConfigError]:
    """Build the configuration from the texts and environment given: defaults < python-grid5000 username <
    TOML file < environment < arguments. The problems of every layer are reported together."""
    results: list[Result[Layer, ConfigError]] = []
    if python_grid5000_yaml is not None:
        results.append(username_from_python_grid5000(python_grid5000_yaml, yaml_source))
    if toml_text is not None:
        results.append(parse_toml(toml_text, toml_source))
    if env is not None:
        results.append(parse_env(env))
    if arguments is not None:
        results.append(layer_from_arguments(arguments))
    return _all_or_errors(results).bind(lambda layers: resolve(*layers))


# --------------------------------------------------------------------------------------------------------------
# Where the code runs


class Place(enum.Enum):
    """Where the code runs, as far as Grid'5000 is concerned."""

    FRONTEND = "frontend"
    NODE = "node"
    OUTSIDE = "outside"


@frozen
class Location:
    """Where the code runs (frontend of a site, a Grid'5000 node of a site, or outside) and why we think so."""

    place: Place
    site: str | None = None
    reason: str = ""

    def describe(self) -> str:
        """E.g. ``frontend of rennes``, ``Grid'5000 node of lyon``, ``outside Grid'5000``."""
        if self.place is Place.FRONTEND:
            return f"frontend of {self.site}"
        if self.place is Place.NODE:
            return f"Grid'5000 node of {self.site}"
        return "outside Grid'5000"


_G5K_HOST = re.compile(r"^(?P<host>[^.\s]+)\.(?P<site>[^.\s]+)\.grid5000\.fr\.?$")
_JOB_VARS: Final = ("OAR_JOB_ID", "OAR_NODEFILE", "OAR_NODE_FILE")


def parse_location(text: str) -> Result[Location, ConfigError]:
    """Parse a forced location: ``outside``, ``frontend:SITE`` or ``node:SITE``."""
    place, _, site = text.strip().partition(":")
    if place == "outside" and not site:
        return Success(Location(Place.OUTSIDE, None, "set in the configuration"))
    if place in ("frontend", "node") and site and _site_key_ok(site):
        return Success(Location(Place(place), site, "set in the configuration"))
    return Failure(ConfigError("g5k.location", f"{text!r} is not one of outside, frontend:SITE, node:SITE"))


def locate(hostname: str, domain: str = "", env: Mapping[str, str] | None = None,
           forced: str | None = None) -> Result[Location, ConfigError]:
    """Where the code runs, from facts: host name, DNS domain, environment (``OAR_JOB_ID`` & co mark a job's
    node), or ``forced`` (the ``g5k.location`` setting) which wins over the facts.

    A Grid'5000 host is ``NAME.SITE.grid5000.fr``; ``fSITE`` and ``frontend`` are frontends, anything else
    there is a node. Unlike execo's regular expression, the dots of ``grid5000.fr`` are matched literally."""
    if forced is not None:
        return parse_location(forced)
    environ = env or {}
    host = hostname.strip().lower()
    fqdn = host if "." in host or not domain else f"{host}.{domain.strip().lower().strip('.')}"
    m = _G5K_HOST.match(fqdn)
    if m is None:
        return Success(Location(Place.OUTSIDE, None, f"host {fqdn or '(unknown)'} is not NAME.SITE.grid5000.fr"))
    name, site = m.group("host"), m.group("site")
    in_job = [v for v in _JOB_VARS if environ.get(v)]
    if (name == f"f{site}" or name == "frontend") and not in_job:
        return Success(Location(Place.FRONTEND, site, f"host {fqdn} is the frontend of {site}"))
    why = f"${in_job[0]} is set" if in_job else f"host {fqdn} is not a frontend name"
    return Success(Location(Place.NODE, site, f"{why}: a node of {site}"))


@frozen
class ApiAccess:
    """How to talk to the API from here: endpoint, user (``None`` = anonymous) and why."""

    uri: str
    username: str | None
    reason: str
    problem: str = ""


def api_access(config: Config, location: Location) -> ApiAccess:
    """Decide the API endpoint and credentials for ``location``: basic auth from outside (a user name is then
    required), no credentials inside unless a user name is configured."""
    uri = config.api_uri
    if config.api_username is not None:
        return ApiAccess(uri, config.api_username, "basic auth with the configured user (password from keyring)")
    if location.place is Place.OUTSIDE:
        return ApiAccess(uri, None, "anonymous", problem="from outside Grid'5000 the API needs basic auth: set "
                         "g5k.api_username (or $G5K_API_USERNAME) and store the password in the keyring")
    if location.place is Place.NODE:
        return ApiAccess(uri, None, "anonymous: reads need no credentials on a node; writes (jobs, deployments) "
                         "from a node may be refused (403) without them: set g5k.api_username")
    return ApiAccess(uri, None, "anonymous: no credentials needed on a frontend inside Grid'5000")


def default_frontend(config: Config, location: Location) -> str | None:
    """The frontend used when none is given: the configured one, else the site we run on, else none."""
    return config.default_frontend or location.site


def runs_locally(config: Config, location: Location, site: str) -> bool:
    """True when commands for ``site`` run here without ssh (on that site's frontend, with
    ``no_ssh_for_local_frontend``)."""
    return config.no_ssh_for_local_frontend and location.place is Place.FRONTEND and location.site == site


def frontend_params(config: Config, site: str) -> ConnectionParams:
    """Connection parameters for ``site``'s frontend: [frontend] with the [frontends.SITE] override applied."""
    over = config.site_override(site)
    base = config.frontend
    if over is None:
        return base
    rules = base.host_rewrite
    if over.host is not None:
        rules = ((re.escape(site), over.host.replace("\\", "\\\\")), *rules)
    return evolve(
        base,
        user=over.user if over.user is not None else base.user,
        port=over.port if over.port is not None else base.port,
        key_filename=over.keyfile if over.keyfile is not None else base.key_filename,
        proxy_jump=over.proxy_jump if over.proxy_jump is not None else base.proxy_jump,
        host_rewrite=rules,
    )


def frontend_access(config: Config, location: Location) -> FrontendAccess:
    """Everything the ssh layer needs to place frontend commands from ``location``: common and per-frontend
    parameters, the default frontend, and the frontend whose commands run here without ssh."""
    here = location.site
    local = here if here is not None and runs_locally(config, location, here) else None
    return FrontendAccess(
        params=config.frontend,
        per_frontend=tuple((site, frontend_params(config, site)) for site, _ in config.frontends),
        default_frontend=default_frontend(config, location),
        local_frontend=local,
    )


def node_params(config: Config) -> ConnectionParams:
    """Connection parameters for a job's nodes through OAR's sshd (user oar, port 6667); the key is
    ``oarsh.keyfile``, else ``oar_job_key_file``."""
    if config.oarsh.key_filename is not None:
        return config.oarsh
    return evolve(config.oarsh, key_filename=config.oar_job_key_file)


def configured_frontends(config: Config, location: Location) -> tuple[str, ...]:
    """The frontends named by the configuration: the default one and every per-site entry, sorted, unique."""
    names = {site for site, _ in config.frontends}
    first = default_frontend(config, location)
    if first:
        names.add(first)
    return tuple(sorted(names))


# --------------------------------------------------------------------------------------------------------------
# ~/.execo.conf.py conversion (read with ast, never executed)


@frozen
class ExecoImport:
    """The result of converting an execo configuration file: the layer, and what could not be converted."""

    layer: Layer
    notes: tuple[str, ...]


_EXECO_DICTS: Final = {
    "g5k_configuration": "g5k",
    "default_frontend_connection_params": "frontend",
    "default_oarsh_oarcp_params": "oarsh",
    "default_connection_params": "oarsh",
}
_CONN_KEYS: Final = {"user": "user", "port": "port", "keyfile": "keyfile"}
_IGNORED_CONN: Final = {
    "pty": "we allocate no pty unless a command needs one",
    "ssh": "we connect with fabric, not an ssh command",
    "scp": "we copy with fabric, not an scp command",
    "taktuk_connector": "taktuk is not used",
    "taktuk_gateway": "taktuk is not used; set proxy_jump for a jump host",
    "taktuk_options": "taktuk is not used",
    "ssh_options": "put ssh options in ~/.ssh/config",
    "scp_options": "put ssh options in ~/.ssh/config",
    "nolocalhost": "not applicable",
}


def convert_execo_conf(text: str, source: str = "~/.execo.conf.py") -> Result[ExecoImport, ConfigError]:
    """Convert the dict literals of an execo configuration file by reading them with ``ast`` (never running
    the file). Host rewrite lambdas of the two documented shapes (``host + SUFFIX``, ``re.sub(P, R, host)``)
    become data. ``notes`` has one line per thing worth knowing, each starting with its line number and saying
    ``converted:`` or ``not converted:`` (with the reason) or ``skipped`` (any other statement, never run)."""
    try:
        with warnings.catch_warnings():  # invalid escapes such as "\.grid5000" are common in these files
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=source)
    except SyntaxError as exc:
        return Failure(ConfigError("(syntax)", f"not valid Python: {exc.msg}", source, exc.lineno))
    except ValueError as exc:  # e.g. a NUL byte in the text
        return Failure(ConfigError("(syntax)", f"not valid Python: {exc}", source))
    except (RecursionError, MemoryError) as exc:  # the parser gives up on deeply nested expressions
        return Failure(ConfigError("(syntax)", f"expressions nested too deeply to read ({type(exc).__name__})",
                                   source))
    entries: list[tuple[str, Value, Origin]] = []
    notes: list[str] = []
    for stmt in tree.body:
        items = _execo_items(stmt)
        if items is None:
            notes.append(f"line {stmt.lineno}: skipped {_statement_text(text, stmt)}: only the execo dicts are "
                         "read, nothing is run")
            continue
        dict_name, pairs = items
        section = _EXECO_DICTS[dict_name]
        for key_node, value_node in pairs:
            _convert_item(dict_name, section, key_node, value_node, source, entries, notes)
    layer = Layer(tuple(entries))
    checked = resolve(layer)
    if isinstance(checked, Failure):
        return Failure(checked.failure())
    return Success(ExecoImport(layer, tuple(notes)))


def _statement_text(text: str, stmt: ast.stmt) -> str:
    """The first line of a statement's source, shortened, for a note."""
    lines = _LINE_BREAK.split(text)
    first = lines[stmt.lineno - 1].strip() if 0 < stmt.lineno <= len(lines) else type(stmt).__name__
    more = stmt.end_lineno is not None and stmt.end_lineno > stmt.lineno
    return repr(first[:60] + ("..." if len(first) > 60 or more else ""))


def _execo_items(stmt: ast.stmt) -> tuple[str, list[tuple[ast.expr | None, ast.expr]]] | None:
    """The (dict name, key/value nodes) of ``NAME = {...}``, ``NAME.update({...})`` or ``NAME['k'] = v``."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
        if isinstance(target, ast.Name) and target.id in _EXECO_DICTS:
            if isinstance(stmt.value, ast.Dict):
                return target.id, list(zip(stmt.value.keys, stmt.value.values, strict=True))
            return None
        if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                and target.value.id in _EXECO_DICTS):
            return target.value.id, [(target.slice, stmt.value)]
    if (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "update"
            and isinstance(stmt.value.func.value, ast.Name) and stmt.value.func.value.id in _EXECO_DICTS
            and len(stmt.value.args) == 1 and isinstance(stmt.value.args[0], ast.Dict)):
        d = stmt.value.args[0]
        return stmt.value.func.value.id, list(zip(d.keys, d.values, strict=True))
    return None


def _convert_item(dict_name: str, section: str, key_node: ast.expr | None, value_node: ast.expr, source: str,
                  entries: list[tuple[str, Value, Origin]], notes: list[str]) -> None:
    line = value_node.lineno
    origin = Origin(OriginKind.FILE, source, line)
    if not isinstance(key_node, ast.Constant) or not isinstance(key_node.value, str):
        notes.append(f"line {line}: not converted: {dict_name} has a key that is not a string literal")
        return
    key = key_node.value
    if key == "host_rewrite_func":
        rewrite = _rewrite_from_lambda(value_node)
        if rewrite is None:
            notes.append(f"line {line}: not converted: {dict_name}['host_rewrite_func'] is code, which we never "
                         f"run; write it as data in [{section}]: host_rewrite = [[regex, replacement]] and/or "
                         "host_suffix")
        else:
            suffix, rules = rewrite
            entries.append((f"{section}.host_suffix", suffix, origin))
            entries.append((f"{section}.host_rewrite", rules, origin))
            if dict_name == "default_connection_params":
                notes.append(f"line {line}: converted: default_connection_params['host_rewrite_func'] became "
                             "[oarsh] host_rewrite / host_suffix (execo applied it to every host; here it applies "
                             "to job nodes)")
        return
    if dict_name == "default_connection_params":
        notes.append(f"line {line}: not converted: default_connection_params[{_shown(key)}] (execo's settings for "
                     "every host); only its host_rewrite_func is used, for job nodes")
        return
    try:
        value = ast.literal_eval(value_node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        notes.append(f"line {line}: not converted: {dict_name}[{_shown(key)}] is not a literal value")
        return
    if section == "g5k":
        _convert_g5k(key, value, origin, entries, notes)
        return
    if key in _IGNORED_CONN:
        notes.append(f"line {line}: not converted: {dict_name}[{_shown(key)}]: {_IGNORED_CONN[key]}")
        return
    if key not in _CONN_KEYS:
        notes.append(f"line {line}: not converted: {dict_name}[{_shown(key)}] has no equivalent here")
        return
    _add_checked(f"{section}.{_CONN_KEYS[key]}", value, origin, entries, notes)


def _convert_g5k(key: str, value: object, origin: Origin, entries: list[tuple[str, Value, Origin]],
                 notes: list[str]) -> None:
    name = f"g5k.{key}"
    if name not in KEYS_BY_NAME or key == "location":
        notes.append(f"line {origin.line}: not converted: g5k_configuration[{_shown(key)}] is not a known key")
        return
    if key == "api_additional_args" and isinstance(value, list | tuple):
        pairs: dict[str, str] = {}
        for item in value:
            k, sep, v = str(item).partition("=")
            if not sep:
                notes.append(f"line {origin.line}: not converted: api_additional_args item {_shown(item)} is not "
                             "key=value")
                continue
            pairs[k] = v
        value = pairs
    if key == "check_deployed_command" and value is False:
        value = None
    if key == "default_timeout" and value is None:
        notes.append(f"line {origin.line}: not converted: default_timeout None (no timeout) is not allowed: every "
                     "call has a timeout; the default is kept")
        return
    _add_checked(name, value, origin, entries, notes)


def _add_checked(name: str, value: object, origin: Origin, entries: list[tuple[str, Value, Origin]],
                 notes: list[str]) -> None:
    spec = KEYS_BY_NAME[name]
    if value is None and spec.kind is Kind.STR:
        notes.append(f"line {origin.line}: not converted: {name} None has no meaning here; the default is kept")
        return
    checked = _check(name, spec.kind, value, origin)
    if isinstance(checked, Failure):
        notes.append(f"line {origin.line}: not converted: {name}: {checked.failure().reason}")
        return
    entries.append((name, checked.unwrap(), origin))


def _rewrite_from_lambda(node: ast.expr) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """(host_suffix, rules) equivalent to ``lambda h: h + "SUFFIX"`` or ``lambda h: re.sub("P", "R", h)``
    (P anchored at the end, or at both ends); anything else is None."""
    if not isinstance(node, ast.Lambda) or len(node.args.args) != 1:
        return None
    arg = node.args.args[0].arg
    body = node.body
    if (isinstance(body, ast.BinOp) and isinstance(body.op, ast.Add) and isinstance(body.left, ast.Name)
            and body.left.id == arg and isinstance(body.right, ast.Constant) and isinstance(body.right.value, str)):
        return body.right.value, ()
    if not (isinstance(body, ast.Call) and isinstance(body.func, ast.Attribute) and body.func.attr == "sub"
            and isinstance(body.func.value, ast.Name) and body.func.value.id == "re" and len(body.args) == 3
            and not body.keywords and isinstance(body.args[2], ast.Name) and body.args[2].id == arg):
        return None
    first, second = body.args[0], body.args[1]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)
            and isinstance(second, ast.Constant) and isinstance(second.value, str)):
        return None
    pattern, replacement = first.value, second.value
    if not pattern.endswith("$") or pattern.endswith("\\$"):
        return None
    if pattern.startswith("^"):
        rule = (pattern[1:-1], replacement)
    elif "\\" in replacement:
        return None  # group references would shift under the added prefix group
    else:
        rule = (f"(.*?)(?:{pattern[:-1]})", "\\1" + replacement)
    try:
        re.sub(rule[0], rule[1], "")
    except (re.error, IndexError):
        return None
    return "", (rule,)


def layer_to_toml(layer: Layer, notes: Iterable[str] = ()) -> str:
    """TOML text of a layer (e.g. a converted execo file), with ``notes`` as leading comments."""
    out = [f"# {n}" for n in notes]
    sections: dict[str, list[str]] = {}
    for key, value, origin in layer.entries:
        section, name = _attr_path(key)
        if section == "frontends":
            site, _, fld = name.rpartition(".")
            sections.setdefault(f"frontends.{toml_key(site)}", []).append(f"{fld} = {_toml_value(value)}")
            continue
        where = f"  # from {origin.describe()}" if origin.kind is not OriginKind.DEFAULT else ""
        spec = KEYS_BY_NAME.get(key)
        kind = spec.kind if spec is not None else None
        sections.setdefault(section, []).append(f"{name} = {_toml_value(value, kind)}{where}")
    for section, lines in sections.items():
        out.append("")
        out.append(f"[{section}]")
        out.extend(lines)
    return "\n".join(out).lstrip("\n") + "\n"
