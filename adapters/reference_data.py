"""The embedded Reference API snapshot shipped inside the package (read once, with importlib.resources)."""

from __future__ import annotations

import gc
import gzip
import threading
import zlib
from collections.abc import Callable
from importlib import resources
from typing import Generic, TypeVar

from g5k.results import performed
from returns.io import IOFailure, IOResult
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, ParseError
from g5kpure.reference import Snapshot, snapshot_from_bytes

EMBEDDED_PACKAGE = "g5kpure.data"
EMBEDDED_FILE = "reference_compact.json.gz"

T = TypeVar("T")


def read_embedded_bytes() -> Result[bytes, G5kError]:
    """The decompressed JSON bytes of the embedded snapshot."""
    try:
        compressed = resources.files(EMBEDDED_PACKAGE).joinpath(EMBEDDED_FILE).read_bytes()
        return Success(gzip.decompress(compressed))
    except (OSError, EOFError, zlib.error) as exc:
        return Failure(
            ParseError(what="embedded reference snapshot", where=f"{EMBEDDED_PACKAGE}/{EMBEDDED_FILE}",
                       hint=f"{exc}; reinstall the package")
        )


class EmbeddedOnce(Generic[T]):
    """A value decoded from the embedded snapshot's bytes on first use, then shared by every thread."""

    def __init__(self, decode: Callable[[bytes], Result[T, G5kError]]) -> None:
        self._decode = decode
        self._lock = threading.Lock()
        self._result: Result[T, G5kError] | None = None

    def load(self) -> IOResult[T, G5kError]:
        """The decoded value (or why it could not be read), computed once."""
        with self._lock:
            if self._result is None:
                self._result = read_embedded_bytes().bind(self._decode)
            result = self._result
        return IOResult.from_result(result)


def _build_without_gc(payload: bytes) -> Result[Snapshot, G5kError]:
    """``snapshot_from_bytes`` with the cyclic garbage collector paused: building creates some 100,000
    acyclic objects at once, and the collections they trigger cost about a fifth of a cold load."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return snapshot_from_bytes(payload)
    finally:
        if was_enabled:
            gc.enable()


_SNAPSHOT = EmbeddedOnce(_build_without_gc)


def load_embedded_snapshot() -> IOResult[Snapshot, G5kError]:
    """The embedded snapshot as a Snapshot, loaded and indexed on first use, then shared."""
    return _SNAPSHOT.load()


def embedded_snapshot() -> Snapshot:
    """The embedded snapshot; raises RuntimeError only if the installed package data is broken."""
    result = load_embedded_snapshot()
    if isinstance(result, IOFailure):
        raise RuntimeError(str(result.failure()))
    return performed(result).unwrap()
