"""The one error type of g5kpure: frozen values, each with a human message and the data a program needs.

Every function of the core or the adapters that can fail returns ``Result[T, G5kError]`` (or ``IOResult``); a
caller matches on the subclass to act on the data, or prints ``err.message``. Each error is also an exception
whose ``str()`` is its message: :func:`value_or_raise` turns a ``Result`` into its value or raises the error, and a
failed ``.unwrap()`` shows the error's message as its cause. :class:`SiteAnswer` and :class:`ReservationTry` are
the data :class:`NoCommonDate` carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from attrs import field, fields, frozen
from returns.result import Failure, Result

_T = TypeVar("_T")
_E = TypeVar("_E", bound="G5kError")


def _opt(template: str, value: object) -> str:
    """``template`` filled with ``value``, or ``""`` when there is no value (None or empty text)."""
    return "" if value is None or value == "" else template.format(value)


def _names(text: str, name: str) -> bool:
    """True when ``name`` appears in ``text`` as a whole name (not inside a longer one such as ``nancy-2``)."""

    def inside(c: str) -> bool:
        return c.isalnum() or c in "-_"

    start = text.find(name) if name else -1
    while start >= 0:
        end = start + len(name)
        if (start == 0 or not inside(text[start - 1])) and (end == len(text) or not inside(text[end])):
            return True
        start = text.find(name, start + 1)
    return False


def _tuple_of_str(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if value is None:
        return ()
    return tuple(str(v) for v in value)  # type: ignore[attr-defined]


def _pairs(value: object) -> tuple[tuple[str, G5kError], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), v) for k, v in items)  # type: ignore[attr-defined]


@frozen(auto_exc=False)
class G5kError(Exception):
    """Base of every error value; ``message`` says what happened and what to do."""

    _template: ClassVar[str] = ""
    """The message with the fields in braces, for kinds whose message needs no logic."""

    @property
    def message(self) -> str:
        """What happened and what to do, in one human sentence (each error kind words its own)."""
        if self._template:
            return self._template.format_map({a.name: getattr(self, a.name) for a in fields(type(self))})
        return type(self).__name__

    @property
    def kind(self) -> str:
        """Stable machine name of the error kind (the class name)."""
        return type(self).__name__

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), {a.name: getattr(self, a.name) for a in fields(type(self))}))


def _rebuild(cls: type[_E], values: dict[str, Any]) -> _E:
    return cls(**values)


def value_or_raise(result: Result[_T, G5kError]) -> _T:
    """The value of a successful ``result``; else raise its error (an exception whose ``str()`` is its message)."""
    if isinstance(result, Failure):
        raise result.failure()
    return result.unwrap()


@frozen(auto_exc=False)
class ParseError(G5kError):
    """Some text or value could not be understood: ``what`` was expected, ``where`` it was, ``line`` itself."""

    what: str
    where: str = ""
    line: str = ""
    hint: str = ""

    @property
    def message(self) -> str:
        shown = self.line if len(self.line) <= 200 else self.line[:200] + "…"
        where, line, hint = _opt(" at {}", self.where), _opt(": {!r}", shown), _opt(" ({})", self.hint)
        return f"could not parse {self.what}{where}{line}{hint}"


@frozen(auto_exc=False)
class InvalidInput(G5kError):
    """An argument was refused before anything was done: which one, the value, and what would be accepted."""

    name: str
    value: str
    expected: str
    _template: ClassVar[str] = "invalid {name} {value!r}: expected {expected}"


@frozen(auto_exc=False)
class Rejected(G5kError):
    """OAR (or another scheduler) refused a request: its reason, exit code and suggested start if any."""

    reason: str
    exit_code: int | None = None
    could_run_at: int | None = None
    frontend: str = ""
    output: str = ""

    @property
    def message(self) -> str:
        where = f" on {self.frontend}" if self.frontend else ""
        msg = f"request rejected{where}: {self.reason}"
        if self.exit_code is not None:
            msg += f" (exit code {self.exit_code})"
        if self.could_run_at is not None:
            msg += f"; OAR says it could run at unix time {self.could_run_at}: retry with that reservation date"
        return msg


@frozen(auto_exc=False)
class CommandFailed(G5kError):
    """A command ran but failed: its argv, where, exit code and an excerpt of stderr."""

    argv: tuple[str, ...] = field(converter=_tuple_of_str)
    exit_code: int | None
    stderr: str = ""
    host: str = ""
    stdout: str = ""

    @property
    def message(self) -> str:
        where, tail = _opt(" on {}", self.host), _opt(": {}", " | ".join(self.stderr.strip().splitlines()[-3:]))
        return f"command {' '.join(self.argv)[:200]!r} failed{where} with exit code {self.exit_code}{tail}"


@frozen(auto_exc=False)
class Unreachable(G5kError):
    """A host could not be reached, or the connection to it was lost: which, after how long, the underlying
    reason, what was going on when it was lost (``during``, empty when it was never reached), what to check
    (``fix``, empty for the generic advice) and whether waiting cannot help (``lasting``: a name that does not
    resolve, a failed TLS check), which callers never retry."""

    host: str
    detail: str = ""
    after_s: float | None = None
    during: str = ""
    fix: str = ""
    lasting: bool = False

    @property
    def message(self) -> str:
        after, detail = _opt(" after {:.1f}s", self.after_s), _opt(": {}", self.detail)
        if self.during:
            fix = self.fix or "retry; if it happens again, check the network between here and the host"
            return f"connection to {self.host} lost{after} while {self.during}{detail}; {fix}"
        return f"{self.host} is unreachable{after}{detail}; {self.fix or 'check the host name, port and network'}"


@frozen(auto_exc=False)
class Timeout(G5kError):
    """An operation did not finish in time: what, where, after how long, and what it was doing then
    (``during``: connecting, reading the answer, ...; empty when the operation as a whole ran out of time)."""

    what: str
    after_s: float | None
    host: str = ""
    during: str = ""

    @property
    def message(self) -> str:
        where = "" if _names(self.what, self.host) else _opt(" on {}", self.host)  # never "X on X"
        after, during = _opt("{:g}s", self.after_s) or "the time limit", _opt(" while {}", self.during)
        return f"{self.what}{where} timed out after {after}{during}; raise the timeout or check the remote side"


@frozen(auto_exc=False)
class HttpError(G5kError):
    """An HTTP request got an error status: status, method, URL and an excerpt of the body."""

    status: int
    url: str
    body: str = ""
    method: str = "GET"

    @property
    def message(self) -> str:
        return f"{self.method} {self.url} answered HTTP {self.status}" + _opt(": {}", self.body.strip()[:200])


@frozen(auto_exc=False)
class AuthError(G5kError):
    """Authentication was refused (ours, or the server's host key by us): where, why, and what to do (``fix``,
    empty for the generic advice)."""

    where: str
    detail: str = ""
    fix: str = ""

    @property
    def message(self) -> str:
        detail = _opt(": {}", self.detail)
        return f"authentication refused by {self.where}{detail}; {self.fix or 'check the user name, key or password'}"


@frozen(auto_exc=False)
class NotFound(G5kError):
    """Something asked for does not exist: what kind of thing and its key."""

    what: str
    key: str
    hint: str = ""

    @property
    def message(self) -> str:
        return f"{self.what} {self.key!r} not found" + _opt(" ({})", self.hint)


@frozen(auto_exc=False)
class NoSlot(G5kError):
    """No slot satisfies a request: why, in words, with the numbers."""

    why: str
    _template: ClassVar[str] = "no slot found: {why}"


@frozen(auto_exc=False)
class Partial(G5kError):
    """A multi-part operation partly failed: what succeeded and what failed, per key (site, host, job)."""

    what: str
    succeeded: tuple[str, ...] = field(converter=_tuple_of_str, default=())
    failed: tuple[tuple[str, G5kError], ...] = field(converter=_pairs, default=())
    undone: tuple[str, ...] = field(converter=_tuple_of_str, default=())

    @property
    def message(self) -> str:
        fails = "; ".join(f"{k}: {v.message}" for k, v in self.failed)
        done = _opt("; succeeded: {}", ", ".join(self.succeeded))
        undone = _opt("; undone (rolled back): {}", ", ".join(self.undone))
        return f"{self.what} partly failed: {fails}{done}{undone}"


@frozen(auto_exc=False)
class DbError(G5kError):
    """A database operation failed: where and the database's own message."""

    detail: str
    where: str = ""

    @property
    def message(self) -> str:
        return f"database error{_opt(' on {}', self.where)}: {self.detail}"


@frozen(auto_exc=False)
class ConfigError(G5kError):
    """A configuration value is wrong: the key, where it came from (file and line), and why."""

    key: str
    reason: str
    source: str = ""
    line: int | None = None
    problems: tuple[ConfigError, ...] = ()
    """When several problems were found at once: each of them (this error then sums them up)."""

    @property
    def message(self) -> str:
        if self.problems:
            return f"{len(self.problems)} configuration problems:\n" + "\n".join(
                f"  - {p.message}" for p in self.problems)
        src = ""
        if self.source:
            src = f" in {self.source}" + (f" line {self.line}" if self.line is not None else "")
        return f"configuration key {self.key!r}{src}: {self.reason}"


@frozen(auto_exc=False)
class ReattachConflict(G5kError):
    """Jobs of a name are on some sites only (or twice on one, or a site could not be read): nothing was done."""

    name: str
    present: tuple[tuple[str, tuple[int, ...]], ...] = ()
    absent: tuple[str, ...] = field(converter=_tuple_of_str, default=())
    unreadable: tuple[tuple[str, G5kError], ...] = field(converter=_pairs, default=())

    @property
    def message(self) -> str:
        have = ", ".join(f"{s} (job {', '.join(map(str, ids))})" for s, ids in self.present) or "no site"
        parts = [f"jobs named {self.name!r} are on {have}"]
        if self.absent:
            parts.append(f"not on {', '.join(self.absent)}")
        twice = [s for s, ids in self.present if len(ids) > 1]
        if twice:
            parts.append(f"more than one on {', '.join(twice)}")
        if self.unreadable:
            parts.append("unreadable: " + "; ".join(f"{s}: {e.message}" for s, e in self.unreadable))
        return "; ".join(parts) + (
            "; nothing was submitted: delete the stray jobs (g5k del) or name only the sites that hold one"
        )


@frozen
class SiteAnswer:
    """What one site answered to one try of a synchronised reservation: the job it created, or its refusal."""

    site: str
    job_id: int | None = None
    error: G5kError | None = None

    @property
    def could_run_at(self) -> int | None:
        """OAR's suggested start when the site refused the date, else None."""
        return self.error.could_run_at if isinstance(self.error, Rejected) else None


@frozen
class ReservationTry:
    """One try of a synchronised reservation: the common date asked and each site's answer."""

    date: int
    answers: tuple[SiteAnswer, ...]


@frozen(auto_exc=False)
class NoCommonDate(G5kError):
    """No common start was reserved on every site: why, the bounds, what each site answered at each try and any
    job that could not be deleted afterwards."""

    why: str
    start: int
    not_after: int | None = None
    tries: tuple[ReservationTry, ...] = ()
    leaked: tuple[str, ...] = field(converter=_tuple_of_str, default=())

    @property
    def message(self) -> str:
        lines = [f"no common reservation date from unix time {self.start}: {self.why}"]
        for n, t in enumerate(self.tries, start=1):
            said = "; ".join(
                f"{a.site}: accepted as job {a.job_id}" if a.job_id is not None else f"{a.site}: {a.error}"
                for a in t.answers
            )
            lines.append(f"try {n} at {t.date}: {said}")
        if self.leaked:
            lines.append(f"NOT deleted, delete by hand: {', '.join(self.leaked)}")
        return "\n".join(lines)
