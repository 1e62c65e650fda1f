"""Retention: per-camera days, the high-water mark, and legal holds that always win."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.evidence.conftest import ALICE, T0, Recorded, make_config, record_segments
from tests.support.clock import FakeClock
from vms.config import Config
from vms.db.models import Event, Segment
from vms.db.session import Database
from vms.evidence import audit, holds
from vms.evidence.holds import HoldSpan
from vms.evidence.retention import (
    RetentionJob,
    SegmentFacts,
    plan_retention,
    retention_days,
    run_retention,
)
from vms.evidence.usage import DiskUsage
from vms.vocab import EventType

# --- the decision, as a pure function ------------------------------------------------------

D0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = D0 + timedelta(days=40)


def _seg(id_: int, cam: str, day: float, size: int = 100) -> SegmentFacts:
    start = D0 + timedelta(days=day)
    return SegmentFacts(id_, cam, start, start + timedelta(minutes=1), size, f"{cam}/{id_}.mp4")


def _hold(id_: int, cam: str, day: float, released: datetime | None = None) -> HoldSpan:
    start = D0 + timedelta(days=day)
    return HoldSpan(id_, "range", cam, start, start + timedelta(minutes=1), None, released)


SEGS = [
    _seg(1, "street", 0),
    _seg(2, "cell", 1),
    _seg(3, "street", 2),
    _seg(4, "cell", 20),
    _seg(5, "street", 25),
    _seg(6, "street", 39),
]
DAYS = {"street": 30, "cell": 90}
ROOMY = DiskUsage(10_000, 600)  # 6 % used


@pytest.mark.parametrize(
    ("holds_", "usage", "deleted", "kept", "over"),
    [
        # Only expired street footage (older than 30 days) goes; custody keeps 90 days.
        ([], ROOMY, [(1, "expired"), (3, "expired")], [], False),
        # A hold keeps expired footage.
        ([_hold(9, "street", 0)], ROOMY, [(3, "expired")], [(1, (9,))], False),
        # A hold on another camera or another time does not.
        (
            [_hold(9, "cell", 0), _hold(8, "street", 5)],
            ROOMY,
            [(1, "expired"), (3, "expired")],
            [],
            False,
        ),
        # A released hold no longer holds; one released later (by this clock) still does.
        ([_hold(9, "street", 0, released=NOW)], ROOMY, [(1, "expired"), (3, "expired")], [], False),
        (
            [_hold(9, "street", 0, released=NOW + timedelta(1))],
            ROOMY,
            [(3, "expired")],
            [(1, (9,))],
            False,
        ),
        # Disk pressure: 600 of 620 bytes, mark 90 % = 558: after the two expired (400 left),
        # nothing more.
        ([], DiskUsage(620, 600), [(1, "expired"), (3, "expired")], [], False),
        # Mark at 360 of 400: expired first, then the oldest of any camera (cell, day 1).
        (
            [],
            DiskUsage(400, 600),
            [(1, "expired"), (3, "expired"), (2, "disk_pressure")],
            [],
            False,
        ),
        # Held footage is skipped: the next oldest unheld goes instead.
        (
            [_hold(9, "cell", 1)],
            DiskUsage(400, 600),
            [(1, "expired"), (3, "expired"), (4, "disk_pressure")],
            [(2, (9,))],
            False,
        ),
        # Only held footage left: nothing held goes, and the plan says storage is still full.
        (
            [_hold(7, "street", 0), _hold(8, "cell", 1), _hold(9, "street", 39)],
            DiskUsage(100, 600),
            [(3, "expired"), (4, "disk_pressure"), (5, "disk_pressure")],
            [(1, (7,)), (2, (8,)), (6, (9,))],
            True,
        ),
    ],
)
def test_plan(
    holds_: list[HoldSpan],
    usage: DiskUsage,
    deleted: list[tuple[int, str]],
    kept: list[tuple[int, tuple[int, ...]]],
    over: bool,
) -> None:
    plan = plan_retention(list(reversed(SEGS)), holds_, DAYS, usage, 90.0, NOW)
    assert [(d.segment.id, d.why) for d in plan.deletions] == deleted
    assert sorted((k.segment.id, k.holds) for k in plan.kept) == kept
    assert plan.over_limit is over


def test_retention_days_come_from_camera_then_kind(tmp_path: Path, store: Database) -> None:
    cfg = make_config(tmp_path, retention_days={"street": 7, "custody": 120})
    assert retention_days(cfg, store) == {"street-1": 7, "cell-1": 120}
    cams = [c.model_copy(update={"retention_days": 3}) for c in cfg.cameras]
    assert retention_days(cfg.model_copy(update={"cameras": cams}), store) == {
        "street-1": 3,
        "cell-1": 3,
    }


# --- carrying it out on real segments ----------------------------------------------------------


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in (root / "recordings").rglob("*.mp4")}


def _on_disk(root: Path, quota: int) -> Callable[[], DiskUsage]:
    """The test's disk: every file under the storage root against a quota."""

    def probe() -> DiskUsage:
        return DiskUsage(quota, sum(p.stat().st_size for p in root.rglob("*") if p.is_file()))

    return probe


def _rows(db: Database) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(Segment.path)))


@pytest.fixture
def footage(store: Database, config: Config) -> tuple[list[Recorded], list[Recorded]]:
    """Street camera from T0 (a segment every 3 s), cell camera from T0 + 5 s."""
    root = config.storage.root
    street, _ = record_segments(store, root, "street-1", count=6)
    cell, _ = record_segments(store, root, "cell-1", count=4, start=T0 + timedelta(seconds=5))
    return street, cell


def test_under_disk_pressure_the_oldest_unheld_footage_goes_first_and_held_footage_never(
    store: Database,
    config: Config,
    clock: FakeClock,
    footage: tuple[list[Recorded], list[Recorded]],
) -> None:
    street, cell = footage
    root = config.storage.root
    holds.place_range_hold(
        store, clock, ALICE, "street-1", street[1].start, street[2].end, case_number=None
    )
    held = {street[1].path, street[2].path}
    total = sum(s.bytes for s in street + cell)
    # Oldest first across both cameras: street 0, (street 1, 2 held), cell 0, cell 1, ...
    # A quota whose 90 % mark is reached once the three oldest unheld segments are gone.
    must_go = [street[0], cell[0], cell[1]]
    quota = math.ceil((total - sum(s.bytes for s in must_go)) / 0.9)

    report = run_retention(store, config, clock, disk_usage=_on_disk(root, quota))

    gone = {s.path for s in must_go}
    assert [d.path for d in report.deleted] == [s.path for s in must_go]
    assert {d.why for d in report.deleted} == {"disk_pressure"}
    assert report.freed_bytes == sum(s.bytes for s in must_go)
    assert not report.over_limit
    assert sorted(k.path for k in report.kept_held) == sorted(held)
    everything = {s.path for s in street + cell}
    assert _files(root) == everything - gone
    assert _rows(store) == everything - gone
    deletions = audit.list_entries(store, action="delete")
    assert [(e.object_type, e.actor) for e in deletions] == [("segment", "vms-retention")] * 3
    assert [audit.AuditEntryView.of(e).details["sha256"] for e in deletions] == [
        s.sha256 for s in must_go
    ]
    assert audit.verify_chain(store).ok

    # The disk fills up: everything unheld goes, held footage stays, a critical alert.
    tiny = make_config(root, quota_bytes=1)  # the configured quota, measured from the index
    clock.advance(minutes=1)
    report = run_retention(store, tiny, clock)
    assert _files(root) == held
    assert _rows(store) == held
    assert report.over_limit
    assert report.alerts == ["street-1"]
    clock.advance(minutes=1)
    run_retention(store, tiny, clock)  # still full: the same alert, not a second one
    with store.session() as s:
        events = list(
            s.scalars(select(Event).where(Event.type == EventType.STORAGE_FULL_HELD_ONLY))
        )
    assert [(e.camera_id, e.severity, e.end) for e in events] == [("street-1", "critical", None)]
    assert events[0].data["held_segments"] == 2
    assert events[0].data["held_bytes"] == street[1].bytes + street[2].bytes

    # Once the hold is released its footage can go, and the alert ends.
    (hold,) = holds.list_holds(store, clock.now())
    holds.release_hold(store, clock, ALICE, hold.id)
    clock.advance(minutes=1)
    report = run_retention(store, tiny, clock)
    assert sorted(d.path for d in report.deleted) == sorted(held)
    assert _files(root) == set()
    with store.session() as s:
        event = s.scalars(select(Event).where(Event.type == EventType.STORAGE_FULL_HELD_ONLY)).one()
    assert event.end == clock.now()
    assert audit.verify_chain(store).ok


def test_expired_footage_goes_unless_held_and_dry_run_changes_nothing(
    store: Database,
    config: Config,
    clock: FakeClock,
    footage: tuple[list[Recorded], list[Recorded]],
) -> None:
    street, cell = footage
    root = config.storage.root
    holds.place_range_hold(store, clock, ALICE, "street-1", street[4].start, street[4].end)
    clock.set(T0 + timedelta(days=31))  # street keeps 30 days, custody 90
    roomy = _on_disk(root, 10**12)
    before = _files(root)

    dry = run_retention(store, config, clock, disk_usage=roomy, dry_run=True)
    expired = [s.path for s in street if s is not street[4]]
    assert [d.path for d in dry.deleted] == expired
    assert [k.path for k in dry.kept_held] == [street[4].path]
    assert _files(root) == before
    assert audit.list_entries(store, action="delete") == []

    report = run_retention(store, config, clock, disk_usage=roomy)
    assert [(d.path, d.why) for d in report.deleted] == [(p, "expired") for p in expired]
    assert _files(root) == {street[4].path} | {s.path for s in cell}
    assert len(audit.list_entries(store, action="delete")) == len(expired)


def test_the_scheduled_job_runs_retention(
    store: Database,
    config: Config,
    clock: FakeClock,
    footage: tuple[list[Recorded], list[Recorded]],
) -> None:
    job = RetentionJob(store, make_config(config.storage.root), clock)  # what register_jobs runs
    clock.set(T0 + timedelta(days=91))  # everything expired, nothing held
    report = job()
    assert len(report.deleted) == sum(len(f) for f in footage)
    assert _rows(store) == set()
