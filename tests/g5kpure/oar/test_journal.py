"""The submission journal's pure decisions: updates, leftovers of dead commands, matching by name, the notes."""

from __future__ import annotations

from returns.result import Success

from g5kpure.errors import ParseError, Rejected, Timeout, Unreachable
from g5kpure.oar import (
    LOST_GRACE,
    Journal,
    JournalEntry,
    JournalOwner,
    OarJob,
    OarJobInfo,
    OarState,
    Transaction,
    claim_named,
    close_transaction,
    delete_commands,
    describe_jobs,
    drop_entries,
    ends_by,
    find_leftovers,
    forget,
    generated_name,
    journal_to_json,
    keep_only,
    leftover_notice,
    maybe_submitted,
    open_transaction,
    parse_journal,
    record_job,
    record_sent,
    rollback_note,
    settled_unnamed,
)
from tests.conftest import failure_of

NOW = 1_800_000_000.0
HERE = JournalOwner("vm", "boot-1", 100, 5555)
ALIVE = JournalOwner("vm", "boot-1", 200, 6666)


def entry(key: str, frontend: str | None = "rennes", job_id: int | None = None, name: str = "exp",
          sent_at: float = NOW - 60, ends: float = NOW + 3600) -> JournalEntry:
    return JournalEntry(key, frontend, name, sent_at, ends, job_id)


def tx(tid: str, owner: JournalOwner, *entries: JournalEntry) -> Transaction:
    return Transaction(tid, owner, "g5k sub -l nodes=1", NOW - 100, entries)


def info(job_id: int, name: str | None = "exp", state: OarState = OarState.WAITING,
         submitted: int | None = int(NOW - 60)) -> OarJobInfo:
    return OarJobInfo(job_id, state, name=name, submission_time=submitted)


# ------------------------------------------------------------------------------------------- updates


def test_a_transaction_records_sent_submissions_then_their_ids_then_forgets_them() -> None:
    j = open_transaction(Journal(), tx("t1", HERE, entry("a")))
    j = record_sent(j, "t1", entry("b", "lyon"))
    j = record_job(j, "t1", "a", 41)
    got = j.get("t1")
    assert got is not None and [(e.key, e.job_id) for e in got.entries] == [("a", 41), ("b", None)]
    assert record_sent(j, "t1", entry("b", "lyon")) == j  # recording the same entry twice changes nothing
    assert drop_entries(j, "t1", ["b"]).get("t1").entries[0].key == "a"  # type: ignore[union-attr]
    assert keep_only(j, "t1", ["a"]).get("t1").entries == (entry("a", job_id=41),)  # type: ignore[union-attr]
    assert keep_only(j, "t1", []) == Journal()  # nothing left to clean: the transaction leaves the journal
    assert close_transaction(j, "t1") == Journal()
    assert close_transaction(j, "other") == j


def test_forget_drops_entries_across_transactions_and_the_transactions_left_empty() -> None:
    j = Journal((tx("t1", HERE, entry("a", job_id=1), entry("b", job_id=2)), tx("t2", HERE, entry("c", job_id=3))))
    left = forget(j, [("t1", "a"), ("t2", "c")])
    assert [t.id for t in left.transactions] == ["t1"]
    assert [e.key for e in left.transactions[0].entries] == ["b"]
    assert forget(j, []) == j


def test_a_job_surely_ends_at_its_reserved_start_plus_its_walltime() -> None:
    assert ends_by(NOW, None, 3600) == NOW + 3600
    assert ends_by(NOW, int(NOW) + 86400, 600) == NOW + 86400 + 600
    assert ends_by(NOW, int(NOW) - 50, 600) == NOW + 600  # a past date: OAR starts it now at the earliest
    assert ends_by(NOW, None, None) > NOW + 3600  # unknown walltime: a generous bound
    assert generated_name("ab12") == "g5k-ab12"


# ---------------------------------------------------------------------------------------------- the file


def test_the_file_reads_back_what_was_written() -> None:
    j = Journal((tx("t1", HERE, entry("a", job_id=7), entry("b", None)), tx("t2", ALIVE)))
    assert parse_journal(journal_to_json(j)) == Success(j)
    assert parse_journal("") == Success(Journal())


def test_a_damaged_file_is_a_parse_error_naming_it() -> None:
    for text in ("{", "[]", '{"format": 2, "transactions": []}', '{"format": 1}',
                 '{"format": 1, "transactions": [{"id": 3}]}',
                 journal_to_json(Journal((tx("t1", HERE, entry("a")),))).replace('"pid": 100', '"pid": "x"')):
        error = failure_of(parse_journal(text, "/s/journal.json"), ParseError)
        assert error.where == "/s/journal.json" and "g5k journal" in error.message


# ------------------------------------------------------------------------------------------- leftovers


def test_only_dead_owners_of_this_machine_leave_leftovers() -> None:
    rebooted = JournalOwner("vm", "boot-0", 200, 6666)  # same pid as a live process, previous boot
    elsewhere = JournalOwner("node-7", "boot-9", 100, 1)
    j = Journal((
        tx("dead", HERE, entry("a", job_id=1), entry("b", "lyon")),
        tx("live", ALIVE, entry("c", job_id=3)),
        tx("old-boot", rebooted, entry("d", job_id=4)),
        tx("remote", elsewhere, entry("e", job_id=5)),
        tx("ended", HERE, entry("f", job_id=6, ends=NOW - 1)),
        tx("empty", HERE),
    ))
    lo = find_leftovers(j, "vm", "boot-1", [ALIVE], NOW)
    assert [(x.transaction, x.entry.key) for x in lo.entries] == [("dead", "a"), ("dead", "b"), ("old-boot", "d")]
    assert lo.jobs == (OarJob(1, "rennes"), OarJob(4, "rennes"))
    assert [x.entry.key for x in lo.unnamed] == ["b"]
    assert lo.expired == (("ended", "f"),)
    assert [t.id for t in lo.elsewhere] == ["remote"]
    assert lo.empty == ("empty",)


def test_the_notice_is_one_line_naming_the_jobs_and_the_command_that_deletes_them() -> None:
    j = Journal((tx("t1", HERE, entry("a", job_id=12), entry("b", "lyon", name="g5k-ab12")),
                 tx("t2", JournalOwner("vm", "boot-1", 300, 1), entry("c", "nancy", job_id=13))))
    notice = leftover_notice(find_leftovers(j, "vm", "boot-1", [], NOW))
    assert notice is not None and "\n" not in notice
    assert "2 g5k commands that did not finish (pids 100, 300)" in notice
    assert "OAR jobs 12 on rennes; 13 on nancy" in notice
    assert "maybe a job named g5k-ab12 on lyon" in notice
    assert "`g5k cleanup`" in notice and "--dry-run" in notice
    assert leftover_notice(find_leftovers(j, "vm", "boot-1", [HERE, JournalOwner("vm", "boot-1", 300, 1)],
                                          NOW)) is None


# ------------------------------------------------------------------------------------ found by name


def test_an_entry_without_id_claims_the_earliest_live_job_of_its_name_once() -> None:
    j = Journal((tx("t", HERE, entry("a", name="exp", sent_at=NOW - 60), entry("b", name="exp", sent_at=NOW - 50),
                     entry("c", "lyon", name="exp"), entry("d", name="other")),))
    lo = find_leftovers(j, "vm", "boot-1", [], NOW)
    found: dict[str | None, list[OarJobInfo]] = {
        "rennes": [info(9, submitted=int(NOW - 40)), info(8, submitted=int(NOW - 58)),
                   info(7, state=OarState.ERROR), info(6, submitted=int(NOW - 4000)), info(5, name="x")]}
    claimed = claim_named(lo.unnamed, found)
    # a and b take 8 then 9; ended jobs, jobs older than the slack and other names are never taken; lyon unread
    assert claimed == {("t", "a"): 8, ("t", "b"): 9}
    assert claim_named(lo.unnamed, found, known=[OarJob(8, "rennes")]) == {("t", "a"): 9}


def test_an_entry_without_id_is_settled_once_its_frontend_was_read_and_the_grace_passed() -> None:
    j = Journal((tx("t", HERE, entry("old", sent_at=NOW - LOST_GRACE - 1), entry("new", sent_at=NOW - 1),
                     entry("far", "lyon", sent_at=NOW - 999)),))
    lo = find_leftovers(j, "vm", "boot-1", [], NOW)
    assert settled_unnamed(lo.unnamed, ["rennes"], {}, NOW) == (("t", "old"),)
    assert settled_unnamed(lo.unnamed, ["rennes"], {("t", "old"): 3}, NOW) == ()  # found: deleted, not settled


def test_only_a_timeout_or_a_connection_lost_mid_command_may_have_created_a_job() -> None:
    assert maybe_submitted(Timeout("command 'oarsub'", 60.0, "rennes"))
    assert maybe_submitted(Unreachable("rennes", "connection lost before the command finished"))
    assert maybe_submitted(Unreachable("rennes", "connection lost: EOF"))
    assert not maybe_submitted(Unreachable("lille", "[Errno 111] Connection refused"))
    assert not maybe_submitted(Rejected("bad property", 6))


# ------------------------------------------------------------------------------------------------- notes


def test_rollback_notes_say_what_was_deleted_and_how_to_delete_what_was_left() -> None:
    jobs = [OarJob(12, "rennes"), OarJob(14, "rennes"), OarJob(13, "nancy")]
    assert describe_jobs(jobs) == "12, 14 on rennes; 13 on nancy"
    assert describe_jobs([OarJob(5)]) == "5 on the default frontend"
    assert delete_commands(jobs) == "`g5k del 12 14 --frontend rennes`, `g5k del 13 --frontend nancy`"
    assert rollback_note(jobs, [], []) == "deleted OAR jobs 12, 14 on rennes; 13 on nancy"
    left = rollback_note(jobs[:1], jobs[2:], [entry("x", "lyon", name="g5k-1")], abandoned=True)
    assert left == ("deleted OAR jobs 12 on rennes; left OAR jobs 13 on nancy: delete them with `g5k cleanup` or "
                    "`g5k del 13 --frontend nancy`; maybe left a job named g5k-1 on lyon (its id never came back): "
                    "`g5k cleanup` looks for it")
    assert "could NOT delete OAR jobs 13" in rollback_note([], jobs[2:], [])
    assert "OAR is still killing jobs 13 on nancy" in rollback_note([], [], [], killing=jobs[2:])
    assert rollback_note([], [], []) == "nothing was left submitted"
