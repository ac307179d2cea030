"""`g5k doctor` against the testbed: all green, then each piece broken on purpose (each reported, none crashing).

Real services only: the testbed's frontend sshd (rennes, nancy, lyon; lille refuses connections), its OAR
commands, the OAR REST API behind basic auth on loopback (standing in for the Grid'5000 API), the OAR
PostgreSQL database reached through an ssh tunnel over the frontend, and a reference cache on disk. The
keyring is an in-memory keyring backend (the machine has none), installed through keyring's own API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
from g5k import config as config_adapter
from g5k.api import ReferenceCache
from g5k.cli.main import main
from g5k.doctor import Options, Report, Verdict, run_doctor
from g5k.results import performed

from g5kpure.config import KEYRING_SERVICE, toml_string
from tests.conftest import MemoryKeyring, Testbed, memory_keyring_installed

pytestmark = pytest.mark.integration

LIVE = ("lyon", "nancy", "rennes")


@pytest.fixture
def memory_keyring(testbed: Testbed) -> Iterator[MemoryKeyring]:
    """An in-memory keyring holding alice's API password; the previous backend is restored afterwards."""
    with memory_keyring_installed() as ring:
        ring.set_password(KEYRING_SERVICE, "alice", testbed.api_passwords["alice"])
        yield ring


def toml_for(testbed: Testbed, **changes: str) -> str:
    """A configuration reaching the testbed; ``changes`` replace whole ``section.key = value`` lines."""
    fe = testbed.frontend
    db = testbed.db
    values = {
        "g5k.default_frontend": toml_string(testbed.oar_site),
        "g5k.api_uri": toml_string(testbed.api_priv_url + "/"),
        "g5k.api_username": toml_string("alice"),
        "g5k.oar_pgsql_ro_db": toml_string(db.dbname),
        "g5k.oar_pgsql_ro_user": toml_string(db.user),
        "g5k.oar_pgsql_ro_password": toml_string(db.password),
        "g5k.oar_pgsql_ro_port": str(db.port),
        "g5k.oar_pgsql_ro_host": toml_string(db.host),
        "frontend.user": toml_string(fe.user or ""),
        "frontend.keyfile": toml_string(fe.key_filename or ""),
        "frontend.port": str(fe.port),
        "frontend.host_suffix": toml_string(fe.host_suffix),
        "frontend.connect_timeout": "5",
        "frontend.known_hosts": toml_string(fe.known_hosts or ""),
    }
    values.update(changes)
    out: list[str] = []
    for section in ("g5k", "frontend"):
        out.append(f"[{section}]")
        out += [f"{k.split('.', 1)[1]} = {v}" for k, v in values.items() if k.startswith(section + ".")]
    out += [f"[frontends.{name}]" for name in LIVE if name != testbed.oar_site]
    return "\n".join(out) + "\n"


@pytest.fixture
def setup(tmp_path: Path, testbed: Testbed) -> Path:
    """A temporary HOME and a valid reference cache for the testbed's API URI."""
    (tmp_path / "home").mkdir()
    written = ReferenceCache(tmp_path / "cache", testbed.api_priv_url + "/").write(
        "0123456789abcdef", {"sites": {"rennes": {}, "nancy": {}}})
    assert performed(written).unwrap().exists()
    return tmp_path


def doctor(tmp: Path, toml: str, extra: str = "", env: dict[str, str] | None = None, **kw: object) -> Report:
    path = tmp / "config.toml"
    path.write_text(toml + extra)
    opts = Options(env={"HOME": str(tmp / "home"), **(env or {})}, config_file=path, cache_dir=tmp / "cache",
                   facts=config_adapter.Facts("testhost", "example.org", ()), timeout=20.0)
    return run_doctor(opts, **kw)  # type: ignore[arg-type]


def verdicts(report: Report) -> dict[str, Verdict]:
    return {c.name: c.verdict for c in report.checks}


GREEN_NAMES = (
    ["configuration", "where we run", "outside access"]
    + [n for fe in LIVE for n in (f"ssh {fe}", f"OAR commands on {fe}")] + [f"OAR version on {fe}" for fe in LIVE]
    + ["API", "keyring"]
    + [f"OAR database {fe}" for fe in LIVE]
    + ["reference cache"]
)


def assert_only(report: Report, changed: dict[str, Verdict]) -> None:
    """Every check ran; those in ``changed`` have that verdict, all others are OK."""
    got = verdicts(report)
    for name in GREEN_NAMES:
        assert name in got, f"check {name!r} missing from {list(got)}"
    for name, verdict in got.items():
        assert verdict is changed.get(name, Verdict.OK), (name, report.render())


def test_all_green_against_the_testbed(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring) -> None:
    report = doctor(setup, toml_for(testbed))
    assert_only(report, {})
    assert report.ok
    assert [c.name for c in report.checks] == GREEN_NAMES
    ssh = report.named("ssh rennes")
    assert ssh is not None and ssh.elapsed_s is not None and ssh.elapsed_s > 0
    assert "2222" in ssh.detail
    db = report.named("OAR database rennes")
    assert db is not None and f"{len(testbed.nodes) * testbed.cores_per_node} resources" in db.detail
    api = report.named("API")
    assert api is not None and "as alice" in api.detail


def test_cli_doctor_json_all_green(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring,
                                   capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(setup / "home"))
    monkeypatch.setenv("G5K_CACHE_DIR", str(setup / "cache"))
    monkeypatch.setenv("G5K_LOCATION", "outside")
    path = setup / "config.toml"
    path.write_text(toml_for(testbed))
    assert main(["doctor", "--file", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True
    assert {c["name"]: c["verdict"] for c in data["checks"]} == dict.fromkeys(GREEN_NAMES, "ok")


def test_dead_frontend(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring) -> None:
    dead = testbed.dead_frontends[0]
    report = doctor(setup, toml_for(testbed), f"[frontends.{dead}]\n")
    assert_only(report, {f"ssh {dead}": Verdict.FAIL, f"OAR commands on {dead}": Verdict.SKIP,
                         f"OAR database {dead}": Verdict.SKIP, f"OAR version on {dead}": Verdict.SKIP})
    check = report.named(f"ssh {dead}")
    assert check is not None and "unreachable" in check.detail and "proxy_jump" in check.fix


def test_wrong_ssh_key(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring) -> None:
    bob_key = toml_string(testbed.other_user.key_filename or "")
    report = doctor(setup, toml_for(testbed, **{"frontend.keyfile": bob_key}))
    changed = {f"ssh {fe}": Verdict.FAIL for fe in LIVE}
    changed |= {f"{what} {fe}": Verdict.SKIP for fe in LIVE for what in ("OAR commands on", "OAR version on")}
    changed |= {f"OAR database {fe}": Verdict.SKIP for fe in LIVE}
    assert_only(report, changed)
    check = report.named("ssh rennes")
    assert check is not None and "authentication refused" in check.detail and "keyfile" in check.fix


def test_missing_deployment_command(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring) -> None:
    report = doctor(setup, toml_for(testbed).replace("[g5k]\n", "[g5k]\nkadeploy3 = \"kadeploy-nope\"\n"))
    assert_only(report, {f"OAR commands on {fe}": Verdict.WARN for fe in LIVE})
    check = report.named("OAR commands on lyon")
    assert check is not None and "kadeploy-nope missing" in check.detail


def test_wrong_api_password(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password(KEYRING_SERVICE, "alice", "not-the-password")
    report = doctor(setup, toml_for(testbed))
    assert_only(report, {"API": Verdict.FAIL})
    check = report.named("API")
    assert check is not None and "refused the credentials" in check.detail and "keyring set" in check.fix


def test_api_unreachable(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring) -> None:
    report = doctor(setup, toml_for(testbed, **{"g5k.api_uri": '"http://127.0.0.1:9/api/"'}))
    assert_only(report, {"API": Verdict.FAIL, "reference cache": Verdict.WARN})  # no cache for that URI
    check = report.named("API")
    assert check is not None and "127.0.0.1:9" in check.detail and "api_uri" in check.fix


def test_no_keyring(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring) -> None:
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    report = doctor(setup, toml_for(testbed))
    assert_only(report, {"API": Verdict.FAIL, "keyring": Verdict.FAIL})
    check = report.named("keyring")
    assert check is not None and "no usable keyring" in check.detail


def test_password_missing_from_keyring(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.delete_password(KEYRING_SERVICE, "alice")
    report = doctor(setup, toml_for(testbed))
    assert_only(report, {"API": Verdict.FAIL, "keyring": Verdict.FAIL})
    check = report.named("keyring")
    assert check is not None and "no password for alice" in check.detail


def test_wrong_database_password(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring) -> None:
    report = doctor(setup, toml_for(testbed, **{"g5k.oar_pgsql_ro_password": '"wrong"'}))
    assert_only(report, {f"OAR database {fe}": Verdict.FAIL for fe in LIVE})
    check = report.named("OAR database nancy")
    assert check is not None and "authentication refused" in check.detail and "password" in check.fix


def test_wrong_database_port(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring) -> None:
    report = doctor(setup, toml_for(testbed, **{"g5k.oar_pgsql_ro_port": "1"}))
    assert_only(report, {f"OAR database {fe}": Verdict.FAIL for fe in LIVE})
    check = report.named("OAR database lyon")
    assert check is not None and "oar_pgsql_ro_host and _port" in check.fix


def test_corrupt_and_missing_cache(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring) -> None:
    cache = ReferenceCache(setup / "cache", testbed.api_priv_url + "/")
    cache.path.write_bytes(b"\x1f\x8b partial")
    report = doctor(setup, toml_for(testbed))
    assert_only(report, {"reference cache": Verdict.FAIL})
    cache.path.unlink()
    report = doctor(setup, toml_for(testbed))
    assert_only(report, {"reference cache": Verdict.WARN})


def test_broken_configuration_still_runs_every_other_check(setup: Path, testbed: Testbed,
                                                            memory_keyring: MemoryKeyring) -> None:
    broken = toml_for(testbed).replace("[g5k]\n", "[g5k]\nno_such_key = 1\n")
    report = doctor(setup, broken, skip=("api",))
    got = verdicts(report)
    assert got["configuration"] is Verdict.FAIL
    check = report.named("configuration")
    assert check is not None and "no_such_key" in check.detail
    assert got["where we run"] is Verdict.OK
    assert got["frontends"] is Verdict.WARN  # the defaults name no frontend
    assert got["keyring"] is Verdict.OK
    assert "reference cache" in got
    assert not report.ok


def test_misspelt_variable_is_a_warning_and_the_rest_stays_green(setup: Path, testbed: Testbed,
                                                                 memory_keyring: MemoryKeyring) -> None:
    report = doctor(setup, toml_for(testbed), env={"G5K_API_USERNAM": "bob"})
    assert_only(report, {"configuration": Verdict.WARN})
    check = report.named("configuration")
    assert check is not None and "did you mean $G5K_API_USERNAME?" in check.detail
    assert report.ok


def test_every_problem_of_the_file_is_reported(setup: Path, testbed: Testbed, memory_keyring: MemoryKeyring) -> None:
    broken = toml_for(testbed).replace("[g5k]\n", "[g5k]\nno_such_key = 1\napi_timeout = -1\n")
    report = doctor(setup, broken, skip=("api", "ssh", "db"))
    check = report.named("configuration")
    assert check is not None and check.verdict is Verdict.FAIL
    assert "2 configuration problems" in check.detail
    assert "no_such_key" in check.detail and "g5k.api_timeout" in check.detail
    path = setup / "config.toml"
    assert f"{path} line 2, {path} line 3" in check.fix
