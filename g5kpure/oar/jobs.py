"""OAR jobs as oarstat describes them: the job states, a job's events, its full description
(:class:`OarJobInfo`, ``oarstat -f``) and a row of a job listing (:class:`OarJobSummary`)."""

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
    """What ``oarstat -f -j ID`` (text or JSON) says about one job; times are unix timestamps or None."""

    job_id: int
    state: OarState
    owner: str = ""
    name: str | None = None
    queue: str = ""
    project: str = ""
    types: tuple[str, ...] = ()
    walltime: int | None = None
    submission_time: int | None = None
    start_time: int | None = None
    scheduled_start: int | None = None
    stop_time: int | None = None
    assigned_hosts: tuple[str, ...] = ()
    assigned_resources: tuple[int, ...] = ()
    reservation: str = "None"
    message: str = ""
    exit_code: int | None = None
    exit_status: int | None = None
    command: str = ""
    properties: str = ""
    wanted_resources: str = ""
    initial_request: str = ""
    launching_directory: str = ""
    job_kind: str = ""
    array_id: int | None = None
    array_index: int | None = None
    resubmit_job_id: int | None = None
    events: tuple[OarEvent, ...] = ()
    state_text: str = ""

    @property
    def predicted_start(self) -> int | None:
        """The actual start if known, else OAR's scheduled start, else None (like execo's wait prediction)."""
        return self.start_time if self.start_time is not None else self.scheduled_start

    @property
    def is_reservation(self) -> bool:
        """True for an advance reservation (``oarsub -r``)."""
        return self.reservation not in ("None", "")


@frozen
class OarJobSummary:
    """One row of an ``oarstat`` listing (text formats 1 and 2, ``--array``, or ``-J``)."""

    job_id: int
    state: OarState
    user: str = ""
    name: str | None = None
    queue: str | None = None
    project: str | None = None
    types: tuple[str, ...] = ()
    walltime: int | None = None
    submission_time: int | None = None
    duration: int | None = None
    message: str = ""
    array_id: int | None = None
    array_index: int | None = None

