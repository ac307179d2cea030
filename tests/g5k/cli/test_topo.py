"""`g5k topo` end to end on the embedded snapshot: the summary, the JSON, the PNG, errors and --dry-run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from g5k.cli.main import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_topo_writes_a_png_and_prints_a_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "figs" / "topo.png"
    assert main(["topo", "nova", "parasilo", "--png", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 sites, 2 clusters" in text
    assert "backbone: renater-lyon, renater-nantes, renater-rennes" in text
    assert "not in the graph" not in text
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 20_000
    assert [p.name for p in out.parent.iterdir()] == ["topo.png"]  # no temporary file left
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_topo_compact_png_of_the_whole_grid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    assert main(["topo", "--png", str(out), "--compact", "--layout", "tree"]) == 0
    assert "12 sites, 158 clusters" in capsys.readouterr().out
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_topo_json_lists_nodes_and_edges_with_attributes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topo", "lyon", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["sites"] == ["lyon"] and data["summary"]["backbone"] == []
    assert data["graph"]["version"] == "9ebe1b1e12d4496acf54e276f6885445a57f8c04"
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes["nova-1.lyon.grid5000.fr"] == {"id": "nova-1.lyon.grid5000.fr", "kind": "node", "site": "lyon",
                                                "cluster": "nova", "uid": "nova-1", "cores": 16,
                                                "power": 33600000000.0}
    assert nodes["gw.lyon"]["kind"] == "router"
    assert data["summary"]["nodes"]["node"] == sum(1 for n in data["nodes"] if n["kind"] == "node") == 69
    edges = data["edges"]
    assert sum(1 for e in edges if e["link"] == "host") == data["summary"]["links"]["host"]
    assert all({"source", "target", "key", "bandwidth", "link", "active"} <= set(e) for e in edges)
    assert len({(e["source"], e["target"], e["key"]) for e in edges}) == len(edges)


def test_topo_json_compact(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topo", "nancy", "--json", "--compact"]) == 0
    data = json.loads(capsys.readouterr().out)
    clusters = [n for n in data["nodes"] if n["kind"] == "cluster"]
    assert len(clusters) == data["summary"]["clusters"] == 14
    assert sum(c["hosts"] for c in clusters) == 266


def test_topo_unknown_element_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topo", "nowhere", "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["key"] == "nowhere"
    assert "'nowhere' not found" in captured.err


def test_topo_unwritable_png_fails_without_leftovers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["topo", "nova", "--png", str(blocker / "topo.png")]) == 1
    assert "invalid --out" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_topo_dry_run_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "topo.png"
    assert main(["topo", "nova", "--png", str(out), "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan["build"] == "nova" and plan["png"] == str(out) and plan["layout"] == "radial"
    assert not out.exists()


def test_topo_spring_layout_of_a_big_graph_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    assert main(["topo", "--png", str(out), "--layout", "spring"]) == 2
    assert "invalid --layout 'spring'" in capsys.readouterr().err
    assert not out.exists()
    assert main(["topo", "--png", str(out), "--layout", "spring", "--compact"]) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_topo_names_the_links_it_could_not_resolve(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topo", "bordeaux"]) == 0
    text = capsys.readouterr().out
    assert "not in the graph: gw.bordeaux -> renater-bordeaux (no backbone node of that name)" in text
    assert main(["topo", "grenoble", "--json"]) == 0
    unresolved = json.loads(capsys.readouterr().out)["summary"]["unresolved"]
    assert {u["target"] for u in unresolved} == {"drac-4", "drac-5", "drac-6"} and len(unresolved) == 9


def test_topo_queues_filter_the_clusters_of_a_site(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topo", "rennes", "--queues", "default", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted({n["cluster"] for n in data["nodes"] if n["kind"] == "node"}) == ["paradoxe", "parasilo"]


def test_topo_svg_by_format_or_suffix(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["topo", "lyon", "--compact", "--out", str(tmp_path / "lyon"), "--format", "svg"]) == 0
    assert (tmp_path / "lyon.svg").read_text().lstrip().startswith("<?xml")
    assert main(["topo", "lyon", "--out", str(tmp_path / "l.svg")]) == 0
    assert "<svg" in (tmp_path / "l.svg").read_text()
    assert main(["topo", "lyon", "--out", str(tmp_path / "x.png"), "--format", "svg"]) == 2
    assert "invalid --out" in capsys.readouterr().err
    assert main(["topo", "--dry-run", "--compact", "--out", str(tmp_path / "dry.png")]) == 0
    assert not (tmp_path / "dry.png").exists()


def test_topo_summary_counts_are_worded(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topo", "louvain"]) == 0
    out = capsys.readouterr().out
    assert "1 site, 1 cluster" in out and "1 router" in out and " 1 sites" not in out
