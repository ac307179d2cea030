"""Interruptions as failures: Ctrl-C (SIGINT) and SIGTERM stop an operation, whose undo then runs to its end.

An operation that must be undone when it is interrupted (jobs submitted, kadeploy3 started) runs inside a
:class:`Shield` (in the main thread; elsewhere the shield does nothing, as signals only reach the main thread):

- the **first** SIGINT or SIGTERM interrupts the operation as usual: ``KeyboardInterrupt`` for SIGINT, the
  previous SIGTERM handler's exception (``g5k``'s command line raises :class:`Terminated`), or
  :class:`Terminated` when SIGTERM had its default action;
- the operation then calls :meth:`Shield.undo`, which runs the undo in a thread and waits for it. A **second**
  signal prints what is still being undone (``still()``) and lets it go on; a **third** stops waiting: ``undo``
  returns ``ABANDONED`` and the caller reports what is left and how to finish the job by hand. A first signal
  that comes while an undo already runs (a failure's rollback) is the interruption: it is raised by
  :meth:`Shield.check` once the undo is done.

Notes added to the exception (``add_note``) tell what was undone; :func:`abandoned` tells the command line
that an undo was left unfinished (it then exits at once, without waiting for threads still at work).
"""

from __future__ import annotations

import enum
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from types import FrameType, TracebackType
from typing import Final, TypeVar

_T = TypeVar("_T")


class Terminated(BaseException):
    """SIGTERM, turned into an exception so that it unwinds like Ctrl-C (undo and ``finally`` blocks run)."""


class _Left(enum.Enum):
    ABANDONED = "abandoned"


ABANDONED: Final = _Left.ABANDONED
"""What :meth:`Shield.undo` returns when the user pressed Ctrl-C twice more: the undo was left unfinished."""

_ABANDONED_ATTR = "g5k_abandoned"
_STEP = 0.1  # seconds between two looks at a signal while the main thread waits


def result_of(future: Future[_T]) -> _T:
    """The result of ``future``, waited for in short steps: a signal that the system delivered to another thread
    (it may) is then handled by the main thread at once, not when the future completes."""
    while True:
        try:
            return future.result(timeout=_STEP)
        except TimeoutError:
            continue


def say(text: str) -> None:
    """Tell the user something about an interruption, on stderr (a line of its own)."""
    print(f"g5k: {text}", file=sys.stderr, flush=True)


def exception_for(signum: int) -> BaseException:
    """The exception a signal becomes: ``KeyboardInterrupt`` for SIGINT, :class:`Terminated` for SIGTERM."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def mark_abandoned(exc: BaseException) -> None:
    """Record on ``exc`` that an undo was left unfinished (see :func:`abandoned`)."""
    setattr(exc, _ABANDONED_ATTR, True)


def abandoned(exc: BaseException) -> bool:
    """Whether the interruption ``exc`` left an undo unfinished (its threads may still be at work)."""
    return bool(getattr(exc, _ABANDONED_ATTR, False))


class _Abandon(BaseException):
    """Raised in the main thread, inside :meth:`Shield.undo` only, by the third signal."""


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Shield:
    """SIGINT and SIGTERM handling around an operation with an undo (a context manager; see the module doc)."""

    def __init__(self, notify: Callable[[str], None] = say) -> None:
        self.notify = notify
        self.interrupted: int | None = None
        """The first signal received (its number), if any."""
        self._presses = 0
        self._undoing = False
        self._still: Callable[[], str] = lambda: "undoing what was done"
        self._previous: dict[int, object] = {}
        self._active = False

    def __enter__(self) -> Shield:
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                self._previous[signum] = signal.getsignal(signum)
            for signum in _SIGNALS:
                signal.signal(signum, self._handle)
            self._active = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def release(self) -> None:
        """Give the signals back to their previous handlers (idempotent)."""
        if self._active:
            self._active = False
            for signum, previous in self._previous.items():
                signal.signal(signum, previous)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.interrupted is None and self._undoing:  # the interruption itself, while a rollback runs
            self.interrupted = signum
            self.notify(f"{self._still()}; stopping once that is done")
            return
        if self.interrupted is not None:
            self._presses += 1
            if self._presses == 1:
                self.notify(f"{self._still()}; press Ctrl-C again to stop waiting and leave it unfinished")
            elif self._undoing:
                raise _Abandon
            return
        self.interrupted = signum
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)
            self.interrupted = None  # the previous handler chose not to interrupt
            return
        if previous == signal.SIG_IGN:
            self.interrupted = None
            return
        raise exception_for(signum)

    def check(self) -> None:
        """Raise the interruption a signal received during an undo asked for, once that undo has finished."""
        if self.interrupted is not None and not self._undoing:
            self._presses = 0
            raise self.exception()

    def exception(self) -> BaseException:
        """The exception of the first signal received: the previous handler's, else ``KeyboardInterrupt`` for
        SIGINT (also when no signal came) and :class:`Terminated` for SIGTERM."""
        signum = self.interrupted or signal.SIGINT
        previous = self._previous.get(signum)
        if callable(previous):
            try:
                previous(signum, None)
            except BaseException as exc:
                return exc
        return exception_for(signum)

    def undo(self, work: Callable[[], _T], still: Callable[[], str]) -> _T | _Left:
        """Run ``work`` to its end whatever signals come (see the module doc); its result, or ``ABANDONED``."""
        if not self._active:
            return work()
        self._still = still
        box: list[_T] = []
        failure: list[BaseException] = []
        done = threading.Event()

        def run() -> None:
            try:
                box.append(work())
            except BaseException as exc:  # handed to the waiting thread
                failure.append(exc)
            finally:
                done.set()

        self._undoing = True
        try:
            if self._presses >= 2:
                return ABANDONED
            threading.Thread(target=run, name="g5k-undo", daemon=True).start()
            while not done.wait(_STEP):
                pass
        except _Abandon:
            return ABANDONED
        finally:
            self._undoing = False
        if failure:
            raise failure[0]
        return box[0]
