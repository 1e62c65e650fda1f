"""The recording index on SQLite and PostgreSQL: rows, time ranges, verify, recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
from sqlalchemy import select

from tests.conftest import shared_file
from vms.bootstrap import sync_cameras
from vms.cameras.index import RecordingIndex
from vms.cameras.opened import StreamInfo
from vms.cameras.recorder import SegmentWriter
from vms.cameras.recovery import recover_camera
from vms.cameras.sources import open_source
from vms.config import Config
from vms.db.migrate import current_revision, head_revision, upgrade
from vms.db.models import Camera, Event, Gap, Segment
from vms.db.session import Database
from vms.recordings import gaps_in_range, segments_in_range, verify_segments
from vms.vocab import sha256_file

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
INFO = StreamInfo("h264", 640, 360, 15.0, time_base=Fraction(1, 90000))


def _config(root: Path) -> Config:
    return Config.model_validate(
        {
            "storage": {"root": str(root)},
            "cameras": [
                {"id": "a", "kind": "street", "site": "s", "source": "synthetic://a"},
                {
                    "id": "b",
                    "kind": "custody",
                    "site": "s",
                    "room": "Cell 1",
                    "room_type": "cell",
                    "source": "rtsp://u:${X}@h/",
                },
            ],
        }
    )


def test_migrations_reach_head_and_are_idempotent(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    assert upgrade(db.engine) == head_revision()


def test_cameras_are_synced_without_secrets(db: Database, tmp_path: Path) -> None:
    cfg = _config(tmp_path).model_copy()
    cams = [
        c.model_copy(update={"source": "rtsp://u:secret@h/"}) if c.id == "b" else c
        for c in cfg.cameras
    ]
    sync_cameras(db, cfg.model_copy(update={"cameras": cams}))
    sync_cameras(db, cfg.model_copy(update={"cameras": cams}))  # twice: an update, not a copy
    with db.session() as s:
        rows = {c.id: c for c in s.scalars(select(Camera))}
    assert set(rows) == {"a", "b"}
    assert rows["b"].source == "rtsp://u:***@h/"
    assert rows["b"].room_type == "cell"
    assert rows["b"].retention_days == 90


def _seed(db: Database, tmp_path: Path) -> None:
    sync_cameras(db, _config(tmp_path))
    with db.session() as s:
        for i in range(3):
            start = T0 + timedelta(seconds=60 * i)
            s.add(
                Segment(
                    camera_id="a",
                    start=start,
                    end=start + timedelta(seconds=60),
                    duration_s=60.0,
                    path=f"recordings/a/x/{i}.mp4",
                    codec="h264",
                    status="complete",
                )
            )
        s.add(Gap(camera_id="a", start=T0 + timedelta(seconds=180), end=None, reason="down"))


def test_times_are_utc_with_microseconds(db: Database, tmp_path: Path) -> None:
    _seed(db, tmp_path)
    with db.session() as s:
        first = s.scalars(select(Segment).order_by(Segment.start)).first()
    assert first is not None
    assert first.start == T0
    assert first.start.tzinfo is not None
    assert first.start.utcoffset() == timedelta(0)


def test_range_queries_select_overlapping_rows(db: Database, tmp_path: Path) -> None:
    _seed(db, tmp_path)
    got = segments_in_range(db, "a", T0 + timedelta(seconds=90), T0 + timedelta(seconds=130))
    assert [s.path for s in got] == ["recordings/a/x/1.mp4", "recordings/a/x/2.mp4"]
    assert segments_in_range(db, "b", None, None) == []
    assert len(segments_in_range(db, None, None, T0)) == 0  # end is exclusive
    gaps = gaps_in_range(db, "a", T0 + timedelta(days=1), None)
    assert [g.reason for g in gaps] == ["down"]  # an open gap reaches to now


def _record_packets(root: Path, rel: Path, packets: int) -> SegmentWriter:
    """Write ``packets`` real packets of the sample clip into a segment left open."""
    src = open_source(
        str(shared_file("footage/one-by-one-person-detection.mp4")), native_speed=False
    )
    writer: SegmentWriter | None = None
    for n, pkt in enumerate(src.packets()):
        if writer is None:
            assert pkt.dts is not None
            writer = SegmentWriter(root, rel, src.stream, src.info, T0, pkt.dts)
        writer.write(pkt)
        if n + 1 >= packets:
            break
    assert writer is not None
    return writer


def test_verify_reports_altered_and_missing_files(db: Database, tmp_path: Path) -> None:
    sync_cameras(db, _config(tmp_path))
    index = RecordingIndex(db, tmp_path)
    for name in ("one", "two", "three"):
        rel = Path(f"recordings/a/d/{name}.mp4")
        writer = _record_packets(tmp_path, rel, 25)
        handle = index.segment_opened("a", rel, T0, INFO)
        _rel, end, packets = writer.close()
        index.segment_closed(handle, rel, T0, end, packets)
    index.flush()
    index.close()
    assert {r.status for r in verify_segments(db, tmp_path)} == {"ok"}
    (tmp_path / "recordings/a/d/two.mp4").unlink()
    victim = tmp_path / "recordings/a/d/three.mp4"
    data = bytearray(victim.read_bytes())
    data[-100] ^= 1
    victim.write_bytes(bytes(data))
    status = {Path(r.path).stem: r.status for r in verify_segments(db, tmp_path, "a")}
    assert status == {"one": "ok", "two": "missing", "three": "mismatch"}


def test_index_writer_records_outages_and_events(db: Database, tmp_path: Path) -> None:
    sync_cameras(db, _config(tmp_path))
    index = RecordingIndex(db, tmp_path)
    gap, event = index.outage_started("a", T0, "camera offline: refused", offline_event=True)
    index.outage_ended(gap, event, T0 + timedelta(seconds=10.5))
    index.flush()
    assert index.resume_open_gap("a") is None
    index.outage_started("a", T0 + timedelta(seconds=30), "recorder stopped", offline_event=False)
    index.flush()
    assert index.resume_open_gap("a") is not None
    index.close()
    with db.session() as s:
        gaps = list(s.scalars(select(Gap).order_by(Gap.start)))
        events = list(s.scalars(select(Event)))
    assert [(g.end - g.start).total_seconds() if g.end else None for g in gaps] == [10.5, None]
    assert [(e.type, e.severity, e.end) for e in events] == [
        ("camera_offline", "critical", T0 + timedelta(seconds=10.5))
    ]


def test_recovery_indexes_unfinished_and_orphan_segments(db: Database, tmp_path: Path) -> None:
    """A crash leaves a segment with a 'recording' row and one with no row at all."""
    sync_cameras(db, _config(tmp_path))
    index = RecordingIndex(db, tmp_path)
    rel = Path("recordings/a/2026-03-01/12-00-00.mp4")
    crashed = _record_packets(tmp_path, rel, 95)  # never closed: as after kill -9
    index.segment_opened("a", rel, T0, INFO)
    orphan = Path("recordings/a/2026-03-01/12-05-00.mp4")
    _record_packets(tmp_path, orphan, 40)  # no index row was ever written
    index.flush()
    index.close()

    report = recover_camera(db, tmp_path, "a")

    assert sorted(report.recovered) == [rel.as_posix(), orphan.as_posix()]
    with db.session() as s:
        rows = {r.path: r for r in s.scalars(select(Segment))}
    for path in (rel, orphan):
        row = rows[path.as_posix()]
        assert row.status == "recovered"
        assert row.sha256 == sha256_file(tmp_path / path)[0]
        assert row.end is not None
        assert row.end > row.start
    # Only whole fragments survive (one per keyframe, every 2 s in this clip): the
    # fragment being written when the process died is the most that is lost.
    assert 75 <= (rows[rel.as_posix()].packets or 0) <= 95
    with av.open(str(tmp_path / rel)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    assert frames == rows[rel.as_posix()].packets
    assert report.last_end == rows[orphan.as_posix()].end
    crashed.close()
