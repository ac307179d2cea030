"""`g5k doctor`: check that everything g5kpure needs works from here, each check with a verdict and the fix.

Checks, in order: the configuration parses; where we run; ssh to each configured frontend (timed, its host key
checked against the known_hosts files as every connection is: an unknown or changed key fails the check); the OAR
commands there; the API reachable and authenticated; the keyring usable; each frontend's OAR database
reachable (through the port forwarder when outside); the reference cache. Every check is isolated: a failure
(or even a bug) in one is reported as that check's verdict and the others still run. Nothing is prompted.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from attrs import evolve, frozen
from g5k import config as config_adapter
from g5k.oar_version import check_oar_versions
from g5k.results import performed
from returns.io import IOFailure, IOResult
from returns.result import Failure, Result, Success

from g5kpure import config as core
from g5kpure.config import CommandOutput, CommandPlan, plan_command
from g5kpure.errors import AuthError, ConfigError, G5kError, HttpError, NotFound, Timeout, Unreachable

OAR_COMMANDS = ("oarsub", "oarstat", "oardel", "oarnodes")
PROBE_SCRIPT = (
    'for c in "$@"; do if command -v "$c" >/dev/null 2>&1; then echo "found $c"; else echo "missing $c"; fi; done'
)
CHECK_TIMEOUT = 30.0
DB_PROBE_SQL = "SELECT count(*) FROM resources"


class Verdict(enum.Enum):
    """The outcome of one check."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@frozen
class Check:
    """One check's verdict, what was seen, how to fix it, and how long it took."""

    name: str
    verdict: Verdict
    detail: str
    fix: str = ""
    elapsed_s: float | None = None


@frozen
class Report:
    """All checks, in order."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return all(c.verdict is not Verdict.FAIL for c in self.checks)

    def named(self, name: str) -> Check | None:
        """The check called ``name``, if it ran."""
        return next((c for c in self.checks if c.name == name), None)

    def render(self) -> str:
        """The report as aligned text lines with fixes indented under failures and warnings."""
        width = max((len(c.name) for c in self.checks), default=0)
        lines = []
        for c in self.checks:
            took = f" ({c.elapsed_s:.2f}s)" if c.elapsed_s is not None else ""
            lines.append(f"{c.verdict.value:<4}  {c.name:<{width}}  {c.detail}{took}")
            if c.fix and c.verdict in (Verdict.FAIL, Verdict.WARN):
                lines.append(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
        failed = sum(c.verdict is Verdict.FAIL for c in self.checks)
        warned = sum(c.verdict is Verdict.WARN for c in self.checks)
        lines.append(f"{len(self.checks)} checks: {failed} failed, {warned} warnings")
        return "\n".join(lines)


def guarded(name: str, check: Callable[[], Check | Sequence[Check]]) -> tuple[Check, ...]:
    """Run one check; whatever it raises becomes a failed verdict instead of stopping the doctor."""
    began = time.monotonic()
    try:
        got = check()
    except Exception as exc:  # a check must never take the others down, even through a bug
        return (Check(name, Verdict.FAIL, f"the check itself crashed: {type(exc).__name__}: {exc}",
                      "this is a bug in g5kpure; please report it with this output",
                      round(time.monotonic() - began, 3)),)
    return (got,) if isinstance(got, Check) else tuple(got)


@frozen
class Options:
    """What the doctor checks and with which limits."""

    env: Mapping[str, str] | None = None
    config_file: Path | None = None
    facts: config_adapter.Facts | None = None
    frontends: tuple[str, ...] = ()
    cache_dir: Path | None = None
    ssh_config: Path | None = None
    timeout: float = CHECK_TIMEOUT


# ------------------------------------------------------------------------------------------------------------
# The checks


def check_config(opts: Options) -> tuple[Check, core.Config, Result[config_adapter.Loaded, ConfigError]]:
    """Check that the configuration parses; always give a configuration to go on with (defaults on error)."""
    loaded_io = config_adapter.load_config(opts.env, opts.config_file)
    loaded = performed(loaded_io)
    if isinstance(loaded, Failure):
        error = loaded.failure()
        places = []
        for problem in error.problems or (error,):
            where = (f"{problem.source} line {problem.line}" if problem.line is not None
                     else (problem.source or "the arguments"))
            places.append(where)
        return (Check("configuration", Verdict.FAIL, error.message,
                      f"edit {', '.join(dict.fromkeys(places))}; `g5k config init` writes a commented example (the "
                      "defaults are used below)"),
                core.DEFAULT_CONFIG, loaded)
    value = loaded.unwrap()
    counts: dict[str, int] = {}
    for _, origin in value.resolved.origins:
        counts[origin.kind.value] = counts.get(origin.kind.value, 0) + 1
    file = value.files[0]
    seen = f"{file.path}" if file.found else f"no file at {file.path} (defaults)"
    summary = ", ".join(f"{n} from {k}" for k, n in sorted(counts.items()) if k != "default")
    detail = seen + (f"; {summary}" if summary else "")
    warnings = value.resolved.warnings
    if warnings:
        listed = "; ".join(core.warning_text(w) for w in warnings)
        return (Check("configuration", Verdict.WARN, f"{detail}; {len(warnings)} warning(s): {listed}",
                      "fix or remove what each warning names (a misspelt variable is not read)"),
                value.config, loaded)
    return Check("configuration", Verdict.OK, detail), value.config, loaded


def check_location(config: core.Config, opts: Options) -> tuple[Check, core.Location]:
    """Decide where we run; the fallback location on error is 'outside'."""
    located = performed(config_adapter.where_we_run(config, opts.facts))
    if isinstance(located, Failure):
        return (Check("where we run", Verdict.FAIL, located.failure().message,
                      "set g5k.location to outside, frontend:SITE or node:SITE, or remove it"),
                core.Location(core.Place.OUTSIDE))
    loc = located.unwrap()
    return Check("where we run", Verdict.OK, f"{loc.describe()} ({loc.reason})"), loc


def _ssh_config_jumps(opts: Options) -> bool:
    path = opts.ssh_config or config_adapter.home_dir(opts.env) / ".ssh" / "config"
    try:
        text = path.read_text(encoding="utf-8", errors="replace").lower()
    except OSError:
        return False
    return "proxyjump" in text or "proxycommand" in text


def check_outside_access(config: core.Config, location: core.Location, names: Sequence[str],
                         opts: Options) -> Check | None:
    """From outside, Grid'5000 hosts need a jump host: configured here or in ~/.ssh/config."""
    if location.place is not core.Place.OUTSIDE:
        return None
    inside = [n for n in names if _resolves_into_grid5000(config, n)]
    needs = [n for n in inside if core.frontend_params(config, n).proxy_jump is None]
    if not inside:
        return Check("outside access", Verdict.OK, "no configured frontend is a grid5000.fr host: no jump host needed")
    if not needs:
        return Check("outside access", Verdict.OK, f"{', '.join(inside)} reached through the configured jump host")
    if _ssh_config_jumps(opts):
        return Check("outside access", Verdict.OK, "~/.ssh/config has ProxyJump/ProxyCommand entries (used by ssh)")
    return Check("outside access", Verdict.WARN, f"{', '.join(needs)} are Grid'5000 hosts and no jump host is set",
                 f"set [frontend] proxy_jump = \"{core.ACCESS_HOST}\" (or a ProxyJump in ~/.ssh/config)")


def _resolves_into_grid5000(config: core.Config, name: str) -> bool:
    from g5kpure.config import resolve_frontend

    got = resolve_frontend(name, core.frontend_params(config, name))
    return isinstance(got, Success) and got.unwrap().host.rstrip(".").endswith("grid5000.fr")


def probe_plans(config: core.Config, location: core.Location, names: Sequence[str],
                timeout: float) -> tuple[Result[CommandPlan, G5kError], ...]:
    """The command run on each frontend: which OAR commands (and kadeploy3) exist there."""
    access = core.frontend_access(config, location)
    argv = ("sh", "-c", PROBE_SCRIPT, "sh", *OAR_COMMANDS, config.kadeploy3)
    limit = min(timeout, config.default_timeout)
    return tuple(plan_command(argv, name, access, limit) for name in names)


def _ssh_fix(error: G5kError) -> str:
    if isinstance(error, AuthError) and error.fix:
        return error.fix  # the error knows best (a refused host key says how to check it)
    if isinstance(error, AuthError):
        return ("check [frontend] user and keyfile (or ~/.ssh/config); is your public key in ~/.ssh/authorized_keys "
                "on Grid'5000? a changed host key must be removed from ~/.ssh/known_hosts")
    if isinstance(error, Timeout):
        return "the frontend is slow or the network drops packets: retry, or raise g5k.default_timeout"
    return ("check the frontend's host name and port ([frontend] host_suffix / host_rewrite, [frontends.NAME]); "
            f"from outside Grid'5000 set [frontend] proxy_jump = \"{core.ACCESS_HOST}\"")


def _frontend_checks(name: str, planned: Result[CommandPlan, G5kError],
                     outcome: Result[CommandOutput, G5kError] | None, kadeploy3: str) -> tuple[Check, ...]:
    ssh_name, oar_name = f"ssh {name}", f"OAR commands on {name}"
    if isinstance(planned, Failure):
        return (Check(ssh_name, Verdict.FAIL, planned.failure().message,
                      "fix the frontend's host rewrite ([frontend] host_rewrite, [frontends.NAME] host)"),
                Check(oar_name, Verdict.SKIP, "not checked: no ssh destination"))
    plan = planned.unwrap()
    how = "local (no ssh: no_ssh_for_local_frontend)" if plan.endpoint is None else (
        plan.endpoint.label + (f" via {plan.endpoint.proxy_jump}" if plan.endpoint.proxy_jump else ""))
    assert outcome is not None
    if isinstance(outcome, Failure):
        error = outcome.failure()
        after = getattr(error, "after_s", None)
        return (Check(ssh_name, Verdict.FAIL, f"{how}: {error.message}", _ssh_fix(error), after),
                Check(oar_name, Verdict.SKIP, "not checked: the frontend could not be reached"))
    out = outcome.unwrap()
    ssh_check = Check(ssh_name, Verdict.OK, f"{how} answered", elapsed_s=out.duration_s)
    found = {line.split()[1] for line in out.stdout.splitlines() if line.startswith("found ") and len(line.split()) > 1}
    if out.exit_code != 0 and not found:
        return (ssh_check, Check(oar_name, Verdict.FAIL, f"the probe exited with {out.exit_code}: "
                                 f"{out.stderr.strip()[:200]}", "check the login shell of your account there"))
    missing = [c for c in OAR_COMMANDS if c not in found]
    if missing:
        return (ssh_check, Check(oar_name, Verdict.FAIL, f"missing: {', '.join(missing)}",
                                 "OAR commands exist on frontends only: point this name at a frontend"))
    kadeploy = "kadeploy3 present" if kadeploy3 in found else f"{kadeploy3} missing (deployments unavailable)"
    verdict = Verdict.OK if kadeploy3 in found else Verdict.WARN
    return (ssh_check, Check(oar_name, verdict, f"{', '.join(OAR_COMMANDS)} present; {kadeploy}",
                             f"set g5k.kadeploy3 to the deployment command of {name}"))


def check_frontends(config: core.Config, location: core.Location, names: Sequence[str],
                    opts: Options) -> tuple[Check, ...]:
    """ssh to every frontend in parallel and look for the OAR commands there."""
    from g5k import ssh

    if not names:
        return (Check("frontends", Verdict.WARN, "no frontend configured: every command needs --frontend",
                      "set g5k.default_frontend (e.g. \"rennes\") or add [frontends.NAME] tables"),)
    planned = probe_plans(config, location, names, opts.timeout)
    runnable = [p.unwrap() for p in planned if isinstance(p, Success)]
    results = iter(ssh.run_plans(runnable))
    checks: list[Check] = []
    for name, plan in zip(names, planned, strict=True):
        outcome = performed(next(results)) if isinstance(plan, Success) else None
        checks.extend(_frontend_checks(name, plan, outcome, config.kadeploy3))
    return tuple(checks)


def check_keyring(config: core.Config) -> Check:
    """Is a keyring backend usable, and does it hold the API password of the configured user?"""
    import keyring
    import keyring.errors

    backend = keyring.get_keyring()
    label = f"{type(backend).__module__}.{type(backend).__name__}"
    usable = getattr(backend, "priority", 1) > 0 and "fail" not in type(backend).__module__
    needed = config.api_username is not None
    if not usable:
        verdict = Verdict.FAIL if needed else Verdict.WARN
        return Check("keyring", verdict, f"no usable keyring backend ({label})",
                     "install a keyring backend (Secret Service, KWallet, or keyrings.alt) or select one with "
                     "$PYTHON_KEYRING_BACKEND; the API password is only ever kept there")
    if not needed:
        return Check("keyring", Verdict.OK, f"{label} usable (no API user configured, nothing stored needed)")
    try:
        stored = keyring.get_password(core.KEYRING_SERVICE, config.api_username or "") is not None
    except keyring.errors.KeyringError as exc:
        return Check("keyring", Verdict.FAIL, f"{label} refused the lookup: {exc}", "unlock the keyring")
    if not stored:
        return Check("keyring", Verdict.FAIL, f"{label} holds no password for {config.api_username} "
                     f"(service {core.KEYRING_SERVICE})",
                     f"run `keyring set {core.KEYRING_SERVICE} {config.api_username}`")
    return Check("keyring", Verdict.OK, f"{label} holds the API password of {config.api_username}")


def check_api(config: core.Config, location: core.Location, opts: Options) -> Check:
    """GET the API's root with the credentials where-we-run calls for."""
    from g5k.api import APIConnection

    from g5kpure.reference import RetryPolicy

    access = core.api_access(config, location)
    conn = APIConnection(base_uri=access.uri, username=access.username,
                         additional_args=config.api_additional_args, timeout=min(config.api_timeout, opts.timeout),
                         verify=config.api_verify_ssl_cert, retry=RetryPolicy(max_attempts=1), use_keyring=True,
                         interactive=False)
    with conn:
        if access.username is not None and not conn.has_credentials:
            return Check("API", Verdict.FAIL, f"{access.uri}: no password for {access.username} in the keyring",
                         f"run `keyring set {core.KEYRING_SERVICE} {access.username}`")
        began = time.monotonic()
        got = performed(conn.get(""))
        took = round(time.monotonic() - began, 3)
    who = f"as {access.username}" if access.username else access.reason
    if isinstance(got, Success):
        if access.problem:
            return Check("API", Verdict.WARN, f"{access.uri} answered anonymously", access.problem, took)
        return Check("API", Verdict.OK, f"{access.uri} answered ({who})", elapsed_s=took)
    error = got.failure()
    if isinstance(error, AuthError) or (isinstance(error, HttpError) and error.status in (401, 403)):
        fix = access.problem or (f"check g5k.api_username and the password stored with `keyring set "
                                 f"{core.KEYRING_SERVICE} {access.username}`")
        return Check("API", Verdict.FAIL, f"{access.uri} refused the credentials ({who}): {error.message}", fix, took)
    return Check("API", Verdict.FAIL, f"{access.uri}: {error.message}",
                 "check g5k.api_uri and the network (a proxy? from a node use the external endpoint)", took)


def check_databases(config: core.Config, location: core.Location, names: Sequence[str],
                    opts: Options) -> tuple[Check, ...]:
    """Read one row from each frontend's OAR database, through the forwarder when outside."""
    from g5k import db

    if not names:
        return (Check("OAR database", Verdict.SKIP, "no frontend configured"),)
    tunnel = location.place is core.Place.OUTSIDE
    plan = db.SqlPlan("doctor: can the OAR database be read", DB_PROBE_SQL)

    def one(name: str) -> Check:
        settings = db.DbSettings.from_config(
            config, host_template=config.oar_pgsql_ro_host, tunnel=tunnel,
            frontend=evolve(core.frontend_params(config, name), timeout=opts.timeout),
            connect_timeout=min(10.0, opts.timeout), statement_timeout=min(10.0, opts.timeout))
        began = time.monotonic()
        got = performed(db.run_plans(name, (plan,), settings))
        took = round(time.monotonic() - began, 3)
        where = f"{config.oar_pgsql_ro_user}@{settings.host_of(name)}:{config.oar_pgsql_ro_port}/" \
                f"{config.oar_pgsql_ro_db}" + (" via a tunnel over the frontend" if tunnel else "")
        label = f"OAR database {name}"
        if isinstance(got, Success):
            rows = got.unwrap()[0]
            count = rows[0][0] if rows and rows[0] else "?"
            return Check(label, Verdict.OK, f"{where}: {count} resources", elapsed_s=took)
        error = got.failure()
        if isinstance(error, AuthError):
            fix = "check g5k.oar_pgsql_ro_user / oar_pgsql_ro_password"
        elif isinstance(error, Unreachable | Timeout):
            fix = "check g5k.oar_pgsql_ro_host and _port" + (" and that the frontend can reach them" if tunnel
                                                             else "")
        else:
            fix = "check g5k.oar_pgsql_ro_db (the database name)"
        return Check(label, Verdict.FAIL, f"{where}: {error.message}", fix, took)

    with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
        return tuple(guarded_one for checks in pool.map(lambda n: guarded(f"OAR database {n}", lambda: one(n)),
                                                        names) for guarded_one in checks)


def check_cache(config: core.Config, opts: Options) -> Check:
    """The on-disk cache of the reference data: present and whole?"""
    from g5k.api import ReferenceCache, default_cache_dir

    cache = ReferenceCache(opts.cache_dir or default_cache_dir(), config.api_uri)
    got = performed(cache.read())
    if isinstance(got, Success):
        version, data = got.unwrap()
        sites = data.get("sites") if isinstance(data, dict) else None
        extra = f", {len(sites)} sites" if isinstance(sites, list | dict) else ""
        return Check("reference cache", Verdict.OK, f"{cache.path}: version {version[:12]}{extra}")
    error = got.failure()
    if isinstance(error, NotFound):
        return Check("reference cache", Verdict.WARN, f"no cache yet at {cache.path} (the embedded snapshot is used)",
                     "run `g5k ref refresh` to cache the live reference data")
    return Check("reference cache", Verdict.FAIL, f"{cache.path}: {error.message}",
                 "run `g5k ref refresh` (the bad file is replaced) or delete it")


# ------------------------------------------------------------------------------------------------------------
# The whole run


def run_doctor(opts: Options | None = None, skip: Iterable[str] = ()) -> Report:
    """Run every check (except those named in ``skip``: ssh, api, keyring, db, cache) and report them."""
    o = opts or Options()
    skipped = set(skip)
    checks: list[Check] = []
    config: core.Config = core.DEFAULT_CONFIG
    location = core.Location(core.Place.OUTSIDE)

    def cfg() -> Check:
        nonlocal config
        check, config, _ = check_config(o)
        return check

    def loc() -> Check:
        nonlocal location
        check, location = check_location(config, o)
        return check

    checks += guarded("configuration", cfg)
    checks += guarded("where we run", loc)
    names = o.frontends or core.configured_frontends(config, location)
    outside = guarded("outside access", lambda: tuple(c for c in (check_outside_access(config, location, names, o),)
                                                      if c is not None))
    checks += outside
    if "ssh" not in skipped:
        checks += guarded("frontends", lambda: check_frontends(config, location, names, o))
        checks += guarded("OAR versions", lambda: check_oar_versions(config, location, names, o))
    if "api" not in skipped:
        checks += guarded("API", lambda: check_api(config, location, o))
    if "keyring" not in skipped:
        checks += guarded("keyring", lambda: check_keyring(config))
    if "db" not in skipped:
        reachable = [n for n in names if (c := next((x for x in checks if x.name == f"ssh {n}"), None)) is None
                     or c.verdict is Verdict.OK or location.place is not core.Place.OUTSIDE]
        unreachable = [n for n in names if n not in reachable]
        checks += guarded("OAR database", lambda: check_databases(config, location, reachable, o)
                          if reachable else ())
        checks += tuple(Check(f"OAR database {n}", Verdict.SKIP, "not checked: its frontend could not be reached")
                        for n in unreachable)
    if "cache" not in skipped:
        checks += guarded("reference cache", lambda: check_cache(config, o))
    return Report(tuple(checks))


def dry_run_plan(opts: Options | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """What the doctor would do, without doing it: the ssh commands, the HTTP request, the SQL."""
    o = opts or Options()
    loaded = performed(config_adapter.load_config(o.env, o.config_file))
    if isinstance(loaded, Failure):
        return IOFailure(loaded.failure())
    config = loaded.unwrap().config
    located = performed(config_adapter.where_we_run(config, o.facts))
    location = located.value_or(core.Location(core.Place.OUTSIDE))
    names = o.frontends or core.configured_frontends(config, location)
    lines = [f"where we run: {location.describe()}"]
    for name, plan in zip(names, probe_plans(config, location, names, o.timeout), strict=True):
        lines.append(plan.unwrap().describe() if isinstance(plan, Success) else f"[{name}] {plan.failure().message}")
    access = core.api_access(config, location)
    auth = f"basic auth as {access.username}" if access.username else "anonymous"
    lines.append(f"GET {access.uri} [{auth}, timeout {min(config.api_timeout, o.timeout):g}s]")
    for name in names:
        host = config.oar_pgsql_ro_host.replace("{site}", name)
        via = " through a tunnel over the frontend" if location.place is core.Place.OUTSIDE else ""
        lines.append(f"[{name}] SQL on {config.oar_pgsql_ro_user}@{host}:{config.oar_pgsql_ro_port}/"
                     f"{config.oar_pgsql_ro_db}{via}: {DB_PROBE_SQL}")
    return IOResult.from_value(tuple(lines))
