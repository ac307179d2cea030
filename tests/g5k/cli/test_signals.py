"""Ctrl-C and SIGTERM end a `g5k` command with one line and the conventional exit code, never a traceback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest


@pytest.fixture
def silent_api() -> Iterator[socket.socket]:
    """A listening socket on loopback: an HTTP endpoint that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(60)
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                   (signal.SIGTERM, 143, "terminated")])
def test_a_signal_ends_the_command_cleanly(silent_api: socket.socket, sig: signal.Signals, code: int, word: str,
                                           tmp_path: object) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "g5k.cli.main", "ref", "sites", "--live", "--timeout", "60",
         "--api", f"http://127.0.0.1:{silent_api.getsockname()[1]}/stable/",
         "--cache-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "G5K_API_PASSWORD": ""},
    )
    connection, _ = silent_api.accept()  # the command is up and waiting for an answer that never comes
    time.sleep(0.2)
    assert proc.poll() is None
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    connection.close()
    assert out == ""
    assert proc.returncode == code, err
    assert f"g5k: {word}" in err and "Traceback" not in err
