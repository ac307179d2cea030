"""Core slots: free cores per element over time, and the first slot offering enough core-hours."""

from __future__ import annotations

from g5k.reference_data import embedded_snapshot
from returns.result import Failure

from g5kpure.errors import InvalidInput, NoSlot, NotFound
from g5kpure.planning import HostPlanning, Planning, compute_core_slots, find_core_slot

T0 = 1_800_000_000
H = 3600


def planning() -> Planning:
    return Planning(start=T0, end=T0 + 10 * H, hosts=(
        HostPlanning("nova-1.lyon.grid5000.fr", "lyon", "nova", ((T0, T0 + 2 * H),)),
        HostPlanning("nova-4.lyon.grid5000.fr", "lyon", "nova", ((T0 + 4 * H, T0 + 6 * H),)),
        HostPlanning("gros-1.nancy.grid5000.fr", "nancy", "gros", ()),
    ))


def cores(host: str) -> int:
    n: int = embedded_snapshot().node(host).unwrap().architecture.nb_cores
    assert n > 0
    return n


def test_free_cores_and_how_long_they_stay_free() -> None:
    slots = compute_core_slots(planning(), embedded_snapshot()).unwrap()
    nova, gros = cores("nova-1.lyon.grid5000.fr"), cores("gros-1.nancy.grid5000.fr")
    assert [s.start - T0 for s in slots] == [0, 2 * H, 4 * H, 6 * H]
    first = slots[0]  # nova-1 busy; nova-4 free until +4h; gros-1 free all along
    assert (first.free("nova"), first.free("lyon"), first.free("gros"), first.free("grid5000")) == (
        nova, nova, gros, nova + gros)
    assert first.end == T0 + 4 * H
    second = slots[1]  # both nova free; nova-4 until +4h
    assert second.free("nova") == 2 * nova and second.end == T0 + 4 * H
    third = slots[2]  # nova-4 busy; nova-1 free to the end
    assert third.free("nova") == nova and third.end == T0 + 10 * H
    assert slots[3].free("grid5000") == 2 * nova + gros and slots[3].free("atlantis") == 0


def test_first_slot_with_enough_core_hours() -> None:
    slots = compute_core_slots(planning(), embedded_snapshot()).unwrap()
    nova = cores("nova-1.lyon.grid5000.fr")
    # core-hours: one nova host free 4 h at T0 (4 * nova), two for 2 h at +2h (4 * nova), one for 6 h at +4h
    assert find_core_slot(slots, {"nova": 4 * nova}).unwrap().start == T0
    assert find_core_slot(slots, {"nova": 4 * nova + 1}).unwrap().start == T0 + 4 * H
    assert find_core_slot(slots, {"nova": 4 * nova + 1, "gros": 1}).unwrap().start == T0 + 4 * H
    assert find_core_slot(slots, {"nova": 1}).unwrap().start == T0
    never = find_core_slot(slots, {"nova": 10_000})
    assert isinstance(never, Failure) and isinstance(never.failure(), NoSlot)
    assert isinstance(find_core_slot(slots, {"nova": 0}).failure(), InvalidInput)


def test_unknown_host_is_an_error() -> None:
    bad = Planning(start=T0, end=T0 + H, hosts=(HostPlanning("atlantis-1.lyon.grid5000.fr", "lyon", "atlantis", ()),))
    assert isinstance(compute_core_slots(bad, embedded_snapshot()).failure(), NotFound)
