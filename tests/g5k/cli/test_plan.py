"""`g5k plan` end to end on the embedded data (offline): the printed answer, the JSON, the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from g5k.cli.main import main
from PIL import Image

from tests.conftest import FIXTURES_DIR, MemoryKeyring, memory_keyring_installed, serving_json


def test_plan_default_request(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["plan", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Request: grid5000:40, nova:10 for 2:00:00" in out
    assert "Chosen slot: 2026-03-24 11:40 to 2026-03-24 13:40" in out
    assert "(total 40 hosts)" in out and "lyon 13 (nova 10)" in out
    lyon = next(line for line in out.splitlines() if line.strip().startswith("[lyon] "))
    assert "oarsub -l '{cluster='\"'\"'nova'\"'\"'}/nodes=10+nodes=3,walltime=2:00:00'" in lyon
    assert "-r '2026-03-24 11:40:45'" in out
    for name in ("gantt.png", "slots.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        with Image.open(tmp_path / name) as image:
            assert image.width == 1400 and image.height > 500
            assert len(image.getcolors(1 << 16) or ()) > 50  # drawn: not one flat colour
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gantt.png", "slots.png"]


def test_plan_draws_without_matplotlib(tmp_path: Path) -> None:
    code = ("import sys; from g5k.cli.main import main; "
            f"assert main(['plan', '--out', {str(tmp_path)!r}]) == 0; "
            "assert 'matplotlib' not in sys.modules and 'numpy' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gantt.png", "slots.png"]


def test_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["plan", "--json", "--no-plots", "--walltime", "4:00", "--want", "grid5000:50", "--want", "lyon:10"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["walltime"] == 14400 and data["wanted"] == {"grid5000": 50, "lyon": 10}
    assert sum(data["distribution"].values()) == 50 and data["distribution"]["lyon"] == 10
    assert data["slot"]["free"]["grid5000"] >= 50 and data["slot"]["free"]["lyon"] >= 10
    lyon = next(j for j in data["jobs"] if j["site"] == "lyon")
    assert lyon["argv"][:3] == ["oarsub", "-l", "nodes=10,walltime=4:00:00"]
    assert lyon["command"].startswith("[lyon] ") and "oarsub -l nodes=10,walltime=4:00:00" in lyon["command"]
    assert data["files"] == []


def test_plan_at_later_start(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--json", "--no-plots", "--at", "2026-03-30 09:00", "--want", "lyon:2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["start"] == data["slot"]["start"] == 1774854000


def test_plan_absent_element_is_an_explained_failure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--no-plots", "--want", "paravance:3"]) == 1
    assert "paravance is not in the planning" in capsys.readouterr().err


def test_plan_too_many(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--no-plots", "--want", "lyon:500"]) == 1
    assert "lyon has at most" in capsys.readouterr().err


def test_plan_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--want", "lyon"]) == 2
    assert main(["plan", "--walltime", "soon"]) == 2
    err = capsys.readouterr().err
    assert "invalid --want 'lyon'" in err and "invalid walltime 'soon'" in err


def test_plan_live_dry_run_prints_requests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--live", "--dry-run", "--site", "lyon"]) == 0
    out = capsys.readouterr().out
    assert "/sites/lyon/status?disks=no [anonymous, TLS verified" in out
    assert "/sites/lyon/jobs?state=waiting,launching,running&resources=yes&limit=500" in out
    assert main(["plan", "--live", "--dry-run", "--api", "https://api.example/stable"]) == 0
    out = capsys.readouterr().out
    # grid5000:40 + nova:10 reads every site that has a default-queue cluster
    assert out.count("/status?") == 11 and "GET https://api.example/stable/sites/nancy/status" in out
    assert "sites/bordeaux" not in out


def test_plan_oardb_dry_run_prints_sql(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--source", "oardb", "--dry-run", "--want", "lyon:3", "--db-host", "db.{site}.example",
                 "--tunnel", "never"]) == 0
    out = capsys.readouterr().out
    assert "-- site lyon: database oarreader@db.lyon.example:5432/oar2 (lyon), read-only transaction" in out
    assert "FROM gantt_jobs_predictions" not in out and "JOIN gantt_jobs_predictions GJP" in out
    assert "-- parameters: states=('Waiting', 'toLaunch'" in out


def test_plan_oarapi_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--source", "oarapi", "--dry-run", "--oarapi", "rennes=http://oar.example/oarapi"]) == 0
    out = capsys.readouterr().out
    assert "GET http://oar.example/oarapi/resources/details.json?limit=1000000" in out
    assert "GET http://oar.example/oarapi/jobs/details.json?state=Waiting,toLaunch" in out
    assert main(["plan", "--source", "oarapi", "--oarapi", "rennes"]) == 2


def test_plan_takes_the_shared_api_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--live", "--dry-run", "--site", "lyon", "--timeout", "7"]) == 0
    assert "[anonymous, TLS verified, timeout 7s]" in capsys.readouterr().out
    assert main(["plan", "--source", "oarapi", "--dry-run", "--oarapi", "rennes=http://oar.example/oarapi",
                 "--timeout", "4"]) == 0
    assert capsys.readouterr().out.count("timeout 4s]") == 2
    assert main(["plan", "--live", "--no-plots", "--ca-bundle", "/nonexistent/ca.pem"]) == 2
    err = capsys.readouterr().err
    assert "invalid --ca-bundle '/nonexistent/ca.pem'" in err and "Traceback" not in err


def test_plan_out_of_charter_starts_at_night(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--no-plots", "--out-of-charter"]) == 0
    # Tuesday 2026-03-24: the charter period ends at 19:00 Paris time
    assert "Chosen slot: 2026-03-24 19:00 to 2026-03-24 21:00" in capsys.readouterr().out


def test_plan_exclusions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--no-plots", "--json", "--want", "grid5000:10", "--want", "lyon:5",
                 "--exclude", "grenoble", "--exclude", "nova-1.lyon.grid5000.fr"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "grenoble" not in data["distribution"] and data["distribution"]["lyon"] == 5
    lyon = next(j for j in data["jobs"] if j["site"] == "lyon")
    assert lyon["resources"] == "{host NOT IN ('nova-1.lyon.grid5000.fr')}/nodes=5"
    assert main(["plan", "--no-plots", "--exclude", "nova"]) == 1
    assert "nova is not in the planning" in capsys.readouterr().err


def test_plan_unwritable_out_is_an_error_value(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["plan", "--out", str(blocker / "sub")]) == 1
    assert "invalid output file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.fixture
def ring() -> Iterator[MemoryKeyring]:
    with memory_keyring_installed() as backend:
        yield backend


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    monkeypatch.setenv("G5K_CONFIG", str(path))
    for var in ("G5K_API_URI", "G5K_API_USERNAME", "G5K_API_TIMEOUT", "G5K_LOCATION"):
        monkeypatch.delenv(var, raising=False)


def live_dry_run(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(["plan", "--live", "--dry-run", "--json", "--site", "lyon", *argv]) == 0
    requests: list[str] = json.loads(capsys.readouterr().out)["requests"]
    return requests


def test_plan_live_reads_the_api_access_from_the_configuration(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ring: MemoryKeyring
) -> None:
    write_config(tmp_path, monkeypatch, '[g5k]\nlocation = "outside"\napi_uri = "https://api.example.org/3.0/"\n'
                 'api_username = "alice"\napi_timeout = 7\n')
    ring.set_password("grid5000_api", "alice", "not-shown")
    status, jobs = live_dry_run(capsys)
    assert status == "GET https://api.example.org/3.0/sites/lyon/status?disks=no [basic auth as alice, TLS verified, " \
                     "timeout 7s]"
    assert jobs.startswith("GET https://api.example.org/3.0/sites/lyon/jobs?state=waiting,launching,running")
    # explicit --api / --api-user win over the configuration
    ring.set_password("grid5000_api", "bob", "not-shown-either")
    status, _ = live_dry_run(capsys, "--api", "https://other.example.net/x", "--api-user", "bob")
    assert status == "GET https://other.example.net/x/sites/lyon/status?disks=no [basic auth as bob, TLS verified, " \
                     "timeout 7s]"


def test_plan_live_asks_the_password_when_the_keyring_has_none(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ring: MemoryKeyring
) -> None:
    write_config(tmp_path, monkeypatch, '[g5k]\nlocation = "outside"\napi_username = "alice"\n')
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    status, _ = live_dry_run(capsys)
    assert "[basic auth as alice (password asked" in status


def test_plan_live_inside_grid5000_sends_no_credentials(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ring: MemoryKeyring,
    caplog: pytest.LogCaptureFixture,
) -> None:
    write_config(tmp_path, monkeypatch, '[g5k]\nlocation = "frontend:lyon"\napi_uri = "https://api.example.org/3.0/"\n')
    status, _ = live_dry_run(capsys)
    assert status.startswith("GET https://api.example.org/3.0/sites/lyon/status?disks=no [anonymous, TLS verified")
    assert "basic auth" not in caplog.text
    # from outside, the same configuration is anonymous with a warning saying what to set
    write_config(tmp_path, monkeypatch, '[g5k]\nlocation = "outside"\napi_uri = "https://api.example.org/3.0/"\n')
    status, _ = live_dry_run(capsys)
    assert "[anonymous, TLS verified" in status and "needs basic auth" in caplog.text


def test_plan_excluded_cluster_reaches_the_oarsub_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--no-plots", "--json", "--want", "lyon:5", "--exclude", "nova"]) == 0
    data = json.loads(capsys.readouterr().out)
    (lyon,) = data["jobs"]
    assert lyon["site"] == "lyon" and lyon["resources"] == "{cluster NOT IN ('nova')}/nodes=5"
    assert lyon["argv"][:3] == ["oarsub", "-l", "{cluster NOT IN ('nova')}/nodes=5,walltime=2:00:00"]
    assert data["slot"]["free"]["lyon"] >= 5 and "nova" not in data["slot"]["free"]
    # a cluster and a host of another cluster, with a count of their own on a cluster of the site
    assert main(["plan", "--no-plots", "--json", "--want", "lyon:6", "--want", "taurus:2", "--exclude", "nova",
                 "--exclude", "taurus-1.lyon.grid5000.fr"]) == 0
    (lyon,) = json.loads(capsys.readouterr().out)["jobs"]
    assert lyon["resources"] == ("{cluster='taurus' AND host NOT IN ('taurus-1.lyon.grid5000.fr')}/nodes=2"
                                 "+{host NOT IN ('taurus-1.lyon.grid5000.fr') AND cluster NOT IN ('nova')}/nodes=4")


def test_plan_excluded_cluster_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--no-plots", "--want", "lyon:5", "--exclude", "nova"]) == 0
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.strip().startswith("[lyon] ")]
    assert "oarsub -l '{cluster NOT IN ('\"'\"'nova'\"'\"')}/nodes=5,walltime=2:00:00'" in line


@pytest.fixture
def oar_rest() -> Iterator[str]:
    """A real HTTP server on loopback: /good serves the captured OAR REST answers of rennes, /bad a jobs answer
    whose walltime is a string."""
    fixtures = FIXTURES_DIR / "planning"
    resources = json.loads((fixtures / "oarapi_resources_details.json").read_text())
    jobs = json.loads((fixtures / "oarapi_jobs_details.json").read_text())
    bad_jobs = json.loads(json.dumps(jobs))
    bad_jobs["items"][0]["walltime"] = "3600"
    answers = {"/good/resources/details.json": resources, "/good/jobs/details.json": jobs,
               "/bad/resources/details.json": resources, "/bad/jobs/details.json": bad_jobs}

    with serving_json(lambda path: answers.get(urlsplit(path).path, {})) as base:
        yield base


def test_plan_shows_the_error_of_a_site_not_read(capsys: pytest.CaptureFixture[str], oar_rest: str) -> None:
    argv = ["plan", "--no-plots", "--source", "oarapi", "--want", "rennes:1", "--oarapi", f"rennes={oar_rest}/good",
            "--oarapi", f"nancy={oar_rest}/bad"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["failed_sites"]) == ["nancy"]
    failure = data["failed_sites"]["nancy"]
    assert failure["error"] == "ParseError" and "nancy.jobs[0].walltime" in failure["message"]
    assert "'3600'" in failure["message"] and data["distribution"] == {"rennes": 1}
    assert main(argv) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Sites not read: ")]
    assert line.startswith("Sites not read: nancy: could not parse planning payload at nancy.jobs[0].walltime")


def test_plan_reservation_date_forms_and_window(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--json", "--no-plots", "-r", "2026-03-30 09:00", "--want", "lyon:2"]) == 0
    assert json.loads(capsys.readouterr().out)["start"] == 1774854000
    assert main(["plan", "--no-plots", "-r", "yesterday"]) == 2
    err = capsys.readouterr().err
    assert "invalid -r/--reservation 'yesterday': expected 'YYYY-MM-DD HH:MM[:SS]'" in err
    assert "yesterday:00" not in err
    for outside in ("2027-01-01 00:00", "2026-03-01 10:00"):
        assert main(["plan", "--no-plots", "--reservation", outside]) == 2
        err = capsys.readouterr().err
        assert f"invalid -r/--reservation '{outside}'" in err
        assert "the embedded planning covers, from 2026-03-24 10:00 to 2026-04-21 09:00" in err


def test_plan_dry_run_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "figures"
    assert main(["plan", "--dry-run", "--out", str(out), "--format", "png,svg"]) == 0
    text = capsys.readouterr().out
    assert "Chosen slot: 2026-03-24 11:40" in text
    assert f"Dry run: would write {out}/gantt.png and {out}/slots.png and {out}/gantt.svg" in text
    assert not out.exists()


def test_plan_svg_figures_and_their_content(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["plan", "--out", str(tmp_path), "--format", "svg", "--want", "lyon:5", "--want", "nova:2"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gantt.svg", "slots.svg"]
    gantt = (tmp_path / "gantt.svg").read_text()
    assert gantt.lstrip().startswith("<?xml") and "<svg" in gantt
    texts = {t.text for t in ElementTree.parse(tmp_path / "gantt.svg").iter("{http://www.w3.org/2000/svg}text")}
    assert {"lyon (69)", "nova (20)", "busy (a job holds the host)", "Europe/Paris time"} <= texts
    slots = {t.text for t in ElementTree.parse(tmp_path / "slots.svg").iter("{http://www.w3.org/2000/svg}text")}
    assert {"wanted 5", "wanted 2", "lyon", "nova", "free hosts", "hosts wanted"} <= slots
    assert main(["plan", "--out", str(tmp_path), "--format", "gif"]) == 2
    assert "invalid --format 'gif'" in capsys.readouterr().err


def test_plan_live_total_failure_is_one_line_per_endpoint(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, monkeypatch, '[g5k]\nlocation = "frontend:lyon"\n')
    assert main(["plan", "--live", "--no-plots", "--api", "http://127.0.0.1:1/3.0"]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-2] == "g5k: error: could not read the planning of any site (11 sites tried, every one failed):"
    assert lines[-1].startswith("  127.0.0.1:1: connection refused (11 sites: grenoble, lille, louvain")
    assert "partly" not in err


def test_save_scene_writes_png_or_svg_atomically(tmp_path: Path) -> None:
    from g5k.raster import save_scene
    from returns.io import IOFailure
    from returns.unsafe import unsafe_perform_io

    from g5kpure.plots.scene import Legend, LegendEntry, Line, Rect, Scene, Text

    scene = Scene(200, 100, (
        Rect(10, 10, 50, 30, fill="#1f4e79", opacity=0.5),
        Line(((0, 50), (200, 50)), "#d62728", dashed=True),
        Text(100, 50, "up\nwards", rotation=90, anchor="middle", valign="top"),
        Legend(100, 90, (LegendEntry("a & b", "#000000", "frame"),)),
    ))
    target = tmp_path / "deep" / "scene.png"
    assert unsafe_perform_io(save_scene(scene, target).unwrap()) == target
    with Image.open(target) as image:
        assert image.size == (200, 100) and len(image.getcolors(1 << 16) or ()) > 5
    assert (target.stat().st_mode & 0o777) == 0o644
    svg = save_scene(scene, tmp_path / "deep" / "scene.svg")
    assert "a &amp; b" in (tmp_path / "deep" / "scene.svg").read_text() and not isinstance(svg, IOFailure)
    assert isinstance(save_scene(scene, tmp_path / "scene.gif"), IOFailure)
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["scene.png", "scene.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep"]
