"""Properties of OAR dates and durations: round trips (DST edges included), totality, >= 24 h walltimes."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from g5kpure.oar import (
    MAX_SECONDS,
    PARIS,
    format_oar_date,
    format_oar_duration,
    oar_date_to_unixts,
    oar_duration_to_seconds,
    to_seconds,
    to_unixts,
)

ZONES: list[tzinfo] = [
    PARIS,
    UTC,
    ZoneInfo("America/New_York"),
    ZoneInfo("Australia/Lord_Howe"),  # a 30-minute DST shift
    ZoneInfo("Pacific/Apia"),  # skipped a whole day in 2011
]

MIN_TS = -62135510400  # 0001-01-02 UTC
MAX_TS = 253402041600  # 9999-12-30 UTC


def _last_sunday(year: int, month: int) -> datetime:
    d = datetime(year, month + 1, 1, tzinfo=UTC) - timedelta(days=1)
    return d - timedelta(days=(d.weekday() + 1) % 7)


# EU rule (since 1996): DST starts/ends on the last Sunday of March/October at 01:00 UTC
EU_TRANSITIONS = [
    int((_last_sunday(y, m) + timedelta(hours=1)).timestamp()) for y in range(1996, 2040) for m in (3, 10)
]

instants = st.one_of(
    st.integers(MIN_TS, MAX_TS),
    st.floats(MIN_TS, MAX_TS, allow_nan=False, allow_infinity=False),
    st.builds(lambda t, d: t + d, st.sampled_from(EU_TRANSITIONS), st.integers(-7300, 7300)),
    st.builds(lambda t, d: t + d, st.sampled_from(EU_TRANSITIONS), st.floats(-7300, 7300)),
)


def first_pass_shift(t: int, tz: tzinfo) -> int:
    """If ``t`` is the first of two instants showing the same wall time in ``tz``, how far the second is; else 0."""
    local = datetime.fromtimestamp(t, tz)
    if local.fold == 1:
        return 0
    naive = local.replace(tzinfo=None)
    off0 = naive.replace(tzinfo=tz, fold=0).utcoffset()
    off1 = naive.replace(tzinfo=tz, fold=1).utcoffset()
    assert off0 is not None and off1 is not None
    return int((off0 - off1).total_seconds()) if off0 > off1 else 0


@given(instants, st.sampled_from(ZONES))
def test_date_round_trip_is_floor_except_the_first_pass_of_a_fold(t: float, tz: tzinfo) -> None:
    text = format_oar_date(t, tz=tz).unwrap()
    back = oar_date_to_unixts(text, tz=tz).unwrap()
    whole = math.floor(t)
    assert back == whole + first_pass_shift(whole, tz)
    assert format_oar_date(back, tz=tz) == Success(text)


@given(st.sampled_from(EU_TRANSITIONS), st.integers(-7300, 7300))
def test_paris_round_trip_around_every_transition(t0: int, delta: int) -> None:
    t = t0 + delta
    back = oar_date_to_unixts(format_oar_date(t).unwrap()).unwrap()
    local = datetime.fromtimestamp(t, PARIS)
    in_first_pass_of_fold = local.month == 10 and local.hour == 2 and local.fold == 0
    assert back == (t + 3600 if in_first_pass_of_fold else t)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), st.sampled_from(ZONES))
def test_wall_clock_text_reads_back_unless_in_a_gap(naive: datetime, tz: tzinfo) -> None:
    naive = naive.replace(microsecond=0)
    text = (
        naive.strftime("%Y-%m-%d %H:%M:%S")
        if naive.year >= 1000
        else f"{naive.year:04d}" + naive.strftime("-%m-%d %H:%M:%S")
    )
    ts = oar_date_to_unixts(text, tz=tz).unwrap()
    again = format_oar_date(ts, tz=tz).unwrap()
    # a time that does not exist in tz (a gap) moves forward by the gap; any other reads back unchanged
    exists = datetime.fromtimestamp(naive.replace(tzinfo=tz).timestamp(), tz).replace(tzinfo=None) == naive
    if exists:
        assert again == text
    else:
        assert again > text
    assert to_unixts(naive, tz=tz) == Success(ts)


@given(st.integers(0, 10**9))
def test_duration_round_trip_whole_seconds_including_days(seconds: int) -> None:
    text = format_oar_duration(seconds).unwrap()
    assert oar_duration_to_seconds(text) == Success(seconds)
    assert format_oar_duration(timedelta(seconds=seconds)) == Success(text)
    h, m, s = (int(x) for x in text.split(":"))
    assert m < 60 and s < 60 and h == seconds // 3600


@given(st.floats(0, 1e9, allow_nan=False, allow_infinity=False))
def test_duration_of_fractional_seconds_is_the_floor(seconds: float) -> None:
    text = format_oar_duration(seconds).unwrap()
    assert oar_duration_to_seconds(text) == Success(math.floor(seconds))


@given(st.integers(0, 100000), st.integers(0, 59), st.integers(0, 59))
def test_every_oar_duration_form(h: int, m: int, s: int) -> None:
    assert oar_duration_to_seconds(f"{h}:{m}:{s}") == Success(h * 3600 + m * 60 + s)
    assert oar_duration_to_seconds(f"{h}:{m:02d}:{s:02d}") == Success(h * 3600 + m * 60 + s)
    assert oar_duration_to_seconds(f"{h}:{m}") == Success(h * 3600 + m * 60)
    assert oar_duration_to_seconds(f"{h}") == Success(h * 3600)
    assert format_oar_duration(f"{h}:{m}:{s}") == Success(f"{h}:{m}:{s}")


@given(st.one_of(st.integers(max_value=-1), st.floats(max_value=-1e-9, allow_nan=False)))
def test_negative_durations_are_refused(value: float) -> None:
    assert isinstance(format_oar_duration(value), Failure)
    assert isinstance(to_seconds(value), Failure)
    assert isinstance(oar_duration_to_seconds(f"-{abs(value)}"), Failure)


@given(st.text())
def test_text_parsers_are_total(text: str) -> None:
    for r in (
        oar_date_to_unixts(text),
        oar_duration_to_seconds(text),
        format_oar_duration(text),
        format_oar_date(text),
    ):
        assert isinstance(r, Success | Failure)


@given(st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.lists(st.integers()), st.binary()))
def test_formatters_are_total_on_any_value(value: object) -> None:
    assert isinstance(format_oar_date(value), Success | Failure)  # type: ignore[arg-type]
    assert isinstance(format_oar_duration(value), Success | Failure)  # type: ignore[arg-type]


@given(st.integers(MIN_TS, MAX_TS))
def test_every_in_range_timestamp_formats(value: int) -> None:
    assert isinstance(format_oar_date(value), Success)


# ------------------------------------------------ totality on huge, infinite and non-ASCII numbers

huge_int = st.one_of(
    st.integers(),
    st.builds(lambda k, s: s * 10**k, st.integers(15, 6000), st.sampled_from([1, -1, 3, -7])),
)
digit_run = st.one_of(
    st.text("0123456789", min_size=1, max_size=30),
    st.builds(lambda d, n: d * n, st.sampled_from("0159"), st.integers(15, 6000)),
)
non_ascii_digits = st.text(st.characters(categories=["Nd"], exclude_characters="0123456789"), min_size=1, max_size=8)
number_text = st.one_of(digit_run, non_ascii_digits)


@given(number_text, number_text)
def test_text_parsers_are_total_on_long_and_non_ascii_digit_runs(a: str, b: str) -> None:
    texts = [a, f"{a}.{b}", f".{a}", f"-{a}", f"{a}:{b}", f"1:{a}:{b}", f"{a}:0:0.{b}", f"2023-11-14 23:13:20.{a}",
             f"{a}-11-14 23:13:20", f"2023-11-14 {a}:13:20", f"2023-11-14 23:13:20+{a}"]  # fmt: skip
    for text in texts:
        for parse in (oar_date_to_unixts, oar_duration_to_seconds, format_oar_duration, format_oar_date):
            r = parse(text)
            assert isinstance(r, Success | Failure)
            if isinstance(r, Success) and parse in (oar_date_to_unixts, oar_duration_to_seconds):
                assert text.isascii(), text  # non-ASCII digits are never read as numbers
                assert isinstance(r.unwrap(), int | float) and abs(r.unwrap()) < 10**15


@given(st.one_of(huge_int, st.floats()))
def test_formatters_and_converters_are_total_on_huge_and_infinite_numbers(value: float) -> None:
    for f in (format_oar_date, format_oar_duration, to_seconds, to_unixts):
        assert isinstance(f(value), Success | Failure)
    d = to_seconds(value)
    if isinstance(d, Success):
        assert 0 <= d.unwrap() <= MAX_SECONDS
        assert oar_duration_to_seconds(format_oar_duration(value).unwrap()) == Success(math.floor(value))


@given(st.integers(MIN_TS, MAX_TS), st.text("0123456789", min_size=1, max_size=40))
def test_a_date_fraction_never_reaches_the_next_second(t: int, frac: str) -> None:
    r = oar_date_to_unixts(f"{t}.{frac}") if t >= 0 else Success(t)
    assert math.floor(r.unwrap()) == t
    text = format_oar_date(t, tz=UTC).unwrap()
    back = oar_date_to_unixts(f"{text}.{frac}", tz=UTC).unwrap()
    assert math.floor(back) == t


@given(st.integers(0, 10**9), st.text("0123456789", min_size=1, max_size=40))
def test_a_duration_fraction_never_reaches_the_next_second(seconds: int, frac: str) -> None:
    text = format_oar_duration(seconds).unwrap()
    r = oar_duration_to_seconds(f"{text}.{frac}").unwrap()
    assert math.floor(r) == seconds
    assert format_oar_duration(f"{text}.{frac}") == Success(text)
