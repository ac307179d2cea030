"""The configuration: its schema, written once as attrs fields (``schema``), its sources (TOML, environment,
arguments, python-grid5000's username, execo's file), its text forms (``g5k config show`` / ``init``), where the
code runs, and the connection parameters of frontends and nodes."""

from __future__ import annotations

from g5kpure.config.connection import (
    DEFAULT_COMMAND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_KEEPALIVE_INTERVAL, KEEPALIVE_COUNT, LOCAL,
    CommandOutput, CommandPlan, ConnectionParams,
    Endpoint, FrontendAccess, effective_timeout, plan_command, resolve_frontend, rewrite_host, with_user,
)
from g5kpure.config.execo import ExecoImport, convert_execo_conf
from g5kpure.config.kinds import Kind, Setting, check, setting
from g5kpure.config.layers import DEFAULT_ORIGIN, EMPTY_LAYER, Layer, Origin, OriginKind, Value, combine
from g5kpure.config.location import (
    ApiAccess, Location, Place, api_access, configured_frontends, default_frontend, frontend_access,
    frontend_params, locate, node_params, parse_location, runs_locally,
)
from g5kpure.config.merge import Resolved, ShownValue, load, resolve
from g5kpure.config.python_grid5000 import username_from_python_grid5000
from g5kpure.config.render import display, init_template, layer_to_toml, to_toml, warning_text
from g5kpure.config.schema import (
    ACCESS_HOST, DEFAULT_API_URI, DEFAULT_CONFIG, FRONTEND_PARAMS, KEYRING_SERVICE, KEYS, KEYS_BY_NAME,
    OARSH_PARAMS, ROOT, SECTIONS, SITE_KEYS, SITE_OVERRIDE_FIELDS, SITES, Config, Key, SiteOverride, config_from,
    default_of, value_of,
)
from g5kpure.config.sources import (
    OTHER_VARIABLES, env_variables, layer_from_arguments, layer_from_mapping, parse_env, rules_from_table,
)
from g5kpure.config.toml import key_lines, parse_toml, toml_key, toml_string

__all__ = [
    "ACCESS_HOST", "DEFAULT_API_URI", "DEFAULT_COMMAND_TIMEOUT", "DEFAULT_CONFIG", "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_KEEPALIVE_INTERVAL", "DEFAULT_ORIGIN", "EMPTY_LAYER", "FRONTEND_PARAMS", "KEEPALIVE_COUNT",
    "KEYRING_SERVICE", "KEYS", "KEYS_BY_NAME", "LOCAL",
    "OARSH_PARAMS", "OTHER_VARIABLES", "ROOT", "SECTIONS", "SITES", "SITE_KEYS", "SITE_OVERRIDE_FIELDS",
    "ApiAccess", "CommandOutput", "CommandPlan", "Config", "ConnectionParams", "Endpoint", "ExecoImport",
    "FrontendAccess", "Key", "Kind", "Layer", "Location", "Origin", "OriginKind", "Place", "Resolved", "Setting",
    "ShownValue", "SiteOverride", "Value", "api_access", "check", "combine", "config_from", "configured_frontends",
    "convert_execo_conf", "default_frontend", "default_of", "display", "effective_timeout", "env_variables",
    "frontend_access", "frontend_params", "init_template", "key_lines", "layer_from_arguments",
    "layer_from_mapping", "layer_to_toml", "load", "locate", "node_params", "parse_env", "parse_location",
    "parse_toml", "plan_command", "resolve", "resolve_frontend", "rewrite_host", "rules_from_table",
    "runs_locally", "setting", "to_toml", "toml_key", "toml_string", "username_from_python_grid5000", "value_of",
    "warning_text", "with_user",
]
