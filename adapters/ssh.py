"""Run commands on frontends: through ssh (fabric, honouring ~/.ssh/config) or locally (subprocess).

A command is planned first by ``g5kpure.config.connection.plan_command`` (pure); this module only performs plans.
A command that runs and exits non-zero is a success here (a ``CommandOutput`` carrying its exit code):
callers parse OAR's own messages. Failures are the cases where no exit code exists: ``Unreachable``
(refused, unknown host, connection lost mid-command), ``AuthError`` (key refused, host key mismatch) and
``Timeout``. Every call has a time limit unless the plan explicitly says ``None``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import invoke
import paramiko
from fabric import Config, Connection
from fabric.runners import Remote
from g5k.results import performed
from paramiko.common import cMSG_CHANNEL_REQUEST
from paramiko.message import Message
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.config import CommandOutput, CommandPlan, Endpoint, FrontendAccess, plan_command
from g5kpure.errors import AuthError, CommandFailed, G5kError, Timeout, Unreachable

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
        if channel is not None:
            with contextlib.suppress(Exception):  # best effort: the channel may already be gone
                message = Message()
                message.add_byte(cMSG_CHANNEL_REQUEST)
                message.add_int(channel.remote_chanid)
                message.add_string("signal")
                message.add_boolean(False)
                message.add_string("TERM")
                channel.transport._send_user_message(message)
        super().kill()


def _config() -> Config:
    """fabric configuration: ~/.ssh/config is loaded; timeouts stop the remote command."""
    return Config(overrides={"runners": {"remote": _SignallingRemote}})


def _connection(endpoint: Endpoint) -> Connection:
    connect_kwargs: dict[str, object] = {
        "banner_timeout": endpoint.connect_timeout,
        "auth_timeout": endpoint.connect_timeout,
    }
    if endpoint.key_filename is not None:
        # An explicit key is the only identity tried: no agent, no ~/.ssh/id_* guessing.
        connect_kwargs.update(key_filename=[endpoint.key_filename], look_for_keys=False, allow_agent=False)
    gateway = None
    if endpoint.proxy_jump:
        # "[user@]host[:port]" like ssh -J; the jump host is reached with the same key (unless ~/.ssh/config says)
        gateway = Connection(
            endpoint.proxy_jump,
            config=_config(),
            connect_timeout=endpoint.connect_timeout,
            connect_kwargs=dict(connect_kwargs),
        )
    return Connection(
        endpoint.host,
        user=endpoint.user,
        port=endpoint.port,
        config=_config(),  # loads ~/.ssh/config (User, Port, IdentityFile, ProxyJump...) for the host
        connect_timeout=endpoint.connect_timeout,
        connect_kwargs=connect_kwargs,
        gateway=gateway,
    )


def _is_auth_problem(exc: BaseException, endpoint: Endpoint) -> bool:
    """True for failures of our own credentials: unreadable or invalid key file, no usable method."""
    if isinstance(exc, OSError) and not isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return endpoint.key_filename is not None and getattr(exc, "filename", None) == endpoint.key_filename
    if isinstance(exc, paramiko.SSHException):
        text = str(exc).lower()
        return "private key" in text or "authentication" in text or "key file" in text
    return False


def _run_remote(plan: CommandPlan, endpoint: Endpoint) -> IOResult[CommandOutput, G5kError]:
    started = time.monotonic()
    jump = f" via {endpoint.proxy_jump}" if endpoint.proxy_jump else ""
    where = f"{plan.frontend} ({endpoint.label}{jump})"

    def elapsed() -> float:
        return round(time.monotonic() - started, 3)

    conn = _connection(endpoint)
    try:
        try:
            conn.open()
        except paramiko.BadHostKeyException as exc:
            return IOFailure(AuthError(where, f"host key mismatch: {exc}"))
        except paramiko.AuthenticationException as exc:
            return IOFailure(AuthError(where, str(exc) or "authentication failed"))
        except TimeoutError:
            return IOFailure(Unreachable(where, "connection timed out", elapsed()))
        except (OSError, paramiko.SSHException, EOFError) as exc:
            if _is_auth_problem(exc, endpoint):
                return IOFailure(AuthError(where, str(exc) or type(exc).__name__))
            return IOFailure(Unreachable(where, str(exc) or type(exc).__name__, elapsed()))
        try:
            result = conn.run(plan.command_line, hide=True, warn=True, in_stream=False, pty=False, timeout=plan.timeout)
        except invoke.exceptions.CommandTimedOut:
            return IOFailure(Timeout(f"command {plan.command_line[:120]!r}", plan.timeout, where))
        except (OSError, paramiko.SSHException, EOFError, invoke.exceptions.ThreadException) as exc:
            return IOFailure(Unreachable(where, f"connection lost: {exc}", elapsed()))
        if result.exited == _NO_EXIT_STATUS or result.exited is None:
            return IOFailure(Unreachable(where, "connection lost before the command finished", elapsed()))
        return IOSuccess(
            CommandOutput(
                argv=plan.argv,
                frontend=plan.frontend,
                exit_code=int(result.exited),
                stdout=result.stdout,
                stderr=result.stderr,
                duration_s=elapsed(),
            )
        )
    finally:
        with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
            conn.close()


def to_ioresult(value: Result[_T, _E]) -> IOResult[_T, _E]:
    """Mark a ``Result`` computed from performed effects as an ``IOResult``."""
    return IOResult.from_result(value)


def output_or_failure(result: IOResult[CommandOutput, G5kError]) -> CommandOutput | G5kError:
    """Unwrap an ``IOResult`` of this module into its plain value (for code that branches on the kind)."""
    inner = performed(result)
    if isinstance(inner, Success):
        value: CommandOutput = inner.unwrap()
        return value
    error: G5kError = inner.failure()
    return error
