"""The audit log: append-only, hash-chained; ``verify_chain`` names what was changed.

Every entry's ``hash`` is the SHA-256 of a canonical JSON of its fields, including the hash of
the entry before it (``prev_hash``). Writers serialize on the one ``audit_head`` row (an UPDATE
locks it on PostgreSQL and takes SQLite's write lock), so two writers can never append two
entries with the same predecessor. On both backends triggers refuse UPDATE and DELETE of
``audit_log`` rows; the hash chain catches whoever gets around them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import Field, computed_field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vms.clock import Clock, utc
from vms.db.session import Database
from vms.errors import ConflictError, InvalidError
from vms.evidence.models import GENESIS_HASH, AuditEntry, AuditHead
from vms.vocab import Subsystem, View


@dataclass(frozen=True)
class Actor:
    """Who does something and why: every audited service function takes one.

    ``context`` says how that identity was established (the CLI's OS user and host, how a
    vms user authenticated); it is added to the details of every entry the actor writes.
    """

    user: str
    reason: str
    context: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.user.strip():
            raise InvalidError(
                "a user name is needed for the audit log, got an empty one",
                subsystem=Subsystem.EVIDENCE,
            )


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 characters as they are: one text for one value."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _timestamp(at: datetime) -> str:
    return utc(at).isoformat(timespec="microseconds")


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    case_number: str | None,
    reason: str,
    details: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON of an entry's fields and its predecessor's hash."""
    doc = {
        "seq": seq,
        "at": _timestamp(at),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "case_number": case_number,
        "reason": reason,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def _hash_of(e: AuditEntry, seq: int | None = None, prev_hash: str | None = None) -> str:
    return entry_hash(
        seq=e.seq if seq is None else seq,
        at=e.at,
        actor=e.actor,
        action=e.action,
        object_type=e.object_type,
        object_id=e.object_id,
        case_number=e.case_number,
        reason=e.reason,
        details=e.details,
        prev_hash=e.prev_hash if prev_hash is None else prev_hash,
    )


def lock_chain(session: Session) -> None:
    """Take the audit chain's lock for the rest of this transaction.

    Actions whose checks must not race each other (placing a hold, deleting held-or-not
    footage) call this before they look: every other audited writer waits until they commit.
    """
    result = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            "the audit chain head row is missing; run `vms audit verify`",
            subsystem=Subsystem.EVIDENCE,
        )


def append(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    *,
    case_number: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (so the action and its entry commit as one).

    ``action`` is one of create, update, view, export, hold, release, delete.
    """
    # Lock the head (a no-op update), read it, add the entry, then move the head onto it in
    # one step: the only change of audit_head its triggers allow (migration 0011).
    row = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq)
        .returning(AuditHead.seq, AuditHead.hash)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        raise ConflictError(
            "the audit chain head row is missing; run `vms audit verify`",
            subsystem=Subsystem.EVIDENCE,
        )
    seq, prev_hash = int(row[0]) + 1, str(row[1])
    at = utc(clock.now())
    text = canonical_json({**actor.context, **(details or {})})
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=actor.user,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        case_number=case_number,
        reason=actor.reason,
        details=text,
        prev_hash=prev_hash,
    )
    entry.hash = _hash_of(entry)
    session.add(entry)
    session.flush()
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=seq, hash=entry.hash)
        .execution_options(synchronize_session=False)
    )
    return entry


# --- reading and verifying ------------------------------------------------------------


class AuditEntryView(View):
    """An entry of the audit log as the CLI and the web show it (``at`` as it is hashed)."""

    seq: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    case_number: str | None
    reason: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryView:
        return cls(
            seq=e.seq,
            at=_timestamp(e.at),
            actor=e.actor,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            case_number=e.case_number,
            reason=e.reason,
            details=json.loads(e.details),
            prev_hash=e.prev_hash,
            hash=e.hash,
        )


def list_entries(
    db: Database,
    *,
    case_number: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Entries in chain order, newest last, optionally filtered."""
    q = select(AuditEntry).order_by(AuditEntry.seq)
    if case_number is not None:
        q = q.where(AuditEntry.case_number == case_number)
    if object_type is not None:
        q = q.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        q = q.where(AuditEntry.object_id == object_id)
    if action is not None:
        q = q.where(AuditEntry.action == action)
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    if limit is not None:
        q = q.order_by(None).order_by(AuditEntry.seq.desc()).limit(limit)
    with db.session() as s:
        rows = list(s.scalars(q))
    return sorted(rows, key=lambda e: e.seq)


def chain_head(db: Database) -> tuple[int, str]:
    """(seq, hash) of the newest entry as the head row records it: write it down to anchor."""
    with db.session() as s:
        head = s.get(AuditHead, 1)
        if head is None:
            raise ConflictError("the audit chain head row is missing", subsystem=Subsystem.EVIDENCE)
        return int(head.seq), head.hash


@dataclass(frozen=True)
class AuditProblem:
    """One break in the chain: ``kind`` is edited, deleted, inserted or broken."""

    seq: int
    kind: str
    message: str


class ChainHead(View):
    seq: int
    hash: str


class AuditReport(View):
    """What verifying the whole chain found: ``ok`` when nothing is broken."""

    entries: int = 0
    head: ChainHead = ChainHead(seq=0, hash=GENESIS_HASH)
    problems: list[AuditProblem] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.problems


def _original_seq(e: AuditEntry) -> int | None:
    """The number an entry had before it was moved (its hash matches it there), if found."""
    for shift in (1, -1, 2, -2, 3, -3):
        if e.seq - shift >= 1 and _hash_of(e, seq=e.seq - shift) == e.hash:
            return e.seq - shift
    return None


def check_chain(entries: Iterable[AuditEntry], head_seq: int, head_hash: str) -> list[AuditProblem]:
    """Every break in a chain read in ``seq`` order, naming the entry concerned (pure)."""
    problems: list[AuditProblem] = []
    prev_seq, prev_hash, before_prev_hash = 0, GENESIS_HASH, None
    for e in entries:
        content_ok = _hash_of(e) == e.hash
        if e.seq > prev_seq + 1:
            first, last = prev_seq + 1, e.seq - 1
            span = f"entry {first} is" if first == last else f"entries {first} to {last} are"
            problems.append(AuditProblem(first, "deleted", f"{span} missing (deleted)"))
        elif e.prev_hash != prev_hash:
            if before_prev_hash is not None and e.prev_hash == before_prev_hash:
                problems.append(
                    AuditProblem(
                        prev_seq,
                        "inserted",
                        f"entry {prev_seq} was inserted: entry {e.seq} follows entry "
                        f"{prev_seq - 1} directly",
                    )
                )
            elif content_ok:
                problems.append(
                    AuditProblem(
                        prev_seq,
                        "edited",
                        f"entry {prev_seq} was replaced: entry {e.seq} carries the hash of a "
                        "different entry before it",
                    )
                )
        if not content_ok:
            original = _original_seq(e)
            if original is not None:
                why = "an insert" if original < e.seq else "a deletion"
                problems.append(
                    AuditProblem(
                        e.seq,
                        "renumbered",
                        f"entry {e.seq} was entry {original} (renumbered after {why})",
                    )
                )
            else:
                problems.append(
                    AuditProblem(
                        e.seq, "edited", f"entry {e.seq} was edited: it no longer matches its hash"
                    )
                )
        before_prev_hash, prev_seq, prev_hash = prev_hash, e.seq, e.hash
    if head_seq > prev_seq:
        first = prev_seq + 1
        span = f"entry {first} is" if first == head_seq else f"entries {first} to {head_seq} are"
        problems.append(AuditProblem(first, "deleted", f"{span} missing (deleted at the end)"))
    elif head_seq < prev_seq:
        first = head_seq + 1
        problems.append(
            AuditProblem(
                first,
                "inserted",
                f"entries {first} to {prev_seq} were inserted after the chain head "
                f"(entry {head_seq})",
            )
        )
    elif head_hash != prev_hash:
        problems.append(
            AuditProblem(
                prev_seq, "edited", f"entry {prev_seq} was replaced: the chain head differs"
            )
        )
    return _collapse(problems)


def _collapse(problems: Sequence[AuditProblem]) -> list[AuditProblem]:
    """One line for a run of renumbered entries rather than one per entry."""
    out: list[AuditProblem] = []
    for p in problems:
        last = out[-1] if out else None
        if p.kind == "renumbered" and last is not None and last.kind == "renumbered":
            why = "an insert" if "insert" in p.message else "a deletion"
            out[-1] = AuditProblem(
                last.seq,
                "renumbered",
                f"entries {last.seq} to {p.seq} were renumbered after {why}",
            )
        else:
            out.append(p)
    return out


def _iter_entries(s: Session) -> Iterator[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=2000)
    yield from s.scalars(q)


def verify_chain(db: Database) -> AuditReport:
    """Read the whole log in order and check every hash and link; name each break."""
    with db.session() as s:
        head = s.get(AuditHead, 1)
        head_seq, head_hash = (int(head.seq), head.hash) if head else (0, GENESIS_HASH)
        counted: list[int] = [0]

        def counting() -> Iterator[AuditEntry]:
            for e in _iter_entries(s):
                counted[0] += 1
                yield e

        problems = check_chain(counting(), head_seq, head_hash)
        if head is None:
            missing = AuditProblem(0, "deleted", "the chain head row is missing (deleted)")
            problems.insert(0, missing)
    return AuditReport(
        entries=counted[0], head=ChainHead(seq=head_seq, hash=head_hash), problems=problems
    )
