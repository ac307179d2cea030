"""execo's configuration file (``~/.execo.conf.py``) converted to a layer: its dict literals are read with
``ast``, never run.

``g5k_configuration`` gives ``[g5k]`` keys, ``default_frontend_connection_params`` the ``[frontend]`` section,
``default_oarsh_oarcp_params`` the ``[oarsh]`` section; which keys execo has comes from the schema (a key's
``Setting.execo``). A host rewrite lambda of one of the two documented shapes becomes rules. Everything else is
a note saying why it was not converted.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import Final

from attrs import frozen
from returns.result import Failure, Result

from g5kpure.config.kinds import Kind, check, shown
from g5kpure.config.layers import Layer, Origin, OriginKind, Value
from g5kpure.config.merge import resolve
from g5kpure.config.schema import KEYS_BY_NAME, ROOT
from g5kpure.config.toml import LINE_BREAK
from g5kpure.errors import ConfigError


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
    return resolve(layer).map(lambda _: ExecoImport(layer, tuple(notes)))


def _statement_text(text: str, stmt: ast.stmt) -> str:
    """The first line of a statement's source, shortened, for a note."""
    lines = LINE_BREAK.split(text)
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
        notes.append(f"line {line}: not converted: default_connection_params[{shown(key)}] (execo's settings for "
                     "every host); only its host_rewrite_func is used, for job nodes")
        return
    try:
        value = ast.literal_eval(value_node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        notes.append(f"line {line}: not converted: {dict_name}[{shown(key)}] is not a literal value")
        return
    if section == "g5k":
        _convert_g5k(key, value, origin, entries, notes)
        return
    if key in _IGNORED_CONN:
        notes.append(f"line {line}: not converted: {dict_name}[{shown(key)}]: {_IGNORED_CONN[key]}")
        return
    if not _has_execo_key(f"{section}.{key}"):
        notes.append(f"line {line}: not converted: {dict_name}[{shown(key)}] has no equivalent here")
        return
    _add_checked(f"{section}.{key}", value, origin, entries, notes)


def _has_execo_key(name: str) -> bool:
    """True when ``name`` is one of our keys that execo's configuration has too."""
    spec = KEYS_BY_NAME.get(name)
    return spec is not None and spec.execo


def _convert_g5k(key: str, value: object, origin: Origin, entries: list[tuple[str, Value, Origin]],
                 notes: list[str]) -> None:
    name = f"{ROOT}.{key}"
    if not _has_execo_key(name):
        notes.append(f"line {origin.line}: not converted: g5k_configuration[{shown(key)}] is not a known key")
        return
    if key == "api_additional_args" and isinstance(value, list | tuple):
        pairs: dict[str, str] = {}
        for item in value:
            k, sep, v = str(item).partition("=")
            if not sep:
                notes.append(f"line {origin.line}: not converted: api_additional_args item {shown(item)} is not "
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
    checked = check(name, spec.kind, value, origin)
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


