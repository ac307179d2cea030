"""The OAR job types a cluster accepts, from the Reference API (execo's ``get_cluster_jobtypes``).

A type is listed when every node of the cluster accepts it (``supported_job_types.deploy`` /
``besteffort``); ``exotic`` is listed, and required, when the cluster is exotic: OAR places a job on an exotic
cluster only if the job carries ``-t exotic``.

An unknown cluster is a ``NotFound`` value.
"""

from __future__ import annotations

from attrs import frozen
from returns.result import Result

from g5kpure.errors import NotFound
from g5kpure.reference.models import Cluster
from g5kpure.reference.snapshot import Snapshot


@frozen
class ClusterJobTypes:
    """Job types of a cluster: ``accepted`` by all its nodes, ``required`` for a job to be placed there."""

    cluster: str
    accepted: tuple[str, ...]
    required: tuple[str, ...]
    max_walltime: int | None


def job_types_of(cluster: Cluster) -> ClusterJobTypes:
    """The job types of a cluster value (``max_walltime``: the smallest node limit in seconds, None if none)."""
    nodes = cluster.nodes
    accepted: list[str] = []
    if nodes and all(n.supported_job_types.besteffort for n in nodes):
        accepted.append("besteffort")
    if nodes and all(n.supported_job_types.deploy for n in nodes):
        accepted.append("deploy")
    required = ("exotic",) if cluster.exotic else ()
    limits = [n.supported_job_types.max_walltime for n in nodes if n.supported_job_types.max_walltime > 0]
    return ClusterJobTypes(cluster=cluster.uid, accepted=tuple(accepted) + required, required=required,
                           max_walltime=min(limits) if limits else None)


def cluster_job_types(snapshot: Snapshot, cluster: str) -> Result[ClusterJobTypes, NotFound]:
    """The job types of a cluster named by its uid."""
    return snapshot.cluster(cluster).map(job_types_of)
