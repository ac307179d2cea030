"""Every effect ends, and host keys are checked: faults injected on loopback against the real services.

The faults are small servers started by each test on 127.0.0.1: a black hole (a port that accepts TCP
connections and never answers), a resetter (accepts, reads, then resets the connection), a proxy in front of a
real service (the testbed's frontend sshd, its PostgreSQL) that stops forwarding mid-call, and an HTTP server
that drips its answer one byte a second. Each call must come back with a typed error, within its time limit
plus 5 seconds. Host keys: a changed or unknown key is refused as OpenSSH refuses it, and `g5k doctor` says so.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from attrs import evolve
from g5k.api import APIConnection
from g5k.db import DbSettings, SqlPlan, run_plans
from g5k.doctor import Options, Verdict, run_doctor
from g5k.ssh import output_or_failure, run

from g5kpure.config import KEEPALIVE_COUNT, ConnectionParams, FrontendAccess
from g5kpure.errors import AuthError, G5kError, Timeout, Unreachable
from tests.conftest import REPO_DIR, OarDb, Testbed

pytestmark = pytest.mark.integration

SLACK_S = 5.0
"""What a call may take beyond its time limit."""


# --------------------------------------------------------------------------------------------------------------
# Fault servers


class _Server:
    """A listening socket on 127.0.0.1 whose connections ``handle`` serves, each in a thread of its own."""

    def __init__(self, handle: Callable[[socket.socket], None] | None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        self.closed = threading.Event()
        self._conns: list[socket.socket] = []
        self._handle = handle
        if handle is not None:
            threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self._handle is not None
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        assert self._handle is not None
        with contextlib.suppress(OSError):
            self._handle(conn)

    def close(self) -> None:
        self.closed.set()
        self.sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()


def black_hole() -> _Server:
    """Accepts TCP connections (the kernel completes them: nobody calls accept) and never answers."""
    return _Server(None)


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def resetter() -> _Server:
    """Reads what the client sends first (an ssh banner, an HTTP request), then resets the connection."""

    def handle(conn: socket.socket) -> None:
        conn.recv(4096)
        _reset(conn)

    return _Server(handle)


class SilentProxy(_Server):
    """Forwards to ``target`` until ``silence()``: from then on it moves no byte either way and answers nothing,
    keeping every connection open (a link gone silent, as a dead router makes it)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.silent = threading.Event()
        super().__init__(self._forward)

    def silence(self) -> None:
        self.silent.set()

    def _forward(self, client: socket.socket) -> None:
        if self.silent.is_set():
            self.closed.wait()
            return
        upstream = socket.create_connection(self.target)
        self._conns.append(upstream)
        peer = {client: upstream, upstream: client}
        while not self.closed.is_set():
            if self.silent.is_set():
                self.closed.wait()
                return
            ready, _, _ = select.select(list(peer), [], [], 0.05)
            for sock in ready:
                if self.silent.is_set():
                    break
                data = sock.recv(65536)
                if not data:
                    return
                peer[sock].sendall(data)


class DrippingHttp(_Server):
    """Answers any HTTP request with a 200 whose JSON body comes one byte every ``interval_s`` seconds."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        super().__init__(self._drip)

    def _drip(self, conn: socket.socket) -> None:
        conn.recv(65536)
        body = b'{"version": "' + b"x" * 10000 + b'"}'
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode())
        for i in range(len(body)):
            if self.closed.wait(self.interval_s):
                return
            conn.sendall(body[i:i + 1])


@pytest.fixture
def servers() -> Iterator[list[_Server]]:
    """The fault servers a test starts; all closed afterwards."""
    started: list[_Server] = []
    yield started
    for server in started:
        server.close()


def timed(call: Callable[[], object]) -> tuple[object, float]:
    began = time.monotonic()
    got = call()
    return got, time.monotonic() - began


def error_of(result: object) -> G5kError:
    """The error of a failed ``IOResult``."""
    error = output_or_failure(result)  # type: ignore[arg-type]
    assert isinstance(error, G5kError), error
    return error


# --------------------------------------------------------------------------------------------------------------
# ssh


def frontend_host_key(testbed: Testbed) -> str:
    """``type base64`` of the testbed frontends' host key."""
    return " ".join(Path(testbed.known_hosts).read_text().splitlines()[0].split()[1:3])


def to_port(params: ConnectionParams, port: int, known_hosts: Path | None = None, **changes: Any) -> FrontendAccess:
    """Access to the frontend name ``fault`` as 127.0.0.1:``port`` (with a known_hosts file holding its key)."""
    return FrontendAccess(evolve(params, port=port, host_rewrite=((".*", "127.0.0.1"),),
                                 known_hosts=str(known_hosts) if known_hosts else None, **changes))


def test_ssh_to_a_black_hole_times_out_while_reading_the_banner(frontend_params, servers) -> None:
    hole = black_hole()
    servers.append(hole)
    access = to_port(frontend_params, hole.port, connect_timeout=2.0)
    result, took = timed(lambda: run(("true",), "fault", access, timeout=30))
    error = error_of(result)
    assert isinstance(error, Timeout)
    assert error.after_s == 2.0 and error.during == "reading the ssh banner" and error.host == "fault"
    assert "timed out after 2s while reading the ssh banner" in error.message
    assert took < 2.0 + SLACK_S
    # the call's own timeout bounds the connection too
    shorter = to_port(frontend_params, hole.port, connect_timeout=20.0)
    result, took = timed(lambda: run(("true",), "fault", shorter, timeout=1.5))
    error = error_of(result)
    assert isinstance(error, Timeout) and error.after_s == 1.5 and took < 1.5 + SLACK_S


def test_ssh_reset_during_the_banner_is_a_lost_connection_and_prints_no_traceback(
    frontend_params, servers, tmp_path: Path
) -> None:
    reset = resetter()
    servers.append(reset)
    result, took = timed(lambda: run(("true",), "fault", to_port(frontend_params, reset.port), timeout=10))
    error = error_of(result)
    assert isinstance(error, Unreachable)
    assert error.during == "reading the ssh banner" and error.detail == "connection reset by peer"
    assert error.message.startswith("connection to fault (alice@127.0.0.1:")
    assert took < 10 + SLACK_S
    # the command line: one error line, no traceback from paramiko's transport thread
    config = tmp_path / "g5k.toml"
    config.write_text(f'[g5k]\nlocation = "outside"\n[frontend]\nuser = "alice"\nport = {reset.port}\n'
                      'host_rewrite = [[".*", "127.0.0.1"]]\nconnect_timeout = 5\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("G5K_")} | {"G5K_CONFIG": str(config)}
    done = subprocess.run([sys.executable, "-m", "g5k", "jobs", "--frontend", "fault"], env=env, cwd=REPO_DIR,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "paramiko" not in done.stderr
    assert done.stderr.count("\n") == 1 and "while reading the ssh banner: connection reset by peer" in done.stderr


@pytest.fixture
def proxied_frontend(testbed: Testbed, servers, tmp_path: Path) -> tuple[SilentProxy, Path]:
    """A silenceable proxy in front of the rennes frontend's sshd, and a known_hosts naming it."""
    address = testbed.frontend_addresses["rennes"]
    proxy = SilentProxy((address, testbed.frontend.port or 22))
    servers.append(proxy)
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{proxy.port} {frontend_host_key(testbed)}\n")
    return proxy, known


def silence_when(proxy: SilentProxy, marker: Path) -> threading.Thread:
    """Silence the proxy once the remote command has created ``marker`` (the frontend is this machine)."""

    def watch() -> None:
        for _ in range(300):
            if marker.exists():
                proxy.silence()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_ssh_link_going_silent_mid_command_ends_at_the_timeout(frontend_params, proxied_frontend) -> None:
    proxy, known = proxied_frontend
    marker = Path(f"/tmp/g5kpure-fault-{uuid.uuid4().hex}")
    try:
        watcher = silence_when(proxy, marker)
        access = to_port(frontend_params, proxy.port, known)
        result, took = timed(lambda: run(("sh", "-c", f"touch {marker}; sleep 20"), "fault", access, timeout=4))
        watcher.join()
        assert proxy.silent.is_set(), "the command never started"
        error = error_of(result)
        assert isinstance(error, Timeout)
        assert error.after_s == 4 and error.what.startswith("command ") and "fault (alice@127.0.0.1" in error.host
        assert took < 4 + SLACK_S
    finally:
        marker.unlink(missing_ok=True)


def test_ssh_link_going_silent_without_a_timeout_is_dropped_by_keepalives(frontend_params, proxied_frontend) -> None:
    proxy, known = proxied_frontend
    marker = Path(f"/tmp/g5kpure-fault-{uuid.uuid4().hex}")
    try:
        watcher = silence_when(proxy, marker)
        access = to_port(frontend_params, proxy.port, known, keepalive_interval=1.0)
        result, took = timed(lambda: run(("sh", "-c", f"touch {marker}; sleep 20"), "fault", access, timeout=None))
        watcher.join()
        assert proxy.silent.is_set(), "the command never started"
        error = error_of(result)
        assert isinstance(error, Unreachable)
        assert error.during.startswith("running command ") and "keepalives" in error.detail
        assert "the link went silent" in error.message
        assert took < (KEEPALIVE_COUNT + 1) * 1.0 + SLACK_S
    finally:
        marker.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------------------------
# HTTP


def test_http_body_dripping_a_byte_a_second_ends_at_the_budget(servers) -> None:
    drip = DrippingHttp()
    servers.append(drip)
    with APIConnection(f"http://127.0.0.1:{drip.port}/api/", timeout=3, use_keyring=False) as conn:
        result, took = timed(lambda: conn.get(""))
    error = error_of(result)
    assert isinstance(error, Timeout)
    assert error.after_s == 3 and error.during.startswith("reading the answer (") and "bytes received" in error.during
    assert took < 3 + SLACK_S


def test_g5k_ref_live_with_a_dripping_api_ends_at_its_timeout(servers, tmp_path: Path) -> None:
    drip = DrippingHttp()
    servers.append(drip)
    env = {k: v for k, v in os.environ.items() if not k.startswith("G5K_")} | {
        "G5K_CONFIG": str(tmp_path / "none.toml"), "HOME": str(tmp_path)}
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "g5k", "ref", "sites", "--live", "--api",
                           f"http://127.0.0.1:{drip.port}/api/", "--timeout", "3", "--cache-dir", str(tmp_path)],
                          env=env, cwd=REPO_DIR, capture_output=True, text=True, timeout=60)
    took = time.monotonic() - began
    assert done.returncode == 1, done.stderr
    assert "timed out after 3s while reading the answer" in done.stderr
    assert "Traceback" not in done.stderr
    assert took < 3 + SLACK_S + 5  # the interpreter's start and imports come on top


def test_http_black_hole_and_reset(servers) -> None:
    hole, reset = black_hole(), resetter()
    servers += [hole, reset]
    with APIConnection(f"http://127.0.0.1:{hole.port}/", timeout=2, use_keyring=False) as conn:
        result, took = timed(lambda: conn.get(""))
    error = error_of(result)
    assert isinstance(error, Timeout) and error.after_s == 2 and error.during == "waiting for the answer"
    assert took < 2 + SLACK_S
    with APIConnection(f"http://127.0.0.1:{reset.port}/", timeout=5, use_keyring=False) as conn:
        result, took = timed(lambda: conn.get(""))
    error = error_of(result)
    assert isinstance(error, Unreachable)
    assert error.during == "waiting for the answer" and error.detail == "connection reset by peer"
    assert "ProxyJump" not in error.message
    assert took < 5 + SLACK_S


# --------------------------------------------------------------------------------------------------------------
# PostgreSQL


def db_settings(db: OarDb, port: int, **changes: object) -> DbSettings:
    return DbSettings(dbname=db.dbname, user=db.user, password=db.password, port=port, host_template="127.0.0.1",
                      tunnel=False, **changes)  # type: ignore[arg-type]


def test_postgres_black_hole_times_out_while_connecting(oar_db: OarDb, servers) -> None:
    hole = black_hole()
    servers.append(hole)
    settings = db_settings(oar_db, hole.port, connect_timeout=2.0)
    result, took = timed(lambda: run_plans("rennes", (SqlPlan("probe", "SELECT 1"),), settings))
    error = error_of(result)
    assert isinstance(error, Timeout) and error.after_s == 2 and error.during == "connecting"
    assert took < 2 + SLACK_S


def test_postgres_statement_past_its_deadline_is_a_timeout(oar_db: OarDb) -> None:
    settings = db_settings(oar_db, oar_db.port, statement_timeout=1.0)
    result, took = timed(lambda: run_plans("rennes", (SqlPlan("a long sleep", "SELECT pg_sleep(20)"),), settings))
    error = error_of(result)
    assert isinstance(error, Timeout) and error.after_s == 1.0
    assert error.during == "running the query 'a long sleep'"
    assert took < 1 + SLACK_S


def test_postgres_link_going_silent_mid_query_ends_at_the_statement_deadline(oar_db: OarDb, servers) -> None:
    proxy = SilentProxy((oar_db.host, oar_db.port))
    servers.append(proxy)
    tag = f"g5kpure-fault-{uuid.uuid4().hex}"

    def silence_when_running() -> None:
        watcher = psycopg2.connect(oar_db.dsn())
        watcher.autocommit = True  # each poll its own transaction: pg_stat_activity is read once per transaction
        try:
            with watcher.cursor() as cur:
                for _ in range(300):
                    cur.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s "
                                "AND pid <> pg_backend_pid()", (f"%{tag}%",))
                    row = cur.fetchone()
                    if row is not None and row[0] > 0:
                        proxy.silence()
                        return
                    time.sleep(0.05)
        finally:
            watcher.close()

    watcher = threading.Thread(target=silence_when_running, daemon=True)
    watcher.start()
    settings = db_settings(oar_db, proxy.port, statement_timeout=2.0)
    plan = SqlPlan("a query cut off", f"SELECT pg_sleep(20) /* {tag} */")
    result, took = timed(lambda: run_plans("rennes", (plan,), settings))
    watcher.join()
    assert proxy.silent.is_set(), "the query was never seen running"
    error = error_of(result)
    assert isinstance(error, Timeout) and error.after_s == 2.0
    assert error.during == "running the query 'a query cut off'"
    assert took < 2 + SLACK_S


# --------------------------------------------------------------------------------------------------------------
# Host keys


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME of its own, so that ~/.ssh/known_hosts is the test's."""
    folder = tmp_path / "home"
    (folder / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(folder))
    return folder


def openssh(testbed: Testbed, known_hosts: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """OpenSSH's verdict on the rennes frontend with ``known_hosts`` as the only known_hosts file."""
    fe = testbed.frontend
    return subprocess.run(
        ["ssh", "-n", "-p", str(fe.port), "-i", str(fe.key_filename), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
         "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
         *options, f"{fe.user}@rennes{fe.host_suffix}", "true"],
        capture_output=True, text=True, timeout=30)


def test_a_changed_host_key_is_refused_as_openssh_refuses_it(testbed: Testbed, frontend_params, home: Path,
                                                             tmp_path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = " ".join((tmp_path / "other.pub").read_text().split()[:2])
    known = home / ".ssh" / "known_hosts"
    known.write_text(f"[rennes{frontend_params.host_suffix}]:{frontend_params.port} {other}\n")
    by_openssh = openssh(testbed, known)
    assert by_openssh.returncode == 255 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in by_openssh.stderr
    error = error_of(run(("true",), "rennes", FrontendAccess(evolve(frontend_params, known_hosts=None))))
    assert isinstance(error, AuthError)
    assert "has CHANGED" in error.detail and str(known) in error.detail
    assert f"ssh-keygen -R '[rennes{frontend_params.host_suffix}]:{frontend_params.port}' -f {known}" in error.fix
    # accepting new keys does not accept a changed one
    accepting = FrontendAccess(evolve(frontend_params, known_hosts=None, accept_new_host_keys=True))
    assert isinstance(error_of(run(("true",), "rennes", accepting)), AuthError)


def test_an_unknown_host_key_is_refused_then_accepted_on_first_use_when_asked(testbed: Testbed, frontend_params,
                                                                             home: Path, tmp_path: Path) -> None:
    known = home / ".ssh" / "known_hosts"
    by_openssh = openssh(testbed, known, "-o", "StrictHostKeyChecking=yes")
    assert by_openssh.returncode == 255 and "Host key verification failed" in by_openssh.stderr
    unchecked = evolve(frontend_params, known_hosts=None)
    error = error_of(run(("true",), "rennes", FrontendAccess(unchecked)))
    assert isinstance(error, AuthError) and "is unknown" in error.detail
    (tmp_path / "key.pub").write_text(frontend_host_key(testbed) + "\n")
    fingerprint = subprocess.run(["ssh-keygen", "-lf", str(tmp_path / "key.pub")], capture_output=True, text=True,
                                 check=True).stdout.split()[1]
    assert fingerprint in error.detail and "accept_new_host_keys" in error.fix
    assert not known.exists()
    out = output_or_failure(run(("id", "-un"), "rennes", FrontendAccess(evolve(unchecked, accept_new_host_keys=True))))
    assert not isinstance(out, G5kError), out
    assert known.exists() and frontend_host_key(testbed).split()[1] in known.read_text()
    assert openssh(testbed, known, "-o", "StrictHostKeyChecking=yes").returncode == 0  # OpenSSH reads what we wrote
    assert not isinstance(output_or_failure(run(("true",), "rennes", FrontendAccess(unchecked))), G5kError)


def test_doctor_reports_a_changed_host_key(testbed: Testbed, frontend_params, home: Path, tmp_path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = " ".join((tmp_path / "other.pub").read_text().split()[:2])
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(f"[rennes{frontend_params.host_suffix}]:{frontend_params.port} {other}\n")
    config = tmp_path / "g5k.toml"
    config.write_text(f'[g5k]\nlocation = "outside"\n[frontend]\nuser = "{frontend_params.user}"\n'
                      f'port = {frontend_params.port}\nkeyfile = "{frontend_params.key_filename}"\n'
                      f'host_suffix = "{frontend_params.host_suffix}"\nknown_hosts = "{wrong}"\n')
    report = run_doctor(Options(env={"HOME": str(home)}, config_file=config, frontends=("rennes",), timeout=20),
                        skip=("api", "keyring", "db", "cache"))
    check = report.named("ssh rennes")
    assert check is not None and check.verdict is Verdict.FAIL, report.render()
    assert "has CHANGED" in check.detail and "ssh-keygen -R" in check.fix
    assert not report.ok
