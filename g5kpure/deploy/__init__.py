"""Deployment: kadeploy3 argv and parsers, the retry step function, kaconsole."""

from __future__ import annotations

from g5kpure.deploy.kaconsole import (
    BANNER, CLOSE, DEFAULT_PASSWORD, DEFAULT_PROMPT, DEFAULT_USER, POKE, Console, Phase, feed, kaconsole_argv,
    type_command,
)
from g5kpure.deploy.kadeploy import (
    DEFAULT_CHECK_DEPLOYED_COMMAND, DEFAULT_KADEPLOY3, DEFAULT_KADEPLOY3_OPTIONS, EXECO_CHECK_DEPLOYED_COMMAND,
    Deployment, Environment, KadeployOutput, KadeployReport, KadeployRun, KadeploySettings, collect_files_argv,
    group_by_frontend, host_key, host_site, interpret_run, kadeploy_command, kavlan_host_name, match_hosts,
    parse_collected_files, parse_kadeploy_output, parse_node_file, plan_deployment, resolve_environment,
)
from g5kpure.deploy.retry import (
    Action, Attempt, CheckEnough, DeployHosts, Done, RetryState, all_deployed, next_action, observe_check,
    observe_deploy, start_retry,
)

__all__ = [
    "BANNER", "CLOSE", "DEFAULT_CHECK_DEPLOYED_COMMAND", "DEFAULT_KADEPLOY3", "DEFAULT_KADEPLOY3_OPTIONS",
    "DEFAULT_PASSWORD", "DEFAULT_PROMPT", "DEFAULT_USER", "EXECO_CHECK_DEPLOYED_COMMAND", "POKE", "Action",
    "Attempt", "CheckEnough", "Console", "DeployHosts", "Deployment", "Done", "Environment", "KadeployOutput",
    "KadeployReport", "KadeployRun", "KadeploySettings", "Phase", "RetryState", "all_deployed",
    "collect_files_argv", "feed", "group_by_frontend", "host_key", "host_site", "interpret_run", "kaconsole_argv",
    "kadeploy_command", "kavlan_host_name", "match_hosts", "next_action", "observe_check", "observe_deploy",
    "parse_collected_files", "parse_kadeploy_output", "parse_node_file", "plan_deployment", "resolve_environment",
    "start_retry", "type_command",
]
