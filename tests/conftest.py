"""Shared pytest fixtures.

The testbed fixtures read the state that ``make testbed`` (tests/testbed/up.sh) writes into ``.testbed/`` at the
root of the clone (or into ``$G5KPURE_TESTBED_STATE``). When the testbed is missing they FAIL, they never skip:
integration tests must not pass silently on a machine without the local OAR site.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from attrs import frozen

from g5kpure.config import ConnectionParams

REPO_DIR = Path(__file__).resolve().parent.parent
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
        ),
        spare_user=ConnectionParams(
            user=spare["user"],
            port=int(fe["port"]),
            key_filename=spare["key_filename"],
            host_suffix=fe["host_suffix"],
            timeout=60.0,
            connect_timeout=5.0,
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


@pytest.fixture(scope="session")
def g5k_config_file(testbed: Testbed) -> Path:
    """A `g5k` configuration file reaching the testbed (default frontend rennes), for G5K_CONFIG."""
    return testbed.state_dir / "g5k.toml"


@pytest.fixture(scope="session")
def oar_db(testbed: Testbed) -> OarDb:
    """Read-only (oar_ro) credentials of the testbed's OAR database."""
    return testbed.db
