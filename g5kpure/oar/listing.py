"""What oarstat lists: job listings (text formats 1, 2 and 3, ``--array``, ``-c``, ``-J``, and OAR 3's table),
job states (``-s``) and events (``-e``), from every OAR generation.

OAR 2 prints its listings as fixed-width columns (``printf("%-9.9s ...")``) under a header and a line of
dashes: the dashes give each column's span, so a row is cut where OAR cut it, whatever the generation or format.
OAR cuts a value longer than its column: a user or a name that fills its column may have been cut, and is
None then, as is every column a layout does not show. OAR 3 prints a table (the ``rich`` library's): columns
start under their titles, long cells wrap onto the next lines and a cut cell ends with ``…``.

Text dates are wall-clock times of the OAR server's zone (``tz``, default Europe/Paris).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import tzinfo
from typing import Any

from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, NotFound, ParseError
from g5kpure.oar.dates import PARIS, parse_int
from g5kpure.oar.jobs import OarEvent, OarJobInfo, OarJobSummary, OarState
from g5kpure.oar.outputs import (
    command_failed,
    duration_or_none,
    exited_ok,
    message_fields,
    read_lines,
    split_lines,
    text_date,
    walltime_of_message,
)
from g5kpure.oar.stat import parse_oarstat_jobs_json

# ------------------------------------------------------------------------------------------ oarstat lists

_RULE = re.compile(r"^-+(?: +-+)*\s*$")
_RICH_RULE = re.compile(r"^\s*─+\s*$")
_CUT = "…"
#: Columns whose width OAR does not bound (the last one of format 2).
_UNBOUNDED = frozenset({"System message"})
#: Columns whose values OAR cuts to the column's width: a value that fills the column is unknown. (The queue
#: column is as wide as OAR's longest queue names, ``besteffort`` and ``production``: those are read as they are.)
_CUTTABLE = frozenset({"User", "Name"})
_ROW_F2 = re.compile(r"^(\d{1,18})\s+(\S)\s+(\S+)\s+(\d+:\d\d:\d\d)(?: (.*))?$", re.ASCII)
_ROW_F1 = re.compile(r"^(\d{1,18}) (.*?)\s+(\S+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+(\S)\s+(\S+)\s*$", re.ASCII)
_ROW_ARRAY = re.compile(r"^(\d{1,18})\s+(\d{1,18})\s+(\d{1,18})\s+(\S)\s+(\S+)\s+(\d+:\d\d:\d\d)(?: (.*))?$", re.ASCII)
_COMPACT_ID = re.compile(r"^(\d{1,18})@(\d{1,18})$", re.ASCII)
_DAYS = re.compile(r"^(\d{1,9}) days?, (\d+:\d\d:\d\d)$", re.ASCII)


def parse_oarstat_list(
    exit_code: int | None, stdout: str, stderr: str = "", *, tz: tzinfo = PARIS
) -> Result[tuple[OarJobSummary, ...], G5kError]:
    """Read an ``oarstat`` listing of any generation (``-u``, ``--format 1``/``2``/``3``, ``--array``, ``-c``,
    ``-J``, OAR 3's table; empty = no job) into one summary a row, in the printed order."""
    if not exited_ok(exit_code):
        return Failure(command_failed("oarstat", exit_code, stdout, stderr))
    if stdout.lstrip().startswith("{"):
        return parse_oarstat_jobs_json(exit_code, stdout, stderr).map(
            lambda infos: tuple(_summary_of_info(j) for j in infos)
        )
    lines = [ln.rstrip() for ln in split_lines(stdout)]
    rich = _rich_table(lines)
    if rich is not None:
        return read_table(*rich, key="Job id").bind(lambda rows: _all_rows(rows, _oar3_row, tz))
    rows: list[OarJobSummary] = []
    spans: list[tuple[str, int, int | None]] | None = None
    for n, ln in enumerate(lines, start=1):
        if not ln.strip() or _RULE.match(ln):
            continue
        if ln.startswith("Job id"):
            rule = lines[n] if n < len(lines) else ""
            spans = _spans(ln, rule) if _RULE.match(rule) else None
            continue
        row = _fixed_row(ln, spans, tz) if spans is not None else _regex_row(ln, tz)
        if row is None:
            return Failure(ParseError("oarstat listing", where=f"line {n}", line=ln[:200]))
        rows.append(row)
    return Success(tuple(rows))


def _spans(header: str, rule: str) -> list[tuple[str, int, int | None]]:
    """(title, start, end) of each column, from the runs of dashes under the header (None: up to the line's
    end, for the message, which OAR does not cut)."""
    runs = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    spans: list[tuple[str, int, int | None]] = []
    for start, end in runs:
        title = header[start:end].strip()
        spans.append((title, start, None if title in _UNBOUNDED else end))
    return spans


def _fixed_row(ln: str, spans: list[tuple[str, int, int | None]], tz: tzinfo) -> OarJobSummary | None:
    """One row of a fixed-width listing: each cell where its column's dashes are."""
    cells: dict[str, str | None] = {}
    for title, start, end in spans:
        cell = (ln[start:end] if end is not None else ln[start:]).strip()
        cut = end is not None and title in _CUTTABLE and len(cell) >= end - start
        cells[title] = None if cut else cell  # a value that fills its column may have been cut
    return _row_of_cells(cells, tz, full_state=False)


def _row_of_cells(cells: Mapping[str, str | None], tz: tzinfo, *, full_state: bool) -> OarJobSummary | None:
    """A summary from the cells of one row, by column title (any generation's titles)."""
    ident = cells.get("Job id") or ""
    compact = _COMPACT_ID.match(ident)
    job_id = parse_int(compact.group(2)) if compact else (parse_int(ident) if ident.isdigit() else None)
    state_text = cells.get("State") if full_state else cells.get("S")
    if job_id is None or not state_text:
        return None
    state = OarState.of(state_text) if full_state else OarState.of_letter(state_text)
    message = cells.get("System message")
    fields = message_fields(message) if message else {}
    extra: dict[str, Any] = {}
    if compact:
        extra = {"array_id": job_id, "array_count": int(compact.group(1))}
    else:
        extra = {"array_id": _int_cell(cells, "A. id"), "array_index": _int_cell(cells, "A. index", "index")}
    submitted = cells.get("Submission Date")
    submission_time = text_date(submitted, tz) if submitted else None
    if submitted and submission_time is None:
        return None
    if "Name" in cells or "Job name" in cells:
        name = cells.get("Name", cells.get("Job name"))
        if full_state and name == "None":
            name = None  # OAR 3 prints a job without a name as "None"
    else:
        name = fields.get("N")
    duration_text = cells.get("Duration")
    return OarJobSummary(
        job_id=job_id,
        state=state,
        user=cells.get("User") or None,
        name=name or None,
        queue=cells.get("Queue") or None,
        project=fields.get("P") if message is not None else None,
        types=tuple(t for t in fields.get("T", "").split("|") if t) if message is not None else None,
        walltime=walltime_of_message(message) if message is not None else None,
        submission_time=submission_time,
        duration=_duration(duration_text) if duration_text else None,
        message=message,
        **extra,
    )


def _int_cell(cells: Mapping[str, str | None], *titles: str) -> int | None:
    for t in titles:
        v = cells.get(t)
        if v is not None and v.isdigit():
            return parse_int(v)
    return None


def _duration(text: str) -> int | None:
    """oarstat's ``H:MM:SS``, or OAR 3's ``N days, H:MM:SS`` ("-": none)."""
    days = _DAYS.match(text)
    if days:
        rest = duration_or_none(days.group(2))
        return None if rest is None else int(days.group(1)) * 86400 + rest
    return duration_or_none(text)


def _regex_row(ln: str, tz: tzinfo) -> OarJobSummary | None:
    """A row printed without its header (format 2, format 1 or ``--array``), told apart by its shape."""
    m = _ROW_F2.match(ln)
    if m:
        cells = {"Job id": m.group(1), "S": m.group(2), "User": m.group(3), "Duration": m.group(4),
                 "System message": m.group(5) or ""}  # fmt: skip
        return _row_of_cells(cells, tz, full_state=False)
    m = _ROW_F1.match(ln)
    if m:
        cells = {"Job id": m.group(1), "Name": m.group(2).strip(), "User": m.group(3),
                 "Submission Date": m.group(4), "S": m.group(5), "Queue": m.group(6)}  # fmt: skip
        return _row_of_cells(cells, tz, full_state=False)
    m = _ROW_ARRAY.match(ln)
    if m:
        cells = {"Job id": m.group(1), "A. id": m.group(2), "index": m.group(3), "S": m.group(4),
                 "User": m.group(5), "Duration": m.group(6), "System message": m.group(7) or ""}  # fmt: skip
        return _row_of_cells(cells, tz, full_state=False)
    return None


def _oar3_row(cells: Mapping[str, str], tz: tzinfo) -> OarJobSummary | None:
    """A row of OAR 3's table: a cut cell (ending in ``…``) is unknown."""
    whole: dict[str, str | None] = {k: (None if _CUT in v else v) for k, v in cells.items()}
    if whole.get("Duration") == "-":
        whole["Duration"] = ""
    return _row_of_cells(whole, tz, full_state=True)


def _all_rows(
    rows: tuple[Mapping[str, str], ...], read: Callable[[Mapping[str, str], tzinfo], OarJobSummary | None], tz: tzinfo
) -> Result[tuple[OarJobSummary, ...], G5kError]:
    out: list[OarJobSummary] = []
    for n, cells in enumerate(rows, start=1):
        row = read(cells, tz)
        if row is None:
            return Failure(ParseError("oarstat table", where=f"row {n}", line=" | ".join(cells.values())[:200]))
        out.append(row)
    return Success(tuple(out))


def read_table(header: Sequence[str], lines: Sequence[str], *, key: str) -> Result[
    tuple[Mapping[str, str], ...], G5kError
]:
    """The rows of a table printed by ``rich`` (OAR 3) under its ``header`` lines: cells by column title (a title
    or a cell wrapped onto several lines is joined by spaces); a row starts where column ``key`` is not blank."""
    last = header[-1] if header else ""
    starts = [(m.group(0), m.start()) for m in re.finditer(r"\S+(?: \S+)*", last)]
    bounds = [(start, starts[i + 1][1] if i + 1 < len(starts) else None) for i, (_, start) in enumerate(starts)]
    titles = [" ".join(w for w in (ln[start:end].strip() for ln in header) if w) for start, end in bounds]
    if key not in titles:
        return Failure(ParseError("oarstat table", line=last[:200], hint=f"no column {key!r}"))
    rows: list[dict[str, str]] = []
    for ln in lines:
        if not ln.strip():
            continue
        cells = {t: ln[start:end].strip() for t, (start, end) in zip(titles, bounds, strict=True)}
        if cells[key]:
            rows.append(cells)
        elif rows:
            for t, v in cells.items():
                if v:
                    rows[-1][t] = f"{rows[-1][t]} {v}".strip()
        else:
            return Failure(ParseError("oarstat table", line=ln[:200], hint=f"a row without its {key!r}"))
    return Success(tuple(rows))


def _rich_table(lines: list[str]) -> tuple[list[str], list[str]] | None:
    """(header lines, row lines) of a ``rich`` table (a line of ``─`` under its header), or None."""
    rule = next((i for i, ln in enumerate(lines) if _RICH_RULE.match(ln)), None)
    if rule is None:
        return None
    top = rule
    while top > 0 and lines[top - 1].strip():
        top -= 1
    return lines[top:rule], lines[rule + 1 :]


#: The fields a listing row takes as they are from a job's full description.
_SUMMARY_FIELDS = ("job_id", "state", "name", "walltime", "submission_time", "message", "array_id", "array_index")


def _summary_of_info(j: OarJobInfo) -> OarJobSummary:
    same: dict[str, Any] = {name: getattr(j, name) for name in _SUMMARY_FIELDS}
    types = None if "types" in j.not_printed else j.types
    return OarJobSummary(user=j.owner, queue=j.queue or None, project=j.project or None, types=types, **same)


# ----------------------------------------------------------------------------------------- oarstat -s


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
    def the_state(pairs: tuple[tuple[int, OarState], ...]) -> Result[OarState, G5kError]:
        states = dict(pairs)
        if job_id is not None:
            if job_id in states:
                return Success(states[job_id])
            return Failure(NotFound("OAR job", str(job_id), "oarstat -s printed no state for it"))
        if len(states) == 1:
            return Success(next(iter(states.values())))
        if not states:
            return Failure(NotFound("OAR job", "?", "oarstat -s printed nothing"))
        return Failure(ParseError("oarstat -s output", hint="several jobs; pass job_id"))

    read = read_lines("oarstat", exit_code, stdout, stderr, _state_of_line, what="oarstat -s output",
                      hint="expected 'ID: State'")
    return read.bind(the_state)


# ----------------------------------------------------------------------------------------- oarstat -e

_EVENTS_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)> \[(\d{1,18})\] ([^:]+):(.*)$", re.ASCII)


def parse_oarstat_events(
    exit_code: int | None, stdout: str, stderr: str = "", *, tz: tzinfo = PARIS
) -> Result[tuple[tuple[int, OarEvent], ...], G5kError]:
    """Read ``oarstat -e -j ID`` of any generation: (job id, event) pairs in the printed order (empty output
    = no event). A description's next lines are kept (2.5.10 indents them under its text: removed)."""
    if not exited_ok(exit_code):
        return Failure(command_failed("oarstat", exit_code, stdout, stderr))
    lines = [ln.rstrip() for ln in split_lines(stdout)]
    rich = _rich_table(lines)
    if rich is not None:
        return read_table(*rich, key="job id").bind(lambda rows: _table_events(rows, tz))
    events: list[tuple[int, OarEvent]] = []
    indent = 0
    blanks = 0
    for n, ln in enumerate(lines, start=1):
        if not ln.strip():
            blanks += 1
            continue
        m = _EVENTS_LINE.match(ln)
        if m:
            event = OarEvent(text_date(m.group(1), tz), m.group(3).strip(), m.group(4).strip())
            events.append((int(m.group(2)), event))
            indent = len(m.group(1)) + len(m.group(2)) + len(m.group(3)) + 7  # "DATE> [ID] TYPE: "
        elif events:
            job, last = events[-1]
            more = ln[indent:] if ln.startswith(" " * indent) else ln
            events[-1] = (job, OarEvent(last.date, last.kind, last.description + "\n" * (blanks + 1) + more))
        else:
            return Failure(ParseError("oarstat -e output", where=f"line {n}", line=ln[:200],
                                      hint="expected 'DATE> [ID] TYPE: text'"))
        blanks = 0
    return Success(tuple(events))


def _table_events(
    rows: tuple[Mapping[str, str], ...], tz: tzinfo
) -> Result[tuple[tuple[int, OarEvent], ...], G5kError]:
    """OAR 3's events table (Date, job id, Type, Description)."""
    events: list[tuple[int, OarEvent]] = []
    for n, cells in enumerate(rows, start=1):
        job = parse_int(cells.get("job id", "")) if cells.get("job id", "").isdigit() else None
        date = text_date(cells.get("Date", ""), tz)
        if job is None or date is None:
            return Failure(ParseError("oarstat -e table", where=f"row {n}", line=" | ".join(cells.values())[:200]))
        events.append((job, OarEvent(date, cells.get("Type", ""), cells.get("Description", ""))))
    return Success(tuple(events))
