"""What oarsub answers: the accepted job (:class:`OarSubmitted`) or a typed refusal, from its plain or ``-J``
output.

OAR's refusals are ``Rejected`` values carrying OAR's reason and, for a reservation, the date OAR says the
request "could run at"; a job id of more than 18 digits, or output without any job id, is a ``ParseError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import tzinfo

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, ParseError, Rejected
from g5kpure.oar.dates import PARIS, int_of, parse_int
from g5kpure.oar.outputs import exited_ok, meaningful_lines, split_lines, text_date


@frozen
class OarSubmitted:
    """oarsub accepted: the job id (all ids for an array job), the array id, and OAR's admission messages."""

    job_id: int
    job_ids: tuple[int, ...] = ()
    array_id: int | None = None
    reservation_accepted: bool | None = None
    messages: tuple[str, ...] = ()


_JOB_ID_LINE = re.compile(r"OAR_JOB_ID=(-?\d+)", re.ASCII)
_ARRAY_ID_LINE = re.compile(r"OAR_ARRAY_ID=(\d+)", re.ASCII)
_RESA_KO = re.compile(r"Reservation not valid --> KO(?: \((?P<why>.*)\))?", re.ASCII)
_COULD_RUN = re.compile(r"could run at (\d{4}-\d\d-\d\d \d\d?:\d\d?:\d\d?)", re.ASCII)


def parse_oarsub_output(
    exit_code: int | None, stdout: str, stderr: str = "", *, tz: tzinfo = PARIS
) -> Result[OarSubmitted, G5kError]:
    """Read oarsub's output (plain or ``-J``): the job id, or a typed ``Rejected`` with OAR's reason and hints."""
    out_lines = [ln.strip() for ln in split_lines(stdout)]
    err_lines = meaningful_lines(stderr)
    ids: list[int] = []
    array_id: int | None = None
    messages: list[str] = []
    resa_ok: bool | None = None
    ko_reason: str | None = None
    json_id: int | None = None
    in_json = False
    json_buf: list[str] = []
    for ln in out_lines:
        if ln.startswith("#####"):
            if in_json:
                json_id = _json_job_id("\n".join(json_buf))
                json_buf = []
            in_json = not in_json
            continue
        if in_json:
            json_buf.append(ln)
            continue
        m = _JOB_ID_LINE.fullmatch(ln) or _ARRAY_ID_LINE.fullmatch(ln)
        if m:
            number = parse_int(m.group(1))
            if number is None:
                return Failure(ParseError("oarsub output", line=ln[:80], hint="a job id of more than 18 digits"))
            if ln.startswith("OAR_JOB_ID="):
                ids.append(number)
            else:
                array_id = number
            continue
        if ln.startswith("Reservation valid --> OK"):
            resa_ok = True
        ko = _RESA_KO.search(ln)
        if ko:
            resa_ok = False
            ko_reason = ko.group("why") or "reservation not valid"
        if ln:
            messages.append(ln)
    if json_id is not None and json_id not in ids:
        ids.insert(0, json_id)
    output = stdout + ("\n" + stderr if stderr else "")
    if ko_reason is not None:
        could = _COULD_RUN.search(ko_reason)
        could_ts = text_date(could.group(1), tz) if could else None
        job = f" (OAR created job {ids[0]} in state Error)" if ids and ids[0] > 0 else ""
        return Failure(Rejected(f"reservation refused: {ko_reason}{job}", exit_code, could_ts, output=output))
    good = [i for i in ids if i > 0]
    ok_exit = exited_ok(exit_code)
    if ok_exit and good and not any(i < 0 for i in ids):
        return Success(
            OarSubmitted(
                job_id=good[0],
                job_ids=tuple(good),
                array_id=array_id,
                reservation_accepted=resa_ok,
                messages=tuple(messages),
            )
        )
    if ok_exit and not ids and not err_lines:
        return Failure(ParseError("oarsub output", line=stdout[:200], hint="no OAR_JOB_ID=N line"))
    reason = _oarsub_reason(exit_code, out_lines, err_lines, ids)
    return Failure(Rejected(reason, exit_code, output=output))


def _json_job_id(text: str) -> int | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, Mapping):
        return int_of(data.get("job_id"))
    return None


def _oarsub_reason(exit_code: int | None, out_lines: list[str], err_lines: list[str], ids: list[int]) -> str:
    useful = [ln for ln in err_lines if not ln.startswith("[ERROR] Oarsub failed")]
    if useful:
        reason = useful[0]
        # Perl/DBI prints a noisy first line; the 'Bad resource request (...)' line is the one to show.
        for ln in useful:
            if ln.startswith("Bad resource request"):
                reason = ln
                break
        if reason.startswith("DBD::Pg") and len(useful) > 1:
            reason = useful[0].split(" at /", 1)[0]
        return reason
    if any(ln.startswith("Usage:") for ln in out_lines):
        return "oarsub printed its usage: a command (or -I / -C / a reservation) is missing or an option is wrong"
    if any(i < 0 for i in ids):
        return f"oarsub gave the negative job id {min(ids)} (request refused)"
    if err_lines:
        return err_lines[0]
    return f"oarsub exited with code {exit_code} and no explanation"

