"""`g5k demo`: the main job of a newcomer's first run (offline, on the embedded data).

The demo is a sequence of parts; each part is a function returning a title, human text and JSON-able data.
Other command groups extend it by appending to :data:`DEMO_PARTS` (or calling :func:`add_demo_part`).
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Callable
from typing import Any

from g5k.cli.main import EXIT_FAILURE, EXIT_OK, to_jsonable

from g5kpure import oar

DemoPart = Callable[[], tuple[str, str, Any]]
"""A demo part: () -> (title, human text, JSON-able data)."""


def oar_submission_part() -> tuple[str, str, Any]:
    """A sample OAR submission: its oarsub argv and the date / duration conversions it relies on."""
    made = oar.make_submission(
        resources=["{cluster='paravance'}/nodes=2", "{type='kavlan'}/vlan=1"],
        walltime="1:30",
        job_type="deploy",
        reservation_date="2026-12-01 19:00:00",
        name="my experiment",
        command="echo $OAR_NODEFILE; sleep 600",
    )
    sub = made.unwrap()  # a fixed, valid sample: unwrap cannot fail
    argv = oar.oarsub_argv(sub)
    gap, fold = "2024-03-31 02:30:00", "2024-10-27 02:30:00"
    rows = [
        ("format_oar_date(1700000000)", oar.format_oar_date(1700000000).value_or("?")),
        ("oar_date_to_unixts('2026-12-01 19:00:00')", str(oar.oar_date_to_unixts("2026-12-01 19:00:00").value_or("?"))),
        ("oar_date_to_unixts('2024-03-31 02:30:00')  # DST gap", str(oar.oar_date_to_unixts(gap).value_or("?"))),
        ("oar_date_to_unixts('2024-10-27 02:30:00')  # DST fold", str(oar.oar_date_to_unixts(fold).value_or("?"))),
        ("format_oar_duration(90061)", oar.format_oar_duration(90061).value_or("?")),
        ("oar_duration_to_seconds('2')  # hours", str(oar.oar_duration_to_seconds("2").value_or("?"))),
        ("oar_duration_to_seconds('1:30')", str(oar.oar_duration_to_seconds("1:30").value_or("?"))),
    ]
    width = max(len(k) for k, _ in rows)
    human = "\n".join(
        [
            "argv:",
            *(f"  {w!r}" for w in argv),
            "shell line (shlex.join, safe for a remote shell):",
            f"  {shlex.join(argv)}",
            "conversions (Europe/Paris):",
            *(f"  {k.ljust(width)} -> {v}" for k, v in rows),
        ]
    )
    data = {"submission": sub, "argv": list(argv), "shell": shlex.join(argv), "conversions": dict(rows)}
    return "OAR submission", human, data


DEMO_PARTS: list[DemoPart] = [oar_submission_part]


def add_demo_part(part: DemoPart) -> None:
    """Append a part to the demo (used by later command groups)."""
    if part not in DEMO_PARTS:
        DEMO_PARTS.append(part)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `demo` subcommand."""
    p = sub.add_parser("demo", parents=[common], help="offline demo on the embedded data")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the offline demo: every part in order."""
    results: dict[str, Any] = {}
    status = EXIT_OK
    for part in DEMO_PARTS:
        try:
            title, human, data = part()
        except Exception as exc:  # a broken part must not hide the others
            title, human, data = part.__name__, f"failed: {exc!r}", {"error": repr(exc)}
            status = EXIT_FAILURE
        results[title] = data
        if not getattr(args, "json", False):
            print(f"== {title}\n{human}\n")
    if getattr(args, "json", False):
        print(json.dumps(to_jsonable(results), indent=2, sort_keys=True, default=str))
    return status
