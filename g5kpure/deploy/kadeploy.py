"""kadeploy3 deployments as values: the ``Deployment``, its argv per frontend, the parsers of kadeploy3's
output and of its ok/ko node files, and what one run means for the requested hosts (:class:`KadeployReport`).

Node names are matched to the requested hosts whatever their form (short name, ``host.site``, FQDN,
``-kavlan-N`` name); kadeploy3's ``-o``/``-n`` ok/ko node files are used when present (a missing file means
"no node"); the default check command recognises a deployed node on NVMe and eMMC disks. Commands are argv
tuples, never shell strings; the host order on ``-m`` is the input order. The retry logic over several runs
is :mod:`g5kpure.deploy.retry`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from attrs import field, frozen
from returns.iterables import Fold
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, ParseError
from g5kpure.hosts import get_kavlan_host_name
from g5kpure.oar.submission import option_words

#: execo_g5k's default check command: root on ``/dev/<letters>2`` means "not deployed".
EXECO_CHECK_DEPLOYED_COMMAND = "! (mount | grep -E '^/dev/[[:alpha:]]+2 on / ')"

#: Our default check command: the standard environment of a Grid'5000 node lives on the disk's second
#: partition (``sda2``, ``vda2``, ``nvme0n1p2``, ``mmcblk0p2``); a node whose root is elsewhere was deployed.
DEFAULT_CHECK_DEPLOYED_COMMAND = (
    "! (mount | grep -E '^/dev/([[:alpha:]]+|(nvme[0-9]+n[0-9]+|mmcblk[0-9]+)p)2 on / ')"
)

DEFAULT_KADEPLOY3 = "kadeploy3"
DEFAULT_KADEPLOY3_OPTIONS: tuple[str, ...] = ("-k", "-d")

_WS = " \t\n\r\f\v"
_HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*$")
_KAVLAN_RE = re.compile(r"-kavlan-\d+$")


def _host_str(value: object) -> str:
    address = getattr(value, "address", value)
    return str(address)


def _hosts(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or hasattr(value, "address"):
        return (_host_str(value),)
    if value is None:
        return ()
    seen: dict[str, None] = {}
    for item in value:  # type: ignore[attr-defined]
        seen.setdefault(_host_str(item), None)
    return tuple(seen)


def _options(value: object) -> str | tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return value
    return tuple(str(v) for v in value)  # type: ignore[attr-defined]


def _vlan(value: object) -> str | None:
    return None if value is None else str(value)


@frozen
class Deployment:
    """A kadeploy3 deployment: hosts, environment (name or file), kadeploy user, vlan and other options.

    ``hosts`` accepts strings or objects with an ``.address``; duplicates are removed, order is kept.
    ``other_options`` is a shell-like string (split with shlex) or a sequence of argv words.
    """

    hosts: tuple[str, ...] = field(converter=_hosts, default=())
    env_file: str | None = None
    env_name: str | None = None
    user: str | None = None
    vlan: str | None = field(converter=_vlan, default=None)
    other_options: str | tuple[str, ...] = field(converter=_options, default=())

    def with_hosts(self, hosts: Iterable[str]) -> Deployment:
        """The same deployment on other hosts."""
        return Deployment(hosts=tuple(hosts), env_file=self.env_file, env_name=self.env_name, user=self.user,
                          vlan=self.vlan, other_options=self.other_options)


@frozen
class KadeploySettings:
    """The configuration kadeploy3 runs need (the seed's ``kadeploy3``, ``kadeploy3_options``, default envs)."""

    kadeploy3: str = DEFAULT_KADEPLOY3
    kadeploy3_options: str | tuple[str, ...] = field(converter=_options, default=DEFAULT_KADEPLOY3_OPTIONS)
    default_env_name: str | None = None
    default_env_file: str | None = None
    check_deployed_command: str = DEFAULT_CHECK_DEPLOYED_COMMAND


@frozen
class Environment:
    """The environment to deploy: a registered name (``-e``) or a description file (``-a``)."""

    kind: Literal["name", "file"]
    value: str

    def argv(self) -> tuple[str, str]:
        """The kadeploy3 words selecting this environment."""
        return ("-e", self.value) if self.kind == "name" else ("-a", self.value)


_ENV_EXPECTED = "exactly one of env_name or env_file, or one configured default_env_name / default_env_file"


def resolve_environment(deployment: Deployment, settings: KadeploySettings) -> Result[Environment, G5kError]:
    """The environment a deployment uses: its own name or file, else the configured default, else an error."""
    if deployment.env_name is not None and deployment.env_file is not None:
        return Failure(InvalidInput("environment", f"env_name={deployment.env_name}, env_file={deployment.env_file}",
                                    _ENV_EXPECTED + " (not both)"))
    if deployment.env_name is not None:
        return _env("name", deployment.env_name, "env_name")
    if deployment.env_file is not None:
        return _env("file", deployment.env_file, "env_file")
    if settings.default_env_name is not None and settings.default_env_file is not None:
        return Failure(InvalidInput("default environment", f"default_env_name={settings.default_env_name}, "
                                    f"default_env_file={settings.default_env_file}",
                                    "only one of default_env_name / default_env_file configured"))
    if settings.default_env_name is not None:
        return _env("name", settings.default_env_name, "default_env_name")
    if settings.default_env_file is not None:
        return _env("file", settings.default_env_file, "default_env_file")
    return Failure(InvalidInput("environment", "none", _ENV_EXPECTED))


def _env(kind: Literal["name", "file"], value: str, what: str) -> Result[Environment, G5kError]:
    if not value.strip():
        return Failure(InvalidInput(what, value, "a non-empty environment name or file"))
    return Success(Environment(kind, value))


# ---------------------------------------------------------------------------------------------------------
# Host names and frontends


def host_site(host: str) -> Result[str | None, G5kError]:
    """The site a node name belongs to (``None`` for a short name: the default frontend), or an error."""
    if not host or any(c in _WS for c in host) or not _HOST_RE.match(host):
        return Failure(InvalidInput("host", host, "a node name like nova-1, nova-1.lyon or nova-1.lyon.grid5000.fr"))
    parts = host.split(".")
    if len(parts) == 1:
        return Success(None)
    if len(parts) == 2:
        return Success(parts[1])
    if len(parts) == 4 and parts[2:] == ["grid5000", "fr"]:
        return Success(parts[1])
    return Failure(InvalidInput("host", host, "a Grid'5000 node name: short, host.site or host.site.grid5000.fr"))


def host_key(name: str) -> str:
    """The identity of a node whatever its form: lower-case short name without any ``-kavlan-N`` suffix."""
    short = name.strip().split(".", 1)[0].lower()
    return _KAVLAN_RE.sub("", short)


def kavlan_host_name(host: str, vlan: str | int) -> str:
    """The DNS name of a node once in a kavlan: ``nova-1.lyon.grid5000.fr`` -> ``nova-1-kavlan-4.lyon.grid5000.fr``."""
    return get_kavlan_host_name(host, vlan)


def group_by_frontend(
    hosts: Iterable[str], default_frontend: str | None
) -> Result[tuple[tuple[str | None, tuple[str, ...]], ...], G5kError]:
    """Hosts grouped by the frontend of their site (short names go to ``default_frontend``), in first-seen order."""
    hosts = tuple(hosts)

    def grouped(sites: tuple[str | None, ...]) -> tuple[tuple[str | None, tuple[str, ...]], ...]:
        groups: dict[str | None, list[str]] = {}
        for host, site in zip(hosts, sites, strict=True):
            groups.setdefault(default_frontend if site is None else site, []).append(host)
        return tuple((frontend, tuple(members)) for frontend, members in groups.items())

    return Fold.collect((host_site(host) for host in hosts), Success(())).map(grouped)


# ---------------------------------------------------------------------------------------------------------
# Command lines


@frozen
class KadeployRun:
    """One kadeploy3 invocation: the frontend it runs on (None = default), its hosts, argv and node files."""

    frontend: str | None
    hosts: tuple[str, ...]
    argv: tuple[str, ...]
    ok_file: str
    ko_file: str

    def collect_argv(self) -> tuple[str, ...]:
        """The argv that prints (then removes) the ok/ko node files of this run, for ``parse_collected_files``."""
        return collect_files_argv((self.ok_file, self.ko_file))


def kadeploy_command(
    deployment: Deployment, hosts: Iterable[str], settings: KadeploySettings, ok_file: str, ko_file: str
) -> Result[tuple[str, ...], G5kError]:
    """The kadeploy3 argv deploying ``deployment`` on ``hosts``, writing the ok/ko node lists to the given files."""
    hosts = tuple(hosts)

    # The environment, then the two option strings: the first of them that fails is the error.
    def assemble(
        env: Environment, options: tuple[str, ...], other: tuple[str, ...]
    ) -> Result[tuple[str, ...], G5kError]:
        if not settings.kadeploy3.strip():
            return Failure(InvalidInput("kadeploy3", settings.kadeploy3, "the kadeploy3 command name or path"))
        argv: list[str] = [settings.kadeploy3, *options, *env.argv()]
        if deployment.user is not None:
            argv += ["-u", deployment.user]
        if deployment.vlan is not None:
            argv += ["--vlan", deployment.vlan]
        argv += other
        if not hosts:
            return Failure(InvalidInput("hosts", "()", "at least one host to deploy"))
        for host in hosts:
            argv += ["-m", host]
        argv += ["-o", ok_file, "-n", ko_file]
        return Success(tuple(argv))

    parts: Result[tuple[Environment, tuple[str, ...], tuple[str, ...]], G5kError] = Result.do(
        (env, options, other)
        for env in resolve_environment(deployment, settings)
        for options in option_words(settings.kadeploy3_options, "kadeploy3_options")
        for other in option_words(deployment.other_options, "other_options")
    )
    return parts.bind(lambda found: assemble(*found))


def plan_deployment(
    deployment: Deployment,
    settings: KadeploySettings,
    default_frontend: str | None,
    file_prefix: str,
) -> Result[tuple[KadeployRun, ...], G5kError]:
    """One ``KadeployRun`` per frontend (hosts grouped by site); node files are ``<file_prefix>-<frontend>.ok/.ko``."""
    if not deployment.hosts:
        return Failure(InvalidInput("hosts", "()", "at least one host to deploy"))
    def run(frontend: str | None, hosts: tuple[str, ...]) -> Result[KadeployRun, G5kError]:
        tag = frontend or "default"
        ok_file, ko_file = f"{file_prefix}-{tag}.ok", f"{file_prefix}-{tag}.ko"
        return kadeploy_command(deployment, hosts, settings, ok_file, ko_file).map(
            lambda argv: KadeployRun(frontend, hosts, argv, ok_file, ko_file)
        )

    return group_by_frontend(deployment.hosts, default_frontend).bind(
        lambda groups: Fold.collect((run(frontend, hosts) for frontend, hosts in groups), Success(()))
    )


_COLLECT_MARK = "@@g5kpure-file "
_COLLECT_MISSING = "@@g5kpure-missing"
_COLLECT_SCRIPT = (
    'for f in "$@"; do printf \'%s%s\\n\' "' + _COLLECT_MARK + '" "$f"; '
    'if [ -f "$f" ]; then cat "$f"; echo; rm -f "$f"; else echo "' + _COLLECT_MISSING + '"; fi; done'
)


def collect_files_argv(paths: Iterable[str]) -> tuple[str, ...]:
    """The argv printing each file between markers and removing it (``parse_collected_files`` reads its output)."""
    return ("sh", "-c", _COLLECT_SCRIPT, "sh", *paths)


def parse_collected_files(text: str) -> Result[tuple[tuple[str, str | None], ...], G5kError]:
    """The (path, text or None when missing) pairs printed by ``collect_files_argv``'s command."""
    files: list[tuple[str, str | None]] = []
    current: str | None = None
    body: list[str] = []
    missing = False

    def flush() -> None:
        if current is not None:
            files.append((current, None if missing else "\n".join(body)))

    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line.startswith(_COLLECT_MARK):
            flush()
            current, body, missing = line[len(_COLLECT_MARK):], [], False
        elif current is None:
            if line.strip():
                return Failure(ParseError("collected node files", "before the first file marker", line))
        elif line == _COLLECT_MISSING and not body:
            missing = True
        else:
            body.append(line)
    flush()
    return Success(tuple(files))


# ---------------------------------------------------------------------------------------------------------
# Parsers


@frozen
class KadeployOutput:
    """What kadeploy3 printed: workflow ids, nodes reported deployed, nodes reported failed (with reasons)."""

    deployed: tuple[str, ...] = ()
    undeployed: tuple[tuple[str, str], ...] = ()
    workflow_ids: tuple[str, ...] = ()


_OK_HEADERS = (
    re.compile(r"^The \w+ is successful on nodes$"),
    re.compile(r"^Nodes correctly deployed on cluster \S+$"),
)
_KO_HEADERS = (
    re.compile(r"^The \w+ (?:operation )?failed on nodes$"),
    re.compile(r"^Nodes not correctly deployed on cluster \S+$"),
)
_NODE_LINE = re.compile(r"^(\S+)(?:\s+\((.*?)\)?)?$")
_WORKFLOW = re.compile(r"^\w+ #(\S+) started$")
_NODE_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*-\d+(?:-[A-Za-z0-9_]+)*(?:\.[A-Za-z0-9-]+)*$")


def _is_node_name(token: str) -> bool:
    return bool(_NODE_TOKEN.match(token))


def parse_kadeploy_output(text: str) -> KadeployOutput:
    """The nodes kadeploy3's output reports deployed and failed (any line ending, other lines interleaved)."""
    deployed: dict[str, None] = {}
    undeployed: dict[str, str] = {}
    workflows: dict[str, None] = {}
    section: Literal["none", "ok", "ko"] = "none"
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if any(h.match(line) for h in _OK_HEADERS):
            section = "ok"
            continue
        if any(h.match(line) for h in _KO_HEADERS):
            section = "ko"
            continue
        wf = _WORKFLOW.match(line)
        if wf:
            workflows.setdefault(wf.group(1), None)
            continue
        if section == "none":
            continue
        node = _NODE_LINE.match(line)
        if node is None or not _is_node_name(node.group(1)):
            continue
        name = node.group(1)
        if section == "ok":
            deployed.setdefault(name, None)
        else:
            undeployed.setdefault(name, (node.group(2) or "").strip())
    return KadeployOutput(
        deployed=tuple(deployed), undeployed=tuple(undeployed.items()), workflow_ids=tuple(workflows)
    )


def parse_node_file(text: str) -> Result[tuple[str, ...], G5kError]:
    """The node names of a kadeploy3 ok/ko file (one per line; CRLF and blank lines accepted)."""
    nodes: dict[str, None] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if not _HOST_RE.match(line):
            return Failure(ParseError("kadeploy3 node file", f"line {number}", raw,
                                      "expected one node name per line"))
        nodes.setdefault(line, None)
    return Success(tuple(nodes))


# ---------------------------------------------------------------------------------------------------------
# What one run means for the requested hosts


@frozen
class KadeployReport:
    """The outcome of kadeploy3 runs for the requested hosts: deployed, undeployed with reasons, unknown names."""

    deployed: frozenset[str] = frozenset()
    undeployed: frozenset[str] = frozenset()
    reasons: tuple[tuple[str, str], ...] = ()
    unexpected: tuple[str, ...] = ()

    def reason(self, host: str) -> str:
        """Why ``host`` was not deployed ('' when it was)."""
        return dict(self.reasons).get(host, "")

    def merge(self, other: KadeployReport) -> KadeployReport:
        """The union of two reports on disjoint host sets (e.g. two frontends)."""
        return KadeployReport(
            deployed=self.deployed | other.deployed,
            undeployed=(self.undeployed | other.undeployed) - (self.deployed | other.deployed),
            reasons=self.reasons + other.reasons,
            unexpected=self.unexpected + other.unexpected,
        )


def match_hosts(requested: Iterable[str], names: Iterable[str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Map reported node names to the requested hosts they denote (any name form); also the names matching none."""
    requested = tuple(requested)
    exact = {h: h for h in requested}
    by_key: dict[str, str] = {}
    for h in requested:
        by_key.setdefault(host_key(h), h)
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    for name in names:
        target = exact.get(name) or by_key.get(host_key(name))
        if target is None:
            unknown.append(name)
        else:
            mapping[name] = target
    return mapping, tuple(unknown)


def interpret_run(
    requested: Iterable[str],
    output: KadeployOutput,
    ok_nodes: tuple[str, ...] | None = None,
    ko_nodes: tuple[str, ...] | None = None,
    exit_code: int | None = 0,
    failure: str = "",
) -> KadeployReport:
    """What a kadeploy3 run means for ``requested``: node files and output combined; unreported hosts failed.

    A host is deployed when kadeploy3 reported it ok (file or output) and not failed; every other requested
    host is undeployed, with kadeploy3's reason when it gave one. ``failure`` (ssh error, timeout) marks the
    whole run failed.
    """
    requested = tuple(requested)
    if failure:
        return KadeployReport(undeployed=frozenset(requested), reasons=tuple((h, failure) for h in requested))
    ok_names = list(output.deployed) + list(ok_nodes or ())
    ko_reasons = dict(output.undeployed)
    ko_names = list(ko_reasons) + list(ko_nodes or ())
    ok_map, ok_unknown = match_hosts(requested, ok_names)
    ko_map, ko_unknown = match_hosts(requested, ko_names)
    failed = set(ko_map.values())
    deployed = frozenset(ok_map.values()) - failed
    undeployed = frozenset(requested) - deployed
    reasons: dict[str, str] = {}
    for name, host in ko_map.items():
        if ko_reasons.get(name):
            reasons[host] = ko_reasons[name]
    for host in sorted(undeployed):
        if host not in reasons:
            if host in failed:
                reasons[host] = "kadeploy3 reported a failure"
            else:
                reasons[host] = f"not reported by kadeploy3 (exit code {exit_code})"
    unexpected = tuple(dict.fromkeys(ok_unknown + ko_unknown))
    return KadeployReport(deployed, undeployed, tuple(sorted(reasons.items())), unexpected)
