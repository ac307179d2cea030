"""`g5k oar ...`: pure OAR helpers (argv, dates, durations)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `oar` command group."""
    p = sub.add_parser("oar", help="OAR helpers: argv builders, dates and durations")
    p.add_subparsers(dest="oar_command", metavar="SUBCOMMAND")
