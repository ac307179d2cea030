"""Remote execution on nodes as values: plans (hosts, command or files, how each host is reached), per-host
results, clubak-like grouping and summaries, and a running job's lifecycle commands (``oarwalltime``, the node
file). The adapter ``g5k.remote`` performs the plans with ClusterShell."""

from __future__ import annotations

from g5kpure.remote.jobs import (
    Answer, Change, ChangeAccepted, WalltimeChange, WalltimeStatus, oarwalltime_argv, parse_change, parse_nodefile,
    parse_oarwalltime_change, parse_oarwalltime_status,
)
from g5kpure.remote.plan import (
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_FANOUT, DEFAULT_LIMITS, OAR_NODE_PORT, OAR_NODE_USER, CopyPlan, Direction,
    HostKeys, Jump, Limits, Login, NodeAccess, RemoteCommand, RunPlan, check_access, check_hosts, check_limits,
    command_of, jump_via, oarsh_access, plan_copy, plan_run, root_access, scp_argv, scp_has_legacy_flag,
    select_hosts, ssh_argv,
)
from g5kpure.remote.results import (
    SSH_FAILURE, HostError, HostResult, HostStatus, OutputGroup, RunReport, RunSummary, group_lines, group_outputs,
    host_lines, host_result, merge_steps, not_started, ordered, ssh_failure, summarize,
)

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT", "DEFAULT_FANOUT", "DEFAULT_LIMITS", "OAR_NODE_PORT", "OAR_NODE_USER", "SSH_FAILURE",
    "Answer", "Change", "ChangeAccepted", "CopyPlan", "Direction", "HostError", "HostKeys", "HostResult",
    "HostStatus", "Jump", "Limits", "Login", "NodeAccess", "OutputGroup", "RemoteCommand", "RunPlan", "RunReport",
    "RunSummary", "WalltimeChange", "WalltimeStatus", "check_access", "check_hosts", "check_limits", "command_of",
    "group_lines", "group_outputs", "host_lines", "host_result", "jump_via", "merge_steps", "not_started",
    "oarsh_access", "oarwalltime_argv", "ordered", "parse_change", "parse_nodefile", "parse_oarwalltime_change",
    "parse_oarwalltime_status", "plan_copy", "plan_run", "root_access", "scp_argv", "scp_has_legacy_flag",
    "select_hosts", "ssh_argv", "ssh_failure", "summarize",
]
