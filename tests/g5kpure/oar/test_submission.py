"""OarSubmission and the oarsub / oardel / oarstat argv, compared with execo 2.8.2's verified command lines."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from attrs.exceptions import FrozenInstanceError
from returns.result import Failure, Success

from g5kpure.errors import InvalidInput, ParseError
from g5kpure.oar import (
    DEFAULT_COMMAND,
    OarSubmission,
    g5k_subnets_argvs,
    kavlan_argv,
    make_submission,
    oardel_argv,
    oarstat_job_argv,
    oarstat_job_nodes_argv,
    oarstat_job_text_argv,
    oarstat_list_argv,
    oarstat_state_argv,
    oarsub_argv,
    parse_oarsub_argv,
    split_resources,
    validate_submission,
)


def full_submission() -> OarSubmission:
    return make_submission(
        resources="{cluster='nova'}/nodes=2",
        walltime="2:00:00",
        job_type="deploy",
        sql_properties="cluster='nova'",
        queue="default",
        reservation_date=1700000000,
        directory="/tmp",
        project="proj",
        name="myjob",
        additional_options="-O /dev/null",
        command="sleep 10",
    ).unwrap()


def test_full_submission_matches_execo_words() -> None:
    # execo: oarsub -O /dev/null -l "{cluster='nova'}/nodes=2,walltime=2:0:0" -t "deploy" -t "origin=execo"
    #        -p "cluster='nova'" -q "default" -r "2023-11-14 23:13:20" -d "/tmp" --project "proj" -n "myjob" "sleep 10"
    assert oarsub_argv(full_submission(), origin_tag="origin=execo") == (
        "oarsub", "-O", "/dev/null",
        "-l", "{cluster='nova'}/nodes=2,walltime=2:00:00",
        "-t", "deploy", "-t", "origin=execo",
        "-p", "cluster='nova'", "-q", "default", "-r", "2023-11-14 23:13:20",
        "-d", "/tmp", "--project", "proj", "-n", "myjob", "sleep 10",
    )  # fmt: skip


def test_empty_submission_and_walltime_only() -> None:
    assert oarsub_argv(OarSubmission()) == ("oarsub", "-t", "origin=g5kpure", "sleep 31536000")
    sub = make_submission(walltime=3600).unwrap()
    assert oarsub_argv(sub) == ("oarsub", "-l", "walltime=1:00:00", "-t", "origin=g5kpure", DEFAULT_COMMAND)


def test_resources_joined_with_plus_and_key_file() -> None:
    sub = make_submission(
        resources=["nodes=1", "{type='kavlan'}/vlan=1"], walltime=3600, job_type=["deploy", "destructive"]
    ).unwrap()
    assert oarsub_argv(sub, job_key_file="/home/u/.ssh/id_rsa") == (
        "oarsub", "-l", "nodes=1+{type='kavlan'}/vlan=1,walltime=1:00:00", "-k", "-i", "/home/u/.ssh/id_rsa",
        "-t", "deploy", "-t", "destructive", "-t", "origin=g5kpure", DEFAULT_COMMAND,
    )  # fmt: skip


def test_difference_type_order_is_deterministic_and_each_type_once() -> None:
    # execo builds the -t list from a set: the order changes with PYTHONHASHSEED
    sub = make_submission(job_type=("deploy", "destructive", "deploy", "origin=g5kpure")).unwrap()
    argv = oarsub_argv(sub)
    assert argv == ("oarsub", "-t", "deploy", "-t", "destructive", "-t", "origin=g5kpure", DEFAULT_COMMAND)
    assert oarsub_argv(sub) == argv


def test_difference_tuple_and_set_job_types_are_accepted() -> None:
    # execo: OarSubmission(job_type=tuple|set) -> TypeError
    assert make_submission(job_type=("a", "b")).unwrap().job_type == ("a", "b")
    assert make_submission(job_type=frozenset({"x"})).unwrap().job_type == ("x",)


def test_origin_tag_overridable_or_absent() -> None:
    assert oarsub_argv(OarSubmission(), origin_tag=None) == ("oarsub", DEFAULT_COMMAND)
    assert oarsub_argv(OarSubmission(), origin_tag="origin=me")[1:3] == ("-t", "origin=me")


def test_reservation_date_from_every_user_form_and_zone() -> None:
    for value in (1700000000, 1700000000.7, "2023-11-14 23:13:20", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)):
        sub = make_submission(reservation_date=value).unwrap()
        assert sub.reservation_date == 1700000000
        assert oarsub_argv(sub, origin_tag=None)[1:3] == ("-r", "2023-11-14 23:13:20")
    utc_argv = oarsub_argv(make_submission(reservation_date=1700000000).unwrap(), tz=UTC, origin_tag=None)
    assert utc_argv[2] == "2023-11-14 22:13:20"


def test_walltime_from_every_user_form() -> None:
    for value in (5400, 5400.0, "1:30", "1:30:00", timedelta(minutes=90)):
        assert make_submission(walltime=value).unwrap().walltime == 5400
    assert make_submission(walltime="2").unwrap().walltime == 7200
    assert make_submission(walltime="100:5:3").unwrap().walltime == 360303


def test_iterables_become_tuples_and_value_is_frozen() -> None:
    sub = make_submission(resources=iter(["nodes=1", "nodes=2"]), additional_options=["-O", "x"]).unwrap()
    assert sub.resources == ("nodes=1", "nodes=2")
    assert sub.additional_options == ("-O", "x")
    with pytest.raises(FrozenInstanceError):
        sub.name = "x"  # type: ignore[misc]
    assert OarSubmission.make(resources="nodes=1") == Success(OarSubmission(resources=("nodes=1",)))


def test_additional_options_string_is_split_like_a_shell() -> None:
    sub = make_submission(additional_options="-O '/tmp/my out.%jobid%' --notify \"mail:a@b.c\"").unwrap()
    assert sub.additional_options == ("-O", "/tmp/my out.%jobid%", "--notify", "mail:a@b.c")


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"walltime": -5}, "duration"),
        ({"walltime": 0.5}, "walltime"),  # difference: execo emits walltime=0:0:0, which OAR refuses
        ({"walltime": "abc"}, ""),
        ({"reservation_date": "2026-12-01 09:00"}, ""),
        ({"additional_options": "-O 'unbalanced"}, "additional_options"),
        ({"name": "a\0b"}, "name"),
        ({"command": "-rf"}, "command"),
        ({"queue": ""}, "queue"),
        ({"resources": [1, 2]}, "resources"),
        ({"name": 42}, "name"),
    ],
)
def test_refusals_are_values(kwargs: dict[str, object], field_name: str) -> None:
    r = make_submission(**kwargs)  # type: ignore[arg-type]
    assert isinstance(r, Failure)
    err = r.failure()
    assert isinstance(err, InvalidInput | ParseError)
    if field_name:
        assert isinstance(err, InvalidInput) and err.name == field_name


def test_validate_submission_catches_direct_construction() -> None:
    assert isinstance(validate_submission(OarSubmission(walltime=0)), Failure)
    assert isinstance(validate_submission(OarSubmission(name="-x")), Failure)
    ok = OarSubmission(resources="nodes=1", walltime=60)
    assert validate_submission(ok) == Success(ok)


def test_argv_round_trip_through_parse_oarsub_argv() -> None:
    sub = full_submission()
    argv = oarsub_argv(sub, job_key_file="/k")
    assert parse_oarsub_argv(argv) == Success((sub, "/k"))
    assert isinstance(parse_oarsub_argv(("ls", "x")), Failure)
    assert isinstance(parse_oarsub_argv(("oarsub", "-q")), Success)  # "-q" alone is the command word
    assert isinstance(parse_oarsub_argv(("oarsub", "-q", "x", "-l", "cmd")), Failure)


def test_split_resources_respects_braces_and_quotes() -> None:
    assert split_resources("{cluster='a'}/nodes=1+{cluster='b'}/nodes=1") == (
        "{cluster='a'}/nodes=1",
        "{cluster='b'}/nodes=1",
    )
    assert split_resources("{host='a+b'}/core=1+nodes=2") == ("{host='a+b'}/core=1", "nodes=2")


def test_shell_string_is_quoted_per_argument() -> None:
    sub = make_submission(name='x"; rm -rf ~; echo "', command="echo $(id) `id`").unwrap()
    line = shlex.join(oarsub_argv(sub))
    assert shlex.split(line) == list(oarsub_argv(sub))
    assert "'x\"; rm -rf ~; echo \"'" in line


def test_other_argvs() -> None:
    assert oardel_argv(12) == ("oardel", "12")
    assert oardel_argv(1, 2) == ("oardel", "1", "2")
    assert oarstat_job_argv(7) == ("oarstat", "-f", "-J", "-j", "7")
    assert oarstat_job_text_argv(7) == ("oarstat", "-f", "-j", "7")
    assert oarstat_state_argv(7) == ("oarstat", "-s", "-j", "7")
    assert oarstat_job_nodes_argv(7) == ("oarstat", "-p", "-j", "7")
    assert oarstat_list_argv() == ("oarstat",)
    assert oarstat_list_argv(mine=True) == ("oarstat", "-u")
    assert oarstat_list_argv(user="bob", json=True) == ("oarstat", "-u", "bob", "-J")
    assert g5k_subnets_argvs(3) == (("g5k-subnets", "-i", "-m", "-j", "3"), ("g5k-subnets", "-a", "-j", "3"))
    assert kavlan_argv(3) == ("kavlan", "-j", "3", "-V")
    for bad in (0, -1, True, "12"):
        with pytest.raises(ValueError):
            oardel_argv(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        oardel_argv()


# --- refusals are values; sets are sorted; a directly built bad submission never becomes an argv ----------


@pytest.mark.parametrize(
    ("kwargs", "label"),
    [
        ({"resources": 5}, "resources"),
        ({"job_type": 7}, "job_type"),
        ({"additional_options": 5}, "additional_options"),
        ({"job_type": {"a", 1}}, "job_type"),
        ({"walltime": 10**400}, "duration"),
        ({"walltime": 10**5000}, "duration"),
        ({"walltime": "9" * 5000}, "OAR duration"),
        ({"walltime": 2**31}, "walltime"),
        ({"walltime": float("inf")}, "duration"),
        ({"reservation_date": "9" * 400 + ".5"}, "OAR date"),
        ({"reservation_date": 10**400}, "reservation_date"),
        ({"reservation_date": 1e300}, "reservation_date"),
    ],
)
def test_make_submission_refuses_bad_values_as_values(kwargs: dict[str, object], label: str) -> None:
    r = make_submission(**kwargs)  # type: ignore[arg-type]
    assert isinstance(r, Failure) and isinstance(r.failure(), InvalidInput | ParseError), kwargs
    assert label in r.failure().message


def test_walltime_limit_is_oars_32_bit_column() -> None:
    assert make_submission(walltime=2**31 - 1).unwrap().walltime == 2**31 - 1
    assert isinstance(make_submission(walltime="596523:14:8"), Failure)  # 2**31 s


def test_sets_are_sorted_sequences_keep_their_order() -> None:
    assert make_submission(job_type={"c", "a", "b"}).unwrap().job_type == ("a", "b", "c")
    assert make_submission(job_type=["c", "a", "b"]).unwrap().job_type == ("c", "a", "b")
    assert make_submission(resources=frozenset({"nodes=1", "core=2"})).unwrap().resources == ("core=2", "nodes=1")
    assert make_submission(additional_options={"-O", "-E"}).unwrap().additional_options == ("-E", "-O")
    assert OarSubmission(job_type={"y", "x"}).job_type == ("x", "y")


ARGV_OF_SETS = """
import sys
from g5kpure.oar.submission import make_submission, oarsub_argv
sub = make_submission(resources={"nodes=1", "core=2", "gpu=1", "vlan=3"},
                      job_type={"deploy", "destructive", "night", "besteffort", "idempotent"}).unwrap()
print(" ".join(oarsub_argv(sub)))
"""


def test_argv_of_sets_does_not_depend_on_pythonhashseed() -> None:
    outputs = set()
    for seed in ("1", "2", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", ARGV_OF_SETS], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        outputs.add(proc.stdout.strip())
    assert outputs == {
        "oarsub -l core=2+gpu=1+nodes=1+vlan=3 -t besteffort -t deploy -t destructive -t idempotent -t night "
        "-t origin=g5kpure sleep 31536000"
    }


@pytest.mark.parametrize(
    "sub",
    [
        OarSubmission(walltime=-5),
        OarSubmission(walltime=0),
        OarSubmission(name="-x"),
        OarSubmission(resources=("-l",)),
        OarSubmission(job_type=(5,)),
        OarSubmission(resources=5),
        OarSubmission(reservation_date=10**20),
        OarSubmission(command="a\0b"),
    ],
)
def test_oarsub_argv_refuses_a_directly_built_invalid_submission(sub: OarSubmission) -> None:
    assert isinstance(validate_submission(sub), Failure)
    with pytest.raises(ValueError, match="make_submission"):
        oarsub_argv(sub)
    refused = validate_submission(sub).map(oarsub_argv)  # the refusal as a value
    assert isinstance(refused, Failure)
