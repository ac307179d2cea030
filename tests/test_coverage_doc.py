"""docs/execo_coverage.md names only things that exist: every `g5kpure.x.y` / `g5k.x.y` it cites resolves."""

from __future__ import annotations

import importlib
import re

from tests.conftest import REPO_DIR

DOC = REPO_DIR / "docs" / "execo_coverage.md"
NAME_RE = re.compile(r"`((?:g5kpure|adapters)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def resolve(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_every_cited_name_exists() -> None:
    names = sorted(set(NAME_RE.findall(DOC.read_text(encoding="utf-8"))))
    assert len(names) > 60, names
    missing = [n for n in names if not resolve(n)]
    assert missing == []


def test_summary_counts_add_up() -> None:
    rows = re.findall(r"^\| (?:\*\*)?([^|]+?)(?:\*\*)? \| (?:\*\*)?(\d+)(?:\*\*)? \| (?:\*\*)?(\d+)(?:\*\*)? \| "
                      r"(?:\*\*)?(\d+)(?:\*\*)? \| (?:\*\*)?(\d+)(?:\*\*)? \|$", DOC.read_text(encoding="utf-8"), re.M)
    parts = {name.strip(): tuple(int(x) for x in numbers) for name, *numbers in rows}
    published = parts.pop("published list")
    outside = next(v for k, v in parts.items() if k.startswith("outside"))
    listed = [v for k, v in parts.items() if not k.startswith("outside")]
    for items, covered, different, missing in [*listed, published, outside]:
        assert items == covered + different + missing
    assert tuple(map(sum, zip(*listed, strict=True))) == published
