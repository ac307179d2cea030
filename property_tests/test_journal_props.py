"""Properties of the submission journal: the file reads back what was written, reading is total, leftovers
partition what dead owners hold, and a job found by name is claimed at most once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from returns.result import Success

from g5kpure.oar import (
    Journal,
    JournalEntry,
    JournalOwner,
    OarJob,
    OarJobInfo,
    OarState,
    Transaction,
    claim_named,
    find_leftovers,
    forget,
    journal_to_json,
    parse_journal,
)

NOW = 1_800_000_000.0
text = st.text(max_size=12)
frontends = st.sampled_from([None, "rennes", "lyon"])
owners = st.builds(JournalOwner, st.sampled_from(["vm", "node-1"]), st.sampled_from(["b1", "b2"]),
                   st.integers(1, 5), st.integers(0, 3))
entries = st.builds(JournalEntry, st.uuids().map(lambda u: u.hex[:8]), frontends, st.sampled_from(["a", "b", "c"]),
                    st.floats(NOW - 500, NOW, allow_nan=False), st.floats(NOW - 100, NOW + 100, allow_nan=False),
                    st.none() | st.integers(1, 50))
transactions = st.builds(Transaction, st.uuids().map(lambda u: u.hex), owners, text,
                         st.floats(NOW - 1000, NOW, allow_nan=False), st.lists(entries, max_size=4).map(tuple))
journals = st.lists(transactions, max_size=4).map(lambda ts: Journal(tuple(ts)))


@given(journals)
def test_the_file_reads_back_what_was_written(journal: Journal) -> None:
    assert parse_journal(journal_to_json(journal)) == Success(journal)


@given(st.text())
def test_reading_any_text_is_a_result(anything: str) -> None:
    parse_journal(anything)


@given(journals, st.lists(owners, max_size=3))
def test_leftovers_partition_what_dead_owners_of_this_machine_hold(journal: Journal, live: list[JournalOwner]) -> None:
    lo = find_leftovers(journal, "vm", "b1", live, NOW)
    dead = [t for t in journal.transactions if t.owner.host == "vm" and not (t.owner.boot == "b1" and t.owner in live)]
    held = sorted((t.id, e.key) for t in dead for e in t.entries)
    assert sorted([x.ref for x in lo.entries] + list(lo.expired)) == held
    assert not set(x.ref for x in lo.entries) & set(lo.expired)
    assert all(x.entry.ends_by >= NOW for x in lo.entries)
    assert [t.id for t in lo.elsewhere] == [t.id for t in journal.transactions if t.owner.host != "vm"]
    # forgetting everything found leaves the others' transactions (and the dead ones that held nothing)
    rest = forget(journal, [x.ref for x in lo.entries] + list(lo.expired))
    assert [t.id for t in rest.transactions] == [t.id for t in journal.transactions
                                                 if t not in dead or not t.entries]


@given(journals, st.lists(st.builds(OarJobInfo, st.integers(1, 30), st.sampled_from(list(OarState)),
                                    name=st.sampled_from(["a", "b", "c"]),
                                    submission_time=st.none() | st.integers(int(NOW) - 1000, int(NOW))), max_size=8),
       st.lists(st.integers(1, 30), max_size=4))
def test_a_job_is_claimed_at_most_once_never_when_known_and_only_by_its_name(
    journal: Journal, infos: list[OarJobInfo], known_ids: list[int]
) -> None:
    lo = find_leftovers(journal, "vm", "b1", [], NOW)
    known = [OarJob(i, "rennes") for i in known_ids]
    claimed = claim_named(lo.unnamed, {"rennes": infos}, known)
    by_ref = {x.ref: x.entry for x in lo.unnamed}
    assert len(set(claimed.values())) == len(claimed)
    assert not set(claimed.values()) & set(known_ids)
    for ref, job_id in claimed.items():
        entry = by_ref[ref]
        assert entry.frontend == "rennes"
        assert any(i.job_id == job_id and i.name == entry.name and not i.state.is_final for i in infos)
