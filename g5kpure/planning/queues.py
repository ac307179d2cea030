"""The OAR queue of each planned cluster: keeping the clusters of the queues asked for, and recording the queue
that a job on each kept cluster is submitted to (``-q production`` for a production cluster)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from attrs import evolve

from g5kpure.planning.model import Planning, restrict_planning
from g5kpure.reference.snapshot import Snapshot

Queues = str | Iterable[str] | None
#: The queues planned by default: the clusters of the default queue only.
DEFAULT_QUEUES = "default"
#: The queue a job goes to on a cluster that accepts several, when no queue is asked for.
PREFERRED_QUEUES = ("default", "production", "testing")


def job_queue(accepted: Sequence[str], asked: Sequence[str] | None = None) -> str | None:
    """The queue of a job on a cluster accepting ``accepted``: the first queue of ``asked`` it accepts (None when
    it accepts none of them); with nothing asked, the first of :data:`PREFERRED_QUEUES` it accepts, else its first
    queue other than ``admin``."""
    if asked is not None:
        return next((q for q in asked if q in accepted), None)
    preferred = [q for q in PREFERRED_QUEUES if q in accepted] + [q for q in accepted if q != "admin"]
    return (preferred or [*accepted, "default"])[0]


def restrict_to_queues(planning: Planning, snapshot: Snapshot, queues: Queues = DEFAULT_QUEUES) -> Planning:
    """The planning keeping the clusters whose queues (per ``snapshot``) meet ``queues`` (a queue, queues, or None
    for every queue), with the queue of each kept cluster outside the default queue in ``cluster_queues``.
    Clusters the snapshot does not know are kept (the data source knows them), in the default queue."""
    asked = None if queues is None else (queues,) if isinstance(queues, str) else tuple(queues)
    planned = {h.cluster for h in planning.hosts}
    dropped: set[str] = set()
    recorded = dict(planning.cluster_queues)
    for cluster in planned:
        # A cluster the snapshot does not know stays in the default queue.
        queue = snapshot.cluster_queues(cluster).map(lambda accepted: job_queue(accepted, asked)).value_or("default")
        if queue is None:
            dropped.add(cluster)
        elif queue != "default":
            recorded[cluster] = queue
    kept = restrict_planning(planning, planned - dropped) if dropped else planning
    return evolve(kept, cluster_queues={c: q for c, q in recorded.items() if c not in dropped})
