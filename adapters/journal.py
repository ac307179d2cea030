"""The submission journal on disk: every submission in flight and every job id, so that nothing is ever lost.

The journal is one small JSON file in the state directory (``g5k.state.state_dir()``: ``$G5K_STATE_DIR`` or the
XDG state directory), ``journal.json``, replaced atomically (temporary file, fsync, rename) under the lock file
``journal.lock`` (``fcntl``), so that concurrent commands each read-modify-write it whole. Its values and
decisions are those of ``g5kpure.oar.journal``; this module does the file I/O and tells which owners are alive.

- :class:`Recorder`: the transaction of one operation (thread-safe). A submission is recorded before it is
  sent, its job id as soon as OAR gives it; :meth:`Recorder.keep_only` ends the operation keeping in the journal
  only what is left to clean (nothing when all went well). Writing is best effort: a journal that cannot be
  written is logged once and the operation goes on (the in-memory state still drives its rollback).
- :func:`leftovers` / :func:`notice`: what commands that died (even ``kill -9``) left, and the one line the next
  command prints about it; ``g5k cleanup`` deletes it (``g5k.reserve.clean_leftovers``).
- :func:`name_lock`: one lock per job name, so that two ``g5k reserve --name X`` on one machine never both
  submit (across machines, the reattach read is the only guard).
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final, Literal

from g5k.results import performed
from g5k.state import is_locked_elsewhere, locked, remove_durably, state_dir, write_atomic
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Success

from g5kpure.errors import G5kError, ParseError
from g5kpure.oar.journal import (
    Journal,
    JournalEntry,
    JournalOwner,
    Leftovers,
    Transaction,
    close_transaction,
    drop_entries,
    find_leftovers,
    generated_name,
    journal_to_json,
    keep_only,
    leftover_notice,
    open_transaction,
    parse_journal,
    record_job,
    record_sent,
)

log = logging.getLogger(__name__)

JOURNAL_NAME = "journal.json"
LOCK_NAME = "journal.lock"


class JournalFile:
    """The journal file of a state directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / JOURNAL_NAME
        self.lock_path = directory / LOCK_NAME

    def __repr__(self) -> str:
        return f"JournalFile({str(self.directory)!r})"

    def read(self) -> IOResult[Journal, G5kError]:
        """The journal (empty when there is no file); a file that cannot be read or parsed is a ``ParseError``."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return IOSuccess(Journal())
        except OSError as exc:
            return IOFailure(ParseError("g5k journal", str(self.path), hint=str(exc)))
        return IOResult.from_result(parse_journal(text, str(self.path)))

    def update(self, change: Callable[[Journal], Journal]) -> IOResult[Journal, G5kError]:
        """Apply ``change`` under the lock and write the result atomically (an empty journal removes the file).
        A corrupt file is set aside as ``journal.json.corrupt`` and replaced."""
        try:
            with locked(self.lock_path):
                current = performed(self.read())
                if not isinstance(current, Success):
                    os.replace(self.path, self.path.with_name(JOURNAL_NAME + ".corrupt"))
                    log.warning("%s; set aside as %s.corrupt", current.failure().message, self.path)
                    base = Journal()
                else:
                    base = current.unwrap()
                changed = change(base)
                if changed == base:
                    return IOSuccess(changed)
                if changed.transactions:
                    write_atomic(self.path, journal_to_json(changed).encode())
                else:
                    remove_durably(self.path)
                return IOSuccess(changed)
        except OSError as exc:
            return IOFailure(ParseError("g5k journal write", str(self.path), hint=str(exc)))


class _UserJournal(enum.Enum):
    JOURNAL = "the user's journal"


USER_JOURNAL: Final = _UserJournal.JOURNAL
"""Default of ``journal`` arguments: the journal of the state directory (``None``: keep no journal)."""

JournalArg = JournalFile | None | Literal[_UserJournal.JOURNAL]
"""A journal argument: a ``JournalFile``, ``None`` (none) or ``USER_JOURNAL``."""


def user_journal() -> JournalFile:
    """The journal of the user's state directory."""
    return JournalFile(state_dir())


def resolve(journal: JournalArg) -> JournalFile | None:
    """The journal file an argument names."""
    return user_journal() if journal is USER_JOURNAL else journal


# ------------------------------------------------------------------------------------------------ owners


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), None when unknown or gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (ValueError, IndexError):
        return None


def this_process() -> JournalOwner:
    """This process as a journal owner."""
    pid = os.getpid()
    return JournalOwner(socket.gethostname(), _boot_id(), pid, _start_time(pid) or 0)


def is_alive(owner: JournalOwner) -> bool:
    """Whether ``owner`` (a process of this machine and boot) still runs: same pid and start time."""
    if owner.started:
        return _start_time(owner.pid) == owner.started
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


# ------------------------------------------------------------------------------------------------ recorder


class Recorder:
    """The journaled transaction of one operation: submissions in flight, job ids, and what is left to clean.

    The transaction is written to the journal at its first submission only; ``journal=None`` keeps everything
    in memory. Every method is thread-safe and never raises for a journal that cannot be written."""

    def __init__(self, journal: JournalFile | None, command: str, clock: Callable[[], float] = time.time) -> None:
        self.journal = journal
        self.command = command
        self.clock = clock
        self.id = uuid.uuid4().hex
        self.owner = this_process()
        self._lock = threading.Lock()
        self._opened = False
        self._warned = False
        self.entries: dict[str, JournalEntry] = {}

    def new_name(self) -> str:
        """A fresh job name for a submission that has none (so that it can be found again)."""
        return generated_name(uuid.uuid4().hex[:12])

    def _write(self, change: Callable[[Journal], Journal]) -> None:
        if self.journal is None:
            return
        done = performed(self.journal.update(change))
        if not isinstance(done, Success) and not self._warned:
            self._warned = True
            log.warning("the g5k journal cannot be written (%s): jobs are tracked in memory only",
                        done.failure().message)

    def sent(self, frontend: str | None, name: str, ends_by: float) -> JournalEntry:
        """Record a submission about to be sent; its entry."""
        with self._lock:
            entry = JournalEntry(uuid.uuid4().hex[:12], frontend, name, self.clock(), ends_by)
            self.entries[entry.key] = entry
            self._opened = True

        def add(j: Journal) -> Journal:
            if j.get(self.id) is not None:
                return record_sent(j, self.id, entry)
            return open_transaction(j, Transaction(self.id, self.owner, self.command, entry.sent_at, (entry,)))

        self._write(add)
        return entry

    def got_job(self, key: str, job_id: int) -> None:
        """Record the job id OAR gave to the submission ``key``."""
        with self._lock:
            entry = self.entries.get(key)
            if entry is None:
                return
            self.entries[key] = JournalEntry(entry.key, entry.frontend, entry.name, entry.sent_at, entry.ends_by,
                                             job_id)
        self._write(lambda j: record_job(j, self.id, key, job_id))

    def gone(self, keys: Iterable[str]) -> None:
        """Forget submissions that hold no job (refused, never sent, deleted and ended)."""
        keys = tuple(keys)
        with self._lock:
            dropped = [k for k in keys if self.entries.pop(k, None) is not None]
        if dropped:
            self._write(lambda j: drop_entries(j, self.id, dropped))

    def keep_only(self, keys: Iterable[str]) -> None:
        """End the operation: only the entries ``keys`` (left to clean) stay in the journal."""
        kept = frozenset(keys)
        with self._lock:
            self.entries = {k: e for k, e in self.entries.items() if k in kept}
            opened = self._opened
        if opened:
            self._write(lambda j: keep_only(j, self.id, kept) if kept else close_transaction(j, self.id))


# ------------------------------------------------------------------------------------------------ leftovers


def leftovers(journal: JournalFile | None = None, now: float | None = None) -> IOResult[Leftovers, G5kError]:
    """What commands that died on this machine left in the journal (default: the user's)."""
    file = journal or user_journal()
    read = performed(file.read())
    if not isinstance(read, Success):
        return IOFailure(read.failure())
    current = read.unwrap()
    me = this_process()
    live = [t.owner for t in current.transactions
            if t.owner.host == me.host and t.owner.boot == me.boot and is_alive(t.owner)]
    return IOSuccess(find_leftovers(current, me.host, me.boot, live, time.time() if now is None else now))


def notice(journal: JournalFile | None = None) -> str | None:
    """The one line telling what dead commands left (None when nothing); never raises, reads without locking."""
    file = journal or user_journal()
    try:
        if not file.path.exists():
            return None
        found = performed(leftovers(file))
    except Exception as exc:  # a notice must never break the command it precedes
        log.debug("no journal notice: %s", exc)
        return None
    if not isinstance(found, Success):
        return f"the g5k journal cannot be read ({found.failure().message}); see `g5k cleanup`"
    return leftover_notice(found.unwrap())


# ------------------------------------------------------------------------------------------------ name locks


@contextlib.contextmanager
def name_lock(name: str, on_wait: Callable[[str], None] | None = None,
              directory: Path | None = None) -> Iterator[None]:
    """Hold the lock of a job name on this machine for the block (``on_wait`` is told when another process
    holds it and this one waits). A state directory that cannot be used means no lock (logged)."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:24]
    path = (directory or state_dir()) / "locks" / f"name-{digest}.lock"
    with contextlib.ExitStack() as stack:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if on_wait is not None and is_locked_elsewhere(path):
                on_wait(f"another g5k command holds the name {name!r} on this machine: waiting for it to finish")
            stack.enter_context(locked(path))
        except OSError as exc:
            log.warning("cannot lock the job name %r (%s): going on without the lock", name, exc)
        yield
