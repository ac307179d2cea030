"""`g5k ref`: listings from the embedded snapshot, the live API (a real loopback server) and the cache."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from g5k.api import ReferenceCache
from g5k.cli.main import main
from g5k.reference_data import read_embedded_bytes

from tests.conftest import MemoryKeyring, memory_keyring_installed
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


# --- the configuration and the credentials: what --dry-run shows is what a run sends -----------------------------

SECRET = "Pa55-w0rd-never-shown"


@pytest.fixture
def ring() -> Iterator[MemoryKeyring]:
    with memory_keyring_installed() as backend:
        yield backend


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uri: str, user: str = "alice") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[g5k]\nlocation = "outside"\napi_uri = "{uri}"\napi_username = "{user}"\napi_timeout = 7\n')
    monkeypatch.setenv("G5K_CONFIG", str(path))
    for var in ("G5K_API_URI", "G5K_API_USERNAME", "G5K_API_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    return path


def dry_requests(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "ref", *argv, "--dry-run", "--json")
    assert code == 0, err
    assert SECRET not in out + err
    data: dict[str, Any] = json.loads(out)
    return data


def test_dry_run_uses_the_configuration_file(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch, ring: MemoryKeyring) -> None:
    write_config(tmp_path, monkeypatch, "https://api.example.org/3.0/")
    ring.set_password("grid5000_api", "alice", SECRET)
    data = dry_requests(capsys, "sites", "--live", "--cache-dir", str(tmp_path))
    assert data["requests"][1] == ("GET https://api.example.org/3.0/sites "
                                   "[basic auth as alice, TLS verified, timeout 7s]")
    cache = ReferenceCache(tmp_path, "https://api.example.org/3.0").path
    assert f"then write {cache} if the version changed" in data["plan"]
    data = dry_requests(capsys, "sites", "--cache", "--cache-dir", str(tmp_path))
    assert data["plan"] == [f"read {cache}"]


def test_explicit_options_override_the_configuration(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, ring: MemoryKeyring) -> None:
    write_config(tmp_path, monkeypatch, "https://api.example.org/3.0/")
    ring.set_password("grid5000_api", "bob", SECRET)
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    data = dry_requests(capsys, "refresh", "--api", "https://other.example.net/x", "--api-user", "bob",
                        "--timeout", "3", "--ca-bundle", str(bundle))
    assert data["requests"][0] == "GET https://other.example.net/x/ [basic auth as bob, TLS verified, timeout 3s]"
    assert dry_requests(capsys, "refresh", "--api", "https://other.example.net/x", "--user", "bob",
                        "--timeout", "3") == data
    code, _, err = run(capsys, "ref", "refresh", "--ca-bundle", str(tmp_path / "nowhere.pem"), "--dry-run")
    assert code == 1 and f"invalid --ca-bundle '{tmp_path / 'nowhere.pem'}'" in err


def test_ref_sites_on_the_embedded_data_loads_neither_the_api_adapter_nor_oar() -> None:
    import subprocess

    code = ("import contextlib, io, sys\nfrom g5k.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            "    assert main(['ref', 'sites']) == 0\n"
            "print(sorted(m for m in sys.modules if m in ('requests', 'g5k.api', 'g5k.config', 'g5kpure.oar')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_dry_run_with_a_user_says_the_password_will_be_asked(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             ring: MemoryKeyring) -> None:
    write_config(tmp_path, monkeypatch, "https://api.example.org/3.0/")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    data = dry_requests(capsys, "sites", "--auto", "--user", "LOGIN")
    assert data["requests"][0] == ("GET https://api.example.org/3.0/ [basic auth as LOGIN (password asked and "
                                   "checked before the first request), TLS verified, timeout 7s]")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    data = dry_requests(capsys, "sites", "--auto", "--user", "LOGIN")
    assert data["requests"][0].startswith("GET https://api.example.org/3.0/ [anonymous (no password for LOGIN: "
                                          "none in the keyring service grid5000_api and no terminal to ask)")


def test_a_bad_configuration_fails_live_but_not_embedded(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[g5k]\napi_timeout = 'soon'\n")
    monkeypatch.setenv("G5K_CONFIG", str(path))
    code, out, err = run(capsys, "ref", "sites", "--live", "--dry-run", "--json")
    assert code == 1 and json.loads(out)["error"] == "ConfigError" and "api_timeout" in err
    code, out, _ = run(capsys, "ref", "sites")
    assert code == 0 and "lyon" in out.split()


@pytest.mark.integration
def test_a_live_run_sends_what_its_dry_run_showed(capsys: pytest.CaptureFixture[str], server: ApiServer,
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  ring: MemoryKeyring) -> None:
    write_config(tmp_path, monkeypatch, server.base_uri)
    ring.set_password("grid5000_api", "alice", SECRET)
    server.state.auth = ("alice", SECRET)
    data = dry_requests(capsys, "sites", "--live", "--cache-dir", str(tmp_path))
    assert f"GET {server.base_uri}sites [basic auth as alice, TLS verified, timeout 7s]" in data["requests"]
    assert sum(server.state.hits.values()) == 0
    code, out, err = run(capsys, "ref", "sites", "--live", "--cache-dir", str(tmp_path))
    assert code == 0 and "from live" in err and len(out.split()) == 12
    assert server.state.seen_auth and all(a is not None and a.startswith("Basic ") for a in server.state.seen_auth)
    assert SECRET not in out + err
