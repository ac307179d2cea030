"""The `g5k` command's start and main jobs: CPU time of each command (user + system of the child, from its rusage)
as a ratio to a bare ``python -c pass`` measured in the same run, with the targets of each.

Each command runs ``--repeat`` times (median kept) in a temporary directory, offline, with the user cache warmed
by one untimed run first (the compact snapshot and the embedded planning are built there once per install, and
the bytecode of the sources is written as an installed package has it, whatever PYTHONDONTWRITEBYTECODE says).
``python benchmarks/cli.py [--repeat N]``; exits 1 when a ratio misses its target (``--no-fail`` only reports).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

COMMANDS: tuple[tuple[str, tuple[str, ...], float | None], ...] = (
    ("--help", ("--help",), 5.0),
    ("plan --no-plots", ("plan", "--no-plots"), 12.0),
    ("plan (both figures)", ("plan", "--out", "figures"), 30.0),
    ("ref sites", ("ref", "sites"), 10.0),
    ("topo --compact --png", ("topo", "--compact", "--png", "topo.png"), None),
    ("import + snapshot load", ("-c", "from g5k.reference_data import embedded_snapshot as e; "
                                "e().clusters(queues='default')"), None),
)
"""Label, argv after ``g5k`` (or after ``python`` when it starts with -c), target ratio (None: reported only)."""


def cpu_seconds(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """CPU time (user + system) of one run of ``argv``, read from the children's rusage."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_cpu(argv: list[str], cwd: Path, env: dict[str, str], repeat: int) -> float:
    """The median CPU time of ``repeat`` runs."""
    return statistics.median(cpu_seconds(argv, cwd, env) for _ in range(repeat))


def main() -> int:
    """Measure every command and print its CPU time, its ratio to ``python -c pass`` and its target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-fail", action="store_true")
    options = parser.parse_args()
    python = sys.executable
    g5k = shutil.which("g5k", path=str(Path(python).parent)) or "g5k"
    missed = []
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("G5K_") and k != "PYTHONDONTWRITEBYTECODE"}
        env.update({"G5K_CONFIG": str(cwd / "none.toml"), "G5K_LOCATION": "outside", "MPLBACKEND": "Agg"})
        runs = [(label, [python, *argv] if argv[0] == "-c" else [g5k, *argv], target)
                for label, argv, target in COMMANDS]
        for _, argv, _ in runs:  # warm the user cache and the page cache
            cpu_seconds(argv, cwd, env)
        base = median_cpu([python, "-c", "pass"], cwd, env, options.repeat)
        print(f"{'python -c pass (baseline)':28} {base * 1e3:8.1f} ms CPU")
        for label, argv, target in runs:
            spent = median_cpu(argv, cwd, env, options.repeat)
            ratio = spent / base
            verdict = "" if target is None else f"  target <= {target:g}x: {'ok' if ratio <= target else 'MISSED'}"
            if target is not None and ratio > target:
                missed.append(label)
            print(f"{label:28} {spent * 1e3:8.1f} ms CPU  {ratio:6.1f}x{verdict}")
    if missed and not options.no_fail:
        print(f"missed: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
