"""Layers of configuration values and where each value came from.

A layer is a partial configuration: dotted keys (``g5k.api_uri``, ``frontend.port``, ``frontends.lyon.host``)
with checked values, each with its ``Origin`` (default, file and line, environment variable, argument). Layers
are merged in this order, later wins:

    defaults  <  files (TOML text, ~/.python-grid5000.yaml username)  <  environment  <  explicit arguments
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final, TypeVar

from attrs import frozen
from returns.iterables import Fold
from returns.result import Failure, Result, Success

from g5kpure.errors import ConfigError

Value = str | int | float | bool | None | tuple[tuple[str, str], ...]
"""A checked configuration value: text, number, boolean, unset, or pairs (a string table, rewrite rules)."""


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

    def error(self, key: str, reason: str) -> ConfigError:
        """The error saying that ``key``'s value from here is wrong, and why."""
        return ConfigError(key, reason, self.where, self.line)


DEFAULT_ORIGIN: Final = Origin(OriginKind.DEFAULT)


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


_T = TypeVar("_T")


def values_or_errors(results: Iterable[Result[_T, ConfigError]]) -> Result[tuple[_T, ...], ConfigError]:
    """The values when every result is one, else one error listing every error, in order (:func:`combine`)."""
    found = tuple(results)
    errors = [error for error in (result.swap().value_or(None) for result in found) if error is not None]
    return Failure(combine(errors)) if errors else Fold.collect(found, Success(()))

