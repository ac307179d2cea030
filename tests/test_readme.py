"""The README's Python blocks run as written: offline ones in full, the others up to their first effect (imports)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO_DIR

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO_DIR / "README.md").read_text(encoding="utf-8"), flags=re.S)
# blocks whose every line runs offline, named by a line they hold
OFFLINE = ("make_submission(", "load_embedded_planning", "def test_total")


def test_the_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 5 and all(any(word in b for b in BLOCKS) for word in OFFLINE)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.splitlines()[0][:40] for b in BLOCKS])
def test_block_runs(block: str) -> None:
    offline = any(word in block for word in OFFLINE)
    code = block if offline else "\n".join(ln for ln in block.splitlines() if ln.startswith(("from ", "import ")))
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


def test_the_readme_imports_only_from_packages() -> None:
    imports = re.findall(r"^from (g5kpure[\w.]*) import", "\n".join(BLOCKS), flags=re.M)
    deep = [m for m in imports if m.count(".") > 1]
    assert imports and deep == []
