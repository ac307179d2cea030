"""`g5k oar ...`: pure OAR helpers (the oarsub argv of a submission, OAR dates and durations).

    g5k oar argv -l nodes=2 -w 1:30 -t deploy -r "2026-12-01 09:00" -- "sleep 10"
    g5k oar date 1700000000            # -> 2023-11-14 23:13:20 (Europe/Paris)
    g5k oar date "2023-11-14 23:13:20" # -> 1700000000 (seconds may be left out: "2023-11-14 23:13")
    g5k oar duration 1:30              # -> 5400 (OAR grammar: H:M:S, H:M or H)
    g5k oar duration 5400              # -> 1:30:0 (a plain number is seconds here)

Nothing here touches the network: these commands print what g5kpure computes.
"""

from __future__ import annotations

import argparse
import re
import shlex
from typing import Any

from g5k.cli.main import EXIT_OK, emit, fail
from g5k.cli.oarsub_options import add_submission_arguments, submission_of
from g5k.cli.options import DATE_FORMS, add_tz, plain, read_date, zone_of
from returns.result import Failure

from g5kpure.errors import InvalidInput
from g5kpure.oar import (
    format_oar_date,
    format_oar_duration,
    oar_duration_to_seconds,
    oarsub_argv,
    read_number,
    to_seconds,
)

_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_TOO_LONG = "at most 15 digits before the decimal point"


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `oar` command group (argv, date, duration)."""
    p = sub.add_parser("oar", help="OAR helpers: argv builders, dates and durations", description=plain(__doc__ or ""),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    oar_sub = p.add_subparsers(dest="oar_command", metavar="SUBCOMMAND")
    oar_sub.required = True

    a = oar_sub.add_parser("argv", parents=[common], help="print the oarsub argv of a submission")
    add_submission_arguments(a)
    a.add_argument("-k", "--job-key-file", help="oarsub -k -i FILE")
    a.add_argument("--origin", default="origin=g5kpure", help="the origin -t tag (default origin=g5kpure)")
    a.add_argument("--no-origin", action="store_true", help="do not add an origin -t tag")
    add_tz(a)
    a.add_argument("command", nargs="?", help="the job's command (default: sleep for a year)")
    a.set_defaults(handler=run_argv)

    d = oar_sub.add_parser("date", parents=[common], help="unix timestamp <-> OAR date")
    d.add_argument("value", help=f"a unix timestamp, or a date {DATE_FORMS.split(' or ')[0]}")
    add_tz(d)
    d.set_defaults(handler=run_date)

    u = oar_sub.add_parser("duration", parents=[common], help="seconds <-> OAR duration")
    u.add_argument("value", help="seconds (a plain number), or an OAR duration with ':' (H:M:S or H:M)")
    u.set_defaults(handler=run_duration)


def run_argv(args: argparse.Namespace) -> int:
    """Print the oarsub argv of the submission described by the options."""
    zone = zone_of(args)
    if isinstance(zone, Failure):
        return fail(args, zone.failure())
    tz = zone.unwrap()
    made = submission_of(args, tz)
    if isinstance(made, Failure):
        return fail(args, made.failure())
    origin = None if args.no_origin else args.origin
    argv = oarsub_argv(made.unwrap(), job_key_file=args.job_key_file, origin_tag=origin, tz=tz)
    emit(args, shlex.join(argv), {"argv": list(argv), "shell": shlex.join(argv)})
    return EXIT_OK


def run_date(args: argparse.Namespace) -> int:
    """Convert a unix timestamp to an OAR date, or an OAR date to a unix timestamp."""
    zone = zone_of(args)
    if isinstance(zone, Failure):
        return fail(args, zone.failure())
    tz = zone.unwrap()
    value = args.value.strip()
    if _NUMBER.fullmatch(value.removeprefix("-")):
        number = read_number(value.removeprefix("-"))
        if number is None:
            return fail(args, InvalidInput("date", value[:80], f"a unix timestamp with {_TOO_LONG}"))
        ts = -number if value.startswith("-") else number
        text = format_oar_date(ts, tz=tz)
        if isinstance(text, Failure):
            return fail(args, text.failure())
        emit(args, text.unwrap(), {"unixts": ts, "oar_date": text.unwrap(), "tz": str(tz)})
        return EXIT_OK
    parsed = read_date(value, "date", tz)
    if isinstance(parsed, Failure):
        return fail(args, parsed.failure())
    back = format_oar_date(parsed.unwrap(), tz=tz).value_or("")
    emit(args, str(parsed.unwrap()), {"unixts": parsed.unwrap(), "oar_date": back, "tz": str(tz)})
    return EXIT_OK


def run_duration(args: argparse.Namespace) -> int:
    """Convert seconds to an OAR duration, or an OAR duration (with ':') to seconds."""
    value = args.value.strip()
    if ":" in value:
        secs = oar_duration_to_seconds(value)
        if isinstance(secs, Failure):
            return fail(args, secs.failure())
        text = format_oar_duration(secs.unwrap()).value_or("")
        emit(args, str(secs.unwrap()), {"seconds": secs.unwrap(), "oar_duration": text})
        return EXIT_OK
    if _NUMBER.fullmatch(value) or value.startswith("-"):
        plain = read_number(value) if _NUMBER.fullmatch(value) else None
        if plain is None:
            expected = "a non-negative number of seconds" if value.startswith("-") else f"seconds with {_TOO_LONG}"
            return fail(args, InvalidInput("duration", value[:80], expected))
        number = to_seconds(plain)
        text_r = number.bind(format_oar_duration)
        if isinstance(text_r, Failure):
            return fail(args, text_r.failure())
        emit(args, text_r.unwrap(), {"seconds": number.unwrap(), "oar_duration": text_r.unwrap()})
        return EXIT_OK
    return fail(args, InvalidInput("duration", value[:80], "seconds (e.g. 5400) or an OAR duration (e.g. 1:30:00)"))
