"""Properties of the parsers across OAR generations.

* the same job printed by OAR 2.5.9's ``oarstat -f`` (camelCase keys, ``TYPE:text`` events, continuation lines
  as they are) and by 2.5.10/2.6's format 3 (``id:``, snake_case keys, ``type``, ``TYPE: text``, continuation
  lines indented), in text and in ``-J`` JSON, parses to the same :class:`OarJobInfo`, holding the job's values;
* a listing printed in fixed-width columns (any layout) or as OAR 3's table gives each row's id and state back;
* every parser is total on text made of every generation's fragments (``# `` messages, ``#ERROR:`` tuples,
  ``id:`` headers, padded and wrapped lines, ``…`` cuts, ``N@A`` ids, box rules) and on mutated captures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError
from g5kpure.oar import (
    OarEvent,
    OarState,
    oarstat_format_of,
    parse_job_nodes,
    parse_oar_probe,
    parse_oar_version,
    parse_oardel_output,
    parse_oarstat_events,
    parse_oarstat_job_json,
    parse_oarstat_job_text,
    parse_oarstat_jobs_text,
    parse_oarstat_list,
    parse_oarstat_states,
    parse_oarsub_output,
)

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
PHRASE = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz.,=()[]", min_size=1, max_size=10), min_size=1,
                  max_size=6).map(" ".join)  # fmt: skip
DATE = st.integers(min_value=1_600_000_000, max_value=1_900_000_000)
STATES = [s for s in OarState if s is not OarState.UNKNOWN]


def sql_date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60}:{seconds % 60}"


@st.composite
def jobs(draw: st.DrawFn) -> dict[str, Any]:
    submitted = draw(DATE)
    started = draw(st.none() | st.integers(min_value=submitted, max_value=submitted + 10**6))
    lines = st.lists(PHRASE, min_size=1, max_size=4)
    events = draw(st.lists(st.tuples(DATE, st.from_regex(r"[A-Z][A-Z_]{0,20}", fullmatch=True), lines), max_size=3))
    exit_raw = draw(st.none() | st.integers(min_value=0, max_value=255).map(lambda v: v << 8))
    return {
        "id": draw(st.integers(min_value=1, max_value=10**9)),
        "name": draw(st.none() | WORD),
        "owner": draw(WORD),
        "state": draw(st.sampled_from(STATES)).value,
        "project": draw(WORD),
        "queue": draw(WORD),
        "types": draw(st.lists(WORD, max_size=3, unique=True)),
        "hosts": sorted(set(draw(st.lists(WORD.map(lambda w: f"{w}.rennes.grid5000.fr"), max_size=4)))),
        "resources": draw(st.lists(st.integers(min_value=1, max_value=5000), max_size=5)),
        "kind": draw(st.sampled_from(["PASSIVE", "INTERACTIVE"])),
        "walltime": draw(st.integers(min_value=60, max_value=10**6)),
        "submitted": submitted,
        "started": started,
        "scheduled": draw(st.none() | DATE),
        "command": draw(PHRASE),
        "message": draw(PHRASE),
        "exit": exit_raw,
        "array": draw(st.integers(min_value=1, max_value=10**9)),
        "events": [(d, k, "\n".join(ls)) for d, k, ls in events],
    }


def text_of(job: dict[str, Any], *, format3: bool) -> str:
    """The job as ``oarstat -f`` prints it: 2.5.9 (camelCase), or 2.5.10/2.6 format 3."""
    key = {"Job_Id": "id", "job_array_id": "array_id", "job_array_index": "array_index",
           "launchingDirectory": "launching_directory", "jobType": "type", "submissionTime": "submission_time",
           "startTime": "start_time", "scheduledStart": "scheduled_start"} if format3 else {}  # fmt: skip

    def k(name: str) -> str:
        return key.get(name, name)

    out = [f"{k('Job_Id')}: {job['id']}", f"    {k('job_array_id')} = {job['array']}",
           f"    {k('job_array_index')} = 1", f"    name = {job['name'] or ''}", f"    project = {job['project']}",
           f"    owner = {job['owner']}",
           f"    state = {job['state']}", "    wanted_resources = -l \"{type = 'default'}/core=1\" ",
           f"    types = {', '.join(job['types'])}", "    dependencies = ",
           f"    assigned_resources = {'+'.join(str(r) for r in job['resources'])}",
           f"    assigned_hostnames = {'+'.join(job['hosts'])}", f"    queue = {job['queue']}",
           f"    command = {job['command']}"]  # fmt: skip
    if job["exit"] is not None:
        out.append(f"    exit_code = {job['exit']} ({job['exit'] >> 8},0,0)")
    out += [f"    {k('launchingDirectory')} = /home/{job['owner']}", f"    {k('jobType')} = {job['kind']}",
            "    properties = (desktop_computing = 'NO')", "    reservation = None",
            f"    walltime = {duration(job['walltime'])}", f"    {k('submissionTime')} = {sql_date(job['submitted'])}"]
    if job["started"] is not None:
        out.append(f"    {k('startTime')} = {sql_date(job['started'])}")
    scheduled = sql_date(job["scheduled"]) if job["scheduled"] is not None else "no prediction"
    out += [f"    initial_request = oarsub {job['command']}", f"    message = {job['message']}",
            f"    {k('scheduledStart')} = {scheduled}", "    resubmit_job_id = 0", "    events = "]  # fmt: skip
    for date, kind, description in job["events"]:
        first, *rest = description.split("\n")
        head = f"{sql_date(date)}> {kind}:" + (" " if format3 else "")
        out.append(head + first)
        out += [(" " * len(head) if format3 else "") + ln for ln in rest]
    return "\n".join(out) + "\n\n"


def json_of(job: dict[str, Any], *, format3: bool) -> str:
    """The job as ``oarstat -f -J`` prints it (2.5.9's keys, or format 3's)."""
    names = ("id", "submission_time", "start_time", "scheduled_start", "stop_time", "type", "launching_directory") \
        if format3 else ("Job_Id", "submissionTime", "startTime", "scheduledStart", "stopTime", "jobType",
                         "launchingDirectory")  # fmt: skip
    record = {
        names[0]: job["id"], names[1]: job["submitted"], names[2]: job["started"] or 0, names[3]: job["scheduled"],
        names[4]: 0, names[5]: job["kind"], names[6]: f"/home/{job['owner']}", "array_id": job["array"],
        "array_index": 1, "name": job["name"], "project": job["project"], "owner": job["owner"],
        "state": job["state"], "wanted_resources": "-l \"{type = 'default'}/core=1\" ", "types": job["types"],
        "assigned_resources": job["resources"], "assigned_network_address": job["hosts"], "queue": job["queue"],
        "command": job["command"], "exit_code": job["exit"], "properties": "(desktop_computing = 'NO')",
        "reservation": "None", "walltime": job["walltime"], "initial_request": f"oarsub {job['command']}",
        "message": job["message"], "resubmit_job_id": 0,
        "events": [{"date": d, "type": k, "description": text} for d, k, text in job["events"]],
    }  # fmt: skip
    return json.dumps({str(job["id"]): record}, indent=3)


@given(jobs())
def test_one_job_reads_the_same_in_every_generation_and_format(job: dict[str, Any]) -> None:
    old = parse_oarstat_job_text(0, text_of(job, format3=False), tz=UTC).unwrap()
    assert parse_oarstat_job_text(0, text_of(job, format3=True), tz=UTC).unwrap() == old
    assert parse_oarstat_job_json(0, json_of(job, format3=False)).unwrap() == old
    assert parse_oarstat_job_json(0, json_of(job, format3=True)).unwrap() == old
    assert (old.job_id, old.state.value, old.owner) == (job["id"], job["state"], job["owner"])
    assert old.job_kind == job["kind"]
    assert (old.name, old.types, old.assigned_hosts) == (job["name"], tuple(job["types"]), tuple(job["hosts"]))
    assert (old.submission_time, old.start_time, old.scheduled_start) == (job["submitted"], job["started"],
                                                                          job["scheduled"])  # fmt: skip
    assert old.exit_status == job["exit"] and old.walltime == job["walltime"] and old.not_printed == ()
    assert old.events == tuple(OarEvent(d, k, text) for d, k, text in job["events"])
    assert oarstat_format_of(text_of(job, format3=True)) is not oarstat_format_of(text_of(job, format3=False))


@given(st.lists(jobs(), min_size=1, max_size=3, unique_by=lambda j: j["id"]))
def test_several_jobs_in_one_text_read_in_order(many: list[dict[str, Any]]) -> None:
    for format3 in (False, True):
        text = "".join(text_of(j, format3=format3) for j in many)
        read = parse_oarstat_jobs_text(0, text, tz=UTC).unwrap()
        assert [i.job_id for i in read] == [j["id"] for j in many]


@st.composite
def listing_rows(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    ids = draw(st.lists(st.integers(min_value=1, max_value=10**8), min_size=1, max_size=5, unique=True))
    return [(str(i), draw(st.sampled_from("WRTEHLF")), draw(WORD)) for i in ids]


@given(listing_rows(), st.booleans())
def test_fixed_width_listings_give_each_row_back(rows: list[tuple[str, str, str]], compact: bool) -> None:
    head = "Job id    S User     Duration   System message\n--------- - -------- ---------- ---------\n"
    body = "".join(f"{i[:9]:<9.9} {s} {u:<8.8} {'0:00:01':>10} R=1,W=0:5:0,J=B\n" for i, s, u in rows)
    read = parse_oarstat_list(0, head + body).unwrap()
    assert [(str(r.job_id), r.state) for r in read] == [(i, OarState.of_letter(s)) for i, s, _ in rows]
    assert all(r.user == u or (r.user is None and len(u) >= 8) for r, (_, _, u) in zip(read, rows, strict=True))
    if compact:
        first = f"3@{rows[0][0]}"
        read = parse_oarstat_list(0, head + f"{first:<9.9} - x           0:00:01 R=1\n").unwrap()
        assert (read[0].array_count, read[0].job_id) == (3, int(rows[0][0])) or len(first) > 9


FRAGMENTS = [
    "# ", "#ERROR: ", "#WARNING: ", "(-5, 'There are not enough resources')", "OAR_JOB_ID=", "OAR_ARRAY_ID=",
    "# Reservation valid --> OK", "# Reservation not valid --> KO (This reservation could run at 2027-01-03 05:01:01)",
    "Advance reservation is REJECTED.", "Advance reservation is GRANTED.", '{"job_id" : 5}', "{", "}", "##########",
    "id: 7", "Job_Id: 7", "    state = Running", "    user = alice", "    network_adresses = n-[1-3].x,y-[2",
    "    exit_status_code = 0", "    events = ", "2026-12-04 15:22:55> T: a", "                    b",
    "Job id    S User     Duration   System message", "--------- - --------", "3@18      - bob  0:00:01 R=1",
    "  Job id   State   ", " ─────────────", "  1        Running", "…", "Deleting the job = 4 ...",
    "The job(s) ['4']  will be deleted in the near future.", "Cannot frag 4 ; Job does not exist.",
    "OAR version: 2.6.1 (Liberty hope)", "OAR version : 3.0.2", "----g5kpure-oar-probe----", " " * 40, "\r",
]  # fmt: skip
MIXED = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=12), max_size=25).map("".join) | st.lists(
    st.sampled_from(FRAGMENTS) | st.text(max_size=12), max_size=25).map("\n".join)

PARSERS: list[Callable[[int | None, str, str], Result[Any, G5kError]]] = [
    parse_oarsub_output, parse_oardel_output, parse_oarstat_job_text, parse_oarstat_jobs_text,
    parse_oarstat_job_json, parse_oarstat_list, parse_oarstat_events, parse_oarstat_states, parse_job_nodes,
    parse_oar_version, parse_oar_probe,
]  # fmt: skip


@given(st.sampled_from([0, 1, 10, None]), MIXED, MIXED)
def test_every_parser_is_total_on_every_generation_s_fragments(code: int | None, out: str, err: str) -> None:
    for parse in PARSERS:
        assert isinstance(parse(code, out, err), Success | Failure), parse.__name__
    assert oarstat_format_of(out) is None or oarstat_format_of(out) is not None


CAPTURES = sorted(
    p.with_suffix("") for folder in ("oar-2.6.1", "oar-2.6", "oar3", "oar-generations")
    for p in (FIXTURES / folder).glob("*.stdout")
)  # fmt: skip


@given(st.sampled_from(CAPTURES), st.data())
def test_parsers_are_total_on_mutated_captures_of_every_generation(capture: Path, data: st.DataObject) -> None:
    out = capture.with_suffix(".stdout").read_text()
    err = capture.with_suffix(".stderr").read_text()
    cut = data.draw(st.integers(min_value=0, max_value=len(out)))
    lines = out.splitlines(keepends=True)
    dropped = data.draw(st.integers(min_value=0, max_value=max(0, len(lines) - 1)))
    for text in (out[:cut], "".join(lines[:dropped] + lines[dropped + 1 :]), out.replace("\n", "\r\n")):
        for parse in PARSERS:
            assert isinstance(parse(0, text, err), Success | Failure), (capture.name, parse.__name__)
    for parse in PARSERS:
        plain, crlf = parse(0, out, err), parse(0, out.replace("\n", "\r\n"), err.replace("\n", "\r\n"))
        if isinstance(plain, Success) and parse is not parse_oar_probe:
            assert crlf == plain, (capture.name, parse.__name__)
