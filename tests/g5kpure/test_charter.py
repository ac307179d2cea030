"""Unit tests of g5kpure.charter: rules, charter time, periods, DST days, and the remaining allowance."""

from __future__ import annotations

import time as _time
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from returns.result import Failure, Success

from g5kpure.charter import (
    DEFAULT_RULES,
    CharterRules,
    CoreCounts,
    JobRow,
    charter_periods,
    charter_remaining,
    counted_jobs,
    day_bounds,
    day_charter_period,
    dedupe_jobs,
    easter_sunday,
    g5k_charter_time,
    get_next_charter_period,
    is_work_day,
    out_of_charter_periods,
    parse_core_counts,
    parse_job_rows,
    public_holidays,
    to_timestamp,
)
from g5kpure.errors import ParseError

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> float:
    """Unix time of a Paris wall time."""
    return datetime(*args, tzinfo=PARIS).timestamp()  # type: ignore[arg-type, misc]  # *ints could reach tzinfo


@pytest.fixture(params=["Europe/Paris", "UTC", "America/New_York", "Asia/Tokyo"])
def process_tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test with the process's own time zone set to each of several zones."""
    monkeypatch.setenv("TZ", request.param)
    _time.tzset()
    yield request.param
    monkeypatch.undo()
    _time.tzset()


# --- rules ------------------------------------------------------------------------------------------------


def test_easter_sundays() -> None:
    assert easter_sunday(2024) == date(2024, 3, 31)
    assert easter_sunday(2025) == date(2025, 4, 20)
    assert easter_sunday(2038) == date(2038, 4, 25)
    assert easter_sunday(2000) == date(2000, 4, 23)
    assert easter_sunday(1961) == date(1961, 4, 2)


def test_french_holidays_2025() -> None:
    expected = ["01-01", "04-21", "05-01", "05-08", "05-29", "06-09", "07-14", "08-15", "11-01", "11-11", "12-25"]
    assert [d.strftime("%m-%d") for d in public_holidays(2025)] == expected


def test_work_days() -> None:
    assert is_work_day(date(2024, 7, 1))  # Monday
    assert not is_work_day(date(2024, 7, 6))  # Saturday
    assert not is_work_day(date(2024, 7, 7))  # Sunday
    assert not is_work_day(date(2024, 7, 14))
    assert not is_work_day(date(2024, 5, 9))  # Ascension 2024
    assert not is_work_day(date(2024, 4, 1))  # Easter Monday 2024
    assert not is_work_day(date(2024, 5, 20))  # Whit Monday 2024
    assert is_work_day(date(2024, 3, 29))  # Good Friday is not a French national holiday


def test_rules_are_replaceable() -> None:
    alsace = CharterRules(
        easter_offsets=DEFAULT_RULES.easter_offsets | {-2},
        fixed_holidays=DEFAULT_RULES.fixed_holidays | {(12, 26)},
    )
    assert not is_work_day(date(2024, 3, 29), alsace)
    assert not is_work_day(date(2024, 12, 26), alsace)
    assert is_work_day(date(2024, 12, 26))
    six_days = CharterRules(work_weekdays={0, 1, 2, 3, 4, 5}, day_start=time(8), day_end=time(20))
    assert g5k_charter_time(paris(2024, 7, 6, 8, 0), six_days)
    assert not g5k_charter_time(paris(2024, 7, 6, 8, 0))
    assert g5k_charter_time(paris(2024, 7, 1, 19, 30), six_days)
    bridge = CharterRules(extra_holidays={date(2024, 8, 16)})
    assert not g5k_charter_time(paris(2024, 8, 16, 10), bridge)
    assert g5k_charter_time(paris(2024, 8, 16, 10))
    tokyo = CharterRules(timezone="Asia/Tokyo", fixed_holidays=())
    assert g5k_charter_time(datetime(2024, 7, 1, 9, tzinfo=ZoneInfo("Asia/Tokyo")), tokyo)
    assert not g5k_charter_time(datetime(2024, 7, 1, 9, tzinfo=ZoneInfo("Asia/Tokyo")))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"day_start": time(19), "day_end": time(9)},
        {"day_start": time(9), "day_end": time(9)},
        {"work_weekdays": {7}},
        {"fixed_holidays": {(2, 30)}},
        {"timezone": "Mars/Olympus_Mons"},
    ],
)
def test_invalid_rules_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CharterRules(**kwargs)  # type: ignore[arg-type]


def test_february_29_holiday_only_in_leap_years() -> None:
    leap = CharterRules(fixed_holidays={(2, 29)})
    assert date(2024, 2, 29) in public_holidays(2024, leap)
    assert len(public_holidays(2023, leap)) == 3  # only the three Easter-based days
    assert len(public_holidays(1900, leap)) == 3  # 1900 is not a leap year


# --- charter time -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        ((2024, 7, 1, 8, 59, 59), False),
        ((2024, 7, 1, 9, 0, 0), True),
        ((2024, 7, 1, 18, 59, 59), True),
        ((2024, 7, 1, 19, 0, 0), False),
        ((2024, 7, 6, 12, 0, 0), False),
        ((2024, 7, 14, 12, 0, 0), False),
        ((2024, 7, 15, 12, 0, 0), True),
        ((2024, 5, 9, 12, 0, 0), False),
    ],
)
def test_charter_time_vectors(process_tz: str, wall: tuple[int, ...], expected: bool) -> None:
    assert g5k_charter_time(paris(*wall)) is expected
    assert g5k_charter_time(datetime(*wall)) is expected  # type: ignore[arg-type]  # naive = Paris wall time
    assert g5k_charter_time(datetime(*wall, tzinfo=PARIS).astimezone(UTC)) is expected  # type: ignore[arg-type, misc]


def test_charter_time_fraction_before_19h() -> None:
    end = paris(2024, 7, 1, 19)
    assert g5k_charter_time(end - 1e-3)
    assert not g5k_charter_time(end)


# --- next period (execo bug: wrong unless the process runs in Paris time) --------------------------------------


def test_execo_bug_next_period_depends_on_process_tz(process_tz: str) -> None:
    """execo's get_next_charter_period returned 21:00 / 01:00 period ends under TZ=UTC / New York; fixed."""
    assert get_next_charter_period(paris(2024, 7, 1, 10), paris(2024, 7, 3)) == (1719820800.0, 1719853200.0)
    assert get_next_charter_period(paris(2024, 7, 1, 20), paris(2024, 7, 3)) == (
        paris(2024, 7, 2, 9),
        paris(2024, 7, 2, 19),
    )
    assert get_next_charter_period(paris(2024, 7, 5, 20), paris(2024, 7, 9)) == (1720422000.0, 1720458000.0)
    assert get_next_charter_period(paris(2024, 7, 1, 7), paris(2024, 7, 1, 12)) == (
        paris(2024, 7, 1, 9),
        paris(2024, 7, 1, 12),
    )


def test_execo_bug_early_morning_span_has_no_period_under_utc(process_tz: str) -> None:
    """execo under TZ=UTC answered (07:00, 10:00) for 07:00..08:00 Paris; there is no charter time in it."""
    assert get_next_charter_period(paris(2024, 7, 1, 7), paris(2024, 7, 1, 8)) is None


def test_next_period_empty_or_reversed_span() -> None:
    t = paris(2024, 7, 1, 10)
    assert get_next_charter_period(t, t) is None
    assert get_next_charter_period(t, t - 10) is None
    # execo returned the empty period (t, t) when the span ended exactly at 9:00; there is no charter time in it
    assert get_next_charter_period(paris(2024, 7, 1, 7), paris(2024, 7, 1, 9)) is None


def test_next_period_skips_holiday_weekend_bridge() -> None:
    # Thursday 2024-08-15 (Assumption) evening -> Friday 16 is a work day
    assert get_next_charter_period(paris(2024, 8, 14, 20), paris(2024, 8, 30)) == (
        paris(2024, 8, 16, 9),
        paris(2024, 8, 16, 19),
    )
    # Saturday 2024-12-28 -> Monday 30 (the 25th was Wednesday; 2025-01-01 is Wednesday)
    assert get_next_charter_period(paris(2024, 12, 28, 12), paris(2025, 1, 10)) == (
        paris(2024, 12, 30, 9),
        paris(2024, 12, 30, 19),
    )


# --- DST days (execo bug: get_oar_day_start_end assumed 24 h days) -----------------------------------------------


def test_execo_bug_day_bounds_dst_days_are_23_and_25_hours() -> None:
    """execo's get_oar_day_start_end gave midnight + 86399 s whatever the day; a DST day is 23 or 25 h long."""
    start, end = day_bounds(date(2024, 3, 31))
    assert (start, end - start) == (paris(2024, 3, 31), 23 * 3600)
    start, end = day_bounds(date(2024, 10, 27))
    assert (start, end - start) == (paris(2024, 10, 27), 25 * 3600)
    start, end = day_bounds(date(2024, 7, 1))
    assert end - start == 24 * 3600


def test_periods_on_dst_days_with_sunday_work() -> None:
    seven = CharterRules(work_weekdays=range(7), easter_offsets=(), fixed_holidays=())
    spring = charter_periods(paris(2024, 3, 30), paris(2024, 4, 2), seven)
    days = ((2024, 3, 30), (2024, 3, 31), (2024, 4, 1))
    assert spring == tuple((paris(*d, 9), paris(*d, 19)) for d in days)
    assert all(e - s == 10 * 3600 for s, e in spring)
    assert spring[1][0] - spring[0][1] == 13 * 3600  # 19:00 Saturday to 09:00 Sunday across the lost hour
    autumn = charter_periods(paris(2024, 10, 26, 12), paris(2024, 10, 28), seven)
    assert autumn[1][0] - autumn[0][1] == 15 * 3600  # across the repeated hour
    assert [datetime.fromtimestamp(s, PARIS).hour for s, _ in autumn] == [12, 9]


# --- periods over a range ---------------------------------------------------------------------------------


def test_charter_periods_week() -> None:
    periods = charter_periods(paris(2024, 7, 10, 12), paris(2024, 7, 17, 10))  # Wed noon .. next Wed 10:00
    days = [datetime.fromtimestamp(s, PARIS).date() for s, _ in periods]
    assert days == [date(2024, 7, d) for d in (10, 11, 12, 15, 16, 17)]  # 13-14 week-end (14 = holiday anyway)
    assert periods[0] == (paris(2024, 7, 10, 12), paris(2024, 7, 10, 19))
    assert periods[-1] == (paris(2024, 7, 17, 9), paris(2024, 7, 17, 10))


def test_out_of_charter_is_the_complement() -> None:
    lo, hi = paris(2024, 7, 12, 18), paris(2024, 7, 15, 10)  # Friday 18:00 .. Monday 10:00
    assert out_of_charter_periods(lo, hi) == ((paris(2024, 7, 12, 19), paris(2024, 7, 15, 9)),)
    assert charter_periods(lo, hi) == ((lo, paris(2024, 7, 12, 19)), (paris(2024, 7, 15, 9), hi))
    assert out_of_charter_periods(paris(2024, 7, 13), paris(2024, 7, 14)) == ((paris(2024, 7, 13), paris(2024, 7, 14)),)
    assert out_of_charter_periods(paris(2024, 7, 1, 10), paris(2024, 7, 1, 11)) == ()
    assert out_of_charter_periods(hi, lo) == ()


def test_naive_datetime_is_charter_wall_time(process_tz: str) -> None:
    assert to_timestamp(datetime(2024, 7, 1, 9)) == paris(2024, 7, 1, 9)
    assert to_timestamp(1719817200) == 1719817200.0


# --- rows and remaining allowance ----------------------------------------------------------------------------

DAY = date(2024, 7, 1)  # Monday, charter 09:00-19:00 Paris


def row(job_id: int, start: float, stop: float, walltime: int, resources: int, **kw: object) -> JobRow:
    values: dict[str, object] = {
        "job_id": job_id,
        "user": "alice",
        "state": "Terminated",
        "types": (),
        "cluster": "paravance",
        "start_time": int(start),
        "stop_time": int(stop),
        "walltime": walltime,
        "resources": resources,
        "source": "assigned",
    }
    values.update(kw)
    return JobRow(**values)  # type: ignore[arg-type]


def test_remaining_simple_job() -> None:
    rows = [row(1, paris(2024, 7, 1, 10), paris(2024, 7, 1, 10, 30), 3600, 8)]
    (r,) = charter_remaining(rows, {"paravance": 64}, DAY, "alice")
    assert (r.cluster, r.cores, r.quota, r.used, r.remaining, r.job_ids) == (
        "paravance",
        64,
        64 * 7200,
        8 * 1800,
        64 * 7200 - 8 * 1800,
        (1,),
    )


def test_execo_bug_multi_type_job_counted_once() -> None:
    """execo's query returned one row per job type (GROUP BY JT.type): a deploy+origin job counted twice."""
    start = paris(2024, 7, 1, 10)
    rows = [
        row(7, start, 0, 3600, 4, types={"deploy"}, state="Running"),
        row(7, start, 0, 3600, 4, types={"origin=execo"}, state="Running"),
    ]
    (r,) = charter_remaining(rows, {"paravance": 16}, DAY, "alice")
    assert r.used == 4 * 3600
    assert r.job_ids == (7,)
    assert dedupe_jobs(rows)[0].types == frozenset({"deploy", "origin=execo"})


def test_execo_bug_besteffort_with_another_type_is_excluded() -> None:
    """execo filtered per type row, so a besteffort job's origin=execo row passed; the job is excluded here."""
    start = paris(2024, 7, 1, 10)
    rows = [row(8, start, 0, 3600, 4, types={"besteffort"}), row(8, start, 0, 3600, 4, types={"origin=execo"})]
    (r,) = charter_remaining(rows, {"paravance": 16}, DAY, "alice")
    assert (r.used, r.job_ids) == (0, ())


def test_execo_bug_running_job_counted_once() -> None:
    """execo's UNION gave a running job one scheduled and one actual row, both summed; it counts once here."""
    start = paris(2024, 7, 1, 11)
    rows = [
        row(9, start, 0, 7200, 4, state="Running", source="predicted"),
        row(9, start, 0, 7200, 4, state="Running", source="assigned"),
    ]
    (r,) = charter_remaining(rows, {"paravance": 16}, DAY, "alice")
    assert (r.used, r.job_ids) == (4 * 7200, (9,))


def test_actual_resources_win_over_prediction() -> None:
    start = paris(2024, 7, 1, 11)
    rows = [
        row(9, start + 60, 0, 7200, 8, state="Running", source="predicted"),
        row(9, start, 0, 7200, 4, state="Running", source="assigned"),
    ]
    (kept,) = dedupe_jobs(rows)
    assert (kept.source, kept.resources, kept.start_time) == ("assigned", 4, int(start))


def test_execo_bug_whole_day_reservation_counted() -> None:
    """execo only kept jobs starting or stopping within the day; a job spanning the whole day was missed."""
    rows = [row(10, paris(2024, 6, 30, 20), 0, 48 * 3600, 2, state="Running")]
    (r,) = charter_remaining(rows, {"paravance": 16}, DAY, "alice")
    assert (r.used, r.job_ids) == (2 * 48 * 3600, (10,))
    assert r.remaining == 0  # clamped: quota 16 * 7200 < 2 * 48 h


def test_jobs_outside_charter_time_of_the_day_are_not_counted() -> None:
    rows = [
        row(1, paris(2024, 7, 1, 19), paris(2024, 7, 1, 23), 14400, 4),  # evening
        row(2, paris(2024, 7, 1, 5), paris(2024, 7, 1, 9), 14400, 4),  # ends exactly at 9:00
        row(3, paris(2024, 7, 2, 10), 0, 3600, 4, state="Waiting", source="predicted"),  # next day
        row(4, paris(2024, 7, 1, 18, 59), 0, 3600, 4, state="Waiting", source="predicted"),  # meets the last minute
        row(5, 0, 0, 3600, 4, state="Hold"),  # never scheduled
        row(6, paris(2024, 7, 1, 12), 0, 3600, 4, user="bob"),  # somebody else
        row(7, paris(2024, 7, 1, 12), paris(2024, 7, 1, 12), 3600, 4, state="Error"),  # empty span
    ]
    (r,) = charter_remaining(rows, {"paravance": 16}, DAY, "alice")
    assert r.job_ids == (4,)
    assert r.used == 4 * 3600
    assert [j.job_id for j in counted_jobs(rows, DAY, "bob")] == [6]


def test_non_work_day_counts_nothing() -> None:
    rows = [row(1, paris(2024, 7, 14, 10), paris(2024, 7, 14, 12), 7200, 4)]
    (r,) = charter_remaining(rows, {"paravance": 16}, date(2024, 7, 14), "alice")
    assert (r.used, r.remaining) == (0, 16 * 7200)


def test_several_clusters_and_unknown_cluster() -> None:
    start = paris(2024, 7, 1, 10)
    rows = [
        row(1, start, start + 600, 3600, 4, cluster="parasilo"),
        row(1, start, start + 600, 3600, 4, cluster="paravance"),
        row(2, start, start + 60, 3600, 1, cluster="ghost"),
    ]
    out = charter_remaining(rows, {"paravance": 16, "parasilo": 8}, DAY, "alice")
    assert [(r.cluster, r.cores, r.used, r.remaining) for r in out] == [
        ("ghost", 0, 60, 0),
        ("parasilo", 8, 2400, 8 * 7200 - 2400),
        ("paravance", 16, 2400, 16 * 7200 - 2400),
    ]


def test_rules_quota_is_replaceable() -> None:
    rules = CharterRules(quota_seconds_per_core=3600)
    (r,) = charter_remaining([], {"paravance": 10}, DAY, "alice", rules)
    assert r.quota == 36000


def test_parse_job_rows() -> None:
    raw = [
        (12, "alice", "Running", ["deploy", "origin=x"], "paravance", 1719820800, 0, 3600, 8, "assigned"),
        (13, "alice", "Waiting", "{besteffort,\"a b\"}", "parasilo", 1719820800, None, 600, 4, "predicted"),
        (14, "alice", "Waiting", None, "parasilo", "1719820800", 0, 600.0, 4, "predicted"),
    ]
    parsed = parse_job_rows(raw)
    assert isinstance(parsed, Success)
    rows = parsed.unwrap()
    assert rows[0] == row(12, 1719820800, 0, 3600, 8, types={"deploy", "origin=x"}, state="Running")
    assert rows[1].types == frozenset({"besteffort", "a b"})
    assert rows[1].stop_time == 0
    assert (rows[2].types, rows[2].start_time, rows[2].walltime) == (frozenset(), 1719820800, 600)


@pytest.mark.parametrize(
    ("bad", "what"),
    [
        ((1, "alice", "Running", [], "c", 0, 0, 3600, 8), "job row"),
        (("x", "alice", "Running", [], "c", 0, 0, 3600, 8, "assigned"), "job_id"),
        ((1, "alice", "Running", [1], "c", 0, 0, 3600, 8, "assigned"), "types"),
        ((1, "alice", "Running", [], "c", 0, 0, 3600, 8, "guessed"), "source"),
        ((1, None, "Running", [], "c", 0, 0, 3600, 8, "assigned"), "job row"),
        ((1, "alice", "Running", [], "c", 0, 0, True, 8, "assigned"), "walltime"),
        ((1, "alice", "Running", [], "c", 0, 0, 3600, None, "assigned"), "nb_resources"),
    ],
)
def test_parse_job_rows_errors(bad: tuple[object, ...], what: str) -> None:
    parsed = parse_job_rows([bad])
    assert isinstance(parsed, Failure)
    err = parsed.failure()
    assert isinstance(err, ParseError)
    assert (err.what, err.where) == (what, "row 0")


def test_parse_core_counts() -> None:
    assert parse_core_counts([("paravance", 64), ("parasilo", 32)]) == Success({"parasilo": 32, "paravance": 64})
    bad = parse_core_counts([("paravance", "many")])
    assert isinstance(bad, Failure)
    assert bad.failure().what == "core count"
    assert isinstance(parse_core_counts([(None, 3)]), Failure)


GOOD_ROW: tuple[object, ...] = (12, "alice", "Running", ["deploy"], "paravance", 1719820800, 0, 3600, 8, "assigned")


@pytest.mark.parametrize(
    ("column", "value", "hint"),
    [
        (0, "--5", "expected an integer"),  # passed the old isdigit check, then int() raised
        (5, "²", "expected an integer"),  # '²'.isdigit() is True, int('²') raises
        (7, "1_000", "expected an integer"),
        (7, "9" * 5000, "expected an integer"),  # past int()'s digit limit
        (7, -3600, "expected an integer >= 0"),
        (7, "-60", "expected an integer >= 0"),
        (8, -1, "expected an integer >= 0"),
        (0, -12, "expected an integer >= 0"),
        (5, -1.0, "expected an integer >= 0"),
        (7, float("nan"), "expected an integer"),
        (7, 1.5, "expected an integer"),
    ],
)
def test_parse_job_rows_refuses_bad_numbers(column: int, value: object, hint: str) -> None:
    bad = list(GOOD_ROW)
    bad[column] = value
    parsed = parse_job_rows([GOOD_ROW, tuple(bad)])
    assert isinstance(parsed, Failure)
    err = parsed.failure()
    assert isinstance(err, ParseError)
    names = ("job_id", "job_user", "state", "types", "cluster", "start_time", "stop_time", "walltime", "nb_resources")
    assert (err.what, err.where, err.hint) == (names[column], "row 1", hint)
    assert f"{names[column]} at row 1" in err.message


@pytest.mark.parametrize("row", [None, 5, "abcdefghij", b"abcdefghij", {"job_id": 1}, object()])
def test_parse_job_rows_non_sequence_row_is_an_error(row: object) -> None:
    parsed = parse_job_rows([GOOD_ROW, row])  # type: ignore[list-item]
    assert isinstance(parsed, Failure)
    err = parsed.failure()
    assert isinstance(err, ParseError)
    assert (err.what, err.where) == ("job row", "row 1")
    assert "expected a tuple of 10 values" in err.message


@pytest.mark.parametrize("raw", [None, 3, "rows", object()])
def test_parsers_refuse_a_non_sequence_of_rows(raw: object) -> None:
    for parse, what in ((parse_job_rows, "job rows"), (parse_core_counts, "core count rows")):
        got = parse(raw)  # type: ignore[arg-type]  # deliberately not a sequence of rows
        assert isinstance(got, Failure)
        assert got.failure().what == what


@pytest.mark.parametrize(
    ("row", "what", "hint"),
    [
        (("c", "--5"), "core count", "expected an integer"),
        (("c", "²"), "core count", "expected an integer"),
        (("c", -4), "core count", "expected an integer >= 0"),
        ((3, 4), "cluster", "expected a cluster name"),
        ("c4", "core count row", "expected a tuple of 2 values"),
        (7, "core count row", "expected a tuple of 2 values"),
        (("c", 1, 2), "core count row", "expected 2 columns"),
    ],
)
def test_parse_core_counts_errors(row: object, what: str, hint: str) -> None:
    got = parse_core_counts([("ok", 1), row])  # type: ignore[list-item]
    assert isinstance(got, Failure)
    err = got.failure()
    assert isinstance(err, ParseError)
    assert (err.what, err.where, err.hint) == (what, "row 1", hint)


def test_core_counts_are_an_immutable_mapping() -> None:
    counts = parse_core_counts([("parasilo", "16"), ("paravance", 64), ("parasilo", 16.0)]).unwrap()
    assert isinstance(counts, CoreCounts)
    assert counts == {"parasilo": 32, "paravance": 64}
    assert list(counts) == ["parasilo", "paravance"]
    assert (counts["paravance"], counts.get("nope", 0), len(counts), "parasilo" in counts) == (64, 0, 2, True)
    with pytest.raises(KeyError):
        counts["nope"]
    with pytest.raises(TypeError):
        counts["x"] = 1  # type: ignore[index]
    assert not hasattr(counts, "__setitem__") and not hasattr(counts, "update")
    assert hash(counts) == hash(CoreCounts({"paravance": 64, "parasilo": 32}))
    (r,) = charter_remaining([], CoreCounts({"c": 2}), DAY, "alice")
    assert (r.cluster, r.quota) == ("c", 2 * DEFAULT_RULES.quota_seconds_per_core)


def test_day_charter_period() -> None:
    assert day_charter_period(date(2024, 7, 6)) is None
    assert day_charter_period(DAY) == (paris(2024, 7, 1, 9), paris(2024, 7, 1, 19))
    assert day_charter_period(DAY + timedelta(days=13)) is None  # 14 July


def test_naive_datetime_in_dst_change_hours(process_tz: str) -> None:
    # same policy as g5kpure.oar.dates (and execo): a repeated time is its second occurrence, a gap moves forward
    assert to_timestamp(datetime(2024, 10, 27, 2, 30)) == 1729992600.0
    assert to_timestamp(datetime(2024, 3, 31, 2, 30)) == 1711848600.0


def test_execo_bug_running_job_actual_duration_was_negative() -> None:
    """execo's actual-resources branch used stop_time - start_time, i.e. a huge negative duration while a job
    runs (stop_time is 0 until it ends), which *raised* the remaining time; a running job uses its walltime."""
    start = paris(2024, 7, 1, 10)
    running = row(11, start, 0, 5400, 4, state="Running")
    assert running.span == (start, start + 5400)
    (r,) = charter_remaining([running], {"paravance": 16}, DAY, "alice")
    assert (r.used, r.remaining) == (4 * 5400, 16 * 7200 - 4 * 5400)
    finished = row(12, start, start + 600, 5400, 4)  # ended early: its actual run time counts
    assert charter_remaining([finished], {"paravance": 16}, DAY, "alice")[0].used == 4 * 600


def test_execo_bug_cluster_without_live_core() -> None:
    """execo divided by a site's quota and failed (ZeroDivisionError) when it was 0; here it is a zero quota."""
    rows = [row(13, paris(2024, 7, 1, 10), 0, 600, 2, cluster="deadcluster")]
    (r,) = charter_remaining(rows, {"deadcluster": 0}, DAY, "alice")
    assert (r.cores, r.quota, r.used, r.remaining) == (0, 0, 1200, 0)
