"""The Grid'5000 usage charter as data: work hours, work days, French public holidays, and the daily allowance.

Everything here is computed in the charter's own time zone (``CharterRules.timezone``, Europe/Paris by
default), whatever the time zone of the calling process: timestamps are absolute, naive datetimes are wall
times of the charter's zone, and a day runs from local midnight to the next local midnight (23 or 25 hours on
DST days). ``charter_remaining`` counts each job once, every job whose span meets the day's charter time.

Timestamps are unix seconds (``float``); periods are half-open, never empty ``(start, end)`` pairs.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import NoReturn

from attrs import evolve, field, frozen
from returns.iterables import Fold
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, ParseError
from g5kpure.oar.dates import to_unixts, zone_named

Instant = float | int | datetime
Period = tuple[float, float]

_FIXED_FRENCH_HOLIDAYS: frozenset[tuple[int, int]] = frozenset(
    {(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)}
)
# Easter Monday, Ascension Thursday, Whit Monday: days after Easter Sunday.
_EASTER_OFFSETS: frozenset[int] = frozenset({1, 39, 50})


def _zone(name: str) -> tzinfo:
    return zone_named(name).lash(_refuse).unwrap()


def _refuse(error: G5kError) -> NoReturn:
    raise ValueError(error.message)


def _str_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _int_set(value: Iterable[int]) -> frozenset[int]:
    return frozenset(value)


def _pair_set(value: Iterable[tuple[int, int]]) -> frozenset[tuple[int, int]]:
    return frozenset((int(m), int(d)) for m, d in value)


def _date_set(value: Iterable[date]) -> frozenset[date]:
    return frozenset(value)


def _check_zone(_instance: object, _attribute: object, value: str) -> None:
    try:
        _zone(value)
    except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {value!r}: use an IANA name such as 'Europe/Paris'") from exc


def _check_weekdays(_instance: object, _attribute: object, value: frozenset[int]) -> None:
    if not value <= frozenset(range(7)):
        raise ValueError(f"work_weekdays must be within 0 (Monday) .. 6 (Sunday), got {sorted(value)}")


def _check_fixed(_instance: object, _attribute: object, value: frozenset[tuple[int, int]]) -> None:
    for month, day in value:
        date(2000, month, day)  # 2000 is a leap year: accepts 29 February, refuses impossible days


def _check_hours(instance: CharterRules, _attribute: object, value: time) -> None:
    if not instance.day_start < value:
        raise ValueError(f"day_end {value} must be after day_start {instance.day_start}")


@frozen(cache_hash=True)
class CharterRules:
    """The charter as one replaceable value: zone, daily hours, work week days, holidays, job types, quota.

    ``work_weekdays`` uses Python's numbering (Monday = 0). ``fixed_holidays`` are (month, day) pairs every
    year; ``easter_offsets`` are days after Easter Sunday (1 = Easter Monday, 39 = Ascension, 50 = Whit
    Monday); ``extra_holidays`` are single dates (a site's or a year's own). ``quota_seconds_per_core`` is
    the daily allowance per core of a cluster (the seed's two hours of the whole cluster).
    """

    timezone: str = field(default="Europe/Paris", validator=_check_zone)
    day_start: time = time(9, 0)
    day_end: time = field(default=time(19, 0), validator=_check_hours)
    work_weekdays: frozenset[int] = field(default=frozenset(range(5)), converter=_int_set, validator=_check_weekdays)
    fixed_holidays: frozenset[tuple[int, int]] = field(
        default=_FIXED_FRENCH_HOLIDAYS, converter=_pair_set, validator=_check_fixed
    )
    easter_offsets: frozenset[int] = field(default=_EASTER_OFFSETS, converter=_int_set)
    extra_holidays: frozenset[date] = field(default=frozenset(), converter=_date_set)
    excluded_job_types: frozenset[str] = field(
        default=frozenset({"besteffort", "nfs", "iscsi"}), converter=_str_set
    )
    quota_seconds_per_core: int = 2 * 3600


DEFAULT_RULES = CharterRules()


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday of ``year`` (anonymous Gregorian computus)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=256)
def _holidays(year: int, rules: CharterRules) -> frozenset[date]:
    fixed = {date(year, m, d) for (m, d) in rules.fixed_holidays if (m, d) != (2, 29) or calendar.isleap(year)}
    easter = easter_sunday(year)
    movable = {easter + timedelta(days=n) for n in rules.easter_offsets}
    extra = {d for d in rules.extra_holidays if d.year == year}
    return frozenset(fixed | movable | extra)


def public_holidays(year: int, rules: CharterRules = DEFAULT_RULES) -> tuple[date, ...]:
    """The public holidays of ``year`` under ``rules``, sorted."""
    return tuple(sorted(_holidays(year, rules)))


def is_work_day(day: date, rules: CharterRules = DEFAULT_RULES) -> bool:
    """Whether ``day`` (a date of the charter's zone) is a work day: a work week day and not a holiday."""
    return day.weekday() in rules.work_weekdays and day not in _holidays(day.year, rules)


def to_timestamp(t: Instant, rules: CharterRules = DEFAULT_RULES) -> float:
    """Unix time of ``t``; a naive datetime is a wall time of the charter's zone (never the process's zone).

    In a repeated hour (autumn DST change) a naive time is its second occurrence, like g5kpure.oar.dates.
    """
    if isinstance(t, datetime):
        if t.tzinfo is None or t.utcoffset() is None:
            # one policy for the whole project (g5kpure.oar.dates): a gap time moves forward, a repeated time
            # is its second occurrence; a datetime always converts, so the Result is always a Success
            return float(to_unixts(t, tz=_zone(rules.timezone)).value_or(t.replace(tzinfo=UTC).timestamp()))
        return t.timestamp()
    return float(t)


def _local_date(ts: float, rules: CharterRules) -> date:
    return datetime.fromtimestamp(math.floor(ts), _zone(rules.timezone)).date()


def _wall(day: date, at: time, rules: CharterRules) -> float:
    return datetime.combine(day, at, tzinfo=_zone(rules.timezone)).timestamp()


def day_bounds(day: date, rules: CharterRules = DEFAULT_RULES) -> Period:
    """The half-open span of a local day, midnight to next midnight: 23 or 25 hours on DST days."""
    return (_wall(day, time(0), rules), _wall(day + timedelta(days=1), time(0), rules))


def day_charter_period(day: date, rules: CharterRules = DEFAULT_RULES) -> Period | None:
    """The charter period of one local day (work hours of a work day), or None on a non-work day."""
    return _day_period(day, rules)


@lru_cache(maxsize=4096)
def _day_period(day: date, rules: CharterRules) -> Period | None:
    if not is_work_day(day, rules):
        return None
    return (_wall(day, rules.day_start, rules), _wall(day, rules.day_end, rules))


def g5k_charter_time(t: Instant, rules: CharterRules = DEFAULT_RULES) -> bool:
    """Whether ``t`` falls in charter time: work hours of a work day, in the charter's zone."""
    ts = to_timestamp(t, rules)
    period = _day_period(_local_date(ts, rules), rules)
    return period is not None and period[0] <= ts < period[1]


def _iter_periods(start: float, end: float, rules: CharterRules) -> Iterator[Period]:
    if end <= start:
        return
    day = _local_date(start, rules)
    last = _local_date(end, rules)
    while day <= last:
        period = _day_period(day, rules)
        if period is not None:
            lo, hi = max(start, period[0]), min(end, period[1])
            if lo < hi:
                yield (lo, hi)
        day += timedelta(days=1)


def charter_periods(start: Instant, end: Instant, rules: CharterRules = DEFAULT_RULES) -> tuple[Period, ...]:
    """The charter periods met by the span [start, end), clipped to it, in order."""
    return tuple(_iter_periods(to_timestamp(start, rules), to_timestamp(end, rules), rules))


def out_of_charter_periods(start: Instant, end: Instant, rules: CharterRules = DEFAULT_RULES) -> tuple[Period, ...]:
    """The parts of [start, end) outside charter time (nights, week-ends, holidays), in order."""
    lo, hi = to_timestamp(start, rules), to_timestamp(end, rules)
    gaps: list[Period] = []
    cursor = lo
    for p_start, p_end in _iter_periods(lo, hi, rules):
        if cursor < p_start:
            gaps.append((cursor, p_start))
        cursor = p_end
    if cursor < hi:
        gaps.append((cursor, hi))
    return tuple(gaps)


def get_next_charter_period(start: Instant, end: Instant, rules: CharterRules = DEFAULT_RULES) -> Period | None:
    """The first charter period met by [start, end), clipped to it; None when there is none.

    If ``start`` is in charter time, the period starts at ``start``; if ``end`` falls inside it, it ends there.
    """
    lo, hi = to_timestamp(start, rules), to_timestamp(end, rules)
    return next(_iter_periods(lo, hi, rules), None)


# ---------------------------------------------------------------------------------------------------------
# Remaining allowance from job rows


JOB_ROW_COLUMNS: tuple[str, ...] = (
    "job_id",
    "job_user",
    "state",
    "types",
    "cluster",
    "start_time",
    "stop_time",
    "walltime",
    "nb_resources",
    "source",
)
"""Column order of the job rows ``parse_job_rows`` reads (the database adapter's query selects these)."""

SOURCES = ("assigned", "predicted")


@frozen
class JobRow:
    """One job's use of one cluster: actual resources (``assigned``) or the scheduler's prediction (``predicted``).

    ``stop_time`` is 0 while the job has not finished; ``walltime`` then bounds its end.
    """

    job_id: int
    user: str
    state: str
    types: frozenset[str] = field(converter=_str_set)
    cluster: str
    start_time: int
    stop_time: int
    walltime: int
    resources: int
    source: str = "assigned"

    @property
    def span(self) -> Period:
        """The [start, end) the job holds its resources: actual end if finished, else start + walltime."""
        end = self.stop_time if self.stop_time > 0 else self.start_time + self.walltime
        return (float(self.start_time), float(max(end, self.start_time)))


@frozen
class ClusterRemaining:
    """A user's charter allowance on one cluster for one day, in core-seconds, and the jobs counted."""

    cluster: str
    cores: int
    quota: int
    used: int
    remaining: int
    job_ids: tuple[int, ...] = ()


_INT_TEXT = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: str.isdigit() also accepts '²' and int() refuses it
_MAX_DIGITS = 64  # longer digit strings are no count or time (and int() refuses past sys.get_int_max_str_digits)
_NON_NEGATIVE = frozenset({"job_id", "start_time", "stop_time", "walltime", "nb_resources", "core count"})


def _as_int(value: object, what: str, row_no: int) -> Result[int, G5kError]:
    """An integer field of a database row; counts, durations and times must not be negative."""
    where = f"row {row_no}"
    parsed: int | None = None
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        parsed = int(value)
    elif isinstance(value, str) and len(value) <= _MAX_DIGITS and _INT_TEXT.fullmatch(value.strip()):
        parsed = int(value.strip())
    elif value is None and what in ("stop_time", "start_time"):
        parsed = 0
    if parsed is None:
        return Failure(ParseError(what, where, repr(value)[:200], "expected an integer"))
    if parsed < 0 and what in _NON_NEGATIVE:
        return Failure(ParseError(what, where, repr(value)[:200], "expected an integer >= 0"))
    return Success(parsed)


def _as_types(value: object, row_no: int) -> Result[frozenset[str], G5kError]:
    if value is None:
        return Success(frozenset())
    if isinstance(value, str):
        inner = value.strip()
        if inner.startswith("{") and inner.endswith("}"):  # PostgreSQL array text form
            inner = inner[1:-1]
        return Success(frozenset(t.strip().strip('"') for t in inner.split(",") if t.strip()))
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(t, str) for t in value):
        return Success(frozenset(value))
    where = f"row {row_no}"
    return Failure(ParseError("types", where, repr(value)[:200], "expected a list of job types"))


def _row_values(row: object, what: str, row_no: int, width: int) -> Result[tuple[object, ...], G5kError]:
    """The fields of one database row (a tuple or list of ``width`` values), or an error naming the row."""
    if not isinstance(row, Sequence) or isinstance(row, str | bytes | bytearray):
        return Failure(ParseError(what, f"row {row_no}", repr(row)[:200], f"expected a tuple of {width} values"))
    values = tuple(row)
    if len(values) != width:
        return Failure(ParseError(what, f"row {row_no}", repr(values)[:200], f"expected {width} columns"))
    return Success(values)


def _rows_of(raw: object, what: str) -> Result[tuple[object, ...], G5kError]:
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes | bytearray):
        return Failure(ParseError(what, "", repr(raw)[:200], "expected a sequence of rows"))
    return Success(tuple(raw))


def parse_job_rows(raw: Sequence[Sequence[object]]) -> Result[tuple[JobRow, ...], G5kError]:
    """Job rows from database tuples in ``JOB_ROW_COLUMNS`` order; a malformed row is an error naming it.

    Total: any input gives a value (never an exception); negative ids, times, walltimes or resource counts
    are refused, naming the row and the field.
    """
    return _rows_of(raw, "job rows").bind(
        lambda rows: Fold.collect((_job_row(row, row_no) for row_no, row in enumerate(rows)), Success(()))
    )


_INT_COLUMNS = ("job_id", "start_time", "stop_time", "walltime", "nb_resources")


def _job_row(row: object, row_no: int) -> Result[JobRow, G5kError]:
    return _row_values(row, "job row", row_no, len(JOB_ROW_COLUMNS)).bind(lambda cells: _job_of_cells(cells, row_no))


def _job_of_cells(cells: tuple[object, ...], row_no: int) -> Result[JobRow, G5kError]:
    values = dict(zip(JOB_ROW_COLUMNS, cells, strict=True))
    cluster, user, state, source = values["cluster"], values["job_user"], values["state"], values["source"]
    if not isinstance(source, str) or source not in SOURCES:
        return Failure(ParseError("source", f"row {row_no}", repr(source)[:200], f"expected one of {SOURCES}"))
    if not isinstance(cluster, str) or not isinstance(user, str) or not isinstance(state, str):
        why = "cluster, user and state must be text"
        return Failure(ParseError("job row", f"row {row_no}", repr(cells)[:200], why))
    ints = Fold.collect((_as_int(values[key], key, row_no) for key in _INT_COLUMNS), Success(()))
    return Result.do(
        JobRow(job_id=job_id, user=user, state=state, types=types, cluster=cluster, start_time=start,
               stop_time=stop, walltime=walltime, resources=resources, source=source)
        for job_id, start, stop, walltime, resources in ints
        for types in _as_types(values["types"], row_no)
    )


def _count_pairs(value: Mapping[str, int] | Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    merged: dict[str, int] = {}
    for name, n in items:
        merged[str(name)] = merged.get(str(name), 0) + int(n)
    return tuple(sorted(merged.items()))


@frozen(eq=False)
class CoreCounts(Mapping[str, int]):
    """Cores per cluster: an immutable mapping, sorted by cluster (equal to any mapping with the same items)."""

    pairs: tuple[tuple[str, int], ...] = field(default=(), converter=_count_pairs)

    def __getitem__(self, cluster: str) -> int:
        for name, n in self.pairs:
            if name == cluster:
                return n
        raise KeyError(cluster)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __hash__(self) -> int:
        return hash(self.pairs)


def parse_core_counts(raw: Sequence[Sequence[object]]) -> Result[CoreCounts, G5kError]:
    """Cores per cluster from (cluster, count) database tuples; rows of one cluster add up.

    Total: any input gives a value; a row that is not (text, integer >= 0) is an error naming it.
    """
    def core_count(row: object, row_no: int) -> Result[tuple[str, int], G5kError]:
        def pair(cells: tuple[object, ...]) -> Result[tuple[str, int], G5kError]:
            cluster, count = cells
            if not isinstance(cluster, str):
                return Failure(ParseError("cluster", f"row {row_no}", repr(cluster)[:200], "expected a cluster name"))
            return _as_int(count, "core count", row_no).map(lambda n: (cluster, n))

        return _row_values(row, "core count row", row_no, 2).bind(pair)

    return _rows_of(raw, "core count rows").bind(
        lambda rows: Fold.collect((core_count(row, n) for n, row in enumerate(rows)), Success(()))
    ).map(CoreCounts)


def _rank(row: JobRow) -> tuple[bool, int, int, int, int, str, str]:
    """Which of two rows of one (job, cluster) to keep: actual resources first, then a total order (so the
    result never depends on the order of the rows)."""
    return (row.source == "assigned", row.resources, row.walltime, row.stop_time, row.start_time, row.state, row.user)


def dedupe_jobs(rows: Sequence[JobRow]) -> tuple[JobRow, ...]:
    """One row per (job, cluster): actual resources win over predictions; duplicate rows merge their types.

    execo's query gave one row per job type and one per UNION branch, so a job was counted several times.
    """
    best: dict[tuple[int, str], JobRow] = {}
    for row in rows:
        key = (row.job_id, row.cluster)
        seen = best.get(key)
        if seen is None:
            best[key] = row
            continue
        best[key] = evolve(max(seen, row, key=_rank), types=seen.types | row.types)
    return tuple(best[k] for k in sorted(best))


def counted_jobs(
    rows: Sequence[JobRow], day: date, user: str, rules: CharterRules = DEFAULT_RULES
) -> tuple[JobRow, ...]:
    """The jobs that count against ``user``'s allowance on ``day``: each once, excluded types left out.

    A job counts when its span meets the day's charter period; this includes jobs that start before the day
    and end after it (execo missed them: it only looked at jobs starting or stopping within the day).
    """
    period = day_charter_period(day, rules)
    if period is None:
        return ()
    p_start, p_end = period
    kept = []
    for row in dedupe_jobs(rows):
        if row.user != user or row.types & rules.excluded_job_types or row.start_time <= 0:
            continue
        j_start, j_end = row.span
        if j_start < j_end and j_start < p_end and p_start < j_end:  # an empty span (killed at once) meets nothing
            kept.append(row)
    return tuple(kept)


def charter_remaining(
    rows: Sequence[JobRow],
    cores: Mapping[str, int],
    day: date,
    user: str,
    rules: CharterRules = DEFAULT_RULES,
) -> tuple[ClusterRemaining, ...]:
    """Per cluster, ``user``'s charter allowance left on ``day`` in core-seconds, sorted by cluster.

    With the seed's meaning: quota = cores (not Dead, default type) x ``quota_seconds_per_core``; used = the
    sum over counted jobs of resources x the job's full duration (walltime, or actual run time once finished);
    remaining = max(0, quota - used). Clusters with jobs but no live core appear with a zero quota.
    """
    jobs = counted_jobs(rows, day, user, rules)
    clusters = sorted(set(cores) | {j.cluster for j in jobs})
    out = []
    for cluster in clusters:
        mine = [j for j in jobs if j.cluster == cluster]
        used = sum(j.resources * int(j.span[1] - j.span[0]) for j in mine)
        n_cores = cores.get(cluster, 0)
        quota = n_cores * rules.quota_seconds_per_core
        out.append(
            ClusterRemaining(
                cluster=cluster,
                cores=n_cores,
                quota=quota,
                used=used,
                remaining=max(0, quota - used),
                job_ids=tuple(sorted(j.job_id for j in mine)),
            )
        )
    return tuple(out)
