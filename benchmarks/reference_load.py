"""Loading the embedded Reference API snapshot, and indexed lookups, as ratios against baselines in the same run.

Baselines: ``json.loads`` of the same decompressed bytes (the floor any loader pays), and a linear scan of the
raw JSON for the cluster of a host (what execo's lookups did).
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from g5kpure.reference import snapshot_from_bytes


def best_of(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Best wall time of ``repeat`` runs of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Print load times and ratios."""
    compressed = resources.files("g5kpure.data").joinpath("reference_compact.json.gz").read_bytes()
    payload = gzip.decompress(compressed)
    t_gunzip = best_of(lambda: gzip.decompress(compressed))
    t_json = best_of(lambda: json.loads(payload))
    t_snapshot = best_of(lambda: snapshot_from_bytes(payload).unwrap())
    print(f"snapshot: {len(compressed) / 1e3:.0f} kB gzip, {len(payload) / 1e6:.1f} MB JSON")
    print(f"gzip.decompress         {t_gunzip * 1e3:8.1f} ms")
    print(f"json.loads (baseline)   {t_json * 1e3:8.1f} ms")
    print(f"snapshot_from_bytes     {t_snapshot * 1e3:8.1f} ms  = {t_snapshot / t_json:.1f} x json.loads")
    print(f"whole embedded load     {(t_gunzip + t_snapshot) * 1e3:8.1f} ms  (target: well under 1000 ms)")

    snap = snapshot_from_bytes(payload).unwrap()
    data = json.loads(payload)
    hosts = snap.hosts().unwrap()

    def scan_cluster_of(host: str) -> str | None:
        short = host.split(".", 1)[0]
        for site in data["sites"].values():
            for uid, cluster in site["clusters"].items():
                if any(n["uid"] == short for n in cluster["nodes"]):
                    return str(uid)
        return None

    t_scan = best_of(lambda: [scan_cluster_of(h) for h in hosts], repeat=2)
    t_index = best_of(lambda: [snap.cluster_of(h) for h in hosts], repeat=2)
    print(f"cluster_of x{len(hosts)}: scan (baseline) {t_scan * 1e3:.1f} ms, indexed {t_index * 1e3:.1f} ms "
          f"= {t_scan / t_index:.0f} x faster")


if __name__ == "__main__":
    main()
