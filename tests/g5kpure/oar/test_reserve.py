"""The pure decisions of reattach-by-name and of the synchronised multi-site reservation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from g5k.cli.main import main
from g5k.results import performed
from returns.result import Failure, Success

from g5kpure.errors import (
    InvalidInput,
    NoCommonDate,
    ReattachConflict,
    Rejected,
    ReservationTry,
    SiteAnswer,
    Unreachable,
)
from g5kpure.oar import (
    AllAccepted,
    CommonDatePolicy,
    GiveUp,
    NamedJobs,
    OarJob,
    OarJobInfo,
    OarState,
    Reattach,
    RetryAt,
    SubmitAll,
    check_common_request,
    check_job_name,
    check_sites,
    decide_reattach,
    live_jobs_named,
    next_common_date,
)


def info(job_id: int, name: str | None, state: OarState = OarState.RUNNING) -> OarJobInfo:
    return OarJobInfo(job_id=job_id, state=state, owner="alice", name=name)


SITES = ("rennes", "nancy", "lyon")


# ------------------------------------------------------------------------------------------- live jobs


def test_live_jobs_named_keeps_exact_name_and_not_ended_sorted_by_id() -> None:
    infos = [
        info(9, "exp"),
        info(3, "exp", OarState.WAITING),
        info(4, "exp", OarState.TERMINATED),
        info(5, "exp", OarState.ERROR),
        info(6, "exp2"),
        info(7, "Exp"),
        info(8, None),
    ]
    assert [i.job_id for i in live_jobs_named(infos, "exp")] == [3, 9]
    assert live_jobs_named(infos, "nothing") == ()


def test_job_name_and_sites_are_checked() -> None:
    assert check_job_name("exp 1").unwrap() == "exp 1"
    for bad in ("", "   ", "-x", "a\0b", None, 3):
        assert isinstance(check_job_name(bad).failure(), InvalidInput), bad
    assert check_sites(["rennes", None]).unwrap() == ("rennes", None)
    assert isinstance(check_sites([]).failure(), InvalidInput)
    err = check_sites(["rennes", "lyon", "rennes"]).failure()
    assert isinstance(err, InvalidInput) and err.value == "rennes"


# -------------------------------------------------------------------------------------------- reattach


def named(found: dict[str | None, list[OarJobInfo]], failed: dict[str | None, Exception] | None = None) -> NamedJobs:
    return NamedJobs(
        "exp",
        tuple((f, tuple(i)) for f, i in found.items()),
        tuple((f, Unreachable(str(f), "refused")) for f in (failed or {})),
    )


def test_every_site_holds_one_job_reattaches() -> None:
    got = decide_reattach(
        SITES, named({"lyon": [info(3, "exp")], "rennes": [info(1, "exp")], "nancy": [info(2, "exp")]})
    )
    decision = got.unwrap()
    assert isinstance(decision, Reattach)
    assert decision.jobs == (OarJob(1, "rennes"), OarJob(2, "nancy"), OarJob(3, "lyon"))  # in the sites' order
    assert [i.job_id for i in decision.infos] == [1, 2, 3]


def test_no_site_holds_one_submits() -> None:
    assert decide_reattach(SITES, named({s: [] for s in SITES})).unwrap() == SubmitAll()


def test_some_sites_hold_one_is_a_conflict_naming_both_sides() -> None:
    err = decide_reattach(SITES, named({"rennes": [info(1, "exp")], "nancy": [], "lyon": [info(7, "exp")]})).failure()
    assert isinstance(err, ReattachConflict)
    assert err.present == (("rennes", (1,)), ("lyon", (7,)))
    assert err.absent == ("nancy",)
    assert "rennes (job 1)" in err.message and "not on nancy" in err.message and "nothing was submitted" in err.message


def test_two_jobs_of_the_name_on_a_site_is_a_conflict() -> None:
    err = decide_reattach(
        ("rennes", "nancy"), named({"rennes": [info(1, "exp"), info(4, "exp")], "nancy": [info(2, "exp")]})
    ).failure()
    assert isinstance(err, ReattachConflict)
    assert err.present == (("rennes", (1, 4)), ("nancy", (2,)))
    assert err.absent == ()
    assert "more than one on rennes" in err.message


def test_an_unreadable_site_blocks_both_reattach_and_submission() -> None:
    everywhere_else = named({"rennes": [info(1, "exp")], "nancy": [info(2, "exp")]}, {"lyon": Exception()})
    err = decide_reattach(SITES, everywhere_else).failure()
    assert isinstance(err, ReattachConflict)
    assert [s for s, _ in err.unreadable] == ["lyon"] and isinstance(err.unreadable[0][1], Unreachable)
    nowhere = named({"rennes": [], "nancy": []}, {"lyon": Exception()})
    assert isinstance(decide_reattach(SITES, nowhere).failure(), ReattachConflict)


def test_default_frontend_is_named_in_reports() -> None:
    err = decide_reattach([None, "lyon"], named({None: [info(1, "exp")], "lyon": []})).failure()
    assert isinstance(err, ReattachConflict)
    assert err.present == (("default frontend", (1,)),) and err.absent == ("lyon",)


def test_a_site_that_was_not_read_is_refused() -> None:
    assert isinstance(decide_reattach(SITES, named({"rennes": []})), Failure)


# ----------------------------------------------------------------------------------------- common date

T = 1_800_000_000


def ok(site: str, job: int) -> SiteAnswer:
    return SiteAnswer(site, job_id=job)


def ko(site: str, hint: int | None) -> SiteAnswer:
    return SiteAnswer(site, error=Rejected("reservation refused", 10, hint, frontend=site))


def test_all_accepted() -> None:
    assert next_common_date(T, [ok("rennes", 1), ok("lyon", 2)], 1, CommonDatePolicy()) == AllAccepted(T)


def test_retry_at_the_latest_hint() -> None:
    step = next_common_date(T, [ok("rennes", 1), ko("nancy", T + 100), ko("lyon", T + 3661)], 1, CommonDatePolicy())
    assert step == RetryAt(T + 3661)


def test_a_refusal_without_hint_or_unreachable_site_gives_up_naming_it() -> None:
    step = next_common_date(T, [ko("rennes", T + 60), ko("nancy", None)], 1, CommonDatePolicy())
    assert isinstance(step, GiveUp) and "nancy" in step.why and "without a suggested date" in step.why
    down = SiteAnswer("lyon", error=Unreachable("lyon", "refused"))
    step = next_common_date(T, [ok("rennes", 1), down], 1, CommonDatePolicy())
    assert isinstance(step, GiveUp) and "lyon" in step.why


def test_bounds_stop_the_search() -> None:
    late = next_common_date(T, [ko("rennes", T + 7200)], 1, CommonDatePolicy(not_after=T + 3600))
    assert isinstance(late, GiveUp) and str(T + 3600) in late.why
    exactly = next_common_date(T, [ko("rennes", T + 3600)], 1, CommonDatePolicy(not_after=T + 3600))
    assert exactly == RetryAt(T + 3600)
    spent = next_common_date(T, [ko("rennes", T + 60)], 3, CommonDatePolicy(max_tries=3))
    assert isinstance(spent, GiveUp) and "3 tries" in spent.why
    assert next_common_date(T, [ko("rennes", T + 60)], 2, CommonDatePolicy(max_tries=3)) == RetryAt(T + 60)


def test_a_hint_that_does_not_move_forward_gives_up() -> None:
    for hint in (T, T - 1):
        step = next_common_date(T, [ko("rennes", hint)], 1, CommonDatePolicy())
        assert isinstance(step, GiveUp) and "not later" in step.why
    assert isinstance(next_common_date(T, [], 1, CommonDatePolicy()), GiveUp)


def test_common_request_is_checked() -> None:
    assert check_common_request(T, CommonDatePolicy(3, T), 2) == Success(T)
    assert isinstance(check_common_request(T, CommonDatePolicy(3, T - 1), 2).failure(), InvalidInput)
    assert isinstance(check_common_request(T, CommonDatePolicy(0), 2).failure(), InvalidInput)
    assert isinstance(check_common_request(T, CommonDatePolicy(), 0).failure(), InvalidInput)
    assert isinstance(check_common_request("tomorrow", CommonDatePolicy(), 1).failure(), InvalidInput)
    assert isinstance(check_common_request(True, CommonDatePolicy(), 1).failure(), InvalidInput)


def test_no_common_date_message_tells_each_try() -> None:
    tries = (
        ReservationTry(T, (ok("rennes", 11), ko("lyon", T + 60))),
        ReservationTry(T + 60, (ko("rennes", T + 120), ko("lyon", None))),
    )
    err = NoCommonDate("refused without a suggested date", T, T + 600, tries, ("11@rennes",))
    text = err.message
    assert f"try 1 at {T}: rennes: accepted as job 11; lyon: request rejected on lyon" in text
    assert f"try 2 at {T + 60}" in text and f"could run at unix time {T + 120}" in text
    assert "NOT deleted, delete by hand: 11@rennes" in text
    assert tries[0].answers[1].could_run_at == T + 60 and tries[0].answers[0].could_run_at is None


# ------------------------------------------------------------------------------------- g5k reserve --dry-run

CLI_CONFIG = """
[g5k]
default_frontend = "rennes"
location = "outside"
default_timeout = 120

[frontend]
user = "jdoe"
port = 2200
host_suffix = ".example.org"
"""


@pytest.fixture
def cli_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CLI_CONFIG)
    monkeypatch.setenv("G5K_CONFIG", str(path))


def test_cli_dry_run_prints_lookup_then_reservations(cli_config, capsys) -> None:
    argv = ["reserve", "--dry-run", "--json", "--name", "exp 1", "-l", "nodes=2", "-w", "3600s"]
    argv += ["--frontend", "rennes", "--frontend", "lyon", "--at", "2026-12-01 10:00:00", "--tz", "UTC"]
    assert main(argv) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan == [
        "[rennes] ssh jdoe@rennes.example.org:2200: oarstat -u -f -J (timeout 120s)",
        "[lyon] ssh jdoe@lyon.example.org:2200: oarstat -u -f -J (timeout 120s)",
        "[rennes] ssh jdoe@rennes.example.org:2200: oarsub -l nodes=2,walltime=1:00:00 -t origin=g5kpure "
        "-r '2026-12-01 10:00:00' -n 'exp 1' 'sleep 31536000' (timeout 120s)",
        "[lyon] ssh jdoe@lyon.example.org:2200: oarsub -l nodes=2,walltime=1:00:00 -t origin=g5kpure "
        "-r '2026-12-01 10:00:00' -n 'exp 1' 'sleep 31536000' (timeout 120s)",
    ]


def test_cli_without_name_looks_nothing_up(cli_config, capsys) -> None:
    assert main(["reserve", "--dry-run", "-l", "core=1", "--frontend", "nancy"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "oarsub -l core=1 -t origin=g5kpure 'sleep 31536000'" in out[0]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--name=-x"], "invalid job name"),
        (["--at", "tomorrow"], "invalid -r/--reservation 'tomorrow'"),
        (["--not-after", "2026-12-01 10:00:00"], "to be used with -r/--reservation"),
        (["--at", "1800000000", "--not-after", "1700000000"], "invalid not_after"),
        (["--at", "1800000000", "--tries", "0"], "invalid max tries"),
    ],
)
def test_cli_bad_input_is_reported_not_raised(cli_config, capsys, extra: list[str], words: str) -> None:
    assert main(["reserve", "-l", "core=1", "--frontend", "nancy", *extra]) == 1
    assert words in capsys.readouterr().err


# ------------------------------------------------------------- adapters refuse bad input before any ssh


def test_adapters_refuse_bad_input_before_submitting_anything() -> None:
    from g5k.reserve import reserve_at_first_common_date, reserve_or_reattach

    from g5kpure.oar import OarSubmission

    good = OarSubmission(resources=("core=1",), walltime=60)
    bad = OarSubmission(resources=("-core=1",), walltime=60)
    nowhere = "no-such-site.invalid"  # would fail as Unreachable if it were contacted
    cases = [
        reserve_or_reattach([(good, nowhere), (good, nowhere)], "exp"),
        reserve_or_reattach([(good, nowhere)], ""),
        reserve_or_reattach([(good, nowhere), (bad, "x")], "exp"),
        reserve_at_first_common_date([(good, nowhere), (bad, "x")], T),
        reserve_at_first_common_date([(good, nowhere)], T, T - 1),
        reserve_at_first_common_date([(good, nowhere)], T, None, 0),
    ]
    for got in cases:
        assert isinstance(performed(got).failure(), InvalidInput)
