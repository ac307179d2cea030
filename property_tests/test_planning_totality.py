"""Totality of the planning builders: whatever a payload looks like (truncated, values of another type, inf and
NaN, missing keys), planning_from_api and planning_from_oar_rest answer a Result, never raise; a mutated job
is either read or refused, never turned into free time."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from g5kpure.errors import ParseError
from g5kpure.planning import planning_from_api, planning_from_oar_rest

NOVA1, NOVA2 = "nova-1.lyon.grid5000.fr", "nova-2.lyon.grid5000.fr"
JOB = {"uid": 1, "state": "running", "queue": "default", "types": ["deploy"], "walltime": 3600,
       "started_at": 1000, "scheduled_at": 1000, "assigned_nodes": [NOVA1],
       "resources_by_type": {"cores": [f"{NOVA1}/0"], "vlans": ["4"]}}
STATUS = {
    "nodes": {NOVA1: {"hard": "alive", "soft": "busy", "reservations": [JOB]},
              NOVA2: {"hard": "alive", "soft": "free", "reservations": []}},
    "vlans": {"4": {"hard": "alive", "type": "kavlan", "reservations": [JOB]},
              "16": {"hard": "alive", "type": "kavlan-global", "reservations": []}},
    "subnets": {"10.0.0.0/22": {"hard": "alive", "reservations": []}},
    "disks": {f"disk1.{NOVA1}": {"hard": "alive", "reservations": []}},
}
JOBS = {"total": 2, "offset": 0, "items": [JOB, {**JOB, "uid": 2, "state": "waiting", "started_at": None,
                                                   "scheduled_at": 5000, "assigned_nodes": [NOVA2]}]}
REST_RESOURCES = {"total": 3, "items": [
    {"id": 1, "type": "default", "network_address": NOVA1, "state": "Alive", "maintenance": "NO"},
    {"id": 2, "type": "default", "network_address": NOVA2, "state": "Alive"},
    {"id": 3, "type": "kavlan", "network_address": "", "state": "Alive", "vlan": 4},
]}
REST_JOBS = {"total": 2, "items": [
    {"id": 7, "state": "Running", "queue": "default", "types": [], "start_time": 1000, "scheduled_start": 1000,
     "walltime": 3600, "resources": [{"id": 1}, {"id": 3}]},
    {"id": 8, "state": "Waiting", "queue": "default", "types": ["deploy"], "start_time": 0,
     "scheduled_start": 5000, "walltime": 600, "resources": [{"id": 2}]},
]}

ODD = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([math.inf, -math.inf, math.nan]),
    st.text(max_size=8), st.sampled_from(["3600", "running", "besteffort", NOVA1, "", "waiting"]),
    st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.sampled_from(["id", "items", "x"]),
                                                             st.integers(0, 3), max_size=2),
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document (the root excluded)."""
    out: list[tuple[Any, ...]] = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        out.append((*prefix, key))
        out += paths(child, (*prefix, key))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """``base`` with 1-3 mutations: a value replaced by an odd one, a key dropped, a list truncated."""
    doc = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        options = paths(doc)
        if not options:
            break
        path = draw(st.sampled_from(options))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "drop", "truncate"]))
        if action == "replace" or (action == "truncate" and not isinstance(parent[path[-1]], list)):
            parent[path[-1]] = draw(ODD)
        elif action == "drop":
            del parent[path[-1]]
        else:
            parent[path[-1]] = parent[path[-1]][: draw(st.integers(0, 1))]
    return doc


def assert_total(result: Any) -> None:
    assert isinstance(result, Success | Failure)
    if isinstance(result, Failure):
        error = result.failure()
        assert isinstance(error, ParseError) and error.where and error.message


@given(mutated(STATUS), st.one_of(st.none(), mutated(JOBS)), st.booleans())
def test_planning_from_api_is_total(status: Any, jobs: Any, everything: bool) -> None:
    assert_total(planning_from_api("lyon", status, 0, 100000, jobs, vlans=everything, subnets=everything,
                                   storage=everything))


@given(st.one_of(ODD, st.just(STATUS)), st.one_of(ODD, st.just(JOBS)))
def test_planning_from_api_on_odd_roots_is_total(status: Any, jobs: Any) -> None:
    assert_total(planning_from_api("lyon", status, 0, 100000, jobs))


@given(mutated(REST_RESOURCES), mutated(REST_JOBS))
def test_planning_from_oar_rest_is_total(resources: Any, jobs: Any) -> None:
    assert_total(planning_from_oar_rest("lyon", resources, jobs, 0, 100000))


@given(st.one_of(ODD, st.just(REST_RESOURCES)), st.one_of(ODD, st.just(REST_JOBS)))
def test_planning_from_oar_rest_on_odd_roots_is_total(resources: Any, jobs: Any) -> None:
    assert_total(planning_from_oar_rest("lyon", resources, jobs, 0, 100000))


def _inside(value: Any) -> bool:
    return type(value) is int and 0 < value < 100000


def _positive(value: Any) -> bool:
    return type(value) is int and value > 0


@given(mutated(STATUS))
def test_a_running_job_is_never_silently_dropped(status: Any) -> None:
    """If a running default job starting inside the window is still in nova-1's reservations after the mutation
    and the planning is read, nova-1 is busy (a malformed job is refused, never dropped)."""
    result = planning_from_api("lyon", status, 0, 100000)
    node = status.get("nodes", {}).get(NOVA1) if isinstance(status, dict) and isinstance(status.get("nodes"), dict) \
        else None
    reservations = node.get("reservations") if isinstance(node, dict) else None
    if not isinstance(result, Success) or not isinstance(node, dict) or not isinstance(reservations, list) \
            or node.get("hard") == "dead":
        return
    running = [r for r in reservations if isinstance(r, dict) and r.get("state") == "running"
               and r.get("queue") == "default" and "besteffort" not in (r.get("types") or ())
               and _inside(r.get("started_at") or r.get("scheduled_at")) and _positive(r.get("walltime"))]
    host = result.unwrap().host(NOVA1)
    if running:
        assert host is not None and host.busy, (running, host)
