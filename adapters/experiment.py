"""Bring an experiment file up, show it, bring it down (the effects of ``g5kpure.experiment``).

- :func:`load_experiment`: read and check the file (errors name the key and the line);
- :func:`up`: runs the pure step function ``next_up_action``: reattach or submit by name, all or nothing across
  sites (``g5k.reserve.reserve_or_reattach``), wait for the jobs, deploy what is not deployed yet
  (``g5k.kadeploy.deploy``), write the inventory (JSON, ssh_config, Ansible). A second ``up`` submits, deploys
  and writes nothing and says so. Interrupted (Ctrl-C, SIGTERM) after submitting, it deletes what it submitted.
- :func:`status`: the live jobs of the experiment's name on its sites, and the inventory last written;
- :func:`down`: deletes every live job of the name and waits until OAR shows them ended.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any

from attrs import frozen
from g5k.kadeploy import deploy
from g5k.oar import TimeoutArg, oardel, wait_jobs_final, wait_jobs_start
from g5k.remote import Settings, job_access
from g5k.reserve import find_jobs_by_name, reserve_or_reattach
from g5k.results import performed
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Success

from g5kpure.deploy.kadeploy import Deployment
from g5kpure.errors import CommandFailed, ConfigError, G5kError
from g5kpure.experiment import (
    INVENTORY_JSON,
    Deploy,
    Experiment,
    ExperimentStatus,
    Finished,
    Inventory,
    Reserve,
    Stop,
    UpReport,
    UpState,
    WaitJobs,
    WriteInventory,
    experiment_status,
    jobs_to_delete,
    next_up_action,
    observe_deployed,
    observe_error,
    observe_hosts,
    observe_reserved,
    observe_written,
    parse_experiment,
    render_inventory,
)
from g5kpure.experiment.steps import ANSIBLE_INVENTORY, SSH_CONFIG
from g5kpure.oar import PARIS, DelOutcome, OarJob
from g5kpure.remote import NodeAccess

Say = Callable[[str], None]


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
    """How each site's hosts are reached: root on deployed nodes, else OAR's sshd with the job key; the
    sites whose access cannot be built (no job key configured) are left out of the ssh_config."""
    out: dict[str, NodeAccess] = {}
    for site in exp.sites:
        got = job_access(s, site, root=exp.deploy is not None)
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
            if isinstance(action, Reserve):
                say(f"reattaching to or submitting the jobs named {action.name!r} on {', '.join(exp.sites)}")
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
                state = observe_reserved(state, reserved.jobs, reserved.reattached)
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
            elif isinstance(action, Deploy):
                state = _deploy(state, action, s, say)
            elif isinstance(action, WriteInventory):
                state = _write(state, action.inventory, exp, s, folder)
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM turned into an exception by the CLI, a bug): what this run submitted goes
        if submitted:
            performed(oardel([(j.job_id, j.frontend) for j in submitted], s.access))
        raise


def _deploy(state: UpState, action: Deploy, s: Settings, say: Say) -> UpState:
    say(f"deploying {action.environment} where it is not yet ({len(action.hosts)} host(s), {action.tries} tries)")
    got = performed(deploy(Deployment(action.hosts, env_name=action.environment),
                              check_deployed_command=action.check if action.check is not None else True,
                              num_tries=action.tries, frontend_connection_params=s.access, on_event=say))
    if isinstance(got, Failure):
        return observe_error(state, got.failure())
    result = got.unwrap()
    now = [h for h in result.deployed if any(a.action == "deploy" and a.deployed for a in result.history_of(h))]
    return observe_deployed(state, now, result.undeployed)


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


def down(exp: Experiment, s: Settings, folder: Path | None = None, *, wait: float = 60.0) -> IOResult[
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
