"""The retry logic of a multi-try deployment as a pure step function.

The adapter (``g5k.kadeploy``) runs kadeploy3 and the check command, feeds what it observed back into
:func:`observe_check` / :func:`observe_deploy`, and asks :func:`next_action` what to do next: deploy the hosts
still undeployed (a new try), or stop with the final sets and each host's history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Literal

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.deploy.kadeploy import KadeployReport
from g5kpure.errors import G5kError, InvalidInput


@frozen
class Attempt:
    """One event in a host's history: a check or a deploy try, its outcome and the reason of a failure."""

    try_number: int
    action: Literal["check", "deploy"]
    deployed: bool
    reason: str = ""


@frozen
class RetryState:
    """Where a multi-try deployment stands: hosts, which are deployed, tries used, per-host history."""

    hosts: tuple[str, ...]
    num_tries: int
    deployed: frozenset[str] = frozenset()
    tries: int = 0
    history: tuple[tuple[str, tuple[Attempt, ...]], ...] = ()

    @property
    def undeployed(self) -> frozenset[str]:
        """The hosts not (yet) deployed."""
        return frozenset(self.hosts) - self.deployed

    def history_of(self, host: str) -> tuple[Attempt, ...]:
        """The attempts recorded for ``host``, oldest first."""
        return dict(self.history).get(host, ())


@frozen
class DeployHosts:
    """Next action: run kadeploy3 on these hosts (try number ``try_number``, counted from 1)."""

    hosts: tuple[str, ...]
    try_number: int


@frozen
class Done:
    """Next action: none; the final deployed / undeployed sets, why we stopped, and the per-host history."""

    deployed: frozenset[str]
    undeployed: frozenset[str]
    why: Literal["all deployed", "enough", "tries exhausted"]
    tries: int
    history: tuple[tuple[str, tuple[Attempt, ...]], ...]

    def history_of(self, host: str) -> tuple[Attempt, ...]:
        """The attempts recorded for ``host``, oldest first."""
        return dict(self.history).get(host, ())


Action = DeployHosts | Done
CheckEnough = Callable[[frozenset[str], frozenset[str]], bool]


def all_deployed(deployed: frozenset[str], undeployed: frozenset[str]) -> bool:
    """The default ``check_enough``: enough when no host is left undeployed."""
    return not undeployed


def start_retry(hosts: Iterable[str], num_tries: int) -> Result[RetryState, G5kError]:
    """The state before anything was checked or deployed; every host is undeployed."""
    hosts = tuple(dict.fromkeys(hosts))
    if num_tries < 0:
        return Failure(InvalidInput("num_tries", str(num_tries), "a number of tries >= 0"))
    if not hosts:
        return Failure(InvalidInput("hosts", "()", "at least one host to deploy"))
    return Success(RetryState(hosts=hosts, num_tries=num_tries, history=tuple((h, ()) for h in hosts)))


def _append(
    history: tuple[tuple[str, tuple[Attempt, ...]], ...], events: Mapping[str, Attempt]
) -> tuple[tuple[str, tuple[Attempt, ...]], ...]:
    return tuple((h, past + ((events[h],) if h in events else ())) for h, past in history)


def observe_check(state: RetryState, results: Mapping[str, tuple[bool, str]]) -> RetryState:
    """Record the check command's verdict (deployed?, reason) on some hosts; a deployed host stays deployed.

    Hosts not in ``state.hosts`` are ignored; hosts already deployed are not re-judged (never undeployed).
    """
    events: dict[str, Attempt] = {}
    newly: set[str] = set()
    for host, (ok, reason) in results.items():
        if host not in state.undeployed:
            continue
        events[host] = Attempt(state.tries, "check", ok, "" if ok else reason)
        if ok:
            newly.add(host)
    return RetryState(state.hosts, state.num_tries, state.deployed | newly, state.tries,
                      _append(state.history, events))


def observe_deploy(
    state: RetryState, action: DeployHosts, report: KadeployReport, trust_report: bool
) -> RetryState:
    """Record a kadeploy3 try on ``action.hosts``; with ``trust_report`` its ok hosts become deployed.

    Without ``trust_report`` (a check command will judge), the report only enters the history.
    """
    events: dict[str, Attempt] = {}
    newly: set[str] = set()
    for host in action.hosts:
        if host not in state.undeployed:
            continue
        ok = host in report.deployed
        events[host] = Attempt(action.try_number, "deploy", ok, "" if ok else report.reason(host) or "not deployed")
        if ok and trust_report:
            newly.add(host)
    return RetryState(state.hosts, state.num_tries, state.deployed | newly, max(state.tries, action.try_number),
                      _append(state.history, events))


def next_action(state: RetryState, check_enough: CheckEnough = all_deployed) -> Action:
    """What to do next: deploy the undeployed hosts, or stop (all deployed, enough, or no try left)."""
    undeployed = state.undeployed
    ordered = tuple(h for h in state.hosts if h in undeployed)
    if not undeployed:
        return Done(state.deployed, undeployed, "all deployed", state.tries, state.history)
    if check_enough(state.deployed, undeployed):
        return Done(state.deployed, undeployed, "enough", state.tries, state.history)
    if state.tries >= state.num_tries:
        return Done(state.deployed, undeployed, "tries exhausted", state.tries, state.history)
    return DeployHosts(ordered, state.tries + 1)
