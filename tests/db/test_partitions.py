"""The footage tables at city scale (migration 0017, vms.db.partitions, vms.db.ranges): day
partitions on PostgreSQL made ahead and dropped when emptied, the foreign keys that point at
them kept by triggers, and range queries that find long rows while bounded below."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError

from vms.db.models import Camera, Event, Gap, Segment, SegmentStream
from vms.db.partitions import (
    PartitionPlan,
    PartitionState,
    maintain,
    partition_name,
    partitions_of,
    plan_partitions,
)
from vms.db.ranges import LONG, overlapping_parts
from vms.db.session import Database
from vms.recordings import day_rows, gaps_in_range, segments_in_range
from vms.web.models import AlertAck, User

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
TODAY = NOW.date()
PG = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def references_emulated(db: Database) -> set[tuple[str, str, str]]:
    """(referring table, column, referred table) of each foreign key a trigger keeps."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT tgrelid::regclass::text, encode(tgargs, 'escape') FROM pg_trigger "
                "WHERE tgname LIKE 'vms_ref_%' AND tgparentid = 0"
            )
        ).all()
    return {(child, *args.split("\\000")[:2]) for child, args in rows}  # type: ignore[misc]


def d(offset: int) -> date:
    return TODAY + timedelta(days=offset)


@pytest.mark.parametrize(
    ("days", "waiting", "empty", "create", "drop"),
    [
        # a fresh table: yesterday to three days ahead
        ((), (), (), (-1, 0, 1, 2, 3), ()),
        # made already: only the new day ahead
        ((-1, 0, 1, 2), (), (), (3,), ()),
        # rows waiting in the default partition get their day, however old
        ((-1, 0, 1, 2, 3), (-40, 9), (), (-40, 9), ()),
        # empty days before yesterday go; yesterday, today and days ahead stay even empty
        ((-9, -8, -2, -1, 0, 1, 2, 3), (), (-9, -2, -1, 0, 3), (), (-9, -2)),
        # an emptied day that a waiting row needs again is kept
        ((-9, -1, 0, 1, 2, 3), (-9,), (-9,), (), ()),
    ],
)
def test_the_plan_keeps_days_ahead_gives_waiting_rows_their_day_and_drops_emptied_ones(
    days: tuple[int, ...],
    waiting: tuple[int, ...],
    empty: tuple[int, ...],
    create: tuple[int, ...],
    drop: tuple[int, ...],
) -> None:
    state = PartitionState(
        frozenset(map(d, days)), frozenset(map(d, waiting)), frozenset(map(d, empty))
    )
    got = plan_partitions(state, TODAY, ahead_days=3)
    assert got == PartitionPlan(tuple(map(d, create)), tuple(map(d, drop)))


def _camera(db: Database, cid: str = "cam") -> None:
    with db.session() as s:
        s.add(
            Camera(id=cid, name=cid, kind="street", site="s", room=None, room_type=None,
                   source="rtsp://x", record=True, retention_days=30, updated_at=NOW)
        )  # fmt: skip


def _segment(s: object, start: datetime, seconds: float = 60.0, path: str | None = None) -> Segment:
    seg = Segment(
        camera_id="cam", start=start, end=start + timedelta(seconds=seconds), duration_s=seconds,
        path=path or f"recordings/cam/{start:%Y%m%dT%H%M%S}.mp4", bytes=1, sha256="0" * 64,
        codec="h264", status="complete",
    )  # fmt: skip
    s.add(seg)  # type: ignore[attr-defined]
    return seg


def _partitions(db: Database, table: str) -> dict[str, int]:
    """Each partition of ``table`` with its row count."""
    with db.engine.connect() as conn:
        names = partitions_of(conn, table)
        return {n: int(conn.execute(text(f"SELECT count(*) FROM {n}")).scalar_one()) for n in names}


@PG
def test_footage_tables_are_partitioned_by_day_and_late_rows_find_their_day(
    db: Database,
) -> None:
    with db.engine.connect() as conn:
        kinds = dict(
            conn.execute(
                text(
                    "SELECT relname, relkind FROM pg_class WHERE relname IN "
                    "('segments', 'gaps', 'events')"
                )
            ).all()
        )
    assert kinds == {"segments": "p", "gaps": "p", "events": "p"}
    _camera(db)
    old = NOW - timedelta(days=40)
    with db.session() as s:
        seg = _segment(s, old)  # before any day partition: waits in the default one
        s.flush()
        s.add(SegmentStream(segment_id=seg.id, index=0, kind="video", codec="h264"))
        s.add(Gap(camera_id="cam", start=old, end=None, reason="camera down"))
    assert _partitions(db, "segments") == {"segments_default": 1}

    report = maintain(db.engine, NOW, ahead_days=2)
    made = {partition_name("segments", d(k)) for k in (-40, -1, 0, 1, 2)}
    assert set(_partitions(db, "segments")) == made | {"segments_default"}
    assert _partitions(db, "segments")[partition_name("segments", old.date())] == 1
    assert _partitions(db, "segments")["segments_default"] == 0
    assert report.moved == 2  # the segment and the gap
    with db.session() as s:  # moving the row is no deletion: its streams stay
        assert s.scalar(select(func.count()).select_from(SegmentStream)) == 1
    assert maintain(db.engine, NOW, ahead_days=2).created == ()  # nothing more to do

    with db.session() as s:  # a new row of today goes straight to today's partition
        _segment(s, NOW)
    assert _partitions(db, "segments")[partition_name("segments", TODAY)] == 1

    with db.session() as s:  # retention empties the old day ...
        s.execute(delete(Segment).where(Segment.start < NOW - timedelta(days=30)))
        s.execute(delete(Gap))
    with db.session() as s:  # ... its streams went with it (what ON DELETE CASCADE did)
        assert s.scalar(select(func.count()).select_from(SegmentStream)) == 0
    dropped = maintain(db.engine, NOW, ahead_days=2).dropped
    assert partition_name("segments", old.date()) in dropped
    assert partition_name("segments", TODAY) not in dropped


@PG
def test_the_keys_into_partitioned_tables_hold_as_foreign_keys_did(db: Database) -> None:
    assert references_emulated(db) >= {
        ("segment_streams", "segment_id", "segments"),
        ("alert_acks", "event_id", "events"),
        ("custody_alerts", "event_id", "events"),
        ("evidence_items", "event_id", "events"),
        ("bw_files", "segment_id", "segments"),
    }
    _camera(db)
    maintain(db.engine, NOW, ahead_days=2)
    with db.session() as s:
        seg = _segment(s, NOW)
        ev = Event(type="loitering", camera_id="cam", start=NOW, severity="warning", data={})
        user = User(username="duty", password_hash="x", role="viewer", created_at=NOW)
        s.add_all([ev, user])
        s.flush()
        s.add(SegmentStream(segment_id=seg.id, index=0, kind="video", codec="h264"))
        s.add(AlertAck(event_id=ev.id, user_id=user.id, note="seen", at=NOW))
        seg_id, ev_id = seg.id, ev.id
    refused = pytest.raises(IntegrityError, match="refers to a row segments does not have")
    with refused, db.session() as s:
        s.add(SegmentStream(segment_id=seg_id + 1000, index=0, kind="video", codec="h264"))
    refused = pytest.raises(IntegrityError, match="still referred to by alert_acks")
    with refused, db.session() as s:
        s.execute(delete(Event).where(Event.id == ev_id))
    with db.session() as s:  # a row moved to another day keeps what refers to it
        s.execute(update(Segment).where(Segment.id == seg_id).values(start=NOW - timedelta(days=1)))
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SegmentStream)) == 1
        assert s.get(Event, ev_id) is not None


def test_range_queries_find_rows_that_began_long_before_the_range(db: Database) -> None:
    _camera(db)
    day = datetime(2026, 12, 1, tzinfo=UTC)
    with db.session() as s:
        _segment(s, day - timedelta(days=2))  # long over
        _segment(s, day - timedelta(seconds=30))  # reaches into the day
        _segment(s, day + timedelta(hours=3))
        _segment(s, day - LONG - timedelta(hours=1), seconds=5 * 3600)  # a long body-worn file
        s.add_all(
            [
                Gap(camera_id="cam", start=day - timedelta(days=3), end=None, reason="down"),
                Gap(camera_id="cam", start=day - timedelta(days=5), end=day - timedelta(days=4),
                    reason="over"),
                Event(type="camera_offline", camera_id="cam", start=day - timedelta(days=3),
                      severity="warning", data={}),
                Event(type="loitering", camera_id="cam", start=day - timedelta(days=3),
                      end=day - timedelta(days=3) + timedelta(minutes=2), severity="info",
                      data={}),
            ]
        )  # fmt: skip
    with db.session() as s:
        rows = day_rows(s, "cam", day, day + timedelta(days=1))
        starts = [x.start for x in rows.segments]
        assert starts == sorted(starts)
        assert [x.start - day for x in rows.segments] == [
            -LONG - timedelta(hours=1),
            timedelta(seconds=-30),
            timedelta(hours=3),
        ]
        assert [g.reason for g in rows.gaps] == ["down"]
        assert [e.type for e in rows.events] == ["camera_offline"]  # still open
    got = segments_in_range(db, "cam", day, None)
    assert len(got) == 3
    assert [g.reason for g in gaps_in_range(db, "cam", day - timedelta(days=6), day)] == [
        "over",
        "down",
    ]


@PG
def test_a_day_of_one_camera_reads_only_its_days_partitions(db: Database) -> None:
    _camera(db)
    maintain(db.engine, NOW, ahead_days=2)
    day = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)
    with db.session() as s:
        _older, recent = overlapping_parts(Segment, day, day + timedelta(days=1), "postgresql")
        q = select(Segment.id).where(Segment.camera_id == "cam", recent)
        compiled = q.compile(s.get_bind(), compile_kwargs={"literal_binds": True})
        plan = "\n".join(s.execute(text(f"EXPLAIN {compiled}")).scalars())
    assert partition_name("segments", TODAY) in plan
    assert partition_name("segments", d(-1)) in plan  # the two hours before the day
    assert partition_name("segments", d(2)) not in plan
    assert "segments_default" not in plan  # the days are there: nothing can wait outside


def test_the_plan_rewrites_closed_days_once_in_camera_order() -> None:
    state = PartitionState(
        days=frozenset(map(d, (-5, -4, -3, -2, -1, 0, 1))),
        in_default=frozenset(),
        empty=frozenset({d(-5)}),
        in_order=frozenset({d(-4)}),
    )
    plan = plan_partitions(state, TODAY, ahead_days=1, reorder_after_days=2)
    assert plan.drop == (d(-5),)  # empty: dropped, not rewritten
    assert plan.reorder == (d(-3),)  # -4 is in order already; -2 and later are not closed
    assert plan_partitions(state, TODAY, ahead_days=1).reorder == ()  # 0: never


@PG
def test_a_closed_day_is_rewritten_in_camera_order_keeping_its_rows_and_their_ids(
    db: Database,
) -> None:
    for cid in ("cam", "other"):
        _camera(db, cid)
    day = datetime.combine(d(-3), datetime.min.time(), tzinfo=UTC)
    maintain(db.engine, day, ahead_days=0)
    with db.session() as s:  # written in time order, the cameras' minutes interleaved
        for minute in range(5):
            for cid in ("other", "cam"):
                seg = _segment(s, day + timedelta(minutes=minute), path=f"{cid}/{minute}.mp4")
                seg.camera_id = cid
        s.flush()
        first = s.scalars(select(Segment).order_by(Segment.id)).first()
        assert first is not None
        s.add(SegmentStream(segment_id=first.id, index=0, kind="video", codec="h264"))
    part = partition_name("segments", d(-3))

    def physical() -> list[tuple[str, int]]:
        with db.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(text(f"SELECT camera_id, id FROM {part}"))]

    before = physical()
    assert [c for c, _ in before][:2] == ["other", "cam"]
    report = maintain(db.engine, NOW, ahead_days=1, reorder_after_days=2)
    assert part in report.reordered
    after = physical()
    assert [c for c, _ in after] == ["cam"] * 5 + ["other"] * 5
    assert sorted(after) == sorted(before)  # the same rows, the same ids
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SegmentStream)) == 1
        assert s.scalar(select(func.count()).select_from(Segment)) == 10
    assert part not in maintain(db.engine, NOW, ahead_days=1, reorder_after_days=2).reordered


def test_rows_older_than_the_range_are_found_through_the_index_of_long_rows(
    db: Database,
) -> None:
    """The older part's condition states the partial index's predicate as the migration
    wrote it, so each backend's planner reads ``ix_segments_long`` for it."""
    day = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)
    with db.session() as s:
        dialect = s.get_bind().dialect.name
        older, _recent = overlapping_parts(Segment, day, day + timedelta(days=1), dialect)
        q = select(Segment.id).where(Segment.camera_id == "cam", older)
        compiled = q.compile(s.get_bind(), compile_kwargs={"literal_binds": True})
        if dialect == "postgresql":
            s.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table: no seq scan
            plan = "\n".join(s.execute(text(f"EXPLAIN {compiled}")).scalars())
            # the default partition's copy of ix_segments_long
            (wanted,) = s.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    " WHERE i.inhparent = CAST('ix_segments_long' AS regclass)"
                )
            ).scalars()
        else:
            rows = s.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            plan = "\n".join(str(r[-1]) for r in rows)
            wanted = "ix_segments_long"
    assert wanted in plan, plan
