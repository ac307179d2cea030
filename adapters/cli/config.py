"""`g5k config show|init|import-execo|path` and `g5k doctor`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from g5k import config as config_adapter
from g5k import doctor
from g5k.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, emit, fail
from g5k.cli.options import add_config
from g5k.results import performed
from returns.result import Failure

from g5kpure import config as core


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `config` command group and the `doctor` command."""
    p = sub.add_parser("config", help="show, create or import the configuration")
    groups = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    p.set_defaults(handler=lambda args: _usage(p))

    show = groups.add_parser("show", parents=[common], help="the effective configuration and where each value "
                             "came from (passwords masked)")
    add_config(show)
    show.set_defaults(handler=cmd_show)

    path = groups.add_parser("path", parents=[common], help="where the configuration file is looked for")
    path.set_defaults(handler=cmd_path)

    init = groups.add_parser("init", parents=[common], help="write a commented configuration file")
    add_config(init)
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(handler=cmd_init)

    imp = groups.add_parser("import-execo", parents=[common], help="convert ~/.execo.conf.py (read, never run)")
    imp.add_argument("--from", dest="source", type=Path, help="the execo file (default: ~/.execo.conf.py)")
    add_config(imp)
    imp.add_argument("--force", action="store_true", help="replace an existing file")
    imp.add_argument("--stdout", action="store_true", help="print the converted file instead of writing it")
    imp.set_defaults(handler=cmd_import_execo)

    doc = sub.add_parser("doctor", parents=[common], help="check configuration, ssh, OAR, API, keyring, "
                         "database and cache, with fixes")
    add_config(doc)
    doc.add_argument("--frontend", action="append", default=[], metavar="SITE",
                     help="a frontend (site) to check (repeatable; default: the configured ones)")
    doc.add_argument("--skip", action="append", default=[], choices=("ssh", "api", "keyring", "db", "cache"),
                     help="skip a group of checks (repeatable)")
    doc.add_argument("--timeout", type=float, default=doctor.CHECK_TIMEOUT, help="seconds allowed to each check")
    doc.set_defaults(handler=cmd_doctor)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage()
    return EXIT_USAGE


def cmd_show(args: argparse.Namespace) -> int:
    """Print the effective configuration, one key per line, with where each value came from."""
    loaded = performed(config_adapter.load_config(path=args.config))
    if isinstance(loaded, Failure):
        return fail(args, loaded.failure())
    value = loaded.unwrap()
    rows = value.resolved.rows()
    width = max(len(r.key) for r in rows)
    warnings = value.resolved.warnings
    lines = [f"# {f.purpose}: {f.path} ({'read' if f.found else 'absent'})" for f in value.files]
    lines += [f"# warning: {core.warning_text(w)}" for w in warnings]
    lines += [f"{r.key:<{width}} = {r.shown:<40} # {r.origin.describe()}" for r in rows]
    data = {
        "files": [{"path": f.path, "found": f.found, "purpose": f.purpose} for f in value.files],
        "warnings": [{"key": w.key, "reason": w.reason, "where": w.source, "line": w.line,
                      "message": core.warning_text(w)} for w in warnings],
        "values": [{"key": r.key, "value": r.shown, "origin": r.origin.kind.value, "where": r.origin.where,
                    "line": r.origin.line, "secret": r.secret} for r in rows],
    }
    emit(args, "\n".join(lines), data)
    return EXIT_OK


def cmd_path(args: argparse.Namespace) -> int:
    """Print where the configuration file is looked for."""
    path = config_adapter.config_path()
    try:
        exists = path.exists()
    except OSError:  # e.g. a name too long for the system: it cannot exist
        exists = False
    emit(args, str(path), {"path": str(path), "exists": exists})
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    """Write the commented default configuration file (never over an existing one without --force)."""
    target = args.config or config_adapter.config_path()
    if args.dry_run:
        emit(args, f"# would write {target}\n{core.init_template()}", {"path": str(target),
                                                                     "text": core.init_template()})
        return EXIT_OK
    written = performed(config_adapter.init_config(target, args.force))
    if isinstance(written, Failure):
        return fail(args, written.failure())
    emit(args, f"wrote {target}", {"path": str(target)})
    return EXIT_OK


def cmd_import_execo(args: argparse.Namespace) -> int:
    """Convert an execo configuration file to ours, explaining what could not be converted."""
    source = args.source or config_adapter.execo_conf_path()
    target = args.config or config_adapter.config_path()
    converted = performed(config_adapter.convert_execo_file(source))
    if isinstance(converted, Failure):
        return fail(args, converted.failure())
    result = converted.unwrap()
    data = {"source": result.source, "path": str(target), "text": result.text, "notes": list(result.notes)}
    if args.stdout or args.dry_run:
        head = "" if args.stdout else f"# would write {target}\n"
        emit(args, head + result.text, data)
        return EXIT_OK
    written = performed(config_adapter.write_atomic(target, result.text, args.force))
    if isinstance(written, Failure):
        return fail(args, written.failure())
    notes = "".join(f"\n  {n}" for n in result.notes)
    emit(args, f"wrote {target} from {source}{notes}", data)
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    """Run every check and print verdicts and fixes; exit 1 when a check failed."""
    opts = doctor.Options(config_file=args.config, frontends=tuple(args.frontend), timeout=args.timeout)
    if args.dry_run:
        planned = performed(doctor.dry_run_plan(opts))
        if isinstance(planned, Failure):
            return fail(args, planned.failure())
        emit(args, "\n".join(planned.unwrap()), {"plan": list(planned.unwrap())})
        return EXIT_OK
    report = doctor.run_doctor(opts, skip=args.skip)
    emit(args, report.render(), {"ok": report.ok, "checks": [
        {"name": c.name, "verdict": c.verdict.value, "detail": c.detail, "fix": c.fix, "elapsed_s": c.elapsed_s}
        for c in report.checks]})
    return EXIT_OK if report.ok else EXIT_FAILURE
