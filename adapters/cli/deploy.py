"""`g5k deploy` (kadeploy3 with checks and retries) and `g5k grid sub|del|info|nodes` (OARGRID).

    g5k deploy -e debian12-min paravance-[1-4].rennes.grid5000.fr --tries 3
    g5k deploy -a /home/me/env.dsc nova-1.lyon nova-2.lyon --no-check --dry-run
    g5k grid sub rennes:nodes=2 "lyon:{cluster='nova'}/nodes=1" -w 2:00:00 -t deploy -r "2026-12-01 19:00"
    g5k grid info 55123          g5k grid nodes 55123          g5k grid del 55123

Every command takes --json, --dry-run (print the frontend commands and do nothing) and --config.

`g5k deploy` interrupted (Ctrl-C, SIGTERM) stops the kadeploy3 processes it started on the frontends and says
where each host stands before exiting 130 / 143; each try is bounded by --timeout (an hour by default).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from attrs import evolve
from g5k import config as config_adapter
from g5k.cli.main import EXIT_FAILURE, EXIT_OK, emit, fail
from g5k.cli.options import (
    add_config,
    add_frontend,
    add_job_options,
    add_reservation,
    add_tz,
    add_walltime,
    no_frontend,
    reservation_of,
    walltime_of,
    zone_of,
)
from g5k.kadeploy import DEFAULT_DEPLOY_TIMEOUT, DeployResult, deploy, plan_kadeploy, settings_from_config
from g5k.oargrid import (
    OargridDeleted,
    get_oargrid_job_info,
    get_oargrid_job_nodes,
    oargriddel,
    oargridsub,
    plan_oargrid_command,
    plan_oargridsub,
)
from g5k.results import performed
from returns.io import IOResult
from returns.result import Failure, Result, Success

from g5kpure.config import ConnectionParams, FrontendAccess, plan_command
from g5kpure.deploy import Deployment, KadeploySettings
from g5kpure.errors import G5kError, InvalidInput
from g5kpure.hosts import parse_host_ranges
from g5kpure.oar import (
    OargridJobInfo,
    OarSubmission,
    format_unixts,
    oargriddel_argv,
    oargridstat_info_argv,
    oargridstat_nodes_argvs,
)

T = TypeVar("T")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register `deploy` and the `grid` command group."""
    shared = argparse.ArgumentParser(add_help=False)
    add_config(shared)
    add_frontend(shared, "the frontend (site) of short host names, and the one oargrid runs on")

    d = sub.add_parser("deploy", parents=[common, shared], help="deploy an environment with kadeploy3 (retries)")
    env = d.add_mutually_exclusive_group()
    env.add_argument("-e", "--env-name", help="registered environment name (kadeploy3 -e)")
    env.add_argument("-a", "--env-file", help="environment description file (kadeploy3 -a)")
    d.add_argument("hosts", nargs="+", help="hosts, FQDN or host.site, ranges allowed: paravance-[1-4].rennes")
    d.add_argument("--tries", type=int, default=1, help="number of kadeploy3 tries (default 1)")
    d.add_argument("-u", "--user", help="kadeploy3 environment user (-u)")
    d.add_argument("--vlan", help="kavlan to switch the nodes into")
    d.add_argument("--options", default="", help="more kadeploy3 options, as one shell-like string")
    check = d.add_mutually_exclusive_group()
    check.add_argument("--check", help="command telling a deployed node (exit 0); default: the configured one")
    check.add_argument("--no-check", action="store_true", help="trust kadeploy3's report, check nothing")
    d.add_argument("--node-user", default="root", help="ssh user for the checks (default root)")
    d.add_argument("--node-port", type=int, help="ssh port for the checks")
    d.add_argument("--node-key", help="ssh key for the checks")
    d.add_argument("--timeout", type=float, default=DEFAULT_DEPLOY_TIMEOUT,
                   help=f"deploy timeout per try, seconds (default {DEFAULT_DEPLOY_TIMEOUT:g}; 0: none)")
    d.add_argument("--check-timeout", type=float, default=30.0, help="timeout of each node check (default 30)")
    d.set_defaults(handler=run_deploy)

    g = sub.add_parser("grid", help="OARGRID multi-site jobs (legacy)")
    gsub = g.add_subparsers(dest="grid_command", metavar="SUBCOMMAND")
    gsub.required = True
    grid_shared = argparse.ArgumentParser(add_help=False, parents=[shared])
    add_tz(grid_shared)
    s = gsub.add_parser("sub", parents=[common, grid_shared], help="submit an oargrid job")
    s.add_argument("specs", nargs="+", metavar="ALIAS:RESOURCES",
                   help="e.g. rennes:nodes=2 or lyon:{cluster='nova'}/nodes=1")
    add_walltime(s)
    add_reservation(s, "the date the grid job starts at (an advance reservation)")
    add_job_options(s, properties=True, project=False)  # oargridsub has no project
    s.add_argument("-d", "--directory", metavar="DIR", help="the jobs' working directory, as oargridsub -d")
    s.add_argument("--options", help="more oargridsub options, as one shell-like string")
    s.set_defaults(handler=run_grid_sub)
    dl = gsub.add_parser("del", parents=[common, grid_shared], help="delete oargrid jobs")
    dl.add_argument("ids", nargs="+", type=int)
    dl.set_defaults(handler=run_grid_del)
    for name, handler, what in (("info", run_grid_info, "start, walltime, user and OAR jobs of an oargrid job"),
                                ("nodes", run_grid_nodes, "the nodes of an oargrid job")):
        c = gsub.add_parser(name, parents=[common, grid_shared], help=what)
        c.add_argument("id", type=int)
        c.set_defaults(handler=handler)


# ------------------------------------------------------------------------------------------------ helpers


def _runtime(args: argparse.Namespace) -> Result[tuple[FrontendAccess, KadeploySettings], G5kError]:
    loaded = performed(config_adapter.runtime(path=args.config))
    if isinstance(loaded, Failure):
        return Failure(loaded.failure())
    rt = loaded.unwrap()
    access = rt.access if args.frontend is None else evolve(rt.access, default_frontend=args.frontend)
    grid = getattr(args, "grid_command", None) is not None  # oargrid runs on one frontend; kadeploy3 on the hosts'
    if grid and not args.dry_run and (missing := no_frontend(args.frontend, access, "oargridstat")):
        return Failure(missing)
    return Success((access, settings_from_config(rt.config)))


def _hosts(words: list[str]) -> Result[tuple[str, ...], G5kError]:
    hosts: list[str] = []
    for word in words:
        expanded = parse_host_ranges(word) if "[" in word else Success((word,))
        if isinstance(expanded, Failure):
            return Failure(expanded.failure())
        hosts.extend(expanded.unwrap())
    return Success(tuple(dict.fromkeys(hosts)))


def _deployment(args: argparse.Namespace) -> Result[Deployment, G5kError]:
    hosts = _hosts(args.hosts)
    if isinstance(hosts, Failure):
        return Failure(hosts.failure())
    if args.tries < 1:
        return Failure(InvalidInput("--tries", str(args.tries), "a number of tries >= 1"))
    return Success(Deployment(hosts.unwrap(), env_file=args.env_file, env_name=args.env_name, user=args.user,
                              vlan=args.vlan, other_options=args.options))


def _describe_result(result: DeployResult) -> str:
    lines = [f"{len(result.deployed)} deployed, {len(result.undeployed)} not deployed "
             f"({result.why}, {result.tries} tries)"]
    for host in sorted(result.deployed):
        lines.append(f"  ok   {host}")
    for host in sorted(result.undeployed):
        history = result.history_of(host)
        why = history[-1].reason if history else ""
        lines.append(f"  FAIL {host}: {why}")
    for frontend, error in result.frontend_failures:
        lines.append(f"  frontend {frontend}: {error.message}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- handlers


def run_deploy(args: argparse.Namespace) -> int:
    """`g5k deploy`: check, deploy the others, retry; per-host outcome."""
    rt = _runtime(args)
    if isinstance(rt, Failure):
        return fail(args, rt.failure())
    access, settings = rt.unwrap()
    made = _deployment(args)
    if isinstance(made, Failure):
        return fail(args, made.failure())
    deployment = made.unwrap()
    node = ConnectionParams(user=args.node_user, port=args.node_port, key_filename=args.node_key,
                            timeout=args.check_timeout)
    timeout = args.timeout if args.timeout and args.timeout > 0 else None
    command: str | bool = False if args.no_check else (args.check or True)
    if args.dry_run:
        plan = plan_kadeploy(deployment, access, settings, timeout, file_prefix="/tmp/g5kpure-kadeploy-DRYRUN")
        if isinstance(plan, Failure):
            return fail(args, plan.failure())
        lines = [plan.unwrap().describe()]
        if command is not False:
            check = settings.check_deployed_command if command is True else str(command)
            first = plan_command(("sh", "-c", check), deployment.hosts[0], FrontendAccess(params=node),
                                 args.check_timeout)
            if isinstance(first, Failure):
                return fail(args, first.failure())
            lines.insert(0, f"check on each of {len(deployment.hosts)} hosts, before and after each try, "
                            f"e.g. {first.unwrap().describe()}")
        lines.append(f"up to {args.tries} tries, each on the hosts not yet deployed")
        emit(args, "\n".join(lines), {"plan": lines})
        return EXIT_OK
    done = performed(deploy(deployment, command, node, args.tries, None, access, timeout, args.check_timeout,
                            settings, on_event=lambda event: print(f"g5k: {event}", file=sys.stderr, flush=True)))
    if isinstance(done, Failure):
        return fail(args, done.failure())
    result: DeployResult = done.unwrap()
    emit(args, _describe_result(result), result)
    return EXIT_OK if not result.undeployed else EXIT_FAILURE


def _grid_specs(args: argparse.Namespace) -> Result[list[tuple[OarSubmission, str]], G5kError]:
    specs: list[tuple[OarSubmission, str]] = []
    for word in args.specs:
        alias, sep, resources = word.partition(":")
        if not sep or not alias or not resources:
            return Failure(InvalidInput("spec", word, "ALIAS:RESOURCES, e.g. rennes:nodes=2"))
        specs.append((OarSubmission(resources=resources, sql_properties=args.sql_properties, name=args.name),
                      alias))
    return Success(specs)


def run_grid_sub(args: argparse.Namespace) -> int:
    """`g5k grid sub`: one oargrid job over several clusters / sites."""
    rt, tz, specs, wall_r = _runtime(args), zone_of(args), _grid_specs(args), walltime_of(args)
    for got in (rt, tz, specs, wall_r):
        if isinstance(got, Failure):
            return fail(args, got.failure())
    resa_r = reservation_of(args, tz.unwrap())
    if isinstance(resa_r, Failure):
        return fail(args, resa_r.failure())
    access = rt.unwrap()[0]
    wall, resa = wall_r.unwrap(), resa_r.unwrap()
    common = (specs.unwrap(), resa, wall, args.job_type or None, args.queue, args.directory, args.options, access)
    if args.dry_run:
        plan = plan_oargridsub(*common, tz=tz.unwrap())
        if isinstance(plan, Failure):
            return fail(args, plan.failure())
        emit(args, plan.unwrap().describe(), {"plan": [plan.unwrap().describe()]})
        return EXIT_OK
    done = performed(oargridsub(*common, tz=tz.unwrap()))
    if isinstance(done, Failure):
        return fail(args, done.failure())
    sub = done.unwrap()
    jobs = ", ".join(f"{alias}: {job}" for alias, job in sub.oar_jobs)
    emit(args, f"oargrid job {sub.grid_job_id} (ssh key {sub.ssh_key}); OAR jobs {jobs}", sub)
    return EXIT_OK


def _dry(args: argparse.Namespace, argvs: list[tuple[str, ...]], access: FrontendAccess) -> int:
    lines: list[str] = []
    for argv in argvs:
        plan = plan_oargrid_command(argv, None, access, False)
        if isinstance(plan, Failure):
            return fail(args, plan.failure())
        lines.append(plan.unwrap().describe())
    emit(args, "\n".join(lines), {"plan": lines})
    return EXIT_OK


def _grid_command(
    args: argparse.Namespace,
    argvs: Callable[[], list[tuple[str, ...]]],
    run: Callable[[FrontendAccess], IOResult[T, G5kError]],
    show: Callable[[T], int],
    *checked: Result[object, G5kError],
) -> int:
    """Plan (``--dry-run``: print ``argvs()``) or ``run`` one oargrid command on the configured access, then
    ``show`` its result; the runtime and the ``checked`` option values are refused first."""
    rt = _runtime(args)
    for got in (rt, *checked):
        if isinstance(got, Failure):
            return fail(args, got.failure())
    access = rt.unwrap()[0]
    if args.dry_run:
        return _dry(args, argvs(), access)
    done = performed(run(access))
    if isinstance(done, Failure):
        return fail(args, done.failure())
    return show(done.unwrap())


def run_grid_del(args: argparse.Namespace) -> int:
    """`g5k grid del`: delete oargrid jobs; each one's outcome."""

    def show(outcomes: tuple[OargridDeleted, ...]) -> int:
        emit(args, "\n".join(f"{o.grid_job_id}: {'deleted' if o.deleted else 'NOT deleted'} ({o.detail})"
                             for o in outcomes), outcomes)
        return EXIT_OK if all(o.deleted for o in outcomes) else EXIT_FAILURE

    return _grid_command(args, lambda: [oargriddel_argv(i) for i in args.ids],
                         lambda access: oargriddel(args.ids, access), show)


def run_grid_info(args: argparse.Namespace) -> int:
    """`g5k grid info`: start, walltime, user and OAR jobs of an oargrid job."""
    tz = zone_of(args)

    def show(info: OargridJobInfo) -> int:
        jobs = ", ".join(f"{alias}: {job}" for job, alias in info.oar_jobs)
        start = format_unixts(info.start_date, tz.unwrap())
        human = (f"oargrid job {args.id}\n  user      {info.user}\n  start     {start}"
                 f"\n  walltime  {info.walltime} s\n  OAR jobs  {jobs}")
        emit(args, human, info)
        return EXIT_OK

    return _grid_command(args, lambda: [oargridstat_info_argv(args.id)],
                         lambda access: get_oargrid_job_info(args.id, access, tz=tz.unwrap()), show, tz)


def run_grid_nodes(args: argparse.Namespace) -> int:
    """`g5k grid nodes`: the nodes of an oargrid job (waits for it to run)."""

    def show(nodes: tuple[str, ...]) -> int:
        emit(args, "\n".join(nodes), list(nodes))
        return EXIT_OK

    return _grid_command(args, lambda: [oargridstat_nodes_argvs(args.id)[0]],
                         lambda access: get_oargrid_job_nodes(args.id, access), show)
