"""Bring an experiment file up, show it, bring it down (the effects of ``g5kpure.experiment``).

- :func:`load_experiment`: read and check the file (errors name the key and the line);
- :func:`up`: runs the pure step function ``next_up_action``: reattach or submit by name, all or nothing across
  sites (``g5k.reserve.reserve_or_reattach``) at the file's date, else at the first common slot of the planning
  read from the file's ``planning`` source (``g5k.planning.get_planning``); wait for the jobs; run the check
  command on the hosts (``g5k.remote.run``) and deploy those where it fails (``g5k.kadeploy.deploy``); write the
  inventory (JSON, ssh_config, Ansible). A second ``up`` submits, deploys and writes nothing and says so.
  Interrupted (Ctrl-C, SIGTERM) after submitting, it deletes what it submitted.
- :func:`status`: the live jobs of the experiment's name on its sites, and the inventory last written;
- :func:`down`: deletes every live job of the name and waits until OAR shows them ended.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any, cast

from attrs import frozen
from g5k.api import APIConnection
from g5k.db import DbSettings
from g5k.kadeploy import deploy, settings_from_config
from g5k.oar import TimeoutArg, oardel, wait_jobs_final, wait_jobs_start
from g5k.planning import Source, get_planning
from g5k.remote import Settings, job_access, run
from g5k.reserve import find_jobs_by_name, reserve_or_reattach
from g5k.results import performed
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Success

from g5kpure.deploy.kadeploy import Deployment
from g5kpure.errors import CommandFailed, ConfigError, G5kError
from g5kpure.experiment import (
    INVENTORY_JSON,
    CheckDeployed,
    Deploy,
    Experiment,
    ExperimentStatus,
    Finished,
    Inventory,
    LookUp,
    ReadPlanning,
    Reserve,
    Stop,
    UpReport,
    UpState,
    WaitJobs,
    WriteInventory,
    experiment_status,
    jobs_to_delete,
    next_up_action,
    observe_checked,
    observe_deployed,
    observe_error,
    observe_hosts,
    observe_named,
    observe_planning,
    observe_reserved,
    observe_written,
    parse_experiment,
    render_inventory,
)
from g5kpure.experiment.steps import ANSIBLE_INVENTORY, SSH_CONFIG
from g5kpure.oar import DELETION_SETTLE, PARIS, DelOutcome, OarJob, format_unixts
from g5kpure.remote import Limits, NodeAccess, RemoteCommand, plan_run

Say = Callable[[str], None]

PLANNING_LEAD = 10
"""Seconds from now where the planning starts: the time to submit on every site (OAR accepts a reservation date
just passed and starts the job at once)."""
CHECK_TIMEOUT = 30.0
"""Seconds the check command may take on a node before the node counts as not deployed."""
SOURCE_NAMES = {"api": "Grid'5000 API", "oardb": "OAR database", "oarapi": "OAR REST API"}


def _quiet(_: str) -> None:
    return None


def load_experiment(path: Path, tz: tzinfo = PARIS) -> IOResult[Experiment, G5kError]:
    """Read and check an experiment file (``tz``: the OAR server's, for its reservation date)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return IOFailure(ConfigError("(file)", f"cannot read the experiment file: {exc}", str(path)))
    return IOResult.from_result(parse_experiment(text, str(path), tz=tz))


def inventory_folder(path: Path, exp: Experiment) -> Path:
    """Where `g5k up` writes the inventory of the experiment of ``path``: ``NAME.inventory/`` beside the file."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in exp.name)
    return path.resolve().parent / f"{safe}.inventory"


def node_access(exp: Experiment, s: Settings) -> dict[str, NodeAccess]:
    """How each site's hosts are reached: root on deployed nodes (unless ``[deploy] access = "oarsh"``), else
    OAR's sshd with the job key; the sites whose access cannot be built (no job key configured) are left out of
    the ssh_config."""
    out: dict[str, NodeAccess] = {}
    for site in exp.sites:
        got = job_access(s, site, root=exp.deploy is not None and exp.deploy.access == "root")
        if isinstance(got, Success):
            out[site] = got.unwrap()
    return out


def up(
    exp: Experiment,
    s: Settings,
    folder: Path,
    *,
    tz: tzinfo = PARIS,
    wait_timeout: TimeoutArg = None,
    say: Say = _quiet,
) -> IOResult[UpReport, G5kError]:
    """Bring the experiment up (reattach or submit, wait, deploy, write the inventory); see the module."""
    state = UpState()
    submitted: list[OarJob] = []
    try:
        while True:
            action = next_up_action(exp, state)
            if isinstance(action, Finished):
                return IOSuccess(action.report)
            if isinstance(action, Stop):
                return IOFailure(action.error)
            if isinstance(action, LookUp):
                named = performed(find_jobs_by_name(action.name, list(action.sites), s.access))
                state = (observe_error(state, named.failure()) if isinstance(named, Failure)
                         else observe_named(state, action.sites, named.unwrap()))
            elif isinstance(action, ReadPlanning):
                say(f"no reservation date: reading the planning of {', '.join(action.sites)} from the "
                    f"{SOURCE_NAMES.get(action.source, action.source)}")
                got_planning = performed(_read_planning(action, s))
                state = (observe_error(state, got_planning.failure()) if isinstance(got_planning, Failure)
                         else observe_planning(state, got_planning.unwrap()))
            elif isinstance(action, Reserve):
                when = f" from {format_unixts(action.start, tz)} ({action.why})" if action.start is not None else ""
                say(f"reattaching to or submitting the jobs named {action.name!r} on {', '.join(exp.sites)}{when}")
                got = performed(reserve_or_reattach(list(action.specs), action.name, s.access,
                                                       start=action.start, tz=tz,
                                                       job_key_file=s.config.oar_job_key_file))
                if isinstance(got, Failure):
                    state = observe_error(state, got.failure())
                    continue
                reserved = got.unwrap()
                if not reserved.reattached:
                    submitted.extend(reserved.jobs)
                say(("reattached to " if reserved.reattached else "submitted ")
                    + ", ".join(str(j) for j in reserved.jobs))
                why = action.why if reserved.start == action.start else "the first date every site accepted"
                state = observe_reserved(state, reserved.jobs, reserved.reattached, reserved.start, why)
            elif isinstance(action, WaitJobs):
                say("waiting until the jobs run")
                results = performed(wait_jobs_start(list(action.jobs), s.access, wait_timeout))
                hosts: dict[str, tuple[str, ...]] = {}
                for job, result in zip(action.jobs, results, strict=True):
                    if isinstance(result, Failure):
                        state = observe_error(state, result.failure())
                        break
                    hosts[job.frontend or ""] = result.unwrap().assigned_hosts
                else:
                    state = observe_hosts(state, hosts)
            elif isinstance(action, CheckDeployed):
                state = _check(state, action, s, dict(state.hosts or ()), say)
            elif isinstance(action, Deploy):
                state = _deploy(state, action, s, say)
            elif isinstance(action, WriteInventory):
                state = _write(state, action.inventory, exp, s, folder)
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM turned into an exception by the CLI, a bug): what this run submitted goes
        if submitted:
            performed(oardel([(j.job_id, j.frontend) for j in submitted], s.access))
        raise


def _read_planning(action: ReadPlanning, s: Settings) -> IOResult[Any, G5kError]:
    """The planning of the action's sites from its source, from now + PLANNING_LEAD (default queue unless the
    file names one)."""
    api = APIConnection.from_config(s.config, s.location, interactive=True) if action.source == "api" else None
    oarapi = {site: APIConnection(url, use_keyring=False) for site, url in action.oarapi}
    queues = (action.queue,) if action.queue is not None else ("default",)
    source = cast(Source, action.source)  # the file's reader admits only PLANNING_SOURCES, all of them Sources
    return get_planning(action.sites, source=source, starttime=int(time.time()) + PLANNING_LEAD,
                        sites=list(action.sites), api=api, oarapi=oarapi,
                        db_settings=DbSettings.from_config(s.config), queues=queues)


def _check(state: UpState, action: CheckDeployed, s: Settings, hosts_by_site: dict[str, tuple[str, ...]],
           say: Say) -> UpState:
    """Run the check command on every host (per site, reached as the action says): the hosts where it does not
    exit 0 (failed, unreachable, refused, too slow) are not deployed yet."""
    command = action.check or settings_from_config(s.config).check_deployed_command
    say(f"checking which of the {len(action.hosts)} host(s) are deployed already")
    not_deployed: list[str] = []
    for site, site_hosts in hosts_by_site.items():
        hosts = [h for h in action.hosts if h in site_hosts]
        if not hosts:
            continue
        if command is None:
            not_deployed += hosts
            continue
        access = job_access(s, site, root=action.access == "root")
        if isinstance(access, Failure):
            return observe_error(state, access.failure())
        plan = plan_run(hosts, RemoteCommand(shell=command), access.unwrap(), Limits(timeout=CHECK_TIMEOUT))
        if isinstance(plan, Failure):
            return observe_error(state, plan.failure())
        report = performed(run(plan.unwrap()))
        if isinstance(report, Failure):
            return observe_error(state, report.failure())
        not_deployed += [r.host for r in report.unwrap().results if not r.ok]
    return observe_checked(state, not_deployed)


def _deploy(state: UpState, action: Deploy, s: Settings, say: Say) -> UpState:
    say(f"deploying {action.environment} on {len(action.hosts)} host(s) not deployed yet ({action.tries} tries)")
    got = performed(deploy(Deployment(action.hosts, env_name=action.environment), check_deployed_command=False,
                              num_tries=action.tries, frontend_connection_params=s.access, on_event=say))
    if isinstance(got, Failure):
        return observe_error(state, got.failure())
    result = got.unwrap()
    return observe_deployed(state, [h for h in action.hosts if h in result.deployed], result.undeployed)


def _write(state: UpState, inv: Inventory, exp: Experiment, s: Settings, folder: Path) -> UpState:
    written: list[str] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in render_inventory(inv, node_access(exp, s), str(folder)):
            target = folder / name
            if target.exists() and target.read_text(encoding="utf-8") == content:
                continue
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(content)
            os.replace(tmp, target)
            written.append(str(target))
    except OSError as exc:
        return observe_error(state, CommandFailed(("write", str(folder)), None, stderr=str(exc), host="local"))
    return observe_written(state, written)


def read_inventory(folder: Path) -> dict[str, Any] | None:
    """The inventory last written by `g5k up` in ``folder`` (None when there is none or it is unreadable)."""
    try:
        data: dict[str, Any] = json.loads((folder / INVENTORY_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def status(exp: Experiment, s: Settings) -> IOResult[ExperimentStatus, G5kError]:
    """The live jobs of the experiment's name on each of its sites (one oarstat per site)."""
    named = performed(find_jobs_by_name(exp.name, list(exp.sites), s.access))
    return IOResult.from_result(named.map(lambda n: experiment_status(exp, n)))


@frozen
class DownReport:
    """What `g5k down` did: each job's fate, the jobs still alive afterwards, the sites that could not be read."""

    name: str
    outcomes: tuple[DelOutcome, ...]
    alive: tuple[OarJob, ...] = ()
    unreadable: tuple[tuple[str, str], ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every job is gone and every site was read."""
        return not self.alive and not self.unreadable and all(o.ok for o in self.outcomes)


def down(exp: Experiment, s: Settings, folder: Path | None = None, *, wait: float = DELETION_SETTLE) -> IOResult[
        DownReport, G5kError]:
    """Delete every live job of the experiment's name on its sites, wait until OAR shows them ended, and remove
    the inventory files of ``folder`` (they name hosts no longer held)."""
    named_r = performed(find_jobs_by_name(exp.name, list(exp.sites), s.access))
    if isinstance(named_r, Failure):
        return IOFailure(named_r.failure())
    named = named_r.unwrap()
    jobs = jobs_to_delete(named)
    outcomes = performed(oardel([(j.job_id, j.frontend) for j in jobs], s.access)) if jobs else ()
    settled = wait_jobs_final(list(jobs), s.access, wait) if jobs else {}
    alive = tuple(j for j in jobs if not ((st := settled.get(j)) is not None and st.is_final))
    removed: list[str] = []
    if folder is not None and not alive:
        for name in (INVENTORY_JSON, SSH_CONFIG, ANSIBLE_INVENTORY):
            target = folder / name
            if target.exists():
                try:
                    target.unlink()
                    removed.append(str(target))
                except OSError:
                    pass
    unreadable = tuple((f or "", e.message) for f, e in named.failed)
    return IOSuccess(DownReport(exp.name, tuple(outcomes), alive, unreadable, tuple(removed)))


def jobs_of(report: Sequence[OarJob]) -> list[dict[str, Any]]:
    """Jobs as JSON-ready records."""
    return [{"job_id": j.job_id, "site": j.frontend} for j in report]
