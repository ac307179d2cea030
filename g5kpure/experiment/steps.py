"""Bringing an experiment up and down: each step's decision is a pure function of what was observed.

``g5k up FILE`` is a loop: :func:`next_up_action` looks at an :class:`UpState` (what has been observed so far)
and says what to do next; the adapter (``g5k.experiment``) does it and records what it saw with the ``observe_*``
functions. The actions, in order:

1. :class:`Reserve`: reattach to the jobs named after the experiment on every site, or submit them all or
   nothing (``g5k.reserve.reserve_or_reattach``, whose decision is ``g5kpure.oar.reserve.decide_reattach``).
   The date is the file's ``reservation``; without one, :class:`LookUp` first reads the jobs of the name
   (reattaching needs no planning), then :class:`ReadPlanning` reads the sites' planning from the file's
   ``planning`` source and :func:`reservation_start` picks its first slot where every site's resources are free
   for the walltime (or says why there is none);
2. :class:`WaitJobs`: wait until the jobs run and read their hosts;
3. only with a ``[deploy]`` table: :class:`CheckDeployed` runs the check command on the hosts, then
   :class:`Deploy` deploys those where it failed (none: nothing is deployed);
4. :class:`WriteInventory`: roles to hosts (:func:`assign_roles`), rendered as JSON, an ssh_config and an Ansible
   inventory (:func:`render_inventory`); files whose content is unchanged are not rewritten;
5. :class:`Finished`: the report, which says "already up, nothing done" when nothing was submitted, deployed or
   written; or :class:`Stop` with the error that ended it.

``g5k down FILE`` deletes every live job of the experiment's name (:func:`jobs_to_delete`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import tzinfo
from typing import Final

from attrs import evolve, field, frozen
from returns.methods import unwrap_or_failure
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput, NoSlot, Partial
from g5kpure.experiment.model import Experiment, Resource
from g5kpure.hosts import natural_key
from g5kpure.oar.dates import PARIS, format_unixts, format_walltime
from g5kpure.oar.reserve import NamedJobs, Reattach, ReattachDecision, decide_reattach
from g5kpure.oar.submission import OarSubmission
from g5kpure.oar.watch import OarJob
from g5kpure.planning.model import Planning, restrict_planning
from g5kpure.planning.slots import Slots, compute_slots, find_free_slot
from g5kpure.remote.plan import NodeAccess

INVENTORY_JSON: Final = "inventory.json"
SSH_CONFIG: Final = "ssh_config"
ANSIBLE_INVENTORY: Final = "hosts.ini"


def _pairs(value: Iterable[tuple[str, Sequence[str]]] | Mapping[str, Sequence[str]]) -> tuple[
        tuple[str, tuple[str, ...]], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), tuple(v)) for k, v in items)


@frozen
class Inventory:
    """The experiment's hosts: per role and per site, each role's hosts in natural order."""

    name: str
    roles: tuple[tuple[str, tuple[str, ...]], ...] = field(converter=_pairs)
    sites: tuple[tuple[str, tuple[str, ...]], ...] = field(converter=_pairs)
    jobs: tuple[tuple[str, int], ...] = ()

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every host, in natural order."""
        return tuple(sorted({h for _, hs in self.sites for h in hs}, key=natural_key))

    def site_of(self, host: str) -> str | None:
        """The site whose job holds ``host``."""
        return next((s for s, hs in self.sites if host in hs), None)


def assign_roles(exp: Experiment, hosts_by_site: Mapping[str, Sequence[str]],
                 jobs: Sequence[OarJob] = ()) -> tuple[Inventory | None, G5kError | None]:
    """Give each resource of the file its hosts among those its site's job got (in natural order, each host to
    one resource, resources naming hosts served first, then those naming a cluster), and each role the hosts of
    its resources. An error when a job got fewer matching hosts than
    asked (possible with a request OAR reads more loosely than this file)."""
    roles: dict[str, list[str]] = {role: [] for role in exp.roles}
    missing: list[tuple[str, G5kError]] = []
    for site in exp.sites:
        free = sorted(dict.fromkeys(hosts_by_site.get(site, ())), key=natural_key)
        # the most constrained first: named hosts, then a cluster, then any node (OAR satisfied them all at once)
        for res in sorted(exp.resources_of(site), key=lambda r: 0 if r.hosts else 1 if r.cluster else 2):
            chosen = [h for h in free if res.accepts(h)][: res.nodes]
            for h in chosen:
                free.remove(h)
                for role in res.roles:
                    roles[role].append(h)
            if len(chosen) < res.nodes:
                missing.append((site, InvalidInput("hosts", ", ".join(chosen) or "none",
                                                   f"{res.describe()}: the job holds only {len(chosen)}")))
    if missing:
        return None, Partial("assigning the job's hosts to roles", failed=tuple(missing))
    inv = Inventory(exp.name, {r: sorted(hs, key=natural_key) for r, hs in roles.items()},
                    {s: sorted(hosts_by_site.get(s, ()), key=natural_key) for s in exp.sites},
                    tuple((j.frontend or "", j.job_id) for j in jobs))
    return inv, None


# -------------------------------------------------------------------------------------------- rendering


def inventory_json(inv: Inventory) -> str:
    """``{"name", "roles": {role: [hosts]}, "sites": {site: [hosts]}, "jobs": {site: id}}`` as sorted JSON."""
    data = {"name": inv.name, "roles": dict(inv.roles), "sites": dict(inv.sites), "jobs": dict(inv.jobs)}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def ssh_config_text(entries: Sequence[tuple[str, NodeAccess]]) -> str:
    """An ssh configuration reaching each host as its access says (``ssh -F FILE HOST``): one ``Host`` block
    per host, with every option of the access written as ``Name value``."""
    blocks = ["# written by `g5k up`: ssh -F THIS_FILE HOST"]
    for host, access in entries:
        lines = [f"Host {host}"]
        if access.address_of(host) != host:
            lines.append(f"  HostName {access.address_of(host)}")
        for option in access.options():
            if option.startswith("-o"):
                name, _, value = option[2:].partition("=")
                lines.append(f"  {name} {value}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def ansible_inventory_text(inv: Inventory, ssh_config_path: str) -> str:
    """An Ansible INI inventory: a group per role (and per site), reached through the written ssh_config."""
    lines = ["# written by `g5k up`", "[all:vars]", f"ansible_ssh_common_args='-F {ssh_config_path}'", ""]
    for role, hosts in inv.roles:
        lines += [f"[{_group(role)}]", *hosts, ""]
    for site, hosts in inv.sites:
        lines += [f"[site_{_group(site)}]", *hosts, ""]
    return "\n".join(lines)


def _group(name: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


def render_inventory(inv: Inventory, access_of_site: Mapping[str, NodeAccess], folder: str) -> tuple[
        tuple[str, str], ...]:
    """The inventory files (name, content): ``inventory.json``, ``ssh_config`` and ``hosts.ini``."""
    entries = [(h, access_of_site[site]) for h in inv.hosts
               if (site := inv.site_of(h)) is not None and site in access_of_site]
    ssh_path = f"{folder.rstrip('/')}/{SSH_CONFIG}"
    return ((INVENTORY_JSON, inventory_json(inv)), (SSH_CONFIG, ssh_config_text(entries)),
            (ANSIBLE_INVENTORY, ansible_inventory_text(inv, ssh_path)))


# ------------------------------------------------------------------------------------------ when to reserve


@frozen
class StartChoice:
    """The date every site is reserved at, and where it comes from (said to the user)."""

    start: int
    why: str


def _fits(resources: Sequence[Resource], free: Iterable[str]) -> bool:
    """Whether the free hosts of a site serve all its resources at once: named hosts first, then clusters, then
    any node (the constraints nest, so serving the most constrained first never loses a fitting choice)."""
    left = set(free)
    for res in sorted(resources, key=lambda r: 0 if r.hosts else 1 if r.cluster else 2):
        chosen = sorted((h for h in left if res.accepts(h)), key=natural_key)[: res.nodes]
        if len(chosen) < res.nodes:
            return False
        left.difference_update(chosen)
    return True


def _counts(exp: Experiment) -> dict[str, int]:
    """The experiment as planning counts (inclusive: a site's count includes its clusters'), to explain a miss."""
    wanted: dict[str, int] = {}
    for res in exp.resources:
        wanted[res.site] = wanted.get(res.site, 0) + res.nodes
        if res.cluster is not None:
            wanted[res.cluster] = wanted.get(res.cluster, 0) + res.nodes
    return wanted


def first_common_slot(exp: Experiment, planning: Planning) -> Result[StartChoice, G5kError]:
    """The first slot of ``planning`` where the hosts free for the whole walltime serve every resource of every
    site at once; a ``Partial`` when a site's planning could not be read, else a ``NoSlot`` saying what falls
    short."""
    failed = tuple((site, error) for site, error in planning.failed_sites if site in exp.sites)
    if failed:
        return Failure(Partial("reading the planning", succeeded=tuple(s for s in exp.sites if s not in dict(failed)),
                               failed=failed))
    plan = restrict_planning(planning, exp.sites)
    absent = [site for site in exp.sites if site not in plan.sites]
    if absent:
        return Failure(NoSlot(f"{', '.join(absent)}: no host in the planning (unknown site, or none in the queue)"))
    slots: Result[Slots, G5kError] = compute_slots(plan, exp.walltime, include_hosts=True)
    return slots.bind(lambda found: _common_slot(exp, plan, found))


def _common_slot(exp: Experiment, plan: Planning, slots: Slots) -> Result[StartChoice, G5kError]:
    site_hosts = {site: frozenset(h.host for h in plan.hosts if h.site == site) for site in exp.sites}
    for slot in slots.slots:
        free = slot.hosts or frozenset()
        if all(_fits(exp.resources_of(site), free & hosts) for site, hosts in site_hosts.items()):
            return Success(StartChoice(slot.start, f"the first slot of the planning where every site's resources are "
                                                   f"free for {format_walltime(exp.walltime)}"))
    short = find_free_slot(slots, _counts(exp)).swap().value_or(None)
    if isinstance(short, NoSlot):
        return Failure(short)  # the counts alone fall short: it says which element and by how much
    return Failure(NoSlot("the resources of the file (with the hosts it names) are never free all at once for "
                          f"{format_walltime(exp.walltime)} before the end of the planning"))


def reservation_start(exp: Experiment, planning: Planning | None) -> Result[StartChoice, G5kError]:
    """When to reserve every site: the file's reservation date, else the planning's first common slot
    (:func:`first_common_slot`), else why there is none."""
    if exp.reservation is not None:
        return Success(StartChoice(exp.reservation, "the reservation date of the file"))
    if planning is None:
        return Failure(NoSlot("the file gives no reservation date and no planning was read"))
    return first_common_slot(exp, planning)


# ---------------------------------------------------------------------------------------------- up steps


@frozen
class LookUp:
    """Read the live jobs named after the experiment on its sites (all held: reattach; none: find a date)."""

    name: str
    sites: tuple[str, ...]


@frozen
class ReadPlanning:
    """Read the planning of the sites from ``source`` (see ``Experiment.planning``), from now on."""

    sites: tuple[str, ...]
    source: str
    walltime: int
    queue: str | None
    oarapi: tuple[tuple[str, str], ...] = ()


@frozen
class Reserve:
    """Reattach to the jobs of this name on every site, or submit them all (all or nothing)."""

    name: str
    specs: tuple[tuple[OarSubmission, str], ...]
    start: int | None
    why: str = ""
    """Where ``start`` comes from (the file, or the planning's first common slot)."""


@frozen
class WaitJobs:
    """Wait until the jobs run; then read their hosts."""

    jobs: tuple[OarJob, ...]


@frozen
class CheckDeployed:
    """Run the check command on the hosts (None: the configuration's), reaching them as ``access`` says
    (``root`` or ``oarsh``): the hosts where it fails are not deployed yet."""

    hosts: tuple[str, ...]
    check: str | None
    access: str


@frozen
class Deploy:
    """Deploy these hosts (those the check found not deployed), at most ``tries`` times."""

    hosts: tuple[str, ...]
    environment: str
    tries: int


@frozen
class WriteInventory:
    """Write the inventory (files left alone when their content is the same)."""

    inventory: Inventory


@frozen
class UpReport:
    """What `g5k up` did: the jobs (reattached or submitted), hosts deployed now, files written, the inventory."""

    name: str
    jobs: tuple[OarJob, ...]
    reattached: bool
    deployed: tuple[str, ...]
    written: tuple[str, ...]
    inventory: Inventory
    start: int | None = None
    """The date the submitted jobs were reserved at (None: reattached, or OAR's first slot)."""
    start_why: str = ""

    @property
    def changed(self) -> bool:
        """False when everything was already in place (nothing submitted, deployed or written)."""
        return not self.reattached or bool(self.deployed) or bool(self.written)

    def describe(self, tz: tzinfo = PARIS) -> str:
        """One paragraph saying what was done, or that nothing was (dates in ``tz``, the OAR servers')."""
        jobs = ", ".join(str(j) for j in self.jobs)
        if not self.changed:
            return f"experiment {self.name} is already up (jobs {jobs}): nothing submitted, deployed or written"
        parts = [f"reattached to jobs {jobs}" if self.reattached else f"submitted jobs {jobs}"]
        if not self.reattached and self.start is not None:
            parts[0] += f" from {format_unixts(self.start, tz)}" + (f" ({self.start_why})" if self.start_why else "")
        if self.deployed:
            parts.append(f"deployed {len(self.deployed)} host(s)")
        if self.written:
            parts.append(f"wrote {', '.join(self.written)}")
        return f"experiment {self.name}: " + "; ".join(parts)


@frozen
class Finished:
    """Done: the report."""

    report: UpReport


@frozen
class Stop:
    """Stopped by an error (what was held stays held: `g5k down FILE` deletes it)."""

    error: G5kError


UpAction = LookUp | ReadPlanning | Reserve | WaitJobs | CheckDeployed | Deploy | WriteInventory | Finished | Stop


@frozen
class UpState:
    """What `g5k up` has observed so far."""

    jobs: tuple[OarJob, ...] | None = None
    reattached: bool = False
    named: NamedJobs | None = None
    planning: Planning | None = None
    start: int | None = None
    start_why: str = ""
    hosts: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    not_deployed: tuple[str, ...] | None = None
    deployed: tuple[str, ...] | None = None
    undeployed: tuple[str, ...] = ()
    written: tuple[str, ...] | None = None
    error: G5kError | None = None


def next_up_action(exp: Experiment, state: UpState) -> UpAction:
    """What `g5k up` does next, from what it has observed (total: every state gives an action)."""
    if state.error is not None:
        return Stop(state.error)
    if state.jobs is None:
        if exp.reservation is None and state.named is None:
            return LookUp(exp.name, exp.sites)
        if exp.reservation is None and state.planning is None:
            return ReadPlanning(exp.sites, exp.planning, exp.walltime, exp.queue, exp.oarapi)
        return unwrap_or_failure(reservation_start(exp, state.planning).map(
            lambda choice: Reserve(exp.name, exp.submissions(), choice.start, choice.why)
        ).alt(Stop))
    if state.hosts is None:
        return WaitJobs(state.jobs)
    inv, problem = assign_roles(exp, dict(state.hosts), state.jobs)
    if inv is None:
        return Stop(problem or InvalidInput("hosts", "", "hosts for every resource"))
    if exp.deploy is not None and state.not_deployed is None:
        return CheckDeployed(inv.hosts, exp.deploy.check, exp.deploy.access)
    if exp.deploy is not None and state.deployed is None and state.not_deployed:
        return Deploy(state.not_deployed, exp.deploy.environment, exp.deploy.tries)
    if state.undeployed:
        return Stop(Partial("deployment", succeeded=state.deployed or (),
                            failed=tuple((h, InvalidInput("host", h, "a deployed node")) for h in state.undeployed)))
    if state.written is None:
        return WriteInventory(inv)
    return Finished(UpReport(exp.name, state.jobs, state.reattached, state.deployed or (), state.written, inv,
                             state.start, state.start_why))


def observe_named(state: UpState, sites: Sequence[str], named: NamedJobs) -> UpState:
    """Record the live jobs of the name read on ``sites`` after :class:`LookUp`: one on every site, they are the
    experiment's (reattached); some sites only, the ``ReattachConflict`` that stops `up`; none, nothing yet."""
    def decided(choice: ReattachDecision) -> UpState:
        if isinstance(choice, Reattach):
            return evolve(state, named=named, jobs=choice.jobs, reattached=True)
        return evolve(state, named=named)

    return unwrap_or_failure(decide_reattach(list(sites), named).map(decided).alt(
        lambda error: evolve(state, named=named, error=error)
    ))


def observe_planning(state: UpState, planning: Planning) -> UpState:
    """Record the planning read after :class:`ReadPlanning`."""
    return evolve(state, planning=planning)


def observe_reserved(state: UpState, jobs: Sequence[OarJob], reattached: bool, start: int | None = None,
                     why: str = "") -> UpState:
    """Record the jobs held after :class:`Reserve` (and, when submitted, the date they were reserved at)."""
    return evolve(state, jobs=tuple(jobs), reattached=reattached, start=None if reattached else start,
                  start_why="" if reattached else why)


def observe_checked(state: UpState, not_deployed: Iterable[str]) -> UpState:
    """Record after :class:`CheckDeployed` the hosts where the check failed (those to deploy)."""
    return evolve(state, not_deployed=tuple(sorted(set(not_deployed), key=natural_key)))


def observe_hosts(state: UpState, hosts_by_site: Mapping[str, Sequence[str]]) -> UpState:
    """Record the hosts of each site's job after :class:`WaitJobs`."""
    return evolve(state, hosts=_pairs(hosts_by_site))


def observe_deployed(state: UpState, deployed_now: Iterable[str], undeployed: Iterable[str]) -> UpState:
    """Record after :class:`Deploy` the hosts deployed by this run and those still not deployed."""
    return evolve(state, deployed=tuple(sorted(deployed_now, key=natural_key)),
                  undeployed=tuple(sorted(undeployed, key=natural_key)))


def observe_written(state: UpState, written: Iterable[str]) -> UpState:
    """Record the inventory files that were (re)written (empty: all were already up to date)."""
    return evolve(state, written=tuple(written))


def observe_error(state: UpState, error: G5kError) -> UpState:
    """Record the error that ends the run."""
    return evolve(state, error=error)


# ---------------------------------------------------------------------------------------------- down, status


def jobs_to_delete(named: NamedJobs) -> tuple[OarJob, ...]:
    """Every live job of the experiment's name, on every site that answered (down deletes them all)."""
    return named.jobs


@frozen
class ExperimentStatus:
    """What `g5k status` shows: the live jobs of the name per site, the sites that could not be read, and the
    inventory written by the last `g5k up` (if any)."""

    name: str
    jobs: tuple[tuple[str, int, str], ...]
    """(site, job id, state)."""
    unreadable: tuple[tuple[str, str], ...] = ()
    missing: tuple[str, ...] = ()
    """Sites of the file without a live job."""

    @property
    def up(self) -> bool:
        """True when every site holds exactly one live job of the name."""
        return not self.missing and not self.unreadable and len({s for s, _, _ in self.jobs}) == len(self.jobs)


def experiment_status(exp: Experiment, named: NamedJobs) -> ExperimentStatus:
    """The status of an experiment from the live jobs of its name read on each site."""
    jobs = tuple((f or "", i.job_id, i.state.value) for f, infos in named.found for i in infos)
    unreadable = tuple((f or "", e.message) for f, e in named.failed)
    holding = {s for s, _, _ in jobs} | {s for s, _ in unreadable}
    return ExperimentStatus(exp.name, jobs, unreadable, tuple(s for s in exp.sites if s not in holding))
