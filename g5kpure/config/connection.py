"""How to reach a frontend: connection parameters as data, and the pure resolution of a frontend name to an ssh
endpoint and of a command to a plan (where it runs, with which timeout).

A host rewrite is data: ordered ``(regex, replacement)`` rules, the first that matches the whole name wins, and
otherwise a suffix is appended. The fields of ``ConnectionParams`` that are configuration keys (``[frontend]``,
``[oarsh]``) carry their schema in their metadata (``g5kpure.config.kinds.Setting``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from attrs import evolve, field, frozen
from returns.result import Failure, Result, Success

from g5kpure.config.kinds import Kind, Setting, setting, shared
from g5kpure.errors import G5kError, InvalidInput

DEFAULT_COMMAND_TIMEOUT = 900.0
"""Seconds allowed to a frontend command when the caller says ``timeout=False`` (``g5k.default_timeout``)."""

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds allowed to open an ssh connection."""

DEFAULT_KEEPALIVE_INTERVAL = 10.0
"""Seconds between ssh keepalives; a link that leaves one unanswered for ``KEEPALIVE_COUNT`` intervals is dropped."""

KEEPALIVE_COUNT = 3
"""How many keepalive intervals an unanswered keepalive is waited for before the link is declared dead."""

_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")

SSH_USER: Final = Setting(Kind.OPT_STR, "ssh user (unset: ~/.ssh/config or the local user)")
SSH_PORT: Final = Setting(Kind.OPT_PORT, "ssh port (unset: ~/.ssh/config or 22)")
SSH_KEYFILE: Final = Setting(Kind.OPT_STR, "private key file (unset: ssh agent / ~/.ssh/config)", name="keyfile")
SSH_PROXY_JUMP: Final = Setting(Kind.OPT_STR, "ssh jump host, e.g. access.grid5000.fr from outside (unset: "
                                "~/.ssh/config)", execo=False)


def _rules(value: Mapping[str, str] | Iterable[Sequence[str]]) -> tuple[tuple[str, str], ...]:
    pairs = value.items() if isinstance(value, Mapping) else value
    return tuple((str(p), str(r)) for p, r in pairs)


@frozen
class ConnectionParams:
    """How to reach frontends: ssh user, port, key, host rewriting, jump host, host key checking and time limits.

    ``None`` for user, port or key means "let ~/.ssh/config and the ssh defaults decide". Host keys are checked
    against ``~/.ssh/known_hosts`` (or the ``UserKnownHostsFile`` of ``~/.ssh/config``), the system's
    ``/etc/ssh/ssh_known_hosts`` and ``known_hosts``; an unknown key is refused unless ``accept_new_host_keys``,
    a changed one always. ``timeout`` bounds a whole call (connection included; ``None``: no limit),
    ``connect_timeout`` the opening of the connection, and a link that stops answering keepalives
    (``keepalive_interval``) is dropped even without a timeout.
    ``host_rewrite`` rules are ``(regex, replacement)`` pairs matched against the whole frontend name
    (``re.fullmatch``); the replacement may use groups (``\\1``). When no rule matches, the host is the
    name followed by ``host_suffix``.
    """

    user: str | None = field(default=None, metadata=shared(SSH_USER))
    port: int | None = field(default=None, metadata=shared(SSH_PORT))
    key_filename: str | None = field(default=None, metadata=shared(SSH_KEYFILE))
    host_suffix: str = field(default="", metadata=setting(
        Kind.STR, "appended to a name no host_rewrite rule matches", execo=False))
    host_rewrite: tuple[tuple[str, str], ...] = field(default=(), converter=_rules, metadata=setting(
        Kind.RULES, "[regex, replacement] rules on the whole name; first match wins", execo=False))
    proxy_jump: str | None = field(default=None, metadata=shared(SSH_PROXY_JUMP))
    timeout: float | None = DEFAULT_COMMAND_TIMEOUT
    connect_timeout: float = field(default=DEFAULT_CONNECT_TIMEOUT, metadata=setting(
        Kind.SECONDS, "seconds allowed to open an ssh connection (TCP, banner, key exchange, authentication)",
        execo=False))
    known_hosts: str | None = field(default=None, metadata=setting(
        Kind.OPT_STR, "known_hosts file read besides ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts", execo=False))
    accept_new_host_keys: bool = field(default=False, metadata=setting(
        Kind.BOOL, "accept the host key of a host never seen before and add it to ~/.ssh/known_hosts (a changed "
        "key is always refused)", execo=False))
    keepalive_interval: float = field(default=DEFAULT_KEEPALIVE_INTERVAL, metadata=setting(
        Kind.SECONDS, f"seconds between ssh keepalives; a link silent for {KEEPALIVE_COUNT} of them is dropped",
        execo=False))


@frozen
class Endpoint:
    """Where one frontend command goes: the frontend name, the resolved ssh host, port, user and key, and how the
    connection is checked (host keys) and kept (time limits, keepalives)."""

    frontend: str
    host: str
    port: int | None = None
    user: str | None = None
    key_filename: str | None = None
    proxy_jump: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    known_hosts: str | None = None
    accept_new_host_keys: bool = False
    keepalive_interval: float = DEFAULT_KEEPALIVE_INTERVAL

    @property
    def label(self) -> str:
        """Short human form: ``user@host:port`` with the parts that are set."""
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port is not None else ""
        return f"{user}{self.host}{port}"


def rewrite_host(name: str, params: ConnectionParams) -> Result[str, G5kError]:
    """The ssh host of a frontend name under the rewrite rules of ``params``."""
    for pattern, replacement in params.host_rewrite:
        try:
            match = re.fullmatch(pattern, name)
            if match is not None:
                return Success(match.expand(replacement))
        except (re.error, IndexError) as exc:
            return Failure(
                InvalidInput("host_rewrite rule", f"{pattern} -> {replacement}", f"a valid regex and template ({exc})")
            )
    return Success(name + params.host_suffix)


def resolve_frontend(name: str, params: ConnectionParams) -> Result[Endpoint, G5kError]:
    """Resolve a frontend (site) name to the endpoint (host, port, user, key) to connect to."""
    if not _NAME_RE.fullmatch(name):
        return Failure(
            InvalidInput("frontend name", name, "a site or host name: letters, digits, '.', '-', '_', no leading '-'")
        )
    if params.port is not None and not 0 < params.port < 65536:
        return Failure(InvalidInput("ssh port", str(params.port), "an integer between 1 and 65535"))
    return rewrite_host(name, params).bind(lambda host: _endpoint(name, host, params))


def _endpoint(name: str, host: str, params: ConnectionParams) -> Result[Endpoint, G5kError]:
    if not host or host.startswith("-") or any(c.isspace() for c in host):
        return Failure(InvalidInput("rewritten frontend host", host, f"a host name (rewritten from {name!r})"))
    return Success(Endpoint(name, host, params.port, params.user, params.key_filename, params.proxy_jump,
                            params.connect_timeout, params.known_hosts, params.accept_new_host_keys,
                            params.keepalive_interval))


def effective_timeout(timeout: float | bool | None, params: ConnectionParams) -> float | None:
    """The timeout of one call: a number of seconds, False (or True) = the default of ``params``, None = none."""
    if timeout is None:
        return None
    if timeout is False or timeout is True:
        return params.timeout
    return float(timeout)


def with_user(params: ConnectionParams, user: str | None, key_filename: str | None = None) -> ConnectionParams:
    """A copy of ``params`` connecting as another user (and key, when given)."""
    return evolve(params, user=user, key_filename=key_filename if key_filename is not None else params.key_filename)


def _site_params(value: Mapping[str, ConnectionParams] | Iterable[tuple[str, ConnectionParams]]) -> tuple[
        tuple[str, ConnectionParams], ...]:
    pairs = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), v) for k, v in pairs)


@frozen
class FrontendAccess:
    """Everything needed to place a frontend command: common and per-frontend connection parameters, the
    default frontend (used when a call names none) and the frontend on which commands run locally, without
    ssh (``g5k.no_ssh_for_local_frontend``, decided by the caller from where the code runs)."""

    params: ConnectionParams = ConnectionParams(host_suffix=".grid5000.fr")
    per_frontend: tuple[tuple[str, ConnectionParams], ...] = field(default=(), converter=_site_params)
    default_frontend: str | None = None
    local_frontend: str | None = None

    def params_for(self, frontend: str) -> ConnectionParams:
        """The connection parameters of one frontend: its own entry, else the common ones."""
        for name, params in self.per_frontend:
            if name == frontend:
                return params
        return self.params


@frozen
class CommandPlan:
    """One command to run on a frontend (``endpoint``) or locally (``endpoint is None``), with its timeout."""

    argv: tuple[str, ...]
    frontend: str
    endpoint: Endpoint | None
    timeout: float | None

    @property
    def command_line(self) -> str:
        """The argv as one POSIX shell string (what ssh sends)."""
        return shlex.join(self.argv)

    def describe(self) -> str:
        """Human form of the plan: where, how and what."""
        limit = f" (timeout {self.timeout:g}s)" if self.timeout is not None else " (no timeout)"
        if self.endpoint is None:
            return f"[{self.frontend}] local: {self.command_line}{limit}"
        jump = f" via {self.endpoint.proxy_jump}" if self.endpoint.proxy_jump else ""
        return f"[{self.frontend}] ssh {self.endpoint.label}{jump}: {self.command_line}{limit}"


@frozen
class CommandOutput:
    """What a finished command gave: exit code, stdout, stderr, where it ran and how long it took."""

    argv: tuple[str, ...]
    frontend: str
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the command exited with 0."""
        return self.exit_code == 0


LOCAL = "local"
"""Frontend label of commands run on this machine."""


def plan_command(
    argv: tuple[str, ...] | list[str],
    frontend: str | None,
    access: FrontendAccess,
    timeout: float | bool | None = False,
) -> Result[CommandPlan, G5kError]:
    """Plan ``argv`` on ``frontend`` (``None`` = the default frontend, or locally when there is none)."""
    args = tuple(argv)
    if not args or not all(isinstance(a, str) for a in args):
        return Failure(InvalidInput("argv", repr(args), "a non-empty sequence of strings"))
    if any("\0" in a for a in args):
        return Failure(InvalidInput("argv", repr(args), "strings without NUL characters"))
    name = frontend if frontend is not None else access.default_frontend
    params = access.params if name is None else access.params_for(name)
    limit = effective_timeout(timeout, params)
    if limit is not None and limit <= 0:
        return Failure(InvalidInput("timeout", str(timeout), "a positive number of seconds, False or None"))
    if name is None or name == access.local_frontend:
        return Success(CommandPlan(args, name or LOCAL, None, limit))
    return resolve_frontend(name, params).map(lambda endpoint: CommandPlan(args, name, endpoint, limit))
