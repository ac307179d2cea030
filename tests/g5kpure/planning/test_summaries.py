"""max_resources, get_hosts_jobs, find_job_by_name and get_fastest_host on hand-made values and the snapshot."""

from __future__ import annotations

from g5k.reference_data import embedded_snapshot
from returns.result import Failure

from g5kpure.errors import NoSlot, NotFound
from g5kpure.oar import OarJobInfo, OarState
from g5kpure.planning import (
    HostPlanning,
    JobSpec,
    Planning,
    find_job_by_name,
    get_fastest_host,
    get_hosts_jobs,
    hosts_list,
    max_resources,
    show_resources,
)

T0 = 1_800_000_000
HOUR = 3600


def planning() -> Planning:
    return Planning(start=T0, end=T0 + 10 * HOUR, hosts=(
        HostPlanning("nova-1.lyon.grid5000.fr", "lyon", "nova", ((T0, T0 + 2 * HOUR),)),
        HostPlanning("nova-2.lyon.grid5000.fr", "lyon", "nova", ((T0 + HOUR, T0 + 3 * HOUR),)),
        HostPlanning("taurus-1.lyon.grid5000.fr", "lyon", "taurus", ()),
        HostPlanning("grisou-3.nancy.grid5000.fr", "nancy", "grisou", ((T0 + 7 * HOUR // 2, T0 + 5 * HOUR),)),
    ))


def test_max_resources_counts_hosts_per_element() -> None:
    assert max_resources(planning()) == {"grid5000": 4, "lyon": 3, "nova": 2, "taurus": 1, "nancy": 1, "grisou": 1}


def test_hosts_jobs_reserve_exactly_the_hosts_when_all_are_free() -> None:
    specs = get_hosts_jobs(planning(), ["nova-2", "nova-1.lyon.grid5000.fr", "grisou-3.nancy"], HOUR).unwrap()
    # nova-1 busy until +2h, nova-2 until +3h, grisou-3 busy +3h30..+5h: a 1 h slot for all three starts at +5h
    assert specs == (
        JobSpec("lyon", "{host IN ('nova-1.lyon.grid5000.fr', 'nova-2.lyon.grid5000.fr')}/nodes=2", HOUR,
                T0 + 5 * HOUR),
        JobSpec("nancy", "{host IN ('grisou-3.nancy.grid5000.fr')}/nodes=1", HOUR, T0 + 5 * HOUR),
    )
    # with a 1 h walltime nova-1 and nova-2 are both free from +3h
    lyon_only = get_hosts_jobs(planning(), ["nova-1", "nova-2"], HOUR, name="xp").unwrap()
    assert [(s.reservation, s.name) for s in lyon_only] == [(T0 + 3 * HOUR, "xp")]


def test_hosts_jobs_never_free_together_or_unknown() -> None:
    never = get_hosts_jobs(planning(), ["nova-1", "grisou-3"], 6 * HOUR)
    assert isinstance(never, Failure) and isinstance(never.failure(), NoSlot)
    assert "never all free for 6:00:00" in never.failure().message
    unknown = get_hosts_jobs(planning(), ["nova-9"], HOUR)
    assert isinstance(unknown.failure(), NotFound)


def test_find_job_by_name_skips_unnamed_jobs() -> None:
    infos = [OarJobInfo(job_id=1, state=OarState.RUNNING), OarJobInfo(job_id=2, state=OarState.WAITING, name="xp"),
             OarJobInfo(job_id=3, state=OarState.RUNNING, name="xp")]
    assert find_job_by_name(infos, "xp").unwrap().job_id == 2
    assert isinstance(find_job_by_name(infos, "other").failure(), NotFound)


def test_fastest_host_whatever_the_order() -> None:
    snapshot = embedded_snapshot()
    present = ["nova-1.lyon.grid5000.fr", "neowise-1.lyon.grid5000.fr", "hydra-1.lyon.grid5000.fr"]
    flops = {h: snapshot.node(h).unwrap().performance.node_flops for h in present}
    assert len(set(flops.values())) == 3, flops
    best = max(present, key=lambda h: flops[h])
    assert get_fastest_host(snapshot, present).unwrap() == best
    assert get_fastest_host(snapshot, list(reversed(present))).unwrap() == best
    assert isinstance(get_fastest_host(snapshot, ["atlantis-1"]).failure(), NotFound)


def test_hosts_list_natural_order_short_or_with_site() -> None:
    hosts = ["nova-10.lyon.grid5000.fr", "nova-2.lyon.grid5000.fr", "grisou-1.nancy.grid5000.fr", "nova-2.lyon"]
    assert hosts_list(hosts) == "grisou-1 nova-2 nova-2 nova-10"  # every host given, in natural order
    assert hosts_list(["nova-10.lyon.grid5000.fr", "nova-2.lyon.grid5000.fr"], ",", site=True) == \
        "nova-2.lyon,nova-10.lyon"
    assert hosts_list([]) == ""


def test_show_resources_groups_clusters_under_sites() -> None:
    pairs = (("nova", "lyon"), ("taurus", "lyon"), ("grisou", "nancy"))
    text = show_resources({"grid5000": 10, "lyon": 6, "nova": 4, "grisou": 2, "kavlan": 1}, pairs,
                          max_resources={"grid5000": 40, "nova": 20})
    assert text == ("Resources:\n  grid5000: 10/40\n  lyon: 6 (nova: 4/20)\n  nancy: (grisou: 2)\n  kavlan: 1")
    assert show_resources({}, pairs, msg="Wanted") == "Wanted:"
