"""The Shield, with real signals sent to this process: the first interrupts, later ones during an undo are
counted (a message, then the undo is left), and a signal during an undo is raised once the undo is done."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from g5k.interrupt import ABANDONED, Shield, Terminated, abandoned, mark_abandoned


def sleep_then(seconds: float, value: int) -> Callable[[], int]:
    """An undo that sleeps ``seconds`` then returns ``value``."""

    def undo() -> int:
        time.sleep(seconds)
        return value

    return undo


def send_later(signum: int, *delays: float) -> threading.Thread:
    """Send ``signum`` to this process after each delay (from a thread, as a user at a terminal would)."""

    def run() -> None:
        for d in delays:
            time.sleep(d)
            os.kill(os.getpid(), signum)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.fixture(autouse=True)
def default_handlers() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def test_the_first_signal_interrupts_and_the_handlers_come_back() -> None:
    with pytest.raises(KeyboardInterrupt), Shield() as shield:
        send_later(signal.SIGINT, 0.1)
        time.sleep(5)
    assert shield.interrupted == signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_sigterm_with_its_default_action_becomes_terminated() -> None:
    with pytest.raises(Terminated), Shield():
        send_later(signal.SIGTERM, 0.1)
        time.sleep(5)


def test_sigterm_goes_through_the_previous_handler() -> None:
    class Mine(BaseException):
        pass

    def handler(_s: int, _f: object) -> None:
        raise Mine

    signal.signal(signal.SIGTERM, handler)
    with pytest.raises(Mine), Shield():
        send_later(signal.SIGTERM, 0.1)
        time.sleep(5)


def test_during_an_undo_a_second_signal_tells_what_is_left_and_a_third_abandons() -> None:
    said: list[str] = []
    with Shield(said.append) as shield:
        try:
            send_later(signal.SIGINT, 0.1)
            time.sleep(5)
        except KeyboardInterrupt as exc:
            send_later(signal.SIGINT, 0.2, 0.2)
            got = shield.undo(lambda: time.sleep(10), lambda: "still deleting OAR jobs 1 on rennes")
            assert got is ABANDONED
            mark_abandoned(exc)
            assert abandoned(exc)
    assert said == ["still deleting OAR jobs 1 on rennes; press Ctrl-C again to stop waiting and leave it unfinished"]


def test_an_undo_runs_to_its_end_and_a_signal_meanwhile_is_raised_afterwards() -> None:
    said: list[str] = []
    with Shield(said.append) as shield:
        send_later(signal.SIGINT, 0.2)
        assert shield.undo(sleep_then(0.6, 42), lambda: "deleting") == 42
        assert len(said) == 1
        with pytest.raises(KeyboardInterrupt):
            shield.check()


def test_an_undo_that_fails_raises_its_error_and_outside_the_main_thread_nothing_is_caught() -> None:
    def boom() -> None:
        raise ValueError("bug")

    with Shield() as shield, pytest.raises(ValueError):
        shield.undo(boom, lambda: "")
    results: list[object] = []

    def elsewhere() -> None:
        with Shield() as s:
            results.append(s.undo(lambda: 7, lambda: ""))

    t = threading.Thread(target=elsewhere)
    t.start()
    t.join()
    assert results == [7]


def test_a_first_signal_during_an_undo_is_the_interruption_and_two_more_abandon() -> None:
    said: list[str] = []
    with Shield(said.append) as shield:
        send_later(signal.SIGINT, 0.1)
        assert shield.undo(sleep_then(0.5, 1), lambda: "deleting 1") == 1  # it ran to its end
        send_later(signal.SIGINT, 0.1, 0.1)
        assert shield.undo(lambda: time.sleep(5), lambda: "deleting 2") is ABANDONED
    assert said == ["deleting 1; stopping once that is done",
                    "deleting 2; press Ctrl-C again to stop waiting and leave it unfinished"]
    assert shield.interrupted == signal.SIGINT
