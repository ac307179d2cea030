"""Which OAR a frontend runs: the version its commands print (``-V``), the generation it belongs to, and the
text format of its ``oarstat -f`` (told from an answer, as ``OARSTAT_DEFAULT_OUTPUT_FORMAT`` is not readable
by users).

The library never needs this to read OAR: every parser reads every generation. It is what ``g5k doctor``
reports, and what a user quotes in a bug report.
"""

from __future__ import annotations

import enum
import re

from attrs import frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, ParseError
from g5kpure.oar.outputs import command_failed, exited_ok, split_lines


class OarGeneration(enum.Enum):
    """The OAR generations whose user commands print differently."""

    OAR_2_5 = "OAR 2.5 (up to 2.5.9)"
    OAR_2_6 = "OAR 2.5.10 / 2.6"
    OAR_3 = "OAR 3"


class OarstatFormat(enum.Enum):
    """The text of ``oarstat -f``: OAR 2's camelCase keys (formats 1 and 2: ``Job_Id:``, ``jobType``), its
    format 3 (``id:``, snake_case keys, Grid'5000's default), or OAR 3's own (``user``, ``queue_name``)."""

    CAMEL_CASE = "formats 1/2 (Job_Id:, camelCase keys)"
    FORMAT_3 = "format 3 (id:, snake_case keys)"
    OAR_3 = "OAR 3 (id:, user, queue_name)"


@frozen
class OarVersion:
    """An OAR version as a command prints it: ``OAR version: 2.6.1 (Liberty hope)``."""

    text: str
    numbers: tuple[int, ...]
    codename: str | None = None

    @property
    def generation(self) -> OarGeneration:
        """The generation of this version (2.5.10 prints like 2.6)."""
        if self.numbers[:1] >= (3,):
            return OarGeneration.OAR_3
        return OarGeneration.OAR_2_6 if self.numbers >= (2, 5, 10) else OarGeneration.OAR_2_5

    def __str__(self) -> str:
        return self.text + (f" ({self.codename})" if self.codename else "")


_VERSION = re.compile(r"OAR version ?: ?(\d{1,4}(?:\.\d{1,4}){0,3})\S*(?: \((.*)\))?\s*$", re.ASCII)


def parse_oar_version(exit_code: int | None, stdout: str, stderr: str = "") -> Result[OarVersion, G5kError]:
    """Read what ``oarstat -V`` / ``oarsub -V`` (any OAR command's ``-V``, any generation) prints."""
    if not exited_ok(exit_code):
        return Failure(command_failed("oarstat", exit_code, stdout, stderr))
    for line in split_lines(stdout):
        m = _VERSION.match(line.strip())
        if m:
            numbers = tuple(int(n) for n in m.group(1).split("."))
            return Success(OarVersion(m.group(1), numbers, (m.group(2) or "").strip() or None))
    return Failure(ParseError("OAR -V output", line=stdout[:200], hint="expected 'OAR version: X.Y.Z (name)'"))


_HEADER = re.compile(r"^\s*(Job_Id|id):\s*\d{1,18}\s*$", re.ASCII)
_KEY = re.compile(r"^ {2,}(\w+) = ?", re.ASCII)


def oarstat_format_of(stdout: str) -> OarstatFormat | None:
    """The text format of an ``oarstat -f`` answer (None when it holds no job, so cannot tell)."""
    header = next((m.group(1) for m in (_HEADER.match(ln) for ln in split_lines(stdout)) if m), None)
    if header is None:
        return None
    if header == "Job_Id":
        return OarstatFormat.CAMEL_CASE
    keys = {m.group(1) for m in (_KEY.match(ln) for ln in split_lines(stdout)) if m}
    if "events" not in keys and keys & {"user", "queue_name", "exit_status_code"}:
        return OarstatFormat.OAR_3
    return OarstatFormat.FORMAT_3


#: Markers between the answers of :func:`oar_probe_argv`'s commands.
PROBE_MARK = "----g5kpure-oar-probe----"
PROBE_SCRIPT = (
    f"oarstat -V; echo {PROBE_MARK}; oarsub -V; echo {PROBE_MARK}; "
    "oarstat -f --sql 'job_id = (SELECT max(job_id) FROM jobs)'"
)


def oar_probe_argv() -> tuple[str, ...]:
    """One command telling a frontend's OAR: oarstat's and oarsub's versions and the ``-f`` text of the latest
    job (whoever owns it), whose keys give oarstat's text format."""
    return ("sh", "-c", PROBE_SCRIPT)


@frozen
class FrontendOar:
    """The OAR a frontend runs: oarstat's and oarsub's versions and oarstat's ``-f`` text format (None when
    no job was there to tell it)."""

    oarstat: OarVersion
    oarsub: OarVersion
    text_format: OarstatFormat | None

    @property
    def generation(self) -> OarGeneration:
        """The generation of its user commands (oarstat's)."""
        return self.oarstat.generation

    def describe(self) -> str:
        """One line for a report: version, generation and output format."""
        same = self.oarsub.text == self.oarstat.text
        sub = "" if same else f", oarsub {self.oarsub.text}"
        fmt = self.text_format.value if self.text_format is not None else "unknown (no job to read)"
        return f"OAR {self.oarstat}{sub} [{self.generation.value}]; oarstat -f text: {fmt}"


def parse_oar_probe(exit_code: int | None, stdout: str, stderr: str = "") -> Result[FrontendOar, G5kError]:
    """Read the answer of :func:`oar_probe_argv`."""
    parts = stdout.replace("\r\n", "\n").split(PROBE_MARK + "\n")
    if len(parts) != 3:
        return Failure(command_failed(oar_probe_argv(), exit_code, stdout, stderr) if not exited_ok(exit_code)
                       else ParseError("OAR probe output", line=stdout[:200], hint="expected three answers"))
    return Result.do(
        FrontendOar(stat, sub, oarstat_format_of(parts[2]))
        for stat in parse_oar_version(0, parts[0], stderr)
        for sub in parse_oar_version(0, parts[1], stderr)
    )
