"""OAR queues in the planning: the library plans the default queue as `g5k plan` does, a job on a cluster outside
the default queue carries its queue (``-q production``), and a job that would mix two queues is refused."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from g5k.cli.main import main
from g5k.reference_data import embedded_snapshot
from g5k.results import performed

from g5kpure.errors import InvalidInput
from g5kpure.oar import oarsub_argv
from g5kpure.planning import (
    HostPlanning,
    JobSpec,
    Planning,
    compute_slots,
    distribute_hosts,
    find_free_slot,
    get_jobs_specs,
    job_queue,
    restrict_to_queues,
)
from tests.conftest import REPO_DIR

README = REPO_DIR / "README.md"
NANCY = "nancy.grid5000.fr"


def nancy() -> Planning:
    """Two default-queue clusters and two production ones at nancy, one host each but gros (2)."""
    return Planning(start=0, end=10000, hosts=[
        HostPlanning(f"gros-1.{NANCY}", "nancy", "gros", ()),
        HostPlanning(f"gros-2.{NANCY}", "nancy", "gros", ()),
        HostPlanning(f"grouille-1.{NANCY}", "nancy", "grouille", ()),
        HostPlanning(f"grele-1.{NANCY}", "nancy", "grele", ()),
        HostPlanning(f"gruss-1.{NANCY}", "nancy", "gruss", ()),
        HostPlanning("nova-1.lyon.grid5000.fr", "lyon", "nova", ()),
    ], cluster_queues={"grele": "production", "gruss": "production"})


def test_job_queue_choice() -> None:
    assert job_queue(("admin", "default")) == "default"
    assert job_queue(("abaca", "admin", "production")) == "production"
    assert job_queue(("admin", "testing")) == "testing"
    assert job_queue(("abaca", "admin", "production"), ("abaca",)) == "abaca"
    assert job_queue(("abaca", "admin", "production"), ("default",)) is None
    assert job_queue(("admin", "default"), ("production", "default")) == "default"


def test_restrict_to_queues_with_the_reference() -> None:
    snapshot = embedded_snapshot()
    hosts = [HostPlanning(f"{c}-1.{s}.grid5000.fr", s, c, ()) for c, s in
             (("nova", "lyon"), ("grele", "nancy"), ("ramstein", "strasbourg"), ("paravance", "rennes"))]
    planning = Planning(start=0, end=100, hosts=hosts)
    default = restrict_to_queues(planning, snapshot)
    # paravance is not in the snapshot: kept (the data source knows it), in the default queue
    assert [h.cluster for h in default.hosts] == ["nova", "paravance"] and default.cluster_queues == ()
    every = restrict_to_queues(planning, snapshot, None)
    assert len(every.hosts) == 4
    assert every.cluster_queues == (("grele", "production"), ("ramstein", "testing"))
    production = restrict_to_queues(planning, snapshot, ["production"])
    assert [h.cluster for h in production.hosts] == ["grele", "paravance"]
    assert production.cluster_queues == (("grele", "production"),)


def test_job_on_a_production_cluster_carries_its_queue() -> None:
    slots = compute_slots(nancy(), 600).unwrap()
    specs = get_jobs_specs({"grele": 1, "nova": 1}, slots, slots.slots[0]).unwrap()
    assert [(s.site, s.resources, s.queue) for s in specs] == [
        ("lyon", "{cluster='nova'}/nodes=1", None), ("nancy", "{cluster='grele'}/nodes=1", "production")]
    argv = oarsub_argv(specs[1].submission())
    assert argv[:3] == ("oarsub", "-l", "{cluster='grele'}/nodes=1,walltime=0:10:00")
    assert argv[argv.index("-q") + 1] == "production" and "-r" in argv
    assert "-q" not in oarsub_argv(specs[0].submission())
    # one production host, or the production clusters of a site with the default ones excluded
    (host,) = get_jobs_specs({f"gruss-1.{NANCY}": 1}, slots).unwrap()
    assert host.queue == "production"
    (rest,) = get_jobs_specs({"nancy": 2}, slots, excluded_elements=["gros", "grouille"]).unwrap()
    assert (rest.resources, rest.queue) == ("{cluster NOT IN ('gros', 'grouille')}/nodes=2", "production")


def test_job_mixing_two_queues_is_refused() -> None:
    slots = compute_slots(nancy(), 600).unwrap()
    for resources in ({"nancy": 3}, {"gros": 1, "grele": 1}, {"gros": 1, f"grele-1.{NANCY}": 1}):
        error = get_jobs_specs(resources, slots).failure()
        assert isinstance(error, InvalidInput) and error.name == "resources of nancy", resources
        assert error.expected == ("clusters of one OAR queue in one job (name clusters of one queue, exclude the "
                                  "others, or plan a single queue)")
    error = get_jobs_specs({"nancy": 3}, slots).failure()
    assert isinstance(error, InvalidInput)
    assert error.value == "default: gros, grouille; production: grele, gruss"
    # queues are per job: a production job on one site and a default one on another are fine
    assert [s.queue for s in get_jobs_specs({"gruss": 1, "lyon": 1}, slots).unwrap()] == [None, "production"]


def test_cli_production_queue_in_the_argv(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--json", "--no-plots", "--queues", "production", "--want", "grele:2"]) == 0
    (job,) = json.loads(capsys.readouterr().out)["jobs"]
    assert (job["site"], job["queue"]) == ("nancy", "production")
    assert job["argv"][:3] == ["oarsub", "-l", "{cluster='grele'}/nodes=2,walltime=2:00:00"]
    assert job["argv"][job["argv"].index("-q") + 1] == "production" and " -q production " in job["command"]


def test_cli_refuses_a_site_job_mixing_queues(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--json", "--no-plots", "--queues", "all", "--want", "nancy:10"]) == 1
    error = json.loads(capsys.readouterr().out)
    assert (error["error"], error["name"]) == ("InvalidInput", "resources of nancy")
    assert error["value"].startswith("default: gros, grouille; production: graffiti, grappe")


def readme_planning_snippet() -> str:
    """The python block of the README's "Offline planning" section."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Offline planning"):]
    section = section[:section.index("\n## ", 1)]
    blocks: list[str] = re.findall(r"```python\n(.*?)```", section, re.S)
    (block,) = blocks
    return block


def test_readme_planning_snippet_agrees_with_g5k_plan(capsys: pytest.CaptureFixture[str]) -> None:
    scope: dict[str, Any] = {}
    exec(compile(readme_planning_snippet(), "README.md", "exec"), scope)
    specs: tuple[JobSpec, ...] = scope["specs"]
    assert main(["plan", "--json", "--no-plots"]) == 0  # the same request: grid5000:40 with nova:10 for 2 hours
    cli = json.loads(capsys.readouterr().out)
    assert cli["wanted"] == scope["wanted"] and cli["walltime"] == scope["slots"].walltime
    assert cli["slot"]["start"] == scope["slot"].start
    assert cli["distribution"] == scope["share"]
    assert [(j["site"], j["resources"], j["argv"]) for j in cli["jobs"]] == [
        (s.site, s.resources, list(argv)) for s, argv in zip(specs, scope["argvs"], strict=True)]
    # default-queue clusters only, on both sides: no production cluster and no -q in any request
    assert all(s.queue is None and "-q" not in argv for s, argv in zip(specs, scope["argvs"], strict=True))
    assert not {"graffiti", "grappe", "gruss", "abacus1"} & set(scope["share"])


def test_distribution_of_the_library_default_avoids_production_clusters() -> None:
    from g5k.planning import load_embedded_planning

    planning = performed(load_embedded_planning()).unwrap()
    assert not {h.cluster for h in planning.hosts} & {"graffiti", "grappe", "gruss", "abacus1", "ramstein"}
    slots = compute_slots(planning, 7200).unwrap()
    slot = find_free_slot(slots, {"grid5000": 200}).unwrap()
    share = distribute_hosts(slot, slots, {"grid5000": 200}).unwrap()
    assert all(spec.queue is None for spec in get_jobs_specs(share, slots, slot).unwrap())
