"""Check ssh host keys as OpenSSH does: against the user's and the system's known_hosts files, and a configured one.

A host key is accepted when an entry of one of the files names the host (``host``, or ``[host]:port`` off port
22; plain, hashed ``|1|salt|hash`` or wildcard names, ``!negations``) with that very key. Otherwise it is
refused with the reason and how to check it: unknown (no entry names the host), changed (entries name the host
with other keys: never accepted automatically) or revoked (``@revoked``). An unknown key is accepted and added
to the user's file when the caller says so (``accept_new_host_keys``, or ``StrictHostKeyChecking accept-new``
in ``~/.ssh/config``), hashed when ``HashKnownHosts`` says so.

Files are parsed once per process (again when they change), into an index by name: a frontend's file of a
few thousand nodes costs one pass, not one per connection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import paramiko
from attrs import frozen

log = logging.getLogger(__name__)

SYSTEM_FILES: tuple[str, ...] = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")
"""OpenSSH's default ``GlobalKnownHostsFile``."""

USER_FILES: tuple[str, ...] = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2")
"""OpenSSH's default ``UserKnownHostsFile`` (the first one receives accepted keys)."""

ACCEPT_NEW_SETTING = "accept_new_host_keys = true under [frontend] (G5K_FRONTEND_ACCEPT_NEW_HOST_KEYS=true)"

# Host key algorithms as negotiated, and the key type (as written in known_hosts) each one proves.
_KEY_TYPE_OF_ALGORITHM: Mapping[str, str] = {"rsa-sha2-512": "ssh-rsa", "rsa-sha2-256": "ssh-rsa"}


@frozen
class KnownKey:
    """One key of a known_hosts file: where it is (file and line), its type and base64 blob, whether revoked."""

    path: str
    line: int
    key_type: str
    blob: str
    revoked: bool = False

    @property
    def fingerprint(self) -> str:
        """OpenSSH's SHA256 fingerprint of the key."""
        return fingerprint_of_blob(self.blob)


def fingerprint_of_blob(blob: str) -> str:
    """``SHA256:...`` of a base64 key blob, as ``ssh-keygen -l`` prints it."""
    try:
        raw = base64.b64decode(blob)
    except ValueError:
        return "SHA256:?"
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def key_name(host: str, port: int | None) -> str:
    """The name a host's keys are filed under: ``host`` on port 22, else ``[host]:port``."""
    host = host.lower()
    return host if port in (None, 22) else f"[{host}]:{port}"


def _hashed_matches(pattern: str, name: str) -> bool:
    parts = pattern.split("|")  # "", "1", salt, hash
    if len(parts) != 4 or parts[1] != "1":
        return False
    try:
        salt, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
    except ValueError:
        return False
    return hmac.compare_digest(hmac.new(salt, name.encode(), hashlib.sha1).digest(), digest)


def _glob(pattern: str) -> re.Pattern[str]:
    """OpenSSH's patterns: ``*`` any run of characters, ``?`` one; everything else literal (``[`` included)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()))


def _names_match(patterns: Sequence[str], name: str) -> bool:
    """OpenSSH's host list matching: a negated pattern that matches excludes the host, else any positive match."""
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        hit = _hashed_matches(body, name) if body.startswith("|") else bool(_glob(body).fullmatch(name))
        if hit and negated:
            return False
        matched = matched or hit
    return matched


class KnownHostsFile:
    """The parsed entries of one known_hosts file: plain names indexed, hashed and wildcard entries kept apart."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self._by_name: dict[str, list[KnownKey]] = {}
        self._patterned: list[tuple[tuple[str, ...], KnownKey]] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            revoked = False
            if line.startswith("@"):
                marker, _, line = line.partition(" ")
                if marker != "@revoked":
                    continue  # @cert-authority: host certificates are not supported, those hosts stay unknown
                revoked = True
            fields = line.split()
            if len(fields) < 3:
                continue
            names = tuple(n for n in fields[0].split(",") if n)
            key = KnownKey(path, number, fields[1], fields[2], revoked)
            if any(n.startswith(("|", "!")) or "*" in n or "?" in n for n in names):
                self._patterned.append((names, key))
            else:
                for name in names:
                    self._by_name.setdefault(name.lower(), []).append(key)

    def lookup(self, name: str) -> list[KnownKey]:
        """Every key this file holds for ``name`` (a ``key_name``), in file order."""
        found = list(self._by_name.get(name, ()))
        found += [key for names, key in self._patterned if _names_match(names, name)]
        return sorted(found, key=lambda k: k.line)


_cache: dict[str, tuple[tuple[int, int], KnownHostsFile]] = {}
_cache_lock = threading.Lock()


def load_file(path: str) -> KnownHostsFile | None:
    """The parsed file at ``path`` (re-read only when it changed), or None when it cannot be read."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        log.debug("cannot read %s: %s", path, exc)
        return None
    parsed = KnownHostsFile(path, text)
    with _cache_lock:
        _cache[path] = (stamp, parsed)
    return parsed


@frozen
class HostKeyFiles:
    """Where one connection's host keys are looked up, where accepted keys go, and whether new ones are."""

    files: tuple[str, ...]
    user_file: str
    accept_new: bool = False
    hash_names: bool = False

    def known(self, name: str) -> list[KnownKey]:
        """Every key the files hold for ``name``."""
        keys: list[KnownKey] = []
        for path in self.files:
            parsed = load_file(path)
            if parsed is not None:
                keys += parsed.lookup(name)
        return keys

    def disabled_algorithms(self, name: str, offered: Iterable[str]) -> list[str]:
        """The host key algorithms to refuse so that the server proves a key of a type we know for ``name``
        (as OpenSSH prefers known types); none when nothing is known or no known type can be negotiated."""
        types = {k.key_type for k in self.known(name) if not k.revoked}
        algorithms = tuple(offered)
        usable = [a for a in algorithms if _KEY_TYPE_OF_ALGORITHM.get(a, a) in types]
        return [a for a in algorithms if a not in usable] if usable else []


def _expand(path: str) -> str:
    return os.path.expandvars(os.path.expanduser(path))


def files_for(ssh_config: Mapping[str, str], extra: str | None, accept_new: bool) -> HostKeyFiles:
    """The files of one connection, from its ``~/.ssh/config`` entry (``UserKnownHostsFile``,
    ``GlobalKnownHostsFile``, ``StrictHostKeyChecking``, ``HashKnownHosts``) and our settings."""
    users = tuple(_expand(p) for p in (ssh_config.get("userknownhostsfile") or " ".join(USER_FILES)).split())
    system = tuple(_expand(p) for p in (ssh_config.get("globalknownhostsfile") or " ".join(SYSTEM_FILES)).split())
    extras = (_expand(extra),) if extra else ()
    strict = str(ssh_config.get("stricthostkeychecking", "")).lower()
    # "no" in OpenSSH also lets a changed key through; here a changed key is always refused
    accept = accept_new or strict in ("accept-new", "no", "off")
    hashed = str(ssh_config.get("hashknownhosts", "")).lower() == "yes"
    return HostKeyFiles(tuple(dict.fromkeys(users + system + extras)), users[0] if users else _expand(USER_FILES[0]),
                        accept, hashed)


class HostKeyRefused(paramiko.SSHException):
    """The server's host key was refused: why (``detail``) and what to do (``fix``)."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fix = fix


def _hashed_name(name: str) -> str:
    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


_append_lock = threading.Lock()


def remember(files: HostKeyFiles, name: str, key: paramiko.PKey) -> str | None:
    """Append ``key`` for ``name`` to the user's file; the file written, or None when it could not be."""
    path = Path(files.user_file)
    written = _hashed_name(name) if files.hash_names else name
    line = f"{written} {key.get_name()} {key.get_base64()}\n"
    try:
        with _append_lock:
            if path.parent != path and not path.parent.exists():
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(line)
    except OSError as exc:
        log.warning("could not add the host key of %s to %s: %s", name, path, exc)
        return None
    return str(path)


def _keyscan(name: str) -> str:
    if name.startswith("["):
        host, _, port = name[1:].partition("]:")
        return f"ssh-keyscan -p {port} {host}"
    return f"ssh-keyscan {name}"


def verify(files: HostKeyFiles, name: str, key: paramiko.PKey) -> None:
    """Accept ``key`` as the host key of ``name`` or raise ``HostKeyRefused`` saying why and how to check it."""
    offered, offered_type = key.get_base64(), key.get_name()
    fingerprint = fingerprint_of_blob(offered)
    known = files.known(name)
    revoked = next((k for k in known if k.revoked and k.blob == offered), None)
    if revoked is not None:
        raise HostKeyRefused(
            f"the host key of {name} ({offered_type} {fingerprint}) is marked @revoked in {revoked.path} line "
            f"{revoked.line}", "do not use this host until its administrators give it a new key")
    valid = [k for k in known if not k.revoked]
    if any(k.blob == offered for k in valid):
        return
    if valid:
        old = next((k for k in valid if k.key_type == offered_type), valid[0])
        raise HostKeyRefused(
            f"the host key of {name} has CHANGED: it offers {offered_type} {fingerprint} but {old.path} line "
            f"{old.line} holds {old.key_type} {old.fingerprint}",
            "someone may be intercepting the connection, or the host was reinstalled: check the new fingerprint "
            f"with the host's administrators, then remove the old key with `ssh-keygen -R '{name}' -f {old.path}` "
            "(a changed key is never accepted automatically)")
    if files.accept_new:
        where = remember(files, name, key)
        log.warning("accepted the new host key of %s (%s %s)%s", name, offered_type, fingerprint,
                    f" and added it to {where}" if where else "")
        return
    searched = ", ".join(files.files)
    raise HostKeyRefused(
        f"the host key of {name} ({offered_type} {fingerprint}) is unknown: no entry in {searched}",
        f"check that {fingerprint} is the host's key (ask its administrators, or run `ssh-keygen -lf` on its "
        f"/etc/ssh/ssh_host_*_key.pub), then add it to {files.user_file} (`{_keyscan(name)} >> {files.user_file}`, "
        f"or connect once with ssh), or set {ACCEPT_NEW_SETTING} to accept the keys of new hosts on first use")


class CheckingPolicy(paramiko.MissingHostKeyPolicy):
    """paramiko's policy hook, called for every server key (the client itself is given no known keys)."""

    def __init__(self, files: HostKeyFiles) -> None:
        self.files = files

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        verify(self.files, hostname.lower(), key)
