"""The experiment file and the pure steps of g5k up / status / down."""

from __future__ import annotations

import json
import shlex

import pytest

from g5kpure.config import OARSH_PARAMS
from g5kpure.errors import ConfigError, NoSlot, Partial, ReattachConflict, Unreachable
from g5kpure.experiment import (
    CheckDeployed,
    Deploy,
    Finished,
    LookUp,
    ReadPlanning,
    Reserve,
    Stop,
    UpState,
    WaitJobs,
    WriteInventory,
    assign_roles,
    experiment_status,
    first_common_slot,
    jobs_to_delete,
    next_up_action,
    observe_checked,
    observe_deployed,
    observe_error,
    observe_hosts,
    observe_named,
    observe_planning,
    observe_reserved,
    observe_written,
    parse_experiment,
    render_inventory,
    ssh_config_text,
)
from g5kpure.oar import NamedJobs, OarJob, OarJobInfo, OarState, oarsub_argv
from g5kpure.oar.dates import PARIS
from g5kpure.planning import HostPlanning, Planning
from g5kpure.remote import Jump, oarsh_access, root_access

GOOD = """\
name = "exp1"
walltime = "1:30"
types = ["allow_classic_ssh"]

[[resources]]
site = "rennes"
cluster = "paravance"
nodes = 2
roles = ["server"]

[[resources]]
site = "rennes"
hosts = ["parasilo-1", "parasilo-2.rennes"]
roles = ["client", "monitor"]

[[resources]]
site = "lyon"
nodes = 1
roles = "client"
"""

P = [f"paravance-{i}.rennes.grid5000.fr" for i in range(1, 5)]
S = [f"parasilo-{i}.rennes.grid5000.fr" for i in range(1, 5)]


def test_a_good_file() -> None:
    exp = parse_experiment(GOOD, "exp.toml").unwrap()
    assert (exp.name, exp.walltime, exp.sites, exp.roles) == ("exp1", 5400, ("rennes", "lyon"),
                                                              ("server", "client", "monitor"))
    assert exp.resources[1].hosts == (S[0], S[1]) and exp.resources[1].nodes == 2
    (rennes, site1), (lyon, site2) = exp.submissions()
    assert (site1, site2) == ("rennes", "lyon")
    assert rennes.name == "exp1" and rennes.walltime == 5400 and rennes.job_type == ("allow_classic_ssh",)
    assert rennes.resources == ("{cluster='paravance'}/nodes=2", f"{{host in ('{S[0]}', '{S[1]}')}}/nodes=2")
    assert lyon.resources == ("nodes=1",)
    argv = oarsub_argv(rennes)
    assert argv[:2] == ("oarsub", "-l") and argv[2].endswith(",walltime=1:30:00") and "-n" in argv


def test_reservation_date_and_deploy() -> None:
    text = GOOD.replace('walltime = "1:30"', 'walltime = "1:30"\nreservation = "2026-12-01 19:00:00"')
    text += '\n[deploy]\nenvironment = "debian12-min"\ntries = 2\ncheck = "true"\n'
    exp = parse_experiment(text, tz=PARIS).unwrap()
    assert exp.reservation == 1796148000 and exp.deploy is not None and exp.deploy.tries == 2
    assert exp.job_types() == ("allow_classic_ssh", "deploy")
    assert exp.submissions()[0][0].reservation_date == 1796148000


def test_the_planning_source_and_the_deploy_access() -> None:
    exp = parse_experiment(GOOD).unwrap()
    assert exp.planning == "api" and exp.oarapi == ()
    text = GOOD.replace('types = ["allow_classic_ssh"]', 'planning = "oarapi"') + (
        '\n[oarapi]\nrennes = "http://127.0.0.1:6668/oarapi/"\nlyon = "https://lyon.example/oarapi"\n'
        '\n[deploy]\nenvironment = "debian12-min"\naccess = "oarsh"\n')
    exp = parse_experiment(text).unwrap()
    assert exp.planning == "oarapi" and dict(exp.oarapi) == {"rennes": "http://127.0.0.1:6668/oarapi",
                                                             "lyon": "https://lyon.example/oarapi"}
    assert exp.deploy is not None and exp.deploy.access == "oarsh"
    err = parse_experiment(text.replace('lyon = "https://lyon.example/oarapi"\n', ""), "e.toml").failure()
    assert isinstance(err, ConfigError) and (err.key, err.line) == ("planning", 3)
    assert "of lyon in [oarapi]" in err.reason
    err = parse_experiment(text.replace('"http://127.0.0.1:6668/oarapi/"', '"ftp://x"'), "e.toml").failure()
    assert isinstance(err, ConfigError) and (err.key, err.line) == ("oarapi.rennes", 22)
    err = parse_experiment(text.replace('"oarsh"', '"telnet"'), "e.toml").failure()
    assert isinstance(err, ConfigError) and err.key == "deploy.access" and "'root', 'oarsh'" in err.reason
    err = parse_experiment(GOOD.replace('types = ["allow_classic_ssh"]', 'planning = "oar"'), "e.toml").failure()
    assert isinstance(err, ConfigError) and (err.key, err.line) == ("planning", 3)
    assert "'api', 'oardb', 'oarapi'" in err.reason


@pytest.mark.parametrize(
    ("change", "key", "line", "words"),
    [
        (('walltime = "1:30"', 'walltime = "soon"'), "walltime", 2, "expected"),
        (('name = "exp1"', 'name = "-x"'), "name", 1, "job name"),
        (('types = ["allow_classic_ssh"]', 'colour = "red"'), "colour", 3, "unknown key"),
        (("nodes = 2", "nodes = 0"), "resources[0].nodes", 8, "at least 1"),
        (('cluster = "paravance"', 'cluster = "paravance"\nhosts = ["paravance-1"]'), "resources[0].hosts", 8,
         "not both"),
        (('hosts = ["parasilo-1", "parasilo-2.rennes"]', 'hosts = ["parasilo-1.lyon"]'), "resources[1].hosts", 13,
         "not on site rennes"),
        (('roles = ["client", "monitor"]', 'roles = ["a b"]'), "resources[1].roles", 14, "not a valid name"),
        (('site = "lyon"', 'site = "Lyon!"'), "resources[2].site", 17, "site name"),
        (('site = "lyon"', 'site = "lyon"\nsize = 3'), "resources[2].size", 18, "unknown key"),
    ],
)
def test_each_refusal_names_its_key_and_line(change: tuple[str, str], key: str, line: int, words: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    err = parse_experiment(text, "exp.toml").failure()
    assert isinstance(err, ConfigError)
    assert (err.key, err.line, err.source) == (key, line, "exp.toml"), err.message
    assert words in err.reason and f"exp.toml line {line}" in err.message


def test_several_problems_are_reported_together() -> None:
    err = parse_experiment('walltime = 0\n[[resources]]\nsite = "rennes"\n', "x.toml").failure()
    assert isinstance(err, ConfigError) and len(err.problems) >= 3
    keys = {p.key for p in err.problems}
    assert {"name", "walltime", "resources[0].nodes", "resources[0].roles"} <= keys


@pytest.mark.parametrize("text", ["name = ", "[[resources]\n", 'name = "a"\nname = "b"\n'])
def test_bad_toml_names_the_line(text: str) -> None:
    err = parse_experiment(text, "x.toml").failure()
    assert isinstance(err, ConfigError) and err.key == "(syntax)" and err.line is not None


def test_missing_everything() -> None:
    err = parse_experiment("", "x.toml").failure()
    assert {p.key for p in err.problems} == {"name", "walltime", "resources"}


# ------------------------------------------------------------------------------------------------ roles


def _exp() -> object:
    return parse_experiment(GOOD).unwrap()


def test_roles_get_the_matching_hosts_of_each_site_s_job() -> None:
    exp = parse_experiment(GOOD).unwrap()
    inv, err = assign_roles(exp, {"rennes": [P[3], S[1], P[0], S[0]], "lyon": ["nova-3.lyon.grid5000.fr"]},
                            [OarJob(7, "rennes"), OarJob(8, "lyon")])
    assert err is None and inv is not None
    assert dict(inv.roles) == {"server": (P[0], P[3]), "client": ("nova-3.lyon.grid5000.fr", S[0], S[1]),
                               "monitor": (S[0], S[1])}
    assert inv.site_of(S[0]) == "rennes" and inv.site_of("x") is None
    assert json.loads(render_inventory(inv, {}, "/inv")[0][1])["jobs"] == {"rennes": 7, "lyon": 8}


def test_too_few_hosts_is_a_partial_naming_the_resource() -> None:
    exp = parse_experiment(GOOD).unwrap()
    inv, err = assign_roles(exp, {"rennes": [P[0], S[0], S[1]], "lyon": ["nova-1.lyon.grid5000.fr"]})
    assert inv is None and isinstance(err, Partial)
    assert err.failed[0][0] == "rennes" and "holds only 1" in err.message


def test_the_ssh_config_reaches_each_host_as_its_access_says() -> None:
    jump = Jump("rennes.grid5000.fr", user="alice")
    text = ssh_config_text([(P[0], oarsh_access(OARSH_PARAMS, jump)), (P[1], root_access(kavlan=4))])
    block = text.split("\n\n")[1].splitlines()
    assert block[0] == f"Host {P[0]}" and "  Port 6667" in block and "  User oar" in block
    proxy = next(line for line in block if line.startswith("  ProxyCommand "))
    assert shlex.split(proxy.split(" ", 3)[3])[-1] == "rennes.grid5000.fr"
    second = text.split("\n\n")[2].splitlines()
    assert "  HostName paravance-2-kavlan-4.rennes.grid5000.fr" in second and "  User root" in second


def test_the_ansible_inventory_has_a_group_per_role_and_site() -> None:
    exp = parse_experiment(GOOD).unwrap()
    inv, _ = assign_roles(exp, {"rennes": [P[0], P[1], S[0], S[1]], "lyon": ["nova-1.lyon.grid5000.fr"]})
    assert inv is not None
    files = dict(render_inventory(inv, {"rennes": oarsh_access(OARSH_PARAMS)}, "/inv/"))
    ini = files["hosts.ini"]
    assert "ansible_ssh_common_args='-F /inv/ssh_config'" in ini
    assert f"[server]\n{P[0]}\n{P[1]}\n" in ini and "[site_lyon]\nnova-1.lyon.grid5000.fr\n" in ini
    assert "nova-1" not in files["ssh_config"]  # no access for lyon: left out of the ssh_config


# -------------------------------------------------------------------------------------------------- steps


T0 = 1_800_000_000
HOUR = 3600


def _planning(busy: dict[str, tuple[int, int]], failed: tuple[tuple[str, Unreachable], ...] = ()) -> Planning:
    """rennes: paravance-1..3, parasilo-1..2; lyon: nova-1..2; each host busy over the given interval, if any."""
    hosts = [*(f"paravance-{i}.rennes.grid5000.fr" for i in (1, 2, 3)),
             *(f"parasilo-{i}.rennes.grid5000.fr" for i in (1, 2)), "nova-1.lyon.grid5000.fr",
             "nova-2.lyon.grid5000.fr"]
    return Planning(T0, T0 + 48 * HOUR, tuple(
        HostPlanning(h, h.split(".")[1], h.split("-")[0], (busy[h],) if h in busy else ()) for h in hosts),
        failed_sites=failed)


def test_up_walks_through_lookup_planning_reserve_wait_write_finish() -> None:
    exp = parse_experiment(GOOD).unwrap()
    state = UpState()
    assert next_up_action(exp, state) == LookUp("exp1", ("rennes", "lyon"))
    state = observe_named(state, exp.sites, NamedJobs("exp1", (("rennes", ()), ("lyon", ()))))
    action = next_up_action(exp, state)
    assert action == ReadPlanning(("rennes", "lyon"), "api", 5400, None, ())
    # nova-1 and nova-2 are busy for the first 2 hours: lyon's one node is free from then on
    state = observe_planning(state, _planning({"nova-1.lyon.grid5000.fr": (T0, T0 + 2 * HOUR),
                                               "nova-2.lyon.grid5000.fr": (T0, T0 + 3 * HOUR)}))
    action = next_up_action(exp, state)
    assert isinstance(action, Reserve) and action.specs == exp.submissions() and action.name == "exp1"
    assert action.start == T0 + 2 * HOUR and "first slot of the planning" in action.why
    jobs = (OarJob(7, "rennes"), OarJob(8, "lyon"))
    state = observe_reserved(state, jobs, reattached=False, start=action.start, why=action.why)
    assert next_up_action(exp, state) == WaitJobs(jobs)
    state = observe_hosts(state, {"rennes": P[:2] + S[:2], "lyon": ["nova-1.lyon.grid5000.fr"]})
    write = next_up_action(exp, state)
    assert isinstance(write, WriteInventory)
    state = observe_written(state, ["inventory.json"])
    done = next_up_action(exp, state)
    assert isinstance(done, Finished) and done.report.changed and done.report.start == T0 + 2 * HOUR
    said = done.report.describe(PARIS)
    assert "submitted jobs 7@rennes" in said and "from 2027-01-15 11:00:00 (the first slot of the planning" in said


def test_the_file_s_date_wins_and_no_planning_is_read() -> None:
    exp = parse_experiment(GOOD.replace('walltime = "1:30"', 'walltime = "1:30"\nreservation = 1900000000')).unwrap()
    action = next_up_action(exp, UpState())
    assert isinstance(action, Reserve) and action.start == 1900000000
    assert action.why == "the reservation date of the file"


def test_jobs_of_the_name_on_every_site_are_reattached_without_a_planning() -> None:
    exp = parse_experiment(GOOD).unwrap()
    named = NamedJobs("exp1", (("rennes", (OarJobInfo(7, OarState.RUNNING, name="exp1"),)),
                               ("lyon", (OarJobInfo(8, OarState.WAITING, name="exp1"),))))
    state = observe_named(UpState(), exp.sites, named)
    assert state.reattached and next_up_action(exp, state) == WaitJobs((OarJob(7, "rennes"), OarJob(8, "lyon")))
    some = NamedJobs("exp1", (("rennes", (OarJobInfo(7, OarState.RUNNING, name="exp1"),)), ("lyon", ())))
    stopped = next_up_action(exp, observe_named(UpState(), exp.sites, some))
    assert isinstance(stopped, Stop) and isinstance(stopped.error, ReattachConflict)
    assert stopped.error.absent == ("lyon",)


def test_named_hosts_must_be_free_together_with_the_other_resources() -> None:
    exp = parse_experiment(GOOD).unwrap()  # rennes: 2 paravance + parasilo-1 and -2 by name; lyon: 1 node
    # parasilo-2 is busy for 5 hours, two paravance for 1 hour, the third for 2: the first fit is at +5h
    busy = {S[1]: (T0, T0 + 5 * HOUR), P[0]: (T0, T0 + HOUR), P[1]: (T0 + 6 * HOUR, T0 + 9 * HOUR)}
    choice = first_common_slot(exp, _planning(busy)).unwrap()
    # at +5h, paravance-1 and -3 serve the cluster resource (paravance-2 is busy from +6h, inside the 1:30 walltime)
    assert choice.start == T0 + 5 * HOUR and "1:30:00" in choice.why


def test_no_common_slot_says_which_site_falls_short() -> None:
    exp = parse_experiment(GOOD.replace("nodes = 1", "nodes = 3")).unwrap()  # lyon has 2 nodes
    err = first_common_slot(exp, _planning({})).failure()
    assert isinstance(err, NoSlot) and "lyon has at most 2 of the 3 nodes" in err.why
    always = {S[0]: (T0, T0 + 48 * HOUR)}  # a named host busy for the whole planning
    err = first_common_slot(parse_experiment(GOOD).unwrap(), _planning(always)).failure()
    assert isinstance(err, NoSlot) and "never free all at once" in err.why


def test_a_site_whose_planning_failed_stops_with_its_error() -> None:
    down = Unreachable("lyon", "connection refused", after_s=5.0)
    err = first_common_slot(parse_experiment(GOOD).unwrap(), _planning({}, (("lyon", down),))).failure()
    assert isinstance(err, Partial) and err.failed == (("lyon", down),) and err.succeeded == ("rennes",)
    nancy = parse_experiment(GOOD.replace('site = "lyon"', 'site = "nancy"')).unwrap()
    err = first_common_slot(nancy, _planning({})).failure()
    assert isinstance(err, NoSlot) and err.why.startswith("nancy: no host in the planning")


def test_a_second_up_that_reattaches_and_writes_nothing_says_so() -> None:
    exp = parse_experiment(GOOD).unwrap()
    state = observe_reserved(UpState(), (OarJob(7, "rennes"), OarJob(8, "lyon")), reattached=True)
    state = observe_written(observe_hosts(state, {"rennes": P[:2] + S[:2], "lyon": ["nova-1.lyon"]}), [])
    done = next_up_action(exp, state)
    assert isinstance(done, Finished) and not done.report.changed
    assert "already up" in done.report.describe() and "nothing submitted" in done.report.describe()


def test_deploy_comes_before_the_inventory_and_an_undeployed_host_stops() -> None:
    exp = parse_experiment(GOOD + '\n[deploy]\nenvironment = "debian12-min"\n').unwrap()
    state = observe_hosts(observe_reserved(UpState(), (OarJob(7, "rennes"), OarJob(8, "lyon")), False),
                          {"rennes": P[:2] + S[:2], "lyon": ["nova-1.lyon.grid5000.fr"]})
    action = next_up_action(exp, state)
    assert action == CheckDeployed(tuple(sorted([*P[:2], *S[:2], "nova-1.lyon.grid5000.fr"])), None, "root")
    assert isinstance(next_up_action(exp, observe_checked(state, [])), WriteInventory)  # all deployed already
    state = observe_checked(state, [P[1], P[0]])
    assert next_up_action(exp, state) == Deploy((P[0], P[1]), "debian12-min", 1)
    assert isinstance(next_up_action(exp, observe_deployed(state, P[:2], [])), WriteInventory)
    stopped = next_up_action(exp, observe_deployed(state, P[:1], [P[1]]))
    assert isinstance(stopped, Stop) and isinstance(stopped.error, Partial)


def test_an_error_stops_at_any_step() -> None:
    exp = parse_experiment(GOOD).unwrap()
    err = Partial("x")
    assert next_up_action(exp, observe_error(UpState(), err)) == Stop(err)


def test_down_deletes_every_live_job_of_the_name_and_status_reports_each_site() -> None:
    exp = parse_experiment(GOOD).unwrap()
    running = OarJobInfo(7, OarState.RUNNING, name="exp1")
    named = NamedJobs("exp1", (("rennes", (running,)), ("lyon", ())))
    assert jobs_to_delete(named) == (OarJob(7, "rennes"),)
    st = experiment_status(exp, named)
    assert st.jobs == (("rennes", 7, "Running"),) and st.missing == ("lyon",) and not st.up
    both = NamedJobs("exp1", (("rennes", (running,)), ("lyon", (OarJobInfo(8, OarState.WAITING, name="exp1"),))))
    assert experiment_status(exp, both).up
