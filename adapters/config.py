"""Configuration effects: find and read the files, read the environment, gather where-we-run facts, write files.

Files read (each optional):
- ``$G5K_CONFIG``, else ``$XDG_CONFIG_HOME/g5kpure/config.toml`` (platformdirs' user config directory);
- ``~/.python-grid5000.yaml``: its ``username`` only (never its password).

The merge order is the core's: defaults < ~/.python-grid5000.yaml username < config.toml < environment <
explicit arguments. Files are written atomically (temporary file + rename), never over an existing file
unless asked. A host rewrite function given as an explicit argument is run here (never in the core) over the
known names and becomes rules; what cannot be honoured is an error value.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

import platformdirs
from attrs import frozen
from g5k.results import performed
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure import config as core
from g5kpure.config import FrontendAccess
from g5kpure.errors import ConfigError, G5kError

APP_NAME = "g5kpure"
CONFIG_ENV = "G5K_CONFIG"
PYTHON_GRID5000_FILE = ".python-grid5000.yaml"
EXECO_FILE = ".execo.conf.py"


_T = TypeVar("_T")
_E = TypeVar("_E")


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def home_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's home directory ($HOME, else the password database's)."""
    home = _env(env).get("HOME")
    return Path(home) if home else Path.home()


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the configuration file is: $G5K_CONFIG, else $XDG_CONFIG_HOME/g5kpure/config.toml."""
    environ = _env(env)
    explicit = environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    xdg = environ.get("XDG_CONFIG_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / APP_NAME / "config.toml"
    if env is not None and environ.get("HOME"):
        return Path(environ["HOME"]) / ".config" / APP_NAME / "config.toml"
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def python_grid5000_path(env: Mapping[str, str] | None = None) -> Path:
    """Where python-grid5000 keeps its settings (~/.python-grid5000.yaml)."""
    return home_dir(env) / PYTHON_GRID5000_FILE


def execo_conf_path(env: Mapping[str, str] | None = None) -> Path:
    """Where execo keeps its settings (~/.execo.conf.py)."""
    return home_dir(env) / EXECO_FILE


def _read(path: Path) -> Result[str | None, ConfigError]:
    try:
        return Success(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Success(None)
    except (OSError, UnicodeDecodeError) as exc:
        return Failure(ConfigError("(file)", f"cannot read: {exc}", str(path)))


def read_optional(path: Path) -> IOResult[str | None, ConfigError]:
    """The text of ``path``, ``None`` when it does not exist; unreadable or non-UTF-8 is an error value."""
    return IOResult.from_result(_read(path))


@frozen
class FileRead:
    """A file consulted while loading: its path and whether it existed."""

    path: str
    found: bool
    purpose: str


@frozen
class Loaded:
    """The resolved configuration and the files consulted."""

    resolved: core.Resolved
    files: tuple[FileRead, ...]

    @property
    def config(self) -> core.Config:
        """The effective configuration."""
        return self.resolved.config


REWRITE_KEYS = ("frontend.host_rewrite", "oarsh.host_rewrite")


def known_names(key: str, config: core.Config) -> Result[tuple[str, ...], ConfigError]:
    """The names a programmatic host rewrite function is tabulated over when the caller gives none: for
    ``frontend.host_rewrite`` the sites of the embedded reference snapshot and the configured frontends, for
    ``oarsh.host_rewrite`` the node host names (FQDNs) of the snapshot."""
    from g5k.reference_data import load_embedded_snapshot

    snapshot = performed(load_embedded_snapshot())
    if isinstance(snapshot, Failure):
        return Failure(ConfigError(key, "cannot tabulate the rewrite function: the known names are unavailable "
                                   f"({snapshot.failure().message}); give the names explicitly", "(argument)"))
    if key == "oarsh.host_rewrite":
        hosts = snapshot.unwrap().hosts()
        if isinstance(hosts, Failure):
            return Failure(ConfigError(key, f"cannot tabulate the rewrite function: {hosts.failure().message}",
                                       "(argument)"))
        return Success(tuple(hosts.unwrap()))
    configured = [site for site, _ in config.frontends]
    if config.default_frontend:
        configured.append(config.default_frontend)
    return Success(tuple(sorted({*snapshot.unwrap().sites(), *configured})))


def tabulate(key: str, func: Callable[[str], object], names: Iterable[str]) -> Result[
        tuple[tuple[str, str], ...], ConfigError]:
    """Host rewrite rules giving, for each of ``names``, the host ``func`` returns (the caller's code is run
    here, in the adapter; its exceptions and wrong results become error values naming the name)."""
    wanted = sorted(set(names))
    if not wanted:
        return Failure(ConfigError(key, "cannot honour the rewrite function: no names to tabulate it over; give "
                                   "names, or [regex, replacement] rules", "(argument)"))
    table: list[tuple[str, object]] = []
    errors: list[ConfigError] = []
    for name in wanted:
        try:
            table.append((name, func(name)))
        except Exception as exc:  # the caller's function: any failure becomes a value
            errors.append(ConfigError(key, f"the rewrite function failed on {name!r}: {exc!r}", "(argument)"))
    if errors:
        return Failure(core.combine(errors))
    return core.rules_from_table(key, table)


def resolve_arguments(arguments: Mapping[str, object], names: Iterable[str] | None,
                      config: core.Config) -> Result[dict[str, object], ConfigError]:
    """The explicit arguments with each host rewrite function replaced by the rules tabulating it over
    ``names`` (when given) or over the known names (``known_names``)."""
    out = dict(arguments)
    given = None if names is None else tuple(names)
    errors: list[ConfigError] = []
    for key in REWRITE_KEYS:
        func = arguments.get(key)
        if not callable(func):
            continue
        wanted = Success(given) if given is not None else known_names(key, config)
        rules = (Failure(wanted.failure()) if isinstance(wanted, Failure)
                 else tabulate(key, func, wanted.unwrap()))
        if isinstance(rules, Failure):
            errors.append(rules.failure())
        else:
            out[key] = rules.unwrap()
    return Failure(core.combine(errors)) if errors else Success(out)


def load_config(env: Mapping[str, str] | None = None, path: Path | None = None,
                arguments: Mapping[str, object] | None = None, names: Iterable[str] | None = None) -> IOResult[
                    Loaded, ConfigError]:
    """Read the files and the environment and resolve the configuration (see the module docstring).

    ``arguments`` may give a function as ``frontend.host_rewrite`` / ``oarsh.host_rewrite``: it is run here
    over ``names`` (default: ``known_names``) and becomes exact rules; a host it does not know gets the
    ``host_suffix``. It is never dropped: when it cannot be tabulated, that is an error value."""
    environ = dict(_env(env))
    toml_path = path or config_path(environ)
    yaml_path = python_grid5000_path(environ)
    texts: dict[Path, str | None] = {}
    for p in (yaml_path, toml_path):
        got = _read(p)
        if isinstance(got, Failure):
            return IOFailure(got.failure())
        texts[p] = got.unwrap()
    files = (
        FileRead(str(toml_path), texts[toml_path] is not None, "configuration"),
        FileRead(str(yaml_path), texts[yaml_path] is not None, "python-grid5000 (username only)"),
    )

    def resolve(args: Mapping[str, object] | None) -> Result[core.Resolved, ConfigError]:
        return core.load(toml_text=texts[toml_path], toml_source=str(toml_path), env=environ, arguments=args,
                         python_grid5000_yaml=texts[yaml_path], yaml_source=str(yaml_path))

    if arguments is not None and any(callable(arguments.get(k)) for k in REWRITE_KEYS):
        plain = {k: v for k, v in arguments.items() if k not in REWRITE_KEYS or not callable(v)}
        first = resolve(plain)  # the configured frontends, to tabulate over them too
        base = first.unwrap().config if isinstance(first, Success) else core.DEFAULT_CONFIG
        tabulated = resolve_arguments(arguments, names, base)
        if isinstance(tabulated, Failure):
            errors = [tabulated.failure()] + ([first.failure()] if isinstance(first, Failure) else [])
            return IOFailure(core.combine(errors))
        arguments = tabulated.unwrap()
    resolved = resolve(arguments)
    if isinstance(resolved, Failure):
        return IOFailure(resolved.failure())
    return IOSuccess(Loaded(resolved.unwrap(), files))


# ------------------------------------------------------------------------------------------------------------
# Where we run


@frozen
class Facts:
    """What the machine says about itself: host name, DNS domain, and the environment variables that matter."""

    hostname: str
    domain: str
    env: tuple[tuple[str, str], ...]


_FACT_VARS = ("OAR_JOB_ID", "OAR_NODEFILE", "OAR_NODE_FILE")


def _resolv_domain(text: str) -> str:
    search = ""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "domain":
            return parts[1]
        if len(parts) >= 2 and parts[0] == "search" and not search:
            search = parts[1]
    return search


def gather_facts(env: Mapping[str, str] | None = None, resolv_conf: Path = Path("/etc/resolv.conf")) -> Facts:
    """The facts ``g5kpure.config.locate`` decides from (no DNS query: host name and resolv.conf only)."""
    environ = _env(env)
    hostname = socket.gethostname()
    domain = ""
    if "." not in hostname:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            domain = _resolv_domain(resolv_conf.read_text(encoding="utf-8"))
    return Facts(hostname, domain, tuple((k, environ[k]) for k in _FACT_VARS if k in environ))


def where_we_run(config: core.Config, facts: Facts | None = None) -> IOResult[core.Location, ConfigError]:
    """Where this process runs (``g5k.location`` wins over the facts)."""
    seen = facts or gather_facts()
    located = core.locate(seen.hostname, seen.domain, dict(seen.env), forced=config.location)
    if isinstance(located, Failure):
        return IOFailure(located.failure())
    return IOSuccess(located.unwrap())


@frozen
class Runtime:
    """What a command needs to act from here: the configuration, where we run, and the frontend access."""

    config: core.Config
    location: core.Location
    access: FrontendAccess


def runtime(env: Mapping[str, str] | None = None, path: Path | None = None,
            arguments: Mapping[str, object] | None = None, facts: Facts | None = None) -> IOResult[
                Runtime, ConfigError]:
    """Load the configuration, find where we run, and derive the frontend access (for CLI commands)."""
    loaded = performed(load_config(env, path, arguments))
    if isinstance(loaded, Failure):
        return IOFailure(loaded.failure())
    config = loaded.unwrap().config
    located = performed(where_we_run(config, facts))
    if isinstance(located, Failure):
        return IOFailure(located.failure())
    location = located.unwrap()
    return IOSuccess(Runtime(config, location, core.frontend_access(config, location)))


# ------------------------------------------------------------------------------------------------------------
# Writing files


def write_atomic(path: Path, text: str, force: bool = False, mode: int = 0o600) -> IOResult[Path, G5kError]:
    """Write ``text`` to ``path`` through a temporary file and a rename; refuse to replace an existing file
    unless ``force``. The directory is created when missing."""
    tmp_name: str | None = None
    try:
        if path.exists() and not force:  # inside the try: a name too long for the system raises here
            return IOFailure(ConfigError("(file)", "already exists; not overwritten (use --force to replace it)",
                                         str(path)))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        if force:
            os.replace(tmp_name, path)
        else:
            os.link(tmp_name, path)  # fails if the file appeared meanwhile: never overwrite by accident
            os.unlink(tmp_name)
        tmp_name = None
        return IOSuccess(path)
    except FileExistsError:
        return IOFailure(ConfigError("(file)", "already exists; not overwritten (use --force to replace it)",
                                     str(path)))
    except OSError as exc:
        return IOFailure(ConfigError("(file)", f"cannot write: {exc}", str(path)))
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def init_config(path: Path, force: bool = False) -> IOResult[Path, G5kError]:
    """Write the commented default configuration file."""
    return write_atomic(path, core.init_template(), force)


@frozen
class ExecoConverted:
    """An execo file converted: the TOML text, the notes (what was converted how, not converted, skipped), the
    source path."""

    source: str
    text: str
    notes: tuple[str, ...]


def convert_execo_file(source: Path) -> IOResult[ExecoConverted, ConfigError]:
    """Read an execo configuration file (never running it) and convert its dicts to our TOML."""
    got = _read(source)
    if isinstance(got, Failure):
        return IOFailure(got.failure())
    text = got.unwrap()
    if text is None:
        return IOFailure(ConfigError("(file)", "not found: nothing to import", str(source)))
    converted = core.convert_execo_conf(text, str(source))
    if isinstance(converted, Failure):
        return IOFailure(converted.failure())
    imported = converted.unwrap()
    header = (f"converted from {source} by `g5k config import-execo`",)
    notes = (f"notes (line numbers are those of {source}):",) if imported.notes else ()
    body = core.layer_to_toml(imported.layer, header + notes + tuple(f"  {n}" for n in imported.notes))
    return IOSuccess(ExecoConverted(str(source), body, imported.notes))
