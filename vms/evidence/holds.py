"""Legal holds on a camera's time range or on an evidence file: what they hold is never deleted.

``HoldSpan.active`` and ``held_by`` are pure functions of (holds, now); retention and evidence
deletion decide with them. A hold stays active until it is released, whatever its creation
time says, so a clock that is off on one machine can never un-hold footage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vms.clock import Clock, utc
from vms.db.models import Camera
from vms.db.session import Database
from vms.errors import ConflictError, InvalidError, NotFoundError
from vms.evidence import audit
from vms.evidence.audit import Actor
from vms.evidence.cases import case_row
from vms.evidence.models import Case, EvidenceItem, Hold
from vms.vocab import Subsystem

RANGE, ITEM = "range", "item"


@dataclass(frozen=True)
class HoldSpan:
    """What a hold covers, and until when it is in force."""

    id: int
    kind: str
    camera_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    item_id: int | None = None
    released_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.released_at is None or self.released_at > now

    def covers(self, camera_id: str, start: datetime, end: datetime) -> bool:
        """Does this (range) hold overlap footage of ``camera_id`` from ``start`` to ``end``?"""
        if self.kind != RANGE or self.camera_id != camera_id:
            return False
        assert self.start is not None
        assert self.end is not None
        return start < self.end and end > self.start


def held_by(
    holds: Iterable[HoldSpan], camera_id: str, start: datetime, end: datetime, now: datetime
) -> list[int]:
    """Ids of the active holds covering footage of ``camera_id`` in [start, end)."""
    return [h.id for h in holds if h.active(now) and h.covers(camera_id, start, end)]


def item_held_by(holds: Iterable[HoldSpan], item_id: int, now: datetime) -> list[int]:
    """Ids of the active holds on evidence item ``item_id``."""
    return [h.id for h in holds if h.kind == ITEM and h.item_id == item_id and h.active(now)]


def span(row: Hold) -> HoldSpan:
    return HoldSpan(
        row.id, row.kind, row.camera_id, row.start, row.end, row.item_id, row.released_at
    )


def active_spans(s: Session, now: datetime, camera_id: str | None = None) -> list[HoldSpan]:
    """Holds in force at ``now`` (read from the database)."""
    q = select(Hold).where(or_(Hold.released_at.is_(None), Hold.released_at > now))
    if camera_id is not None:
        q = q.where(or_(Hold.camera_id == camera_id, Hold.kind == ITEM))
    return [span(h) for h in s.scalars(q)]


# --- views and service functions ------------------------------------------------------


@dataclass(frozen=True)
class HoldView:
    id: int
    kind: str
    case_number: str | None
    camera_id: str | None
    start: datetime | None
    end: datetime | None
    item_id: int | None
    reason: str
    created_at: datetime
    created_by: str
    released_at: datetime | None
    released_by: str | None
    release_reason: str | None


def _view(s: Session, row: Hold) -> HoldView:
    number = None
    if row.case_id is not None:
        case = s.get(Case, row.case_id)
        number = case.number if case else None
    return HoldView(
        row.id,
        row.kind,
        number,
        row.camera_id,
        row.start,
        row.end,
        row.item_id,
        row.reason,
        row.created_at,
        row.created_by,
        row.released_at,
        row.released_by,
        row.release_reason,
    )


def add_range_hold(
    s: Session,
    clock: Clock,
    actor: Actor,
    camera_id: str,
    start: datetime,
    end: datetime,
    case: Case | None,
) -> Hold:
    """Hold ``camera_id`` from ``start`` to ``end`` inside the caller's transaction."""
    start, end = utc(start), utc(end)
    if end <= start:
        raise InvalidError(
            f"a hold must end after it starts, got {start} to {end}", subsystem=Subsystem.EVIDENCE
        )
    if s.get(Camera, camera_id) is None:
        raise NotFoundError(f"no camera {camera_id!r} in the index", subsystem=Subsystem.EVIDENCE)
    row = Hold(kind=RANGE, case_id=case.id if case else None, camera_id=camera_id, start=start,
               end=end)  # fmt: skip
    details = {
        "kind": RANGE,
        "camera": camera_id,
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    return _placed(s, clock, actor, row, case, details)


def _placed(
    s: Session, clock: Clock, actor: Actor, row: Hold, case: Case | None, details: dict[str, Any]
) -> Hold:
    """Write hold ``row`` (by ``actor``, now) and its audit entry, the chain locked first."""
    audit.lock_chain(s)
    row.reason, row.created_at, row.created_by = actor.reason, clock.now(), actor.user
    s.add(row)
    s.flush()
    audit.append(
        s, clock, actor, "hold", "hold", row.id,
        case_number=case.number if case else None, details=details,
    )  # fmt: skip
    return row


def add_item_hold(
    s: Session, clock: Clock, actor: Actor, item: EvidenceItem, case: Case | None
) -> Hold:
    """Hold evidence file ``item`` inside the caller's transaction."""
    row = Hold(kind=ITEM, case_id=case.id if case else item.case_id, item_id=item.id)
    details = {"kind": ITEM, "item": item.id, "path": item.path, "sha256": item.sha256}
    return _placed(s, clock, actor, row, case, details)


def place_range_hold(
    db: Database,
    clock: Clock,
    actor: Actor,
    camera_id: str,
    start: datetime,
    end: datetime,
    *,
    case_number: str | None = None,
) -> HoldView:
    """Hold a camera's footage from ``start`` to ``end``, optionally for a case."""
    with db.session() as s:
        case = case_row(s, case_number) if case_number else None
        row = add_range_hold(s, clock, actor, camera_id, start, end, case)
        return _view(s, row)


def place_item_hold(db: Database, clock: Clock, actor: Actor, item_id: int) -> HoldView:
    """Hold an evidence file (clips are held when they are made; this adds another hold)."""
    with db.session() as s:
        item = s.get(EvidenceItem, item_id)
        if item is None or item.status != "active":
            raise NotFoundError(f"no evidence item {item_id}", subsystem=Subsystem.EVIDENCE)
        case = s.get(Case, item.case_id)
        row = add_item_hold(s, clock, actor, item, case)
        return _view(s, row)


def release_hold(db: Database, clock: Clock, actor: Actor, hold_id: int) -> HoldView:
    """End a hold; what it covered falls back under retention (unless another hold covers it)."""
    with db.session() as s:
        row = s.get(Hold, hold_id)
        if row is None:
            raise NotFoundError(f"no hold {hold_id}", subsystem=Subsystem.EVIDENCE)
        now = clock.now()
        if not span(row).active(now):
            raise ConflictError(
                f"hold {hold_id} was already released at {row.released_at}",
                subsystem=Subsystem.EVIDENCE,
            )
        row.released_at = now
        row.released_by = actor.user
        row.release_reason = actor.reason
        view = _view(s, row)
        audit.append(
            s,
            clock,
            actor,
            "release",
            "hold",
            row.id,
            case_number=view.case_number,
            details={"kind": row.kind, "camera": row.camera_id, "item": row.item_id},
        )
        return view


def list_holds(
    db: Database,
    now: datetime,
    *,
    camera_id: str | None = None,
    case_number: str | None = None,
    include_released: bool = False,
) -> list[HoldView]:
    q = select(Hold).order_by(Hold.id)
    if camera_id is not None:
        q = q.where(Hold.camera_id == camera_id)
    if not include_released:
        q = q.where(or_(Hold.released_at.is_(None), Hold.released_at > now))
    with db.session() as s:
        if case_number is not None:
            q = q.where(Hold.case_id == case_row(s, case_number).id)
        return [_view(s, row) for row in s.scalars(q)]
