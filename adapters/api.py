"""The Grid'5000 REST API over HTTP: one ``requests.Session``, typed errors, retries, credentials, on-disk cache.

- ``APIConnection.get`` / ``post`` return ``IOResult`` of the decoded JSON, or a typed error: ``HttpError``,
  ``AuthError`` (401/403), ``NotFound`` (404), ``Timeout``, ``Unreachable``, ``ParseError`` (a body that is not
  JSON: wrong content type, truncated). GET is retried with exponential back-off on connection errors, timeouts,
  5xx and 429 (``Retry-After`` honoured), bounded in attempts and in total time; POST is never retried; a name
  that does not resolve and a TLS failure are not retried.
- The timeout is a wall-clock budget for a whole call: connection, answer, body and retries. The body is read in
  chunks with the deadline checked between them, no retry sleeps past it, and a timer shuts the socket down when
  the deadline passes whatever the call is blocked on: a server that drips its answer byte by byte ends too.
  ``timeout=None``: no limit.
- TLS certificates are verified, anonymous calls included, unless ``verify=False`` is passed explicitly. A
  password never appears in a repr, a log line, an error or a plan, and is never sent over plain ``http://``
  to another machine unless allowed (``allow_http_password``, the ``g5k.api_allow_http_password`` key).
- The Reference API is cached on disk (``platformdirs`` user cache dir, overridable) with the API version it
  came from; it is refreshed when the live version differs, written atomically (temp file + rename) under a
  lock so that concurrent processes crawl once and always leave a whole file; a corrupt cache is reported
  and replaced. ``load_reference`` takes an explicit ``Source``: live, cache, embedded, or auto (live, then
  cache, then embedded, saying which one answered and why).
"""

from __future__ import annotations

import contextlib
import enum
import getpass
import gzip
import hashlib
import http.client
import ipaddress
import json
import logging
import os
import socket
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
import requests
import requests.adapters
import urllib3
from attrs import frozen
from g5k.reference_data import load_embedded_snapshot
from g5k.results import performed
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure import hosts as hostnames
from g5kpure.config import DEFAULT_API_URI, KEYRING_SERVICE, Config, Location, api_access
from g5kpure.errors import (
    AuthError,
    G5kError,
    HttpError,
    InvalidInput,
    NotFound,
    ParseError,
    Partial,
    Timeout,
    Unreachable,
)
from g5kpure.hosts import HasAddress, address_of, host_shortname
from g5kpure.reference import (
    MetricPoint,
    RetryPolicy,
    Snapshot,
    iso_utc,
    parse_kwollect,
    parse_retry_after,
    resample,
    retry_delay,
    snapshot_from_json,
)
from g5kpure.reference.metrics import check_resolution

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
CACHE_FORMAT = 1
OK_STATUSES = frozenset({200, 201, 202, 204, 304})


# --- secrets and plans -----------------------------------------------------------------------------------------


class Secret:
    """A password that never shows itself in ``repr``/``str``/formatting."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret text, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


class _BasicAuth(requests.auth.AuthBase):
    """HTTP basic auth whose repr does not show the password."""

    def __init__(self, username: str, password: Secret) -> None:
        self.username = username
        self._password = password

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        prepared: requests.PreparedRequest = requests.auth.HTTPBasicAuth(self.username, self._password.reveal())(
            request
        )
        return prepared

    def __repr__(self) -> str:
        return f"_BasicAuth(username={self.username!r}, password='***')"


@frozen
class HttpPlan:
    """One HTTP request as it will be sent (never carrying the password): what --dry-run prints."""

    method: str
    url: str
    params: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    username: str | None = None
    verify: bool | str = True
    timeout: float | None = DEFAULT_TIMEOUT
    auth_note: str = ""

    def describe(self) -> str:
        """One line: method, full URL with parameters, body, authentication, TLS, timeout."""
        query = "&".join(f"{k}={v}" for k, v in self.params)
        url = self.url + (("&" if "?" in self.url else "?") + query if query else "")
        auth = f"basic auth as {self.username}" if self.username else "anonymous"
        auth += f" ({self.auth_note})" if self.auth_note else ""
        tls = "TLS verified" if self.verify else "TLS NOT verified"
        body = f" body={self.body}" if self.body is not None else ""
        limit = "no timeout" if self.timeout is None else f"timeout {self.timeout:g}s"
        return f"{self.method} {url}{body} [{auth}, {tls}, {limit}]"


# --- credentials -----------------------------------------------------------------------------------------------


def password_from_keyring(username: str) -> Secret | None:
    """The API password of ``username`` stored in the keyring (service ``grid5000_api``), if any."""
    try:
        import keyring

        value = keyring.get_password(KEYRING_SERVICE, username)
    except Exception as exc:  # keyring backends raise anything; a missing keyring is not fatal
        log.debug("keyring lookup failed for user %s: %s", username, type(exc).__name__)
        return None
    return Secret(value) if value else None


def store_password_in_keyring(username: str, password: Secret) -> bool:
    """Store the API password of ``username`` in the keyring; False when no keyring is usable."""
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, username, password.reveal())
    except Exception as exc:  # keyring backends raise anything
        log.warning("could not store the API password in the keyring: %s", type(exc).__name__)
        return False
    return True


def ask_password(
    username: str,
    check: Callable[[Secret], bool],
    prompt: Callable[[str], str] = getpass.getpass,
    attempts: int = 3,
) -> Secret | None:
    """Ask the password interactively (at most ``attempts`` times, each checked), store it in the keyring."""
    for _ in range(attempts):
        try:
            candidate = Secret(prompt(f"Grid'5000 API password for {username}: "))
        except (EOFError, KeyboardInterrupt):
            return None
        if check(candidate):
            store_password_in_keyring(username, candidate)
            return candidate
        print("g5k: password refused by the API", file=sys.stderr)
    return None


# --- deadlines ---------------------------------------------------------------------------------------------------
# A timer shuts down the socket of the request in flight when its deadline passes: a per-read timeout alone never
# fires against a server that sends a byte now and then. The connections register their socket (per thread) when
# they start waiting for the answer.

_inflight: dict[int, tuple[object, socket.socket]] = {}
_inflight_lock = threading.Lock()


def _track(sock: socket.socket | None) -> None:
    token = getattr(_attempt_token, "value", None)
    if sock is not None and token is not None:
        with _inflight_lock:
            _inflight[threading.get_ident()] = (token, sock)


_attempt_token = threading.local()


class _TrackedHTTPConnection(urllib3.connection.HTTPConnection):
    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        _track(self.sock)
        return super().getresponse()


class _TrackedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        _track(self.sock)
        return super().getresponse()


class _TrackedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class _TrackingAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter whose connections register their socket for the deadline timer."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> urllib3.PoolManager:
        manager: urllib3.PoolManager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}
        return manager


class _Deadline:
    """One attempt's deadline: at ``at`` (a ``time.monotonic()`` value), the socket the attempt registered is
    shut down, which ends any read blocked on it. ``passed`` tells the attempt why its read failed."""

    def __init__(self, at: float | None) -> None:
        self.at = at
        self.passed = False
        self._token = object()
        self._owner = threading.get_ident()
        self._timer: threading.Timer | None = None

    def __enter__(self) -> _Deadline:
        _attempt_token.value = self._token
        if self.at is not None:
            self._timer = threading.Timer(max(0.0, self.at - time.monotonic()), self._fire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        _attempt_token.value = None
        with _inflight_lock:
            if _inflight.get(self._owner, (None,))[0] is self._token:
                del _inflight[self._owner]

    def remaining(self) -> float | None:
        """Seconds left (at least a millisecond: a zero timeout would mean "non-blocking"), None: no limit."""
        return None if self.at is None else max(0.001, self.at - time.monotonic())

    def over(self) -> bool:
        """True once the deadline has passed."""
        return self.passed or (self.at is not None and time.monotonic() >= self.at)

    def _fire(self) -> None:
        self.passed = True
        with _inflight_lock:
            token, sock = _inflight.get(self._owner, (None, None))
        if token is self._token and sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- the connection --------------------------------------------------------------------------------------------


class APIConnection:
    """A connection to the Grid'5000 API (execo's ``APIConnection``), on one ``requests.Session``."""

    def __init__(
        self,
        base_uri: str | None = None,
        username: str | None = None,
        password: str | Secret | None = None,
        headers: Mapping[str, str] | None = None,
        additional_args: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        *,
        verify: bool | str = True,
        allow_http_password: bool = False,
        retry: RetryPolicy | None = None,
        use_keyring: bool = True,
        interactive: bool = False,
        prompt: Callable[[str], str] = getpass.getpass,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_uri = (base_uri or DEFAULT_API_URI).rstrip("/")
        self.username = username or None
        self.headers: dict[str, str] = {"Accept": "application/json", **(dict(headers) if headers else {})}
        pairs = additional_args.items() if isinstance(additional_args, Mapping) else (additional_args or ())
        self.additional_args: tuple[tuple[str, str], ...] = tuple((str(k), str(v)) for k, v in pairs)
        self.timeout = None if timeout is None else float(timeout)
        self.verify = verify
        self.allow_http_password = allow_http_password
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._session = requests.Session()
        for scheme in ("http://", "https://"):
            self._session.mount(scheme, _TrackingAdapter())
        self._session.headers.update(self.headers)
        self._password: Secret | None = Secret(password) if isinstance(password, str) else password
        if self.username and self._password is None and use_keyring:
            self._password = password_from_keyring(self.username)
        # The password is asked (once, checked against the API) just before the first request, never here:
        # a connection built for --dry-run describes the very requests a real run sends, and asks nothing.
        self._ask_pending = bool(self.username and self._password is None and interactive and sys.stdin.isatty())
        self._ask_lock = threading.Lock()
        self._prompt = prompt

    @classmethod
    def from_config(cls, config: Config, location: Location, interactive: bool = False, *,
                    uri: str | None = None, username: str | None = None, timeout: float | None = None,
                    verify: bool | str | None = None, allow_http_password: bool | None = None,
                    **kwargs: Any) -> APIConnection:
        """A connection as the configuration says: URI, user (none inside Grid'5000 unless configured),
        additional arguments, timeout, TLS verification and whether a password may go over http://; explicit
        ``uri``/``username``/``timeout``/``verify``/``allow_http_password`` win over the configuration."""
        access = api_access(config, location)
        if access.problem and username is None:
            log.warning("%s", access.problem)
        return cls(uri or access.uri, username=username or access.username,
                   additional_args=config.api_additional_args,
                   timeout=config.api_timeout if timeout is None else timeout,
                   verify=config.api_verify_ssl_cert if verify is None else verify, interactive=interactive,
                   allow_http_password=(config.api_allow_http_password if allow_http_password is None
                                        else allow_http_password),
                   **kwargs)

    def __repr__(self) -> str:
        auth = f"user {self.username!r}" if self.username else "anonymous"
        limit = "None" if self.timeout is None else f"{self.timeout:g}"
        return f"APIConnection({self.base_uri!r}, {auth}, timeout={limit}, verify={self.verify!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def __enter__(self) -> APIConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def has_credentials(self) -> bool:
        """True when requests carry basic auth (a password asked on the first request counts once given)."""
        return bool(self.username and self._password is not None)

    def _auth_plan(self) -> tuple[str | None, str]:
        """The user requests will authenticate as, and how its password is had (never the password)."""
        if not self.username:
            return None, ""
        if self._password is not None:
            return self.username, ""
        if self._ask_pending:
            return self.username, "password asked and checked before the first request"
        return None, (f"no password for {self.username}: none in the keyring service {KEYRING_SERVICE} "
                      "and no terminal to ask")

    def _ensure_password(self) -> G5kError | None:
        """Ask the pending password (once, whatever the threads); an error when none was given."""
        with self._ask_lock:
            if not self._ask_pending:
                return None
            self._ask_pending = False
            assert self.username is not None
            self._password = ask_password(self.username, self._check_password, prompt=self._prompt)
            if self._password is None:
                return AuthError(where=self.base_uri, detail=f"no valid password given for {self.username}; "
                                 f"store it with `keyring set {KEYRING_SERVICE} {self.username}`")
            return None

    def _auth(self, password: Secret | None = None) -> _BasicAuth | None:
        secret = password or self._password
        if self.username and secret is not None:
            return _BasicAuth(self.username, secret)
        return None

    def _check_password(self, candidate: Secret) -> bool:
        plan = HttpPlan("GET", self.url(""), verify=self.verify, timeout=self.timeout)
        if self._clear_text_refused(plan, sending=True) is not None:
            return False
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        outcome, _ = self._attempt(plan, deadline, self._auth(candidate))
        return isinstance(outcome, Success)

    def _clear_text_refused(self, plan: HttpPlan, sending: bool) -> G5kError | None:
        """The refusal to send the password (``sending``: there is one, or one will be asked) in clear text over
        http:// to another machine, unless allowed."""
        if not sending or not self.username or self.allow_http_password or urlsplit(plan.url).scheme != "http":
            return None
        if _is_loopback(plan.url):
            return None  # a password sent to this very machine crosses no network
        return InvalidInput(
            name="API URI", value=plan.url,
            expected=f"an https:// URI: the password of {self.username} would go over the network in clear text "
                     "(to send it anyway on a trusted network, set api_allow_http_password = true under [g5k], "
                     "G5K_API_ALLOW_HTTP_PASSWORD=true, or pass --allow-http-password)")

    def url(self, relative_uri: str) -> str:
        """The absolute URL of ``relative_uri`` (execo's ``_build_uri``)."""
        return self.base_uri + "/" + relative_uri.lstrip("/")

    def plan(self, method: str, relative_uri: str, params: Mapping[str, str] | None = None,
             body: Any = None) -> HttpPlan:
        """The request ``get``/``post`` would send, without sending it."""
        merged = (*self.additional_args, *((str(k), str(v)) for k, v in (params or {}).items()))
        user, note = self._auth_plan()
        return HttpPlan(
            method=method,
            url=self.url(relative_uri),
            params=merged,
            body=json.dumps(body, sort_keys=True) if body is not None else None,
            username=user,
            verify=self.verify,
            timeout=self.timeout,
            auth_note=note,
        )

    def get(self, relative_uri: str, params: Mapping[str, str] | None = None) -> IOResult[Any, G5kError]:
        """GET ``relative_uri`` and decode its JSON (retried on transient failures)."""
        return self.perform(self.plan("GET", relative_uri, params))

    def post(self, relative_uri: str, body: Any, params: Mapping[str, str] | None = None) -> IOResult[Any, G5kError]:
        """POST ``body`` as JSON to ``relative_uri`` and decode the JSON answer (never retried)."""
        return self.perform(self.plan("POST", relative_uri, params, body))

    def perform(self, plan: HttpPlan) -> IOResult[Any, G5kError]:
        """Send a planned request, with retries for GET, and return the decoded JSON or a typed error."""
        refused = self._clear_text_refused(plan, sending=self._password is not None or self._ask_pending)
        if refused is not None:
            return IOFailure(refused)
        asked = self._ensure_password()
        if asked is not None:
            return IOFailure(asked)
        retryable = plan.method == "GET"
        start = self._clock()
        deadline = None if plan.timeout is None else time.monotonic() + plan.timeout
        attempt = 0
        while True:
            attempt += 1
            outcome, retry_after = self._attempt(plan, deadline, self._auth())
            if isinstance(outcome, Success) or not retryable or not _transient(outcome.failure()):
                break
            delay = retry_delay(self.retry, attempt, self._clock() - start, retry_after)
            if delay is None:
                break
            if deadline is not None and time.monotonic() + delay >= deadline:
                break  # the retry could not even start before the deadline: the last error stands
            log.info("%s %s failed (%s); retry %d in %.1fs", plan.method, plan.url, outcome.failure().kind,
                     attempt, delay)
            self._sleep(delay)
        if isinstance(outcome, Success):
            return IOSuccess(outcome.unwrap())
        return IOFailure(outcome.failure())

    def _attempt(self, plan: HttpPlan, deadline: float | None,
                 auth: _BasicAuth | None) -> tuple[Result[Any, G5kError], float | None]:
        log.debug("%s %s", plan.method, plan.url)
        what, host = f"{plan.method} {plan.url}", _host(plan.url)
        began = time.monotonic()
        with _Deadline(deadline) as limit:
            try:
                response = self._session.request(
                    plan.method,
                    plan.url,
                    params=list(plan.params),
                    data=plan.body.encode() if plan.body is not None else None,
                    headers={"Content-Type": "application/json"} if plan.body is not None else None,
                    auth=auth,
                    verify=plan.verify,
                    timeout=limit.remaining(),
                    stream=True,
                )
            except requests.exceptions.SSLError as exc:
                return Failure(Unreachable(host=host, detail=f"{_TLS_PREFIX}: {_short(exc)}", fix=_HTTP_FIX,
                                                   lasting=True)), None
            except requests.exceptions.ConnectTimeout:
                return Failure(Timeout(what=what, after_s=plan.timeout, during="connecting")), None
            except requests.exceptions.Timeout:
                return Failure(Timeout(what=what, after_s=plan.timeout, during="waiting for the answer")), None
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                    requests.exceptions.InvalidSchema) as exc:
                wanted = f"an http(s) URL ({_short(exc)})"
                return Failure(InvalidInput(name="API URL", value=plan.url, expected=wanted)), None
            except requests.RequestException as exc:
                if limit.over():
                    return Failure(Timeout(what=what, after_s=plan.timeout, during="waiting for the answer")), None
                return Failure(_connection_error(exc, host, round(time.monotonic() - began, 3))), None
            try:
                body = _read_body(response, limit, what, plan.timeout, host, began)
            finally:
                response.close()
        if isinstance(body, Failure):
            return body, None
        return _decode(plan, response, body.unwrap()), parse_retry_after(response.headers.get("Retry-After"),
                                                                         time.time())


_CHUNK = 65536
_HTTP_FIX = "check the URL (g5k.api_uri, --api), the network and any HTTP proxy ($HTTPS_PROXY, $HTTP_PROXY)"
_NO_SUCH_NAME = "name not resolved (no network?)"


def _read_body(response: requests.Response, limit: _Deadline, what: str, budget: float | None, host: str,
               began: float) -> Result[bytes, G5kError]:
    """The whole body, read chunk by chunk with the deadline checked between chunks."""
    chunks: list[bytes] = []
    received = 0
    while True:
        if limit.over():
            return Failure(Timeout(what=what, after_s=budget, during=f"reading the answer ({received} bytes received)"))
        try:
            chunk = response.raw.read1(_CHUNK)
        except (urllib3.exceptions.HTTPError, OSError, requests.RequestException) as exc:
            if limit.over():
                return Failure(Timeout(what=what, after_s=budget,
                                       during=f"reading the answer ({received} bytes received)"))
            return Failure(Unreachable(host=host, detail=_reason(exc), after_s=round(time.monotonic() - began, 3),
                                       during=f"reading the answer of {what} ({received} bytes received)"))
        if not chunk:
            return Success(b"".join(chunks))
        chunks.append(chunk)
        received += len(chunk)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: requests wraps urllib3's errors (``args[0]``), which wrap others (``reason``)."""
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        yield seen
        inner = getattr(seen, "reason", None)
        if not isinstance(inner, BaseException) and seen.args and isinstance(seen.args[0], BaseException):
            inner = seen.args[0]
        seen = inner if isinstance(inner, BaseException) else (seen.__cause__ or seen.__context__)


def _reason(exc: BaseException) -> str:
    """The underlying cause of a requests/urllib3 failure in a few words."""
    for cause in _causes(exc):
        if isinstance(cause, urllib3.exceptions.NameResolutionError):
            return _NO_SUCH_NAME
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by peer"
        if isinstance(cause, urllib3.exceptions.IncompleteRead | http.client.IncompleteRead):
            return "the server closed the connection before the end of the answer"
        if isinstance(cause, http.client.RemoteDisconnected):
            return "the server closed the connection without answering"
    return _short(exc)


def _connection_error(exc: requests.RequestException, host: str, after: float) -> Unreachable:
    """A failure before the answer: never connected (refused, unknown name, no route), or cut while waiting."""
    if any(isinstance(c, urllib3.exceptions.NameResolutionError) for c in _causes(exc)):
        return Unreachable(host=host, detail=_NO_SUCH_NAME, fix=_HTTP_FIX, lasting=True)
    if any(isinstance(c, urllib3.exceptions.NewConnectionError) for c in _causes(exc)):
        return Unreachable(host=host, detail=_reason(exc), after_s=after, fix=_HTTP_FIX)
    return Unreachable(host=host, detail=_reason(exc), after_s=after, during="waiting for the answer")


_TLS_PREFIX = "TLS verification failed"


def _transient(error: G5kError) -> bool:
    if isinstance(error, Unreachable) and error.lasting:
        return False
    if isinstance(error, Unreachable | Timeout):
        return True
    return isinstance(error, HttpError) and (error.status >= 500 or error.status == 429)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "…"


def _decode(plan: HttpPlan, response: requests.Response, body: bytes) -> Result[Any, G5kError]:
    status = response.status_code
    url = response.url or plan.url
    try:
        text = body.decode(response.encoding or "utf-8")
    except (LookupError, UnicodeDecodeError) as exc:
        return Failure(ParseError(what="API answer", where=url, hint=f"body unreadable: {_short(exc)}"))
    if status in (401, 403):
        return Failure(AuthError(where=url, detail=f"HTTP {status}: {text.strip()[:200]}"))
    if status == 404:
        return Failure(NotFound(what="API resource", key=url, hint=text.strip()[:200]))
    if status not in OK_STATUSES:
        return Failure(HttpError(status=status, url=url, body=text[:500], method=plan.method))
    if status in (204, 304) or not text.strip():
        return Success(None)
    content_type = response.headers.get("Content-Type", "")
    if "json" not in content_type.lower():
        return Failure(ParseError(what="JSON answer", where=url, line=text[:200],
                                  hint=f"the server sent {content_type or 'no content type'}"))
    try:
        return Success(json.loads(text))
    except ValueError as exc:
        return Failure(ParseError(what="JSON answer", where=url, line=text[-200:],
                                  hint=f"truncated or invalid JSON: {exc}"))


# --- where the reference data comes from -----------------------------------------------------------------------


class Source(enum.Enum):
    """Where reference data is read from: an explicit choice."""

    LIVE = "live"
    CACHE = "cache"
    EMBEDDED = "embedded"
    AUTO = "auto"


@frozen
class Loaded:
    """A snapshot and where it came from, with notes saying why (fallbacks, refreshes, cache repairs)."""

    snapshot: Snapshot
    source: Source
    notes: tuple[str, ...] = ()


def default_cache_dir() -> Path:
    """The user cache directory of g5kpure's reference data (``$G5K_CACHE_DIR`` overrides it)."""
    override = os.environ.get("G5K_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("g5kpure")) / "reference"


@frozen
class ReferenceCache:
    """The on-disk cache of one API endpoint's reference data (one file, with the version it came from)."""

    directory: Path
    api_uri: str = DEFAULT_API_URI

    @property
    def path(self) -> Path:
        """The cache file of this endpoint."""
        digest = hashlib.sha256(self.api_uri.rstrip("/").encode()).hexdigest()[:12]
        return self.directory / f"reference-{digest}.json.gz"

    @property
    def lock_path(self) -> Path:
        """The lock file serialising refreshes."""
        return self.path.with_suffix(".lock")

    def read(self) -> IOResult[tuple[str, Any], G5kError]:
        """The cached (version, deep JSON); NotFound when absent, ParseError when corrupt or partial."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return IOFailure(NotFound(what="reference cache", key=str(self.path), hint="run `g5k ref refresh`"))
        except OSError as exc:
            return IOFailure(ParseError(what="reference cache", where=str(self.path), hint=_short(exc)))
        try:
            document = json.loads(gzip.decompress(raw))
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            return IOFailure(ParseError(what="reference cache", where=str(self.path),
                                        hint=f"corrupt or partial file ({_short(exc)}); it will be replaced"))
        if (
            not isinstance(document, dict)
            or document.get("format") != CACHE_FORMAT
            or not isinstance(document.get("version"), str)
            or not isinstance(document.get("data"), dict)
        ):
            return IOFailure(ParseError(what="reference cache", where=str(self.path),
                                        hint="unexpected layout; it will be replaced"))
        return IOSuccess((document["version"], document["data"]))

    def write(self, version: str, data: Any) -> IOResult[Path, G5kError]:
        """Write the cache atomically: a temporary file in the same directory, fsynced, then renamed."""
        document = {"format": CACHE_FORMAT, "api_uri": self.api_uri, "version": version, "data": data}
        payload = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), compresslevel=6)
        tmp_name = ""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, prefix=".tmp-", delete=False) as tmp:
                tmp_name = tmp.name
                tmp.write(payload)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, self.path)
        except OSError as exc:
            if tmp_name:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)
            return IOFailure(ParseError(what="reference cache write", where=str(self.path), hint=_short(exc)))
        return IOSuccess(self.path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[bool]:
        """Hold the cache's exclusive lock (other processes refreshing wait); yields False if it cannot be had."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = open(self.lock_path, "a+b")  # noqa: SIM115 - closed below, after the caller's block
        except OSError as exc:
            log.warning("cannot lock the reference cache (%s); refreshing without the lock", _short(exc))
            yield False
            return
        with handle:
            try:
                import fcntl
            except ImportError:  # not POSIX: atomic renames still keep the file whole
                yield False
                return
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def live_version(conn: APIConnection) -> IOResult[str, G5kError]:
    """The version (commit) of the live reference data: ``GET /`` ``version``."""

    def pick(root: Any) -> IOResult[str, G5kError]:
        if isinstance(root, dict) and isinstance(root.get("version"), str):
            return IOSuccess(root["version"])
        return IOFailure(ParseError(what="API root", where=conn.url(""), hint="no 'version' key"))

    return conn.get("").bind(pick)


def crawl_plan(conn: APIConnection, sites: Sequence[str]) -> tuple[HttpPlan, ...]:
    """The requests a crawl sends once the site list is known (for --dry-run)."""
    return (
        conn.plan("GET", ""),
        conn.plan("GET", "sites"),
        *(conn.plan("GET", f"sites/{s}", {"deep": "true"}) for s in sites),
        conn.plan("GET", "network_equipments"),
    )


def site_uids(items: Sequence[Any], where: str) -> Result[tuple[str, ...], ParseError]:
    """The sorted uids of a site collection's items; an item that is no object or has no string uid is a
    ParseError naming its path (``sites.items[3].uid``), never a site called ``None``."""
    uids: list[str] = []
    for i, item in enumerate(items):
        uid = item.get("uid") if isinstance(item, dict) else None
        if not isinstance(uid, str) or not uid:
            return Failure(ParseError(what="site collection", where=f"{where}: sites.items[{i}].uid",
                                      line=repr(item)[:100], hint="every site needs a non-empty string 'uid'"))
        uids.append(uid)
    return Success(tuple(sorted(uids)))


def crawl(conn: APIConnection, max_parallel: int = 4) -> IOResult[tuple[str, dict[str, Any]], G5kError]:
    """Fetch the whole reference data in the deep nesting: root version, each site deep (``max_parallel`` at
    a time, first failure reported), the backbone."""
    version = live_version(conn)
    if isinstance(version, IOFailure):
        return IOFailure(_failure(version))
    sites = conn.get("sites")
    if isinstance(sites, IOFailure):
        return IOFailure(_failure(sites))
    items = performed(sites).unwrap()
    if not isinstance(items, dict) or not isinstance(items.get("items"), list):
        return IOFailure(ParseError(what="site collection", where=conn.url("sites"), hint="no 'items' list"))
    uids_found = site_uids(items["items"], conn.url("sites"))
    if isinstance(uids_found, Failure):
        return IOFailure(uids_found.failure())
    uids = uids_found.unwrap()
    with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(uids))), thread_name_prefix="g5k-api") as pool:
        answers = list(pool.map(lambda uid: conn.get(f"sites/{uid}", {"deep": "true"}), uids))
    deep: dict[str, Any] = {}
    for uid, site in zip(uids, answers, strict=True):
        if isinstance(site, IOFailure):
            return IOFailure(_failure(site))
        deep[uid] = performed(site).unwrap()
    backbone = conn.get("network_equipments")
    if isinstance(backbone, IOFailure):
        return IOFailure(_failure(backbone))
    equipments = performed(backbone).unwrap()
    items_list = equipments.get("items") if isinstance(equipments, dict) else None
    if not isinstance(items_list, list):
        return IOFailure(ParseError(what="network equipment collection", where=conn.url("network_equipments"),
                                    hint="no 'items' list"))
    ver = performed(version).unwrap()
    return IOSuccess((ver, {"version": ver, "sites": deep, "network_equipments": items_list}))


def _failure(result: IOResult[Any, G5kError]) -> G5kError:
    error: G5kError = performed(result).failure()
    return error


def _from_cache(cache: ReferenceCache) -> IOResult[tuple[str, Snapshot], G5kError]:
    read = cache.read()
    if isinstance(read, IOFailure):
        return IOFailure(_failure(read))
    version, data = performed(read).unwrap()
    built = snapshot_from_json(data)
    if isinstance(built, Failure):
        error = built.failure()
        hint = getattr(error, "message", str(error))
        return IOFailure(ParseError(what="reference cache", where=str(cache.path), hint=f"{hint}; it will be replaced"))
    return IOSuccess((version, built.unwrap()))


_lock = threading.Lock()


def refresh(conn: APIConnection, cache: ReferenceCache, force: bool = False) -> IOResult[Loaded, G5kError]:
    """Bring the cache to the live version (crawl only if it differs, or ``force``) and return the live data."""
    notes: list[str] = []
    version = live_version(conn)
    if isinstance(version, IOFailure):
        return IOFailure(_failure(version))
    live = performed(version).unwrap()
    with _lock, cache.locked():
        cached = _from_cache(cache)  # re-read under the lock: another process may just have refreshed it
        if isinstance(cached, IOSuccess):
            cached_version, snapshot = performed(cached).unwrap()
            if cached_version == live and not force:
                return IOSuccess(Loaded(snapshot, Source.LIVE, (f"cache is current (version {live[:12]})",)))
            notes.append(f"cache version {cached_version[:12]} differs from live {live[:12]}: refreshed")
        else:
            error = _failure(cached)
            if isinstance(error, NotFound):
                notes.append("no cache yet: fetched")
            else:
                log.warning("%s", error.message)
                notes.append(f"{error.message}: replaced")
        fetched = crawl(conn)
        if isinstance(fetched, IOFailure):
            return IOFailure(_failure(fetched))
        ver, data = performed(fetched).unwrap()
        built = snapshot_from_json(data)
        if isinstance(built, Failure):
            return IOFailure(built.failure())
        written = cache.write(ver, data)
        if isinstance(written, IOFailure):
            notes.append(f"cache not written: {_failure(written).message}")
    return IOSuccess(Loaded(built.unwrap(), Source.LIVE, tuple(notes)))


def load_reference(
    source: Source,
    conn: APIConnection | None = None,
    cache: ReferenceCache | None = None,
) -> IOResult[Loaded, G5kError]:
    """Reference data from the chosen source; AUTO tries live, then the cache, then the embedded snapshot."""
    if source is Source.EMBEDDED:
        return load_embedded_snapshot().map(lambda s: Loaded(s, Source.EMBEDDED, ("embedded snapshot",)))
    the_cache = cache or ReferenceCache(default_cache_dir(), conn.base_uri if conn else DEFAULT_API_URI)
    if source is Source.CACHE:
        return _from_cache(the_cache).map(
            lambda vs: Loaded(vs[1], Source.CACHE, (f"cache {the_cache.path} (version {vs[0][:12]})",))
        )
    the_conn = conn or APIConnection()
    if source is Source.LIVE:
        return refresh(the_conn, the_cache)
    live = refresh(the_conn, the_cache)
    if isinstance(live, IOSuccess):
        return live
    why = _failure(live).message
    cached = _from_cache(the_cache)
    if isinstance(cached, IOSuccess):
        version, snapshot = performed(cached).unwrap()
        log.warning("API unavailable (%s); using the cache", why)
        return IOSuccess(Loaded(snapshot, Source.CACHE,
                                (f"API unavailable ({why}); using the cache (version {version[:12]})",)))
    cache_why = _failure(cached).message
    log.warning("API unavailable (%s) and no usable cache (%s); using the embedded snapshot", why, cache_why)
    return load_embedded_snapshot().map(
        lambda s: Loaded(s, Source.EMBEDDED, (f"API unavailable ({why}); cache unusable ({cache_why}); "
                                              f"using the embedded snapshot (version {s.version[:12]})",))
    )


# --- the seed's functions, over an explicit source -------------------------------------------------------------


def _snapshot(source: Source, conn: APIConnection | None, cache: ReferenceCache | None) -> IOResult[Snapshot,
                                                                                                     G5kError]:
    return load_reference(source, conn, cache).map(lambda loaded: loaded.snapshot)


def _query(source: Source, conn: APIConnection | None, cache: ReferenceCache | None,
           fn: Callable[[Snapshot], Result[Any, Any]]) -> IOResult[Any, G5kError]:
    return _snapshot(source, conn, cache).bind(lambda snap: IOResult.from_result(fn(snap)))


def get_g5k_sites(source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                  cache: ReferenceCache | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """Uids of all sites."""
    return _query(source, conn, cache, lambda s: Success(s.sites()))


def get_site_attributes(site: str, source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                        cache: ReferenceCache | None = None) -> IOResult[dict[str, Any], G5kError]:
    """The API JSON of a site."""
    return _query(source, conn, cache, lambda s: s.site_attributes(site))


def get_site_clusters(site: str, queues: str | Iterable[str] | None = None, source: Source = Source.EMBEDDED,
                      conn: APIConnection | None = None,
                      cache: ReferenceCache | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """Clusters of a site, filtered on ``queues`` (None: all; execo's default was ``"default"``)."""
    return _query(source, conn, cache, lambda s: s.clusters(site, queues))


def get_g5k_clusters(queues: str | Iterable[str] | None = None, source: Source = Source.EMBEDDED,
                     conn: APIConnection | None = None,
                     cache: ReferenceCache | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """Clusters of the grid, filtered on ``queues``."""
    return _query(source, conn, cache, lambda s: s.clusters(None, queues))


def get_site_hosts(site: str, queues: str | Iterable[str] | None = None, source: Source = Source.EMBEDDED,
                   conn: APIConnection | None = None,
                   cache: ReferenceCache | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """Host FQDNs of a site, clusters filtered on ``queues``."""
    return _query(source, conn, cache, lambda s: s.hosts(site=site, queues=queues))


def get_g5k_hosts(queues: str | Iterable[str] | None = None, source: Source = Source.EMBEDDED,
                  conn: APIConnection | None = None,
                  cache: ReferenceCache | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """Host FQDNs of the grid, clusters filtered on ``queues``."""
    return _query(source, conn, cache, lambda s: s.hosts(queues=queues))


def get_cluster_hosts(cluster: str, source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                      cache: ReferenceCache | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """Host FQDNs of a cluster."""
    return _query(source, conn, cache, lambda s: s.hosts(cluster=cluster))


def get_cluster_site(cluster: str, source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                     cache: ReferenceCache | None = None) -> IOResult[str, G5kError]:
    """The site of a cluster."""
    return _query(source, conn, cache, lambda s: s.cluster(cluster).map(lambda c: c.site))


def get_cluster_attributes(cluster: str, source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                           cache: ReferenceCache | None = None) -> IOResult[dict[str, Any], G5kError]:
    """The API JSON of a cluster."""
    return _query(source, conn, cache, lambda s: s.cluster_attributes(cluster))


def get_cluster_queues(cluster: str, source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                       cache: ReferenceCache | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """The queues of a cluster (any cluster, unlike execo which answered None outside ``default``)."""
    return _query(source, conn, cache, lambda s: s.cluster_queues(cluster))


def get_cluster_network_equipments(cluster: str, source: Source = Source.EMBEDDED,
                                   conn: APIConnection | None = None,
                                   cache: ReferenceCache | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """Switches the hosts of a cluster are wired to."""
    return _query(source, conn, cache, lambda s: s.equipments(cluster=cluster))


def get_site_network_equipments(site: str, source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                                cache: ReferenceCache | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """Network equipments of a site."""
    return _query(source, conn, cache, lambda s: s.equipments(site=site))


def get_host_attributes(host: str | HasAddress, source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                        cache: ReferenceCache | None = None) -> IOResult[dict[str, Any], G5kError]:
    """The API JSON of a host (any name variant)."""
    return _query(source, conn, cache, lambda s: s.host_attributes(host))


def get_host_site(host: str | HasAddress, source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                  cache: ReferenceCache | None = None) -> IOResult[str, G5kError]:
    """The site of a host."""
    return _query(source, conn, cache, lambda s: s.site_of(host))


def get_host_cluster(host: str | HasAddress, source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                     cache: ReferenceCache | None = None) -> IOResult[str, G5kError]:
    """The cluster of a host."""
    return _query(source, conn, cache, lambda s: s.cluster_of(host))


def get_host_network_equipments(host: str | HasAddress, source: Source = Source.EMBEDDED,
                                conn: APIConnection | None = None,
                                cache: ReferenceCache | None = None) -> IOResult[tuple[str, ...], G5kError]:
    """Switches a host's mountable Ethernet adapters are wired to."""
    return _query(source, conn, cache, lambda s: s.equipments(host=host))


def get_network_equipment_attributes(equip: str, site: str | None = None, source: Source = Source.EMBEDDED,
                                     conn: APIConnection | None = None,
                                     cache: ReferenceCache | None = None) -> IOResult[dict[str, Any], G5kError]:
    """The API JSON of a network equipment (``site`` for names several sites use, like ``gw``)."""
    return _query(source, conn, cache, lambda s: s.equipment_attributes(equip, site))


def get_network_equipment_site(equip: str, source: Source = Source.EMBEDDED, conn: APIConnection | None = None,
                               cache: ReferenceCache | None = None) -> IOResult[str, G5kError]:
    """The site of a network equipment whose uid is unique in the grid."""
    return _query(source, conn, cache, lambda s: s.equipment(equip).map(lambda e: e.site or "backbone"))


def group_hosts(hosts: Iterable[str | HasAddress], source: Source = Source.EMBEDDED,
                conn: APIConnection | None = None,
                cache: ReferenceCache | None = None) -> IOResult[dict[str, dict[str, tuple[Any, ...]]], G5kError]:
    """Hosts grouped by site then cluster."""
    items = tuple(hosts)
    return _query(source, conn, cache, lambda s: s.group_hosts(items))


def get_resource_attributes(path: str, conn: APIConnection | None = None) -> IOResult[Any, G5kError]:
    """The live JSON of any API path (never cached)."""
    return (conn or APIConnection()).get(path)


# --- metrics (Kwollect) ----------------------------------------------------------------------------------------


def _site_metrics(conn: APIConnection, site: str, shortnames: Sequence[str], metric: str, from_ts: float,
                  to_ts: float) -> IOResult[dict[str, tuple[MetricPoint, ...]], G5kError]:
    params = {"nodes": ",".join(shortnames), "metrics": metric, "start_time": iso_utc(from_ts),
              "end_time": iso_utc(to_ts)}
    return conn.get(f"sites/{site}/metrics", params).bind(
        lambda payload: IOResult.from_result(parse_kwollect(payload, metric)))


def get_hosts_metric(
    hosts: Iterable[str | HasAddress],
    metric: str,
    from_ts: float,
    to_ts: float,
    resolution: float | None = None,
    conn: APIConnection | None = None,
    snapshot: Snapshot | None = None,
    max_parallel: int = 4,
) -> IOResult[dict[Any, tuple[MetricPoint, ...]], G5kError]:
    """Kwollect measures of ``metric`` for hosts between two unix times, keyed by the hosts as given (in their
    order).

    One request per site (``GET sites/<site>/metrics?nodes=..&metrics=..&start_time=..&end_time=..``), at most
    ``max_parallel`` sites at a time; a failing site is reported by name (``Partial`` when several sites were
    asked). With a ``resolution`` (positive seconds) the points are averaged per bucket (Kwollect itself has no
    resolution parameter)."""
    if resolution is not None:
        checked = check_resolution(resolution)
        if isinstance(checked, Failure):
            return IOFailure(checked.failure())
    items = tuple(hosts)
    site_of: dict[int, str] = {}
    by_site: dict[str, set[str]] = {}
    for i, host in enumerate(items):
        site = hostnames.get_host_site(host)
        if site is None and snapshot is not None:
            found = snapshot.site_of(host)
            site = found.unwrap() if isinstance(found, Success) else None
        if site is None:
            return IOFailure(InvalidInput(name="host", value=address_of(host),
                                          expected="a name with its site (nova-1.lyon) or a snapshot to find it"))
        site_of[i] = site
        by_site.setdefault(site, set()).add(host_shortname(host))
    sites = sorted(by_site)
    the_conn = conn or APIConnection()
    if not sites:
        return IOSuccess({})
    with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(sites))), thread_name_prefix="g5k-kwollect") \
            as pool:
        answers = list(pool.map(lambda s: _site_metrics(the_conn, s, sorted(by_site[s]), metric, from_ts, to_ts),
                                sites))
    per_site: dict[str, dict[str, tuple[MetricPoint, ...]]] = {}
    failed: list[tuple[str, G5kError]] = []
    for site, answer in zip(sites, answers, strict=True):
        if isinstance(answer, IOFailure):
            failed.append((site, _failure(answer)))
        else:
            per_site[site] = performed(answer).unwrap()
    if failed:
        if len(sites) == 1:
            return IOFailure(failed[0][1])
        return IOFailure(Partial(what=f"Kwollect {metric} of {len(sites)} sites", succeeded=tuple(per_site),
                                 failed=tuple(failed)))
    result: dict[Any, tuple[MetricPoint, ...]] = {}
    for i, host in enumerate(items):
        points = per_site[site_of[i]].get(host_shortname(host), ())
        result[host] = resample(points, from_ts, resolution).unwrap() if resolution is not None else points
    return IOSuccess(result)
