"""The journal file and the state directory, on real files and real processes: atomic updates under a lock shared by
concurrent processes, owners' liveness, per-name locks, stale temporary files."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from g5k.api import default_cache_dir
from g5k.journal import JournalFile, Recorder, is_alive, leftovers, name_lock, notice, this_process
from g5k.results import performed
from g5k.state import TEMP_PREFIX, reference_cache_dir, state_dir, sweep_temp_files
from returns.result import Success

from g5kpure.oar import Journal, JournalEntry, JournalOwner, OarJob, Transaction, open_transaction, record_sent
from tests.conftest import isolate


def _add_entries(directory: str, tid: str, count: int) -> None:
    file = JournalFile(Path(directory))
    owner = JournalOwner("elsewhere", "b", 1, 1)
    for i in range(count):
        e = JournalEntry(f"{tid}-{i}", "rennes", "exp", 1.0, 2.0, i + 1)

        def add(j: Journal, e: JournalEntry = e) -> Journal:
            if j.get(tid) is None:
                return open_transaction(j, Transaction(tid, owner, "test", 1.0, (e,)))
            return record_sent(j, tid, e)

        assert isinstance(performed(file.update(add)), Success)


def test_concurrent_processes_never_lose_an_update(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_add_entries, args=(str(tmp_path), f"t{n}", 15)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    journal = performed(JournalFile(tmp_path).read()).unwrap()
    assert sorted(len(t.entries) for t in journal.transactions) == [15, 15, 15, 15]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)] == []  # every write renamed


def test_an_empty_journal_leaves_no_file_and_a_corrupt_one_is_set_aside(tmp_path: Path) -> None:
    file = JournalFile(tmp_path)
    recorder = Recorder(file, "g5k sub -l nodes=1")
    e = recorder.sent("rennes", "exp", 9e9)
    recorder.got_job(e.key, 42)
    saved = json.loads(file.path.read_text())
    assert saved["transactions"][0]["entries"][0]["job_id"] == 42
    assert saved["transactions"][0]["owner"]["pid"] == os.getpid()
    recorder.keep_only([])
    assert not file.path.exists()
    file.path.write_text("{ half a jour")
    assert isinstance(performed(file.update(lambda j: j)), Success)
    assert (tmp_path / "journal.json.corrupt").read_text() == "{ half a jour"
    assert notice(file) is None


def test_a_recorder_without_a_usable_directory_keeps_working_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    recorder = Recorder(JournalFile(blocker / "state"), "g5k sub")  # a directory that cannot be created
    e = recorder.sent("rennes", "exp", 9e9)
    recorder.got_job(e.key, 7)
    assert recorder.entries[e.key].job_id == 7
    recorder.keep_only([e.key])


def test_a_dead_process_is_told_from_a_live_one_and_from_a_reused_pid(tmp_path: Path) -> None:
    me = this_process()
    assert is_alive(me) and me.started > 0
    assert not is_alive(JournalOwner(me.host, me.boot, me.pid, me.started + 1))  # same pid, another process
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert not is_alive(JournalOwner(me.host, me.boot, int(child.stdout), 0))


def test_leftovers_of_a_dead_command_are_reported_in_one_line(tmp_path: Path) -> None:
    me = this_process()
    dead = JournalOwner(me.host, me.boot, me.pid, me.started + 1)
    file = JournalFile(tmp_path)
    t = Transaction("t", dead, "g5k sub --frontend rennes", time.time(),
                    (JournalEntry("a", "rennes", "exp", time.time(), time.time() + 600, 41),))
    performed(file.update(lambda j: open_transaction(j, t)))
    mine = Recorder(file, "g5k reserve")  # this live process's transaction is not a leftover
    mine.sent("lyon", "other", time.time() + 600)
    found = performed(leftovers(file)).unwrap()
    assert found.jobs == (OarJob(41, "rennes"),)
    line = notice(file)
    assert line is not None and "\n" not in line and "41 on rennes" in line and "g5k cleanup" in line


def _hold(directory: str, name: str, ready: multiprocessing.synchronize.Event, seconds: float) -> None:
    with name_lock(name, directory=Path(directory)):
        ready.set()
        time.sleep(seconds)


def test_a_name_lock_makes_a_second_process_wait(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold, args=(str(tmp_path), "exp1", ready, 1.5))
    holder.start()
    assert ready.wait(30)
    said: list[str] = []
    began = time.monotonic()
    with name_lock("exp1", said.append, directory=tmp_path):
        waited = time.monotonic() - began
        with name_lock("exp1", said.append, directory=tmp_path):  # re-entrant within one process
            pass
    holder.join(30)
    assert waited > 0.5 and len(said) == 1 and "'exp1'" in said[0]
    with name_lock("exp2", said.append, directory=tmp_path):  # another name: no wait
        pass
    assert len(said) == 1


def test_stale_temporary_files_are_swept_and_fresh_ones_kept(tmp_path: Path) -> None:
    old, fresh, other = tmp_path / ".tmp-abc", tmp_path / ".tmp-def", tmp_path / "reference-1.json.gz"
    for p in (old, fresh, other):
        p.write_text("x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    os.utime(other, (time.time() - 3600, time.time() - 3600))
    assert sweep_temp_files([tmp_path, tmp_path / "missing"]) == (old,)
    assert not old.exists() and fresh.exists() and other.exists()


def test_the_swept_cache_directory_is_the_reference_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)
    assert reference_cache_dir() == default_cache_dir()
    monkeypatch.setenv("G5K_CACHE_DIR", str(tmp_path / "c"))
    assert reference_cache_dir() == default_cache_dir() == tmp_path / "c"
    monkeypatch.setenv("G5K_STATE_DIR", str(tmp_path / "s"))
    assert state_dir() == tmp_path / "s"
