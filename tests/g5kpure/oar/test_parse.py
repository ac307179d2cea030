"""Parsers of oarsub / oarstat / oardel / nodes / subnets / kavlan outputs, on every real OAR 2.5.9 capture.

The captures (tests/fixtures/oar: exact stdout, stderr and exit code) come from a local OAR 2.5.9 site whose
server ran in UTC, so text dates are read with ``tz=UTC`` here; on Grid'5000 the default (Europe/Paris) applies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

import pytest
from returns.result import Failure, Result, Success

from g5kpure.errors import CommandFailed, NotFound, ParseError, Partial, Rejected
from g5kpure.oar import (
    G5kSubnetParams,
    OarDelResult,
    OarEvent,
    OarJobInfo,
    OarJobSummary,
    OarState,
    OarSubmitted,
    parse_g5k_subnet_params,
    parse_g5k_subnets,
    parse_job_nodes,
    parse_kavlan_ids,
    parse_oardel_output,
    parse_oarstat_events,
    parse_oarstat_job_json,
    parse_oarstat_job_text,
    parse_oarstat_jobs_json,
    parse_oarstat_list,
    parse_oarstat_state,
    parse_oarsub_output,
)
from tests.conftest import FIXTURES_DIR

FIXTURES = FIXTURES_DIR / "oar"


def load(name: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a capture."""
    rc = int((FIXTURES / f"{name}.rc").read_text().strip())
    return rc, (FIXTURES / f"{name}.stdout").read_text(), (FIXTURES / f"{name}.stderr").read_text()


def ts(text: str) -> int:
    """A UTC wall-clock time of the testbed as a unix timestamp."""
    from g5kpure.oar import oar_date_to_unixts

    return int(oar_date_to_unixts(text, tz=UTC).unwrap())


def sub(name: str) -> Result[OarSubmitted, Any]:
    rc, out, err = load(name)
    return parse_oarsub_output(rc, out, err, tz=UTC)


def text_job(name: str) -> OarJobInfo:
    rc, out, err = load(name)
    return parse_oarstat_job_text(rc, out, err, tz=UTC).unwrap()


def listing(name: str) -> tuple[OarJobSummary, ...]:
    rc, out, err = load(name)
    return parse_oarstat_list(rc, out, err, tz=UTC).unwrap()


# ------------------------------------------------------------------------------------------------ oarsub

ACCEPTED = {
    "20_oarsub_nodes2_sleep60": 2,
    "23_oarsub_deploy": 5,
    "24_oarsub_besteffort": 6,
    "26_oarsub_queue_default": 8,
    "27_oarsub_name": 9,
    "28_oarsub_project": 10,
    "40_oarsub_noop": 13,
    "42_oarsub_hierarchical": 15,
    "43_oarsub_multi_cluster": 16,
    "44_oarsub_host_core": 17,
    "46_oarsub_hold": 21,
    "47_oarsub_anterior": 22,
    "48_oarsub_stdout_stderr_dir": 23,
    "131_oarsub_passive_for_connect": 28,
    "141_oarsub_waiting_all_nodes": 30,
    "181_oarsub_nodes8_with_node_in_maintenance": 32,
    "191_oarsub_default_walltime": 34,
    "192_oarsub_container": 35,
    "193_oarsub_inner": 36,
    "197_oarsub_multiple_types": 40,
}
RESERVATIONS_OK = {"21_oarsub_reservation_cmd": 3, "22_oarsub_reservation_nocmd": 4,
                   "195_oarsub_reservation_deploy": 38, "196_oarsub_reservation_noop": 39}  # fmt: skip
REJECTED = {
    "51_oarsub_fail_too_many_nodes": (8, "There are not enough resources for your request"),
    "52_oarsub_fail_bad_property": (8, 'Bad resource request (ERROR:  column "nonexistent" does not exist'),
    "53_oarsub_fail_property_syntax": (8, 'Bad resource request (ERROR:  syntax error at or near "NO"'),
    "55_oarsub_fail_bad_date": (7, "Syntax error near the -r or --reservation option"),
    "56_oarsub_fail_bad_date2": (10, "reservation refused: Reservation too old (OAR created job 11 in state Error)"),
    "57_oarsub_past_date": (10, "reservation refused: Reservation too old (OAR created job 12 in state Error)"),
    "59_oarsub_fail_bad_type": (254, "[ADMISSION RULE] Error: unknown job type: bogus"),
    "59b_oarsub_fail_date_without_seconds": (7, "The reservation date synstax is"),
    "59c_oarsub_reservation_iso_T_format": (7, "Syntax error near the -r"),
    "61_oarsub_fail_bad_walltime": (255, "/!\\ Cannot recognize -- ,walltime=abc -- resource"),
    "62_oarsub_fail_no_command": (5, "oarsub printed its usage"),
    "63_oarsub_fail_deploy_core": (254, "'core' resource is not allowed with a deploy job"),
    "65_oarsub_fail_as_root": (254, "root and oar users are not allowed to submit jobs."),
    "66_oarsub_fail_internal_property": (254, "'state' resource is not allowed"),
    "67_oarsub_fail_unknown_option": (1, "Unknown option: bogus-option"),
}


@pytest.mark.parametrize(("name", "job_id"), sorted(ACCEPTED.items()))
def test_oarsub_accepted(name: str, job_id: int) -> None:
    r = sub(name).unwrap()
    assert r.job_id == job_id and r.job_ids == (job_id,)
    assert r.reservation_accepted is None
    assert r.messages[-1] == "[ADMISSION RULE] Modify resource description with type constraints"


def test_oarsub_admission_messages_are_kept() -> None:
    assert sub("191_oarsub_default_walltime").unwrap().messages[0] == "[ADMISSION RULE] Set default walltime to 7200."
    assert len(sub("24_oarsub_besteffort").unwrap().messages) == 3


@pytest.mark.parametrize(("name", "job_id"), sorted(RESERVATIONS_OK.items()))
def test_oarsub_reservation_accepted(name: str, job_id: int) -> None:
    r = sub(name).unwrap()
    assert r.job_id == job_id and r.reservation_accepted is True


@pytest.mark.parametrize(("name", "expected"), sorted(REJECTED.items()))
def test_oarsub_rejected_is_typed(name: str, expected: tuple[int, str]) -> None:
    r = sub(name)
    assert isinstance(r, Failure)
    err = r.failure()
    assert isinstance(err, Rejected)
    assert err.exit_code == expected[0]
    assert expected[1] in err.reason
    assert err.could_run_at is None


def test_difference_negative_job_id_is_rejected_not_none() -> None:
    # OAR prints OAR_JOB_ID=-5 and exits 8; execo's regex ignores it and returns None without a reason
    err = sub("51_oarsub_fail_too_many_nodes").failure()
    assert isinstance(err, Rejected) and "OAR_JOB_ID=-5" in err.output


def test_oarsub_could_run_at_hint_becomes_a_timestamp() -> None:
    # the wording OAR 2.5 uses when an advance reservation cannot start at the requested date
    out = (
        "[ADMISSION RULE] Modify resource description with type constraints\r\n"
        "OAR_JOB_ID=41\r\n"
        "Reservation mode: waiting validation...\r\n"
        "Reservation not valid --> KO (This reservation could run at 2026-11-25 10:00:00)\r\n"
    )
    err = parse_oarsub_output(10, out, "").failure()
    assert isinstance(err, Rejected)
    assert err.could_run_at == 1795597200  # 10:00 in Paris = 09:00 UTC
    assert parse_oarsub_output(10, out, "", tz=UTC).failure().could_run_at == 1795600800  # type: ignore[attr-defined]
    assert "could run at 2026-11-25 10:00:00" in err.reason


def test_oarsub_json_block_and_array_and_execo_vectors() -> None:
    # oarsub -J: admission lines, OAR_JOB_ID=N, then a JSON block framed by ##### lines
    out = '[ADMISSION RULE] x\nOAR_JOB_ID=14\n##########\n{\n   "job_id" : 14\n}\n##########\n'
    assert parse_oarsub_output(0, out).unwrap().job_id == 14
    assert parse_oarsub_output(0, '#####\n{"job_id": 15}\n#####\n').unwrap().job_id == 15
    arr = parse_oarsub_output(0, "OAR_JOB_ID=18\nOAR_JOB_ID=19\nOAR_JOB_ID=20\nOAR_ARRAY_ID=18\n").unwrap()
    assert arr.job_ids == (18, 19, 20) and arr.array_id == 18 and arr.job_id == 18
    # execo §14: "OAR_JOB_ID=12\r\nOAR_JOB_ID=13\r\n" -> 12 (first); CRLF accepted
    assert parse_oarsub_output(0, "...\r\nOAR_JOB_ID=1234567\r\n").unwrap().job_id == 1234567
    assert parse_oarsub_output(0, "OAR_JOB_ID=12\r\nOAR_JOB_ID=13\r\n").unwrap().job_id == 12
    # difference: leading spaces are tolerated (execo: None); "OAR_JOB_ID= 12" is not a job id line
    assert parse_oarsub_output(0, "  OAR_JOB_ID=12\r\n").unwrap().job_id == 12
    r = parse_oarsub_output(0, "OAR_JOB_ID= 12\r\n")
    assert isinstance(r, Failure) and isinstance(r.failure(), ParseError)


# ------------------------------------------------------------------------------------------------ oardel

DELETED = {
    "81_oardel_waiting_reservation": OarDelResult((4,)),
    "85_oardel_multiple": OarDelResult((19, 20)),
    "86_oardel_sql": OarDelResult((10,)),
    "210_oardel_sql_as_root": OarDelResult((13, 29, 25, 38, 39)),
    "226_oardel_resubmitted": OarDelResult((3,)),
    "87_oardel_array": OarDelResult((18,), already_gone=(19, 20)),  # exit 6: sub-jobs already killed
}


@pytest.mark.parametrize(("name", "expected"), sorted(DELETED.items()))
def test_oardel_registered(name: str, expected: OarDelResult) -> None:
    rc, out, err = load(name)
    assert parse_oardel_output(rc, out, err) == Success(expected)


@pytest.mark.parametrize(("name", "job"), [("82_oardel_nonexistent", 99999), ("83_oardel_other_users_job", 8)])
def test_oardel_refused(name: str, job: int) -> None:
    rc, out, err = load(name)
    e = parse_oardel_output(rc, out, err).failure()
    assert isinstance(e, Rejected) and e.exit_code == 1
    assert f"cannot delete job {job}: You are not the right user." in e.reason


def test_oardel_usage_and_partial() -> None:
    rc, out, err = load("89_oardel_no_arg")
    e = parse_oardel_output(rc, out, err).failure()
    assert isinstance(e, CommandFailed) and e.exit_code == 1
    mixed = "Deleting the job = 1 ...REGISTERED.\r\nDeleting the job = 2 ...ERROR.\r\n"
    p = parse_oardel_output(1, mixed, "Cannot frag 2 ; You are not the right user.\n").failure()
    assert isinstance(p, Partial) and p.succeeded == ("1",) and p.failed[0][0] == "2"


# ------------------------------------------------------------------------------------------ oarstat -f text


def test_oarstat_f_running() -> None:
    j = text_job("02_oarstat_f_j_running")
    assert j == OarJobInfo(
        job_id=1,
        state=OarState.RUNNING,
        state_text="Running",
        owner="alice",
        name=None,
        queue="default",
        project="default",
        types=(),
        walltime=600,
        submission_time=ts("2026-11-25 07:43:55"),
        start_time=1795592636,
        scheduled_start=1795592636,
        assigned_hosts=("parasilo-1.rennes.grid5000.fr", "parasilo-2.rennes.grid5000.fr"),
        assigned_resources=(17, 18, 19, 20, 21, 22, 23, 24),
        reservation="None",
        message="R=8,W=0:10:0,J=B (Karma=0.000,quota_ok)",
        command="sleep 60",
        properties="(desktop_computing = 'NO') AND drain='NO'",
        wanted_resources="-l \"{type = 'default'}/network_address=2,walltime=0:10:0\"",
        initial_request="oarsub -l nodes=2,walltime=0:10:00 sleep 60",
        launching_directory="/home/alice",
        job_kind="PASSIVE",
        array_id=1,
        array_index=1,
        events=(),
    )
    assert j.predicted_start == 1795592636 and not j.is_reservation and j.state.is_running


def test_text_and_json_of_the_same_job_agree() -> None:
    rc, out, err = load("06_oarstat_f_J_j_running")
    from_json = parse_oarstat_job_json(rc, out, err, job_id=1).unwrap()
    from_text = text_job("02_oarstat_f_j_running")
    assert from_json == from_text


@pytest.mark.parametrize(
    ("name", "job_id", "state", "checks"),
    [
        ("37_oarstat_f_j_4", 4, OarState.WAITING,
         {"reservation": "Scheduled", "start_time": ts("2026-11-25 09:00:00"), "walltime": 3600,
          "job_kind": "INTERACTIVE", "command": ""}),
        ("37_oarstat_f_j_5", 5, OarState.RUNNING,
         {"types": ("deploy",), "assigned_hosts": ("parasilo-4.rennes.grid5000.fr",)}),
        ("37_oarstat_f_j_6", 6, OarState.WAITING,
         {"types": ("besteffort",), "queue": "besteffort", "start_time": None,
          "scheduled_start": ts("2026-11-25 07:56:27")}),
        ("37_oarstat_f_j_9", 9, OarState.RUNNING, {"name": "my_experiment"}),
        ("37_oarstat_f_j_10", 10, OarState.WAITING, {"project": "myproject", "start_time": None}),
        ("69_oarstat_f_j_11_bad_date_job", 11, OarState.ERROR,
         {"walltime": 600, "message": "Reservation too old", "start_time": ts("2026-02-15 02:01:00"),
          "scheduled_start": None}),
        ("73_oarstat_f_j_noop", 13, OarState.RUNNING, {"types": ("noop",), "walltime": 1800}),
        ("74_oarstat_f_j_hold", 21, OarState.HOLD, {"walltime": 60, "start_time": None}),
        ("75_oarstat_f_j_anterior", 22, OarState.WAITING,
         {"walltime": 60, "message": "Cannot determine scheduling time due to dependency with the job 21"}),
        ("93_oarstat_f_j_deleted", 9, OarState.ERROR,
         {"stop_time": ts("2026-11-25 07:46:42"), "name": "my_experiment"}),
        ("121_oarstat_f_j_reservation_running", 3, OarState.WAITING,
         {"reservation": "Scheduled", "start_time": ts("2026-11-25 07:48:24"), "walltime": 300}),
        ("125_oarstat_f_j_reservation_running", 3, OarState.RUNNING,
         {"walltime": 292, "assigned_hosts": ("parasilo-3.rennes.grid5000.fr",)}),
        ("136_oarstat_f_j_interactive_ended", 27, OarState.ERROR, {"scheduled_start": None}),
        ("145_oarstat_f_j_waiting_all_nodes", 30, OarState.WAITING,
         {"start_time": None, "scheduled_start": ts("2026-11-25 08:31:01"), "walltime": 600}),
        ("200_oarstat_f_j_scanscript_exit3", 33, OarState.TERMINATED,
         {"exit_code": 3, "exit_status": 768, "name": "scripted_job", "project": "scriptproj",
          "command": "./myjob.sh"}),
        ("202_oarstat_f_j_inner", 36, OarState.TERMINATED, {"types": ("inner=35",), "exit_code": 0}),
        ("221_oarstat_f_j_unreachable_node", 2, OarState.ERROR,
         {"assigned_hosts": ("brokennode-1.rennes.grid5000.fr",)}),
        ("225_oarstat_resubmitted_job", 3, OarState.WAITING, {"resubmit_job_id": 2, "walltime": 300}),
    ],
)  # fmt: skip
def test_oarstat_f_text_captures(name: str, job_id: int, state: OarState, checks: dict[str, object]) -> None:
    j = text_job(name)
    assert (j.job_id, j.state) == (job_id, state)
    for key, value in checks.items():
        assert getattr(j, key) == value, key


def test_oarstat_f_text_events() -> None:
    events = text_job("93_oarstat_f_j_deleted").events or ()
    assert events[0] == OarEvent(
        ts("2026-11-25 07:46:41"), "FRAG_JOB_REQUEST", "User alice requested to frag the job 9"
    )
    assert [e.kind for e in events] == ["FRAG_JOB_REQUEST", "SEND_KILL_JOB", "SWITCH_INTO_ERROR_STATE"]
    changed = text_job("125_oarstat_f_j_reservation_running").events or ()
    assert changed[0].description == "Change walltime from 300 to 292"
    assert len(text_job("221_oarstat_f_j_unreachable_node").events or ()) == 2


def test_oarstat_f_text_nonexistent_is_not_found() -> None:
    rc, out, err = load("108_oarstat_f_j_nonexistent")
    e = parse_oarstat_job_text(rc, out, err, job_id=99999).failure()
    assert isinstance(e, NotFound) and e.key == "99999"


def test_execo_sample_in_paris_with_crlf() -> None:
    sample = (
        "Job_Id: 1234567\r\n    name = my job name\r\n    owner = jdoe\r\n    state = Running\r\n"
        "    types = deploy, origin=execo\r\n    walltime = 1:0:0\r\n    submissionTime = 2023-11-14 23:10:00\r\n"
        "    startTime = 2023-11-14 23:13:20\r\n    scheduledStart = 2023-11-14 23:13:20\r\n    events = \r\n"
    )
    j = parse_oarstat_job_text(0, sample, "").unwrap()
    assert (j.start_time, j.walltime, j.scheduled_start, j.state, j.name) == (
        1700000000, 3600, 1700000000, OarState.RUNNING, "my job name"
    )  # fmt: skip
    assert j.types == ("deploy", "origin=execo")
    waiting = sample.replace("Running", "Waiting").replace("    startTime = 2023-11-14 23:13:20\r\n", "")
    waiting = waiting.replace("scheduledStart = 2023-11-14 23:13:20", "scheduledStart = no prediction")
    w = parse_oarstat_job_text(0, waiting, "").unwrap()
    assert (w.start_time, w.scheduled_start, w.walltime, w.state) == (None, None, 3600, OarState.WAITING)


def test_garbage_dates_are_errors_and_oar3_walltime_is_seconds() -> None:
    text = "Job_Id: 5\n    state = Running\n    startTime = yesterday\n"
    e = parse_oarstat_job_text(0, text, "").failure()
    assert isinstance(e, ParseError) and "startTime = yesterday" in e.message
    oar3 = "id: 5\n    state = Running\n    walltime = 3600\n"  # OAR 3: seconds (execo's regex misses it)
    assert parse_oarstat_job_text(0, oar3, "").unwrap().walltime == 3600


def test_format_3_snake_case_keys() -> None:
    text = (
        "id: 5\n    state = Running\n    start_time = 2023-11-14 23:13:20\n    scheduled_start = 2023-11-14 23:13:20\n"
    )
    j = parse_oarstat_job_text(0, text, "").unwrap()
    assert (j.job_id, j.start_time, j.scheduled_start) == (5, 1700000000, 1700000000)


# --------------------------------------------------------------------------------------- oarstat JSON


def test_oarstat_f_json_many() -> None:
    rc, out, err = load("33_oarstat_f_J_many")
    jobs = parse_oarstat_jobs_json(rc, out, err).unwrap()
    assert [j.job_id for j in jobs] == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    by_id = {j.job_id: j for j in jobs}
    assert by_id[6].types == ("besteffort",) and by_id[6].scheduled_start == 1795593387
    assert by_id[4].reservation == "Scheduled" and by_id[4].scheduled_start == 1795597200
    assert all(j.exit_code is None for j in jobs)


@pytest.mark.parametrize("name", ["213_oarstat_f_J_empty", "109_oarstat_J_j_nonexistent"])
def test_oarstat_json_empty(name: str) -> None:
    rc, out, err = load(name)
    assert parse_oarstat_jobs_json(rc, out, err) == Success(())
    e = parse_oarstat_job_json(rc, out, err, job_id=99999).failure()
    assert isinstance(e, NotFound)


def test_json_garbage_numbers_are_errors_not_silent_nones() -> None:
    e = parse_oarstat_job_json(0, '{"1": {"Job_Id": 1, "state": "Running", "startTime": "soon"}}').failure()
    assert isinstance(e, ParseError) and "startTime" in e.message
    ok = parse_oarstat_job_json(0, '{"1": {"Job_Id": "1", "state": "Running", "startTime": "1795592636"}}')
    assert ok.unwrap().start_time == 1795592636  # numbers as strings (as in oarstat -Y) are fine
    e2 = parse_oarstat_job_text(0, "Job_Id: 1\n    state = Running\n    assigned_resources = 1+x+3\n", "").failure()
    assert isinstance(e2, ParseError) and "assigned_resources" in e2.message


def test_json_exit_code_is_a_raw_wait_status() -> None:
    j = parse_oarstat_job_json(0, '{"33": {"Job_Id": 33, "state": "Terminated", "exit_code": 768}}').unwrap()
    assert (j.exit_code, j.exit_status) == (3, 768)


# -------------------------------------------------------------------------------------------- listings

LISTINGS: dict[str, list[tuple[int, OarState, str]]] = {
    "01_oarstat_running": [(1, OarState.RUNNING, "alice")],
    "35_oarstat_u_bob": [(6, OarState.WAITING, "bob"), (8, OarState.RUNNING, "bob"), (10, OarState.WAITING, "bob")],
    "36_oarstat_u_self": [(6, OarState.WAITING, "bob"), (8, OarState.RUNNING, "bob"), (10, OarState.WAITING, "bob")],
    "105_oarstat_sql": [(10, OarState.ERROR, "bob")],
}


@pytest.mark.parametrize(("name", "rows"), sorted(LISTINGS.items()))
def test_listing_rows(name: str, rows: list[tuple[int, OarState, str]]) -> None:
    assert [(r.job_id, r.state, r.user) for r in listing(name)] == rows


@pytest.mark.parametrize(
    ("name", "count", "ids_head"),
    [
        ("31_oarstat_many_running", 9, [2, 3, 4]),
        ("70_oarstat_after_many", 19, [3, 4, 5]),
        ("120_oarstat_t1", 8, [3, 5, 7]),
        ("122_oarstat_t2", 4, [3, 13, 15]),
        ("124_oarstat_t3", 3, [3, 13, 23]),
        ("142_oarstat_with_waiting", 6, [13, 23, 25]),
        ("110_oarstat_format1", 13, [3, 5, 6]),
        ("71_oarstat_array", 3, [18, 19, 20]),
        ("03_oarstat_J_running", 1, [1]),
        ("32_oarstat_J_many", 9, [2, 3, 4]),
        ("112_oarstat_J_u_bob", 10, [6, 8, 13]),
        ("143_oarstat_J_with_waiting", 6, [13, 23, 25]),
    ],
)
def test_listing_counts(name: str, count: int, ids_head: list[int]) -> None:
    rows = listing(name)
    assert len(rows) == count
    assert [r.job_id for r in rows][:3] == ids_head


def test_listing_message_fields() -> None:
    rows = {r.job_id: r for r in listing("31_oarstat_many_running")}
    assert rows[2].walltime == 600 and rows[2].duration == 22
    assert rows[5].types == ("deploy",)
    assert rows[9].name == "my_experiment"
    assert rows[10].project == "myproject"
    rows70 = {r.job_id: r for r in listing("70_oarstat_after_many")}
    assert rows70[22].walltime is None and (rows70[22].message or "").startswith("Cannot determine")
    assert rows70[21].state == OarState.HOLD
    waiting = {r.job_id: r for r in listing("142_oarstat_with_waiting")}
    assert waiting[29].name == "resa_future" and waiting[29].project == "proj_resa"


def test_listing_format1_and_array_columns() -> None:
    f1 = listing("110_oarstat_format1")
    assert (f1[0].job_id, f1[0].user, f1[0].queue, f1[0].submission_time) == (
        3, "alice", "default", ts("2026-11-25 07:45:24")
    )  # fmt: skip
    assert f1[2].queue == "besteffort" and f1[-1].state == OarState.HOLD
    arr = listing("71_oarstat_array")
    assert [(r.array_id, r.array_index) for r in arr] == [(18, 1), (18, 2), (18, 3)]


def test_listing_json_keeps_fields() -> None:
    rows = {r.job_id: r for r in listing("32_oarstat_J_many")}
    assert rows[7].user == "alice" and rows[7].walltime == 600 and rows[7].queue == "default"
    assert rows[6].types == ("besteffort",)


@pytest.mark.parametrize("name", ["09_oarstat_empty", "111_oarstat_u_nonexistent_user", "212_oarstat_u_empty"])
def test_listing_empty(name: str) -> None:
    assert listing(name) == ()


def test_execo_format1_sample() -> None:
    text = (
        "Job id     Name           User           Submission Date     S Queue\r\n"
        "---------- -------------- -------------- ------------------- - ----------\r\n"
        "1234567    myjob          jdoe           2023-11-14 23:10:00 R default\r\n"
        "1234568                   jdoe           2023-11-14 23:11:00 W default\r\n"
    )
    rows = parse_oarstat_list(0, text, "").unwrap()
    assert [r.job_id for r in rows] == [1234567, 1234568]
    assert rows[0].name == "myjob" and rows[1].name is None and rows[0].submission_time == 1700000000 - 200


@pytest.mark.parametrize("name", ["103_oarstat_accounting", "104_oarstat_Y_j", "101_oarstat_properties_j"])
def test_other_oarstat_formats_are_not_mistaken_for_listings(name: str) -> None:
    rc, out, err = load(name)
    r = parse_oarstat_list(rc, out, err)
    assert isinstance(r, Failure) and isinstance(r.failure(), ParseError)


# ------------------------------------------------------------------------------------- states and events

STATES = {
    "05_oarstat_s_j_running": (1, OarState.RUNNING),
    "07_oarstat_s_j_terminated": (1, OarState.TERMINATED),
    "38_oarstat_s_j_4": (4, OarState.WAITING),
    "38_oarstat_s_j_5": (5, OarState.RUNNING),
    "38_oarstat_s_j_6": (6, OarState.WAITING),
    "38_oarstat_s_j_9": (9, OarState.RUNNING),
    "38_oarstat_s_j_10": (10, OarState.WAITING),
}


@pytest.mark.parametrize(("name", "expected"), sorted(STATES.items()))
def test_oarstat_state(name: str, expected: tuple[int, OarState]) -> None:
    rc, out, err = load(name)
    assert parse_oarstat_state(rc, out, err, job_id=expected[0]) == Success(expected[1])
    assert parse_oarstat_state(rc, out, err) == Success(expected[1])


def test_oarstat_state_multi_nonexistent_and_misuse() -> None:
    rc, out, err = load("38_oarstat_s_multi")
    assert parse_oarstat_state(rc, out, err, job_id=2) == Success(OarState.RUNNING)
    assert parse_oarstat_state(rc, out, err, job_id=6) == Success(OarState.WAITING)
    assert isinstance(parse_oarstat_state(rc, out, err).failure(), ParseError)
    rc, out, err = load("107_oarstat_s_j_nonexistent")
    assert isinstance(parse_oarstat_state(rc, out, err, job_id=99999).failure(), NotFound)
    rc, out, err = load("38_oarstat_s_all")
    e = parse_oarstat_state(rc, out, err).failure()
    assert isinstance(e, CommandFailed) and "--state can only be used with an id" in e.message


@pytest.mark.parametrize(
    ("name", "job_id", "kinds"),
    [
        ("100_oarstat_events_j", 9, ["FRAG_JOB_REQUEST", "SEND_KILL_JOB", "SWITCH_INTO_ERROR_STATE"]),
        ("135_oarstat_events_besteffort_killed", 6,
         ["SCHEDULER_PRIORITY_UPDATED_START", "BESTEFFORT_KILL", "FRAG_JOB_REQUEST", "SEND_KILL_JOB",
          "SWITCH_INTO_ERROR_STATE", "SCHEDULER_PRIORITY_UPDATED_STOP"]),
    ],
)  # fmt: skip
def test_oarstat_events(name: str, job_id: int, kinds: list[str]) -> None:
    rc, out, err = load(name)
    events = parse_oarstat_events(rc, out, err, tz=UTC).unwrap()
    assert [e.kind for _, e in events] == kinds
    assert all(j == job_id for j, _ in events)
    assert events[0][1].date is not None and events[0][1].date >= ts("2026-11-25 07:46:41")


# ------------------------------------------------------------------------------------ nodes, subnets, vlans


def test_job_nodes_from_oarstat_p() -> None:
    rc, out, err = load("101_oarstat_properties_j")
    assert parse_job_nodes(rc, out, err) == Success(
        ("paravance-1.rennes.grid5000.fr", "paravance-2.rennes.grid5000.fr")
    )


def test_job_nodes_other_sources() -> None:
    rc, out, err = load("06_oarstat_f_J_j_running")
    assert parse_job_nodes(rc, out, err) == Success(("parasilo-1.rennes.grid5000.fr", "parasilo-2.rennes.grid5000.fr"))
    # execo §5.8 sample (oarprint output over a pty); difference: unique as well as sorted
    plain = "nova-2.lyon.grid5000.fr\r\nnova-1.lyon.grid5000.fr\r\nnova-2.lyon.grid5000.fr\r\n"
    assert parse_job_nodes(0, plain) == Success(("nova-1.lyon.grid5000.fr", "nova-2.lyon.grid5000.fr"))
    assert parse_job_nodes(0, "") == Success(())
    assert isinstance(parse_job_nodes(0, "not a host name!\n").failure(), ParseError)
    assert isinstance(parse_job_nodes(1, "", "boom").failure(), CommandFailed)


def test_g5k_subnets_formats() -> None:
    ips = "10.158.0.1\t00:16:3e:9e:00:01\r\n10.158.0.2\t00:16:3e:9e:00:02\r\n"
    assert parse_g5k_subnets(0, ips) == Success(
        (("10.158.0.1", "00:16:3e:9e:00:01"), ("10.158.0.2", "00:16:3e:9e:00:02"))
    )
    # difference: line-aware (execo pairs tokens across lines, so an odd count shifts every pair)
    assert isinstance(parse_g5k_subnets(0, "10.158.0.1\n10.158.0.2\t00:16:3e:9e:00:02\n").failure(), ParseError)
    params = (
        "10.158.0.0/22\t10.159.255.255\t255.252.0.0\t10.159.255.254\t10.158.0.0\t"
        "dns.lyon.grid5000.fr\t172.16.63.254\r\n"
    )
    assert parse_g5k_subnet_params(0, params) == Success(
        G5kSubnetParams(
            "10.158.0.0/22", "10.159.255.255", "255.252.0.0", "10.159.255.254", "10.158.0.0",
            "dns.lyon.grid5000.fr", "172.16.63.254",
        )
    )  # fmt: skip
    assert isinstance(parse_g5k_subnet_params(0, "a\tb\n").failure(), ParseError)


def test_kavlan_ids() -> None:
    assert parse_kavlan_ids(0, "4\r\n") == Success((4,))
    assert parse_kavlan_ids(0, "4\r\n5\r\n") == Success((4, 5))
    assert parse_kavlan_ids(0, "4\n5") == Success((4, 5))  # difference: execo gives [] without a pty
    assert parse_kavlan_ids(0, "") == Success(())
    assert isinstance(parse_kavlan_ids(0, "garbage\n").failure(), ParseError)  # execo: silent []
    assert isinstance(parse_kavlan_ids(2, "", "no kavlan").failure(), CommandFailed)


# ------------------------------------------------------------------------------------ every capture used

PARSED_ELSEWHERE = {
    "02_oarstat_f_j_running", "06_oarstat_f_J_j_running", "33_oarstat_f_J_many", "213_oarstat_f_J_empty",
    "109_oarstat_J_j_nonexistent", "108_oarstat_f_j_nonexistent", "89_oardel_no_arg", "82_oardel_nonexistent",
    "83_oardel_other_users_job", "38_oarstat_s_multi", "107_oarstat_s_j_nonexistent", "38_oarstat_s_all",
    "100_oarstat_events_j", "135_oarstat_events_besteffort_killed", "101_oarstat_properties_j",
    "103_oarstat_accounting", "104_oarstat_Y_j", "09_oarstat_empty", "111_oarstat_u_nonexistent_user",
    "212_oarstat_u_empty", "03_oarstat_J_running", "32_oarstat_J_many", "112_oarstat_J_u_bob",
    "143_oarstat_J_with_waiting", "31_oarstat_many_running", "70_oarstat_after_many", "120_oarstat_t1",
    "122_oarstat_t2", "124_oarstat_t3", "142_oarstat_with_waiting", "110_oarstat_format1", "71_oarstat_array",
    "37_oarstat_f_j_4", "37_oarstat_f_j_5", "37_oarstat_f_j_6", "37_oarstat_f_j_9", "37_oarstat_f_j_10",
    "69_oarstat_f_j_11_bad_date_job", "73_oarstat_f_j_noop", "74_oarstat_f_j_hold", "75_oarstat_f_j_anterior",
    "93_oarstat_f_j_deleted", "121_oarstat_f_j_reservation_running", "125_oarstat_f_j_reservation_running",
    "136_oarstat_f_j_interactive_ended", "145_oarstat_f_j_waiting_all_nodes", "200_oarstat_f_j_scanscript_exit3",
    "202_oarstat_f_j_inner", "221_oarstat_f_j_unreachable_node", "225_oarstat_resubmitted_job",
}  # fmt: skip


def test_every_capture_is_checked_by_a_test() -> None:
    covered = (
        set(ACCEPTED) | set(RESERVATIONS_OK) | set(REJECTED) | set(DELETED) | set(LISTINGS) | set(STATES)
        | PARSED_ELSEWHERE
    )  # fmt: skip
    names = {p.stem for p in FIXTURES.glob("*.rc")}
    assert len(names) == 106
    assert names - covered == set()


PARSERS: list[Callable[[int, str, str], Result[Any, Any]]] = [
    parse_oarsub_output, parse_oardel_output, parse_oarstat_job_text, parse_oarstat_job_json,
    parse_oarstat_jobs_json, parse_oarstat_list, parse_oarstat_state, parse_oarstat_events, parse_job_nodes,
    parse_g5k_subnets, parse_g5k_subnet_params, parse_kavlan_ids,
]  # fmt: skip


def test_every_parser_on_every_capture_returns_a_result() -> None:
    for name in sorted(p.stem for p in FIXTURES.glob("*.rc")):
        rc, out, err = load(name)
        for parser in PARSERS:
            r = parser(rc, out, err)
            assert isinstance(r, Success | Failure), (name, parser.__name__)


# --- totality on huge, infinite and non-ASCII numbers ----------------------------------------------------

HUGE = "9" * 5000  # more digits than Python's int() accepts from text (4300)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "Infinity", "-Infinity", "NaN", "1e30", "9" * 400])
@pytest.mark.parametrize("key", ["startTime", "submissionTime", "walltime", "exit_code", "array_id"])
def test_json_numbers_out_of_range_are_parse_errors_in_every_json_parser(number: str, key: str) -> None:
    stdout = f'{{"1": {{"state": "Running", "{key}": {number}}}}}'
    for parse in (parse_oarstat_jobs_json, parse_oarstat_job_json, parse_oarstat_list, parse_job_nodes):
        r = parse(0, stdout, "")
        assert isinstance(r, Failure) and isinstance(r.failure(), ParseError), (parse.__name__, key, number)
        assert key in r.failure().message


def test_json_job_ids_out_of_range_are_parse_errors() -> None:
    for key in (HUGE, "1e400", "١٢"):
        r = parse_oarstat_jobs_json(0, f'{{"{key}": {{"state": "Running"}}}}')
        assert isinstance(r, Failure) and "no job id" in r.failure().message, key
    r2 = parse_oarstat_jobs_json(0, '{"1": {"state": "Running", "job_id": ' + "9" * 400 + "}}")
    assert isinstance(r2, Failure)
    deep = parse_oarstat_jobs_json(0, '{"a": ' + "[" * 100_000)
    assert isinstance(deep, Failure) and isinstance(deep.failure(), ParseError)


def test_json_numbers_in_range_still_read() -> None:
    r = parse_oarstat_jobs_json(0, '{"7": {"state": "Running", "startTime": 1700000000.0, "walltime": "3600"}}')
    assert r.unwrap()[0].start_time == 1700000000 and r.unwrap()[0].walltime == 3600


def test_huge_job_ids_in_text_outputs_are_parse_errors() -> None:
    sub = parse_oarsub_output(0, f"[ADMISSION RULE] x\nOAR_JOB_ID={HUGE}\n")
    assert isinstance(sub, Failure) and isinstance(sub.failure(), ParseError)
    assert "more than 18 digits" in sub.failure().message
    assert isinstance(parse_oarsub_output(0, f"OAR_JOB_ID=5\nOAR_ARRAY_ID={HUGE}\n"), Failure)
    text = parse_oarstat_job_text(0, f"Job_Id: {HUGE}\n    state = Running\n")
    assert isinstance(text, Failure) and isinstance(text.failure(), ParseError)
    wall = parse_oarstat_job_text(0, f"Job_Id: 3\n    state = Running\n    walltime = {HUGE}\n")
    assert isinstance(wall, Failure) and "walltime" in wall.failure().message
    res = parse_oarstat_job_text(0, f"Job_Id: 3\n    state = Running\n    assigned_resources = 1+{HUGE}\n")
    assert isinstance(res, Failure) and "assigned_resources" in res.failure().message
    kav = parse_kavlan_ids(0, f"4\n{HUGE}\n")
    assert isinstance(kav, Failure) and "line 2" in kav.failure().message
    assert isinstance(parse_kavlan_ids(0, "٤\n"), Failure)
    for parse in (parse_oarstat_list, parse_oarstat_state, parse_oarstat_events):
        assert isinstance(parse(0, f"{HUGE}: Running\n", ""), Failure), parse.__name__


def test_huge_walltime_in_a_listing_message_is_unknown_not_a_crash() -> None:
    r = parse_oarstat_list(0, f"12 R bob 0:00:01 R=1,W={HUGE},J=B (Karma=0.000)\n")
    row = r.unwrap()[0]
    assert row.job_id == 12 and row.walltime is None and row.duration == 1
    ok = parse_oarstat_list(0, "12 R bob 0:00:01 R=1,W=2:0:0,J=B (Karma=0.000)\n").unwrap()[0]
    assert ok.walltime == 7200
