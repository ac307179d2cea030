"""Options shared by the subcommands: one spelling, one value grammar, one help text for each."""

from __future__ import annotations

import argparse
import sys
from datetime import tzinfo

import attrs
from returns.result import Failure, Result, Success

from g5kpure.errors import InvalidInput
from g5kpure.oar import DURATION_FORMS, describe_duration, parse_walltime, zone_named


def add_walltime(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    """Add ``-w/--walltime``, read by :func:`walltime_of` with the library's one duration grammar."""
    parser.add_argument(
        "-w",
        "--walltime",
        default=default,
        metavar="DURATION",
        help=f"the job's walltime: {DURATION_FORMS}" + (f" (default {default})" if default else ""),
    )


def walltime_of(args: argparse.Namespace) -> Result[int | None, InvalidInput]:
    """The walltime the user wrote, in seconds (None when not given), echoed on stderr as it was understood."""
    text = getattr(args, "walltime", None)
    if text is None:
        return Success(None)
    got = parse_walltime(text)
    if isinstance(got, Failure):
        return Failure(got.failure())
    seconds = got.unwrap()
    if not getattr(args, "json", False):  # under --json, stdout and stderr stay machine-readable
        print(f"g5k: walltime {describe_duration(seconds)}", file=sys.stderr)
    return Success(seconds)


def zone_of(args: argparse.Namespace) -> Result[tzinfo, InvalidInput]:
    """The zone of the OAR server named by ``--tz``, or the refusal quoting the option and what the user typed."""
    return zone_named(args.tz).alt(lambda error: attrs.evolve(error, name="--tz"))
