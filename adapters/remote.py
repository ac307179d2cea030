"""Run commands and copy files on many nodes at once, with ClusterShell's ``Task`` (fan-out, per-node buffers and
exit codes, scp copies), and the job lifecycle commands that go with it (extend, node file).

The plans and the reading of results are pure (``g5kpure.remote``); this module performs them:

- :func:`run`, :func:`put`, :func:`get` perform a ``RunPlan`` / ``CopyPlan``. Each host's outcome is a
  ``HostResult`` value (exit code and outputs, or ``Unreachable`` / ``AuthError`` / ``Timeout``); a failing or
  slow host never loses the others' results. The per-host limit is enforced on the node (coreutils' ``timeout``)
  and here; the overall limit stops what still runs and reports the hosts it stopped or never started.
- :func:`run_sequential` runs the same plan one host after the other with plain ``ssh`` (the baseline of
  ``benchmarks/remote.py``).
- :func:`job_access` is how a job's nodes are reached from here: through OAR's sshd (user oar, port 6667, the
  job key of the configuration) or as root on deployed nodes, through the site's frontend from outside.
- :func:`run_on_job`, :func:`put_on_job`, :func:`get_from_job`: the same on the hosts of a job (waiting until it
  runs); :func:`extend_job`, :func:`walltime_status` and :func:`job_nodefile` ask the frontend (fabric, one
  command each).

Each ClusterShell run happens in a thread of its own, with the thread's own ``Task``: calls are independent
and may run concurrently.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from attrs import frozen
from ClusterShell.Event import EventHandler
from ClusterShell.NodeSet import NodeSet
from ClusterShell.Task import Task, task_self
from g5k import config as config_adapter
from g5k.oar import TimeoutArg, get_oar_job_nodes
from g5k.results import performed
from g5k.ssh import run_plan, to_ioresult
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.config import (
    FrontendAccess,
    Place,
    frontend_params,
    node_params,
    plan_command,
    resolve_frontend,
)
from g5kpure.errors import CommandFailed, G5kError, InvalidInput, NotFound
from g5kpure.oar import oarstat_job_nodes_argv
from g5kpure.remote import (
    DEFAULT_LIMITS,
    ChangeAccepted,
    CopyPlan,
    Direction,
    HostResult,
    Jump,
    Limits,
    NodeAccess,
    RemoteCommand,
    RunPlan,
    RunReport,
    WalltimeChange,
    WalltimeStatus,
    host_result,
    jump_via,
    merge_steps,
    not_started,
    oarsh_access,
    oarwalltime_argv,
    ordered,
    parse_nodefile,
    parse_oarwalltime_change,
    parse_oarwalltime_status,
    plan_copy,
    plan_run,
    root_access,
    scp_has_legacy_flag,
    select_hosts,
    ssh_argv,
)
from g5kpure.remote.plan import TIMED_OUT_CODES

# ------------------------------------------------------------------------------------------- the engine


class _Collector(EventHandler):  # type: ignore[misc]
    """Per-node start time, output lines, exit code and time-out of one ClusterShell worker."""

    def __init__(self) -> None:
        super().__init__()
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self.stdout: dict[str, list[bytes]] = {}
        self.stderr: dict[str, list[bytes]] = {}
        self.codes: dict[str, int] = {}
        self.timed_out: set[str] = set()

    def ev_pickup(self, worker: Any, node: str) -> None:
        self.started[str(node)] = time.monotonic()

    def ev_read(self, worker: Any, node: str, sname: str, msg: bytes) -> None:
        target = self.stderr if sname == "stderr" else self.stdout
        target.setdefault(str(node), []).append(msg)

    def ev_hup(self, worker: Any, node: str, rc: int) -> None:
        self.codes[str(node)] = rc
        self.ended[str(node)] = time.monotonic()

    def ev_close(self, worker: Any, timedout: bool) -> None:
        if timedout:
            now = time.monotonic()
            for node in worker.iter_keys_timeout():
                self.timed_out.add(str(node))
                self.ended.setdefault(str(node), now)

    def text(self, node: str, stream: str) -> str:
        lines = (self.stderr if stream == "stderr" else self.stdout).get(node, [])
        return "".join(line.decode("utf-8", errors="replace") + "\n" for line in lines)


class _Deadline(EventHandler):  # type: ignore[misc]
    """Stops the whole task when the overall time limit is reached (from inside the engine's loop)."""

    def __init__(self) -> None:
        super().__init__()
        self.fired = False

    def ev_timer(self, timer: Any) -> None:
        self.fired = True
        task_self().abort(kill=True)


@frozen
class _Job:
    """One ClusterShell worker to schedule: a command, or a copy of one source (``reverse``: from the nodes)."""

    command: str | None = None
    source: str | None = None
    dest: str | None = None
    reverse: bool = False
    preserve: bool = False


def _perform(
    access: NodeAccess,
    addresses: Sequence[str],
    jobs: Sequence[_Job],
    limits: Limits,
    local_timeout: float | None,
) -> tuple[list[_Collector], bool, float]:
    """Run the jobs on the addresses in a thread of our own; the collectors, whether the deadline fired, seconds."""
    outcome: dict[str, Any] = {}

    def body() -> None:
        task: Task = task_self()
        options = access.options()
        task.set_info("fanout", limits.fanout)
        task.set_info("connect_timeout", 0)  # ConnectTimeout is in our own options
        task.set_info("ssh_options", shlex.join(options))
        scp_options = [*options, "-O"] if _scp_legacy() else list(options)
        task.set_info("scp_options", shlex.join(scp_options))
        nodes = NodeSet.fromlist(addresses)
        collectors: list[_Collector] = []
        for job in jobs:
            handler = _Collector()
            collectors.append(handler)
            if job.command is not None:
                task.shell(job.command, nodes=nodes, handler=handler, timeout=local_timeout, stderr=True,
                           stdin=False, tree=False)
            elif job.reverse:
                task.rcopy(job.source, job.dest, nodes=nodes, handler=handler, timeout=local_timeout, stderr=True,
                           preserve=job.preserve, tree=False)
            else:
                task.copy(job.source, job.dest, nodes=nodes, handler=handler, timeout=local_timeout, stderr=True,
                          preserve=job.preserve, tree=False)
        stop = _Deadline()
        if limits.deadline is not None:
            task.timer(limits.deadline, stop, autoclose=True)
        began = time.monotonic()
        try:
            task.resume()
        except Exception as exc:  # ClusterShell's own failures (a bug, a closed fd): the hosts left are lost
            outcome["error"] = exc
        outcome["collectors"] = collectors
        outcome["fired"] = stop.fired
        outcome["seconds"] = time.monotonic() - began

    thread = threading.Thread(target=body, name="g5k-remote", daemon=True)
    thread.start()
    thread.join()
    return outcome.get("collectors", []), bool(outcome.get("fired", False)), float(outcome.get("seconds", 0.0))


_LEGACY: list[bool] = []


def _scp_legacy() -> bool:
    """Whether the local scp knows ``-O`` (the scp protocol: OAR's sshd has no sftp subsystem); asked once."""
    if not _LEGACY:
        try:
            done = subprocess.run(["ssh", "-V"], capture_output=True, text=True, timeout=10, check=False)
            _LEGACY.append(scp_has_legacy_flag(done.stderr + done.stdout))
        except (OSError, subprocess.SubprocessError):
            _LEGACY.append(False)
    return _LEGACY[0]


def _result(
    host: str,
    address: str,
    c: _Collector,
    *,
    deadline_fired: bool,
    limits: Limits,
    what: str,
    now: float,
) -> HostResult:
    """One host's result from what its collector saw."""
    timeout, deadline = limits.timeout, limits.deadline
    if address not in c.started:
        return not_started(host, deadline)
    seconds = c.ended.get(address, now) - c.started[address]
    out, err = c.text(address, "stdout"), c.text(address, "stderr")
    if address in c.timed_out:
        return host_result(host, None, out, err, seconds, timed_out=True, timeout=timeout, what=what)
    code = c.codes.get(address)
    if code is None:  # still running when the deadline stopped everything
        return host_result(host, None, out, err, seconds, timed_out=deadline_fired, timeout=deadline,
                           what=f"{what} (overall time limit)")
    stopped = timeout is not None and code in TIMED_OUT_CODES and seconds >= timeout - 0.5
    return host_result(host, code, out, err, seconds, timed_out=stopped, timeout=timeout, what=what)


def run(plan: RunPlan) -> IOResult[RunReport, G5kError]:
    """Run a plan's command on its hosts (at most ``fanout`` at once); every host's result, in natural order."""
    pairs = plan.addresses()
    began = time.monotonic()
    collectors, fired, _ = _perform(plan.access, [a for _, a in pairs], [_Job(command=plan.remote_line)],
                                    plan.limits, plan.local_timeout)
    now = time.monotonic()
    c = collectors[0] if collectors else _Collector()
    results = [
        _result(h, a, c, deadline_fired=fired, limits=plan.limits, what="command", now=now)
        for h, a in pairs
    ]
    return IOSuccess(RunReport(ordered(results), round(now - began, 3)))


def put(plan: CopyPlan) -> IOResult[RunReport, G5kError]:
    """Copy local files and folders into a directory of every host (one scp per host and file)."""
    if plan.direction is not Direction.PUT:
        return IOFailure(InvalidInput("copy direction", plan.direction.value, "put (use get for the other way)"))
    missing = [s for s in plan.sources if not os.path.exists(s)]
    if missing:
        return IOFailure(NotFound("local file", missing[0], "nothing was copied"))
    pairs = [(h, plan.access.address_of(h)) for h in plan.hosts]
    began = time.monotonic()
    dest = plan.destination.rstrip("/") + "/"
    jobs = [_Job(source=s, dest=dest, preserve=plan.preserve) for s in plan.sources]
    collectors, fired, _ = _perform(plan.access, [a for _, a in pairs], jobs, plan.limits, plan.limits.timeout)
    now = time.monotonic()
    results = [
        merge_steps(h, [
            _result(h, a, c, deadline_fired=fired, limits=plan.limits, what=f"copy of {s}", now=now)
            for c, s in zip(collectors, plan.sources, strict=False)
        ])
        for h, a in pairs
    ]
    return IOSuccess(RunReport(ordered(results), round(now - began, 3)))


def get(plan: CopyPlan) -> IOResult[RunReport, G5kError]:
    """Copy remote files and folders of every host into ``destination/HOST/`` (one subfolder per host)."""
    if plan.direction is not Direction.GET:
        return IOFailure(InvalidInput("copy direction", plan.direction.value, "get (use put for the other way)"))
    local = Path(plan.destination)
    try:
        local.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".g5k-get-", dir=local))
    except OSError as exc:
        return IOFailure(CommandFailed(("mkdir", str(local)), None, stderr=str(exc), host="local"))
    try:
        pairs = [(h, plan.access.address_of(h)) for h in plan.hosts]
        began = time.monotonic()
        jobs = []
        for n, source in enumerate(plan.sources):
            (staging / str(n)).mkdir()
            jobs.append(_Job(source=source, dest=str(staging / str(n)), reverse=True, preserve=plan.preserve))
        collectors, fired, _ = _perform(plan.access, [a for _, a in pairs], jobs, plan.limits, plan.limits.timeout)
        now = time.monotonic()
        results = []
        for host, address in pairs:
            steps = []
            for n, (c, source) in enumerate(zip(collectors, plan.sources, strict=False)):
                step = _result(host, address, c, deadline_fired=fired, limits=plan.limits, what=f"copy of {source}",
                               now=now)
                if step.ok:
                    step = _settle(step, staging / str(n), source, address, Path(plan.local_folder(host)))
                steps.append(step)
            results.append(merge_steps(host, steps))
        return IOSuccess(RunReport(ordered(results), round(now - began, 3)))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _settle(step: HostResult, staging: Path, source: str, address: str, folder: Path) -> HostResult:
    """Move what scp wrote as ``staging/NAME.ADDRESS`` to ``folder/NAME``; a failure to do so is the host's."""
    name = os.path.basename(source.rstrip("/")) or "root"
    got = staging / f"{name}.{address}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(got, target)
    except OSError as exc:
        return HostResult(step.host, 1, step.stdout, step.stderr + f"g5k: could not store {name}: {exc}\n",
                          step.seconds)
    return step


def run_sequential(plan: RunPlan) -> IOResult[RunReport, G5kError]:
    """Run a plan one host after the other with plain ssh (the baseline a fan-out is measured against)."""
    began = time.monotonic()
    results = []
    for host, _ in plan.addresses():
        argv = plan.ssh_argv(host)
        start = time.monotonic()
        try:
            done = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, timeout=plan.local_timeout,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            results.append(host_result(host, None, _decoded(exc.stdout), _decoded(exc.stderr),
                                       time.monotonic() - start, timed_out=True, timeout=plan.limits.timeout))
            continue
        except OSError as exc:
            results.append(host_result(host, 255, "", f"ssh: {exc}", time.monotonic() - start))
            continue
        results.append(host_result(host, done.returncode, _decoded(done.stdout), _decoded(done.stderr),
                                   time.monotonic() - start))
    return IOSuccess(RunReport(ordered(results), round(time.monotonic() - began, 3)))


def _decoded(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", errors="replace")


def interactive(access: NodeAccess, host: str, command: str | None = None) -> IOResult[int, G5kError]:
    """Open ssh on one node with the terminal attached (a shell, or ``command``); ssh's exit status."""
    argv = ssh_argv(access, access.address_of(host), command, tty=command is None)
    try:
        return IOSuccess(subprocess.call(argv))
    except OSError as exc:
        return IOFailure(CommandFailed(argv, None, stderr=str(exc), host=host))


# ------------------------------------------------------------------------------------------ job's nodes


Settings: TypeAlias = config_adapter.Runtime
"""What reaching a job's nodes takes from the configuration: the frontend access, the node parameters ([oarsh])
and where we run (a jump through the frontend from outside); the runtime every command derives."""


def settings(config_file: Path | None = None) -> IOResult[Settings, G5kError]:
    """The effective configuration and where the code runs (``config_file``: instead of the usual file)."""
    return config_adapter.runtime(path=config_file)


def job_access(
    s: Settings,
    frontend: str | None,
    *,
    root: bool = False,
    kavlan: int | None = None,
    key_filename: str | None = None,
    ssh_config: str | None = None,
) -> Result[NodeAccess, G5kError]:
    """How to reach the nodes of a job on ``frontend`` from here: OAR's sshd with the job key (``[oarsh]``, else
    ``oar_job_key_file``), or root on deployed nodes; through the frontend when we run outside Grid'5000."""
    site = frontend or s.access.default_frontend
    jump: Jump | None = None
    if s.location.place is Place.OUTSIDE:
        if site is None:
            return Failure(InvalidInput("frontend", "", "a site (--frontend) to go through from outside Grid'5000"))
        endpoint = resolve_frontend(site, frontend_params(s.config, site))
        if isinstance(endpoint, Failure):
            return Failure(endpoint.failure())
        jump = jump_via(endpoint.unwrap())
    if root:
        access = root_access(key_filename, jump, kavlan)
    else:
        access = oarsh_access(node_params(s.config), jump, kavlan)
        if key_filename is not None:
            access = _with(access, key_filename=key_filename)
        if access.key_filename is None:
            return Failure(InvalidInput("job key", "", "a key to reach the nodes through OAR's sshd: set "
                                        "[oarsh] keyfile or g5k.oar_job_key_file (or --key), or use --user root"))
    return Success(_with(access, ssh_config=ssh_config) if ssh_config is not None else access)


def _with(access: NodeAccess, **changes: Any) -> NodeAccess:
    from attrs import evolve

    return evolve(access, **changes)


def _job_hosts(job_id: int, frontend: str | None, s: Settings, wait: TimeoutArg) -> Result[tuple[str, ...], G5kError]:
    return performed(get_oar_job_nodes(job_id, frontend, s.access, wait))


def run_on_job(
    job_id: int,
    frontend: str | None,
    command: RemoteCommand,
    s: Settings,
    *,
    hosts: str | None = None,
    root: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    wait: TimeoutArg = None,
    ssh_config: str | None = None,
    key_filename: str | None = None,
    kavlan: int | None = None,
) -> IOResult[RunReport, G5kError]:
    """Run ``command`` on the hosts of a job (``hosts``: a range of some of them), once it runs."""
    access = job_access(s, frontend, root=root, kavlan=kavlan, key_filename=key_filename, ssh_config=ssh_config)
    planned = _plan_for_job(job_id, frontend, s, hosts, access, wait,
                            lambda hs, acc: plan_run(hs, command, acc, limits))
    return to_ioresult(planned).bind(run)


def put_on_job(job_id: int, frontend: str | None, sources: Sequence[str], remote_dir: str, s: Settings,
               **options: Any) -> IOResult[RunReport, G5kError]:
    """Copy local files into ``remote_dir`` on every host of a job."""
    return _copy_on_job(Direction.PUT, job_id, frontend, sources, remote_dir, s, **options).bind(put)


def get_from_job(job_id: int, frontend: str | None, sources: Sequence[str], local_dir: str, s: Settings,
                 **options: Any) -> IOResult[RunReport, G5kError]:
    """Copy remote files of every host of a job into ``local_dir/HOST/``."""
    return _copy_on_job(Direction.GET, job_id, frontend, sources, local_dir, s, **options).bind(get)


def _copy_on_job(direction: Direction, job_id: int, frontend: str | None, sources: Sequence[str], dest: str,
                 s: Settings, *, hosts: str | None = None, root: bool = False, limits: Limits = DEFAULT_LIMITS,
                 wait: TimeoutArg = None, ssh_config: str | None = None, preserve: bool = False,
                 key_filename: str | None = None, kavlan: int | None = None) -> IOResult[CopyPlan, G5kError]:
    access = job_access(s, frontend, root=root, kavlan=kavlan, key_filename=key_filename, ssh_config=ssh_config)
    return to_ioresult(_plan_for_job(
        job_id, frontend, s, hosts, access, wait,
        lambda hs, acc: plan_copy(direction, hs, sources, dest, acc, limits, preserve=preserve)))


def _plan_for_job(job_id: int, frontend: str | None, s: Settings, hosts: str | None,
                  access: Result[NodeAccess, G5kError], wait: TimeoutArg,
                  make: Callable[[tuple[str, ...], NodeAccess], Result[Any, G5kError]]) -> Result[Any, G5kError]:
    if isinstance(access, Failure):
        return access
    return (_job_hosts(job_id, frontend, s, wait)
            .bind(lambda all_hosts: select_hosts(all_hosts, hosts))
            .bind(lambda chosen: make(chosen, access.unwrap())))


# ------------------------------------------------------------------------------------ frontend commands


def extend_job(job_id: int, frontend: str | None, change: WalltimeChange, access: FrontendAccess, *,
               force: bool = False, delay_next_jobs: bool = False) -> IOResult[ChangeAccepted, G5kError]:
    """Ask OAR to change a running job's walltime (``oarwalltime``); accepted, or OAR's refusal as a value."""
    argv = oarwalltime_argv(job_id, change, force=force, delay_next_jobs=delay_next_jobs)
    return _frontend(argv, frontend, access).bind(
        lambda o: to_ioresult(parse_oarwalltime_change(o.exit_code, o.stdout, o.stderr, job_id=job_id)))


def walltime_status(job_id: int, frontend: str | None, access: FrontendAccess) -> IOResult[WalltimeStatus, G5kError]:
    """A job's walltime, what was granted and what is still pending (``oarwalltime JOB``)."""
    return _frontend(oarwalltime_argv(job_id), frontend, access).bind(
        lambda o: to_ioresult(parse_oarwalltime_status(o.exit_code, o.stdout, o.stderr, job_id=job_id)))


def job_nodefile(job_id: int, frontend: str | None, access: FrontendAccess) -> IOResult[tuple[str, ...], G5kError]:
    """The job's node file (one host per core, as ``$OAR_NODEFILE``), from ``oarstat -p -j ID``."""
    return _frontend(oarstat_job_nodes_argv(job_id), frontend, access).bind(
        lambda o: to_ioresult(_nodefile(job_id, o.exit_code, o.stdout, o.stderr)))


def _nodefile(job_id: int, code: int, out: str, err: str) -> Result[tuple[str, ...], G5kError]:
    parsed = parse_nodefile(code, out, err)
    if isinstance(parsed, Success) and not parsed.unwrap():
        return Failure(NotFound("resources of OAR job", str(job_id), "the job is not running (or does not exist)"))
    return parsed


def _frontend(argv: tuple[str, ...], frontend: str | None, access: FrontendAccess) -> IOResult[Any, G5kError]:
    planned = plan_command(argv, frontend, access)
    if isinstance(planned, Failure):
        return IOFailure(planned.failure())
    return run_plan(planned.unwrap())
