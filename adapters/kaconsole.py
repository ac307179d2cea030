"""A node's serial console: ``kaconsole3`` on the node's frontend over ssh with a terminal (execo's
``KaconsoleProcess``). The dialogue (banner, login, password, prompt, command output) is ``g5kpure.deploy.kaconsole``;
this class only moves bytes between it and the ssh channel, within time limits.

    with KaconsoleProcess("nova-1.lyon.grid5000.fr", access=access) as console:
        performed(console.connect())           # IOResult: logged in, at the prompt
        out = console.run("uname -r")         # IOResult[str]: the command's output

A console is reached through ssh only: with ``no_ssh_for_local_frontend`` on the node's own frontend it is an
``InvalidInput`` (kaconsole3 needs a terminal, which the local runner does not give).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from types import TracebackType

import paramiko
from g5k.ssh import _connection  # the same ssh settings as every frontend command
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure

from g5kpure.config import FrontendAccess, plan_command
from g5kpure.deploy import (
    CLOSE,
    DEFAULT_PASSWORD,
    DEFAULT_PROMPT,
    DEFAULT_USER,
    Console,
    Phase,
    feed,
    kaconsole_argv,
    type_command,
)
from g5kpure.errors import AuthError, G5kError, InvalidInput, Timeout, Unreachable
from g5kpure.hosts import get_host_site


class KaconsoleProcess:
    """The console of ``host`` through kaconsole3 on its frontend (the site in its name unless ``frontend``)."""

    def __init__(
        self,
        host: str,
        frontend: str | None = None,
        access: FrontendAccess | None = None,
        connection_timeout: float = 20.0,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        prompt: str = DEFAULT_PROMPT,
        kaconsole3: tuple[str, ...] = ("kaconsole3",),
    ) -> None:
        self.host = host
        self.frontend = frontend or get_host_site(host)
        self.access = access or FrontendAccess()
        self.connection_timeout = connection_timeout
        self.kaconsole3 = kaconsole3
        self.console = Console(user=user, password=password, prompt=prompt)
        self._conn: object | None = None
        self._channel: paramiko.Channel | None = None

    def connect(self) -> IOResult[None, G5kError]:
        """Open the console and log in; done when the shell prompt shows (within ``connection_timeout``)."""
        argv = kaconsole_argv(self.host, self.kaconsole3)
        if isinstance(argv, Failure):
            return IOFailure(argv.failure())
        plan = plan_command(argv.unwrap(), self.frontend, self.access, self.connection_timeout)
        if isinstance(plan, Failure):
            return IOFailure(plan.failure())
        endpoint = plan.unwrap().endpoint
        if endpoint is None:
            return IOFailure(InvalidInput(name="frontend", value=str(self.frontend),
                                          expected="a frontend reached over ssh (kaconsole3 needs a terminal)"))
        conn = _connection(endpoint)
        self._conn = conn
        try:
            conn.open()
            channel = conn.client.get_transport().open_session(timeout=self.connection_timeout)
            channel.get_pty(term="vt100", width=200, height=50)
            channel.exec_command(plan.unwrap().command_line)
        except paramiko.AuthenticationException as exc:
            self.close()
            return IOFailure(AuthError(endpoint.label, str(exc) or "authentication failed"))
        except (OSError, paramiko.SSHException, EOFError) as exc:
            self.close()
            return IOFailure(Unreachable(endpoint.label, f"{type(exc).__name__}: {exc}"))
        self._channel = channel
        done = self._pump(time.monotonic() + self.connection_timeout, lambda c: c.phase is Phase.READY,
                          f"login on the console of {self.host}")
        if isinstance(done, IOFailure):
            self.close()
        return done

    def run(self, command: str, timeout: float = 60.0) -> IOResult[str, G5kError]:
        """Type one command line and return what it printed before the next prompt (``\\n`` line ends)."""
        if self._channel is None:
            return IOFailure(InvalidInput(name="console", value=self.host, expected="a connected console"))
        typed = type_command(self.console, command)
        if isinstance(typed, Failure):
            return IOFailure(typed.failure())
        self.console, text = typed.unwrap()
        try:
            self._channel.sendall(text.encode())
        except (OSError, paramiko.SSHException) as exc:
            return IOFailure(Unreachable(self.host, f"console lost: {exc}"))
        done = self._pump(time.monotonic() + timeout, lambda c: c.phase is Phase.READY,
                          f"command {command[:60]!r} on the console of {self.host}")
        return done.map(lambda _: self.console.output)

    def close(self) -> None:
        """Leave the console (``&.``) and close the ssh connection."""
        if self._channel is not None:
            with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
                self._channel.sendall(CLOSE.encode())
                self._channel.close()
            self._channel = None
        conn = self._conn
        self._conn = None
        if conn is not None:
            with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
                conn.close()  # type: ignore[attr-defined]

    def __enter__(self) -> KaconsoleProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _pump(self, deadline: float, until: Callable[[Console], bool], what: str) -> IOResult[None, G5kError]:
        channel = self._channel
        assert channel is not None
        while not until(self.console):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return IOFailure(Timeout(what=what, after_s=None, host=str(self.frontend)))
            channel.settimeout(min(remaining, 0.5))
            try:
                data = channel.recv(4096)
            except TimeoutError:
                continue
            except (OSError, paramiko.SSHException) as exc:
                return IOFailure(Unreachable(self.host, f"console lost: {exc}"))
            if not data:
                return IOFailure(Unreachable(self.host, f"the console closed during {what}"))
            fed = feed(self.console, data.decode("utf-8", errors="replace"))
            if isinstance(fed, Failure):
                return IOFailure(fed.failure())
            self.console, typed = fed.unwrap()
            if typed:
                try:
                    channel.sendall(typed.encode())
                except (OSError, paramiko.SSHException) as exc:
                    return IOFailure(Unreachable(self.host, f"console lost: {exc}"))
        return IOSuccess(None)

