"""python-grid5000's settings file (``~/.python-grid5000.yaml``): the API user name it holds, as a layer.

The text is read by PyYAML's safe loader (``yaml.SafeLoader``, composing the document's node tree, which keeps
the line of every node and the type each scalar resolves to). Only the top-level ``username`` is taken, when it
is a login name written on its line; the password such files hold is never read into our values.
"""

from __future__ import annotations

import re
from typing import Final

import yaml
from returns.result import Failure, Result, Success

from g5kpure.config.kinds import shown
from g5kpure.config.layers import Layer, Origin, OriginKind
from g5kpure.errors import ConfigError

KEY: Final = "username"
_LOGIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_YAML_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_NULL: Final = "tag:yaml.org,2002:null"
_BOOL: Final = "tag:yaml.org,2002:bool"
_SYNTAX: Final = "YAML syntax (anchor, alias, tag or block scalar), not a plain name"
_ADVICE: Final = (
    ("flow sequence", "a list or mapping left open"),
    ("flow mapping", "a list or mapping left open"),
    ("quoted scalar", "a quoted value must close on the same line"),
    ("expected <block end>", "a value must end its line (a quoted value must close on the same line, nothing "
                             "after it but a comment)"),
    ("undefined alias", "an alias of no anchor: " + _SYNTAX),
)
"""What PyYAML's parse errors mean for a settings file, keyed by words of PyYAML's message."""


def _single_node(text: str) -> yaml.Node | None:
    loader = yaml.SafeLoader(text)  # reads the text at once: raises on a character YAML does not allow
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _compose(text: str, source: str) -> Result[yaml.Node | None, ConfigError]:
    """The document's node tree (``None`` when empty), or the parse error with its line."""
    try:
        return Success(_single_node(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.context_mark or exc.problem_mark
        said = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        advice = next((a for words, a in _ADVICE if words in said), "")
        return Failure(ConfigError(KEY, f"not valid YAML ({said})" + (f"; {advice}" if advice else ""), source,
                                   None if mark is None else mark.line + 1))
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow; its position is an index
        line = len(_YAML_LINE_BREAK.findall(text[:exc.position])) + 1
        return Failure(ConfigError(KEY, f"not valid YAML: {exc.reason} (U+{exc.character:04X})", source, line))
    except yaml.YAMLError as exc:
        return Failure(ConfigError(KEY, f"not valid YAML: {exc}", source))
    except (RecursionError, MemoryError) as exc:  # the composer recurses once per nested collection
        return Failure(ConfigError(KEY, f"YAML nested too deeply to read ({type(exc).__name__})", source))


def _login(key: yaml.Node, value: yaml.Node, text: str) -> Result[str | None, str]:
    """The login a top-level ``username: VALUE`` gives (``None``: unset), or why it is not one."""
    syntax = f"expected 'username: LOGIN', got {_SYNTAX}"
    continued = ("expected 'username: LOGIN' on one line, got a value continued on the next lines (a nested "
                 "mapping, a list or a multi-line text)")
    if value.start_mark.index < key.end_mark.index:  # an alias: the node is the anchored one, written earlier
        return Failure(syntax)
    if isinstance(value, yaml.CollectionNode):
        flow = value.flow_style and value.start_mark.line == key.start_mark.line
        return Failure("expected 'username: LOGIN', got a list or mapping, not a name" if flow else continued)
    start = value.start_mark.index
    if not isinstance(value, yaml.ScalarNode) or text[start:start + 1] in ("&", "!") or value.style in ("|", ">"):
        return Failure(syntax)
    if value.tag == _NULL:
        return Success(None)
    if value.start_mark.line != key.start_mark.line or value.end_mark.line != value.start_mark.line:
        return Failure(continued)
    if value.tag == _BOOL:
        return Failure(f"expected a login name, got the YAML boolean {value.value}; quote it if it is your login")
    if not _LOGIN.fullmatch(value.value):
        return Failure(f"expected a login name (letters, digits, '.', '_', '-'), got {shown(value.value)}")
    return Success(value.value)  # the text as written, also when it reads as a number or a date


def _is_username(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.value == KEY


def _nested_mentions(root: yaml.Node) -> list[int]:
    """The lines of every ``username`` key that is not a top-level entry of the document's mapping."""
    top = {id(k) for k, _ in root.value} if isinstance(root, yaml.MappingNode) else set()
    lines: set[int] = set()
    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if _is_username(k) and id(k) not in top:
                    lines.add(k.start_mark.line + 1)
                todo += (k, v)
        elif isinstance(node, yaml.SequenceNode):
            todo += node.value
    return sorted(lines)


def username_from_python_grid5000(text: str, source: str = "") -> Result[Layer, ConfigError]:
    """The ``api_username`` layer given by the top-level ``username:`` entry of a python-grid5000 YAML file.

    Only a scalar written on the key's line (plain, 'single' or "double" quoted, no anchor, alias or tag) that
    is a login name (letters, digits, ``.``, ``_``, ``-``) is taken; anything else there (a list, a mapping, a
    boolean, several words, a second ``username``) and text that is not YAML are errors naming the line. A
    ``username`` that is not a top-level entry (nested, in a list) is not read and is reported as a warning of
    the layer."""
    return _compose(text, source).bind(lambda root: Success(Layer()) if root is None else _layer(root, text, source))


def _layer(root: yaml.Node, text: str, source: str) -> Result[Layer, ConfigError]:
    pairs = root.value if isinstance(root, yaml.MappingNode) else []
    entries = [(key.start_mark.line + 1, key, value) for key, value in pairs if _is_username(key)]
    if not entries:
        return Success(Layer((), tuple(
            ConfigError(KEY, "not a top-level 'username:' entry, so not read (python-grid5000 reads only the "
                        "top-level one); move it to the top level to use it", source, line)
            for line in _nested_mentions(root))))
    (line, key, value), *others = entries

    # The first entry's value is checked before a second entry is refused.
    def layer(login_name: str | None) -> Result[Layer, ConfigError]:
        if others:
            return Failure(ConfigError(KEY, f"a second top-level 'username' (the first is on line {line})",
                                       source, others[0][0]))
        if login_name is None:
            return Success(Layer())
        return Success(Layer((("g5k.api_username", login_name, Origin(OriginKind.FILE, source, line)),)))

    return _login(key, value, text).alt(lambda reason: ConfigError(KEY, reason, source, line)).bind(layer)
