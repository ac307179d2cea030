"""SIGINT and SIGTERM sent to real `g5k` processes at varied moments leave nothing behind (the testbed's real OAR).

Each trial starts a `g5k` command as a separate process (its own state directory), waits for a moment seen from
outside (a line on stderr, the journal showing a submission in flight or a job id, kadeploy3 running on the
frontend), sends one to three signals, and checks: exit 130 (SIGINT) or 143 (SIGTERM), one line saying what was
deleted, no traceback, no job of the trial's name left in OAR, an empty journal, no kadeploy3 stand-in left.

- `g5k sub` on rennes, nancy and lyon (all three reach the one OAR site of the testbed), with `--hold` so that the
  jobs wait as they usually do on a busy site (the testbed's fake nodes make a launching job slow to kill);
- `g5k reserve --name X --at T` on the three, each reached as another user (so that each has its own quota of
  waiting reservations): nodes=5 of 8 at the same date makes two of the three refuse with OAR's "could run at"
  hint at every try, so that the command goes through submissions, rollbacks and new tries;
- `g5k deploy` as carol, whose kadeploy3 stand-in is made slow (its steps printed as they go);
- and `kill -9` of a `g5k sub`: the next command names what it left, `g5k cleanup` deletes it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from g5k.ssh import output_or_failure, run

from g5kpure.config import CommandOutput, ConnectionParams, FrontendAccess
from g5kpure.oar import parse_oarstat_jobs_json
from tests.conftest import Testbed, wait_for_reservation_quota

pytestmark = pytest.mark.integration

SITES = ("rennes", "nancy", "lyon")
NODE = "paravance-1.rennes.grid5000.fr"
SLOW = 6  # seconds a kadeploy3 stand-in run takes in these trials


# ------------------------------------------------------------------------------------------------ helpers


class Running:
    """A `g5k` process started by a trial: its stderr lines as they come, its state directory's journal."""

    def __init__(self, argv: list[str], env: dict[str, str], state: Path) -> None:
        self.state = state
        self.began = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "g5k.cli.main", *argv], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err: list[str] = []
        self.out: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(s, b), daemon=True)
                         for s, b in ((self.proc.stderr, self.err), (self.proc.stdout, self.out))]
        for r in self._readers:
            r.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def journal(self) -> list[dict[str, Any]]:
        """The entries of the journal now (every transaction)."""
        try:
            data = json.loads((self.state / "journal.json").read_text())
        except (OSError, ValueError):
            return []
        return [e for t in data["transactions"] for e in t["entries"]]

    def wait_for(self, what: Callable[[Running], bool], within: float = 60.0) -> bool:
        """Poll until ``what`` holds (True) or the process ends or time is up (False)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and self.proc.poll() is None:
            if what(self):
                return True
            time.sleep(0.005)
        return False

    def finish(self, within: float = 120.0) -> tuple[int, str, str]:
        """Wait for the end: exit code, stdout, stderr."""
        code = self.proc.wait(within)
        for r in self._readers:
            r.join(5)
        return code, "".join(self.out), "".join(self.err)


def sent(n: int) -> Callable[[Running], bool]:
    """The journal shows ``n`` submissions recorded (in flight or answered)."""
    return lambda r: len(r.journal()) >= n


def job_ids(n: int) -> Callable[[Running], bool]:
    """The journal shows ``n`` job ids."""
    return lambda r: sum(1 for e in r.journal() if e["job_id"] is not None) >= n


def said(text: str) -> Callable[[Running], bool]:
    """The command printed ``text`` on stderr."""
    return lambda r: any(text in line for line in r.err)


def after(seconds: float) -> Callable[[Running], bool]:
    """``seconds`` after the start."""
    return lambda r: time.monotonic() - r.began >= seconds


def then(first: Callable[[Running], bool], seconds: float) -> Callable[[Running], bool]:
    """``seconds`` after ``first`` first held."""
    seen: list[float] = []

    def check(r: Running) -> bool:
        if not seen and first(r):
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= seconds

    return check


def live_named(access: FrontendAccess, frontend: str, name: str) -> list[int]:
    """The ids of the live jobs of that name of the account behind ``frontend``."""
    out = output_or_failure(run(("oarstat", "-u", "-f", "-J"), frontend, access))
    assert isinstance(out, CommandOutput), out
    infos = parse_oarstat_jobs_json(out.exit_code, out.stdout, out.stderr).unwrap()
    return [i.job_id for i in infos if i.name == name and not i.state.is_final]


def none_left(access: FrontendAccess, frontends: tuple[str, ...], name: str, within: float = 20.0) -> list[int]:
    """Wait (at most ``within``: OAR may still be finishing a deletion it registered) until no live job of that
    name is left; what is left then."""
    deadline = time.monotonic() + within
    while True:
        left = [j for f in frontends for j in live_named(access, f, name)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(1.0)


def delete_named(access: FrontendAccess, frontends: tuple[str, ...], name: str) -> None:
    for f in frontends:
        ids = live_named(access, f, name)
        if ids:
            run(("oardel", *map(str, ids)), f, access)


def check_ended(code: int, out: str, err: str, sig: signal.Signals) -> None:
    """Exit 130 / 143, nothing on stdout, no traceback, the one line of the interruption."""
    word, expected = ("interrupted", 130) if sig is signal.SIGINT else ("terminated", 143)
    assert code == expected, err
    assert "Traceback" not in err and "g5k: error" not in err, err
    assert out == ""
    assert [ln for ln in err.splitlines() if ln.startswith(f"g5k: {word}")], err


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def alice(frontend_params: ConnectionParams) -> FrontendAccess:
    return FrontendAccess(frontend_params)


@pytest.fixture(scope="module")
def three_users(frontend_params: ConnectionParams, other_user_params: ConnectionParams,
                spare_user_params: ConnectionParams) -> FrontendAccess:
    """rennes as alice, nancy as bob, lyon as carol (one quota of waiting reservations each)."""
    return FrontendAccess(frontend_params, per_frontend={"nancy": other_user_params, "lyon": spare_user_params})


@pytest.fixture(scope="module")
def configs(testbed: Testbed, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`g5k` configurations: alice's (the testbed's), the three users', carol's."""
    work = tmp_path_factory.mktemp("interrupt-configs")
    base = (testbed.state_dir / "g5k.toml").read_text()
    keys = {u: str(testbed.state_dir / "keys" / u) for u in ("alice", "bob", "carol")}
    three = work / "three.toml"
    three.write_text(base + f'\n[frontends.nancy]\nuser = "bob"\nkeyfile = "{keys["bob"]}"\n'
                            f'\n[frontends.lyon]\nuser = "carol"\nkeyfile = "{keys["carol"]}"\n')
    carol = work / "carol.toml"
    carol.write_text(base.replace('user = "alice"', 'user = "carol"').replace(keys["alice"], keys["carol"]))
    return {"alice": testbed.state_dir / "g5k.toml", "three": three, "carol": carol}


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def environment(config: Path, state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("G5K_") and k != "OAR_JOB_ID"}
    return {**env, "G5K_CONFIG": str(config), "G5K_STATE_DIR": str(state)}


def trial(argv: list[str], config: Path, state: Path, moment: Callable[[Running], bool], sig: signal.Signals,
          extra: tuple[float, ...] = ()) -> tuple[int, str, str]:
    """Start `g5k ARGV`, send ``sig`` at ``moment`` then after each of the ``extra`` delays; how it ended."""
    r = Running(argv, environment(config, state), state)
    try:
        assert r.wait_for(moment), f"the moment never came: {''.join(r.err)}"
        r.proc.send_signal(sig)
        for delay in extra:
            time.sleep(delay)
            if r.proc.poll() is None:
                r.proc.send_signal(sig)
        return r.finish()
    finally:
        if r.proc.poll() is None:
            r.proc.kill()
            r.proc.wait()


def journal_empty(state: Path) -> bool:
    return not (state / "journal.json").exists()


# ------------------------------------------------------------------------------------------------ g5k sub

Moment = Callable[[], Callable[[Running], bool]]  # a fresh predicate for each trial

SUB_MOMENTS: dict[str, tuple[Moment, tuple[float, ...]]] = {
    "before-submitting": (lambda: said("walltime"), ()),
    "first-in-flight": (lambda: sent(1), ()),
    "in-flight+0.1s": (lambda: then(sent(1), 0.1), ()),
    "in-flight+0.25s": (lambda: then(sent(1), 0.25), ()),
    "first-id": (lambda: job_ids(1), ()),
    "again-during-rollback": (lambda: sent(1), (0.4,)),
    "twice-more-during-rollback": (lambda: job_ids(1), (0.2, 0.05)),  # the rollback takes a second at least
}
SUB_PARALLEL = 4  # trials at once (each its own job name and state directory)


def sub_trial(moment: str, sig: signal.Signals, config: Path, state: Path, alice: FrontendAccess) -> str:
    """One `g5k sub` trial on the three frontends; what happened, in a few words (raises when it went wrong)."""
    name = f"int-sub-{uuid.uuid4().hex[:8]}"
    when, extra = SUB_MOMENTS[moment]
    argv = ["sub", "-l", "core=1", "-w", "300s", "-n", name, "--options=--hold", "--tz", "UTC",
            *(w for s in SITES for w in ("--frontend", s))]
    try:
        code, out, err = trial(argv, config, state, when(), sig, extra)
        check_ended(code, out, err, sig)
        if len(extra) == 2:  # stopped waiting for the rollback: the ids left and how to delete them
            assert "left OAR jobs" in err and "g5k cleanup" in err and "g5k del " in err, err
            cleaned = subprocess.run([sys.executable, "-m", "g5k.cli.main", "cleanup"], text=True,
                                     capture_output=True, env=environment(config, state), timeout=120)
            assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
        elif moment != "before-submitting":
            assert "deleted OAR jobs" in err or "nothing was left submitted" in err, err
        assert none_left(alice, ("rennes",), name) == []
        assert journal_empty(state) or "still killing" in err, (state / "journal.json").read_text()
        return err.strip().splitlines()[-1]
    finally:
        delete_named(alice, ("rennes",), name)


def test_sub_on_three_frontends(configs: dict[str, Path], tmp_path: Path, alice: FrontendAccess) -> None:
    trials = [(m, sig) for m in SUB_MOMENTS for sig in (signal.SIGINT, signal.SIGTERM)]
    with ThreadPoolExecutor(SUB_PARALLEL) as pool:
        futures = {pool.submit(sub_trial, m, sig, configs["alice"], tmp_path / f"{m}-{sig.name}", alice): (m, sig)
                   for m, sig in trials}
    failed = []
    for future, (m, sig) in futures.items():
        try:
            future.result()
        except Exception as exc:
            failed.append(f"{m} {sig.name}: {exc}")
    assert not failed, "\n\n".join(failed)


# --------------------------------------------------------------------------------------------- g5k reserve

RESERVE_MOMENTS: dict[str, tuple[Moment, tuple[float, ...]]] = {
    "first-in-flight": (lambda: sent(1), ()),
    "first-id": (lambda: job_ids(1), ()),
    "during-the-tries": (lambda: then(job_ids(1), 1.5), ()),
    "again-during-rollback": (lambda: job_ids(1), (0.3,)),
}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
@pytest.mark.parametrize("moment", list(RESERVE_MOMENTS))
def test_reserve_at_a_common_date_while_sites_refuse(moment: str, sig: signal.Signals, configs: dict[str, Path],
                                                     state: Path, three_users: FrontendAccess) -> None:
    name = f"int-resa-{uuid.uuid4().hex[:8]}"
    when, extra = RESERVE_MOMENTS[moment]
    # days ahead, at a random minute: no other test's reservation in the way
    start = (int(time.time()) + 3 * 86400 + random.randrange(0, 86400)) // 60 * 60
    argv = ["reserve", "--name", name, "-l", "nodes=5", "-w", "600s", "--at", str(start), "--tries", "5",
            "--tz", "UTC", *(w for s in SITES for w in ("--frontend", s))]
    try:
        wait_for_reservation_quota(three_users, dict.fromkeys(SITES, 1), 120.0)
        code, out, err = trial(argv, configs["three"], state, when(), sig, extra)
        check_ended(code, out, err, sig)
        assert none_left(three_users, SITES, name) == []
        assert journal_empty(state) or "still killing" in err, (state / "journal.json").read_text()
    finally:
        delete_named(three_users, SITES, name)


def test_two_reserve_of_one_name_never_both_submit(configs: dict[str, Path], tmp_path: Path,
                                                   three_users: FrontendAccess) -> None:
    name = f"int-lock-{uuid.uuid4().hex[:8]}"
    env = environment(configs["three"], tmp_path / "state")
    argv = [sys.executable, "-m", "g5k.cli.main", "reserve", "--name", name, "-l", "core=1", "-w", "300s",
            "--frontend", "rennes", "--frontend", "nancy", "--json", "--tz", "UTC"]
    try:
        procs = [subprocess.Popen(argv, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(2)]
        ended = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], ended
        results = [json.loads(out) for out, _ in ended]
        assert sorted(r["reattached"] for r in results) == [False, True]
        assert results[0]["jobs"] == results[1]["jobs"]
        assert [len(live_named(three_users, f, name)) for f in ("rennes", "nancy")] == [1, 1]  # not two each
    finally:
        delete_named(three_users, ("rennes", "nancy"), name)


# ---------------------------------------------------------------------------------------------- g5k deploy


@pytest.fixture(scope="module")
def carol(spare_user_params: ConnectionParams) -> Iterator[FrontendAccess]:
    """carol's kadeploy3 stand-in, slow, reset before and after."""
    access = FrontendAccess(spare_user_params, default_frontend="rennes")

    def ctl(*args: str) -> None:
        out = output_or_failure(run(("kadeploy3-standin-ctl", *args), "rennes", access, timeout=30))
        assert isinstance(out, CommandOutput) and out.exit_code == 0, out

    ctl("reset")
    ctl("slow", str(SLOW))
    yield access
    ctl("reset")


def standins(user: str = "carol") -> list[str]:
    """The kadeploy3 stand-in processes of ``user`` on this machine (the testbed's frontends run here)."""
    found = subprocess.run(["pgrep", "-u", user, "-f", "-a", "kadeploy3 "], capture_output=True, text=True)
    return [ln for ln in found.stdout.splitlines() if "kadeploy3-standin-ctl" not in ln and "pgrep" not in ln]


def kadeploy_files(user: str = "carol") -> list[str]:
    """The files kadeploy3 runs of ``user`` left in /tmp (node files, pid, cancel mark)."""
    return sorted(str(p) for p in Path("/tmp").glob("g5kpure-kadeploy-*") if p.owner() == user)


def kadeploy_running(_: Running) -> bool:
    return bool(standins())


DEPLOY_MOMENTS: dict[str, tuple[Moment, tuple[float, ...]]] = {
    "launching": (lambda: said("try 1/1"), ()),
    "kadeploy3-started": (lambda: kadeploy_running, ()),
    "during-the-steps": (lambda: then(kadeploy_running, SLOW / 2), ()),
    "again-while-stopping": (lambda: then(kadeploy_running, 1.0), (0.1,)),
}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
@pytest.mark.parametrize("moment", list(DEPLOY_MOMENTS))
def test_deploy_stops_kadeploy3(moment: str, sig: signal.Signals, configs: dict[str, Path], state: Path,
                                carol: FrontendAccess) -> None:
    when, extra = DEPLOY_MOMENTS[moment]
    assert standins() == [] and kadeploy_files() == []
    code, out, err = trial(["deploy", "--no-check", "-e", "debian12-min", NODE], configs["carol"], state, when(),
                           sig, extra)
    check_ended(code, out, err, sig)
    # kadeploy3 stopped (or never started), so the host is not deployed; or, on a loaded machine, it had ended
    # before the stop reached it, and the report says so
    assert f"hosts: 0 deployed, 1 not deployed ({NODE})" in err or (
        f"hosts: 1 deployed ({NODE}), 0 not deployed" in err and "was not running" in err), err
    assert any(w in err for w in ("kadeploy3 on rennes stopped (pid", "kadeploy3 on rennes never started",
                                  "kadeploy3 on rennes was not running", "no kadeploy3 was running")), err
    assert standins() == []


def test_a_silent_kadeploy3_is_stopped_at_the_deploy_timeout(configs: dict[str, Path], state: Path,
                                                             carol: FrontendAccess) -> None:
    out = output_or_failure(run(("kadeploy3-standin-ctl", "hang", "60"), "rennes", carol, timeout=30))
    assert isinstance(out, CommandOutput) and out.exit_code == 0
    try:
        began = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "g5k.cli.main", "deploy", "--no-check", "-e", "debian12-min",
                               NODE, "--timeout", "3"], env=environment(configs["carol"], state), text=True,
                              capture_output=True, timeout=120)
        elapsed = time.monotonic() - began
    finally:
        run(("kadeploy3-standin-ctl", "hang", "0"), "rennes", carol, timeout=30)
    assert done.returncode == 1 and f"FAIL {NODE}" in done.stdout, (done.stdout, done.stderr)
    # the ssh runner reports its own timeout, or (when its timer and the channel's end race) a connection lost
    assert "timed out after 3s" in done.stdout or "connection lost" in done.stdout, done.stdout
    assert elapsed < 3 + 5 + 10  # the timeout, then stopping kadeploy3 and reading its files
    assert standins() == [] and kadeploy_files() == []


# ----------------------------------------------------------------------------------------------- kill -9


def test_kill_9_leaves_a_journal_that_the_next_command_reports_and_cleanup_clears(
    configs: dict[str, Path], state: Path, three_users: FrontendAccess
) -> None:
    # each frontend as its own user: a job is found by name only on the site that holds it, as on Grid'5000
    name = f"int-kill-{uuid.uuid4().hex[:8]}"
    env = environment(configs["three"], state)
    argv = ["sub", "-l", "core=1", "-w", "300s", "-n", name, "--options=--hold", "--tz", "UTC",
            *(w for s in SITES for w in ("--frontend", s))]
    try:
        r = Running(argv, env, state)
        assert r.wait_for(job_ids(1)), "".join(r.err)
        r.proc.kill()
        r.finish()
        assert r.proc.returncode == -signal.SIGKILL
        left = r.journal()
        assert left and any(e["job_id"] is not None for e in left)

        def g5k(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "g5k.cli.main", *args], env=env, text=True,
                                  capture_output=True, timeout=120)

        nxt = g5k("jobs", *(w for s in SITES for w in ("--frontend", s)))
        warnings = [ln for ln in nxt.stderr.splitlines() if ln.startswith("g5k: warning: a g5k command")]
        assert len(warnings) == 1 and f"pid {r.proc.pid}" in warnings[0] and "`g5k cleanup`" in warnings[0]
        known = [e["job_id"] for e in left if e["job_id"] is not None]
        assert all(str(j) in warnings[0] for j in known)
        shown = g5k("cleanup", "--dry-run", "--json")
        assert shown.returncode == 0, shown.stderr
        assert {j["job_id"] for j in json.loads(shown.stdout)["to_delete"]} >= set(known)
        cleaned = g5k("cleanup")
        assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
        assert none_left(three_users, SITES, name) == []
        assert journal_empty(state)
        assert "warning" not in g5k("jobs", "--frontend", "rennes").stderr
    finally:
        delete_named(three_users, SITES, name)
