"""`g5k up | status | down FILE`: an experiment brought up and down with one file (see g5kpure.experiment.model).

    g5k up exp.toml        # reattach or submit (all or nothing across sites), wait, deploy, write the inventory
    g5k up exp.toml        # again: nothing submitted, deployed or written, and it says so
    g5k status exp.toml    # the jobs of the experiment per site, their states, the inventory
    g5k down exp.toml      # delete the jobs (and the inventory files)

The inventory goes to ``NAME.inventory/`` beside the file (``--out DIR`` elsewhere): ``inventory.json`` (roles
and sites to hosts), ``ssh_config`` (``ssh -F .../ssh_config HOST``) and ``hosts.ini`` (Ansible).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path
from typing import Any, TypeVar

from attrs import frozen
from g5k.cli.main import EXIT_FAILURE, EXIT_OK, emit, fail, to_jsonable
from g5k.cli.options import add_config, add_tz, zone_of
from g5k.experiment import SOURCE_NAMES, DownReport, down, inventory_folder, load_experiment, read_inventory, status, up
from g5k.remote import Settings, settings
from g5k.results import performed
from returns.io import IOResult
from returns.result import Failure, Result

from g5kpure.config import plan_command
from g5kpure.errors import G5kError
from g5kpure.experiment import Experiment, ExperimentStatus, UpReport
from g5kpure.oar import oarstat_mine_full_argv, oarsub_argv

T = TypeVar("T")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register up, status and down."""
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("file", type=Path, help="the experiment file (TOML)")
    add_config(shared)
    shared.add_argument("--out", type=Path, help="inventory folder (default: NAME.inventory beside the file)")
    add_tz(shared)
    u = sub.add_parser("up", parents=[common, shared], help="bring an experiment file up (idempotent)")
    u.add_argument("--wait", type=float, default=None, help="wait at most this many seconds for the jobs to run")
    u.set_defaults(handler=run_up)
    s = sub.add_parser("status", parents=[common, shared], help="the jobs and inventory of an experiment file")
    s.set_defaults(handler=run_status)
    d = sub.add_parser("down", parents=[common, shared], help="delete the jobs of an experiment file")
    d.set_defaults(handler=run_down)


@frozen
class _Loaded:
    """What every experiment command starts from: the experiment, the settings, the zone, the inventory folder."""

    exp: Experiment
    s: Settings
    tz: tzinfo
    folder: Path


def _load(args: argparse.Namespace) -> Result[_Loaded, G5kError]:
    """The experiment, the settings, the zone and the inventory folder of the command, or the first error."""
    zone = zone_of(args)
    if isinstance(zone, Failure):
        return Failure(zone.failure())
    got = performed(load_experiment(args.file, zone.unwrap()))
    if isinstance(got, Failure):
        return Failure(got.failure())
    exp = got.unwrap()
    folder = args.out or inventory_folder(args.file, exp)
    return performed(settings(args.config)).map(lambda s: _Loaded(exp, s, zone.unwrap(), folder))


def _handle(args: argparse.Namespace, plan: Callable[[_Loaded], list[str]],
            act: Callable[[_Loaded], IOResult[T, G5kError]], show: Callable[[_Loaded, T], int]) -> int:
    """Load the command's experiment, then print the ``plan`` of a dry run, or ``act`` and ``show`` what it did
    (its exit code); the first error is the answer."""
    loaded = _load(args)
    if isinstance(loaded, Failure):
        return fail(args, loaded.failure())
    c = loaded.unwrap()
    if args.dry_run:
        lines = plan(c)
        emit(args, "\n".join(lines), {"plan": lines})
        return EXIT_OK
    got = performed(act(c))
    if isinstance(got, Failure):
        return fail(args, got.failure())
    return show(c, got.unwrap())


def _oarstat_lines(c: _Loaded, note: str) -> list[str]:
    """Dry run: the oarstat that finds the experiment's jobs on each of its sites, each with ``note``."""
    return [plan_command(oarstat_mine_full_argv(), site, c.s.access).map(lambda p: p.describe()).value_or(site)
            + note for site in c.exp.sites]


def _say(args: argparse.Namespace) -> Any:
    def say(text: str) -> None:
        if not args.json:
            print(f"g5k: {text}", file=sys.stderr)

    return say


def run_up(args: argparse.Namespace) -> int:
    """`g5k up FILE`: reattach or submit, wait, deploy what is not deployed, write the inventory."""

    def plan(c: _Loaded) -> list[str]:
        exp = c.exp
        lines = _oarstat_lines(c, f"    # jobs named {exp.name!r}")
        if exp.reservation is None:
            lines.append(f"if no site holds one: read the planning of {', '.join(exp.sites)} from the "
                         f"{SOURCE_NAMES[exp.planning]}, then all or nothing at its first common free slot "
                         "(oarsub -r DATE):")
        else:
            lines.append("if no site holds one: all or nothing,")
        for sub_, site in exp.submissions():
            argv = oarsub_argv(sub_, job_key_file=c.s.config.oar_job_key_file, tz=c.tz)
            lines.append(plan_command(argv, site, c.s.access).map(lambda p: p.describe()).value_or(site))
        lines.append("then wait until they run" + (", deploy " + exp.deploy.environment + " where the check fails"
                                                   if exp.deploy else "")
                     + f", write the inventory in {c.folder}")
        return lines

    def show(c: _Loaded, report: UpReport) -> int:
        roles = "\n".join(f"  {role}: {' '.join(hosts)}" for role, hosts in report.inventory.roles)
        human = f"{report.describe(c.tz)}\n{roles}\ninventory: {c.folder}"
        emit(args, human, {"name": report.name, "changed": report.changed, "reattached": report.reattached,
                           "start": report.start, "start_why": report.start_why,
                           "jobs": [{"site": j.frontend, "job_id": j.job_id} for j in report.jobs],
                           "deployed": list(report.deployed), "written": list(report.written),
                           "roles": dict(report.inventory.roles), "inventory": str(c.folder)})
        return EXIT_OK

    return _handle(args, plan, lambda c: up(c.exp, c.s, c.folder, tz=c.tz, wait_timeout=args.wait,
                                            say=_say(args)), show)


def run_status(args: argparse.Namespace) -> int:
    """`g5k status FILE`: the jobs of the experiment, their states, the inventory."""

    def show(c: _Loaded, st: ExperimentStatus) -> int:
        inv = read_inventory(c.folder)
        lines = [f"experiment {st.name}: {'up' if st.up else 'not up'}"]
        lines += [f"  {site}: job {job_id} {state}" for site, job_id, state in st.jobs]
        lines += [f"  {site}: no job" for site in st.missing]
        lines += [f"  {site}: unreadable ({why})" for site, why in st.unreadable]
        if inv is not None:
            lines += [f"  role {role}: {' '.join(hosts)}" for role, hosts in sorted(inv.get("roles", {}).items())]
            lines.append(f"inventory: {c.folder}")
        emit(args, "\n".join(lines), {**to_jsonable(st), "up": st.up, "inventory": inv})
        return EXIT_OK if st.up else EXIT_FAILURE

    return _handle(args, lambda c: _oarstat_lines(c, ""), lambda c: status(c.exp, c.s), show)


def run_down(args: argparse.Namespace) -> int:
    """`g5k down FILE`: delete the experiment's jobs and wait until OAR shows them ended."""

    def show(c: _Loaded, rep: DownReport) -> int:
        lines = [f"job {o.job}: {o.status.value}" + (f" ({o.error.message})" if o.error else "")
                 for o in rep.outcomes]
        lines += [f"still alive: {j}" for j in rep.alive]
        lines += [f"{site}: unreadable ({why})" for site, why in rep.unreadable]
        if not rep.outcomes:
            lines.append(f"experiment {c.exp.name}: no job to delete")
        emit(args, "\n".join(lines), {"name": rep.name, "ok": rep.ok,
                                      "deleted": [{"job_id": o.job.job_id, "site": o.job.frontend,
                                                   "status": o.status.value} for o in rep.outcomes],
                                      "alive": [str(j) for j in rep.alive], "removed": list(rep.removed)})
        return EXIT_OK if rep.ok else EXIT_FAILURE

    return _handle(args, lambda c: _oarstat_lines(c, f"    # jobs named {c.exp.name!r}, then oardel them"),
                   lambda c: down(c.exp, c.s, c.folder), show)
