"""Every periodic job of ``vms serve``, registered in one place.

Each job is a thin callable with explicit dependencies (database, configuration, clock,
health); tests call them directly. ``register_jobs`` puts them on the App's scheduler, each
wrapped by the job registry (timed, logged, failures counted, never raised into the
scheduler)::

    retention          every evidence.retention_interval_s   vms.evidence.retention
    audit-anchor       every evidence.anchor_interval_s      vms.evidence.anchors
    custody-checks     every custody.check_interval_s        vms.custody.job
    segment-verify     every ops.verify_interval_s           SegmentVerifier
    camera-health      every ops.health_check_interval_s     CameraHealthCheck
    daily-briefing     daily at ops.briefing_time (local)    BriefingJob
    tiering            every object_store.interval_s         vms.storage.tiering (with a bucket)
    bodyworn-docks     every bodyworn.dock_scan_interval_s   vms.bodyworn.dock (if docks)
    bodyworn-late      every bodyworn.deadline_check_interval_s   late-upload alerts
    bodyworn-shifts    every bodyworn.deadline_check_interval_s   "no footage for shift S"
    bodyworn-uploads   hourly                                unfinished uploads given up
    partitions         every database.partitions_interval_s  vms.db.partitions (PostgreSQL)
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from vms.bodyworn.deadline import LateUploadCheck, ShiftFootageCheck
from vms.bodyworn.dock import DockWatcher
from vms.bodyworn.ingest import Ingestor
from vms.bodyworn.uploads import UploadExpiry
from vms.cameras.health import CameraHealth
from vms.clock import Clock, utc
from vms.cluster.locks import JobLocks
from vms.config import Config
from vms.custody.job import run_custody_checks
from vms.custody.layout import build_layout
from vms.db.models import Event, Segment
from vms.db.partitions import PartitionReport, maintain
from vms.db.session import Database
from vms.evidence.anchors import AnchorJob
from vms.evidence.retention import RetentionJob, Scope
from vms.ops.briefing import briefing_root, write_briefing
from vms.ops.registry import JobRegistry
from vms.storage.resolve import storage_for
from vms.vocab import EventType, Severity

log = logging.getLogger(__name__)

HealthProvider = Callable[[], dict[str, CameraHealth]]


# --- rolling re-verification of segment hashes ------------------------------------------


@dataclass
class VerifyReport:
    checked: int = 0
    ok: int = 0
    mismatched: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    raised: int = 0


class SegmentVerifier:
    """Re-hashes a share of the closed segments per day, the least recently verified first.

    Segments are visited in id order, round-robin from a cursor kept in a small JSON file
    (``<storage.root>/ops/verify-cursor.json``): each full cycle verifies every segment once,
    so the next one is always the one verified longest ago (or never). No table, no migration.
    A changed or missing file raises one critical ``segment_hash_mismatch`` event per
    segment and finding.
    """

    def __init__(
        self, db: Database, config: Config, clock: Clock, cursor_path: Path | None = None
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.cursor_path = cursor_path or config.storage.root / "ops" / "verify-cursor.json"
        #: Which files this node checks (a cluster node: its own disk, and the bucket when
        #: it holds the job's lock); None: every segment.
        self.scope_fn: Callable[[], Scope] | None = None

    def batch_size(self, total: int) -> int:
        ops = self.config.ops
        if total == 0 or ops.verify_share_per_day <= 0:
            return 0
        runs_per_day = 86400.0 / ops.verify_interval_s
        return min(total, max(1, math.ceil(total * ops.verify_share_per_day / runs_per_day)))

    def _cursor(self) -> int:
        try:
            return int(json.loads(self.cursor_path.read_text())["last_segment_id"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def _save(self, last_id: int) -> None:
        self.cursor_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cursor_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"last_segment_id": last_id, "at": self.clock.now().isoformat()}))
        os.replace(tmp, self.cursor_path)

    def __call__(self) -> VerifyReport:
        closed: tuple[Any, ...] = (Segment.status != "recording", Segment.sha256.is_not(None))
        if self.scope_fn is not None:
            closed = (*closed, self.scope_fn().clause())
        with self.db.session() as s:
            total = int(s.scalar(select(func.count(Segment.id)).where(*closed)) or 0)
            n = self.batch_size(total)
            cursor = self._cursor()
            rows = list(
                s.scalars(
                    select(Segment)
                    .where(*closed, Segment.id > cursor)
                    .order_by(Segment.id)
                    .limit(n)
                )
            )
            if len(rows) < n:  # wrap around to the start of the cycle
                seen = {r.id for r in rows}
                more = s.scalars(
                    select(Segment).where(*closed).order_by(Segment.id).limit(n - len(rows))
                )
                rows += [r for r in more if r.id not in seen]
            facts = [(r.id, r.camera_id, r.path, r.sha256, r.start, r.location) for r in rows]
        report = VerifyReport()
        storage = storage_for(self.config)
        for seg_id, cam, rel, expected, start, location in facts:
            report.checked += 1
            got = storage.sha256(location, rel)
            if got is None:
                report.missing.append(seg_id)
                found: tuple[str, str | None] | None = ("missing", None)
            else:
                actual = got[0]
                found = None if actual == expected else ("mismatch", actual)
                if found is None:
                    report.ok += 1
                else:
                    report.mismatched.append(seg_id)
            if found is not None:
                status, actual_hash = found
                data = {
                    "segment_id": seg_id,
                    "path": rel,
                    "location": location,
                    "status": status,
                    "expected_sha256": expected,
                    "actual_sha256": actual_hash,
                    "segment_start": utc(start).isoformat(),
                }
                report.raised += self._raise(cam, data)
        if facts:
            self._save(facts[-1][0])
        if report.mismatched or report.missing:
            log.critical(
                "segment verification: %d mismatched, %d missing of %d checked",
                len(report.mismatched),
                len(report.missing),
                report.checked,
                extra={"job": "segment-verify"},
            )
        return report

    def _raise(self, camera_id: str, data: dict[str, Any]) -> int:
        now = utc(self.clock.now())
        with self.db.session() as s:
            known = s.scalars(
                select(Event.data).where(
                    Event.type == EventType.SEGMENT_HASH_MISMATCH, Event.camera_id == camera_id
                )
            )
            for old in known:
                if (
                    old.get("segment_id") == data["segment_id"]
                    and old.get("status") == data["status"]
                ):
                    return 0
            s.add(
                Event(
                    type=EventType.SEGMENT_HASH_MISMATCH,
                    camera_id=camera_id,
                    start=now,
                    end=now,
                    severity=Severity.CRITICAL,
                    data=data,
                )
            )
        return 1


# --- camera health ----------------------------------------------------------------------


@dataclass
class HealthReport:
    raised: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    unhealthy: list[str] = field(default_factory=list)


class CameraHealthCheck:
    """Raises ``camera_unhealthy`` for a camera not connected, or without a packet, for more
    than ``ops.unhealthy_after_s``; ends it once packets flow again.

    No duplicates: one open event per camera, and none while the worker's own
    ``camera_offline`` event for that camera is open (that one already says it). The time a
    camera went bad is its last packet, else the first check that found it without one.
    """

    def __init__(
        self, db: Database, config: Config, clock: Clock, health_provider: HealthProvider
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.health_provider = health_provider
        self._bad_since: dict[str, datetime] = {}

    def __call__(self) -> HealthReport:
        now = utc(self.clock.now())
        limit = timedelta(seconds=self.config.ops.unhealthy_after_s)
        report = HealthReport()
        bad: dict[str, tuple[datetime, dict[str, Any]]] = {}
        good: list[str] = []
        for cam_id, h in sorted(self.health_provider().items()):
            last = utc(h.last_packet_at) if h.last_packet_at else None
            fresh = last is not None and now - last <= limit
            if h.connected and fresh:
                self._bad_since.pop(cam_id, None)
                good.append(cam_id)
                continue
            since = last or self._bad_since.setdefault(cam_id, now)
            if now - since <= limit:
                continue
            reason = "not connected" if not h.connected else "no packet"
            bad[cam_id] = (
                since,
                {
                    "reason": reason,
                    "state": h.state.value,
                    "last_packet_at": last.isoformat() if last else None,
                    "seconds": round((now - since).total_seconds(), 1),
                    "last_error": h.last_error,
                },
            )
        report.unhealthy = sorted(bad)
        with self.db.session() as s:
            open_rows = list(
                s.scalars(
                    select(Event).where(
                        Event.type.in_([EventType.CAMERA_UNHEALTHY, EventType.CAMERA_OFFLINE]),
                        Event.end.is_(None),
                    )
                )
            )
            unhealthy = {e.camera_id: e for e in open_rows if e.type == EventType.CAMERA_UNHEALTHY}
            offline = {e.camera_id for e in open_rows if e.type == EventType.CAMERA_OFFLINE}
            for cam_id in good:
                ev = unhealthy.get(cam_id)
                if ev is not None:
                    ev.end = now
                    report.cleared.append(cam_id)
                    log.info("%s: healthy again", cam_id, extra={"camera": cam_id})
            for cam_id, (since, data) in bad.items():
                if cam_id in unhealthy or cam_id in offline:
                    continue
                s.add(
                    Event(
                        type=EventType.CAMERA_UNHEALTHY,
                        camera_id=cam_id,
                        start=since,
                        severity=Severity.CRITICAL,
                        data=data,
                    )
                )
                report.raised.append(cam_id)
                log.critical(
                    "%s: unhealthy (%s for %.0f s)",
                    cam_id,
                    data["reason"],
                    data["seconds"],
                    extra={"camera": cam_id},
                )
        return report


# --- custody, retention, briefing -------------------------------------------------------


class CustodyChecks:
    """``run_custody_checks`` with the layout built once (failures go to the registry)."""

    def __init__(self, db: Database, config: Config, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.layout = build_layout(config)

    def __call__(self) -> object:
        return run_custody_checks(self.db, self.config, self.clock, layout=self.layout)


class BriefingJob:
    """Writes the briefing of the local day (site.timezone) before ``clock.now()``."""

    def __init__(self, db: Database, config: Config, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    def day(self) -> date:
        return self.config.texts().local(self.clock.now()).date() - timedelta(days=1)

    def __call__(self) -> Path:
        return write_briefing(
            self.db, self.config, self.day(), briefing_root(self.config), clock=self.clock
        )


# --- registration -----------------------------------------------------------------------


@dataclass
class Jobs:
    """The jobs ``register_jobs`` scheduled, by name (for tests and the CLI)."""

    retention: RetentionJob
    custody: CustodyChecks
    verify: SegmentVerifier
    health: CameraHealthCheck
    briefing: BriefingJob
    registry: JobRegistry
    anchor: AnchorJob
    late_uploads: LateUploadCheck
    shift_footage: ShiftFootageCheck
    docks: DockWatcher
    uploads: UploadExpiry


class PartitionJob:
    """Day partitions of the footage tables made ahead, empty old ones dropped."""

    def __init__(self, db: Database, config: Config, clock: Clock) -> None:
        self.db, self.config, self.clock = db, config, clock

    def __call__(self) -> PartitionReport:
        return maintain(
            self.db.engine, self.clock.now(), self.config.database.partitions_ahead_days
        )


def once_only(locks: JobLocks | None, name: str, fn: Callable[[], object]) -> Callable[[], object]:
    """``fn``, run only on the node that holds the advisory lock of job ``name``."""
    if locks is None:
        return fn

    def run() -> object:
        if not locks.holds(name):
            return "another node runs it"
        return fn()

    return run


def register_jobs(
    scheduler: Any,
    db: Database,
    config: Config,
    clock: Clock,
    health_provider: HealthProvider,
    *,
    registry: JobRegistry | None = None,
    locks: JobLocks | None = None,
) -> Jobs:
    """Register every periodic job on an APScheduler scheduler (not started here); each run
    is counted in ``registry`` (a new one if none is given: ``Jobs.registry``).

    ``locks`` (a cluster node on PostgreSQL): custody checks and the briefing run only on the
    node holding their advisory lock; retention and re-verification run on every node for
    its own disk, and the lock holder also does the bucket's files (vms.cluster.locks).
    """
    registry = registry if registry is not None else JobRegistry()
    ops = config.ops
    bw = config.bodyworn
    jobs = Jobs(
        retention=RetentionJob(db, config, clock),
        custody=CustodyChecks(db, config, clock),
        verify=SegmentVerifier(db, config, clock),
        health=CameraHealthCheck(db, config, clock, health_provider),
        briefing=BriefingJob(db, config, clock),
        registry=registry,
        anchor=AnchorJob(db, config, clock),
        late_uploads=LateUploadCheck(db, config, clock),
        shift_footage=ShiftFootageCheck(db, config, clock),
        docks=DockWatcher(Ingestor(db, config, clock)),
        uploads=UploadExpiry(Ingestor(db, config, clock)),
    )
    if locks is not None:
        node = config.node_id
        held = locks.holds
        jobs.retention.scope_fn = lambda: Scope(node, bucket=held("retention"))
        jobs.verify.scope_fn = lambda: Scope(node, bucket=held("segment-verify"))
    hour, minute = ops.briefing_hour_minute
    schedule: list[tuple[str, Callable[[], object], dict[str, Any]]] = [
        ("retention", jobs.retention, {"seconds": config.evidence.retention_interval_s}),
        (
            "audit-anchor",
            once_only(locks, "audit-anchor", jobs.anchor),
            {"seconds": config.evidence.anchor_interval_s},
        ),
        (
            "custody-checks",
            once_only(locks, "custody-checks", jobs.custody),
            {"seconds": config.custody.check_interval_s},
        ),
        ("segment-verify", jobs.verify, {"seconds": ops.verify_interval_s}),
        ("camera-health", jobs.health, {"seconds": ops.health_check_interval_s}),
        ("bodyworn-late", jobs.late_uploads, {"seconds": bw.deadline_check_interval_s}),
        ("bodyworn-shifts", jobs.shift_footage, {"seconds": bw.deadline_check_interval_s}),
        ("bodyworn-uploads", jobs.uploads, {"seconds": 3600}),
    ]
    if db.engine.dialect.name == "postgresql":
        schedule.append(
            (
                "partitions",
                once_only(locks, "partitions", PartitionJob(db, config, clock)),
                {"seconds": config.database.partitions_interval_s},
            )
        )
    if config.storage.object_store is not None:
        from vms.storage.tiering import TieringJob

        tiering = TieringJob(db, config, storage_for(config), clock)
        schedule.append(("tiering", tiering, {"seconds": config.storage.object_store.interval_s}))
    if bw.docks:
        schedule.append(("bodyworn-docks", jobs.docks, {"seconds": bw.dock_scan_interval_s}))
    for name, fn, every in schedule:
        scheduler.add_job(
            registry.track(name, fn, clock),
            "interval",
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            replace_existing=True,
            **every,
        )
    if ops.briefing_enabled:
        scheduler.add_job(
            registry.track(
                "daily-briefing", once_only(locks, "daily-briefing", jobs.briefing), clock
            ),
            "cron",
            hour=hour,
            minute=minute,
            timezone=config.site.timezone,
            id="daily-briefing",
            name="daily-briefing",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )
    log.info("scheduled jobs: %s", ", ".join(j.id for j in scheduler.get_jobs()))
    return jobs
