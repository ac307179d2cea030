"""The user's state directory and its files: atomic writes, lock files, stale temporary files.

- :func:`state_dir`: ``$G5K_STATE_DIR``, else platformdirs' user state directory (``$XDG_STATE_HOME/g5kpure``,
  ``~/.local/state/g5kpure``). It holds the submission journal and the per-name locks.
- :func:`write_atomic`: a temporary file (``.tmp-*``) in the same directory, fsynced, then renamed over the
  target, then the directory fsynced: a reader sees the old file or the new one, never a part.
- :func:`locked`: an exclusive ``fcntl`` lock on a lock file, held for a block (other processes wait); it is
  re-entrant within one process, so that nested calls of the library holding the same lock do not deadlock.
- :func:`sweep_temp_files`: remove the ``.tmp-*`` files a process killed between its write and its rename left.

This module imports only the standard library and platformdirs: every command uses it at start.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import platformdirs

STATE_DIR_ENV = "G5K_STATE_DIR"
"""The environment variable naming the state directory (tests, or several independent setups)."""

CACHE_DIR_ENV = "G5K_CACHE_DIR"
"""The environment variable naming the Reference API cache directory (see ``g5k.api.default_cache_dir``)."""

TEMP_PREFIX = ".tmp-"
"""Prefix of the temporary files of atomic writes (here and in the reference cache)."""

STALE_AFTER = 600.0
"""A temporary file older than this (seconds) belongs to no write in progress: a killed process left it."""


def state_dir() -> Path:
    """The state directory of g5kpure (``$G5K_STATE_DIR`` overrides platformdirs' user state directory)."""
    override = os.environ.get(STATE_DIR_ENV)
    return Path(override) if override else platformdirs.user_state_path("g5kpure")


def reference_cache_dir() -> Path:
    """Where ``g5k.api`` caches the Reference API (``$G5K_CACHE_DIR``, else the user cache directory)."""
    override = os.environ.get(CACHE_DIR_ENV)
    return Path(override) if override else platformdirs.user_cache_path("g5kpure") / "reference"


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temporary file, fsync, rename, directory fsync); raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def remove_durably(path: Path) -> None:
    """Remove ``path`` (absent is fine) and make the removal durable; raises OSError."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened for fsync
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_held: dict[Path, int] = {}
_held_guard = threading.RLock()
_thread_locks: dict[Path, threading.RLock] = {}


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the exclusive lock of the lock file ``path`` (created if needed) for the block; raises OSError.

    Threads of this process take turns (a re-entrant lock per path); other processes wait on ``fcntl.flock``.
    Waiting can be interrupted (Ctrl-C) like any blocking call."""
    path = path.absolute()
    with _held_guard:
        thread_lock = _thread_locks.setdefault(path, threading.RLock())
    with thread_lock:
        with _held_guard:
            depth = _held.get(path, 0)
            _held[path] = depth + 1
        try:
            if depth:
                yield
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a+b") as handle:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            with _held_guard:
                _held[path] -= 1
                if not _held[path]:
                    del _held[path]


def is_locked_elsewhere(path: Path) -> bool:
    """Whether another process holds the lock of ``path`` now (a quick look: False when it cannot tell)."""
    with _held_guard:
        if path.absolute() in _held:
            return False
    try:
        with open(path.absolute(), "a+b") as handle:
            import fcntl

            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False
    except OSError:
        return False


def sweep_temp_files(directories: Iterable[Path], older_than: float = STALE_AFTER,
                     now: float | None = None) -> tuple[Path, ...]:
    """Remove the ``.tmp-*`` files older than ``older_than`` seconds in ``directories``; the files removed.
    Never raises: a directory that cannot be read is skipped."""
    limit = (time.time() if now is None else now) - older_than
    removed: list[Path] = []
    for directory in directories:
        try:
            candidates = [p for p in directory.iterdir() if p.name.startswith(TEMP_PREFIX)]
        except OSError:
            continue
        for path in candidates:
            try:
                if path.is_file() and path.stat().st_mtime < limit:
                    path.unlink()
                    removed.append(path)
            except OSError:
                continue
    return tuple(removed)
