"""The embedded snapshot's compact form in the user cache: written at first load, read back lazily afterwards,
rebuilt when missing, stale or damaged."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from g5k.reference_data import compact_path, decode_parts, encode_parts, load_snapshot, read_embedded_bytes

from g5kpure.reference import snapshot_from_bytes
from g5kpure.reference.snapshot import snapshot_from_parts


def _digest() -> str:
    data = resources.files("g5kpure.data").joinpath("reference_compact.json.gz").read_bytes()
    return hashlib.sha256(data).hexdigest()


def test_first_load_writes_the_compact_form_and_later_loads_read_it(tmp_path: Path) -> None:
    built = load_snapshot(tmp_path).unwrap()
    path = compact_path(_digest(), tmp_path)
    assert path.exists() and [p.name for p in tmp_path.iterdir()] == [path.name]
    lazy = load_snapshot(tmp_path).unwrap()
    assert lazy.sites() == built.sites() and lazy.clusters(queues="default") == built.clusters(queues="default")
    assert lazy.node("nova-1").unwrap() == built.node("nova-1").unwrap()
    assert lazy.attributes("gw.lyon") == built.attributes("gw.lyon")
    assert lazy.equipment("gw", "lyon").unwrap() == built.equipment("gw", "lyon").unwrap()
    assert lazy.hosts() == built.hosts() and len(lazy.sites_) == 12


def test_a_damaged_or_foreign_compact_file_is_rebuilt(tmp_path: Path) -> None:
    load_snapshot(tmp_path).unwrap()
    path = compact_path(_digest(), tmp_path)
    content = path.read_bytes()
    assert decode_parts(content, "another data hash") is None
    damaged = content[:-100] + bytes(100)
    assert decode_parts(damaged, _digest()) is None  # CRC-32 of the parts
    path.write_bytes(damaged)
    assert load_snapshot(tmp_path).unwrap().hosts(cluster="nova").unwrap()[0] == "nova-1.lyon.grid5000.fr"
    assert path.read_bytes() == content  # written again


def test_parts_round_trip_and_unwritable_cache(tmp_path: Path) -> None:
    snap = snapshot_from_bytes(read_embedded_bytes().unwrap()).unwrap()
    parts = decode_parts(encode_parts(snap.parts(), "d"), "d")
    assert parts is not None
    again = snapshot_from_parts(parts).unwrap()
    assert again.version == snap.version and again.cluster_queues("nova") == snap.cluster_queues("nova")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert load_snapshot(blocker / "sub").unwrap().sites() == snap.sites()  # no cache: the full build
