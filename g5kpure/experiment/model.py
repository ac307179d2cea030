"""The experiment file: one TOML file naming an experiment, its walltime, when, and the resources per site with
roles, and optionally how to deploy them. Read and checked here; every refusal names the key and its line.

    name = "exp1"                       # the OAR job name on every site: rerunning `g5k up` reattaches by it
    walltime = "1:00:00"                # the library's duration grammar
    reservation = "2026-12-01 19:00:00" # optional (OAR server time, or a unix time); without it `g5k up` reserves
                                        # every site at the first slot where all their resources are free
    planning = "api"                    # where that slot is read: "api" (Grid'5000 API, the default), "oardb"
                                        # (the OAR databases, as the configuration's oar_pgsql_ro_* say) or
                                        # "oarapi" (each site's OAR REST API, named in [oarapi])
    # [oarapi]                          # with planning = "oarapi": the OAR REST API root of every site
    # rennes = "https://api.grid5000.fr/stable/sites/rennes/internal/oarapi"
    types = ["deploy"]                  # optional job types
    queue = "default"                   # optional

    [[resources]]                       # one or more; the resources of a site make one job
    site = "rennes"
    cluster = "paravance"               # or: hosts = ["paravance-1", "paravance-2"]; or neither: any nodes
    nodes = 2                           # with hosts: at most their number (default: all of them)
    roles = ["server"]

    [deploy]                            # optional: kadeploy3 the hosts not deployed yet
    environment = "debian12-min"
    tries = 2                           # default 1
    check = "test -f /etc/ready"        # optional (default: the configuration's check_deployed_command):
                                        # exits 0 on a node already deployed
    access = "root"                     # how the check reaches the nodes: "root" (port 22, the key kadeploy3
                                        # copied) or "oarsh" (OAR's sshd with the job key, for environments
                                        # that keep it)
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Any, Final

from attrs import field, frozen
from returns.result import Failure, Result, Success

from g5kpure.config.toml import LINE_BREAK, key_lines
from g5kpure.errors import ConfigError
from g5kpure.hosts import format_host_ranges, parse_host_name, short_to_fqdn
from g5kpure.oar.dates import PARIS, parse_walltime, to_unixts
from g5kpure.oar.reserve import check_job_name
from g5kpure.oar.submission import OarSubmission

_ROLE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_SITE = re.compile(r"[a-z][a-z0-9-]*")
_CLUSTER = re.compile(r"[a-z][a-z0-9]*")

TOP_KEYS: Final = ("name", "walltime", "reservation", "planning", "oarapi", "types", "queue", "resources", "deploy")
RESOURCE_KEYS: Final = ("site", "cluster", "hosts", "nodes", "roles")
DEPLOY_KEYS: Final = ("environment", "tries", "check", "access")
PLANNING_SOURCES: Final = ("api", "oardb", "oarapi")
"""Where `g5k up` reads the planning when the file gives no reservation date."""
DEPLOY_ACCESS: Final = ("root", "oarsh")
"""How the deploy check reaches the nodes: root (deployed nodes), or OAR's sshd with the job key."""


def _strs(value: Sequence[str]) -> tuple[str, ...]:
    return tuple(value)


@frozen
class Resource:
    """Nodes of one site with their roles: ``nodes`` of a cluster, of named hosts, or of any cluster."""

    site: str
    nodes: int
    roles: tuple[str, ...] = field(converter=_strs)
    cluster: str | None = None
    hosts: tuple[str, ...] = field(default=(), converter=_strs)
    """Canonical FQDNs of the named hosts (empty: any host of the cluster, or of the site)."""

    def oar_resources(self) -> str:
        """This request in OAR's resource syntax (``{cluster='paravance'}/nodes=2``)."""
        if self.hosts:
            names = ", ".join(f"'{h}'" for h in self.hosts)
            return f"{{host in ({names})}}/nodes={self.nodes}"
        if self.cluster is not None:
            return f"{{cluster='{self.cluster}'}}/nodes={self.nodes}"
        return f"nodes={self.nodes}"

    def accepts(self, host: str) -> bool:
        """True when ``host`` (a canonical FQDN) can serve this request."""
        if self.hosts:
            return host in self.hosts
        if self.cluster is not None:
            return parse_host_name(host).map(lambda node: node.cluster == self.cluster).value_or(False)
        return True

    def describe(self) -> str:
        """E.g. ``2 x paravance on rennes as server``."""
        what = format_host_ranges(self.hosts).value_or(",".join(self.hosts)) if self.hosts else (
            self.cluster or "any cluster")
        return f"{self.nodes} x {what} on {self.site} as {', '.join(self.roles)}"


@frozen
class DeploySpec:
    """How to deploy the experiment's hosts: the environment, the number of tries, the check command."""

    environment: str
    tries: int = 1
    check: str | None = None
    access: str = "root"


@frozen
class Experiment:
    """An experiment as its file describes it (checked)."""

    name: str
    walltime: int
    resources: tuple[Resource, ...]
    reservation: int | None = None
    types: tuple[str, ...] = ()
    queue: str | None = None
    deploy: DeploySpec | None = None
    source: str = ""
    planning: str = "api"
    """Where the first common slot is read when ``reservation`` is None (one of :data:`PLANNING_SOURCES`)."""
    oarapi: tuple[tuple[str, str], ...] = ()
    """Site -> OAR REST API root, for ``planning = "oarapi"``."""

    @property
    def sites(self) -> tuple[str, ...]:
        """The sites in the order of their first resource."""
        return tuple(dict.fromkeys(r.site for r in self.resources))

    @property
    def roles(self) -> tuple[str, ...]:
        """Every role, in the order written."""
        return tuple(dict.fromkeys(role for r in self.resources for role in r.roles))

    def resources_of(self, site: str) -> tuple[Resource, ...]:
        """The resources requested on one site."""
        return tuple(r for r in self.resources if r.site == site)

    def job_types(self) -> tuple[str, ...]:
        """The job types: those written, plus ``deploy`` when the experiment deploys."""
        types = list(self.types)
        if self.deploy is not None and "deploy" not in types:
            types.append("deploy")
        return tuple(types)

    def submissions(self) -> tuple[tuple[OarSubmission, str], ...]:
        """One (submission, site) per site: its resources joined with ``+``, named after the experiment."""
        return tuple(
            (OarSubmission(resources=tuple(r.oar_resources() for r in self.resources_of(site)),
                           walltime=self.walltime, job_type=self.job_types(), queue=self.queue,
                           reservation_date=self.reservation, name=self.name), site)
            for site in self.sites
        )


# ------------------------------------------------------------------------------------------------- reading


def _entry_lines(text: str, table: str) -> list[dict[str, int]]:
    """For each ``[[table]]`` entry, the line of its header (key ``""``) and of each of its keys."""
    entries: list[dict[str, int]] = []
    current: dict[str, int] | None = None
    header = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]\s*(#.*)?$")
    other = re.compile(r"^\s*\[")
    key = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")
    for number, line in enumerate(LINE_BREAK.split(text), start=1):
        if header.match(line):
            current = {"": number}
            entries.append(current)
        elif other.match(line):
            current = None
        elif current is not None and (m := key.match(line)):
            current.setdefault(m.group(1), number)
    return entries


class _Reader:
    """Collects refusals with their lines while the file's values are checked."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines = key_lines(text)
        self.entries = _entry_lines(text, "resources")
        self.problems: list[ConfigError] = []

    def line(self, key: str, entry: int | None = None, sub: str = "") -> int | None:
        if entry is not None:
            lines = self.entries[entry] if entry < len(self.entries) else {}
            return lines.get(sub, lines.get(""))
        return self.lines.get(key)

    def refuse(self, key: str, reason: str, entry: int | None = None, sub: str = "") -> None:
        self.problems.append(ConfigError(key, reason, self.source, self.line(key, entry, sub)))


def parse_experiment(text: str, source: str = "", *, tz: tzinfo = PARIS) -> Result[Experiment, ConfigError]:
    """Read and check an experiment file; every problem is reported at once, each naming its key and line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found.group(1)) if found else len(LINE_BREAK.split(text.rstrip("\r\n"))) or 1  # at the end
        return Failure(ConfigError("(syntax)", f"invalid TOML: {exc}", source, line))
    except (RecursionError, MemoryError) as exc:
        return Failure(ConfigError("(syntax)", f"TOML nested too deeply ({type(exc).__name__})", source))
    r = _Reader(text, source)
    for key in data:
        if key not in TOP_KEYS:
            r.refuse(key, f"unknown key (expected one of: {', '.join(TOP_KEYS)})")
    name = _name(r, data)
    walltime = _walltime(r, data)
    reservation = _reservation(r, data, tz)
    types = _str_list(r, data, "types", required=False)
    queue = _opt_str(r, data, "queue")
    resources = _resources(r, data.get("resources"))
    deploy = _deploy(r, data.get("deploy"))
    planning, oarapi = _planning(r, data, resources)
    if r.problems:
        if len(r.problems) == 1:
            return Failure(r.problems[0])
        return Failure(ConfigError("(experiment)", f"{len(r.problems)} problems", source, None, tuple(r.problems)))
    assert name is not None and walltime is not None and resources is not None
    return Success(Experiment(name, walltime, resources, reservation, types or (), queue, deploy, source, planning,
                              oarapi))


def _name(r: _Reader, data: Mapping[str, Any]) -> str | None:
    if "name" not in data:
        r.refuse("name", "missing: the experiment's name (its OAR job name on every site)")
        return None
    raw = data["name"]
    name = check_job_name(raw).value_or(None) if isinstance(raw, str) and len(raw) <= 100 else None
    if name is None:
        r.refuse("name", f"{raw!r} is not a usable job name (non-empty text, no leading '-', at most 100 characters)")
    return name


def _walltime(r: _Reader, data: Mapping[str, Any]) -> int | None:
    if "walltime" not in data:
        r.refuse("walltime", "missing: how long the jobs last, e.g. \"2:00:00\"")
        return None
    got = parse_walltime(data["walltime"])
    wrong = got.swap().value_or(None)
    if wrong is not None:
        r.refuse("walltime", f"{data['walltime']!r}: expected {wrong.expected}")
    return got.value_or(None)


def _reservation(r: _Reader, data: Mapping[str, Any], tz: tzinfo) -> int | None:
    value = data.get("reservation")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or (isinstance(value, str) and value.isdigit()):
        value = int(value) if isinstance(value, str) else value
    got = None if isinstance(value, bool) else to_unixts(value, tz=tz).map(int).value_or(None)
    if got is None:
        r.refuse("reservation", f"{value!r}: expected a date \"YYYY-MM-DD HH:MM:SS\" (OAR server time) or a unix "
                                "time")
    return got


def _planning(r: _Reader, data: Mapping[str, Any], resources: tuple[Resource, ...] | None) -> tuple[
        str, tuple[tuple[str, str], ...]]:
    source = data.get("planning", "api")
    if source not in PLANNING_SOURCES:
        r.refuse("planning", f"{source!r}: expected one of {', '.join(map(repr, PLANNING_SOURCES))}")
        source = "api"
    value = data.get("oarapi")
    roots: list[tuple[str, str]] = []
    if value is not None:
        if not isinstance(value, dict):
            r.refuse("oarapi", "expected an [oarapi] table: site = \"URL of its OAR REST API\"")
            value = {}
        for site, url in value.items():
            if not isinstance(url, str) or not re.fullmatch(r"https?://\S+", url):
                r.refuse(f"oarapi.{site}", f"{url!r}: expected the http(s) URL of {site}'s OAR REST API")
            else:
                roots.append((site, url.rstrip("/")))
    if source == "oarapi" and resources is not None:
        named = set(value) if isinstance(value, dict) else set()  # a bad URL is refused once, above
        missing = [s for s in dict.fromkeys(res.site for res in resources) if s not in named]
        if missing:
            r.refuse("planning", f"\"oarapi\" needs the OAR REST API of {', '.join(missing)} in [oarapi]")
    return source, tuple(roots)


def _opt_str(r: _Reader, data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
        r.refuse(key, f"{value!r}: expected a single word")
        return None
    return value


def _str_list(r: _Reader, data: Mapping[str, Any], key: str, *, required: bool, entry: int | None = None,
              pattern: re.Pattern[str] | None = None, label: str | None = None) -> tuple[str, ...] | None:
    name = label or key
    value = data.get(key)
    if value is None:
        if required:
            r.refuse(name, "missing: a list of names, e.g. [\"server\"]", entry, key)
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        r.refuse(name, f"{value!r}: expected a non-empty list of names", entry, key)
        return None
    bad = [v for v in value if pattern is not None and not pattern.fullmatch(v)]
    if bad:
        r.refuse(name, f"{bad[0]!r} is not a valid name (letters, digits, '_', '-', '.')", entry, key)
        return None
    return tuple(dict.fromkeys(value))


def _resources(r: _Reader, value: object) -> tuple[Resource, ...] | None:
    if value is None:
        r.refuse("resources", "missing: at least one [[resources]] table (site, cluster or hosts, nodes, roles)")
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        r.refuse("resources", "expected [[resources]] tables")
        return None
    out: list[Resource] = []
    for n, entry in enumerate(value):
        res = _resource(r, n, entry)
        if res is not None:
            out.append(res)
    per_site: dict[str, set[str]] = {}
    for n, res in enumerate(out):
        for host in res.hosts:
            if host in per_site.setdefault(res.site, set()):
                r.refuse(f"resources[{n}].hosts", f"{host} is named by two resources", n, "hosts")
            per_site[res.site].add(host)
    return tuple(out) if len(out) == len(value) else None


def _resource(r: _Reader, n: int, entry: Mapping[str, Any]) -> Resource | None:
    label = f"resources[{n}]"
    before = len(r.problems)
    for key in entry:
        if key not in RESOURCE_KEYS:
            r.refuse(f"{label}.{key}", f"unknown key (expected one of: {', '.join(RESOURCE_KEYS)})", n, key)
    site = entry.get("site")
    if not isinstance(site, str) or not _SITE.fullmatch(site):
        r.refuse(f"{label}.site", "missing or invalid: a site name such as \"rennes\"", n, "site")
        site = None
    cluster = entry.get("cluster")
    if cluster is not None and (not isinstance(cluster, str) or not _CLUSTER.fullmatch(cluster)):
        r.refuse(f"{label}.cluster", f"{cluster!r}: expected a cluster name such as \"paravance\"", n, "cluster")
        cluster = None
    hosts = _hosts(r, n, entry, site, cluster)
    nodes = entry.get("nodes", len(hosts) if hosts else None)
    if nodes is None and "hosts" in entry and not hosts:
        pass  # the hosts were refused: that problem is already reported
    elif nodes is None:
        r.refuse(f"{label}.nodes", "missing: the number of nodes (or a list of hosts)", n, "nodes")
    elif isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
        r.refuse(f"{label}.nodes", f"{nodes!r}: expected a number of nodes (at least 1)", n, "nodes")
        nodes = None
    elif hosts and nodes > len(hosts):
        r.refuse(f"{label}.nodes", f"{nodes} nodes but only {len(hosts)} hosts named", n, "nodes")
    roles = _str_list(r, entry, "roles", required=True, entry=n, pattern=_ROLE, label=f"{label}.roles")
    if len(r.problems) > before or site is None or nodes is None or roles is None:
        return None
    return Resource(site, nodes, roles, cluster, hosts)


def _hosts(r: _Reader, n: int, entry: Mapping[str, Any], site: str | None, cluster: str | None) -> tuple[str, ...]:
    label = f"resources[{n}].hosts"
    value = entry.get("hosts")
    if value is None:
        return ()
    if cluster is not None:
        r.refuse(label, "give a cluster or hosts, not both", n, "hosts")
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        r.refuse(label, f"{value!r}: expected a list of host names", n, "hosts")
        return ()
    out: list[str] = []
    for name in value:
        node = parse_host_name(name).value_or(None)
        if node is None:
            r.refuse(label, f"{name!r} is not a Grid'5000 node name (cluster-N[.site])", n, "hosts")
            return ()
        if node.site is not None and site is not None and node.site != site:
            r.refuse(label, f"{name!r} is not on site {site}", n, "hosts")
            return ()
        if site is not None:
            out.append(short_to_fqdn(node.node, site))
    return tuple(dict.fromkeys(out))


def _deploy(r: _Reader, value: object) -> DeploySpec | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        r.refuse("deploy", "expected a [deploy] table (environment, tries, check)")
        return None
    for key in value:
        if key not in DEPLOY_KEYS:
            r.refuse(f"deploy.{key}", f"unknown key (expected one of: {', '.join(DEPLOY_KEYS)})")
    env = value.get("environment")
    if not isinstance(env, str) or not env.strip():
        r.refuse("deploy.environment", "missing: the environment to deploy, e.g. \"debian12-min\"")
    tries = value.get("tries", 1)
    if isinstance(tries, bool) or not isinstance(tries, int) or not 1 <= tries <= 10:
        r.refuse("deploy.tries", f"{tries!r}: expected a number of tries between 1 and 10")
    check = value.get("check")
    if check is not None and (not isinstance(check, str) or not check.strip()):
        r.refuse("deploy.check", f"{check!r}: expected a shell command")
    access = value.get("access", "root")
    if access not in DEPLOY_ACCESS:
        r.refuse("deploy.access", f"{access!r}: expected one of {', '.join(map(repr, DEPLOY_ACCESS))}")
        access = "root"
    if not isinstance(env, str) or not env.strip() or not isinstance(tries, int) or isinstance(tries, bool):
        return None
    return DeploySpec(env, tries, check if isinstance(check, str) else None, access)
