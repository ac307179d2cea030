"""Total parsers of OAR 2.5 outputs: oarsub, oardel, oarstat (text and ``-J`` JSON), job nodes, subnets, kavlan.

Every parser takes the exit code and the stdout / stderr text of one command and returns a ``Result``; none
raises on any input. They accept LF and CRLF line ends (a pty turns ``\\n`` into ``\\r\\n``) and any JSON key
order (OAR's Perl hashes print keys in random order). OAR prints text dates as wall-clock times of the OAR
server's zone: pass that zone as ``tz`` (default Europe/Paris, the zone of every Grid'5000 server).

Differences from execo 2.8.2 (named in the tests): ``OAR_JOB_ID=-5`` and "Reservation not valid" give a typed
``Rejected`` (with OAR's "could run at" date when it says one) instead of ``None``; a job that oarstat does not
know is ``NotFound`` instead of ``{}``; kavlan and g5k-subnets outputs are read line by line whatever the line
ends, and garbage is a ``ParseError`` instead of a silent ``[]``; job nodes are sorted *and* unique; a value
that should be a date or a number but is not is a ``ParseError``, never a silently missing field. Numbers go
through bounded helpers (``int_of`` / ``parse_int``: ASCII digits, at most 18 of them, finite): a JSON ``1e400``,
``Infinity`` or ``NaN`` or a 5000-digit job id is a ``ParseError``, never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import tzinfo
from enum import Enum
from typing import Any

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import CommandFailed, G5kError, NotFound, ParseError, Partial, Rejected
from g5kpure.oar.dates import PARIS, int_of, oar_date_to_unixts, oar_duration_to_seconds, parse_int

# ------------------------------------------------------------------------------------------------ values


class OarState(Enum):
    """The states of an OAR job (plus UNKNOWN for a state this library does not know yet)."""

    WAITING = "Waiting"
    HOLD = "Hold"
    TO_LAUNCH = "toLaunch"
    TO_ERROR = "toError"
    TO_ACK_RESERVATION = "toAckReservation"
    LAUNCHING = "Launching"
    RUNNING = "Running"
    SUSPENDED = "Suspended"
    RESUMING = "Resuming"
    FINISHING = "Finishing"
    TERMINATED = "Terminated"
    ERROR = "Error"
    UNKNOWN = "Unknown"

    @property
    def is_final(self) -> bool:
        """True for Terminated and Error: the job will never run (again)."""
        return self in (OarState.TERMINATED, OarState.ERROR)

    @property
    def is_running(self) -> bool:
        """True when the job's resources are allocated to it (Launching, Running, Suspended, Resuming...)."""
        return self in (OarState.LAUNCHING, OarState.RUNNING, OarState.SUSPENDED, OarState.RESUMING)

    @staticmethod
    def of(text: str) -> OarState:
        """The state named by OAR's text (``"Running"``), or UNKNOWN."""
        return _STATE_BY_NAME.get(text.strip(), OarState.UNKNOWN)

    @staticmethod
    def of_letter(letter: str) -> OarState:
        """The state of oarstat's one-letter column (``R``, ``W``...); L, S and W each cover several states."""
        return _STATE_BY_LETTER.get(letter.strip(), OarState.UNKNOWN)


_STATE_BY_NAME = {s.value: s for s in OarState if s is not OarState.UNKNOWN}
_STATE_BY_LETTER = {
    "W": OarState.WAITING,
    "H": OarState.HOLD,
    "L": OarState.LAUNCHING,
    "R": OarState.RUNNING,
    "S": OarState.SUSPENDED,
    "F": OarState.FINISHING,
    "T": OarState.TERMINATED,
    "E": OarState.ERROR,
}


@frozen
class OarEvent:
    """One event of a job's history (``oarstat -f``): when (unix ts or None), its type and description."""

    date: int | None
    kind: str
    description: str


@frozen
class OarJobInfo:
    """What ``oarstat -f -j ID`` (text or JSON) says about one job; times are unix timestamps or None."""

    job_id: int
    state: OarState
    owner: str = ""
    name: str | None = None
    queue: str = ""
    project: str = ""
    types: tuple[str, ...] = ()
    walltime: int | None = None
    submission_time: int | None = None
    start_time: int | None = None
    scheduled_start: int | None = None
    stop_time: int | None = None
    assigned_hosts: tuple[str, ...] = ()
    assigned_resources: tuple[int, ...] = ()
    reservation: str = "None"
    message: str = ""
    exit_code: int | None = None
    exit_status: int | None = None
    command: str = ""
    properties: str = ""
    wanted_resources: str = ""
    initial_request: str = ""
    launching_directory: str = ""
    job_kind: str = ""
    array_id: int | None = None
    array_index: int | None = None
    resubmit_job_id: int | None = None
    events: tuple[OarEvent, ...] = ()
    state_text: str = ""

    @property
    def predicted_start(self) -> int | None:
        """The actual start if known, else OAR's scheduled start, else None (like execo's wait prediction)."""
        return self.start_time if self.start_time is not None else self.scheduled_start

    @property
    def is_reservation(self) -> bool:
        """True for an advance reservation (``oarsub -r``)."""
        return self.reservation not in ("None", "")


@frozen
class OarJobSummary:
    """One row of an ``oarstat`` listing (text formats 1 and 2, ``--array``, or ``-J``)."""

    job_id: int
    state: OarState
    user: str = ""
    name: str | None = None
    queue: str | None = None
    project: str | None = None
    types: tuple[str, ...] = ()
    walltime: int | None = None
    submission_time: int | None = None
    duration: int | None = None
    message: str = ""
    array_id: int | None = None
    array_index: int | None = None


@frozen
class OarSubmitted:
    """oarsub accepted: the job id (all ids for an array job), the array id, and OAR's admission messages."""

    job_id: int
    job_ids: tuple[int, ...] = ()
    array_id: int | None = None
    reservation_accepted: bool | None = None
    messages: tuple[str, ...] = ()


@frozen
class OarDelResult:
    """oardel registered the deletion of ``deleted``; ``already_gone`` were already killed or finished."""

    deleted: tuple[int, ...]
    already_gone: tuple[int, ...] = ()


@frozen
class G5kSubnetParams:
    """The network parameters printed by ``g5k-subnets -a`` (seven tab-separated fields)."""

    ip_prefix: str
    broadcast: str
    netmask: str
    gateway: str
    network: str
    dns_hostname: str
    dns_ip: str


# ---------------------------------------------------------------------------------------------- helpers


def _lines(text: str) -> list[str]:
    """The lines of ``text`` whatever the line ends (LF, CRLF, CR), without their ends."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _meaningful(text: str) -> list[str]:
    return [ln.strip() for ln in _lines(text) if ln.strip()]


def _failed(command: str, exit_code: int | None, stdout: str, stderr: str) -> CommandFailed:
    return CommandFailed(argv=(command,), exit_code=exit_code, stderr=stderr, stdout=stdout)


def _int_or_none(value: object) -> int | None:
    """An int from JSON or text (bounded, finite, ASCII digits), else None: never raises (see ``int_of``)."""
    return int_of(value)


def _ts_or_none(value: object) -> int | None:
    """A JSON epoch time; OAR prints 0 for 'not set'."""
    n = _int_or_none(value)
    return n if n else None


def _str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return str(value)


_MESSAGE_FIELD = re.compile(r"(?:^|,)([A-Z])=([^,()]*)", re.ASCII)


def _message_fields(message: str) -> dict[str, str]:
    """The ``R=8,W=0:10:0,J=B,T=deploy|x,N=name,P=proj`` fields of OAR's job message."""
    head = message.split(" (", 1)[0]
    return {k: v for k, v in _MESSAGE_FIELD.findall(head)}


def _walltime_of_message(message: str) -> int | None:
    w = _message_fields(message).get("W")
    if w is None:
        return None
    secs = oar_duration_to_seconds(w)
    return int(secs.unwrap()) if isinstance(secs, Success) else None


_WANTED_WALLTIME = re.compile(r"walltime=(\d+(?::\d+){0,2})", re.ASCII)


def _walltime_of_wanted(wanted: str) -> int | None:
    """The walltime of OAR's ``wanted_resources`` (``-l "{...}/network_address=1,walltime=0:5:0"``)."""
    m = _WANTED_WALLTIME.search(wanted)
    if m is None:
        return None
    secs = oar_duration_to_seconds(m.group(1))
    return int(secs.unwrap()) if isinstance(secs, Success) else None


def _text_date(value: str, tz: tzinfo) -> int | None:
    r = oar_date_to_unixts(value, tz=tz)
    return int(r.unwrap()) if isinstance(r, Success) else None


# ------------------------------------------------------------------------------------------------ oarsub

_JOB_ID_LINE = re.compile(r"OAR_JOB_ID=(-?\d+)", re.ASCII)
_ARRAY_ID_LINE = re.compile(r"OAR_ARRAY_ID=(\d+)", re.ASCII)
_RESA_KO = re.compile(r"Reservation not valid --> KO(?: \((?P<why>.*)\))?", re.ASCII)
_COULD_RUN = re.compile(r"could run at (\d{4}-\d\d-\d\d \d\d?:\d\d?:\d\d?)", re.ASCII)


def parse_oarsub_output(
    exit_code: int | None, stdout: str, stderr: str = "", *, tz: tzinfo = PARIS
) -> Result[OarSubmitted, G5kError]:
    """Read oarsub's output (plain or ``-J``): the job id, or a typed ``Rejected`` with OAR's reason and hints."""
    out_lines = [ln.strip() for ln in _lines(stdout)]
    err_lines = _meaningful(stderr)
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
        could_ts = _text_date(could.group(1), tz) if could else None
        job = f" (OAR created job {ids[0]} in state Error)" if ids and ids[0] > 0 else ""
        return Failure(Rejected(f"reservation refused: {ko_reason}{job}", exit_code, could_ts, output=output))
    good = [i for i in ids if i > 0]
    ok_exit = exit_code in (0, None)  # None: the transport could not tell (the output decides)
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
        return _int_or_none(data.get("job_id"))
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


# ------------------------------------------------------------------------------------------------ oardel

_DEL_LINE = re.compile(r"Deleting the job = (\d{1,18}) \.\.\.(\w+)\.?", re.ASCII)
_FRAG_LINE = re.compile(r"Cannot frag (\d{1,18}) ; (.*)", re.ASCII)


def parse_oardel_output(exit_code: int | None, stdout: str, stderr: str = "") -> Result[OarDelResult, G5kError]:
    """Read oardel's output: the jobs whose deletion is registered; refusals as ``Rejected`` or ``Partial``."""
    registered: list[int] = []
    errored: list[int] = []
    for ln in _lines(stdout):
        m = _DEL_LINE.search(ln)
        if m:
            (registered if m.group(2) == "REGISTERED" else errored).append(int(m.group(1)))
    reasons: dict[int, str] = {}
    for ln in _lines(stderr):
        m = _FRAG_LINE.search(ln)
        if m:
            reasons[int(m.group(1))] = m.group(2).strip()
    gone = [j for j in errored if "already killed" in reasons.get(j, "") or "terminated" in reasons.get(j, "")]
    refused = [j for j in errored if j not in gone]
    if not registered and not errored:
        if exit_code == 0:
            return Failure(ParseError("oardel output", line=stdout[:200], hint="no 'Deleting the job = N' line"))
        return Failure(_failed("oardel", exit_code, stdout, stderr))
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


# ---------------------------------------------------------------------------------------- oarstat -f text

_ATTR_LINE = re.compile(r"^ {2,}(\w+) = ?(.*)$", re.ASCII)
_JOB_HEADER = re.compile(r"^\s*(?:Job_Id|id):\s*(\d{1,18})\s*$", re.ASCII)
_EVENT_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)> ([^:]+):(.*)$", re.ASCII)
_EXIT_TEXT = re.compile(r"^(-?\d{1,18})(?:\s*\((-?\d{1,18}),(-?\d{1,18}),(-?\d{1,18})\))?$", re.ASCII)


def parse_oarstat_job_text(
    exit_code: int | None, stdout: str, stderr: str = "", *, job_id: int | None = None, tz: tzinfo = PARIS
) -> Result[OarJobInfo, G5kError]:
    """Read ``oarstat -f -j ID`` text (camelCase or ``--format 3`` snake_case keys) into an :class:`OarJobInfo`."""
    if exit_code not in (0, None):
        return Failure(_failed("oarstat", exit_code, stdout, stderr))
    lines = _lines(stdout)
    start = next((i for i, ln in enumerate(lines) if _JOB_HEADER.match(ln)), None)
    if start is None:
        if not stdout.strip():
            return Failure(NotFound("OAR job", str(job_id) if job_id is not None else "?", "oarstat printed nothing"))
        return Failure(ParseError("oarstat -f output", line=stdout[:200], hint="no 'Job_Id: N' line"))
    header = _JOB_HEADER.match(lines[start])
    assert header is not None
    jid = int(header.group(1))
    attrs: dict[str, str] = {}
    events: list[OarEvent] = []
    last: str | None = None
    in_events = False
    for ln in lines[start + 1 :]:
        if _JOB_HEADER.match(ln):
            break  # a second job: oarstat -f without -j; we read the first one
        m = _ATTR_LINE.match(ln)
        if m and not in_events:
            last = m.group(1)
            attrs[last] = m.group(2).rstrip()
            in_events = last == "events"
            continue
        if in_events:
            if not ln.strip():
                continue
            ev = _EVENT_LINE.match(ln.strip())
            if ev:
                events.append(OarEvent(_text_date(ev.group(1), tz), ev.group(2).strip(), ev.group(3).strip()))
            elif events:
                last_ev = events[-1]
                events[-1] = OarEvent(last_ev.date, last_ev.kind, last_ev.description + "\n" + ln)
            else:
                events.append(OarEvent(None, "", ln.strip()))
            continue
        if last is not None and ln.strip():
            attrs[last] = attrs[last] + "\n" + ln  # a value spanning lines (a command with a newline)
    if job_id is not None and jid != job_id:
        return Failure(NotFound("OAR job", str(job_id), f"oarstat answered about job {jid}"))
    if "state" not in attrs:
        return Failure(ParseError("oarstat -f output", where=f"job {jid}", hint="no 'state = ...' line"))

    def get(*keys: str) -> str:
        """The first present attribute among ``keys`` (camelCase and snake_case spellings), or ''."""
        for k in keys:
            if k in attrs:
                return attrs[k]
        return ""

    bad: list[str] = []

    def date(*keys: str) -> int | None:
        """The first present attribute among ``keys`` read as an OAR date in ``tz``, or None (noting garbage)."""
        v = get(*keys).strip()
        if not v or v == "no prediction":
            return None
        parsed = _text_date(v, tz)
        if parsed is None:
            bad.append(f"{keys[0]} = {v}")
        return parsed

    wall_text = get("walltime").strip()
    walltime: int | None = None
    if wall_text.isdigit() and wall_text.isascii():
        walltime = parse_int(wall_text)  # OAR 3 prints the walltime as seconds (OAR 2.5 prints H:M:S)
        if walltime is None:
            bad.append(f"walltime = {wall_text[:80]}")
    elif wall_text:
        w = oar_duration_to_seconds(wall_text)
        if isinstance(w, Success):
            walltime = int(w.unwrap())
        else:
            bad.append(f"walltime = {wall_text}")
    message = get("message")
    if walltime is None:
        walltime = _walltime_of_message(message) or _walltime_of_wanted(get("wanted_resources"))
    exit_value, exit_status = _exit_of_text(get("exit_code").strip())
    types_text = get("types", "type").strip()
    types = tuple(t.strip() for t in types_text.split(",") if t.strip())
    hosts_text = get("assigned_hostnames").strip()
    res_text = get("assigned_resources").strip()
    name = get("name").strip()
    state_text = get("state").strip()
    times = (
        date("submissionTime", "submission_time"),
        date("startTime", "start_time"),
        date("scheduledStart", "scheduled_start"),
        date("stopTime", "stop_time"),
    )
    resource_words = [r.strip() for r in res_text.split("+") if r.strip()]
    resource_ids = tuple(n for n in (parse_int(r) for r in resource_words if not r.startswith("-")) if n is not None)
    if len(resource_ids) != len(resource_words):
        bad.append(f"assigned_resources = {res_text}")
    if bad:
        return Failure(ParseError("oarstat -f value", where=f"job {jid}", line=bad[0], hint="not an OAR date/number"))
    return Success(
        OarJobInfo(
            job_id=jid,
            state=OarState.of(state_text),
            state_text=state_text,
            owner=get("owner", "job_user").strip(),
            name=name or None,
            queue=get("queue", "queue_name").strip(),
            project=get("project").strip(),
            types=types,
            walltime=walltime,
            submission_time=times[0],
            start_time=times[1],
            scheduled_start=times[2],
            stop_time=times[3],
            assigned_hosts=tuple(sorted({h for h in hosts_text.split("+") if h})),
            assigned_resources=resource_ids,
            reservation=get("reservation").strip() or "None",
            message=message,
            exit_code=exit_value,
            exit_status=exit_status,
            command=get("command"),
            properties=get("properties"),
            wanted_resources=get("wanted_resources").strip(),
            initial_request=get("initial_request"),
            launching_directory=get("launchingDirectory", "launching_directory"),
            job_kind=get("jobType", "job_type").strip(),
            array_id=_int_or_none(get("job_array_id", "array_id")),
            array_index=_int_or_none(get("job_array_index", "array_index")),
            resubmit_job_id=_int_or_none(get("resubmit_job_id")) or None,
            events=tuple(events),
        )
    )


def _exit_of_text(text: str) -> tuple[int | None, int | None]:
    """OAR's ``exit_code = 768 (3,0,0)``: (exit value, raw wait status)."""
    m = _EXIT_TEXT.match(text)
    if not m:
        return None, None
    raw = int(m.group(1))
    if m.group(2) is not None:
        return int(m.group(2)), raw
    return _exit_of_raw(raw)


def _exit_of_raw(raw: int | None) -> tuple[int | None, int | None]:
    if raw is None:
        return None, None
    return (raw >> 8) & 0xFF, raw


# ---------------------------------------------------------------------------------------- oarstat -J JSON


def _json_object(stdout: str) -> Result[dict[str, Any], G5kError]:
    text = stdout.strip()
    start = text.find("{")
    if start < 0:
        return Failure(ParseError("oarstat JSON", line=text[:200], hint="no JSON object"))
    try:
        data = json.loads(text[start:])
    except (ValueError, RecursionError) as exc:
        return Failure(ParseError("oarstat JSON", hint=str(exc), line=text[:200]))
    if not isinstance(data, dict):
        return Failure(ParseError("oarstat JSON", line=text[:200], hint="expected an object keyed by job id"))
    return Success(data)


_JSON_NUMBER_KEYS = (
    "walltime", "submissionTime", "submission_time", "startTime", "start_time", "scheduledStart",
    "scheduled_start", "stopTime", "stop_time", "exit_code", "array_id", "array_index", "resubmit_job_id",
)  # fmt: skip


def _job_of_json(key: str, rec: object) -> Result[OarJobInfo, G5kError]:
    if not isinstance(rec, Mapping):
        return Failure(ParseError("oarstat JSON job", where=f"key {key[:40]!r}", hint="not an object"))
    jid = _int_or_none(rec.get("Job_Id", rec.get("job_id", rec.get("id", key))))
    if jid is None:
        return Failure(ParseError("oarstat JSON job", where=f"key {key[:40]!r}", hint="no job id"))
    state_text = _str(rec.get("state")).strip()
    if not state_text:
        return Failure(ParseError("oarstat JSON job", where=f"job {jid}", hint="no state"))
    message = _str(rec.get("message"))
    bad = [
        f"{k} = {rec[k]!r}"
        for k in _JSON_NUMBER_KEYS
        if k in rec and rec[k] not in (None, "") and _int_or_none(rec[k]) is None
    ]
    walltime = _int_or_none(rec.get("walltime"))
    if walltime is None and isinstance(rec.get("walltime"), str) and rec["walltime"].strip():
        w = oar_duration_to_seconds(_str(rec.get("walltime")))
        if isinstance(w, Success):
            walltime = int(w.unwrap())
            bad = [b for b in bad if not b.startswith("walltime")]
    if bad:
        return Failure(ParseError("oarstat JSON value", where=f"job {jid}", line=bad[0], hint="expected a number"))
    if walltime is None:
        walltime = _walltime_of_message(message) or _walltime_of_wanted(_str(rec.get("wanted_resources")))
    hosts = rec.get("assigned_network_address", rec.get("assigned_hostnames", []))
    host_list = hosts if isinstance(hosts, list) else _str(hosts).split("+")
    resources = rec.get("assigned_resources", [])
    res_list = resources if isinstance(resources, list) else _str(resources).split("+")
    types = rec.get("types", [])
    type_list = types if isinstance(types, list) else _str(types).split(",")
    exit_value, exit_status = _exit_of_raw(_int_or_none(rec.get("exit_code")))
    events: list[OarEvent] = []
    raw_events = rec.get("events", [])
    for ev in raw_events if isinstance(raw_events, list) else []:
        if isinstance(ev, Mapping):
            date = _ts_or_none(ev.get("date"))
            events.append(OarEvent(date, _str(ev.get("type")), _str(ev.get("description"))))
        else:
            events.append(OarEvent(None, "", _str(ev)))
    name = _str(rec.get("name")).strip()
    return Success(
        OarJobInfo(
            job_id=jid,
            state=OarState.of(state_text),
            state_text=state_text,
            owner=_str(rec.get("owner", rec.get("job_user"))),
            name=name or None,
            queue=_str(rec.get("queue", rec.get("queue_name"))),
            project=_str(rec.get("project")),
            types=tuple(_str(t).strip() for t in type_list if _str(t).strip()),
            walltime=walltime,
            submission_time=_ts_or_none(rec.get("submissionTime", rec.get("submission_time"))),
            start_time=_ts_or_none(rec.get("startTime", rec.get("start_time"))),
            scheduled_start=_ts_or_none(rec.get("scheduledStart", rec.get("scheduled_start"))),
            stop_time=_ts_or_none(rec.get("stopTime", rec.get("stop_time"))),
            assigned_hosts=tuple(sorted({_str(h) for h in host_list if _str(h)})),
            assigned_resources=tuple(n for n in (_int_or_none(r) for r in res_list) if n is not None),
            reservation=_str(rec.get("reservation")) or "None",
            message=message,
            exit_code=exit_value,
            exit_status=exit_status,
            command=_str(rec.get("command")),
            properties=_str(rec.get("properties")),
            wanted_resources=_str(rec.get("wanted_resources")).strip(),
            initial_request=_str(rec.get("initial_request")),
            launching_directory=_str(rec.get("launchingDirectory", rec.get("launching_directory"))),
            job_kind=_str(rec.get("jobType", rec.get("job_type"))),
            array_id=_int_or_none(rec.get("array_id")),
            array_index=_int_or_none(rec.get("array_index")),
            resubmit_job_id=_int_or_none(rec.get("resubmit_job_id")) or None,
            events=tuple(events),
        )
    )


def parse_oarstat_jobs_json(
    exit_code: int | None, stdout: str, stderr: str = ""
) -> Result[tuple[OarJobInfo, ...], G5kError]:
    """Read ``oarstat -J`` / ``oarstat -f -J`` (empty output = no job) into job infos sorted by id."""
    if exit_code not in (0, None):
        return Failure(_failed("oarstat", exit_code, stdout, stderr))
    if not stdout.strip():
        return Success(())
    obj = _json_object(stdout)
    if isinstance(obj, Failure):
        return Failure(obj.failure())
    jobs: list[OarJobInfo] = []
    for key, rec in obj.unwrap().items():
        job = _job_of_json(str(key), rec)
        if isinstance(job, Failure):
            return Failure(job.failure())
        jobs.append(job.unwrap())
    return Success(tuple(sorted(jobs, key=lambda j: j.job_id)))


def parse_oarstat_job_json(
    exit_code: int | None, stdout: str, stderr: str = "", *, job_id: int | None = None
) -> Result[OarJobInfo, G5kError]:
    """Read ``oarstat -f -J -j ID`` into an :class:`OarJobInfo`; empty output (unknown job) is ``NotFound``."""
    jobs = parse_oarstat_jobs_json(exit_code, stdout, stderr)
    if isinstance(jobs, Failure):
        return Failure(jobs.failure())
    found = jobs.unwrap()
    key = str(job_id) if job_id is not None else "?"
    if job_id is not None:
        found = tuple(j for j in found if j.job_id == job_id)
    if not found:
        return Failure(NotFound("OAR job", key, "oarstat printed nothing: the job does not exist (any more)"))
    if len(found) > 1:
        return Failure(ParseError("oarstat JSON", hint=f"{len(found)} jobs where one was expected; pass job_id"))
    return Success(found[0])


# ------------------------------------------------------------------------------------------ oarstat lists

_ROW_F2 = re.compile(r"^(\d{1,18})\s+(\S)\s+(\S+)\s+(\d+:\d\d:\d\d)(?: (.*))?$", re.ASCII)
_ROW_F1 = re.compile(r"^(\d{1,18}) (.*?)\s+(\S+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+(\S)\s+(\S+)\s*$", re.ASCII)
_ROW_ARRAY = re.compile(r"^(\d{1,18})\s+(\d{1,18})\s+(\d{1,18})\s+(\S)\s+(\S+)\s+(\d+:\d\d:\d\d)(?: (.*))?$", re.ASCII)


def _duration(text: str) -> int | None:
    r = oar_duration_to_seconds(text)
    return int(r.unwrap()) if isinstance(r, Success) else None


def _summary_of_message(job_id: int, state: OarState, user: str, message: str, **extra: Any) -> OarJobSummary:
    fields = _message_fields(message)
    types = tuple(t for t in fields.get("T", "").split("|") if t)
    return OarJobSummary(
        job_id=job_id,
        state=state,
        user=user,
        name=extra.pop("name", None) or fields.get("N") or None,
        project=fields.get("P"),
        types=types,
        walltime=_walltime_of_message(message),
        message=message,
        **extra,
    )


def parse_oarstat_list(
    exit_code: int | None, stdout: str, stderr: str = "", *, tz: tzinfo = PARIS
) -> Result[tuple[OarJobSummary, ...], G5kError]:
    """Read an ``oarstat`` listing (``-u``, ``--format 1``/``2``, ``--array`` or ``-J``; empty = no job)."""
    if exit_code not in (0, None):
        return Failure(_failed("oarstat", exit_code, stdout, stderr))
    if stdout.lstrip().startswith("{"):
        infos = parse_oarstat_jobs_json(exit_code, stdout, stderr)
        if isinstance(infos, Failure):
            return Failure(infos.failure())
        return Success(tuple(_summary_of_info(j) for j in infos.unwrap()))
    rows: list[OarJobSummary] = []
    layout: str | None = None
    for n, raw in enumerate(_lines(stdout), start=1):
        ln = raw.rstrip()
        if not ln.strip() or set(ln.strip()) <= {"-", " "}:
            continue
        if ln.startswith("Job id"):
            cols = ln.split()
            layout = "array" if "A." in cols else ("f1" if "Name" in cols else "f2")
            continue
        row = _list_row(ln, layout, tz)
        if row is None:
            return Failure(ParseError("oarstat listing", where=f"line {n}", line=ln))
        rows.append(row)
    return Success(tuple(rows))


def _list_row(ln: str, layout: str | None, tz: tzinfo) -> OarJobSummary | None:
    if layout in (None, "f2"):
        m = _ROW_F2.match(ln)
        if m:
            return _summary_of_message(
                int(m.group(1)),
                OarState.of_letter(m.group(2)),
                m.group(3),
                m.group(5) or "",
                duration=_duration(m.group(4)),
            )
    if layout in (None, "f1"):
        m = _ROW_F1.match(ln)
        if m:
            return OarJobSummary(
                job_id=int(m.group(1)),
                state=OarState.of_letter(m.group(5)),
                user=m.group(3),
                name=m.group(2).strip() or None,
                queue=m.group(6),
                submission_time=_text_date(m.group(4), tz),
            )
    if layout in (None, "array"):
        m = _ROW_ARRAY.match(ln)
        if m:
            return _summary_of_message(
                int(m.group(1)),
                OarState.of_letter(m.group(4)),
                m.group(5),
                m.group(7) or "",
                duration=_duration(m.group(6)),
                array_id=int(m.group(2)),
                array_index=int(m.group(3)),
            )
    return None


def _summary_of_info(j: OarJobInfo) -> OarJobSummary:
    return OarJobSummary(
        job_id=j.job_id,
        state=j.state,
        user=j.owner,
        name=j.name,
        queue=j.queue or None,
        project=j.project or None,
        types=j.types,
        walltime=j.walltime,
        submission_time=j.submission_time,
        message=j.message,
        array_id=j.array_id,
        array_index=j.array_index,
    )


_STATE_LINE = re.compile(r"^\s*(\d{1,18}):\s*(\w+)\s*$", re.ASCII)


def parse_oarstat_state(
    exit_code: int | None, stdout: str, stderr: str = "", *, job_id: int | None = None
) -> Result[OarState, G5kError]:
    """Read ``oarstat -s -j ID`` (``ID: State``); empty output is ``NotFound``."""
    if exit_code not in (0, None):
        return Failure(_failed("oarstat", exit_code, stdout, stderr))
    states: dict[int, OarState] = {}
    for ln in _lines(stdout):
        m = _STATE_LINE.match(ln)
        if m:
            states[int(m.group(1))] = OarState.of(m.group(2))
        elif ln.strip():
            return Failure(ParseError("oarstat -s output", line=ln, hint="expected 'ID: State'"))
    if job_id is not None:
        if job_id in states:
            return Success(states[job_id])
        return Failure(NotFound("OAR job", str(job_id), "oarstat -s printed no state for it"))
    if len(states) == 1:
        return Success(next(iter(states.values())))
    if not states:
        return Failure(NotFound("OAR job", "?", "oarstat -s printed nothing"))
    return Failure(ParseError("oarstat -s output", hint="several jobs; pass job_id"))


_EVENTS_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)> \[(\d{1,18})\] ([^:]+):(.*)$", re.ASCII)


def parse_oarstat_events(
    exit_code: int | None, stdout: str, stderr: str = "", *, tz: tzinfo = PARIS
) -> Result[tuple[tuple[int, OarEvent], ...], G5kError]:
    """Read ``oarstat -e -j ID``: (job id, event) pairs in the printed order (empty output = no event)."""
    if exit_code not in (0, None):
        return Failure(_failed("oarstat", exit_code, stdout, stderr))
    events: list[tuple[int, OarEvent]] = []
    for n, raw in enumerate(_lines(stdout), start=1):
        if not raw.strip():
            continue
        m = _EVENTS_LINE.match(raw.strip())
        if m is None:
            return Failure(
                ParseError("oarstat -e output", where=f"line {n}", line=raw, hint="expected 'DATE> [ID] TYPE: text'")
            )
        event = OarEvent(_text_date(m.group(1), tz), m.group(3).strip(), m.group(4).strip())
        events.append((int(m.group(2)), event))
    return Success(tuple(events))


# ------------------------------------------------------------------------------------ nodes, subnets, vlans

_NETWORK_ADDRESS = re.compile(r"\bnetwork_address = '([^']*)'", re.ASCII)
_HOST_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)


def parse_job_nodes(exit_code: int | None, stdout: str, stderr: str = "") -> Result[tuple[str, ...], G5kError]:
    """A job's host names, sorted and unique, from ``oarstat -p -j ID``, ``oarstat -J`` or one host per line."""
    if exit_code not in (0, None):
        return Failure(_failed("oarstat", exit_code, stdout, stderr))
    text = stdout.strip()
    if not text:
        return Success(())
    if text.startswith("{"):
        jobs = parse_oarstat_jobs_json(exit_code, stdout, stderr)
        if isinstance(jobs, Failure):
            return Failure(jobs.failure())
        return Success(tuple(sorted({h for j in jobs.unwrap() for h in j.assigned_hosts})))
    hosts: set[str] = set()
    for n, raw in enumerate(_lines(stdout), start=1):
        ln = raw.strip()
        if not ln:
            continue
        if " = '" in ln:
            m = _NETWORK_ADDRESS.search(ln)
            if m is None:
                return Failure(ParseError("oarstat -p output", where=f"line {n}", line=ln, hint="no network_address"))
            if m.group(1):
                hosts.add(m.group(1))
        elif _HOST_TOKEN.fullmatch(ln):
            hosts.add(ln)
        else:
            return Failure(ParseError("job node list", where=f"line {n}", line=ln, hint="expected one host per line"))
    return Success(tuple(sorted(hosts)))


def parse_g5k_subnets(
    exit_code: int | None, stdout: str, stderr: str = ""
) -> Result[tuple[tuple[str, str], ...], G5kError]:
    """Read ``g5k-subnets -i -m -j ID``: one ``IP<TAB>MAC`` per line -> (ip, mac) pairs in order."""
    if exit_code not in (0, None):
        return Failure(_failed("g5k-subnets", exit_code, stdout, stderr))
    pairs: list[tuple[str, str]] = []
    for n, raw in enumerate(_lines(stdout), start=1):
        words = raw.split()
        if not words:
            continue
        if len(words) != 2:
            return Failure(ParseError("g5k-subnets -i -m output", where=f"line {n}", line=raw, hint="expected IP MAC"))
        pairs.append((words[0], words[1]))
    return Success(tuple(pairs))


def parse_g5k_subnet_params(exit_code: int | None, stdout: str, stderr: str = "") -> Result[G5kSubnetParams, G5kError]:
    """Read ``g5k-subnets -a -j ID``: seven tab-separated fields (prefix, broadcast, netmask, gateway...)."""
    if exit_code not in (0, None):
        return Failure(_failed("g5k-subnets", exit_code, stdout, stderr))
    lines = [ln for ln in _lines(stdout) if ln.strip()]
    if len(lines) != 1:
        return Failure(ParseError("g5k-subnets -a output", line=stdout[:200], hint="expected exactly one line"))
    fields = lines[0].strip().split("\t")
    if len(fields) != 7:
        hint = f"expected 7 tab-separated fields, got {len(fields)}"
        return Failure(ParseError("g5k-subnets -a output", line=lines[0], hint=hint))
    return Success(G5kSubnetParams(*(f.strip() for f in fields)))


def parse_kavlan_ids(exit_code: int | None, stdout: str, stderr: str = "") -> Result[tuple[int, ...], G5kError]:
    """Read ``kavlan -j ID -V``: one vlan id per line (empty output = no vlan)."""
    if exit_code not in (0, None):
        return Failure(_failed("kavlan", exit_code, stdout, stderr))
    ids: list[int] = []
    for n, raw in enumerate(_lines(stdout), start=1):
        ln = raw.strip()
        if not ln:
            continue
        vlan = parse_int(ln) if ln.isdigit() else None
        if vlan is None:
            return Failure(ParseError("kavlan -V output", where=f"line {n}", line=ln[:80], hint="expected a vlan id"))
        ids.append(vlan)
    return Success(tuple(ids))
