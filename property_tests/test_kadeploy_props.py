"""Property tests of g5kpure.deploy.kadeploy: parser totality, argv shape, retry step invariants."""

from __future__ import annotations

import shlex
import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from g5kpure.deploy import (
    DeployHosts,
    Deployment,
    Done,
    KadeployOutput,
    KadeploySettings,
    host_key,
    interpret_run,
    next_action,
    observe_check,
    observe_deploy,
    parse_collected_files,
    parse_kadeploy_output,
    parse_node_file,
    plan_deployment,
    start_retry,
)

clusters = st.sampled_from(["nova", "gros", "paravance", "chartreuse2", "big"])
sites = st.sampled_from(["lyon", "nancy", "rennes", "grenoble"])


@st.composite
def node_names(draw: st.DrawFn) -> str:
    cluster, number, site = draw(clusters), draw(st.integers(1, 99)), draw(sites)
    form = draw(st.sampled_from(["short", "site", "fqdn"]))
    short = f"{cluster}-{number}"
    return {"short": short, "site": f"{short}.{site}", "fqdn": f"{short}.{site}.grid5000.fr"}[form]


@st.composite
def fqdns(draw: st.DrawFn) -> str:
    return f"{draw(clusters)}-{draw(st.integers(1, 99))}.{draw(sites)}.grid5000.fr"


line_pieces = st.sampled_from([
    "The deployment is successful on nodes", "The deployment failed on nodes",
    "The deployment operation failed on nodes", "Nodes correctly deployed on cluster nova",
    "Deployment #D-1 started", "nova-1.lyon.grid5000.fr", "nova-2 (timeout)", "(", ")", "", "\r", "  ",
])


@given(st.text())
def test_output_parser_is_total_on_any_text(text: str) -> None:
    out = parse_kadeploy_output(text)
    assert isinstance(out, KadeployOutput)


@given(st.lists(st.one_of(line_pieces, st.text(max_size=30)), max_size=30), st.sampled_from(["\n", "\r\n"]))
def test_output_parser_is_total_and_crlf_agnostic(lines: list[str], eol: str) -> None:
    lf = parse_kadeploy_output("\n".join(lines))
    assert parse_kadeploy_output(eol.join(line.rstrip("\r") for line in lines)) == parse_kadeploy_output(
        "\n".join(line.rstrip("\r") for line in lines))
    assert set(lf.deployed).isdisjoint({"(", ")"})


@given(st.text())
def test_node_file_and_collected_parsers_never_raise(text: str) -> None:
    assert isinstance(parse_node_file(text), Success | Failure)
    assert isinstance(parse_collected_files(text), Success | Failure)


@given(st.lists(fqdns(), max_size=20), st.lists(fqdns(), max_size=20))
def test_output_round_trip(ok: list[str], ko: list[str]) -> None:
    ko = [h for h in ko if h not in ok]
    text = "Deployment #D-x started\nnoise\n"
    if ok:
        text += "The deployment is successful on nodes\n" + "\n".join(ok) + "\n"
    if ko:
        text += "The deployment failed on nodes\n" + "\n".join(f"{h} (why)" for h in ko) + "\n"
    out = parse_kadeploy_output(text.replace("\n", "\r\n"))
    assert out.deployed == tuple(dict.fromkeys(ok))
    assert out.undeployed == tuple((h, "why") for h in dict.fromkeys(ko))


@given(st.lists(node_names(), min_size=1, max_size=12, unique=True), st.lists(node_names(), max_size=12))
def test_interpret_partitions_the_requested_hosts(requested: list[str], ok: list[str]) -> None:
    report = interpret_run(requested, KadeployOutput(deployed=tuple(ok)))
    assert report.deployed | report.undeployed == frozenset(requested)
    assert report.deployed.isdisjoint(report.undeployed)
    assert all(report.reason(h) for h in report.undeployed)
    ok_keys = {host_key(h) for h in ok}
    for host in report.deployed:
        assert host_key(host) in ok_keys


@given(st.lists(node_names(), min_size=1, max_size=12))
def test_plan_covers_every_host_exactly_once(hosts: list[str]) -> None:
    runs = plan_deployment(Deployment(hosts=hosts, env_name="e"), KadeploySettings(), "rennes", "/tmp/p").unwrap()
    planned = [h for r in runs for h in r.hosts]
    assert sorted(planned) == sorted(dict.fromkeys(hosts))
    for run in runs:
        assert [run.argv[i + 1] for i, w in enumerate(run.argv) if w == "-m"] == list(run.hosts)
    assert len({r.frontend for r in runs}) == len(runs)


@given(
    st.lists(st.sampled_from([f"n-{i}" for i in range(8)]), min_size=1, max_size=8, unique=True),
    st.integers(0, 5),
    st.frozensets(st.sampled_from([f"n-{i}" for i in range(8)])),
    st.lists(st.frozensets(st.sampled_from([f"n-{i}" for i in range(8)])), min_size=6, max_size=6),
    st.booleans(),
    st.integers(0, 9),
)
def test_retry_never_redeploys_and_terminates_within_num_tries(
    hosts: list[str], num_tries: int, already: frozenset[str], failures: list[frozenset[str]], check: bool,
    enough_at: int,
) -> None:
    def enough(deployed: frozenset[str], undeployed: frozenset[str]) -> bool:
        return len(deployed) >= enough_at

    state = start_retry(hosts, num_tries).unwrap()
    if check:
        state = observe_check(state, {h: (h in already, "no") for h in hosts})
    deployed_before: set[str] = set(state.deployed)
    steps = 0
    while True:
        action = next_action(state, enough)
        if isinstance(action, Done):
            break
        assert isinstance(action, DeployHosts)
        steps += 1
        assert steps <= num_tries
        assert action.try_number == steps
        assert action.hosts and not set(action.hosts) & deployed_before  # never deploys a deployed host
        ok = frozenset(action.hosts) - failures[steps - 1]
        report = interpret_run(action.hosts, KadeployOutput(deployed=tuple(sorted(ok))))
        state = observe_deploy(state, action, report, trust_report=not check)
        if check:
            state = observe_check(state, {h: (h in ok, "no") for h in action.hosts})
        assert deployed_before <= set(state.deployed)  # deployed hosts stay deployed
        deployed_before = set(state.deployed)
    assert action.deployed | action.undeployed == frozenset(hosts)
    assert action.deployed.isdisjoint(action.undeployed)
    assert action.tries == steps <= num_tries
    if action.why == "tries exhausted":
        assert steps == num_tries
    if action.why == "all deployed":
        assert not action.undeployed
    for host in hosts:
        deploys = [a for a in action.history_of(host) if a.action == "deploy"]
        assert len(deploys) <= num_tries
        # in this simulation the check agrees with kadeploy3, so a host deployed once is never tried again
        assert all(not a.deployed for a in deploys[:-1])
        if host in already and check:
            assert deploys == []
        assert [a.try_number for a in deploys] == sorted({a.try_number for a in deploys})


words = st.text(st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]), min_size=1, max_size=15).filter(
    str.strip)


@settings(max_examples=60)
@given(words, st.none() | words, st.none() | st.integers(1, 20), st.lists(words, max_size=3),
       st.lists(node_names(), min_size=1, max_size=4, unique=True))
def test_kadeploy_argv_survives_the_remote_shell(env: str, user: str | None, vlan: int | None, other: list[str],
                                                 hosts: list[str]) -> None:
    """What ssh sends (shlex.join of the argv) is read back by a real /bin/sh as exactly the argv."""
    d = Deployment(hosts=hosts, env_name=env, user=user, vlan=vlan, other_options=tuple(other))
    argv = plan_deployment(d, KadeploySettings(), "rennes", "/tmp/x y").unwrap()[0].argv
    script = 'for a in "$@"; do printf "%s\\0" "$a"; done'
    out = subprocess.run(["/bin/sh", "-c", f"set -- {shlex.join(argv)}; {script}"], capture_output=True,
                         check=True).stdout
    assert tuple(out.decode().split("\0")[:-1]) == argv
