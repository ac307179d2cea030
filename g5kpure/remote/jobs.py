"""A running job's lifecycle commands: ``oarwalltime`` (extend a job) and its outputs, and the node file.

``oarwalltime JOB [+|-]H:M:S`` asks OAR to change a running job's walltime; the scheduler applies the request at
its next cycle. Its outputs (OAR 2.5.9, captured in ``tests/fixtures/oarwalltime``):

- accepted: ``Accepted: walltime change request accepted for job 361, it will be handled shortly.`` (exit 0;
  ``updated`` when it replaces an earlier request);
- refused: ``Forbidden: job 361 does not belong to you.`` / ``Forbidden: job 378 is not running.`` /
  ``Forbidden: walltime change for this job is not allowed to be forced.`` (exit 3), ``Not found: could not find
  job 999999.`` (exit 4), ``Syntax error.`` followed by the usage (exit 4);
- the status (no new walltime): current walltime, possible increase (``UNLIMITED`` or a duration), already
  granted and pending/unsatisfied durations.
"""

from __future__ import annotations

import enum
import re
from typing import Final

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NotFound, ParseError, Rejected
from g5kpure.hosts import natural_key
from g5kpure.oar.dates import format_walltime, oar_duration_to_seconds, parse_walltime

OARWALLTIME: Final = "oarwalltime"


class Change(enum.Enum):
    """How a walltime change is written: an increase, a decrease, or the new walltime itself."""

    INCREASE = "+"
    DECREASE = "-"
    SET = ""


@frozen
class WalltimeChange:
    """A walltime change request: its kind and a duration in seconds."""

    change: Change
    seconds: int

    @property
    def text(self) -> str:
        """OAR's form: ``+1:00:00``, ``-0:30:00`` or ``2:00:00``."""
        return self.change.value + format_walltime(self.seconds)


def parse_change(text: object) -> Result[WalltimeChange, G5kError]:
    """Read ``+1:00``, ``-30m``, ``2:00:00`` (the library's duration grammar after an optional sign)."""
    if not isinstance(text, str) or not text.strip():
        return Failure(InvalidInput("walltime change", repr(text), "[+|-]DURATION, e.g. +1:00 (one more hour)"))
    raw = text.strip()
    change = Change.INCREASE if raw.startswith("+") else Change.DECREASE if raw.startswith("-") else Change.SET
    body = raw[1:] if change is not Change.SET else raw

    def positive(seconds: int) -> Result[WalltimeChange, InvalidInput]:
        if seconds <= 0:
            return Failure(InvalidInput("walltime change", text, "a duration of at least one second"))
        return Success(WalltimeChange(change, seconds))

    return parse_walltime(body).alt(
        lambda error: InvalidInput("walltime change", text, f"[+|-]DURATION: {error.expected}")
    ).bind(positive)


def oarwalltime_argv(job_id: int, change: WalltimeChange | None = None, *, force: bool = False,
                     delay_next_jobs: bool = False) -> tuple[str, ...]:
    """The argv asking for ``change`` (or showing the status when ``change`` is None)."""
    words = [OARWALLTIME]
    if force:
        words.append("--force")
    if delay_next_jobs:
        words.append("--delay-next-jobs")
    words.append(str(job_id))
    if change is not None:
        words.append(change.text)
    return tuple(words)


class Answer(enum.Enum):
    """OAR's answer to a change request."""

    ACCEPTED = "accepted"
    UPDATED = "updated"
    """Accepted, replacing an earlier request of the same job."""


@frozen
class ChangeAccepted:
    """OAR accepted the request; the scheduler applies it at its next cycle (see :class:`WalltimeStatus`)."""

    job_id: int
    answer: Answer
    message: str


@frozen
class WalltimeStatus:
    """``oarwalltime JOB``: the job's walltime, how much more it may get (None = unlimited), what was granted and
    what is still pending (seconds; a decrease is negative)."""

    job_id: int
    running: bool
    current: int
    possible_increase: int | None
    granted: int
    pending: int

    @property
    def is_pending(self) -> bool:
        """True while part of a request is not applied yet."""
        return self.pending != 0


_ACCEPTED = re.compile(r"^Accepted: walltime change request (accepted|updated) for job (\d+)")
_FORBIDDEN = re.compile(r"^Forbidden: (.*)$")
_NOT_FOUND = re.compile(r"^Not found: (.*?)\.?$")
_STATUS_HEAD = re.compile(r"^Walltime change status for job (\d+) \(job is ([^)]*)\):")
_STATUS_LINE = re.compile(r"^\s*(Current walltime|Possible increase|Already granted|Pending/unsatisfied):\s*(\S+)\s*$")


def _lines(stdout: str, stderr: str) -> list[str]:
    return [ln.rstrip("\r") for ln in (stdout + "\n" + stderr).splitlines() if ln.strip()]


def _refusal(job_id: int | None, exit_code: int | None, lines: list[str], text: str) -> G5kError | None:
    for ln in lines:
        m = _FORBIDDEN.match(ln)
        if m:
            return Rejected(f"oarwalltime: {m.group(1)}", exit_code, output=text)
        m = _NOT_FOUND.match(ln)
        if m:
            return NotFound("OAR job", str(job_id) if job_id is not None else "?", f"oarwalltime: {m.group(1)}")
        if ln.startswith("Syntax error"):
            return Rejected("oarwalltime: syntax error (the job id or the new walltime)", exit_code, output=text)
    return None


def parse_oarwalltime_change(exit_code: int | None, stdout: str, stderr: str = "", *,
                             job_id: int | None = None) -> Result[ChangeAccepted, G5kError]:
    """Read OAR's answer to ``oarwalltime JOB CHANGE``: accepted / updated, else a ``Rejected`` (forbidden:
    not yours, not running, cannot be forced; syntax) or ``NotFound`` (unknown job)."""
    text = stdout + stderr
    lines = _lines(stdout, stderr)
    for ln in lines:
        m = _ACCEPTED.match(ln)
        if m and exit_code == 0:
            return Success(ChangeAccepted(int(m.group(2)), Answer(m.group(1)), ln))
    refused = _refusal(job_id, exit_code, lines, text)
    if refused is not None:
        return Failure(refused)
    return Failure(ParseError("oarwalltime output", where=f"exit code {exit_code}", line=text.strip()[:200],
                              hint="neither Accepted, Forbidden, Not found nor a syntax error"))


def _signed_duration(text: str) -> int | None:
    sign = -1 if text.startswith("-") else 1
    parsed = oar_duration_to_seconds(text.lstrip("+-"))
    return parsed.map(lambda seconds: sign * int(seconds)).value_or(None)


def parse_oarwalltime_status(exit_code: int | None, stdout: str, stderr: str = "", *,
                             job_id: int | None = None) -> Result[WalltimeStatus, G5kError]:
    """Read ``oarwalltime JOB`` (no change): the walltime change status of a job."""
    text = stdout + stderr
    lines = _lines(stdout, stderr)
    refused = _refusal(job_id, exit_code, lines, text)
    if refused is not None:
        return Failure(refused)
    head = next((m for m in map(_STATUS_HEAD.match, lines) if m), None)
    if head is None or exit_code != 0:
        return Failure(ParseError("oarwalltime status", where=f"exit code {exit_code}", line=text.strip()[:200],
                                  hint="no 'Walltime change status for job' line"))
    values: dict[str, str] = {}
    for ln in lines:
        m = _STATUS_LINE.match(ln)
        if m:
            values[m.group(1)] = m.group(2)
    wanted = ("Current walltime", "Possible increase", "Already granted", "Pending/unsatisfied")
    missing = [w for w in wanted if w not in values]
    if missing:
        return Failure(ParseError("oarwalltime status", line=text.strip()[:200], hint=f"no {missing[0]!r} line"))
    current = _signed_duration(values["Current walltime"])
    possible = None if values["Possible increase"].upper() == "UNLIMITED" else _signed_duration(
        values["Possible increase"])
    granted = _signed_duration(values["Already granted"])
    pending = _signed_duration(values["Pending/unsatisfied"])
    if current is None or granted is None or pending is None or (
            possible is None and values["Possible increase"].upper() != "UNLIMITED"):
        return Failure(ParseError("oarwalltime status", line=text.strip()[:200], hint="a duration is not H:M:S"))
    return Success(WalltimeStatus(int(head.group(1)), head.group(2).strip() == "running", current, possible,
                                  granted, pending))


# ------------------------------------------------------------------------------------------------ nodefile

_NETWORK_ADDRESS = re.compile(r"(?:^|[\s,])network_address\s*=\s*'([^']*)'")
_TYPE = re.compile(r"(?:^|[\s,])type\s*=\s*'([^']*)'")


def parse_nodefile(exit_code: int | None, stdout: str, stderr: str = "") -> Result[tuple[str, ...], G5kError]:
    """The job's node file as OAR writes ``$OAR_NODEFILE``: one line per core (resource of type ``default``),
    from ``oarstat -p -j ID``; hosts in natural order, each repeated once per core it holds."""
    if exit_code != 0:
        return Failure(ParseError("oarstat -p output", where=f"exit code {exit_code}",
                                  line=(stderr or stdout).strip()[:200]))
    hosts: list[str] = []
    for n, raw in enumerate(stdout.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        addr = _NETWORK_ADDRESS.search(line)
        if addr is None:
            return Failure(ParseError("oarstat -p output", where=f"line {n}", line=line[:200],
                                      hint="no network_address"))
        kind = _TYPE.search(line)
        if kind is not None and kind.group(1) != "default":
            continue
        if addr.group(1):
            hosts.append(addr.group(1))
    return Success(tuple(sorted(hosts, key=natural_key)))
