"""The ingest path with real recorder files: stored byte for byte, probed in a child process,
deduplicated, indexed (device, officer at recording time, times and their source, codecs,
GPS), late uploads flagged; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.bodyworn.conftest import NOW, SQUARE, SUPERVISOR, T_REC, TRACK, Bw, Media
from tests.conftest import shared_file
from vms.bodyworn.files import get_file
from vms.bodyworn.models import BodywornFile, IngestRecord
from vms.bodyworn.officers import assign, file_under, get_device
from vms.db.models import Camera, Event, Segment
from vms.evidence.audit import list_entries, verify_chain
from vms.vocab import EventType


def _sha(path: os.PathLike[str]) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.mark.parametrize(
    ("which", "video", "audio", "container"),
    [
        ("mp4", "h264", "aac", "mov,mp4,m4a,3gp,3g2,mj2"),
        ("mov", "h264", "pcm_alaw", "mov,mp4,m4a,3gp,3g2,mj2"),
        ("hevc", "hevc", "aac", "mov,mp4,m4a,3gp,3g2,mj2"),
    ],
)
def test_recorder_files_are_stored_byte_for_byte_and_indexed(
    bw: Bw, media: Media, which: str, video: str, audio: str, container: str
) -> None:
    rec = getattr(media, which)
    extra = {"device_serial": "DSJ-A1"} if which == "hevc" else {}
    result = bw.ingest(rec, **extra)
    assert result.result == "stored", result.reason
    assert result.sha256 == rec.sha256
    f = get_file(bw.db, result.file_id)
    stored = bw.config.storage.root / f"bodyworn/{rec.sha256[:2]}/{rec.sha256}"
    assert _sha(stored.with_suffix(rec.path.suffix.lower())) == rec.sha256
    assert (f.video_codec, f.audio_codec, f.container) == (video, audio, container)
    assert f.width == 768
    assert f.height == 432
    assert abs(f.duration_s - rec.seconds) < 0.6
    assert f.bytes == rec.path.stat().st_size
    with bw.db.session() as s:
        seg = s.get(Segment, f.segment_id)
        assert seg is not None
        assert (seg.camera_id, seg.sha256, seg.status) == (f.camera_id, rec.sha256, "complete")
        assert (seg.start, seg.end) == (f.start, f.end)
        cam = s.get(Camera, f.camera_id)
        assert cam is not None
        assert cam.kind == "bodyworn"
    created = list_entries(bw.db, object_type="bodyworn", action="create")
    assert [e.object_id for e in created] == [str(f.id)]
    assert created[0].actor == "li.clerk"
    assert verify_chain(bw.db).ok


def test_device_officer_times_and_gps_come_from_the_file(bw: Bw, media: Media) -> None:
    f = get_file(bw.db, bw.ingest(media.mp4).file_id)
    assert (f.device, f.officer, f.officer_source, f.unit) == (
        "DSJ-A1", "031245", "assignment", "Patrol 1",
    )  # fmt: skip
    assert (f.start, f.time_source) == (T_REC, "metadata")
    assert [p[1:] for p in f.gps] == [[lat, lon] for _t, lat, lon in TRACK]
    assert [p[0] for p in f.gps] == [0.0, 1.0, 2.0]
    assert not f.late
    assert f.lateness_s == pytest.approx((NOW - T_REC).total_seconds() - f.duration_s, abs=0.01)
    # No creation time: the file name's convention (local time, Asia/Shanghai) gives the start.
    g = get_file(bw.db, bw.ingest(media.mov).file_id)
    assert (g.device, g.officer, g.time_source, g.start) == (
        "DSJ-B2", "031877", "file_name", T_REC,
    )  # fmt: skip
    assert g.gps == [[0.0, SQUARE[0], SQUARE[1]]]  # the ISO 6709 location tag
    # Neither: the file's modification time is the end of recording.
    copy = bw.copy(media.hevc)
    ended = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    os.utime(copy, (ended.timestamp(), ended.timestamp()))
    h = get_file(bw.db, bw.ingest(copy, device_serial="DSJ-B2").file_id)
    assert (h.time_source, h.end) == ("file_time", ended)


def test_a_duplicate_is_recognised_and_not_stored_twice(bw: Bw, media: Media) -> None:
    first = bw.ingest(media.mp4)
    again = bw.ingest(bw.copy(media.mp4, "renamed.mp4"))
    assert (again.result, again.file_id) == ("duplicate", first.file_id)
    with bw.db.session() as s:
        assert len(s.scalars(select(BodywornFile)).all()) == 1
        assert s.scalar(select(Segment.id).where(Segment.sha256 == media.mp4.sha256))
        results = [r.result for r in s.scalars(select(IngestRecord).order_by(IngestRecord.id))]
    assert results == ["stored", "duplicate"]
    files = [p for p in (bw.config.storage.root / "bodyworn").rglob("*") if p.is_file()]
    assert len(files) == 1


def test_a_hostile_file_is_rejected_with_a_reason_and_kept(bw: Bw) -> None:
    hostile = shared_file("hostile/crashes-opencv-48x48.avi")
    result = bw.ingest(hostile, device_serial="DSJ-A1")
    assert result.result == "rejected"
    assert "rawvideo" in result.reason
    assert "not recorder footage" in result.reason
    with bw.db.session() as s:
        rec = s.scalar(select(IngestRecord))
        assert rec is not None
        assert rec.result == "rejected"
        assert rec.quarantine
        assert s.scalar(select(BodywornFile.id)) is None
    kept = bw.config.storage.root / rec.quarantine
    assert _sha(kept) == _sha(hostile)  # nothing lost
    rejected = list_entries(bw.db, object_type="bodyworn", action="reject")
    assert len(rejected) == 1
    assert "rawvideo" in rejected[0].details


def test_a_probe_that_crashes_is_a_rejection_not_a_crash(bw: Bw, media: Media) -> None:
    bw.ingestor.probe_target = "tests.bodyworn.crashing:abort_child"
    result = bw.ingest(media.mp4)
    assert result.result == "rejected"
    assert "crashed" in result.reason
    assert "SIGABRT" in result.reason
    # The service goes on: the next file (a real probe) is stored.
    bw.ingestor.probe_target = None
    assert bw.ingest(media.mp4).result == "stored"


def test_a_file_recorded_30_hours_before_upload_is_late_and_raises_an_alert(
    bw: Bw, media: Media
) -> None:
    bw.clock.set(T_REC + timedelta(hours=30))
    f = get_file(bw.db, bw.ingest(media.mp4).file_id)
    assert f.late
    assert f.lateness_s == pytest.approx(30 * 3600 - f.duration_s, abs=0.01)
    with bw.db.session() as s:
        events = s.scalars(select(Event).where(Event.type == EventType.BODYWORN_LATE_UPLOAD)).all()
        assert len(events) == 1
        ev = events[0]
        assert (ev.camera_id, ev.severity) == ("bw.DSJ-A1", "warning")
        assert ev.data["officer"] == "031245"
        assert ev.data["unit"] == "Patrol 1"
        assert ev.data["lateness_h"] == pytest.approx(30.0, abs=0.01)


def test_an_unassigned_device_files_under_nobody_until_filed(bw: Bw, media: Media) -> None:
    # DSJ-Z9 was never registered: it appears from the file, unassigned.
    f = get_file(bw.db, bw.ingest(media.hevc, device_serial="DSJ-Z9").file_id)
    assert (f.device, f.officer, f.officer_source) == ("DSJ-Z9", None, "none")
    device = get_device(bw.db, "DSJ-Z9")
    assert not device.registered
    assert device.officer is None
    file_under(bw.db, bw.clock, SUPERVISOR, f.id, "031877")
    assert get_file(bw.db, f.id).officer == "031877"


def test_the_officer_is_who_had_the_device_at_recording_time(bw: Bw, media: Media) -> None:
    # DSJ-A1 passed from Li Wei to Wang Fang five minutes into the recording window.
    assign(bw.db, bw.clock, SUPERVISOR, "DSJ-A1", "031877", start=T_REC + timedelta(minutes=5))
    first = get_file(bw.db, bw.ingest(media.mp4).file_id)
    later = get_file(bw.db, bw.ingest(media.mp4_later).file_id)
    assert (first.officer, later.officer) == ("031245", "031877")
    history = get_device(bw.db, "DSJ-A1").history
    assert [(a.badge, a.end is None) for a in history] == [("031245", False), ("031877", True)]
