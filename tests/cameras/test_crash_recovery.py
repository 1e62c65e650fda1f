"""``vms serve`` killed with SIGKILL mid-segment: the partial file plays, picture and sound,
and is recovered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy.exc import SQLAlchemyError

from tests.cameras.helpers import (
    camera,
    decode_streams,
    gaps,
    seconds,
    segment_streams,
    segments,
)
from tests.support.waiting import wait_for
from vms.cameras.synthetic import AUDIO_RATE
from vms.config import load_config
from vms.db.models import Segment
from vms.db.session import Database
from vms.vocab import sha256_file

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[2]
CAM = "cam1"
FPS, GOP = 15, 15
RECORD_BEFORE_KILL_S = 6.5


@contextmanager
def serve(config_file: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``vms serve`` in a process group of its own (its worker processes join it)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vms.cli", "serve", "--config", str(config_file)],
            cwd=config_file.parent,
            env={**os.environ, "PYTHONPATH": str(PROJECT)},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_kill9_mid_segment_loses_at_most_one_fragment(tmp_path: Path) -> None:
    config_file = tmp_path / "vms.yaml"
    source = f"synthetic://{CAM}?size=640x360&fps={FPS}&gop={GOP}&audio=tone"
    config_file.write_text(
        yaml.safe_dump(
            {
                "storage": {"root": str(tmp_path / "data")},
                "workers": {"health_interval_s": 0.5},
                "web": {"enabled": False},  # not under test, and its port may be taken
                "cameras": [camera(CAM, source, segment_seconds=30, analysis_fps=0)],
            }
        )
    )
    config = load_config(config_file)
    log = tmp_path / "serve.log"

    db = Database(config.database_url)  # vms serve creates and migrates it

    def rows() -> list[Segment]:
        try:
            return segments(db, CAM)
        except SQLAlchemyError:  # not migrated yet
            return []

    try:
        # 1. Record, then SIGKILL the whole service (supervisor and worker) mid-segment.
        with serve(config_file, log) as proc:
            first = wait_for("an open segment", rows, 120)[0]
            killed_at = first.start.timestamp() + RECORD_BEFORE_KILL_S
            time.sleep(max(0.0, killed_at - time.time()))
            assert proc.poll() is None, log.read_text()
            os.killpg(proc.pid, signal.SIGKILL)
            killed = datetime.now(UTC)
            assert proc.wait(timeout=10) == -signal.SIGKILL

        [row] = rows()
        assert (row.status, row.end, row.sha256) == ("recording", None, None)
        path = config.storage.root / row.path
        assert path.is_file()
        # The partial file plays: every picture and all the sound decode, nothing is torn.
        (vkind, packets, frames), (akind, a_packets, a_frames) = decode_streams(path)
        assert (vkind, akind) == ("video", "audio")
        assert frames == packets > 0
        assert a_frames == a_packets > 0
        # Sound and picture reach the disk together: fragments cut at each keyframe hold both.
        assert abs(a_packets * 1024 / AUDIO_RATE - packets / FPS) <= 1.0
        recorded_s = seconds(row.start, killed)  # the timeline starts at the first keyframe

        # 2. Start again: the crash scan indexes the partial segment, recording goes on.
        restarted = datetime.now(UTC)
        with serve(config_file, log) as proc:
            wait_for("a segment after the restart", lambda: len(rows()) >= 2, 120)
            time.sleep(2)
            # SIGTERM to the group, as systemd and Ctrl-C do: segments are closed cleanly.
            os.killpg(proc.pid, signal.SIGTERM)
            assert proc.wait(timeout=120) == 0, log.read_text()
        old, new, *more = rows()
        gap_rows = gaps(db, CAM)
        streams = segment_streams(db, old.id)
    finally:
        db.dispose()

    assert not more
    assert old.path == row.path
    assert old.status == "recovered"
    assert old.end is not None
    assert (old.sha256, old.bytes) == sha256_file(path)
    assert old.packets == packets + a_packets
    assert old.duration_s == pytest.approx(packets / FPS, abs=1e-6)
    assert [(st.kind, st.codec, st.packets) for st in streams] == [
        ("video", "h264", packets),
        ("audio", "aac", a_packets),
    ]
    assert (streams[1].sample_rate, streams[1].channels) == (AUDIO_RATE, 1)
    # Fragments are flushed at each keyframe (one GOP = 1 s), so the kill loses at most the
    # fragment being filled. The worker's timeline starts at the arrival of its first
    # keyframe (row.start), so by the kill it had received at least recorded_s of video,
    # give or take delivery jitter (0.5 s). It may have received a little more: the
    # synthetic camera's first keyframe arrives late, behind the stream probe, so the index
    # clock runs a few hundred ms behind the camera's (2 s bounds that from above).
    assert (recorded_s - 1.0 - 0.5) * FPS <= packets, (packets, recorded_s)
    assert packets <= (recorded_s + 2.0) * FPS, (packets, recorded_s)

    assert new.status == "complete"
    assert new.end is not None
    assert (new.sha256, new.bytes) == sha256_file(config.storage.root / new.path)
    # The downtime is one closed gap, from the end of the recovered footage to the first
    # footage after the restart: exactly between the two segments.
    closed = [g for g in gap_rows if g.end is not None]
    assert len(closed) == 1, [(g.start, g.end, g.reason) for g in gap_rows]
    gap = closed[0]
    assert gap.end is not None
    assert gap.start == old.end
    assert abs(seconds(gap.end, new.start)) <= 0.001
    assert gap.end > restarted  # footage resumes only after the restart
    assert "crashed" in gap.reason
    # Stopping with SIGTERM leaves the one open gap of a stopped recorder.
    assert [(g.start, g.end) for g in gap_rows if g is not gap] == [(new.end, None)]
    assert all(g.kind == "video" for g in gap_rows)  # the tone never stopped
