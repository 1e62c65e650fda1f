"""Each scheduled job against a real database (SQLite and PostgreSQL), with a clock by hand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from tests.ops.conftest import T0, add_segment, ops_config, prepared
from tests.support.clock import FakeClock
from vms.cameras.health import CameraHealth, CameraState
from vms.custody.models import Alert as CustodyAlert
from vms.custody.service import CustodyService
from vms.db.models import Event, Segment
from vms.db.session import Database
from vms.evidence.anchors import anchors_path, read_anchors
from vms.evidence.audit import chain_head
from vms.ops.jobs import (
    CameraHealthCheck,
    SegmentVerifier,
    register_jobs,
)
from vms.ops.registry import JobRegistry
from vms.vocab import EventType


def _events(db: Database, etype: str) -> list[Event]:
    with db.session() as s:
        return list(s.scalars(select(Event).where(Event.type == etype).order_by(Event.id)))


def test_verification_checks_a_share_oldest_verified_first_and_raises_once(
    db: Database, tmp_path: Path
) -> None:
    config = prepared(db, ops_config(tmp_path, verify_share_per_day=0.5, verify_interval_s=86400))
    clock = FakeClock(T0)
    ids = [add_segment(db, config, "street-1", T0 - timedelta(hours=i), i) for i in range(4)]
    verify = SegmentVerifier(db, config, clock)
    first, second, third = verify(), verify(), verify()
    assert (first.checked, first.ok) == (2, 2)
    assert (second.checked, second.ok) == (2, 2)
    assert third.checked == 2  # a full cycle done: the first two again
    assert not _events(db, EventType.SEGMENT_HASH_MISMATCH)
    # One file changed on disk, one gone.
    with db.session() as s:
        changed, gone = (s.get(Segment, ids[2]), s.get(Segment, ids[3]))
        assert changed is not None
        assert gone is not None
        changed_path, gone_path = changed.path, gone.path
    (config.storage.root / changed_path).write_bytes(b"edited")
    (config.storage.root / gone_path).unlink()
    found = verify()
    assert found.mismatched == [ids[2]]
    assert found.missing == [ids[3]]
    events = _events(db, EventType.SEGMENT_HASH_MISMATCH)
    assert [(e.severity, e.data["status"], e.data["segment_id"]) for e in events] == [
        ("critical", "mismatch", ids[2]),
        ("critical", "missing", ids[3]),
    ]
    verify()
    again = verify()  # the same findings: no second event
    assert again.raised == 0
    assert len(_events(db, EventType.SEGMENT_HASH_MISMATCH)) == 2


def _health(cam: str, *, connected: bool, last: object) -> CameraHealth:
    return CameraHealth(
        cam,
        state=CameraState.CONNECTED if connected else CameraState.RECONNECTING,
        connected=connected,
        last_packet_at=last,  # type: ignore[arg-type]
    )


def test_camera_health_raises_once_defers_to_offline_and_clears(
    db: Database, tmp_path: Path
) -> None:
    config = prepared(db, ops_config(tmp_path, unhealthy_after_s=60))
    clock = FakeClock(T0)
    health = {
        "street-1": _health("street-1", connected=True, last=T0),
        "interview-1": _health("interview-1", connected=False, last=None),
    }
    check = CameraHealthCheck(db, config, clock, lambda: dict(health))
    assert check().raised == []  # fresh packets; interview-1 bad only since now
    clock.advance(seconds=30)
    assert check().raised == []
    # street-1 stalls (connected, no packet); interview-1 has been down for 90 s.
    clock.advance(seconds=60)
    report = check()
    assert report.raised == ["interview-1", "street-1"]
    assert check().raised == []  # open already: no duplicate
    rows = _events(db, EventType.CAMERA_UNHEALTHY)
    assert [(e.camera_id, e.data["reason"], e.end) for e in rows] == [
        ("interview-1", "not connected", None),
        ("street-1", "no packet", None),
    ]
    assert rows[0].start.replace(tzinfo=None) == T0.replace(tzinfo=None)
    # street-1 recovers: its event ends.
    health["street-1"] = _health("street-1", connected=True, last=clock.now())
    assert check().cleared == ["street-1"]
    assert [e.end is not None for e in _events(db, EventType.CAMERA_UNHEALTHY)] == [False, True]


def test_camera_health_leaves_a_worker_offline_event_alone(db: Database, tmp_path: Path) -> None:
    config = prepared(db, ops_config(tmp_path, unhealthy_after_s=10))
    clock = FakeClock(T0)
    with db.session() as s:
        s.add(Event(type="camera_offline", camera_id="street-1", start=T0, severity="critical"))
    health = {"street-1": _health("street-1", connected=False, last=T0 - timedelta(minutes=5))}
    check = CameraHealthCheck(db, config, clock, lambda: health)
    report = check()
    assert report.unhealthy == ["street-1"]
    assert report.raised == []
    assert not _events(db, EventType.CAMERA_UNHEALTHY)


def test_register_jobs_schedules_every_job_and_each_runs(db: Database, tmp_path: Path) -> None:
    config = prepared(db, ops_config(tmp_path, briefing_time="05:30"))
    clock = FakeClock(T0)
    registry = JobRegistry()
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs = register_jobs(scheduler, db, config, clock, dict, registry=registry)
    scheduled = {j.id: j for j in scheduler.get_jobs()}
    assert set(scheduled) == {
        "retention",
        "audit-anchor",
        "custody-checks",
        "segment-verify",
        "camera-health",
        "daily-briefing",
        "bodyworn-late",
        "bodyworn-shifts",
        "bodyworn-uploads",
    } | ({"partitions"} if db.engine.dialect.name == "postgresql" else set())
    assert str(scheduled["daily-briefing"].trigger).startswith("cron[hour='5', minute='30'")
    # Retention: street-1 keeps 1 day; a 3-day-old segment goes.
    old = add_segment(db, config, "street-1", T0 - timedelta(days=3), 1)
    kept = add_segment(db, config, "street-1", T0 - timedelta(hours=1), 2)
    # Custody: a person held far past the legal limit.
    clock.set(T0 - timedelta(hours=30))
    svc = CustodyService(db, config, clock)
    svc.enter(
        name="Zhang San", reason="theft", basis="summons", room="interrogation-room-1", by="li"
    )
    clock.set(T0)
    for job in scheduled.values():
        job.func()  # the registry's wrapper around each job
    stats = {s.name: s for s in registry.snapshot()}
    assert {n: (s.runs, s.failures) for n, s in stats.items()} == {n: (1, 0) for n in scheduled}, {
        n: s.last_error for n, s in stats.items()
    }
    with db.session() as s:
        assert s.get(Segment, old) is None
        assert s.get(Segment, kept) is not None
        types = set(s.scalars(select(CustodyAlert.type)))
    assert "legal_clock_limit" in types
    jobs.anchor()  # the audit head (retention's deletion is on it) anchored outside the db
    (anchor,) = read_anchors(anchors_path(config))[-1:]
    assert (anchor.seq, anchor.hash) == chain_head(db)
    day = jobs.briefing.day()
    assert day.isoformat() == "2026-03-09"
    assert (tmp_path / "briefings" / "2026-03-09" / "briefing.json").is_file()


def test_a_failing_job_is_counted_and_never_raised() -> None:
    registry = JobRegistry()

    def broken() -> None:
        raise RuntimeError("disk on fire")

    run = registry.track("broken", broken, FakeClock(T0))
    run()
    run()
    (stats,) = registry.snapshot()
    assert (stats.runs, stats.failures) == (2, 2)
    assert stats.last_error == "RuntimeError: disk on fire"
    assert stats.last_started_at == T0
