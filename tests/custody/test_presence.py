"""PresenceRecorder: per-frame counts from a scripted detector become presence rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from tests.custody.conftest import T0, frames
from vms.bootstrap import sync_cameras
from vms.config import Config
from vms.custody.config import PresenceConfig
from vms.custody.models import Presence
from vms.custody.presence import PresenceRecorder, PresenceSpan, RoomObservation, room_timeline
from vms.db.session import Database


def rows(db: Database) -> list[tuple[float, float | None, int]]:
    with db.session() as s:
        got = list(s.scalars(select(Presence).order_by(Presence.start)))
    return [
        (
            (r.start - T0).total_seconds(),
            (r.end - T0).total_seconds() if r.end else None,
            r.count,
        )
        for r in got
    ]


def test_counts_are_written_only_when_they_change(db: Database, config: Config) -> None:
    sync_cameras(db, config)
    rec = PresenceRecorder(db, PresenceConfig(settle_s=1.0), cameras={"cell-cam"})
    # One missed detection (a 0 for a single frame) is not someone leaving.
    script = [(0, 1), (10, 0), (10.2, 1), (20, 2), (30, 0), (40, 0)]
    for obs in frames("cell-cam", script):
        rec.observe(obs)
    rec.observe(RoomObservation("street-cam", T0, 5))  # not a custody camera: ignored
    rec.close()
    got = rows(db)
    assert [(s, n) for s, _e, n in got] == [(0.0, 1), (20.0, 2), (31.0, 0)]
    assert [e for _s, e, _n in got] == [20.0, 31.0, 40.0]


def test_heartbeat_and_restart(db: Database, config: Config) -> None:
    sync_cameras(db, config)
    cfg = PresenceConfig(settle_s=0, heartbeat_s=5, stale_s=15)
    rec = PresenceRecorder(db, cfg)
    for obs in frames("cell-cam", [(0, 1), (12, 1)], fps=1):
        rec.observe(obs)
    with db.session() as s:
        row = s.scalars(select(Presence)).one()
    assert (row.end, row.seen_at) == (None, T0 + timedelta(seconds=10))
    # Analytics stops for 60 s, then goes on: the time between is unknown, not "1 person".
    rec.observe(RoomObservation("cell-cam", T0 + timedelta(seconds=72), 1))
    # A new process: what the last one left open ends where it was last confirmed.
    rec2 = PresenceRecorder(db, cfg)
    rec2.observe(RoomObservation("cell-cam", T0 + timedelta(seconds=100), 0))
    assert rows(db) == [(0.0, 12.0, 1), (72.0, 72.0, 1), (100.0, None, 0)]


def test_room_timeline_marks_unknown_stretches() -> None:
    def t(s: float) -> datetime:
        return T0 + timedelta(seconds=s)

    spans = [
        PresenceSpan("a", t(0), t(10), t(10), 1),
        PresenceSpan("a", t(30), None, t(35), 2),
        PresenceSpan("b", t(5), t(20), t(20), 3),
    ]
    got = room_timeline(spans, t(0), t(100), t(100), stale_s=15)
    assert [
        ((p.start - T0).total_seconds(), (p.end - T0).total_seconds(), p.count) for p in got
    ] == [
        (0, 5, 1),
        (5, 20, 3),
        (20, 30, None),
        (30, 50, 2),
        (50, 100, None),
    ]
