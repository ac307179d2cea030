"""The embedded Reference API snapshot shipped inside the package, read once per process.

Building the whole snapshot (decompress, decode 4 MB of JSON, structure every node) costs a few hundred ms; a
command rarely needs every node. So the first load also writes the snapshot's compact form (its index and its
parts, :meth:`g5kpure.reference.snapshot.Snapshot.parts`) into the user cache, named after the SHA-256 of the
embedded data; later loads read that file, check it (format, data hash, CRC-32 of the parts) and structure each
site or cluster only when asked for. A missing, stale or damaged file is rebuilt; a cache that cannot be written
only costs the full build again.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import hashlib
import json
import os
import tempfile
import threading
import zlib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Generic, TypeVar

from g5k.results import performed
from returns.io import IOFailure, IOResult
from returns.result import Failure, Result, Success

from g5kpure import __version__
from g5kpure.errors import G5kError, ParseError
from g5kpure.reference import Snapshot, snapshot_from_bytes
from g5kpure.reference.snapshot import SnapshotParts, snapshot_from_parts

EMBEDDED_PACKAGE = "g5kpure.data"
EMBEDDED_FILE = "reference_compact.json.gz"
COMPACT_MAGIC = b"g5kpure-snapshot-parts 1\n"
"""First line of a compact file; the format number changes whenever the file's layout or the index's does."""

T = TypeVar("T")


def _embedded_gzip() -> bytes:
    return resources.files(EMBEDDED_PACKAGE).joinpath(EMBEDDED_FILE).read_bytes()


def _damaged(exc: BaseException) -> ParseError:
    return ParseError(what="embedded reference snapshot", where=f"{EMBEDDED_PACKAGE}/{EMBEDDED_FILE}",
                      hint=f"{exc}; reinstall the package")


def read_embedded_bytes() -> Result[bytes, G5kError]:
    """The decompressed JSON bytes of the embedded snapshot."""
    try:
        return Success(gzip.decompress(_embedded_gzip()))
    except (OSError, EOFError, zlib.error) as exc:
        return Failure(_damaged(exc))


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


def compact_cache_dir() -> Path:
    """Where the compact form of the embedded snapshot is kept: ``$G5K_CACHE_DIR``, else the user cache."""
    override = os.environ.get("G5K_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs  # only here: a run that finds its compact file never needs it

    return Path(platformdirs.user_cache_dir("g5kpure")) / "reference"


def compact_path(data_sha256: str, directory: Path | None = None) -> Path:
    """The compact file of the embedded data whose SHA-256 is ``data_sha256``."""
    return (directory or compact_cache_dir()) / f"embedded-{data_sha256[:16]}-{__version__}.parts"


def encode_parts(parts: SnapshotParts, data_sha256: str) -> bytes:
    """A compact file: the magic line, a JSON header line (data hash, index, part lengths, CRC-32 of the parts),
    then the parts one after the other."""
    keys = sorted(parts.parts)
    blob = b"".join(parts.parts[k] for k in keys)
    header = {"data_sha256": data_sha256, "index": parts.index, "parts": [[k, len(parts.parts[k])] for k in keys],
              "crc32": zlib.crc32(blob)}
    return COMPACT_MAGIC + json.dumps(header, separators=(",", ":")).encode() + b"\n" + blob


def decode_parts(content: bytes, data_sha256: str) -> SnapshotParts | None:
    """The parts of a compact file, or None when it is not one of the data ``data_sha256`` or is damaged."""
    if not content.startswith(COMPACT_MAGIC):
        return None
    end = content.find(b"\n", len(COMPACT_MAGIC))
    try:
        header = json.loads(content[len(COMPACT_MAGIC):end])
        blob = memoryview(content)[end + 1:]
        if header["data_sha256"] != data_sha256 or zlib.crc32(blob) != header["crc32"]:
            return None
        parts: dict[str, bytes] = {}
        offset = 0
        for key, length in header["parts"]:
            parts[str(key)] = bytes(blob[offset:offset + int(length)])
            offset += int(length)
        if offset != len(blob):
            return None
        return SnapshotParts(header["index"], parts)
    except (ValueError, KeyError, TypeError):
        return None


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file and a rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_snapshot(directory: Path | None = None) -> Result[Snapshot, G5kError]:
    """The embedded snapshot, from its compact file when one is current, else built in full (and its compact file
    written, best effort)."""
    try:
        compressed = _embedded_gzip()
    except OSError as exc:
        return Failure(_damaged(exc))
    digest = hashlib.sha256(compressed).hexdigest()
    path = compact_path(digest, directory)
    try:
        stored = decode_parts(path.read_bytes(), digest)
    except OSError:
        stored = None
    if stored is not None:
        lazy = snapshot_from_parts(stored)
        if isinstance(lazy, Success):
            return lazy
    try:
        payload = gzip.decompress(compressed)
    except (OSError, EOFError, zlib.error) as exc:
        return Failure(_damaged(exc))
    built = _build_without_gc(payload)
    if isinstance(built, Success):
        with contextlib.suppress(OSError):  # a read-only or full cache: the next run builds again
            write_atomically(path, encode_parts(built.unwrap().parts(), digest))
    return built


class _Once:
    """The embedded snapshot, loaded on first use, then shared by every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._result: Result[Snapshot, G5kError] | None = None

    def load(self) -> IOResult[Snapshot, G5kError]:
        with self._lock:
            if self._result is None:
                self._result = load_snapshot()
            result = self._result
        return IOResult.from_result(result)


_SNAPSHOT = _Once()


def load_embedded_snapshot() -> IOResult[Snapshot, G5kError]:
    """The embedded snapshot as a Snapshot, loaded on first use (each part structured when first asked for),
    then shared."""
    return _SNAPSHOT.load()


def embedded_snapshot() -> Snapshot:
    """The embedded snapshot; raises RuntimeError only if the installed package data is broken."""
    result = load_embedded_snapshot()
    if isinstance(result, IOFailure):
        raise RuntimeError(str(result.failure()))
    return performed(result).unwrap()
