"""A node's serial console through ``kaconsole3`` as a pure dialogue (execo_g5k's ``KaconsoleProcess``).

kaconsole3, run on the node's frontend with a terminal, prints ``Connection to console ... opened``; the
console then shows a login prompt once it is poked with end-of-transmission characters; after the user and the
password, the shell prompt appears. Commands are typed, and the text up to the next prompt is their output.
Typing ``&.`` ends the session.

:class:`Console` holds where the dialogue stands and the text not consumed yet; :func:`feed` takes the text
read from the terminal and returns the new value with what to type next. The adapter (``g5k.kaconsole``)
only moves bytes. The prompt and the connection banner are data of the value, output comes back without the
echoed command line and the terminal's ``\\r``, and a console that closes or refuses the login is an error value.
"""

from __future__ import annotations

import enum
import re

from attrs import evolve, frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import AuthError, G5kError, InvalidInput

DEFAULT_PROMPT = r"root@[^#\s]*[#$] ?$"
DEFAULT_USER = "root"
DEFAULT_PASSWORD = "grid5000"  # the default root password of Grid'5000's deployable environments
BANNER = r"Connection to console .* opened"
POKE = "\x04\n\x04\n"
CLOSE = "&."
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")


class Phase(enum.Enum):
    """Where the dialogue stands."""

    CONNECTING = "connecting"  # waiting for kaconsole3's banner
    LOGIN = "login"  # banner seen, poked, waiting for "login: "
    PASSWORD = "password"  # user sent, waiting for "Password: "
    SHELL = "shell"  # password sent, waiting for the first prompt
    READY = "ready"  # prompt seen: a command may be typed
    RUNNING = "running"  # a command was typed, waiting for the prompt that ends its output


@frozen
class Console:
    """The state of a console dialogue: phase, unread text, the last command's output, and its settings."""

    phase: Phase = Phase.CONNECTING
    pending: str = ""
    command: str = ""
    output: str = ""
    user: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    prompt: str = DEFAULT_PROMPT


def kaconsole_argv(host: str, kaconsole3: tuple[str, ...] = ("kaconsole3",)) -> Result[tuple[str, ...], G5kError]:
    """The frontend command opening ``host``'s console (``kaconsole3 -m HOST``)."""
    if not _NAME_RE.match(host):
        return Failure(InvalidInput(name="host", value=host, expected="a node name such as nova-1.lyon.grid5000.fr"))
    return Success((*kaconsole3, "-m", host))


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "")


def feed(console: Console, text: str) -> Result[tuple[Console, str], G5kError]:
    """Consume terminal text; the new state and what to type now (possibly nothing)."""
    state = evolve(console, pending=console.pending + _clean(text))
    typed = ""
    while True:
        step = _step(state)
        if isinstance(step, Failure):
            return Failure(step.failure())
        new, out = step.unwrap()
        typed += out
        if new == state:
            return Success((new, typed))
        state = new


def _step(c: Console) -> Result[tuple[Console, str], G5kError]:
    prompt = re.compile(c.prompt, re.MULTILINE)
    if c.phase is Phase.CONNECTING:
        m = re.search(BANNER, c.pending)
        if m:
            return Success((evolve(c, phase=Phase.LOGIN, pending=c.pending[m.end():]), POKE))
    elif c.phase is Phase.LOGIN:
        m = re.search(r"login: ?$", c.pending, re.MULTILINE)
        if m:
            return Success((evolve(c, phase=Phase.PASSWORD, pending=c.pending[m.end():]), c.user + "\n"))
    elif c.phase is Phase.PASSWORD:
        m = re.search(r"Password: ?$", c.pending, re.MULTILINE)
        if m:
            return Success((evolve(c, phase=Phase.SHELL, pending=c.pending[m.end():]), c.password + "\n"))
    elif c.phase is Phase.SHELL:
        if re.search(r"Login incorrect", c.pending):
            return Failure(AuthError(where="node console", detail=f"login as {c.user} refused"))
        m = prompt.search(c.pending)
        if m:
            return Success((evolve(c, phase=Phase.READY, pending=c.pending[m.end():]), ""))
    elif c.phase is Phase.RUNNING:
        m = prompt.search(c.pending)
        if m:
            body = c.pending[:m.start()]
            first, _, rest = body.partition("\n")
            output = rest if first.strip() == c.command.strip() else body
            return Success((evolve(c, phase=Phase.READY, pending=c.pending[m.end():], output=output), ""))
    return Success((c, ""))


def type_command(console: Console, command: str) -> Result[tuple[Console, str], G5kError]:
    """Type one command line at the prompt: the new state and the text to send."""
    if console.phase is not Phase.READY:
        return Failure(InvalidInput(name="console state", value=console.phase.value, expected="the shell prompt"))
    if "\n" in command or "\r" in command:
        return Failure(InvalidInput(name="command", value=command, expected="one line"))
    return Success((evolve(console, phase=Phase.RUNNING, command=command, output="", pending=""), command + "\n"))
