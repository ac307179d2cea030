"""The `g5k` argv parser and every command, fuzzed offline: any argv ends with an exit code, never a traceback.

Each run is in process with the network cut (every socket connect fails at once), a fresh HOME and no
configuration, and ``--dry-run`` added where a command takes it, so that nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import socket
from collections.abc import Iterator

import pytest
from g5k.cli.main import COMMANDS, build_parser, main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VALUES = st.one_of(
    st.sampled_from(["", "0", "-1", "2", "1:30", "90s", "200", "9" * 400, "1e400", "nan", "rennes", "nova:2",
                     "grid5000:40", "nova-1.lyon", "2026-03-30 09:00", "yesterday", "Europe/Paris", "Mars/Olympus",
                     "x" * 3000, "١٢", "{cluster='a'}/nodes=1", "--", "-", "=", "'", '"', "a,b", "*", "..",
                     "/dev/null", "/nonexistent/dir/file", "0.5", "2147483648s", "deploy", "all", "kavlan:1"]),
    # what a process argv can hold: no NUL, and surrogates only as Python's escapes of undecodable bytes
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=20),
    st.binary(min_size=1, max_size=8).map(lambda raw: raw.replace(b"\x00", b"x").decode("utf-8", "surrogateescape")),
)


def _options(name: str) -> tuple[list[str], list[list[str]]]:
    """The option strings and the sub-subcommand paths of command ``name``."""
    parser = build_parser([name])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = sub.choices[name]
    options: list[str] = []
    paths: list[list[str]] = [[]]
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            paths = [[word] for word in action.choices]
            for child in action.choices.values():
                options += [o for a in child._actions for o in a.option_strings if o not in ("-h", "--help")]
        options += [o for o in action.option_strings if o not in ("-h", "--help")]
    return sorted(set(options)), paths


SPECS = {name: _options(name) for name, _, _ in COMMANDS}


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    name = draw(st.sampled_from(sorted(SPECS)))
    options, paths = SPECS[name]
    argv = [name, *draw(st.sampled_from(paths))]
    for _ in range(draw(st.integers(0, 6))):
        if bool(options) and draw(st.booleans()):
            argv.append(draw(st.sampled_from(options)))
        argv.append(draw(VALUES))
    if "--dry-run" in options and draw(st.integers(0, 9)) > 0:
        argv.append("--dry-run")
    return argv


@pytest.fixture(autouse=True, scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    patch = pytest.MonkeyPatch()

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError(101, "network is unreachable (cut by the fuzz test)")

    patch.setattr(socket.socket, "connect", refuse)
    patch.setattr(socket.socket, "connect_ex", refuse)
    patch.setattr(socket, "getaddrinfo", refuse)
    for key in ("G5K_CONFIG", "G5K_API_USERNAME", "G5K_API_PASSWORD", "G5K_FRONTEND_USER"):
        patch.delenv(key, raising=False)
    patch.setenv("HOME", str(home))
    patch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    patch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    patch.setenv("XDG_STATE_HOME", str(home / "state"))
    patch.chdir(home)
    yield
    patch.undo()


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=argvs())
def test_no_argv_gives_a_traceback(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors and --help
            code = exc.code if isinstance(exc.code, int) else 2
    assert code in (0, 1, 2), (argv, code)
