"""Deploy with kadeploy3 on the frontends, check nodes over ssh, retry: the effects around ``g5kpure.deploy.kadeploy``.

``Kadeployer`` runs one kadeploy3 per involved frontend, all at once, with ``deploy_timeout``
enforced (``DEFAULT_DEPLOY_TIMEOUT`` unless told otherwise: a timer here, that a silent link cannot defeat), and
reads kadeploy3's ok/ko node files. Each kadeploy3 writes its pid next to its node files (``sh -c 'echo $$ >
PREFIX.pid; exec kadeploy3 ...'``): when the deployment is interrupted (Ctrl-C, SIGTERM) or times out, that
process is stopped on the frontend through a new ssh connection (SIGINT, then SIGTERM, then SIGKILL) and each
host's state is reported; a second Ctrl-C says what is still being stopped, a third leaves it running and says
how to stop it. ``deploy`` is the seed's
``execo_g5k.kadeploy.deploy``: it checks which hosts are already deployed (in parallel, bounded pool,
``check_timeout`` each; under their kavlan names in a kavlan), deploys only the others, retries, and stops
early when ``check_enough_func`` says so. Decisions are taken by the pure step function of
``g5kpure.deploy.retry``; this module only performs them.

Defaults come from the effective configuration (``g5k.config``), as execo's come from
``g5k_configuration``: when a caller passes no ``settings`` (or no frontend access), the configured kadeploy3
command and options, default environments and check command (or the configured frontend parameters, default
frontend and ``no_ssh_for_local_frontend``) are used. Explicit arguments win. A configuration that cannot be
loaded is an error value. Short host names (no site) go to the default frontend (the configured one, else the
site we run on); when there is none, they are refused with an error value naming them, never run "locally".
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from attrs import evolve, frozen
from g5k import config as config_adapter
from g5k.interrupt import ABANDONED, Shield, mark_abandoned, result_of
from g5k.results import performed
from g5k.ssh import DEFAULT_MAX_PARALLEL, output_or_failure, run_plan, run_plans
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.config import CommandOutput, CommandPlan, Config, ConnectionParams, FrontendAccess, plan_command
from g5kpure.deploy import (
    DEFAULT_CHECK_DEPLOYED_COMMAND,
    EXECO_CHECK_DEPLOYED_COMMAND,
    Attempt,
    DeployHosts,
    Deployment,
    Done,
    KadeployReport,
    KadeployRun,
    KadeploySettings,
    RetryState,
    all_deployed,
    collect_files_argv,
    interpret_run,
    kavlan_host_name,
    next_action,
    observe_check,
    observe_deploy,
    parse_collected_files,
    parse_kadeploy_output,
    parse_node_file,
    plan_deployment,
    start_retry,
)
from g5kpure.errors import CommandFailed, G5kError, InvalidInput, Timeout, Unreachable

__all__ = [
    "DEFAULT_DEPLOY_TIMEOUT",
    "DEFAULT_NODE_CONNECTION_PARAMS",
    "DeployResult",
    "KadeployPlan",
    "Kadeployer",
    "KadeployerResult",
    "check_hosts",
    "configured_defaults",
    "deploy",
    "node_params",
    "plan_kadeploy",
    "settings_from_config",
]

DEFAULT_NODE_CONNECTION_PARAMS = ConnectionParams(user="root", timeout=30.0)
"""How nodes are reached to check them: as root (kadeploy3 -k copies the user's key to root), 30 s."""

DEFAULT_CHECK_PARALLEL = 32
"""Upper bound of simultaneous node checks."""

_COLLECT_TIMEOUT = 60.0

DEFAULT_DEPLOY_TIMEOUT = 3600.0
"""Default limit of one kadeploy3 try, in seconds (a deployment takes 5 to 15 minutes; ``None``: no limit)."""

_STOP_TIMEOUT = 30.0
_STOP_WAIT = 30.0  # how long an interrupted run waits for its kadeploy3 commands to return once stopped

# Run kadeploy3 with its pid in PREFIX.pid: `stop` kills that process. A stop that comes first leaves
# PREFIX.cancel, which the wrapper checks after writing its pid (either one sees the other).
_WRAPPER = 'echo $$ > "$0.pid"; if [ -e "$0.cancel" ]; then exit 143; fi; exec "$@"'
_STOP_SCRIPT = (
    'touch "$0.cancel"; pid=$(cat "$0.pid" 2>/dev/null); '
    'if [ -z "$pid" ]; then echo "not started"; exit 0; fi; '
    'ours() { tr "\\0" " " < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$1"; }; '
    'if ! ours "$1"; then echo "ended $pid"; exit 0; fi; '
    'for sig in INT TERM KILL; do kill -s $sig "$pid" 2>/dev/null; i=0; '
    'while ours "$1" && [ $i -lt 25 ]; do sleep 0.2; i=$((i + 1)); done; '
    'if ! ours "$1"; then echo "stopped $pid"; exit 0; fi; done; echo "running $pid"; exit 1'
)


def node_params(value: ConnectionParams | Mapping[str, Any] | None) -> Result[ConnectionParams, G5kError]:
    """Node connection parameters from a ``ConnectionParams`` or a seed-style dict (``{'user': 'root'}``)."""
    if value is None:
        return Success(DEFAULT_NODE_CONNECTION_PARAMS)
    if isinstance(value, ConnectionParams):
        return Success(value)
    known = {"user", "port", "key_filename", "keyfile", "host_suffix", "proxy_jump", "connect_timeout"}
    unknown = sorted(set(value) - known)
    if unknown:
        return Failure(InvalidInput("node_connection_params", ", ".join(unknown),
                                    "keys among " + ", ".join(sorted(known))))
    fields = {("key_filename" if k == "keyfile" else k): v for k, v in value.items()}
    return Success(evolve(DEFAULT_NODE_CONNECTION_PARAMS, **fields))


def settings_from_config(config: Config) -> KadeploySettings:
    """The kadeploy settings of a configuration (kadeploy3 command and options, default environments, check).

    A configuration still holding execo's default check command gets ours instead: execo's cannot recognise
    a node on an NVMe disk (see ``g5kpure.deploy.kadeploy.DEFAULT_CHECK_DEPLOYED_COMMAND``).
    """
    check = config.check_deployed_command
    if check is None or check == EXECO_CHECK_DEPLOYED_COMMAND:
        check = DEFAULT_CHECK_DEPLOYED_COMMAND
    return KadeploySettings(kadeploy3=config.kadeploy3, kadeploy3_options=config.kadeploy3_options,
                            default_env_name=config.default_env_name or None,
                            default_env_file=config.default_env_file or None,
                            check_deployed_command=check)


def _merge_access(value: FrontendAccess | ConnectionParams | None, configured: FrontendAccess) -> FrontendAccess:
    if value is None:
        return configured
    if isinstance(value, ConnectionParams):
        # explicit connection parameters replace the configured ones (per-site overrides included); the default
        # frontend and the local frontend still come from the configuration, as in execo
        return evolve(configured, params=value, per_frontend=())
    return value


def configured_defaults(
    access: FrontendAccess | ConnectionParams | None = None,
    settings: KadeploySettings | None = None,
) -> Result[tuple[FrontendAccess, KadeploySettings], G5kError]:
    """The frontend access and kadeploy settings to use: the explicit ones, the others from the configuration.

    A ``FrontendAccess`` is used as given; ``ConnectionParams`` replace the configured connection parameters but
    keep the configured default frontend (execo's ``frontend_connection_params``); ``None`` means the configured
    access (``g5k.config.runtime``). ``settings=None`` means ``settings_from_config`` of the configuration.
    The configuration is read only when something is missing; when it cannot be loaded, its error is returned.
    """
    if isinstance(access, FrontendAccess) and settings is not None:
        return Success((access, settings))
    loaded = performed(config_adapter.runtime())
    if isinstance(loaded, Failure):
        return Failure(loaded.failure())
    rt = loaded.unwrap()
    return Success((_merge_access(access, rt.access), settings if settings is not None
                    else settings_from_config(rt.config)))


@frozen
class KadeployPlan:
    """The kadeploy3 runs of a deployment, each with the frontend command that performs it."""

    runs: tuple[KadeployRun, ...]
    commands: tuple[CommandPlan, ...]

    def describe(self) -> str:
        """Human form: one line per frontend command."""
        return "\n".join(c.describe() for c in self.commands)


def _stem(run: KadeployRun) -> str:
    """The path prefix of a run's files (``.ok``, ``.ko``, ``.pid``, ``.cancel``)."""
    return run.ok_file.removesuffix(".ok")


def plan_kadeploy(
    deployment: Deployment,
    access: FrontendAccess | ConnectionParams | None = None,
    settings: KadeploySettings | None = None,
    deploy_timeout: float | None = DEFAULT_DEPLOY_TIMEOUT,
    file_prefix: str | None = None,
) -> Result[KadeployPlan, G5kError]:
    """The exact frontend commands a deployment runs (what ``--dry-run`` prints): each kadeploy3 behind a
    ``sh -c`` that records its pid, so that it can be stopped.

    Missing ``access`` / ``settings`` come from the configuration (``configured_defaults``). Short host names go
    to the default frontend; with none (outside Grid'5000, no ``g5k.default_frontend``), they are refused with
    an ``InvalidInput`` naming them instead of running kadeploy3 on this machine.
    """
    resolved = configured_defaults(access, settings)
    if isinstance(resolved, Failure):
        return Failure(resolved.failure())
    acc, kadeploy_settings = resolved.unwrap()
    prefix = file_prefix or f"/tmp/g5kpure-kadeploy-{uuid.uuid4().hex[:12]}"
    planned = plan_deployment(deployment, kadeploy_settings, acc.default_frontend, prefix)
    if isinstance(planned, Failure):
        return Failure(planned.failure())
    siteless = [host for run in planned.unwrap() if run.frontend is None for host in run.hosts]
    if siteless:
        return Failure(InvalidInput(
            "hosts without a site", ", ".join(siteless),
            "host.site or host.site.grid5000.fr names, or a default frontend for short names: set "
            "g5k.default_frontend ($G5K_DEFAULT_FRONTEND), pass --frontend, or give a FrontendAccess with "
            "default_frontend"))
    commands: list[CommandPlan] = []
    for run in planned.unwrap():
        command = plan_command(("sh", "-c", _WRAPPER, _stem(run), *run.argv), run.frontend, acc, deploy_timeout)
        if isinstance(command, Failure):
            return Failure(command.failure())
        commands.append(command.unwrap())
    return Success(KadeployPlan(planned.unwrap(), tuple(commands)))


@frozen
class KadeployerResult:
    """What a Kadeployer run gave: the report on the hosts, and the frontends that failed as a whole."""

    report: KadeployReport
    frontend_failures: tuple[tuple[str, G5kError], ...] = ()
    outputs: tuple[CommandOutput, ...] = ()

    @property
    def deployed_hosts(self) -> frozenset[str]:
        """The hosts kadeploy3 deployed."""
        return self.report.deployed

    @property
    def undeployed_hosts(self) -> frozenset[str]:
        """The hosts not deployed (kadeploy3 failed them, did not report them, or their frontend failed)."""
        return self.report.undeployed


class Kadeployer:
    """Deploy an environment with kadeploy3 on several hosts: one kadeploy3 per frontend, all in parallel.

    Missing ``frontend_connection_params`` / ``settings`` are read from the configuration when the Kadeployer is
    made (``configured_defaults``). If it cannot be loaded, ``config_error`` holds why, and ``plan()`` / ``run()``
    return that error (``access`` and ``settings`` then hold library defaults that are never used).
    """

    def __init__(
        self,
        deployment: Deployment,
        frontend_connection_params: FrontendAccess | ConnectionParams | None = None,
        settings: KadeploySettings | None = None,
        timeout: float | None = DEFAULT_DEPLOY_TIMEOUT,
    ) -> None:
        self.deployment = deployment
        resolved = configured_defaults(frontend_connection_params, settings)
        self.config_error: G5kError | None = resolved.failure() if isinstance(resolved, Failure) else None
        self.access, self.settings = resolved.value_or((FrontendAccess(), KadeploySettings()))
        self.timeout = timeout

    def plan(self) -> Result[KadeployPlan, G5kError]:
        """The frontend commands this deployment will run."""
        if self.config_error is not None:
            return Failure(self.config_error)
        return plan_kadeploy(self.deployment, self.access, self.settings, self.timeout)

    def run(self) -> IOResult[KadeployerResult, G5kError]:
        """Run kadeploy3 on every frontend at once and report which hosts were deployed.

        Interrupted (Ctrl-C, SIGTERM, any exception), it stops the kadeploy3 processes it started, then re-raises
        with a note giving each host's state; a kadeploy3 cut by the timeout is stopped the same way."""
        planned = self.plan()
        if isinstance(planned, Failure):
            return IOFailure(planned.failure())
        plan = planned.unwrap()
        launches = _Launches(plan.commands)
        with Shield() as shield:
            pool = ThreadPoolExecutor(max_workers=min(len(plan.commands), DEFAULT_MAX_PARALLEL),
                                      thread_name_prefix="g5k-kadeploy")
            try:
                futures = [pool.submit(launches.launch, i) for i in range(len(plan.commands))]
                results = [result_of(f) for f in futures]
            except BaseException as exc:
                where = ", ".join(c.frontend for c in plan.commands)
                stopped = shield.undo(lambda: self._stop_all(plan, launches), lambda: f"stopping kadeploy3 on {where}")
                if stopped is ABANDONED:
                    mark_abandoned(exc)
                    exc.add_note(f"left kadeploy3 running: {self._stop_hint(plan)}")
                else:
                    exc.add_note(stopped)
                raise
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
        cut = [i for i, r in enumerate(results) if _cut_short(output_or_failure(r))]
        if cut:  # the timer fired here, or the session broke: kadeploy3 may still run on the frontend
            self._stop_cut(plan, [plan.runs[i] for i in cut], [plan.commands[i] for i in cut])
        return IOSuccess(self._report(plan, results))

    def _stop(self, runs: Sequence[KadeployRun], commands: Sequence[CommandPlan]) -> list[str]:
        """Stop the kadeploy3 of ``runs`` on their frontends; per run, what happened (one phrase)."""
        name = self.settings.kadeploy3.rsplit("/", 1)[-1] or "kadeploy3"
        stops = [plan_command(("sh", "-c", _STOP_SCRIPT, _stem(run), name), run.frontend, self.access, _STOP_TIMEOUT)
                 for run in runs]
        done = iter(run_plans([p.unwrap() for p in stops if isinstance(p, Success)]))
        said: list[str] = []
        for command, stop in zip(commands, stops, strict=True):
            out = output_or_failure(next(done)) if isinstance(stop, Success) else stop.failure()
            if isinstance(out, CommandOutput):
                words = out.stdout.split()
                what = {"stopped": "stopped (pid {})", "ended": "was not running (pid {})", "not": "never started",
                        "running": "could NOT be stopped (pid {})"}.get(words[0] if words else "", "unknown")
                said.append(f"kadeploy3 on {command.frontend} " + what.format(words[-1] if words else ""))
            else:
                said.append(f"kadeploy3 on {command.frontend} could NOT be stopped ({out.message})")
        return said

    def _stop_cut(self, plan: KadeployPlan, runs: Sequence[KadeployRun], commands: Sequence[CommandPlan]) -> None:
        """Stop the kadeploy3 of runs cut short; a signal meanwhile waits for the stop, then interrupts."""
        with Shield() as guard:
            outcome = guard.undo(lambda: "; ".join(self._stop(runs, commands)), lambda: "stopping kadeploy3")
            if outcome is ABANDONED or guard.interrupted is not None:
                error = guard.exception()
                if outcome is ABANDONED:
                    mark_abandoned(error)
                    error.add_note(f"left kadeploy3 running: {self._stop_hint(plan)}")
                else:
                    error.add_note(outcome)
                raise error

    def _stop_all(self, plan: KadeployPlan, launches: _Launches) -> str:
        """Stop every kadeploy3 of ``plan`` (a command not sent yet never will be), wait for those sent to
        return, and say where each host stands."""
        launches.stop()
        said = self._stop(plan.runs, plan.commands)
        running = launches.wait(_STOP_WAIT)
        results = [launches.results.get(i) or IOFailure(Timeout(f"kadeploy3 on {c.frontend} (interrupted)", None,
                                                                c.frontend))
                   for i, c in enumerate(plan.commands)]
        report = self._report(plan, results, interrupted=True, running=running).report
        return "; ".join(said) + "; " + _hosts_state(report.deployed, report.undeployed)

    def _stop_hint(self, plan: KadeployPlan) -> str:
        """How to stop by hand the kadeploy3 of each run of ``plan``."""
        return "; ".join(f"stop it on {c.frontend} with `kill $(cat {_stem(run)}.pid)`"
                         for run, c in zip(plan.runs, plan.commands, strict=True))

    def _report(self, plan: KadeployPlan, results: Sequence[IOResult[CommandOutput, G5kError]],
                interrupted: bool = False, running: Collection[int] = ()) -> KadeployerResult:
        """Read the node files wherever kadeploy3 ran and merge each frontend's report (the cancel mark of the
        runs still ``running`` stays, so that a command still on its way never starts kadeploy3)."""
        report = KadeployReport()
        failures: list[tuple[str, G5kError]] = []
        outputs: list[CommandOutput] = []
        collects: list[CommandPlan] = []
        for i, (run, command, result) in enumerate(zip(plan.runs, plan.commands, results, strict=True)):
            done = output_or_failure(result)
            collect = plan_command(collect_files_argv(_files(run, i in running)), run.frontend, self.access,
                                   _COLLECT_TIMEOUT)
            # read (and remove) the node files wherever kadeploy3 ran, even if it was cut by the timeout
            if isinstance(collect, Success) and (isinstance(done, CommandOutput) or _cut_short(done) or interrupted):
                collects.append(collect.unwrap())
            if isinstance(done, G5kError):
                if isinstance(done, Timeout) and not interrupted:
                    done = Timeout(f"kadeploy3 on {command.frontend}", self.timeout, command.frontend)
                failures.append((command.frontend, done))
        collected = {c.argv: output_or_failure(r) for c, r in zip(collects, run_plans(collects), strict=True)}
        failed = dict(failures)
        for i, (run, command, result) in enumerate(zip(plan.runs, plan.commands, results, strict=True)):
            ok_nodes, ko_nodes = _node_files(collected.get(collect_files_argv(_files(run, i in running))), run)
            out = output_or_failure(result)
            if interrupted:  # what the node files and the output say; the other hosts were cut short
                text = (out.stdout + "\n" + out.stderr) if isinstance(out, CommandOutput) else ""
                cut = interpret_run(run.hosts, parse_kadeploy_output(text), ok_nodes, ko_nodes, None)
                reasons = tuple((h, "kadeploy3 interrupted" if why.startswith("not reported") else why)
                                for h, why in cut.reasons)
                report = report.merge(evolve(cut, reasons=reasons))
                continue
            if not isinstance(out, CommandOutput):
                report = report.merge(interpret_run(run.hosts, parse_kadeploy_output(""),
                                                    failure=failed[command.frontend].message))
                continue
            outputs.append(out)
            parsed = parse_kadeploy_output(out.stdout + "\n" + out.stderr)
            failure = ""
            if out.exit_code != 0 and not (parsed.deployed or parsed.undeployed or ok_nodes or ko_nodes):
                # kadeploy3 reported nothing at all: it refused to start (bad option, unknown environment...)
                error = CommandFailed(command.argv, out.exit_code, out.stderr, command.frontend, out.stdout)
                failures.append((command.frontend, error))
                tail = [ln.strip() for ln in (out.stdout + "\n" + out.stderr).splitlines() if ln.strip()][-2:]
                failure = f"kadeploy3 exited with {out.exit_code}" + (f": {' | '.join(tail)}" if tail else "")
            report = report.merge(interpret_run(run.hosts, parsed, ok_nodes, ko_nodes, out.exit_code, failure))
        return KadeployerResult(report, tuple(failures), tuple(outputs))


def _files(run: KadeployRun, running: bool = False) -> tuple[str, ...]:
    """The files a run leaves on its frontend (node files, pid, cancel mark: kept while its command may start)."""
    stem = _stem(run)
    return (run.ok_file, run.ko_file, stem + ".pid") + (() if running else (stem + ".cancel",))


class _Launches:
    """The kadeploy3 commands of one Kadeployer run, each sent by a worker thread; once stopped, a command not
    sent yet never is, and those sent can be waited for (their results are kept by index)."""

    def __init__(self, commands: Sequence[CommandPlan]) -> None:
        self.commands = commands
        self.results: dict[int, IOResult[CommandOutput, G5kError]] = {}
        self._lock = threading.Lock()
        self._stopped = False
        self._sending: dict[int, threading.Event] = {}

    def launch(self, index: int) -> IOResult[CommandOutput, G5kError]:
        """Send command ``index`` (unless stopped) and return its result."""
        command = self.commands[index]
        with self._lock:
            if self._stopped:
                return IOFailure(Timeout(f"kadeploy3 on {command.frontend} (never sent)", None, command.frontend))
            done = self._sending[index] = threading.Event()
        try:
            self.results[index] = run_plan(command)
            return self.results[index]
        finally:
            done.set()

    def stop(self) -> None:
        """Send no more commands."""
        with self._lock:
            self._stopped = True

    def wait(self, timeout: float) -> frozenset[int]:
        """Wait (at most ``timeout`` s) for the commands sent to return; the indexes of those still running."""
        deadline = time.monotonic() + timeout
        with self._lock:
            sending = dict(self._sending)
        for event in sending.values():
            event.wait(max(0.0, deadline - time.monotonic()))
        return frozenset(i for i, e in sending.items() if not e.is_set())


def _cut_short(done: CommandOutput | G5kError) -> bool:
    """Whether a kadeploy3 command was cut while running (timeout, or its connection lost mid-command)."""
    return isinstance(done, Timeout) or (isinstance(done, Unreachable) and done.detail.startswith("connection lost"))


def _node_files(
    collected: CommandOutput | G5kError | None, run: KadeployRun
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    if not isinstance(collected, CommandOutput):
        return None, None
    files = parse_collected_files(collected.stdout)
    if isinstance(files, Failure):
        return None, None
    texts = dict(files.unwrap())
    found: list[tuple[str, ...] | None] = []
    for path in (run.ok_file, run.ko_file):
        text = texts.get(path)
        nodes = parse_node_file(text) if text is not None else None
        found.append(nodes.unwrap() if isinstance(nodes, Success) else (() if path in texts else None))
    return found[0], found[1]


# ---------------------------------------------------------------------------------------------------------
# Checks and the retry loop


def check_hosts(
    hosts: Iterable[str],
    command: str,
    params: ConnectionParams,
    check_timeout: float | None = 30.0,
    vlan: str | None = None,
    max_parallel: int = DEFAULT_CHECK_PARALLEL,
) -> dict[str, tuple[bool, str]]:
    """Run ``command`` on each host over ssh (under its kavlan name in a vlan): host -> (deployed?, why not)."""
    hosts = tuple(hosts)
    params = evolve(params, timeout=check_timeout,
                    connect_timeout=min(params.connect_timeout, check_timeout or params.connect_timeout))
    access = FrontendAccess(params=params)
    verdicts: dict[str, tuple[bool, str]] = {}
    plans: list[tuple[str, CommandPlan]] = []
    for host in hosts:
        target = kavlan_host_name(host, vlan) if vlan is not None else host
        planned = plan_command(("sh", "-c", command), target, access, check_timeout)
        if isinstance(planned, Failure):
            verdicts[host] = (False, planned.failure().message)
        else:
            plans.append((host, planned.unwrap()))
    results = run_plans((p for _, p in plans), max_parallel=max_parallel)
    for (host, _), result in zip(plans, results, strict=True):
        out = output_or_failure(result)
        if isinstance(out, G5kError):
            verdicts[host] = (False, out.message)
        elif out.exit_code == 0:
            verdicts[host] = (True, "")
        else:
            verdicts[host] = (False, f"check command exited with {out.exit_code}")
    return verdicts


@frozen
class DeployResult:
    """The outcome of ``deploy``: deployed and undeployed hosts, why it stopped, tries used, per-host history."""

    deployed: frozenset[str]
    undeployed: frozenset[str]
    why: str
    tries: int
    history: tuple[tuple[str, tuple[Attempt, ...]], ...]
    frontend_failures: tuple[tuple[str, G5kError], ...] = ()

    def history_of(self, host: str) -> tuple[Attempt, ...]:
        """The attempts recorded for ``host``, oldest first."""
        return dict(self.history).get(host, ())

    def as_pair(self) -> tuple[frozenset[str], frozenset[str]]:
        """The seed's return value: (deployed, undeployed)."""
        return self.deployed, self.undeployed


def deploy(
    deployment: Deployment,
    check_deployed_command: str | bool | None = True,
    node_connection_params: ConnectionParams | Mapping[str, Any] | None = None,
    num_tries: int = 1,
    check_enough_func: Callable[[frozenset[str], frozenset[str]], bool] | None = None,
    frontend_connection_params: FrontendAccess | ConnectionParams | None = None,
    deploy_timeout: float | None = DEFAULT_DEPLOY_TIMEOUT,
    check_timeout: float | None = 30,
    settings: KadeploySettings | None = None,
    on_event: Callable[[str], None] | None = None,
) -> IOResult[DeployResult, G5kError]:
    """Deploy the hosts not yet deployed, up to ``num_tries`` times, until all (or enough) are deployed.

    ``settings`` and ``frontend_connection_params`` default to the configuration's (``configured_defaults``):
    the configured kadeploy3 command, options, default environment and check command (``True``), the default
    frontend for short host names. A configuration that cannot be loaded, or short names with no default
    frontend, are error values returned before any node or frontend is touched. Each kadeploy3 try is bounded
    by ``deploy_timeout`` (default ``DEFAULT_DEPLOY_TIMEOUT``; ``None``: no limit).

    Interrupted (Ctrl-C, SIGTERM), the kadeploy3 processes running are stopped on the frontends, and the
    exception goes on with a note giving each host's state.
    """
    resolved = configured_defaults(frontend_connection_params, settings)
    if isinstance(resolved, Failure):
        return IOFailure(resolved.failure())
    access, settings = resolved.unwrap()
    params = node_params(node_connection_params)
    if isinstance(params, Failure):
        return IOFailure(params.failure())
    command: str | None
    if check_deployed_command is True:
        command = settings.check_deployed_command
    elif check_deployed_command is False or check_deployed_command is None:
        command = None
    else:
        command = check_deployed_command
    started = start_retry(deployment.hosts, num_tries)
    if isinstance(started, Failure):
        return IOFailure(started.failure())
    valid = plan_kadeploy(deployment, access, settings, deploy_timeout, file_prefix="/tmp/g5kpure-kadeploy-check")
    if isinstance(valid, Failure):  # refuse bad input before touching any node
        return IOFailure(valid.failure())
    enough = check_enough_func or all_deployed
    say = on_event or (lambda _msg: None)
    state: RetryState = started.unwrap()
    checker = params.unwrap()

    def check(hosts: Iterable[str]) -> dict[str, tuple[bool, str]]:
        assert command is not None
        return check_hosts(hosts, command, checker, check_timeout, deployment.vlan)

    try:
        if command is not None:
            state = observe_check(state, check(state.hosts))
            say(f"check: {len(state.deployed)} of {len(state.hosts)} hosts already deployed")
        failures: list[tuple[str, G5kError]] = []
        while True:
            action = next_action(state, lambda d, u: enough(frozenset(d), frozenset(u)))
            if isinstance(action, Done):
                say(f"done ({action.why}): {len(action.deployed)} deployed, {len(action.undeployed)} not")
                return IOSuccess(DeployResult(action.deployed, action.undeployed, action.why, action.tries,
                                              action.history, tuple(failures)))
            assert isinstance(action, DeployHosts)
            say(f"try {action.try_number}/{num_tries}: kadeploy3 on {len(action.hosts)} hosts")
            kadeployer = Kadeployer(deployment.with_hosts(action.hosts), access, settings, deploy_timeout)
            ran = performed(kadeployer.run())
            if isinstance(ran, Failure):
                return IOFailure(ran.failure())
            failures.extend(ran.unwrap().frontend_failures)
            state = observe_deploy(state, action, ran.unwrap().report, trust_report=command is None)
            if command is not None:
                state = observe_check(state, check(action.hosts))
    except BaseException as exc:
        if not getattr(exc, "__notes__", None):  # interrupted outside kadeploy3 (which says where hosts stand)
            exc.add_note("no kadeploy3 was running; " + _hosts_state(state.deployed, state.undeployed))
        raise


def _hosts_state(deployed: Iterable[str], undeployed: Iterable[str]) -> str:
    """Where hosts stand, in one phrase: ``hosts: 1 deployed (a), 2 not deployed (b, c)``."""
    parts = []
    for hosts, what in ((sorted(deployed), "deployed"), (sorted(undeployed), "not deployed")):
        parts.append(f"{len(hosts)} {what}" + (f" ({', '.join(hosts)})" if hosts else ""))
    return "hosts: " + ", ".join(parts)
