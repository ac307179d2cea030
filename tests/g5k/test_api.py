"""g5k.api against a real HTTP server on loopback: shapes, faults, retries, TLS, cache, secrets, metrics."""

from __future__ import annotations

import copy
import gzip
import json
import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from attrs import evolve
from g5k.api import (
    APIConnection,
    Loaded,
    ReferenceCache,
    Secret,
    Source,
    ask_password,
    crawl,
    crawl_plan,
    get_cluster_hosts,
    get_g5k_sites,
    get_host_attributes,
    get_hosts_metric,
    get_site_clusters,
    load_reference,
    refresh,
    site_uids,
)
from g5k.cli.main import main
from g5k.reference_data import read_embedded_bytes
from g5k.results import performed
from returns.io import IOFailure, IOSuccess
from returns.result import Failure, Success

from g5kpure.config import Config, Location, Place
from g5kpure.errors import (
    AuthError,
    G5kError,
    HttpError,
    InvalidInput,
    NotFound,
    ParseError,
    Partial,
    Timeout,
    Unreachable,
)
from g5kpure.reference import RetryPolicy, parse_retry_after, retry_delay
from tests.conftest import MemoryKeyring, isolate, memory_keyring_installed
from tests.fixtures.g5k_api.api_server import ApiServer, ApiState

pytestmark = pytest.mark.integration

V1 = "1" * 40
V2 = "2" * 40
PASSWORD = "S3cr3t-pa55-Xyz!"


def ok(result: Any) -> Any:
    assert isinstance(result, IOSuccess), result
    return performed(result).unwrap()


def err(result: Any) -> G5kError:
    assert isinstance(result, IOFailure), result
    error: G5kError = performed(result).failure()
    return error


@pytest.fixture(scope="module")
def deep() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read_embedded_bytes().unwrap())
    return data


@pytest.fixture
def server(deep: dict[str, Any]) -> Iterator[ApiServer]:
    with ApiServer(ApiState(copy.deepcopy(deep), V1)) as srv:
        yield srv


class Sleeps:
    """Records the back-off delays instead of sleeping them (the HTTP exchanges stay real)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def connect(server: ApiServer, sleeps: Sleeps | None = None, **kw: Any) -> APIConnection:
    return APIConnection(server.base_uri, sleep=sleeps or Sleeps(), use_keyring=False, **kw)


# --- shapes ----------------------------------------------------------------------------------------------------


def test_get_decodes_the_api_shapes(server: ApiServer) -> None:
    with connect(server) as conn:
        assert ok(conn.get(""))["version"] == V1
        sites = ok(conn.get("/sites"))
        assert sites["total"] == 12 and sites["items"][5]["uid"] == "lyon"
        assert ok(conn.get("sites/lyon/clusters/nova/nodes/nova-1"))["architecture"]["nb_cores"] == 16
        assert len(ok(conn.get("sites/lyon/clusters/nova/nodes"))["items"]) == 20
        assert "clusters" in ok(conn.get("sites/lyon", {"deep": "true"}))
        assert "clusters" not in ok(conn.get("sites/lyon"))
        assert ok(conn.get("sites/lyon/network_equipments/gw"))["kind"] == "router"
        missing = err(conn.get("sites/atlantis"))
        assert isinstance(missing, NotFound)
        assert "Cannot find resource" in missing.message


def test_additional_args_are_sent_with_every_request(server: ApiServer) -> None:
    with connect(server, additional_args={"deep": "true"}) as conn:
        assert "clusters" in ok(conn.get("sites/lyon"))
        assert conn.additional_args == (("deep", "true"),)
    plan = conn.plan("GET", "sites", {"branch": "testing"})
    assert plan.describe().startswith(f"GET {server.base_uri}sites?deep=true&branch=testing [anonymous")


def test_post_sends_json_and_is_never_retried(server: ApiServer) -> None:
    sleeps = Sleeps()
    server.state.add_fault("/stable/sites/lyon", "status", 503, None)
    with connect(server, sleeps) as conn:
        error = err(conn.post("sites/lyon", {"command": "sleep 1"}))
    assert isinstance(error, HttpError) and error.status == 503 and error.method == "POST"
    assert sleeps.delays == []
    assert server.state.hits["/stable/sites/lyon"] == 1


# --- faults and retries ----------------------------------------------------------------------------------------


def test_500_then_success_is_retried_with_exponential_back_off(server: ApiServer) -> None:
    sleeps = Sleeps()
    for _ in range(3):
        server.state.add_fault("/stable/sites", "status", 500, None)
    with connect(server, sleeps, retry=RetryPolicy(max_attempts=5, base_delay=0.5)) as conn:
        assert ok(conn.get("sites"))["total"] == 12
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert server.state.hits["/stable/sites"] == 4


def test_503_with_retry_after_is_honoured(server: ApiServer) -> None:
    sleeps = Sleeps()
    server.state.add_fault("/stable/sites", "status", 503, 7)
    with connect(server, sleeps) as conn:
        assert ok(conn.get("sites"))["total"] == 12
    assert sleeps.delays == [7.0]


def test_429_is_retried_then_gives_up_with_the_status(server: ApiServer) -> None:
    sleeps = Sleeps()
    for _ in range(10):
        server.state.add_fault("/stable/sites", "status", 429, 2)
    with connect(server, sleeps, retry=RetryPolicy(max_attempts=3)) as conn:
        error = err(conn.get("sites"))
    assert isinstance(error, HttpError) and error.status == 429
    assert sleeps.delays == [2.0, 2.0]
    assert server.state.hits["/stable/sites"] == 3


def test_retries_are_bounded_in_time(server: ApiServer) -> None:
    sleeps = Sleeps()
    for _ in range(10):
        server.state.add_fault("/stable/sites", "status", 503, 100)
    with connect(server, sleeps, retry=RetryPolicy(max_attempts=10, total_budget=60)) as conn:
        error = err(conn.get("sites"))
    assert isinstance(error, HttpError) and error.status == 503
    assert sleeps.delays == []  # waiting 100 s would exceed the 60 s budget: give up at once
    assert server.state.hits["/stable/sites"] == 1


def test_401_is_an_auth_error_and_not_retried(server: ApiServer) -> None:
    sleeps = Sleeps()
    server.state.auth = ("alice", "right")
    with connect(server, sleeps, username="alice", password="wrong") as conn:
        error = err(conn.get("sites"))
    assert isinstance(error, AuthError)
    assert "401" in error.message
    assert sleeps.delays == []
    with connect(server, sleeps, username="alice", password="right") as conn:
        assert ok(conn.get("sites"))["total"] == 12


def test_slow_answer_past_the_timeout_is_a_timeout_and_no_retry_sleeps_past_it(server: ApiServer) -> None:
    sleeps = Sleeps()
    for _ in range(2):
        server.state.add_fault("/stable/sites", "slow", 1.5)
    with connect(server, sleeps, timeout=0.3, retry=RetryPolicy(max_attempts=2)) as conn:
        error = err(conn.get("sites"))
    assert isinstance(error, Timeout)
    assert error.after_s == 0.3 and error.during == "waiting for the answer"
    assert "timed out after 0.3s while waiting for the answer" in error.message
    assert sleeps.delays == []  # the timeout is the budget of the whole call: no retry after it
    assert server.state.hits["/stable/sites"] == 1


def test_a_retry_happens_only_when_it_fits_in_the_budget(server: ApiServer) -> None:
    sleeps = Sleeps()
    server.state.add_fault("/stable/sites", "status", 503, 2)
    with connect(server, sleeps, timeout=1.0) as conn:
        error = err(conn.get("sites"))  # waiting 2 s would end past the 1 s budget
    assert isinstance(error, HttpError) and error.status == 503
    assert sleeps.delays == []
    server.state.add_fault("/stable/sites", "status", 503, 2)
    with connect(server, sleeps, timeout=30.0) as conn:
        assert ok(conn.get("sites"))["total"] == 12
    assert sleeps.delays == [2.0]


def test_dripping_body_ends_at_the_deadline(server: ApiServer) -> None:
    server.state.add_fault("/stable/sites", "drip", 0.2)
    started = time.monotonic()
    with connect(server, timeout=1.5, retry=RetryPolicy(max_attempts=3)) as conn:
        error = err(conn.get("sites"))
    assert time.monotonic() - started < 1.5 + 2
    assert isinstance(error, Timeout) and error.after_s == 1.5
    assert error.during.startswith("reading the answer (") and "bytes received" in error.during


def test_answer_cut_mid_body_is_a_read_error_not_an_unreachable_host(server: ApiServer) -> None:
    for _ in range(3):
        server.state.add_fault("/stable/sites", "cut")
    with connect(server, retry=RetryPolicy(max_attempts=2)) as conn:
        error = err(conn.get("sites"))
    assert isinstance(error, Unreachable)
    assert error.during.startswith("reading the answer of GET ") and "bytes received" in error.during
    assert error.message.startswith(f"connection to {error.host} lost after ")
    assert "ProxyJump" not in error.message and "is unreachable" not in error.message
    assert server.state.hits["/stable/sites"] == 2  # a GET cut short is retried


def test_a_name_that_does_not_resolve_is_not_retried() -> None:
    sleeps = Sleeps()
    with APIConnection("http://no-such-host.invalid/stable/", sleep=sleeps, use_keyring=False,
                       retry=RetryPolicy(max_attempts=3)) as conn:
        error = err(conn.get("sites"))
    assert isinstance(error, Unreachable)
    assert error.detail == "name not resolved (no network?)" and error.during == ""
    assert "api_uri" in error.fix and "ProxyJump" not in error.message
    assert sleeps.delays == []


def test_timeout_none_means_no_limit(server: ApiServer) -> None:
    server.state.add_fault("/stable/sites", "slow", 0.5)
    with connect(server, timeout=None) as conn:
        assert "no timeout" in conn.plan("GET", "sites").describe()
        assert ok(conn.get("sites"))["total"] == 12


def test_truncated_json_is_a_parse_error(server: ApiServer) -> None:
    server.state.add_fault("/stable/sites/lyon", "truncated")
    with connect(server) as conn:
        error = err(conn.get("sites/lyon"))
    assert isinstance(error, ParseError)
    assert "truncated or invalid JSON" in error.message


def test_wrong_content_type_is_a_parse_error(server: ApiServer) -> None:
    server.state.add_fault("/stable/sites", "content_type", "text/html")
    with connect(server) as conn:
        error = err(conn.get("sites"))
    assert isinstance(error, ParseError)
    assert "text/html" in error.message


def test_connection_refused_is_unreachable_after_retries() -> None:
    sleeps = Sleeps()
    with APIConnection("http://127.0.0.1:9/stable/", sleep=sleeps, use_keyring=False,
                       retry=RetryPolicy(max_attempts=3)) as conn:
        error = err(conn.get("sites"))
    assert isinstance(error, Unreachable)
    assert error.host == "127.0.0.1:9" and error.detail == "connection refused" and error.during == ""
    assert "ProxyJump" not in error.message
    assert sleeps.delays == [0.5, 1.0]


def test_retry_helpers() -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=1, max_delay=3, total_budget=10)
    assert [retry_delay(policy, a, 0, None) for a in (1, 2, 3, 4)] == [1, 2, 3, None]
    assert retry_delay(policy, 1, 9.5, None) is None
    assert parse_retry_after("12", 0) == 12.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", 1445412480) == 10.0
    assert parse_retry_after("soon", 0) is None


# --- TLS -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


def test_tls_is_verified_by_default(deep: dict[str, Any], certificate: tuple[str, str]) -> None:
    sleeps = Sleeps()
    with ApiServer(ApiState(deep, V1), tls=certificate) as srv:
        with APIConnection(srv.base_uri, sleep=sleeps, use_keyring=False) as conn:
            error = err(conn.get(""))
        assert isinstance(error, Unreachable) and "TLS verification failed" in error.message
        assert sleeps.delays == []  # not retried
        with APIConnection(srv.base_uri, verify=certificate[0], use_keyring=False) as conn:
            assert ok(conn.get(""))["version"] == V1
        with APIConnection(srv.base_uri, verify=False, use_keyring=False) as conn:
            assert "TLS NOT verified" in conn.plan("GET", "").describe()
            with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
                assert ok(conn.get(""))["version"] == V1


# --- credentials and secrets -----------------------------------------------------------------------------------


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with memory_keyring_installed() as backend:
        yield backend


def test_password_comes_from_the_keyring_service_grid5000_api(
    server: ApiServer, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.set_password("grid5000_api", "alice", PASSWORD)
    server.state.auth = ("alice", PASSWORD)
    with APIConnection(server.base_uri, username="alice", sleep=Sleeps()) as conn:
        assert conn.has_credentials
        assert ok(conn.get("sites"))["total"] == 12
    with APIConnection(server.base_uri, username="bob", sleep=Sleeps()) as conn:
        assert not conn.has_credentials
        assert isinstance(err(conn.get("sites")), AuthError)


def test_password_never_appears_in_logs_reprs_errors_or_plans(
    server: ApiServer, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    server.state.auth = ("alice", PASSWORD)
    seen: list[str] = []
    with APIConnection(server.base_uri, username="alice", password=PASSWORD, sleep=Sleeps()) as conn:
        assert ok(conn.get("sites"))["total"] == 12
        seen += [repr(conn), str(conn), repr(vars(conn)), repr(conn.plan("POST", "sites", {"a": "1"}))]
        seen.append(conn.plan("POST", "sites/lyon/jobs", body={"command": "true"}).describe())
        server.state.add_fault("/stable/sites", "status", 500, None)
        server.state.add_fault("/stable/sites", "status", 500, None)
        server.state.add_fault("/stable/sites", "status", 500, None)
        server.state.add_fault("/stable/sites", "status", 500, None)
        failure = err(conn.get("sites"))
        seen += [repr(failure), failure.message]
        loaded = load_reference(Source.LIVE, conn, ReferenceCache(tmp_path, conn.base_uri))
        seen.append(repr(loaded))
        seen += [repr(plan) for plan in crawl_plan(conn, ("lyon",))]
    with APIConnection(server.base_uri, username="alice", password="not-" + PASSWORD, sleep=Sleeps()) as bad:
        auth_error = err(bad.get("sites"))
        seen += [repr(auth_error), auth_error.message, repr(bad)]
    seen += [caplog.text, repr(Secret(PASSWORD)), str(Secret(PASSWORD)), f"{Secret(PASSWORD)}"]
    for record in caplog.records:
        seen.append(record.getMessage())
    cache_file = (tmp_path / next(p.name for p in tmp_path.iterdir() if p.suffix == ".gz")).read_bytes()
    seen.append(gzip.decompress(cache_file).decode())
    joined = "\n".join(seen)
    assert "alice" in joined  # the user name may show
    assert PASSWORD not in joined
    assert server.state.seen_auth[0] is not None  # but the password was sent


# --- the cache -------------------------------------------------------------------------------------------------


def test_version_change_triggers_a_refresh(server: ApiServer, tmp_path: Path) -> None:
    cache = ReferenceCache(tmp_path, server.base_uri)
    with connect(server) as conn:
        first = ok(refresh(conn, cache))
        assert first.source is Source.LIVE and first.notes == ("no cache yet: fetched",)
        assert first.snapshot.version == V1
        assert server.state.hits["/stable/sites/lyon?deep"] == 1
        again = ok(refresh(conn, cache))
        assert again.notes[0].startswith("cache is current")
        assert server.state.hits["/stable/sites/lyon?deep"] == 1  # no crawl
        server.state.version = V2
        del server.state.deep["sites"]["lyon"]["clusters"]["nova"]
        changed = ok(refresh(conn, cache))
        assert changed.notes[0].startswith(f"cache version {V1[:12]} differs from live {V2[:12]}")
        assert "nova" not in changed.snapshot.clusters("lyon").unwrap()
        assert changed.snapshot.version == V2
    cached = ok(load_reference(Source.CACHE, cache=cache))
    assert cached.source is Source.CACHE and cached.snapshot.version == V2
    assert "nova" not in cached.snapshot.clusters("lyon").unwrap()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong layout", "bad data"])
def test_corrupt_cache_is_reported_and_replaced(server: ApiServer, tmp_path: Path, damage: str) -> None:
    cache = ReferenceCache(tmp_path, server.base_uri)
    with connect(server) as conn:
        ok(refresh(conn, cache))
        good = cache.path.read_bytes()
        if damage == "garbage":
            cache.path.write_bytes(b"not gzip at all")
        elif damage == "truncated":
            cache.path.write_bytes(good[: len(good) // 2])
        elif damage == "wrong layout":
            cache.path.write_bytes(gzip.compress(b'{"format": 99}'))
        else:
            document = json.loads(gzip.decompress(good))
            document["data"]["sites"]["lyon"]["clusters"]["nova"]["nodes"][0]["architecture"] = 5
            cache.path.write_bytes(gzip.compress(json.dumps(document).encode()))
        bad = err(load_reference(Source.CACHE, cache=cache))
        assert isinstance(bad, ParseError)
        assert str(cache.path) in bad.message
        repaired = ok(load_reference(Source.LIVE, conn, cache))
        assert repaired.notes[0].endswith(": replaced")
        assert "reference cache" in repaired.notes[0]
    assert ok(load_reference(Source.CACHE, cache=cache)).snapshot.version == V1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []  # no temp file left


def test_eight_processes_refreshing_at_once_leave_a_valid_cache(server: ApiServer, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from g5k.results import performed
        from g5k.api import APIConnection, ReferenceCache, refresh
        from pathlib import Path
        conn = APIConnection({server.base_uri!r}, use_keyring=False)
        result = refresh(conn, ReferenceCache(Path({str(tmp_path)!r}), conn.base_uri))
        loaded = performed(result).unwrap()
        print(loaded.snapshot.version, len(loaded.snapshot.hosts().unwrap()))
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(8)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [o[1][-500:] for o in outputs]
    assert all(o[0].split() == [V1, "939"] for o in outputs)
    assert server.state.hits["/stable/sites/lyon?deep"] == 1  # one crawl: the others waited and reused it
    cached = ok(load_reference(Source.CACHE, cache=ReferenceCache(tmp_path, server.base_uri)))
    assert len(cached.snapshot.hosts().unwrap()) == 939


# --- fallbacks and the seed's functions ------------------------------------------------------------------------


def test_auto_falls_back_to_the_cache_then_the_embedded_snapshot_and_says_so(
    server: ApiServer, tmp_path: Path
) -> None:
    cache = ReferenceCache(tmp_path, server.base_uri)
    down = APIConnection("http://127.0.0.1:9/stable/", sleep=Sleeps(), use_keyring=False,
                         retry=RetryPolicy(max_attempts=1))
    embedded = ok(load_reference(Source.AUTO, down, ReferenceCache(tmp_path / "empty", down.base_uri)))
    assert embedded.source is Source.EMBEDDED
    assert "API unavailable" in embedded.notes[0] and "embedded snapshot" in embedded.notes[0]
    with connect(server) as conn:
        ok(refresh(conn, cache))
    from_cache = ok(load_reference(Source.AUTO, down, ReferenceCache(tmp_path, down.base_uri)))
    assert isinstance(from_cache, Loaded)
    # the down connection has another base URI, so another cache file: none
    assert from_cache.source is Source.EMBEDDED
    server.state.add_fault("/stable", "status", 500, None)
    flaky = connect(server, retry=RetryPolicy(max_attempts=1))
    cached = ok(load_reference(Source.AUTO, flaky, cache))
    assert cached.source is Source.CACHE
    assert "API unavailable" in cached.notes[0] and "HTTP 500" in cached.notes[0]
    live_only = err(load_reference(Source.LIVE, down, cache))
    assert isinstance(live_only, Unreachable)


def test_seed_functions_over_an_explicit_source(server: ApiServer, tmp_path: Path) -> None:
    assert ok(get_g5k_sites())[:2] == ("bordeaux", "grenoble")
    assert ok(get_site_clusters("lyon", queues="default")) == ok(get_site_clusters("lyon", "default",
                                                                                    Source.EMBEDDED))
    cache = ReferenceCache(tmp_path, server.base_uri)
    with connect(server) as conn:
        server.state.deep["sites"]["lyon"]["clusters"]["nova"]["nodes"] = (
            server.state.deep["sites"]["lyon"]["clusters"]["nova"]["nodes"][:3]
        )
        live_hosts = ok(get_cluster_hosts("nova", Source.LIVE, conn, cache))
        assert live_hosts == ("nova-1.lyon.grid5000.fr", "nova-4.lyon.grid5000.fr", "nova-5.lyon.grid5000.fr")
        assert len(ok(get_cluster_hosts("nova", Source.EMBEDDED))) == 20
        assert ok(get_cluster_hosts("nova", Source.CACHE, cache=cache)) == live_hosts
        assert ok(get_host_attributes("nova-1-kavlan-4.lyon.grid5000.fr", Source.CACHE, cache=cache))["uid"] == (
            "nova-1"
        )
    missing = err(load_reference(Source.CACHE, cache=ReferenceCache(tmp_path / "none", server.base_uri)))
    assert isinstance(missing, NotFound) and "g5k ref refresh" in missing.message


def test_get_hosts_metric_kwollect(server: ApiServer) -> None:
    start = 1_700_000_000.0
    with connect(server) as conn:
        result = ok(get_hosts_metric(["nova-1.lyon.grid5000.fr", "nova-4.lyon", "taurus-3.lyon.grid5000.fr"],
                                     "wattmetre_power_watt", start, start + 60, conn=conn))
        assert sorted(result) == ["nova-1.lyon.grid5000.fr", "nova-4.lyon", "taurus-3.lyon.grid5000.fr"]
        points = result["nova-4.lyon"]
        assert [p.timestamp for p in points] == [start + 10 * i for i in range(6)]
        assert [p.value for p in points] == [400.0 + i for i in range(6)]
        assert points[0].labels == (("_device_orig", ("wattmetre1-port4",)),)
        coarse = ok(get_hosts_metric(["nova-1.lyon"], "wattmetre_power_watt", start, start + 60, 30, conn=conn))
        assert [(p.timestamp, p.value) for p in coarse["nova-1.lyon"]] == [(start, 101.0), (start + 30, 104.0)]
    assert server.state.hits["/stable/sites/lyon/metrics"] == 2
    no_site = err(get_hosts_metric(["nova-1"], "m", start, start + 1, conn=conn))
    assert "nova-1" in no_site.message


def test_from_config_uses_no_credentials_inside_grid5000(server: ApiServer, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("grid5000_api", "alice", PASSWORD)
    args = (("deep", "true"),)
    inside = Location(Place.FRONTEND, "lyon", "test")
    outside = Location(Place.OUTSIDE, None, "test")
    config = Config(api_uri=server.base_uri, api_additional_args=args, api_timeout=5.0)
    with APIConnection.from_config(config, inside, sleep=Sleeps()) as conn:
        assert not conn.has_credentials and conn.timeout == 5.0 and conn.verify is True
        assert "clusters" in ok(conn.get("sites/lyon"))  # additional args sent
        assert server.state.seen_auth[-1] is None
    with APIConnection.from_config(evolve(config, api_username="alice"), outside, sleep=Sleeps()) as conn:
        assert conn.has_credentials
        ok(conn.get(""))
        assert server.state.seen_auth[-1] is not None and server.state.seen_auth[-1].startswith("Basic ")
    assert config.api_additional_args == args  # execo mutated the global configuration; nothing is mutated here


def test_additional_args_are_copied_not_aliased(server: ApiServer) -> None:
    given = {"branch": "testing"}
    with connect(server, additional_args=given) as conn:
        given["deep"] = "true"
        assert conn.additional_args == (("branch", "testing"),)


def test_password_asked_once_checked_and_stored_in_keyring(
    server: ApiServer, memory_keyring: MemoryKeyring
) -> None:
    server.state.auth = ("alice", PASSWORD)
    answers = iter(["wrong", PASSWORD])
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return next(answers)

    with connect(server) as probe:
        def check(candidate: Secret) -> bool:
            with APIConnection(probe.base_uri, username="alice", password=candidate, use_keyring=False) as c:
                return isinstance(c.get(""), IOSuccess)

        secret = ask_password("alice", check, prompt=prompt)
    assert secret is not None and secret.reveal() == PASSWORD
    assert len(prompts) == 2 and "alice" in prompts[0] and PASSWORD not in prompts[0]
    assert memory_keyring.get_password("grid5000_api", "alice") == PASSWORD
    with APIConnection(server.base_uri, username="alice", sleep=Sleeps()) as conn:  # next time: from the keyring
        assert ok(conn.get("sites"))["total"] == 12


def test_a_failed_crawl_keeps_the_previous_cache_whole(server: ApiServer, tmp_path: Path) -> None:
    cache = ReferenceCache(tmp_path, server.base_uri)
    with connect(server, retry=RetryPolicy(max_attempts=1)) as conn:
        ok(refresh(conn, cache))
        before = cache.path.read_bytes()
        server.state.version = V2
        server.state.add_fault("/stable/sites/rennes", "truncated")
        error = err(refresh(conn, cache))
        assert isinstance(error, ParseError) and "sites/rennes" in error.message
    assert cache.path.read_bytes() == before
    assert ok(load_reference(Source.CACHE, cache=cache)).snapshot.version == V1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_a_pending_password_is_asked_at_the_first_request_and_the_plan_says_basic_auth(
    server: ApiServer, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.state.auth = ("alice", PASSWORD)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return PASSWORD

    with APIConnection(server.base_uri, username="alice", interactive=True, prompt=prompt, sleep=Sleeps()) as conn:
        plan = conn.plan("GET", "sites")
        assert plan.username == "alice" and prompts == [] and sum(server.state.hits.values()) == 0
        assert "[basic auth as alice (password asked and checked before the first request)" in plan.describe()
        assert ok(conn.get("sites"))["total"] == 12
        assert len(prompts) == 1 and server.state.seen_auth[-1] is not None
        assert server.state.seen_auth[-1].startswith("Basic ")
        assert conn.plan("GET", "sites").describe().split("[")[1].startswith("basic auth as alice,")
        ok(conn.get(""))
    assert len(prompts) == 1  # asked once
    assert memory_keyring.get_password("grid5000_api", "alice") == PASSWORD


def test_a_refused_prompt_is_an_auth_error_never_an_anonymous_request(
    server: ApiServer, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)

    def prompt(text: str) -> str:
        raise EOFError

    with APIConnection(server.base_uri, username="alice", interactive=True, prompt=prompt, sleep=Sleeps()) as conn:
        error = err(conn.get("sites"))
    assert isinstance(error, AuthError) and "keyring set grid5000_api alice" in error.message
    assert server.state.hits.get("/stable/sites", 0) == 0


def test_without_password_nor_terminal_the_plan_says_anonymous_and_why(
    server: ApiServer, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    with APIConnection(server.base_uri, username="bob", interactive=True, sleep=Sleeps()) as conn:
        described = conn.plan("GET", "sites").describe()
        assert "[anonymous (no password for bob: none in the keyring service grid5000_api" in described
        ok(conn.get("sites"))
    assert server.state.seen_auth[-1] is None  # what the plan said


def test_from_config_explicit_values_win(server: ApiServer, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("grid5000_api", "carol", PASSWORD)
    config = Config(api_uri="https://api.invalid/3.0/", api_username="alice", api_timeout=5.0)
    outside = Location(Place.OUTSIDE, None, "test")
    with APIConnection.from_config(config, outside, uri=server.base_uri, username="carol", timeout=2.0,
                                   verify="/some/ca.pem") as conn:
        assert (conn.base_uri, conn.username, conn.timeout, conn.verify) == (
            server.base_uri.rstrip("/"), "carol", 2.0, "/some/ca.pem")
        assert conn.has_credentials
    with APIConnection.from_config(config, outside) as conn:
        assert (conn.base_uri, conn.username, conn.timeout) == ("https://api.invalid/3.0", "alice", 5.0)


def test_a_site_without_uid_is_a_parse_error_naming_its_path(server: ApiServer, tmp_path: Path) -> None:
    del server.state.deep["sites"]["lyon"]["uid"]
    with connect(server) as conn:
        error = err(crawl(conn))
        assert isinstance(error, ParseError) and "sites.items[5].uid" in error.message
        assert isinstance(err(refresh(conn, ReferenceCache(tmp_path, conn.base_uri))), ParseError)
    assert not ReferenceCache(tmp_path, server.base_uri).path.exists()
    assert server.state.hits.get("/stable/sites/None", 0) == 0


def test_site_uids_sorted_and_total() -> None:
    assert site_uids([{"uid": "rennes"}, {"uid": "lyon"}], "u") == Success(("lyon", "rennes"))
    for bad in ([{"uid": None}], [{"uid": 3}], ["lyon"], [{"name": "lyon"}], [{"uid": ""}]):
        failed = site_uids(bad, "u")
        assert isinstance(failed, Failure) and "sites.items[0].uid" in failed.failure().message


def test_get_hosts_metric_sites_in_parallel_input_order_and_a_failing_site_named(server: ApiServer) -> None:
    start = 1_700_000_000.0
    hosts = ["paravance-2.rennes", "nova-1.lyon", "gros-3.nancy", "nova-4.lyon.grid5000.fr"]
    with connect(server, retry=RetryPolicy(max_attempts=1)) as conn:
        result = ok(get_hosts_metric(hosts, "power", start, start + 20, conn=conn, max_parallel=2))
        assert list(result) == hosts
        assert [p.value for p in result["gros-3.nancy"]] == [300.0, 301.0]
        assert [p.value for p in result["nova-4.lyon.grid5000.fr"]] == [400.0, 401.0]
        for site in ("rennes", "lyon", "nancy"):
            assert server.state.hits[f"/stable/sites/{site}/metrics"] == 1
        server.state.add_fault("/stable/sites/nancy/metrics", "status", 500, None)
        error = err(get_hosts_metric(hosts, "power", start, start + 20, conn=conn))
        assert isinstance(error, Partial)
        assert [site for site, _ in error.failed] == ["nancy"] and sorted(error.succeeded) == ["lyon", "rennes"]
        assert error.message.startswith("Kwollect power of 3 sites partly failed: nancy: ") and "500" in error.message
        server.state.add_fault("/stable/sites/lyon/metrics", "status", 503, None)
        single = err(get_hosts_metric(["nova-1.lyon"], "power", start, start + 20, conn=conn))
        assert isinstance(single, HttpError) and single.status == 503 and "sites/lyon/metrics" in single.url


def test_get_hosts_metric_refuses_a_non_positive_resolution_before_any_request(server: ApiServer) -> None:
    with connect(server) as conn:
        for bad in (0, -10, float("nan"), float("inf")):
            error = err(get_hosts_metric(["nova-1.lyon"], "power", 0, 60, bad, conn=conn))
            assert isinstance(error, InvalidInput) and error.name == "resolution"
    assert server.state.hits.get("/stable/sites/lyon/metrics", 0) == 0


def test_a_password_never_goes_in_clear_text_to_another_machine(
    server: ApiServer, memory_keyring: MemoryKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote = "http://api.example.invalid/3.0/"
    with APIConnection(remote, username="alice", password=PASSWORD, sleep=Sleeps()) as conn:
        refused = err(conn.get("sites"))
    assert isinstance(refused, InvalidInput) and refused.name == "API URI"
    assert "clear text" in refused.message and "api_allow_http_password = true" in refused.message
    assert "--allow-http-password" in refused.message and PASSWORD not in refused.message
    with APIConnection(remote, username="alice", password=PASSWORD, sleep=Sleeps(), allow_http_password=True) as conn:
        tried = err(conn.get("sites"))  # allowed: the request was tried
    assert isinstance(tried, Unreachable) and tried.detail == "name not resolved (no network?)"
    with APIConnection(remote, sleep=Sleeps(), use_keyring=False) as conn:
        assert isinstance(err(conn.get("sites")), Unreachable)  # no password, nothing to protect
    server.state.auth = ("alice", PASSWORD)  # this machine: the password crosses no network
    with APIConnection(server.base_uri, username="alice", password=PASSWORD, sleep=Sleeps()) as conn:
        assert ok(conn.get("sites"))["total"] == 12
    # the command line: the configuration's key, or the option
    isolate(tmp_path, monkeypatch)
    memory_keyring.set_password("grid5000_api", "alice", PASSWORD)
    assert main(["ref", "sites", "--live", "--api", remote, "--user", "alice"]) == 1
    assert "--allow-http-password" in capsys.readouterr().err
    assert main(["ref", "sites", "--live", "--api", remote, "--user", "alice", "--allow-http-password"]) == 1
    assert "name not resolved (no network?)" in capsys.readouterr().err
    monkeypatch.setenv("G5K_API_ALLOW_HTTP_PASSWORD", "true")
    assert main(["ref", "sites", "--live", "--api", remote, "--user", "alice"]) == 1
    assert "name not resolved (no network?)" in capsys.readouterr().err

