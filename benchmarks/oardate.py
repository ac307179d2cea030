"""Conversions per second of format_oar_date / oar_date_to_unixts, and the ratio against execo 2.8.2.

execo is GPL and not a dependency: the script creates a throwaway virtualenv in the system temporary directory
(the one ``benchmarks/slots.py`` uses too) and pip-installs ``execo==2.8.2 requests`` into it on first use. Give
another python with ``--execo-python PATH`` or the ``G5K_EXECO_PYTHON`` environment variable, or skip execo
with ``--no-execo``. When the installation fails (no network, no index), it says so and prints our numbers.

The execo side runs in a child process of this run (same inputs, same machine, same moment); its timings are
taken inside the child, around the calls only. Both sides' answers are compared, so the ratio is between
implementations that agree.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from g5kpure.oar import format_oar_date, oar_date_to_unixts

START = 1700000000
STEP = 3607  # crosses hours, days and DST transitions
EXECO_VENV = Path(tempfile.gettempdir()) / "g5kpure-bench-execo-venv"  # shared with benchmarks/slots.py

EXECO_CHILD = r"""
import json, sys, time
from execo_g5k.oar import format_oar_date, oar_date_to_unixts
stamps = json.load(sys.stdin)
t0 = time.perf_counter()
texts = [format_oar_date(t) for t in stamps]
t1 = time.perf_counter()
back = [oar_date_to_unixts(s) for s in texts]
t2 = time.perf_counter()
json.dump({"format_s": t1 - t0, "parse_s": t2 - t1, "texts": texts, "back": back}, sys.stdout)
"""


def execo_venv_python() -> tuple[str | None, str]:
    """The python of the throwaway execo 2.8.2 venv, created on first use; or None and why it could not be."""
    python = EXECO_VENV / "bin" / "python"
    check = [str(python), "-c", "import execo_g5k.oar"]
    try:
        if python.exists() and subprocess.run(check, capture_output=True, timeout=120).returncode == 0:
            return str(python), f"execo 2.8.2 in {EXECO_VENV}"
        print(f"execo    installing execo==2.8.2 into {EXECO_VENV} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(EXECO_VENV)], check=True, capture_output=True, timeout=300)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "execo==2.8.2", "requests"],
            check=True,
            capture_output=True,
            timeout=900,
        )
    except subprocess.CalledProcessError as exc:
        tail = " | ".join((exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-2:])
        return None, f"could not install execo==2.8.2 into {EXECO_VENV}: {tail or exc}"
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not install execo==2.8.2 into {EXECO_VENV}: {exc}"
    if subprocess.run(check, capture_output=True, timeout=120).returncode != 0:
        return None, f"execo_g5k does not import in {EXECO_VENV} after installation"
    return str(python), f"execo 2.8.2 installed in {EXECO_VENV}"


def measure_g5kpure(stamps: list[int]) -> tuple[float, float, list[str], list[float]]:
    """Seconds spent formatting and parsing ``stamps`` with g5kpure, and the answers."""
    t0 = time.perf_counter()
    texts = [format_oar_date(t).unwrap() for t in stamps]
    t1 = time.perf_counter()
    back = [float(oar_date_to_unixts(s).unwrap()) for s in texts]
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, texts, back


def measure_execo(python: str, stamps: list[int]) -> dict[str, object] | str:
    """Run the same conversions through execo in a child process; its timings and answers, or why not."""
    try:
        proc = subprocess.run(
            [python, "-c", EXECO_CHILD], input=json.dumps(stamps), capture_output=True, text=True, timeout=600
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"could not run {python}: {exc}"
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-2:])
        return f"{python} could not run execo_g5k (exit {proc.returncode}): {tail}"
    try:
        data: dict[str, object] = json.loads(proc.stdout)
    except ValueError:
        return f"unexpected output from the execo child: {proc.stdout[:200]!r}"
    return data


def main(argv: list[str] | None = None) -> int:
    """Print conversions per second for g5kpure and, when an execo python is given, for execo and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execo-python", default=os.environ.get("G5K_EXECO_PYTHON"), help="python with execo")
    parser.add_argument("--no-execo", action="store_true", help="measure g5kpure only (no venv, no install)")
    parser.add_argument("-n", type=int, default=20000, help="conversions for g5kpure (default 20000)")
    parser.add_argument("--execo-n", type=int, default=400, help="conversions for execo (default 400: it forks)")
    args = parser.parse_args(argv)

    stamps = [START + i * STEP for i in range(args.n)]  # ~2.3 years for the default n: DST changes included
    measure_g5kpure(stamps[:1000])  # warm-up
    fmt_s, parse_s, texts, back = measure_g5kpure(stamps)
    ours_fmt, ours_parse = args.n / fmt_s, args.n / parse_s
    print(f"g5kpure  format_oar_date     {ours_fmt:12,.0f} conversions/s  ({args.n} calls)")
    print(f"g5kpure  oar_date_to_unixts  {ours_parse:12,.0f} conversions/s  ({args.n} calls)")

    if args.no_execo:
        print("execo    not measured (--no-execo)")
        return 0
    python = args.execo_python
    if not python:
        python, why = execo_venv_python()
        if python is None:
            print(f"execo    not measured: {why}")
            return 0
        print(f"execo    baseline: {why}")
    stride = max(1, len(stamps) // max(1, args.execo_n))
    picked = list(range(0, len(stamps), stride))[: args.execo_n]  # spread over the whole range
    sample = [stamps[i] for i in picked]
    result = measure_execo(python, sample)
    if isinstance(result, str):
        print(f"execo    not measured: {result}")
        return 0
    e_texts, e_back = result["texts"], result["back"]
    assert isinstance(e_texts, list) and isinstance(e_back, list)
    agree = sum(1 for k, i in enumerate(picked) if e_texts[k] == texts[i] and float(e_back[k]) == back[i])
    e_fmt = len(sample) / float(result["format_s"])  # type: ignore[arg-type]
    e_parse = len(sample) / float(result["parse_s"])  # type: ignore[arg-type]
    print(f"execo    format_oar_date     {e_fmt:12,.0f} conversions/s  ({len(sample)} calls, same inputs)")
    print(f"execo    oar_date_to_unixts  {e_parse:12,.0f} conversions/s  ({len(sample)} calls, same inputs)")
    print(f"answers  identical for {agree}/{len(sample)} timestamps (format and parse back)")
    print(f"ratio    format_oar_date     {ours_fmt / e_fmt:10,.0f}x faster than execo 2.8.2")
    print(f"ratio    oar_date_to_unixts  {ours_parse / e_parse:10,.0f}x faster than execo 2.8.2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
