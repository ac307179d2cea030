"""Per-host results of remote execution as values, the reading of ssh's own failures, clubak-like grouping of
identical outputs, and the summary of a run.

A host either ran the command (``exit_code``, ``stdout``, ``stderr``, ``seconds``) or did not get that far, with
the reason as an error value: ``Unreachable`` (refused, unknown name, no route, connection lost),
``AuthError`` (key refused, host key changed) or ``Timeout`` (the command or the whole run took too long; the
output read until then is kept). ssh exits with 255 for its own failures: :func:`host_result` tells them from a
command that exits 255 by ssh's messages on stderr.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from typing import Final

from attrs import frozen

from g5kpure.errors import AuthError, G5kError, Timeout, Unreachable
from g5kpure.hosts import format_host_ranges, natural_key

SSH_FAILURE: Final = 255
"""ssh's exit status for its own failures (connection, authentication)."""


class HostStatus(enum.Enum):
    """What happened on one host."""

    OK = "ok"
    FAILED = "failed"
    """The command ran and exited non-zero."""
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    AUTH = "auth"


HostError = Unreachable | Timeout | AuthError


@frozen
class HostResult:
    """What one host gave: the exit code and outputs of the command, or why it did not complete (``error``)."""

    host: str
    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    error: HostError | None = None

    @property
    def status(self) -> HostStatus:
        """ok, failed (non-zero exit), unreachable, timeout or auth."""
        if isinstance(self.error, Unreachable):
            return HostStatus.UNREACHABLE
        if isinstance(self.error, AuthError):
            return HostStatus.AUTH
        if isinstance(self.error, Timeout):
            return HostStatus.TIMEOUT
        return HostStatus.OK if self.exit_code == 0 else HostStatus.FAILED

    @property
    def ok(self) -> bool:
        """True when the command ran and exited with 0."""
        return self.status is HostStatus.OK


_AUTH_PATTERNS: Final = re.compile(
    r"Permission denied|Too many authentication failures|Host key verification failed|"
    r"REMOTE HOST IDENTIFICATION HAS CHANGED|no mutual signature|Load key .*: (?:invalid format|bad permissions)|"
    r"identity file .* not accessible|UNPROTECTED PRIVATE KEY FILE",
    re.IGNORECASE,
)
_UNREACHABLE_PATTERNS: Final = re.compile(
    r"Connection refused|Connection timed out|Operation timed out|No route to host|Network is unreachable|"
    r"Could not resolve hostname|Name or service not known|Temporary failure in name resolution|"
    r"Connection closed by|Connection reset|kex_exchange_identification|ssh_exchange_identification|"
    r"Broken pipe|port \d+: |ProxyCommand|stdio forwarding failed|channel \d+: open failed|"
    r"connect to host|Connection to .* closed|client_loop: send disconnect",
    re.IGNORECASE,
)


def _ssh_lines(stderr: str) -> list[str]:
    return [ln.strip() for ln in stderr.splitlines() if ln.strip()]


def ssh_failure(host: str, stderr: str, seconds: float) -> HostError | None:
    """The error of an ssh that exited 255 because of its own failure (read from its messages on stderr), else
    None: the remote command itself exited with 255."""
    lines = _ssh_lines(stderr)
    auth = [ln for ln in lines if _AUTH_PATTERNS.search(ln)]
    if auth:
        return AuthError(host, auth[0])
    down = [ln for ln in lines if _UNREACHABLE_PATTERNS.search(ln)]
    if down:
        return Unreachable(host, down[0], round(seconds, 3))
    return None  # ssh prints its own failures (LogLevel=ERROR keeps them): a silent 255 is the command's


def host_result(
    host: str,
    exit_code: int | None,
    stdout: str,
    stderr: str,
    seconds: float,
    *,
    timed_out: bool = False,
    timeout: float | None = None,
    what: str = "command",
) -> HostResult:
    """One host's result from what was observed: ssh's exit status (None when it never exited), its outputs,
    the time taken and whether a time limit stopped it."""
    secs = round(max(seconds, 0.0), 3)
    if timed_out:
        after = timeout if timeout is not None else secs
        return HostResult(host, None, stdout, stderr, secs, Timeout(what, after, host))
    if exit_code is None:
        return HostResult(host, None, stdout, stderr, secs, Unreachable(host, "no exit status", secs))
    if exit_code == SSH_FAILURE:
        error = ssh_failure(host, stderr, secs)
        if error is not None:
            return HostResult(host, None, stdout, stderr, secs, error)
    return HostResult(host, exit_code, stdout, stderr, secs)


def not_started(host: str, deadline: float | None) -> HostResult:
    """The result of a host whose turn never came before the overall time limit."""
    return HostResult(host, None, "", "", 0.0, Timeout("waiting for a free connection slot", deadline, host))


def merge_steps(host: str, steps: Sequence[HostResult]) -> HostResult:
    """One host's result over several steps (e.g. one copy per file): the first that did not succeed, else the
    last, with the time of all."""
    if not steps:
        return HostResult(host, None, "", "", 0.0, Unreachable(host, "nothing was run"))
    seconds = round(sum(s.seconds for s in steps), 3)
    bad = [s for s in steps if not s.ok]
    chosen = bad[0] if bad else steps[-1]
    stdout = "".join(s.stdout for s in steps)
    stderr = "".join(s.stderr for s in steps)
    return HostResult(host, chosen.exit_code, stdout, stderr, seconds, chosen.error)


def ordered(results: Iterable[HostResult]) -> tuple[HostResult, ...]:
    """Results in natural host order (``node-2`` before ``node-10``)."""
    return tuple(sorted(results, key=lambda r: natural_key(r.host)))


# ------------------------------------------------------------------------------------------------ summary


@frozen
class RunSummary:
    """How many hosts were ok, failed (non-zero exit), unreachable, timed out or refused authentication."""

    total: int
    ok: int = 0
    failed: int = 0
    unreachable: int = 0
    timeout: int = 0
    auth: int = 0

    @property
    def all_ok(self) -> bool:
        """True when every host ran the command with exit code 0."""
        return self.ok == self.total

    def describe(self) -> str:
        """E.g. ``4 hosts: 3 ok, 1 unreachable``."""
        parts = [f"{n} {name}" for name, n in (("ok", self.ok), ("failed", self.failed),
                                                  ("unreachable", self.unreachable), ("timed out", self.timeout),
                                                  ("refused authentication", self.auth)) if n]
        noun = "host" if self.total == 1 else "hosts"
        return f"{self.total} {noun}: " + (", ".join(parts) if parts else "none")


def summarize(results: Iterable[HostResult]) -> RunSummary:
    """Count the results by status."""
    counts = dict.fromkeys(HostStatus, 0)
    n = 0
    for r in results:
        counts[r.status] += 1
        n += 1
    return RunSummary(n, counts[HostStatus.OK], counts[HostStatus.FAILED], counts[HostStatus.UNREACHABLE],
                      counts[HostStatus.TIMEOUT], counts[HostStatus.AUTH])


# ----------------------------------------------------------------------------------------------- grouping


@frozen
class OutputGroup:
    """Hosts that gave exactly the same thing (as ``clubak -b`` groups them): status, exit code and outputs."""

    hosts: tuple[str, ...]
    status: HostStatus
    exit_code: int | None
    stdout: str
    stderr: str
    reason: str = ""
    """For hosts that did not run the command: what stopped them (the error's message, host names aside)."""

    @property
    def label(self) -> str:
        """The hosts folded into ranges (``paravance-[1-4].rennes.grid5000.fr``)."""
        return format_host_ranges(self.hosts).value_or(",".join(self.hosts))


def _reason(result: HostResult) -> str:
    if result.error is None:
        return ""
    if isinstance(result.error, Unreachable):
        return f"unreachable: {result.error.detail}"
    if isinstance(result.error, AuthError):
        return f"authentication refused: {result.error.detail}"
    return f"timed out after {result.error.after_s:g}s" if result.error.after_s is not None else "timed out"


def group_outputs(results: Iterable[HostResult], *, with_stderr: bool = True) -> tuple[OutputGroup, ...]:
    """Group hosts with identical status, exit code, stdout (and stderr unless ``with_stderr=False``) and
    reason; groups in the natural order of their first host, hosts in natural order within a group."""
    groups: dict[tuple[object, ...], list[HostResult]] = {}
    for r in ordered(results):
        key = (r.status, r.exit_code, r.stdout, r.stderr if with_stderr else "", _reason(r))
        groups.setdefault(key, []).append(r)
    out = [
        OutputGroup(tuple(r.host for r in members), members[0].status, members[0].exit_code, members[0].stdout,
                    members[0].stderr if with_stderr else "", _reason(members[0]))
        for members in groups.values()
    ]
    return tuple(sorted(out, key=lambda g: natural_key(g.hosts[0])))


# ------------------------------------------------------------------------------------------------ display


def host_lines(result: HostResult) -> tuple[str, ...]:
    """One line per stdout line, prefixed by the host (``host: text``); a host that printed nothing gets one
    line saying how it ended when that is not success, and none otherwise."""
    lines = [f"{result.host}: {ln}" for ln in result.stdout.splitlines()]
    if result.status is HostStatus.FAILED:
        lines.append(f"{result.host}: [exit code {result.exit_code}]")
    elif result.error is not None:
        lines.append(f"{result.host}: [{_reason(result)}]")
    return tuple(lines)


def group_lines(group: OutputGroup) -> tuple[str, ...]:
    """A clubak-like block: a header naming the hosts (and how they ended), then the output they share."""
    state = group.status.value if group.exit_code in (0, None) else f"exit code {group.exit_code}"
    header = f"---------------- {group.label} ({len(group.hosts)}) {state}"
    body = list(group.stdout.splitlines())
    if group.reason:
        body.append(f"[{group.reason}]")
    return (header, *body)


def error_of(result: HostResult) -> G5kError | None:
    """The error value of a host that did not run the command, else None."""
    return result.error


@frozen
class RunReport:
    """The results of a run (or copy) on hosts, in natural host order, and how long the whole took."""

    results: tuple[HostResult, ...]
    seconds: float = 0.0

    @property
    def summary(self) -> RunSummary:
        """How many hosts were ok, failed, unreachable..."""
        return summarize(self.results)

    @property
    def ok(self) -> bool:
        """True when every host succeeded."""
        return self.summary.all_ok

    def result_of(self, host: str) -> HostResult | None:
        """The result of one host, if it was part of the run."""
        return next((r for r in self.results if r.host == host), None)
