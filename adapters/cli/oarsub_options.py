"""The options that describe an OAR submission (``g5k sub``, ``g5k oar argv``) and the OAR server's zone (--tz).

One spelling and one help text for each option; :func:`submission_of` reads them into an ``OarSubmission``.
"""

from __future__ import annotations

import argparse
from datetime import tzinfo

from g5k.cli.options import add_walltime, walltime_of
from returns.result import Failure, Result

from g5kpure.errors import G5kError
from g5kpure.oar import OarSubmission, make_submission


def add_submission_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of an OAR submission: -l, -w, -t, -p, -q, -r, -d, --project, -n, --options."""
    parser.add_argument("-l", "--resources", action="append", default=[],
                        help="a resource request (repeat to join with +)")
    add_walltime(parser)
    parser.add_argument("-t", "--type", dest="job_type", action="append", default=[], help="a job type (repeatable)")
    parser.add_argument("-p", "--properties", dest="sql_properties", help="SQL properties (oarsub -p)")
    parser.add_argument("-q", "--queue")
    parser.add_argument("-r", "--reservation", dest="reservation_date",
                        help="unix ts or 'YYYY-MM-DD HH:MM:SS' (in --tz)")
    parser.add_argument("-d", "--directory")
    parser.add_argument("--project")
    parser.add_argument("-n", "--name")
    parser.add_argument("--options", dest="additional_options", help="more oarsub options, as one shell-like string")


def submission_of(args: argparse.Namespace, tz: tzinfo, reservation_date: object) -> Result[OarSubmission, G5kError]:
    """The submission the options of :func:`add_submission_arguments` (and ``command``) describe, the reservation
    date given as read by the command (text, or a unix timestamp)."""
    wall = walltime_of(args)
    if isinstance(wall, Failure):
        return Failure(wall.failure())
    return make_submission(
        args.resources or None, wall.unwrap(), args.job_type or None, args.sql_properties, args.queue,
        reservation_date, args.directory, args.project, args.name, args.additional_options, args.command, tz=tz,
    )
