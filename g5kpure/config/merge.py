"""The effective configuration: layers merged over the defaults (later wins), checked as a whole, with the
origin of every value and the warnings met on the way."""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.config.layers import DEFAULT_ORIGIN, Layer, Origin, Value, combine, values_or_errors
from g5kpure.config.location import parse_location
from g5kpure.config.python_grid5000 import username_from_python_grid5000
from g5kpure.config.render import display
from g5kpure.config.schema import KEYS, KEYS_BY_NAME, SITE_KEYS, SITES, Config, config_from, value_of
from g5kpure.config.sources import layer_from_arguments, parse_env
from g5kpure.config.toml import parse_toml
from g5kpure.errors import ConfigError


@frozen
class ShownValue:
    """One row of ``g5k config show``: key, displayed value (secrets masked), origin."""

    key: str
    shown: str
    origin: Origin
    secret: bool = False


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
            shown = display(value_of(self.config, key), spec)
            out.append(ShownValue(key, shown, origin, spec is not None and spec.secret))
        return tuple(out)


def _cross_checks(config: Config, origin_of: Mapping[str, Origin]) -> list[ConfigError]:
    """The problems of keys that are fine alone but not together."""
    errors: list[ConfigError] = []
    if config.default_env_name is not None and config.default_env_file is not None:
        errors.append(origin_of.get("g5k.default_env_file", DEFAULT_ORIGIN).error(
            "g5k.default_env_file", "both default_env_name and default_env_file are set; keep only one"))
    if config.location is not None:
        wrong = parse_location(config.location).swap().value_or(None)
        if wrong is not None:
            errors.append(origin_of.get("g5k.location", DEFAULT_ORIGIN).error("g5k.location", wrong.reason))
    return errors


def resolve(*layers: Layer) -> Result[Resolved, ConfigError]:
    """Merge layers over the defaults (later layers win) and check the whole; keep each value's origin and the
    layers' warnings."""
    values: dict[str, Value] = {}
    origin_of: dict[str, Origin] = {}
    for layer in layers:
        for key, value, origin in layer.entries:
            values[key] = value
            origin_of[key] = origin
    config = config_from(values)
    errors = _cross_checks(config, origin_of)
    if errors:
        return Failure(combine(errors))
    keys = [k.name for k in KEYS] + [f"{SITES}.{site}.{k.short}" for site, _ in config.frontends for k in SITE_KEYS
                                     if f"{SITES}.{site}.{k.short}" in values]
    origins = tuple((k, origin_of.get(k, DEFAULT_ORIGIN)) for k in keys)
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
    return values_or_errors(results).bind(lambda layers: resolve(*layers))
