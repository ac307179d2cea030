"""What oardel answers: the jobs whose deletion OAR registered, those already gone, and typed refusals."""

from __future__ import annotations

import re

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, ParseError, Partial, Rejected
from g5kpure.oar.outputs import command_failed, split_lines


@frozen
class OarDelResult:
    """oardel registered the deletion of ``deleted``; ``already_gone`` were already killed or finished."""

    deleted: tuple[int, ...]
    already_gone: tuple[int, ...] = ()


_DEL_LINE = re.compile(r"Deleting the job = (\d{1,18}) \.\.\.(\w+)\.?", re.ASCII)
_FRAG_LINE = re.compile(r"Cannot frag (\d{1,18}) ; (.*)", re.ASCII)


def oardel_verdicts(stdout: str) -> tuple[tuple[int, str], ...]:
    """(job id, OAR's verdict: ``REGISTERED``, ``ERROR``) of each ``Deleting the job = N ...VERDICT`` line."""
    found = (_DEL_LINE.search(ln) for ln in split_lines(stdout))
    return tuple((int(m.group(1)), m.group(2)) for m in found if m)


def oardel_reasons(stderr: str) -> dict[int, str]:
    """OAR's reason for each job it did not delete (``Cannot frag N ; reason``)."""
    found = (_FRAG_LINE.search(ln) for ln in split_lines(stderr))
    return {int(m.group(1)): m.group(2).strip() for m in found if m}


def parse_oardel_output(exit_code: int | None, stdout: str, stderr: str = "") -> Result[OarDelResult, G5kError]:
    """Read oardel's output: the jobs whose deletion is registered; refusals as ``Rejected`` or ``Partial``."""
    verdicts = oardel_verdicts(stdout)
    registered = [j for j, verdict in verdicts if verdict == "REGISTERED"]
    errored = [j for j, verdict in verdicts if verdict != "REGISTERED"]
    reasons = oardel_reasons(stderr)
    gone = [j for j in errored if "already killed" in reasons.get(j, "") or "terminated" in reasons.get(j, "")]
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
