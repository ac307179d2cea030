"""Unit tests of g5kpure.deploy.kadeploy: argv, environment rules, parsers, report interpretation, retry steps."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from returns.result import Failure, Success

from g5kpure.deploy import (
    DEFAULT_CHECK_DEPLOYED_COMMAND,
    EXECO_CHECK_DEPLOYED_COMMAND,
    Attempt,
    CheckEnough,
    DeployHosts,
    Deployment,
    Done,
    KadeployOutput,
    KadeployReport,
    KadeploySettings,
    collect_files_argv,
    group_by_frontend,
    host_key,
    host_site,
    interpret_run,
    kadeploy_command,
    kavlan_host_name,
    match_hosts,
    next_action,
    observe_check,
    observe_deploy,
    parse_collected_files,
    parse_kadeploy_output,
    parse_node_file,
    plan_deployment,
    resolve_environment,
    start_retry,
)
from g5kpure.errors import InvalidInput, ParseError
from tests.conftest import FIXTURES_DIR

FIXTURES = FIXTURES_DIR / "kadeploy"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode()


class Host:
    def __init__(self, address: str) -> None:
        self.address = address


# --- Deployment and environment ---------------------------------------------------------------------------


def test_deployment_normalises_hosts_keeps_order_and_accepts_host_objects() -> None:
    d = Deployment(hosts=["b-1", Host("a-1"), "b-1"], env_name="debian12-min", vlan=4)
    assert d.hosts == ("b-1", "a-1")
    assert d.vlan == "4"
    assert Deployment(hosts="nova-1").hosts == ("nova-1",)


def test_environment_name_file_and_defaults() -> None:
    s = KadeploySettings()
    assert resolve_environment(Deployment(env_name="debian11-min"), s).unwrap().argv() == ("-e", "debian11-min")
    assert resolve_environment(Deployment(env_file="/h/env.dsc"), s).unwrap().argv() == ("-a", "/h/env.dsc")
    by_default = KadeploySettings(default_env_name="debian12-nfs")
    assert resolve_environment(Deployment(), by_default).unwrap().argv() == ("-e", "debian12-nfs")
    by_file = KadeploySettings(default_env_file="/e.dsc")
    assert resolve_environment(Deployment(), by_file).unwrap().argv() == ("-a", "/e.dsc")
    # the deployment's own environment wins over the default
    assert resolve_environment(Deployment(env_file="/x.dsc"), by_default).unwrap().argv() == ("-a", "/x.dsc")


@pytest.mark.parametrize(
    ("deployment", "settings", "needle"),
    [
        (Deployment(env_name="a", env_file="b"), KadeploySettings(), "not both"),
        (Deployment(), KadeploySettings(), "exactly one of env_name or env_file"),
        (Deployment(), KadeploySettings(default_env_name="a", default_env_file="b"), "only one of default_env_name"),
        (Deployment(env_name="  "), KadeploySettings(), "non-empty"),
    ],
)
def test_environment_errors_are_values(deployment: Deployment, settings: KadeploySettings, needle: str) -> None:
    result = resolve_environment(deployment, settings)
    assert isinstance(result, Failure)
    assert isinstance(result.failure(), InvalidInput)
    assert needle in result.failure().message


# --- argv ----------------------------------------------------------------------------------------------------


def test_argv_matches_execo_words_plus_hosts_and_node_files() -> None:
    d = Deployment(hosts=["nova-1.lyon.grid5000.fr", "nova-2.lyon.grid5000.fr"], env_file="/home/u/env.dsc",
                   user="deploy", vlan=4, other_options="--no-kexec")
    argv = kadeploy_command(d, d.hosts, KadeploySettings(), "/tmp/x.ok", "/tmp/x.ko").unwrap()
    assert argv == (
        "kadeploy3", "-k", "-d", "-a", "/home/u/env.dsc", "-u", "deploy", "--vlan", "4", "--no-kexec",
        "-m", "nova-1.lyon.grid5000.fr", "-m", "nova-2.lyon.grid5000.fr", "-o", "/tmp/x.ok", "-n", "/tmp/x.ko",
    )


def test_argv_configured_command_and_options_and_quoted_other_options() -> None:
    s = KadeploySettings(kadeploy3="/opt/kadeploy3", kadeploy3_options="-k --verbose-level 4")
    d = Deployment(hosts=["n-1"], env_name="my env", other_options="--custom-steps 'a b'")
    argv = kadeploy_command(d, d.hosts, s, "o", "k").unwrap()
    assert argv[:7] == ("/opt/kadeploy3", "-k", "--verbose-level", "4", "-e", "my env", "--custom-steps")
    assert argv[7] == "a b"


def test_argv_errors() -> None:
    bad_quotes = Deployment(hosts=["n-1"], env_name="e", other_options="'unbalanced")
    result = kadeploy_command(bad_quotes, bad_quotes.hosts, KadeploySettings(), "o", "k")
    assert isinstance(result, Failure)
    assert "other_options" in result.failure().message
    no_hosts = kadeploy_command(Deployment(env_name="e"), (), KadeploySettings(), "o", "k")
    assert isinstance(no_hosts, Failure)
    assert "at least one host" in no_hosts.failure().message


def test_host_site_and_grouping_fix_execo_host_site_bug() -> None:
    # execo raises AttributeError for "host.site" (it reads the wrong match object); we return the site.
    assert host_site("nova-1.lyon") == Success("lyon")
    assert host_site("nova-1.lyon.grid5000.fr") == Success("lyon")
    assert host_site("nova-1") == Success(None)
    assert isinstance(host_site("a.b.c"), Failure)
    assert isinstance(host_site("bad host"), Failure)
    assert isinstance(host_site(""), Failure)
    groups = group_by_frontend(["nova-1.lyon.grid5000.fr", "gros-1.nancy", "taurus-2", "nova-2.lyon"], "rennes")
    assert groups.unwrap() == (
        ("lyon", ("nova-1.lyon.grid5000.fr", "nova-2.lyon")),
        ("nancy", ("gros-1.nancy",)),
        ("rennes", ("taurus-2",)),
    )


def test_plan_one_run_per_frontend_with_distinct_node_files() -> None:
    d = Deployment(hosts=["nova-1.lyon.grid5000.fr", "gros-1.nancy.grid5000.fr", "nova-2.lyon.grid5000.fr"],
                   env_name="debian12-min")
    runs = plan_deployment(d, KadeploySettings(), None, "/tmp/g5k-abc").unwrap()
    assert [r.frontend for r in runs] == ["lyon", "nancy"]
    assert runs[0].hosts == ("nova-1.lyon.grid5000.fr", "nova-2.lyon.grid5000.fr")
    assert runs[0].ok_file == "/tmp/g5k-abc-lyon.ok" and runs[1].ko_file == "/tmp/g5k-abc-nancy.ko"
    assert runs[1].argv[-6:] == ("-m", "gros-1.nancy.grid5000.fr", "-o", "/tmp/g5k-abc-nancy.ok",
                                 "-n", "/tmp/g5k-abc-nancy.ko")
    short = plan_deployment(Deployment(hosts=["a-1"], env_name="e"), KadeploySettings(), None, "/p").unwrap()
    assert short[0].frontend is None and short[0].ok_file == "/p-default.ok"
    assert isinstance(plan_deployment(Deployment(env_name="e"), KadeploySettings(), None, "/p"), Failure)


def test_kavlan_names_and_host_key() -> None:
    assert kavlan_host_name("nova-1.lyon.grid5000.fr", 4) == "nova-1-kavlan-4.lyon.grid5000.fr"
    assert kavlan_host_name("nova-1", "11") == "nova-1-kavlan-11"
    assert host_key("Nova-1-kavlan-4.lyon.grid5000.fr") == "nova-1"
    assert host_key("nova-1") == "nova-1"


# --- parsers -------------------------------------------------------------------------------------------------


def test_parse_real_output_sample() -> None:
    out = parse_kadeploy_output(fixture("output_3x_mixed.txt"))
    assert out.deployed == ("nova-1.lyon.grid5000.fr",)
    assert out.undeployed == (("nova-2.lyon.grid5000.fr", "Deploy[SetDeploymentEnvUntrusted] wait_reboot timeout"),)
    assert out.workflow_ids == ("D-b145a544-2905-42eb-b2b1-c004ab2f25ac",)


def test_parse_short_names_which_execo_drops() -> None:
    # execo's node regex requires \w+-\d+\.\w+\.grid5000\.fr and silently drops these.
    out = parse_kadeploy_output(fixture("output_short_names.txt"))
    assert out.deployed == ("big-1", "big-2")
    assert out.undeployed == ()


def test_parse_operation_failed_header_which_execo_misses() -> None:
    out = parse_kadeploy_output(fixture("output_operation_failed.txt"))
    assert out.deployed == ()
    assert out.undeployed == (
        ("petitprince-14.luxembourg.grid5000.fr", ""),
        ("petitprince-15.luxembourg.grid5000.fr", "Reboot[SetDeploymentEnv] timeout"),
    )


def test_parse_kadeploy_before_3_2_headers() -> None:
    out = parse_kadeploy_output(fixture("output_old_32.txt"))
    assert out.deployed == ("graphene-1.nancy.grid5000.fr", "graphene-2.nancy.grid5000.fr")
    assert [h for h, _ in out.undeployed] == ["graphene-3.nancy.grid5000.fr"]


def test_parse_crlf_and_interleaved_lines() -> None:
    out = parse_kadeploy_output(fixture("output_crlf_interleaved.txt"))
    assert out.deployed == ("nova-1.lyon.grid5000.fr", "nova-3.lyon.grid5000.fr")
    assert out.undeployed == (("nova-2.lyon.grid5000.fr", "reboot timeout"),)
    assert out.workflow_ids == ("D-1",)


def test_parse_ignores_node_like_lines_outside_sections_and_garbage() -> None:
    text = "nova-9.lyon.grid5000.fr\nLaunching a deployment on nova-1\n\x00\x01 garbage\n"
    assert parse_kadeploy_output(text) == KadeployOutput()


def test_parse_node_file_crlf_and_errors() -> None:
    assert parse_node_file(fixture("nodes_ok_crlf.txt")) == Success(("nova-1.lyon.grid5000.fr", "nova-3"))
    assert parse_node_file("") == Success(())
    bad = parse_node_file("nova-1\nnot a host\n")
    assert isinstance(bad, Failure)
    assert isinstance(bad.failure(), ParseError)
    assert "line 2" in bad.failure().message


def test_collect_files_round_trip_through_real_sh(tmp_path: Path) -> None:
    ok = tmp_path / "r.ok"
    ok.write_text("nova-1.lyon.grid5000.fr\nnova-3.lyon.grid5000.fr\n")
    missing = tmp_path / "r.ko"
    proc = subprocess.run(collect_files_argv((str(ok), str(missing))), capture_output=True, text=True, check=False)
    files = parse_collected_files(proc.stdout).unwrap()
    assert files[0][0] == str(ok)
    assert parse_node_file(files[0][1] or "").unwrap() == ("nova-1.lyon.grid5000.fr", "nova-3.lyon.grid5000.fr")
    assert files[1] == (str(missing), None)
    assert not ok.exists()  # the files are removed once read


def test_parse_collected_files_rejects_text_before_a_marker() -> None:
    assert isinstance(parse_collected_files("stray\n@@g5kpure-file /x\n"), Failure)
    assert parse_collected_files("") == Success(())


# --- report --------------------------------------------------------------------------------------------------


def test_interpret_maps_fqdn_output_to_short_requested_names() -> None:
    # execo compares strings, so short input names are never "deployed" and deploy() loops on them.
    out = parse_kadeploy_output(fixture("output_3x_mixed.txt"))
    report = interpret_run(("nova-1", "nova-2", "nova-3"), out)
    assert report.deployed == frozenset({"nova-1"})
    assert report.undeployed == frozenset({"nova-2", "nova-3"})
    assert report.reason("nova-2") == "Deploy[SetDeploymentEnvUntrusted] wait_reboot timeout"
    assert report.reason("nova-3") == "not reported by kadeploy3 (exit code 0)"
    assert report.unexpected == ()


def test_interpret_files_and_output_conflicts_and_unknown_names() -> None:
    out = KadeployOutput(deployed=("a-1.s.grid5000.fr",), undeployed=())
    report = interpret_run(("a-1", "a-2", "a-3"), out, ok_nodes=("a-2", "zz-9"), ko_nodes=("a-1",), exit_code=1)
    assert report.deployed == frozenset({"a-2"})  # a-1 reported both ok and failed -> failed
    assert report.reason("a-1") == "kadeploy3 reported a failure"
    assert report.reason("a-3") == "not reported by kadeploy3 (exit code 1)"
    assert report.unexpected == ("zz-9",)


def test_interpret_failure_of_the_whole_run() -> None:
    report = interpret_run(("a-1", "a-2"), KadeployOutput(), failure="timed out after 5s")
    assert report.deployed == frozenset()
    assert report.reason("a-2") == "timed out after 5s"


def test_merge_reports_and_match_hosts() -> None:
    a = KadeployReport(frozenset({"a-1"}), frozenset({"a-2"}), (("a-2", "x"),))
    b = KadeployReport(frozenset({"b-1"}), frozenset(), ())
    merged = a.merge(b)
    assert merged.deployed == frozenset({"a-1", "b-1"}) and merged.undeployed == frozenset({"a-2"})
    requested = ["nova-1", "nova-1.lyon.grid5000.fr"]
    mapping, unknown = match_hosts(requested, ["nova-1.lyon.grid5000.fr", "nova-1-kavlan-4"])
    assert mapping == {"nova-1.lyon.grid5000.fr": "nova-1.lyon.grid5000.fr", "nova-1-kavlan-4": "nova-1"}
    assert unknown == ()


# --- retry step function --------------------------------------------------------------------------------------


def _run(hosts: tuple[str, ...], num_tries: int, fail_schedule: dict[int, set[str]], check: bool,
         already: frozenset[str] = frozenset(), enough: CheckEnough | None = None) -> tuple[Done, list[DeployHosts]]:
    """Drive the step function like the adapter does, with a simulated kadeploy3 failing hosts per try."""
    state = start_retry(hosts, num_tries).unwrap()
    if check:
        state = observe_check(state, {h: (h in already, "root on sda2") for h in hosts})
    actions: list[DeployHosts] = []
    while True:
        action = next_action(state, enough) if enough else next_action(state)
        if isinstance(action, Done):
            return action, actions
        actions.append(action)
        failing = fail_schedule.get(action.try_number, set())
        ok = frozenset(h for h in action.hosts if h not in failing)
        reasons = tuple((h, "boom") for h in action.hosts if h in failing)
        report = KadeployReport(ok, frozenset(action.hosts) - ok, reasons)
        state = observe_deploy(state, action, report, trust_report=not check)
        if check:
            state = observe_check(state, {h: (h in ok, "root on sda2") for h in action.hosts})


def test_all_deployed_at_first_try() -> None:
    done, actions = _run(("a-1", "a-2"), 3, {}, check=True)
    assert [a.hosts for a in actions] == [("a-1", "a-2")]
    assert done.deployed == frozenset({"a-1", "a-2"}) and done.why == "all deployed" and done.tries == 1


def test_failed_hosts_are_retried_alone_and_history_records_each_attempt() -> None:
    done, actions = _run(("a-1", "a-2", "a-3"), 3, {1: {"a-2", "a-3"}, 2: {"a-3"}}, check=True)
    assert [a.hosts for a in actions] == [("a-1", "a-2", "a-3"), ("a-2", "a-3"), ("a-3",)]
    assert done.deployed == frozenset({"a-1", "a-2", "a-3"}) and done.tries == 3
    assert done.history_of("a-3") == (
        Attempt(0, "check", False, "root on sda2"),
        Attempt(1, "deploy", False, "boom"), Attempt(1, "check", False, "root on sda2"),
        Attempt(2, "deploy", False, "boom"), Attempt(2, "check", False, "root on sda2"),
        Attempt(3, "deploy", True), Attempt(3, "check", True),
    )
    assert done.history_of("a-1") == (Attempt(0, "check", False, "root on sda2"), Attempt(1, "deploy", True),
                                      Attempt(1, "check", True))


def test_tries_exhausted_leaves_hosts_undeployed() -> None:
    done, actions = _run(("a-1", "a-2"), 2, {1: {"a-2"}, 2: {"a-2"}}, check=False)
    assert len(actions) == 2
    assert done.why == "tries exhausted" and done.undeployed == frozenset({"a-2"})


def test_already_deployed_hosts_are_never_deployed() -> None:
    done, actions = _run(("a-1", "a-2", "a-3"), 2, {}, check=True, already=frozenset({"a-1", "a-3"}))
    assert [a.hosts for a in actions] == [("a-2",)]
    assert done.history_of("a-1") == (Attempt(0, "check", True),)
    all_there, none = _run(("a-1",), 2, {}, check=True, already=frozenset({"a-1"}))
    assert none == [] and all_there.why == "all deployed" and all_there.tries == 0


def test_check_enough_stops_early() -> None:
    def enough(deployed: frozenset[str], undeployed: frozenset[str]) -> bool:
        return len(deployed) >= 2

    done, actions = _run(("a-1", "a-2", "a-3"), 5, {1: {"a-3"}, 2: {"a-3"}}, check=True, enough=enough)
    assert len(actions) == 1 and done.why == "enough" and done.undeployed == frozenset({"a-3"})


def test_zero_tries_and_bad_inputs() -> None:
    state = start_retry(("a-1",), 0).unwrap()
    action = next_action(state)
    assert isinstance(action, Done) and action.why == "tries exhausted"
    assert isinstance(start_retry((), 1), Failure)
    assert isinstance(start_retry(("a-1",), -1), Failure)


def test_check_never_undeploys_and_ignores_unknown_hosts() -> None:
    state = start_retry(("a-1",), 1).unwrap()
    state = observe_check(state, {"a-1": (True, ""), "zz-1": (True, "")})
    state = observe_check(state, {"a-1": (False, "unreachable")})
    assert state.deployed == frozenset({"a-1"})
    assert state.history_of("a-1") == (Attempt(0, "check", True),)


# --- the default check command, run by a real /bin/sh against a fake `mount` ----------------------------------


def _check(command: str, mount_output: str, tmp_path: Path) -> int:
    fake = tmp_path / "mount"
    fake.write_text("#!/bin/sh\ncat <<'EOF'\n" + mount_output + "\nEOF\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    return subprocess.run(["/bin/sh", "-c", command], env=env, check=False).returncode


@pytest.mark.parametrize(
    ("root", "deployed"),
    [
        ("/dev/sda2", False),
        ("/dev/sda3", True),
        ("/dev/vda2", False),
        ("/dev/nvme0n1p2", False),
        ("/dev/nvme0n1p3", True),
        ("/dev/nvme1n1p2", False),
        ("/dev/mmcblk0p2", False),
        ("/dev/mmcblk0p3", True),
        ("/dev/mapper/vg-root", True),
    ],
)
def test_default_check_command(root: str, deployed: bool, tmp_path: Path) -> None:
    mounts = f"proc on /proc type proc (rw)\n{root} on / type ext4 (rw,relatime)\n/dev/sda5 on /tmp type ext4 (rw)"
    assert (_check(DEFAULT_CHECK_DEPLOYED_COMMAND, mounts, tmp_path) == 0) is deployed


def test_execo_check_command_wrongly_says_an_undeployed_nvme_node_is_deployed(tmp_path: Path) -> None:
    # The difference from execo_g5k: its regex /dev/[[:alpha:]]+2 cannot match nvme0n1p2, so a node still
    # running its standard environment from NVMe passes execo's check (exit 0) and is never deployed.
    mounts = "/dev/nvme0n1p2 on / type ext4 (rw,relatime)"
    assert _check(EXECO_CHECK_DEPLOYED_COMMAND, mounts, tmp_path) == 0
    assert _check(DEFAULT_CHECK_DEPLOYED_COMMAND, mounts, tmp_path) != 0


def test_parse_two_reports_in_one_stream() -> None:
    # two clusters' (or two runs') summaries one after the other, with step lines of the second in between
    text = fixture("output_3x_mixed.txt") + fixture("output_old_32.txt").replace("\n", "\r\n")
    out = parse_kadeploy_output(text)
    assert out.deployed == ("nova-1.lyon.grid5000.fr", "graphene-1.nancy.grid5000.fr", "graphene-2.nancy.grid5000.fr")
    assert [h for h, _ in out.undeployed] == ["nova-2.lyon.grid5000.fr", "graphene-3.nancy.grid5000.fr"]
