"""The port forwarder with the testbed's loopback sshd as the frontend and its real PostgreSQL behind it."""

from __future__ import annotations

import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest
from attrs import evolve
from g5k.forward import ForwardFailed, G5kAutoPortForwarder, open_forward
from g5k.results import performed
from returns.io import IOFailure

from g5kpure.config import ConnectionParams
from g5kpure.errors import AuthError, ConfigError, Unreachable
from tests.conftest import OarDb

pytestmark = pytest.mark.integration


def _count_resources(host: str, port: int, db: OarDb) -> int:
    conn = psycopg2.connect(host=host, port=port, dbname=db.dbname, user=db.user, password=db.password,
                            connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM resources")
            row = cur.fetchone()
            assert row is not None
            return int(row[0])
    finally:
        conn.close()


def _refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def _forward_threads(port: int) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"forward-{port}"]


def test_tunnel_reaches_postgres_through_the_frontend(frontend_params: ConnectionParams, oar_db: OarDb) -> None:
    with G5kAutoPortForwarder("rennes", oar_db.host, oar_db.port, frontend_params, inside=False) as (host, port):
        assert host == "127.0.0.1"
        assert port != oar_db.port
        assert _count_resources(host, port, oar_db) == 32
        # several connections at once share the one ssh connection
        with ThreadPoolExecutor(max_workers=4) as pool:
            assert list(pool.map(lambda _: _count_resources(host, port, oar_db), range(4))) == [32] * 4
        # a relay ends with its connection: only the listener's thread stays
        deadline = time.monotonic() + 5
        while len(_forward_threads(port)) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_forward_threads(port)) == 1
    assert _refused(port)
    assert not _forward_threads(port)


def test_tunnel_closed_when_the_block_raises(frontend_params: ConnectionParams, oar_db: OarDb) -> None:
    seen: list[int] = []
    with pytest.raises(RuntimeError, match="boom"), \
            G5kAutoPortForwarder("nancy", oar_db.host, oar_db.port, frontend_params, inside=False) as (_, port):
        seen.append(port)
        assert not _refused(port)
        raise RuntimeError("boom")
    assert _refused(seen[0])
    assert not _forward_threads(seen[0])


def test_inside_grid5000_is_direct(oar_db: OarDb) -> None:
    with G5kAutoPortForwarder("rennes", oar_db.host, oar_db.port, inside=True) as target:
        assert target == (oar_db.host, oar_db.port)
        assert _count_resources(*target, oar_db) == 32


def test_unreachable_target_is_reported_before_use(frontend_params: ConnectionParams) -> None:
    got = open_forward("rennes", "127.0.0.1", 1, frontend_params, inside=False)
    assert isinstance(got, IOFailure)
    err = performed(got).failure()
    assert isinstance(err, Unreachable)
    assert err.host == "127.0.0.1:1"
    assert "rennes.frontend.g5kpure.test" in err.detail
    with pytest.raises(ForwardFailed) as raised, G5kAutoPortForwarder("rennes", "127.0.0.1", 1, frontend_params,
                                                                       inside=False):
        pass
    assert isinstance(raised.value.error, Unreachable)


def test_dead_frontend_is_unreachable(frontend_params: ConnectionParams, dead_frontend: str, oar_db: OarDb) -> None:
    got = open_forward(dead_frontend, oar_db.host, oar_db.port, frontend_params, inside=False)
    err = performed(got).failure()
    assert isinstance(err, Unreachable)
    assert dead_frontend in err.host


def test_wrong_key_is_an_auth_error(frontend_params: ConnectionParams, other_user_params: ConnectionParams,
                                    oar_db: OarDb) -> None:
    wrong = evolve(frontend_params, key_filename=other_user_params.key_filename)  # alice with bob's key
    got = open_forward("rennes", oar_db.host, oar_db.port, wrong, inside=False)
    assert isinstance(performed(got).failure(), AuthError)


def test_bad_target_refused_without_connecting() -> None:
    got = open_forward("rennes", "-oProxyCommand=x", 5432, inside=False)
    assert "target host" in performed(got).failure().message
    got = open_forward("rennes", "db", 70000, inside=False)
    assert "target port" in performed(got).failure().message


# --- the jump host (proxy_jump) -----------------------------------------------------------------------------------


def test_tunnel_through_a_jump_host(frontend_params: ConnectionParams, dead_frontend: str, oar_db: OarDb) -> None:
    # this machine has no ~/.ssh key nor agent: the jump host accepts us only if the explicit key is offered to it
    through_rennes = evolve(frontend_params, proxy_jump="alice@rennes.frontend.g5kpure.test:2222")
    with G5kAutoPortForwarder("nancy", oar_db.host, oar_db.port, through_rennes, inside=False) as (host, port):
        assert host == "127.0.0.1"
        assert _count_resources(host, port, oar_db) == 32
    assert _refused(port)
    # the target frontend is fine but the jump host is down: the jump was really used, and the error names it
    through_dead = evolve(frontend_params, proxy_jump=f"alice@{dead_frontend}.frontend.g5kpure.test:2222")
    err = performed(open_forward("nancy", oar_db.host, oar_db.port, through_dead, inside=False)).failure()
    assert isinstance(err, Unreachable)
    assert f"via alice@{dead_frontend}.frontend.g5kpure.test:2222" in err.host


def test_jump_host_refusing_the_key_is_an_auth_error(frontend_params: ConnectionParams,
                                                     other_user_params: ConnectionParams, oar_db: OarDb) -> None:
    # the key offered to the jump host is the explicit one: bob's key does not open alice's account there
    jump_as_alice = evolve(other_user_params, proxy_jump="alice@rennes.frontend.g5kpure.test:2222")
    err = performed(open_forward("nancy", oar_db.host, oar_db.port, jump_as_alice, inside=False)).failure()
    assert isinstance(err, AuthError)
    assert "via alice@rennes.frontend.g5kpure.test:2222" in err.where


# --- the seed-style forwarder reads the configuration ----------------------------------------------------------


def _use_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str | None = None,
                path: Path | None = None) -> None:
    """Point the configuration at ``path`` (or a file holding ``text``); no G5K_* variable from outside."""
    for name in [n for n in os.environ if n.startswith("G5K_")]:
        monkeypatch.delenv(name)
    if path is None:
        path = tmp_path / "g5k.toml"
        path.write_text(text or "")
    monkeypatch.setenv("G5K_CONFIG", str(path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def test_forwarder_uses_the_configuration_by_default(g5k_config_file: Path, oar_db: OarDb, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # the testbed's configuration: location "outside", frontend user alice, her key, port 2222, host suffix
    _use_config(monkeypatch, tmp_path, path=g5k_config_file)
    with G5kAutoPortForwarder("rennes", oar_db.host, oar_db.port) as (host, port):
        assert host == "127.0.0.1" and port != oar_db.port
        assert _count_resources(host, port, oar_db) == 32
    assert _refused(port)


def test_forwarder_uses_per_site_entries_and_explicit_params_win(
    frontend_params: ConnectionParams, oar_db: OarDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = frontend_params.key_filename
    _use_config(monkeypatch, tmp_path, (
        '[g5k]\nlocation = "outside"\n'
        f'[frontend]\nuser = "alice"\nport = 2222\nkeyfile = "{key}"\nhost_suffix = ".nowhere.invalid"\n'
        f'known_hosts = "{frontend_params.known_hosts}"\n'
        '[frontends.lyon]\nhost = "lyon.frontend.g5kpure.test"\n'
    ))
    with G5kAutoPortForwarder("lyon", oar_db.host, oar_db.port) as (host, port):  # its own entry: reachable
        assert _count_resources(host, port, oar_db) == 32
    with pytest.raises(ForwardFailed) as raised, G5kAutoPortForwarder("rennes", oar_db.host, oar_db.port):
        pass
    assert isinstance(raised.value.error, Unreachable)  # the common suffix applies to rennes
    assert "rennes.nowhere.invalid" in raised.value.error.host
    with G5kAutoPortForwarder("rennes", oar_db.host, oar_db.port, frontend_params) as (host, port):
        assert _count_resources(host, port, oar_db) == 32


def test_forwarder_takes_the_jump_host_from_the_configuration(
    frontend_params: ConnectionParams, dead_frontend: str, oar_db: OarDb, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    key = frontend_params.key_filename
    common = f'[g5k]\nlocation = "outside"\n[frontend]\nuser = "alice"\nport = 2222\nkeyfile = "{key}"\n' \
             f'host_suffix = ".frontend.g5kpure.test"\nknown_hosts = "{frontend_params.known_hosts}"\n'
    _use_config(monkeypatch, tmp_path, common + 'proxy_jump = "alice@rennes.frontend.g5kpure.test:2222"\n'
                f'[frontends.lyon]\nproxy_jump = "alice@{dead_frontend}.frontend.g5kpure.test:2222"\n')
    with G5kAutoPortForwarder("nancy", oar_db.host, oar_db.port) as (host, port):
        assert _count_resources(host, port, oar_db) == 32
    with pytest.raises(ForwardFailed) as raised, G5kAutoPortForwarder("lyon", oar_db.host, oar_db.port):
        pass
    assert isinstance(raised.value.error, Unreachable)
    assert f"via alice@{dead_frontend}" in raised.value.error.host


def test_forwarder_location_from_the_configuration(frontend_params: ConnectionParams, oar_db: OarDb,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = frontend_params.key_filename
    _use_config(monkeypatch, tmp_path, (
        '[g5k]\nlocation = "frontend:rennes"\n'
        f'[frontend]\nuser = "alice"\nport = 2222\nkeyfile = "{key}"\nhost_suffix = ".frontend.g5kpure.test"\n'
        f'known_hosts = "{frontend_params.known_hosts}"\n'
    ))
    with G5kAutoPortForwarder("rennes", oar_db.host, oar_db.port) as target:  # inside Grid'5000: direct
        assert target == (oar_db.host, oar_db.port)
    with G5kAutoPortForwarder("rennes", oar_db.host, oar_db.port, location="outside") as (host, port):
        assert host == "127.0.0.1"  # an explicit location wins
        assert _count_resources(host, port, oar_db) == 32
    with G5kAutoPortForwarder("rennes", oar_db.host, oar_db.port, inside=False) as (host, _):
        assert host == "127.0.0.1"  # and so does an explicit inside


def test_forwarder_reports_a_bad_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_config(monkeypatch, tmp_path, '[g5k]\noar_pgsql_ro_port = "many"\n')
    with pytest.raises(ForwardFailed) as raised, G5kAutoPortForwarder("rennes", "127.0.0.1", 5432):
        pass
    assert isinstance(raised.value.error, ConfigError)
    assert "oar_pgsql_ro_port" in raised.value.error.message
