"""`g5k` starts light: the top-level help imports no command module, a command imports only its own module."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest
from g5k.cli.main import COMMANDS, common_options

HEAVY = ("matplotlib", "networkx", "fabric", "paramiko", "requests", "psycopg2", "cattrs")


def _importtime(*argv: str) -> set[str]:
    """The modules `python -X importtime` reports for a run of `g5k ARGV`."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "g5k.cli.main", *argv],
                          capture_output=True, text=True, timeout=120, check=False)
    return {ln.rsplit("|", 1)[1].strip() for ln in proc.stderr.splitlines() if ln.startswith("import time:")}


def _loaded(*argv: str) -> set[str]:
    """Every module in ``sys.modules`` after a run of `g5k ARGV` (importlib imports included)."""
    code = ("import contextlib, io, sys\nfrom g5k.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            f"    main({list(argv)!r})\nprint('\\n'.join(sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return set(proc.stdout.split())


def test_help_imports_no_heavy_library_and_no_command_module() -> None:
    names = _importtime("--help") | _loaded("--help")
    assert "g5k.cli.main" in names and "argparse" in names
    assert not {n for n in names if n.split(".")[0] in HEAVY}
    assert not {n for n in names if n.startswith("g5k.cli.") and n != "g5k.cli.main"}


@pytest.mark.parametrize(("argv", "module"), [(("oar", "duration", "1:30"), "g5k.cli.oar"),
                                              (("charter", "--help"), "g5k.cli.charter")])
def test_a_command_loads_only_its_module(argv: tuple[str, ...], module: str) -> None:
    names = _loaded(*argv)
    command_modules = {f"g5k.cli.{m}" for _, m, _ in COMMANDS}
    assert names & command_modules == {module}


def test_the_command_table_is_what_the_modules_register() -> None:
    registered: list[tuple[str, str, str]] = []
    for module in dict.fromkeys(m for _, m, _ in COMMANDS):
        parser = argparse.ArgumentParser(prog="g5k")
        sub = parser.add_subparsers(dest="command")
        importlib.import_module(f"g5k.cli.{module}").register(sub, common_options())
        registered += [(a.dest, module, a.help or "") for a in sub._choices_actions]
    assert sorted(registered) == sorted(COMMANDS)
