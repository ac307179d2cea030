"""OAR dates and durations: unix timestamps <-> ``"YYYY-MM-DD HH:MM:SS"`` and seconds <-> ``"H:M:S"``.

OAR reads and prints dates as naive local times of the OAR server; on Grid'5000 that is Europe/Paris. Every
function here takes the zone as a parameter (``tz``, default :data:`PARIS`), so an adapter talking to a server
in another zone (the local testbed runs in UTC) passes that zone instead. The conversion uses ``zoneinfo``:
no ``fork``, no ``TZ`` mutation, thread-safe, and about three orders of magnitude faster than execo's
fork-per-call.

**DST policy** (a naive wall-clock time read in ``tz``):

* *Gap* (spring forward, e.g. ``2024-03-31 02:30:00`` in Paris does not exist): the time is read with the UTC
  offset in force *before* the transition, i.e. it lands one gap-length later on the wall clock
  (``02:30`` -> ``03:30 CEST`` = 1711848600). Same answer as execo / glibc ``mktime``.
* *Fold* (fall back, e.g. ``2024-10-27 02:30:00`` happens twice): the **second** occurrence is chosen
  (``02:30 CET`` = 1729992600). Same answer as execo / glibc ``mktime``.
* Consequently ``oar_date_to_unixts(format_oar_date(t)) == floor(t)`` for every ``t`` except inside the
  first pass of a repeated hour, where OAR's offset-less format cannot tell the two instants apart: there the
  round trip gives ``floor(t) + 3600`` (the second occurrence, which formats to the same text).

Naive ``datetime`` values given to :func:`format_oar_date` are read in ``tz`` (Europe/Paris by default, not
the caller's local zone as execo does), with the same DST policy. Aware ones are exact.

Deliberate differences from execo 2.8.2 (each named in ``tests/test_oardate.py``):

* errors are values (``Result``), never exceptions; negative durations are refused (execo prints ``0:0:55``
  for -5 s);
* ``oar_duration_to_seconds`` follows OAR's grammar: ``"2"`` is 2 hours and ``"1:30"`` is 1 h 30 min
  (execo reads ``"2"`` as 2 seconds and refuses ``"1:30"``);
* dates without a year/month/day are refused instead of being completed from the current clock;
* impossible calendar dates (``2026-13-45 25:61:00``) are refused (OAR's Perl would silently normalise them);
* whole-second results are ``int`` (``1700000000`` rather than ``1700000000.0``; the two compare equal);
* timestamps are floored (``math.floor``) rather than truncated toward zero, which differs only before 1970;
* no fork, so it is safe in threaded programs (execo forks in an always-threaded process).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, ParseError

PARIS: tzinfo = ZoneInfo("Europe/Paris")  # effect-ok: reads the immutable IANA tz database once, at import
"""The zone of every Grid'5000 OAR server."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_TS = math.floor((datetime(1, 1, 2, tzinfo=UTC) - _EPOCH).total_seconds())
_MAX_TS = math.floor((datetime(9999, 12, 30, tzinfo=UTC) - _EPOCH).total_seconds())

_DATE_RE = re.compile(
    r"(?P<year>\d{4}|\d{2})-(?P<month>\d{1,2})-(?P<day>\d{1,2})[Tt ]+"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{1,2}):(?P<second>\d{1,2})(?P<frac>\.\d+)?"
    r"\s*(?P<zone>[Zz]|[+-]\d{1,2}:?\d{2})?"
)
_NUMBER_RE = re.compile(r"\d+(\.\d+)?|\.\d+")
_HMS_RE = re.compile(r"(?P<h>\d+):(?P<m>\d+):(?P<s>\d+)(?P<frac>\.\d+)?")
_HM_RE = re.compile(r"(?P<h>\d+):(?P<m>\d+)")
_H_RE = re.compile(r"\d+")

Seconds = int | float
DateInput = int | float | datetime | str
DurationInput = int | float | timedelta | str


def _whole(value: float) -> Seconds:
    """``value`` as an int when it has no fractional part."""
    return int(value) if value == int(value) else value


# ---------------------------------------------------------------------------------------------- dates


def to_unixts(value: object, *, tz: tzinfo = PARIS) -> Result[Seconds, G5kError]:
    """Turn what a user may pass for an instant (unix ts, datetime, OAR date text) into a unix timestamp."""
    if isinstance(value, bool):
        return Failure(InvalidInput("date", repr(value), "a unix timestamp, a datetime or 'YYYY-MM-DD HH:MM:SS'"))
    if isinstance(value, int):
        return Success(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return Failure(InvalidInput("date", repr(value), "a finite unix timestamp"))
        return Success(_whole(value))
    if isinstance(value, datetime):
        return Success(_whole(_datetime_to_ts(value, tz)))
    if isinstance(value, str):
        return oar_date_to_unixts(value, tz=tz)
    return Failure(
        InvalidInput("date", repr(value)[:80], "a unix timestamp (int/float), a datetime or 'YYYY-MM-DD HH:MM:SS'")
    )


def _datetime_to_ts(dt: datetime, tz: tzinfo) -> float:
    """Unix timestamp of ``dt``; a naive ``dt`` is a wall-clock time in ``tz`` (gap: earlier offset, fold: later)."""
    if dt.tzinfo is not None and dt.utcoffset() is not None:
        return (dt - _EPOCH).total_seconds()
    # fold=1 picks the second occurrence of a repeated time; in a gap, fold=1 uses the offset *after* the
    # transition, so a gap time needs fold=0 (offset before the transition) to move forward like mktime.
    first = dt.replace(tzinfo=tz, fold=0)
    second = dt.replace(tzinfo=tz, fold=1)
    off0, off1 = first.utcoffset(), second.utcoffset()
    aware = second
    if off0 is not None and off1 is not None and off0 < off1:  # gap: before-offset is smaller (spring forward)
        aware = first
    return (aware - _EPOCH).total_seconds()


def format_oar_date(ts: DateInput, *, tz: tzinfo = PARIS) -> Result[str, G5kError]:
    """Format an instant as OAR's ``"YYYY-MM-DD HH:MM:SS"`` wall-clock time in ``tz`` (Europe/Paris)."""
    return to_unixts(ts, tz=tz).bind(lambda t: _format_checked(t, tz))


def _format_checked(ts: Seconds, tz: tzinfo) -> Result[str, G5kError]:
    whole = math.floor(ts)
    if not _MIN_TS <= whole <= _MAX_TS:
        return Failure(InvalidInput("date", repr(ts), "a unix timestamp between years 1 and 9999"))
    return Success(format_unixts(whole, tz))


def format_unixts(ts: int, tz: tzinfo = PARIS) -> str:
    """Format an in-range integer unix timestamp as ``"YYYY-MM-DD HH:MM:SS"`` in ``tz`` (no validation)."""
    d = datetime.fromtimestamp(ts, tz)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}:{d.second:02d}"


def oar_date_to_unixts(text: str, *, tz: tzinfo = PARIS) -> Result[Seconds, G5kError]:
    """Read an OAR date (``"YYYY-MM-DD HH:MM:SS"``, wall clock in ``tz``) or a numeric unix timestamp."""
    if not isinstance(text, str):
        return Failure(InvalidInput("date", repr(text)[:80], "a string 'YYYY-MM-DD HH:MM:SS'"))
    s = text.strip()
    if _NUMBER_RE.fullmatch(s):
        return Success(_whole(float(s)) if "." in s else int(s))
    m = _DATE_RE.fullmatch(s)
    if m is None:
        return Failure(
            ParseError(
                "OAR date",
                line=text,
                hint="expected 'YYYY-MM-DD HH:MM:SS' (seconds required), optionally with 'Z' or '+HH:MM'",
            )
        )
    year = int(m["year"])
    if len(m["year"]) == 2:
        year += 1900 if year >= 69 else 2000
    try:
        naive = datetime(year, int(m["month"]), int(m["day"]), int(m["hour"]), int(m["minute"]), int(m["second"]))
    except ValueError as exc:
        return Failure(ParseError("OAR date", line=text, hint=f"not a real calendar date/time: {exc}"))
    zone = m["zone"]
    if zone is None:
        base = _datetime_to_ts(naive, tz)
    elif zone in "Zz":
        base = (naive.replace(tzinfo=UTC) - _EPOCH).total_seconds()
    else:
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:-2]), int(digits[-2:])
        if hours > 23 or minutes > 59:
            return Failure(ParseError("OAR date", line=text, hint="bad UTC offset"))
        offset = (hours * 3600 + minutes * 60) * (1 if zone[0] == "+" else -1)
        base = (naive.replace(tzinfo=UTC) - _EPOCH).total_seconds() - offset
    frac = float(m["frac"]) if m["frac"] else 0.0
    return Success(_whole(int(base) + frac))


# ------------------------------------------------------------------------------------------ durations


def to_seconds(value: object) -> Result[Seconds, G5kError]:
    """Turn what a user may pass for a duration (seconds, timedelta, OAR duration text) into seconds (>= 0)."""
    if isinstance(value, bool):
        return Failure(InvalidInput("duration", repr(value), "seconds, a timedelta or 'H:M:S'"))
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return Failure(InvalidInput("duration", repr(value), "a finite number of seconds"))
        if value < 0:
            return Failure(InvalidInput("duration", repr(value), "a non-negative number of seconds"))
        return Success(_whole(value) if isinstance(value, float) else value)
    if isinstance(value, timedelta):
        if value < timedelta(0):
            return Failure(InvalidInput("duration", str(value), "a non-negative timedelta"))
        return Success(_whole(value.total_seconds()) if value.microseconds else value.days * 86400 + value.seconds)
    if isinstance(value, str):
        return oar_duration_to_seconds(value)
    return Failure(InvalidInput("duration", repr(value)[:80], "seconds (int/float), a timedelta or 'H:M:S'"))


def format_oar_duration(duration: DurationInput) -> Result[str, G5kError]:
    """Format a non-negative duration as OAR's unpadded ``"H:M:S"`` (fractions of a second are dropped)."""
    return to_seconds(duration).map(lambda s: format_seconds(math.floor(s)))


def format_seconds(seconds: int) -> str:
    """Format a whole, non-negative number of seconds as ``"H:M:S"`` (hours unbounded, no validation)."""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m}:{s}"


def oar_duration_to_seconds(text: str) -> Result[Seconds, G5kError]:
    """Read an OAR duration: ``"H:M:S"`` (``"100:5:3"``), ``"H:M"`` (``"1:30"``) or hours alone (``"2"``)."""
    if not isinstance(text, str):
        return Failure(InvalidInput("duration", repr(text)[:80], "a string 'H:M:S', 'H:M' or 'H'"))
    s = text.strip()
    m = _HMS_RE.fullmatch(s)
    if m is not None:
        whole = int(m["h"]) * 3600 + int(m["m"]) * 60 + int(m["s"])
        return Success(_whole(whole + float(m["frac"])) if m["frac"] else whole)
    m = _HM_RE.fullmatch(s)
    if m is not None:
        return Success(int(m["h"]) * 3600 + int(m["m"]) * 60)
    if _H_RE.fullmatch(s):
        return Success(int(s) * 3600)
    hint = "expected 'H:M:S', 'H:M' or a whole number of hours"
    if s.startswith("-"):
        hint = "a duration cannot be negative"
    return Failure(ParseError("OAR duration", line=text, hint=hint))
