"""Core slots: how many cores are free from each candidate start of a planning, and for how long.

A :class:`CoreSlot` is a candidate start of a planning (its start or a boundary of a busy interval) with the
number of *cores* free there per grid5000 / site / cluster, and the time until which all those cores stay free
(the earliest end of the free intervals that count). A host counts when the start lies inside one of its free
intervals; its cores are the snapshot's ``architecture.nb_cores``. :func:`find_core_slot` picks the first slot
offering enough core-hours per element.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NoSlot
from g5kpure.planning.model import Planning, paris_time
from g5kpure.reference.snapshot import Snapshot


@frozen
class CoreSlot:
    """From ``start`` until ``end``, ``counts`` cores are free per element (grid5000, sites, clusters)."""

    start: int
    end: int
    counts: tuple[tuple[str, int], ...]

    def free(self, element: str) -> int:
        """Free cores of an element (0 when it has none or is not in the planning)."""
        return dict(self.counts).get(element, 0)


def compute_core_slots(planning: Planning, snapshot: Snapshot) -> Result[tuple[CoreSlot, ...], G5kError]:
    """The core slots of a planning, in start order; a host unknown to the snapshot is an error naming it."""
    cores: dict[str, int] = {}
    for host in planning.hosts:
        node = snapshot.node(host.host)
        if isinstance(node, Failure):
            return Failure(node.failure())
        cores[host.host] = node.unwrap().architecture.nb_cores
    frees = {h.host: planning.free(h) for h in planning.hosts}
    starts = sorted({planning.start} | {t for h in planning.hosts for s, e in h.busy for t in (s, e)
                                         if planning.start <= t < planning.end})
    slots: list[CoreSlot] = []
    for t in starts:
        counts: dict[str, int] = {"grid5000": 0}
        end = planning.end
        for host in planning.hosts:
            intervals = frees[host.host]
            i = bisect_right(intervals, (t, planning.end + 1)) - 1
            if i < 0 or not intervals[i][0] <= t < intervals[i][1]:
                continue
            n = cores[host.host]
            for element in ("grid5000", host.site, host.cluster):
                counts[element] = counts.get(element, 0) + n
            end = min(end, intervals[i][1])
        slots.append(CoreSlot(t, end, tuple(sorted(counts.items()))))
    return Success(tuple(slots))


def find_core_slot(slots: tuple[CoreSlot, ...], wanted: Mapping[str, float]) -> Result[CoreSlot, G5kError]:
    """The first slot where every wanted element offers at least its core-hours (free cores × slot hours)."""
    for element, hours in wanted.items():
        if isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0:
            return Failure(InvalidInput(f"core-hours of {element}", str(hours), "a positive number"))
    for slot in slots:
        length = (slot.end - slot.start) / 3600
        if all(slot.free(e) * length >= h for e, h in wanted.items()):
            return Success(slot)
    last = paris_time(slots[-1].end) if slots else "the end of the planning"
    asked = ", ".join(f"{e}: {h:g}" for e, h in sorted(wanted.items()))
    return Failure(NoSlot(f"no slot offers the core-hours wanted ({asked}) before {last}"))
