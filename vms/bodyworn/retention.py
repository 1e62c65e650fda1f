"""Retention categories of body-worn files and the retention of those files.

Each file has a category (``default``: 6 months; ``evidence``, ``obstruction``,
``major_incident``, ``complex_case``: permanent, per ``bodyworn.retention_days``). A file
expires ``days`` after the later of its recording end and its upload (a file uploaded late
still gets its full time). ``plan_bodyworn_retention`` (pure) picks the expired files that
no legal hold covers; ``run_bodyworn_retention`` deletes them, each with its audit entry,
re-checking holds under the audit chain's lock. Disk pressure never deletes a body-worn
file before its time: the 6 months are a legal minimum, so the camera retention
(vms.evidence.retention) frees space from fixed-camera footage instead, and raises its
storage alerts when only held or protected footage is left.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vms.bodyworn.config import Category
from vms.bodyworn.models import BodywornFile, CaseLink, Device
from vms.clock import Clock, utc
from vms.config import Config
from vms.db.models import Segment
from vms.db.session import Database
from vms.errors import (
    ConflictError,
    InvalidError,
    NotFoundError,
    ReasonRequiredError,
    StorageError,
)
from vms.evidence import audit
from vms.evidence.audit import Actor
from vms.evidence.holds import HoldSpan, active_spans, held_by
from vms.evidence.models import Case
from vms.storage.base import BUCKET, LOCAL, Storage
from vms.storage.resolve import storage_for
from vms.vocab import Subsystem

log = logging.getLogger(__name__)

RETENTION_ACTOR = Actor("vms-retention", "body-worn retention policy")
_BATCH = 200


@dataclass(frozen=True)
class FileFacts:
    """What retention needs to know about a body-worn file."""

    id: int
    camera_id: str
    category: str
    start: datetime
    end: datetime
    ingested_at: datetime
    bytes: int
    path: str
    sha256: str

    def expires(self, days: int | None) -> datetime | None:
        if days is None:
            return None
        return max(utc(self.end), utc(self.ingested_at)) + timedelta(days=days)


@dataclass(frozen=True)
class Plan:
    deletions: list[FileFacts]
    kept: list[tuple[FileFacts, tuple[int, ...]]]  # expired but held, with the holds


def plan_bodyworn_retention(
    files: Sequence[FileFacts],
    holds: Sequence[HoldSpan],
    days: Mapping[str, int | None],
    now: datetime,
) -> Plan:
    """The expired files no hold covers (pure); ``days`` maps categories to their days."""
    deletions: list[FileFacts] = []
    kept: list[tuple[FileFacts, tuple[int, ...]]] = []
    for f in sorted(files, key=lambda f: (f.start, f.id)):
        expires = f.expires(days.get(f.category))
        if expires is None or expires > now:
            continue
        held = held_by(holds, f.camera_id, f.start, f.end, now)
        if held:
            kept.append((f, tuple(held)))
        else:
            deletions.append(f)
    return Plan(deletions, kept)


def category_days(config: Config) -> dict[str, int | None]:
    return {c.value: config.bodyworn.retention_days.days(c) for c in Category}


def _facts(row: BodywornFile, camera_id: str) -> FileFacts:
    return FileFacts(
        row.id, camera_id, row.category, row.start, row.end, row.ingested_at, row.bytes,
        row.path, row.sha256,
    )  # fmt: skip


def _candidates(db: Database, days: Mapping[str, int | None], now: datetime) -> list[FileFacts]:
    out: list[FileFacts] = []
    with db.session() as s:
        for category, n in days.items():
            if n is None:
                continue
            cutoff = now - timedelta(days=n)
            q = (
                select(BodywornFile, Device.camera_id)
                .join(Device, Device.id == BodywornFile.device_id)
                .where(
                    BodywornFile.status == "active",
                    BodywornFile.category == category,
                    BodywornFile.end <= cutoff,
                    BodywornFile.ingested_at <= cutoff,
                )
            )
            out += [_facts(row, cam) for row, cam in s.execute(q)]
    return out


@dataclass
class BodywornRetentionReport:
    dry_run: bool
    deleted: list[dict[str, Any]] = field(default_factory=list)
    kept_held: list[dict[str, Any]] = field(default_factory=list)
    freed_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def _fact_dict(f: FileFacts) -> dict[str, Any]:
    return {
        "file_id": f.id,
        "camera": f.camera_id,
        "category": f.category,
        "path": f.path,
        "sha256": f.sha256,
        "bytes": f.bytes,
        "start": f.start.isoformat(),
        "end": f.end.isoformat(),
    }


def run_bodyworn_retention(
    db: Database,
    config: Config,
    clock: Clock,
    *,
    storage: Storage | None = None,
    dry_run: bool = False,
    actor: Actor = RETENTION_ACTOR,
) -> BodywornRetentionReport:
    """Delete the expired, unheld body-worn files (each row, segment and audit entry in one
    transaction per batch, then the files, wherever they live: on this node's disk, or in the
    bucket, where a file's S3 legal hold is lifted just before, the index having said under
    the audit chain's lock that nothing holds it)."""
    storage = storage or storage_for(config)
    now = utc(clock.now())
    days = category_days(config)
    with db.session() as s:
        holds = active_spans(s, now)
    plan = plan_bodyworn_retention(_candidates(db, days, now), holds, days, now)
    report = BodywornRetentionReport(dry_run)
    report.kept_held = [_fact_dict(f) | {"holds": list(h)} for f, h in plan.kept]
    if dry_run:
        report.deleted = [_fact_dict(f) for f in plan.deletions]
        report.freed_bytes = sum(f.bytes for f in plan.deletions)
        return report
    for first in range(0, len(plan.deletions), _BATCH):
        done = _delete_batch(db, clock, actor, plan.deletions[first : first + _BATCH])
        for f, location in done:
            _delete_file(storage, f.path, location)
        report.deleted += [_fact_dict(f) for f, _ in done]
        report.freed_bytes += sum(f.bytes for f, _ in done)
    if report.deleted:
        log.info("body-worn retention: deleted %d file(s)", len(report.deleted))
    return report


def _delete_file(storage: Storage, key: str, location: str | None) -> None:
    """Delete a file whose rows are gone; ``location`` None (no segment row said where it
    was): from this node's disk and, where one is configured, the bucket."""
    places = [location] if location else [LOCAL] + ([BUCKET] if storage.bucket else [])
    for place in places:
        try:
            storage.delete(place, key)
        except (StorageError, OSError) as exc:
            log.error(
                "body-worn retention: cannot delete %s (%s; its row is gone): %s", key, place, exc
            )


def _delete_batch(
    db: Database, clock: Clock, actor: Actor, batch: Sequence[FileFacts]
) -> list[tuple[FileFacts, str | None]]:
    """Delete the rows of the batch that are still expired and unheld; each with where its
    file is (read here, under the lock: the tiering job may have moved it since the plan)."""
    done: list[tuple[FileFacts, str | None]] = []
    with db.session() as s:
        audit.lock_chain(s)  # a hold placed from now on waits for this batch
        now = utc(clock.now())
        holds = active_spans(s, now)
        for f in batch:
            row = s.get(BodywornFile, f.id)
            if row is None or row.status != "active" or row.category != f.category:
                continue  # changed meanwhile (deleted, or its category raised)
            if held_by(holds, f.camera_id, f.start, f.end, now):
                continue
            location = None
            if row.segment_id is not None:
                # Locked: a tiering job moving the file waits, then finds the row gone.
                seg = s.get(Segment, row.segment_id, with_for_update=True)
                row.segment_id = None
                s.flush()
                if seg is not None:
                    location = seg.location
                    s.delete(seg)
            row.status = "deleted"
            row.deleted_at = now
            audit.append(
                s, clock, actor, "delete", "bodyworn", f.id,
                details=_fact_dict(f) | {"why": "expired"},
            )  # fmt: skip
            done.append((f, location))
    return done


# --- categories ---------------------------------------------------------------------------


def set_category(db: Database, clock: Clock, actor: Actor, file_id: int, category: str) -> str:
    """Set a file's retention category, with the actor's reason; returns the one before.

    A file linked to a case stays at least ``evidence`` (permanent) while the link stands.
    """
    try:
        wanted = Category(category)
    except ValueError as exc:
        known = ", ".join(c.value for c in Category)
        raise InvalidError(
            f"category must be one of {known}, got {category!r}", subsystem=Subsystem.BODYWORN
        ) from exc
    if not actor.reason.strip():
        raise ReasonRequiredError(
            "setting a retention category needs a reason; it is written to the audit log",
            subsystem=Subsystem.BODYWORN,
        )
    with db.session() as s:
        row = s.get(BodywornFile, file_id)
        if row is None or row.status != "active":
            raise NotFoundError(f"no body-worn file {file_id}", subsystem=Subsystem.BODYWORN)
        if wanted is Category.DEFAULT:
            cases = list(
                s.scalars(
                    select(Case.number)
                    .join(CaseLink, CaseLink.case_id == Case.id)
                    .where(CaseLink.file_id == file_id)
                )
            )
            if cases:
                raise ConflictError(
                    f"file {file_id} is evidence of case(s) {', '.join(sorted(set(cases)))}: "
                    "it keeps a permanent category",
                    subsystem=Subsystem.BODYWORN,
                )
        before = row.category
        mark_category(s, clock, actor, row, wanted)
        return before


def mark_category(
    s: Session, clock: Clock, actor: Actor, row: BodywornFile, category: Category
) -> None:
    """Set the category inside the caller's transaction, audited."""
    before = row.category
    row.category = category.value
    row.category_by = actor.user
    row.category_reason = actor.reason
    row.category_at = clock.now()
    audit.append(
        s, clock, actor, "update", "bodyworn", row.id,
        details={"category": category.value, "was": before},
    )  # fmt: skip
