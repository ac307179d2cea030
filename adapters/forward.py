"""Reach a service of a Grid'5000 site (e.g. its OAR database) from anywhere: directly inside, tunnelled outside.

``open_forward(site, host, port, ...)`` returns an ``IOResult`` holding a ``Forward``: the (host, port) to
connect to, and ``close()``. Outside Grid'5000 it is a local port on 127.0.0.1 forwarded through an ssh
connection to the site's frontend (paramiko ``direct-tcpip`` channels over one fabric connection); the
tunnel is proven before it is returned (a channel to the target is opened and closed through the frontend).

The ssh connection is the one ``g5k.ssh`` opens (an explicit key is the only identity offered, to
the frontend and to its jump host alike; ``~/.ssh/config`` is honoured; host keys are checked; opening it is
bounded by the connect timeout; keepalives drop a link gone silent, which closes the tunnel's connections).

``G5kAutoPortForwarder(site, host, port)`` is the seed's context manager on top of it: it reads the
configuration (the site's frontend parameters and ``g5k.location``) unless told otherwise, yields the
(host, port) and closes the tunnel on exit, even when the block raises. Since a ``with`` statement cannot
return an error value, a failure to open the tunnel raises ``ForwardFailed`` carrying the ``G5kError``; use
``open_forward`` to get the error as a value.

The OS picks the local port (two forwarders never collide), and a target the frontend cannot reach is
reported before the caller uses the port.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from types import TracebackType

import paramiko
from g5k.config import Facts, gather_facts, load_config
from g5k.results import performed
from g5k.ssh import Link, open_link  # one way to open ssh: key, jump host, ~/.ssh/config, host keys, limits
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure

from g5kpure.config import Config, ConnectionParams, Place, frontend_params, locate, resolve_frontend
from g5kpure.errors import G5kError, InvalidInput, Unreachable

DEFAULT_FRONTEND_PARAMS = ConnectionParams(host_suffix=".grid5000.fr")
_BUFFER = 65536
_POLL_S = 0.2


class ForwardFailed(Exception):
    """Raised by ``G5kAutoPortForwarder.__enter__`` when the tunnel cannot be opened; ``error`` is the value."""

    def __init__(self, error: G5kError) -> None:
        super().__init__(error.message)
        self.error = error


def inside_grid5000(forced: str | None = None, facts: Facts | None = None) -> bool:
    """Whether this process runs inside Grid'5000 (frontend or node): ``forced`` (``g5k.location``) wins over
    the facts (host name, DNS domain, OAR job variables; no DNS query)."""
    seen = facts or gather_facts()
    located = locate(seen.hostname, seen.domain, dict(seen.env), forced=forced)
    return not isinstance(located, Failure) and located.unwrap().place is not Place.OUTSIDE


class Forward:
    """An open way to (host, port): ``target`` is what to connect to; ``close()`` releases the tunnel if any."""

    def __init__(self, target: tuple[str, int], tunnel: _Tunnel | None = None) -> None:
        self.target = target
        self._tunnel = tunnel

    @property
    def tunnelled(self) -> bool:
        """Whether connections go through an ssh tunnel."""
        return self._tunnel is not None

    def close(self) -> None:
        """Close the tunnel (listening socket, open channels, ssh connection); idempotent."""
        if self._tunnel is not None:
            self._tunnel.close()

    def __enter__(self) -> tuple[str, int]:
        return self.target

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Tunnel:
    """A local listening socket whose connections are relayed over ``direct-tcpip`` channels of one ssh link."""

    def __init__(self, link: Link, remote: tuple[str, int], channel_timeout: float) -> None:
        self._link = link
        self._conn = link.conn
        self._remote = remote
        self._channel_timeout = channel_timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, paramiko.Channel]] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(_POLL_S)
        self.local: tuple[str, int] = ("127.0.0.1", self._listener.getsockname()[1])
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"forward-{self.local[1]}", daemon=True)

    def start(self) -> None:
        self._acceptor.start()

    def _open_channel(self, origin: tuple[str, int]) -> paramiko.Channel:
        transport = self._conn.transport
        if transport is None or not transport.is_active():
            raise paramiko.SSHException("the ssh connection to the frontend is closed")
        channel: paramiko.Channel = transport.open_channel(
            "direct-tcpip", self._remote, origin, timeout=self._channel_timeout
        )
        return channel

    def probe(self) -> None:
        """Open and close one channel to the target: raises when the frontend cannot reach it."""
        self._open_channel(("127.0.0.1", 0)).close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, origin = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                channel = self._open_channel(origin)
            except (paramiko.SSHException, OSError, EOFError):
                client.close()
                continue
            pump = threading.Thread(target=self._pump, args=(client, channel), name=self._acceptor.name, daemon=True)
            with self._lock:
                self._pairs.append((client, channel))
                self._threads.append(pump)
            pump.start()

    def _pump(self, client: socket.socket, channel: paramiko.Channel) -> None:
        try:
            client_fd, channel_fd = client.fileno(), channel.fileno()
            while not self._stop.is_set():
                ready, _, _ = select.select([client_fd, channel_fd], [], [], _POLL_S)
                if client_fd in ready:
                    data = client.recv(_BUFFER)
                    if not data:
                        break
                    channel.sendall(data)
                if channel_fd in ready:
                    data = channel.recv(_BUFFER)
                    if not data:
                        break
                    client.sendall(data)
        except (OSError, EOFError, paramiko.SSHException):
            pass
        finally:
            channel.close()
            client.close()
            with self._lock:
                if (client, channel) in self._pairs:
                    self._pairs.remove((client, channel))
                current = threading.current_thread()
                if current in self._threads:
                    self._threads.remove(current)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        self._listener.close()
        if self._acceptor.is_alive():
            self._acceptor.join(timeout=2)  # no new connection after this
        with self._lock:
            pairs, threads = list(self._pairs), list(self._threads)
        for client, channel in pairs:
            channel.close()
            client.close()
        for thread in threads:
            thread.join(timeout=2)
        self._link.close()


def _check_target(host: str, port: int) -> G5kError | None:
    if not host or host.startswith("-") or any(c.isspace() for c in host):
        return InvalidInput("target host", host, "a host name or address")
    if not 0 < port < 65536:
        return InvalidInput("target port", str(port), "an integer between 1 and 65535")
    return None


def open_forward(
    site: str, host: str, port: int, params: ConnectionParams | None = None, *, inside: bool | None = None,
    location: str | None = None,
) -> IOResult[Forward, G5kError]:
    """A way to reach host:port of ``site``: direct inside Grid'5000, else a proven ssh tunnel over its frontend.

    ``inside=None`` probes where this process runs (``location``, the ``g5k.location`` setting such as
    ``outside`` or ``frontend:lyon``, wins over the probe); True / False force direct access / a tunnel.
    """
    bad = _check_target(host, port)
    if bad is not None:
        return IOFailure(bad)
    if inside is None:
        inside = inside_grid5000(forced=location)
    if inside:
        return IOSuccess(Forward((host, port)))
    resolved = resolve_frontend(site, params or DEFAULT_FRONTEND_PARAMS)
    if isinstance(resolved, Failure):
        return IOFailure(resolved.failure())
    endpoint = resolved.unwrap()
    began = time.monotonic()
    where = f"{site} ({endpoint.label}" + (f" via {endpoint.proxy_jump})" if endpoint.proxy_jump else ")")
    opened = open_link(endpoint, where, started=began)
    if isinstance(opened, IOFailure):
        return IOFailure(performed(opened).failure())
    link = performed(opened).unwrap()
    try:
        tunnel = _Tunnel(link, (host, port), endpoint.connect_timeout)
    except OSError as exc:
        link.close()
        return IOFailure(Unreachable("127.0.0.1", f"cannot listen on a local port: {exc}"))
    try:
        tunnel.probe()
    except (paramiko.SSHException, OSError, EOFError) as exc:
        tunnel.close()
        detail = f"the frontend {endpoint.label} cannot reach it: {type(exc).__name__}: {exc}"
        return IOFailure(Unreachable(f"{host}:{port}", detail, round(time.monotonic() - began, 3)))
    tunnel.start()
    return IOSuccess(Forward(tunnel.local, tunnel))


class G5kAutoPortForwarder:
    """Context manager yielding the (host, port) that reaches host:port of ``site``, tunnelled when outside.

    By default everything comes from the configuration (files and environment, read when the block is
    entered): the site's frontend parameters (``[frontend]`` with its ``[frontends.SITE]`` entry: user, key,
    port, jump host, host rewriting) and ``g5k.location``. Explicit arguments win: ``params`` replaces the
    frontend parameters, ``inside`` / ``location`` decide direct access or a tunnel, ``config`` replaces the
    files and environment. The tunnel is proven before the block runs and closed when it ends, even on error.
    A failure (configuration or tunnel) raises ``ForwardFailed`` (with ``.error``), since a ``with`` statement
    cannot return a value.
    """

    def __init__(
        self, site: str, host: str, port: int, params: ConnectionParams | None = None, *,
        inside: bool | None = None, location: str | None = None, config: Config | None = None,
    ) -> None:
        self.site, self.host, self.port, self.params = site, host, port, params
        self.inside, self.location, self.config = inside, location, config
        self._forward: Forward | None = None

    def _settings(self) -> tuple[ConnectionParams, str | None]:
        """The frontend parameters and location to use: explicit ones, else the configuration's."""
        needs_config = self.params is None or (self.inside is None and self.location is None)
        config = self.config
        if config is None and needs_config:
            loaded = load_config()
            if isinstance(loaded, IOFailure):
                raise ForwardFailed(performed(loaded).failure())
            config = performed(loaded).unwrap().config
        params = self.params
        if params is None:
            params = frontend_params(config, self.site) if config is not None else DEFAULT_FRONTEND_PARAMS
        location = self.location if self.location is not None else (config.location if config else None)
        return params, location

    def __enter__(self) -> tuple[str, int]:
        params, location = self._settings()
        opened = open_forward(self.site, self.host, self.port, params, inside=self.inside, location=location)
        if isinstance(opened, IOFailure):
            raise ForwardFailed(performed(opened).failure())
        forward = performed(opened).unwrap()
        self._forward = forward
        return forward.target

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._forward is not None:
            self._forward.close()
            self._forward = None
