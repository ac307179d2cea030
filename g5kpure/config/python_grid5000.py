"""python-grid5000's settings file (``~/.python-grid5000.yaml``): the API user name it holds, as a layer.

Only the top-level ``username`` entry is read, when it is a one-line scalar that is a login name; the password
such files hold is never read into our values.
"""

from __future__ import annotations

import json
import re
from typing import Final

from returns.result import Failure, Result, Success

from g5kpure.config.kinds import shown as _shown
from g5kpure.config.layers import Layer, Origin, OriginKind
from g5kpure.errors import ConfigError

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
