"""Unit tests of g5kpure.planning.slots: builders, the slot sweep, finders, distribution and job specs."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from returns.result import Failure, Success

from g5kpure.errors import InvalidInput, NoSlot, ParseError
from g5kpure.oar import parse_walltime
from g5kpure.planning import (
    HostPlanning,
    OarJobResourceRow,
    OarResourceRow,
    Planning,
    ResourcePlanning,
    Slots,
    add_busy_periods,
    compute_slots,
    distribute_hosts,
    exclude_elements,
    find_first_slot,
    find_free_slot,
    find_max_slot,
    free_intervals,
    get_jobs_specs,
    merge_intervals,
    planning_from_api,
    planning_from_oar_rest,
    planning_from_oar_rows,
)
from tests.conftest import FIXTURES_DIR

FIXTURES = FIXTURES_DIR / "planning"
T0 = 1774342800
LYON = "lyon.grid5000.fr"


def host(name: str, busy: tuple[tuple[int, int], ...] = (), start: int = 1000, end: int = 5000) -> HostPlanning:
    short, site = name.split(".")[0], name.split(".")[1]
    return HostPlanning(name, site, short.rsplit("-", 1)[0], merge_intervals(busy, start, end))


def execo_example() -> Planning:
    """The planning of execo_behaviour §10.6 (S=1000, E=5000)."""
    return Planning(
        start=1000,
        end=5000,
        hosts=[
            host(f"nova-1.{LYON}", ((1500, 2000),)),
            host(f"nova-2.{LYON}"),
            host(f"taurus-1.{LYON}", ((900, 3000),)),
        ],
        resources=[
            ResourcePlanning("lyon", "kavlan", "kavlan-4", ((1000, 2500),)),
            ResourcePlanning("lyon", "kavlan", "kavlan-5", ()),
            ResourcePlanning("lyon", "kavlan", "kavlan-6", ()),
        ],
    )


def test_compute_slots_matches_execo_example() -> None:
    slots = compute_slots(execo_example(), 600).unwrap()
    got = [(s.start, s.end, s.as_dict()) for s in slots.slots]
    assert got == [
        (1000, 1600, {"grid5000": 1, "lyon": 1, "nova": 1, "taurus": 0, "kavlan": 2}),
        (1500, 2100, {"grid5000": 1, "lyon": 1, "nova": 1, "taurus": 0, "kavlan": 2}),
        (2000, 2600, {"grid5000": 2, "lyon": 2, "nova": 2, "taurus": 0, "kavlan": 2}),
        (2500, 3100, {"grid5000": 2, "lyon": 2, "nova": 2, "taurus": 0, "kavlan": 3}),
        (3000, 3600, {"grid5000": 3, "lyon": 3, "nova": 2, "taurus": 1, "kavlan": 3}),
    ]


def test_compute_slots_include_hosts_lists_free_hosts() -> None:
    slots = compute_slots(execo_example(), 600, include_hosts=True).unwrap()
    assert slots.slots[0].hosts == frozenset({f"nova-2.{LYON}"})
    assert slots.slots[-1].hosts == frozenset({f"nova-1.{LYON}", f"nova-2.{LYON}", f"taurus-1.{LYON}"})


def test_nested_jobs_give_no_false_free_time() -> None:
    # execo merges [(0,1000),(100,200),(300,400),(500,600)] into [(0,1000),(500,600)] and reports the host
    # free from 600 although it is busy until 1000; the correct merge keeps it busy.
    busy = merge_intervals([(0, 1000), (100, 200), (300, 400), (500, 600)], 0, 10000)
    assert busy == ((0, 1000),)
    assert free_intervals(busy, 0, 10000) == ((1000, 10000),)
    planning = Planning(start=0, end=10000, hosts=[HostPlanning(f"nova-1.{LYON}", "lyon", "nova", busy)])
    slots = compute_slots(planning, 100).unwrap()
    assert [(s.start, s.free("nova")) for s in slots.slots] == [(0, 0), (1000, 1)]


def test_merge_intervals_overlaps_touching_and_clipping() -> None:
    assert merge_intervals([(0, 10), (5, 15)], 0, 100) == ((0, 15),)
    assert merge_intervals([(0, 10), (10, 20)], 0, 100) == ((0, 20),)
    assert merge_intervals([(0, 5), (6, 8), (7, 9), (8, 10)], 0, 100) == ((0, 5), (6, 10))
    assert merge_intervals([(-5, 3), (2, 100)], 0, 100) == ((0, 100),)
    assert merge_intervals([(200, 300), (50, 40)], 0, 100) == ()


def test_compute_slots_rejects_bad_walltime_and_does_not_mutate() -> None:
    planning = execo_example()
    assert isinstance(compute_slots(planning, 0), Failure)
    before = planning
    slots = compute_slots(planning, 600, excluded_elements=["taurus", "kavlan-4"]).unwrap()
    assert planning == before and len(planning.hosts) == 3
    assert "taurus" not in slots.elements
    assert slots.slots[0].free("kavlan") == 2


def test_exclude_short_host_name() -> None:
    planning = exclude_elements(execo_example(), ["nova-1"])
    assert [h.host for h in planning.hosts] == [f"nova-2.{LYON}", f"taurus-1.{LYON}"]


def test_out_of_chart_periods_are_busy_everywhere() -> None:
    planning = add_busy_periods(execo_example(), [(3000, 4000)])
    nova2 = planning.host("nova-2")
    assert nova2 is not None and nova2.busy == ((3000, 4000),)
    assert planning.host(f"taurus-1.{LYON}").busy == ((1000, 4000),)  # type: ignore[union-attr]


def test_find_free_slot_checks_every_element_and_explains() -> None:
    slots = compute_slots(execo_example(), 600).unwrap()
    assert find_free_slot(slots, {"nova": 2}).unwrap().start == 2000
    assert find_free_slot(slots, {"grid5000": 3, "kavlan": 3}).unwrap().start == 3000
    absent = find_free_slot(slots, {"paravance": 1})
    assert isinstance(absent, Failure) and isinstance(absent.failure(), NoSlot)
    assert "paravance is not in the planning" in absent.failure().message
    short = find_free_slot(slots, {"lyon": 5})
    assert isinstance(short, Failure)
    assert "lyon has at most 3 of the 5 nodes wanted free for 0:10:00 until 1970-01-01 02:23" in short.failure().message


def test_find_free_slot_inclusive_counts() -> None:
    slots = compute_slots(execo_example(), 600).unwrap()
    # 2 hosts in total of which 1 on taurus: only at 3000 (execo would add and want 3 on lyon)
    assert find_free_slot(slots, {"lyon": 2, "taurus": 1}).unwrap().start == 3000
    bad = find_free_slot(slots, {"lyon": 1, "nova": 2})
    assert isinstance(bad, Failure) and isinstance(bad.failure(), InvalidInput)


def test_find_first_and_max_slot() -> None:
    slots = compute_slots(execo_example(), 600).unwrap()
    assert find_first_slot(slots, {"taurus": 1}).unwrap().start == 3000
    assert find_max_slot(slots, {"grid5000": 0}).unwrap().start == 3000
    assert find_max_slot(slots, {"nova": 0}).unwrap().start == 2000
    assert isinstance(find_first_slot(slots, {"nowhere": 1}), Failure)


def three_sites() -> tuple[Slots, Any]:
    hosts = []
    for site, n in (("lyon", 7), ("nancy", 7), ("rennes", 6)):
        cluster = {"lyon": "nova", "nancy": "gros", "rennes": "paravance"}[site]
        hosts += [HostPlanning(f"{cluster}-{i}.{site}.grid5000.fr", site, cluster, ()) for i in range(1, n + 1)]
    slots = compute_slots(Planning(start=0, end=10000, hosts=hosts), 600).unwrap()
    return slots, slots.slots[0]


def test_distribute_hosts_vectors() -> None:
    slots, slot = three_sites()
    assert distribute_hosts(slot, slots, {"grid5000": 10}).unwrap() == {"lyon": 4, "nancy": 3, "rennes": 3}
    assert distribute_hosts(slot, slots, {"grid5000": 0}).unwrap() == {"lyon": 7, "nancy": 7, "rennes": 6}
    # inclusive: 5 in total of which 2 on nova (execo returned 7 hosts here)
    assert distribute_hosts(slot, slots, {"nova": 2, "grid5000": 5}).unwrap() == {
        "nova": 2, "lyon": 1, "nancy": 1, "rennes": 1}
    assert distribute_hosts(slot, slots, {"lyon": 0, "nancy": 2}).unwrap() == {"lyon": 7, "nancy": 2}
    assert distribute_hosts(slot, slots, {"grid5000": 10}, excluded_elements=["rennes"]).unwrap() == {
        "lyon": 5, "nancy": 5}
    assert distribute_hosts(slot, slots, {"grid5000": 10}, ratio=0.5).unwrap() == {
        "lyon": 2, "nancy": 1, "rennes": 1}


def test_distribute_hosts_keeps_named_site_count() -> None:
    slots, slot = three_sites()
    assert distribute_hosts(slot, slots, {"grid5000": 18, "lyon": 5}).unwrap() == {
        "lyon": 5, "nancy": 7, "rennes": 6}
    assert distribute_hosts(slot, slots, {"grid5000": 20, "lyon": 5}).unwrap() == {
        "lyon": 7, "nancy": 7, "rennes": 6}


def test_distribute_hosts_failure_when_too_many() -> None:
    slots, slot = three_sites()
    wanted = {"grid5000": 21}
    result = distribute_hosts(slot, slots, wanted)
    assert isinstance(result, Failure) and "grid5000 has 20 of the 21 nodes wanted" in result.failure().message
    assert wanted == {"grid5000": 21}


def test_get_jobs_specs_well_formed() -> None:
    slots = compute_slots(execo_example(), 600).unwrap()
    specs = lambda r, **kw: [(s.site, s.resources) for s in get_jobs_specs(r, slots, **kw).unwrap()]  # noqa: E731
    assert specs({"lyon": 3}) == [("lyon", "nodes=3")]
    assert specs({"lyon": 3}, excluded_elements=[f"nova-1.{LYON}"]) == [
        ("lyon", "{host NOT IN ('nova-1.lyon.grid5000.fr')}/nodes=3")]
    assert specs({"lyon": 3}, excluded_elements=["taurus"]) == [("lyon", "{cluster NOT IN ('taurus')}/nodes=3")]
    assert specs({"nova": 2}, excluded_elements=[f"nova-1.{LYON}"]) == [
        ("lyon", "{cluster='nova' AND host NOT IN ('nova-1.lyon.grid5000.fr')}/nodes=2")]
    assert specs({f"nova-2.{LYON}": 1, f"nova-10.{LYON}": 1, f"nova-1.{LYON}": 1}) == [
        ("lyon", "{host IN ('nova-1.lyon.grid5000.fr', 'nova-2.lyon.grid5000.fr', 'nova-10.lyon.grid5000.fr')}"
                 "/nodes=3")]
    assert specs({"lyon": 2, "kavlan": 1}) == [("lyon", "nodes=2+{type='kavlan'}/vlan=1")]
    assert isinstance(get_jobs_specs({"grid5000": 3}, slots), Failure)
    # a bare host name takes the site of its planned cluster; one of an unknown cluster is refused, saying what to
    # write (a short name used to be refused whatever its cluster)
    assert specs({"nova-1": 1}) == [("lyon", "{host IN ('nova-1.lyon.grid5000.fr')}/nodes=1")]
    unknown = get_jobs_specs({"gros-1": 1}, slots).failure()
    assert isinstance(unknown, InvalidInput) and (unknown.name, unknown.value) == ("host", "gros-1")
    assert unknown.expected == "a node name with its site: gros-1.<site> or gros-1.<site>.grid5000.fr"


def test_get_jobs_specs_global_vlan_on_a_site_where_it_is_free() -> None:
    planning = Planning(
        start=0, end=10000,
        hosts=[HostPlanning(f"nova-1.{LYON}", "lyon", "nova", ()),
               HostPlanning("gros-1.nancy.grid5000.fr", "nancy", "gros", ())],
        resources=[ResourcePlanning("lyon", "kavlan-global", "kavlan-13", ((0, 10000),)),
                   ResourcePlanning("nancy", "kavlan-global", "kavlan-14", ())],
    )
    slots = compute_slots(planning, 600).unwrap()
    slot = find_free_slot(slots, {"grid5000": 2, "kavlan-global": 1}).unwrap()
    assert slot.kavlan_global_sites == ("nancy",)
    got = get_jobs_specs({"lyon": 1, "nancy": 1, "kavlan-global": 1}, slots, slot, name="xp").unwrap()
    assert [(s.site, s.resources, s.name) for s in got] == [
        ("lyon", "nodes=1", "xp"), ("nancy", "nodes=1+{type='kavlan-global'}/vlan=1", "xp")]


def test_parse_walltime() -> None:
    assert parse_walltime("2:00").unwrap() == 7200
    assert parse_walltime("1:30:15").unwrap() == 5415
    assert parse_walltime(60).unwrap() == 60
    assert parse_walltime("2h").unwrap() == 7200
    assert parse_walltime("2").unwrap() == 7200  # a bare number of hours, as OAR reads it
    assert parse_walltime("90s").unwrap() == 90 and parse_walltime("45m").unwrap() == 2700
    assert parse_walltime("1d").unwrap() == 86400 and parse_walltime("1h30m").unwrap() == 5400
    week = parse_walltime("200").failure()
    assert isinstance(week, InvalidInput) and week.name == "walltime" and "'200m'" in week.expected
    assert isinstance(parse_walltime("0:00"), Failure)


def load_gz(name: str) -> Any:
    return json.loads(gzip.decompress((FIXTURES / name).read_bytes()))


def test_planning_from_api_lille() -> None:
    status, jobs = load_gz("lille_status.json.gz"), load_gz("lille_jobs.json.gz")
    planning = planning_from_api("lille", status, T0, T0 + 28 * 86400, jobs, end_margin=0).unwrap()
    names = {h.host for h in planning.hosts}
    assert "chiclet-3.lille.grid5000.fr" not in names  # dead
    assert len(names) == sum(1 for n in status["nodes"].values() if n["hard"] != "dead")
    chiclet1 = planning.host("chiclet-1.lille.grid5000.fr")
    assert chiclet1 is not None and chiclet1.busy[0] == (T0, 1774348642)
    assert {r.kind for r in planning.vlans()} == {"kavlan-local", "kavlan", "kavlan-global"}
    # the per-node busy intervals derived by the data's author (besteffort excluded, no margin) agree
    reference = load_gz("planning_all_sites.json.gz")["lille"]["nodes"]
    for h in planning.hosts:
        expected = merge_intervals(
            [(b[0], b[1]) for b in reference[h.host]["busy"] if b[3] != "besteffort"], T0, T0 + 28 * 86400)
        assert h.busy == expected, h.host


def test_planning_from_api_besteffort_and_margin() -> None:
    res = {"uid": 7, "state": "running", "queue": "besteffort", "walltime": 100, "started_at": 1000}
    ok = {"uid": 8, "state": "waiting", "queue": "default", "walltime": 100, "started_at": 0, "scheduled_at": 2000}
    status = {"nodes": {f"nova-1.{LYON}": {"hard": "alive", "reservations": [res, ok]}}}
    planning = planning_from_api("lyon", status, 0, 10000).unwrap()
    assert planning.hosts[0].busy == ((2000, 2221),)
    kept = planning_from_api("lyon", status, 0, 10000, ignore_besteffort=False, end_margin=0).unwrap()
    assert kept.hosts[0].busy == ((1000, 1100), (2000, 2100))


def test_planning_from_api_bad_payloads_are_values() -> None:
    assert isinstance(planning_from_api("lyon", {"nodes": []}, 0, 10), Failure)
    assert isinstance(planning_from_api("lyon", {"nodes": {"weird": {}}}, 0, 10), Failure)
    assert isinstance(planning_from_api("lyon", {"nodes": {}}, 10, 0), Failure)
    assert isinstance(planning_from_api("lyon", {"nodes": {}}, 0, 10, {"items": 3}), Failure)


def test_planning_from_oar_rest_vectors() -> None:
    resources = json.loads((FIXTURES / "oarapi_resources_details.json").read_text())
    jobs = json.loads((FIXTURES / "oarapi_jobs_details.json").read_text())
    start = 1795592000
    planning = planning_from_oar_rest("rennes", resources, jobs, start, start + 86400).unwrap()
    hosts = {h.host: h.busy for h in planning.hosts}
    assert len(hosts) == len({r["network_address"] for r in resources["items"] if r["type"] == "default"})
    assert hosts["parasilo-3.rennes.grid5000.fr"] == ((1795592912, 1795592912 + 292 + 121),)
    assert hosts["parasilo-2.rennes.grid5000.fr"] == ((1795592797, 1795592797 + 1800 + 121),)
    assert hosts["paravance-1.rennes.grid5000.fr"] == ()


def test_planning_from_oar_rows() -> None:
    resources = [
        OarResourceRow(1, "default", f"nova-1.{LYON}", "Alive"),
        OarResourceRow(2, "default", f"nova-1.{LYON}", "Alive"),
        OarResourceRow(3, "default", f"nova-2.{LYON}", "Dead"),
        OarResourceRow(4, "default", f"nova-3.{LYON}", "Alive", maintenance="YES"),
        OarResourceRow(5, "kavlan", "", "Alive", vlan="4"),
    ]
    rows = [
        OarJobResourceRow(10, "Running", "default", 1000, 500, 1),
        OarJobResourceRow(10, "Running", "default", 1000, 500, 2),
        OarJobResourceRow(11, "Waiting", "default", 3000, 100, 1),
        OarJobResourceRow(12, "Running", "besteffort", 100, 10000, 2),
        OarJobResourceRow(13, "Waiting", "default", 2000, 100, 5),
        OarJobResourceRow(14, "Terminated", "default", 1, 100, 1),
    ]
    planning = planning_from_oar_rows("lyon", resources, rows, 0, 10000, end_margin=0).unwrap()
    assert [(h.host, h.busy) for h in planning.hosts] == [(f"nova-1.{LYON}", ((1000, 1500), (3000, 3100)))]
    assert [(r.name, r.kind, r.busy) for r in planning.resources] == [("kavlan-4", "kavlan", ((2000, 2100),))]
    assert isinstance(planning_from_oar_rows("lyon", [OarResourceRow(1, "default", "x", "Alive")], [], 0, 9), Failure)


def test_success_types() -> None:
    assert isinstance(compute_slots(execo_example(), 60), Success)
    with pytest.raises(AttributeError):
        execo_example().start = 3  # type: ignore[misc]


def test_zero_means_all_free_but_at_least_one() -> None:
    slots = compute_slots(execo_example(), 600).unwrap()
    # execo would accept the first slot although taurus has nothing free there
    assert find_free_slot(slots, {"taurus": 0}).unwrap().start == 3000
    slot = slots.slots[0]
    assert distribute_hosts(slot, slots, {"taurus": 0, "nova": 0}).unwrap() == {"nova": 1}
    assert distribute_hosts(slots.slots[-1], slots, {"lyon": 0}).unwrap() == {"lyon": 3}


def test_excluded_elements_may_be_a_generator() -> None:
    slots, slot = three_sites()
    excluded = (e for e in ["rennes"])
    assert distribute_hosts(slot, slots, {"grid5000": 14}, excluded_elements=excluded).unwrap() == {
        "lyon": 7, "nancy": 7}


def test_planning_from_oar_rows_subnets_when_asked() -> None:
    resources = [OarResourceRow(1, "default", f"nova-1.{LYON}", "Alive"),
                 OarResourceRow(2, "subnet", "", "Alive", subnet_address="10.140.0.0")]
    rows = [OarJobResourceRow(5, "Running", "default", 100, 50, 2)]
    without = planning_from_oar_rows("lyon", resources, rows, 0, 1000).unwrap()
    assert without.resources == ()
    planning = planning_from_oar_rows("lyon", resources, rows, 0, 1000, subnets=True, end_margin=0).unwrap()
    assert [(r.kind, r.name, r.busy) for r in planning.resources] == [("subnet", "10.140.0.0", ((100, 150),))]
    # subnets never count as hosts or vlans in slots
    assert compute_slots(planning, 10).unwrap().elements == ("grid5000", "lyon", "nova")


def test_host_busy_is_normalised_on_construction() -> None:
    h = HostPlanning(f"nova-1.{LYON}", "lyon", "nova", ((500, 600), (0, 1000), (2000, 1500), (1000, 1200)))
    assert h.busy == ((0, 1200),)
    r = ResourcePlanning("lyon", "kavlan", "kavlan-4", [(30, 40), (10, 20)])
    assert r.busy == ((10, 20), (30, 40))


NOVA1 = f"nova-1.{LYON}"


def api_base() -> tuple[dict[str, Any], dict[str, Any]]:
    """A small well-formed status and jobs answer: one running job on nova-1, a vlan."""
    job = {"uid": 1, "state": "running", "queue": "default", "types": [], "walltime": 100, "started_at": 1000,
           "scheduled_at": 1000, "assigned_nodes": [NOVA1], "resources_by_type": {"vlans": ["4"]}}
    status = {"nodes": {NOVA1: {"hard": "alive", "reservations": [dict(job)]}},
              "vlans": {"4": {"hard": "alive", "type": "kavlan", "reservations": []}}}
    return status, {"items": [job], "total": 1}


API_MUTATIONS: list[tuple[str, Any, str, Any]] = [
    # (which payload, path of the changed value, ParseError.where, new value)
    ("status", ("nodes", NOVA1, "reservations"), f"lyon.status.nodes['{NOVA1}'].reservations", 3),
    ("status", ("nodes", NOVA1, "reservations", 0), f"lyon.status.nodes['{NOVA1}'].reservations[0]", "job"),
    ("status", ("nodes", NOVA1, "reservations", 0, "types"),
     f"lyon.status.nodes['{NOVA1}'].reservations[0].types", 5),
    ("status", ("nodes", NOVA1, "reservations", 0, "walltime"),
     f"lyon.status.nodes['{NOVA1}'].reservations[0].walltime", float("inf")),
    ("status", ("nodes", NOVA1, "reservations", 0, "walltime"),
     f"lyon.status.nodes['{NOVA1}'].reservations[0].walltime", float("nan")),
    ("status", ("nodes", NOVA1, "reservations", 0, "walltime"),
     f"lyon.status.nodes['{NOVA1}'].reservations[0].walltime", "3600"),
    ("status", ("vlans", "4", "reservations"), "lyon.status.vlans['4'].reservations", 7),
    ("status", ("vlans", "4"), "lyon.status.vlans['4']", "kavlan"),
    ("jobs", ("items", 0, "walltime"), "lyon.jobs[0].walltime", float("-inf")),
    ("jobs", ("items", 0, "started_at"), "lyon.jobs[0].started_at", "soon"),
    ("jobs", ("items", 0, "resources_by_type"), "lyon.jobs[0].resources_by_type", ["vlans"]),
    ("jobs", ("items", 0, "assigned_nodes"), "lyon.jobs[0].assigned_nodes", 12),
    ("jobs", ("items", 0, "assigned_nodes", 0), "lyon.jobs[0].assigned_nodes[0]", 12),
    ("jobs", ("items", 0, "state"), "lyon.jobs[0].state", None),
    ("jobs", ("items",), "lyon.jobs.items", {"0": {}}),
]


def mutated(payload: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``payload`` with the value at ``path`` replaced."""
    copy = json.loads(json.dumps(payload))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


@pytest.mark.parametrize(("which", "path", "where", "value"), API_MUTATIONS)
def test_planning_from_api_malformed_values_are_parse_errors_naming_the_path(
    which: str, path: tuple[Any, ...], where: str, value: Any
) -> None:
    status, jobs = api_base()
    assert planning_from_api("lyon", status, 0, 10000, jobs).unwrap().host(NOVA1).busy == ((1000, 1221),)  # type: ignore[union-attr]
    if which == "status":
        status = mutated(status, path, value)
    else:
        jobs = mutated(jobs, path, value)
    got = planning_from_api("lyon", status, 0, 10000, jobs)
    assert isinstance(got, Failure)
    error = got.failure()
    assert isinstance(error, ParseError) and error.where == where, error.message
    assert error.where in error.message


def test_planning_from_api_non_objects_and_odd_names_are_parse_errors() -> None:
    status, _ = api_base()
    bad_status: object
    for bad_status in (None, [], "status", {"nodes": [NOVA1]}, {"nodes": {1: {"hard": "alive"}}}):
        got = planning_from_api("lyon", bad_status, 0, 10000)
        assert isinstance(got, Failure) and isinstance(got.failure(), ParseError)
    err = planning_from_api("lyon", {"nodes": {1: {}}}, 0, 10000).failure()
    assert isinstance(err, ParseError) and err.where == "lyon.status.nodes[1]"
    bad_jobs: object
    for bad_jobs in (3, [], "jobs", {"total": 0}):
        got = planning_from_api("lyon", status, 0, 10000, bad_jobs)
        assert isinstance(got, Failure) and got.failure().where.startswith("lyon.jobs")


def test_planning_from_api_running_job_without_start_is_an_error_not_free_time() -> None:
    status, _ = api_base()
    running = mutated(status, ("nodes", NOVA1, "reservations", 0), {"state": "running", "walltime": 3600})
    got = planning_from_api("lyon", running, 0, 10000)
    assert isinstance(got, Failure)
    assert got.failure().where == f"lyon.status.nodes['{NOVA1}'].reservations[0]"
    assert "a start time for a running job" in got.failure().message
    # a waiting job OAR has not scheduled yet (no start at all) holds nothing: the documented rule
    waiting = mutated(status, ("nodes", NOVA1, "reservations", 0), {"state": "waiting", "walltime": 3600})
    assert planning_from_api("lyon", waiting, 0, 10000).unwrap().host(NOVA1).busy == ()  # type: ignore[union-attr]
    # an integral float walltime is read; besteffort and finished jobs are not checked further
    floats = mutated(status, ("nodes", NOVA1, "reservations", 0, "walltime"), 100.0)
    assert planning_from_api("lyon", floats, 0, 10000).unwrap().host(NOVA1).busy == ((1000, 1221),)  # type: ignore[union-attr]


def oar_rest_base() -> tuple[dict[str, Any], dict[str, Any]]:
    resources = {"items": [{"id": 1, "type": "default", "network_address": NOVA1, "state": "Alive"},
                           {"id": 2, "type": "kavlan", "network_address": "", "state": "Alive", "vlan": 4}]}
    jobs = {"items": [{"id": 9, "state": "Running", "queue": "default", "types": [], "start_time": 1000,
                       "scheduled_start": 1000, "walltime": 100, "resources": [{"id": 1}, {"id": 2}]}]}
    return resources, jobs


@pytest.mark.parametrize(("which", "path", "where", "value"), [
    ("jobs", ("items", 0, "start_time"), "rennes.jobs[0].start_time", "1000"),
    ("jobs", ("items", 0, "walltime"), "rennes.jobs[0].walltime", "3600"),
    ("jobs", ("items", 0, "walltime"), "rennes.jobs[0].walltime", None),
    ("jobs", ("items", 0, "resources", 1), "rennes.jobs[0].resources[1]", 2),
    ("jobs", ("items", 0, "resources", 1, "id"), "rennes.jobs[0].resources[1].id", "2"),
    ("jobs", ("items", 0, "resources"), "rennes.jobs[0].resources", {"id": 1}),
    ("jobs", ("items", 0, "types"), "rennes.jobs[0].types", "besteffort"),
    ("resources", ("items", 0, "id"), "rennes.resources[0].id", None),
    ("resources", ("items", 0, "state"), "rennes.resources[0].state", 1),
    ("resources", ("items", 1, "vlan"), "rennes.resources[1].vlan", [4]),
])
def test_planning_from_oar_rest_malformed_values_are_parse_errors(
    which: str, path: tuple[Any, ...], where: str, value: Any
) -> None:
    resources, jobs = oar_rest_base()
    ok = planning_from_oar_rest("rennes", resources, jobs, 0, 10000, end_margin=0).unwrap()
    assert ok.host(NOVA1).busy == ((1000, 1100),) and ok.resources[0].busy == ((1000, 1100),)  # type: ignore[union-attr]
    if which == "jobs":
        jobs = mutated(jobs, path, value)
    else:
        resources = mutated(resources, path, value)
    got = planning_from_oar_rest("rennes", resources, jobs, 0, 10000)
    assert isinstance(got, Failure)
    assert isinstance(got.failure(), ParseError) and got.failure().where == where


def test_planning_from_oar_rest_non_objects_and_unscheduled_jobs() -> None:
    resources, jobs = oar_rest_base()
    bad: object
    for bad in (None, [], "x", 3):
        assert isinstance(planning_from_oar_rest("rennes", bad, jobs, 0, 10), Failure)
        assert isinstance(planning_from_oar_rest("rennes", resources, bad, 0, 10), Failure)
    running = mutated(jobs, ("items", 0), {"id": 9, "state": "Running", "walltime": 100, "resources": [{"id": 1}]})
    err = planning_from_oar_rest("rennes", resources, running, 0, 10000).failure()
    assert isinstance(err, ParseError) and err.where == "rennes.jobs[0]"
    waiting = mutated(jobs, ("items", 0), {"id": 9, "state": "Waiting", "start_time": 0, "scheduled_start": None,
                                           "walltime": 100, "resources": []})
    assert planning_from_oar_rest("rennes", resources, waiting, 0, 10000).unwrap().host(NOVA1).busy == ()  # type: ignore[union-attr]


def test_planning_from_oar_rows_started_job_without_start_is_an_error() -> None:
    resources = [OarResourceRow(1, "default", NOVA1, "Alive")]
    running = [OarJobResourceRow(10, "Running", "default", 0, 500, 1)]
    got = planning_from_oar_rows("lyon", resources, running, 0, 10000)
    assert isinstance(got, Failure) and got.failure().where == "lyon.jobs[id=10]"
    no_walltime = [OarJobResourceRow(10, "Running", "default", 100, 0, 1)]
    got = planning_from_oar_rows("lyon", resources, no_walltime, 0, 10000)
    assert isinstance(got, Failure) and got.failure().where == "lyon.jobs[id=10].walltime"
    waiting = [OarJobResourceRow(10, "Waiting", "default", 0, 500, 1)]
    assert planning_from_oar_rows("lyon", resources, waiting, 0, 10000).unwrap().hosts[0].busy == ()


def test_get_jobs_specs_keeps_exclusions_the_slots_were_computed_without() -> None:
    planning = execo_example()
    slots = compute_slots(planning, 600, excluded_elements=["taurus", "nova-1"]).unwrap()
    assert slots.site_of("taurus") is None  # the slots no longer know taurus: execo lost the exclusion here
    assert [(e.given, e.kind, e.name, e.site) for e in slots.excluded] == [
        ("nova-1", "host", f"nova-1.{LYON}", "lyon"), ("taurus", "cluster", "taurus", "lyon")]
    slot = find_free_slot(slots, {"lyon": 1}).unwrap()
    dist = distribute_hosts(slot, slots, {"lyon": 1}).unwrap()
    assert dist == {"lyon": 1}
    expected = f"{{host NOT IN ('nova-1.{LYON}') AND cluster NOT IN ('taurus')}}/nodes=1"
    for given in ((), ("taurus", "nova-1")):
        (spec,) = get_jobs_specs(dist, slots, slot, excluded_elements=given).unwrap()
        assert spec.site == "lyon" and spec.resources == expected
    # a cluster request only carries the excluded hosts of that cluster
    (spec,) = get_jobs_specs({"nova": 1}, slots, slot).unwrap()
    assert spec.resources == f"{{cluster='nova' AND host NOT IN ('nova-1.{LYON}')}}/nodes=1"


def test_get_jobs_specs_refuses_unknown_and_contradictory_exclusions() -> None:
    slots = compute_slots(execo_example(), 600).unwrap()
    unknown = get_jobs_specs({"lyon": 1}, slots, excluded_elements=["atlantis"])
    assert isinstance(unknown, Failure) and "atlantis" in unknown.failure().message
    for resources, excluded in (({"nova": 1}, "nova"), ({"nova": 1}, "lyon"), ({f"nova-2.{LYON}": 1}, "nova"),
                                ({f"nova-2.{LYON}": 1}, "nova-2"), ({"lyon": 1, "kavlan": 1}, "kavlan")):
        got = get_jobs_specs(resources, slots, excluded_elements=[excluded])
        assert isinstance(got, Failure) and isinstance(got.failure(), InvalidInput), (resources, excluded)
    # a short host name of a known cluster is filtered by its FQDN
    (spec,) = get_jobs_specs({"lyon": 1}, slots, excluded_elements=["nova-2"]).unwrap()
    assert spec.resources == f"{{host NOT IN ('nova-2.{LYON}')}}/nodes=1"


def test_get_jobs_specs_quotes_cluster_names_like_every_other_value() -> None:
    planning = Planning(start=0, end=1000, hosts=[HostPlanning(f"x-1.{LYON}", "lyon", "o'x", ()),
                                                  HostPlanning(f"y-1.{LYON}", "lyon", "y'z", ())])
    slots = compute_slots(planning, 60).unwrap()
    (spec,) = get_jobs_specs({"o'x": 1, "lyon": 1}, slots, excluded_elements=["y'z"]).unwrap()
    assert spec.resources == "{cluster='o''x'}/nodes=1+{cluster NOT IN ('y''z')}/nodes=1"


def test_vlan_counts_agree_between_distribution_and_specs() -> None:
    slots = compute_slots(execo_example(), 600).unwrap()
    slot = slots.slots[-1]  # every vlan free
    dist = distribute_hosts(slot, slots, {"lyon": 1, "kavlan": 2}).unwrap()
    assert dist == {"lyon": 1, "kavlan": 2}
    (spec,) = get_jobs_specs(dist, slots, slot).unwrap()
    assert spec.resources == "nodes=1+{type='kavlan'}/vlan=2"
    assert distribute_hosts(slot, slots, {"lyon": 1, "kavlan": 0}).unwrap() == {"lyon": 1, "kavlan": 1}
    both = get_jobs_specs({"lyon": 1, "kavlan": 1, "kavlan-local": 2}, slots).unwrap()
    assert [s.resources for s in both] == ["nodes=1+{type='kavlan'}/vlan=1+{type='kavlan-local'}/vlan=2"]
    refused = distribute_hosts(slot, slots, {"lyon": 1, "kavlan-global": 2})
    assert isinstance(refused, Failure) and "one global vlan per job" in refused.failure().message
    assert isinstance(get_jobs_specs({"lyon": 1, "kavlan-global": 2}, slots), Failure)
    alone = get_jobs_specs({"kavlan": 1}, slots)
    assert isinstance(alone, Failure) and "exactly one site" in alone.failure().message
