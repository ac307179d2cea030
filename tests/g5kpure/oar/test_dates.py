"""OAR dates and durations: execo 2.8.2's verified vectors, the DST policy, and each deliberate difference."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from returns.result import Failure, Success

from g5kpure.errors import InvalidInput, ParseError
from g5kpure.oar import (
    MAX_SECONDS,
    PARIS,
    describe_duration,
    format_oar_date,
    format_oar_duration,
    format_seconds,
    format_unixts,
    format_walltime,
    int_of,
    oar_date_to_unixts,
    oar_duration_to_seconds,
    parse_int,
    parse_walltime,
    to_seconds,
    to_unixts,
    zone_named,
)

# --- execo 2.8.2 vectors (execo_behaviour.md §4 and §14): same answers --------------------------------


@pytest.mark.parametrize(
    ("ts", "text"),
    [
        (0, "1970-01-01 01:00:00"),
        (1700000000, "2023-11-14 23:13:20"),
        (1720000000, "2024-07-03 11:46:40"),  # CEST
        (1700000000.9, "2023-11-14 23:13:20"),
    ],
)
def test_format_oar_date_matches_execo(ts: float, text: str) -> None:
    assert format_oar_date(ts) == Success(text)


@pytest.mark.parametrize(
    ("text", "ts"),
    [
        ("2023-11-14 23:13:20", 1700000000),
        ("2024-03-31 02:30:00", 1711848600),  # DST gap: 02:30 does not exist, read as 03:30 CEST
        ("2024-10-27 02:30:00", 1729992600),  # DST fold: second occurrence (02:30 CET)
    ],
)
def test_oar_date_to_unixts_matches_execo(text: str, ts: int) -> None:
    assert oar_date_to_unixts(text) == Success(ts)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (18061, "5:1:1"),
        (59, "0:0:59"),
        (60, "0:1:0"),
        (90061.7, "25:1:1"),
        (3599.9, "0:59:59"),
        (3600.5, "1:0:0"),
        ("2:03:04", "2:3:4"),
        (timedelta(days=2, seconds=5), "48:0:5"),
    ],
)
def test_format_oar_duration_matches_execo(duration: object, text: str) -> None:
    assert format_oar_duration(duration) == Success(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "seconds"), [("1:00:00", 3600), ("100:5:3", 360303), ("0:60:00", 3600)])
def test_oar_duration_to_seconds_matches_execo(text: str, seconds: int) -> None:
    assert oar_duration_to_seconds(text) == Success(seconds)


def test_execo_time_grammar_vectors_with_explicit_zones() -> None:
    assert oar_date_to_unixts("2023-11-14T23:13:20Z") == Success(1700003600)
    assert oar_date_to_unixts("2023-11-14t23:13:20+01:00") == Success(1700000000)
    assert oar_date_to_unixts("2023-11-14 23:13:20.25-02:30") == Success(1700012600.25)
    assert oar_date_to_unixts("1700000000") == Success(1700000000)
    assert oar_date_to_unixts("23-11-14 23:13:20") == Success(1700000000)  # 2-digit year, pivot 69


# --- DST policy -----------------------------------------------------------------------------------------


def test_gap_time_moves_forward_by_the_gap() -> None:
    ts = oar_date_to_unixts("2024-03-31 02:30:00").unwrap()
    assert format_oar_date(ts) == Success("2024-03-31 03:30:00")
    assert oar_date_to_unixts("2024-03-31 01:59:59") == Success(ts - 1800 - 1)


def test_fold_time_is_the_second_occurrence_and_round_trip_gives_it() -> None:
    first = 1729989000  # 02:30 CEST, first pass
    second = 1729992600  # 02:30 CET, second pass
    assert format_oar_date(first) == format_oar_date(second) == Success("2024-10-27 02:30:00")
    assert oar_date_to_unixts("2024-10-27 02:30:00") == Success(second)
    # the one documented exception to oar_date_to_unixts(format_oar_date(t)) == floor(t):
    assert oar_date_to_unixts(format_oar_date(first).unwrap()) == Success(first + 3600)


def test_naive_datetime_is_europe_paris_with_the_same_policy() -> None:
    assert format_oar_date(datetime(2024, 7, 1, 12, 0)) == Success("2024-07-01 12:00:00")
    assert to_unixts(datetime(2024, 10, 27, 2, 30)) == Success(1729992600)
    assert to_unixts(datetime(2024, 3, 31, 2, 30)) == Success(1711848600)


def test_aware_datetime_is_exact() -> None:
    assert format_oar_date(datetime(2024, 7, 1, 12, 0, tzinfo=UTC)) == Success("2024-07-01 14:00:00")
    assert to_unixts(datetime(2023, 11, 14, 23, 13, 20, tzinfo=timezone(timedelta(hours=1)))) == Success(1700000000)


def test_zone_is_a_parameter_for_servers_outside_paris() -> None:
    assert format_oar_date(1795592636, tz=UTC) == Success("2026-11-25 07:43:56")
    assert oar_date_to_unixts("2026-11-25 07:43:56", tz=UTC) == Success(1795592636)
    ny = ZoneInfo("America/New_York")
    assert format_oar_date(1700000000, tz=ny) == Success("2023-11-14 17:13:20")
    assert format_unixts(1700000000, PARIS) == "2023-11-14 23:13:20"


def test_oar_duration_forms_from_oarsub_help() -> None:
    # oarsub --help: "Walltime format is [hour:mn:sec|hour:mn|hour]"
    assert oar_duration_to_seconds("2") == Success(7200)
    assert oar_duration_to_seconds("1:30") == Success(5400)
    assert oar_duration_to_seconds("1:30:00") == Success(5400)
    assert oar_duration_to_seconds("100:5:3") == Success(360303)
    assert oar_duration_to_seconds(" 48:00:00\r\n") == Success(172800)
    assert oar_duration_to_seconds("1:00:00.5") == Success(3600.5)
    assert format_oar_duration(172800) == Success("48:0:0")
    assert format_oar_duration("1:30") == Success("1:30:0")
    assert format_seconds(0) == "0:0:0"


# --- deliberate differences from execo 2.8.2 ---------------------------------------------------------------


def test_difference_negative_durations_are_refused() -> None:
    # execo: format_oar_duration(-5) == '0:0:55' (garbage); oar_duration_to_seconds('-1') raises ValueError
    r = format_oar_duration(-5)
    assert isinstance(r, Failure) and isinstance(r.failure(), InvalidInput)
    assert "non-negative" in r.failure().message
    r2 = oar_duration_to_seconds("-1")
    assert isinstance(r2, Failure) and isinstance(r2.failure(), ParseError)
    assert isinstance(format_oar_duration(timedelta(seconds=-1)), Failure)


def test_difference_hours_only_and_hour_minute_forms_follow_oar() -> None:
    # execo reads "2" as 2 seconds and refuses "1:00"; OAR reads them as 2 h and 1 h 0 min
    assert oar_duration_to_seconds("2") == Success(7200)
    assert oar_duration_to_seconds("1:00") == Success(3600)


def test_difference_sub_second_durations_are_floored_but_never_crash() -> None:
    # execo: 0.9 -> '0:0:0' too; the refusal of a sub-second walltime lives in make_submission (test_oar_argv)
    assert format_oar_duration(0.9) == Success("0:0:0")
    assert to_seconds(0.5) == Success(0.5)


def test_difference_no_clock_dates_need_year_month_day() -> None:
    # execo completes "23:13:20" with the current date (impure); we refuse
    for text in ("23:13:20", "11-14 23:13:20", "2023-11-14", "2023-11-14 23:13"):
        r = oar_date_to_unixts(text)
        assert isinstance(r, Failure) and isinstance(r.failure(), ParseError), text


def test_difference_impossible_calendar_dates_are_refused() -> None:
    # OAR's Perl normalises "2026-13-45 25:61:00" (capture 56); we name the problem instead
    r = oar_date_to_unixts("2026-13-45 25:61:00")
    assert isinstance(r, Failure)
    assert "calendar" in r.failure().message


def test_difference_whole_seconds_are_int() -> None:
    r = oar_date_to_unixts("2023-11-14 23:13:20")
    assert r == Success(1700000000) and isinstance(r.unwrap(), int)  # execo: 1700000000.0 (equal value)


def test_difference_floor_not_truncation_before_1970() -> None:
    assert format_oar_date(-0.5) == Success("1970-01-01 00:59:59")  # execo's int() would give 01:00:00


def test_difference_malformed_inputs_are_values_not_exceptions() -> None:
    for bad in (float("nan"), float("inf"), True, None, [1], "not-a-date", 10**20):
        r = format_oar_date(bad)  # type: ignore[arg-type]
        assert isinstance(r, Failure), bad
    for bad_d in (float("nan"), "abc", "1.5", "1:2:3:4", None, True):
        r2 = format_oar_duration(bad_d)  # type: ignore[arg-type]
        assert isinstance(r2, Failure), bad_d
    assert isinstance(oar_date_to_unixts(1700000000), Failure)  # type: ignore[arg-type]
    assert isinstance(oar_duration_to_seconds(3600), Failure)  # type: ignore[arg-type]
    assert isinstance(oar_date_to_unixts("2023-11-14 23:13:20+25:00"), Failure)


# --- totality on huge, infinite and non-ASCII input -------------------------------------------------------

HUGE_DIGITS = "9" * 5000  # more digits than Python's int() accepts from text (4300)


@pytest.mark.parametrize("text", ["9" * 400 + ".5", HUGE_DIGITS, HUGE_DIGITS + ".5", "99999999999999999999"])
def test_huge_numeric_dates_are_parse_errors(text: str) -> None:
    r = oar_date_to_unixts(text)
    assert isinstance(r, Failure) and isinstance(r.failure(), ParseError)
    assert "years 1 and 9999" in r.failure().message


@pytest.mark.parametrize("text", [HUGE_DIGITS, "1:" + HUGE_DIGITS, HUGE_DIGITS + ":0:0", "0:0:" + HUGE_DIGITS])
def test_huge_durations_are_parse_errors(text: str) -> None:
    r = oar_duration_to_seconds(text)
    assert isinstance(r, Failure) and isinstance(r.failure(), ParseError)
    assert "too long" in r.failure().message


def test_huge_and_infinite_numbers_are_refused_by_the_formatters() -> None:
    for value in (10**400, 10**5000, 1e300, float("inf")):
        r = format_oar_duration(value)
        assert isinstance(r, Failure) and isinstance(r.failure(), InvalidInput)
        assert isinstance(format_oar_date(value), Failure)
    assert "too large to print" in format_oar_date(10**5000).failure().message  # no 5000-digit repr attempted
    assert format_oar_duration(MAX_SECONDS) == Success(
        f"{MAX_SECONDS // 3600}:{MAX_SECONDS % 3600 // 60}:{MAX_SECONDS % 60}"
    )
    assert isinstance(format_oar_duration(MAX_SECONDS + 1), Failure)
    assert format_oar_duration(timedelta.max).unwrap().startswith("23999999999:")


@pytest.mark.parametrize(
    "text", ["١٧٠٠٠٠٠٠٠٠", "２０２３-11-14 23:13:20", "2023-11-14 23:13:٢٠", "2023-11-14 23:13:20.٥"]
)
def test_non_ascii_digits_are_not_dates(text: str) -> None:
    assert isinstance(oar_date_to_unixts(text), Failure)


@pytest.mark.parametrize("text", ["٢", "١:٣٠", "1:30:٠٠", "1:0:0.٥"])
def test_non_ascii_digits_are_not_durations(text: str) -> None:
    assert isinstance(oar_duration_to_seconds(text), Failure)


def test_a_fraction_of_nines_floors_to_its_second_never_the_next() -> None:
    nines = "9" * 30
    for text, whole in (
        (f"1700000000.{nines}", 1700000000),
        (f"2023-11-14 23:13:20.{nines}", 1700000000),
        (f"253402041600.{nines}", 253402041600),  # large: float spacing there is 3e-5 s
        (f".{nines}", 0),
    ):
        r = oar_date_to_unixts(text).unwrap()
        assert math.floor(r) == whole and r > whole, text
    d = oar_duration_to_seconds(f"1:0:0.{nines}").unwrap()
    assert math.floor(d) == 3600 and d > 3600
    assert format_oar_duration(f"0:0:59.{nines}") == Success("0:0:59")
    assert oar_date_to_unixts("1700000000.000") == Success(1700000000)


def test_parse_int_and_int_of_are_bounded_and_ascii() -> None:
    assert parse_int(" -42 ") == -42 and parse_int("0" * 18) == 0
    for bad in ("", "-", "+1", "1.0", "٣", "1" * 19, HUGE_DIGITS, "1 2"):
        assert parse_int(bad) is None, bad
    assert int_of(7) == 7 and int_of(7.0) == 7 and int_of("7") == 7
    for bad_v in (True, 7.5, float("inf"), float("-inf"), float("nan"), 1e400, 1e30, 10**400, -(10**18), None, [1]):
        assert int_of(bad_v) is None, bad_v


# ------------------------------------------------------------------ the one duration grammar, zones, natural sort


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2", 7200), ("1:30", 5400), ("1:30:15", 5415), ("90s", 90), ("45m", 2700), ("2h", 7200), ("1d", 86400),
     ("1h30m", 5400), ("1.5h", 5400), ("168", 168 * 3600)],
)
def test_one_duration_grammar_for_text(text: str, seconds: int) -> None:
    assert to_seconds(text).unwrap() == seconds
    assert parse_walltime(text).unwrap() == seconds


def test_numbers_are_seconds_and_text_is_oar() -> None:
    assert to_seconds(2).unwrap() == 2 and to_seconds("2").unwrap() == 7200
    assert parse_walltime(2).unwrap() == 2 and parse_walltime(timedelta(hours=2)).unwrap() == 7200


def test_a_bare_number_over_a_week_of_hours_asks_for_units() -> None:
    error = parse_walltime("3600").failure()
    assert isinstance(error, InvalidInput) and error.name == "walltime" and error.value == "3600"
    assert "'3600s'" in error.expected and "more than a week" in error.expected
    assert isinstance(to_seconds("169").failure(), InvalidInput)


@pytest.mark.parametrize("bad", ["0", "0s", "-5", "2x", "h", "", "1:xx", 0, -1])
def test_walltime_refusals_name_the_walltime(bad: object) -> None:
    error = parse_walltime(bad).failure()
    assert isinstance(error, InvalidInput) and error.name == "walltime"


def test_walltime_over_oar_limit_is_refused() -> None:
    error = parse_walltime(f"{2**31}s").failure()
    assert isinstance(error, InvalidInput) and "OAR's limit" in error.expected


def test_walltimes_print_padded() -> None:
    assert format_walltime(7200) == "2:00:00" and format_walltime(90061) == "25:01:01"
    assert describe_duration(7200) == "2:00:00 (2 h)" and describe_duration(90) == "0:01:30 (90 s)"
    assert describe_duration(5400) == "1:30:00 (90 min)" and describe_duration(172800) == "48:00:00 (2 d)"


def test_zone_named() -> None:
    assert zone_named("Europe/Paris").unwrap() is PARIS and zone_named("").unwrap() is PARIS
    assert str(zone_named("UTC").unwrap()) == "UTC"
    for bad in ("Mars/Olympus", "x" * 5000, "../../etc/passwd", "é"):
        error = zone_named(bad).failure()
        assert isinstance(error, InvalidInput) and error.name == "time zone"
