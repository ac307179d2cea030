"""`g5k vlan` against a real loopback HTTP server serving the KaVLAN routes."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from g5k.cli.main import main
from g5k.reference_data import read_embedded_bytes

from tests.fixtures.g5k_api.api_server import ApiServer
from tests.fixtures.g5k_api.kavlan_state import KavlanState

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def deep() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read_embedded_bytes().unwrap())
    return data


@pytest.fixture
def state(deep: dict[str, Any]) -> KavlanState:
    return KavlanState(copy.deepcopy(deep), "1" * 40)


@pytest.fixture
def api(state: KavlanState) -> Iterator[str]:
    with ApiServer(state) as srv:
        yield srv.base_uri


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_and_nodes(capsys: pytest.CaptureFixture[str], api: str) -> None:
    code, out, _ = run(capsys, "vlan", "list", "rennes", "--api", api)
    assert code == 0
    assert out.splitlines()[:3] == ["DEFAULT\tdefault", "1\tkavlan-local", "2\tkavlan-local"]
    code, out, _ = run(capsys, "vlan", "list", "rennes", "--api", api, "--json")
    assert json.loads(out)["vlans"][10] == {"uid": "16", "kind": "kavlan-global"}
    code, out, _ = run(capsys, "vlan", "nodes", "rennes", "1", "--api", api)
    assert code == 0 and out.strip() == ""


def test_set_moves_ranges_then_where_and_back(capsys: pytest.CaptureFixture[str], api: str,
                                              state: KavlanState) -> None:
    code, out, _ = run(capsys, "vlan", "set", "rennes", "1", "parasilo-[1-2].rennes", "-i", "eth1", "--api", api)
    assert code == 0
    assert [ln.split("\t")[:2] for ln in out.splitlines()] == [
        ["parasilo-1-eth1.rennes.grid5000.fr", "success"], ["parasilo-2-eth1.rennes.grid5000.fr", "success"]]
    code, out, _ = run(capsys, "vlan", "where", "rennes", "parasilo-1", "parasilo-3", "-i", "eth1", "--api", api,
                       "--json")
    assert json.loads(out) == {"parasilo-1-eth1.rennes.grid5000.fr": "1",
                               "parasilo-3-eth1.rennes.grid5000.fr": "DEFAULT"}
    code, out, _ = run(capsys, "vlan", "set", "rennes", "default", "parasilo-[1-2]", "-i", "eth1", "--api", api,
                       "--json")
    assert code == 0 and json.loads(out)["vlan"] == "DEFAULT" and len(json.loads(out)["moved"]) == 2
    assert state.node_vlan["parasilo-1-eth1.rennes.grid5000.fr"] == "DEFAULT"


def test_refusals_and_dry_run(capsys: pytest.CaptureFixture[str], api: str, state: KavlanState) -> None:
    code, _, err = run(capsys, "vlan", "set", "rennes", "5", "parasilo-1", "--api", api)
    assert code == 1 and "vlan 5 is not reserved by snoir" in err
    code, _, err = run(capsys, "vlan", "set", "rennes", "4", "nova-1.lyon", "--api", api)
    assert code == 1 and "a host of site rennes" in err
    posted = len(state.posted)
    code, out, _ = run(capsys, "vlan", "set", "rennes", "4", "parasilo-[1-2]", "--api", api, "--dry-run")
    assert code == 0 and len(state.posted) == posted
    assert out.startswith(f"POST {api}sites/rennes/vlans/4/nodes body=")
    assert '["parasilo-1.rennes.grid5000.fr", "parasilo-2.rennes.grid5000.fr"]' in out


def test_network_from_the_embedded_reference(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "vlan", "network", "rennes", "16")
    assert code == 0 and out.strip() == "10.27.192.0/18 gateway 10.27.255.254"
    code, _, err = run(capsys, "vlan", "network", "rennes", "99")
    assert code == 1 and "kavlan '99 of rennes' not found" in err


def test_dry_run_takes_the_api_from_the_configuration(capsys: pytest.CaptureFixture[str], tmp_path: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # like `g5k ref`: the configured API URI, user and timeout, with the password never shown
    path = tmp_path / "config.toml"
    path.write_text('[g5k]\nlocation = "outside"\napi_uri = "https://api.example.org/3.0/"\n'
                    'api_username = "jdoe"\napi_timeout = 9\n')
    monkeypatch.setenv("G5K_CONFIG", str(path))
    for var in ("G5K_API_URI", "G5K_API_USERNAME", "G5K_API_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    code, out, err = run(capsys, "vlan", "list", "rennes", "--dry-run")
    assert code == 0, err
    assert out.startswith("GET https://api.example.org/3.0/sites/rennes/vlans")
    assert "jdoe" in out and "timeout 9s" in out
    code, out, err = run(capsys, "vlan", "list", "rennes", "--dry-run",
                         "--api", "https://other.example/", "--user", "bob")
    assert code == 0, err
    assert out.startswith("GET https://other.example/sites/rennes/vlans") and "bob" in out
