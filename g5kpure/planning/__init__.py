"""The planning: busy and free time per host, its builders (API, OAR database, OAR REST), slots, host distribution
and the per-site OAR requests, core slots, and small summaries."""

from __future__ import annotations

from g5kpure.hosts import host_cluster_site, host_sort_key
from g5kpure.planning.core_slots import CoreSlot, compute_core_slots, find_core_slot
from g5kpure.planning.elements import sites_of_elements, snapshot_cluster_sites, with_host_fqdns
from g5kpure.planning.model import (
    VLAN_KINDS, HostPlanning, Interval, Planning, ResourcePlanning, add_busy_periods, clip_planning,
    empty_planning, exclude_elements, free_intervals, merge_intervals, merge_plannings, paris_time,
    restrict_planning,
)
from g5kpure.planning.queues import DEFAULT_QUEUES, PREFERRED_QUEUES, Queues, job_queue, restrict_to_queues
from g5kpure.planning.selection import find_job_by_name, get_fastest_host
from g5kpure.planning.slots import (
    Excluded, Slot, Slots, Wanted, compute_slots, find_first_slot, find_free_slot, find_max_slot, free_hosts_at,
    resolve_exclusions, slot_satisfies, window_slots,
)
from g5kpure.planning.sources import (
    ACTIVE_JOB_STATES, DEFAULT_UNAVAILABLE_STATES, EXECO_END_MARGIN, OarJobResourceRow, OarResourceRow,
    planning_from_api, planning_from_oar_rest, planning_from_oar_rows,
)
from g5kpure.planning.specs import JobSpec, distribute_hosts, get_hosts_jobs, get_jobs_specs
from g5kpure.planning.summaries import hosts_list, max_resources, show_resources

__all__ = [
    "ACTIVE_JOB_STATES", "DEFAULT_QUEUES", "DEFAULT_UNAVAILABLE_STATES", "EXECO_END_MARGIN", "PREFERRED_QUEUES",
    "VLAN_KINDS", "CoreSlot", "Excluded", "HostPlanning", "Interval", "JobSpec", "OarJobResourceRow",
    "OarResourceRow", "Planning", "Queues", "ResourcePlanning", "Slot", "Slots", "Wanted", "add_busy_periods",
    "clip_planning", "compute_core_slots", "compute_slots", "distribute_hosts", "empty_planning",
    "exclude_elements", "find_core_slot", "find_first_slot", "find_free_slot", "find_job_by_name", "find_max_slot",
    "free_hosts_at", "free_intervals", "get_fastest_host", "get_hosts_jobs", "get_jobs_specs", "host_cluster_site",
    "host_sort_key", "hosts_list", "job_queue", "max_resources", "merge_intervals", "merge_plannings",
    "paris_time", "planning_from_api", "planning_from_oar_rest", "planning_from_oar_rows", "resolve_exclusions",
    "restrict_planning", "restrict_to_queues", "show_resources", "sites_of_elements", "slot_satisfies",
    "snapshot_cluster_sites", "window_slots", "with_host_fqdns",
]
