"""Which OAR a frontend runs (version, generation, ``oarstat -f`` text format), and the `g5k doctor` check that
reports it for every configured frontend.

One ssh command per frontend (``g5kpure.oar.oar_probe_argv``), read with ``g5kpure.oar.parse_oar_probe``.
Nothing else in the library needs this: its parsers read every OAR generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from g5k import config as config_adapter
from g5k.results import performed
from returns.io import IOFailure, IOResult
from returns.result import Failure, Result, Success

from g5kpure import config as core
from g5kpure.config import CommandOutput, FrontendAccess, plan_command
from g5kpure.errors import AuthError, G5kError, Timeout, Unreachable
from g5kpure.oar.version import FrontendOar, OarGeneration, oar_probe_argv, parse_oar_probe

if TYPE_CHECKING:
    from g5k.doctor import Check, Options


def frontend_oar_version(
    frontend: str | None = None, access: FrontendAccess | None = None, timeout: float | bool | None = False
) -> IOResult[FrontendOar, G5kError]:
    """The OAR that ``frontend`` runs (``None``: the default frontend; ``access=None``: the configured access)."""
    if access is None:
        loaded = performed(config_adapter.runtime())
        if isinstance(loaded, Failure):
            return IOFailure(loaded.failure())
        access = loaded.unwrap().access
    from g5k.ssh import run_plan  # fabric is imported only when a command runs

    planned = plan_command(oar_probe_argv(), frontend, access, timeout)
    if isinstance(planned, Failure):
        return IOFailure(planned.failure())
    return run_plan(planned.unwrap()).bind_result(_read)


def _read(out: CommandOutput) -> Result[FrontendOar, G5kError]:
    return parse_oar_probe(out.exit_code, out.stdout, out.stderr)


def check_oar_versions(
    config: core.Config, location: core.Location, names: Sequence[str], opts: Options
) -> tuple[Check, ...]:
    """`g5k doctor`: each frontend's OAR version, generation and ``oarstat -f`` text format (in parallel); a
    frontend that cannot be reached is skipped (its ssh check says why)."""
    from g5k.doctor import Check, Verdict
    from g5k.ssh import run_plans

    if not names:
        return ()
    access = core.frontend_access(config, location)
    limit = min(opts.timeout, config.default_timeout)
    planned = [plan_command(oar_probe_argv(), name, access, limit) for name in names]
    outputs = iter(run_plans([p.unwrap() for p in planned if isinstance(p, Success)]))
    checks: list[Check] = []
    for name, plan in zip(names, planned, strict=True):
        label = f"OAR version on {name}"
        got = performed(next(outputs)) if isinstance(plan, Success) else Failure(plan.failure())
        if isinstance(got, Failure):
            error = got.failure()
            if isinstance(error, Unreachable | Timeout | AuthError) or isinstance(plan, Failure):
                checks.append(Check(label, Verdict.SKIP, "not checked: the frontend could not be reached"))
            else:
                checks.append(Check(label, Verdict.FAIL, error.message, "check the OAR commands of the frontend"))
            continue
        out = got.unwrap()
        read = _read(out)
        if isinstance(read, Failure):
            checks.append(Check(label, Verdict.FAIL, f"could not read its OAR version: {read.failure().message}",
                                "run `oarstat -V` there; report its output if it is not 'OAR version: X.Y.Z'"))
            continue
        oar = read.unwrap()
        known = oar.generation is not OarGeneration.OAR_3 or oar.oarstat.numbers[:2] <= (3, 0)
        verdict = Verdict.OK if known else Verdict.WARN
        checks.append(Check(label, verdict, oar.describe(),
                            "a newer OAR than those tested (2.5.9, 2.5.10/2.6.1, 3.0): report any parse error",
                            out.duration_s))
    return tuple(checks)
