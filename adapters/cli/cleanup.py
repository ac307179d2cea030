"""`g5k cleanup`: delete what g5k commands that died (killed, interrupted past their rollback) left behind.

    g5k cleanup --dry-run     # what the journal holds: jobs by id, submissions whose id never came back
    g5k cleanup               # delete them (jobs without an id are found by their name), then forget them
    g5k cleanup --json

Every command records its submissions in the journal of the state directory (``$G5K_STATE_DIR``, else
``~/.local/state/g5kpure``) before sending them; a command that ends normally forgets them. Whatever a dead
command left is reported by the next `g5k` command on one line, and deleted here. Stale temporary files of
atomic writes (journal, reference cache) are removed too.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from g5k.cli.jobs import _context
from g5k.cli.main import EXIT_FAILURE, EXIT_OK, emit, fail
from g5k.cli.options import add_config, add_tz
from g5k.journal import user_journal
from g5k.reserve import Cleanup, clean_leftovers
from g5k.results import performed
from g5k.state import reference_cache_dir, state_dir, sweep_temp_files
from returns.result import Success

from g5kpure.oar import describe_jobs, describe_unnamed


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register `g5k cleanup`."""
    p = sub.add_parser("cleanup", parents=[common],
                       help="delete what interrupted or killed g5k commands left (see the journal)")
    add_config(p)
    add_tz(p)
    p.set_defaults(handler=run_cleanup)


def _human(done: Cleanup, swept: int) -> str:
    verb = "would delete" if done.dry_run else "deleted"
    lines = []
    if done.deleted:
        lines.append(f"{verb} OAR jobs {describe_jobs(done.deleted)}")
    for name, job in done.found_by_name:
        lines.append(f"  {job} found by its name {name} (its id never came back)")
    if done.already_gone:
        lines.append(f"already gone: OAR jobs {describe_jobs(done.already_gone)}")
    for what, error in done.failed:
        lines.append(f"NOT done: {what}: {error.message}")
    if done.unresolved and done.dry_run:
        lines.append(f"would look again for {describe_unnamed(done.unresolved)} (its id never came back)")
    elif done.unresolved:
        lines.append(f"still unknown: {describe_unnamed(done.unresolved)} (run `g5k cleanup` again later)")
    for t in done.elsewhere:
        lines.append(f"not judged here: `{t.command}` runs or ran on {t.owner.host} (pid {t.owner.pid})")
    expired = done.forgotten - len(done.deleted) - len(done.already_gone)
    if expired > 0:
        lines.append(f"forgot {expired} journal entr{'y' if expired == 1 else 'ies'} whose job has surely ended")
    if swept:
        lines.append(f"removed {swept} stale temporary file(s)")
    if not lines:
        lines.append("nothing to clean")
    return "\n".join(lines)


def run_cleanup(args: argparse.Namespace) -> int:
    """`g5k cleanup`: delete (or, with --dry-run, show) what dead commands left in the journal."""
    ctx = _context(args)
    if not isinstance(ctx, Success):
        return fail(args, ctx.failure())
    journal = user_journal()
    done = Cleanup(dry_run=args.dry_run)
    if journal.path.exists():
        got = performed(clean_leftovers(ctx.unwrap().access, dry_run=args.dry_run, journal=journal,
                                        on_wait=lambda text: print(f"g5k: {text}", file=sys.stderr)))
        if not isinstance(got, Success):
            return fail(args, got.failure())
        done = got.unwrap()
    swept = 0 if args.dry_run else len(sweep_temp_files([state_dir(), reference_cache_dir()]))
    emit(args, _human(done, swept), _data(done))
    return EXIT_OK if done.clean or done.dry_run else EXIT_FAILURE


def _data(done: Cleanup) -> dict[str, Any]:
    return {
        "dry_run": done.dry_run,
        "deleted" if not done.dry_run else "to_delete": [{"job_id": j.job_id, "frontend": j.frontend}
                                                        for j in done.deleted],
        "found_by_name": [{"name": n, "job_id": j.job_id, "frontend": j.frontend} for n, j in done.found_by_name],
        "already_gone": [{"job_id": j.job_id, "frontend": j.frontend} for j in done.already_gone],
        "failed": [{"what": w, "error": e.message} for w, e in done.failed],
        "unresolved": [{"name": e.name, "frontend": e.frontend, "sent_at": e.sent_at} for e in done.unresolved],
        "elsewhere": [{"host": t.owner.host, "pid": t.owner.pid, "command": t.command} for t in done.elsewhere],
    }
