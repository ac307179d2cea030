"""The kaconsole dialogue on console transcripts (pure), and KaconsoleProcess through the testbed's real sshd."""

from __future__ import annotations

import pytest
from g5k.kaconsole import KaconsoleProcess
from g5k.results import performed
from returns.io import IOFailure, IOSuccess
from returns.result import Failure

from g5kpure.config import ConnectionParams, FrontendAccess
from g5kpure.deploy import POKE, Console, Phase, feed, kaconsole_argv, type_command
from g5kpure.errors import AuthError, InvalidInput, Timeout
from tests.conftest import FIXTURES_DIR

STANDIN = FIXTURES_DIR / "kaconsole" / "kaconsole3_standin.py"


def drive(console: Console, *chunks: str) -> tuple[Console, list[str]]:
    typed: list[str] = []
    for chunk in chunks:
        console, out = feed(console, chunk).unwrap()
        typed.append(out)
    return console, typed


def test_argv() -> None:
    assert kaconsole_argv("nova-1.lyon.grid5000.fr").unwrap() == ("kaconsole3", "-m", "nova-1.lyon.grid5000.fr")
    assert isinstance(kaconsole_argv("-x").failure(), InvalidInput)


def test_login_dialogue_types_the_right_things_at_the_right_time() -> None:
    console, typed = drive(
        Console(),
        "[Kaconsole3] Connection to console nova-1 ",
        "opened\r\n",
        "\r\nDebian GNU/Linux 12 nova-1 ttyS0\r\n\r\nnova-1 login: \r\nnova-1 login: ",
        "root\r\nPassword: ",
        "\r\nroot@nova-1:~# ",
    )
    assert typed == ["", POKE, "root\n", "grid5000\n", ""]
    assert console.phase is Phase.READY


def test_command_output_without_echo_nor_carriage_returns() -> None:
    ready, _ = drive(Console(), "Connection to console x opened\n", "login: ", "Password: ", "root@x:~# ")
    running, text = type_command(ready, "uname -s; echo done").unwrap()
    assert text == "uname -s; echo done\n"
    done, _ = drive(running, "uname -s; echo do", "ne\r\nLinux\r\ndone\r\n", "root@x:~# ")
    assert done.phase is Phase.READY and done.output == "Linux\ndone\n"
    assert isinstance(type_command(running, "ls").failure(), InvalidInput)  # not at the prompt
    assert isinstance(type_command(done, "a\nb").failure(), InvalidInput)


def test_refused_login_is_an_auth_error() -> None:
    console, _ = drive(Console(password="bad"), "Connection to console x opened\n", "x login: ", "Password: ")
    refused = feed(console, "\r\nLogin incorrect\r\nx login: ")
    assert isinstance(refused, Failure) and isinstance(refused.failure(), AuthError)


# --- through the testbed frontend sshd (as a normal user: the system python3 runs the kaconsole3 stand-in) ---


def console_for(params: ConnectionParams, host: str, **kw: object) -> KaconsoleProcess:
    return KaconsoleProcess(host, access=FrontendAccess(params), connection_timeout=20,
                            kaconsole3=("python3", str(STANDIN)), **kw)  # type: ignore[arg-type]


@pytest.mark.integration
def test_console_login_and_commands(frontend_params: ConnectionParams) -> None:
    with console_for(frontend_params, "paravance-1.rennes.grid5000.fr") as console:
        connected = console.connect()
        assert isinstance(connected, IOSuccess), connected
        out = console.run("echo hello from the console; echo $((6 * 7))")
        assert isinstance(out, IOSuccess), out
        assert performed(out).unwrap() == "hello from the console\n42\n"
        second = console.run("printf 'a b'")
        assert performed(second).unwrap() == "a b"


@pytest.mark.integration
def test_console_wrong_password_and_slow_command(frontend_params: ConnectionParams) -> None:
    with console_for(frontend_params, "paravance-2.rennes.grid5000.fr", password="wrong") as console:
        refused = console.connect()
        assert isinstance(refused, IOFailure)
        assert isinstance(performed(refused).failure(), AuthError)
    with console_for(frontend_params, "paravance-2.rennes.grid5000.fr") as console:
        assert isinstance(console.connect(), IOSuccess)
        slow = console.run("sleep 5", timeout=1)
        assert isinstance(slow, IOFailure) and isinstance(performed(slow).failure(), Timeout)
