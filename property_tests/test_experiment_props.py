"""The whole `g5k up` / `g5k down` flow, driven by its pure step function against a simulated OAR world: no
testbed. A file written from random requests is read back; up holds one job per site whose hosts serve every
resource, reserved at the first slot of the world's planning; a second up submits nothing, reads no planning,
deploys nothing and says nothing changed; down leaves no job; jobs of the name on only some sites stop up with a
ReattachConflict before anything is submitted. The reservation date, against a naive reference on random
plannings: the file's date when it gives one, else a start where every site's free hosts serve all its resources
for the whole walltime and no earlier candidate start does; NoSlot only when no candidate start does."""

from __future__ import annotations

from attrs import define, field
from hypothesis import given
from hypothesis import strategies as st

from g5kpure.errors import G5kError, NoSlot, ReattachConflict
from g5kpure.experiment import (
    CheckDeployed,
    Deploy,
    Experiment,
    Finished,
    LookUp,
    ReadPlanning,
    Reserve,
    Stop,
    UpReport,
    UpState,
    WaitJobs,
    WriteInventory,
    assign_roles,
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
    reservation_start,
)
from g5kpure.oar import NamedJobs, OarJob, OarJobInfo, OarState, Reattach, decide_reattach
from g5kpure.planning import HostPlanning, Planning, free_hosts_at
from g5kpure.remote import NodeAccess

SITES = ("rennes", "lyon", "nancy")
CLUSTERS = ("paravance", "parasilo", "nova")
NODES_PER_CLUSTER = 10  # more than the 8 hosts 4 resources may name
T0 = 1_800_000_000
ALL_HOSTS = tuple(f"{c}-{n}.{s}.grid5000.fr" for s in SITES for c in CLUSTERS for n in range(1, NODES_PER_CLUSTER + 1))


@st.composite
def experiment_texts(draw: st.DrawFn) -> str:
    lines = ['name = "exp-' + draw(st.text("abcxyz0123", min_size=1, max_size=6)) + '"',
             f"walltime = {draw(st.integers(60, 20000))}"]
    named: set[tuple[str, str, int]] = set()
    for _ in range(draw(st.integers(1, 4))):
        site = draw(st.sampled_from(SITES))
        roles = draw(st.lists(st.sampled_from(("server", "client", "db", "monitor")), min_size=1, max_size=3))
        lines += ["", "[[resources]]", f'site = "{site}"']
        how = draw(st.sampled_from(("cluster", "hosts", "any")))
        if how == "cluster":
            lines += [f'cluster = "{draw(st.sampled_from(CLUSTERS))}"', f"nodes = {draw(st.integers(1, 2))}"]
        elif how == "hosts":
            cluster = draw(st.sampled_from(CLUSTERS))
            nums = [n for n in draw(st.lists(st.integers(1, NODES_PER_CLUSTER), min_size=1, max_size=2, unique=True))
                    if (site, cluster, n) not in named] or [n for n in range(1, NODES_PER_CLUSTER + 1)
                                                          if (site, cluster, n) not in named][:1]
            named.update((site, cluster, n) for n in nums)
            names = ", ".join(f'"{cluster}-{n}"' for n in nums)
            lines.append(f"hosts = [{names}]")
        else:
            lines.append(f"nodes = {draw(st.integers(1, 2))}")
        lines.append("roles = [" + ", ".join(f'"{r}"' for r in roles) + "]")
    if draw(st.booleans()):
        lines += ["", "[deploy]", 'environment = "debian12-min"']
    return "\n".join(lines) + "\n"


@define
class World:
    """A simulated grid: per site the live jobs (id, name, hosts), the deployed hosts, the inventory files."""

    jobs: dict[str, list[tuple[int, str, tuple[str, ...]]]] = field(factory=lambda: {s: [] for s in SITES})
    deployed: set[str] = field(factory=set)
    files: dict[str, str] = field(factory=dict)
    next_id: int = 1
    submissions: int = 0
    plannings_read: int = 0
    starts: list[int | None] = field(factory=list)

    def planning(self) -> Planning:
        """Every host, busy for a day when a live job holds it."""
        held = {h for jobs in self.jobs.values() for _, _, hs in jobs for h in hs}
        return Planning(T0, T0 + 7 * 86400, tuple(
            HostPlanning(h, h.split(".")[1], h.split("-")[0], ((T0, T0 + 86400),) if h in held else ())
            for h in ALL_HOSTS))

    def named(self, name: str, sites: tuple[str, ...]) -> NamedJobs:
        found = tuple((s, tuple(OarJobInfo(j, OarState.RUNNING, name=n) for j, n, _ in self.jobs[s] if n == name))
                      for s in sites)
        return NamedJobs(name, found)

    def allocate(self, exp: Experiment, site: str) -> tuple[str, ...]:
        """What OAR would give: for each resource, the first free matching hosts (disjoint)."""
        busy = {h for _, _, hs in self.jobs[site] for h in hs}
        every = [f"{c}-{n}.{site}.grid5000.fr" for c in CLUSTERS for n in range(1, NODES_PER_CLUSTER + 1)]
        got: list[str] = []
        for res in sorted(exp.resources_of(site), key=lambda r: 0 if r.hosts else 1 if r.cluster else 2):
            free = [h for h in every if h not in busy and h not in got and res.accepts(h)]
            got += free[: res.nodes]
        return tuple(got)

    def job_hosts(self, job: OarJob) -> tuple[str, ...]:
        return next(hs for j, _, hs in self.jobs[job.frontend or ""] if j == job.job_id)


def run_up(exp: Experiment, world: World) -> UpReport | G5kError:
    """Drive next_up_action against the world, performing each action as the adapter does."""
    state = UpState()
    for _ in range(20):
        action = next_up_action(exp, state)
        if isinstance(action, Finished):
            return action.report
        if isinstance(action, Stop):
            return action.error
        if isinstance(action, LookUp):
            state = observe_named(state, action.sites, world.named(action.name, action.sites))
        elif isinstance(action, ReadPlanning):
            world.plannings_read += 1
            state = observe_planning(state, world.planning())
        elif isinstance(action, Reserve):
            decided = decide_reattach(list(exp.sites), world.named(exp.name, exp.sites))
            if not hasattr(decided, "unwrap") or decided.__class__.__name__ == "Failure":
                state = observe_error(state, decided.failure())
                continue
            choice = decided.unwrap()
            if isinstance(choice, Reattach):
                state = observe_reserved(state, choice.jobs, True)
            else:
                jobs = []
                for _, site in action.specs:
                    hosts = world.allocate(exp, site)
                    world.jobs[site].append((world.next_id, action.name, hosts))
                    jobs.append(OarJob(world.next_id, site))
                    world.next_id += 1
                    world.submissions += 1
                world.starts.append(action.start)
                state = observe_reserved(state, jobs, False, action.start, action.why)
        elif isinstance(action, WaitJobs):
            state = observe_hosts(state, {j.frontend or "": world.job_hosts(j) for j in action.jobs})
        elif isinstance(action, CheckDeployed):
            state = observe_checked(state, [h for h in action.hosts if h not in world.deployed])
        elif isinstance(action, Deploy):
            assert not set(action.hosts) & world.deployed  # only what the check found not deployed
            world.deployed.update(action.hosts)
            state = observe_deployed(state, action.hosts, [])
        elif isinstance(action, WriteInventory):
            written = []
            for name, content in render_inventory(action.inventory, {s: NodeAccess() for s in exp.sites}, "/inv"):
                if world.files.get(name) != content:
                    world.files[name] = content
                    written.append(name)
            state = observe_written(state, written)
    raise AssertionError("up did not finish in 20 steps")


def run_down(exp: Experiment, world: World) -> None:
    for job in jobs_to_delete(world.named(exp.name, exp.sites)):
        world.jobs[job.frontend or ""] = [j for j in world.jobs[job.frontend or ""] if j[0] != job.job_id]


@given(experiment_texts())
def test_up_twice_then_down(text: str) -> None:
    exp = parse_experiment(text, "exp.toml").unwrap()
    world = World()
    first = run_up(exp, world)
    assert isinstance(first, UpReport), first
    assert first.changed and not first.reattached and world.submissions == len(exp.sites)
    assert world.plannings_read == 1 and world.starts == [T0] == [first.start]  # an empty world: free at once
    for site in exp.sites:  # one job per site, whose hosts serve every resource of the site
        assert len(world.named(exp.name, (site,)).jobs) == 1
    for res in exp.resources:
        assert sum(1 for _, hs in first.inventory.roles if set(hs)) >= 1
        role_hosts = set(dict(first.inventory.roles)[res.roles[0]])
        assert sum(1 for h in role_hosts if res.accepts(h) and first.inventory.site_of(h) == res.site) >= res.nodes
    if exp.deploy is not None:
        assert set(first.deployed) == set(first.inventory.hosts)
    second = run_up(exp, world)
    assert isinstance(second, UpReport)
    assert not second.changed and second.reattached and world.submissions == len(exp.sites)
    assert world.plannings_read == 1 and second.start is None  # reattaching reads no planning
    assert second.inventory == first.inventory and second.deployed == () and second.written == ()
    assert "already up" in second.describe()
    run_down(exp, world)
    assert world.named(exp.name, exp.sites).jobs == ()


@given(experiment_texts(), st.data())
def test_jobs_on_only_some_sites_stop_up_before_anything_is_submitted(text: str, data: st.DataObject) -> None:
    exp = parse_experiment(text, "exp.toml").unwrap()
    world = World()
    site = data.draw(st.sampled_from(exp.sites))
    world.jobs[site].append((99, exp.name, ()))
    if len(exp.sites) == 1:  # one site: two jobs of the name there is the conflict
        world.jobs[site].append((98, exp.name, ()))
    out = run_up(exp, world)
    assert isinstance(out, ReattachConflict) and world.submissions == 0


@given(st.text(max_size=300))
def test_reading_any_text_gives_an_experiment_or_a_config_error(text: str) -> None:
    got = parse_experiment(text, "x.toml")
    assert hasattr(got, "unwrap")


HOURS = st.integers(0, 12).map(lambda h: T0 + h * 3600)


@st.composite
def busy_plannings(draw: st.DrawFn) -> Planning:
    """Nodes 1-4 of each cluster of the world (a file may name others: never free), some busy over a few random
    hour-aligned intervals of a 12-hour window."""
    hosts = []
    for host in (h for h in ALL_HOSTS if int(h.split(".")[0].rsplit("-", 1)[1]) <= 4):
        busy = []
        for _ in range(draw(st.integers(0, 2))):
            a, b = sorted((draw(HOURS), draw(HOURS)))
            if a < b:
                busy.append((a, b))
        hosts.append(HostPlanning(host, host.split(".")[1], host.split("-")[0], tuple(busy)))
    return Planning(T0, T0 + 12 * 3600, tuple(hosts))


def _fits_at(exp: Experiment, planning: Planning, start: int) -> bool:
    """The naive reference: the hosts free for the whole walltime from ``start`` serve every resource."""
    if start + exp.walltime > planning.end:
        return False
    free = free_hosts_at(planning, start, exp.walltime)
    inv, _ = assign_roles(exp, {s: [h for h in free if h.split(".")[1] == s] for s in exp.sites})
    return inv is not None


@given(experiment_texts(), busy_plannings(), st.booleans())
def test_the_reservation_date_is_the_first_start_where_every_site_fits(text: str, planning: Planning,
                                                                      dated: bool) -> None:
    text = text.replace("walltime = ", 'walltime = "1:00:00"\n# ', 1)
    if dated:
        exp = parse_experiment("reservation = 1900000000\n" + text, "exp.toml").unwrap()
        assert reservation_start(exp, planning).unwrap().start == 1900000000
        return
    exp = parse_experiment(text, "exp.toml").unwrap()
    candidates = sorted({planning.start} | {e for h in planning.hosts for _, e in h.busy})
    got = reservation_start(exp, planning)
    chosen = got.value_or(None)
    if chosen is None:
        assert isinstance(got.failure(), NoSlot)
        assert not any(_fits_at(exp, planning, t) for t in candidates)
    else:
        assert _fits_at(exp, planning, chosen.start)
        assert not any(_fits_at(exp, planning, t) for t in candidates if t < chosen.start)
