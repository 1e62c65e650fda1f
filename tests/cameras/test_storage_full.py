"""A full disk never makes the index lie: a real, small, full filesystem under the recorder.

The test mounts a 32 MiB tmpfs (it runs as root; if it cannot, it fails and says why),
records a camera into it, fills it to the last byte, then frees it again. On SQLite the
database lives on that same full disk; on PostgreSQL it does not. Either way the index must
hold exactly what is on disk: the segment cut by ENOSPC closed with what a read-back finds,
no empty or unplayable file indexed as footage, one "storage full" gap from the last packet
on disk to the first after, and a storage_full event (written once there is room again).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cameras.helpers import (
    camera,
    events,
    gaps,
    make_config,
    open_database,
    recording,
    seconds,
    segments,
)
from tests.support.waiting import wait_for
from vms.cameras.health import CameraHealth
from vms.cameras.recorder import SegmentWriter, probe_segment
from vms.cameras.recovery import recover_camera
from vms.cameras.sources import open_source
from vms.db.models import Segment
from vms.recordings import segments_in_range, verify_segments
from vms.vocab import EventType, sha256_file

pytestmark = pytest.mark.slow

CAM = "cam1"
DISK_MB = 32


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem of DISK_MB MiB, mounted for this test only."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m,mode=0755", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"cannot mount a {DISK_MB} MiB tmpfs at {mount} ({result.stderr.strip()}): this "
            "test needs root (or CAP_SYS_ADMIN) to give the recorder a real full disk",
            pytrace=False,
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem has not one byte left."""
    filler = disk / "filler"
    chunk = b"\0" * (1 << 20)
    with filler.open("wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(chunk)
        for size in (1 << 16, 1 << 12, 1 << 8, 1):  # the last crumbs
            with contextlib.suppress(OSError):
                while True:
                    f.write(chunk[:size])
    assert os.statvfs(disk).f_bavail == 0
    return filler


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_full_disk_gives_an_honest_index_and_a_storage_full_gap(
    small_disk: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    root = small_disk / "data"
    url = (
        f"sqlite:///{root / 'vms.db'}"  # the database on the disk that fills up
        if backend == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    source = f"synthetic://{CAM}?size=640x360&fps=15&gop=15&bitrate=800000&audio=tone"
    config = make_config(
        root,
        [camera(CAM, source, segment_seconds=2, analysis_fps=0)],
        database={"url": url},
    )
    db = open_database(url, config)
    try:
        with recording(config.cameras[0], root, db) as rec:
            wait_for("two segments", lambda: rec.worker.health().segments_closed >= 2, 60)
            filler = fill(small_disk)

            def storage_full() -> CameraHealth | None:
                h = rec.worker.health()
                return h if (h.last_error or "").startswith("storage full") else None

            full = wait_for("the recorder to notice the full disk", storage_full, 60)
            assert full is not None
            assert full.connected  # the camera is fine: nothing about it went offline
            at_full = full.segments_closed
            filler.unlink()  # retention (or an operator) makes room
            wait_for(
                "recording to resume",
                lambda: rec.worker.health().segments_closed >= at_full + 2,
                60,
            )
            wait_for("every index write", lambda: rec.index.pending() == 0, 90)
            rec.stop()
        rows, gap_rows, event_rows = segments(db, CAM), gaps(db, CAM), events(db, CAM)
        listed = segments_in_range(db, CAM, None, None)
        verified = verify_segments(db, root, CAM)
    finally:
        db.dispose()

    # Every row says what its file holds, read back now: no empty file indexed as footage.
    for row in rows:
        path = root / row.path
        probe = probe_segment(path)
        assert (row.sha256, row.bytes) == sha256_file(path), row.path
        if row.status == "empty":
            assert not probe.playable
            assert (row.packets, row.end, row.duration_s) == (0, row.start, 0.0)
            assert row not in listed
            continue
        assert row.status == "complete", (row.path, row.status)
        assert probe.playable, row.path
        assert row.packets == probe.packets, row.path
        assert row.end is not None
        assert seconds(row.start, row.end) == pytest.approx(probe.seconds, abs=1e-3), row.path
    assert {v.status for v in verified} == {"ok"}

    # One storage-full gap, from the last packet on disk to the first one after.
    [gap] = [g for g in gap_rows if g.end is not None]
    assert gap.end is not None
    assert gap.reason.startswith("storage full"), gap.reason
    assert gap.kind == "video"
    footage = [r for r in rows if r.status == "complete"]
    before = [r for r in footage if r.start < gap.start]
    after = [r for r in footage if r.start >= gap.start]
    assert before
    assert after
    assert before[-1].end == gap.start
    assert abs(seconds(gap.end, after[0].start)) <= 0.001
    assert not [
        r for r in rows if r.status == "empty" and gap.end is not None and r.start > gap.end
    ]

    # Raised as storage_full (queued while the database could not be written), not offline.
    assert [e.type for e in event_rows] == [EventType.STORAGE_FULL]
    assert (event_rows[0].start, event_rows[0].end) == (gap.start, gap.end)
    assert event_rows[0].severity == "critical"


def test_recovery_never_indexes_an_empty_file_as_recovered(tmp_path: Path) -> None:
    """A crash (or a full disk) right after a segment opened: no packet reached the file."""
    config = make_config(tmp_path, [camera(CAM, "synthetic://x")])
    db = open_database(config.database_url, config)
    start = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
    try:
        day = tmp_path / "recordings" / CAM / "2026-04-01"
        day.mkdir(parents=True)
        (day / "10-00-00.mp4").write_bytes(b"")  # created, never written
        # One keyframe written, then killed: its fragment (and with it the file's header,
        # written with the first fragment) never reached the disk.
        later = start + timedelta(seconds=5)
        rel = Path("recordings", CAM, "2026-04-01", "10-00-05.mp4")
        src = open_source("synthetic://x?size=320x180&fps=15", native_speed=False)
        try:
            packet = next(p for p in src.packets() if p.is_keyframe)
            scratch = Path("scratch.mp4")
            writer = SegmentWriter(tmp_path, scratch, src.stream, src.info, later, packet.dts or 0)
            writer.write(packet)
            on_disk = (tmp_path / scratch).read_bytes()  # what a kill -9 now leaves
            writer.abort()
        finally:
            src.close()
        (tmp_path / rel).write_bytes(on_disk)
        assert not probe_segment(tmp_path / rel).playable
        with db.session() as s:
            row = Segment(camera_id=CAM, start=later, path=rel.as_posix(), codec="h264")
            row.status = "recording"
            s.add(row)
        report = recover_camera(db, tmp_path, CAM)
        rows = segments(db, CAM)
    finally:
        db.dispose()
    assert sorted(report.recovered) == sorted(r.path for r in rows)
    assert {r.status for r in rows} == {"empty"}
    for r in rows:
        assert (r.packets, r.end, r.duration_s) == (0, r.start, 0.0)
    assert report.last_end == later  # no footage claimed: the crash gap starts where it began
