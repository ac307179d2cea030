"""Property tests of g5kpure.charter: periods agree with charter time, never overlap, stay within work hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from g5kpure.charter import (
    DEFAULT_RULES,
    CharterRules,
    CoreCounts,
    JobRow,
    charter_periods,
    charter_remaining,
    g5k_charter_time,
    get_next_charter_period,
    is_work_day,
    out_of_charter_periods,
    parse_core_counts,
    parse_job_rows,
)
from g5kpure.errors import ParseError

PARIS = ZoneInfo("Europe/Paris")
LO = datetime(2000, 1, 1, tzinfo=PARIS).timestamp()
HI = datetime(2060, 1, 1, tzinfo=PARIS).timestamp()

# Instants, biased towards DST change weeks, charter boundaries and holidays by drawing wall times too.
instants = st.one_of(
    st.floats(min_value=LO, max_value=HI, allow_nan=False),
    st.integers(min_value=int(LO), max_value=int(HI)).map(float),
    st.builds(
        lambda d, h, m, s: datetime.combine(d, time(h, m, s), tzinfo=PARIS).timestamp(),
        st.dates(min_value=date(2000, 1, 1), max_value=date(2059, 12, 31)),
        st.sampled_from([0, 1, 2, 3, 8, 9, 10, 18, 19, 23]),
        st.sampled_from([0, 59]),
        st.sampled_from([0, 59]),
    ),
)
spans = st.floats(min_value=0, max_value=20 * 86400, allow_nan=False)


@st.composite
def rules(draw: st.DrawFn) -> CharterRules:
    """Default rules, or rules with other hours / week days (whole hours away from the 2-3 AM DST change)."""
    if draw(st.booleans()):
        return DEFAULT_RULES
    start = draw(st.integers(min_value=4, max_value=22))
    end = draw(st.integers(min_value=start + 1, max_value=23))
    days = draw(st.frozensets(st.integers(min_value=0, max_value=6)))
    minute = draw(st.sampled_from([0, 30, 59]))
    return CharterRules(day_start=time(start), day_end=time(end, minute), work_weekdays=days)


def local(ts: float, r: CharterRules) -> datetime:
    return datetime.fromtimestamp(ts, ZoneInfo(r.timezone))


@given(instants, spans, spans, rules())
def test_charter_time_agrees_with_periods(t: float, before: float, after: float, r: CharterRules) -> None:
    lo, hi = t - before, t + after + 1
    inside = any(s <= t < e for s, e in charter_periods(lo, hi, r))
    assert inside is g5k_charter_time(t, r)


@given(instants, spans, rules())
def test_periods_ordered_disjoint_within_work_hours(start: float, span: float, r: CharterRules) -> None:
    end = start + span
    periods = charter_periods(start, end, r)
    for s, e in periods:
        assert start <= s < e <= end
        ls, le = local(s, r), local(e, r)
        assert ls.date() == local(e - 1e-3 if e - s > 1e-3 else s, r).date()  # never crosses midnight
        assert is_work_day(ls.date(), r)  # never on a non-work day
        assert r.day_start <= ls.time().replace(microsecond=0)
        assert le.date() > ls.date() or le.time() <= r.day_end  # never crosses the end of work hours
    for (_, e1), (s2, _) in pairwise(periods):
        assert e1 < s2  # never overlap, never touch (nights between)


@given(instants, spans, rules())
def test_out_of_charter_is_exact_complement(start: float, span: float, r: CharterRules) -> None:
    end = start + span
    merged = sorted(charter_periods(start, end, r) + out_of_charter_periods(start, end, r))
    if end <= start:  # a span too small to move a large float
        assert merged == []
        return
    assert merged[0][0] == start
    assert merged[-1][1] == end
    for (_, e1), (s2, _) in pairwise(merged):
        assert e1 == s2  # the two together tile the range with no gap and no overlap


@given(instants, spans, rules())
def test_next_period_is_first_period(start: float, span: float, r: CharterRules) -> None:
    periods = charter_periods(start, start + span, r)
    nxt = get_next_charter_period(start, start + span, r)
    assert nxt == (periods[0] if periods else None)


charter_instants = st.builds(
    lambda d, offset: datetime.combine(d, time(9), PARIS).timestamp() + offset,
    st.dates(min_value=date(2000, 1, 1), max_value=date(2059, 12, 31)).filter(is_work_day),
    st.floats(min_value=0, max_value=35999.5, allow_nan=False),  # away from float rounding onto 19:00
)


@given(charter_instants, spans)
def test_next_period_of_time_in_charter_starts_there(t: float, span: float) -> None:
    assert g5k_charter_time(t)
    nxt = get_next_charter_period(t, t + span + 1)
    assert nxt is not None
    assert nxt[0] == t
    assert nxt[1] == min(t + span + 1, datetime.combine(local(t, DEFAULT_RULES).date(), time(19), PARIS).timestamp())


@given(instants)
def test_charter_time_is_hour_and_day_rule(t: float) -> None:
    wall = local(t, DEFAULT_RULES)
    expected = wall.weekday() < 5 and is_work_day(wall.date()) and 9 <= wall.hour < 19
    assert g5k_charter_time(t) is expected


job_rows = st.builds(
    JobRow,
    job_id=st.integers(min_value=1, max_value=6),
    user=st.sampled_from(["alice", "bob"]),
    state=st.sampled_from(["Running", "Terminated", "Waiting"]),
    types=st.frozensets(st.sampled_from(["deploy", "besteffort", "origin=x", "night"]), max_size=2),
    cluster=st.sampled_from(["c1", "c2"]),
    start_time=st.integers(min_value=int(datetime(2024, 6, 30, tzinfo=PARIS).timestamp()), max_value=int(
        datetime(2024, 7, 2, tzinfo=PARIS).timestamp())),
    stop_time=st.just(0),
    walltime=st.integers(min_value=0, max_value=86400),
    resources=st.integers(min_value=1, max_value=64),
    source=st.sampled_from(["assigned", "predicted"]),
)


@given(st.lists(job_rows, max_size=12), st.randoms(use_true_random=False))
def test_remaining_ignores_row_order_and_duplicates(rows: list[JobRow], rnd: object) -> None:
    cores = {"c1": 32, "c2": 8}
    day = date(2024, 7, 1)
    base = charter_remaining(rows, cores, day, "alice")
    shuffled = list(rows) + list(rows)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    # duplicating every row changes nothing: a job is counted once whatever the number of rows it has
    dup = charter_remaining(shuffled, cores, day, "alice")
    assert dup == base
    for r in base:
        assert 0 <= r.remaining <= r.quota
        assert r.remaining == max(0, r.quota - r.used)


@given(st.lists(job_rows, max_size=12), job_rows)
def test_one_more_job_never_gives_more_allowance(rows: list[JobRow], extra: JobRow) -> None:
    cores = {"c1": 32, "c2": 8}
    day = date(2024, 7, 1)
    before = {r.cluster: r for r in charter_remaining(rows, cores, day, "alice")}
    after = {r.cluster: r for r in charter_remaining([*rows, evolve(extra, job_id=1000)], cores, day, "alice")}
    assert set(before) <= set(after)
    for cluster, r in before.items():
        assert after[cluster].used >= r.used
        assert after[cluster].remaining <= r.remaining


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2059, 12, 31)))
def test_one_period_per_work_day(day: date) -> None:
    start = datetime.combine(day, time(0), PARIS).timestamp()
    end = datetime.combine(day + timedelta(days=1), time(0), PARIS).timestamp()
    periods = charter_periods(start, end)
    assert len(periods) == (1 if is_work_day(day) else 0)
    if periods:
        assert periods[0][1] - periods[0][0] == 10 * 3600


# Anything a database driver (or a caller) could hand over as a field: numbers of every kind and sign, digit-like
# text (including '²', '--5', '1_000'), arrays, None, nested rows.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.text(alphabet="0123456789-+² _.", max_size=8),
    st.binary(max_size=4),
    st.sampled_from(["assigned", "predicted", "{deploy,besteffort}", "alice", "Running"]),
)
fields = st.one_of(scalars, st.lists(scalars, max_size=3), st.tuples(scalars), st.frozensets(st.text(max_size=3)))
any_rows = st.one_of(
    scalars,
    st.dictionaries(st.text(max_size=3), scalars, max_size=3),
    st.lists(fields, max_size=12),
    st.tuples(*[fields] * 10),
    st.tuples(*[fields] * 2),
)


def _row_number(err: ParseError) -> int:
    assert err.where.startswith("row "), err
    return int(err.where.removeprefix("row "))


@given(st.lists(any_rows, max_size=6))
def test_parse_job_rows_is_total(raw: list[object]) -> None:
    got = parse_job_rows(raw)  # type: ignore[arg-type]
    if isinstance(got, Failure):
        err = got.failure()
        assert isinstance(err, ParseError)
        assert 0 <= _row_number(err) < len(raw)
        assert err.what and err.hint and err.message
    else:
        rows = got.unwrap()
        assert len(rows) == len(raw)
        for r in rows:
            assert min(r.job_id, r.start_time, r.stop_time, r.walltime, r.resources) >= 0
            assert r.source in ("assigned", "predicted")


@given(st.lists(any_rows, max_size=6))
def test_parse_core_counts_is_total(raw: list[object]) -> None:
    got = parse_core_counts(raw)  # type: ignore[arg-type]
    if isinstance(got, Failure):
        err = got.failure()
        assert isinstance(err, ParseError)
        assert 0 <= _row_number(err) < len(raw)
    else:
        counts = got.unwrap()
        assert isinstance(counts, CoreCounts)
        assert all(isinstance(k, str) and v >= 0 for k, v in counts.items())
        assert list(counts) == sorted(counts)


@given(scalars)
def test_parsers_total_on_anything_as_the_row_list(raw: object) -> None:
    for parse in (parse_job_rows, parse_core_counts):
        got = parse(raw)  # type: ignore[arg-type]  # deliberately anything
        assert isinstance(got, Success | Failure)
        if isinstance(got, Failure):
            assert isinstance(got.failure(), ParseError)


good_job_rows = st.tuples(
    st.integers(min_value=0, max_value=10**9),
    st.text(min_size=1, max_size=8),
    st.sampled_from(["Running", "Waiting", "Terminated"]),
    st.lists(st.sampled_from(["deploy", "besteffort", "night"]), max_size=3),
    st.text(min_size=1, max_size=8),
    st.integers(min_value=0, max_value=2**31),
    st.integers(min_value=0, max_value=2**31),
    st.integers(min_value=0, max_value=10**7),
    st.integers(min_value=0, max_value=10**5),
    st.sampled_from(["assigned", "predicted"]),
)


@given(st.lists(good_job_rows, max_size=8), st.integers(min_value=0, max_value=8), st.sampled_from([0, 5, 6, 7, 8]),
       st.integers(min_value=-(10**9), max_value=-1))
def test_a_negative_number_is_refused_naming_its_row_and_field(
    rows: list[tuple[object, ...]], where: int, column: int, negative: int
) -> None:
    assert parse_job_rows(rows).map(len) == Success(len(rows))
    bad = list(rows)
    at = min(where, len(bad))
    broken: list[object] = [1, "u", "Running", [], "c", 1, 0, 60, 1, "assigned"]
    broken[column] = negative
    bad.insert(at, tuple(broken))
    err = parse_job_rows(bad).failure()
    assert isinstance(err, ParseError)
    names = {0: "job_id", 5: "start_time", 6: "stop_time", 7: "walltime", 8: "nb_resources"}
    assert (err.what, err.where, err.hint) == (names[column], f"row {at}", "expected an integer >= 0")
