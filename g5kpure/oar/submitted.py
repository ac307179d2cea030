"""What oarsub answers: the accepted job (:class:`OarSubmitted`) or a typed refusal, from its plain or ``-J``
output, whichever OAR generation printed it.

- OAR 2.5.9: ``OAR_JOB_ID=N``, ``Reservation valid --> OK`` / ``Reservation not valid --> KO (why)``; ``-J``
  frames its JSON between ``##########`` lines after the plain lines.
- OAR 2.5.10 / 2.6: the same words with every oarsub message prefixed by ``# `` (``# Reservation valid --> OK``,
  ``# Error: queue 'x' does not exist``), no ``OAR_JOB_ID=-5`` line when refused; ``-J`` prints bare JSON
  objects (``{"job_id" : N}``, one per job) and nothing else.
- OAR 3: ``OAR_JOB_ID=N``; messages on stderr, errors as ``#ERROR: ...`` and OAR's ``(CODE, 'message')``; an
  advance reservation ends with ``Advance reservation is GRANTED.`` or ``... is REJECTED.`` (exit code 0 and no
  "could run at" hint).

OAR's refusals are ``Rejected`` values carrying OAR's own reason and, for a reservation, the date OAR says the
request "could run at" (None when OAR gives none); a job id of more than 18 digits, or output without any job
id, is a ``ParseError``.
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
from g5kpure.oar.outputs import exited_ok, meaningful_lines, split_lines, text_date, unhashed


@frozen
class OarSubmitted:
    """oarsub accepted: the job id (all ids for an array job), the array id, whether an advance reservation
    was validated (None: not a reservation, or an output that does not say), and OAR's admission messages."""

    job_id: int
    job_ids: tuple[int, ...] = ()
    array_id: int | None = None
    reservation_accepted: bool | None = None
    messages: tuple[str, ...] = ()


_JOB_ID_LINE = re.compile(r"OAR_JOB_ID=(-?\d+)", re.ASCII)
_ARRAY_ID_LINE = re.compile(r"OAR_ARRAY_ID=(\d+)", re.ASCII)
_RESA_OK = re.compile(r"Reservation valid --> OK|Advance reservation is GRANTED\.?", re.ASCII)
_RESA_KO = re.compile(r"Reservation not valid --> KO(?: \((?P<why>.*)\))?", re.ASCII)
_RESA_REJECTED = re.compile(r"Advance reservation is REJECTED\.?", re.ASCII)
_RESA_WAITING = re.compile(r"(?:Reservation mode|Advance reservation request): waiting", re.ASCII)
_COULD_RUN = re.compile(r"could run at (\d{4}-\d\d-\d\d \d\d?:\d\d?:\d\d?)", re.ASCII)
_OAR3_ADMISSION = re.compile(r"ADMISSION RULE> (.+)")
_OAR3_ERROR_TUPLE = re.compile(r"""\((-?\d{1,9}), (['"])(.*)\2\)""")
#: Lines that say "it failed" without saying why: never the reason when another line says more.
_GENERIC = re.compile(
    r"\[ERROR\] Oarsub failed|Error: please verify your (?:job submission|request) syntax|"
    r"#?ERROR: unamed error|INFO: |#?WARNING: ",
    re.ASCII,
)


@frozen
class _Read:
    """What the lines of an oarsub output say, whatever the generation."""

    ids: tuple[int, ...]
    array_id: int | None
    resa_ok: bool | None
    refusal: str | None
    messages: tuple[str, ...]


def parse_oarsub_output(
    exit_code: int | None, stdout: str, stderr: str = "", *, tz: tzinfo = PARIS
) -> Result[OarSubmitted, G5kError]:
    """Read oarsub's output (plain or ``-J``, any generation): the job id, or a typed ``Rejected`` with OAR's
    reason and hints."""
    return _read(stdout, stderr).bind(lambda r: _submitted_of(r, exit_code, stdout, stderr, tz))


def _submitted_of(
    r: _Read, exit_code: int | None, stdout: str, stderr: str, tz: tzinfo
) -> Result[OarSubmitted, G5kError]:
    """The job id of what the output says, or why oarsub refused."""
    output = stdout + ("\n" + stderr if stderr else "")
    if r.refusal is not None:
        could = _COULD_RUN.search(r.refusal)
        could_ts = text_date(could.group(1), tz) if could else None
        job = f" (OAR created job {r.ids[0]} in state Error)" if r.ids and r.ids[0] > 0 else ""
        return Failure(Rejected(f"reservation refused: {r.refusal}{job}", exit_code, could_ts, output=output))
    good = [i for i in r.ids if i > 0]
    ok_exit = exited_ok(exit_code)
    if ok_exit and good and not any(i < 0 for i in r.ids):
        return Success(OarSubmitted(good[0], tuple(good), r.array_id, r.resa_ok, r.messages))
    err_lines = meaningful_lines(stderr)
    if ok_exit and not r.ids and not err_lines:
        return Failure(ParseError("oarsub output", line=stdout[:200], hint="no OAR_JOB_ID=N line"))
    reason = _oarsub_reason(exit_code, [ln.strip() for ln in split_lines(stdout)], err_lines, list(r.ids))
    return Failure(Rejected(reason, exit_code, output=output))


def _read(stdout: str, stderr: str) -> Result[_Read, G5kError]:
    """Job ids (plain lines, then JSON objects), array id, reservation verdict and messages of one output."""
    ids: list[int] = []
    array_id: int | None = None
    messages: list[str] = []
    resa_ok: bool | None = None
    refusal: str | None = None
    previous = ""
    json_text: list[str] = []
    depth = 0
    in_frame = False
    lines = [(ln.strip(), True) for ln in split_lines(stdout)] + [(ln.strip(), False) for ln in split_lines(stderr)]
    for ln, on_stdout in lines:
        if ln.startswith("#####"):
            in_frame = not in_frame
            continue
        if in_frame or depth > 0 or ln.startswith("{"):
            json_text.append(ln)
            depth = max(0, depth + ln.count("{") - ln.count("}"))
            continue
        said = unhashed(ln)
        m = _JOB_ID_LINE.fullmatch(said) or _ARRAY_ID_LINE.fullmatch(said)
        if m:
            number = parse_int(m.group(1))
            if number is None:
                return Failure(ParseError("oarsub output", line=ln[:80], hint="a job id of more than 18 digits"))
            if said.startswith("OAR_JOB_ID="):
                ids.append(number)
            else:
                array_id = number
            continue
        if _RESA_OK.fullmatch(said):
            resa_ok = True
        ko = _RESA_KO.search(said)
        if ko:
            resa_ok = False
            refusal = ko.group("why") or "reservation not valid"
        elif _RESA_REJECTED.fullmatch(said):
            resa_ok = False
            refusal = _oar3_rejection(unhashed(previous))
        if ln and on_stdout:
            messages.append(said)
        if ln:
            previous = ln
    for number in _json_job_ids("\n".join(json_text)):
        if number not in ids:
            ids.append(number)
    return Success(_Read(tuple(ids), array_id, resa_ok, refusal, tuple(messages)))


def _oar3_rejection(line_before: str) -> str:
    """OAR 3's refusal of a reservation: the scheduler's answer printed just before the verdict, if any."""
    if not line_before or _RESA_WAITING.match(line_before) or _GENERIC.match(line_before):
        return "advance reservation rejected (OAR gave no reason and no date it could run at)"
    return f"advance reservation rejected: {line_before}"


def _json_job_ids(text: str) -> list[int]:
    """The ``job_id`` of each JSON object of ``text`` (``oarsub -J`` prints one object per job)."""
    decoder = json.JSONDecoder()
    found: list[int] = []
    pos = text.find("{")
    while 0 <= pos < len(text):
        try:
            data, end = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        if isinstance(data, Mapping):
            number = int_of(data.get("job_id"))
            if number is not None:
                found.append(number)
        pos = text.find("{", end)
    return found


def _oarsub_reason(exit_code: int | None, out_lines: list[str], err_lines: list[str], ids: list[int]) -> str:
    """OAR's own words for a refusal: the most specific line it printed, without its ``# `` prefix."""
    said = [unhashed(ln) for ln in err_lines]
    for ln in said:
        m = _OAR3_ERROR_TUPLE.fullmatch(ln)
        if m:
            return m.group(3)  # OAR 3: (CODE, 'message')
    useful = [ln for ln in said if not _GENERIC.match(ln)]
    if useful:
        reason = useful[0]
        # Perl/DBI prints a noisy first line; the 'Bad resource request (...)' line is the one to show.
        for ln in useful:
            if ln.startswith("Bad resource request"):
                reason = ln
                break
        if reason.startswith("DBD::Pg") and len(useful) > 1:
            reason = useful[0].split(" at /", 1)[0]
        return reason.removeprefix("#ERROR: ")
    for ln in out_lines:
        rule = _OAR3_ADMISSION.match(unhashed(ln))
        if rule:
            return f"[ADMISSION RULE] {rule.group(1)}"  # OAR 3 prints an admission rule's refusal on stdout
    if any(ln.startswith("Usage:") for ln in out_lines):
        return "oarsub printed its usage: a command (or -I / -C / a reservation) is missing or an option is wrong"
    if any(i < 0 for i in ids):
        return f"oarsub gave the negative job id {min(ids)} (request refused)"
    if said:
        return said[0]
    if exit_code == 10:
        return "reservation refused (oarsub exit code 10; its -J output gives no reason)"
    return f"oarsub exited with code {exit_code} and no explanation"
