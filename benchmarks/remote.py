"""`true` on 16, 64 and 256 node names of the testbed's scale sshd: ClusterShell fan-out (g5k.remote.run)
against sequential ssh (g5k.remote.run_sequential), in the same run.

Every name is a distinct loopback address served by one sshd (tests/testbed/remote.sh), so each host costs a
real ssh connection (key exchange, authentication, a session, a command) on this machine. Needs `make testbed`.
The sequential baseline is measured on 16 hosts and extrapolated linearly beyond (printed as such) unless
--full-sequential is given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from g5k.remote import run, run_sequential
from g5k.results import performed

from g5kpure.remote import Limits, NodeAccess, RemoteCommand, RunReport, plan_run

SIZES = (16, 64, 256)


def scale_hosts() -> tuple[list[str], NodeAccess]:
    """The scale names and how they are reached (exits with a message when the testbed is not up)."""
    state = Path(os.environ.get("G5KPURE_TESTBED_STATE") or Path(__file__).resolve().parent.parent / ".testbed")
    try:
        scale = json.loads((state / "remote.json").read_text())["scale"]
    except (OSError, ValueError, KeyError) as exc:
        sys.exit(f"no scale sshd described in {state}/remote.json ({exc}): run `make testbed` first")
    hosts = [f"{scale['cluster']}-{n}.{scale['site']}.grid5000.fr" for n in range(1, int(scale["count"]) + 1)]
    return hosts, NodeAccess(user=scale["user"], port=scale["port"], key_filename=scale["key_filename"])


def once(hosts: list[str], access: NodeAccess, fanout: int, sequential: bool) -> float:
    """Seconds of one run of `true` on ``hosts`` (every host must succeed)."""
    plan = plan_run(hosts, RemoteCommand(("true",)), access, Limits(fanout, timeout=120)).unwrap()
    report: RunReport = performed(run_sequential(plan) if sequential else run(plan)).unwrap()
    if not report.ok:
        sys.exit(f"not every host answered: {report.summary.describe()}")
    return report.seconds


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fanout", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--full-sequential", action="store_true", help="measure sequential ssh on every size")
    args = parser.parse_args()
    hosts, access = scale_hosts()
    print(f"cores: {os.cpu_count()}, fanout {args.fanout}, best of {args.rounds} rounds")
    per_host = None
    print(f"{'hosts':>6} {'fan-out s':>10} {'sequential s':>13} {'speed-up':>9} {'ms/host fan-out':>16}")
    for n in SIZES:
        fan = min(once(hosts[:n], access, args.fanout, False) for _ in range(args.rounds))
        if args.full_sequential or per_host is None:
            seq = min(once(hosts[:n], access, args.fanout, True) for _ in range(max(1, args.rounds - 1)))
            per_host = seq / n
            shown = f"{seq:13.2f}"
        else:
            seq = per_host * n
            shown = f"{'~' + format(seq, '.1f'):>13}"
        print(f"{n:6d} {fan:10.2f} {shown} {seq / fan:8.1f}x {1000 * fan / n:16.1f}")
    print(f"sequential ssh: {1000 * (per_host or 0):.0f} ms per host; '~' = extrapolated from the measured size")


if __name__ == "__main__":
    main()
