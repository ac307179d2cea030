"""Picking one item among many: the job of a given name among the jobs oarstat lists, the fastest of some hosts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
    best: tuple[float, str | HasAddress] | None = None
    for host in hosts:
        node = snapshot.node(host)
        if isinstance(node, Failure):
            return Failure(node.failure())
        flops = node.unwrap().performance.node_flops
        if best is None or flops > best[0]:
            best = (flops, host)
    if best is None:
        return Failure(InvalidInput(name="hosts", value="", expected="at least one host"))
    return Success(best[1])
