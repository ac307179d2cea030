"""TOML text of the configuration: reading it into a layer whose values know their line, and writing values.

``tomllib`` parses the text; ``key_lines`` finds the line of each key and table header (tomllib gives none) so
that every value and every error can name its line.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Final

from returns.result import Failure, Result

from g5kpure.config.kinds import Kind
from g5kpure.config.layers import Layer, Origin, OriginKind, Value
from g5kpure.config.sources import layer_from_mapping
from g5kpure.errors import ConfigError

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_LINE_NO = re.compile(r"at line (\d+)")
LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")
"""A line break of TOML (and Python) text: ``\\n``, ``\\r\\n`` or ``\\r``, never ``\\x85`` or ``\\u2028``."""
_KEY_PART = re.compile(r"""\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*""")


def parse_toml(text: str, source: str = "") -> Result[Layer, ConfigError]:
    """Parse configuration TOML text into a layer; errors name the key and the line in ``source``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _LINE_NO.search(str(exc))
        line = int(found.group(1)) if found else None
        return Failure(ConfigError("(syntax)", f"invalid TOML: {exc}", source, line))
    except (RecursionError, MemoryError) as exc:  # tomllib recurses once per nested array or inline table
        return Failure(ConfigError("(syntax)", f"TOML nested too deeply to read ({type(exc).__name__}); a "
                                   "configuration needs at most two levels of arrays", source))
    return layer_from_mapping(data, Origin(OriginKind.FILE, source), key_lines(text))


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
    for number, raw in enumerate(LINE_BREAK.split(text), start=1):  # TOML breaks lines at \n only (not at \x85)
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


def toml_value(value: Value, kind: Kind | None = None) -> str:
    """The TOML text of a checked value (unset is ``""``; pairs are rules for ``Kind.RULES``, else a table)."""
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
