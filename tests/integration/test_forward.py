"""The port forwarder with the testbed's loopback sshd as the frontend and its real PostgreSQL behind it."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
from attrs import evolve
from returns.io import IOFailure
from returns.unsafe import unsafe_perform_io

from adapters.forward import ForwardFailed, G5kAutoPortForwarder, open_forward
from g5kpure.connection import ConnectionParams
from g5kpure.errors import AuthError, Unreachable
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
    err = unsafe_perform_io(got.failure())
    assert isinstance(err, Unreachable)
    assert err.host == "127.0.0.1:1"
    assert "rennes.frontend.g5kpure.test" in err.detail
    with pytest.raises(ForwardFailed) as raised, G5kAutoPortForwarder("rennes", "127.0.0.1", 1, frontend_params,
                                                                       inside=False):
        pass
    assert isinstance(raised.value.error, Unreachable)


def test_dead_frontend_is_unreachable(frontend_params: ConnectionParams, dead_frontend: str, oar_db: OarDb) -> None:
    got = open_forward(dead_frontend, oar_db.host, oar_db.port, frontend_params, inside=False)
    err = unsafe_perform_io(got.failure())
    assert isinstance(err, Unreachable)
    assert dead_frontend in err.host


def test_wrong_key_is_an_auth_error(frontend_params: ConnectionParams, other_user_params: ConnectionParams,
                                    oar_db: OarDb) -> None:
    wrong = evolve(frontend_params, key_filename=other_user_params.key_filename)  # alice with bob's key
    got = open_forward("rennes", oar_db.host, oar_db.port, wrong, inside=False)
    assert isinstance(unsafe_perform_io(got.failure()), AuthError)


def test_bad_target_refused_without_connecting() -> None:
    got = open_forward("rennes", "-oProxyCommand=x", 5432, inside=False)
    assert "target host" in unsafe_perform_io(got.failure()).message
    got = open_forward("rennes", "db", 70000, inside=False)
    assert "target port" in unsafe_perform_io(got.failure()).message
