"""get_cluster_jobtypes: job types of clusters from the embedded snapshot and from hand-made reference data."""

from __future__ import annotations

import copy
import json
from typing import Any

from g5k.jobtypes import get_cluster_job_types, get_cluster_jobtypes
from g5k.reference_data import embedded_snapshot, read_embedded_bytes
from g5k.results import performed
from returns.io import IOFailure, IOSuccess

from g5kpure.errors import NotFound
from g5kpure.reference import ClusterJobTypes, cluster_job_types, snapshot_from_json


def test_a_regular_cluster_accepts_besteffort_and_deploy() -> None:
    types = cluster_job_types(embedded_snapshot(), "nova").unwrap()
    assert types.accepted == ("besteffort", "deploy")
    assert types.required == ()


def test_an_exotic_cluster_requires_the_exotic_type() -> None:
    snapshot = embedded_snapshot()
    exotic = [c.uid for s in snapshot.sites_ for c in s.clusters if c.exotic]
    assert exotic, "the snapshot has exotic clusters"
    for uid in exotic:
        types = cluster_job_types(snapshot, uid).unwrap()
        assert types.required == ("exotic",) and types.accepted[-1] == "exotic"
    assert cluster_job_types(snapshot, "nova").unwrap().required == ()


def test_types_and_walltime_limit_follow_every_node() -> None:
    data: dict[str, Any] = json.loads(read_embedded_bytes().unwrap())
    small = copy.deepcopy(data)
    small["sites"] = {"lyon": small["sites"]["lyon"]}
    nova = small["sites"]["lyon"]["clusters"]["nova"]
    nova["nodes"][0]["supported_job_types"]["deploy"] = False
    nova["nodes"][1]["supported_job_types"]["max_walltime"] = 3600
    nova["nodes"][2]["supported_job_types"]["max_walltime"] = 7200
    for node in nova["nodes"][3:]:
        node["supported_job_types"]["max_walltime"] = 0
    types = cluster_job_types(snapshot_from_json(small).unwrap(), "nova").unwrap()
    assert types == ClusterJobTypes(cluster="nova", accepted=("besteffort",), required=(), max_walltime=3600)


def test_unknown_cluster_is_not_found() -> None:
    missing = cluster_job_types(embedded_snapshot(), "atlantis")
    assert isinstance(missing.failure(), NotFound) and "atlantis" in missing.failure().message


def test_adapter_reads_the_embedded_source() -> None:
    answer = get_cluster_jobtypes("nova")
    assert isinstance(answer, IOSuccess)
    assert performed(answer).unwrap() == ("besteffort", "deploy")
    full = get_cluster_job_types("atlantis")
    assert isinstance(full, IOFailure) and isinstance(performed(full).failure(), NotFound)
