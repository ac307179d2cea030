"""Properties of the remote execution core: results are total and consistent, grouping partitions the hosts,
summaries add up, options survive ClusterShell's shlex split, a bounded line runs the same command in a real
/bin/sh, host selection by ranges gives back exactly the hosts written, and the oarwalltime / node file parsers
never raise."""

from __future__ import annotations

import shlex
import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from g5kpure.hosts import format_host_ranges
from g5kpure.remote import (
    HostResult,
    HostStatus,
    Jump,
    NodeAccess,
    group_outputs,
    host_result,
    parse_change,
    parse_nodefile,
    parse_oarwalltime_change,
    parse_oarwalltime_status,
    select_hosts,
    summarize,
)
from g5kpure.remote.plan import bounded_line

names = st.from_regex(r"[a-z]{1,8}-[1-9][0-9]{0,2}\.[a-z]{3,8}\.grid5000\.fr", fullmatch=True)
codes = st.one_of(st.none(), st.integers(-1, 300))
texts = st.text(max_size=80)


@given(names, codes, texts, texts, st.floats(-5, 1e6, allow_nan=False), st.booleans(),
       st.one_of(st.none(), st.floats(0.1, 1e4)))
def test_a_host_result_either_ran_or_says_why_not(host: str, code: int | None, out: str, err: str, secs: float,
                                                   timed_out: bool, timeout: float | None) -> None:
    r = host_result(host, code, out, err, secs, timed_out=timed_out, timeout=timeout)
    assert (r.exit_code is None) == (r.error is not None)
    assert r.seconds >= 0 and r.host == host and r.stdout == out
    assert r.ok == (r.status is HostStatus.OK) == (r.exit_code == 0)
    if timed_out:
        assert r.status is HostStatus.TIMEOUT


results = st.builds(lambda h, c, o, e: host_result(h, c, o, e, 1.0), names, codes,
                    st.sampled_from(["", "a\n", "b\n"]),
                    st.sampled_from(["", "ssh: connect to host x port 22: Connection refused\n",
                                     "oar@x: Permission denied (publickey).\n"]))


@given(st.lists(results, max_size=40, unique_by=lambda r: r.host))
def test_grouping_partitions_the_hosts_and_the_summary_adds_up(rs: list[HostResult]) -> None:
    groups = group_outputs(rs)
    seen = [h for g in groups for h in g.hosts]
    assert sorted(seen) == sorted(r.host for r in rs) and len(seen) == len(set(seen))
    by_host = {r.host: r for r in rs}
    for g in groups:
        assert {(by_host[h].stdout, by_host[h].exit_code, by_host[h].status) for h in g.hosts} == {
            (g.stdout, g.exit_code, g.status)}
    s = summarize(rs)
    assert s.total == len(rs) == s.ok + s.failed + s.unreachable + s.timeout + s.auth


paths = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)


@given(paths, paths, st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True), st.integers(1, 65535),
       st.one_of(st.none(), st.from_regex(r"[a-z]{1,8}@[a-z.]{1,20}", fullmatch=True)))
def test_options_survive_clustershell_s_shlex_split(key: str, jump_key: str, host: str, port: int,
                                                    via: str | None) -> None:
    jump = Jump(host, user="alice", port=port, key_filename=jump_key, via=via)
    access = NodeAccess(user="oar", port=6667, key_filename=key, jump=jump)
    options = access.options()
    assert shlex.split(shlex.join(options)) == list(options)
    proxy = next(o for o in options if o.startswith("-oProxyCommand="))
    assert tuple(shlex.split(proxy.removeprefix("-oProxyCommand="))) == jump.argv()


@settings(max_examples=25)
@given(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="\x7f"), max_size=40),
       st.one_of(st.none(), st.integers(1, 30)))
def test_a_bounded_line_runs_the_same_command(word: str, timeout: int | None) -> None:
    line = shlex.join(["printf", "%s", word])
    done = subprocess.run(["sh", "-c", bounded_line(line, timeout)], capture_output=True, check=False)
    assert done.returncode == 0 and done.stdout.decode() == word


@given(st.lists(names, min_size=1, max_size=20, unique=True), st.data())
def test_selecting_hosts_by_their_ranges_gives_them_back_in_the_job_s_order(job: list[str],
                                                                           data: st.DataObject) -> None:
    chosen = data.draw(st.lists(st.sampled_from(job), min_size=1, unique=True))
    text = format_host_ranges(chosen).unwrap()
    assert select_hosts(job, text).unwrap() == tuple(h for h in job if h in chosen)


@given(codes, st.text(max_size=300), st.text(max_size=100))
def test_the_parsers_are_total(code: int | None, out: str, err: str) -> None:
    parse_oarwalltime_change(code, out, err)
    parse_oarwalltime_status(code, out, err)
    parse_nodefile(code, out, err)
    parse_change(out)
