"""The Reference API: models of sites, clusters, nodes and network equipment, the snapshot, kavlan, PDUs, metrics."""

from __future__ import annotations

from g5kpure.hosts import natural_key
from g5kpure.reference.jobtypes import ClusterJobTypes, cluster_job_types, job_types_of
from g5kpure.reference.kavlan import (
    DEFAULT_VLAN, NODE_STATUSES, VM_MAC_PREFIX, KavlanNetwork, NodeOutcome, VlanChange, VlanInfo, VlanRequest,
    check_vlan_id, dhcpd_request, kavlan_ip_mac, kavlan_network, nodes_vlan_request, parse_nodes_vlan,
    parse_set_nodes_answer, parse_user_vlans, parse_vlan, parse_vlan_nodes, parse_vlan_users, parse_vlans,
    set_nodes_vlan_request, user_vlans_request, vlan_node_name, vlan_node_names, vlan_nodes_request, vlan_request,
    vlan_users_request, vlans_request, vm_mac,
)
from g5kpure.reference.metrics import (
    MetricPoint, RetryPolicy, iso_utc, parse_kwollect, parse_retry_after, resample, retry_delay,
)
from g5kpure.reference.models import (
    DEFAULT_CLUSTER_QUEUES, Alias, Architecture, Channel, Cluster, Gpu, Kavlan, KavlanAddress, Linecard, Loose,
    MainMemory, Metric, NetworkAdapter, NetworkEquipment, Node, PduPort, Performance, Port, Processor, Site,
    SiteIpv6, StorageDevice, Subnet, SupportedJobTypes, Vlan,
)
from g5kpure.reference.pdus import (
    DEFAULT_KIND, Outlet, Pdu, PduIndex, PowerFeed, host_feeds, node_feeds, parse_pdu, parse_pdus, parse_site_pdus,
    pdu_index,
)
from g5kpure.reference.snapshot import Snapshot, filter_clusters, snapshot_from_bytes, snapshot_from_json

__all__ = [
    "DEFAULT_CLUSTER_QUEUES", "DEFAULT_KIND", "DEFAULT_VLAN", "NODE_STATUSES", "VM_MAC_PREFIX", "Alias",
    "Architecture", "Channel", "Cluster", "ClusterJobTypes", "Gpu", "Kavlan", "KavlanAddress", "KavlanNetwork",
    "Linecard", "Loose", "MainMemory", "Metric", "MetricPoint", "NetworkAdapter", "NetworkEquipment", "Node",
    "NodeOutcome", "Outlet", "Pdu", "PduIndex", "PduPort", "Performance", "Port", "PowerFeed", "Processor",
    "RetryPolicy", "Site", "SiteIpv6", "Snapshot", "StorageDevice", "Subnet", "SupportedJobTypes", "Vlan",
    "VlanChange", "VlanInfo", "VlanRequest", "check_vlan_id", "cluster_job_types", "dhcpd_request",
    "filter_clusters", "host_feeds", "iso_utc", "job_types_of", "kavlan_ip_mac", "kavlan_network", "natural_key",
    "node_feeds", "nodes_vlan_request", "parse_kwollect", "parse_nodes_vlan", "parse_pdu", "parse_pdus",
    "parse_retry_after", "parse_set_nodes_answer", "parse_site_pdus", "parse_user_vlans", "parse_vlan",
    "parse_vlan_nodes", "parse_vlan_users", "parse_vlans", "pdu_index", "resample", "retry_delay",
    "set_nodes_vlan_request", "snapshot_from_bytes", "snapshot_from_json", "user_vlans_request", "vlan_node_name",
    "vlan_node_names", "vlan_nodes_request", "vlan_request", "vlan_users_request", "vlans_request", "vm_mac",
]
