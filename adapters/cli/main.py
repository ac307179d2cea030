"""The `g5k` command: subcommands registered by modules of ``adapters``, with shared conventions.

Conventions every subcommand follows:
- ``--json``: machine-readable output on stdout (one JSON document);
- ``--dry-run``: print the exact plan (argv with its frontend, HTTP request, SQL) and perform nothing;
- exit code 0 = ok, 1 = failure (an error value was printed on stderr), 2 = usage error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from attrs import asdict, has

from g5kpure import __version__
from g5kpure.errors import G5kError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

# Each module listed here exposes ``register(subparsers, common)``; adding a command group is one line.
COMMAND_MODULES: tuple[str, ...] = (
    "g5k.cli.oar",
    "g5k.cli.demo",
    "g5k.cli.plan",
    "g5k.cli.charter",
    "g5k.cli.config",
    "g5k.cli.ref",
    "g5k.cli.jobs",
    "g5k.cli.deploy",
    "g5k.cli.topo",
    "g5k.cli.kavlan",
    "g5k.cli.reserve",
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


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser of the `g5k` command."""
    parser = argparse.ArgumentParser(prog="g5k", description="Grid'5000 experiments, done right.")
    parser.add_argument("--version", action="version", version=f"g5k (g5kpure) {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    common = common_options()
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `g5k` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except BrokenPipeError:
        # The reader went away (e.g. `g5k ref show X | head`): not an error of ours; silence the final flush.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
