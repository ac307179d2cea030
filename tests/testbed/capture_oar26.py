#!/usr/bin/env python3
"""Capture real outputs of OAR 2.6.1's user commands (the testbed's frontend grenoble) into
tests/fixtures/oar-2.6.1/, and of OAR 2.5.9's (frontend nancy) for the same jobs where a comparison makes sense.

Every output is printed by real OAR code: the commands run through ssh on the testbed's frontends, as the test
users (alice; bob for "not your job"), exactly as a user types them. Each sample NAME gets NAME.cmd (the command
line), NAME.rc (exit code), NAME.stdout and NAME.stderr (exact bytes) and NAME.meta (frontend, OAR version,
user, date, the jobs involved and their state). `INDEX.txt` lists them all, `capture.json` the run (job ids by
role, dates, versions). Samples are named `v261_*` (grenoble, OAR 2.6.1, OARSTAT_DEFAULT_OUTPUT_FORMAT=3) and
`v259_*` (nancy, OAR 2.5.9, Debian's default format 2).

Usage (the testbed up, as any user who can read the testbed's keys, e.g. root):

    tests/testbed/capture_oar26.py [--out tests/fixtures/oar-2.6.1] [--state .testbed]

It submits jobs (a few short ones, an advance reservation of parasilo 30 days ahead, deleted at once) and
deletes every job it created before it exits, whatever happens. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, overload
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[2]
NONEXISTENT = "99999999"
FINAL = ("Terminated", "Error")


class Capture:
    def __init__(self, state: Path, out: Path) -> None:
        tb = json.loads((state / "testbed.json").read_text())
        fe = tb["frontend"]
        self.port = str(fe["port"])
        self.suffix = fe["host_suffix"]
        self.known_hosts = fe["known_hosts"]
        self.keys = {
            fe["user"]: fe["key_filename"],
            tb["other_user"]["user"]: tb["other_user"]["key_filename"],
            tb["spare_user"]["user"]: tb["spare_user"]["key_filename"],
        }
        self.alice = fe["user"]
        self.bob = tb["other_user"]["user"]
        self.new = tb["oar26"]["frontends"][0]
        self.old = "nancy" if "nancy" in fe["live"] else fe["live"][0]
        self.versions = {self.new: "", self.old: ""}
        self.tz = ZoneInfo(tb["timezone"])  # the OAR server's: -r dates are read in it
        self.out = out
        self.index: list[str] = []
        self.created: list[str] = []  # every job id a submission printed, to delete at the end
        self.jobs: dict[str, str] = {}  # role -> job id
        self.started = datetime.now(UTC)

    # ---- ssh
    def ssh(self, frontend: str, argv: list[str], user: str | None = None) -> subprocess.CompletedProcess[bytes]:
        user = user or self.alice
        cmd = [
            "ssh", "-n", "-p", self.port, "-i", self.keys[user], "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
            f"{user}@{frontend}{self.suffix}", shlex.join(argv),
        ]
        return subprocess.run(cmd, capture_output=True, timeout=180, check=False)

    def text(self, frontend: str, argv: list[str], user: str | None = None) -> str:
        return self.ssh(frontend, argv, user).stdout.decode()

    # ---- samples
    def sample(self, name: str, frontend: str, argv: list[str], about: str = "", user: str | None = None,
               track: bool = False) -> subprocess.CompletedProcess[bytes]:
        user = user or self.alice
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        proc = self.ssh(frontend, argv, user)
        line = shlex.join(argv)
        (self.out / f"{name}.cmd").write_text(line + "\n")
        (self.out / f"{name}.rc").write_text(f"{proc.returncode}\n")
        (self.out / f"{name}.stdout").write_bytes(proc.stdout)
        (self.out / f"{name}.stderr").write_bytes(proc.stderr)
        version = self.versions.get(frontend, "")
        meta = [
            f"sample: {name}",
            f"command: {line}",
            f"frontend: {frontend}{self.suffix} ({version})",
            f"user: {user}",
            f"date: {when}",
            f"exit_code: {proc.returncode}",
        ]
        if about:
            meta.append(f"about: {about}")
        (self.out / f"{name}.meta").write_text("\n".join(meta) + "\n")
        self.index.append(f"{name}\t{proc.returncode}\t{user}@{frontend}\t{line}")
        if track:
            self.created += re.findall(r"^OAR_JOB_ID=(\d+)$", proc.stdout.decode(), re.M)
        print(f"{name:48} rc={proc.returncode:<3} {user}@{frontend}: {line}", flush=True)
        return proc

    # A submission expected to succeed returns its job id (it raises SystemExit otherwise); one that may be refused
    # returns None then.
    @overload
    def submit(self, name: str, frontend: str, argv: list[str], role: str, about: str = "",
               user: str | None = None, expect_ok: Literal[True] = True) -> str: ...

    @overload
    def submit(self, name: str, frontend: str, argv: list[str], role: str, about: str = "",
               user: str | None = None, *, expect_ok: bool) -> str | None: ...

    def submit(self, name: str, frontend: str, argv: list[str], role: str, about: str = "",
               user: str | None = None, expect_ok: bool = True) -> str | None:
        proc = self.sample(name, frontend, argv, about, user, track=True)
        ids = re.findall(r"^OAR_JOB_ID=(\d+)$", proc.stdout.decode(), re.M)
        if not ids:
            m = re.search(rb'"job_id"\s*:\s*(\d+)', proc.stdout)
            ids = [m.group(1).decode()] if m else []
            self.created += ids
        if expect_ok and (proc.returncode != 0 or not ids):
            raise SystemExit(f"{name}: expected a job, got rc={proc.returncode}\n"
                             f"{proc.stdout.decode()}{proc.stderr.decode()}")
        if ids:
            self.jobs[role] = ids[0]
        return ids[0] if ids else None

    # ---- job states
    def state(self, job: str) -> str:
        out = self.text(self.new, ["oarstat", "-s", "-j", job])
        return out.strip().rpartition(": ")[2]

    def wait(self, job: str, states: tuple[str, ...], timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while True:
            s = self.state(job)
            if s in states:
                return s
            if time.monotonic() > deadline:
                raise SystemExit(f"job {job} still {s!r} after {timeout:.0f}s (wanted {states})")
            time.sleep(1)

    def cleanup(self) -> None:
        alive = [j for j in dict.fromkeys(self.created) if self.state(j) not in FINAL]
        if alive:
            print(f"deleting the jobs left: {' '.join(alive)}", flush=True)
            self.ssh(self.new, ["oardel", *alive])
            for j in alive:
                try:
                    self.wait(j, FINAL, 120)
                except SystemExit as exc:
                    print(f"warning: {exc}", file=sys.stderr)


def run(c: Capture) -> None:
    new, old, bob = c.new, c.old, c.bob
    for fe in (new, old):
        c.versions[fe] = c.text(fe, ["oarstat", "-V"]).strip()
    c.versions[new] += ", OARSTAT_DEFAULT_OUTPUT_FORMAT=3"
    c.versions[old] += ", OARSTAT_DEFAULT_OUTPUT_FORMAT=2"

    # ---------------------------------------------------------------- versions
    for cmd in ("oarstat", "oarsub", "oardel", "oarwalltime", "oarnodes", "oarhold", "oarresume"):
        c.sample(f"v261_{cmd}_V", new, [cmd, "-V"])
    for cmd in ("oarstat", "oarsub", "oardel", "oarwalltime"):
        c.sample(f"v259_{cmd}_V", old, [cmd, "-V"])

    # ---------------------------------------------------------------- submissions
    plain = c.submit("v261_oarsub_plain", new, ["oarsub", "-l", "nodes=1,walltime=0:20:00", "-n", "cap-plain",
                                                "sleep 1200"], "plain", "a batch job, name, walltime")
    js = c.submit("v261_oarsub_J", new, ["oarsub", "-J", "-l", "core=1,walltime=0:20:00", "-n", "cap-json",
                                         "sleep 1200"], "json", "oarsub -J")
    c.submit("v261_oarsub_array", new, ["oarsub", "--array", "3", "-l", "core=1,walltime=0:20:00", "-n",
                                        "cap-array", "sleep 1200"], "array", "an array job of 3")
    array_jobs = re.findall(r"^OAR_JOB_ID=(\d+)$", (c.out / "v261_oarsub_array.stdout").read_text(), re.M)
    array_id = re.search(r"^OAR_ARRAY_ID=(\d+)$", (c.out / "v261_oarsub_array.stdout").read_text(), re.M)
    c.jobs["array_id"] = array_id.group(1) if array_id else array_jobs[0]
    exit3 = c.submit("v261_oarsub_exit3", new, ["oarsub", "-l", "core=1,walltime=0:05:00", "-n", "cap-exit3",
                                                "sh -c 'exit 3'"], "exit3", "a job whose command exits 3")
    c.submit("v261_oarsub_default_walltime", new, ["oarsub", "-l", "core=1", "-n", "cap-defwall", "true"],
             "default_walltime", "no walltime: the admission rule sets the default")
    c.submit("v261_oarsub_types_project", new, ["oarsub", "-t", "origin=g5kpure-capture", "-t", "night",
                                                "--project", "capture", "-l", "core=1,walltime=0:01:00",
                                                "-n", "cap-types", "true"], "types", "job types and a project")
    held = c.submit("v261_oarsub_hold", new, ["oarsub", "--hold", "-l", "core=1,walltime=0:05:00", "-n",
                                              "cap-hold", "sleep 300"], "hold", "oarsub --hold")
    plain259 = c.submit("v259_oarsub_plain", old, ["oarsub", "-l", "nodes=1,walltime=0:20:00", "-n",
                                                   "cap-plain-259", "sleep 1200"], "plain259",
                        "the same plain submission with 2.5.9's oarsub")
    c.submit("v259_oarsub_J", old, ["oarsub", "-J", "-l", "core=1,walltime=0:20:00", "-n", "cap-json-259",
                                    "sleep 1200"], "json259", "oarsub -J with 2.5.9")

    # ---------------------------------------------------------------- refusals (2.6.1 and 2.5.9 alike)
    refusals = [
        ("oarsub_unknown_type", ["oarsub", "-t", "nosuchtype", "-l", "core=1,walltime=0:01:00", "true"],
         "admission rule: unknown job type"),
        ("oarsub_unknown_queue", ["oarsub", "-q", "nosuchqueue", "-l", "core=1,walltime=0:01:00", "true"],
         "unknown queue"),
        ("oarsub_admin_queue", ["oarsub", "-q", "admin", "-l", "core=1,walltime=0:01:00", "true"],
         "admission rule: the admin queue is for admins"),
        ("oarsub_too_many_nodes", ["oarsub", "-l", "nodes=9,walltime=0:01:00", "true"],
         "more nodes than the site has"),
        ("oarsub_unknown_property", ["oarsub", "-p", "nosuchprop = 'x'", "-l", "core=1,walltime=0:01:00", "true"],
         "unknown property in -p"),
        ("oarsub_bad_walltime", ["oarsub", "-l", "nodes=1,walltime=abc", "true"], "unparsable -l"),
        ("oarsub_no_command", ["oarsub", "-l", "core=1,walltime=0:01:00"], "no command and no reservation"),
        ("oarsub_bad_reservation_date", ["oarsub", "-r", "not-a-date", "-l", "core=1,walltime=0:01:00", "true"],
         "unparsable -r"),
        ("oarsub_reservation_too_old", ["oarsub", "-r", "2020-01-01 10:00:00", "-l", "core=1,walltime=0:01:00",
                                        "true"], "a reservation in the past"),
        ("oarsub_unknown_option", ["oarsub", "--nosuchoption", "true"], "unknown option"),
    ]
    for name, argv, about in refusals:
        c.sample(f"v261_{name}", new, argv, about, track=True)
        c.sample(f"v259_{name}", old, argv, about, track=True)

    # ---------------------------------------------------------------- oarstat on running / ended jobs
    for job in (plain, js, plain259, *array_jobs):
        c.wait(job, ("Running",))
    c.wait(exit3, FINAL)
    c.wait(c.jobs["default_walltime"], FINAL)
    c.wait(c.jobs["types"], FINAL)
    first = min(int(j) for j in c.created)
    mine = f"job_name like 'cap-%' and job_id >= {first}"

    running = f"job {plain} (cap-plain) Running, submitted with 2.6.1's oarsub"
    for fe, v in ((new, "v261"), (old, "v259")):
        c.sample(f"{v}_oarstat_f_j_running", fe, ["oarstat", "-f", "-j", plain], running)
        c.sample(f"{v}_oarstat_f_J_j_running", fe, ["oarstat", "-f", "-J", "-j", plain], running)
        c.sample(f"{v}_oarstat_J_j_running", fe, ["oarstat", "-J", "-j", plain], running)
        c.sample(f"{v}_oarstat_s_j_running", fe, ["oarstat", "-s", "-j", plain], running)
        c.sample(f"{v}_oarstat_e_j_running", fe, ["oarstat", "-e", "-j", plain], running)
        c.sample(f"{v}_oarstat_j_running", fe, ["oarstat", "-j", plain], running)
        c.sample(f"{v}_oarstat_f_j_terminated_exit3", fe, ["oarstat", "-f", "-j", exit3],
                 f"job {exit3} Terminated, its command exited 3")
        c.sample(f"{v}_oarstat_f_J_j_terminated_exit3", fe, ["oarstat", "-f", "-J", "-j", exit3],
                 f"job {exit3} Terminated, its command exited 3")
        c.sample(f"{v}_oarstat_s_j_several", fe, ["oarstat", "-s", "-j", plain, "-j", js, "-j", exit3],
                 "several jobs: Running, Running, Terminated")
        c.sample(f"{v}_oarstat_list_sql", fe, ["oarstat", "--sql", mine], "the capture's jobs, default format")
        c.sample(f"{v}_oarstat_J_sql", fe, ["oarstat", "-J", "--sql", mine], "the capture's jobs")
        c.sample(f"{v}_oarstat_f_j_nonexistent", fe, ["oarstat", "-f", "-j", NONEXISTENT], "no such job")
        c.sample(f"{v}_oarstat_J_j_nonexistent", fe, ["oarstat", "-J", "-j", NONEXISTENT], "no such job")
        c.sample(f"{v}_oarstat_s_j_nonexistent", fe, ["oarstat", "-s", "-j", NONEXISTENT], "no such job")
        c.sample(f"{v}_oarstat_s_without_j", fe, ["oarstat", "-s"], "-s needs -j")
        c.sample(f"{v}_oarstat_J_u", fe, ["oarstat", "-J", "-u"], "every current job of the user (other tests' too)")
        c.sample(f"{v}_oarstat_u", fe, ["oarstat", "-u"], "every current job of the user (other tests' too)")
        c.sample(f"{v}_oarstat_f_j_hold", fe, ["oarstat", "-f", "-j", held], f"job {held} Hold (oarsub --hold)")
    # 2.6.1 only: the other text formats, the job submitted by 2.5.9, arrays, another user's view, YAML
    for fmt in ("1", "2", "3"):
        c.sample(f"v261_oarstat_fmt{fmt}_list_sql", new, ["oarstat", "--format", fmt, "--sql", mine],
                 f"the capture's jobs, --format {fmt}")
        c.sample(f"v261_oarstat_fmt{fmt}_f_j_running", new, ["oarstat", "--format", fmt, "-f", "-j", plain], running)
        c.sample(f"v261_oarstat_fmt{fmt}_f_J_j_running", new, ["oarstat", "--format", fmt, "-f", "-J", "-j", plain],
                 running)
    c.sample("v261_oarstat_f_j_submitted_by_259", new, ["oarstat", "-f", "-j", plain259],
             f"job {plain259} Running, submitted with 2.5.9's oarsub")
    c.sample("v261_oarstat_array", new, ["oarstat", "--array", c.jobs["array_id"]], "the array job's 3 jobs")
    c.sample("v261_oarstat_fmt2_array", new, ["oarstat", "--format", "2", "--array", c.jobs["array_id"]],
             "the array job's 3 jobs, format 2")
    c.sample("v261_oarstat_c_sql", new, ["oarstat", "-c", "--sql", mine], "--compact: one line per array")
    c.sample("v261_oarstat_Y_j_running", new, ["oarstat", "-Y", "-j", plain], running)
    c.sample("v261_oarstat_p_j_running", new, ["oarstat", "-p", "-j", plain], running)
    c.sample("v261_oarstat_f_j_other_user", new, ["oarstat", "-f", "-j", plain], f"{running}; seen by {bob}",
             user=bob)

    # ---------------------------------------------------------------- advance reservations
    day = (datetime.now(c.tz) + timedelta(days=30)).strftime("%Y-%m-%d")
    date = f"{day} 03:00:00"
    resa = c.submit("v261_oarsub_reservation_accepted", new,
                    ["oarsub", "-r", date, "-p", "cluster='parasilo'", "-l", "nodes=4,walltime=2:00:00",
                     "-n", "cap-resa"], "resa", "an advance reservation of every parasilo node, 30 days ahead")
    held_by = f"job {resa} (cap-resa): a waiting advance reservation of all parasilo nodes on {date}"
    for fe, v in ((new, "v261"), (old, "v259")):
        c.sample(f"{v}_oarstat_f_j_reservation", fe, ["oarstat", "-f", "-j", resa], held_by)
        c.sample(f"{v}_oarstat_f_J_j_reservation", fe, ["oarstat", "-f", "-J", "-j", resa], held_by)
        c.sample(f"{v}_oarstat_j_reservation", fe, ["oarstat", "-j", resa], held_by)
        c.sample(f"{v}_oarstat_s_j_reservation", fe, ["oarstat", "-s", "-j", resa], held_by)
        c.sample(f"{v}_oarwalltime_reservation_not_running", fe, ["oarwalltime", resa, "+1:00:00"], held_by)
    ko = c.submit("v261_oarsub_reservation_refused_could_run", new,
                  ["oarsub", "-r", date, "-p", "cluster='parasilo'", "-l", "nodes=1,walltime=1:00:00",
                   "-n", "cap-resa-ko"], "resa_ko",
                  f"parasilo is all held by job {resa} then: refused, with OAR's 'could run at' hint",
                  expect_ok=False)
    ko259 = c.submit("v259_oarsub_reservation_refused_could_run", old,
                     ["oarsub", "-r", date, "-p", "cluster='parasilo'", "-l", "nodes=1,walltime=1:00:00",
                      "-n", "cap-resa-ko-259"], "resa_ko259",
                     f"parasilo is all held by job {resa} then: refused, with OAR's 'could run at' hint",
                     expect_ok=False)
    for job, v, fe in ((ko, "v261", new), (ko259, "v259", old)):
        if job:
            c.wait(job, FINAL, 30)
            c.sample(f"{v}_oarstat_f_j_reservation_refused", fe, ["oarstat", "-f", "-j", job],
                     f"job {job}: the refused reservation")
            c.sample(f"{v}_oarstat_f_J_j_reservation_refused", fe, ["oarstat", "-f", "-J", "-j", job],
                     f"job {job}: the refused reservation")
    c.sample("v261_oardel_reservation", new, ["oardel", resa], held_by)
    c.wait(resa, FINAL, 60)
    later = f"{(datetime.now(c.tz) + timedelta(days=31)).strftime('%Y-%m-%d')} 03:00:00"
    resa259 = c.submit("v259_oarsub_reservation_accepted", old,
                       ["oarsub", "-r", later, "-p", "cluster='parasilo'", "-l", "nodes=4,walltime=2:00:00",
                        "-n", "cap-resa-259"], "resa259", "the same reservation with 2.5.9's oarsub, a day later")
    c.sample("v259_oardel_reservation", old, ["oardel", resa259], f"job {resa259}: a waiting reservation")

    # ---------------------------------------------------------------- oarwalltime
    wt = f"job {plain} (cap-plain) Running, walltime 0:20:00"
    c.sample("v261_oarwalltime_status_running", new, ["oarwalltime", plain], wt)
    c.sample("v261_oarwalltime_accepted", new, ["oarwalltime", plain, "+0:05:00"], wt)
    c.sample("v261_oarwalltime_status_just_after_request", new, ["oarwalltime", plain],
             f"{wt}; right after a +0:05:00 request (pending unless the server was quicker)")
    deadline = time.monotonic() + 90
    while "Already granted:       +0:5:0" not in c.text(new, ["oarwalltime", plain]):
        if time.monotonic() > deadline:
            raise SystemExit(f"the walltime change of job {plain} was not granted in 90 s")
        time.sleep(1)
    c.sample("v261_oarwalltime_status_granted", new, ["oarwalltime", plain], f"{wt}; +0:05:00 granted")
    c.sample("v261_oarstat_e_j_walltime_changed", new, ["oarstat", "-e", "-j", plain], f"{wt}; +0:05:00 granted")
    c.sample("v261_oarstat_f_j_walltime_changed", new, ["oarstat", "-f", "-j", plain], f"{wt}; +0:05:00 granted")
    c.sample("v261_oarwalltime_reduce", new, ["oarwalltime", plain, "-0:01:00"], f"{wt}; +0:05:00 granted")
    c.sample("v261_oarwalltime_other_user", new, ["oarwalltime", plain, "+0:01:00"], f"{wt}; asked by {bob}",
             user=bob)
    c.sample("v261_oarwalltime_terminated", new, ["oarwalltime", exit3, "+0:01:00"], f"job {exit3} Terminated")
    c.sample("v261_oarwalltime_nonexistent", new, ["oarwalltime", NONEXISTENT, "+0:01:00"], "no such job")
    c.sample("v261_oarwalltime_bad_value", new, ["oarwalltime", plain, "banana"], wt)
    c.sample("v261_oarwalltime_no_argument", new, ["oarwalltime"], "usage")
    wt259 = f"job {plain259} (cap-plain-259) Running, walltime 0:20:00"
    c.sample("v259_oarwalltime_status_running", old, ["oarwalltime", plain259], wt259)
    c.sample("v259_oarwalltime_accepted", old, ["oarwalltime", plain259, "+0:05:00"], wt259)
    c.sample("v259_oarwalltime_status_just_after_request", old, ["oarwalltime", plain259],
             f"{wt259}; right after a +0:05:00 request")
    c.sample("v259_oarwalltime_nonexistent", old, ["oarwalltime", NONEXISTENT, "+0:01:00"], "no such job")
    c.sample("v259_oarwalltime_other_user", old, ["oarwalltime", plain, "+0:01:00"], f"{wt}; asked by {bob}",
             user=bob)

    # ---------------------------------------------------------------- oarhold / oarresume
    c.sample("v261_oarresume_held", new, ["oarresume", held], f"job {held} Hold")
    c.sample("v261_oarhold_running", new, ["oarhold", plain], f"{running}: not Waiting")
    c.sample("v261_oarhold_nonexistent", new, ["oarhold", NONEXISTENT], "no such job")
    c.sample("v261_oarresume_not_held", new, ["oarresume", plain], f"{running}: not held")

    # ---------------------------------------------------------------- oardel
    c.sample("v261_oardel_running", new, ["oardel", js], f"job {js} (cap-json) Running")
    c.sample("v261_oardel_terminated", new, ["oardel", exit3], f"job {exit3} Terminated")
    c.sample("v261_oardel_nonexistent", new, ["oardel", NONEXISTENT], "no such job")
    c.sample("v261_oardel_other_user", new, ["oardel", plain], f"{running}; deleted by {bob}", user=bob)
    c.sample("v261_oardel_bad_id", new, ["oardel", "abc"], "not a job id")
    c.sample("v261_oardel_no_argument", new, ["oardel"], "usage")
    c.sample("v261_oardel_array", new, ["oardel", "--array", c.jobs["array_id"]], "the array job's 3 Running jobs")
    c.wait(js, FINAL, 90)
    c.sample("v261_oardel_already_deleted", new, ["oardel", js], f"job {js} deleted (Error) a moment ago")
    for fe, v in ((new, "v261"), (old, "v259")):
        c.sample(f"{v}_oarstat_f_j_deleted", fe, ["oarstat", "-f", "-j", js], f"job {js} deleted while Running")
        c.sample(f"{v}_oarstat_f_J_j_deleted", fe, ["oarstat", "-f", "-J", "-j", js], f"job {js} deleted while Running")
        c.sample(f"{v}_oarstat_e_j_deleted", fe, ["oarstat", "-e", "-j", js], f"job {js} deleted while Running")
    c.sample("v259_oardel_running", old, ["oardel", plain259], f"job {plain259} (cap-plain-259) Running")
    # another Terminated job: the first one was oardel'ed above, and a second oardel says "already killed"
    ended = c.jobs["default_walltime"]
    c.sample("v259_oardel_terminated", old, ["oardel", ended], f"job {ended} Terminated")
    c.sample("v259_oardel_nonexistent", old, ["oardel", NONEXISTENT], "no such job")
    c.sample("v261_oardel_several", new, ["oardel", plain, held], f"{running}; job {held} Waiting or Running")

    # ---------------------------------------------------------------- oarnodes
    host = "paravance-1.rennes.grid5000.fr"
    c.sample("v261_oarnodes_s", new, ["oarnodes", "-s"], "every resource's state")
    c.sample("v261_oarnodes_l", new, ["oarnodes", "-l"], "the node list")
    c.sample("v261_oarnodes_host", new, ["oarnodes", host], "one host's resources")
    c.sample("v261_oarnodes_J_host", new, ["oarnodes", "-J", host], "one host's resources")
    c.sample("v261_oarnodes_nonexistent", new, ["oarnodes", "nosuchhost.rennes.grid5000.fr"], "no such host")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures" / "oar-2.6.1")
    parser.add_argument("--state", type=Path,
                        default=Path(os.environ.get("G5KPURE_TESTBED_STATE") or REPO / ".testbed"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for f in args.out.iterdir():
        if f.suffix in (".cmd", ".rc", ".stdout", ".stderr", ".meta") or f.name in ("INDEX.txt", "capture.json"):
            f.unlink()
    c = Capture(args.state, args.out)
    t0 = time.monotonic()
    try:
        run(c)
    finally:
        c.cleanup()
    (c.out / "INDEX.txt").write_text(
        "# sample\texit code\tuser@frontend\tcommand (grenoble: OAR 2.6.1, nancy: OAR 2.5.9)\n"
        + "\n".join(c.index) + "\n")
    (c.out / "capture.json").write_text(json.dumps({
        "started": c.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": round(time.monotonic() - t0),
        "frontends": {fe: v for fe, v in c.versions.items()},
        "jobs": c.jobs,
        "created": list(dict.fromkeys(c.created)),
    }, indent=2) + "\n")
    print(f"{len(c.index)} samples in {c.out} ({time.monotonic() - t0:.0f} s); jobs left: none", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
