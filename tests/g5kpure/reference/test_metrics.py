"""g5kpure.reference.metrics: Kwollect answers, resampling, Retry-After and retry timing (pure)."""

from __future__ import annotations

import g5k.api
from returns.result import Failure, Success

from g5kpure.errors import InvalidInput, ParseError
from g5kpure.reference import (
    MetricPoint,
    RetryPolicy,
    metrics,
    parse_kwollect,
    parse_retry_after,
    resample,
    retry_delay,
)


def measure(device: str, stamp: str, value: object, metric: str = "power") -> dict[str, object]:
    return {"device_id": device, "timestamp": stamp, "value": value, "metric_id": metric,
            "labels": {"port": ["p1", "p2"], "unit": "W"}}


def test_parse_kwollect_groups_per_device_in_time_order() -> None:
    payload = [measure("nova-1", "2024-01-01T00:00:10+00:00", 2), measure("nova-1", "2024-01-01T00:00:00", 1.5),
               measure("nova-2", "2024-01-01T00:00:00+01:00", 7), measure("nova-1", "2024-01-01T00:00:05Z", 9, "x")]
    parsed = parse_kwollect(payload, "power").unwrap()
    assert sorted(parsed) == ["nova-1", "nova-2"]
    assert [(p.timestamp, p.value) for p in parsed["nova-1"]] == [(1704067200.0, 1.5), (1704067210.0, 2.0)]
    assert parsed["nova-2"][0].timestamp == 1704067200.0 - 3600
    assert parsed["nova-1"][0].labels == (("port", ("p1", "p2")), ("unit", ("W",)))


def test_parse_kwollect_bad_input_is_an_error_value() -> None:
    for payload, where in (({"a": 1}, ""), ([1], "[0]"), ([measure("n-1", "yesterday", 1)], "[0]"),
                           ([measure("n-1", "2024-01-01T00:00:00", 1), measure("n-1", "2024-01-01T00:00:00", "1")],
                            "[1]"),
                           ([measure("n-1", "2024-01-01T00:00:00", True)], "[0]")):
        result = parse_kwollect(payload, "power")
        assert isinstance(result, Failure) and isinstance(result.failure(), ParseError), payload
        assert where in result.failure().message


def test_resample_averages_buckets_and_refuses_a_non_positive_resolution() -> None:
    points = [MetricPoint(100.0 + 10 * i, float(i)) for i in range(6)]
    assert resample(points, 100.0, 30) == Success((MetricPoint(100.0, 1.0), MetricPoint(130.0, 4.0)))
    assert resample((), 0.0, 5) == Success(())
    for bad in (0, -1, 0.0, float("nan"), float("inf"), float("-inf")):
        result = resample(points, 100.0, bad)
        assert isinstance(result, Failure) and isinstance(result.failure(), InvalidInput)
        assert "positive" in result.failure().message


def test_retry_after_and_delays() -> None:
    assert parse_retry_after("12", 0) == 12.0
    assert parse_retry_after(" 3 ", 0) == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", 1445412480) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", 1445412500) == 0.0
    assert parse_retry_after("\u0661\u0662", 0) is None  # Arabic-Indic digits are not delta seconds
    assert parse_retry_after("soon", 0) is None and parse_retry_after(None, 0) is None
    policy = RetryPolicy(max_attempts=4, base_delay=1, max_delay=3, total_budget=10)
    assert [retry_delay(policy, a, 0, None) for a in (1, 2, 3, 4)] == [1, 2, 3, None]
    assert retry_delay(policy, 1, 0, 7.5) == 7.5 and retry_delay(policy, 1, 5, 7.5) is None


def test_adapters_api_keeps_the_names() -> None:
    for name in metrics.__all__:
        assert getattr(g5k.api, name) is getattr(metrics, name)
