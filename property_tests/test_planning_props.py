"""Property tests of the slot engine against a naive reference written from the definition."""

from __future__ import annotations

import random
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from g5kpure.planning import (
    VLAN_KINDS,
    HostPlanning,
    Planning,
    ResourcePlanning,
    compute_slots,
    distribute_hosts,
    find_first_slot,
    find_free_slot,
    find_max_slot,
    get_jobs_specs,
    merge_intervals,
)

START, END = 0, 1000
RawHost = tuple[str, str, str, list[tuple[int, int]]]
#: busy intervals on a 10 s grid, some starting before the window, many overlapping or nested
INTERVALS = st.tuples(st.integers(-5, 100), st.integers(1, 40)).map(lambda t: (t[0] * 10, t[0] * 10 + t[1] * 10))


@st.composite
def raw_plannings(draw: st.DrawFn) -> list[RawHost]:
    """Hosts on 1-3 sites with random, possibly overlapping and nested, busy intervals on a coarse grid."""
    hosts: list[RawHost] = []
    sites = draw(st.lists(st.sampled_from(["lyon", "nancy", "rennes"]), min_size=1, max_size=3, unique=True))
    for site in sites:
        clusters = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=2, unique=True))
        for cluster in clusters:
            name = f"{site[:2]}{cluster}"
            for i in range(1, draw(st.integers(1, 4)) + 1):
                intervals = draw(st.lists(INTERVALS, max_size=5))
                hosts.append((f"{name}-{i}.{site}.grid5000.fr", site, name, intervals))
    return hosts


def build(raw: list[RawHost]) -> Planning:
    return Planning(start=START, end=END,
                    hosts=[HostPlanning(h, s, c, merge_intervals(b, START, END)) for h, s, c, b in raw])


def naive_free(raw: list[RawHost], start: int, walltime: int) -> set[str]:
    """Hosts with no raw busy interval overlapping [start, start + walltime], inside the window."""
    if start < START or start + walltime > END:
        return set()
    return {h for h, _, _, busy in raw if all(e <= start or s >= start + walltime for s, e in busy if e > s)}


def naive_counts(raw: list[RawHost], start: int, walltime: int) -> dict[str, int]:
    free = naive_free(raw, start, walltime)
    counts: dict[str, int] = {"grid5000": len(free)}
    for h, site, cluster, _ in raw:
        counts.setdefault(site, 0)
        counts.setdefault(cluster, 0)
        if h in free:
            counts[site] += 1
            counts[cluster] += 1
    return counts


walltimes = st.integers(1, 30).map(lambda n: n * 10)


@given(raw_plannings(), walltimes)
def test_counts_agree_with_naive_reference(raw: list[RawHost], walltime: int) -> None:
    slots = compute_slots(build(raw), walltime, include_hosts=True).unwrap()
    for slot in slots.slots:
        assert slot.as_dict() == naive_counts(raw, slot.start, walltime)
        assert slot.hosts == frozenset(naive_free(raw, slot.start, walltime))


@given(raw_plannings(), walltimes, st.randoms(use_true_random=False))
def test_input_order_does_not_matter(raw: list[RawHost], walltime: int, rnd: random.Random) -> None:
    shuffled = [(h, s, c, list(b)) for h, s, c, b in raw]
    rnd.shuffle(shuffled)
    for entry in shuffled:
        rnd.shuffle(entry[3])
    assert compute_slots(build(raw), walltime).unwrap() == compute_slots(build(shuffled), walltime).unwrap()


@st.composite
def requests(draw: st.DrawFn, raw: list[RawHost]) -> dict[str, int]:
    sites = sorted({s for _, s, _, _ in raw})
    clusters = sorted({c for _, _, c, _ in raw})
    wanted: dict[str, int] = {}
    cluster = draw(st.none() | st.sampled_from(clusters))
    if cluster is not None:
        wanted[cluster] = draw(st.integers(1, 3))
    site = draw(st.none() | st.sampled_from(sites))
    if site is not None and (cluster is None or not cluster.startswith(site[:2])):
        wanted[site] = draw(st.integers(1, 4))
    if draw(st.booleans()) or not wanted:
        wanted["grid5000"] = max(1, sum(wanted.values()) + draw(st.integers(0, 4)))
    return wanted


@given(st.data())
def test_found_slot_is_the_earliest_and_distributable(data: st.DataObject) -> None:
    raw = data.draw(raw_plannings())
    walltime = data.draw(walltimes)
    wanted = data.draw(requests(raw))
    slots = compute_slots(build(raw), walltime).unwrap()
    found = find_free_slot(slots, wanted)

    def ok(start: int) -> bool:
        counts = naive_counts(raw, start, walltime)
        return all(counts.get(e, 0) >= n for e, n in wanted.items())

    earliest = next((t for t in range(START, END) if ok(t)), None)
    if earliest is None:
        assert isinstance(found, Failure)
        return
    assert isinstance(found, Success)
    slot = found.unwrap()
    assert slot.start == earliest
    # the reported free hosts are free for the whole walltime
    assert slot.free("grid5000") == len(naive_free(raw, slot.start, walltime))
    dist = distribute_hosts(slot, slots, wanted).unwrap()
    total_by_site: dict[str, int] = {}
    for element, n in dist.items():
        assert 0 < n <= (slot.free(element) or 0)
        site = slots.site_of(element)
        assert site is not None
        total_by_site[site] = total_by_site.get(site, 0) + n
    for site, n in total_by_site.items():
        assert n <= (slot.free(site) or 0)
        if site in wanted:
            assert n >= wanted[site]
    if "grid5000" in wanted:
        assert sum(total_by_site.values()) == wanted["grid5000"]
    specs = get_jobs_specs(dist, slots, slot).unwrap()
    assert sorted(s.site for s in specs) == sorted(total_by_site)
    for spec in specs:
        assert RESOURCE_REQUEST.fullmatch(spec.resources), spec.resources


@given(st.data())
def test_distribute_never_exceeds_availability(data: st.DataObject) -> None:
    raw = data.draw(raw_plannings())
    slots = compute_slots(build(raw), 10).unwrap()
    slot = data.draw(st.sampled_from(slots.slots))
    want = {"grid5000": data.draw(st.integers(1, 40))}
    result = distribute_hosts(slot, slots, want)
    if want["grid5000"] > (slot.free("grid5000") or 0):
        assert isinstance(result, Failure)
    else:
        dist = result.unwrap()
        assert sum(dist.values()) == want["grid5000"]
        assert all(n <= (slot.free(s) or 0) for s, n in dist.items())
    assert want == {"grid5000": want["grid5000"]}


_VALUE = r"'(?:[^']|'')*'"
_COND = rf"[a-z_]+ ?(?:=|NOT IN|IN) ?(?:{_VALUE}|\((?:{_VALUE})(?:, {_VALUE})*\))"
_RDEF = rf"(?:\{{{_COND}(?: AND {_COND})*\}}/)?(?:nodes|vlan)=[1-9]\d*"
RESOURCE_REQUEST = re.compile(rf"{_RDEF}(?:\+{_RDEF})*")


@given(st.data())
def test_job_specs_parse_as_oar_requests(data: st.DataObject) -> None:
    raw = data.draw(raw_plannings())
    slots = compute_slots(build(raw), 10).unwrap()
    hosts = [h for h, _, _, _ in raw]
    clusters = sorted({c for _, _, c, _ in raw})
    sites = sorted({s for _, s, _, _ in raw})
    resources = {e: data.draw(st.integers(1, 5)) for e in data.draw(
        st.lists(st.sampled_from(hosts + clusters + sites), max_size=4, unique=True))}
    excluded = data.draw(st.lists(st.sampled_from(hosts + clusters), max_size=3, unique=True))
    cluster_of = {h: c for h, _, c, _ in raw}
    resources = {e: n for e, n in resources.items() if e not in excluded and cluster_of.get(e) not in excluded}
    specs = get_jobs_specs(resources, slots, excluded_elements=excluded).unwrap()
    for spec in specs:
        assert RESOURCE_REQUEST.fullmatch(spec.resources), spec.resources
    assert specs == get_jobs_specs(dict(reversed(list(resources.items()))), slots,
                                   excluded_elements=list(reversed(excluded))).unwrap()


@st.composite
def vlan_resources(draw: st.DrawFn) -> list[tuple[str, str, str, list[tuple[int, int]]]]:
    """Vlans of random kinds on 1-3 sites with random busy intervals."""
    out = []
    for site in draw(st.lists(st.sampled_from(["lyon", "nancy", "rennes"]), min_size=1, max_size=3, unique=True)):
        for number in draw(st.lists(st.integers(1, 22), max_size=4, unique=True)):
            kind = draw(st.sampled_from(VLAN_KINDS))
            out.append((site, kind, f"kavlan-{number}", draw(st.lists(INTERVALS, max_size=4))))
    return out


@given(raw_plannings(), vlan_resources(), walltimes)
def test_vlan_counts_agree_with_naive_reference(raw: list[RawHost], vlans: list[Any], walltime: int) -> None:
    planning = Planning(start=START, end=END,
                        hosts=[HostPlanning(h, s, c, merge_intervals(b, START, END)) for h, s, c, b in raw],
                        resources=[ResourcePlanning(s, k, n, merge_intervals(b, START, END)) for s, k, n, b in vlans])
    slots = compute_slots(planning, walltime).unwrap()
    for slot in slots.slots:
        free = [(s, k) for s, k, _, busy in vlans
                if slot.start + walltime <= END and all(e <= slot.start or b >= slot.start + walltime
                                                        for b, e in busy if e > b)]
        for kind in VLAN_KINDS:
            present = any(k == kind for _, k, _, _ in vlans)
            assert slot.free(kind) == (sum(1 for _, k in free if k == kind) if present else None)
        assert slot.kavlan_global_sites == tuple(sorted({s for s, k in free if k == "kavlan-global"}))
        assert slot.as_dict()["grid5000"] == naive_counts(raw, slot.start, walltime)["grid5000"]


@given(raw_plannings(), walltimes, st.data())
def test_first_and_max_slot_agree_with_naive(raw: list[RawHost], walltime: int, data: st.DataObject) -> None:
    slots = compute_slots(build(raw), walltime).unwrap()
    element = data.draw(st.sampled_from(sorted({s for _, s, _, _ in raw} | {c for _, _, c, _ in raw})))
    counts = [(slot.start, naive_counts(raw, slot.start, walltime)[element]) for slot in slots.slots]
    first = next((t for t, n in counts if n > 0), None)
    best = max((n for _, n in counts), default=0)
    got_first = find_first_slot(slots, {element: 1})
    got_max = find_max_slot(slots, {element: 1})
    if first is None:
        assert isinstance(got_first, Failure) and isinstance(got_max, Failure)
    else:
        assert got_first.unwrap().start == first
        assert got_max.unwrap().start == next(t for t, n in counts if n == best)


@given(st.data())
def test_excluded_hosts_and_clusters_reach_their_sites_filter(data: st.DataObject) -> None:
    """Whatever is excluded from the slots is filtered out of OAR's choice on its own site, even when the caller
    of get_jobs_specs does not repeat the exclusions (the slots remember them)."""
    raw = data.draw(raw_plannings())
    hosts = [h for h, _, _, _ in raw]
    clusters = sorted({c for _, _, c, _ in raw})
    excluded = data.draw(st.lists(st.sampled_from(hosts + clusters), min_size=1, max_size=3, unique=True))
    slots = compute_slots(build(raw), 10, excluded_elements=excluded).unwrap()
    left = sorted({s for h, s, c, _ in raw if h not in excluded and c not in excluded})
    if not left:
        return
    site = data.draw(st.sampled_from(left))
    slot = find_free_slot(slots, {site: 1})
    if isinstance(slot, Failure):
        return
    dist = distribute_hosts(slot.unwrap(), slots, {site: 1}).unwrap()
    (spec,) = get_jobs_specs(dist, slots, slot.unwrap()).unwrap()
    assert spec.site == site and RESOURCE_REQUEST.fullmatch(spec.resources)
    for h, s, c, _ in raw:
        if s != site:
            assert f"'{h}'" not in spec.resources and f"'{c}'" not in spec.resources
        elif c in excluded:
            assert re.search(rf"cluster NOT IN \([^)]*'{c}'", spec.resources), (c, spec.resources)
        elif h in excluded:
            assert re.search(rf"host NOT IN \([^)]*'{re.escape(h)}'", spec.resources), (h, spec.resources)
