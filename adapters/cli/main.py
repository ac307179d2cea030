"""The `g5k` command: subcommands registered by modules of ``adapters``, with shared conventions.

Conventions every subcommand follows:
- ``--json``: machine-readable output on stdout (one JSON document);
- ``--dry-run``: print the exact plan (argv with its frontend, HTTP request, SQL) and perform nothing;
- exit code 0 = ok, 1 = failure (an error value was printed on stderr), 2 = usage error, 130 interrupted
  (Ctrl-C), 143 terminated (SIGTERM): what the command had submitted is deleted first, and one line says so.

Before a command runs, one line on stderr tells what commands that died (even ``kill -9``) left in the journal
(``g5k cleanup`` deletes it), and stale temporary files of atomic writes are removed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from attrs import asdict, has
from g5k.interrupt import Terminated, abandoned

from g5kpure import __version__
from g5kpure.errors import G5kError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

# Each command and the module of g5k.cli that registers it with ``register(subparsers, common)``. Only the module
# of the command being run is imported, so that `g5k --help` and every command start without the libraries other
# commands need (a test checks this table against what the modules register).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("oar", "oar", "OAR helpers: argv builders, dates and durations"),
    ("demo", "demo", "offline demo on the embedded data"),
    ("plan", "plan", "find a slot for a request and print the oarsub commands (offline by default)"),
    ("charter", "charter", "usage charter: charter time now or at --at, remaining allowance"),
    ("config", "config", "show, create or import the configuration"),
    ("doctor", "config", "check configuration, ssh, OAR, API, keyring, database and cache, with fixes"),
    ("ref", "ref", "read the Reference API (sites, clusters, hosts, elements)"),
    ("sub", "jobs", "submit a job (one per --frontend, all or nothing)"),
    ("del", "jobs", "delete jobs (per job: deleted, already finished...)"),
    ("jobs", "jobs", "my current jobs (one oarstat per frontend)"),
    ("info", "jobs", "everything OAR says about a job"),
    ("wait", "jobs", "wait until a job runs, showing its predicted start"),
    ("nodes", "jobs", "the hosts of a job (waits until it runs)"),
    ("deploy", "deploy", "deploy an environment with kadeploy3 (retries)"),
    ("grid", "deploy", "OARGRID multi-site jobs (legacy)"),
    ("topo", "topo", "network topology of sites, clusters or hosts (graph, figure, JSON)"),
    ("vlan", "kavlan", "KaVLAN: list vlans, see and move nodes"),
    ("reserve", "reserve", "one job per site: reattach by --name, or submit (optionally at -r DATE)"),
    ("run", "remote", "run a command on the nodes of a job"),
    ("put", "remote", "copy local files to the nodes of a job"),
    ("get", "remote", "copy files of the nodes of a job here"),
    ("ssh", "remote", "a shell on a node of a job (the oarsh way)"),
    ("nodefile", "remote", "the job's node file (one line per core)"),
    ("extend", "remote", "change a running job's walltime (oarwalltime)"),
    ("up", "experiment", "bring an experiment file up (idempotent)"),
    ("status", "experiment", "the jobs and inventory of an experiment file"),
    ("down", "experiment", "delete the jobs of an experiment file"),
    ("completion", "completion", "print the shell completion script (bash or zsh)"),
    ("cleanup", "cleanup", "delete what interrupted or killed g5k commands left (see the journal)"),
)

Handler = Callable[[argparse.Namespace], int]


def common_options() -> argparse.ArgumentParser:
    """Parent parser with the options every subcommand accepts (--json, --dry-run)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    parent.add_argument(
        "--dry-run", action="store_true", help="print the exact plan (argv, HTTP request, SQL) and do nothing"
    )
    return parent


def to_jsonable(value: Any) -> Any:
    """Turn attrs values, enums, tuples and errors into plain JSON-compatible data."""
    if isinstance(value, G5kError):
        return {"error": value.kind, "message": value.message, **to_jsonable(asdict(value, recurse=False))}
    if has(type(value)):
        return {k: to_jsonable(v) for k, v in asdict(value, recurse=False).items()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, frozenset | set) else items
    if hasattr(value, "value") and hasattr(value, "name") and type(value).__module__ != "builtins":
        return to_jsonable(value.value)
    return value


def emit(args: argparse.Namespace, human: str, data: Any) -> None:
    """Print a result: ``data`` as JSON under --json, else the human text."""
    if getattr(args, "json", False):
        print(json.dumps(to_jsonable(data), indent=2, sort_keys=True, default=str))
    else:
        print(human)


def fail(args: argparse.Namespace, error: G5kError) -> int:
    """Report an error value (JSON on stdout under --json, the message on stderr) and return exit code 1."""
    if getattr(args, "json", False):
        print(json.dumps(to_jsonable(error), indent=2, sort_keys=True, default=str))
    print(f"g5k: error: {error.message}", file=sys.stderr)
    return EXIT_FAILURE


def _command_of(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (its first word that is not an option), if it names a command."""
    known = {name for name, _, _ in COMMANDS}
    for word in argv:
        if not word.startswith("-"):
            return word if word in known else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser of the `g5k` command, with the full options of the command ``argv`` names.

    Without ``argv`` every command module is loaded (the whole parser); with it, only the module of the command
    it names, the others being listed by name and help line.
    """
    parser = argparse.ArgumentParser(prog="g5k", description="Grid'5000 experiments, done right.")
    parser.add_argument("--version", action="version", version=f"g5k (g5kpure) {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    common = common_options()
    wanted = None if argv is None else _command_of(argv)
    wanted_module = next((module for name, module, _ in COMMANDS if name == wanted), None)
    loaded: set[str] = set()
    for name, module, help_text in COMMANDS:
        if module in loaded:
            continue
        if argv is None or module == wanted_module:
            importlib.import_module(f"g5k.cli.{module}").register(sub, common)
            loaded.add(module)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM

def _on_sigterm(_signum: int, _frame: object) -> None:
    raise Terminated


def _housekeeping(command: str | None) -> None:
    """Say what dead commands left in the journal (one line) and remove stale temporary files; never fails."""
    if command == "cleanup":  # it reports both itself
        return
    try:
        from g5k import state

        state.sweep_temp_files([state.state_dir(), state.reference_cache_dir()])
        if not (state.state_dir() / "journal.json").exists():
            return
        from g5k.journal import notice

        line = notice()
        if line:
            print(f"g5k: warning: {line}", file=sys.stderr)
    except Exception:  # housekeeping must never stop the command it precedes
        return


def _interrupted(exc: BaseException, word: str, code: int) -> int:
    """Report an interruption: one line with what was undone (the exception's notes); exit at once when an undo
    was left unfinished (its threads would otherwise hold the exit)."""
    notes = [n for n in getattr(exc, "__notes__", ()) if n]
    print(f"g5k: {word}" + "".join(f"; {n}" for n in notes), file=sys.stderr, flush=True)
    if abandoned(exc):
        sys.stdout.flush()
        os._exit(code)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `g5k` console script."""
    words = list(sys.argv[1:] if argv is None else argv)
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if argv is None else None
    try:
        parser = build_parser(words)
        args = parser.parse_args(words)
        handler: Handler | None = getattr(args, "handler", None)
        if handler is None:
            parser.print_usage(sys.stderr)
            return EXIT_USAGE
        if argv is None:
            _housekeeping(getattr(args, "command", None))
        return handler(args)
    except BrokenPipeError:
        # The reader went away (e.g. `g5k ref show X | head`): not an error of ours; silence the final flush.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt as exc:
        return _interrupted(exc, "interrupted", EXIT_INTERRUPTED)
    except Terminated as exc:
        return _interrupted(exc, "terminated", EXIT_TERMINATED)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
