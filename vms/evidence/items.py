"""Evidence items: clips cut from the recordings and events (with their snapshots) in a case.

Adding footage to a case holds its source time range and the item's file in the same
transaction that records the item and its audit entry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vms.clock import Clock, utc
from vms.config import Config
from vms.db.models import Camera, Event, Gap, Segment
from vms.db.ranges import find_overlapping
from vms.db.session import Database
from vms.errors import ClipError, ConflictError, FileIntegrityError, LegalHoldError, NotFoundError
from vms.evidence import audit
from vms.evidence.audit import Actor
from vms.evidence.cases import case_row, case_slug, open_case_row
from vms.evidence.clips import ClipResult, SourceSegment, cut_clip, uncovered
from vms.evidence.holds import active_spans, add_item_hold, add_range_hold, item_held_by
from vms.evidence.models import Case, EvidenceItem, EvidenceSource
from vms.storage.base import LOCAL, Storage
from vms.storage.resolve import as_storage, storage_for
from vms.vocab import Subsystem, sha256_file

ACTIVE, DELETED = "active", "deleted"
CLIP, EVENT = "clip", "event"
_USABLE = ("complete", "recovered")


def evidence_dir(config: Config) -> Path:
    """``<storage root>/evidence``: clips and snapshots, one folder per case."""
    return config.storage.root / "evidence"


@dataclass(frozen=True)
class ItemView:
    """An evidence item as the CLI, the web app and the export manifest show it."""

    id: int
    case_number: str
    kind: str
    status: str
    camera_id: str
    requested_start: datetime
    requested_end: datetime
    start: datetime
    end: datetime
    path: str | None
    sha256: str | None
    bytes: int | None
    packets: int | None
    gaps: list[dict[str, Any]]
    event_id: int | None
    data: dict[str, Any]
    note: str
    reason: str
    created_at: datetime
    created_by: str
    sources: list[SourceSegment] = field(default_factory=list)
    location: str = LOCAL  # the item's file: on a node's disk or in the bucket


@dataclass(frozen=True)
class ViewedItem(ItemView):
    """An item with the path of its file, as ``vms evidence view --json`` prints it."""

    file: str | None = None


def _view(s: Session, item: EvidenceItem, case: Case | None = None) -> ItemView:
    case = case or s.get(Case, item.case_id)
    assert case is not None
    sources = s.scalars(
        select(EvidenceSource)
        .where(EvidenceSource.item_id == item.id)
        .order_by(EvidenceSource.position)
    )
    return ItemView(
        item.id,
        case.number,
        item.kind,
        item.status,
        item.camera_id,
        item.requested_start,
        item.requested_end,
        item.start,
        item.end,
        item.path,
        item.sha256,
        item.bytes,
        item.packets,
        list(item.gaps),
        item.event_id,
        dict(item.data),
        item.note,
        item.reason,
        item.created_at,
        item.created_by,
        [
            SourceSegment(src.segment_id, src.path, src.sha256, src.bytes, src.start, src.end)
            for src in sources
        ],
        item.location,
    )


# --- clips ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipPlan:
    """What a clip of [start, end) will be cut from, and which parts were never recorded."""

    camera_id: str
    start: datetime
    end: datetime
    sources: list[SourceSegment]
    gaps: list[dict[str, Any]]


def plan_clip(db: Database, camera_id: str, start: datetime, end: datetime) -> ClipPlan:
    """Find the segments of ``camera_id`` overlapping [start, end) and the gaps between them."""
    start, end = utc(start), utc(end)
    if end <= start:
        raise ClipError(f"a clip must end after it starts, got {start} to {end}")
    with db.session() as s:
        if s.get(Camera, camera_id) is None:
            raise NotFoundError(
                f"no camera {camera_id!r} in the index", subsystem=Subsystem.EVIDENCE
            )
        segs = find_overlapping(
            s, select(Segment).where(Segment.camera_id == camera_id), Segment, start, end
        )
        gap_rows = find_overlapping(
            s,
            # a hole in the picture; audio gaps are listed apart
            select(Gap).where(Gap.camera_id == camera_id, Gap.kind == "video"),
            Gap,
            start,
            end,
        )
    recording = [seg for seg in segs if seg.status == "recording"]
    if recording:
        raise ClipError(
            f"footage of {camera_id} from {recording[0].start.isoformat()} is still being "
            "recorded; cut the clip once that segment has closed"
        )
    usable = [seg for seg in segs if seg.status in _USABLE and seg.sha256 and seg.end]
    sources = [
        SourceSegment(
            seg.id, seg.path, seg.sha256 or "", seg.bytes or 0, seg.start, seg.end, seg.location
        )
        for seg in usable
        if seg.end is not None
    ]
    reasons: list[tuple[datetime, datetime, str]] = [
        (seg.start, seg.end or end, f"segment {seg.path} is {seg.status}")
        for seg in segs
        if seg not in usable
    ]
    reasons += [(g.start, g.end or end, g.reason) for g in gap_rows]
    gaps = []
    for hole_start, hole_end in uncovered([(src.start, src.end) for src in sources], start, end):
        why = sorted({r for a, b, r in reasons if a < hole_end and b > hole_start})
        gaps.append(
            {
                "start": hole_start.isoformat(),
                "end": hole_end.isoformat(),
                "seconds": round((hole_end - hole_start).total_seconds(), 6),
                "reason": "; ".join(why) or "not recorded",
            }
        )
    if not sources:
        raise NotFoundError(
            f"no recorded footage of {camera_id} between {start.isoformat()} and {end.isoformat()}",
            subsystem=Subsystem.EVIDENCE,
        )
    return ClipPlan(camera_id, start, end, sources, gaps)


def add_clip(
    db: Database,
    config: Config,
    clock: Clock,
    actor: Actor,
    case_number: str,
    camera_id: str,
    start: datetime,
    end: datetime,
    *,
    note: str = "",
    allow_gaps: bool = True,
) -> ItemView:
    """Cut a clip of ``camera_id`` from ``start`` to ``end`` into case ``case_number``.

    Refuses an altered or missing source segment (FileIntegrityError). A range with parts
    never recorded is cut with the gaps listed in the item, or refused if ``allow_gaps`` is
    False. The clip's range and file are put under legal hold.
    """
    with db.session() as s:
        open_case_row(s, case_number)
    plan = plan_clip(db, camera_id, start, end)
    if plan.gaps and not allow_gaps:
        listed = ", ".join(f"{g['start']} to {g['end']} ({g['reason']})" for g in plan.gaps)
        raise ClipError(f"the range has {len(plan.gaps)} gap(s) in the recording: {listed}")
    folder = evidence_dir(config) / case_slug(case_number)
    staging = evidence_dir(config) / ".staging"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ClipError(f"cannot create {folder}: {exc}") from exc
    # The picture and the sound as recorded, in the container they were recorded in (MP4;
    # MOV for G.711; NUT for G.726): a clip is evidence, so the camera's sound goes with it.
    suffix = PurePosixPath(plan.sources[0].path).suffix or ".mp4"
    tmp = staging / f"{uuid.uuid4().hex}{suffix}"
    clip = cut_clip(storage_for(config), plan.sources, plan.start, plan.end, tmp, audio=True)
    final: Path | None = None
    try:
        with db.session() as s:
            case = open_case_row(s, case_number)
            item = EvidenceItem(
                case_id=case.id,
                kind=CLIP,
                status=ACTIVE,
                camera_id=camera_id,
                requested_start=plan.start,
                requested_end=plan.end,
                start=clip.start,
                end=clip.end,
                sha256=clip.sha256,
                bytes=clip.bytes,
                packets=clip.packets,
                gaps=plan.gaps,
                data={},
                note=note,
                reason=actor.reason,
                created_at=clock.now(),
                created_by=actor.user,
                location=LOCAL,
                node=config.node_id,
            )
            s.add(item)
            s.flush()
            final = folder / f"{item.id:06d}-{camera_id}-{clip.start:%Y%m%dT%H%M%SZ}{suffix}"
            item.path = final.relative_to(config.storage.root).as_posix()
            _add_sources(s, item, clip)
            audit.append(
                s,
                clock,
                actor,
                "create",
                "item",
                item.id,
                case_number=case_number,
                details=_clip_details(item, clip),
            )
            add_range_hold(s, clock, actor, camera_id, clip.start, clip.end, case)
            add_item_hold(s, clock, actor, item, case)
            os.replace(tmp, final)
            with contextlib.suppress(OSError):
                final.chmod(0o444)
            s.flush()
            view = _view(s, item, case)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if final is not None:
            final.unlink(missing_ok=True)
        raise
    return view


def _add_sources(s: Session, item: EvidenceItem, clip: ClipResult) -> None:
    for n, src in enumerate(clip.sources):
        s.add(
            EvidenceSource(
                item_id=item.id,
                position=n,
                segment_id=src.segment_id,
                path=src.path,
                sha256=src.sha256,
                bytes=src.bytes,
                start=src.start,
                end=src.end,
            )
        )


def _clip_details(item: EvidenceItem, clip: ClipResult) -> dict[str, Any]:
    return {
        "kind": CLIP,
        "camera": item.camera_id,
        "requested": [item.requested_start.isoformat(), item.requested_end.isoformat()],
        "start": clip.start.isoformat(),
        "end": clip.end.isoformat(),
        "path": item.path,
        "sha256": clip.sha256,
        "bytes": clip.bytes,
        "packets": clip.packets,
        "audio_packets": clip.audio_packets,
        "gaps": item.gaps,
        "sources": [[src.path, src.sha256] for src in clip.sources],
    }


# --- events ---------------------------------------------------------------------------


def add_event(
    db: Database,
    config: Config,
    clock: Clock,
    actor: Actor,
    case_number: str,
    event_id: int,
    *,
    note: str = "",
) -> ItemView:
    """Link an event to a case; its snapshot (a path under the storage root), if any, is
    copied in with its hash. The event's footage (its recording range) is put under hold."""
    root = config.storage.root
    with db.session() as s:
        event = s.get(Event, event_id)
        if event is None:
            raise NotFoundError(f"no event {event_id}", subsystem=Subsystem.EVIDENCE)
        snapshot = _snapshot_of(event)
    folder = evidence_dir(config) / case_slug(case_number)
    copied: Path | None = None
    digest: str | None = None
    size: int | None = None
    try:
        if snapshot is not None:
            source = root / snapshot
            if not source.is_file():
                raise NotFoundError(
                    f"event {event_id}'s snapshot {snapshot} is missing",
                    subsystem=Subsystem.EVIDENCE,
                )
            folder.mkdir(parents=True, exist_ok=True)
            copied = folder / f"event-{event_id:06d}-{uuid.uuid4().hex[:8]}{source.suffix}"
            shutil.copyfile(source, copied)
            digest, size = sha256_file(copied)
            with contextlib.suppress(OSError):
                copied.chmod(0o444)
        with db.session() as s:
            case = open_case_row(s, case_number)
            event = s.get(Event, event_id)
            assert event is not None
            end = event.end or clock.now()
            end = max(end, event.start + timedelta(seconds=1))
            # The footage to hold: the event's recording range (analytics) if it has one.
            hold_start = getattr(event, "recording_start", None) or event.start
            hold_end = max(getattr(event, "recording_end", None) or end, end)
            item = EvidenceItem(
                case_id=case.id,
                kind=EVENT,
                status=ACTIVE,
                camera_id=event.camera_id,
                requested_start=event.start,
                requested_end=end,
                start=event.start,
                end=end,
                path=copied.relative_to(root).as_posix() if copied else None,
                sha256=digest,
                bytes=size,
                gaps=[],
                event_id=event.id,
                data={
                    "type": event.type,
                    "zone": event.zone,
                    "severity": event.severity,
                    "start": event.start.isoformat(),
                    "end": event.end.isoformat() if event.end else None,
                    "data": event.data,
                },
                note=note,
                reason=actor.reason,
                created_at=clock.now(),
                created_by=actor.user,
            )
            s.add(item)
            s.flush()
            audit.append(
                s,
                clock,
                actor,
                "create",
                "item",
                item.id,
                case_number=case_number,
                details={
                    "kind": EVENT,
                    "event": event.id,
                    "camera": event.camera_id,
                    "path": item.path,
                    "sha256": digest,
                },
            )
            add_range_hold(s, clock, actor, event.camera_id, hold_start, hold_end, case)
            if copied is not None:
                add_item_hold(s, clock, actor, item, case)
            return _view(s, item, case)
    except BaseException:
        if copied is not None:
            copied.unlink(missing_ok=True)
        raise


def _snapshot_of(event: Event) -> str | None:
    """The event's snapshot path (relative to the storage root), if it has one."""
    value = getattr(event, "snapshot", None)  # the analytics column
    if not value and isinstance(event.data, dict):
        value = event.data.get("snapshot")
    return value if isinstance(value, str) and value else None


# --- reading, viewing, deleting -------------------------------------------------------


def list_items(db: Database, case_number: str, *, include_deleted: bool = False) -> list[ItemView]:
    with db.session() as s:
        case = case_row(s, case_number)
        q = select(EvidenceItem).where(EvidenceItem.case_id == case.id).order_by(EvidenceItem.id)
        if not include_deleted:
            q = q.where(EvidenceItem.status == ACTIVE)
        return [_view(s, item, case) for item in s.scalars(q)]


def get_item(db: Database, item_id: int) -> ItemView:
    with db.session() as s:
        item = s.get(EvidenceItem, item_id)
        if item is None:
            raise NotFoundError(f"no evidence item {item_id}", subsystem=Subsystem.EVIDENCE)
        return _view(s, item)


def check_item_file(storage: Storage | Path, item: ItemView) -> None:
    """Raise FileIntegrityError if the item's file is missing or no longer matches its hash
    (wherever it lives: the node's disk or the bucket)."""
    if item.path is None:
        return
    found = as_storage(storage).sha256(item.location, item.path)
    if found is None:
        raise FileIntegrityError(f"evidence item {item.id}: file {item.path} is missing")
    digest = found[0]
    if digest != item.sha256:
        raise FileIntegrityError(
            f"evidence item {item.id}: file {item.path} was altered (SHA-256 {digest}, "
            f"recorded {item.sha256})"
        )


def local_copy(storage: Storage, item: ItemView) -> Path | None:
    """A local file with the item's bytes: its own file, or for a file in the bucket a
    verified copy under ``<root>/cache`` (made once)."""
    if item.path is None:
        return None
    if item.location == LOCAL:
        return storage.local_path(item.path)
    cached = storage.root / "cache" / item.path
    if cached.is_file() and sha256_file(cached)[0] == item.sha256:
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.unlink(missing_ok=True)
    digest, _size = storage.copy_to(item.location, item.path, cached)
    if digest != item.sha256:
        cached.unlink(missing_ok=True)
        raise FileIntegrityError(
            f"evidence item {item.id}: the bucket's copy of {item.path} was altered "
            f"(SHA-256 {digest}, recorded {item.sha256})"
        )
    return cached


def view_item(
    db: Database, config: Config, clock: Clock, actor: Actor, item_id: int
) -> tuple[ItemView, Path | None]:
    """Check an item's file and log that ``actor`` views it; return it and its file's path."""
    item = get_item(db, item_id)
    if item.status != ACTIVE:
        raise NotFoundError(f"evidence item {item_id} was deleted", subsystem=Subsystem.EVIDENCE)
    storage = storage_for(config)
    check_item_file(storage, item)
    with db.session() as s:
        audit.append(
            s,
            clock,
            actor,
            "view",
            "item",
            item.id,
            case_number=item.case_number,
            details={"path": item.path, "sha256": item.sha256},
        )
    return item, local_copy(storage, item)


def delete_item(db: Database, config: Config, clock: Clock, actor: Actor, item_id: int) -> ItemView:
    """Delete an item's file (its record stays, marked deleted). Refused while it is held."""
    with db.session() as s:
        audit.lock_chain(s)  # no hold can be placed between the check and the deletion
        item = s.get(EvidenceItem, item_id)
        if item is None or item.status != ACTIVE:
            raise NotFoundError(f"no evidence item {item_id}", subsystem=Subsystem.EVIDENCE)
        now = clock.now()
        held = item_held_by(active_spans(s, now), item.id, now)
        if held:
            ids = ", ".join(str(h) for h in held)
            raise LegalHoldError(
                f"evidence item {item_id} is under legal hold ({ids}); release the hold(s) first"
            )
        case = s.get(Case, item.case_id)
        assert case is not None
        item.status = DELETED
        item.deleted_at = now
        item.deleted_by = actor.user
        audit.append(
            s,
            clock,
            actor,
            "delete",
            "item",
            item.id,
            case_number=case.number,
            details={"path": item.path, "sha256": item.sha256},
        )
        s.flush()
        view = _view(s, item, case)
    if view.path:
        storage_for(config).delete(view.location, view.path)
    return view


def require_items(items: list[ItemView], case_number: str) -> None:
    if not items:
        raise ConflictError(
            f"case {case_number!r} has no evidence items", subsystem=Subsystem.EVIDENCE
        )
