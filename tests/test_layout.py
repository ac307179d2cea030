"""The layout's rules: core modules stay small enough to read."""

from __future__ import annotations

from tests.conftest import REPO_DIR

MAX_CORE_MODULE_LINES = 700


def test_no_core_module_over_the_limit() -> None:
    sizes = {path.relative_to(REPO_DIR).as_posix(): len(path.read_text().splitlines())
             for path in (REPO_DIR / "g5kpure").rglob("*.py")}
    assert sizes, "no core module found"
    assert {name: n for name, n in sizes.items() if n > MAX_CORE_MODULE_LINES} == {}
