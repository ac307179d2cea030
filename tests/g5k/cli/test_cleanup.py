"""`g5k cleanup` and the line every command prints about what dead commands left, on a real journal file and
real processes (nothing here reaches a frontend: jobs known by id need no lookup to be shown)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from g5k.journal import JournalFile, this_process
from g5k.results import performed

from g5kpure.oar import JournalEntry, JournalOwner, Transaction, open_transaction
from tests.conftest import isolate

CONFIG = """\
[g5k]
default_frontend = "rennes"
location = "outside"

[frontend]
user = "me"
host_suffix = ".example.invalid"
"""


def dead_owner() -> JournalOwner:
    """An owner whose process has exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    me = this_process()
    return JournalOwner(socket.gethostname(), me.boot, int(child.stdout), 0)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    isolate(tmp_path, monkeypatch)
    (tmp_path / "config.toml").write_text(CONFIG)
    values = {"G5K_STATE_DIR": str(tmp_path / "state"), "G5K_CACHE_DIR": str(tmp_path / "cache"),
              "G5K_CONFIG": str(tmp_path / "config.toml")}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return {**os.environ, **values}


def g5k(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "g5k.cli.main", *argv], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def leave(state: Path, *entries: JournalEntry) -> None:
    t = Transaction("t1", dead_owner(), "g5k sub -l nodes=1 --frontend rennes", time.time(), entries)
    performed(JournalFile(state).update(lambda j: open_transaction(j, t)))


def test_the_next_command_says_in_one_line_what_a_dead_one_left(env: dict[str, str]) -> None:
    state, cache = Path(env["G5K_STATE_DIR"]), Path(env["G5K_CACHE_DIR"])
    leave(state, JournalEntry("a", "rennes", "exp", time.time(), time.time() + 600, 41))
    cache.mkdir()
    stale = cache / ".tmp-k9x"
    stale.write_bytes(b"half a cache")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    done = g5k(env, "oar", "duration", "1:30")
    assert done.returncode == 0 and done.stdout.strip() == "5400"
    [line] = done.stderr.splitlines()
    assert line.startswith("g5k: warning: a g5k command that did not finish (pid ")
    assert "left OAR jobs 41 on rennes: run `g5k cleanup`" in line
    assert not stale.exists()  # a kill -9 between write and rename left it: swept


def test_cleanup_dry_run_shows_and_an_ended_entry_is_forgotten(env: dict[str, str]) -> None:
    state = Path(env["G5K_STATE_DIR"])
    leave(state, JournalEntry("a", "rennes", "exp", time.time(), time.time() + 600, 41),
          JournalEntry("b", "lyon", "exp", time.time() - 900, time.time() - 300, 42))
    shown = g5k(env, "cleanup", "--dry-run", "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["dry_run"] is True and data["to_delete"] == [{"job_id": 41, "frontend": "rennes"}]
    assert "warning" not in shown.stderr  # cleanup reports it itself
    assert (state / "journal.json").exists()
    human = g5k(env, "cleanup", "--dry-run")
    assert human.stdout.startswith("would delete OAR jobs 41 on rennes")


def test_cleanup_with_nothing_left(env: dict[str, str]) -> None:
    leave(Path(env["G5K_STATE_DIR"]), JournalEntry("b", "lyon", "exp", time.time() - 900, time.time() - 300, 42))
    done = g5k(env, "cleanup")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "forgot 1 journal entry whose job has surely ended"
    assert not (Path(env["G5K_STATE_DIR"]) / "journal.json").exists()
    again = g5k(env, "cleanup", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["deleted"] == []
