"""Read the planning of Grid'5000 sites: from the embedded synthetic data, the Grid'5000 API, an OAR database or
an OAR REST API. The source is an explicit argument; sites are read in parallel (bounded pool) and a failing site
is reported in ``Planning.failed_sites``, never silently dropped.

Each source has a plan value first (HTTP requests or SQL with parameters) that ``--dry-run`` prints; the same plan
is what gets executed; the payloads are turned into a :class:`g5kpure.planning.Planning` by the pure core.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources as importlib_resources
from typing import Any, Literal

import psycopg2
import requests
from attrs import frozen
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.errors import DbError, G5kError, HttpError, InvalidInput, NotFound, ParseError, Partial, Unreachable
from g5kpure.planning import (
    OarJobResourceRow,
    OarResourceRow,
    Planning,
    add_busy_periods,
    merge_plannings,
    planning_from_api,
    planning_from_oar_rest,
    planning_from_oar_rows,
    restrict_planning,
)

Source = Literal["embedded", "api", "oardb", "oarapi"]
SOURCES: tuple[str, ...] = ("embedded", "api", "oardb", "oarapi")
FOUR_WEEKS = 28 * 24 * 3600
DEFAULT_API = "https://api.grid5000.fr/stable"
MAX_WORKERS = 8
HTTP_TIMEOUT = 30.0

# ------------------------------------------------------------------------------------------------------------
# Embedded data
# ------------------------------------------------------------------------------------------------------------

_DATA = "g5kpure"
_DIR = "data/planning"


def _summary() -> Result[dict[str, Any], G5kError]:
    try:
        text = importlib_resources.files(_DATA).joinpath(_DIR, "summary.json").read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError, ModuleNotFoundError) as exc:
        return Failure(NotFound("embedded planning data", "summary.json", str(exc)))
    if not isinstance(data, dict) or not isinstance(data.get("T0"), int):
        return Failure(ParseError("embedded planning summary", "summary.json", str(data)[:200]))
    return Success(data)


def embedded_summary() -> IOResult[dict[str, Any], G5kError]:
    """The summary of the embedded synthetic planning (its reference time ``T0`` and per-site counts)."""
    return IOResult.from_result(_summary())


def embedded_sites() -> IOResult[tuple[str, ...], G5kError]:
    """The sites of the embedded synthetic planning."""
    return embedded_summary().map(lambda s: tuple(sorted(s.get("sites", {}))))


def _embedded_payload(site: str, what: str) -> Result[Any, G5kError]:
    name = f"{site}_{what}.json.gz"
    try:
        raw = importlib_resources.files(_DATA).joinpath(_DIR, name).read_bytes()
        return Success(json.loads(gzip.decompress(raw)))
    except (OSError, ValueError, ModuleNotFoundError) as exc:
        return Failure(NotFound("embedded planning file", name, str(exc)))


def load_embedded_planning(
    sites: Iterable[str] | None = None,
    start: int | None = None,
    end: int | None = None,
    *,
    ignore_besteffort: bool = True,
    vlans: bool = True,
) -> IOResult[Planning, G5kError]:
    """The embedded synthetic full-grid planning (API status + jobs answers), by default over four weeks from its
    reference time (2026-03-24 10:00 Paris)."""
    summary = _summary()
    if isinstance(summary, Failure):
        return IOFailure(summary.failure())
    data = summary.unwrap()
    t0 = int(data["T0"])
    begin = t0 if start is None else start
    finish = begin + FOUR_WEEKS if end is None else end
    known = sorted(data.get("sites", {}))
    chosen = known if sites is None else list(sites)
    unknown = [s for s in chosen if s not in known]
    if unknown:
        return IOFailure(NotFound("site in the embedded planning", ", ".join(unknown), f"known: {', '.join(known)}"))
    plannings = []
    for site in chosen:
        status = _embedded_payload(site, "status")
        jobs = _embedded_payload(site, "jobs")
        if isinstance(status, Failure):
            return IOFailure(status.failure())
        if isinstance(jobs, Failure):
            return IOFailure(jobs.failure())
        one = planning_from_api(site, status.unwrap(), begin, finish, jobs.unwrap(),
                                ignore_besteffort=ignore_besteffort, vlans=vlans)
        if isinstance(one, Failure):
            return IOFailure(one.failure())
        plannings.append(one.unwrap())
    return IOResult.from_result(merge_plannings(plannings))


# ------------------------------------------------------------------------------------------------------------
# Plans
# ------------------------------------------------------------------------------------------------------------


@frozen
class HttpPlan:
    """One GET request: the URL and its query parameters."""

    site: str
    url: str
    params: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """The request as one line (``GET url?k=v``)."""
        query = "&".join(f"{k}={v}" for k, v in self.params)
        return f"GET {self.url}" + (f"?{query}" if query else "")


#: OAR database: usable resources (columns of OAR 2.5's own schema; Grid'5000 adds ``maintenance`` and ``vlan``).
SQL_RESOURCES_COLUMNS = "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
#: Every (job, resource) pair of an active job: the gantt prediction (waiting and running jobs) and, for jobs
#: already started, the assigned resources; the job's start is its real start once started.
SQL_JOB_RESOURCES = """
SELECT J.job_id, J.state, J.queue_name,
       CASE WHEN J.start_time > 0 THEN J.start_time ELSE GJP.start_time END AS start_time,
       MJD.moldable_walltime, GJR.resource_id,
       COALESCE((SELECT string_agg(T.type, ',') FROM job_types T
                 WHERE T.job_id = J.job_id AND T.types_index = 'CURRENT'), '') AS types
FROM jobs J
JOIN moldable_job_descriptions MJD ON MJD.moldable_job_id = J.job_id
JOIN gantt_jobs_predictions GJP ON GJP.moldable_job_id = MJD.moldable_id
JOIN gantt_jobs_resources GJR ON GJR.moldable_job_id = MJD.moldable_id
WHERE J.state = ANY(%(states)s)
UNION
SELECT J.job_id, J.state, J.queue_name, J.start_time, MJD.moldable_walltime, AR.resource_id,
       COALESCE((SELECT string_agg(T.type, ',') FROM job_types T
                 WHERE T.job_id = J.job_id AND T.types_index = 'CURRENT'), '') AS types
FROM jobs J
JOIN moldable_job_descriptions MJD ON MJD.moldable_id = J.assigned_moldable_job
JOIN assigned_resources AR ON AR.moldable_job_id = MJD.moldable_id AND AR.assigned_resource_index = 'CURRENT'
WHERE J.state = ANY(%(states)s) AND J.start_time > 0
ORDER BY 1, 6
""".strip()
OAR_ACTIVE_STATES = ["Waiting", "toLaunch", "toAckReservation", "Launching", "Running", "Suspended", "Resuming",
                     "Finishing"]


def sql_resources(columns: Iterable[str]) -> str:
    """The resources query for a database whose ``resources`` table has ``columns``."""
    have = set(columns)
    extra = [f"R.{c}" if c in have else f"NULL AS {c}" for c in ("maintenance", "vlan", "subnet_address")]
    return ("SELECT R.resource_id, R.type, R.network_address, R.state, " + ", ".join(extra)
            + " FROM resources R ORDER BY R.resource_id")


@frozen
class SqlPlan:
    """The statements sent to one site's OAR database (read-only) and where."""

    site: str
    dsn: str
    statements: tuple[str, ...] = (SQL_RESOURCES_COLUMNS, sql_resources(("maintenance", "vlan")), SQL_JOB_RESOURCES)

    def describe(self) -> str:
        """The plan as text: the database and each statement (parameters shown as placeholders)."""
        shown = self.dsn.split("password=")[0].strip()
        return f"-- {self.site}: {shown}\n" + ";\n".join(self.statements) + ";"


def api_plans(sites: Sequence[str], base: str = DEFAULT_API) -> tuple[HttpPlan, ...]:
    """The Grid'5000 API requests reading the planning of ``sites`` (status, then active jobs with resources)."""
    plans = []
    for site in sites:
        plans.append(HttpPlan(site, f"{base}/sites/{site}/status", (("disks", "no"),)))
        plans.append(HttpPlan(site, f"{base}/sites/{site}/jobs",
                              (("state", "waiting,launching,running"), ("resources", "yes"), ("limit", "500"))))
    return tuple(plans)


def oarapi_plans(sites: Mapping[str, str]) -> tuple[HttpPlan, ...]:
    """The OAR REST API requests (resources, active jobs with details) for each site's API root URL."""
    plans = []
    for site, root in sorted(sites.items()):
        plans.append(HttpPlan(site, f"{root}/resources/details.json", (("limit", "100000"),)))
        plans.append(HttpPlan(site, f"{root}/jobs/details.json",
                              (("state", "Waiting,Launching,Running,toLaunch,Finishing"), ("limit", "100000"))))
    return tuple(plans)


# ------------------------------------------------------------------------------------------------------------
# Effects
# ------------------------------------------------------------------------------------------------------------


def _get_json(session: requests.Session, plan: HttpPlan, auth: tuple[str, str] | None) -> Result[Any, G5kError]:
    try:
        resp = session.get(plan.url, params=dict(plan.params), auth=auth, timeout=HTTP_TIMEOUT)
    except requests.RequestException as exc:
        return Failure(Unreachable(plan.url, str(exc)))
    if resp.status_code != 200:
        return Failure(HttpError(resp.status_code, resp.url, resp.text[:500]))
    try:
        return Success(resp.json())
    except ValueError:
        return Failure(ParseError("JSON answer", resp.url, resp.text[:200]))


def _get_paged(session: requests.Session, plan: HttpPlan, auth: tuple[str, str] | None) -> Result[Any, G5kError]:
    """A Grid'5000 API collection read page by page (offset/limit) until ``total`` items are read."""
    items: list[Any] = []
    offset = 0
    while True:
        page_plan = HttpPlan(plan.site, plan.url, (*plan.params, ("offset", str(offset))))
        page = _get_json(session, page_plan, auth)
        if isinstance(page, Failure):
            return page
        body = page.unwrap()
        batch = body.get("items") if isinstance(body, dict) else None
        if not isinstance(batch, list):
            return Failure(ParseError("paged collection", plan.url, str(body)[:200]))
        items.extend(batch)
        offset += len(batch)
        if not batch or offset >= int(body.get("total", 0)):
            return Success({"items": items, "total": len(items)})


def _parallel(sites: Sequence[str], read: Callable[[str], Result[Planning, G5kError]],
              start: int, end: int) -> IOResult[Planning, G5kError]:
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, max(1, len(sites)))) as pool:
        results = list(pool.map(read, sites))
    good = [r.unwrap() for r in results if isinstance(r, Success)]
    failed = [(site, r.failure()) for site, r in zip(sites, results, strict=True) if isinstance(r, Failure)]
    if not good:
        return IOFailure(Partial("reading the planning", (), failed))
    merged = merge_plannings(good)
    if isinstance(merged, Failure):
        return IOFailure(merged.failure())
    plan = merged.unwrap()
    return IOSuccess(Planning(start=plan.start, end=plan.end, hosts=plan.hosts, resources=plan.resources,
                              failed_sites=tuple((s, e.message) for s, e in failed)))


def get_planning(
    elements: Iterable[str] = ("grid5000",),
    *,
    source: Source,
    starttime: int,
    endtime: int | None = None,
    vlan: bool = False,
    subnet: bool = False,
    storage: bool = False,
    out_of_chart: Iterable[tuple[int, int]] = (),
    ignore_besteffort: bool = True,
    sites: Sequence[str] | None = None,
    api_base: str = DEFAULT_API,
    auth: tuple[str, str] | None = None,
    oarapi_roots: Mapping[str, str] | None = None,
    oardb_dsns: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
) -> IOResult[Planning, G5kError]:
    """The planning of ``elements`` (grid5000, sites, clusters, hosts) over [starttime, endtime] (default four
    weeks) from ``source``; ``out_of_chart`` periods are busy everywhere; failed sites are listed in the result.

    ``sites`` are the sites to read (required for the api source unless the elements are sites); the oardb and
    oarapi sources read the sites of ``oardb_dsns`` / ``oarapi_roots``."""
    if source not in SOURCES:
        return IOFailure(InvalidInput("source", str(source), " | ".join(SOURCES)))
    end = starttime + FOUR_WEEKS if endtime is None else endtime
    if end <= starttime:
        return IOFailure(InvalidInput("endtime", str(end), "after the start time"))
    wanted = tuple(elements)
    if source == "embedded":
        result = load_embedded_planning(sites, starttime, end, ignore_besteffort=ignore_besteffort, vlans=vlan)
    elif source == "api":
        chosen = list(sites) if sites is not None else [e for e in wanted if e.isalpha() and e != "grid5000"]
        if not chosen:
            return IOFailure(InvalidInput("sites", "()", "the sites to read (the Reference API lists them)"))
        http = session or requests.Session()

        def read_api(site: str) -> Result[Planning, G5kError]:
            status_plan, jobs_plan = api_plans([site], api_base)
            status = _get_json(http, status_plan, auth)
            if isinstance(status, Failure):
                return status
            jobs = _get_paged(http, jobs_plan, auth)
            if isinstance(jobs, Failure):
                return jobs
            return planning_from_api(site, status.unwrap(), starttime, end, jobs.unwrap(),
                                     ignore_besteffort=ignore_besteffort, vlans=vlan, subnets=subnet,
                                     storage=storage)

        result = _parallel(chosen, read_api, starttime, end)
    elif source == "oarapi":
        roots = dict(oarapi_roots or {})
        if not roots:
            return IOFailure(InvalidInput("oarapi_roots", "{}", "site -> OAR REST API root URL"))
        http = session or requests.Session()

        def read_oarapi(site: str) -> Result[Planning, G5kError]:
            res_plan, jobs_plan = oarapi_plans({site: roots[site]})
            res = _get_json(http, res_plan, auth)
            if isinstance(res, Failure):
                return res
            jobs = _get_json(http, jobs_plan, auth)
            if isinstance(jobs, Failure):
                return jobs
            return planning_from_oar_rest(site, res.unwrap(), jobs.unwrap(), starttime, end,
                                          ignore_besteffort=ignore_besteffort, vlans=vlan)

        result = _parallel(sorted(roots), read_oarapi, starttime, end)
    else:
        dsns = dict(oardb_dsns or {})
        if not dsns:
            return IOFailure(InvalidInput("oardb_dsns", "{}", "site -> PostgreSQL DSN of its OAR database"))

        def read_db(site: str) -> Result[Planning, G5kError]:
            rows = read_oar_rows(dsns[site])
            if isinstance(rows, Failure):
                return rows
            res_rows, job_rows = rows.unwrap()
            return planning_from_oar_rows(site, res_rows, job_rows, starttime, end,
                                          ignore_besteffort=ignore_besteffort, vlans=vlan)

        result = _parallel(sorted(dsns), read_db, starttime, end)
    periods = tuple(out_of_chart)
    return result.map(lambda p: add_busy_periods(restrict_planning(p, wanted), periods) if periods
                      else restrict_planning(p, wanted))


def read_oar_rows(dsn: str) -> Result[tuple[tuple[OarResourceRow, ...], tuple[OarJobResourceRow, ...]], G5kError]:
    """Resources and active (job, resource) rows from one OAR database, with parameterised read-only SQL."""
    try:
        with psycopg2.connect(dsn, connect_timeout=10) as conn, conn.cursor() as cur:
            conn.set_session(readonly=True)
            cur.execute(SQL_RESOURCES_COLUMNS, ("resources",))
            columns = [r[0] for r in cur.fetchall()]
            cur.execute(sql_resources(columns))
            res_raw = cur.fetchall()
            cur.execute(SQL_JOB_RESOURCES, {"states": OAR_ACTIVE_STATES})
            job_raw = cur.fetchall()
    except psycopg2.Error as exc:
        return Failure(DbError(str(exc).strip(), dsn.split("password=")[0].strip()))
    try:
        resources = tuple(
            OarResourceRow(int(r[0]), str(r[1]), str(r[2] or ""), str(r[3]), str(r[4] or "NO"),
                           None if r[5] is None else str(r[5]), None if r[6] is None else str(r[6]))
            for r in res_raw
        )
        jobs = tuple(
            OarJobResourceRow(int(r[0]), str(r[1]), str(r[2]), int(r[3] or 0), int(r[4] or 0), int(r[5]),
                              tuple(t for t in str(r[6] or "").split(",") if t))
            for r in job_raw
        )
    except (TypeError, ValueError, IndexError) as exc:
        return Failure(ParseError("OAR database rows", dsn.split("password=")[0].strip(), str(exc)))
    return Success((resources, jobs))
