"""OAR: dates and durations, submissions and their argv, parsers of OAR outputs, job watching, reservations, OARGRID."""

from __future__ import annotations

from g5kpure.oar.dates import (
    DURATION_FORMS, MAX_BARE_HOURS, MAX_INT_DIGITS, MAX_SECONDS, MAX_UNIXTS, MAX_WALLTIME, MIN_UNIXTS, PARIS,
    ZONE_FORMS, DateInput, DurationInput, Seconds, describe_duration, format_oar_date, format_oar_duration,
    format_seconds, format_unixts, format_walltime, int_of, oar_date_to_unixts, oar_duration_to_seconds, parse_int,
    parse_walltime, read_number, to_seconds, to_unixts, zone_named,
)
from g5kpure.oar.delete import DELETION_SETTLE, OarDelResult, parse_oardel_output
from g5kpure.oar.grid import (
    BRACE_CLOSE, BRACE_OPEN, OargridJobInfo, OargridSubmitted, cluster_rdef, oar_jobs_by_site,
    oargrid_job_key_path, oargriddel_argv, oargridstat_info_argv, oargridstat_list_argv, oargridstat_nodes_argvs,
    oargridsub_argv, parse_oargridstat_info, parse_oargridstat_jobs, parse_oargridstat_list,
    parse_oargridstat_nodes, parse_oargridsub_output, quote_braces,
)
from g5kpure.oar.jobs import OarEvent, OarJobInfo, OarJobSummary, OarState
from g5kpure.oar.journal import (
    LOST_GRACE, NAME_PREFIX, Journal, JournalEntry, JournalOwner, Leftover, Leftovers, Transaction, claim_named,
    close_transaction, delete_commands, describe_jobs, describe_unnamed, drop_entries, ends_by, find_leftovers, forget,
    generated_name, journal_to_json, keep_only, leftover_notice, maybe_submitted, open_transaction, parse_journal,
    record_job, record_sent, rollback_note, settled_unnamed,
)
from g5kpure.oar.network import (
    G5kSubnetParams, parse_g5k_subnet_params, parse_g5k_subnets, parse_job_nodes, parse_kavlan_ids,
)
from g5kpure.oar.reserve import (
    DEFAULT_MAX_TRIES, AllAccepted, CommonDatePolicy, CommonDateStep, GiveUp, NamedJobs, Reattach,
    ReattachDecision, RetryAt, SubmitAll, check_common_request, check_job_name, check_sites, decide_reattach,
    live_jobs_named, next_common_date, site_label,
)
from g5kpure.oar.listing import (
    parse_oarstat_events, parse_oarstat_list, parse_oarstat_state, parse_oarstat_states, read_table,
)
from g5kpure.oar.stat import (
    FIELD_KEYS, parse_oarstat_job_json, parse_oarstat_job_text, parse_oarstat_jobs_json, parse_oarstat_jobs_text,
)
from g5kpure.oar.submission import (
    DEFAULT_COMMAND, DEFAULT_ORIGIN_TAG, OarSubmission, g5k_subnets_argvs, kavlan_argv, make_submission,
    oardel_argv, oarstat_job_argv, oarstat_job_nodes_argv, oarstat_job_text_argv, oarstat_list_argv,
    oarstat_state_argv, oarsub_argv, parse_oarsub_argv, split_resources, validate_submission,
)
from g5kpure.oar.submitted import OarSubmitted, parse_oarsub_output
from g5kpure.oar.version import (
    PROBE_MARK, FrontendOar, OarGeneration, OarstatFormat, OarVersion, oar_probe_argv, oarstat_format_of,
    parse_oar_probe, parse_oar_version,
)
from g5kpure.oar.watch import (
    DeadlinePassed, DelOutcome, DelStatus, Ended, GridDecision, GridOverrides, OarJob, PollPolicy, Sleep, Started,
    WaitStep, apply_overrides, check_job_id, classify_deletions, decide_grid, grid_failure, group_by_frontend,
    in_window, job_id_from_env, job_window, next_wait_step, oarstat_jobs_argv, oarstat_mine_full_argv,
    oarstat_states_argv, settled_deletion, watch_delay,
)

__all__ = [
    "BRACE_CLOSE", "BRACE_OPEN", "DEFAULT_COMMAND", "DEFAULT_MAX_TRIES", "DEFAULT_ORIGIN_TAG", "DELETION_SETTLE",
    "DURATION_FORMS",
    "FIELD_KEYS", "MAX_BARE_HOURS", "MAX_INT_DIGITS", "MAX_SECONDS", "MAX_UNIXTS", "MAX_WALLTIME", "MIN_UNIXTS",
    "PARIS", "PROBE_MARK", "ZONE_FORMS", "AllAccepted", "CommonDatePolicy", "CommonDateStep", "DateInput",
    "DeadlinePassed", "DelOutcome", "DelStatus", "DurationInput", "Ended", "FrontendOar", "G5kSubnetParams", "GiveUp",
    "GridDecision", "GridOverrides", "NamedJobs", "OarDelResult", "OarEvent", "OarGeneration", "OarJob", "OarJobInfo",
    "OarJobSummary", "OarState", "OarSubmission", "OarSubmitted", "OarVersion", "OargridJobInfo", "OargridSubmitted",
    "OarstatFormat", "PollPolicy", "Reattach", "ReattachDecision", "RetryAt", "Seconds", "Sleep", "Started",
    "SubmitAll", "WaitStep", "apply_overrides", "check_common_request", "check_job_id", "check_job_name", "check_sites",
    "classify_deletions", "cluster_rdef", "decide_grid", "decide_reattach", "describe_duration", "format_oar_date",
    "format_oar_duration", "format_seconds", "format_unixts", "format_walltime", "g5k_subnets_argvs", "grid_failure",
    "group_by_frontend", "in_window", "int_of", "job_id_from_env", "job_window", "kavlan_argv", "live_jobs_named",
    "make_submission", "next_common_date", "next_wait_step", "oar_date_to_unixts", "oar_duration_to_seconds",
    "oar_jobs_by_site", "oar_probe_argv", "oardel_argv", "oargrid_job_key_path", "oargriddel_argv",
    "oargridstat_info_argv", "oargridstat_list_argv", "oargridstat_nodes_argvs", "oargridsub_argv", "oarstat_format_of",
    "oarstat_job_argv", "oarstat_job_nodes_argv", "oarstat_job_text_argv", "oarstat_jobs_argv", "oarstat_list_argv",
    "oarstat_mine_full_argv", "oarstat_state_argv", "oarstat_states_argv", "oarsub_argv", "parse_g5k_subnet_params",
    "parse_g5k_subnets", "parse_int", "parse_job_nodes", "parse_kavlan_ids", "parse_oar_probe", "parse_oar_version",
    "parse_oardel_output", "parse_oargridstat_info", "parse_oargridstat_jobs", "parse_oargridstat_list",
    "parse_oargridstat_nodes", "parse_oargridsub_output", "parse_oarstat_events", "parse_oarstat_job_json",
    "parse_oarstat_job_text", "parse_oarstat_jobs_json", "parse_oarstat_jobs_text", "parse_oarstat_list",
    "parse_oarstat_state", "parse_oarstat_states", "parse_oarsub_argv", "parse_oarsub_output", "parse_walltime",
    "quote_braces", "read_number", "read_table", "site_label", "split_resources", "to_seconds", "to_unixts",
    "validate_submission", "watch_delay", "zone_named",
]

__all__ += ["settled_deletion"]  # a registered deletion, once OAR was watched ending the job

__all__ += [  # the submission journal (g5kpure.oar.journal)
    "LOST_GRACE", "NAME_PREFIX", "Journal", "JournalEntry", "JournalOwner", "Leftover", "Leftovers", "Transaction",
    "claim_named", "close_transaction", "delete_commands", "describe_jobs", "describe_unnamed", "drop_entries",
    "ends_by", "find_leftovers", "forget", "generated_name", "journal_to_json", "keep_only", "leftover_notice",
    "maybe_submitted", "open_transaction", "parse_journal", "record_job", "record_sent", "rollback_note",
    "settled_unnamed",
]
