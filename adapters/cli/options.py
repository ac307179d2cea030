"""Options shared by the subcommands: one spelling, one value grammar, one help text for each.

The vocabulary follows OAR's where OAR has a word for it: ``-l/--resources``, ``-w/--walltime``, ``-t/--type``,
``-p/--properties``, ``-q/--queue``, ``--project``, ``-n/--name`` and ``-r/--reservation`` (a date). Every date
reads ``YYYY-MM-DD HH:MM[:SS]`` (or a unix timestamp) with the library's date grammar; every duration reads the
library's duration grammar; ``--config`` names the configuration file and ``--api-user`` the API user everywhere.
An old spelling stays accepted as a hidden alias. A value that cannot be read is refused quoting what was typed.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from returns.result import Failure, Result, Success

from g5kpure.errors import ConfigError, G5kError, InvalidInput

if TYPE_CHECKING:
    from g5k.api import APIConnection

    from g5kpure.config import FrontendAccess

# g5kpure.oar is imported where it is used: `g5k ref` reads none of its options and starts without it

DATE_FORMS = "'YYYY-MM-DD HH:MM[:SS]' or a unix timestamp"
"""What every date option reads (wall-clock time in the OAR server's zone, Europe/Paris by default)."""
RESERVATION = "-r/--reservation"
FIGURE_FORMATS = ("png", "svg")

_NO_SECONDS = re.compile(r"\s*([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[Tt ]+[0-9]{1,2}:[0-9]{1,2})\s*", re.ASCII)
_RST = re.compile(r"``([^`]+)``|:[a-z]+:`~?([^`]+)`|`([^`]+)`")


# ------------------------------------------------------------------------------------------------- text


def plain(text: str) -> str:
    """Help text without reStructuredText markup (``x``, :func:`x`, `x` become x)."""
    return _RST.sub(lambda m: next(g for g in m.groups() if g is not None), text)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 site``, ``2 sites`` (``many`` for an irregular plural)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def hidden_alias(parser: argparse.ArgumentParser, *names: str, dest: str, **kwargs: Any) -> None:
    """Accept an old spelling of an option (same ``dest``), left out of the help and of completion."""
    parser.add_argument(*names, dest=dest, help=argparse.SUPPRESS, **kwargs)


# ------------------------------------------------------------------------------------------------- durations


def add_walltime(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    """Add ``-w/--walltime``, read by :func:`walltime_of` with the library's one duration grammar."""
    from g5kpure.oar import DURATION_FORMS

    parser.add_argument(
        "-w",
        "--walltime",
        default=default,
        metavar="DURATION",
        help=f"the job's walltime: {DURATION_FORMS}" + (f" (default {default})" if default else ""),
    )


def walltime_of(args: argparse.Namespace) -> Result[int | None, InvalidInput]:
    """The walltime the user wrote, in seconds (None when not given), echoed on stderr as it was understood."""
    from g5kpure.oar import describe_duration, parse_walltime

    text = getattr(args, "walltime", None)
    if text is None:
        return Success(None)
    got = parse_walltime(text)
    if isinstance(got, Failure):
        return Failure(got.failure())
    seconds = got.unwrap()
    if not getattr(args, "json", False):  # under --json, stdout and stderr stay machine-readable
        print(f"g5k: walltime {describe_duration(seconds)}", file=sys.stderr)
    return Success(seconds)


# ------------------------------------------------------------------------------------------------- dates


def add_tz(parser: argparse.ArgumentParser) -> None:
    """Add ``--tz``, the OAR server's zone, read by :func:`zone_of`."""
    parser.add_argument("--tz", default="Europe/Paris", metavar="ZONE",
                        help="zone of the OAR server's dates (default Europe/Paris)")


def zone_of(args: argparse.Namespace) -> Result[tzinfo, InvalidInput]:
    """The zone of the OAR server named by ``--tz``, or the refusal quoting the option and what the user typed."""
    from g5kpure.oar import zone_named

    return zone_named(getattr(args, "tz", "Europe/Paris")).alt(lambda error: attrs.evolve(error, name="--tz"))


def read_date(text: str, option: str, tz: tzinfo | None = None) -> Result[int, InvalidInput]:
    """A date as the user typed it (``YYYY-MM-DD HH:MM[:SS]`` in ``tz``, Europe/Paris by default, or a unix
    timestamp), in unix seconds; the refusal names ``option`` and quotes ``text``."""
    from g5kpure.oar import PARIS, oar_date_to_unixts

    short = _NO_SECONDS.fullmatch(text)
    got = oar_date_to_unixts(short.group(1) + ":00" if short else text, tz=tz or PARIS)
    if isinstance(got, Failure):
        hint = str(getattr(got.failure(), "hint", "") or "")
        why = "" if not hint or hint.startswith("expected") else f" ({hint})"
        return Failure(InvalidInput(option, text[:80] + ("..." if len(text) > 80 else ""), DATE_FORMS + why))
    return Success(int(got.unwrap()))


def add_reservation(parser: argparse.ArgumentParser, what: str = "the date the job starts at (an advance reservation)",
                    *, aliases: tuple[str, ...] = ()) -> None:
    """Add ``-r/--reservation DATE`` (``dest="reservation_date"``), read by :func:`reservation_of`; ``aliases`` are
    old spellings kept hidden."""
    parser.add_argument("-r", "--reservation", dest="reservation_date", metavar="DATE",
                        help=f"{what}: {DATE_FORMS}")
    if aliases:
        hidden_alias(parser, *aliases, dest="reservation_date")


def reservation_of(args: argparse.Namespace, tz: tzinfo | None = None) -> Result[int | None, InvalidInput]:
    """The ``-r/--reservation`` date in unix seconds (None when not given), in ``tz`` (Europe/Paris by default)."""
    text = getattr(args, "reservation_date", None)
    return Success(None) if text is None else read_date(text, RESERVATION, tz)


# ------------------------------------------------------------------------------------------------- OAR jobs


def add_resources(parser: argparse.ArgumentParser) -> None:
    """Add ``-l/--resources`` (repeatable: the requests are joined with +)."""
    parser.add_argument("-l", "--resources", action="append", default=[], metavar="RESOURCES",
                        help="a resource request, as oarsub -l (repeat to join with +)")


def add_job_options(parser: argparse.ArgumentParser, *, queue: bool = True, properties: bool = True,
                    project: bool = True) -> None:
    """Add the options that describe an OAR job besides its resources and dates: ``-t/--type`` (``dest
    job_type``), ``-p/--properties`` (``dest sql_properties``), ``-q/--queue``, ``--project``, ``-n/--name``
    (``queue``, ``properties`` and ``project`` False leave out what a command cannot pass on)."""
    parser.add_argument("-t", "--type", dest="job_type", action="append", default=[], metavar="TYPE",
                        help="a job type, as oarsub -t (deploy, destructive, ...; repeatable)")
    if properties:
        parser.add_argument("-p", "--properties", dest="sql_properties", metavar="SQL",
                            help="resource properties, as oarsub -p")
    if queue:
        parser.add_argument("-q", "--queue", metavar="QUEUE", help="the OAR queue, as oarsub -q")
    if project:
        parser.add_argument("--project", metavar="PROJECT", help="the project charged, as oarsub --project")
    parser.add_argument("-n", "--name", metavar="NAME", help="the job's name, as oarsub -n")


# ------------------------------------------------------------------------------------------------- configuration


def add_frontend(parser: argparse.ArgumentParser, what: str, *, repeat: bool = False) -> None:
    """Add ``--frontend SITE`` (``repeat``: a list, one item per use); ``what`` says what it is for. Without it a
    command uses g5k.default_frontend, else runs OAR's commands here (see :func:`no_frontend`)."""
    if repeat:
        parser.add_argument("--frontend", action="append", default=[], metavar="SITE",
                            help=f"{what} (repeatable; default: g5k.default_frontend)")
    else:
        parser.add_argument("--frontend", default=None, metavar="SITE", help=f"{what} (default: g5k.default_frontend)")


def no_frontend(given: str | list[str] | None, access: FrontendAccess, command: str = "oarstat") -> G5kError | None:
    """Why a command naming no frontend cannot run (None when it can): no ``--frontend`` given, no
    ``g5k.default_frontend``, and ``command`` is not here to run locally as on a Grid'5000 frontend."""
    import shutil

    if given or access.default_frontend is not None or shutil.which(command) is not None:
        return None
    return ConfigError("g5k.default_frontend", f"no frontend given, none configured, and OAR's commands are not "
                       f"here ({command} is not on PATH): pass --frontend SITE or set g5k.default_frontend")



def add_config(parser: argparse.ArgumentParser) -> None:
    """Add ``--config FILE`` (``--file`` kept as a hidden alias)."""
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="configuration file (default: $G5K_CONFIG, else the user's)")
    hidden_alias(parser, "--file", dest="config", type=Path)


def add_api_options(parser: argparse.ArgumentParser) -> None:
    """Add the Grid'5000 API options: ``--api``, ``--api-user`` (``--user`` kept hidden), ``--timeout``,
    ``--ca-bundle``, ``--allow-http-password`` and ``--config``; read by :func:`api_connection_of`."""
    parser.add_argument("--api", default=None, metavar="URI", help="API base URI (default: g5k.api_uri)")
    parser.add_argument("--api-user", dest="api_user", default=None, metavar="LOGIN",
                        help="API user (default: g5k.api_username; the password comes from the keyring service "
                        "grid5000_api, else it is asked once)")
    hidden_alias(parser, "--user", dest="api_user")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="seconds per API request (default: g5k.api_timeout)")
    parser.add_argument("--ca-bundle", default=None, metavar="FILE",
                        help="CA bundle to verify the API's certificate with")
    parser.add_argument("--allow-http-password", action="store_true", default=None,
                        help="send the API password even over a plain http:// URI to another machine (clear text; "
                        "default: g5k.api_allow_http_password, off)")
    add_config(parser)


def missing_ca_bundle(args: argparse.Namespace) -> InvalidInput | None:
    """The refusal of a --ca-bundle that does not exist (None when it is not given or exists)."""
    bundle = getattr(args, "ca_bundle", None)
    if bundle is not None and not Path(bundle).exists():
        return InvalidInput("--ca-bundle", bundle, "the path of a CA bundle file (or directory) that exists")
    return None


def api_connection_of(args: argparse.Namespace) -> APIConnection | G5kError:
    """The API connection of :func:`add_api_options`' options: the configuration (file, environment, where we
    run) with --api, --api-user, --timeout, --ca-bundle and --allow-http-password over it. A dry run builds the
    same one (the password is only asked when a request is sent)."""
    from g5k import config as config_adapter
    from g5k.api import APIConnection
    from g5k.results import performed

    missing = missing_ca_bundle(args)
    if missing is not None:
        return missing
    loaded = performed(config_adapter.runtime(path=getattr(args, "config", None)))
    if isinstance(loaded, Failure):
        error: G5kError = loaded.failure()
        return error
    rt = loaded.unwrap()
    return APIConnection.from_config(rt.config, rt.location, interactive=True, uri=getattr(args, "api", None),
                                     username=getattr(args, "api_user", None),
                                     timeout=getattr(args, "timeout", None), verify=getattr(args, "ca_bundle", None),
                                     allow_http_password=getattr(args, "allow_http_password", None))


# ------------------------------------------------------------------------------------------------- figures


def add_figure_format(parser: argparse.ArgumentParser) -> None:
    """Add ``--format FORMATS``: the figures' file formats, a comma list of png and svg (default png)."""
    parser.add_argument("--format", dest="formats", default="png", metavar="FORMATS",
                        help="figure formats, a comma list of png and svg (default png)")


def formats_of(args: argparse.Namespace) -> Result[tuple[str, ...], InvalidInput]:
    """The figure formats of ``--format``, in the order given, without repeats."""
    text = str(getattr(args, "formats", "png"))
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    if not chosen or any(f not in FIGURE_FORMATS for f in chosen):
        return Failure(InvalidInput("--format", text, "png, svg or png,svg"))
    return Success(chosen)


# ------------------------------------------------------------------------------------------------- failures

_CAUSES = (
    (("NameResolutionError", "Name or service not known", "Temporary failure in name resolution",
      "nodename nor servname", "No address associated", "getaddrinfo failed"), "name not resolved (no network?)"),
    (("Connection refused",), "connection refused"),
    (("Network is unreachable", "No route to host"), "network unreachable"),
    (("timed out", "Timeout", "timeout"), "no answer in time"),
    (("TLS", "SSL", "CERTIFICATE"), "TLS verification failed"),
)


def _short_cause(detail: str) -> str:
    for needles, cause in _CAUSES:
        if any(n in detail for n in needles):
            return cause
    return detail.split("; ")[0][:120] or "unreachable"


def endpoint_and_cause(key: str, error: G5kError) -> tuple[str, str]:
    """Where a failure happened (the host an effect could not reach, else ``key``: a site, a frontend) and why,
    in a few words (``api.grid5000.fr``, ``name not resolved (no network?)``)."""
    from urllib.parse import urlsplit

    from g5kpure.errors import HttpError, Timeout, Unreachable

    if isinstance(error, Unreachable):
        return error.host, _short_cause(error.detail)
    if isinstance(error, Timeout) and error.host:
        return error.host, "no answer in time"
    if isinstance(error, Timeout):
        url = urlsplit(error.what.split(" ", 1)[-1])
        return (url.netloc or key), "no answer in time"
    if isinstance(error, HttpError):
        return (urlsplit(error.url).netloc or key), f"HTTP {error.status}"
    return key, error.message


def failure_lines(failed: tuple[tuple[str, G5kError], ...] | list[tuple[str, G5kError]], what: str = "site") -> list[
    str
]:
    """One line per endpoint and cause of ``failed`` (key, error) pairs, naming the keys each covers: eleven
    sites failing on one unreachable API make one line."""
    groups: dict[tuple[str, str], list[str]] = {}
    for key, error in failed:
        groups.setdefault(endpoint_and_cause(key, error), []).append(key)
    lines = []
    for (endpoint, cause), keys in groups.items():
        if len(keys) == 1 and keys[0] in endpoint:  # "lyon (lyon.grid5000.fr)" names its one key already
            lines.append(f"{endpoint}: {cause}")
        else:
            lines.append(f"{endpoint}: {cause} ({plural(len(keys), what)}: {', '.join(keys)})")
    return lines
