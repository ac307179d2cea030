"""A job's network: its hosts (``oarstat -p`` / ``-J`` / one host per line, any OAR generation), its
g5k-subnets addresses and parameters, and its kavlan ids.

Outputs are read line by line whatever the line ends; host lists are sorted and unique; a line that is not
what the command prints is a ``ParseError`` naming it.
"""

from __future__ import annotations

import re

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, ParseError
from g5kpure.oar.dates import parse_int
from g5kpure.oar.jobs import OarJobInfo
from g5kpure.oar.outputs import command_failed, exited_ok, read_lines, split_lines
from g5kpure.oar.stat import parse_oarstat_jobs_json


@frozen
class G5kSubnetParams:
    """The network parameters printed by ``g5k-subnets -a`` (seven tab-separated fields)."""

    ip_prefix: str
    broadcast: str
    netmask: str
    gateway: str
    network: str
    dns_hostname: str
    dns_ip: str


_NETWORK_ADDRESS = re.compile(r"\bnetwork_address = '([^']*)'", re.ASCII)
_HOST_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)


def _host_of_line(line: str) -> str | None:
    """The host of one line of ``oarstat -p`` (``""`` for a resource without one) or of a host list."""
    if " = '" in line:
        m = _NETWORK_ADDRESS.search(line)
        return None if m is None else m.group(1)
    return line if _HOST_TOKEN.fullmatch(line) else None


def parse_job_nodes(exit_code: int | None, stdout: str, stderr: str = "") -> Result[tuple[str, ...], G5kError]:
    """A job's host names, sorted and unique, from ``oarstat -p -j ID``, ``oarstat -J`` or one host per line."""
    if exited_ok(exit_code) and stdout.strip().startswith("{"):
        return parse_oarstat_jobs_json(exit_code, stdout, stderr).bind(_hosts_of_infos)
    hosts = read_lines("oarstat", exit_code, stdout, stderr, _host_of_line, what="job node list",
                       hint="expected one host per line, or oarstat -p's network_address")
    return hosts.map(lambda found: tuple(sorted({h for h in found if h})))


def _hosts_of_infos(infos: tuple[OarJobInfo, ...]) -> Result[tuple[str, ...], G5kError]:
    """The hosts of the jobs of an ``oarstat -J``, unless it does not print them (OAR 3's does not)."""
    blind = [j.job_id for j in infos if "assigned_hosts" in j.not_printed]
    if blind:
        return Failure(ParseError("job node list", where=f"job {blind[0]}",
                                  hint="this oarstat -J does not print the hosts (OAR 3): read oarstat -f instead"))
    return Success(tuple(sorted({h for j in infos for h in j.assigned_hosts})))


def _ip_mac(line: str) -> tuple[str, str] | None:
    words = line.split()
    return (words[0], words[1]) if len(words) == 2 else None


def parse_g5k_subnets(
    exit_code: int | None, stdout: str, stderr: str = ""
) -> Result[tuple[tuple[str, str], ...], G5kError]:
    """Read ``g5k-subnets -i -m -j ID``: one ``IP<TAB>MAC`` per line -> (ip, mac) pairs in order."""
    return read_lines("g5k-subnets", exit_code, stdout, stderr, _ip_mac, what="g5k-subnets -i -m output",
                      hint="expected IP MAC")


def parse_g5k_subnet_params(exit_code: int | None, stdout: str, stderr: str = "") -> Result[G5kSubnetParams, G5kError]:
    """Read ``g5k-subnets -a -j ID``: seven tab-separated fields (prefix, broadcast, netmask, gateway...)."""
    if not exited_ok(exit_code):
        return Failure(command_failed("g5k-subnets", exit_code, stdout, stderr))
    lines = [ln for ln in split_lines(stdout) if ln.strip()]
    if len(lines) != 1:
        return Failure(ParseError("g5k-subnets -a output", line=stdout[:200], hint="expected exactly one line"))
    fields = lines[0].strip().split("\t")
    if len(fields) != 7:
        hint = f"expected 7 tab-separated fields, got {len(fields)}"
        return Failure(ParseError("g5k-subnets -a output", line=lines[0], hint=hint))
    return Success(G5kSubnetParams(*(f.strip() for f in fields)))


def parse_kavlan_ids(exit_code: int | None, stdout: str, stderr: str = "") -> Result[tuple[int, ...], G5kError]:
    """Read ``kavlan -j ID -V``: one vlan id per line (empty output = no vlan)."""
    return read_lines("kavlan", exit_code, stdout, stderr, lambda ln: parse_int(ln) if ln.isdigit() else None,
                      what="kavlan -V output", hint="expected a vlan id")
