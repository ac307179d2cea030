"""OAR jobs as oarstat describes them: the job states, a job's events, its full description
(:class:`OarJobInfo`, ``oarstat -f``) and a row of a job listing (:class:`OarJobSummary`).

Every OAR generation (2.5.9, 2.5.10/2.6 in its three text formats, OAR 3) is read into the same values: a field
the output at hand does not print is None (its name is in ``not_printed``), never a guess.
"""

from __future__ import annotations

from enum import Enum

from attrs import frozen


class OarState(Enum):
    """The states of an OAR job (plus UNKNOWN for a state this library does not know yet)."""

    WAITING = "Waiting"
    HOLD = "Hold"
    TO_LAUNCH = "toLaunch"
    TO_ERROR = "toError"
    TO_ACK_RESERVATION = "toAckReservation"
    LAUNCHING = "Launching"
    RUNNING = "Running"
    SUSPENDED = "Suspended"
    RESUMING = "Resuming"
    FINISHING = "Finishing"
    TERMINATED = "Terminated"
    ERROR = "Error"
    UNKNOWN = "Unknown"

    @property
    def is_final(self) -> bool:
        """True for Terminated and Error: the job will never run (again)."""
        return self in (OarState.TERMINATED, OarState.ERROR)

    @property
    def is_running(self) -> bool:
        """True when the job's resources are allocated to it (Launching, Running, Suspended, Resuming...)."""
        return self in (OarState.LAUNCHING, OarState.RUNNING, OarState.SUSPENDED, OarState.RESUMING)

    @staticmethod
    def of(text: str) -> OarState:
        """The state named by OAR's text (``"Running"``), or UNKNOWN."""
        return _STATE_BY_NAME.get(text.strip(), OarState.UNKNOWN)

    @staticmethod
    def of_letter(letter: str) -> OarState:
        """The state of oarstat's one-letter column (``R``, ``W``...); L, S and W each cover several states."""
        return _STATE_BY_LETTER.get(letter.strip(), OarState.UNKNOWN)


_STATE_BY_NAME = {s.value: s for s in OarState if s is not OarState.UNKNOWN}
_STATE_BY_LETTER = {
    "W": OarState.WAITING,
    "H": OarState.HOLD,
    "L": OarState.LAUNCHING,
    "R": OarState.RUNNING,
    "S": OarState.SUSPENDED,
    "F": OarState.FINISHING,
    "T": OarState.TERMINATED,
    "E": OarState.ERROR,
}


@frozen
class OarEvent:
    """One event of a job's history (``oarstat -f``): when (unix ts or None), its type and description."""

    date: int | None
    kind: str
    description: str


@frozen
class OarJobInfo:
    """What ``oarstat -f -j ID`` (text or JSON) says about one job; times are unix timestamps.

    None means that the output did not print the field (``oarstat -J`` of OAR 2.5.9 has no events, OAR 3's
    ``-J`` no hosts nor types...). ``assigned_hosts`` and ``types`` stay tuples for their readers: when the
    output does not print them they are empty and named in ``not_printed``, as every field left out is."""

    job_id: int
    state: OarState
    owner: str | None = None
    name: str | None = None
    queue: str | None = None
    project: str | None = None
    types: tuple[str, ...] = ()
    walltime: int | None = None
    submission_time: int | None = None
    start_time: int | None = None
    scheduled_start: int | None = None
    stop_time: int | None = None
    assigned_hosts: tuple[str, ...] = ()
    assigned_resources: tuple[int, ...] | None = None
    reservation: str | None = None
    message: str | None = None
    exit_code: int | None = None
    exit_status: int | None = None
    command: str | None = None
    properties: str | None = None
    wanted_resources: str | None = None
    initial_request: str | None = None
    launching_directory: str | None = None
    job_kind: str | None = None
    array_id: int | None = None
    array_index: int | None = None
    resubmit_job_id: int | None = None
    events: tuple[OarEvent, ...] | None = None
    state_text: str = ""
    not_printed: tuple[str, ...] = ()

    @property
    def predicted_start(self) -> int | None:
        """The actual start if known, else OAR's scheduled start, else None (like execo's wait prediction)."""
        return self.start_time if self.start_time is not None else self.scheduled_start

    @property
    def is_reservation(self) -> bool:
        """True for an advance reservation (``oarsub -r``)."""
        return self.reservation not in (None, "None", "")


@frozen
class OarJobSummary:
    """One row of an ``oarstat`` listing (text formats 1, 2 and 3, ``--array``, ``-c``, OAR 3's table, or
    ``-J``); a column the listing does not show is None. A compacted array row (``oarstat -c``: ``3@18``) has
    the array id as ``job_id`` and ``array_id``, and its number of jobs as ``array_count``."""

    job_id: int
    state: OarState
    user: str | None = None
    name: str | None = None
    queue: str | None = None
    project: str | None = None
    types: tuple[str, ...] | None = None
    walltime: int | None = None
    submission_time: int | None = None
    duration: int | None = None
    message: str | None = None
    array_id: int | None = None
    array_index: int | None = None
    array_count: int | None = None
