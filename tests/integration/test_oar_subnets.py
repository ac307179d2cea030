"""get_oar_job_subnets / get_oar_job_kavlan on real OAR jobs of the testbed, through the real frontend sshd.

The frontends run the testbed's g5k-subnets and kavlan stand-ins (tests/testbed/README.md): they read the job
from the real OAR, and a job holds subnets / vlans when its name asks for them (``slash_22=N``, ``kavlan=N``,
``kavlan-local=N``, ``kavlan-global=1``) and it has started, at places derived from its id and the site's
Reference API data.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import pytest
from g5k.oar import get_oar_job_kavlan, get_oar_job_subnets, oardel, oarsub
from g5k.reference_data import embedded_snapshot
from g5k.results import performed
from g5k.ssh import run

from g5kpure.config import ConnectionParams, FrontendAccess
from g5kpure.errors import NotFound
from g5kpure.oar import OarJob, OarSubmission, PollPolicy

pytestmark = pytest.mark.integration

FAST = PollPolicy(interval=1.0, near_interval=0.5, max_sleep=2.0)
SITE = "rennes"  # the testbed's OAR site: every node is <name>.rennes.grid5000.fr
RESERVABLE_22 = 192  # /22 subnets in the first three /16 of a site's /14


@pytest.fixture(scope="module")
def access(frontend_params: ConnectionParams) -> FrontendAccess:
    return FrontendAccess(frontend_params)


@pytest.fixture(scope="module")
def tz(oar_tz: str) -> ZoneInfo:
    return ZoneInfo(oar_tz)


@contextmanager
def submitted(access: FrontendAccess, tz: ZoneInfo, name: str | None, frontend: str) -> Iterator[OarJob]:
    """A real one-core job, deleted on the way out whatever happens."""
    sub = OarSubmission(resources=("core=1",), walltime=300, name=name)
    job = performed(oarsub([(sub, frontend)], access, tz=tz)[0]).unwrap()
    try:
        yield job
    finally:
        performed(oardel([(job.job_id, job.frontend)], access))


def tool_lines(access: FrontendAccess, frontend: str, *argv: str) -> list[str]:
    """What the tool itself prints on the frontend, line by line (exit status 0 required)."""
    out = performed(run(argv, frontend, access)).unwrap()
    assert out.exit_code == 0, out
    return out.stdout.splitlines()


def mac_of(ip: ipaddress.IPv4Address) -> str:
    return "00:16:3E:" + ":".join(f"{b:02X}" for b in ip.packed[1:])


def test_subnet_of_a_job_holding_one(access: FrontendAccess, tz: ZoneInfo) -> None:
    site = embedded_snapshot().site(SITE).unwrap()
    assert site.g5ksubnet is not None
    whole = ipaddress.IPv4Network(site.g5ksubnet.network)  # 10.156.0.0/14 for rennes
    default_vlan = next(k for k in site.kavlans if k.id == "default")
    with submitted(access, tz, "vm addresses slash_22=1", "nancy") as job:
        got = performed(get_oar_job_subnets(job.job_id, "nancy", access, 60, policy=FAST))
        pairs, params = got.unwrap()
        printed = tool_lines(access, "nancy", "g5k-subnets", "-p", "-j", str(job.job_id))
    index = job.job_id % RESERVABLE_22
    net = ipaddress.IPv4Network((int(whole.network_address) + index * 1024, 22))
    assert printed == [str(net)]
    # every usable address of the /22, in order, each with the MAC Grid'5000 binds to it
    assert len(pairs) == 1022
    assert pairs[0] == (str(net.network_address + 1), mac_of(net.network_address + 1))
    assert pairs[-1] == (str(net.broadcast_address - 1), mac_of(net.broadcast_address - 1))
    assert [ip for ip, _ in pairs] == [str(ip) for ip in net.hosts()]
    assert len({mac for _, mac in pairs}) == 1022
    # the prefix is the job's /22; broadcast, netmask and gateway are the site's /14 ones
    assert params.ip_prefix == str(net)
    assert params.network == str(net.network_address)
    assert params.broadcast == str(whole.broadcast_address)
    assert params.netmask == str(whole.netmask)
    assert params.gateway == site.g5ksubnet.gateway
    assert params.dns_hostname == f"dns.{SITE}.grid5000.fr"
    assert params.dns_ip == default_vlan.gateway


def test_kavlan_of_a_job_holding_vlans(access: FrontendAccess, tz: ZoneInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    site = embedded_snapshot().site(SITE).unwrap()
    (global_id,) = [int(k.id) for k in site.kavlans if k.id.isdigit() and int(k.id) >= 10]  # rennes: 16
    name = "isolated kavlan=2 kavlan-local=1 kavlan-global=1"
    with submitted(access, tz, name, "lyon") as job:
        # no id given: the adapter takes $OAR_JOB_ID, as inside a job
        monkeypatch.setenv("OAR_JOB_ID", str(job.job_id))
        got = performed(get_oar_job_kavlan(None, "lyon", access, 60, policy=FAST)).unwrap()
        printed = tool_lines(access, "lyon", "kavlan", "-V", "-j", str(job.job_id))
    routed = {4 + (job.job_id + k) % 6 for k in range(2)}
    local = 1 + job.job_id % 3
    assert got == tuple(sorted(routed | {local, global_id}))
    assert got == tuple(int(line) for line in printed)
    assert len(got) == 4
    assert all(1 <= v <= 3 or 4 <= v <= 9 or v == global_id for v in got)


def test_a_job_without_subnet_or_vlan(access: FrontendAccess, tz: ZoneInfo) -> None:
    with submitted(access, tz, None, "rennes") as job:
        kavlan = performed(get_oar_job_kavlan(job.job_id, "rennes", access, 60, policy=FAST))
        subnets = performed(get_oar_job_subnets(job.job_id, "rennes", access, 60, policy=FAST))
        raw = performed(run(("kavlan", "-V", "-j", str(job.job_id)), "rennes", access)).unwrap()
    # kavlan says so in words and fails; the adapter turns that into "no vlan", not an error
    assert (raw.exit_code, raw.stdout.strip()) == (1, "no vlan found")
    assert kavlan.unwrap() == ()
    err = subnets.failure()
    assert isinstance(err, NotFound), err
    assert err.key == str(job.job_id)
    assert "subnet" in err.message


def test_a_subnet_request_in_another_job_is_not_this_jobs(access: FrontendAccess, tz: ZoneInfo) -> None:
    # the answer is per job: the same user's other job with a subnet and vlan changes nothing for this one
    with (
        submitted(access, tz, "busy slash_22=1 kavlan=1", "rennes") as holder,
        submitted(access, tz, "plain", "rennes") as plain,
    ):
        assert performed(get_oar_job_kavlan(holder.job_id, "rennes", access, 60, policy=FAST)).unwrap()
        assert performed(get_oar_job_kavlan(plain.job_id, "rennes", access, 60, policy=FAST)).unwrap() == ()
        err = performed(get_oar_job_subnets(plain.job_id, "rennes", access, 60, policy=FAST)).failure()
        assert isinstance(err, NotFound)
