"""Remote execution plans: which hosts, which command or files, and how each host is reached.

A plan is a value built and checked here, before anything runs; the adapter (``g5k.remote``) performs it with
ClusterShell and ``--dry-run`` prints it. How a node is reached is a :class:`NodeAccess`:

- ``oarsh_access``: a job's nodes through OAR's own sshd, as user ``oar`` on port 6667 with the job key (the key
  given to ``oarsub -k -i``); OAR's login shell there turns the connection into the job's user;
- ``root_access``: deployed nodes (kadeploy3 environments), as ``root`` on port 22;
- in a kavlan (``kavlan=N``) nodes are reached under their ``-kavlan-N`` names;
- from outside Grid'5000, through the site's frontend (a :class:`Jump`, written as an ssh ``ProxyCommand`` so that
  the frontend's own user, port and key apply to it).

Every option is given as ``-oName=value`` so that the same options serve ``ssh`` and ``scp``.
"""

from __future__ import annotations

import enum
import math
import re
import shlex
from collections.abc import Iterable, Sequence
from typing import Final

from attrs import field, frozen
from returns.iterables import Fold
from returns.result import Failure, Result, Success

from g5kpure.config.connection import ConnectionParams, Endpoint
from g5kpure.errors import G5kError, InvalidInput
from g5kpure.hosts import (
    format_host_ranges,
    get_kavlan_host_name,
    host_shortname,
    node_fqdn,
    parse_host_ranges,
)

DEFAULT_FANOUT: Final = 64
"""Connections open at once (ClusterShell's default)."""

DEFAULT_CONNECT_TIMEOUT: Final = 10.0
"""Seconds allowed to open one ssh connection."""

SYSTEM_KNOWN_HOSTS: Final = "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"
"""OpenSSH's default GlobalKnownHostsFile."""

OAR_NODE_USER: Final = "oar"
OAR_NODE_PORT: Final = 6667

_HOST_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_USER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


class Login(enum.Enum):
    """How nodes are logged into."""

    OARSH = "oarsh"
    """A job's nodes through OAR's sshd: user oar, port 6667, the job key."""
    ROOT = "root"
    """Deployed nodes: root, port 22."""
    PLAIN = "plain"
    """As given (user, port and key, else the ssh configuration's)."""


class HostKeys(enum.Enum):
    """What ssh does with host keys it does not know."""

    IGNORE = "ignore"
    """Nodes are redeployed all the time: accept any key and remember none (as OAR's own oarsh does)."""
    ACCEPT_NEW = "accept-new"
    """Remember keys seen first, refuse a changed one."""
    STRICT = "strict"
    """Only keys already in known_hosts."""


def _host_key_options(policy: HostKeys) -> tuple[str, ...]:
    if policy is HostKeys.IGNORE:
        return ("-oStrictHostKeyChecking=no", "-oUserKnownHostsFile=/dev/null")
    if policy is HostKeys.ACCEPT_NEW:
        return ("-oStrictHostKeyChecking=accept-new",)
    return ("-oStrictHostKeyChecking=yes",)


@frozen
class Jump:
    """The host ssh goes through to reach the nodes: the site's frontend, from outside Grid'5000."""

    host: str
    user: str | None = None
    port: int | None = None
    key_filename: str | None = None
    via: str | None = None
    """A further jump host (``[user@]host[:port]``, e.g. ``access.grid5000.fr``), as ssh's ``-J``."""
    host_keys: HostKeys = HostKeys.ACCEPT_NEW
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    known_hosts: str | None = None
    """A known_hosts file read besides the user's and the system's (the frontend's ``known_hosts`` setting)."""

    def argv(self) -> tuple[str, ...]:
        """The ssh command that opens the tunnel (``-W %h:%p``: ssh fills in the node and its port)."""
        words = ["ssh", "-oBatchMode=yes", f"-oConnectTimeout={_seconds(self.connect_timeout)}", "-oLogLevel=ERROR"]
        words += _host_key_options(self.host_keys)
        if self.known_hosts is not None:
            # read-only beside the system's files: the user's own known_hosts (and its UserKnownHostsFile) stay
            extra = f'"{self.known_hosts}"' if any(c.isspace() for c in self.known_hosts) else self.known_hosts
            words.append(f"-oGlobalKnownHostsFile={SYSTEM_KNOWN_HOSTS} {extra}")
        if self.key_filename is not None:
            words += [f"-oIdentityFile={self.key_filename}", "-oIdentitiesOnly=yes"]
        if self.port is not None:
            words.append(f"-oPort={self.port}")
        if self.user is not None:
            words.append(f"-oUser={self.user}")
        if self.via is not None:
            words += ["-J", self.via]
        words += ["-W", "%h:%p", "--", self.host]
        return tuple(words)

    def proxy_command(self) -> str:
        """The ``ProxyCommand`` value: the tunnel's argv as one shell line (``%h:%p`` left to ssh)."""
        return shlex.join(self.argv())


def jump_via(endpoint: Endpoint) -> Jump:
    """The frontend of a site as the jump host to its nodes (its user, port, key and own jump host)."""
    return Jump(
        host=endpoint.host,
        user=endpoint.user,
        port=endpoint.port,
        key_filename=endpoint.key_filename,
        via=endpoint.proxy_jump,
        host_keys=HostKeys.ACCEPT_NEW if endpoint.accept_new_host_keys else HostKeys.STRICT,
        connect_timeout=endpoint.connect_timeout,
        known_hosts=endpoint.known_hosts,
    )


def _seconds(value: float) -> int:
    """Seconds as ssh's ConnectTimeout takes them: a whole number, at least 1."""
    return max(1, round(value))


@frozen
class NodeAccess:
    """How nodes are reached: login kind, user, port, key, jump host, kavlan, host key policy, timeouts."""

    login: Login = Login.PLAIN
    user: str | None = None
    port: int | None = None
    key_filename: str | None = None
    jump: Jump | None = None
    kavlan: int | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    host_keys: HostKeys = HostKeys.IGNORE
    ssh_config: str | None = None
    """An ssh configuration file used instead of ``~/.ssh/config`` (ssh's ``-F``)."""

    def address_of(self, host: str) -> str:
        """The name ssh connects to for ``host``: its ``-kavlan-N`` name inside a kavlan, else itself."""
        return host if self.kavlan is None else get_kavlan_host_name(host, self.kavlan)

    def options(self) -> tuple[str, ...]:
        """The ssh (and scp) options of this access, each as ``-oName=value`` (``-F FILE`` first)."""
        words: list[str] = []
        if self.ssh_config is not None:
            words += ["-F", self.ssh_config]
        if self.port is not None:
            words.append(f"-oPort={self.port}")
        if self.user is not None:
            words.append(f"-oUser={self.user}")
        if self.key_filename is not None:
            words += [f"-oIdentityFile={self.key_filename}", "-oIdentitiesOnly=yes"]
        words += ["-oBatchMode=yes", f"-oConnectTimeout={_seconds(self.connect_timeout)}", "-oLogLevel=ERROR"]
        words += _host_key_options(self.host_keys)
        if self.jump is not None:
            words.append(f"-oProxyCommand={self.jump.proxy_command()}")
        return tuple(words)

    def describe(self) -> str:
        """Human form: ``oar@NODES:6667 with key K via frontend F``."""
        who = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port is not None else ""
        key = f" with key {self.key_filename}" if self.key_filename else ""
        via = f" via {self.jump.host}" if self.jump is not None else ""
        vlan = f" in kavlan {self.kavlan}" if self.kavlan is not None else ""
        return f"{self.login.value}: {who}NODE{port}{key}{via}{vlan}"


def check_access(access: NodeAccess) -> Result[NodeAccess, G5kError]:
    """Accept a node access whose user, port, timeouts and kavlan are usable."""
    if access.user is not None and not _USER_RE.fullmatch(access.user):
        return Failure(InvalidInput("ssh user", access.user, "a user name (letters, digits, '.', '-', '_')"))
    for name, port in (("ssh port", access.port), ("jump port", access.jump.port if access.jump else None)):
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
            return Failure(InvalidInput(name, str(port), "an integer between 1 and 65535"))
    if not access.connect_timeout > 0:
        return Failure(InvalidInput("connect timeout", str(access.connect_timeout), "a positive number of seconds"))
    if access.kavlan is not None and (isinstance(access.kavlan, bool) or not 1 <= access.kavlan <= 999):
        return Failure(InvalidInput("kavlan", str(access.kavlan), "a vlan id between 1 and 999"))
    if access.jump is not None and not _HOST_RE.fullmatch(access.jump.host):
        return Failure(InvalidInput("jump host", access.jump.host, "a host name"))
    return Success(access)


def oarsh_access(node: ConnectionParams, jump: Jump | None = None, kavlan: int | None = None) -> NodeAccess:
    """Access to a job's nodes through OAR's sshd, from the ``[oarsh]`` parameters (user oar, port 6667, the
    job key); ``jump`` from outside Grid'5000."""
    return NodeAccess(
        login=Login.OARSH,
        user=node.user if node.user is not None else OAR_NODE_USER,
        port=node.port if node.port is not None else OAR_NODE_PORT,
        key_filename=node.key_filename,
        jump=jump,
        kavlan=kavlan,
        connect_timeout=node.connect_timeout,
    )


def root_access(key_filename: str | None = None, jump: Jump | None = None, kavlan: int | None = None,
                port: int | None = None) -> NodeAccess:
    """Access to deployed nodes as root (port 22 unless given), with ``key_filename`` or the ssh defaults."""
    return NodeAccess(login=Login.ROOT, user="root", port=port, key_filename=key_filename, jump=jump, kavlan=kavlan)


# ------------------------------------------------------------------------------------------------ commands


@frozen
class RemoteCommand:
    """A command for the nodes: an argv (quoted for the remote shell) or a shell line given as is."""

    argv: tuple[str, ...] = ()
    shell: str | None = None

    @property
    def line(self) -> str:
        """The line the remote shell runs."""
        return self.shell if self.shell is not None else shlex.join(self.argv)


def command_of(words: Sequence[str], *, shell: bool = False) -> Result[RemoteCommand, G5kError]:
    """A remote command from the words after ``--``: an argv, or (``shell=True``) one line made of the words
    joined by spaces, for pipes and redirections."""
    items = tuple(words)
    if not items or not all(isinstance(w, str) for w in items) or not "".join(items).strip():
        return Failure(InvalidInput("command", " ".join(map(str, items)), "a command after --, e.g. -- hostname"))
    if any("\0" in w for w in items):
        return Failure(InvalidInput("command", repr(items), "words without NUL characters"))
    return Success(RemoteCommand(shell=" ".join(items)) if shell else RemoteCommand(argv=items))


# --------------------------------------------------------------------------------------------------- hosts


def check_hosts(hosts: Iterable[str]) -> Result[tuple[str, ...], G5kError]:
    """The hosts as given, duplicates removed (first kept); at least one, each a plausible host name."""
    out: list[str] = []
    for host in hosts:
        if not isinstance(host, str) or not _HOST_RE.fullmatch(host):
            return Failure(InvalidInput("host", repr(host), "a host name (letters, digits, '.', '-', '_')"))
        if host not in out:
            out.append(host)
    if not out:
        return Failure(InvalidInput("hosts", "", "at least one host"))
    return Success(tuple(out))


def _same_host(wanted: str, host: str) -> bool:
    if wanted == host:
        return True
    if "." not in wanted:
        return host_shortname(host) == wanted or host.split(".", 1)[0] == wanted
    same: Result[bool, InvalidInput] = Result.do(a == b for a in node_fqdn(wanted) for b in node_fqdn(host))
    return same.value_or(False)


def select_hosts(job_hosts: Sequence[str], wanted: str | None) -> Result[tuple[str, ...], G5kError]:
    """The hosts of a job named by a range (``paravance-[1-2]``, short names or FQDNs; all when ``None``), in
    the job's order; a name that is not a host of the job is refused, naming the job's hosts."""
    if wanted is None:
        return check_hosts(job_hosts)

    def matching(name: str) -> Result[tuple[str, ...], G5kError]:
        match = tuple(h for h in job_hosts if _same_host(name, h))
        if not match:
            folded = format_host_ranges(job_hosts).value_or(", ".join(job_hosts))
            return Failure(InvalidInput("host", name, f"a host of the job: {folded or 'the job has none'}"))
        return Success(match)

    def chosen(matches: tuple[tuple[str, ...], ...]) -> Result[tuple[str, ...], G5kError]:
        picked = {h for match in matches for h in match}
        return check_hosts(h for h in job_hosts if h in picked)

    # Every name must match a host of the job (the first that does not is the error); the job's order is kept.
    expanded: Result[tuple[str, ...], G5kError] = parse_host_ranges(wanted)
    return expanded.bind(lambda names: Fold.collect((matching(name) for name in names), Success(()))).bind(chosen)


# --------------------------------------------------------------------------------------------------- plans


@frozen
class Limits:
    """How many hosts are worked on at once, and the time limits per host and for the whole run (``None`` =
    none)."""

    fanout: int = DEFAULT_FANOUT
    timeout: float | None = None
    deadline: float | None = None

    def describe(self) -> str:
        """The limits in words (``fanout 64, timeout 30s per host, none overall``)."""
        return f"fanout {self.fanout}, timeout {_limit(self.timeout)} per host, {_limit(self.deadline)} overall"


DEFAULT_LIMITS: Final = Limits()
"""The default fanout, no time limit."""


def check_limits(limits: Limits) -> Result[Limits, G5kError]:
    """``limits`` when the fanout is a positive whole number and each time limit a positive number of seconds."""
    fanout = limits.fanout
    if isinstance(fanout, bool) or not isinstance(fanout, int) or fanout < 1:
        return Failure(InvalidInput("fanout", str(fanout), "a positive number of connections"))
    for name, value in (("timeout", limits.timeout), ("overall timeout", limits.deadline)):
        if value is not None and not (isinstance(value, int | float) and 0 < value < 10**9):
            return Failure(InvalidInput(name, str(value), "a positive number of seconds"))
    return Success(limits)


def _checked(hosts: Iterable[str], access: NodeAccess, limits: Limits) -> Result[
        tuple[tuple[str, ...], NodeAccess], G5kError]:
    """The hosts (deduplicated in order) and the access, once hosts, limits and access are checked."""
    return check_hosts(hosts).bind(
        lambda hs: check_limits(limits).bind(lambda _: check_access(access)).map(lambda acc: (hs, acc))
    )


@frozen
class RunPlan:
    """A command to run on hosts: how they are reached, how many at once, and the time limits (per host, and
    for the whole run; ``None`` = none)."""

    hosts: tuple[str, ...]
    command: RemoteCommand
    access: NodeAccess = NodeAccess()
    limits: Limits = Limits()

    def addresses(self) -> tuple[tuple[str, str], ...]:
        """(host, name ssh connects to) for each host."""
        return tuple((h, self.access.address_of(h)) for h in self.hosts)

    @property
    def remote_line(self) -> str:
        """The line sent to each host: the command, bounded there by coreutils' ``timeout`` when the plan has
        a per-host time limit (killing ssh alone would leave the command running on the node)."""
        return bounded_line(self.command.line, self.limits.timeout)

    @property
    def local_timeout(self) -> float | None:
        """How long ssh itself may run on one host: the per-host limit and the remote ``timeout``'s grace."""
        timeout = self.limits.timeout
        return None if timeout is None else timeout + KILL_GRACE + 2.0

    def ssh_argv(self, host: str) -> tuple[str, ...]:
        """The ssh command that runs the command on one host (what ClusterShell starts for it)."""
        return ssh_argv(self.access, self.access.address_of(host), self.remote_line)

    def describe(self) -> str:
        """The plan in words and the ssh command of its hosts (``{host}`` standing for each)."""
        template = shlex.join(ssh_argv(self.access, "HOST", self.remote_line)).replace("HOST", "{host}")
        return f"run on {_hosts_and_limits(self.hosts, self.limits, self.access)}:\n  {template}"


KILL_GRACE: Final = 5
"""Seconds between the TERM and the KILL of a command that outlives its per-host time limit."""

TIMED_OUT_CODES: Final = (124, 137)
"""Exit codes of coreutils' ``timeout`` when it stopped the command (TERM, then KILL)."""


def bounded_line(line: str, timeout: float | None) -> str:
    """``line`` run under coreutils' ``timeout`` on the node (TERM at the limit, KILL ``KILL_GRACE`` s later)."""
    if timeout is None:
        return line
    limit = max(1, math.ceil(timeout))
    return shlex.join(["timeout", f"--kill-after={KILL_GRACE}", str(limit), "sh", "-c", line])


def _limit(value: float | None) -> str:
    return "none" if value is None else f"{value:g}s"


def _hosts_and_limits(hosts: tuple[str, ...], limits: Limits, access: NodeAccess) -> str:
    folded = format_host_ranges(hosts).value_or(",".join(hosts))
    return f"{len(hosts)} host(s) {folded} ({limits.describe()}; {access.describe()})"


def plan_run(
    hosts: Iterable[str], command: RemoteCommand, access: NodeAccess = NodeAccess(), limits: Limits = Limits()
) -> Result[RunPlan, G5kError]:
    """A checked :class:`RunPlan` (hosts deduplicated in order; limits and access validated)."""
    if not command.line.strip():
        return Failure(InvalidInput("command", command.line, "a non-empty command"))
    return _checked(hosts, access, limits).map(lambda found: RunPlan(found[0], command, found[1], limits))


class Direction(enum.Enum):
    """Which way files go."""

    PUT = "put"
    """Local files to a directory of every host."""
    GET = "get"
    """Remote files of every host to a local directory, one subfolder per host."""


def _paths(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@frozen
class CopyPlan:
    """Files to copy to (``PUT``) or from (``GET``) hosts, with the same access and limits as a run."""

    direction: Direction
    hosts: tuple[str, ...]
    sources: tuple[str, ...] = field(converter=_paths)
    destination: str
    access: NodeAccess = NodeAccess()
    limits: Limits = Limits()
    preserve: bool = False

    def local_folder(self, host: str) -> str:
        """Where a ``GET`` puts the files of one host: a subfolder named after the host."""
        return f"{self.destination.rstrip('/') or '/'}/{host}".replace("//", "/")

    def describe(self) -> str:
        """The plan in words and the scp command of one source on its hosts (``{host}`` standing for each)."""
        lines = [f"{self.direction.value} on {_hosts_and_limits(self.hosts, self.limits, self.access)}:"]
        for source in self.sources:
            if self.direction is Direction.PUT:
                argv = scp_argv(self.access, source, "HOST:" + self.destination, preserve=self.preserve)
            else:
                argv = scp_argv(self.access, "HOST:" + source, self.local_folder("HOST") + "/",
                                preserve=self.preserve)
            lines.append("  " + shlex.join(argv).replace("HOST", "{host}"))
        return "\n".join(lines)


def _check_path(kind: str, path: str) -> Result[str, G5kError]:
    if not isinstance(path, str) or not path or "\0" in path or "\n" in path:
        return Failure(InvalidInput(kind, repr(path), "a path without NUL or line breaks"))
    return Success(path)


def plan_copy(
    direction: Direction, hosts: Iterable[str], sources: Sequence[str], destination: str,
    access: NodeAccess = NodeAccess(), limits: Limits = Limits(), *, preserve: bool = False,
) -> Result[CopyPlan, G5kError]:
    """A checked :class:`CopyPlan`: at least one source, paths without NUL or line breaks."""
    kind = "local file" if direction is Direction.PUT else "remote file"
    if not sources:
        return Failure(InvalidInput(kind, "", "at least one file to copy"))
    return Fold.collect((_check_path(kind, source) for source in sources), Success(())).bind(
        lambda _: _check_path("destination directory", destination)
    ).bind(lambda _: _checked(hosts, access, limits)).map(
        lambda found: CopyPlan(direction, found[0], tuple(sources), destination, found[1], limits, preserve)
    )


# -------------------------------------------------------------------------------------------- single argvs


def ssh_argv(access: NodeAccess, address: str, command: str | None = None, *, tty: bool = False) -> tuple[str, ...]:
    """The ssh command reaching ``address`` with ``access`` (an interactive shell when ``command`` is None)."""
    words = ["ssh", *access.options()]
    if tty:
        words.append("-t")
    words += ["--", address]
    if command is not None:
        words.append(command)
    return tuple(words)


def scp_argv(access: NodeAccess, source: str, destination: str, *, preserve: bool = False,
             legacy: bool = True) -> tuple[str, ...]:
    """The scp command copying ``source`` to ``destination`` (``HOST:path`` on the remote side) with ``access``;
    ``legacy``: the scp protocol (``-O``), since OAR's sshd offers no sftp subsystem."""
    words = ["scp", *access.options(), "-r"]
    if legacy:
        words.append("-O")
    if preserve:
        words.append("-p")
    return (*words, "--", source, destination)


_OPENSSH_VERSION = re.compile(r"OpenSSH_(\d+)\.(\d+)")


def scp_has_legacy_flag(version_text: str) -> bool:
    """True when the OpenSSH of ``ssh -V``'s text knows ``scp -O`` (9.0 and later; 8.7-8.9 too)."""
    m = _OPENSSH_VERSION.search(version_text)
    if m is None:
        return False
    return (int(m.group(1)), int(m.group(2))) >= (8, 7)
