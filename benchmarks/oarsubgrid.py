"""oarsubgrid over 1, 2 and 3 frontends of the local testbed, against sequential submission in the same run;
then one poll of J jobs on 3 frontends (batched: one oarstat per frontend) against one oarstat per job.

Goal: submitting to N sites in parallel costs about one submission, not N. Each measured round submits real
jobs to the testbed's OAR (through its ssh frontends) and deletes them afterwards (not timed).
Needs `make testbed`; the frontends are reached through the testbed's generated configuration file.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from g5k import config as config_adapter
from g5k.oar import get_oar_job_info, oardel, oarsub, oarsubgrid, poll_jobs
from g5k.results import performed
from returns.result import Success

from g5kpure import config as core
from g5kpure.config import FrontendAccess
from g5kpure.oar import OarJob, OarSubmission
from tests.conftest import REPO_DIR

ROUNDS = 3
SITES = ("rennes", "nancy", "lyon")
SUB = OarSubmission(resources=("core=1",), walltime=120, name="g5kpure-bench")


def testbed_access() -> tuple[FrontendAccess, ZoneInfo]:
    """Frontend access and OAR time zone of the running testbed (exits with a message when it is not up)."""
    state = Path(os.environ.get("G5KPURE_TESTBED_STATE") or REPO_DIR / ".testbed")
    conf, meta = state / "g5k.toml", state / "testbed.json"
    if not conf.exists() or not meta.exists():
        sys.exit(f"no testbed state in {state}: run `make testbed` first")
    loaded = performed(config_adapter.load_config(path=conf))
    if not isinstance(loaded, Success):
        sys.exit(f"bad testbed configuration {conf}: {loaded.failure().message}")
    config = loaded.unwrap().config
    location = performed(config_adapter.where_we_run(config)).unwrap()
    tz_name = json.loads(meta.read_text())["timezone"]
    return core.frontend_access(config, location), ZoneInfo(tz_name)


def clean(jobs: list[OarJob], access: FrontendAccess) -> None:
    """Delete the jobs of a round."""
    if jobs:
        performed(oardel([(j.job_id, j.frontend) for j in jobs], access))


def sequential(n: int, access: FrontendAccess, tz: ZoneInfo) -> tuple[float, list[OarJob]]:
    """Seconds to submit to n sites one after the other (the baseline)."""
    jobs: list[OarJob] = []
    t0 = time.perf_counter()
    for site in SITES[:n]:
        jobs.append(performed(oarsub([(SUB, site)], access, tz=tz)[0]).unwrap())
    return time.perf_counter() - t0, jobs


def parallel(n: int, access: FrontendAccess, tz: ZoneInfo) -> tuple[float, list[OarJob]]:
    """Seconds of one oarsubgrid over n sites."""
    t0 = time.perf_counter()
    jobs = performed(oarsubgrid([(SUB, s) for s in SITES[:n]], access=access, tz=tz)).unwrap()
    return time.perf_counter() - t0, list(jobs)


def main() -> None:
    """Measure and print the table."""
    access, tz = testbed_access()
    single: list[float] = []
    print(f"{'sites':>5} {'sequential s':>13} {'oarsubgrid s':>13} {'seq/grid':>9} {'grid/one':>9}")
    for n in (1, 2, 3):
        seq: list[float] = []
        par: list[float] = []
        for _ in range(ROUNDS):
            took, jobs = sequential(n, access, tz)
            clean(jobs, access)
            seq.append(took)
            took, jobs = parallel(n, access, tz)
            clean(jobs, access)
            par.append(took)
        s, p = statistics.median(seq), statistics.median(par)
        if n == 1:
            single = seq
        one = statistics.median(single)
        print(f"{n:>5} {s:>13.3f} {p:>13.3f} {s / p:>9.2f} {p / one:>9.2f}")


def polling(access: FrontendAccess, tz: ZoneInfo) -> None:
    """Time one batched poll of J jobs against J single-job reads (execo's get_oar_job_info per job)."""
    jobs = [performed(r).unwrap() for r in oarsub([(SUB, SITES[i % 3]) for i in range(6)], access, tz=tz)]
    try:
        batched: list[float] = []
        per_job: list[float] = []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            assert all(isinstance(r, Success) for r in performed(poll_jobs(jobs, access)))
            batched.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for j in jobs:
                performed(get_oar_job_info(j.job_id, j.frontend, access)).unwrap()
            per_job.append(time.perf_counter() - t0)
        b, p = statistics.median(batched), statistics.median(per_job)
        print(
            f"poll of {len(jobs)} jobs on 3 frontends: batched {b:.3f}s, one oarstat per job {p:.3f}s, "
            f"ratio {p / b:.2f}"
        )
    finally:
        clean(jobs, access)


if __name__ == "__main__":
    main()
    polling(*testbed_access())
