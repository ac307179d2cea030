"""Helpers of the configuration tests: an environment where only the test's configuration counts, and a
configuration file written for a test and named by ``$G5K_CONFIG``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from returns.result import Failure, Success

T = TypeVar("T")

WriteConfig = Callable[[str], Path]

OUTSIDE_NO_DEFAULT = """\
[g5k]
location = "outside"

[frontend]
user = "me"
host_suffix = ".example.org"
"""
"""Outside Grid'5000 with no default frontend: short names and unnamed frontends must be refused."""


def isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh HOME (``tmp_path/home``) and XDG_CONFIG_HOME (``tmp_path/xdg``), with none of our variables and
    no OAR job variables set."""
    for var in [v for v in os.environ if v.startswith("G5K_") or v in ("OAR_JOB_ID", "OAR_NODEFILE",
                                                                         "OAR_JOB_KEY_FILE")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def config_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WriteConfig:
    """In an isolated environment, a function writing the configuration file ``$G5K_CONFIG`` names."""
    isolate(tmp_path, monkeypatch)

    def write(text: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text)
        monkeypatch.setenv("G5K_CONFIG", str(path))
        return path

    return write


def success_of(result: object, kind: type[T]) -> T:
    """The value of a ``Success`` holding a ``kind``."""
    assert isinstance(result, Success), result
    value = result.unwrap()
    assert isinstance(value, kind), value
    return value


def failure_of(result: object, kind: type[T]) -> T:
    """The error of a ``Failure`` holding a ``kind``."""
    assert isinstance(result, Failure), result
    error = result.failure()
    assert isinstance(error, kind), error
    return error
