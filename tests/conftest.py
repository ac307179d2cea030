"""Shared pytest fixtures.

The testbed fixtures read the state that ``make testbed`` (tests/testbed/up.sh) writes into ``.testbed/`` at the
root of the clone (or into ``$G5KPURE_TESTBED_STATE``). When the testbed is missing they FAIL, they never skip:
integration tests must not pass silently on a machine without the local OAR site.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import keyring
import keyring.backend
import pytest
from attrs import frozen
from returns.result import Failure, Success

from g5kpure.config import ConnectionParams, FrontendAccess

REPO_DIR = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO_DIR / "tests" / "fixtures"
STATE_ENV = "G5KPURE_TESTBED_STATE"


def testbed_state_dir() -> Path:
    """Where the testbed writes its generated state."""
    return Path(os.environ.get(STATE_ENV) or REPO_DIR / ".testbed")


@frozen
class OarDb:
    """Read-only credentials of the testbed's OAR PostgreSQL database (role oar_ro)."""

    host: str
    port: int
    dbname: str
    user: str
    password: str

    def dsn(self) -> str:
        """A libpq connection string."""
        return f"host={self.host} port={self.port} dbname={self.dbname} user={self.user} password={self.password}"


@frozen
class Testbed:
    """Everything a test needs to know about the running testbed."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    state_dir: Path
    timezone: str
    frontend: ConnectionParams
    other_user: ConnectionParams
    spare_user: ConnectionParams
    live_frontends: tuple[str, ...]
    dead_frontends: tuple[str, ...]
    frontend_addresses: Mapping[str, str]
    known_hosts: str
    oar_site: str
    nodes: tuple[str, ...]
    clusters: Mapping[str, tuple[str, ...]]
    cores_per_node: int
    api_url: str
    api_priv_url: str
    api_public_url: str
    api_passwords: Mapping[str, str]
    db: OarDb
    raw: Mapping[str, Any]


def load_testbed(state_dir: Path) -> Testbed:
    """Read testbed.json from ``state_dir`` (raises FileNotFoundError / KeyError when absent or stale)."""
    data = json.loads((state_dir / "testbed.json").read_text())
    fe, other, spare = data["frontend"], data["other_user"], data["spare_user"]
    oar, db = data["oar"], data["db"]
    frontend = ConnectionParams(
        user=fe["user"],
        port=int(fe["port"]),
        key_filename=fe["key_filename"],
        host_suffix=fe["host_suffix"],
        timeout=60.0,
        connect_timeout=5.0,
        known_hosts=fe["known_hosts"],
    )
    clusters: dict[str, list[str]] = {}
    for node in oar["nodes"]:
        clusters.setdefault(node["cluster"], []).append(node["host"])
    return Testbed(
        state_dir=state_dir,
        timezone=data["timezone"],
        frontend=frontend,
        other_user=ConnectionParams(
            user=other["user"],
            port=int(fe["port"]),
            key_filename=other["key_filename"],
            host_suffix=fe["host_suffix"],
            timeout=60.0,
            connect_timeout=5.0,
            known_hosts=fe["known_hosts"],
        ),
        spare_user=ConnectionParams(
            user=spare["user"],
            port=int(fe["port"]),
            key_filename=spare["key_filename"],
            host_suffix=fe["host_suffix"],
            timeout=60.0,
            connect_timeout=5.0,
            known_hosts=fe["known_hosts"],
        ),
        live_frontends=tuple(fe["live"]),
        dead_frontends=tuple(fe["dead"]),
        frontend_addresses=dict(fe["addresses"]),
        known_hosts=fe["known_hosts"],
        oar_site=oar["site"],
        nodes=tuple(n["host"] for n in oar["nodes"]),
        clusters={k: tuple(v) for k, v in clusters.items()},
        cores_per_node=int(oar["cores_per_node"]),
        api_url=oar["api_url"],
        api_priv_url=oar["api_priv_url"],
        api_public_url=oar["api_public_url"],
        api_passwords=dict(oar["api_passwords"]),
        db=OarDb(host=db["host"], port=int(db["port"]), dbname=db["dbname"], user=db["user"], password=db["password"]),
        raw=data,
    )


@pytest.fixture(scope="session")
def testbed() -> Testbed:
    """The running testbed (fails, never skips, when `make testbed` has not been run)."""
    state = testbed_state_dir()
    try:
        return load_testbed(state)
    except (OSError, KeyError, ValueError) as exc:
        pytest.fail(f"no usable testbed state in {state} ({exc!r}): run `make testbed` (as root) first")


@pytest.fixture(scope="session")
def frontend_params(testbed: Testbed) -> ConnectionParams:
    """ConnectionParams reaching every testbed frontend name as the normal test user."""
    return testbed.frontend


@pytest.fixture(scope="session")
def other_user_params(testbed: Testbed) -> ConnectionParams:
    """ConnectionParams reaching the testbed frontends as a second user (for "not your job" cases)."""
    return testbed.other_user


@pytest.fixture(scope="session")
def spare_user_params(testbed: Testbed) -> ConnectionParams:
    """ConnectionParams of a third user, for tests that must not share OAR's per-user limits (such as two
    waiting advance reservations per user) with tests running as the normal test user."""
    return testbed.spare_user


@pytest.fixture(scope="session")
def live_frontends(testbed: Testbed) -> tuple[str, ...]:
    """Frontend names that answer (rennes, nancy, lyon): all of them reach the same local OAR site."""
    return testbed.live_frontends


@pytest.fixture(scope="session")
def oar26_frontends(testbed: Testbed) -> tuple[str, ...]:
    """Frontend names whose OAR user commands are OAR 2.6.1's (grenoble), with oarstat's default text format 3
    as on Grid'5000, against the same OAR 2.5.9 server; not among the live frontends."""
    try:
        names = tuple(testbed.raw["oar26"]["frontends"])
    except (KeyError, TypeError) as exc:
        pytest.fail(f"the testbed state in {testbed.state_dir} has no OAR 2.6.1 frontend ({exc!r}): run `make testbed`")
    if not names:
        pytest.fail(f"the testbed state in {testbed.state_dir} lists no OAR 2.6.1 frontend: run `make testbed`")
    return names


@pytest.fixture(scope="session")
def dead_frontend(testbed: Testbed) -> str:
    """A configured frontend name whose address refuses connections."""
    return testbed.dead_frontends[0]


@pytest.fixture(scope="session")
def oar_tz(testbed: Testbed) -> str:
    """IANA name of the time zone the testbed's OAR server prints its dates in."""
    return testbed.timezone


def naming_known_hosts(config_file: Path, known_hosts: str, folder: Path) -> Path:
    """``config_file`` when its [frontend] table names a known_hosts file, else a copy in ``folder`` that names
    ``known_hosts`` (a testbed set up by an older tests/testbed/up.sh wrote no such line)."""
    lines = config_file.read_text().splitlines()
    if any(line.replace(" ", "").startswith("known_hosts=") for line in lines):
        return config_file
    at = lines.index("[frontend]") + 1
    copy = folder / config_file.name
    copy.write_text("\n".join([*lines[:at], f"known_hosts = {json.dumps(known_hosts)}", *lines[at:]]) + "\n")
    return copy


@pytest.fixture(scope="session")
def g5k_config_file(testbed: Testbed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `g5k` configuration file reaching the testbed (default frontend rennes, host keys checked against the
    testbed's known_hosts), for G5K_CONFIG."""
    return naming_known_hosts(testbed.state_dir / "g5k.toml", testbed.known_hosts,
                              tmp_path_factory.mktemp("g5k-config"))


@pytest.fixture(scope="session")
def oar_db(testbed: Testbed) -> OarDb:
    """Read-only (oar_ro) credentials of the testbed's OAR database."""
    return testbed.db


# ---------------------------------------------------------------- shared helpers of the test modules


class MemoryKeyring(keyring.backend.KeyringBackend):
    """Passwords held in memory (the real keyring module, another backend)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@contextmanager
def memory_keyring_installed() -> Iterator[MemoryKeyring]:
    """Install a fresh MemoryKeyring as the keyring backend; the previous one is restored on exit."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@contextmanager
def serving_json(answer: Callable[[str], Any]) -> Iterator[str]:
    """Serve ``answer(path)`` (the request path with its query) as JSON, a 500 when it is None; yields the
    server's base URL (``http://127.0.0.1:PORT``) and stops the server afterwards."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = answer(self.path)
            if body is None:
                self.send_response(500)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"Internal Server Error")
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


T = TypeVar("T")


WriteConfig = Callable[[str], Path]


OUTSIDE_NO_DEFAULT = """\
[g5k]
location = "outside"

[frontend]
user = "me"
host_suffix = ".example.org"
"""


"""Outside Grid'5000 with no default frontend: short names and unnamed frontends must be refused."""


def isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh HOME (``tmp_path/home``) and XDG_CONFIG_HOME (``tmp_path/xdg``), with none of our variables and
    no OAR job variables set."""
    for var in [v for v in os.environ if v.startswith("G5K_") or v in ("OAR_JOB_ID", "OAR_NODEFILE",
                                                                         "OAR_JOB_KEY_FILE")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def config_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WriteConfig:
    """In an isolated environment, a function writing the configuration file ``$G5K_CONFIG`` names."""
    isolate(tmp_path, monkeypatch)

    def write(text: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text)
        monkeypatch.setenv("G5K_CONFIG", str(path))
        return path

    return write


def success_of(result: object, kind: type[T]) -> T:
    """The value of a ``Success`` holding a ``kind``."""
    assert isinstance(result, Success), result
    value = result.unwrap()
    assert isinstance(value, kind), value
    return value


def failure_of(result: object, kind: type[T]) -> T:
    """The error of a ``Failure`` holding a ``kind``."""
    assert isinstance(result, Failure), result
    error = result.failure()
    assert isinstance(error, kind), error
    return error


RESERVATIONS_PER_USER = 2  # OAR's stock admission rule: at most 2 waiting advance reservations per user


def wait_for_reservation_quota(access: FrontendAccess, needs: Mapping[str, int], within: float) -> None:
    """Wait until the account behind each frontend can place ``needs[frontend]`` more advance reservations
    (other test runs on the same testbed may hold some for a while); fail, never skip, when they do not."""
    import time

    from g5k.ssh import output_or_failure, run

    from g5kpure.config import CommandOutput
    from g5kpure.oar import OarState, parse_oarstat_jobs_json

    deadline = time.monotonic() + within
    while True:
        held = {}
        for frontend in needs:
            out = output_or_failure(run(("oarstat", "-u", "-f", "-J"), frontend, access))
            assert isinstance(out, CommandOutput), out
            infos = parse_oarstat_jobs_json(out.exit_code, out.stdout, out.stderr).unwrap()
            held[frontend] = sum(1 for i in infos if i.is_reservation and i.state is OarState.WAITING)
        if all(held[f] + n <= RESERVATIONS_PER_USER for f, n in needs.items()):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"other runs keep holding the testbed users' waiting reservations: {held}")
        time.sleep(2.0)


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, object]:
    """Run `g5k ARGS --json` in process: its exit code and the JSON it printed."""
    from g5k.cli.main import main

    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def values(data: object) -> dict[str, dict[str, object]]:
    """The ``values`` of a `g5k config show --json` answer, by key."""
    assert isinstance(data, dict)
    return {v["key"]: v for v in data["values"]}
