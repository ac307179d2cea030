"""The Grid'5000 Reference API as attrs values: sites, clusters, nodes (architecture, adapters, GPUs, disks,
kavlan addresses, PDU ports), network equipments (linecards, ports, channels, vlans) and kavlan networks.

Each value is frozen and holds tuples; a field the API may omit has a default. The values are built from the
API's JSON by :mod:`g5kpure.reference.snapshot`.
"""

from __future__ import annotations

from typing import NewType

from attrs import frozen

from g5kpure.hosts import short_to_fqdn

# A scalar the API serves as a string or a number depending on the element (``processor.version``,
# ``cluster.priority``, ``gpu.power_default_limit``): kept as its string form.
Loose = NewType("Loose", str)

DEFAULT_CLUSTER_QUEUES: tuple[str, ...] = ("admin", "default", "besteffort")

# --- models ----------------------------------------------------------------------------------------------------


@frozen
class Architecture:
    """CPU layout of a node."""

    nb_procs: int = 0
    nb_cores: int = 0
    nb_threads: int = 0
    platform_type: str = ""
    cpu_core_numbering: str = ""


@frozen
class Processor:
    """CPU model of a node."""

    model: str = ""
    vendor: str = ""
    version: Loose = Loose("")
    microarchitecture: str = ""
    clock_speed: int = 0
    other_description: str = ""
    ht_capable: bool = False
    instruction_set: str = ""


@frozen
class MainMemory:
    """Memory of a node, in bytes."""

    ram_size: int = 0
    pmem_size: int | None = None


@frozen
class NetworkAdapter:
    """One network adapter of a node (Ethernet, InfiniBand, Omni-Path, BMC)."""

    device: str
    interface: str = ""
    enabled: bool = False
    mountable: bool = False
    mounted: bool = False
    management: bool = False
    kavlan: bool = False
    mac: str = ""
    name: str | None = None
    rate: int | None = None
    ip: str | None = None
    ip6: str | None = None
    network_address: str | None = None
    switch: str | None = None
    switch_port: str | None = None
    model: str | None = None
    vendor: str | None = None
    bridged: bool | None = None
    guid: str | None = None
    netmask: str | None = None


@frozen
class Gpu:
    """One GPU of a node; ``id`` is its key in the API's ``gpu_devices`` (``gpu0``)."""

    id: str
    model: str = ""
    vendor: str = ""
    memory: int = 0
    cores: int = 0
    device: str = ""
    microarchitecture: str = ""
    compute_capability: str | None = None
    cpu_affinity: int | None = None
    power_default_limit: Loose | None = None
    reservation: bool = False


@frozen
class StorageDevice:
    """One disk of a node; ``reservation`` is true for a disk reservable through OAR."""

    id: str = ""
    by_path: str = ""
    interface: str = ""
    model: str = ""
    size: int = 0
    storage: str = ""
    vendor: str = ""
    reservation: bool = False


@frozen
class SupportedJobTypes:
    """The job types and queues a node accepts."""

    besteffort: bool = True
    deploy: bool = True
    max_walltime: int = 0
    queues: tuple[str, ...] = ()
    virtual: Loose | None = None


@frozen
class KavlanAddress:
    """The address of a node's ``device`` inside kavlan ``vlan`` (``kavlan-4``)."""

    device: str
    vlan: str
    ip: str


@frozen
class PduPort:
    """A PDU port feeding a node."""

    uid: str
    port: Loose | None = None


@frozen
class Performance:
    """Measured flops of a node."""

    core_flops: float = 0.0
    node_flops: float = 0.0


@frozen
class Node:
    """One node of a cluster; ``site`` and ``cluster`` come from the nesting, ``fqdn`` is derived."""

    uid: str
    site: str = ""
    cluster: str = ""
    nodeset: str = ""
    exotic: bool = False
    architecture: Architecture = Architecture()
    processor: Processor = Processor()
    main_memory: MainMemory = MainMemory()
    network_adapters: tuple[NetworkAdapter, ...] = ()
    gpu_devices: tuple[Gpu, ...] = ()
    storage_devices: tuple[StorageDevice, ...] = ()
    supported_job_types: SupportedJobTypes = SupportedJobTypes()
    kavlan: tuple[KavlanAddress, ...] = ()
    pdu: tuple[PduPort, ...] = ()
    performance: Performance = Performance()

    @property
    def fqdn(self) -> str:
        """``<uid>.<site>.grid5000.fr``."""
        return short_to_fqdn(self.uid, self.site)

    @property
    def nb_gpus(self) -> int:
        """Number of GPUs."""
        return len(self.gpu_devices)


@frozen
class Metric:
    """A Kwollect metric available on a cluster or an equipment (period in ms, 0 = on demand)."""

    name: str
    description: str = ""
    period: int = 0
    optional_period: int | None = None
    only_for: tuple[str, ...] = ()
    scale_factor: float | None = None


@frozen
class Cluster:
    """One cluster and its nodes (natural order); ``queues`` defaults to execo's when the API omits it."""

    uid: str
    site: str = ""
    model: str = ""
    nodes_description: str = ""
    nodes_count: int = 0
    created_at: str = ""
    manufactured_at: str = ""
    warranty_end: str = ""
    queues: tuple[str, ...] = ()
    exotic: bool = False
    kavlan: bool = False
    boot_type: str = ""
    priority: Loose = Loose("")
    metrics: tuple[Metric, ...] = ()
    nodes: tuple[Node, ...] = ()

    @property
    def effective_queues(self) -> tuple[str, ...]:
        """The queues used for filtering (``admin, default, besteffort`` when none are listed)."""
        return self.queues or DEFAULT_CLUSTER_QUEUES


@frozen
class Port:
    """One port of a linecard; an empty ``{}`` in the API is a placeholder (``uid`` None)."""

    uid: str | None = None
    kind: str | None = None
    port: str | None = None
    snmp_name: str | None = None
    switchport_mode: str | None = None
    rate: int | None = None
    site_uid: str | None = None
    kavlan_pattern: str | None = None

    @property
    def is_placeholder(self) -> bool:
        """True for an empty port (position kept, nothing connected)."""
        return self.uid is None


@frozen
class Linecard:
    """One linecard of an equipment; the port position is its index in ``ports``."""

    rate: int | None = None
    kind: str | None = None
    snmp_pattern: str | None = None
    kavlan_pattern: str | None = None
    switchport_mode: str | None = None
    backplane_bps: int | None = None
    ports: tuple[Port, ...] = ()


@frozen
class Channel:
    """A port channel (LAG) of an equipment; ``id`` is its key in ``channels``."""

    id: str
    uid: str | None = None
    kind: str | None = None
    port: str | None = None
    rate: int | None = None
    switchport_mode: str | None = None


@frozen
class Vlan:
    """A vlan configured on an equipment; ``id`` is its key in ``vlans`` (``vlan701``)."""

    id: str
    addresses: tuple[str, ...] = ()
    name: str | None = None
    administrative: bool = False


@frozen
class Alias:
    """Another name of an equipment (the API gives a bare name or ``{name, ip}``)."""

    name: str
    ip: str | None = None


@frozen
class NetworkEquipment:
    """A switch, router, HPC switch or backbone (``virtual``) equipment; ``site`` is None for the backbone."""

    uid: str
    kind: str = ""
    site: str | None = None
    model: str | None = None
    ip: str | None = None
    ip6: str | None = None
    alias: tuple[Alias, ...] = ()
    backplane_bps: int | None = None
    managed_by_us: bool | None = None
    linecards: tuple[Linecard, ...] = ()
    channels: tuple[Channel, ...] = ()
    vlans: tuple[Vlan, ...] = ()
    metrics: tuple[Metric, ...] = ()


@frozen
class Kavlan:
    """A kavlan network of a site; ``id`` is its key in ``kavlans`` (``"4"``, ``"13"``, ``"default"``)."""

    id: str
    network: str | None = None
    gateway: str | None = None
    network_ipv6: str | None = None
    gateway_ipv6: str | None = None


@frozen
class Subnet:
    """The g5k subnet of a site."""

    network: str = ""
    gateway: str = ""


@frozen
class SiteIpv6:
    """IPv6 settings of a site."""

    prefix: str = ""
    site_index: int | None = None
    site_global_kavlan: int | None = None


@frozen
class Site:
    """A site, its clusters (sorted by uid) and network equipments."""

    uid: str
    name: str = ""
    description: str = ""
    location: str = ""
    latitude: float | None = None
    longitude: float | None = None
    web: str = ""
    frontend_ip: str | None = None
    renater_ip: str | None = None
    production: bool = False
    compilation_server: bool = False
    kavlan_ip_range: str | None = None
    virt_ip_range: str | None = None
    kavlans: tuple[Kavlan, ...] = ()
    g5ksubnet: Subnet | None = None
    ipv6: SiteIpv6 | None = None
    clusters: tuple[Cluster, ...] = ()
    network_equipments: tuple[NetworkEquipment, ...] = ()

