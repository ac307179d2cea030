"""The one vocabulary of the command line: shared option helpers, hidden old spellings, dates read with the
library's grammar and refused quoting what was typed, plain help texts, plurals, failures summed up by endpoint."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from g5k.cli.main import COMMANDS, build_parser, main
from g5k.cli.options import (
    add_api_options,
    add_config,
    add_reservation,
    failure_lines,
    plain,
    plural,
    read_date,
    reservation_of,
)

from g5kpure.errors import G5kError, HttpError, InvalidInput, ParseError, Unreachable
from g5kpure.oar import oar_date_to_unixts
from tests.conftest import isolate

MINE = tuple(dict.fromkeys(name for name, _, _ in COMMANDS))
"""The commands held to the vocabulary: every one."""
OFFLINE = ("g5k oar argv", "g5k oar date")
"""Commands with ``--tz`` that read no configuration (pure OAR helpers)."""


def test_dates_take_minutes_or_seconds_or_a_timestamp() -> None:
    assert read_date("2026-03-30 09:00", "-r").unwrap() == oar_date_to_unixts("2026-03-30 09:00:00").unwrap()
    assert read_date("2026-03-30 09:00:30", "-r").unwrap() == read_date("2026-03-30 09:00", "-r").unwrap() + 30
    assert read_date("1774854000", "-r").unwrap() == 1774854000
    refused = read_date("yesterday", "-r/--reservation").failure()
    assert isinstance(refused, InvalidInput)
    assert refused.message == "invalid -r/--reservation 'yesterday': expected 'YYYY-MM-DD HH:MM[:SS]' or a unix " \
                              "timestamp"
    assert "calendar" in read_date("2026-02-30 10:00", "--at").failure().message


def test_hidden_aliases_are_read_but_not_shown() -> None:
    parser = argparse.ArgumentParser()
    add_reservation(parser, aliases=("--at",))
    add_api_options(parser)  # with add_config's --config
    lone = argparse.ArgumentParser()
    add_config(lone)
    assert str(lone.parse_args(["--file", "d.toml"]).config) == "d.toml"
    args = parser.parse_args(["--at", "2026-03-30 09:00", "--file", "c.toml", "--user", "alice"])
    assert reservation_of(args).unwrap() == read_date("2026-03-30 09:00", "-r").unwrap()
    assert str(args.config) == "c.toml" and args.api_user == "alice"
    shown = parser.format_help()
    assert "--reservation" in shown and "--api-user" in shown and "--config" in shown
    assert "--at" not in shown and "--file" not in shown and "--user " not in shown


def _help_texts(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, str]]:
    texts = [(path, parser.description or "")]
    for action in parser._actions:
        if action.help and action.help != argparse.SUPPRESS:
            texts.append((f"{path} {'/'.join(action.option_strings) or action.dest}", action.help))
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                texts += _help_texts(sub, f"{path} {name}")
    return texts


def test_help_texts_are_plain_text() -> None:
    texts = [(where, text) for where, text in _help_texts(build_parser(), "g5k")
             if where.split()[1:2] and where.split()[1] in MINE]
    assert len(texts) > 80
    for where, text in texts:
        assert "``" not in text and not re.search(r":(func|class|mod|data):", text), where
    assert plain("``--dry-run`` prints :func:`g5k.x`") == "--dry-run prints g5k.x"


def test_one_spelling_for_each_option_in_every_command() -> None:
    parser = build_parser()
    spellings: dict[str, set[str]] = {}

    def walk(p: argparse.ArgumentParser, path: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif action.help != argparse.SUPPRESS and path.split()[1:2] and path.split()[1] in MINE:
                spellings.setdefault(action.dest, set()).add("/".join(action.option_strings))

    walk(parser, "g5k")
    assert spellings["reservation_date"] == {"-r/--reservation"}
    assert spellings["walltime"] == {"-w/--walltime"}
    assert spellings["resources"] == {"-l/--resources"}
    assert spellings["job_type"] == {"-t/--type"}
    assert spellings["sql_properties"] == {"-p/--properties"}
    assert spellings["queue"] == {"-q/--queue"}
    assert spellings["project"] == {"--project"}
    assert spellings["name"] == {"-n/--name"}
    assert spellings["config"] == {"--config"}
    assert spellings["api_user"] == {"--api-user"}
    assert spellings["tz"] == {"--tz"}


def _leaves(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, set[str]]]:
    """Each runnable command's path and the option strings it shows."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, {o for a in parser._actions if a.help != argparse.SUPPRESS for o in a.option_strings}
    for action in subs:
        for name, sub in action.choices.items():
            yield from _leaves(sub, f"{path} {name}")


def test_every_command_that_reads_the_configuration_takes_config_and_api_user_where_it_calls_the_api() -> None:
    leaves = dict(_leaves(build_parser(), "g5k"))
    assert len(leaves) > 40
    for path, options in leaves.items():
        if options & {"--frontend", "--api", "--tz"} and path not in OFFLINE:
            assert "--config" in options, path
        if "--api" in options:
            assert {"--api-user", "--config"} <= options, path


def test_at_and_reservation_name_one_date(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)
    plans = []
    for option in ("-r", "--reservation", "--at"):
        assert main(["reserve", "-l", "nodes=1", "--frontend", "rennes", option, "2026-12-01 19:00", "--dry-run"]) == 0
        plans.append(capsys.readouterr().out)
    assert plans[0] == plans[1] == plans[2] and "-r '2026-12-01 19:00:00'" in plans[0]


@pytest.mark.parametrize("argv", [
    ["sub", "-l", "nodes=1", "--frontend", "rennes", "-r", "31/12/2026"],
    ["reserve", "-l", "nodes=1", "--frontend", "rennes", "--at", "31/12/2026"],
    ["grid", "sub", "rennes:nodes=1", "--frontend", "rennes", "-r", "31/12/2026"],
    ["oar", "argv", "-l", "nodes=1", "-r", "31/12/2026"],
])
def test_a_bad_date_is_refused_quoting_it_in_every_command(argv: list[str], capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)
    assert main([*argv, "--dry-run"]) == 1
    captured = capsys.readouterr()
    assert "invalid -r/--reservation '31/12/2026': expected 'YYYY-MM-DD HH:MM[:SS]'" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_dry_runs_write_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)
    for var in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    for argv in (["config", "init"], ["config", "import-execo"], ["ref", "refresh"], ["ref", "sites", "--live"],
                 ["sub", "-l", "nodes=1", "--frontend", "rennes"], ["del", "1", "--frontend", "rennes"],
                 ["reserve", "-n", "exp", "-t", "deploy", "--frontend", "rennes", "-r", "2026-12-01 19:00"],
                 ["grid", "sub", "rennes:nodes=1", "--frontend", "rennes"], ["cleanup"]):
        assert main([*argv, "--dry-run"]) in (0, 1), argv  # import-execo: no execo file to read
        assert "Traceback" not in capsys.readouterr().err
    assert sorted(tmp_path.rglob("*")) == before


def test_plurals() -> None:
    assert [plural(1, "site"), plural(2, "site"), plural(0, "host"), plural(3, "switch", "switches")] == [
        "1 site", "2 sites", "0 hosts", "3 switches"]


def test_failures_are_summed_up_per_endpoint_and_cause() -> None:
    offline = Unreachable("api.grid5000.fr", "HTTPSConnectionPool(host='api.grid5000.fr', port=443): Max retries "
                          "exceeded (Caused by NameResolutionError(... Name or service not known))")
    failed: list[tuple[str, G5kError]] = [(site, offline) for site in ("lille", "lyon", "nancy")]
    failed.append(("rennes", HttpError(503, "https://api.grid5000.fr/3.0/sites/rennes/status")))
    failed.append(("nantes", ParseError("planning payload", "nantes.jobs[0].walltime")))
    lines = failure_lines(failed)
    assert lines[0] == "api.grid5000.fr: name not resolved (no network?) (3 sites: lille, lyon, nancy)"
    assert lines[1] == "api.grid5000.fr: HTTP 503 (1 site: rennes)"
    assert lines[2].startswith("nantes: could not parse planning payload at nantes.jobs[0].walltime")
    assert failure_lines([("x", Unreachable("10.0.0.1", "[Errno 111] Connection refused"))]) == [
        "10.0.0.1: connection refused (1 site: x)"]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_list_every_command_and_no_hidden_alias(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from g5k.cli.main import COMMANDS, main

    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert all(name in script for name, _, _ in COMMANDS)
    assert "--reservation" in script and "--api-user" in script and "--walltime" in script
    plan = [line for line in script.splitlines() if "plan" in line and "--want" in line]
    assert plan or shell == "zsh"
    for line in plan:
        assert "--at" not in line.split() and "--user" not in line.split()
