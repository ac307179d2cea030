"""The options that describe an OAR submission (``g5k sub``, ``g5k oar argv``), spelled as oarsub spells them.

One spelling and one help text for each option (from :mod:`g5k.cli.options`); :func:`submission_of` reads them
into an ``OarSubmission``.
"""

from __future__ import annotations

import argparse
from datetime import tzinfo

from g5k.cli.options import (
    add_job_options,
    add_reservation,
    add_resources,
    add_walltime,
    reservation_of,
    walltime_of,
)
from returns.result import Failure, Result

from g5kpure.errors import G5kError
from g5kpure.oar import OarSubmission, make_submission


def add_submission_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of an OAR submission: -l, -w, -t, -p, -q, -r, -d, --project, -n, --options."""
    add_resources(parser)
    add_walltime(parser)
    add_job_options(parser)
    add_reservation(parser)
    parser.add_argument("-d", "--directory", metavar="DIR", help="the job's working directory, as oarsub -d")
    parser.add_argument("--options", dest="additional_options", metavar="OPTIONS",
                        help="more oarsub options, as one shell-like string")


def submission_of(args: argparse.Namespace, tz: tzinfo) -> Result[OarSubmission, G5kError]:
    """The submission the options of :func:`add_submission_arguments` (and ``command``) describe; the
    reservation date is read in ``tz``. A command without ``-d`` or ``--options`` (`g5k reserve`) reads the rest."""
    wall = walltime_of(args)
    if isinstance(wall, Failure):
        return Failure(wall.failure())
    start = reservation_of(args, tz)
    if isinstance(start, Failure):
        return Failure(start.failure())
    return make_submission(
        args.resources or None, wall.unwrap(), args.job_type or None, args.sql_properties, args.queue,
        start.unwrap(), getattr(args, "directory", None), args.project, args.name,
        getattr(args, "additional_options", None), args.command, tz=tz,
    )
