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

Every function is total: numbers are read from ASCII digits only (``\\d`` would take Arabic-Indic digits),
numeric dates outside years 1-9999, durations above :data:`MAX_SECONDS` and digit runs longer than Python's
``int()`` accepts are refused as values (never ``OverflowError`` / ``ValueError``), and a fraction is truncated
to microseconds so that ``.999...`` stays in its second instead of rounding up to the next one.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, ParseError

PARIS: tzinfo = ZoneInfo("Europe/Paris")  # effect-ok: reads the immutable IANA tz database once, at import
"""The zone of every Grid'5000 OAR server."""

ZONE_FORMS = "an IANA zone name such as Europe/Paris or UTC"


@lru_cache(maxsize=32)
def _zone_info(name: str) -> tzinfo:
    return ZoneInfo(name)  # effect-ok: the immutable IANA tz database, read once per name


def zone_named(name: str) -> Result[tzinfo, InvalidInput]:
    """The time zone called ``name`` (``"Europe/Paris"``, ``"UTC"``), or the refusal naming what was wrong."""
    if name in ("Europe/Paris", ""):
        return Success(PARIS)
    if not isinstance(name, str):
        return Failure(InvalidInput("time zone", _short(name), ZONE_FORMS))
    if len(name) > 255 or not name.isascii():
        return Failure(InvalidInput("time zone", name[:80], ZONE_FORMS))
    try:
        return Success(_zone_info(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return Failure(InvalidInput("time zone", name, ZONE_FORMS))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_UNIXTS = math.floor((datetime(1, 1, 2, tzinfo=UTC) - _EPOCH).total_seconds())
"""The earliest unix timestamp formatted as an OAR date (year 1, whatever the zone)."""
MAX_UNIXTS = math.floor((datetime(9999, 12, 30, tzinfo=UTC) - _EPOCH).total_seconds())
"""The latest unix timestamp formatted as an OAR date (year 9999, whatever the zone)."""
_MIN_TS, _MAX_TS = MIN_UNIXTS, MAX_UNIXTS

_DATE_RE = re.compile(
    r"(?P<year>[0-9]{4}|[0-9]{2})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})[Tt ]+"
    r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{1,2}):(?P<second>[0-9]{1,2})(?P<frac>\.[0-9]+)?"
    r"\s*(?P<zone>[Zz]|[+-][0-9]{1,2}:?[0-9]{2})?",
    re.ASCII,
)
_NUMBER_RE = re.compile(r"(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]+))?", re.ASCII)
_HMS_RE = re.compile(r"(?P<h>[0-9]+):(?P<m>[0-9]+):(?P<s>[0-9]+)(?P<frac>\.[0-9]+)?", re.ASCII)
_HM_RE = re.compile(r"(?P<h>[0-9]+):(?P<m>[0-9]+)", re.ASCII)
_H_RE = re.compile(r"[0-9]+", re.ASCII)

MAX_INT_DIGITS = 18
"""The most digits :func:`parse_int` reads (a 64-bit integer has 19): longer runs are refused, never converted."""

MAX_SECONDS = 10**14
"""The longest duration accepted, in seconds (about 3 million years; more than ``timedelta.max``'s 86e12)."""

Seconds = int | float
DateInput = int | float | datetime | str
DurationInput = int | float | timedelta | str


def _whole(value: float) -> Seconds:
    """``value`` as an int when it has no fractional part (``value`` is finite)."""
    return int(value) if value.is_integer() else value


def _short(value: object) -> str:
    """``repr(value)`` cut to 80 characters, or its type when Python refuses the repr (a huge int)."""
    try:
        return repr(value)[:80]
    except Exception:  # any repr may fail (a huge int, a user object); the type still says what it was
        return f"a value of type {type(value).__name__} too large to print"


def parse_int(text: str, *, max_digits: int = MAX_INT_DIGITS) -> int | None:
    """The integer ``text`` writes (optional ``-``, ASCII digits only, at most ``max_digits``), else None."""
    if not isinstance(text, str):
        return None
    s = text.strip()
    digits = s[1:] if s.startswith("-") else s
    if not digits or len(digits) > max_digits or not (digits.isascii() and digits.isdigit()):
        return None
    return int(s)


def int_of(value: object, *, max_digits: int = MAX_INT_DIGITS) -> int | None:
    """A JSON-ish number as an int: an int or a whole finite float below ``10**max_digits``, or digit text; else None.

    Never raises: ``inf``, ``nan``, ``1e400``, huge ints and thousands-of-digit strings give None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(10**max_digits) < value < 10**max_digits else None
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 10**max_digits:
            return int(value)
        return None
    if isinstance(value, str):
        return parse_int(value, max_digits=max_digits)
    return None


def _with_fraction(whole: int, digits: str | None) -> Seconds:
    """``whole`` plus the decimal fraction ``.digits``, kept below ``whole + 1`` (a fraction never rounds up)."""
    if not digits or not digits.strip("0"):
        return whole
    micro = int(digits[:6].ljust(6, "0"))  # microseconds, truncated: the floor is always ``whole``
    value = whole + micro / 1_000_000
    if value >= whole + 1:  # float spacing at large magnitudes
        value = math.nextafter(float(whole + 1), -math.inf)
    return _whole(value) if math.floor(value) == whole else whole


def read_number(text: str, *, max_digits: int = 15) -> Seconds | None:
    """A non-negative decimal number (``"12"``, ``"12.5"``, ``".5"``; ASCII digits) whose floor is exact; else None.

    Fractions are truncated to microseconds and never round up to the next integer.
    """
    if not isinstance(text, str):
        return None
    m = _NUMBER_RE.fullmatch(text.strip())
    if m is None or not (m["int"] or m["frac"]) or len(m["int"]) > max_digits:
        return None
    return _with_fraction(int(m["int"] or "0"), m["frac"])


# ---------------------------------------------------------------------------------------------- dates


def to_unixts(value: object, *, tz: tzinfo = PARIS) -> Result[Seconds, G5kError]:
    """Turn what a user may pass for an instant (unix ts, datetime, OAR date text) into a unix timestamp."""
    if isinstance(value, bool):
        return Failure(InvalidInput("date", _short(value), "a unix timestamp, a datetime or 'YYYY-MM-DD HH:MM:SS'"))
    if isinstance(value, int):
        return Success(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return Failure(InvalidInput("date", _short(value), "a finite unix timestamp"))
        return Success(_whole(value))
    if isinstance(value, datetime):
        return Success(_whole(_datetime_to_ts(value, tz)))
    if isinstance(value, str):
        return oar_date_to_unixts(value, tz=tz)
    return Failure(
        InvalidInput("date", _short(value), "a unix timestamp (int/float), a datetime or 'YYYY-MM-DD HH:MM:SS'")
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
        return Failure(InvalidInput("date", _short(ts), "a unix timestamp between years 1 and 9999"))
    return Success(format_unixts(whole, tz))


def format_unixts(ts: int, tz: tzinfo = PARIS) -> str:
    """Format an in-range integer unix timestamp as ``"YYYY-MM-DD HH:MM:SS"`` in ``tz`` (no validation)."""
    d = datetime.fromtimestamp(ts, tz)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}:{d.second:02d}"


def oar_date_to_unixts(text: str, *, tz: tzinfo = PARIS) -> Result[Seconds, G5kError]:
    """Read an OAR date (``"YYYY-MM-DD HH:MM:SS"``, wall clock in ``tz``) or a numeric unix timestamp."""
    if not isinstance(text, str):
        return Failure(InvalidInput("date", _short(text), "a string 'YYYY-MM-DD HH:MM:SS'"))
    s = text.strip()
    if _NUMBER_RE.fullmatch(s) and s:
        number = read_number(s)
        if number is None or not MIN_UNIXTS <= number <= MAX_UNIXTS:
            return Failure(ParseError("OAR date", line=text[:80], hint="a unix timestamp between years 1 and 9999"))
        return Success(number)
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
    return Success(_with_fraction(math.floor(base), m["frac"][1:] if m["frac"] else None))


# ------------------------------------------------------------------------------------------ durations


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_UNIT_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?[smhd])+", re.ASCII)
_UNIT_PART = re.compile(r"([0-9]+)(?:\.([0-9]+))?([smhd])", re.ASCII)

MAX_WALLTIME = 2**31 - 1
"""The longest walltime OAR accepts, in seconds."""

_OAR_LIMIT = f"at least 1 second and at most {MAX_WALLTIME} (OAR's limit)"

MAX_BARE_HOURS = 168
"""The most hours a bare number written as text may mean (a week): more is refused, asking for units."""

DURATION_FORMS = "seconds as a number, '90s', '45m', '2h', '1d', 'H:M:S', 'H:M' or whole hours ('2' is 2 hours)"
"""The forms of a duration, as error messages and help texts name them."""


def _units_to_seconds(text: str) -> Result[Seconds, G5kError]:
    """``"90s"``, ``"45m"``, ``"2h"``, ``"1d"`` and their sums (``"1h30m"``) in seconds."""
    total: Seconds = 0
    for whole, frac, unit in _UNIT_PART.findall(text):
        if len(whole) > 15:
            return Failure(InvalidInput("duration", text[:80], f"at most {MAX_SECONDS} seconds"))
        total += _with_fraction(int(whole), frac or None) * _UNITS[unit]
    if total > MAX_SECONDS:
        return Failure(InvalidInput("duration", text[:80], f"at most {MAX_SECONDS} seconds"))
    return Success(_whole(float(total)) if isinstance(total, float) else total)


def to_seconds(value: object) -> Result[Seconds, G5kError]:
    """Read a duration as users write it: a number is seconds; text is OAR's forms (``"2"`` = 2 h) or units.

    The one duration grammar of the library, the command line, the configuration and the planning. Text reads
    ``"H:M:S"``, ``"H:M"`` and whole hours as OAR does, and explicit units ``"90s"``, ``"45m"``, ``"2h"``,
    ``"1d"`` (summable: ``"1h30m"``); a bare number of hours over :data:`MAX_BARE_HOURS` is refused as
    implausible with a hint to write units. Results are ``>= 0``.
    """
    if isinstance(value, bool):
        return Failure(InvalidInput("duration", _short(value), DURATION_FORMS))
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return Failure(InvalidInput("duration", _short(value), "a finite number of seconds"))
        if value < 0:
            return Failure(InvalidInput("duration", _short(value), "a non-negative number of seconds"))
        if value > MAX_SECONDS:
            return Failure(InvalidInput("duration", _short(value), f"at most {MAX_SECONDS} seconds"))
        return Success(_whole(value) if isinstance(value, float) else value)
    if isinstance(value, timedelta):
        if value < timedelta(0):
            return Failure(InvalidInput("duration", str(value), "a non-negative timedelta"))
        whole = value.days * 86400 + value.seconds
        return Success(_with_fraction(whole, f"{value.microseconds:06d}") if value.microseconds else whole)
    if isinstance(value, str):
        text = value.strip()
        if _UNIT_RE.fullmatch(text):
            return _units_to_seconds(text)
        if _H_RE.fullmatch(text) and len(text) <= 15 and int(text) > MAX_BARE_HOURS:
            return Failure(
                InvalidInput(
                    "duration",
                    value[:80],
                    f"a unit ('{text}s', '{text}m', '{text}h'): a bare number is hours, as OAR reads it, "
                    f"and {int(text)} hours is more than a week",
                )
            )
        return oar_duration_to_seconds(value).alt(_name_every_form)
    return Failure(InvalidInput("duration", _short(value), DURATION_FORMS))


def _name_every_form(error: G5kError) -> G5kError:
    """OAR's refusal of a duration, its hint widened to every form :func:`to_seconds` reads."""
    if isinstance(error, ParseError) and error.hint.startswith("expected"):
        return attrs.evolve(error, hint="expected " + DURATION_FORMS)
    return error


def parse_walltime(value: object) -> Result[int, InvalidInput]:
    """A job's walltime in whole seconds (> 0), read with the one duration grammar (:func:`to_seconds`)."""
    shown = value[:80] if isinstance(value, str) else _short(value)

    def refused(error: G5kError) -> InvalidInput:
        if isinstance(error, InvalidInput):
            return InvalidInput("walltime", shown, error.expected)
        if isinstance(error, ParseError) and error.hint.startswith("too long"):
            return InvalidInput("walltime", shown, _OAR_LIMIT)
        return InvalidInput("walltime", shown, DURATION_FORMS)

    def positive(secs: Seconds) -> Result[int, InvalidInput]:
        whole = math.floor(secs)
        if whole <= 0:
            return Failure(InvalidInput("walltime", shown, "a positive duration: " + DURATION_FORMS))
        if whole > MAX_WALLTIME:
            return Failure(InvalidInput("walltime", shown, _OAR_LIMIT))
        return Success(whole)

    return to_seconds(value).alt(refused).bind(positive)


def format_walltime(seconds: int) -> str:
    """Whole seconds as ``H:MM:SS``: how walltimes are sent to OAR and printed."""
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def describe_duration(seconds: int) -> str:
    """A walltime as the commands echo it: ``"2:00:00 (2 h)"``, ``"0:01:30 (90 s)"``."""
    h = seconds // 3600
    if seconds % 86400 == 0 and seconds >= 86400:
        human = f"{seconds // 86400} d"
    elif seconds % 3600 == 0:
        human = f"{h} h"
    elif seconds % 60 == 0:
        human = f"{seconds // 60} min"
    else:
        human = f"{seconds} s"
    return f"{format_walltime(seconds)} ({human})"


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
        return Failure(InvalidInput("duration", _short(text), "a string 'H:M:S', 'H:M' or 'H'"))
    s = text.strip()
    m = _HMS_RE.fullmatch(s) or _HM_RE.fullmatch(s) or _H_RE.fullmatch(s)
    if m is not None:
        parts = s.split(".", 1)[0].split(":")
        if any(len(p) > 15 for p in parts):
            return Failure(ParseError("OAR duration", line=text[:80], hint=f"too long: at most {MAX_SECONDS} seconds"))
        h, mi, se = (int(p) for p in [*parts, "0", "0"][:3])
        whole = h * 3600 + mi * 60 + se
        if whole > MAX_SECONDS:
            return Failure(ParseError("OAR duration", line=text[:80], hint=f"too long: at most {MAX_SECONDS} seconds"))
        frac = m.groupdict().get("frac")
        return Success(_with_fraction(whole, frac[1:] if frac else None))
    hint = "expected 'H:M:S', 'H:M' or a whole number of hours"
    if s.startswith("-"):
        hint = "a duration cannot be negative"
    return Failure(ParseError("OAR duration", line=text, hint=hint))
