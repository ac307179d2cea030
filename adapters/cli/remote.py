"""`g5k run | put | get | ssh | nodefile | extend`: work on the nodes of a running job.

    g5k run 1234 --frontend rennes -- hostname              # one line per host: "HOST: output"
    g5k run 1234 --frontend rennes --hosts paravance-[1-2] --timeout 30 -- uptime
    g5k run 1234 --frontend rennes --user root --group -- cat /etc/os-release   # deployed nodes, clubak-like
    g5k put 1234 --frontend rennes data.tar scripts/ /tmp/in
    g5k get 1234 --frontend rennes /tmp/out/result.csv ./results              # ./results/HOST/result.csv
    g5k ssh 1234 --frontend rennes [HOST] [-- COMMAND]
    g5k nodefile 1234 --frontend rennes                     # as $OAR_NODEFILE: one line per core
    g5k extend 1234 --frontend rennes +1:00                 # oarwalltime; without a change: the status

Nodes are reached through OAR's sshd (user oar, port 6667, the job key: ``[oarsh] keyfile`` or
``g5k.oar_job_key_file``), or as root with ``--user root`` (deployed nodes), through the site's frontend when
running outside Grid'5000. ``--json`` prints one record per host; ``--dry-run`` prints the commands. Exit code 0
when every host succeeded, 1 otherwise (each host's fate is printed).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from attrs import evolve
from g5k.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, emit, fail, to_jsonable
from g5k.cli.options import add_config, add_frontend
from g5k.remote import (
    Settings,
    extend_job,
    get_from_job,
    interactive,
    job_access,
    job_nodefile,
    put_on_job,
    run_on_job,
    settings,
    walltime_status,
)
from g5k.results import performed
from returns.result import Failure, Result, Success

from g5kpure.config import plan_command
from g5kpure.errors import G5kError, InvalidInput, NotFound
from g5kpure.oar import job_id_from_env, oarstat_job_argv, oarstat_job_nodes_argv
from g5kpure.oar.dates import to_seconds
from g5kpure.remote import (
    DEFAULT_FANOUT,
    HostResult,
    Limits,
    RunReport,
    check_limits,
    command_of,
    group_lines,
    group_outputs,
    host_lines,
    oarwalltime_argv,
    parse_change,
    scp_argv,
    ssh_argv,
)
from g5kpure.remote.plan import bounded_line


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register run, put, get, ssh, nodefile and extend."""
    job = argparse.ArgumentParser(add_help=False)
    add_frontend(job, "frontend (site) of the job")
    add_config(job)

    nodes = argparse.ArgumentParser(add_help=False)
    nodes.add_argument("--user", choices=("oar", "root"), default="oar",
                       help="oar: OAR's sshd with the job key (default); root: deployed nodes")
    nodes.add_argument("--key", help="private key for the nodes (default: [oarsh] keyfile / oar_job_key_file)")
    nodes.add_argument("--kavlan", type=int, help="reach the nodes under their -kavlan-N names")
    nodes.add_argument("--ssh-config", help="ssh configuration file for the node connections (ssh -F)")
    nodes.add_argument("--wait", type=float, default=None, help="wait at most this many seconds for the job to run")

    many = argparse.ArgumentParser(add_help=False)
    many.add_argument("--hosts", help="some of the job's hosts: a range such as paravance-[1-2] (default: all)")
    many.add_argument("--fanout", type=int, default=DEFAULT_FANOUT, help=f"connections at once ({DEFAULT_FANOUT})")
    many.add_argument("--timeout", help="time limit per host (seconds or a duration such as 5m)")
    many.add_argument("--deadline", help="time limit of the whole operation")

    run_opts = argparse.ArgumentParser(add_help=False)
    run_opts.add_argument("--group", action="store_true", help="group identical outputs (as clubak does)")
    run_opts.add_argument("--shell", action="store_true", help="send the words as one shell line (pipes...)")
    copy_opts = argparse.ArgumentParser(add_help=False)
    copy_opts.add_argument("--preserve", action="store_true", help="keep modification times and modes")
    change_opts = argparse.ArgumentParser(add_help=False)
    change_opts.add_argument("--force", action="store_true", help="ask OAR to apply it at once (--force)")
    change_opts.add_argument("--delay-next-jobs", action="store_true", help="allow delaying other jobs")

    table: tuple[tuple[str, list[argparse.ArgumentParser], list[tuple[str, str, str]], Any, str], ...] = (
        ("run", [common, job, nodes, many, run_opts], [("command", "*", "-- COMMAND...")], run_run,
         "run a command on the nodes of a job"),
        ("put", [common, job, nodes, many, copy_opts], [("paths", "*", "LOCAL... REMOTE_DIR")], run_put,
         "copy local files to the nodes of a job"),
        ("get", [common, job, nodes, many, copy_opts], [("paths", "*", "REMOTE... LOCAL_DIR (a folder per host)")],
         run_get, "copy files of the nodes of a job here"),
        ("ssh", [common, job, nodes], [("host", "?", "the node (default: the job's first)"),
                                       ("command", "*", "-- COMMAND... instead of a shell")], run_ssh,
         "a shell on a node of a job (the oarsh way)"),
        ("nodefile", [common, job], [], run_nodefile, "the job's node file (one line per core)"),
        ("extend", [common, job, change_opts],
         [("change", "?", "+DURATION, -DURATION or the new walltime; none: show the status")], run_extend,
         "change a running job's walltime (oarwalltime)"),
    )
    for name, parents, positionals, handler, help_text in table:
        # argparse cannot mix optional positionals with options written after them (`g5k extend 12 --frontend
        # rennes +1:00`): the words after the job id are read again by a parser of the same options (_reread).
        tail = argparse.ArgumentParser(prog=f"g5k {name}", add_help=False, parents=parents)
        for dest, nargs, text in positionals:
            tail.add_argument(dest, nargs=nargs, help=text)
        p = sub.add_parser(name, parents=parents, help=help_text)
        p.add_argument("job_id", nargs="?", help="job id (default: $OAR_JOB_ID)")
        for dest, nargs, _text in positionals:
            p.set_defaults(**{dest: [] if nargs == "*" else None})
        p.add_argument("rest", nargs=argparse.REMAINDER, help=", ".join(f"{d.upper()}" for d, _, _ in positionals)
                       or argparse.SUPPRESS)
        p.set_defaults(handler=_reread(tail, handler, [d for d, n, _ in positionals if n == "*"]))


def _reread(tail: argparse.ArgumentParser, handler: Any, lists: list[str]) -> Any:
    def run(args: argparse.Namespace) -> int:
        words = list(args.rest or [])
        before, after = (words[: words.index("--")], words[words.index("--") + 1:]) if "--" in words else (words, [])
        if args.job_id is not None and not args.job_id.isdigit() and not args.job_id.startswith("$"):
            before.insert(0, args.job_id)  # not a job id: a positional of the command ($OAR_JOB_ID is the job)
            args.job_id = None
        reread = tail.parse_args(before)
        for key, value in vars(reread).items():
            if value != tail.get_default(key) or not hasattr(args, key):  # given after the job id
                setattr(args, key, value)
        if lists:
            setattr(args, lists[-1], list(getattr(args, lists[-1]) or []) + after)
        return int(handler(args))

    return run


# ------------------------------------------------------------------------------------------------ helpers


def _job_id(args: argparse.Namespace) -> Result[int, G5kError]:
    text = args.job_id
    if text is None:
        return job_id_from_env(os.environ.get("OAR_JOB_ID"))
    return job_id_from_env(text).alt(lambda _: InvalidInput("job id", text, "a positive integer"))


def _seconds(name: str, text: str | None) -> Result[float | None, G5kError]:
    if text is None:
        return Success(None)
    # a plain number is seconds here (as in the environment); other text is the library's duration grammar
    got = to_seconds(float(text) if _NUMBER.fullmatch(text.strip()) else text)
    if isinstance(got, Failure) or got.unwrap() <= 0:
        return Failure(InvalidInput(name, text, "a positive duration: seconds, '90s', '5m', 'H:M:S'"))
    return Success(float(got.unwrap()))


_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?", re.ASCII)


def _words(args: argparse.Namespace) -> list[str]:
    return list(getattr(args, "command", []) or [])


def _prepare(args: argparse.Namespace) -> Result[tuple[int, Settings], G5kError]:
    jid = _job_id(args)
    if isinstance(jid, Failure):
        return Failure(jid.failure())
    got = performed(settings(args.config))
    return got.map(lambda s: (jid.unwrap(), s))


def _options(args: argparse.Namespace) -> Result[dict[str, Any], G5kError]:
    timeout = _seconds("--timeout", args.timeout)
    deadline = _seconds("--deadline", args.deadline)
    if isinstance(timeout, Failure):
        return Failure(timeout.failure())
    if isinstance(deadline, Failure):
        return Failure(deadline.failure())
    limits = check_limits(Limits(args.fanout, timeout.unwrap(), deadline.unwrap()))
    if isinstance(limits, Failure):
        err = limits.failure()
        return Failure(evolve(err, name=_LIMIT_OPTIONS.get(err.name, err.name)) if isinstance(err, InvalidInput)
                       else err)
    return Success({"hosts": args.hosts, "root": args.user == "root", "limits": limits.unwrap(), "wait": args.wait,
                    "ssh_config": args.ssh_config, "key_filename": args.key, "kavlan": args.kavlan})


# the options behind the names check_limits gives
_LIMIT_OPTIONS = {"fanout": "--fanout", "timeout": "--timeout", "overall timeout": "--deadline"}


def _record(r: HostResult) -> dict[str, Any]:
    return {"host": r.host, "status": r.status.value, "exit_code": r.exit_code, "stdout": r.stdout,
            "stderr": r.stderr, "seconds": r.seconds, "error": to_jsonable(r.error) if r.error else None}


def _report(args: argparse.Namespace, report: RunReport, *, group: bool = False, show_ok: bool = False) -> int:
    if group:
        human = "\n".join(line for g in group_outputs(report.results) for line in group_lines(g))
    else:
        lines: list[str] = []
        for r in report.results:
            lines.extend(host_lines(r))
            if show_ok and r.ok:
                lines.append(f"{r.host}: ok")
        human = "\n".join(lines)
    if args.json:
        emit(args, "", [_record(r) for r in report.results])
    elif human:
        print(human)
    if not args.json:
        print(f"g5k: {report.summary.describe()} in {report.seconds:.1f}s", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILURE


def _dry_nodes(args: argparse.Namespace, job_id: int, s: Settings, lines: list[str]) -> int:
    planned = plan_command(oarstat_job_argv(job_id), args.frontend, s.access)
    if isinstance(planned, Failure):
        return fail(args, planned.failure())
    which = f"hosts {args.hosts} of job {job_id}" if getattr(args, "hosts", None) else f"the hosts of job {job_id}"
    text = [f"{planned.unwrap().describe()}    # waits until the job runs, reads its hosts", f"then on {which}:",
            *lines]
    emit(args, "\n".join(text), {"plan": text})
    return EXIT_OK


def _access_or_fail(args: argparse.Namespace, s: Settings) -> Result[Any, G5kError]:
    return job_access(s, args.frontend, root=args.user == "root", kavlan=args.kavlan, key_filename=args.key,
                      ssh_config=args.ssh_config)


def _ready(args: argparse.Namespace) -> Result[tuple[int, Settings, dict[str, Any], Any], G5kError]:
    """The job, the settings, the run options and the node access of a run/put/get, or the first error."""
    return _prepare(args).bind(
        lambda prepared: _options(args).bind(
            lambda opts: _access_or_fail(args, prepared[1]).map(lambda access: (*prepared, opts, access))))


# ----------------------------------------------------------------------------------------------- handlers


def run_run(args: argparse.Namespace) -> int:
    """`g5k run JOB -- COMMAND`: the command on every host of the job, one line per host and output line."""
    command = command_of(_words(args), shell=args.shell)
    if isinstance(command, Failure):
        return fail(args, command.failure())
    ready = _ready(args)
    if isinstance(ready, Failure):
        return fail(args, ready.failure())
    job_id, s, opts, access = ready.unwrap()
    if args.dry_run:
        line = bounded_line(command.unwrap().line, opts["limits"].timeout)
        template = " ".join(map(_quote, ssh_argv(access, "{host}", line)))
        return _dry_nodes(args, job_id, s, [f"  (fanout {args.fanout}) {template}"])
    got = performed(run_on_job(job_id, args.frontend, command.unwrap(), s, **opts))
    if isinstance(got, Failure):
        return fail(args, got.failure())
    return _report(args, got.unwrap(), group=args.group)


def _quote(word: str) -> str:
    import shlex

    return word if word == "{host}" else shlex.quote(word)


def _copy(args: argparse.Namespace, put: bool) -> int:
    if len(args.paths) < 2:
        what = "LOCAL... REMOTE_DIR" if put else "REMOTE... LOCAL_DIR"
        print(f"g5k: error: {what}: at least one file and a directory", file=sys.stderr)
        return EXIT_USAGE
    *sources, dest = args.paths
    missing = [p for p in sources if put and not os.path.exists(p)]
    if missing:
        return fail(args, NotFound("local file", missing[0], "nothing was copied"))
    ready = _ready(args)
    if isinstance(ready, Failure):
        return fail(args, ready.failure())
    job_id, s, opts, access = ready.unwrap()
    if args.dry_run:
        lines = []
        for src in sources:
            pair = (src, "{host}:" + dest) if put else ("{host}:" + src, dest.rstrip("/") + "/{host}/")
            lines.append("  " + " ".join(_quote(w) if "{host}" not in w else w
                                         for w in scp_argv(access, *pair, preserve=args.preserve)))
        return _dry_nodes(args, job_id, s, lines)
    call = put_on_job if put else get_from_job
    got = performed(call(job_id, args.frontend, sources, dest, s, preserve=args.preserve, **opts))
    if isinstance(got, Failure):
        return fail(args, got.failure())
    return _report(args, got.unwrap(), show_ok=True)


def run_put(args: argparse.Namespace) -> int:
    """`g5k put JOB LOCAL... REMOTE_DIR`: copy files into a directory of every host of the job."""
    return _copy(args, put=True)


def run_get(args: argparse.Namespace) -> int:
    """`g5k get JOB REMOTE... LOCAL_DIR`: copy files of every host into LOCAL_DIR/HOST/."""
    return _copy(args, put=False)


def run_ssh(args: argparse.Namespace) -> int:
    """`g5k ssh JOB [HOST] [-- COMMAND]`: ssh to a node of the job, with the terminal attached."""
    words = _words(args)
    host = args.host
    prepared = _prepare(args)
    if isinstance(prepared, Failure):
        return fail(args, prepared.failure())
    job_id, s = prepared.unwrap()
    access = _access_or_fail(args, s)
    if isinstance(access, Failure):
        return fail(args, access.failure())
    command = " ".join(words) if words else None
    if args.dry_run:
        argv = ssh_argv(access.unwrap(), host or "{first host}", command, tty=command is None)
        return _dry_nodes(args, job_id, s, ["  " + " ".join(map(_quote, argv))])
    from g5k.oar import get_oar_job_nodes

    from g5kpure.remote import select_hosts

    hosts = performed(get_oar_job_nodes(job_id, args.frontend, s.access, args.wait))
    chosen = hosts.bind(lambda hs: select_hosts(hs, host))
    if isinstance(chosen, Failure):
        return fail(args, chosen.failure())
    code = performed(interactive(access.unwrap(), chosen.unwrap()[0], command))
    if isinstance(code, Failure):
        return fail(args, code.failure())
    return int(code.unwrap())


def run_nodefile(args: argparse.Namespace) -> int:
    """`g5k nodefile JOB`: the job's node file, one host per core (as $OAR_NODEFILE)."""
    prepared = _prepare(args)
    if isinstance(prepared, Failure):
        return fail(args, prepared.failure())
    job_id, s = prepared.unwrap()
    if args.dry_run:
        planned = plan_command(oarstat_job_nodes_argv(job_id), args.frontend, s.access)
        if isinstance(planned, Failure):
            return fail(args, planned.failure())
        emit(args, planned.unwrap().describe(), {"plan": [planned.unwrap().describe()]})
        return EXIT_OK
    got = performed(job_nodefile(job_id, args.frontend, s.access))
    if isinstance(got, Failure):
        return fail(args, got.failure())
    emit(args, "\n".join(got.unwrap()), list(got.unwrap()))
    return EXIT_OK


def run_extend(args: argparse.Namespace) -> int:
    """`g5k extend JOB +1:00`: ask OAR for more (or less) walltime; without a change, the walltime status."""
    change = None
    if args.change is not None:
        parsed = parse_change(args.change)
        if isinstance(parsed, Failure):
            return fail(args, parsed.failure())
        change = parsed.unwrap()
    prepared = _prepare(args)
    if isinstance(prepared, Failure):
        return fail(args, prepared.failure())
    job_id, s = prepared.unwrap()
    if args.dry_run:
        argv = oarwalltime_argv(job_id, change, force=args.force, delay_next_jobs=args.delay_next_jobs)
        planned = plan_command(argv, args.frontend, s.access)
        if isinstance(planned, Failure):
            return fail(args, planned.failure())
        emit(args, planned.unwrap().describe(), {"plan": [planned.unwrap().describe()]})
        return EXIT_OK
    if change is None:
        status = performed(walltime_status(job_id, args.frontend, s.access))
        if isinstance(status, Failure):
            return fail(args, status.failure())
        st = status.unwrap()
        limit = "unlimited" if st.possible_increase is None else f"{st.possible_increase}s"
        human = (f"job {st.job_id}: walltime {st.current}s, may grow by {limit}, granted {st.granted:+d}s, "
                 f"pending {st.pending:+d}s")
        emit(args, human, st)
        return EXIT_OK
    got = performed(extend_job(job_id, args.frontend, change, s.access, force=args.force,
                                  delay_next_jobs=args.delay_next_jobs))
    if isinstance(got, Failure):
        return fail(args, got.failure())
    done = got.unwrap()
    emit(args, f"job {done.job_id}: walltime change {change.text} {done.answer.value}; OAR applies it at its next "
               f"scheduling cycle (g5k extend {done.job_id} shows the status)",
         {"job_id": done.job_id, "change": change.text, "answer": done.answer.value, "message": done.message})
    return EXIT_OK
