"""Unit tests of g5kpure.oar.grid: oargridsub / oargriddel / oargridstat argv and parsers."""

from __future__ import annotations

import subprocess

import pytest
from returns.result import Failure, Success

from g5kpure.errors import InvalidInput, NotFound, ParseError
from g5kpure.oar import (
    OargridSubmitted,
    OarSubmission,
    cluster_rdef,
    oar_jobs_by_site,
    oargrid_job_key_path,
    oargriddel_argv,
    oargridstat_info_argv,
    oargridstat_list_argv,
    oargridstat_nodes_argvs,
    oargridsub_argv,
    parse_oargridstat_info,
    parse_oargridstat_jobs,
    parse_oargridstat_list,
    parse_oargridstat_nodes,
    parse_oargridsub_output,
    quote_braces,
)
from tests.conftest import FIXTURES_DIR

FIXTURES = FIXTURES_DIR / "oargrid"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode()


def words_of_shell_line(line: str) -> tuple[str, ...]:
    """The argv a real /bin/sh makes of a command line (what execo's remote shell handed oargridsub)."""
    script = 'eval "set -- $1"; for a in "$@"; do printf "%s\\0" "$a"; done'
    out = subprocess.run(["/bin/sh", "-c", script, "sh", line], capture_output=True, check=True).stdout
    return tuple(out.decode().split("\0")[:-1])


def test_argv_is_what_execo_command_line_delivers_through_a_real_shell() -> None:
    specs = [
        (OarSubmission(resources="{cluster='nova'}/nodes=2", sql_properties="wattmeter='YES'", name="a"), "lyon"),
        (OarSubmission(resources="nodes=3", job_type="deploy"), "grisou"),
    ]
    argv = oargridsub_argv(specs, reservation_date=1700000000, walltime=7200, job_type="deploy", queue="default",
                           directory="/tmp", additional_options="-v").unwrap()
    assert argv == words_of_shell_line(fixture("execo_oargridsub_cmdline.txt").strip())


def test_brace_workaround() -> None:
    assert quote_braces("{cluster='nova'}/nodes=2") == "{\\\\\\\"cluster='nova'\\\\\\\"}/nodes=2"
    assert quote_braces("nodes=2") == "nodes=2"


def test_minimal_argv_and_key_file_and_ignored_spec_fields() -> None:
    spec = OarSubmission(resources=("nodes=1", "{type='kavlan'}/vlan=1"), walltime=10, queue="q", command="x")
    argv = oargridsub_argv([(spec, "rennes")], job_key_file="/home/u/.ssh/id_rsa").unwrap()
    assert argv == ("oargridsub", "-v", "-i", "/home/u/.ssh/id_rsa",
                    "rennes:rdef=nodes=1+" + quote_braces("{type='kavlan'}") + "/vlan=1")


def test_walltime_forms_and_several_types() -> None:
    spec = OarSubmission(resources="nodes=1")
    argv = oargridsub_argv([(spec, "a")], walltime="1:30", job_type=("deploy", "destructive")).unwrap()
    assert argv[2:8] == ("-t", "deploy", "-t", "destructive", "-w", "1:30:0")


@pytest.mark.parametrize(
    ("specs", "kwargs", "needle"),
    [
        ([(OarSubmission(resources="{cluster in ('a','b')}/nodes=1"), "a")], {}, "no ','"),
        ([(OarSubmission(resources="nodes=1", name="x,y"), "a")], {}, "no ','"),
        ([(OarSubmission(resources="nodes=1"), "bad alias")], {}, "clusteralias"),
        ([(OarSubmission(), "a")], {}, "resource definition"),
        ([(OarSubmission(resources="nodes=1", job_type=("a", "b")), "a")], {}, "at most one job type"),
        ([], {}, "at least one"),
        ([(OarSubmission(resources="nodes=1"), "a")], {"walltime": 0}, "at least 1 second"),
        ([(OarSubmission(resources="nodes=1"), "a")], {"walltime": "soon"}, "duration"),
        ([(OarSubmission(resources="nodes=1"), "a")], {"reservation_date": "tomorrow"}, "date"),
        ([(OarSubmission(resources="nodes=1"), "a")], {"additional_options": "'x"}, "additional_options"),
    ],
)
def test_refusals_are_values(specs: list[tuple[OarSubmission, str]], kwargs: dict[str, object], needle: str) -> None:
    result = oargridsub_argv(specs, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, Failure)
    assert needle in result.failure().message


def test_cluster_rdef_order() -> None:
    spec = OarSubmission(resources="nodes=2", job_type="deploy", sql_properties="p='x'", name="n")
    assert cluster_rdef(spec, "nova") == Success("nova:rdef=nodes=2:type=deploy:prop=p='x':name=n")


def test_other_argvs() -> None:
    assert oargriddel_argv(55123) == ("oargriddel", "55123")
    assert oargridstat_list_argv() == ("oargridstat",)
    assert oargridstat_info_argv(7) == ("oargridstat", "7")
    assert oargridstat_nodes_argvs(7) == (("oargridstat", "-w", "-l", "7"), ("oargridstat", "-l", "7"))
    assert oargrid_job_key_path("jdoe", 55123) == "/tmp/oargrid/oargrid_ssh_key_jdoe_55123"


def test_parse_oargridsub_output() -> None:
    assert parse_oargridsub_output(fixture("oargridsub_ok.txt")) == Success(
        OargridSubmitted(56670, "/tmp/oargrid//oargrid_ssh_key_jdoe_56670", (("nancy", 1091121), ("lyon", 123456)))
    )
    assert parse_oargridsub_output("[OAR_GRIDSUB] Grid reservation id = 55123\n") == Success(
        OargridSubmitted(55123, None, ())
    )
    refused = parse_oargridsub_output("[OAR_GRIDSUB] [lyon] Reservation failed\n\n")
    assert isinstance(refused, Failure)
    assert isinstance(refused.failure(), ParseError)
    assert "Reservation failed" in refused.failure().message


def test_parse_oargridstat_list_and_info() -> None:
    assert parse_oargridstat_list(fixture("oargridstat_list.txt")) == (55123, 55124)
    assert parse_oargridstat_list("nothing here") == ()
    info = parse_oargridstat_info(fixture("oargridstat_info.txt").replace("\n", "\r\n")).unwrap()
    assert info.grid_job_id == 55123
    assert info.start_date == 1700000000
    assert info.walltime == 7200 and info.end_date == 1700007200
    assert info.user == "jdoe"
    assert info.oar_jobs == ((123456, "lyon"), (1091121, "grisou"))


def test_parse_oargridstat_info_missing_fields() -> None:
    result = parse_oargridstat_info("Reservation # 1:\n\twalltime : 1:0:0\n\tuser : u\n")
    assert isinstance(result, Failure)
    assert "start date" in result.failure().message


def test_oar_jobs_by_site() -> None:
    jobs = parse_oargridstat_jobs(fixture("oargridstat_info.txt"))
    result = oar_jobs_by_site(jobs, ["lyon", "nancy"], {"grisou": "nancy", "nova": "lyon"})
    assert result == Success(((123456, "lyon"), (1091121, "nancy")))
    unknown = oar_jobs_by_site(((1, "atlantis"),), ["lyon"], {})
    assert isinstance(unknown, Failure)
    assert isinstance(unknown.failure(), NotFound)


def test_parse_oargridstat_nodes() -> None:
    assert parse_oargridstat_nodes(fixture("oargridstat_nodes.txt")) == (
        "gros-1.nancy.grid5000.fr", "nova-1.lyon.grid5000.fr", "nova-2.lyon.grid5000.fr",
    )
    assert parse_oargridstat_nodes("Error: cannot connect to database\n") == ()


def test_invalid_input_type() -> None:
    result = oargridsub_argv([(OarSubmission(resources="nodes=1"), "")])
    assert isinstance(result, Failure) and isinstance(result.failure(), InvalidInput)
