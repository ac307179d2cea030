"""`g5k demo`: the main job of a newcomer's first run (offline, on the embedded data)."""

from __future__ import annotations

import argparse
from typing import Any

from adapters.cli import EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `demo` subcommand."""
    p = sub.add_parser("demo", parents=[common], help="offline demo on the embedded data")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the offline demo."""
    print("g5kpure demo")
    return EXIT_OK
