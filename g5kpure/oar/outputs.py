"""What the parsers of OAR command outputs share: lines whatever their ends, line-by-line readers, a failed
command, bounded numbers and dates, and the fields of OAR's job message.

Every reader is total: it returns ``None`` or a ``Failure`` for text it cannot read, never raises. Lines may
end in LF, CRLF or CR (a pty turns ``\\n`` into ``\\r\\n``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import tzinfo
from typing import TypeVar

from returns.result import Failure, Result, Success

from g5kpure.errors import CommandFailed, G5kError, ParseError
from g5kpure.oar.dates import int_of, oar_date_to_unixts, oar_duration_to_seconds

T = TypeVar("T")


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` whatever the line ends (LF, CRLF, CR), without their ends."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def unhashed(line: str) -> str:
    """A message line of OAR 2.5.10 and later without the ``# `` they prefix it with (other lines unchanged)."""
    return line[2:] if line.startswith("# ") else line


def meaningful_lines(text: str) -> list[str]:
    """The non-blank lines of ``text``, stripped."""
    return [ln.strip() for ln in split_lines(text) if ln.strip()]


def command_failed(
    argv: str | tuple[str, ...], exit_code: int | None, stdout: str, stderr: str
) -> CommandFailed:
    """The failure of ``argv`` (a command name or its words) that exited with ``exit_code``."""
    return CommandFailed(argv=(argv,) if isinstance(argv, str) else argv, exit_code=exit_code, stderr=stderr,
                         stdout=stdout)


def exited_ok(exit_code: int | None) -> bool:
    """True for exit code 0, or None (the transport could not tell: the output decides)."""
    return exit_code in (0, None)


def read_lines(
    command: str | tuple[str, ...],
    exit_code: int | None,
    stdout: str,
    stderr: str,
    read: Callable[[str], T | None],
    *,
    what: str,
    hint: str,
) -> Result[tuple[T, ...], G5kError]:
    """Read each non-blank line of a command's stdout with ``read`` (given the stripped line; ``None`` = not
    readable), in order; a failed command is ``CommandFailed``, an unreadable line a ``ParseError`` naming it."""
    if not exited_ok(exit_code):
        return Failure(command_failed(command, exit_code, stdout, stderr))
    items: list[T] = []
    for n, raw in enumerate(split_lines(stdout), start=1):
        line = raw.strip()
        if not line:
            continue
        item = read(line)
        if item is None:
            return Failure(ParseError(what, where=f"line {n}", line=line[:200], hint=hint))
        items.append(item)
    return Success(tuple(items))


def ts_or_none(value: object) -> int | None:
    """A JSON epoch time; OAR prints 0 for 'not set' (None then, as for anything but a bounded number)."""
    n = int_of(value)
    return n if n else None


def as_str(value: object) -> str:
    """A JSON value as text (None is ``""``)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def text_date(value: str, tz: tzinfo) -> int | None:
    """An OAR text date (wall-clock time of ``tz``) as a unix timestamp, or None."""
    return oar_date_to_unixts(value, tz=tz).map(int).value_or(None)


def duration_or_none(text: str) -> int | None:
    """An OAR duration (``H:M:S``, ``H:M``, ``H``) in seconds, or None."""
    return oar_duration_to_seconds(text).map(int).value_or(None)


_MESSAGE_FIELD = re.compile(r"(?:^|,)([A-Z])=([^,()]*)", re.ASCII)


def message_fields(message: str) -> dict[str, str]:
    """The ``R=8,W=0:10:0,J=B,T=deploy|x,N=name,P=proj`` fields of OAR's job message."""
    head = message.split(" (", 1)[0]
    return {k: v for k, v in _MESSAGE_FIELD.findall(head)}


def walltime_of_message(message: str) -> int | None:
    """The walltime (``W=``) of OAR's job message, in seconds, or None."""
    w = message_fields(message).get("W")
    return None if w is None else duration_or_none(w)


_WANTED_WALLTIME = re.compile(r"walltime=(\d+(?::\d+){0,2})", re.ASCII)


def walltime_of_wanted(wanted: str) -> int | None:
    """The walltime of OAR's ``wanted_resources`` (``-l "{...}/network_address=1,walltime=0:5:0"``), or None."""
    m = _WANTED_WALLTIME.search(wanted)
    return None if m is None else duration_or_none(m.group(1))
