"""What oardel answers: the jobs whose deletion OAR registered, those already gone, and typed refusals.

OAR 2.5.9 and 2.5.10/2.6 print ``Deleting the job = N ...REGISTERED.`` (or ``...ERROR.``) on stdout and
``Cannot frag N ; reason`` on stderr; OAR 3 prints everything on stderr: ``Deleting the job = N ...`` without a
verdict, then ``#WARNING: Cannot frag N ; reason`` / ``#ERROR: ...`` for a refusal and ``The job(s) ['N']  will
be deleted in the near future.`` for those registered.
"""

from __future__ import annotations

import re

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, ParseError, Partial, Rejected
from g5kpure.oar.outputs import command_failed, split_lines

# How long a deletion may take to show in oarstat. OAR's Leon signals the job's oarexec at once; a job deleted
# while still launching has no oarexec yet, so the kill is sent again only once sarko (every 10 s) finds the
# deletion older than JOBDEL_SOFTWALLTIME (20 s by default): such a job ends some 35 s after oardel.
DELETION_SETTLE = 60.0
"""Seconds to wait for OAR to show deleted jobs ended (covers OAR's 20 s re-kill plus its 10 s check)."""


@frozen
class OarDelResult:
    """oardel registered the deletion of ``deleted``; ``already_gone`` were already killed or finished."""

    deleted: tuple[int, ...]
    already_gone: tuple[int, ...] = ()


_DEL_LINE = re.compile(r"Deleting the job = (\d{1,18}) \.\.\.(\w*)\.?", re.ASCII)
_FRAG_LINE = re.compile(r"Cannot frag (\d{1,18}) ; (.*)", re.ASCII)
_WILL_BE_DELETED = re.compile(r"The job\(s\) \[(.*)\]\s+will be deleted", re.ASCII)


def oardel_verdicts(stdout: str, stderr: str = "") -> tuple[tuple[int, str], ...]:
    """(job id, OAR's verdict: ``REGISTERED``, ``ERROR``) of each job oardel named, in order, from either
    generation's output (OAR 3's verdict is read from its later lines)."""
    lines = split_lines(stdout) + split_lines(stderr)
    named: list[tuple[int, str]] = []
    for ln in lines:
        m = _DEL_LINE.search(ln)
        if m:
            named.append((int(m.group(1)), m.group(2)))
    if all(verdict for _, verdict in named):
        return tuple(named)
    refused = oardel_reasons(stdout + "\n" + stderr)
    confirmed: set[int] = set()
    for ln in lines:
        listed = _WILL_BE_DELETED.search(ln)
        if listed:
            confirmed |= {int(n) for n in re.findall(r"\d{1,18}", listed.group(1))}
    registered = {job for job in confirmed if job not in refused}
    return tuple((job, verdict or ("REGISTERED" if job in registered else "ERROR")) for job, verdict in named)


def oardel_reasons(stderr: str) -> dict[int, str]:
    """OAR's reason for each job it did not delete (``Cannot frag N ; reason``, with or without OAR 3's
    ``#WARNING:`` / ``#ERROR:`` prefix)."""
    found = (_FRAG_LINE.search(ln) for ln in split_lines(stderr))
    return {int(m.group(1)): m.group(2).strip() for m in found if m}


def _gone(reason: str) -> bool:
    """True when OAR refused because the job had already ended (not for a job that does not exist)."""
    return "already killed" in reason or "terminated" in reason.lower()


def parse_oardel_output(exit_code: int | None, stdout: str, stderr: str = "") -> Result[OarDelResult, G5kError]:
    """Read oardel's output (any generation): the jobs whose deletion is registered; OAR's refusals as
    ``Rejected`` (one job) or ``Partial`` (some deleted), each with OAR's own reason."""
    verdicts = oardel_verdicts(stdout, stderr)
    registered = [j for j, verdict in verdicts if verdict == "REGISTERED"]
    errored = [j for j, verdict in verdicts if verdict != "REGISTERED"]
    reasons = oardel_reasons(stdout + "\n" + stderr)
    gone = [j for j in errored if _gone(reasons.get(j, ""))]
    refused = [j for j in errored if j not in gone]
    if not registered and not errored:
        if exit_code == 0:
            return Failure(ParseError("oardel output", line=stdout[:200], hint="no 'Deleting the job = N' line"))
        return Failure(command_failed("oardel", exit_code, stdout, stderr))
    if not refused:
        return Success(OarDelResult(tuple(registered), tuple(gone)))

    def why(j: int) -> Rejected:
        """The refusal of job ``j``, with OAR's reason."""
        reason = reasons.get(j, "oardel answered ERROR")
        if "not the right user" in reason:
            reason += " (the job does not exist or belongs to someone else)"
        return Rejected(f"cannot delete job {j}: {reason}", exit_code)

    if not registered and not gone and len(refused) == 1:
        return Failure(why(refused[0]))
    return Failure(
        Partial(
            "oardel",
            succeeded=tuple(str(j) for j in registered + gone),
            failed=tuple((str(j), why(j)) for j in refused),
        )
    )
