"""Read a site's OAR database (psycopg2): planned SQL with parameters, read-only transactions, time limits.

Every query is a ``SqlPlan`` value (statement + parameters, never formatted into the text) that ``--dry-run``
prints and ``run_plans`` performs. A connection is read-only (``default_transaction_read_only`` and a
read-only session) and every failure is a value: ``AuthError`` (password refused), ``Unreachable`` (no route,
refused, unknown host, connection lost), ``Timeout`` (connect or statement too slow) or ``DbError`` (anything
the database itself refused).

Every query ends, even when the network goes silent: libpq's ``connect_timeout`` bounds the connection, TCP
keepalives make the kernel drop a dead link, the server's ``statement_timeout`` cancels a slow statement, and the
client enforces the statement deadline itself (the server's cancellation may never arrive): a timer shuts the
socket down, which ends the wait (see ``_StatementGuard`` for why it sends no cancel request).

``g5k_charter_remaining(sites, day, user)`` is the seed's function on top: the sites are queried in parallel
(through ``g5k.forward`` when outside Grid'5000), and a failing site is reported in the result, never
dropped. Differences from execo: parameters instead of ``%`` interpolation (a user name such as
``x' OR '1'='1`` is just a name); one query per site instead of two per cluster; each job counted once
(see ``g5kpure.charter``); a failing site is an error value in the report, not a warning and a missing key.
"""

from __future__ import annotations

import contextlib
import getpass
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from attrs import field, frozen
from g5k.config import load_config
from g5k.forward import DEFAULT_FRONTEND_PARAMS, open_forward
from g5k.results import performed
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.charter import (
    DEFAULT_RULES,
    JOB_ROW_COLUMNS,
    CharterRules,
    ClusterRemaining,
    charter_remaining,
    day_bounds,
    parse_core_counts,
    parse_job_rows,
)
from g5kpure.config import Config, ConnectionParams, frontend_params
from g5kpure.errors import AuthError, DbError, G5kError, InvalidInput, Partial, Timeout, Unreachable

Param = str | int | float | bool | None | tuple[str, ...]
FINISHED_STATES: tuple[str, ...] = ("Terminated", "Error")
"""Job states whose leftover scheduler predictions are ignored (only their actual resources count)."""
Rows = tuple[tuple[Any, ...], ...]


def _params(value: Mapping[str, Param] | Sequence[tuple[str, Param]]) -> tuple[tuple[str, Param], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((str(k), v) for k, v in items))


@frozen
class SqlPlan:
    """One SQL statement with named ``%(name)s`` parameters, and what it is for."""

    purpose: str
    statement: str
    params: tuple[tuple[str, Param], ...] = field(default=(), converter=_params)

    def describe(self) -> str:
        """The statement and its parameters, as --dry-run prints them."""
        shown = ", ".join(f"{k}={v!r}" for k, v in self.params) or "(none)"
        return f"-- {self.purpose}\n{self.statement.strip()}\n-- parameters: {shown}"


def _host_pairs(value: Mapping[str, str] | Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((str(k), str(v)) for k, v in items))


@frozen
class DbSettings:
    """Where and how to read OAR databases: the seed's ``oar_pgsql_ro_*`` keys, host naming, time limits.

    ``host_template`` names a site's database host (``{site}`` is replaced); ``site_hosts`` overrides it per
    site. ``tunnel``: None = through the frontend only when outside Grid'5000, False = never, True = always.
    ``connect_timeout`` is applied by libpq in whole seconds, at least 2 (see ``libpq_connect_timeout``).
    """

    dbname: str = "oar2"
    user: str = "oarreader"
    password: str = field(default="read", repr=False)
    port: int = 5432
    host_template: str = "oardb.{site}.grid5000.fr"
    site_hosts: tuple[tuple[str, str], ...] = field(default=(), converter=_host_pairs)
    connect_timeout: float = 10.0
    statement_timeout: float = 60.0
    tunnel: bool | None = None
    frontend: ConnectionParams = DEFAULT_FRONTEND_PARAMS
    frontend_overrides: tuple[tuple[str, ConnectionParams], ...] = ()
    location: str | None = None

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> DbSettings:
        """Settings from a configuration's ``oar_pgsql_ro_db`` / ``_user`` / ``_password`` / ``_port`` / ``_host``
        keys (``_host`` is the host template, ``{site}`` replaced), frontends and location."""
        values: dict[str, Any] = {
            "dbname": config.oar_pgsql_ro_db,
            "user": config.oar_pgsql_ro_user,
            "password": config.oar_pgsql_ro_password,
            "port": config.oar_pgsql_ro_port,
            "host_template": config.oar_pgsql_ro_host,
            "frontend": config.frontend,
            "frontend_overrides": tuple((site, frontend_params(config, site)) for site, _ in config.frontends),
            "location": config.location,
        }
        values.update(overrides)
        return cls(**values)

    def frontend_of(self, site: str) -> ConnectionParams:
        """The connection parameters of ``site``'s frontend (its own entry, else the common ones)."""
        return dict(self.frontend_overrides).get(site, self.frontend)

    def host_of(self, site: str) -> str:
        """The database host of ``site``."""
        return dict(self.site_hosts).get(site, self.host_template.replace("{site}", site))


@frozen
class DbTarget:
    """One database to read: the site, host, port, database name and user (never the password)."""

    site: str
    host: str
    port: int
    dbname: str
    user: str

    @property
    def label(self) -> str:
        """``user@host:port/dbname`` (site)."""
        return f"{self.user}@{self.host}:{self.port}/{self.dbname} ({self.site})"


def target_of(site: str, settings: DbSettings) -> Result[DbTarget, G5kError]:
    """The database of ``site`` under ``settings``, after checking the names and numbers."""
    if not site or not all(c.isalnum() or c in "-_." for c in site) or site.startswith("-"):
        return Failure(InvalidInput("site", site, "a site name such as 'rennes'"))
    host = settings.host_of(site)
    if not host or any(c.isspace() for c in host) or host.startswith("-"):
        return Failure(InvalidInput("database host", host, f"a host name (for site {site!r})"))
    if not 0 < settings.port < 65536:
        return Failure(InvalidInput("oar_pgsql_ro_port", str(settings.port), "an integer between 1 and 65535"))
    if settings.connect_timeout <= 0 or settings.statement_timeout <= 0:
        return Failure(InvalidInput("database timeouts", f"{settings.connect_timeout}/{settings.statement_timeout}",
                                    "numbers of seconds > 0"))
    return Success(DbTarget(site, host, settings.port, settings.dbname, settings.user))


# ---------------------------------------------------------------------------------------------------------
# The charter's queries (OAR 2.5 schema)

CORES_SQL = """
SELECT r.cluster, COUNT(*) AS cores
FROM resources r
WHERE r.type = %(resource_type)s AND r.state <> %(dead)s AND r.cluster IS NOT NULL
GROUP BY r.cluster
ORDER BY r.cluster
"""

# One row per (job, cluster, source): 'assigned' = resources the job actually got (started jobs),
# 'predicted' = the scheduler's plan (waiting jobs, reservations; running jobs also keep one; ended jobs' leftover
# predictions are ignored). Job types are
# aggregated per job (never joined), so a job with several types is still one row.
JOBS_SQL = """
SELECT j.job_id, j.job_user, j.state,
       ARRAY(SELECT DISTINCT t.type FROM job_types t WHERE t.job_id = j.job_id ORDER BY t.type) AS types,
       r.cluster, j.start_time, j.stop_time, m.moldable_walltime AS walltime,
       COUNT(DISTINCT r.resource_id) AS nb_resources, 'assigned'::text AS source
FROM jobs j
JOIN moldable_job_descriptions m ON m.moldable_id = j.assigned_moldable_job
JOIN assigned_resources a ON a.moldable_job_id = m.moldable_id
JOIN resources r ON r.resource_id = a.resource_id
WHERE j.job_user = %(user)s AND r.type = %(resource_type)s
  AND j.start_time > 0 AND j.start_time < %(end)s
  AND (CASE WHEN j.stop_time > 0 THEN j.stop_time ELSE j.start_time + m.moldable_walltime END) > %(start)s
GROUP BY j.job_id, j.job_user, j.state, r.cluster, j.start_time, j.stop_time, m.moldable_walltime
UNION ALL
SELECT j.job_id, j.job_user, j.state,
       ARRAY(SELECT DISTINCT t.type FROM job_types t WHERE t.job_id = j.job_id ORDER BY t.type) AS types,
       r.cluster, g.start_time, 0 AS stop_time, m.moldable_walltime AS walltime,
       COUNT(DISTINCT r.resource_id) AS nb_resources, 'predicted'::text AS source
FROM jobs j
JOIN moldable_job_descriptions m ON m.moldable_job_id = j.job_id
JOIN gantt_jobs_predictions g ON g.moldable_job_id = m.moldable_id
JOIN gantt_jobs_resources gr ON gr.moldable_job_id = m.moldable_id
JOIN resources r ON r.resource_id = gr.resource_id
WHERE j.job_user = %(user)s AND r.type = %(resource_type)s AND j.state NOT IN %(finished)s
  AND g.start_time < %(end)s AND g.start_time + m.moldable_walltime > %(start)s
GROUP BY j.job_id, j.job_user, j.state, r.cluster, g.start_time, m.moldable_walltime
ORDER BY 1, 5, 10
"""


def cores_plan(resource_type: str = "default") -> SqlPlan:
    """The plan counting the live cores (resources not Dead) of each cluster."""
    return SqlPlan("cores per cluster", CORES_SQL, {"resource_type": resource_type, "dead": "Dead"})


def jobs_plan(user: str, start: int, end: int, resource_type: str = "default") -> SqlPlan:
    """The plan listing ``user``'s jobs whose span meets [start, end), one row per job, cluster and source."""
    return SqlPlan(
        f"jobs of the user between {start} and {end} (columns: {', '.join(JOB_ROW_COLUMNS)})",
        JOBS_SQL,
        {"user": user, "start": start, "end": end, "resource_type": resource_type, "finished": FINISHED_STATES},
    )


def charter_plans(user: str, day: date, rules: CharterRules = DEFAULT_RULES) -> tuple[SqlPlan, SqlPlan]:
    """The two plans of the remaining-allowance computation of ``user`` on ``day`` (cores, then jobs)."""
    start, end = day_bounds(day, rules)
    return cores_plan(), jobs_plan(user, math.floor(start), math.ceil(end))


# ---------------------------------------------------------------------------------------------------------
# Performing plans


def libpq_connect_timeout(settings: DbSettings) -> int:
    """The connect timeout libpq applies: ``connect_timeout`` rounded up to whole seconds, at least 2 (libpq's
    own minimum); a connection timeout reports this value, the time actually waited."""
    return max(2, math.ceil(settings.connect_timeout))


def _classify(exc: BaseException, target: DbTarget, settings: DbSettings, after_s: float,
              doing: str = "connecting") -> G5kError:
    text = str(exc).strip()
    low = text.lower()
    after = round(after_s, 3)
    first = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, psycopg2.errors.QueryCanceled):
        return Timeout(f"query on {target.label}", settings.statement_timeout, target.host, during=doing)
    if isinstance(exc, psycopg2.OperationalError) and getattr(exc, "pgcode", None) is None:
        if "password authentication failed" in low or "no password supplied" in low or "no pg_hba.conf" in low:
            return AuthError(f"database {target.label}", text.splitlines()[0] if text else "authentication failed")
        if "timeout expired" in low or "timed out" in low:
            return Timeout(f"connection to {target.label}", libpq_connect_timeout(settings), target.host,
                           during="connecting")
        if "does not exist" in low and ("database" in low or "role" in low):
            return DbError(text.splitlines()[0], target.label)
        if doing != "connecting":
            return Unreachable(f"{target.host}:{target.port}", first, after, during=doing)
        return Unreachable(f"{target.host}:{target.port}", first, after,
                           fix="check g5k.oar_pgsql_ro_host and _port, and the network")
    if isinstance(exc, psycopg2.errors.InvalidPassword | psycopg2.errors.InvalidAuthorizationSpecification):
        return AuthError(f"database {target.label}", text.splitlines()[0])
    if isinstance(exc, psycopg2.Error):
        return DbError(text.splitlines()[0] if text else type(exc).__name__, target.label)
    return Unreachable(f"{target.host}:{target.port}", f"{type(exc).__name__}: {text}", after)


KEEPALIVE_IDLE_S = 10
"""Seconds of silence before the kernel probes the database connection (TCP keepalive)."""
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3
"""Unanswered probes, ``KEEPALIVE_INTERVAL_S`` apart, after which the kernel drops the connection."""
DEADLINE_MARGIN_S = 1.0
"""How long past ``statement_timeout`` the client waits for the server's own cancellation before ending the wait."""


class _StatementGuard:
    """The client side of a statement deadline: armed around each statement, it shuts the connection's socket
    down ``DEADLINE_MARGIN_S`` after the server's ``statement_timeout`` should have answered, which ends the wait
    (a silent link never delivers the server's cancellation). ``fired`` says it did.

    It does not send a cancel request: psycopg2's ``cancel()`` holds the interpreter lock while libpq's
    ``PQcancel`` waits, without a time limit, on a new connection to the server; on a silent link that would
    freeze the whole process. The server cancels the statement itself (``statement_timeout``), and a backend
    whose client is gone stops when it next writes to it."""

    def __init__(self, conn: psycopg2.extensions.connection, limit_s: float) -> None:
        self._fd = conn.fileno()
        self._limit = limit_s + DEADLINE_MARGIN_S
        self._lock = threading.Lock()
        self._armed = 0
        self.fired = False

    def __enter__(self) -> _StatementGuard:
        with self._lock:
            self._armed += 1
            generation = self._armed
        self._timer = threading.Timer(self._limit, self._end, args=(generation,))
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._armed += 1  # a firing still to come belongs to a finished statement

    def _end(self, generation: int) -> None:
        with self._lock:
            if self._armed != generation:
                return
            self.fired = True
            with contextlib.suppress(OSError):
                dup = socket.socket(fileno=os.dup(self._fd))
                with dup:
                    dup.shutdown(socket.SHUT_RDWR)  # acts on the connection, whichever descriptor names it


def _query(
    host: str, port: int, target: DbTarget, settings: DbSettings, plans: Sequence[SqlPlan]
) -> IOResult[tuple[Rows, ...], G5kError]:
    began = time.monotonic()
    statement_ms = max(1, int(settings.statement_timeout * 1000))
    conn: psycopg2.extensions.connection | None = None
    guard: _StatementGuard | None = None
    doing = "connecting"
    try:
        conn = psycopg2.connect(
            host=host,
            port=port,
            dbname=target.dbname,
            user=target.user,
            password=settings.password,
            connect_timeout=libpq_connect_timeout(settings),
            keepalives=1,
            keepalives_idle=KEEPALIVE_IDLE_S,
            keepalives_interval=KEEPALIVE_INTERVAL_S,
            keepalives_count=KEEPALIVE_COUNT,
            options=f"-c statement_timeout={statement_ms} -c default_transaction_read_only=on",
            application_name="g5kpure",
        )
        conn.set_session(readonly=True, autocommit=False)
        guard = _StatementGuard(conn, settings.statement_timeout)
        results: list[Rows] = []
        with conn.cursor() as cur:
            for plan in plans:
                doing = f"running the query {plan.purpose!r}"
                with guard:
                    cur.execute(plan.statement, dict(plan.params))
                    results.append(tuple(tuple(row) for row in cur.fetchall()))
        doing = "ending the read-only transaction"
        with guard:
            conn.rollback()
        return IOSuccess(tuple(results))
    except (psycopg2.Error, OSError) as exc:
        if guard is not None and guard.fired:
            return IOFailure(Timeout(f"query on {target.label}", settings.statement_timeout, target.host,
                                     during=doing))
        return IOFailure(_classify(exc, target, settings, time.monotonic() - began, doing))
    finally:
        if conn is not None:
            conn.close()


def run_plans(
    site: str, plans: Sequence[SqlPlan], settings: DbSettings
) -> IOResult[tuple[Rows, ...], G5kError]:
    """Perform ``plans`` in one read-only transaction on ``site``'s database; the rows of each, in order."""
    targeted = target_of(site, settings)
    if isinstance(targeted, Failure):
        return IOFailure(targeted.failure())
    target = targeted.unwrap()
    inside = None if settings.tunnel is None else not settings.tunnel
    opened = open_forward(
        site, target.host, target.port, settings.frontend_of(site), inside=inside, location=settings.location
    )
    if isinstance(opened, IOFailure):
        return IOFailure(performed(opened).failure())
    forward = performed(opened).unwrap()
    try:
        host, port = forward.target
        return _query(host, port, target, settings, plans)
    finally:
        forward.close()


# ---------------------------------------------------------------------------------------------------------
# The charter on top


@frozen
class SiteRemaining:
    """The outcome for one site: its clusters' remaining allowance, or why it could not be read."""

    site: str
    clusters: tuple[ClusterRemaining, ...] = ()
    error: G5kError | None = None


@frozen
class CharterReport:
    """Remaining charter allowance of ``user`` on ``day``, per site; failed sites are kept with their error."""

    user: str
    day: date
    sites: tuple[SiteRemaining, ...]

    @property
    def failed(self) -> tuple[tuple[str, G5kError], ...]:
        """The sites that could not be read, with why."""
        return tuple((s.site, s.error) for s in self.sites if s.error is not None)

    def remaining(self) -> dict[str, int]:
        """The seed's answer: {cluster: core-seconds left} over the sites that answered."""
        return {c.cluster: c.remaining for s in self.sites for c in s.clusters}

    def to_result(self) -> Result[CharterReport, G5kError]:
        """Success when every site answered, else a ``Partial`` naming the sites that failed and those that did not."""
        if not self.failed:
            return Success(self)
        ok = tuple(s.site for s in self.sites if s.error is None)
        return Failure(Partial("charter remaining time", succeeded=ok, failed=self.failed))


def site_remaining(
    site: str, day: date, user: str, settings: DbSettings, rules: CharterRules = DEFAULT_RULES
) -> IOResult[tuple[ClusterRemaining, ...], G5kError]:
    """One site's remaining allowance per cluster for ``user`` on ``day`` (read from its OAR database)."""
    plans = charter_plans(user, day, rules)
    fetched = run_plans(site, plans, settings)
    if isinstance(fetched, IOFailure):
        return IOFailure(performed(fetched).failure())
    core_rows, job_rows = performed(fetched).unwrap()
    computed = parse_core_counts(core_rows).bind(
        lambda cores: parse_job_rows(job_rows).map(lambda rows: charter_remaining(rows, cores, day, user, rules))
    )
    if isinstance(computed, Failure):
        return IOFailure(computed.failure())
    return IOSuccess(computed.unwrap())


SiteReader = Callable[[str, date, str, DbSettings, CharterRules], IOResult[tuple[ClusterRemaining, ...], G5kError]]
"""How one site is read (``site_remaining``); a parameter so the parallel fan-out can be tested on its own."""


def default_user(config: Config | None = None) -> str:
    """The user charged by default: the configured ``api_username``, else the login name of this process."""
    if config is not None and config.api_username:
        return config.api_username
    return getpass.getuser()


def g5k_charter_remaining(
    sites: Sequence[str],
    day: date,
    user: str | None = None,
    *,
    settings: DbSettings | None = None,
    rules: CharterRules = DEFAULT_RULES,
    max_parallel: int = 8,
    site_reader: SiteReader | None = None,
) -> IOResult[CharterReport, G5kError]:
    """The charter allowance left to ``user`` on ``day`` on each cluster of ``sites``, read in parallel.

    A site that cannot be read is in the report with its error (``report.failed``); the call itself fails only
    on bad arguments or a bad configuration. ``settings=None`` reads the configuration (files and environment:
    the ``oar_pgsql_ro_*`` keys, frontends, location); ``user=None`` means ``api_username``, else the login name.
    """
    if isinstance(sites, str) or not sites:
        return IOFailure(InvalidInput("sites", repr(sites), "a non-empty list of site names"))
    config: Config | None = None
    if settings is None:
        loaded = load_config()
        if isinstance(loaded, IOFailure):
            return IOFailure(performed(loaded).failure())
        config = performed(loaded).unwrap().config
    who = user if user is not None else default_user(config)
    conf = settings if settings is not None else DbSettings.from_config(config or Config())
    read = site_reader or site_remaining
    unique = tuple(dict.fromkeys(sites))

    def one(site: str) -> SiteRemaining:
        got = read(site, day, who, conf, rules)
        if isinstance(got, IOFailure):
            return SiteRemaining(site, error=performed(got).failure())
        return SiteRemaining(site, clusters=performed(got).unwrap())

    workers = max(1, min(max_parallel, len(unique)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="g5k-db") as pool:
        outcomes = tuple(pool.map(one, unique))
    return IOSuccess(CharterReport(who, day, outcomes))
