"""The configuration schema, written once: ``Config`` and the attrs fields that are its keys.

Each key is an attrs field with a ``Setting`` in its metadata (kind, meaning, secrecy, environment variables
read besides ours); its default is the field's default. ``[g5k]`` keys are fields of ``Config``; ``[frontend]``
and ``[oarsh]`` are ``ConnectionParams`` fields of ``Config`` (a ``Section``), and ``[frontends.NAME]`` tables
are per-frontend ``SiteOverride`` values (``PerSite``). Everything else is derived from these fields: the list
of keys (``KEYS``), their environment variables (``G5K_<KEY>``, ``G5K_<SECTION>_<KEY>``), reading (TOML,
environment, arguments, execo's file), ``g5k config show`` and the ``g5k config init`` template.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from attrs import AttrsInstance, evolve, field, fields, frozen

from g5kpure.config.connection import SSH_KEYFILE, SSH_PORT, SSH_PROXY_JUMP, SSH_USER, ConnectionParams
from g5kpure.config.kinds import METADATA, Kind, Setting, setting, shared
from g5kpure.config.layers import Value
from g5kpure.deploy.kadeploy import DEFAULT_CHECK_DEPLOYED_COMMAND

ACCESS_HOST: Final = "access.grid5000.fr"
DEFAULT_API_URI: Final = "https://api.grid5000.fr/3.0/"
KEYRING_SERVICE: Final = "grid5000_api"

ROOT: Final = "g5k"
"""The section of the keys that are fields of ``Config`` itself."""

SITES: Final = "frontends"
"""The section of the per-frontend tables (``[frontends.NAME]``)."""


@frozen
class Section:
    """Metadata of a ``Config`` field that is a section of keys: the attrs class of its value, and the
    attributes of that class that copy a ``[g5k]`` key instead of being keys (``timeout`` <- ``default_timeout``)."""

    cls: type[AttrsInstance]
    copies: tuple[tuple[str, str], ...] = ()


@frozen
class PerSite:
    """Metadata of a ``Config`` field holding per-frontend tables: one frontend's settings with none set (an
    attrs instance whose fields are the keys of a table) and the section they override (its keys of the same
    names)."""

    empty: SiteOverride
    overrides: str


@frozen
class SiteOverride:
    """Per-frontend settings that beat the common [frontend] settings (e.g. a frontend on another host/port)."""

    host: str | None = field(default=None, metadata=setting(
        Kind.OPT_STR, "ssh host of this frontend (instead of its rewritten name)", execo=False))
    port: int | None = field(default=None, metadata=shared(SSH_PORT))
    user: str | None = field(default=None, metadata=shared(SSH_USER))
    keyfile: str | None = field(default=None, metadata=shared(SSH_KEYFILE))
    proxy_jump: str | None = field(default=None, metadata=shared(SSH_PROXY_JUMP))


FRONTEND_PARAMS: Final = ConnectionParams(host_suffix=".grid5000.fr")
OARSH_PARAMS: Final = ConnectionParams(user="oar", port=6667)


@frozen
class Config:
    """The effective configuration: the ``[g5k]`` keys, the frontend connection parameters (``frontend``:
    site -> ``SITE.grid5000.fr``), the node parameters through OAR's sshd (``oarsh``: user oar, port 6667, the
    job key) and per-frontend overrides.

    ``frontend.timeout`` and ``oarsh.timeout`` always equal ``default_timeout``."""

    kadeploy3: str = field(default="kadeploy3", metadata=setting(Kind.STR, "kadeploy3 command"))
    kadeploy3_options: str = field(default="-k -d", metadata=setting(Kind.STR, "kadeploy3 command line options"))
    default_env_name: str | None = field(default=None, metadata=setting(
        Kind.OPT_STR, "default environment name for deployments"))
    default_env_file: str | None = field(default=None, metadata=setting(
        Kind.OPT_STR, "default environment file for deployments"))
    default_timeout: float = field(default=900.0, metadata=setting(
        Kind.SECONDS, "timeout of every call to Grid'5000 services except deployments"))
    check_deployed_command: str | None = field(default=DEFAULT_CHECK_DEPLOYED_COMMAND, metadata=setting(
        Kind.OPT_STR, "shell command returning 0 on a correctly deployed node"))
    no_ssh_for_local_frontend: bool = field(default=False, metadata=setting(
        Kind.BOOL, "run commands of the local site without ssh"))
    polling_interval: float = field(default=20.0, metadata=setting(
        Kind.SECONDS, "seconds between polls (e.g. waiting for a job start)"))
    tiny_polling_interval: float = field(default=10.0, metadata=setting(
        Kind.SECONDS, "short poll interval (start date passed, job not running yet)"))
    default_frontend: str | None = field(default=None, metadata=setting(
        Kind.OPT_STR, "default frontend (site) when none is given"))
    api_uri: str = field(default=DEFAULT_API_URI, metadata=setting(Kind.STR, "base URI of the Grid'5000 REST API"))
    api_username: str | None = field(default=None, metadata=setting(
        Kind.OPT_STR, "user name for the API (basic auth, needed from outside Grid'5000)"))
    api_additional_args: tuple[tuple[str, str], ...] = field(default=(), metadata=setting(
        Kind.STR_MAP, "query arguments added to every API request (e.g. branch)"))
    api_timeout: float = field(default=30.0, metadata=setting(Kind.SECONDS, "timeout of one API request"))
    api_verify_ssl_cert: bool = field(default=True, metadata=setting(Kind.BOOL, "verify the API's TLS certificate"))
    api_allow_http_password: bool = field(default=False, metadata=setting(
        Kind.BOOL, "send the API password over a plain http:// URI (clear text) to a host other than this machine",
        execo=False))
    oar_job_key_file: str | None = field(default=None, metadata=setting(
        Kind.OPT_STR, "ssh key given to OAR jobs (oarsub -k -i)", also_env=("OAR_JOB_KEY_FILE",)))
    oar_pgsql_ro_db: str = field(default="oar2", metadata=setting(Kind.STR, "OAR database name"))
    oar_pgsql_ro_user: str = field(default="oarreader", metadata=setting(Kind.STR, "OAR database read-only user"))
    oar_pgsql_ro_password: str = field(default="read", repr=False, metadata=setting(
        Kind.STR, "OAR database read-only password", secret=True))
    oar_pgsql_ro_port: int = field(default=5432, metadata=setting(Kind.PORT, "OAR database port"))
    oar_pgsql_ro_host: str = field(default="oardb.{site}.grid5000.fr", metadata=setting(
        Kind.STR, "host of a site's OAR database ({site} is replaced by the site)"))
    location: str | None = field(default=None, metadata=setting(
        Kind.OPT_STR, "where the code runs: unset (detect), outside, frontend:SITE or node:SITE", execo=False))
    frontend: ConnectionParams = field(default=FRONTEND_PARAMS, metadata={
        METADATA: Section(ConnectionParams, copies=(("timeout", "default_timeout"),))})
    oarsh: ConnectionParams = field(default=OARSH_PARAMS, metadata={
        METADATA: Section(ConnectionParams, copies=(("timeout", "default_timeout"),))})
    frontends: tuple[tuple[str, SiteOverride], ...] = field(default=(), metadata={
        METADATA: PerSite(SiteOverride(), overrides="frontend")})

    def site_override(self, site: str) -> SiteOverride | None:
        """The per-frontend override of ``site``, if any."""
        for name, override in self.frontends:
            if name == site:
                return override
        return None


DEFAULT_CONFIG: Final = Config()


# --------------------------------------------------------------------------------------------------------------
# What the fields say: every key with its kind, environment variables and meaning


@frozen
class Key:
    """One configuration key: dotted name, kind, meaning, environment variables (ours first), secrecy, the
    attribute holding it in its section's class, and whether execo's configuration has it."""

    name: str
    kind: Kind
    doc: str
    env: tuple[str, ...] = ()
    secret: bool = False
    attr: str = ""
    execo: bool = True

    @property
    def section(self) -> str:
        """The section (``g5k``, ``frontend``, ...) of the key."""
        return self.name.partition(".")[0]

    @property
    def short(self) -> str:
        """The name of the key in its section (``api_uri`` for ``g5k.api_uri``)."""
        return self.name.rpartition(".")[2]


def settings(cls: type[AttrsInstance]) -> Iterator[tuple[str, Setting]]:
    """The attributes of ``cls`` that are configuration keys, with their ``Setting``, in field order."""
    for attribute in fields(cls):
        spec = attribute.metadata.get(METADATA)
        if isinstance(spec, Setting):
            yield attribute.name, spec


def _key(section: str, attr: str, spec: Setting, env_prefix: str | None) -> Key:
    name = spec.name or attr
    env = () if env_prefix is None else (f"{env_prefix}_{name.upper()}", *spec.also_env)
    return Key(f"{section}.{name}", spec.kind, spec.doc, env, spec.secret, attr, spec.execo)


def _sections() -> Iterator[tuple[str, Section | PerSite | None]]:
    """Every section with its metadata (``None`` for ``[g5k]``, the fields of ``Config`` itself)."""
    yield ROOT, None
    for attribute in fields(Config):
        meta = attribute.metadata.get(METADATA)
        if isinstance(meta, Section | PerSite):
            yield attribute.name, meta


def _all_keys() -> Iterator[Key]:
    for section, meta in _sections():
        if meta is None:
            yield from (_key(ROOT, attr, spec, "G5K") for attr, spec in settings(Config))
        elif isinstance(meta, Section):
            yield from (_key(section, attr, spec, f"G5K_{section.upper()}") for attr, spec in settings(meta.cls))


KEYS: Final[tuple[Key, ...]] = tuple(_all_keys())
"""Every key of the ``[g5k]``, ``[frontend]`` and ``[oarsh]`` sections, in field order."""

KEYS_BY_NAME: Final[Mapping[str, Key]] = {k.name: k for k in KEYS}


def _per_site() -> PerSite:
    return next(meta for section, meta in _sections() if section == SITES and isinstance(meta, PerSite))


PER_SITE: Final = _per_site()
"""What the ``[frontends.NAME]`` tables hold and which section they override."""

SITE_KEYS: Final[tuple[Key, ...]] = tuple(_key(SITES, attr, spec, None) for attr, spec in settings(
    type(PER_SITE.empty)))
"""The keys of a ``[frontends.NAME]`` table (named ``frontends.host`` & co here; no environment variable)."""

SITE_OVERRIDE_FIELDS: Final[Mapping[str, Kind]] = {k.short: k.kind for k in SITE_KEYS}
"""The keys of a ``[frontends.NAME]`` table and their kinds."""

SECTIONS: Final = tuple(section for section, _ in _sections())
"""The top-level tables of the configuration file, in order."""


def is_site_name(name: str) -> bool:
    """True when ``name`` can name a frontend (a site): not empty, no dots, no spaces."""
    return bool(name) and not any(c.isspace() or c == "." for c in name)


def section_keys(section: str) -> tuple[Key, ...]:
    """The keys of one section (``g5k``, ``frontend``, ``oarsh``), in field order."""
    return tuple(k for k in KEYS if k.section == section)


def _get(holder: object, attr: str) -> Value:
    value: Value = getattr(holder, attr)
    return value


def value_of(config: Config, key: str) -> Value:
    """The value of a dotted key (``g5k.api_uri``, ``frontend.port``, ``frontends.lyon.host``) in ``config``."""
    section, _, name = key.partition(".")
    if section == SITES:
        site, _, short = name.rpartition(".")
        override = config.site_override(site)
        attr = next(k.attr for k in SITE_KEYS if k.short == short)
        return None if override is None else _get(override, attr)
    spec = KEYS_BY_NAME[key]
    return _get(config if section == ROOT else getattr(config, section), spec.attr)


def default_of(key: str) -> Value:
    """The default value of a dotted key."""
    return value_of(DEFAULT_CONFIG, key)


def site_settings(override: SiteOverride) -> Iterator[tuple[str, Value]]:
    """The keys a per-frontend table sets (the others are ``None``), with their values."""
    for key in SITE_KEYS:
        value = _get(override, key.attr)
        if value is not None:
            yield key.short, value


def config_from(values: Mapping[str, Value]) -> Config:
    """The configuration giving ``values`` (checked values by dotted key, ``frontends.NAME`` declaring a
    frontend) to their keys and the defaults to every other key."""

    def changes(keys: Iterable[Key], prefix: str) -> dict[str, Any]:  # each value has its key's kind: its type
        return {k.attr: values[f"{prefix}.{k.short}"] for k in keys if f"{prefix}.{k.short}" in values}

    root = evolve(DEFAULT_CONFIG, **changes(section_keys(ROOT), ROOT))
    sections: dict[str, Any] = {}
    for section, meta in _sections():
        if isinstance(meta, Section):
            copied = {attr: _get(root, KEYS_BY_NAME[f"{ROOT}.{key}"].attr) for attr, key in meta.copies}
            sections[section] = evolve(getattr(DEFAULT_CONFIG, section), **changes(section_keys(section), section),
                                       **copied)
        elif isinstance(meta, PerSite):
            sites = sorted({k.split(".")[1] for k in values if k.startswith(f"{section}.")})
            sections[section] = tuple((site, evolve(meta.empty, **changes(SITE_KEYS, f"{section}.{site}")))
                                      for site in sites)
    return evolve(root, **sections)
