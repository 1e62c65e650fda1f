"""Events in the database (SQLite and PostgreSQL): written off the analysis thread, with
snapshots, and found again by camera, type, zone and time through indexes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from tests.detection.conftest import record
from vms.db.models import Camera
from vms.db.session import Database
from vms.detection.events import DatabaseEventSink
from vms.events import EventView, search_events

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def add_cameras(db: Database, *ids: str) -> None:
    with db.session() as s:
        for cam in ids:
            s.add(
                Camera(
                    id=cam,
                    name=cam,
                    kind="street",
                    site="s",
                    source="x",
                    record=True,
                    retention_days=30,
                    updated_at=T0,
                )
            )


def test_an_event_is_written_when_it_fires_and_completed_when_it_ends(
    db: Database, tmp_path: Path
) -> None:
    add_cameras(db, "door")
    sink = DatabaseEventSink(db, tmp_path)
    ev = record("door", "loitering", "porch", T0)
    handle = sink.opened(ev, b"\xff\xd8jpeg\xff\xd9")
    assert sink.flush()
    (row,) = search_events(db, camera="door")
    assert row.end is None
    assert row.track_ids == [7]
    assert row.snapshot is not None
    snap = tmp_path / row.snapshot
    assert snap.read_bytes() == b"\xff\xd8jpeg\xff\xd9"
    assert snap.is_relative_to(tmp_path / "snapshots" / "door")
    ended = ev.__class__(
        **{
            **ev.__dict__,
            "end": T0 + timedelta(seconds=30),
            "recording_end": T0 + timedelta(seconds=35),
            "track_ids": (7, 9),
            "peak_count": 2,
        }
    )
    sink.updated(handle, ended)
    sink.close()
    (row,) = search_events(db, camera="door")
    assert row.end == T0 + timedelta(seconds=30)
    assert row.recording_start == T0 - timedelta(seconds=65)
    assert row.recording_end == T0 + timedelta(seconds=35)
    assert (row.track_ids, row.peak_count, row.confidence) == ([7, 9], 2, pytest.approx(0.9))
    assert row.snapshot == EventView.model_validate(row).snapshot
    assert row.data["began"] == (T0 - timedelta(seconds=60)).isoformat()


def test_search_by_camera_type_zone_and_time(db: Database, tmp_path: Path) -> None:
    add_cameras(db, "door", "yard")
    sink = DatabaseEventSink(db, tmp_path)
    for i in range(30):
        cam = "door" if i % 2 else "yard"
        kind = ("loitering", "intrusion", "crowding")[i % 3]
        sink.opened(record(cam, kind, f"z{i % 5}", T0 + timedelta(minutes=i)), None)
    sink.close()

    def ids(**kw: object) -> list[int]:
        return [int(e.start.minute) for e in search_events(db, **kw)]  # type: ignore[arg-type]

    assert ids(camera="door", type="intrusion") == [1, 7, 13, 19, 25]
    assert ids(zone="z3", start=T0 + timedelta(minutes=10)) == [13, 18, 23, 28]
    assert ids(start=T0 + timedelta(minutes=5), end=T0 + timedelta(minutes=8)) == [5, 6, 7]
    assert ids(camera="yard", type="crowding", zone="z2") == [2]
    assert len(search_events(db, limit=4)) == 4


def test_search_uses_the_indexes(db: Database) -> None:
    names = {i["name"] for i in inspect(db.engine).get_indexes("events")}
    assert {"ix_events_camera_type_start", "ix_events_zone_start", "ix_events_type_start"} <= names
    if db.engine.dialect.name != "sqlite":
        return  # PostgreSQL's planner picks by statistics; the indexes exist (checked above)
    with db.engine.connect() as conn:
        plan = " ".join(
            str(r[-1])
            for r in conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT * FROM events WHERE camera_id='a' AND type='b' "
                    "AND start >= '2026-01-01' AND start < '2026-02-01' ORDER BY start"
                )
            )
        )
    assert "ix_events_camera_type_start" in plan


def test_a_refused_row_is_dropped_not_retried_forever(db: Database, tmp_path: Path) -> None:
    sink = DatabaseEventSink(db, tmp_path)
    sink.opened(record("no-such-camera", "loitering", None, T0), None)  # foreign key
    assert sink.flush(timeout=30)  # the writer did not get stuck on it
    sink.close()
    assert search_events(db) == []
    assert sink.errors == 1
