"""The pure core of remote execution: plans, per-host results read from ssh's real messages, grouping,
summaries, oarwalltime's real outputs and the node file."""

from __future__ import annotations

import shlex
import subprocess

import pytest
from returns.result import Failure, Success

from g5kpure.config import OARSH_PARAMS, ConnectionParams, Endpoint
from g5kpure.errors import AuthError, InvalidInput, NotFound, ParseError, Rejected, Timeout, Unreachable
from g5kpure.remote import (
    Answer,
    Change,
    Direction,
    HostResult,
    HostStatus,
    Jump,
    Limits,
    Login,
    NodeAccess,
    RemoteCommand,
    RunReport,
    command_of,
    group_lines,
    group_outputs,
    host_lines,
    host_result,
    jump_via,
    merge_steps,
    not_started,
    oarsh_access,
    oarwalltime_argv,
    parse_change,
    parse_nodefile,
    parse_oarwalltime_change,
    parse_oarwalltime_status,
    plan_copy,
    plan_run,
    root_access,
    scp_argv,
    scp_has_legacy_flag,
    select_hosts,
    ssh_argv,
    summarize,
)
from g5kpure.remote.plan import bounded_line
from tests.conftest import FIXTURES_DIR

FIXTURES = FIXTURES_DIR
WALLTIME = FIXTURES / "oarwalltime"
P1, P2, P3 = (f"paravance-{i}.rennes.grid5000.fr" for i in (1, 2, 3))

# What OpenSSH 9.2 printed on the testbed (LogLevel=ERROR), each with exit status 255.
SSH_AUTH_REFUSED = f"oar@{P1}: Permission denied (publickey,keyboard-interactive).\n"
SSH_REFUSED = "ssh: connect to host 127.0.20.9 port 6667: Connection refused\n"
SSH_UNKNOWN = "ssh: Could not resolve hostname nosuch-9.rennes.grid5000.fr: Name or service not known\n"
SSH_JUMP_DOWN = ("ssh: connect to host lille.frontend.g5kpure.test port 2222: Connection refused\n"
                 "kex_exchange_identification: Connection closed by remote host\n")


def _capture(name: str) -> tuple[int, str, str]:
    return (int((WALLTIME / f"{name}.rc").read_text()), (WALLTIME / f"{name}.stdout").read_text(),
            (WALLTIME / f"{name}.stderr").read_text())


# --------------------------------------------------------------------------------------------------- access


def test_oarsh_access_is_oar_on_6667_with_the_job_key() -> None:
    access = oarsh_access(ConnectionParams(user="oar", port=6667, key_filename="/k/job"))
    assert access.login is Login.OARSH
    options = access.options()
    assert "-oPort=6667" in options and "-oUser=oar" in options
    assert "-oIdentityFile=/k/job" in options and "-oIdentitiesOnly=yes" in options
    assert "-oBatchMode=yes" in options


def test_oarsh_access_defaults_to_oar_and_6667_when_the_parameters_leave_them_out() -> None:
    access = oarsh_access(ConnectionParams())
    assert (access.user, access.port) == ("oar", 6667)
    assert (oarsh_access(OARSH_PARAMS).user, oarsh_access(OARSH_PARAMS).port) == ("oar", 6667)


def test_root_access_and_kavlan_names() -> None:
    access = root_access(kavlan=4)
    assert access.user == "root" and access.port is None
    assert access.address_of(P1) == "paravance-1-kavlan-4.rennes.grid5000.fr"
    assert NodeAccess().address_of(P1) == P1


def test_the_frontend_as_jump_host_keeps_its_own_user_port_and_key() -> None:
    endpoint = Endpoint("rennes", "rennes.grid5000.fr", 2222, "alice", "/k/alice", "alice@access.grid5000.fr")
    jump = jump_via(endpoint)
    argv = jump.argv()
    assert argv[-3:] == ("%h:%p", "--", "rennes.grid5000.fr")
    assert "-oPort=2222" in argv and "-oUser=alice" in argv and "-oIdentityFile=/k/alice" in argv
    assert argv[argv.index("-J") + 1] == "alice@access.grid5000.fr"
    access = oarsh_access(OARSH_PARAMS, jump)
    proxy = next(o for o in access.options() if o.startswith("-oProxyCommand="))
    # ClusterShell splits its ssh options with shlex: the proxy command must come back as one word
    assert shlex.split(shlex.join(access.options()))[-1] == proxy
    assert shlex.split(proxy.removeprefix("-oProxyCommand=")) == list(argv)


def test_the_jump_checks_the_frontend_key_as_the_frontend_settings_say() -> None:
    strict = jump_via(Endpoint("rennes", "rennes.grid5000.fr", known_hosts="/state/known hosts")).argv()
    assert "-oStrictHostKeyChecking=yes" in strict
    # the settings' file is read beside the system's, the user's own known_hosts left as it is
    assert ("-oGlobalKnownHostsFile=/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2 \"/state/known hosts\""
            in strict)
    assert not any(w.startswith("-oUserKnownHostsFile") for w in strict)
    trusting = jump_via(Endpoint("rennes", "rennes.grid5000.fr", accept_new_host_keys=True)).argv()
    assert "-oStrictHostKeyChecking=accept-new" in trusting
    assert not any(w.startswith("-oGlobalKnownHostsFile") for w in trusting)


def test_ssh_argv_ends_options_before_the_host() -> None:
    argv = ssh_argv(oarsh_access(OARSH_PARAMS), P1, "hostname")
    assert argv[0] == "ssh" and argv[-3:] == ("--", P1, "hostname")
    assert ssh_argv(NodeAccess(), P1, None, tty=True)[-3:] == ("-t", "--", P1)


def test_scp_uses_the_scp_protocol_when_asked() -> None:
    argv = scp_argv(oarsh_access(OARSH_PARAMS), "a.txt", f"{P1}:/tmp", preserve=True)
    assert "-O" in argv and "-p" in argv and argv[-3:] == ("--", "a.txt", f"{P1}:/tmp")
    assert "-O" not in scp_argv(NodeAccess(), "a", "b", legacy=False)
    assert scp_has_legacy_flag("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024")
    assert not scp_has_legacy_flag("OpenSSH_8.4p1 Debian-5+deb11u3, OpenSSL 1.1.1w")
    assert not scp_has_legacy_flag("garbage")


# ----------------------------------------------------------------------------------------------- commands


def test_command_of_argv_is_quoted_for_the_remote_shell() -> None:
    cmd = command_of(["echo", "a b", "$HOME"]).unwrap()
    assert cmd.line == "echo 'a b' '$HOME'"
    assert command_of(["echo $HOME | wc -c"], shell=True).unwrap().line == "echo $HOME | wc -c"


@pytest.mark.parametrize("words", [[], [""], ["  "], ["a\0b"]])
def test_command_of_refuses_empty_commands(words: list[str]) -> None:
    err = command_of(words).failure()
    assert isinstance(err, InvalidInput) and err.name == "command"


def test_a_per_host_limit_is_enforced_on_the_node_too() -> None:
    line = bounded_line("sleep 10; echo done", 2.5)
    assert shlex.split(line) == ["timeout", "--kill-after=5", "3", "sh", "-c", "sleep 10; echo done"]
    assert bounded_line("true", None) == "true"
    out = subprocess.run(["sh", "-c", bounded_line("echo $((1+1))", 5)], capture_output=True, text=True, check=True)
    assert out.stdout == "2\n"


# -------------------------------------------------------------------------------------------------- plans


def test_plan_run_deduplicates_hosts_in_order_and_describes_itself() -> None:
    plan = plan_run([P2, P1, P2], RemoteCommand(("hostname",)), oarsh_access(OARSH_PARAMS),
                    Limits(fanout=8, timeout=30)).unwrap()
    assert plan.hosts == (P2, P1)
    text = plan.describe()
    assert "paravance-[1-2].rennes.grid5000.fr" in text and "fanout 8" in text and "{host}" in text
    assert plan.ssh_argv(P1)[-2:] == (P1, bounded_line("hostname", 30))
    assert plan.local_timeout is not None and plan.local_timeout > 30


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"fanout": 0}, "fanout"), ({"fanout": True}, "fanout"), ({"timeout": 0}, "timeout"),
     ({"timeout": -1.0}, "timeout"), ({"deadline": 0}, "overall timeout")],
)
def test_plan_run_refuses_bad_limits(kwargs: dict[str, object], name: str) -> None:
    err = plan_run([P1], RemoteCommand(("true",)), limits=Limits(**kwargs)).failure()  # type: ignore[arg-type]
    assert isinstance(err, InvalidInput) and err.name == name


@pytest.mark.parametrize("host", ["", "-oProxyCommand=x", "a b", "a;b", "x\n"])
def test_plan_run_refuses_what_is_not_a_host_name(host: str) -> None:
    err = plan_run([host], RemoteCommand(("true",))).failure()
    assert isinstance(err, InvalidInput) and err.name in ("host", "hosts")


def test_plan_run_refuses_no_hosts_and_bad_access() -> None:
    assert plan_run([], RemoteCommand(("true",))).failure().name == "hosts"  # type: ignore[attr-defined]
    bad = plan_run([P1], RemoteCommand(("true",)), NodeAccess(port=70000)).failure()
    assert isinstance(bad, InvalidInput) and bad.name == "ssh port"
    bad = plan_run([P1], RemoteCommand(("true",)), NodeAccess(user="x y")).failure()
    assert isinstance(bad, InvalidInput) and bad.name == "ssh user"
    bad = plan_run([P1], RemoteCommand(("true",)), NodeAccess(kavlan=0)).failure()
    assert isinstance(bad, InvalidInput) and bad.name == "kavlan"


def test_plan_copy_checks_paths_and_names_the_host_folders() -> None:
    plan = plan_copy(Direction.GET, [P1], ["/tmp/out"], "results", oarsh_access(OARSH_PARAMS)).unwrap()
    assert plan.local_folder(P1) == f"results/{P1}"
    assert "{host}:/tmp/out" in plan.describe()
    err = plan_copy(Direction.PUT, [P1], [], "/tmp").failure()
    assert isinstance(err, InvalidInput) and err.name == "local file"
    err = plan_copy(Direction.PUT, [P1], ["a\nb"], "/tmp").failure()
    assert isinstance(err, InvalidInput)
    err = plan_copy(Direction.GET, [P1], ["x"], "").failure()
    assert isinstance(err, InvalidInput) and err.name == "destination directory"


def test_select_hosts_reads_ranges_short_names_and_fqdns() -> None:
    job = (P1, P2, P3)
    assert select_hosts(job, None).unwrap() == job
    assert select_hosts(job, "paravance-[1,3]").unwrap() == (P1, P3)
    assert select_hosts(job, "paravance-2.rennes").unwrap() == (P2,)
    assert select_hosts(job, P3).unwrap() == (P3,)
    err = select_hosts(job, "parasilo-1").failure()
    assert isinstance(err, InvalidInput) and err.value == "parasilo-1"
    assert "paravance-[1-3].rennes.grid5000.fr" in err.expected
    assert isinstance(select_hosts(job, "paravance-[2").failure(), ParseError)


# ------------------------------------------------------------------------------------------------ results


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [(SSH_AUTH_REFUSED, AuthError), (SSH_REFUSED, Unreachable), (SSH_UNKNOWN, Unreachable),
     (SSH_JUMP_DOWN, Unreachable), ("Host key verification failed.\n", AuthError)],
)
def test_ssh_failures_are_told_from_ssh_messages(stderr: str, kind: type) -> None:
    result = host_result(P1, 255, "", stderr, 0.5)
    assert isinstance(result.error, kind) and result.exit_code is None
    if isinstance(result.error, Unreachable):
        assert result.error.host == P1 and result.error.after_s == 0.5 and result.error.detail
        assert result.status is HostStatus.UNREACHABLE
    else:
        assert isinstance(result.error, AuthError) and result.error.where == P1
        assert result.status is HostStatus.AUTH


def test_a_command_exiting_255_is_the_command_s_exit_code() -> None:
    assert host_result(P1, 255, "", "", 0.1).exit_code == 255
    assert host_result(P1, 255, "", "my tool: bad input\n", 0.1).status is HostStatus.FAILED
    assert host_result(P1, 3, "out\n", "err\n", 0.1) == HostResult(P1, 3, "out\n", "err\n", 0.1)


def test_timeouts_keep_the_output_read_so_far() -> None:
    result = host_result(P1, None, "start\n", "", 2.2, timed_out=True, timeout=2.0)
    assert isinstance(result.error, Timeout) and result.error.after_s == 2.0 and result.error.host == P1
    assert result.stdout == "start\n" and result.status is HostStatus.TIMEOUT
    waiting = not_started(P2, 10.0)
    assert isinstance(waiting.error, Timeout) and waiting.error.after_s == 10.0


def test_merge_steps_keeps_the_first_failure_and_adds_the_times() -> None:
    ok = HostResult(P1, 0, "", "", 1.0)
    bad = HostResult(P1, 1, "", "scp: /x: No such file\n", 0.5)
    merged = merge_steps(P1, [ok, bad, ok])
    assert merged.exit_code == 1 and merged.seconds == 2.5 and "No such file" in merged.stderr
    assert merge_steps(P1, [ok, ok]).ok


def _results() -> list[HostResult]:
    return [
        HostResult("node-10", 0, "Linux\n", "", 0.2),
        HostResult("node-2", 0, "Linux\n", "", 0.3),
        HostResult("node-3", 1, "", "boom\n", 0.1),
        host_result("node-4", 255, "", SSH_REFUSED, 1.0),
        host_result("node-5", None, "", "", 3.0, timed_out=True, timeout=3.0),
        host_result("node-6", 255, "", SSH_AUTH_REFUSED, 0.2),
    ]


def test_summary_counts_each_status() -> None:
    summary = summarize(_results())
    assert (summary.total, summary.ok, summary.failed, summary.unreachable, summary.timeout, summary.auth) == (
        6, 2, 1, 1, 1, 1)
    assert not summary.all_ok
    assert summary.describe() == "6 hosts: 2 ok, 1 failed, 1 unreachable, 1 timed out, 1 refused authentication"
    report = RunReport(tuple(_results()), 1.5)
    assert report.result_of("node-3") is not None and report.result_of("nope") is None and not report.ok


def test_group_outputs_folds_identical_hosts_like_clubak() -> None:
    groups = group_outputs(_results())
    first = groups[0]
    assert first.hosts == ("node-2", "node-10") and first.label == "node-[2,10]" and first.stdout == "Linux\n"
    assert [g.status for g in groups] == [HostStatus.OK, HostStatus.FAILED, HostStatus.UNREACHABLE,
                                          HostStatus.TIMEOUT, HostStatus.AUTH]
    assert group_lines(first) == ("---------------- node-[2,10] (2) ok", "Linux")
    assert group_lines(groups[1])[0].endswith("exit code 1")
    assert "unreachable" in group_lines(groups[2])[-1]


def test_host_lines_prefix_each_output_line_and_say_how_a_host_ended() -> None:
    results = _results()
    assert host_lines(results[0]) == ("node-10: Linux",)
    assert host_lines(results[2]) == ("node-3: [exit code 1]",)
    assert host_lines(results[3])[0].startswith("node-4: [unreachable: ssh: connect to host")
    assert host_lines(results[4]) == ("node-5: [timed out after 3s]",)


# ------------------------------------------------------------------------------------------- oarwalltime


def test_parse_change_reads_signs_and_the_duration_grammar() -> None:
    assert parse_change("+1:00").unwrap().text == "+1:00:00"
    assert parse_change("-30m").unwrap().change is Change.DECREASE
    assert parse_change("2").unwrap().seconds == 7200
    for bad in ("", "+", "+abc", "-0"):
        err = parse_change(bad).failure()
        assert isinstance(err, InvalidInput) and err.name == "walltime change"


def test_oarwalltime_argv() -> None:
    assert oarwalltime_argv(12) == ("oarwalltime", "12")
    assert oarwalltime_argv(12, parse_change("+1:00").unwrap(), force=True, delay_next_jobs=True) == (
        "oarwalltime", "--force", "--delay-next-jobs", "12", "+1:00:00")


def test_real_accepted_and_updated_answers() -> None:
    accepted = parse_oarwalltime_change(*_capture("02_increase_accepted")).unwrap()
    assert accepted.job_id == 361 and accepted.answer is Answer.ACCEPTED
    updated = parse_oarwalltime_change(*_capture("08_decrease")).unwrap()
    assert updated.answer is Answer.UPDATED


@pytest.mark.parametrize(
    ("name", "reason"),
    [("05_not_your_job", "does not belong to you"), ("09_not_running", "is not running"),
     ("12_force", "not allowed to be forced"), ("07_bad_walltime", "syntax error"), ("10_bad_job_id", "syntax error"),
     ("11_no_argument", "syntax error")],
)
def test_real_refusals_are_rejected_values(name: str, reason: str) -> None:
    code, out, err = _capture(name)
    error = parse_oarwalltime_change(code, out, err).failure()
    assert isinstance(error, Rejected) and reason in error.reason and error.exit_code == code


def test_an_unknown_job_is_not_found() -> None:
    error = parse_oarwalltime_change(*_capture("06_unknown_job"), job_id=999999).failure()
    assert isinstance(error, NotFound) and error.key == "999999"


def test_real_status_outputs_pending_then_granted() -> None:
    none = parse_oarwalltime_status(*_capture("01_show_no_request")).unwrap()
    assert (none.current, none.possible_increase, none.granted, none.pending) == (600, None, 0, 0)
    pending = parse_oarwalltime_status(*_capture("03_show_pending")).unwrap()
    assert pending.is_pending and pending.pending == 300 and pending.running
    granted = parse_oarwalltime_status(*_capture("04_show_granted")).unwrap()
    assert (granted.current, granted.granted, granted.is_pending) == (900, 300, False)
    assert isinstance(parse_oarwalltime_status(*_capture("09_not_running")).failure(), Rejected)
    assert isinstance(parse_oarwalltime_status(0, "hello\n", "").failure(), ParseError)


def test_the_nodefile_has_one_line_per_core() -> None:
    out = (FIXTURES / "oar" / "101_oarstat_properties_j.stdout").read_text()
    hosts = parse_nodefile(0, out, "").unwrap()
    assert len(hosts) == out.count("network_address") == 8
    assert hosts == ("paravance-1.rennes.grid5000.fr",) * 4 + ("paravance-2.rennes.grid5000.fr",) * 4
    assert isinstance(parse_nodefile(1, "", "boom"), Failure)
    assert isinstance(parse_nodefile(0, "type = 'default'\n"), Failure)
    assert parse_nodefile(0, "") == Success(())


def test_jump_defaults() -> None:
    jump = Jump("f.example")
    assert jump.argv()[-1] == "f.example" and "-J" not in jump.argv()
