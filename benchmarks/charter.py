"""Charter time and charter periods, as ratios against baselines measured in the same run.

Baselines: ``datetime.fromtimestamp(ts, ZoneInfo("Europe/Paris"))`` alone (the floor of any Paris-time answer),
and one ``fork()`` per conversion with ``TZ=Europe/Paris`` in the child (the technique execo_g5k used for every
conversion, reimplemented here to time it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from g5kpure.charter import charter_periods, g5k_charter_time, out_of_charter_periods

PARIS = ZoneInfo("Europe/Paris")
START = 1700000000.0
STEP = 3607.0  # crosses hours, days, week-ends and DST changes


def per_call(fn: Callable[[float], object], stamps: list[float]) -> float:
    """Seconds per call of ``fn`` over ``stamps``."""
    t0 = time.perf_counter()
    for ts in stamps:
        fn(ts)
    return (time.perf_counter() - t0) / len(stamps)


def fork_hour(ts: float) -> int:
    """The Paris hour of ``ts`` computed in a forked child with TZ set (execo's technique)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        os.environ["TZ"] = "Europe/Paris"
        time.tzset()
        os.write(write_fd, str(time.localtime(ts).tm_hour).encode())
        os._exit(0)
    os.close(write_fd)
    data = os.read(read_fd, 16)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return int(data)


def main() -> None:
    """Print the timings and ratios."""
    stamps = [START + i * STEP for i in range(20000)]
    floor = per_call(lambda ts: datetime.fromtimestamp(ts, PARIS).hour, stamps)
    ours = per_call(g5k_charter_time, stamps)
    forked = per_call(fork_hour, stamps[:200])
    print(f"g5k_charter_time: {ours * 1e6:.2f} us/call")
    print(f"  vs zoneinfo conversion alone ({floor * 1e6:.2f} us): x{ours / floor:.2f}")
    print(f"  vs one fork per conversion ({forked * 1e6:.0f} us): {forked / ours:.0f} times faster")
    four_weeks = 28 * 86400
    t0 = time.perf_counter()
    rounds = 200
    for i in range(rounds):
        charter_periods(START + i * STEP, START + i * STEP + four_weeks)
        out_of_charter_periods(START + i * STEP, START + i * STEP + four_weeks)
    periods = (time.perf_counter() - t0) / rounds
    days = per_call(lambda ts: datetime.fromtimestamp(ts, PARIS).date(), stamps[:28])
    print(f"charter and out-of-charter periods over 4 weeks: {periods * 1e3:.3f} ms")
    print(f"  vs 28 fork conversions ({28 * forked * 1e3:.1f} ms): {28 * forked / periods:.0f} times faster")
    print(f"  vs 28 zoneinfo day lookups ({28 * days * 1e3:.3f} ms): x{periods / (28 * days):.1f}")


if __name__ == "__main__":
    main()
