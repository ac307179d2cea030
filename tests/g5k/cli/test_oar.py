"""`g5k oar argv|date|duration` and `g5k demo`: output, --json and exit codes 0/1/2."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest
from g5k.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_argv_human_is_a_safe_shell_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "oar", "argv", "-l", "nodes=2", "-w", "1:30", "-t", "deploy", "-r", "2023-11-14 23:13:20",
        "-n", "x\"; $(id)", "sleep 10",
    )  # fmt: skip
    assert code == 0
    assert shlex.split(out) == [
        "oarsub", "-l", "nodes=2,walltime=1:30:00", "-t", "deploy", "-t", "origin=g5kpure",
        "-r", "2023-11-14 23:13:20", "-n", "x\"; $(id)", "sleep 10",
    ]  # fmt: skip


def test_argv_json_and_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "oar", "argv", "--json", "-l", "nodes=1", "-l", "{type='kavlan'}/vlan=1", "-w", "3600s",
        "-k", "/home/u/key", "--no-origin", "--tz", "UTC", "-r", "1700000000", "--options", "-O /dev/null",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["argv"] == [
        "oarsub", "-O", "/dev/null", "-l", "nodes=1+{type='kavlan'}/vlan=1,walltime=1:00:00",
        "-k", "-i", "/home/u/key", "-r", "2023-11-14 22:13:20", "sleep 31536000",
    ]  # fmt: skip
    assert shlex.split(data["shell"]) == data["argv"]


@pytest.mark.parametrize(
    "argv",
    [
        ("oar", "argv", "-w", "-3"),
        ("oar", "argv", "-r", "yesterday"),
        ("oar", "argv", "--name=-x"),
        ("oar", "argv", "--tz", "Mars/Olympus"),
        ("oar", "argv", "--options", "'unbalanced"),
    ],
)
def test_argv_refusals_exit_1_with_a_message(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert err.startswith("g5k: error: ") and out == ""


def test_argv_refusal_under_json_prints_the_error_value(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "oar", "argv", "--json", "-w", "0.5")
    assert code == 1
    data = json.loads(out)
    assert data["error"] == "InvalidInput" and data["name"] == "walltime"


def test_date_both_ways(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "oar", "date", "1700000000")[:2] == (0, "2023-11-14 23:13:20\n")
    assert run(capsys, "oar", "date", "2023-11-14 23:13:20")[:2] == (0, "1700000000\n")
    assert run(capsys, "oar", "date", "2024-10-27 02:30:00")[:2] == (0, "1729992600\n")
    assert run(capsys, "oar", "date", "--tz", "UTC", "1795592636")[:2] == (0, "2026-11-25 07:43:56\n")
    code, out, _ = run(capsys, "oar", "date", "--json", "2024-03-31 02:30:00")
    assert code == 0
    assert json.loads(out) == {"unixts": 1711848600, "oar_date": "2024-03-31 03:30:00", "tz": "Europe/Paris"}


def test_duration_both_ways(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "oar", "duration", "1:30")[:2] == (0, "5400\n")
    assert run(capsys, "oar", "duration", "100:5:3")[:2] == (0, "360303\n")
    assert run(capsys, "oar", "duration", "5400")[:2] == (0, "1:30:0\n")
    assert run(capsys, "oar", "duration", "90061.7")[:2] == (0, "25:1:1\n")
    code, out, _ = run(capsys, "oar", "duration", "--json", "48:00:00")
    assert code == 0 and json.loads(out) == {"seconds": 172800, "oar_duration": "48:0:0"}


@pytest.mark.parametrize("value", ["-5", "abc", "1:xx", "-1:00"])
def test_duration_refusals(capsys: pytest.CaptureFixture[str], value: str) -> None:
    code, _, err = run(capsys, "oar", "duration", "--", value)
    assert code == 1 and "g5k: error:" in err


def test_date_refusal(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "oar", "date", "2026-13-45 25:61:00")
    assert code == 1 and "calendar" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "oar")[0] == 2
    assert run(capsys, "oar", "date")[0] == 2
    assert run(capsys, "oar", "argv", "--bogus")[0] == 2


def test_demo_prints_argv_and_conversions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo")
    assert code == 0
    assert "oarsub -l '{cluster='" in out
    assert "-r '2026-12-01 19:00:00'" in out
    assert "-> 1711848600" in out and "-> 1729992600" in out and "-> 25:1:1" in out
    code, out, _ = run(capsys, "demo", "--json")
    data = json.loads(out)["OAR submission"]
    assert data["argv"][0] == "oarsub" and shlex.split(data["shell"]) == data["argv"]
    assert data["conversions"]["format_oar_date(1700000000)"] == "2023-11-14 23:13:20"


def test_console_script_in_a_real_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "g5k.cli.main", "oar", "duration", "1:30"], capture_output=True, text=True, check=False
    )
    assert (proc.returncode, proc.stdout) == (0, "5400\n")


NINES_450, NINES_5000 = "9" * 450, "9" * 5000


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("oar", "duration", NINES_450), "at most 15 digits"),
        (("oar", "duration", NINES_5000), "at most 15 digits"),
        (("oar", "duration", "1:" + NINES_5000), "too long"),
        (("oar", "duration", NINES_450 + ".5"), "at most 15 digits"),
        (("oar", "date", NINES_5000), "at most 15 digits"),
        (("oar", "date", "--", "-" + NINES_5000), "at most 15 digits"),
        (("oar", "date", "9" * 400 + ".5"), "at most 15 digits"),
        (("oar", "date", "99999999999999"), "years 1 and 9999"),
        (("oar", "argv", "-w", NINES_5000), "OAR's limit"),
        (("oar", "argv", "-w", NINES_450 + ":0:0"), "OAR's limit"),
        (("oar", "argv", "-w", "9999999999s"), "OAR's limit"),
        (("oar", "argv", "-r", "9" * 400 + ".5"), "years 1 and 9999"),
        (("oar", "duration", "١٢"), "seconds (e.g. 5400)"),
    ],
)
def test_huge_numbers_exit_1_with_the_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], words: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert err.startswith("g5k: error: ") and words in err and len(err) < 400


def test_a_fraction_of_nines_floors_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "oar", "duration", "59." + "9" * 30)[:2] == (0, "0:0:59\n")
    assert run(capsys, "oar", "date", "--tz", "UTC", "1795592636." + "9" * 30)[:2] == (0, "2026-11-25 07:43:56\n")
    code, out, _ = run(capsys, "oar", "argv", "--json", "--no-origin", "-w", "3600." + "9" * 30 + "s")
    assert code == 0 and json.loads(out)["argv"][1:3] == ["-l", "walltime=1:00:00"]


def test_huge_duration_in_a_real_process_prints_no_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "g5k.cli.main", "oar", "duration", NINES_450],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "g5k: error:" in proc.stderr


def test_plan_with_a_name_oarsub_would_read_as_an_option_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    # oarsub_argv refuses such a submission (ValueError); `g5k plan` checks its submissions first
    code, out, _ = run(capsys, "plan", "--name=-x", "--json")
    assert code == 1
    data = json.loads(out)
    assert data["error"] == "InvalidInput" and data["name"] == "name" and "'-'" in data["message"]
