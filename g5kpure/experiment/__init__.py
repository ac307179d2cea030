"""An experiment you bring up and down with one file: the file's model (``model``) and the pure steps of
``g5k up`` / ``g5k down`` / ``g5k status`` (``steps``), performed by ``g5k.experiment``."""

from __future__ import annotations

from g5kpure.experiment.model import DEPLOY_ACCESS, PLANNING_SOURCES, DeploySpec, Experiment, Resource, parse_experiment
from g5kpure.experiment.steps import (
    ANSIBLE_INVENTORY, INVENTORY_JSON, SSH_CONFIG, CheckDeployed, Deploy, ExperimentStatus, Finished, Inventory,
    LookUp, ReadPlanning, Reserve, StartChoice, Stop, UpAction, UpReport, UpState, WaitJobs, WriteInventory,
    ansible_inventory_text, assign_roles, experiment_status, first_common_slot, inventory_json, jobs_to_delete,
    next_up_action, observe_checked, observe_deployed, observe_error, observe_hosts, observe_named,
    observe_planning, observe_reserved, observe_written, render_inventory, reservation_start, ssh_config_text,
)

__all__ = [
    "ANSIBLE_INVENTORY", "DEPLOY_ACCESS", "INVENTORY_JSON", "PLANNING_SOURCES", "SSH_CONFIG", "CheckDeployed",
    "Deploy", "DeploySpec", "Experiment", "ExperimentStatus", "Finished", "Inventory", "LookUp", "ReadPlanning",
    "Reserve", "Resource", "StartChoice", "Stop", "UpAction", "UpReport", "UpState", "WaitJobs", "WriteInventory",
    "ansible_inventory_text", "assign_roles", "experiment_status", "first_common_slot", "inventory_json",
    "jobs_to_delete", "next_up_action", "observe_checked", "observe_deployed", "observe_error", "observe_hosts",
    "observe_named", "observe_planning", "observe_reserved", "observe_written", "parse_experiment",
    "render_inventory", "reservation_start", "ssh_config_text",
]
