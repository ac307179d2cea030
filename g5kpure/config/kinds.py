"""The kinds of configuration values and the schema of one key.

A configuration key is an attrs field whose metadata holds a ``Setting``: the kind of its value (string,
duration, boolean, port, string table, rewrite rules), its meaning, and how the sources name it. Its default is
the field's default. ``check`` reads a raw value (from TOML, the environment or Python) as a value of a kind:
durations with the one duration grammar (``g5kpure.oar.dates.to_seconds``), everything else as the kind says.
"""

from __future__ import annotations

import enum
import math
import re
import reprlib
from collections.abc import Mapping
from typing import Final

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.config.layers import Origin, Value
from g5kpure.errors import ConfigError
from g5kpure.oar.dates import to_seconds


class Kind(enum.Enum):
    """The type of a configuration key."""

    STR = "string"
    OPT_STR = "string (\"\" = unset)"
    SECONDS = "number of seconds > 0, or a duration text such as '90s', '45m', '2h', '1d' or 'H:M:S'"
    BOOL = "boolean"
    PORT = "port number 1-65535"
    OPT_PORT = "port number 1-65535 (\"\" = unset)"
    STR_MAP = "table of strings"
    RULES = "list of [regex, replacement] pairs"


METADATA: Final = "g5kpure.config"
"""The attrs metadata key under which a field's ``Setting`` is kept."""


@frozen
class Setting:
    """The schema of one configuration key, kept in its attrs field's metadata: the kind of its value, a
    one-line meaning, its name in the file when it differs from the attribute's, the environment variables read
    after ours, whether its value is secret (masked when shown), and whether execo's configuration has it."""

    kind: Kind
    doc: str
    name: str = ""
    also_env: tuple[str, ...] = ()
    secret: bool = False
    execo: bool = True


def setting(kind: Kind, doc: str, *, name: str = "", also_env: tuple[str, ...] = (), secret: bool = False,
            execo: bool = True) -> dict[str, Setting]:
    """The metadata of an attrs field that is a configuration key (``field(default=..., metadata=setting(...))``)."""
    return {METADATA: Setting(kind, doc, name, also_env, secret, execo)}


def shared(spec: Setting) -> dict[str, Setting]:
    """The metadata of a field that is the same key as another class's field (e.g. a per-site ssh user)."""
    return {METADATA: spec}


_REPR: Final = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 80
_REPR.maxother = 80


def shown(value: object) -> str:
    """A short repr of a value for a message (bounded depth and length, even for deeply nested input)."""
    return _REPR.repr(value)


def check(key: str, kind: Kind, raw: object, origin: Origin) -> Result[Value, ConfigError]:
    """Check one raw value (from TOML or Python) against its kind; an error names the key and the origin."""

    def bad(reason: str) -> Result[Value, ConfigError]:
        return Failure(origin.error(key, reason))

    got = f"{type(raw).__name__} {shown(raw)}"
    if kind in (Kind.STR, Kind.OPT_STR):
        if raw is None and kind is Kind.OPT_STR:
            return Success(None)
        if not isinstance(raw, str):
            return bad(f"expected a {kind.value}, got {got}")
        return Success(None if kind is Kind.OPT_STR and raw == "" else raw)
    if kind is Kind.SECONDS:
        return _check_seconds(raw).alt(lambda reason: origin.error(key, reason))
    if kind is Kind.BOOL:
        if not isinstance(raw, bool):
            return bad(f"expected a boolean (true or false), got {got}")
        return Success(raw)
    if kind in (Kind.PORT, Kind.OPT_PORT):
        if kind is Kind.OPT_PORT and (raw is None or raw == ""):
            return Success(None)
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 65535:
            return bad(f"expected a {kind.value}, got {got}")
        return Success(raw)
    if kind is Kind.STR_MAP:
        return _check_str_map(raw).alt(lambda error: _at(error, key, origin))
    return _check_rules(raw).alt(lambda reason: origin.error(key, reason))


def _at(error: tuple[str, str], key: str, origin: Origin) -> ConfigError:
    """The error of ``key`` (or of one of its entries, ``key.entry``) with the origin of the value."""
    entry, reason = error
    return origin.error(f"{key}.{entry}" if entry else key, reason)


def _check_seconds(raw: object) -> Result[Value, str]:
    """A duration > 0 read with the one duration grammar (a number is seconds, text reads OAR's forms and units)."""
    expected = f"expected a {Kind.SECONDS.value}"
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return Failure(f"{expected}, got {type(raw).__name__} {shown(raw)}")

    def positive(read: float) -> Result[Value, str]:
        seconds = float(read)
        if not math.isfinite(seconds) or seconds <= 0:
            return Failure(f"{expected}, got {shown(raw)}")
        return Success(seconds)

    return to_seconds(raw).alt(
        lambda error: f"{expected}, got {shown(raw)}" + (f" ({error.message})" if isinstance(raw, str) else "")
    ).bind(positive)


def _check_str_map(raw: object) -> Result[Value, tuple[str, str]]:
    """A table of strings; also a list of "key=value" strings (execo's documented form of api_additional_args).
    An error is (the entry at fault or "", the reason)."""
    if isinstance(raw, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in raw):
        raw = dict(raw)
    elif isinstance(raw, list | tuple):
        table: dict[str, str] = {}
        for number, item in enumerate(raw, start=1):
            k, sep, v = item.partition("=") if isinstance(item, str) else ("", "", "")
            if not sep or not k:
                return Failure(("", f"item {number}: expected a \"key=value\" string, got {shown(item)}"))
            table[k] = v
        raw = table
    if not isinstance(raw, Mapping):
        return Failure(("", f"expected a table of strings, got {type(raw).__name__}"))
    pairs: list[tuple[str, str]] = []
    for k, v in raw.items():
        if not isinstance(k, str) or not isinstance(v, str):
            return Failure((str(k), f"expected a string, got {type(v).__name__} {shown(v)}"))
        pairs.append((k, v))
    return Success(tuple(sorted(pairs)))


def _check_rules(raw: object) -> Result[Value, str]:
    """Host rewrite rules: a list of [regex, replacement] pairs (order kept), or a table regex = replacement."""
    if isinstance(raw, Mapping):
        raw = list(raw.items())
    if not isinstance(raw, list | tuple):
        return Failure(f"expected a {Kind.RULES.value}, got {type(raw).__name__} {shown(raw)}")
    rules: list[tuple[str, str]] = []
    for number, item in enumerate(raw, start=1):
        if (not isinstance(item, list | tuple) or len(item) != 2
                or not all(isinstance(x, str) for x in item)):
            return Failure(f"rule {number}: expected [regex, replacement] (two strings), got {shown(item)}")
        pattern, replacement = str(item[0]), str(item[1])
        try:
            re.sub(pattern, replacement, "")  # compiles the regex and checks the template's group references
        except (re.error, IndexError) as exc:
            return Failure(f"rule {number}: invalid regex or replacement {pattern!r} -> {replacement!r}: {exc}")
        rules.append((pattern, replacement))
    return Success(tuple(rules))
