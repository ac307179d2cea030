"""Picking one item among many: the job of a given name among the jobs oarstat lists, the fastest of some hosts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from returns.iterables import Fold
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NotFound
from g5kpure.hosts import HasAddress
from g5kpure.oar.jobs import OarJobInfo
from g5kpure.reference.snapshot import Snapshot


def find_job_by_name(infos: Sequence[OarJobInfo], name: str) -> Result[OarJobInfo, NotFound]:
    """The first job (in the order given) whose name is ``name``; a job without a name never matches."""
    for info in infos:
        if info.name == name:
            return Success(info)
    return Failure(NotFound(what="job named", key=name, hint=f"among {len(infos)} current jobs"))


def get_fastest_host(snapshot: Snapshot, hosts: Iterable[str | HasAddress]) -> Result[str | HasAddress, G5kError]:
    """The host (as given) with the highest ``performance.node_flops``; the first one given on ties."""
    def rated(host: str | HasAddress) -> Result[tuple[float, str | HasAddress], G5kError]:
        return snapshot.node(host).map(lambda node: (node.performance.node_flops, host))

    def fastest(rates: tuple[tuple[float, str | HasAddress], ...]) -> Result[str | HasAddress, G5kError]:
        if not rates:
            return Failure(InvalidInput(name="hosts", value="", expected="at least one host"))
        return Success(max(rates, key=lambda rate: rate[0])[1])  # max keeps the first of equals

    return Fold.collect((rated(host) for host in hosts), Success(())).bind(fastest)
