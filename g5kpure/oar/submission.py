"""OAR job submissions and the argv of oarsub / oardel / oarstat / g5k-subnets / kavlan.

An :class:`OarSubmission` is a frozen value; :func:`make_submission` (also ``OarSubmission.make``) builds one
from what a user passes (strings, timestamps, datetimes, timedeltas, any iterable) and returns the refusals as
values. :func:`oarsub_argv` turns it into an argv tuple: deterministic, one element per argument, never a
shell string. An adapter that must hand a remote shell one string uses ``shlex.join(argv)``; a property test
proves a real ``/bin/sh`` reads back exactly the argv, whatever quotes, ``$()``, backticks or newlines the
values hold.

``-t`` values come in a stable order (user types in the given order, a set's sorted, then the origin tag
``origin=g5kpure``, overridable or ``None``); resources given as a set are sorted too. Refused: a walltime
under one second or above OAR's 32-bit limit, a date outside years 1-9999, a NUL byte (which no argv can
carry) and a value starting with ``-`` (which oarsub would read as an option), also when the submission was
built directly (``oarsub_argv`` raises ``ValueError`` rather than write ``-n -x`` or ``walltime=-1:59:55``).
The job key file comes from an argument, never from the environment.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from datetime import tzinfo
from typing import cast

from attrs import field, frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, ParseError
from g5kpure.oar.dates import (
    MAX_UNIXTS,
    MAX_WALLTIME,
    MIN_UNIXTS,
    PARIS,
    Seconds,
    format_unixts,
    format_walltime,
    oar_date_to_unixts,
    to_seconds,
    to_unixts,
)

__all__ = [
    "DEFAULT_COMMAND",
    "DEFAULT_ORIGIN_TAG",
    "OarSubmission",
    "g5k_subnets_argvs",
    "kavlan_argv",
    "make_submission",
    "oardel_argv",
    "oarstat_job_argv",
    "oarstat_job_nodes_argv",
    "oarstat_job_text_argv",
    "oarstat_list_argv",
    "oarstat_state_argv",
    "oarsub_argv",
    "parse_oarsub_argv",
    "split_resources",
    "validate_submission",
]

DEFAULT_COMMAND = "sleep 31536000"
"""What a job runs when no command is given: sleep for a year (the job lasts its walltime)."""

DEFAULT_ORIGIN_TAG = "origin=g5kpure"
"""The ``-t`` tag added to every submission so that site admins can tell where jobs come from."""


def _short(value: object) -> str:
    """``repr(value)`` cut to 80 characters, or its type when Python refuses the repr (a huge int)."""
    try:
        return repr(value)[:80]
    except Exception:  # any repr may fail (a huge int, a user object); the type still says what it was
        return f"a value of type {type(value).__name__} too large to print"


def _order_key(item: object) -> tuple[int, str, str]:
    """Sort key putting strings first in their natural order, then other values by type and repr."""
    if isinstance(item, str):
        return (0, item, "")
    return (1, type(item).__name__, _short(item))


def _str_tuple(value: object) -> tuple[str, ...]:
    """None -> (), a string -> (string,), a set -> its items sorted, another iterable -> its items in order.

    Anything else becomes a one-item tuple, which validation then refuses as "not a string": the conversion
    itself never raises, and a set's hash order (which varies with PYTHONHASHSEED) never reaches an argv.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, AbstractSet):
        return cast(tuple[str, ...], tuple(sorted(value, key=_order_key)))
    if isinstance(value, Iterable):
        return cast(tuple[str, ...], tuple(value))
    return cast(tuple[str, ...], (value,))


@frozen
class OarSubmission:
    """What to ask oarsub for. Build it with :func:`make_submission` to get refusals as values.

    ``walltime`` is in whole seconds and ``reservation_date`` a whole unix timestamp; ``resources`` are
    joined with ``+``; ``additional_options`` are argv words placed right after ``oarsub``.
    """

    resources: tuple[str, ...] = field(default=(), converter=_str_tuple)
    walltime: int | None = None
    job_type: tuple[str, ...] = field(default=(), converter=_str_tuple)
    sql_properties: str | None = None
    queue: str | None = None
    reservation_date: int | None = None
    directory: str | None = None
    project: str | None = None
    name: str | None = None
    additional_options: tuple[str, ...] = field(default=(), converter=_str_tuple)
    command: str | None = None

    @staticmethod
    def make(
        resources: str | Iterable[str] | None = None,
        walltime: object = None,
        job_type: str | Iterable[str] | None = None,
        sql_properties: str | None = None,
        queue: str | None = None,
        reservation_date: object = None,
        directory: str | None = None,
        project: str | None = None,
        name: str | None = None,
        additional_options: str | Iterable[str] | None = None,
        command: str | None = None,
        *,
        tz: tzinfo = PARIS,
    ) -> Result[OarSubmission, G5kError]:
        """Build an :class:`OarSubmission` from user input, returning the first refusal as a value.

        ``walltime``: seconds, ``timedelta`` or OAR text (``"2"``, ``"1:30"``, ``"2:00:00"``);
        ``reservation_date``: unix timestamp, ``datetime`` (naive = ``tz``) or ``"YYYY-MM-DD HH:MM:SS"`` in ``tz``;
        ``additional_options``: a string (split like a shell would, quotes honoured) or a sequence of argv words.
        """
        # Each argument is checked in the order of the signature; an iterator argument is consumed here only.
        return Result.do(
            OarSubmission(resources=res_items, walltime=wall, job_type=type_items, sql_properties=sql_properties,
                          queue=queue, reservation_date=resa, directory=directory, project=project, name=name,
                          additional_options=extra, command=command)
            for wall in _whole_walltime(walltime)
            for resa in _whole_unixts(reservation_date, tz)
            for extra in option_words(additional_options, "additional_options")
            for res_items in _strings("resources", _str_tuple(resources))
            for type_items in _strings("job_type", _str_tuple(job_type))
        ).bind(validate_submission)


def _whole_walltime(walltime: object) -> Result[int | None, G5kError]:
    """A walltime in whole seconds, at least 1 (None stays None)."""
    def at_least_one(secs: Seconds) -> Result[int | None, G5kError]:
        if int(secs) < 1:
            return Failure(InvalidInput("walltime", _short(walltime), "at least 1 second (OAR refuses 0:0:0)"))
        return Success(int(secs))

    return Success(None) if walltime is None else to_seconds(walltime).bind(at_least_one)


def _whole_unixts(reservation_date: object, tz: tzinfo) -> Result[int | None, G5kError]:
    """A reservation date as a whole unix timestamp (None stays None)."""
    if reservation_date is None:
        return Success(None)
    return to_unixts(reservation_date, tz=tz).map(lambda ts: int(ts // 1))


def option_words(value: str | Iterable[str] | None, what: str) -> Result[tuple[str, ...], G5kError]:
    """Command-line words: a string is split like a shell would (quotes honoured), a sequence taken as it is."""
    if value is None:
        return Success(())
    if isinstance(value, str):
        try:
            return Success(tuple(shlex.split(value)))
        except ValueError as exc:
            return Failure(InvalidInput(what, value, f"shell-like words with balanced quotes ({exc})"))
    return Success(_str_tuple(value))


def _strings(label: str, items: tuple[str, ...]) -> Result[tuple[str, ...], G5kError]:
    if not all(isinstance(i, str) for i in items):
        return Failure(InvalidInput(label, _short(items), "strings"))
    return Success(items)


make_submission = OarSubmission.make
"""Build and validate an :class:`OarSubmission` from user input (the same function as ``OarSubmission.make``)."""


def validate_submission(sub: OarSubmission) -> Result[OarSubmission, G5kError]:
    """Check a submission's values (types, no NUL byte, no value oarsub would take for an option)."""
    singles: tuple[tuple[str, object], ...] = tuple(
        (label, getattr(sub, label)) for label in ("sql_properties", "queue", "directory", "project", "name", "command")
    )
    for label, value in singles:
        if value is not None and not isinstance(value, str):
            return Failure(InvalidInput(label, _short(value), "a string or None"))
    for label, num in (("walltime", sub.walltime), ("reservation_date", sub.reservation_date)):
        if num is not None and (isinstance(num, bool) or not isinstance(num, int)):
            return Failure(InvalidInput(label, _short(num), "an int (use make_submission to convert)"))
    if sub.walltime is not None and not 1 <= sub.walltime <= MAX_WALLTIME:
        return Failure(
            InvalidInput(
                "walltime", _short(sub.walltime), f"at least 1 second and at most {MAX_WALLTIME} (OAR's limit)"
            )
        )
    if sub.reservation_date is not None and not MIN_UNIXTS <= sub.reservation_date <= MAX_UNIXTS:
        return Failure(
            InvalidInput("reservation_date", _short(sub.reservation_date), "a date between years 1 and 9999")
        )
    checked: list[tuple[str, str]] = [(label, v) for label, v in singles if isinstance(v, str)]
    checked += [("resources", r) for r in sub.resources] + [("job_type", t) for t in sub.job_type]
    for label, item in [*checked, *(("additional_options", o) for o in sub.additional_options)]:
        if not isinstance(item, str):
            return Failure(InvalidInput(label, _short(item), "a string"))
        if "\0" in item:
            return Failure(InvalidInput(label, item, "text without NUL bytes (an argv cannot carry them)"))
    for label, item in checked:
        if item == "" and label in ("resources", "job_type", "queue"):
            return Failure(InvalidInput(label, item, "a non-empty string"))
        if item.startswith("-"):
            return Failure(InvalidInput(label, item, "a value not starting with '-' (oarsub would read an option)"))
    return Success(sub)


def oarsub_argv(
    sub: OarSubmission,
    *,
    job_key_file: str | None = None,
    origin_tag: str | None = DEFAULT_ORIGIN_TAG,
    tz: tzinfo = PARIS,
) -> tuple[str, ...]:
    """The argv of ``oarsub`` for a submission (deterministic; ``-r`` written as a wall-clock time in ``tz``).

    A submission that :func:`validate_submission` refuses (possible only when built directly, not through
    :func:`make_submission`) is a programming error: ``ValueError`` naming the refusal, never a wrong argv
    such as ``walltime=-1:59:55`` or ``-n -x``. To get the refusal as a value, validate first:
    ``validate_submission(sub).map(lambda s: oarsub_argv(s))``.
    """
    refusal = validate_submission(sub).swap().value_or(None)
    if refusal is not None:
        raise ValueError(f"oarsub_argv: {refusal.message} (build it with make_submission)")
    argv: list[str] = ["oarsub", *sub.additional_options]
    wall = f"walltime={format_walltime(sub.walltime)}" if sub.walltime is not None else None
    if sub.resources:
        argv += ["-l", "+".join(sub.resources) + (f",{wall}" if wall else "")]
    elif wall:
        argv += ["-l", wall]
    if job_key_file is not None:
        argv += ["-k", "-i", job_key_file]
    types = list(dict.fromkeys(sub.job_type))
    if origin_tag is not None and origin_tag not in types:
        types.append(origin_tag)
    for t in types:
        argv += ["-t", t]
    for flag, value in (("-p", sub.sql_properties), ("-q", sub.queue)):
        if value is not None:
            argv += [flag, value]
    if sub.reservation_date is not None:
        argv += ["-r", format_unixts(sub.reservation_date, tz)]
    for flag, value in (("-d", sub.directory), ("--project", sub.project), ("-n", sub.name)):
        if value is not None:
            argv += [flag, value]
    argv.append(sub.command if sub.command is not None else DEFAULT_COMMAND)
    return tuple(argv)


_ARG_FLAGS = {"-l", "-t", "-p", "-q", "-r", "-d", "--project", "-n", "-i"}


def split_resources(text: str) -> tuple[str, ...]:
    """Split an OAR resource request on the ``+`` that join its parts (not those inside braces or quotes)."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif ch == "+" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return tuple(parts)


def parse_oarsub_argv(
    argv: Sequence[str], *, origin_tag: str | None = DEFAULT_ORIGIN_TAG, tz: tzinfo = PARIS
) -> Result[tuple[OarSubmission, str | None], G5kError]:
    """Read back an argv made by :func:`oarsub_argv`: the submission and the job key file (or None).

    Leading words before the first oarsub flag are the additional options; the origin tag is dropped from the
    types, and a command equal to :data:`DEFAULT_COMMAND` reads back as ``None``.
    """
    words = list(argv)
    if len(words) < 2 or words[0] != "oarsub":
        return Failure(ParseError("oarsub argv", line=shlex.join(words), hint="expected 'oarsub ... COMMAND'"))
    command = words[-1]
    body = words[1:-1]
    i = 0
    extra: list[str] = []
    while i < len(body) and body[i] not in _ARG_FLAGS and body[i] != "-k":
        extra.append(body[i])
        i += 1
    values: dict[str, str] = {}
    types: list[str] = []
    key: str | None = None
    while i < len(body):
        flag = body[i]
        if flag == "-k":
            i += 1
            continue
        if flag not in _ARG_FLAGS or i + 1 >= len(body):
            return Failure(ParseError("oarsub argv", where=f"word {i + 1}", line=flag, hint="unexpected word"))
        value = body[i + 1]
        if flag == "-t":
            types.append(value)
        elif flag == "-i":
            key = value
        else:
            values[flag] = value
        i += 2
    if origin_tag is not None and origin_tag in types:
        types.remove(origin_tag)
    return Result.do(
        (
            OarSubmission(
                resources=resources,
                walltime=walltime,
                job_type=tuple(types),
                sql_properties=values.get("-p"),
                queue=values.get("-q"),
                reservation_date=resa,
                directory=values.get("-d"),
                project=values.get("--project"),
                name=values.get("-n"),
                additional_options=tuple(extra),
                command=None if command == DEFAULT_COMMAND else command,
            ),
            key,
        )
        for resources, walltime in _resources_and_walltime(values.get("-l"))
        for resa in _unixts_of_text(values.get("-r"), tz)
    )


def _resources_and_walltime(spec: str | None) -> Result[tuple[tuple[str, ...], int | None], G5kError]:
    """The resources and walltime of an ``-l`` value (the walltime is its last part, when there is one)."""
    if spec is None:
        return Success(((), None))
    head, sep, tail = spec.rpartition("walltime=")
    if sep and (head == "" or head.endswith(",")):
        rest = head[:-1] if head else ""
        return to_seconds(tail).map(lambda secs: (split_resources(rest) if rest else (), int(secs)))
    return Success((split_resources(spec) if spec else (), None))


def _unixts_of_text(text: str | None, tz: tzinfo) -> Result[int | None, G5kError]:
    return Success(None) if text is None else oar_date_to_unixts(text, tz=tz).map(int)


def _job_id(job_id: int) -> str:
    if isinstance(job_id, bool) or not isinstance(job_id, int) or job_id <= 0:
        raise ValueError(f"an OAR job id is a positive int, not {job_id!r}")
    return str(job_id)


def oardel_argv(*job_ids: int) -> tuple[str, ...]:
    """The argv of ``oardel`` for one or more job ids (positive ints; anything else is a programming error)."""
    if not job_ids:
        raise ValueError("oardel_argv needs at least one job id")
    return ("oardel", *(_job_id(j) for j in job_ids))


def oarstat_list_argv(*, user: str | None = None, mine: bool = False, json: bool = False) -> tuple[str, ...]:
    """The argv of ``oarstat`` listing jobs: all, ``user``'s (``-u USER``) or the caller's (``mine``: ``-u``)."""
    argv = ["oarstat"]
    if user is not None:
        argv += ["-u", user]
    elif mine:
        argv.append("-u")
    if json:
        argv.append("-J")
    return tuple(argv)


def oarstat_job_argv(job_id: int) -> tuple[str, ...]:
    """The argv reading one job in full as JSON: ``oarstat -f -J -j ID``."""
    return ("oarstat", "-f", "-J", "-j", _job_id(job_id))


def oarstat_job_text_argv(job_id: int) -> tuple[str, ...]:
    """The argv reading one job in full as text: ``oarstat -f -j ID``."""
    return ("oarstat", "-f", "-j", _job_id(job_id))


def oarstat_state_argv(job_id: int) -> tuple[str, ...]:
    """The argv reading one job's state: ``oarstat -s -j ID``."""
    return ("oarstat", "-s", "-j", _job_id(job_id))


def oarstat_job_nodes_argv(job_id: int) -> tuple[str, ...]:
    """The argv listing a job's resources with their properties (``oarstat -p -j ID``; see parse_job_nodes)."""
    return ("oarstat", "-p", "-j", _job_id(job_id))


def g5k_subnets_argvs(job_id: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The two argvs of ``g5k-subnets`` for a job: its (ip, mac) pairs, and its network parameters."""
    jid = _job_id(job_id)
    return ("g5k-subnets", "-i", "-m", "-j", jid), ("g5k-subnets", "-a", "-j", jid)


def kavlan_argv(job_id: int) -> tuple[str, ...]:
    """The argv listing a job's kavlan ids: ``kavlan -j ID -V``."""
    return ("kavlan", "-j", _job_id(job_id), "-V")
