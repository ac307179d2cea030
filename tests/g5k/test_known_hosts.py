"""g5k.known_hosts: OpenSSH's known_hosts rules (names, ports, hashes, patterns, @revoked) and the verdicts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
from pathlib import Path

import paramiko
import pytest
from g5k.known_hosts import (
    HostKeyFiles,
    HostKeyRefused,
    files_for,
    fingerprint_of_blob,
    key_name,
    load_file,
    verify,
)


@pytest.fixture(scope="module")
def keys() -> tuple[paramiko.PKey, paramiko.PKey]:
    return paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()


def line(names: str, key: paramiko.PKey) -> str:
    return f"{names} {key.get_name()} {key.get_base64()}\n"


def hashed(name: str) -> str:
    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def files(tmp_path: Path, text: str, accept_new: bool = False) -> HostKeyFiles:
    path = tmp_path / "known_hosts"
    path.write_text(text)
    return HostKeyFiles((str(path),), str(tmp_path / "user_known_hosts"), accept_new)


def test_names_are_filed_with_their_port_off_22() -> None:
    assert key_name("Rennes.Grid5000.fr", 22) == "rennes.grid5000.fr"
    assert key_name("rennes.grid5000.fr", None) == "rennes.grid5000.fr"
    assert key_name("127.0.0.1", 2222) == "[127.0.0.1]:2222"


@pytest.mark.parametrize("names", ["plain", "hashed", "pattern", "list"])
def test_a_known_key_is_accepted_whatever_the_form_of_its_name(tmp_path: Path, keys, names: str) -> None:
    good, _ = keys
    name = "[nancy.grid5000.fr]:2222"
    written = {"plain": name, "hashed": hashed(name), "pattern": "[*.grid5000.fr]:2222",
               "list": f"other.example.org,{name},10.0.0.1"}[names]
    verify(files(tmp_path, "# comment\n\n" + line(written, good)), name, good)


def test_a_pattern_is_not_a_character_class_and_negations_exclude(tmp_path: Path, keys) -> None:
    good, _ = keys
    checked = files(tmp_path, line("[*.grid5000.fr]:2222,!*.lille.grid5000.fr*", good))
    verify(checked, "[nancy.grid5000.fr]:2222", good)
    for name in ("[lille-1.lille.grid5000.fr]:2222", "[nancy.grid5000.fr]:22", "nancy.grid5000.fr", "n"):
        with pytest.raises(HostKeyRefused) as refused:
            verify(checked, name, good)
        assert "is unknown" in refused.value.detail


def test_a_changed_key_is_refused_with_both_fingerprints_and_the_ssh_keygen_fix(tmp_path: Path, keys) -> None:
    good, other = keys
    checked = files(tmp_path, line("host.example.org", other), accept_new=True)
    with pytest.raises(HostKeyRefused) as refused:
        verify(checked, "host.example.org", good)  # accepting new keys never accepts a changed one
    assert "has CHANGED" in refused.value.detail
    assert fingerprint_of_blob(good.get_base64()) in refused.value.detail
    assert fingerprint_of_blob(other.get_base64()) in refused.value.detail
    assert "known_hosts line 1" in refused.value.detail
    assert f"ssh-keygen -R 'host.example.org' -f {tmp_path / 'known_hosts'}" in refused.value.fix
    assert not (tmp_path / "user_known_hosts").exists()


def test_another_entry_with_the_key_wins_over_a_stale_one(tmp_path: Path, keys) -> None:
    good, other = keys
    verify(files(tmp_path, line("host.example.org", other) + line("host.example.org", good)), "host.example.org", good)


def test_a_revoked_key_is_refused_even_when_listed_as_valid(tmp_path: Path, keys) -> None:
    good, _ = keys
    checked = files(tmp_path, "@revoked * " + line("", good).strip() + "\n" + line("host.example.org", good))
    with pytest.raises(HostKeyRefused) as refused:
        verify(checked, "host.example.org", good)
    assert "@revoked" in refused.value.detail


def test_an_unknown_key_is_refused_with_its_fingerprint_and_how_to_accept_it(tmp_path: Path, keys) -> None:
    good, _ = keys
    with pytest.raises(HostKeyRefused) as refused:
        verify(files(tmp_path, ""), "[h.example.org]:2222", good)
    assert fingerprint_of_blob(good.get_base64()) in refused.value.detail
    assert "ssh-keyscan -p 2222 h.example.org" in refused.value.fix
    assert "accept_new_host_keys = true" in refused.value.fix


def test_accepting_new_keys_remembers_them_hashed_when_asked(tmp_path: Path, keys) -> None:
    good, _ = keys
    user_file = tmp_path / "ssh" / "known_hosts"
    checked = files_for({"userknownhostsfile": str(user_file), "globalknownhostsfile": "/nonexistent",
                         "hashknownhosts": "yes"}, None, accept_new=True)
    assert checked.files == (str(user_file), "/nonexistent")
    verify(checked, "[new.example.org]:2222", good)
    written = user_file.read_text()
    assert written.startswith("|1|") and good.get_base64() in written
    assert (user_file.stat().st_mode & 0o777) == 0o600
    verify(files_for({"userknownhostsfile": str(user_file)}, None, accept_new=False), "[new.example.org]:2222", good)


def test_ssh_config_decides_the_files_and_accept_new(tmp_path: Path) -> None:
    default = files_for({}, "~/extra_known_hosts", accept_new=False)
    home = os.path.expanduser("~")
    assert default.files == (f"{home}/.ssh/known_hosts", f"{home}/.ssh/known_hosts2", "/etc/ssh/ssh_known_hosts",
                             "/etc/ssh/ssh_known_hosts2", f"{home}/extra_known_hosts")
    assert default.user_file == f"{home}/.ssh/known_hosts" and not default.accept_new
    assert files_for({"stricthostkeychecking": "accept-new"}, None, False).accept_new
    assert not files_for({"stricthostkeychecking": "yes"}, None, False).accept_new


def test_known_types_are_preferred_in_the_key_exchange(tmp_path: Path, keys) -> None:
    good, _ = keys
    offered = ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256")
    checked = files(tmp_path, line("h", good) + "h ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7\n")
    assert checked.disabled_algorithms("h", offered) == ["ssh-ed25519"]
    assert checked.disabled_algorithms("unknown", offered) == []


def test_a_file_is_parsed_once_until_it_changes(tmp_path: Path, keys) -> None:
    good, other = keys
    path = tmp_path / "known_hosts"
    path.write_text(line("a", good))
    first = load_file(str(path))
    assert first is load_file(str(path))
    path.write_text(line("a", good) + line("b", other))
    second = load_file(str(path))
    assert second is not first and second is not None and len(second.lookup("b")) == 1
    assert load_file(str(tmp_path / "absent")) is None


def test_fingerprints_are_openssh_ones(tmp_path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    blob = (tmp_path / "k.pub").read_text().split()[1]
    printed = subprocess.run(["ssh-keygen", "-lf", str(tmp_path / "k.pub")], capture_output=True, text=True,
                             check=True).stdout.split()[1]
    assert fingerprint_of_blob(blob) == printed
