"""Configuration as text: a configuration or a layer as TOML, the commented template of ``g5k config init``, and
the values and warnings shown by ``g5k config show``, all derived from the schema's keys."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from g5kpure.config.kinds import Kind
from g5kpure.config.layers import Layer, OriginKind, Value
from g5kpure.config.schema import (
    KEYS_BY_NAME,
    SECTIONS,
    SITE_KEYS,
    SITES,
    Config,
    Key,
    default_of,
    section_keys,
    site_settings,
    value_of,
)
from g5kpure.config.toml import toml_key, toml_value
from g5kpure.errors import ConfigError

MASK: Final = "********"


def to_toml(config: Config) -> str:
    """TOML text that parses back to ``config``."""
    out: list[str] = []
    for section in SECTIONS:
        if section == SITES:
            continue
        out.append(("\n" if out else "") + f"[{section}]")
        out.extend(f"{k.short} = {toml_value(value_of(config, k.name), k.kind)}" for k in section_keys(section))
    for site, override in config.frontends:
        out.append(f"\n[{SITES}.{toml_key(site)}]")
        out.extend(f"{name} = {toml_value(value)}" for name, value in site_settings(override))
    return "\n".join(out) + "\n"


def _commented(key: Key, value: Value) -> list[str]:
    """A key of the template: its meaning and variables, then the key with ``value``, both commented out."""
    env = f" (env: {', '.join(key.env)})" if key.env else ""
    shown = "" if value is None and key.kind is Kind.OPT_PORT else toml_value(value, key.kind)
    return [f"# {key.doc}{env}", f"# {key.short} = {shown}" if shown else f"# {key.short} ="]


def init_template() -> str:
    """The commented configuration file written by ``g5k config init``: every key, commented out, with its
    default, meaning and environment variables; parsing it gives the defaults."""
    out = [
        "# g5kpure configuration (TOML). Every key is optional; uncomment to change a default.",
        "# Precedence: defaults < this file < environment variables < explicit arguments.",
        "# `g5k config show` prints the effective values and where each came from; `g5k doctor` checks them.",
        "# Passwords do not belong here: the API password is kept in the system keyring.",
        '# A duration is a number of seconds, or text such as "90s", "45m", "2h", "1:30:00" ("2" is 2 hours).',
    ]
    for section in SECTIONS:
        if section == SITES:
            continue
        out += ["", f"[{section}]"]
        for key in section_keys(section):
            out += _commented(key, default_of(key.name))
    out += [
        "",
        "# Host rewrite rules are data, e.g. reach every site through ssh aliases *.g5k:",
        '# host_rewrite = [["(.*)", "\\\\1.g5k"]]',
        "",
        f"# Per-frontend settings beat [frontend]: one [{SITES}.NAME] table per frontend, with the keys",
        *(f"#   {key.short}: {key.doc}" for key in SITE_KEYS),
        "# e.g. a frontend reached on another host or port:",
        f"# [{SITES}.lyon]",
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


def layer_to_toml(layer: Layer, notes: Iterable[str] = ()) -> str:
    """TOML text of a layer (e.g. a converted execo file), with ``notes`` as leading comments."""
    out = [f"# {n}" for n in notes]
    sections: dict[str, list[str]] = {}
    for key, value, origin in layer.entries:
        section, _, name = key.partition(".")
        if section == SITES:
            site, _, short = name.rpartition(".")
            sections.setdefault(f"{SITES}.{toml_key(site)}", []).append(f"{short} = {toml_value(value)}")
            continue
        where = f"  # from {origin.describe()}" if origin.kind is not OriginKind.DEFAULT else ""
        spec = KEYS_BY_NAME.get(key)
        kind = None if spec is None else spec.kind
        sections.setdefault(section, []).append(f"{name} = {toml_value(value, kind)}{where}")
    for section, lines in sections.items():
        out += ["", f"[{section}]", *lines]
    return "\n".join(out).lstrip("\n") + "\n"


def display(value: Value, key: Key | None) -> str:
    """A value as ``g5k config show`` prints it: TOML text, ``(unset)``, or masked when the key is secret."""
    if key is not None and key.secret and value:
        return MASK
    if value is None:
        return "(unset)"
    return toml_value(value, None if key is None else key.kind)


def warning_text(warning: ConfigError) -> str:
    """One line for a warning: where (variable, or file and line), the key when it says more, and why."""
    where = warning.source + (f" line {warning.line}" if warning.line is not None else "")
    key = "" if warning.key.startswith("(") else f"{warning.key}: "
    return f"{where}: {key}{warning.reason}" if where else f"{key}{warning.reason}"
