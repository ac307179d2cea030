"""Every OAR generation parses to the same values: real captures of OAR 2.6.1 (the user commands of Grid'5000's
2.5.10, text formats 1, 2 and 3) beside OAR 2.5.9 for the same jobs, and the outputs of OAR 3.0.2's own code.

Pairs come from the capture sets' INDEX/README: in ``tests/fixtures/oar-2.6.1`` the job of a role (``running`` is
job 255...) was printed by 2.5.9 on nancy and 2.6.1 on grenoble; ``tests/fixtures/oar-2.6`` has jobs 8, 13 and 15
printed by both oarstat versions; ``tests/fixtures/oar-generations`` has ``oarstat -c``, several jobs in one
``-f`` and a multi-line event, printed by both. The servers ran in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import attrs
import pytest
from returns.result import Failure, Result, Success

from g5kpure.errors import CommandFailed, G5kError, NotFound, ParseError, Partial, Rejected, SiteAnswer
from g5kpure.oar import (
    CommonDatePolicy,
    DelStatus,
    GiveUp,
    OarDelResult,
    OarEvent,
    OarGeneration,
    OarJobInfo,
    OarJobSummary,
    OarState,
    OarstatFormat,
    classify_deletions,
    next_common_date,
    oar_date_to_unixts,
    oarstat_format_of,
    parse_job_nodes,
    parse_oar_probe,
    parse_oar_version,
    parse_oardel_output,
    parse_oarstat_events,
    parse_oarstat_job_json,
    parse_oarstat_job_text,
    parse_oarstat_jobs_json,
    parse_oarstat_jobs_text,
    parse_oarstat_list,
    parse_oarstat_states,
    parse_oarsub_output,
)
from g5kpure.oar.version import PROBE_MARK
from tests.conftest import FIXTURES_DIR

V26 = FIXTURES_DIR / "oar-2.6.1"
STAT26 = FIXTURES_DIR / "oar-2.6"
OAR3 = FIXTURES_DIR / "oar3"
GEN = FIXTURES_DIR / "oar-generations"


def load(folder: Path, name: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a capture."""
    rc = int((folder / f"{name}.rc").read_text().strip())
    return rc, (folder / f"{name}.stdout").read_text(), (folder / f"{name}.stderr").read_text()


def ts(text: str) -> int:
    return int(oar_date_to_unixts(text, tz=UTC).unwrap())


def job(folder: Path, name: str) -> OarJobInfo:
    """The one job of an ``oarstat -f`` capture, text or JSON."""
    rc, out, err = load(folder, name)
    if "_J_" in name or "J_j" in name:
        return parse_oarstat_job_json(rc, out, err).unwrap()
    return parse_oarstat_job_text(rc, out, err, tz=UTC).unwrap()


def printed_by_both(a: OarJobInfo, b: OarJobInfo) -> dict[str, tuple[Any, Any]]:
    """The fields both outputs print whose values differ."""
    skip = set(a.not_printed) | set(b.not_printed) | {"not_printed"}
    return {
        f.name: (getattr(a, f.name), getattr(b, f.name))
        for f in attrs.fields(OarJobInfo)
        if f.name not in skip and getattr(a, f.name) != getattr(b, f.name)
    }


# ------------------------------------------------------------------------- one job, every generation and format

#: Per job role of the 2.6.1 capture set: its 2.5.9 text capture, then every other capture of the same job.
SAME_JOB = {
    "running": ["v259_oarstat_f_J_j_running", "v261_oarstat_f_j_running", "v261_oarstat_f_J_j_running",
                "v261_oarstat_J_j_running"]
               + [f"v261_oarstat_fmt{n}_{k}_j_running" for n in (1, 2, 3) for k in ("f", "f_J")],
    "terminated_exit3": ["v259_oarstat_f_J_j_terminated_exit3", "v261_oarstat_f_j_terminated_exit3",
                         "v261_oarstat_f_J_j_terminated_exit3"],
    "hold": ["v261_oarstat_f_j_hold"],
    "reservation": ["v259_oarstat_f_J_j_reservation", "v261_oarstat_f_j_reservation",
                    "v261_oarstat_f_J_j_reservation"],
    "deleted": ["v259_oarstat_f_J_j_deleted", "v261_oarstat_f_j_deleted", "v261_oarstat_f_J_j_deleted"],
}  # fmt: skip


@pytest.mark.parametrize(("role", "names"), sorted(SAME_JOB.items()))
def test_oar_2_6_captures_of_a_job_equal_its_2_5_9_capture(role: str, names: list[str]) -> None:
    base = job(V26, f"v259_oarstat_f_j_{role}")
    assert base.not_printed == () and base.events is not None
    for name in names:
        assert job(V26, name) == base, name


def test_the_job_kind_survives_format_3() -> None:
    assert job(V26, "v261_oarstat_f_j_running").job_kind == "PASSIVE"  # format 3 prints "type = PASSIVE"
    assert job(V26, "v261_oarstat_f_J_j_reservation").job_kind == "INTERACTIVE"
    assert job(V26, "v261_oarstat_f_J_j_running").types == ()


def test_a_refused_reservation_reads_the_same_in_both_generations() -> None:
    # two jobs (269 by 2.6.1's oarsub, 270 by 2.5.9's) asking the same: only what makes them two jobs differs
    a, b = job(V26, "v259_oarstat_f_j_reservation_refused"), job(V26, "v261_oarstat_f_j_reservation_refused")
    assert set(printed_by_both(a, b)) <= {"job_id", "array_id", "name", "submission_time", "initial_request", "events"}
    assert (b.state, b.reservation, b.message, b.job_kind) == (a.state, a.reservation, a.message, "INTERACTIVE")
    assert [e.kind for e in a.events or ()] == [e.kind for e in b.events or ()]
    assert job(V26, "v261_oarstat_f_J_j_reservation_refused") == b


def test_oarstat_2_5_9_json_without_f_leaves_out_what_it_does_not_print() -> None:
    base = job(V26, "v259_oarstat_f_j_running")
    short = job(V26, "v259_oarstat_J_j_running")
    assert printed_by_both(base, short) == {}
    assert short.events is None and short.wanted_resources is None and short.scheduled_start is None
    assert {"events", "exit_code", "scheduled_start", "wanted_resources", "initial_request"} <= set(short.not_printed)
    assert short.walltime == 1200  # not printed, but read from the message's W=


@pytest.mark.parametrize("job_id", [8, 13, 15])
def test_oarstat_2_6_1_and_2_5_9_of_jobs_8_13_15_agree_in_every_format(job_id: int) -> None:
    base = job(STAT26, f"v259_job{job_id}_f_j")
    for kind in ("f_J_j", "J_j", "fmt1_f_j", "fmt3_f_j", "fmt3_f_J_j", "f_j"):
        assert job(STAT26, f"v261_job{job_id}_{kind}") == base, kind
    assert job(STAT26, f"v259_job{job_id}_f_J_j") == base
    assert printed_by_both(base, job(STAT26, f"v259_job{job_id}_J_j")) == {}


def test_multi_line_events_read_the_same_in_every_generation() -> None:
    description = "A description on three lines\nits second line\n\nits fourth line, after a blank one"
    event = OarEvent(ts("2026-12-04 16:11:40"), "G5KPURE_CAPTURE", description)
    names = ["v259_oarstat_f_j_multiline", "v261_oarstat_f_j_multiline", "v261_oarstat_fmt2_f_j_multiline",
             "v259_oarstat_f_J_j_multiline", "v261_oarstat_f_J_j_multiline"]  # fmt: skip
    infos = [job(GEN, n) for n in names]
    assert all(i.events == (event,) for i in infos)
    assert all(i == infos[0] for i in infos)
    for name in ("v259_oarstat_e_j_multiline", "v261_oarstat_e_j_multiline"):
        assert parse_oarstat_events(*load(GEN, name), tz=UTC) == Success(((647, event),)), name


def test_oarstat_f_without_j_reads_every_job() -> None:
    old = parse_oarstat_jobs_text(*load(GEN, "v259_oarstat_f_u"), tz=UTC).unwrap()
    new = parse_oarstat_jobs_text(*load(GEN, "v261_oarstat_f_u"), tz=UTC).unwrap()
    assert [j.job_id for j in old] == [644, 645, 646, 647] and old == new
    assert [(j.array_id, j.array_index) for j in old[:3]] == [(644, 1), (644, 2), (644, 3)]
    assert all(j.owner == "carol" and j.state is OarState.RUNNING for j in old)
    e = parse_oarstat_job_text(*load(GEN, "v259_oarstat_f_u"), tz=UTC).failure()
    assert isinstance(e, ParseError) and "4 jobs" in e.message
    assert parse_oarstat_job_text(*load(GEN, "v261_oarstat_f_u"), job_id=646, tz=UTC).unwrap() == old[2]
    missing = parse_oarstat_job_text(*load(GEN, "v261_oarstat_f_u"), job_id=5, tz=UTC).failure()
    assert isinstance(missing, NotFound) and missing.key == "5"


# ----------------------------------------------------------------------------------------------- listings


def rows(folder: Path, name: str) -> tuple[OarJobSummary, ...]:
    return parse_oarstat_list(*load(folder, name), tz=UTC).unwrap()


def same_where_both_print(a: OarJobSummary, b: OarJobSummary, *, but: tuple[str, ...] = ()) -> None:
    for f in attrs.fields(OarJobSummary):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if x is not None and y is not None and f.name not in but:
            assert x == y, (f.name, x, y)


def test_listings_of_both_generations_agree_where_both_show_a_column() -> None:
    f2 = rows(V26, "v259_oarstat_list_sql")  # 2.5.9's default: format 2
    f3 = rows(V26, "v261_oarstat_list_sql")  # 2.6.1 on Grid'5000: format 3
    assert [r.job_id for r in f2] == [r.job_id for r in f3] == list(range(255, 266))
    for a, b in zip(f2, f3, strict=True):
        same_where_both_print(a, b)
        assert (a.submission_time, a.queue, b.walltime, b.types, b.duration, b.message) == (None,) * 6
        assert b.submission_time is not None and b.queue == "default" and a.walltime is not None
    types = {r.job_id: r for r in f2}[262]
    assert types.types == ("night", "origin") and types.project == "capture"
    fmt2 = rows(V26, "v261_oarstat_fmt2_list_sql")
    for a, b in zip(f2, fmt2, strict=True):
        same_where_both_print(a, b, but=("duration",))  # printed a few seconds apart
    assert rows(V26, "v261_oarstat_fmt1_list_sql") == f3
    assert rows(V26, "v261_oarstat_u") == tuple(r for r in f3 if r.state is not OarState.TERMINATED)


def test_array_listings_in_both_layouts() -> None:
    f1 = rows(V26, "v261_oarstat_array")
    f2 = rows(V26, "v261_oarstat_fmt2_array")
    assert [(r.job_id, r.array_id, r.array_index) for r in f1] == [(257, 257, 1), (258, 257, 2), (259, 257, 3)]
    assert [(r.job_id, r.array_id, r.array_index) for r in f2] == [(257, 257, 1), (258, 257, 2), (259, 257, 3)]
    assert f1[0].name == "cap-array" and f1[0].queue == "default" and f2[0].walltime == 1200


def test_compacted_arrays_oarstat_c_in_every_format() -> None:
    for name in ("v259_oarstat_c_u", "v261_oarstat_c_u", "v261_oarstat_fmt2_c_u", "v259_oarstat_format1_c_u"):
        compact, single = rows(GEN, name)
        assert (compact.job_id, compact.array_id, compact.array_count, compact.state) == (
            644, 644, 3, OarState.UNKNOWN
        ), name  # fmt: skip
        assert (single.job_id, single.array_count, single.state) == (647, None, OarState.RUNNING), name
        assert compact.user == "carol" and compact.name == "cap-compact", name


def test_a_value_that_fills_its_column_may_be_cut_and_is_unknown() -> None:
    text = (
        "Job id    S User     Duration   System message\n"
        "--------- - -------- ---------- ------------------------------------------------\n"
        "12        R longname    0:00:01 R=1,W=0:5:0,J=B,N=x (Karma=0.000,quota_ok)\n"
        "13        R short       0:00:01 R=1,W=0:5:0,J=B,N=a name longer than its dashes and still read whole\n"
    )
    cut, whole = parse_oarstat_list(0, text).unwrap()
    assert cut.user is None and whole.user == "short"
    assert whole.name == "a name longer than its dashes and still read whole"


def test_oarstat_s_of_both_generations() -> None:
    old = parse_oarstat_states(*load(V26, "v259_oarstat_s_j_several")).unwrap()
    assert old == parse_oarstat_states(*load(V26, "v261_oarstat_s_j_several")).unwrap()
    assert old == {255: OarState.RUNNING, 256: OarState.RUNNING, 260: OarState.TERMINATED}
    for folder, name in ((V26, "v259_oarstat_s_without_j"), (V26, "v261_oarstat_s_without_j")):
        assert isinstance(parse_oarstat_states(*load(folder, name)).failure(), CommandFailed)


@pytest.mark.parametrize("role", ["running", "deleted"])
def test_oarstat_e_of_both_generations(role: str) -> None:
    old = parse_oarstat_events(*load(V26, f"v259_oarstat_e_j_{role}"), tz=UTC)
    assert old == parse_oarstat_events(*load(V26, f"v261_oarstat_e_j_{role}"), tz=UTC)
    if role == "deleted":
        assert [(j, e.kind) for j, e in old.unwrap()] == [
            (256, "FRAG_JOB_REQUEST"), (256, "SEND_KILL_JOB"), (256, "SWITCH_INTO_ERROR_STATE")
        ]  # fmt: skip
        assert old.unwrap() == tuple((256, e) for e in job(V26, "v261_oarstat_f_j_deleted").events or ())


def test_oarstat_p_and_json_hosts_of_2_6_1() -> None:
    assert parse_job_nodes(*load(V26, "v261_oarstat_p_j_running")) == Success(("parasilo-1.rennes.grid5000.fr",))
    assert parse_job_nodes(*load(V26, "v261_oarstat_J_j_running")) == Success(("parasilo-1.rennes.grid5000.fr",))


# ------------------------------------------------------------------------------------------- oarsub, oardel


def sub(folder: Path, name: str) -> Result[Any, G5kError]:
    return parse_oarsub_output(*load(folder, name), tz=UTC)


@pytest.mark.parametrize(
    ("name", "ids", "array_id", "accepted"),
    [
        ("v261_oarsub_plain", (255,), None, None),
        ("v259_oarsub_plain", (264,), None, None),
        ("v261_oarsub_J", (256,), None, None),  # bare JSON
        ("v259_oarsub_J", (265,), None, None),  # JSON framed by ##########
        ("v261_oarsub_array", (257, 258, 259), 257, None),
        ("v261_oarsub_reservation_accepted", (268,), None, True),  # "# Reservation valid --> OK"
        ("v259_oarsub_reservation_accepted", (272,), None, True),
        ("v261_oarsub_hold", (263,), None, None),
        ("v261_oarsub_default_walltime", (261,), None, None),
    ],
)
def test_oarsub_accepted_in_both_generations(name: str, ids: tuple[int, ...], array_id: int | None,
                                             accepted: bool | None) -> None:  # fmt: skip
    r = sub(V26, name).unwrap()
    assert (r.job_ids, r.array_id, r.reservation_accepted) == (ids, array_id, accepted)
    assert not any(m.startswith("# ") for m in r.messages)


SAME_REFUSAL = {
    "unknown_type": (254, "[ADMISSION RULE] Error: unknown job type: nosuchtype"),
    "admin_queue": (254, "[ADMISSION RULE] Only member of the group admin can submit jobs in the admin queue"),
    "too_many_nodes": (8, "There are not enough resources for your request"),
    "unknown_property": (8, 'Bad resource request (ERROR:  column "nosuchprop" does not exist'),
    "unknown_option": (1, "Unknown option: nosuchoption"),
    "no_command": (5, "oarsub printed its usage"),
}


@pytest.mark.parametrize(("case", "expected"), sorted(SAME_REFUSAL.items()))
def test_oarsub_refusals_read_the_same_without_2_6_s_hash_prefix(case: str, expected: tuple[int, str]) -> None:
    old, new = sub(V26, f"v259_oarsub_{case}").failure(), sub(V26, f"v261_oarsub_{case}").failure()
    assert isinstance(old, Rejected) and isinstance(new, Rejected)
    assert old.exit_code == new.exit_code == expected[0]
    assert old.reason.startswith(expected[1]) and new.reason.startswith(expected[1])
    assert old.reason == new.reason


def test_oarsub_refusals_worded_differently_by_2_6_keep_oar_s_words() -> None:
    queue = sub(V26, "v261_oarsub_unknown_queue").failure()
    assert isinstance(queue, Rejected) and queue.reason == "Error: queue 'nosuchqueue' does not exist"
    wall = sub(V26, "v261_oarsub_bad_walltime").failure()
    assert isinstance(wall, Rejected) and wall.exit_code == 18 and "walltime=abc" in wall.reason
    date = sub(V26, "v261_oarsub_bad_reservation_date").failure()
    assert isinstance(date, Rejected) and date.exit_code == 7 and "-r or --reservation" in date.reason


def test_a_refused_reservation_gives_the_same_could_run_at_in_both_generations() -> None:
    old = sub(V26, "v259_oarsub_reservation_refused_could_run").failure()
    new = sub(V26, "v261_oarsub_reservation_refused_could_run").failure()
    assert isinstance(old, Rejected) and isinstance(new, Rejected)
    assert old.could_run_at == new.could_run_at == ts("2027-01-03 05:01:01")
    assert new.reason == (
        "reservation refused: This reservation could run at 2027-01-03 05:01:01 (OAR created job 269 in state Error)"
    )
    too_old = sub(V26, "v261_oarsub_reservation_too_old").failure()
    assert isinstance(too_old, Rejected) and too_old.could_run_at is None and "Reservation too old" in too_old.reason


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("v261_oardel_running", OarDelResult((256,))),
        ("v259_oardel_running", OarDelResult((264,))),
        ("v261_oardel_several", OarDelResult((255, 263))),
        ("v261_oardel_array", OarDelResult((257, 258, 259))),
        ("v261_oardel_already_deleted", OarDelResult((), (256,))),
        ("oar3_oardel_ok", OarDelResult((2,))),
    ],
)
def test_oardel_deleted_in_every_generation(name: str, expected: OarDelResult) -> None:
    folder = OAR3 if name.startswith("oar3") else V26
    assert parse_oardel_output(*load(folder, name)) == Success(expected)


def test_oardel_refusals_are_rejected_with_oar_s_reason_in_every_generation() -> None:
    for folder, name, job_id, reason in (
        (V26, "v261_oardel_other_user", 255, "You are not the right user."),
        (V26, "v259_oardel_nonexistent", 99999999, "You are not the right user."),
        (OAR3, "oar3_oardel_nonexistent", 999, "Job does not exist."),
    ):
        e = parse_oardel_output(*load(folder, name)).failure()
        assert isinstance(e, Rejected) and f"cannot delete job {job_id}: {reason}" in e.reason, name
    bad = parse_oardel_output(*load(V26, "v261_oardel_bad_id")).failure()
    assert isinstance(bad, CommandFailed) and bad.exit_code == 4


def test_oar3_deletions_are_classified_per_job() -> None:
    running = {2: OarState.RUNNING, 999: OarState.RUNNING, 3: OarState.RUNNING}
    stderr = ("Deleting the job = 2 ...\nDeleting the job = 999 ...\n#WARNING: Cannot frag 999 ; Job does not exist.\n"
              "Deleting the job = 3 ...\n#WARNING: Cannot frag 3 ; This job was already killed.\n"
              "The job(s) ['2']  will be deleted in the near future.\n")  # fmt: skip
    outcomes = classify_deletions("site", [2, 999, 3], running, 15, "", stderr)
    assert [o.status for o in outcomes] == [DelStatus.DELETED, DelStatus.NOT_FOUND, DelStatus.ALREADY_FINISHED]
    mixed = parse_oardel_output(15, "", stderr).failure()
    assert isinstance(mixed, Partial) and mixed.succeeded == ("2", "3") and mixed.failed[0][0] == "999"
    refused = "Deleting the job = 4 ...\n#ERROR: Cannot frag 4 ; You are not the right user.\n"
    outcome = classify_deletions(None, [4], {4: OarState.RUNNING}, 1, "", refused)[0]
    assert outcome.status is DelStatus.NOT_YOURS and isinstance(outcome.error, Rejected)


# ------------------------------------------------------------------------------------ OAR 3.0.2's own outputs


def test_oar3_oarstat_f_text_reads_what_it_shows() -> None:
    running = job(OAR3, "oar3_f_j_running_2hosts")
    assert (running.job_id, running.state, running.owner, running.name, running.queue) == (
        2, OarState.RUNNING, "alice", "g5kpure it", "default"
    )  # fmt: skip
    assert running.assigned_hosts == ("parasilo-1.rennes.grid5000.fr", "parasilo-2.rennes.grid5000.fr")
    assert running.types == ("deploy", "origin=g5kpure") and running.job_kind == "PASSIVE"
    assert (running.walltime, running.exit_code, running.array_id, running.array_index) == (600, None, 2, 1)
    assert (running.submission_time, running.start_time, running.stop_time) == (
        ts("2026-12-02 05:23:20"), ts("2026-12-02 05:23:22"), None
    )  # fmt: skip
    # a value wrapped at 80 columns is joined back
    assert running.initial_request == "oarsub -l nodes=2,walltime=0:10:00 -n g5kpure it sleep 600"
    assert running.events is None and running.assigned_resources is None and running.scheduled_start is None
    assert set(running.not_printed) == {"scheduled_start", "assigned_resources", "wanted_resources", "events"}
    done = job(OAR3, "oar3_f_j_terminated_exit0")
    assert (done.exit_code, done.exit_status, done.types, done.project) == (0, 0, (), "")
    assert done.assigned_hosts == ("parasilo-1.rennes.grid5000.fr",) and done.stop_time == ts("2026-12-02 05:23:25")
    waiting = job(OAR3, "oar3_f_j_waiting")
    assert (waiting.state, waiting.types, waiting.assigned_hosts, waiting.start_time, waiting.exit_code) == (
        OarState.WAITING, ("origin=g5kpure",), (), None, None
    )  # fmt: skip


def test_oar3_oarstat_json_reads_what_it_shows_and_leaves_out_the_rest() -> None:
    full = job(OAR3, "oar3_f_J_j_running_2hosts")
    text = job(OAR3, "oar3_f_j_running_2hosts")
    assert printed_by_both(full, text) == {}
    assert full.owner == "alice" and full.job_kind == "PASSIVE" and full.walltime == 600  # from the message
    assert {"assigned_hosts", "types", "events"} <= set(full.not_printed)
    done = job(OAR3, "oar3_f_J_j_terminated_exit0")
    assert (done.exit_code, done.exit_status, done.stop_time) == (0, 0, ts("2026-12-02 05:23:25"))
    short = job(OAR3, "oar3_J_j_running_2hosts")
    assert (short.owner, short.name, short.queue) == ("alice", "g5kpure it", "default")
    assert short.submission_time == 1796189000
    assert short.message is None and short.command is None and "assigned_hosts" in short.not_printed
    assert parse_oarstat_jobs_json(*load(OAR3, "oar3_f_J_j_nonexistent")) == Success(())
    hosts = parse_job_nodes(*load(OAR3, "oar3_f_J_j_running_2hosts")).failure()
    assert isinstance(hosts, ParseError) and "does not print the hosts" in hosts.message


def test_oar3_listing_events_and_states() -> None:
    listed = rows(OAR3, "oar3_list")
    assert [(r.job_id, r.state, r.user, r.queue) for r in listed] == [
        (1, OarState.WAITING, "alice", "default"), (2, OarState.RUNNING, "alice", "default"),
        (4, OarState.WAITING, "alice", "default"),
    ]  # fmt: skip
    assert [(r.name, r.duration) for r in listed] == [(None, None), ("g5kpure it", 598), (None, None)]
    assert listed[1].message is None and listed[1].types is None  # its message is cut (…): unknown
    assert listed[2].message == "R=4,W=1:0:0,J=R" and listed[2].walltime == 3600 and listed[2].types == ()
    for name in ("oar3_e_j_running_2hosts", "oar3_e_j_waiting"):
        assert parse_oarstat_events(*load(OAR3, name), tz=UTC) == Success(())
    assert parse_oarstat_states(*load(OAR3, "oar3_s_j_running_2hosts")) == Success({2: OarState.RUNNING})
    assert parse_oarstat_states(*load(OAR3, "oar3_s_j_nonexistent")) == Success({})
    assert parse_oarstat_jobs_text(*load(OAR3, "oar3_f_j_nonexistent")) == Success(())


def test_oar3_tables_with_wrapped_and_cut_cells() -> None:
    first, long, short = rows(GEN, "rich_oar3_list")
    assert (first.job_id, first.name, first.duration, first.message) == (1, None, None, None)
    assert (long.name, long.duration, long.queue, long.user) == (
        "a rather long job name", 86400 + 2 * 3600 + 3 * 60 + 4, "production", "bob"
    )  # fmt: skip
    assert (short.job_id, short.name, short.queue, short.walltime) == (12, "xp", "besteffort", None)
    events = parse_oarstat_events(*load(GEN, "rich_oar3_e"), tz=UTC).unwrap()
    assert events[0] == (8, OarEvent(ts("2026-12-02 05:25:05"), "FRAG_JOB_REQUEST",
                                     "User alice requested to frag the job 8"))  # fmt: skip
    assert events[1][1].description.endswith("grid500… for job 8")  # cut by the table: visibly


def test_oar3_oarsub() -> None:
    assert sub(OAR3, "oar3_oarsub_ok").unwrap().job_ids == (4,)
    e = sub(OAR3, "oar3_oarsub_too_many").failure()
    assert isinstance(e, Rejected) and e.reason == "There are not enough resources for your request"
    assert e.exit_code == 1


# OAR 3.0.2's oarsub (oar/cli/oarsub.py) on an advance reservation: "OAR_JOB_ID=N" on stdout, then on stderr
# "Advance reservation request: waiting for approval from the scheduler...", the scheduler's answer when it is
# not GOOD RESERVATION, and "Advance reservation is GRANTED." / "... is REJECTED."; exit code 0 either way.
OAR3_WAIT = "Advance reservation request: waiting for approval from the scheduler...\n"


def test_oar3_reservation_granted_and_rejected() -> None:
    granted = parse_oarsub_output(0, "OAR_JOB_ID=7\n", OAR3_WAIT + "Advance reservation is GRANTED.\n").unwrap()
    assert (granted.job_id, granted.reservation_accepted) == (7, True)
    bare = parse_oarsub_output(0, "OAR_JOB_ID=8\n", OAR3_WAIT + "Advance reservation is REJECTED.\n").failure()
    assert isinstance(bare, Rejected) and bare.could_run_at is None and bare.exit_code == 0
    assert "advance reservation rejected" in bare.reason and "job 8 in state Error" in bare.reason
    said = OAR3_WAIT + "This reservation cannot be run\nAdvance reservation is REJECTED.\n"
    why = parse_oarsub_output(0, "OAR_JOB_ID=9\n", said).failure()
    assert isinstance(why, Rejected) and "This reservation cannot be run" in why.reason
    admission = parse_oarsub_output(1, "# ADMISSION RULE> Only member of the group admin can submit\n", "").failure()
    assert isinstance(admission, Rejected)
    assert admission.reason == "[ADMISSION RULE] Only member of the group admin can submit"


def test_a_bare_oar3_rejection_ends_the_common_date_search_saying_why() -> None:
    refusal = parse_oarsub_output(0, "OAR_JOB_ID=8\n", OAR3_WAIT + "Advance reservation is REJECTED.\n").failure()
    answers = [SiteAnswer("rennes", job_id=11), SiteAnswer("nancy", error=refusal)]
    step = next_common_date(1_800_000_000, answers, 1, CommonDatePolicy())
    assert isinstance(step, GiveUp)
    assert "nancy" in step.why and "advance reservation rejected" in step.why and "another date" in step.why


# -------------------------------------------------------------------------------------- versions and formats


@pytest.mark.parametrize(
    ("folder", "name", "text", "generation"),
    [(V26, f"v261_{c}_V", "2.6.1", OarGeneration.OAR_2_6)
     for c in ("oarstat", "oarsub", "oardel", "oarwalltime", "oarnodes", "oarhold", "oarresume")]
    + [(V26, f"v259_{c}_V", "2.5.9", OarGeneration.OAR_2_5) for c in ("oarstat", "oarsub", "oardel", "oarwalltime")]
    + [(STAT26, "v261_version", "2.6.1", OarGeneration.OAR_2_6)],
)  # fmt: skip
def test_versions(folder: Path, name: str, text: str, generation: OarGeneration) -> None:
    v = parse_oar_version(*load(folder, name)).unwrap()
    assert (v.text, v.generation) == (text, generation)
    assert str(v) == ("2.6.1 (Liberty hope)" if text == "2.6.1" else "2.5.9 (Canicule)")


def test_versions_of_2_5_10_and_oar_3_and_garbage() -> None:
    assert parse_oar_version(0, "OAR version: 2.5.10\n").unwrap().generation is OarGeneration.OAR_2_6
    assert parse_oar_version(0, "OAR version : 3.0.2\n").unwrap().generation is OarGeneration.OAR_3
    assert isinstance(parse_oar_version(0, "oarstat: command not found\n").failure(), ParseError)
    assert isinstance(parse_oar_version(127, "", "sh: oarstat: not found").failure(), CommandFailed)


@pytest.mark.parametrize(
    ("folder", "name", "fmt"),
    [
        (V26, "v259_oarstat_f_j_running", OarstatFormat.CAMEL_CASE),
        (V26, "v261_oarstat_fmt1_f_j_running", OarstatFormat.CAMEL_CASE),
        (V26, "v261_oarstat_fmt2_f_j_running", OarstatFormat.CAMEL_CASE),
        (V26, "v261_oarstat_f_j_running", OarstatFormat.FORMAT_3),
        (V26, "v261_oarstat_fmt3_f_j_running", OarstatFormat.FORMAT_3),
        (OAR3, "oar3_f_j_running_2hosts", OarstatFormat.OAR_3),
        (OAR3, "oar3_f_j_nonexistent", None),
    ],
)
def test_oarstat_text_format_of_an_answer(folder: Path, name: str, fmt: OarstatFormat | None) -> None:
    assert oarstat_format_of(load(folder, name)[1]) is fmt


def test_the_frontend_probe() -> None:
    def answer(folder: Path, stat: str, sub_: str, full: str) -> str:
        return f"{load(folder, stat)[1]}{PROBE_MARK}\n{load(folder, sub_)[1]}{PROBE_MARK}\n{load(folder, full)[1]}"

    new = parse_oar_probe(0, answer(V26, "v261_oarstat_V", "v261_oarsub_V", "v261_oarstat_f_j_running")).unwrap()
    assert (new.generation, new.text_format) == (OarGeneration.OAR_2_6, OarstatFormat.FORMAT_3)
    assert new.describe() == (
        "OAR 2.6.1 (Liberty hope) [OAR 2.5.10 / 2.6]; oarstat -f text: format 3 (id:, snake_case keys)"
    )
    old = parse_oar_probe(0, answer(V26, "v259_oarstat_V", "v259_oarsub_V", "v259_oarstat_f_j_nonexistent")).unwrap()
    assert (old.generation, old.text_format) == (OarGeneration.OAR_2_5, None) and "unknown" in old.describe()
    assert isinstance(parse_oar_probe(0, "OAR version: 2.6.1\n"), Failure)


# ---------------------------------------------------------------------------------------------- totality

PARSERS: list[Callable[[int, str, str], Result[Any, G5kError]]] = [
           parse_oarsub_output, parse_oardel_output, parse_oarstat_job_text, parse_oarstat_jobs_text,
           parse_oarstat_job_json, parse_oarstat_jobs_json, parse_oarstat_list, parse_oarstat_events,
           parse_oarstat_states, parse_job_nodes, parse_oar_version, parse_oar_probe]  # fmt: skip


@pytest.mark.parametrize("folder", [V26, STAT26, OAR3, GEN], ids=lambda p: p.name)
def test_every_parser_on_every_capture_of_every_generation_returns_a_result(folder: Path) -> None:
    names = sorted(p.stem for p in folder.glob("*.rc"))
    assert names
    for name in names:
        captured = load(folder, name)
        for parser in PARSERS:
            assert isinstance(parser(*captured), Success | Failure), (name, parser.__name__)
