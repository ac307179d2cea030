"""Host names in the planning go through the one host grammar (g5kpure.hosts): every form of a node's name is
its canonical FQDN wherever the planning meets it (lookups, restriction, exclusion, job specs, builders)."""

from __future__ import annotations

import json

import pytest
from g5k.cli.main import main
from g5k.reference_data import embedded_snapshot

from g5kpure.errors import InvalidInput, NotFound
from g5kpure.hosts import host_cluster_site, host_sort_key, node_fqdn
from g5kpure.planning import (
    HostPlanning,
    Planning,
    compute_slots,
    exclude_elements,
    get_hosts_jobs,
    get_jobs_specs,
    planning_from_api,
    planning_from_oar_rows,
    restrict_planning,
    sites_of_elements,
    with_host_fqdns,
)
from g5kpure.planning import OarResourceRow as Row

NOVA1 = "nova-1.lyon.grid5000.fr"
#: every form of nova-1's name that names its site
FORMS = ("nova-1.lyon", NOVA1, "nova-1-eth1.lyon.grid5000.fr", "nova-1-kavlan-4.lyon.grid5000.fr",
         "nova-1-ipv6.lyon.grid5000.fr", "nova-1-ipv6.lyon")


def planning() -> Planning:
    return Planning(start=0, end=10000, hosts=[
        HostPlanning(NOVA1, "lyon", "nova", ((0, 5000),)),
        HostPlanning("nova-2.lyon.grid5000.fr", "lyon", "nova", ()),
        HostPlanning("taurus-1.lyon.grid5000.fr", "lyon", "taurus", ()),
        HostPlanning("gros-1.nancy.grid5000.fr", "nancy", "gros", ()),
    ])


@pytest.mark.parametrize("form", FORMS)
def test_node_fqdn_of_every_form(form: str) -> None:
    assert node_fqdn(form).unwrap() == NOVA1
    assert node_fqdn(form, "rennes").unwrap() == NOVA1  # the site of the name wins
    assert host_cluster_site(form) == ("nova", "lyon")


def test_node_fqdn_of_a_bare_name_needs_its_site() -> None:
    assert node_fqdn("nova-1", "lyon").unwrap() == NOVA1
    bare = node_fqdn("nova-1").failure()
    assert isinstance(bare, InvalidInput) and (bare.name, bare.value) == ("host", "nova-1")
    assert bare.expected == "a node name with its site: nova-1.<site> or nova-1.<site>.grid5000.fr"
    assert isinstance(node_fqdn("nova-1.grid5000.fr").failure(), InvalidInput)  # grid5000.fr names no site
    other = node_fqdn("lyon").failure()
    assert isinstance(other, InvalidInput) and other.value == "lyon" and "nova-1.lyon.grid5000.fr" in other.expected
    assert host_cluster_site("nova-1") is None and host_cluster_site("lyon") is None


def test_host_sort_key_natural_by_site_cluster_number() -> None:
    names = ["nova-10.lyon.grid5000.fr", "chartreuse2-1.grenoble", "nova-2.lyon", "chartreuse-3.grenoble",
             "gros-1.nancy.grid5000.fr", "frontend"]
    assert sorted(names, key=host_sort_key) == ["frontend", "chartreuse-3.grenoble", "chartreuse2-1.grenoble",
                                                "nova-2.lyon", "nova-10.lyon.grid5000.fr", "gros-1.nancy.grid5000.fr"]


@pytest.mark.parametrize("form", [*FORMS, "nova-1"])
def test_planning_finds_a_host_by_any_form(form: str) -> None:
    found = planning().host(form)
    assert found is not None and found.host == NOVA1
    assert planning().fqdn(form).unwrap() == NOVA1


def test_planning_refuses_a_bare_host_of_an_unknown_cluster() -> None:
    assert planning().host("grisou-1") is None
    error = planning().fqdn("grisou-1").failure()
    assert isinstance(error, InvalidInput) and (error.name, error.value) == ("host", "grisou-1")
    assert error.expected == "a node name with its site: grisou-1.<site> or grisou-1.<site>.grid5000.fr"


@pytest.mark.parametrize("form", [*FORMS, "nova-1"])
def test_exclusion_drops_the_host_whatever_its_form(form: str) -> None:
    kept = exclude_elements(planning(), [form])
    assert [h.host for h in kept.hosts if h.cluster == "nova"] == ["nova-2.lyon.grid5000.fr"]
    slots = compute_slots(planning(), 600, excluded_elements=[form]).unwrap()
    ((given, kind, name, site),) = [(e.given, e.kind, e.name, e.site) for e in slots.excluded]
    assert (given, kind, name, site) == (form, "host", NOVA1, "lyon")
    assert max(s.free("nova") or 0 for s in slots.slots) == 1  # nova-2 only: nova-1 (free after 5000) is left out
    assert max(s.free("nova") or 0 for s in compute_slots(planning(), 600).unwrap().slots) == 2
    (spec,) = get_jobs_specs({"lyon": 2}, slots, slots.slots[0]).unwrap()
    assert spec.resources == "{host NOT IN ('nova-1.lyon.grid5000.fr')}/nodes=2"
    (spec,) = get_jobs_specs({"nova": 1}, slots, slots.slots[0], excluded_elements=[form]).unwrap()
    assert spec.resources == "{cluster='nova' AND host NOT IN ('nova-1.lyon.grid5000.fr')}/nodes=1"


def test_absent_host_is_excluded_by_its_fqdn() -> None:
    slots = compute_slots(planning(), 600, excluded_elements=["nova-30", "nova-31-eth1.lyon"]).unwrap()
    assert [(e.given, e.name) for e in slots.excluded] == [
        ("nova-30", "nova-30.lyon.grid5000.fr"), ("nova-31-eth1.lyon", "nova-31.lyon.grid5000.fr")]
    (spec,) = get_jobs_specs({"lyon": 1}, slots).unwrap()
    assert spec.resources == "{host NOT IN ('nova-30.lyon.grid5000.fr', 'nova-31.lyon.grid5000.fr')}/nodes=1"


def test_excluding_a_bare_host_of_an_unknown_cluster_is_refused() -> None:
    slots = compute_slots(planning(), 600).unwrap()
    error = get_jobs_specs({"lyon": 1}, slots, excluded_elements=["grisou-1"]).failure()
    assert isinstance(error, InvalidInput) and (error.name, error.value) == ("host", "grisou-1")
    assert error.expected == "a node name with its site: grisou-1.<site> or grisou-1.<site>.grid5000.fr"


@pytest.mark.parametrize("form", [*FORMS, "nova-1"])
def test_job_specs_ask_for_the_fqdn(form: str) -> None:
    slots = compute_slots(planning(), 600).unwrap()
    (spec,) = get_jobs_specs({form: 1}, slots).unwrap()
    assert (spec.site, spec.resources) == ("lyon", "{host IN ('nova-1.lyon.grid5000.fr')}/nodes=1")
    # two forms of one host are one host
    (spec,) = get_jobs_specs({form: 1, NOVA1: 1, "nova-2.lyon": 1}, slots).unwrap()
    assert spec.resources == "{host IN ('nova-1.lyon.grid5000.fr', 'nova-2.lyon.grid5000.fr')}/nodes=2"
    # a host inside an excluded element, or excluded under another form, is refused
    refused = get_jobs_specs({form: 1}, slots, excluded_elements=["nova-1.lyon"]).failure()
    assert isinstance(refused, InvalidInput) and (refused.name, refused.value) == ("resources", form)


def test_job_specs_refuse_a_bare_host_of_an_unknown_cluster() -> None:
    slots = compute_slots(planning(), 600).unwrap()
    error = get_jobs_specs({"grisou-1": 1}, slots).failure()
    assert isinstance(error, InvalidInput) and (error.name, error.value) == ("host", "grisou-1")
    assert error.expected == "a node name with its site: grisou-1.<site> or grisou-1.<site>.grid5000.fr"
    other = get_jobs_specs({"atlantis": 1}, slots).failure()
    assert isinstance(other, InvalidInput) and (other.name, other.value) == ("element", "atlantis")


def test_restrict_and_hosts_jobs_take_any_form() -> None:
    for form in (*FORMS, "nova-1"):
        assert [h.host for h in restrict_planning(planning(), [form]).hosts] == [NOVA1]
        (spec,) = get_hosts_jobs(planning(), [form, "nova-2"], 600).unwrap()
        assert spec.resources == ("{host IN ('nova-1.lyon.grid5000.fr', 'nova-2.lyon.grid5000.fr')}/nodes=2")
    bare = get_hosts_jobs(planning(), ["grisou-1"], 600).failure()
    assert isinstance(bare, InvalidInput) and bare.value == "grisou-1"
    absent = get_hosts_jobs(planning(), ["nova-9"], 600).failure()
    assert isinstance(absent, NotFound) and absent.key == "nova-9"


def test_builders_store_canonical_fqdns() -> None:
    status = {"nodes": {"nova-1.lyon": {"hard": "alive", "reservations": []},
                        "nova-2-eth1.lyon.grid5000.fr": {"hard": "alive", "reservations": []}}}
    job = {"uid": 1, "state": "running", "queue": "default", "types": [], "walltime": 100, "started_at": 1000,
           "assigned_nodes": ["nova-1-kavlan-4.lyon.grid5000.fr"]}
    built = planning_from_api("lyon", status, 0, 10000, {"items": [job]}).unwrap()
    assert [(h.host, h.busy) for h in built.hosts] == [(NOVA1, ((1000, 1221),)), ("nova-2.lyon.grid5000.fr", ())]
    rows = planning_from_oar_rows("lyon", [Row(1, "default", "nova-1.lyon", "Alive")], [], 0, 10000).unwrap()
    assert [h.host for h in rows.hosts] == [NOVA1]


def test_elements_against_the_reference_snapshot() -> None:
    snapshot = embedded_snapshot()
    assert sites_of_elements(snapshot, ["nova-1", "grele-2.nancy", "rennes", "dahu"]) == (
        "grenoble", "lyon", "nancy", "rennes")
    assert with_host_fqdns(["nova-1", "nova-1-eth1.lyon", "lyon", "nova", "kavlan-4", "atlantis-1"], snapshot) == (
        NOVA1, NOVA1, "lyon", "nova", "kavlan-4", "atlantis-1")


def test_cli_exclude_names_the_fqdn(capsys: pytest.CaptureFixture[str]) -> None:
    for form in ("nova-1.lyon", "nova-1", "nova-1-eth1.lyon.grid5000.fr"):
        assert main(["plan", "--json", "--no-plots", "--want", "nova:1", "--exclude", form]) == 0
        (job,) = json.loads(capsys.readouterr().out)["jobs"]
        assert job["resources"] == "{cluster='nova' AND host NOT IN ('nova-1.lyon.grid5000.fr')}/nodes=1"
        assert job["argv"][:3] == ["oarsub", "-l", f"{job['resources']},walltime=2:00:00"]


def test_cli_refuses_a_bare_host_of_an_unknown_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--json", "--no-plots", "--want", "nova:1", "--exclude", "atlantis-1"]) == 1
    error = json.loads(capsys.readouterr().out)
    assert (error["error"], error["name"], error["value"]) == ("InvalidInput", "host", "atlantis-1")
    assert error["expected"] == "a node name with its site: atlantis-1.<site> or atlantis-1.<site>.grid5000.fr"
