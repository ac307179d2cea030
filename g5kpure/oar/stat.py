"""What oarstat says about jobs: ``oarstat -f`` in text (camelCase keys of OAR 2.5, ``--format 3`` snake_case
keys) and ``-J`` JSON (any key order), listings (text formats 1 and 2, ``--array``, ``-J``), states (``-s``) and
events (``-e``).

OAR prints text dates as wall-clock times of the OAR server's zone: pass that zone as ``tz`` (default
Europe/Paris, the zone of every Grid'5000 server). A job oarstat does not know is ``NotFound``; a value that
should be a date or a number but is not is a ``ParseError`` naming it, never a silently missing field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import tzinfo
from typing import Any

from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, NotFound, ParseError
from g5kpure.oar.dates import PARIS, int_of, oar_duration_to_seconds, parse_int
from g5kpure.oar.jobs import OarEvent, OarJobInfo, OarJobSummary, OarState
from g5kpure.oar.outputs import (
    as_str,
    command_failed,
    duration_or_none,
    exited_ok,
    message_fields,
    read_lines,
    split_lines,
    text_date,
    ts_or_none,
    walltime_of_message,
    walltime_of_wanted,
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
    if not exited_ok(exit_code):
        return Failure(command_failed("oarstat", exit_code, stdout, stderr))
    lines = split_lines(stdout)
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
                events.append(OarEvent(text_date(ev.group(1), tz), ev.group(2).strip(), ev.group(3).strip()))
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
        parsed = text_date(v, tz)
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
        walltime = walltime_of_message(message) or walltime_of_wanted(get("wanted_resources"))
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
            array_id=int_of(get("job_array_id", "array_id")),
            array_index=int_of(get("job_array_index", "array_index")),
            resubmit_job_id=int_of(get("resubmit_job_id")) or None,
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
    jid = int_of(rec.get("Job_Id", rec.get("job_id", rec.get("id", key))))
    if jid is None:
        return Failure(ParseError("oarstat JSON job", where=f"key {key[:40]!r}", hint="no job id"))
    state_text = as_str(rec.get("state")).strip()
    if not state_text:
        return Failure(ParseError("oarstat JSON job", where=f"job {jid}", hint="no state"))
    message = as_str(rec.get("message"))
    bad = [
        f"{k} = {rec[k]!r}"
        for k in _JSON_NUMBER_KEYS
        if k in rec and rec[k] not in (None, "") and int_of(rec[k]) is None
    ]
    walltime = int_of(rec.get("walltime"))
    if walltime is None and isinstance(rec.get("walltime"), str) and rec["walltime"].strip():
        w = oar_duration_to_seconds(as_str(rec.get("walltime")))
        if isinstance(w, Success):
            walltime = int(w.unwrap())
            bad = [b for b in bad if not b.startswith("walltime")]
    if bad:
        return Failure(ParseError("oarstat JSON value", where=f"job {jid}", line=bad[0], hint="expected a number"))
    if walltime is None:
        walltime = walltime_of_message(message) or walltime_of_wanted(as_str(rec.get("wanted_resources")))
    hosts = rec.get("assigned_network_address", rec.get("assigned_hostnames", []))
    host_list = hosts if isinstance(hosts, list) else as_str(hosts).split("+")
    resources = rec.get("assigned_resources", [])
    res_list = resources if isinstance(resources, list) else as_str(resources).split("+")
    types = rec.get("types", [])
    type_list = types if isinstance(types, list) else as_str(types).split(",")
    exit_value, exit_status = _exit_of_raw(int_of(rec.get("exit_code")))
    events: list[OarEvent] = []
    raw_events = rec.get("events", [])
    for ev in raw_events if isinstance(raw_events, list) else []:
        if isinstance(ev, Mapping):
            date = ts_or_none(ev.get("date"))
            events.append(OarEvent(date, as_str(ev.get("type")), as_str(ev.get("description"))))
        else:
            events.append(OarEvent(None, "", as_str(ev)))
    name = as_str(rec.get("name")).strip()
    return Success(
        OarJobInfo(
            job_id=jid,
            state=OarState.of(state_text),
            state_text=state_text,
            owner=as_str(rec.get("owner", rec.get("job_user"))),
            name=name or None,
            queue=as_str(rec.get("queue", rec.get("queue_name"))),
            project=as_str(rec.get("project")),
            types=tuple(as_str(t).strip() for t in type_list if as_str(t).strip()),
            walltime=walltime,
            submission_time=ts_or_none(rec.get("submissionTime", rec.get("submission_time"))),
            start_time=ts_or_none(rec.get("startTime", rec.get("start_time"))),
            scheduled_start=ts_or_none(rec.get("scheduledStart", rec.get("scheduled_start"))),
            stop_time=ts_or_none(rec.get("stopTime", rec.get("stop_time"))),
            assigned_hosts=tuple(sorted({as_str(h) for h in host_list if as_str(h)})),
            assigned_resources=tuple(n for n in (int_of(r) for r in res_list) if n is not None),
            reservation=as_str(rec.get("reservation")) or "None",
            message=message,
            exit_code=exit_value,
            exit_status=exit_status,
            command=as_str(rec.get("command")),
            properties=as_str(rec.get("properties")),
            wanted_resources=as_str(rec.get("wanted_resources")).strip(),
            initial_request=as_str(rec.get("initial_request")),
            launching_directory=as_str(rec.get("launchingDirectory", rec.get("launching_directory"))),
            job_kind=as_str(rec.get("jobType", rec.get("job_type"))),
            array_id=int_of(rec.get("array_id")),
            array_index=int_of(rec.get("array_index")),
            resubmit_job_id=int_of(rec.get("resubmit_job_id")) or None,
            events=tuple(events),
        )
    )


def parse_oarstat_jobs_json(
    exit_code: int | None, stdout: str, stderr: str = ""
) -> Result[tuple[OarJobInfo, ...], G5kError]:
    """Read ``oarstat -J`` / ``oarstat -f -J`` (empty output = no job) into job infos sorted by id."""
    if not exited_ok(exit_code):
        return Failure(command_failed("oarstat", exit_code, stdout, stderr))
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


def _summary_of_message(job_id: int, state: OarState, user: str, message: str, **extra: Any) -> OarJobSummary:
    fields = message_fields(message)
    types = tuple(t for t in fields.get("T", "").split("|") if t)
    return OarJobSummary(
        job_id=job_id,
        state=state,
        user=user,
        name=extra.pop("name", None) or fields.get("N") or None,
        project=fields.get("P"),
        types=types,
        walltime=walltime_of_message(message),
        message=message,
        **extra,
    )


def parse_oarstat_list(
    exit_code: int | None, stdout: str, stderr: str = "", *, tz: tzinfo = PARIS
) -> Result[tuple[OarJobSummary, ...], G5kError]:
    """Read an ``oarstat`` listing (``-u``, ``--format 1``/``2``, ``--array`` or ``-J``; empty = no job)."""
    if not exited_ok(exit_code):
        return Failure(command_failed("oarstat", exit_code, stdout, stderr))
    if stdout.lstrip().startswith("{"):
        infos = parse_oarstat_jobs_json(exit_code, stdout, stderr)
        if isinstance(infos, Failure):
            return Failure(infos.failure())
        return Success(tuple(_summary_of_info(j) for j in infos.unwrap()))
    rows: list[OarJobSummary] = []
    layout: str | None = None
    for n, raw in enumerate(split_lines(stdout), start=1):
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


def _format2_row(m: re.Match[str], _tz: tzinfo) -> OarJobSummary:
    """``ID STATE USER DURATION MESSAGE`` (``--format 2``, the default)."""
    duration = duration_or_none(m.group(4))
    return _summary_of_message(int(m.group(1)), OarState.of_letter(m.group(2)), m.group(3), m.group(5) or "",
                               duration=duration)


def _format1_row(m: re.Match[str], tz: tzinfo) -> OarJobSummary:
    """``ID NAME USER SUBMISSION STATE QUEUE`` (``--format 1``)."""
    return OarJobSummary(job_id=int(m.group(1)), state=OarState.of_letter(m.group(5)), user=m.group(3),
                         name=m.group(2).strip() or None, queue=m.group(6), submission_time=text_date(m.group(4), tz))


def _array_row(m: re.Match[str], _tz: tzinfo) -> OarJobSummary:
    """``ID ARRAY INDEX STATE USER DURATION MESSAGE`` (``--array``)."""
    return _summary_of_message(int(m.group(1)), OarState.of_letter(m.group(4)), m.group(5), m.group(7) or "",
                               duration=duration_or_none(m.group(6)), array_id=int(m.group(2)),
                               array_index=int(m.group(3)))


#: The layouts of a text listing, in the order they are tried when the header did not say which.
_LAYOUTS: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str], tzinfo], OarJobSummary]], ...] = (
    ("f2", _ROW_F2, _format2_row),
    ("f1", _ROW_F1, _format1_row),
    ("array", _ROW_ARRAY, _array_row),
)


def _list_row(ln: str, layout: str | None, tz: tzinfo) -> OarJobSummary | None:
    for name, pattern, row in _LAYOUTS:
        m = pattern.match(ln) if layout in (None, name) else None
        if m:
            return row(m, tz)
    return None


#: The fields a listing row takes as they are from a job's full description.
_SUMMARY_FIELDS = ("job_id", "state", "name", "types", "walltime", "submission_time", "message", "array_id",
                   "array_index")


def _summary_of_info(j: OarJobInfo) -> OarJobSummary:
    same: dict[str, Any] = {name: getattr(j, name) for name in _SUMMARY_FIELDS}
    return OarJobSummary(user=j.owner, queue=j.queue or None, project=j.project or None, **same)


_STATE_LINE = re.compile(r"^\s*(\d{1,18}):\s*(\w+)\s*$", re.ASCII)


def _state_of_line(line: str) -> tuple[int, OarState] | None:
    m = _STATE_LINE.match(line)
    return None if m is None else (int(m.group(1)), OarState.of(m.group(2)))


def parse_oarstat_states(
    exit_code: int | None, stdout: str, stderr: str = ""
) -> Result[Mapping[int, OarState], G5kError]:
    """Read ``oarstat -s -j A -j B ...``: the state of each job it knows (unknown jobs are absent)."""
    pairs = read_lines(("oarstat", "-s"), exit_code, stdout, stderr, _state_of_line, what="oarstat -s output",
                       hint="expected 'ID: State'")
    return pairs.map(dict)


def parse_oarstat_state(
    exit_code: int | None, stdout: str, stderr: str = "", *, job_id: int | None = None
) -> Result[OarState, G5kError]:
    """Read ``oarstat -s -j ID`` (``ID: State``); empty output is ``NotFound``."""
    read = read_lines("oarstat", exit_code, stdout, stderr, _state_of_line, what="oarstat -s output",
                      hint="expected 'ID: State'")
    if isinstance(read, Failure):
        return Failure(read.failure())
    states = dict(read.unwrap())
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

    def event(line: str) -> tuple[int, OarEvent] | None:
        m = _EVENTS_LINE.match(line)
        if m is None:
            return None
        return int(m.group(2)), OarEvent(text_date(m.group(1), tz), m.group(3).strip(), m.group(4).strip())

    return read_lines("oarstat", exit_code, stdout, stderr, event, what="oarstat -e output",
                      hint="expected 'DATE> [ID] TYPE: text'")
