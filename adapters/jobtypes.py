"""``get_cluster_jobtypes`` over an explicit reference source (embedded snapshot by default, cache or live API)."""

from __future__ import annotations

from g5k.api import APIConnection, ReferenceCache, Source, load_reference
from g5k.results import performed
from returns.io import IOFailure, IOResult

from g5kpure.errors import G5kError
from g5kpure.reference import ClusterJobTypes, cluster_job_types


def get_cluster_job_types(cluster: str, source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                          cache: ReferenceCache | None = None) -> IOResult[ClusterJobTypes, G5kError]:
    """Accepted and required job types of a cluster, with its walltime limit."""
    loaded = load_reference(source, conn, cache)
    if isinstance(loaded, IOFailure):
        return loaded
    found = cluster_job_types(performed(loaded).unwrap().snapshot, cluster)
    return IOResult.from_result(found).alt(lambda e: e)


def get_cluster_jobtypes(cluster: str, source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                         cache: ReferenceCache | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """The OAR job types a cluster accepts (``exotic`` included when a job needs it there)."""
    return get_cluster_job_types(cluster, source, conn, cache).map(lambda t: t.accepted)
