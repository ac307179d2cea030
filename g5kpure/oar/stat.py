"""What ``oarstat -f`` says about jobs, in text and ``-J`` JSON, from every OAR generation: 2.5.9 (camelCase
keys), 2.5.10/2.6 in text formats 1 and 2 (the same) and 3 (``id: N``, snake_case keys, ``type`` for the job
kind, ``TYPE: text`` events whose continuation lines are indented), and OAR 3 (``user``, ``queue_name``,
folded ``network_adresses``, walltime in seconds, zero or empty fields left out, lines padded and wrapped at 80
columns; its JSON has neither hosts nor types).

OAR prints text dates as wall-clock times of the OAR server's zone: pass that zone as ``tz`` (default
Europe/Paris, the zone of every Grid'5000 server). A job oarstat does not know is ``NotFound``; a value that
should be a date or a number but is not is a ``ParseError`` naming it, never a silently missing field; a field
the output does not print is None and named in ``not_printed``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import tzinfo
from typing import Any

from attrs import evolve
from returns.iterables import Fold
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, NotFound, ParseError
from g5kpure.hosts import parse_host_ranges
from g5kpure.oar.dates import PARIS, int_of, oar_duration_to_seconds, parse_int
from g5kpure.oar.jobs import OarEvent, OarJobInfo, OarState
from g5kpure.oar.outputs import (
    as_str,
    command_failed,
    exited_ok,
    split_lines,
    text_date,
    ts_or_none,
    walltime_of_message,
    walltime_of_wanted,
)

#: Each field of :class:`OarJobInfo` and the keys that hold it in some generation (text or JSON).
FIELD_KEYS: Mapping[str, tuple[str, ...]] = {
    "owner": ("owner", "job_user", "user"),
    "name": ("name",),
    "queue": ("queue", "queue_name"),
    "project": ("project",),
    "types": ("types",),
    "walltime": ("walltime",),
    "submission_time": ("submissionTime", "submission_time"),
    "start_time": ("startTime", "start_time"),
    "scheduled_start": ("scheduledStart", "scheduled_start"),
    "stop_time": ("stopTime", "stop_time"),
    "assigned_hosts": ("assigned_network_address", "assigned_hostnames", "network_adresses"),
    "assigned_resources": ("assigned_resources",),
    "reservation": ("reservation",),
    "message": ("message",),
    "exit_code": ("exit_code", "exit_status_code"),
    "command": ("command",),
    "properties": ("properties",),
    "wanted_resources": ("wanted_resources",),
    "initial_request": ("initial_request",),
    "launching_directory": ("launchingDirectory", "launching_directory"),
    "job_kind": ("jobType", "job_type", "type"),
    "array_id": ("job_array_id", "array_id"),
    "array_index": ("job_array_index", "array_index"),
    "resubmit_job_id": ("resubmit_job_id",),
    "events": ("events",),
}

# OAR 2.x text prints these only when set: absent means no value, not "not printed".
_SET_ONLY_2X = frozenset({"exit_code", "start_time", "stop_time"})

#: The keys of OAR 3's ``oarstat -f`` text (its job table's columns and what oarstat adds); OAR 3 leaves out
#: the empty or zero ones, so a field of these that is absent is empty, not unknown.
_OAR3_KEYS = frozenset({
    "id", "array_id", "array_index", "initial_request", "name", "env", "type", "info_type", "state",
    "reservation", "message", "scheduler_info", "user", "project", "group", "command", "exit_code", "queue_name",
    "properties", "launching_directory", "submission_time", "start_time", "stop_time", "file_id", "accounted",
    "notify", "assigned_moldable_job", "checkpoint", "checkpoint_signal", "stdout_file", "stderr_file",
    "resubmit_job_id", "suspended", "last_karma", "cpuset_name", "exit_status_code", "network_adresses", "types",
    "walltime", "actual_resources",
})  # fmt: skip
_OAR3_ONLY_KEYS = frozenset({"user", "queue_name", "exit_status_code", "network_adresses", "actual_resources"})
_OAR3_WIDTH = 80  # OAR 3 pads and wraps its text at the terminal width: 80 for any non-terminal

# ---------------------------------------------------------------------------------------- oarstat -f text

_ATTR_LINE = re.compile(r"^ {2,}(\w+) = ?(.*)$", re.ASCII)
_JOB_HEADER = re.compile(r"^\s*(?:Job_Id|id):\s*(\d{1,18})\s*$", re.ASCII)
_EVENT_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)> ([^:]+):(.*)$", re.ASCII)
_EXIT_TEXT = re.compile(r"^(-?\d{1,18})(?:\s*\((-?\d{1,18}),(-?\d{1,18}),(-?\d{1,18})\))?$", re.ASCII)


def parse_oarstat_jobs_text(
    exit_code: int | None, stdout: str, stderr: str = "", *, tz: tzinfo = PARIS
) -> Result[tuple[OarJobInfo, ...], G5kError]:
    """Read ``oarstat -f`` text (any generation, any number of jobs; empty output = no job) into job infos,
    in the printed order."""
    if not exited_ok(exit_code):
        return Failure(command_failed("oarstat", exit_code, stdout, stderr))
    lines = split_lines(stdout)
    starts = [i for i, ln in enumerate(lines) if _JOB_HEADER.match(ln)]
    if not starts:
        if not stdout.strip():
            return Success(())
        return Failure(ParseError("oarstat -f output", line=stdout[:200], hint="no 'Job_Id: N' (or 'id: N') line"))
    blocks = zip(starts, [*starts[1:], len(lines)], strict=True)
    return Fold.collect(
        (_job_of_text(_header_id(lines[start]), lines[start + 1 : end], tz) for start, end in blocks), Success(())
    )


def _header_id(line: str) -> int:
    header = _JOB_HEADER.match(line)
    assert header is not None
    return int(header.group(1))


def parse_oarstat_job_text(
    exit_code: int | None, stdout: str, stderr: str = "", *, job_id: int | None = None, tz: tzinfo = PARIS
) -> Result[OarJobInfo, G5kError]:
    """Read ``oarstat -f -j ID`` text (any generation) into an :class:`OarJobInfo`; empty output is ``NotFound``."""
    return parse_oarstat_jobs_text(exit_code, stdout, stderr, tz=tz).bind(
        lambda jobs: _the_job(jobs, job_id, "oarstat -f output")
    )


def _the_job(found: tuple[OarJobInfo, ...], job_id: int | None, what: str) -> Result[OarJobInfo, G5kError]:
    """The job ``job_id`` among those read (the only one when ``job_id`` is None)."""
    key = str(job_id) if job_id is not None else "?"
    if not found:
        return Failure(NotFound("OAR job", key, "oarstat printed nothing: the job does not exist (any more)"))
    if job_id is not None:
        match = [j for j in found if j.job_id == job_id]
        if not match:
            seen = ", ".join(str(j.job_id) for j in found[:5])
            return Failure(NotFound("OAR job", key, f"oarstat answered about job {seen}"))
        return Success(match[0])
    if len(found) > 1:
        return Failure(ParseError(what, hint=f"{len(found)} jobs where one was expected; pass job_id"))
    return Success(found[0])


def _job_of_text(jid: int, lines: list[str], tz: tzinfo) -> Result[OarJobInfo, G5kError]:
    """One job's block of ``oarstat -f`` text (the lines after its header)."""
    keys = {m.group(1) for m in (_ATTR_LINE.match(ln) for ln in lines) if m}
    oar3 = bool(keys & _OAR3_ONLY_KEYS) and "events" not in keys
    attrs, events = _oar3_attributes(lines) if oar3 else _attributes_2x(lines, tz)
    if "state" not in attrs:
        return Failure(ParseError("oarstat -f output", where=f"job {jid}", hint="no 'state = ...' line"))
    if oar3:
        # OAR 3 leaves out what is empty or zero; its exit_code line is the raw status, only when non-zero
        known_empty = {f for f, ks in FIELD_KEYS.items() if any(k in _OAR3_KEYS for k in ks)}
        if "exit_code" not in attrs and attrs.get("exit_status_code", "").strip() == "0":
            attrs["exit_code"] = "0"
        attrs.pop("exit_status_code", None)
    else:
        known_empty = set(_SET_ONLY_2X)
    return _info_of_text(jid, attrs, events, known_empty, tz)


def _attributes_2x(lines: list[str], tz: tzinfo) -> tuple[dict[str, str], list[OarEvent] | None]:
    """The ``key = value`` attributes and the events of an OAR 2.x block.

    A value may span lines (a command with a newline); an event's description too: OAR 2.5.9 prints its next
    lines as they are, 2.5.10 indents them under the text of the first line (that indent is removed)."""
    attrs: dict[str, str] = {}
    events: list[OarEvent] | None = None
    last: str | None = None
    indent = 0
    blanks = 0
    for ln in lines:
        if events is None:
            m = _ATTR_LINE.match(ln)
            if m:
                last = m.group(1)
                attrs[last] = m.group(2).rstrip()
                if last == "events":
                    events = []
            elif last is not None and ln.strip():
                attrs[last] = attrs[last] + "\n" + ln  # a value spanning lines
            continue
        if not ln.strip():
            blanks += 1
            continue
        ev = _EVENT_LINE.match(ln.rstrip())
        if ev:
            events.append(OarEvent(text_date(ev.group(1), tz), ev.group(2).strip(), ev.group(3).strip()))
            indent = len(ev.group(1)) + 2 + len(ev.group(2)) + 2  # "DATE> TYPE: "
        elif events:
            text = ln[indent:] if ln.startswith(" " * indent) else ln
            last_ev = events[-1]
            events[-1] = OarEvent(last_ev.date, last_ev.kind, last_ev.description + "\n" * (blanks + 1) + text.rstrip())
        else:
            events.append(OarEvent(None, "", ln.strip()))
        blanks = 0
    return attrs, events


def _oar3_attributes(lines: list[str]) -> tuple[dict[str, str], None]:
    """The ``key = value`` attributes of an OAR 3 block, whose long values are wrapped onto padded lines: a
    line that is not one of OAR 3's keys continues the value above (after a space where the wrap cut at a
    space, i.e. the line above is padded; glued where a word longer than the line was folded)."""
    attrs: dict[str, str] = {}
    last: str | None = None
    above = ""
    for ln in lines:
        m = _ATTR_LINE.match(ln)
        if m and m.group(1) in _OAR3_KEYS:
            last = m.group(1)
            attrs[last] = m.group(2).rstrip()
        elif last is not None and ln.strip():
            folded = len(above) >= _OAR3_WIDTH and not above.endswith(" ")
            attrs[last] = attrs[last] + ("" if folded else " ") + ln.strip()
        above = ln
    return attrs, None


def _info_of_text(
    jid: int, attrs: dict[str, str], events: list[OarEvent] | None, known_empty: set[str], tz: tzinfo
) -> Result[OarJobInfo, G5kError]:
    def raw(field: str) -> str | None:
        """The text of ``field`` (its first key present), or None when the output does not print it."""
        for k in FIELD_KEYS[field]:
            if k in attrs:
                return attrs[k]
        return "" if field in known_empty else None

    def text(field: str) -> str | None:
        value = raw(field)
        return None if value is None else value.strip()

    bad: list[str] = []

    def date(field: str) -> int | None:
        """``field`` read as an OAR date in ``tz`` (None when not set or not printed; garbage is noted)."""
        v = text(field)
        if not v or v == "no prediction":
            return None
        parsed = text_date(v, tz)
        if parsed is None:
            bad.append(f"{FIELD_KEYS[field][0]} = {v}")
        return parsed

    walltime = _text_walltime(text("walltime") or "", bad)
    message = raw("message")
    if walltime is None:
        walltime = walltime_of_message(message or "") or walltime_of_wanted(raw("wanted_resources") or "")
    exit_value, exit_status = _exit_of_text(text("exit_code") or "")
    types_text = text("types")
    hosts = _text_hosts(text("assigned_hosts"), bad)
    resources = _text_resources(text("assigned_resources"), bad)
    times = (date("submission_time"), date("start_time"), date("scheduled_start"), date("stop_time"))
    if bad:
        return Failure(ParseError("oarstat -f value", where=f"job {jid}", line=bad[0], hint="not an OAR date/number"))
    not_printed = tuple(f for f in FIELD_KEYS if raw(f) is None and not (f == "walltime" and walltime is not None))
    state_text = attrs["state"].strip()
    info = OarJobInfo(
        job_id=jid,
        state=OarState.of(state_text),
        state_text=state_text,
        types=tuple(t.strip() for t in (types_text or "").split(",") if t.strip()),
        walltime=walltime,
        submission_time=times[0],
        start_time=times[1],
        scheduled_start=times[2],
        stop_time=times[3],
        assigned_hosts=hosts,
        assigned_resources=resources,
        exit_code=exit_value,
        exit_status=exit_status,
        events=None if events is None else tuple(events),
        not_printed=not_printed,
    )
    return Success(_with_described(info, word=text, verbatim=raw, number=text))


def _with_described(info: OarJobInfo, word: Callable[[str], str | None], verbatim: Callable[[str], str | None],
                    number: Callable[[str], object]) -> OarJobInfo:
    """``info`` with the fields every output gives alike: ``word`` reads a field as a word, ``verbatim`` as
    printed, ``number`` as what :func:`int_of` reads (each None when the output does not print it)."""
    return evolve(
        info,
        owner=word("owner"),
        name=(word("name") or "").strip() or None,
        queue=word("queue"),
        project=word("project"),
        reservation=word("reservation"),
        message=verbatim("message"),
        command=verbatim("command"),
        properties=verbatim("properties"),
        wanted_resources=None if (wanted := verbatim("wanted_resources")) is None else wanted.strip(),
        initial_request=verbatim("initial_request"),
        launching_directory=verbatim("launching_directory"),
        job_kind=word("job_kind"),
        array_id=int_of(number("array_id")),
        array_index=int_of(number("array_index")),
        resubmit_job_id=int_of(number("resubmit_job_id")) or None,
    )


def _text_walltime(wall_text: str, bad: list[str]) -> int | None:
    """OAR 2's ``H:M:S`` or OAR 3's seconds, or None when empty (garbage is noted in ``bad``)."""
    if not wall_text:
        return None
    if wall_text.isdigit() and wall_text.isascii():
        walltime = parse_int(wall_text)  # OAR 3 prints the walltime as seconds (OAR 2.5 prints H:M:S)
        if walltime is None:
            bad.append(f"walltime = {wall_text[:80]}")
        return walltime
    walltime = oar_duration_to_seconds(wall_text).map(int).value_or(None)
    if walltime is None:
        bad.append(f"walltime = {wall_text}")
    return walltime


def _text_hosts(hosts_text: str | None, bad: list[str]) -> tuple[str, ...]:
    """OAR 2's ``a+b`` or OAR 3's folded ``parasilo-[1-2].rennes.grid5000.fr``, sorted and unique."""
    if not hosts_text:
        return ()
    if "[" in hosts_text or ("," in hosts_text and "+" not in hosts_text):
        hosts = parse_host_ranges(hosts_text).map(lambda names: tuple(sorted(set(names)))).value_or(None)
        if hosts is None:
            bad.append(f"network_adresses = {hosts_text[:80]}")
            return ()
        return hosts
    return tuple(sorted({h for h in hosts_text.split("+") if h}))


def _text_resources(res_text: str | None, bad: list[str]) -> tuple[int, ...] | None:
    """OAR 2's ``17+18+19`` resource ids (None when not printed; garbage is noted in ``bad``)."""
    if res_text is None:
        return None
    words = [r.strip() for r in res_text.split("+") if r.strip()]
    ids = tuple(n for n in (parse_int(r) for r in words if not r.startswith("-")) if n is not None)
    if len(ids) != len(words):
        bad.append(f"assigned_resources = {res_text}")
    return ids


def _exit_of_text(text: str) -> tuple[int | None, int | None]:
    """OAR's ``exit_code = 768 (3,0,0)`` (OAR 3: ``768``): (exit value, raw wait status)."""
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
    bad = [
        f"{k} = {rec[k]!r}"
        for k in _JSON_NUMBER_KEYS
        if k in rec and rec[k] not in (None, "") and int_of(rec[k]) is None
    ]
    walltime = int_of(rec.get("walltime"))
    if walltime is None and isinstance(rec.get("walltime"), str) and rec["walltime"].strip():
        walltime = oar_duration_to_seconds(as_str(rec.get("walltime"))).map(int).value_or(None)
        if walltime is not None:
            bad = [b for b in bad if not b.startswith("walltime")]
    if bad:
        return Failure(ParseError("oarstat JSON value", where=f"job {jid}", line=bad[0], hint="expected a number"))

    def value(field: str) -> object:
        """The value of ``field`` (its first key present), or None."""
        return next((rec[k] for k in FIELD_KEYS[field] if k in rec), None)

    def text(field: str) -> str | None:
        v = value(field)
        return None if v is None else as_str(v)

    message = text("message")
    if walltime is None:
        walltime = walltime_of_message(message or "") or walltime_of_wanted(text("wanted_resources") or "")
    exit_value, exit_status = _exit_of_raw(int_of(value("exit_code")))
    not_printed = tuple(
        f for f, ks in FIELD_KEYS.items()
        if not any(k in rec for k in ks) and not (f == "walltime" and walltime is not None)
    )  # fmt: skip
    info = OarJobInfo(
        job_id=jid,
        state=OarState.of(state_text),
        state_text=state_text,
        types=tuple(t for t in (as_str(x).strip() for x in _json_list(value("types"), ",")) if t),
        walltime=walltime,
        submission_time=ts_or_none(value("submission_time")),
        start_time=ts_or_none(value("start_time")),
        scheduled_start=ts_or_none(value("scheduled_start")),
        stop_time=ts_or_none(value("stop_time")),
        assigned_hosts=tuple(sorted({h for h in (as_str(x) for x in _json_list(value("assigned_hosts"))) if h})),
        assigned_resources=(
            None if "assigned_resources" in not_printed
            else tuple(n for n in (int_of(r) for r in _json_list(value("assigned_resources"))) if n is not None)
        ),
        exit_code=exit_value,
        exit_status=exit_status,
        events=None if "events" in not_printed else _json_events(value("events")),
        not_printed=not_printed,
    )
    return Success(_with_described(info, word=text, verbatim=text, number=value))


def _json_list(value: object, sep: str = "+") -> list[object]:
    """A JSON list as it is; a string split on ``sep`` (older outputs join lists); anything else: empty."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return list(value.split(sep))
    return []


def _json_events(raw_events: object) -> tuple[OarEvent, ...]:
    events: list[OarEvent] = []
    for ev in raw_events if isinstance(raw_events, list) else []:
        if isinstance(ev, Mapping):
            events.append(OarEvent(ts_or_none(ev.get("date")), as_str(ev.get("type")), as_str(ev.get("description"))))
        else:
            events.append(OarEvent(None, "", as_str(ev)))
    return tuple(events)


def parse_oarstat_jobs_json(
    exit_code: int | None, stdout: str, stderr: str = ""
) -> Result[tuple[OarJobInfo, ...], G5kError]:
    """Read ``oarstat -J`` / ``oarstat -f -J`` of any generation (empty output or ``{}`` = no job) into job
    infos sorted by id."""
    if not exited_ok(exit_code):
        return Failure(command_failed("oarstat", exit_code, stdout, stderr))
    if not stdout.strip():
        return Success(())
    return _json_object(stdout).bind(_jobs_of_json).map(lambda jobs: tuple(sorted(jobs, key=lambda j: j.job_id)))


def _jobs_of_json(obj: dict[str, Any]) -> Result[tuple[OarJobInfo, ...], G5kError]:
    """Every job of the object, in its order; the first malformed one is the error."""
    return Fold.collect((_job_of_json(str(key), rec) for key, rec in obj.items()), Success(()))


def parse_oarstat_job_json(
    exit_code: int | None, stdout: str, stderr: str = "", *, job_id: int | None = None
) -> Result[OarJobInfo, G5kError]:
    """Read ``oarstat -f -J -j ID`` into an :class:`OarJobInfo`; empty output (unknown job) is ``NotFound``."""
    def the_job(jobs: tuple[OarJobInfo, ...]) -> Result[OarJobInfo, G5kError]:
        found = jobs if job_id is None else tuple(j for j in jobs if j.job_id == job_id)
        if len(found) > 1:
            return Failure(ParseError("oarstat JSON", hint=f"{len(found)} jobs where one was expected; pass job_id"))
        return _the_job(found, job_id, "oarstat JSON")

    return parse_oarstat_jobs_json(exit_code, stdout, stderr).bind(the_job)
