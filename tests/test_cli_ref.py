"""`g5k ref`: listings from the embedded snapshot, the live API (a real loopback server) and the cache."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from adapters.reference_data import read_embedded_bytes
from tests.fixtures.g5k_api.api_server import ApiServer, ApiState

V1 = "a" * 40


@pytest.fixture(scope="module")
def deep() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read_embedded_bytes().unwrap())
    return data


@pytest.fixture
def server(deep: dict[str, Any]) -> Iterator[ApiServer]:
    with ApiServer(ApiState(copy.deepcopy(deep), V1)) as srv:
        yield srv


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sites_from_the_embedded_snapshot(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ref", "sites")
    assert code == 0
    assert out.split() == ["bordeaux", "grenoble", "lille", "louvain", "luxembourg", "lyon", "nancy", "nantes",
                           "rennes", "sophia", "strasbourg", "toulouse"]
    assert "reference data from embedded (version 9ebe1b1e12d4)" in err


def test_clusters_with_queue_filter_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ref", "clusters", "lyon", "--queues", "default", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["source"] == "embedded" and "nova" in data["clusters"] and data["site"] == "lyon"
    code, out, _ = run(capsys, "ref", "clusters", "--queues", "testing")
    assert out.split() == ["engelbourg", "ramstein"]


def test_hosts_of_a_cluster_as_ranges(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ref", "hosts", "nova", "--ranges")
    assert code == 0
    assert out.strip() == "nova-[1,4-19,21-23].lyon.grid5000.fr"
    code, out, _ = run(capsys, "ref", "hosts", "lyon")
    assert len(out.split()) == 69


def test_show_any_element(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ref", "show", "nova-1-kavlan-4.lyon.grid5000.fr")
    assert code == 0 and json.loads(out)["uid"] == "nova-1"
    code, out, _ = run(capsys, "ref", "show", "gw", "--site", "lyon")
    assert json.loads(out)["kind"] == "router"
    code, out, err = run(capsys, "ref", "show", "gw")
    assert code == 1 and "ambiguous, give the site" in err


def test_unknown_element_fails_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ref", "hosts", "unicorn")
    assert code == 1
    assert "cluster 'unicorn' not found" in err
    code, out, err = run(capsys, "ref", "clusters", "atlantis", "--json")
    assert code == 1 and json.loads(out)["error"] == "NotFound"


def test_cache_without_refresh_fails_and_says_what_to_do(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "ref", "sites", "--cache", "--cache-dir", str(tmp_path))
    assert code == 1
    assert "g5k ref refresh" in err


@pytest.mark.integration
def test_refresh_then_live_and_cache(capsys: pytest.CaptureFixture[str], server: ApiServer, tmp_path: Path) -> None:
    api = ["--api", server.base_uri, "--cache-dir", str(tmp_path)]
    del server.state.deep["sites"]["lyon"]["clusters"]["nova"]
    code, out, _ = run(capsys, "ref", "refresh", *api, "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["version"] == V1 and summary["hosts"] == 939 - 20 and summary["notes"] == ["no cache yet: fetched"]
    code, out, err = run(capsys, "ref", "clusters", "lyon", "--live", *api)
    assert "nova" not in out.split() and "taurus" in out.split()
    assert "from live" in err and "cache is current" in err
    code, out, err = run(capsys, "ref", "clusters", "lyon", "--cache", *api)
    assert "nova" not in out.split() and "from cache" in err
    server.httpd.shutdown()
    server.httpd.server_close()
    code, out, err = run(capsys, "ref", "sites", "--auto", *api, "--timeout", "0.5")
    assert code == 0 and "from cache" in err and "API unavailable" in err


@pytest.mark.integration
def test_dry_run_prints_the_requests_and_sends_nothing(
    capsys: pytest.CaptureFixture[str], server: ApiServer, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "ref", "refresh", "--api", server.base_uri, "--cache-dir", str(tmp_path), "--dry-run")
    assert code == 0
    assert f"GET {server.base_uri}sites/SITE?deep=true" in out
    assert sum(server.state.hits.values()) == 0
    assert list(tmp_path.iterdir()) == []
