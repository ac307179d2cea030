"""g5k.planning: the embedded data, and the Grid'5000 API source against a real HTTP server on loopback
serving the captured status and jobs answers (paged like the API, with a failing site)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from g5k.api import APIConnection
from g5k.planning import (
    FOUR_WEEKS,
    _parallel,
    get_planning,
    load_embedded_planning,
    oar_rows,
    sites_of_elements,
)
from g5k.results import performed
from returns.io import IOFailure
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NotFound, ParseError, Partial
from g5kpure.planning import Planning, planning_from_api
from g5kpure.reference import RetryPolicy
from tests.conftest import FIXTURES_DIR, serving_json

FIXTURES = FIXTURES_DIR / "planning"
T0 = 1774342800


def test_embedded_planning_one_site() -> None:
    planning = performed(load_embedded_planning(["lyon"])).unwrap()
    assert (planning.start, planning.end) == (T0, T0 + FOUR_WEEKS)
    assert planning.sites == ("lyon",) and len(planning.hosts) == 69  # no dead node in lyon
    assert {r.kind for r in planning.vlans()} == {"kavlan-local", "kavlan", "kavlan-global"}


def test_embedded_planning_unknown_site() -> None:
    got = load_embedded_planning(["atlantis"])
    assert isinstance(got, IOFailure)
    error = performed(got).failure()
    assert isinstance(error, NotFound) and "atlantis" in error.message and "lyon" in error.message


def test_get_planning_embedded_restricts_elements_and_adds_busy_periods() -> None:
    got = get_planning(["nova", "taurus-1.lyon.grid5000.fr"], source="embedded", starttime=T0,
                       out_of_chart=[(T0 + 3600, T0 + 7200)])
    planning = performed(got).unwrap()
    assert {h.cluster for h in planning.hosts} == {"nova", "taurus"}
    assert [h.host for h in planning.hosts if h.cluster == "taurus"] == ["taurus-1.lyon.grid5000.fr"]
    assert all(any(s <= T0 + 3600 and e >= T0 + 7200 for s, e in h.busy) for h in planning.hosts)


def test_get_planning_refuses_bad_arguments() -> None:
    bad_source = performed(get_planning(source="ftp", starttime=T0)).failure()  # type: ignore[arg-type]
    assert isinstance(bad_source, InvalidInput) and "embedded | api | oardb | oarapi" in bad_source.message
    bad_end = performed(get_planning(source="embedded", starttime=T0, endtime=T0)).failure()
    assert isinstance(bad_end, InvalidInput)
    no_sites = performed(get_planning(["atlantis"], source="api", starttime=T0)).failure()
    assert isinstance(no_sites, InvalidInput) and no_sites.name == "sites"


def test_sites_of_elements_from_the_reference() -> None:
    every = sites_of_elements(["grid5000"])
    assert len(every) == 11 and "bordeaux" not in every  # bordeaux has no cluster
    assert sites_of_elements(["nova", "gros-1.nancy.grid5000.fr", "rennes", "atlantis"]) == ["lyon", "nancy", "rennes"]


def test_oar_rows_bad_rows_are_parse_errors() -> None:
    got = oar_rows("rennes", (((1, "default", "x", "Alive", None, None, None),), (("x",),)))
    assert isinstance(got, Failure) and isinstance(got.failure(), ParseError)
    ok = oar_rows("rennes", (((1, "default", "nova-1.lyon.grid5000.fr", "Alive", None, "4", None),),
                             ((7, "Running", "default", 10, 20, 1, "deploy,night"),)))
    resources, jobs = ok.unwrap()
    assert resources[0].maintenance == "NO" and resources[0].vlan == "4"
    assert jobs[0].types == ("deploy", "night") and jobs[0].walltime == 20


def load_gz(name: str) -> Any:
    return json.loads(gzip.decompress((FIXTURES / name).read_bytes()))


class Api:
    """Serves /sites/lille/status and paged /sites/lille/jobs; every other site answers 500."""

    def __init__(self) -> None:
        self.status = load_gz("lille_status.json.gz")
        self.jobs = load_gz("lille_jobs.json.gz")["items"]
        self.requests: list[str] = []


@pytest.fixture()
def api() -> Iterator[tuple[Api, str]]:
    state = Api()

    def answer(path: str) -> Any:
        url = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        state.requests.append(path)
        if url.path == "/stable/sites/lille/status":
            return state.status
        if url.path == "/stable/sites/broken/status":  # a node whose reservations is a number
            return {"nodes": {"chiclet-1.broken.grid5000.fr": {"hard": "alive", "reservations": 3}}}
        if url.path == "/stable/sites/broken/jobs":
            return {"total": 0, "offset": 0, "items": []}
        if url.path == "/stable/sites/lille/jobs":
            offset, limit = int(query.get("offset", 0)), min(int(query.get("limit", 50)), 100)
            return {"total": len(state.jobs), "offset": offset, "items": state.jobs[offset:offset + limit],
                    "links": []}
        return None  # every other site: 500

    with serving_json(answer) as base:
        yield state, f"{base}/stable"


def test_api_source_pages_jobs_and_reports_failing_site(api: tuple[Api, str]) -> None:
    state, base = api
    conn = APIConnection(base, use_keyring=False, retry=RetryPolicy(max_attempts=1))
    got = get_planning(["grid5000"], source="api", starttime=T0, sites=["lille", "nowhere"], api=conn)
    planning = performed(got).unwrap()
    expected = planning_from_api("lille", state.status, T0, T0 + FOUR_WEEKS, {"items": state.jobs}).unwrap()
    assert planning.hosts == expected.hosts and planning.hosts
    assert [site for site, _ in planning.failed_sites] == ["nowhere"]
    assert isinstance(planning.failed_sites[0][1], G5kError) and "500" in planning.failed_sites[0][1].message
    pages = [r for r in state.requests if r.startswith("/stable/sites/lille/jobs")]
    assert len(pages) == -(-len(state.jobs) // 100) and "offset=100" in pages[1]
    assert all("state=waiting%2Claunching%2Crunning" in p or "state=waiting,launching,running" in p for p in pages)


def test_api_source_malformed_site_is_a_reported_failed_site(api: tuple[Api, str]) -> None:
    _, base = api
    conn = APIConnection(base, use_keyring=False, retry=RetryPolicy(max_attempts=1))
    got = get_planning(["grid5000"], source="api", starttime=T0, sites=["lille", "broken"], api=conn)
    planning = performed(got).unwrap()
    assert planning.sites == ("lille",) and [site for site, _ in planning.failed_sites] == ["broken"]
    error = planning.failed_sites[0][1]
    assert isinstance(error, ParseError)
    assert error.where == "broken.status.nodes['chiclet-1.broken.grid5000.fr'].reservations" and error.line == "3"


def test_parallel_turns_a_surprise_into_a_failed_site() -> None:
    good = performed(load_embedded_planning(["lille"], T0, T0 + 3600)).unwrap()

    def read(site: str) -> Result[Planning, G5kError]:
        if site == "lille":
            return Success(good)
        raise KeyError("surprise")

    planning = performed(_parallel(["lille", "nancy"], read)).unwrap()
    assert planning.hosts == good.hosts
    ((site, error),) = planning.failed_sites
    assert site == "nancy" and isinstance(error, ParseError) and "KeyError: 'surprise'" in error.message


def test_api_source_every_site_failing_is_partial(api: tuple[Api, str]) -> None:
    _, base = api
    conn = APIConnection(base, use_keyring=False, retry=RetryPolicy(max_attempts=1))
    error = performed(get_planning(source="api", starttime=T0, sites=["x", "y"], api=conn)).failure()
    assert isinstance(error, Partial) and [site for site, _ in error.failed] == ["x", "y"]


def test_get_planning_queues_from_the_reference() -> None:
    default = performed(get_planning(source="embedded", starttime=T0, queues="default")).unwrap()
    every = performed(get_planning(source="embedded", starttime=T0, queues=None)).unwrap()
    clusters = {h.cluster for h in default.hosts}
    assert "nova" in clusters and "abacus1" not in clusters
    assert {h.cluster for h in every.hosts} > clusters
    assert len(default.hosts) == 528 and len(every.hosts) == 923
    # the library plans the default queue unless told otherwise, as `g5k plan` does
    assert performed(get_planning(source="embedded", starttime=T0)).unwrap() == default
    assert performed(load_embedded_planning(vlans=False)).unwrap() == default
    # the queue of the jobs on clusters outside the default queue is recorded; none with the default queue
    assert default.cluster_queues == ()
    queues = dict(every.cluster_queues)
    assert queues["abacus1"] == queues["grele"] == "production" and queues["ramstein"] == "testing"
    assert "nova" not in queues
    production = performed(get_planning(source="embedded", starttime=T0, queues="production")).unwrap()
    assert {h.cluster for h in production.hosts} == {c for c, q in every.cluster_queues if q == "production"}


def test_save_figure_atomic(tmp_path: Path) -> None:
    from g5k.planning import save_figure
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot(1, 1, 1).plot([0, 1], [1, 0])
    target = tmp_path / "deep" / "plot.svg"
    assert performed(save_figure(fig, target)).unwrap() == target
    assert target.read_text().lstrip().startswith("<?xml") and (target.stat().st_mode & 0o777) == 0o644
    bad = save_figure(fig, tmp_path / "plot.nosuchformat")
    assert isinstance(bad, IOFailure)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep"]
