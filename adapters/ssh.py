"""Run commands on frontends: through ssh (fabric, honouring ~/.ssh/config) or locally (subprocess).

A command is planned first by ``g5kpure.config.connection.plan_command`` (pure); this module only performs plans.
A command that runs and exits non-zero is a success here (a ``CommandOutput`` carrying its exit code):
callers parse OAR's own messages. Failures are the cases where no exit code exists: ``Unreachable``
(refused, unknown host, connection reset or lost mid-command: ``during`` says when), ``AuthError`` (key refused;
host key unknown, changed or revoked: see ``g5k.known_hosts``) and ``Timeout``.

Every call ends. The plan's timeout is one wall-clock budget for the whole call: opening the connection (TCP,
banner, key exchange, authentication; also bounded by the connect timeout) and the command. A watchdog closes
the connection when the budget is spent, whatever paramiko is blocked on, and asks the server for a keepalive
answer every ``keepalive_interval``: a link that leaves one unanswered for ``KEEPALIVE_COUNT`` intervals is
dropped, so that even a call without a timeout (``None``) ends when the network goes silent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import invoke
import paramiko
from fabric import Config, Connection
from fabric.runners import Remote
from g5k import known_hosts
from g5k.results import performed
from paramiko.common import cMSG_CHANNEL_REQUEST
from paramiko.message import Message
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.config import KEEPALIVE_COUNT, CommandOutput, CommandPlan, Endpoint, FrontendAccess, plan_command
from g5kpure.errors import AuthError, CommandFailed, G5kError, Timeout, Unreachable

# paramiko logs every failed connection from its transport thread, tracebacks included; with no handler of its own
# Python would print them on stderr. The failures come back as error values: the log stays quiet unless the
# application configures logging.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

DEFAULT_MAX_PARALLEL = 16
"""Upper bound of simultaneous connections of ``run_plans``."""

_T = TypeVar("_T")
_E = TypeVar("_E")

_NO_EXIT_STATUS = -1  # paramiko's exit status when the channel closed without one


def run_plan(plan: CommandPlan) -> IOResult[CommandOutput, G5kError]:
    """Perform one planned command and return its output, or why it could not complete."""
    if plan.endpoint is None:
        return _run_local(plan)
    return _run_remote(plan, plan.endpoint)


def run(
    argv: Sequence[str], frontend: str | None, access: FrontendAccess, timeout: float | bool | None = False
) -> IOResult[CommandOutput, G5kError]:
    """Plan and run ``argv`` on ``frontend`` (``None`` = the default frontend)."""
    planned = plan_command(tuple(argv), frontend, access, timeout)
    if isinstance(planned, Failure):
        return IOFailure(planned.failure())
    return run_plan(planned.unwrap())


def run_plans(
    plans: Iterable[CommandPlan], max_parallel: int = DEFAULT_MAX_PARALLEL
) -> tuple[IOResult[CommandOutput, G5kError], ...]:
    """Perform several plans at once (at most ``max_parallel`` at a time); results come in input order."""
    todo = tuple(plans)
    if len(todo) <= 1:
        return tuple(run_plan(p) for p in todo)
    with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(todo))), thread_name_prefix="g5k-ssh") as pool:
        return tuple(pool.map(run_plan, todo))


def _run_local(plan: CommandPlan) -> IOResult[CommandOutput, G5kError]:
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            plan.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: a timeout stops the command and its children
        )
    except OSError as exc:
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        return IOFailure(CommandFailed(plan.argv, code, stderr=str(exc), host=plan.frontend))
    try:
        stdout, stderr = proc.communicate(timeout=plan.timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return IOFailure(Timeout(f"command {plan.command_line[:120]!r}", plan.timeout, plan.frontend))
    return IOSuccess(
        CommandOutput(
            argv=plan.argv,
            frontend=plan.frontend,
            exit_code=proc.returncode,
            stdout=stdout.decode("utf-8", errors="replace"),
            stderr=stderr.decode("utf-8", errors="replace"),
            duration_s=time.monotonic() - started,
        )
    )


class _SignallingRemote(Remote):  # type: ignore[misc]
    """fabric's remote runner, whose timeout also stops the remote command: before closing the channel it
    asks sshd to send SIGTERM to the command's process group (the "signal" request, RFC 4254 section 6.9).
    Without a pty, closing the channel alone would leave the command running on the frontend."""

    def kill(self) -> None:
        channel = getattr(self, "channel", None)
        if channel is None:
            return  # the session is not open yet: the connection's watchdog ends the call at its deadline
        with contextlib.suppress(Exception):  # best effort: the channel may already be gone
            message = Message()
            message.add_byte(cMSG_CHANNEL_REQUEST)
            message.add_int(channel.remote_chanid)
            message.add_string("signal")
            message.add_boolean(False)
            message.add_string("TERM")
            channel.transport._send_user_message(message)
        with contextlib.suppress(Exception):
            super().kill()


def _config() -> Config:
    """fabric configuration: ~/.ssh/config is loaded; timeouts stop the remote command."""
    return Config(overrides={"runners": {"remote": _SignallingRemote}})


def _chain(conn: Connection) -> list[Connection]:
    """The connection and its jump hosts, the first hop first."""
    hops = [conn]
    while isinstance(hops[-1].gateway, Connection):
        hops.append(hops[-1].gateway)
    return hops[::-1]


def _secure(conn: Connection, endpoint: Endpoint, budget: float) -> None:
    """Check host keys on every hop (our policy; fabric's default accepts any key) and bound each phase of
    opening it (TCP, banner, key exchange, authentication) by ``budget``."""
    for hop in _chain(conn):
        files = known_hosts.files_for(hop.ssh_config, endpoint.known_hosts, endpoint.accept_new_host_keys)
        hop.client.set_missing_host_key_policy(known_hosts.CheckingPolicy(files))
        name = known_hosts.key_name(hop.host, hop.port)
        # fabric rounds connect_timeout to whole seconds: the float goes to paramiko directly
        hop.connect_timeout = None
        hop.connect_kwargs.update(timeout=budget, banner_timeout=budget, auth_timeout=budget,
                                  channel_timeout=budget)
        disabled = files.disabled_algorithms(name, getattr(paramiko.Transport, "_preferred_keys", ()))
        if disabled:
            hop.connect_kwargs["disabled_algorithms"] = {"keys": disabled}


def _connection(endpoint: Endpoint, budget: float | None = None) -> Connection:
    """An unopened fabric connection to ``endpoint`` that checks host keys; each phase of opening it is bounded
    by ``budget`` (default: the endpoint's connect timeout)."""
    limit = endpoint.connect_timeout if budget is None else budget
    connect_kwargs: dict[str, object] = {}
    if endpoint.key_filename is not None:
        # An explicit key is the only identity tried: no agent, no ~/.ssh/id_* guessing.
        connect_kwargs.update(key_filename=[endpoint.key_filename], look_for_keys=False, allow_agent=False)
    gateway = None
    if endpoint.proxy_jump:
        # "[user@]host[:port]" like ssh -J; the jump host is reached with the same key (unless ~/.ssh/config says)
        gateway = Connection(endpoint.proxy_jump, config=_config(), connect_kwargs=dict(connect_kwargs))
    conn = Connection(
        endpoint.host,
        user=endpoint.user,
        port=endpoint.port,
        config=_config(),  # loads ~/.ssh/config (User, Port, IdentityFile, ProxyJump...) for the host
        connect_kwargs=connect_kwargs,
        gateway=gateway,
    )
    _secure(conn, endpoint, limit)
    return conn


def _is_auth_problem(exc: BaseException, endpoint: Endpoint) -> bool:
    """True for failures of our own credentials: unreadable or invalid key file, no usable method."""
    if isinstance(exc, OSError) and not isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return endpoint.key_filename is not None and getattr(exc, "filename", None) == endpoint.key_filename
    if isinstance(exc, paramiko.SSHException):
        text = str(exc).lower()
        return "private key" in text or "authentication" in text or "key file" in text
    return False


_DEADLINE = "deadline"
_SILENT = "silent"
_TICK_S = 0.1
_GRACE_S = 2.0
"""How long past its own timeout a command may take to stop before the watchdog cuts the connection."""


class _Watchdog:
    """Ends an ssh connection that outlives its deadline or whose link stops answering keepalives, by closing
    its transports: whatever call is blocked on them returns. ``fired`` says why (``None`` while it has not)."""

    def __init__(self, conn: Connection, keepalive_interval: float | None) -> None:
        self._conn = conn
        self._interval = keepalive_interval
        self._deadline: float | None = None
        self._asked_at: float | None = None
        self._stop = threading.Event()
        self.fired: str | None = None
        self.silent_s = 0.0
        threading.Thread(target=self._watch, name="g5k-ssh-watchdog", daemon=True).start()

    def set_deadline(self, deadline: float | None) -> None:
        """End the connection at this ``time.monotonic()`` value (None: no deadline)."""
        self._deadline = deadline

    def keep_alive(self) -> None:
        """Start asking the server for a keepalive answer every interval (the connection must be open)."""
        transport = self._conn.client.get_transport()
        if self._interval and transport is not None:
            threading.Thread(target=self._ask, args=(transport,), name="g5k-ssh-keepalive", daemon=True).start()

    def stop(self) -> None:
        """Stop watching (the caller closes the connection)."""
        self._stop.set()

    def _ask(self, transport: paramiko.Transport) -> None:
        assert self._interval is not None
        while not self._stop.wait(self._interval) and transport.is_active():
            self._asked_at = time.monotonic()
            try:
                # OpenSSH answers every global request, even unknown ones (with a failure): an answer proves the
                # whole path alive; the call returns on the answer or when the transport closes
                transport.global_request("keepalive@openssh.com", wait=True)
            except (OSError, EOFError, paramiko.SSHException):
                return
            self._asked_at = None

    def _watch(self) -> None:
        while not self._stop.wait(_TICK_S):
            now = time.monotonic()
            if self._deadline is not None and now >= self._deadline:
                self._fire(_DEADLINE)
            asked = self._asked_at
            if asked is not None and self._interval and now - asked >= self._interval * KEEPALIVE_COUNT:
                self.silent_s = now - asked + self._interval
                self._fire(_SILENT)

    def _fire(self, why: str) -> None:
        if self.fired is None:
            self.fired = why
        for hop in _chain(self._conn):
            transport = hop.client.get_transport()
            if transport is not None:
                with contextlib.suppress(Exception):  # closing what is already broken may fail: it is closed
                    transport.close()


def _phase(conn: Connection) -> str:
    """What opening ``conn`` was doing when it stopped (for messages): the first hop not yet through."""
    for hop in _chain(conn):
        jump = "" if hop is conn else f" of the jump host {hop.host}"
        transport = hop.client.get_transport()
        if transport is None:
            return f"connecting{jump}"
        if not transport.remote_version:
            return f"reading the ssh banner{jump}"
        if not transport.initial_kex_done:
            return f"exchanging keys{jump}"
        if transport.auth_handler is None or not transport.auth_handler.is_authenticated():
            return f"authenticating{jump}"
    return "opening the session"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The failure, then what caused it, down the chain (paramiko wraps socket errors in its own)."""
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _no_such_name(exc: BaseException) -> bool:
    """Whether the failure is a name that does not resolve (offline or misspelt: retrying within a command's time
    limit does not help)."""
    return any(isinstance(seen, socket.gaierror) for seen in _causes(exc))


def _reason(exc: BaseException) -> str:
    """The underlying cause of a failure in a few words (paramiko wraps socket errors in its own texts)."""
    for seen in _causes(exc):
        if isinstance(seen, paramiko.ssh_exception.NoValidConnectionsError):
            return "; ".join(f"{(getattr(e, 'strerror', None) or str(e)).lower()} ({a[0]}:{a[1]})"
                             for a, e in seen.errors.items())
        if isinstance(seen, ConnectionResetError):
            return "connection reset by peer"
        if isinstance(seen, EOFError):
            return "the server closed the connection"
        if isinstance(seen, socket.gaierror):
            return f"name not resolved ({seen.strerror or seen}; no network?)"
    return str(exc) or type(exc).__name__


_SSH_FIX = "check the host name, port and network (or the jump host: proxy_jump / ProxyJump)"


class Link:
    """An open ssh connection, checked and watched: keepalives run until ``close()``."""

    def __init__(self, conn: Connection, watchdog: _Watchdog, where: str, started: float) -> None:
        self.conn = conn
        self.watchdog = watchdog
        self.where = where
        self.started = started

    def elapsed(self) -> float:
        """Seconds since the connection was asked for."""
        return round(time.monotonic() - self.started, 3)

    def lost(self, exc: BaseException | None, during: str) -> Unreachable:
        """The error of a connection that broke ``during`` something (keepalives unanswered, reset, closed)."""
        if self.watchdog.fired == _SILENT:
            detail = f"no answer to ssh keepalives for {self.watchdog.silent_s:.0f}s: the link went silent"
        elif exc is None:
            detail = "the session ended without an exit status"
        else:
            detail = _reason(exc)
        return Unreachable(self.where, detail, self.elapsed(), during=during)

    def close(self) -> None:
        """Stop the keepalives and close the connection (and its jump hosts)."""
        self.watchdog.stop()
        for hop in reversed(_chain(self.conn)):
            with contextlib.suppress(Exception):  # closing a broken connection may raise anything: it is closed
                hop.close()


def open_link(endpoint: Endpoint, where: str, budget: float | None = None,
              started: float | None = None) -> IOResult[Link, G5kError]:
    """Open and authenticate an ssh connection to ``endpoint`` (host key checked), within the endpoint's connect
    timeout and ``budget`` seconds counted from ``started``; keepalives watch the link until it is closed."""
    began = time.monotonic() if started is None else started
    limit = endpoint.connect_timeout if budget is None else min(endpoint.connect_timeout, budget)
    remaining = limit - (time.monotonic() - began)
    if remaining <= 0:
        return IOFailure(Timeout(f"ssh connection to {where}", limit, endpoint.frontend, during="connecting"))
    conn = _connection(endpoint, remaining)
    watchdog = _Watchdog(conn, endpoint.keepalive_interval)
    watchdog.set_deadline(began + limit)
    link = Link(conn, watchdog, where, began)
    try:
        conn.open()
    except Exception as exc:  # paramiko, sockets and fabric raise many kinds; all are field failures here
        error = _open_error(exc, link, endpoint, limit)
        link.close()
        return IOFailure(error)
    watchdog.set_deadline(None)
    watchdog.keep_alive()
    return IOSuccess(link)


def _open_error(exc: BaseException, link: Link, endpoint: Endpoint, limit: float) -> G5kError:
    where, phase = link.where, _phase(link.conn)
    if isinstance(exc, known_hosts.HostKeyRefused):
        return AuthError(where, exc.detail, exc.fix)
    if isinstance(exc, paramiko.BadHostKeyException):
        return AuthError(where, f"host key mismatch: {exc}")
    timed_out = (link.watchdog.fired == _DEADLINE or isinstance(exc, TimeoutError)
                 or link.elapsed() >= limit - _TICK_S)
    if timed_out:
        return Timeout(f"ssh connection to {where}", limit, endpoint.frontend, during=phase)
    if isinstance(exc, paramiko.AuthenticationException):
        return AuthError(where, str(exc) or "authentication failed")
    if _is_auth_problem(exc, endpoint):
        return AuthError(where, str(exc) or type(exc).__name__)
    if _no_such_name(exc):
        return Unreachable(where, _reason(exc), fix=_SSH_FIX, lasting=True)
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError | socket.gaierror) or phase == "connecting":
        return Unreachable(where, _reason(exc), link.elapsed(), fix=_SSH_FIX)
    return Unreachable(where, _reason(exc), link.elapsed(), during=phase, fix=_SSH_FIX)


def _run_remote(plan: CommandPlan, endpoint: Endpoint) -> IOResult[CommandOutput, G5kError]:
    started = time.monotonic()
    jump = f" via {endpoint.proxy_jump}" if endpoint.proxy_jump else ""
    where = f"{plan.frontend} ({endpoint.label}{jump})"
    what = f"command {plan.command_line[:120]!r}"
    opened = open_link(endpoint, where, plan.timeout, started)
    if isinstance(opened, IOFailure):
        return IOFailure(performed(opened).failure())
    link: Link = performed(opened).unwrap()
    try:
        remaining = None if plan.timeout is None else plan.timeout - (time.monotonic() - started)
        if remaining is not None and remaining <= 0:
            return IOFailure(Timeout(what, plan.timeout, where, during="opening the session"))
        if remaining is not None:
            link.watchdog.set_deadline(time.monotonic() + remaining + _GRACE_S)
        try:
            result = link.conn.run(plan.command_line, hide=True, warn=True, in_stream=False, pty=False,
                                   timeout=remaining)
        except invoke.exceptions.CommandTimedOut:
            return IOFailure(Timeout(what, plan.timeout, where))
        except (OSError, paramiko.SSHException, EOFError, invoke.exceptions.ThreadException) as exc:
            if link.watchdog.fired == _DEADLINE:
                return IOFailure(Timeout(what, plan.timeout, where))
            return IOFailure(link.lost(exc, f"running {what}"))
        if result.exited == _NO_EXIT_STATUS or result.exited is None:
            if link.watchdog.fired == _DEADLINE:
                return IOFailure(Timeout(what, plan.timeout, where))
            return IOFailure(link.lost(None, f"running {what}"))
        return IOSuccess(
            CommandOutput(
                argv=plan.argv,
                frontend=plan.frontend,
                exit_code=int(result.exited),
                stdout=result.stdout,
                stderr=result.stderr,
                duration_s=link.elapsed(),
            )
        )
    finally:
        link.close()


def to_ioresult(value: Result[_T, _E]) -> IOResult[_T, _E]:
    """Mark a ``Result`` computed from performed effects as an ``IOResult``."""
    return IOResult.from_result(value)


def output_or_failure(result: IOResult[_T, G5kError]) -> _T | G5kError:
    """Unwrap an ``IOResult`` into its plain value or its error (for code that branches on the kind)."""
    inner = performed(result)
    if isinstance(inner, Success):
        value: _T = inner.unwrap()
        return value
    error: G5kError = inner.failure()
    return error
