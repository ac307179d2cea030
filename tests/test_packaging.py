"""The wheel: its top-level import names are exactly g5k and g5kpure, it holds every module and data file, and its
metadata carries the SPDX license, the licence file and the `g5k` entry point."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_DIR


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    # built from a copy of the tracked files: a build/ folder left in the clone never leaks stale modules in
    out, source = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("source")
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO_DIR, check=True,
                             capture_output=True, text=True).stdout.split("\n")
    for name in filter(None, tracked):
        if (REPO_DIR / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_DIR / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True, capture_output=True, text=True, timeout=600,
    )
    (path,) = out.glob("g5kpure-*.whl")
    return zipfile.ZipFile(path)


def _names(wheel: zipfile.ZipFile) -> list[str]:
    return wheel.namelist()


def test_top_level_names_are_g5k_and_g5kpure(wheel: zipfile.ZipFile) -> None:
    tops = {n.split("/", 1)[0] for n in _names(wheel) if ".dist-info" not in n.split("/", 1)[0]}
    assert tops == {"g5k", "g5kpure"}


def test_every_module_and_data_file_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(_names(wheel))
    expected = {f"g5kpure/{p.relative_to(REPO_DIR / 'g5kpure')}" for p in (REPO_DIR / "g5kpure").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    expected |= {f"g5k/{p.relative_to(REPO_DIR / 'adapters')}" for p in (REPO_DIR / "adapters").rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    assert expected - names == set()
    assert "g5kpure/data/reference_compact.json.gz" in names and "g5k/cli/main.py" in names


def test_metadata_license_and_entry_point(wheel: zipfile.ZipFile) -> None:
    meta_name = next(n for n in _names(wheel) if n.endswith(".dist-info/METADATA"))
    meta = wheel.read(meta_name).decode()
    assert "License-Expression: MIT" in meta and "Classifier: Typing :: Typed" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in _names(wheel))
    entry = wheel.read(next(n for n in _names(wheel) if n.endswith("entry_points.txt"))).decode()
    assert "g5k = g5k.cli.main:main" in entry


def test_version_option() -> None:
    proc = subprocess.run([sys.executable, "-m", "g5k.cli.main", "--version"], capture_output=True, text=True,
                          timeout=60, check=False)
    from g5kpure import __version__

    assert proc.returncode == 0 and proc.stdout.strip() == f"g5k (g5kpure) {__version__}"


def test_no_adapters_package_is_installed() -> None:
    # the folder adapters/ is only ever imported as g5k: a distribution named `adapters` can sit beside it
    import g5k

    assert Path(g5k.__file__).parent.name == "adapters" and "adapters" not in sys.modules
