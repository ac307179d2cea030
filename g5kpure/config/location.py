"""Where the code runs (a site's frontend, a node of a site, or outside Grid'5000) and what follows from it with
a configuration: the default frontend, the frontends whose commands run without ssh, the API credentials, and
the connection parameters of each frontend and of job nodes."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any, Final

from attrs import evolve, frozen
from returns.result import Failure, Result, Success

from g5kpure.config.connection import ConnectionParams, FrontendAccess
from g5kpure.config.schema import KEYS_BY_NAME, PER_SITE, Config, is_site_name, site_settings
from g5kpure.errors import ConfigError


class Place(enum.Enum):
    """Where the code runs, as far as Grid'5000 is concerned."""

    FRONTEND = "frontend"
    NODE = "node"
    OUTSIDE = "outside"


@frozen
class Location:
    """Where the code runs (frontend of a site, a Grid'5000 node of a site, or outside) and why we think so."""

    place: Place
    site: str | None = None
    reason: str = ""

    def describe(self) -> str:
        """E.g. ``frontend of rennes``, ``Grid'5000 node of lyon``, ``outside Grid'5000``."""
        if self.place is Place.FRONTEND:
            return f"frontend of {self.site}"
        if self.place is Place.NODE:
            return f"Grid'5000 node of {self.site}"
        return "outside Grid'5000"


_G5K_HOST = re.compile(r"^(?P<host>[^.\s]+)\.(?P<site>[^.\s]+)\.grid5000\.fr\.?$")
_JOB_VARS: Final = ("OAR_JOB_ID", "OAR_NODEFILE", "OAR_NODE_FILE")


def parse_location(text: str) -> Result[Location, ConfigError]:
    """Parse a forced location: ``outside``, ``frontend:SITE`` or ``node:SITE``."""
    place, _, site = text.strip().partition(":")
    if place == "outside" and not site:
        return Success(Location(Place.OUTSIDE, None, "set in the configuration"))
    if place in ("frontend", "node") and is_site_name(site):
        return Success(Location(Place(place), site, "set in the configuration"))
    return Failure(ConfigError("g5k.location", f"{text!r} is not one of outside, frontend:SITE, node:SITE"))


def locate(hostname: str, domain: str = "", env: Mapping[str, str] | None = None,
           forced: str | None = None) -> Result[Location, ConfigError]:
    """Where the code runs, from facts: host name, DNS domain, environment (``OAR_JOB_ID`` & co mark a job's
    node), or ``forced`` (the ``g5k.location`` setting) which wins over the facts.

    A Grid'5000 host is ``NAME.SITE.grid5000.fr`` (the domain matched literally); ``fSITE`` and ``frontend``
    are frontends, anything else there is a node."""
    if forced is not None:
        return parse_location(forced)
    environ = env or {}
    host = hostname.strip().lower()
    fqdn = host if "." in host or not domain else f"{host}.{domain.strip().lower().strip('.')}"
    m = _G5K_HOST.match(fqdn)
    if m is None:
        return Success(Location(Place.OUTSIDE, None, f"host {fqdn or '(unknown)'} is not NAME.SITE.grid5000.fr"))
    name, site = m.group("host"), m.group("site")
    in_job = [v for v in _JOB_VARS if environ.get(v)]
    if (name == f"f{site}" or name == "frontend") and not in_job:
        return Success(Location(Place.FRONTEND, site, f"host {fqdn} is the frontend of {site}"))
    why = f"${in_job[0]} is set" if in_job else f"host {fqdn} is not a frontend name"
    return Success(Location(Place.NODE, site, f"{why}: a node of {site}"))


@frozen
class ApiAccess:
    """How to talk to the API from here: endpoint, user (``None`` = anonymous) and why."""

    uri: str
    username: str | None
    reason: str
    problem: str = ""


def api_access(config: Config, location: Location) -> ApiAccess:
    """Decide the API endpoint and credentials for ``location``: basic auth from outside (a user name is then
    required), no credentials inside unless a user name is configured."""
    uri = config.api_uri
    if config.api_username is not None:
        return ApiAccess(uri, config.api_username, "basic auth with the configured user (password from keyring)")
    if location.place is Place.OUTSIDE:
        return ApiAccess(uri, None, "anonymous", problem="from outside Grid'5000 the API needs basic auth: set "
                         "g5k.api_username (or $G5K_API_USERNAME) and store the password in the keyring")
    if location.place is Place.NODE:
        return ApiAccess(uri, None, "anonymous: reads need no credentials on a node; writes (jobs, deployments) "
                         "from a node may be refused (403) without them: set g5k.api_username")
    return ApiAccess(uri, None, "anonymous: no credentials needed on a frontend inside Grid'5000")


def default_frontend(config: Config, location: Location) -> str | None:
    """The frontend used when none is given: the configured one, else the site we run on, else none."""
    return config.default_frontend or location.site


def runs_locally(config: Config, location: Location, site: str) -> bool:
    """True when commands for ``site`` run here without ssh (on that site's frontend, with
    ``no_ssh_for_local_frontend``)."""
    return config.no_ssh_for_local_frontend and location.place is Place.FRONTEND and location.site == site


def frontend_params(config: Config, site: str) -> ConnectionParams:
    """Connection parameters for ``site``'s frontend: [frontend] with the [frontends.SITE] override applied (a
    ``host`` becomes the first rewrite rule, matching the site's name exactly)."""
    over = config.site_override(site)
    base = config.frontend
    if over is None:
        return base
    changes: dict[str, Any] = {}  # checked values of the same keys of [frontend], so of their fields' types
    rules = base.host_rewrite
    for name, value in site_settings(over):
        if name == "host" and isinstance(value, str):
            rules = ((re.escape(site), value.replace("\\", "\\\\")), *rules)
        else:
            changes[KEYS_BY_NAME[f"{PER_SITE.overrides}.{name}"].attr] = value
    return evolve(base, host_rewrite=rules, **changes)


def frontend_access(config: Config, location: Location) -> FrontendAccess:
    """Everything the ssh layer needs to place frontend commands from ``location``: common and per-frontend
    parameters, the default frontend, and the frontend whose commands run here without ssh."""
    here = location.site
    local = here if here is not None and runs_locally(config, location, here) else None
    return FrontendAccess(
        params=config.frontend,
        per_frontend=tuple((site, frontend_params(config, site)) for site, _ in config.frontends),
        default_frontend=default_frontend(config, location),
        local_frontend=local,
    )


def node_params(config: Config) -> ConnectionParams:
    """Connection parameters for a job's nodes through OAR's sshd (user oar, port 6667); the key is
    ``oarsh.keyfile``, else ``oar_job_key_file``."""
    if config.oarsh.key_filename is not None:
        return config.oarsh
    return evolve(config.oarsh, key_filename=config.oar_job_key_file)


def configured_frontends(config: Config, location: Location) -> tuple[str, ...]:
    """The frontends named by the configuration: the default one and every per-site entry, sorted, unique."""
    names = {site for site, _ in config.frontends}
    first = default_frontend(config, location)
    if first:
        names.add(first)
    return tuple(sorted(names))
