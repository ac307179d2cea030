"""Values the Grid'5000 API answers with over time: Kwollect measures, and when to retry a request.

- ``parse_kwollect`` reads a Kwollect answer (a JSON array of measures) into points per device, in time order;
  ``resample`` averages points into buckets (Kwollect itself has no resolution parameter).
- ``parse_retry_after`` reads a ``Retry-After`` header and ``retry_delay`` decides the wait before the next
  attempt of a GET under a ``RetryPolicy`` (bounded in attempts and in total time).

Everything here is pure: ``now`` and the elapsed time are arguments; the adapters (``g5k.api``) send the
requests, sleep and read the clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from attrs import field, frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import InvalidInput, ParseError

__all__ = [
    "MetricPoint",
    "RetryPolicy",
    "iso_utc",
    "parse_kwollect",
    "parse_retry_after",
    "resample",
    "retry_delay",
]


# --- Kwollect measures -----------------------------------------------------------------------------------------


@frozen
class MetricPoint:
    """One Kwollect measure: unix time, value, labels (label values as tuples of strings)."""

    timestamp: float
    value: float
    labels: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())


def iso_utc(ts: float) -> str:
    """A unix time as the ISO 8601 UTC text Kwollect's ``start_time`` / ``end_time`` take."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _labels(raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(raw, dict):
        return ()
    return tuple(sorted((str(k), tuple(str(x) for x in v) if isinstance(v, list) else (str(v),))
                        for k, v in raw.items()))


def parse_kwollect(payload: Any, metric: str) -> Result[dict[str, tuple[MetricPoint, ...]], ParseError]:
    """Parse a Kwollect answer (a JSON array of measures) into points per device id, in time order."""
    if not isinstance(payload, list):
        return Failure(ParseError(what="Kwollect answer", hint="expected a JSON array of measures"))
    out: dict[str, list[MetricPoint]] = {}
    for i, item in enumerate(payload):
        if not isinstance(item, dict):
            return Failure(ParseError(what="Kwollect measure", where=f"[{i}]", line=repr(item)[:100]))
        if item.get("metric_id") not in (None, metric):
            continue
        device, stamp, value = item.get("device_id"), item.get("timestamp"), item.get("value")
        if (not isinstance(device, str) or not isinstance(stamp, str) or isinstance(value, bool)
                or not isinstance(value, int | float)):
            return Failure(ParseError(what="Kwollect measure", where=f"[{i}]", line=repr(item)[:100],
                                      hint="needs device_id, timestamp and a numeric value"))
        try:
            when = datetime.fromisoformat(stamp)
        except ValueError:
            return Failure(ParseError(what="Kwollect timestamp", where=f"[{i}]", line=stamp[:100]))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        out.setdefault(device, []).append(MetricPoint(when.timestamp(), float(value), _labels(item.get("labels"))))
    return Success({k: tuple(sorted(v, key=lambda p: p.timestamp)) for k, v in out.items()})


def check_resolution(resolution: float) -> Result[float, InvalidInput]:
    """``resolution`` as a float if it is a positive, finite number of seconds, else an InvalidInput."""
    if isinstance(resolution, bool) or not isinstance(resolution, int | float) or not math.isfinite(resolution) \
            or resolution <= 0:
        return Failure(InvalidInput(name="resolution", value=str(resolution),
                                    expected="a positive, finite number of seconds (or none to keep every point)"))
    return Success(float(resolution))


def resample(points: Sequence[MetricPoint], start: float,
             resolution: float) -> Result[tuple[MetricPoint, ...], InvalidInput]:
    """Average points into buckets of ``resolution`` seconds from ``start`` (labels dropped); a resolution that
    is not a positive finite number is an InvalidInput."""
    return check_resolution(resolution).map(lambda step: _averaged(points, start, step))


def _averaged(points: Sequence[MetricPoint], start: float, step: float) -> tuple[MetricPoint, ...]:
    buckets: dict[int, list[float]] = {}
    for point in points:
        buckets.setdefault(int((point.timestamp - start) // step), []).append(point.value)
    return tuple(MetricPoint(start + k * step, sum(v) / len(v)) for k, v in sorted(buckets.items()))


# --- retry timing ----------------------------------------------------------------------------------------------


@frozen
class RetryPolicy:
    """How often and how long GET requests are retried: attempts, back-off bounds and a total time budget."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    total_budget: float = 60.0


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or HTTP date), None if absent or invalid."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit() and text.isascii():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def retry_delay(policy: RetryPolicy, attempt: int, elapsed: float, retry_after: float | None) -> float | None:
    """The wait before attempt ``attempt + 1`` (attempts count from 1), or None when the budget is spent."""
    if attempt >= policy.max_attempts:
        return None
    delay = retry_after if retry_after is not None else min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    if elapsed + delay > policy.total_budget:
        return None
    return delay
