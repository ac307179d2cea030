"""compute_slots on the embedded full-grid planning, against baselines measured in the same run.

Baselines:
- ``rescan``: a naive implementation of the same slot meaning written here (for every candidate start, look at
  every free interval of every host) — the cost shape of execo_g5k's compute_slots;
- ``execo``: execo_g5k 2.8.2's own compute_slots, when it can be pip-installed into a throwaway venv in the
  temporary directory; it runs in a subprocess on the same normalised planning (busy intervals already merged, as
  it needs them; vlans left out because execo counts them by number ranges), its cluster list fed from the
  planning. Its results are compared with ours (slot starts and every count).

Prints one line per case with the times and the ratios; no timed asserts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from g5k.planning import load_embedded_planning
from g5k.results import performed
from returns.unsafe import unsafe_perform_io

from g5kpure.planning import Planning, Slots, compute_slots

SITE_SETS = {1: ("lyon",), 3: ("lyon", "nancy", "rennes"), 11: None}
WALLTIMES = (3600, 4 * 3600)
EXECO_VENV = Path(tempfile.gettempdir()) / "g5kpure-bench-execo-venv"

EXECO_RUNNER = r"""
import json, sys, time
import execo_g5k.planning as planning
data = json.load(open(sys.argv[1]))
clusters = data["clusters"]
planning.get_g5k_clusters = lambda queues=None: list(clusters)
out = {}
for walltime in data["walltimes"]:
    best = None
    for _ in range(data["repeat"]):
        t = time.perf_counter()
        slots = planning.compute_slots(data["planning"], walltime)
        spent = time.perf_counter() - t
        best = spent if best is None else min(best, spent)
    out[str(walltime)] = {"seconds": best,
                          "slots": [[int(s[0]), {k: v for k, v in s[2].items()}] for s in slots]}
json.dump(out, sys.stdout)
"""


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The shortest of ``repeat`` runs of ``fn`` and its last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def sweep_slots(planning: Planning, walltime: int) -> Slots:
    """Our sweep's slots (compute_slots), unwrapped."""
    return compute_slots(planning, walltime).unwrap()


def rescan_slots(planning: Planning, walltime: int) -> list[tuple[int, dict[str, int]]]:
    """The same slots by brute force: for each candidate start, test every free interval of every host."""
    limits = sorted({planning.start, planning.end} | {x for h in planning.hosts for iv in h.busy for x in iv})[:-1]
    frees = [(h, planning.free(h)) for h in planning.hosts]
    slots = []
    for limit in limits:
        counts: dict[str, int] = {"grid5000": 0}
        for h, free in frees:
            counts.setdefault(h.site, 0)
            counts.setdefault(h.cluster, 0)
            if any(a <= limit and b >= limit + walltime for a, b in free):
                counts["grid5000"] += 1
                counts[h.site] += 1
                counts[h.cluster] += 1
        slots.append((limit, counts))
    return slots


def execo_python() -> Path | None:
    """The python of a throwaway venv with execo 2.8.2, created on first use; None if it cannot be installed."""
    python = EXECO_VENV / "bin" / "python"
    check = [str(python), "-c", "import execo_g5k.planning"]
    if python.exists() and subprocess.run(check, capture_output=True, timeout=120).returncode == 0:
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(EXECO_VENV)], check=True, capture_output=True, timeout=300)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "execo==2.8.2", "requests"], check=True,
                       capture_output=True, timeout=600)
    except (subprocess.SubprocessError, OSError):
        return None
    return python if subprocess.run(check, capture_output=True, timeout=120).returncode == 0 else None


def execo_input(planning: Planning) -> dict[str, Any]:
    """The planning in execo's nested dict shape (site -> cluster -> host -> busy/free lists)."""
    nested: dict[str, dict[str, dict[str, dict[str, list[list[int]]]]]] = {}
    for h in planning.hosts:
        nested.setdefault(h.site, {}).setdefault(h.cluster, {})[h.host] = {
            "busy": [list(iv) for iv in h.busy], "free": [list(iv) for iv in planning.free(h)]}
    return nested


def run_execo(python: Path, planning: Planning, repeat: int) -> dict[str, Any] | None:
    """execo's compute_slots timings and results on ``planning`` for every walltime, in a subprocess."""
    payload = {"planning": execo_input(planning), "clusters": [c for _, c in planning.clusters],
               "walltimes": list(WALLTIMES), "repeat": repeat}
    fd, path = tempfile.mkstemp(suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f)
        proc = subprocess.run([str(python), "-c", EXECO_RUNNER, path], capture_output=True, text=True, timeout=3600)
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        print(f"   execo failed: {proc.stderr.strip().splitlines()[-1:]}")
        return None
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def main() -> int:
    """Run every case and print times and ratios."""
    full = performed(load_embedded_planning(vlans=False, queues=None)).unwrap()  # every queue
    python = execo_python()
    print(f"planning: {len(full.hosts)} hosts, {len(full.sites)} sites, 4 weeks; "
          f"execo baseline: {'execo 2.8.2 in ' + str(EXECO_VENV) if python else 'unavailable (pip install failed)'}")
    for n, sites in SITE_SETS.items():
        planning = full if sites is None else unsafe_perform_io(
            load_embedded_planning(sites, vlans=False, queues=None).unwrap())
        execo = run_execo(python, planning, repeat=5) if python else None
        for walltime in WALLTIMES:
            ours_s, ours = best_of(partial(sweep_slots, planning, walltime), 20)
            naive_s, naive = best_of(partial(rescan_slots, planning, walltime), 1 if n == 11 else 3)
            got = [(s.start, s.as_dict()) for s in ours.slots]
            assert got == naive, "sweep and rescan disagree"
            line = (f"{n:2d} site(s) {len(planning.hosts):4d} hosts walltime {walltime // 3600}h: "
                    f"{len(got)} slots; sweep {ours_s * 1000:8.2f} ms; rescan {naive_s * 1000:9.1f} ms "
                    f"(x{naive_s / ours_s:6.1f})")
            if execo is not None:
                theirs = execo[str(walltime)]
                same = [(s, c) for s, c in theirs["slots"]] == got or [
                    (int(s), c) for s, c in theirs["slots"]] == got
                line += (f"; execo {theirs['seconds'] * 1000:9.1f} ms (x{theirs['seconds'] / ours_s:6.1f}), "
                         f"results {'equal' if same else 'DIFFERENT'}")
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
