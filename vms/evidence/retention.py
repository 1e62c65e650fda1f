"""Retention: delete footage older than its camera's days, and the oldest when the disk is full.

``plan_retention`` decides (a pure function of segments, holds, usage and now): expired
segments go first, then, while usage is above the high-water mark, the oldest segments of any
camera. Held footage is never chosen. ``run_retention`` carries a plan out: one audit entry per
deleted segment, re-checking holds under the audit chain's lock, and a critical
``storage_full_held_only`` event per camera whose held footage is all that is left to delete.
Recording is never stopped here: it goes on while space lasts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select

from vms.clock import Clock, SystemClock, utc
from vms.config import Config
from vms.db.models import Camera, Event, Segment
from vms.db.session import Database
from vms.errors import StorageError
from vms.evidence import audit
from vms.evidence.audit import Actor
from vms.evidence.exports import expire_packages
from vms.evidence.holds import HoldSpan, active_spans, held_by
from vms.evidence.usage import DiskUsage, disk_probe
from vms.storage.base import BUCKET, LOCAL, Storage
from vms.storage.resolve import storage_for
from vms.vocab import CameraKind, EventType, Severity, jsonable

log = logging.getLogger(__name__)

EXPIRED, DISK_PRESSURE = "expired", "disk_pressure"
RETENTION_ACTOR = Actor("vms-retention", "retention policy")
_BATCH = 200
_FIRST_PAGE = 256


@dataclass(frozen=True)
class SegmentFacts:
    """What retention needs to know about a closed segment."""

    id: int
    camera_id: str
    start: datetime
    end: datetime
    bytes: int  # 0 when the file is already gone
    path: str
    sha256: str | None = None
    location: str = LOCAL  # the node's disk or the bucket


@dataclass(frozen=True)
class Deletion:
    segment: SegmentFacts
    why: str  # expired or disk_pressure


@dataclass(frozen=True)
class Kept:
    """A segment retention would have deleted, kept because holds cover it."""

    segment: SegmentFacts
    why: str
    holds: tuple[int, ...]


@dataclass(frozen=True)
class RetentionPlan:
    deletions: list[Deletion]
    kept: list[Kept]
    usage: DiskUsage
    limit: int  # bytes: the high-water mark
    projected_used: int

    @property
    def over_limit(self) -> bool:
        """Still above the high-water mark after every deletion (only held footage left)."""
        return self.projected_used > self.limit


def plan_retention(
    segments: Sequence[SegmentFacts],
    holds: Sequence[HoldSpan],
    days: Mapping[str, int],
    usage: DiskUsage,
    high_water_percent: float,
    now: datetime,
) -> RetentionPlan:
    """Choose what to delete (pure): expired unheld segments, then the oldest unheld ones
    while usage is above ``high_water_percent`` of ``usage.total``.

    ``segments`` are closed segments (any order; at least the expired ones and, for disk
    pressure, the oldest); ``days`` maps camera ids to their retention in days.
    """
    limit = int(usage.total * high_water_percent / 100)
    used = usage.used
    ordered = sorted(segments, key=lambda seg: (seg.start, seg.id))
    deletions: list[Deletion] = []
    kept: dict[int, Kept] = {}
    chosen: set[int] = set()
    for seg in ordered:
        keep_days = days.get(seg.camera_id)
        if keep_days is None or seg.end > now - timedelta(days=keep_days):
            continue
        held = held_by(holds, seg.camera_id, seg.start, seg.end, now)
        if held:
            kept[seg.id] = Kept(seg, EXPIRED, tuple(held))
            continue
        deletions.append(Deletion(seg, EXPIRED))
        chosen.add(seg.id)
        used -= seg.bytes
    for seg in ordered:
        if used <= limit:
            break
        if seg.id in chosen or seg.id in kept:
            continue
        held = held_by(holds, seg.camera_id, seg.start, seg.end, now)
        if held:
            kept[seg.id] = Kept(seg, DISK_PRESSURE, tuple(held))
            continue
        deletions.append(Deletion(seg, DISK_PRESSURE))
        chosen.add(seg.id)
        used -= seg.bytes
    return RetentionPlan(deletions, list(kept.values()), usage, limit, used)


# --- carrying it out ------------------------------------------------------------------


def retention_days(config: Config, db: Database) -> dict[str, int]:
    """Days to keep each indexed camera's footage: its own setting, else its kind's.

    Cameras no longer configured keep the days they were last configured with. Body-worn
    recorders are left out: their files follow their retention categories
    (vms.bodyworn.retention), never the camera clock or disk pressure.
    """
    days: dict[str, int] = {}
    with db.session() as s:
        rows = select(Camera.id, Camera.retention_days).where(
            Camera.kind != CameraKind.BODYWORN.value
        )
        for cam_id, kept_days in s.execute(rows):
            days[cam_id] = kept_days
    for cam in config.cameras:
        days[cam.id] = config.retention_days_of(cam)
    return days


def _facts(seg: Segment) -> SegmentFacts:
    assert seg.end is not None
    size = 0 if seg.status == "missing" else int(seg.bytes or 0)
    return SegmentFacts(
        seg.id, seg.camera_id, seg.start, seg.end, size, seg.path, seg.sha256, seg.location
    )


@dataclass(frozen=True)
class Scope:
    """Which files one retention run may delete: those on this node's disk (``node``; None:
    every local file, the single-node case) and, when ``bucket``, those in the bucket. In a
    cluster each node deletes its own local files; the node holding the once-only lock also
    deletes in the bucket and files of no named node."""

    node: str | None = None
    bucket: bool = True

    def clause(self) -> ColumnElement[bool]:
        local: ColumnElement[bool] = Segment.location == LOCAL
        if self.node is not None:
            owned: ColumnElement[bool] = Segment.node == self.node
            if self.bucket:  # the once-only holder also takes files of no named node
                owned = or_(owned, Segment.node.is_(None))
            local = and_(local, owned)
        return or_(local, Segment.location == BUCKET) if self.bucket else local


def _candidates(
    db: Database, days: Mapping[str, int], now: datetime, page: int, scope: Scope = Scope()
) -> tuple[list[SegmentFacts], bool]:
    """Expired closed segments plus the oldest closed segments of all cameras, in a list
    that holds every segment up to its newest start (so "oldest first" holds across
    cameras); and whether there are more segments after it. Only segments in ``scope``;
    disk pressure only frees this node's disk (bucket files do not count there)."""
    expired: dict[int, SegmentFacts] = {}
    oldest: dict[str, list[SegmentFacts]] = {}
    closed = (Segment.status != "recording", Segment.end.is_not(None), scope.clause())
    local_only = Scope(scope.node, bucket=False).clause()
    with db.session() as s:
        for cam_id, keep_days in days.items():
            cutoff = now - timedelta(days=keep_days)
            q = select(Segment).where(Segment.camera_id == cam_id, Segment.end <= cutoff, *closed)
            for row in s.scalars(q):
                expired[row.id] = _facts(row)
            q = select(Segment).where(Segment.camera_id == cam_id, *closed, local_only)
            oldest[cam_id] = [
                _facts(seg) for seg in s.scalars(q.order_by(Segment.start).limit(page))
            ]
    full = [rows[-1].start for rows in oldest.values() if len(rows) == page]
    horizon = min(full) if full else None
    found = dict(expired)
    for facts in oldest.values():
        for seg in facts:
            if horizon is None or seg.start <= horizon:
                found[seg.id] = seg
    return list(found.values()), horizon is not None


@dataclass(frozen=True)
class SegmentAction:
    """A segment a retention run deleted (or would), or kept because it is held."""

    segment_id: int
    camera: str
    path: str
    start: datetime
    end: datetime
    bytes: int
    sha256: str | None
    why: str  # expired, disk_pressure, or why it would have gone when kept
    holds: tuple[int, ...] = ()

    @classmethod
    def of(cls, seg: SegmentFacts, why: str, holds: Sequence[int] = ()) -> SegmentAction:
        return cls(
            seg.id, seg.camera_id, seg.path, seg.start, seg.end, seg.bytes, seg.sha256, why,
            tuple(holds),
        )  # fmt: skip


@dataclass
class RetentionReport:
    """What a retention run did (or, with ``dry_run``, would do)."""

    dry_run: bool
    usage: DiskUsage
    limit: int
    deleted: list[SegmentAction] = field(default_factory=list)
    kept_held: list[SegmentAction] = field(default_factory=list)
    freed_bytes: int = 0
    over_limit: bool = False
    alerts: list[str] = field(default_factory=list)  # cameras with a storage_full event
    bodyworn: dict[str, Any] = field(default_factory=dict)  # vms.bodyworn.retention's report
    exports: list[dict[str, Any]] = field(default_factory=list)  # export packages expired


def run_retention(
    db: Database,
    config: Config,
    clock: Clock,
    *,
    disk_usage: Callable[[], DiskUsage] | None = None,
    dry_run: bool = False,
    actor: Actor = RETENTION_ACTOR,
    scope: Scope = Scope(),
) -> RetentionReport:
    """Plan and carry out retention; the function a scheduler job calls.

    ``disk_usage`` measures the storage (default: ``disk_probe(config, db)``); ``scope``
    says which files this run may delete (default: all, the single-node case).
    """

    now = utc(clock.now())
    days = retention_days(config, db)
    # Expired export packages (copies) go before any footage is weighed against the disk.
    expired = expire_packages(db, config, clock, dry_run=dry_run)
    usage = (disk_usage or disk_probe(config, db))()
    with db.session() as s:
        holds = active_spans(s, now)
    page = _FIRST_PAGE
    while True:
        segments, more = _candidates(db, days, now, page, scope)
        plan = plan_retention(segments, holds, days, usage, config.evidence.high_water_percent, now)
        if not (plan.over_limit and more):
            break
        page *= 4
    report = RetentionReport(dry_run, usage, plan.limit, over_limit=plan.over_limit)
    report.kept_held = [SegmentAction.of(k.segment, k.why, k.holds) for k in plan.kept]
    from vms.bodyworn.retention import run_bodyworn_retention  # its files, its categories

    report.bodyworn = run_bodyworn_retention(
        db, config, clock, dry_run=dry_run, actor=actor
    ).to_dict()
    report.exports = expired
    if dry_run:
        report.deleted = [SegmentAction.of(d.segment, d.why) for d in plan.deletions]
        report.freed_bytes = sum(d.segment.bytes for d in plan.deletions)
        return report
    for start in range(0, len(plan.deletions), _BATCH):
        done = _delete_batch(
            db, storage_for(config), clock, actor, plan.deletions[start : _BATCH + start]
        )
        report.deleted += [SegmentAction.of(d.segment, d.why) for d in done]
        report.freed_bytes += sum(d.segment.bytes for d in done)
    report.over_limit = usage.used - report.freed_bytes > plan.limit
    report.alerts = _storage_alerts(db, clock, plan, report)
    return report


def _delete_batch(
    db: Database, storage: Storage, clock: Clock, actor: Actor, batch: Sequence[Deletion]
) -> list[Deletion]:
    """Delete the rows (each with its audit entry) in one transaction, then the files."""
    done: list[Deletion] = []
    with db.session() as s:
        audit.lock_chain(s)  # holds placed from now on wait for this batch
        now = utc(clock.now())
        holds = active_spans(s, now)
        for d in batch:
            seg = d.segment
            row = s.get(Segment, seg.id)
            if row is None:
                continue  # another run deleted it
            held = held_by(holds, seg.camera_id, seg.start, seg.end, now)
            if held:
                log.info("retention: %s was put under hold %s meanwhile; kept", seg.path, held)
                continue
            s.delete(row)
            audit.append(
                s,
                clock,
                actor,
                "delete",
                "segment",
                seg.id,
                details=jsonable(SegmentAction.of(seg, d.why)),
            )
            done.append(d)
    for d in done:
        seg = d.segment
        try:
            # In the bucket this lifts the object's S3 legal hold first: the index, checked
            # above under the audit chain's lock, said nothing holds it.
            storage.delete(seg.location, seg.path)
        except (StorageError, OSError) as exc:
            log.error(
                "retention: cannot delete %s (%s; its row is gone): %s", seg.path, seg.location, exc
            )
    if done:
        log.info("retention: deleted %d segment(s)", len(done))
    return done


def _storage_alerts(
    db: Database, clock: Clock, plan: RetentionPlan, report: RetentionReport
) -> list[str]:
    """Open (or refresh) a critical event per camera whose held footage is all that is left;
    close those events once usage is under the mark again."""
    now = utc(clock.now())
    held_bytes: dict[str, int] = {}
    held_count: dict[str, int] = {}
    if report.over_limit:
        for k in plan.kept:
            held_bytes[k.segment.camera_id] = (
                held_bytes.get(k.segment.camera_id, 0) + k.segment.bytes
            )
            held_count[k.segment.camera_id] = held_count.get(k.segment.camera_id, 0) + 1
        if not held_bytes:
            log.error(
                "storage above the %.0f %% high-water mark and nothing can be deleted",
                100 * plan.limit / max(plan.usage.total, 1),
            )
    with db.session() as s:
        open_events = {
            e.camera_id: e
            for e in s.scalars(
                select(Event).where(
                    Event.type == EventType.STORAGE_FULL_HELD_ONLY, Event.end.is_(None)
                )
            )
        }
        for cam, ended in open_events.items():
            if cam not in held_bytes:
                ended.end = now
        for cam, size in sorted(held_bytes.items()):
            data = {
                "used_bytes": report.usage.used - report.freed_bytes,
                "limit_bytes": plan.limit,
                "total_bytes": plan.usage.total,
                "held_bytes": size,
                "held_segments": held_count[cam],
                "message": (
                    "storage is above the high-water mark and only footage under legal hold "
                    "is left to delete; recording goes on while space lasts"
                ),
            }
            event = open_events.get(cam)
            if event is None:
                s.add(
                    Event(
                        type=EventType.STORAGE_FULL_HELD_ONLY,
                        camera_id=cam,
                        start=now,
                        severity=Severity.CRITICAL,
                        data=data,
                    )
                )
                log.critical("%s: storage full of held footage (%d bytes held)", cam, size)
            else:
                event.data = data
    return sorted(held_bytes)


class RetentionJob:
    """``run_retention`` as a zero-argument callable (``vms.ops.jobs.register_jobs``)."""

    def __init__(
        self,
        db: Database,
        config: Config,
        clock: Clock | None = None,
        disk_usage: Callable[[], DiskUsage] | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock or SystemClock()
        self.disk_usage = disk_usage
        self.scope_fn: Callable[[], Scope] | None = None

    def __call__(self) -> RetentionReport:
        return run_retention(
            self.db, self.config, self.clock, disk_usage=self.disk_usage, scope=self.scope()
        )

    def scope(self) -> Scope:
        """Everything on one node; a cluster node's own disk (and the bucket when it holds
        the job's lock), from ``scope_fn`` (set by vms.ops.jobs.register_jobs)."""
        return self.scope_fn() if self.scope_fn is not None else Scope()
