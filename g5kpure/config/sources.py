"""Where configuration values come from: a file-shaped mapping (parsed TOML), environment variables, and
explicit arguments, each read into a ``Layer`` of checked values that know their origin.

Every wrong key or value of a source is reported (one error listing them all when there are several). An
unknown ``G5K_*`` variable is a warning of its layer, naming the closest known variable.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from returns.result import Failure, Result, Success

from g5kpure.config.kinds import Kind, check, shown
from g5kpure.config.layers import Layer, Origin, OriginKind, Value, combine, values_or_errors
from g5kpure.config.schema import KEYS, SECTIONS, SITE_OVERRIDE_FIELDS, SITES, Key, is_site_name, section_keys
from g5kpure.errors import ConfigError
from g5kpure.oar.dates import parse_int, read_number

Entry = tuple[str, Value, Origin]
#: What the keys of a layer gave, in order: an entry, or an error (every one is reported).
Checked = list[Result[Entry, ConfigError]]


def line_of(lines: Mapping[str, int], key: str) -> int | None:
    """The line of ``key`` in ``lines``, else of the closest enclosing key or table that has one."""
    parts = key.split(".")
    while parts:
        found = lines.get(".".join(parts))
        if found is not None:
            return found
        parts.pop()
    return None


def layer_from_mapping(values: Mapping[str, object], origin: Origin,
                       lines: Mapping[str, int] | None = None) -> Result[Layer, ConfigError]:
    """Check a nested mapping shaped like the TOML file (``{"g5k": {...}, "frontend": {...}}``) into a layer;
    ``lines`` gives the line of each dotted key. Every wrong key or value is reported."""
    checked: Checked = []
    line_by_key = lines or {}

    def at(key: str) -> Origin:
        line = line_of(line_by_key, key)
        return Origin(origin.kind, origin.where, line if line is not None else origin.line)

    def table(key: str, body: object) -> Mapping[str, object] | None:
        if isinstance(body, Mapping):
            return body
        checked.append(Failure(at(key).error(key, f"expected a table, got {type(body).__name__}")))
        return None

    for section, body in values.items():
        if section not in SECTIONS:
            home = next((k for k in KEYS if k.short == section), None)
            reason = (f"unknown top-level key: write it as {home.short} under [{home.section}]" if home
                      else f"unknown section; expected one of {', '.join(SECTIONS)}")
            checked.append(Failure(at(section).error(section, reason)))
            continue
        tables = table(section, body)
        if tables is None:
            continue
        if section != SITES:
            kinds = {k.short: k.kind for k in section_keys(section)}
            _read_table(section, tables, kinds, _suggest, at, checked)
            continue
        for site, site_body in tables.items():
            base = f"{SITES}.{site}"
            if not is_site_name(site):
                checked.append(Failure(at(base).error(base, "a frontend name has no dots or spaces")))
                continue
            site_table = table(base, site_body)
            if site_table is not None:
                checked.append(Success((base, None, at(base))))  # declares the frontend, even with no setting
                _read_table(base, site_table, SITE_OVERRIDE_FIELDS, _one_of_site_keys, at, checked)
    return values_or_errors(checked).map(lambda entries: Layer(entries))


def _read_table(prefix: str, table: Mapping[str, object], kinds: Mapping[str, Kind], hint: Callable[[str], str],
                at: Callable[[str], Origin], checked: Checked) -> None:
    """Check the keys of one table, adding their entries and their errors."""
    for name, raw in table.items():
        key = f"{prefix}.{name}"
        kind = kinds.get(name)
        if kind is None:
            checked.append(Failure(at(key).error(key, f"unknown key; {hint(key)}")))
        else:
            checked.append(_entry(key, check(key, kind, raw, at(key)), at(key)))


def _entry(key: str, value: Result[Value, ConfigError], origin: Origin) -> Result[Entry, ConfigError]:
    return value.map(lambda found: (key, found, origin))


def _suggest(key: str) -> str:
    section, _, name = key.partition(".")
    known = [k.short for k in section_keys(section)]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    if close:
        return f"did you mean '{section}.{close[0]}'?"
    return f"known keys of [{section}]: {', '.join(known)}"


def _one_of_site_keys(key: str) -> str:
    return f"expected one of {', '.join(SITE_OVERRIDE_FIELDS)}"


# --------------------------------------------------------------------------------------------------------------
# Environment variables


OTHER_VARIABLES: Final[Mapping[str, str]] = {
    "G5K_CONFIG": "the configuration file to read",
    "G5K_CACHE_DIR": "the directory of the reference cache",
    "G5K_EXECO_PYTHON": "the python with execo used by the benchmarks",
}
"""``G5K_*`` variables read elsewhere than the configuration layers (not reported as unknown)."""

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def env_variables() -> tuple[tuple[str, str], ...]:
    """Every environment variable read, with the dotted key it sets."""
    return tuple((var, k.name) for k in KEYS for var in k.env)


def _from_env_text(kind: Kind, text: str) -> Result[object, str]:
    """The raw value that an environment variable's text gives to a key of ``kind``: a duration that is a plain
    number is seconds (other text reads the duration grammar), a boolean is 1/true/yes/on or 0/false/no/off, a
    table is ``key=value`` pairs joined by ``&``, rewrite rules are written as in TOML."""
    if kind is Kind.SECONDS:
        number = read_number(text)
        return Success(text if number is None else number)
    if kind in (Kind.PORT, Kind.OPT_PORT):
        if kind is Kind.OPT_PORT and text.strip() == "":
            return Success(None)
        port = parse_int(text.strip(" \t"))
        return Failure(f"expected a {kind.value}") if port is None else Success(port)
    if kind is Kind.BOOL:
        low = text.strip().lower()
        if low not in _TRUE | _FALSE:
            return Failure("expected one of 1/true/yes/on or 0/false/no/off")
        return Success(low in _TRUE)
    if kind is Kind.STR_MAP:
        pairs = {}
        for item in (p for p in text.split("&") if p):
            k, sep, v = item.partition("=")
            if not sep or not k:
                return Failure("expected key=value pairs separated by &")
            pairs[k] = v
        return Success(pairs)
    if kind is Kind.RULES:
        return _toml_rules(text)
    return Success(text)


def _toml_rules(text: str) -> Result[object, str]:
    """Rewrite rules written as a TOML array (``[["(.*)", "\\\\1.g5k"]]``)."""
    try:
        data = tomllib.loads(f"rules = {text}")
    except (tomllib.TOMLDecodeError, RecursionError, MemoryError):
        data = {}
    if set(data) != {"rules"}:
        return Failure(f"expected a {Kind.RULES.value} written as in TOML, e.g. [[\"(.*)\", \"\\\\1.g5k\"]]")
    return Success(data["rules"])


def _env_value(spec: Key, var: str, text: str) -> Result[Value, ConfigError]:
    """The checked value of ``spec`` given by variable ``var``; an error names the variable and its text."""
    origin = Origin(OriginKind.ENVIRONMENT, var)
    raw = _from_env_text(spec.kind, text).alt(lambda reason: origin.error(spec.name, reason))
    checked = raw.bind(lambda value: check(spec.name, spec.kind, value, origin))
    return checked.alt(lambda error: ConfigError(spec.name, f"${var}={text!r}: {error.reason}", f"${var}"))


def parse_env(env: Mapping[str, str]) -> Result[Layer, ConfigError]:
    """The layer given by environment variables (``G5K_API_USERNAME``, ``OAR_JOB_KEY_FILE``, ...).

    A known variable with a bad value is an error naming it (all of them are reported, not only the first). An
    unknown ``G5K_*`` variable (a typo such as ``G5K_API_USERNAM``) is a warning of the layer, with the closest
    known variable; other variables are unrelated and ignored. When a key has several variables (such as
    ``G5K_OAR_JOB_KEY_FILE`` and ``OAR_JOB_KEY_FILE``), the first set (ours) wins."""
    checked: Checked = []
    for spec in KEYS:
        var = next((v for v in spec.env if v in env), None)
        if var is not None:
            checked.append(_entry(spec.name, _env_value(spec, var, env[var]), Origin(OriginKind.ENVIRONMENT, var)))
    known = [var for var, _ in env_variables()] + list(OTHER_VARIABLES)
    warnings = [_unknown_variable(var, known) for var in sorted(env) if var.startswith("G5K_") and var not in known]
    return values_or_errors(checked).map(lambda entries: Layer(entries, tuple(warnings)))


def _unknown_variable(var: str, known: list[str]) -> ConfigError:
    tails = {name.removeprefix("G5K_"): name for name in known}
    close = difflib.get_close_matches(var.removeprefix("G5K_"), list(tails), n=1, cutoff=0.75)
    hint = f"did you mean ${tails[close[0]]}?" if close else "`g5k config init` lists the variables read"
    return ConfigError("(environment)", f"not a g5kpure variable, ignored; {hint}", f"${var}")


# --------------------------------------------------------------------------------------------------------------
# Explicit arguments


def rules_from_table(key: str, table: Iterable[tuple[str, object]]) -> Result[tuple[tuple[str, str], ...],
                                                                             ConfigError]:
    """Host rewrite rules matching exactly each name of ``(name, host)`` pairs (e.g. a programmatic rewrite
    function tabulated by the adapter); a host that is not a host name is an error naming the name."""
    rules: list[tuple[str, str]] = []
    errors: list[ConfigError] = []
    for name, host in sorted(dict(table).items()):
        if not isinstance(host, str) or not host or host.startswith("-") or any(ch.isspace() for ch in host):
            errors.append(ConfigError(key, f"the rewrite function gave {shown(host)} for {name!r}; expected a "
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
        elif callable(raw):
            errors.append(ConfigError(key, "a function is not a configuration value; for a host rewrite give "
                                      "[regex, replacement] rules, or give the function to "
                                      "g5k.config.load_config, which tabulates it over the known names", where))
        elif section == SITES:
            site, _, short = name.rpartition(".")
            sites = nested.setdefault(SITES, {})
            table = sites.get(site)
            if not isinstance(table, dict):
                table = sites[site] = {}
            table[short] = raw
        else:
            nested.setdefault(section, {})[name] = raw
    mapped = layer_from_mapping(nested, Origin(OriginKind.ARGUMENT, where))
    if errors:
        return Failure(combine([*errors, *mapped.swap().map(lambda error: (error,)).value_or(())]))
    return mapped
