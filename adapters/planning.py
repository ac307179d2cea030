"""Read the planning of Grid'5000 sites: from the embedded synthetic data, the Grid'5000 API, an OAR database or
an OAR REST API. The source is an explicit argument; sites are read in parallel (bounded pool) and a failing site
is reported in ``Planning.failed_sites``, never silently dropped. The clusters planned are those of the OAR queues
asked for (the default queue unless told otherwise), per the embedded reference snapshot.

Each source has a plan value first (HTTP requests or SQL with parameters) that ``--dry-run`` prints; the same plan
is what gets executed; the payloads are turned into a :class:`g5kpure.planning.Planning` by the pure core.
Also here: the caller's current OAR job of a given name (``get_job_by_name``), and saving a figure.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources as importlib_resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from attrs import evolve
from g5k.reference_data import compact_cache_dir, load_embedded_snapshot, write_atomically
from g5k.results import performed
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.config import FrontendAccess
from g5kpure.errors import G5kError, InvalidInput, NotFound, ParseError, Partial, Unreachable
from g5kpure.oar import OarJob
from g5kpure.planning import (
    DEFAULT_QUEUES,
    HostPlanning,
    OarJobResourceRow,
    OarResourceRow,
    Planning,
    Queues,
    ResourcePlanning,
    add_busy_periods,
    find_job_by_name,
    merge_plannings,
    planning_from_api,
    planning_from_oar_rest,
    planning_from_oar_rows,
    restrict_planning,
    restrict_to_queues,
)
from g5kpure.planning import sites_of_elements as snapshot_sites_of

if TYPE_CHECKING:  # the effect libraries are imported where a source uses them: the embedded one needs none
    from g5k.api import APIConnection, HttpPlan
    from g5k.db import DbSettings, SqlPlan
    from g5k.oar import TimeoutArg
    from matplotlib.figure import Figure

Source = Literal["embedded", "api", "oardb", "oarapi"]
SOURCES: tuple[str, ...] = ("embedded", "api", "oardb", "oarapi")
FOUR_WEEKS = 28 * 24 * 3600
MAX_WORKERS = 8
API_PAGE = 500
PNG_COMPRESSION = 1
"""zlib level of the PNG figures: flat-coloured plots shrink by a tenth more at the default level 6, for half as
much again encoding time."""
TEXT_HINTING = "no_hinting"
"""FreeType hinting of the figures' text when drawn: unhinted glyphs look the same at 100 dpi, and the text of a
figure, most of its drawing, takes a fifth less time."""

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


def _embedded_raw(site: str, what: str) -> Result[bytes, G5kError]:
    name = f"{site}_{what}.json.gz"
    try:
        return Success(importlib_resources.files(_DATA).joinpath(_DIR, name).read_bytes())
    except (OSError, ModuleNotFoundError) as exc:
        return Failure(NotFound("embedded planning file", name, str(exc)))


def _decoded(raw: bytes, name: str) -> Result[Any, G5kError]:
    try:
        return Success(json.loads(gzip.decompress(raw)))
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        return Failure(ParseError("embedded planning file", name, hint=f"{exc}; reinstall the package"))


#: Modules whose code turns the embedded answers into a planning: a change in any of them makes a new cache key.
_PLANNING_CODE = ("g5kpure.planning.sources", "g5kpure.planning.model", "g5kpure.hosts")
KEEP_PLANNINGS = 4
"""How many cached embedded plannings (one per window and options asked for) are kept."""


def _planning_key(payloads: Sequence[bytes], options: Mapping[str, Any]) -> str | None:
    """The cache key of a planning built from ``payloads`` with ``options`` by the code of :data:`_PLANNING_CODE`
    (None when that code cannot be read, e.g. from a zip)."""
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    try:
        for name in _PLANNING_CODE:
            digest.update(Path(str(sys.modules[name].__file__)).read_bytes())
    except (OSError, KeyError, TypeError):
        return None
    for payload in payloads:
        digest.update(hashlib.sha256(payload).digest())
    return digest.hexdigest()[:24]


def planning_to_json(planning: Planning) -> dict[str, Any]:
    """A planning's window, hosts and resources as JSON-able data (failures and queues left out)."""
    return {"start": planning.start, "end": planning.end,
            "hosts": [[h.host, h.site, h.cluster, [t for iv in h.busy for t in iv]] for h in planning.hosts],
            "resources": [[r.site, r.kind, r.name, [t for iv in r.busy for t in iv]] for r in planning.resources]}


def _intervals(flat: Sequence[int]) -> list[tuple[int, int]]:
    if not all(type(t) is int for t in flat) or len(flat) % 2:
        raise ValueError("expected an even list of integers")
    return list(zip(flat[::2], flat[1::2], strict=True))


def planning_from_json(data: Any) -> Planning | None:
    """The planning of :func:`planning_to_json`'s data, or None when the data does not have that shape."""
    try:
        return Planning(
            start=int(data["start"]), end=int(data["end"]),
            hosts=[HostPlanning(str(h), str(s), str(c), _intervals(b)) for h, s, c, b in data["hosts"]],
            resources=[ResourcePlanning(str(s), str(k), str(n), _intervals(b)) for s, k, n, b in data["resources"]],
        )
    except (KeyError, TypeError, ValueError):
        return None


def _cached_planning(key: str | None) -> Planning | None:
    if key is None:
        return None
    try:
        return planning_from_json(json.loads(_planning_path(key).read_bytes()))
    except (OSError, ValueError):
        return None


def _planning_path(key: str) -> Path:
    return compact_cache_dir() / f"planning-{key}.json"


def _keep_planning(key: str | None, planning: Planning) -> None:
    """Write a planning into the cache (atomically, best effort), keeping the :data:`KEEP_PLANNINGS` newest."""
    if key is None:
        return
    path = _planning_path(key)
    with contextlib.suppress(OSError):
        write_atomically(path, json.dumps(planning_to_json(planning), separators=(",", ":")).encode())
        kept = sorted(path.parent.glob("planning-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEEP_PLANNINGS:]:
            old.unlink()


def load_embedded_planning(
    sites: Iterable[str] | None = None,
    start: int | None = None,
    end: int | None = None,
    *,
    ignore_besteffort: bool = True,
    vlans: bool = True,
    queues: Queues = DEFAULT_QUEUES,
) -> IOResult[Planning, G5kError]:
    """The embedded synthetic full-grid planning (API status + jobs answers) of the clusters of ``queues`` (the
    default queue unless told otherwise; None for every queue), by default over four weeks from its reference time
    (2026-03-24 10:00 Paris). The planning built is kept in the user cache, keyed by the data, the options and the
    code that builds it: the next identical request reads it back."""
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
    raws: list[bytes] = []
    for site in chosen:
        for what in ("status", "jobs"):
            raw = _embedded_raw(site, what)
            if isinstance(raw, Failure):
                return IOFailure(raw.failure())
            raws.append(raw.unwrap())
    options = {"sites": chosen, "start": begin, "end": finish, "ignore_besteffort": ignore_besteffort,
               "vlans": vlans}
    key = _planning_key(raws, options)
    cached = _cached_planning(key)
    if cached is not None:
        return _of_queues(IOSuccess(cached), queues)
    plannings = []
    for i, site in enumerate(chosen):
        status = _decoded(raws[2 * i], f"{site}_status.json.gz")
        jobs = _decoded(raws[2 * i + 1], f"{site}_jobs.json.gz")
        if isinstance(status, Failure):
            return IOFailure(status.failure())
        if isinstance(jobs, Failure):
            return IOFailure(jobs.failure())
        one = planning_from_api(site, status.unwrap(), begin, finish, jobs.unwrap(),
                                ignore_besteffort=ignore_besteffort, vlans=vlans)
        if isinstance(one, Failure):
            return IOFailure(one.failure())
        plannings.append(one.unwrap())
    merged = merge_plannings(plannings)
    if isinstance(merged, Success):
        _keep_planning(key, merged.unwrap())
    return _of_queues(IOResult.from_result(merged), queues)


def _of_queues(planning: IOResult[Planning, G5kError], queues: Queues) -> IOResult[Planning, G5kError]:
    """The planning restricted to the clusters of ``queues``, with the queue of each cluster outside the default
    one recorded, per the embedded reference snapshot."""
    return planning.bind(lambda p: load_embedded_snapshot().map(lambda snap: restrict_to_queues(p, snap, queues)))


# ------------------------------------------------------------------------------------------------------------
# Plans
# ------------------------------------------------------------------------------------------------------------


#: OAR database: every resource; ``maintenance``, ``vlan`` and ``subnet_address`` are Grid'5000 properties that a
#: plain OAR 2.5 schema lacks, read through ``to_jsonb`` so that the same query works on both.
SQL_RESOURCES = """
SELECT R.resource_id, R.type, R.network_address, R.state,
       to_jsonb(R) ->> 'maintenance', to_jsonb(R) ->> 'vlan', to_jsonb(R) ->> 'subnet_address'
FROM resources R
ORDER BY R.resource_id
""".strip()
#: Every (job, resource) pair of an active job: the scheduler's prediction (waiting jobs, reservations, running
#: jobs) and, for started jobs, the assigned resources; the start is the real one once the job has started.
SQL_JOB_RESOURCES = """
SELECT J.job_id, J.state, J.queue_name,
       CASE WHEN J.start_time > 0 THEN J.start_time ELSE GJP.start_time END AS start_time,
       MJD.moldable_walltime, GJR.resource_id,
       COALESCE((SELECT string_agg(T.type, ',' ORDER BY T.type) FROM job_types T
                 WHERE T.job_id = J.job_id AND T.types_index = 'CURRENT'), '') AS types
FROM jobs J
JOIN moldable_job_descriptions MJD ON MJD.moldable_job_id = J.job_id
JOIN gantt_jobs_predictions GJP ON GJP.moldable_job_id = MJD.moldable_id
JOIN gantt_jobs_resources GJR ON GJR.moldable_job_id = MJD.moldable_id
WHERE J.state IN %(states)s
UNION
SELECT J.job_id, J.state, J.queue_name, J.start_time, MJD.moldable_walltime, AR.resource_id,
       COALESCE((SELECT string_agg(T.type, ',' ORDER BY T.type) FROM job_types T
                 WHERE T.job_id = J.job_id AND T.types_index = 'CURRENT'), '') AS types
FROM jobs J
JOIN moldable_job_descriptions MJD ON MJD.moldable_id = J.assigned_moldable_job
JOIN assigned_resources AR ON AR.moldable_job_id = MJD.moldable_id AND AR.assigned_resource_index = 'CURRENT'
WHERE J.state IN %(states)s AND J.start_time > 0
ORDER BY 1, 6
""".strip()
OAR_ACTIVE_STATES = ("Waiting", "toLaunch", "toAckReservation", "Launching", "Running", "Suspended", "Resuming",
                     "Finishing")


def oardb_plans() -> tuple[SqlPlan, SqlPlan]:
    """The two read-only queries that read a site's planning from its OAR database."""
    from g5k.db import SqlPlan

    return (
        SqlPlan("usable resources (planning)", SQL_RESOURCES),
        SqlPlan("resources of active jobs (planning)", SQL_JOB_RESOURCES, {"states": OAR_ACTIVE_STATES}),
    )


def api_plans(conn: APIConnection, site: str) -> tuple[HttpPlan, HttpPlan]:
    """The Grid'5000 API requests reading one site's planning: its status, then its active jobs with resources
    (paged: ``offset`` is added page by page)."""
    return (
        conn.plan("GET", f"sites/{site}/status", {"disks": "no"}),
        conn.plan("GET", f"sites/{site}/jobs",
                  {"state": "waiting,launching,running", "resources": "yes", "limit": str(API_PAGE)}),
    )


def oarapi_plans(conn: APIConnection) -> tuple[HttpPlan, HttpPlan]:
    """The OAR REST API requests reading a site's planning: every resource, and the active jobs with details."""
    return (
        conn.plan("GET", "resources/details.json", {"limit": "1000000"}),
        conn.plan("GET", "jobs/details.json", {"state": ",".join(OAR_ACTIVE_STATES), "limit": "1000000"}),
    )


def _perform(conn: APIConnection, plan: HttpPlan) -> Result[Any, G5kError]:
    return performed(conn.perform(plan))


def _get_paged(conn: APIConnection, plan: HttpPlan) -> Result[Any, G5kError]:
    """A Grid'5000 API collection read page by page (offset/limit) until ``total`` items are read."""
    items: list[Any] = []
    while True:
        page = _perform(conn, evolve(plan, params=(*plan.params, ("offset", str(len(items))))))
        if isinstance(page, Failure):
            return page
        body = page.unwrap()
        batch = body.get("items") if isinstance(body, dict) else None
        total = body.get("total") if isinstance(body, dict) else None
        if not isinstance(batch, list) or not isinstance(total, int):
            return Failure(ParseError("paged collection", plan.url, str(body)[:200], "expected items and total"))
        items.extend(batch)
        if not batch or len(items) >= total:
            return Success({"items": items, "total": len(items)})


def _guarded(read: Callable[[str], Result[Planning, G5kError]]) -> Callable[[str], Result[Planning, G5kError]]:
    """``read`` with any exception turned into that site's error value, so that one site's surprise is reported
    as a failed site instead of escaping through the pool and losing every other site."""

    def run(site: str) -> Result[Planning, G5kError]:
        """One site's planning, or its error value."""
        try:
            return read(site)
        except Exception as exc:  # reported as this site's failure, never silently dropped
            return Failure(ParseError(f"the planning of site {site}", site, f"{type(exc).__name__}: {exc}",
                                      "an unexpected error while reading this site; the other sites are kept"))

    return run


def _parallel(sites: Sequence[str], read: Callable[[str], Result[Planning, G5kError]], *,
              one_endpoint: bool = False) -> IOResult[Planning, G5kError]:
    """Every site read in parallel; with ``one_endpoint`` (every site read from the same server), the first site
    is read alone first, and when that server cannot be reached the others are reported with the same error
    instead of each waiting for its own retries."""
    run = _guarded(read)
    results: list[Result[Planning, G5kError]] = []
    if one_endpoint and len(sites) > 1:
        results.append(run(sites[0]))
        if isinstance(results[0], Failure) and isinstance(results[0].failure(), Unreachable):
            results *= len(sites)
    if len(results) < len(sites):
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, max(1, len(sites)))) as pool:
            results += list(pool.map(run, sites[len(results):]))
    good = [r.unwrap() for r in results if isinstance(r, Success)]
    failed = [(site, r.failure()) for site, r in zip(sites, results, strict=True) if isinstance(r, Failure)]
    if not good:
        return IOFailure(Partial("reading the planning", (), failed))
    merged = merge_plannings(good)
    if isinstance(merged, Failure):
        return IOFailure(merged.failure())
    return IOSuccess(evolve(merged.unwrap(), failed_sites=tuple(failed)))


def sites_of_elements(elements: Sequence[str]) -> list[str]:
    """The sites holding ``elements`` per the embedded reference snapshot (grid5000: every site with clusters)."""
    loaded = load_embedded_snapshot()
    if isinstance(loaded, IOFailure):
        return [e for e in elements if e.isalpha() and e != "grid5000"]
    return list(snapshot_sites_of(performed(loaded).unwrap(), elements))


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
    api: APIConnection | None = None,
    oarapi: Mapping[str, APIConnection] | None = None,
    db_settings: DbSettings | None = None,
    queues: Queues = DEFAULT_QUEUES,
) -> IOResult[Planning, G5kError]:
    """The planning of ``elements`` (grid5000, sites, clusters, hosts) over [starttime, endtime] (default four
    weeks) from ``source``; ``out_of_chart`` periods are busy everywhere; failed sites are listed in the result.

    ``sites`` are the sites to read (default: the sites holding ``elements`` per the embedded reference snapshot,
    every site with clusters for grid5000).
    The api source reads through ``api``, the oarapi source through one connection per site (``oarapi``, site ->
    connection to its OAR REST API root), the oardb source through ``db_settings`` (g5k.db). ``queues``
    keeps the clusters of those OAR queues (default: the default queue; None: every queue) per the embedded
    reference snapshot, which also gives the queue of the jobs on the clusters kept (clusters it does not know are
    kept, in the default queue)."""
    if source not in SOURCES:
        return IOFailure(InvalidInput("source", str(source), " | ".join(SOURCES)))
    end = starttime + FOUR_WEEKS if endtime is None else endtime
    if end <= starttime:
        return IOFailure(InvalidInput("endtime", str(end), "after the start time"))
    wanted = tuple(elements)
    named = list(sites) if sites is not None else sites_of_elements(wanted)
    if source == "embedded":
        result = load_embedded_planning(sites, starttime, end, ignore_besteffort=ignore_besteffort, vlans=vlan,
                                        queues=queues)
    elif source == "api":
        if not named:
            return IOFailure(InvalidInput("sites", "()", "the sites to read (the Reference API lists them)"))
        from g5k.api import APIConnection

        conn = api or APIConnection()

        def read_api(site: str) -> Result[Planning, G5kError]:
            """One site's planning from its status and paged jobs."""
            status_plan, jobs_plan = api_plans(conn, site)
            return _perform(conn, status_plan).bind(
                lambda status: _get_paged(conn, jobs_plan).bind(
                    lambda jobs: planning_from_api(site, status, starttime, end, jobs, subnets=subnet,
                                                   storage=storage, ignore_besteffort=ignore_besteffort, vlans=vlan)))

        result = _parallel(named, read_api, one_endpoint=True)
    elif source == "oarapi":
        roots = dict(oarapi or {})
        if not roots:
            return IOFailure(InvalidInput("oarapi", "{}", "site -> connection to its OAR REST API"))

        def read_oarapi(site: str) -> Result[Planning, G5kError]:
            """One site's planning from its OAR REST API."""
            res_plan, jobs_plan = oarapi_plans(roots[site])
            return _perform(roots[site], res_plan).bind(
                lambda res: _perform(roots[site], jobs_plan).bind(
                    lambda jobs: planning_from_oar_rest(site, res, jobs, starttime, end,
                                                        ignore_besteffort=ignore_besteffort, vlans=vlan,
                                                        subnets=subnet)))

        result = _parallel(sorted(roots), read_oarapi)
    else:
        if not named:
            return IOFailure(InvalidInput("sites", "()", "the sites whose OAR database to read"))
        from g5k.db import DbSettings, run_plans

        settings = db_settings or DbSettings()

        def read_db(site: str) -> Result[Planning, G5kError]:
            """One site's planning from its OAR database."""
            rows = performed(run_plans(site, oardb_plans(), settings)).bind(lambda raw: oar_rows(site, raw))
            return rows.bind(lambda r: planning_from_oar_rows(site, r[0], r[1], starttime, end,
                                                              ignore_besteffort=ignore_besteffort, vlans=vlan,
                                                              subnets=subnet))

        result = _parallel(sorted(named), read_db)
    if source != "embedded":
        result = _of_queues(result, queues)
    periods = tuple(out_of_chart)
    return result.map(lambda p: add_busy_periods(restrict_planning(p, wanted), periods) if periods
                      else restrict_planning(p, wanted))


def oar_rows(
    site: str, raw: tuple[tuple[tuple[Any, ...], ...], ...]
) -> Result[tuple[tuple[OarResourceRow, ...], tuple[OarJobResourceRow, ...]], G5kError]:
    """Typed rows from the raw answers of :func:`oardb_plans` (resources, then job resources)."""
    try:
        res_raw, job_raw = raw
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
        return Failure(ParseError("OAR database rows", f"site {site}", str(exc)))
    return Success((resources, jobs))


def save_figure(figure: Figure, path: Path) -> IOResult[Path, G5kError]:
    """Write a figure to ``path`` (format from the suffix, e.g. .png/.svg/.pdf) through a temporary file and a
    rename, so that no half-written file is ever left; the directory is created if needed."""
    import matplotlib

    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        fmt = path.suffix.lstrip(".") or "png"
        extra: dict[str, Any] = {"pil_kwargs": {"compress_level": PNG_COMPRESSION}} if fmt == "png" else {}
        with matplotlib.rc_context({"text.hinting": TEXT_HINTING}):
            figure.savefig(tmp, format=fmt, **extra)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
        return IOSuccess(path)
    except (OSError, ValueError) as exc:
        return IOFailure(InvalidInput("output file", str(path), f"a writable path with a known image suffix ({exc})"))
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def get_job_by_name(job_name: str, frontends: Sequence[str | None] | None = None,
                    access: FrontendAccess | None = None, timeout: TimeoutArg = False) -> IOResult[OarJob, G5kError]:
    """The first current job named ``job_name`` (frontends in the order given, one oarstat each, in parallel)."""
    from g5k.oar import get_current_oar_jobs

    current = get_current_oar_jobs(frontends, access=access, timeout=timeout)
    if isinstance(current, IOFailure):
        return current
    jobs = performed(current).unwrap()
    found = find_job_by_name(jobs.infos, job_name)
    if isinstance(found, Failure):
        error: G5kError = found.failure()
        return IOFailure(error)
    index = jobs.infos.index(found.unwrap())
    return IOResult.from_value(jobs.jobs[index])
