"""OARGRID (legacy multi-site reservations) as values: oargridsub / oargriddel / oargridstat argv and parsers.

oargrid no longer runs on Grid'5000; these functions serve where an oargrid server exists. ``oarsubgrid``
(parallel oarsub, in the OAR adapter) is the modern path.

Commands are argv tuples, never a shell string: each value reaches oargridsub as one word, the braces of a
resource definition quoted as oargridsub expects them (:data:`BRACE_OPEN` / :data:`BRACE_CLOSE`). A comma in
a resource definition, property or name is refused (oargridsub would read it as an rdef separator); several
job types give several ``-t``, and a cluster takes one type at most. The oargridstat parsers accept CRLF and
any indentation, and return error values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import tzinfo

from attrs import frozen
from returns.iterables import Fold
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NotFound, ParseError
from g5kpure.oar.dates import (
    PARIS,
    Seconds,
    format_oar_date,
    format_seconds,
    oar_date_to_unixts,
    oar_duration_to_seconds,
    to_seconds,
    to_unixts,
)
from g5kpure.oar.submission import OarSubmission, option_words

#: How a brace of a resource definition reaches oargridsub (what its remote shell leaves of execo's quoting).
BRACE_OPEN = '{\\\\\\"'
BRACE_CLOSE = '\\\\\\"}'

_ALIAS_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def quote_braces(rdef: str) -> str:
    """The seed's oargrid workaround for SQL clauses inside braces: ``{a}`` -> ``{\\\\\\"a\\\\\\"}``."""
    return rdef.replace("{", BRACE_OPEN).replace("}", BRACE_CLOSE)


def _no_comma(what: str, value: str) -> Result[str, G5kError]:
    if "," in value:
        return Failure(InvalidInput(what, value, "no ',' (oargridsub reads a comma as a resource separator)"))
    if "\0" in value or "\n" in value:
        return Failure(InvalidInput(what, value, "a single line of text"))
    return Success(value)


def cluster_rdef(spec: OarSubmission, alias: str) -> Result[str, G5kError]:
    """One ``alias:rdef=...[:type=T][:prop=P][:name=N]`` element of an oargridsub command line."""
    if not _ALIAS_RE.match(alias):
        return Failure(InvalidInput("clusteralias", alias, "a cluster or site name (letters, digits, '-', '_')"))
    if not spec.resources:
        return Failure(InvalidInput("resources", "()", f"a resource definition for {alias} (e.g. nodes=2)"))
    if len(spec.job_type) > 1:
        return Failure(InvalidInput("job_type", " ".join(spec.job_type), "at most one job type per cluster"))
    options = (("type", spec.job_type[0] if spec.job_type else None), ("prop", spec.sql_properties),
               ("name", spec.name))
    return Result.do(
        f"{alias}:rdef={quote_braces(rdef)}" + "".join(suffixes)
        for rdef in _no_comma("resources", "+".join(spec.resources))
        for suffixes in Fold.collect(
            (_option_suffix(key, value) for key, value in options if value is not None), Success(())
        )
    )


def _option_suffix(key: str, value: str) -> Result[str, G5kError]:
    return _no_comma(key, value).map(lambda checked: f":{key}={checked}")


def _flag(flag: str, value: str | None) -> tuple[str, ...]:
    return () if value is None else (flag, value)


def _reservation_date(reservation_date: object, tz: tzinfo) -> Result[str | None, G5kError]:
    if reservation_date is None:
        return Success(None)
    return to_unixts(reservation_date, tz=tz).bind(lambda ts: format_oar_date(ts, tz=tz))


def _grid_walltime(walltime: object) -> Result[str | None, G5kError]:
    def at_least_one(seconds: Seconds) -> Result[str | None, G5kError]:
        if seconds < 1:
            return Failure(InvalidInput("walltime", repr(walltime), "at least 1 second"))
        return Success(format_seconds(int(seconds)))

    return Success(None) if walltime is None else to_seconds(walltime).bind(at_least_one)


def _cluster_rdefs(job_specs: Iterable[tuple[OarSubmission, str]]) -> Result[tuple[str, ...], G5kError]:
    def some(words: tuple[str, ...]) -> Result[tuple[str, ...], G5kError]:
        if not words:
            return Failure(InvalidInput("job_specs", "()", "at least one (OarSubmission, clusteralias) pair"))
        return Success(words)

    return Fold.collect((cluster_rdef(spec, alias) for spec, alias in job_specs), Success(())).bind(some)


def oargridsub_argv(
    job_specs: Iterable[tuple[OarSubmission, str]],
    reservation_date: object = None,
    walltime: object = None,
    job_type: str | Iterable[str] | None = None,
    queue: str | None = None,
    directory: str | None = None,
    additional_options: str | Iterable[str] | None = None,
    job_key_file: str | None = None,
    *,
    tz: tzinfo = PARIS,
) -> Result[tuple[str, ...], G5kError]:
    """The oargridsub argv for ``(OarSubmission, clusteralias)`` specs and the grid-wide options.

    Only resources, job_type, sql_properties and name of each submission are used (as in the seed).
    """
    # Each option is checked in command-line order; the first refused one is the error.
    types = Success((job_type,)) if isinstance(job_type, str) else option_words(job_type, "job_type")
    return Result.do(
        ("oargridsub", "-v", *_flag("-i", job_key_file), *_flag("-s", date), *_flag("-q", queue),
         *(word for t in type_words for word in ("-t", t)), *_flag("-w", wall), *_flag("-d", directory),
         *extra, ",".join(rdefs))
        for date in _reservation_date(reservation_date, tz)
        for type_words in types
        for wall in _grid_walltime(walltime)
        for extra in option_words(additional_options, "additional_options")
        for rdefs in _cluster_rdefs(job_specs)
    )


def _grid_id(grid_job_id: int) -> str:
    return str(int(grid_job_id))


def oargriddel_argv(grid_job_id: int) -> tuple[str, ...]:
    """The argv deleting one oargrid job."""
    return ("oargriddel", _grid_id(grid_job_id))


def oargridstat_list_argv() -> tuple[str, ...]:
    """The argv listing the current oargrid jobs."""
    return ("oargridstat",)


def oargridstat_info_argv(grid_job_id: int) -> tuple[str, ...]:
    """The argv describing one oargrid job (start date, walltime, user, its OAR jobs)."""
    return ("oargridstat", _grid_id(grid_job_id))


def oargridstat_nodes_argvs(grid_job_id: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The argv listing an oargrid job's nodes (``-w -l``), then the fallback without ``-w`` (older oargrid)."""
    gid = _grid_id(grid_job_id)
    return ("oargridstat", "-w", "-l", gid), ("oargridstat", "-l", gid)


def oargrid_job_key_path(user: str, grid_job_id: int) -> str:
    """Where oargrid leaves the ssh key of a grid job on the frontend."""
    return f"/tmp/oargrid/oargrid_ssh_key_{user}_{_grid_id(grid_job_id)}"


# ---------------------------------------------------------------------------------------------------------
# Parsers


@frozen
class OargridSubmitted:
    """What oargridsub answered: the grid job id, its ssh key path, and the (site, OAR job id) it created."""

    grid_job_id: int
    ssh_key: str | None
    oar_jobs: tuple[tuple[str, int], ...] = ()


_SUB_ID = re.compile(r"^\[OAR_GRIDSUB\] Grid reservation id\s*=\s*(\d+)\s*$", re.MULTILINE)
_SUB_KEY = re.compile(r"^\[OAR_GRIDSUB\] SSH KEY : (\S+)\s*$", re.MULTILINE)
_SUB_BATCH = re.compile(r"^\[OAR_GRIDSUB\] \[(\S+)\] Reservation success on \S+ : batchId = (\d+)\s*$", re.MULTILINE)


def parse_oargridsub_output(text: str) -> Result[OargridSubmitted, G5kError]:
    """The grid job id, ssh key path and per-cluster OAR jobs printed by oargridsub."""
    found = _SUB_ID.search(text)
    if found is None:
        last = next((ln for ln in reversed(text.splitlines()) if ln.strip()), "")
        return Failure(ParseError("oargridsub output", "no '[OAR_GRIDSUB] Grid reservation id = N' line", last,
                                  "the grid reservation was probably refused: read oargridsub's message"))
    key = _SUB_KEY.search(text)
    batches = tuple((m.group(1), int(m.group(2))) for m in _SUB_BATCH.finditer(text))
    return Success(OargridSubmitted(int(found.group(1)), key.group(1) if key else None, batches))


_STAT_LIST = re.compile(r"Reservation # (\d+):")


def parse_oargridstat_list(text: str) -> tuple[int, ...]:
    """The grid job ids listed by ``oargridstat`` (in order, without duplicates)."""
    return tuple(dict.fromkeys(int(m.group(1)) for m in _STAT_LIST.finditer(text)))


@frozen
class OargridJobInfo:
    """An oargrid job as oargridstat shows it: start (unix time), walltime (s), user, (OAR job id, alias) pairs."""

    grid_job_id: int | None
    start_date: int
    walltime: int
    user: str
    oar_jobs: tuple[tuple[int, str], ...]

    @property
    def end_date(self) -> int:
        """The unix time at which the grid job ends."""
        return self.start_date + self.walltime


_INFO_START = re.compile(r"start date\s*:\s*(\d\d\d\d-\d\d-\d\d \d\d:\d\d:\d\d)")
_INFO_WALL = re.compile(r"walltime\s*:\s*(\d+:\d?\d:\d?\d)")
_INFO_USER = re.compile(r"user\s*:\s*(\S+)")
_INFO_JOB = re.compile(r"^\s+(\S+) --> (\d+)", re.MULTILINE)


def parse_oargridstat_jobs(text: str) -> tuple[tuple[int, str], ...]:
    """The (OAR job id, cluster alias) pairs of an ``oargridstat ID`` output."""
    return tuple(dict.fromkeys((int(m.group(2)), m.group(1)) for m in _INFO_JOB.finditer(text)))


def parse_oargridstat_info(text: str, *, tz: tzinfo = PARIS) -> Result[OargridJobInfo, G5kError]:
    """Start date, walltime, user and OAR jobs of an ``oargridstat ID`` output (dates in ``tz``)."""
    start, wall, user = _INFO_START.search(text), _INFO_WALL.search(text), _INFO_USER.search(text)
    for what, match in (("start date", start), ("walltime", wall), ("user", user)):
        if match is None:
            return Failure(ParseError("oargridstat output", f"no '{what} : ...' line", text.strip()[:200]))
    assert start is not None and wall is not None and user is not None
    grid = _STAT_LIST.search(text)
    return Result.do(
        OargridJobInfo(
            grid_job_id=int(grid.group(1)) if grid else None,
            start_date=int(ts),
            walltime=int(seconds),
            user=user.group(1),
            oar_jobs=parse_oargridstat_jobs(text),
        )
        for ts in oar_date_to_unixts(start.group(1), tz=tz)
        for seconds in oar_duration_to_seconds(wall.group(1))
    )


def oar_jobs_by_site(
    oar_jobs: Iterable[tuple[int, str]], sites: Iterable[str], cluster_site: Mapping[str, str]
) -> Result[tuple[tuple[int, str], ...], G5kError]:
    """(OAR job id, site) pairs: an alias that is a site stays, a cluster alias becomes its site, else an error."""
    known = frozenset(sites)
    pairs: list[tuple[int, str]] = []
    for job_id, alias in oar_jobs:
        if alias in known:
            pairs.append((job_id, alias))
        elif alias in cluster_site:
            pairs.append((job_id, cluster_site[alias]))
        else:
            return Failure(NotFound("site or cluster", alias, "the oargrid alias is neither a known site nor cluster"))
    return Success(tuple(pairs))


_NODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*-\d+(?:-[A-Za-z0-9_]+)*(?:\.[A-Za-z0-9-]+)*$")


def parse_oargridstat_nodes(text: str) -> tuple[str, ...]:
    """The node names (``cluster-N[.site...]``) printed by ``oargridstat -w -l ID``, sorted, without duplicates."""
    return tuple(sorted({w for w in text.split() if _NODE.match(w)}))
