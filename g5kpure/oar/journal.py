"""The submission journal as values: what each command has in flight or submitted, and what a dead one left.

A command that submits OAR jobs opens a :class:`Transaction` owned by its process (:class:`JournalOwner`: machine, boot,
pid and process start time, so that a reused pid is not mistaken for the owner). Each submission is an
:class:`JournalEntry` recorded *before* it is sent (frontend, job name, time) and completed with the job id as soon as
OAR gives it; an entry whose answer never came back is found again by its name. A transaction leaves the journal
when its command ends normally: its jobs are then the user's, or were deleted.

A transaction whose owner has died (killed, machine rebooted) holds *leftovers*: :func:`find_leftovers` sorts
them out, :func:`leftover_notice` words the one line the next command prints, :func:`claim_named` matches
entries without an id to the jobs OAR lists under their names, and :func:`forget` drops what was cleaned.

Everything here is pure: the adapter (``g5k.journal``) reads and writes the file under a lock, tells which owners
are alive, and performs the deletions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from attrs import evolve, frozen
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, ParseError, Timeout, Unreachable
from g5kpure.oar.jobs import OarJobInfo
from g5kpure.oar.watch import OarJob, group_by_frontend

JOURNAL_FORMAT = 1
"""Version of the journal file's layout."""

NAME_PREFIX = "g5k-"
"""Prefix of the names given to submissions that have none, so that a job whose id was lost can be found."""

UNKNOWN_WALLTIME = 86400.0
"""How long a job of unknown walltime is assumed to last (OAR's default walltime is far shorter)."""

LOST_GRACE = 20.0
"""Seconds after which a submission sent by a dead command has surely reached OAR or died: a search by name that
finds nothing then means there is no job."""

NAME_SLACK = 300.0
"""A job found by name counts as an entry's when OAR registered it at most this long before the entry was sent
(clocks of the frontend and of this machine may differ)."""


@frozen
class JournalOwner:
    """The process holding a transaction: its machine, boot, pid and start time (0 when unknown)."""

    host: str
    boot: str
    pid: int
    started: int = 0


@frozen
class JournalEntry:
    """One submission: where, under which name, when it was sent, when its job has surely ended, and its id."""

    key: str
    frontend: str | None
    name: str
    sent_at: float
    ends_by: float
    job_id: int | None = None

    @property
    def job(self) -> OarJob | None:
        """The job this submission created, once OAR gave its id."""
        return None if self.job_id is None else OarJob(self.job_id, self.frontend)


@frozen
class Transaction:
    """The submissions of one command, owned by its process."""

    id: str
    owner: JournalOwner
    command: str
    started_at: float
    entries: tuple[JournalEntry, ...] = ()


@frozen
class Journal:
    """Every open transaction (of commands running, or that died before closing theirs)."""

    transactions: tuple[Transaction, ...] = ()

    def get(self, transaction_id: str) -> Transaction | None:
        """The transaction of that id, if open."""
        return next((t for t in self.transactions if t.id == transaction_id), None)


# ------------------------------------------------------------------------------------------- updates


def generated_name(token: str) -> str:
    """The name given to a submission without one (``token``: random, chosen by the adapter)."""
    return f"{NAME_PREFIX}{token}"


def ends_by(sent_at: float, reservation_date: int | None, walltime: float | None) -> float:
    """When a job sent at ``sent_at`` has ended whatever happens: its (reserved) start plus its walltime."""
    start = max(sent_at, float(reservation_date)) if reservation_date is not None else sent_at
    return start + (walltime if walltime is not None else UNKNOWN_WALLTIME)


def open_transaction(journal: Journal, transaction: Transaction) -> Journal:
    """The journal with ``transaction`` added (replacing one of the same id)."""
    others = tuple(t for t in journal.transactions if t.id != transaction.id)
    return Journal((*others, transaction))


def close_transaction(journal: Journal, transaction_id: str) -> Journal:
    """The journal without that transaction."""
    return Journal(tuple(t for t in journal.transactions if t.id != transaction_id))


def _with_entries(journal: Journal, transaction_id: str, change: Any) -> Journal:
    return Journal(tuple(evolve(t, entries=change(t.entries)) if t.id == transaction_id else t
                         for t in journal.transactions))


def record_sent(journal: Journal, transaction_id: str, entry: JournalEntry) -> Journal:
    """The journal with ``entry`` (a submission about to be sent) added to its transaction."""
    return _with_entries(journal, transaction_id,
                         lambda es: (*(e for e in es if e.key != entry.key), entry))


def record_job(journal: Journal, transaction_id: str, key: str, job_id: int) -> Journal:
    """The journal with the job id OAR gave to the submission ``key``."""
    return _with_entries(journal, transaction_id,
                         lambda es: tuple(evolve(e, job_id=job_id) if e.key == key else e for e in es))


def drop_entries(journal: Journal, transaction_id: str, keys: Iterable[str]) -> Journal:
    """The journal without those entries of the transaction (no job: refused, never sent, or deleted)."""
    gone = frozenset(keys)
    return _with_entries(journal, transaction_id, lambda es: tuple(e for e in es if e.key not in gone))


def keep_only(journal: Journal, transaction_id: str, keys: Iterable[str]) -> Journal:
    """The journal where the transaction holds only those entries; without it when none is left."""
    kept = frozenset(keys)
    changed = _with_entries(journal, transaction_id, lambda es: tuple(e for e in es if e.key in kept))
    found = changed.get(transaction_id)
    return close_transaction(changed, transaction_id) if found is not None and not found.entries else changed


def forget(journal: Journal, refs: Iterable[tuple[str, str]]) -> Journal:
    """The journal without the (transaction id, entry key) pairs ``refs``; transactions left empty are dropped."""
    by_tid: dict[str, set[str]] = {}
    for tid, key in refs:
        by_tid.setdefault(tid, set()).add(key)
    kept: list[Transaction] = []
    for t in journal.transactions:
        gone = by_tid.get(t.id)
        if gone is None:
            kept.append(t)
            continue
        entries = tuple(e for e in t.entries if e.key not in gone)
        if entries:
            kept.append(evolve(t, entries=entries))
    return Journal(tuple(kept))


# ------------------------------------------------------------------------------------------ leftovers


@frozen
class Leftover:
    """An entry of a transaction whose process died: a job to delete, or (no id) a name to look for."""

    transaction: str
    entry: JournalEntry
    command: str
    owner: JournalOwner

    @property
    def ref(self) -> tuple[str, str]:
        """The (transaction id, entry key) pair naming this entry in the journal."""
        return self.transaction, self.entry.key


@frozen
class Leftovers:
    """What dead commands left (``entries``), entries that have surely ended (``expired``: forget them) and the
    transactions held on other machines, whose owners cannot be checked from here (``elsewhere``)."""

    entries: tuple[Leftover, ...] = ()
    expired: tuple[tuple[str, str], ...] = ()
    elsewhere: tuple[Transaction, ...] = ()
    empty: tuple[str, ...] = ()
    """Transactions of dead owners that hold nothing (drop them)."""

    @property
    def jobs(self) -> tuple[OarJob, ...]:
        """The jobs known by id."""
        return tuple(j for lo in self.entries if (j := lo.entry.job) is not None)

    @property
    def unnamed(self) -> tuple[Leftover, ...]:
        """The entries whose id never came back: looked for by name."""
        return tuple(lo for lo in self.entries if lo.entry.job_id is None)


def find_leftovers(journal: Journal, host: str, boot: str, live: Iterable[JournalOwner], now: float) -> Leftovers:
    """Sort the journal's transactions: those of dead owners on this machine (``host``; a different ``boot`` is
    a dead owner) hold leftovers, unless their jobs have surely ended; ``live`` are the owners found alive."""
    alive = frozenset(live)
    entries: list[Leftover] = []
    expired: list[tuple[str, str]] = []
    elsewhere: list[Transaction] = []
    empty: list[str] = []
    for t in journal.transactions:
        if t.owner.host != host:
            elsewhere.append(t)
            continue
        if t.owner.boot == boot and t.owner in alive:
            continue
        if not t.entries:
            empty.append(t.id)
        for e in t.entries:
            if e.ends_by < now:
                expired.append((t.id, e.key))
            else:
                entries.append(Leftover(t.id, e, t.command, t.owner))
    return Leftovers(tuple(entries), tuple(expired), tuple(elsewhere), tuple(empty))


def describe_jobs(jobs: Iterable[OarJob]) -> str:
    """Jobs grouped by frontend: ``12, 14 on rennes; 13 on nancy`` (``the default frontend`` for None)."""
    return "; ".join(f"{', '.join(str(i) for i in ids)} on {frontend or 'the default frontend'}"
                     for frontend, ids in group_by_frontend(jobs))


def describe_unnamed(entries: Iterable[JournalEntry]) -> str:
    """Submissions without an id: ``a job named g5k-ab12 on lyon, ...``."""
    return ", ".join(f"a job named {e.name} on {e.frontend or 'the default frontend'}" for e in entries)


def delete_commands(jobs: Iterable[OarJob]) -> str:
    """The ``g5k del`` commands deleting ``jobs``, one per frontend: ```g5k del 12 14 --frontend rennes```."""
    return ", ".join(f"`g5k del {' '.join(str(i) for i in ids)}{f' --frontend {f}' if f else ''}`"
                     for f, ids in group_by_frontend(jobs))


def rollback_note(deleted: Sequence[OarJob], left: Sequence[OarJob], lost: Sequence[JournalEntry],
                  abandoned: bool = False, killing: Sequence[OarJob] = ()) -> str:
    """One line saying what a rollback deleted, what OAR is still killing, what it left (``abandoned``: the
    user stopped it) and how to delete that: the note an interrupted command prints."""
    parts = [f"deleted OAR jobs {describe_jobs(deleted)}"] if deleted else []
    if killing:
        parts.append(f"OAR is still killing jobs {describe_jobs(killing)} (deletion registered; `g5k cleanup` "
                     "checks that they ended)")
    if left:
        how = "left" if abandoned else "could NOT delete"
        parts.append(f"{how} OAR jobs {describe_jobs(left)}: delete them with `g5k cleanup` or "
                     f"{delete_commands(left)}")
    if lost:
        parts.append(f"maybe left {describe_unnamed(lost)} (its id never came back): `g5k cleanup` looks for it")
    return "; ".join(parts) if parts else "nothing was left submitted"


def leftover_notice(leftovers: Leftovers) -> str | None:
    """The one line telling what dead commands left and how to delete it, or None when they left nothing."""
    if not leftovers.entries:
        return None
    pids = sorted({lo.owner.pid for lo in leftovers.entries})
    who = (f"a g5k command that did not finish (pid {pids[0]})" if len(pids) == 1
           else f"{len(pids)} g5k commands that did not finish (pids {', '.join(map(str, pids))})")
    parts = []
    if leftovers.jobs:
        parts.append(f"OAR jobs {describe_jobs(leftovers.jobs)}")
    if leftovers.unnamed:
        parts.append("maybe " + describe_unnamed(lo.entry for lo in leftovers.unnamed))
    return (f"{who} left {' and '.join(parts)}: run `g5k cleanup` to delete them "
            "(`g5k cleanup --dry-run` shows them first)")


def claim_named(
    unnamed: Sequence[Leftover], found: Mapping[str | None, Sequence[OarJobInfo]], known: Iterable[OarJob] = ()
) -> dict[tuple[str, str], int]:
    """Match entries without an id to the live jobs OAR lists on their frontend (``found``): per entry, the
    earliest job of its name registered at most ``NAME_SLACK`` before it was sent, each job claimed once and
    never one already ``known`` by id. Entries whose frontend was not read are left out."""
    taken = {(j.frontend, j.job_id) for j in known}
    claimed: dict[tuple[str, str], int] = {}
    for lo in sorted(unnamed, key=lambda lo: lo.entry.sent_at):
        e = lo.entry
        if e.frontend not in found:
            continue
        candidates = sorted(
            (i for i in found[e.frontend]
             if i.name == e.name and not i.state.is_final and (e.frontend, i.job_id) not in taken
             and (i.submission_time is None or i.submission_time >= e.sent_at - NAME_SLACK)),
            key=lambda i: (i.submission_time or 0, i.job_id),
        )
        if candidates:
            claimed[lo.ref] = candidates[0].job_id
            taken.add((e.frontend, candidates[0].job_id))
    return claimed


def settled_unnamed(unnamed: Sequence[Leftover], read: Iterable[str | None], claimed: Mapping[tuple[str, str], int],
                    now: float) -> tuple[tuple[str, str], ...]:
    """The entries without an id that surely created no job: their frontend was read, no job of their name was
    found, and they were sent more than ``LOST_GRACE`` ago (a submission still on its way could appear later)."""
    answered = frozenset(read)
    return tuple(lo.ref for lo in unnamed
                 if lo.entry.frontend in answered and lo.ref not in claimed and now - lo.entry.sent_at > LOST_GRACE)


def maybe_submitted(error: G5kError) -> bool:
    """Whether a failed submission may still have created a job: its command timed out, or the connection was
    lost once the command was running (a refusal, a planning error or a failed connection created nothing)."""
    if isinstance(error, Timeout):
        return True
    return isinstance(error, Unreachable) and error.detail.startswith("connection lost")


# ------------------------------------------------------------------------------------------ the file


def journal_to_json(journal: Journal) -> str:
    """The journal as the JSON text of its file."""
    return json.dumps({"format": JOURNAL_FORMAT, "transactions": [_tx_data(t) for t in journal.transactions]},
                      indent=1, sort_keys=True)


def _tx_data(t: Transaction) -> dict[str, Any]:
    o = t.owner
    return {"id": t.id, "owner": {"host": o.host, "boot": o.boot, "pid": o.pid, "started": o.started},
            "command": t.command, "started_at": t.started_at,
            "entries": [{"key": e.key, "frontend": e.frontend, "name": e.name, "sent_at": e.sent_at,
                         "ends_by": e.ends_by, "job_id": e.job_id} for e in t.entries]}


def parse_journal(text: str, where: str = "journal") -> Result[Journal, G5kError]:
    """Read the journal file's text (empty text: an empty journal); a wrong layout is a ``ParseError``."""
    if not text.strip():
        return Success(Journal())
    try:
        data = json.loads(text)
    except ValueError as exc:
        return Failure(ParseError("g5k journal", where, hint=f"not JSON ({exc})"))
    try:
        if data.get("format") != JOURNAL_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {JOURNAL_FORMAT}")
        return Success(Journal(tuple(_tx(t) for t in data["transactions"])))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return Failure(ParseError("g5k journal", where, hint=f"unexpected layout ({type(exc).__name__}: {exc})"))


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{value!r} is not an integer")
    return value


def _num(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a number")
    return float(value)


def _tx(data: Any) -> Transaction:
    o = data["owner"]
    owner = JournalOwner(_str(o["host"]), _str(o["boot"]), _int(o["pid"]), _int(o["started"]))
    entries = tuple(
        JournalEntry(_str(e["key"]), None if e["frontend"] is None else _str(e["frontend"]), _str(e["name"]),
              _num(e["sent_at"]), _num(e["ends_by"]), None if e["job_id"] is None else _int(e["job_id"]))
        for e in data["entries"]
    )
    return Transaction(_str(data["id"]), owner, _str(data["command"]), _num(data["started_at"]), entries)
