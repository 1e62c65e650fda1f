"""What the recorder does with the first packets of a connection, tested directly.

Decided (docs/recording.md): nothing before the connection's first *whole* keyframe is
recorded, and every packet from it on is. A first access unit without a timestamp (FFmpeg's
RTSP reader hands it out so) is kept and dated one frame before the next; a partial one (the
reader joined in the middle of it) is not a keyframe to start from, so recording starts at
the next keyframe. The camera here is the real clip's own access units, handed to a real
CameraWorker (real segment files, real SQLite index) through its source seam, in the order
and with the damage a reconnect can bring; no timing is involved.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from tests.cameras.conftest import CLIP, H264Clip
from tests.cameras.helpers import camera, make_config, open_database, read_segment, segments
from tests.conftest import shared_file
from tests.support.rtsp import prepare_video
from tests.support.waiting import wait_for
from vms.cameras.decoder import AnalysisDecoder
from vms.cameras.frames import LatestFrameBuffer
from vms.cameras.health import CameraState
from vms.cameras.index import RecordingIndex
from vms.cameras.opened import OpenedSource
from vms.cameras.worker import CameraWorker
from vms.errors import SourceEndedError, SourceOpenError

CAM = "cam1"


class ReplayedCamera(OpenedSource):
    """The clip's file as the stream template, and chosen access units as the packets."""

    def __init__(self, clip: H264Clip, packets: list[av.Packet[Any]]) -> None:
        super().__init__(
            av.open(str(clip.path), format="h264"), "replay", is_file=False, native_speed=False
        )
        self._replay = packets

    def demux(self) -> Iterator[av.Packet[Any]]:
        yield from self._replay
        raise SourceEndedError("replay: end of stream")


def packets(
    clip: H264Clip, tb: Fraction, first: int, count: int, *, head: bytes | None
) -> list[av.Packet[Any]]:
    """Access units ``first`` .. ``first + count - 1``; ``head`` replaces the first one's
    payload and it comes without a timestamp, as the first of an RTSP connection does."""
    step = round(1 / (clip.fps * tb))
    out = []
    for n, i in enumerate(range(first, first + count)):
        data = b"".join(b"\x00\x00\x00\x01" + u for u in clip.access_units[i])
        p = av.Packet(head if n == 0 and head is not None else data)
        p.time_base = tb
        p.is_keyframe = clip.keyframes[i]
        if n or head is None:
            p.dts = p.pts = i * step
        out.append(p)
    return out


def tail_of(clip: H264Clip, i: int, cut: int) -> bytes:
    """Access unit ``i`` without its first ``cut`` bytes: it starts inside a NAL unit."""
    return b"".join(b"\x00\x00\x00\x01" + u for u in clip.access_units[i])[cut:]


CASES = {
    # name: (first access unit, how the first one arrives, first recorded, skipped)
    "the first keyframe without a timestamp is kept": (0, "whole", 0, 0),
    "a partial first keyframe is not recorded, nor its GOP": (0, "torn", 10, 10),
    "a first keyframe missing its first slice is not recorded": (0, "no first slice", 10, 10),
    "joined mid-GOP: recording starts at the next keyframe": (3, "timestamped", 10, 7),
}


@pytest.mark.parametrize(("first", "how", "recorded_from", "skipped"), CASES.values(), ids=CASES)
def test_first_packets_of_a_connection(
    h264_clip: H264Clip, tmp_path: Path, first: int, how: str, recorded_from: int, skipped: int
) -> None:
    count = 26 - first  # up to access unit 25: 1.6 s past the second keyframe
    config = make_config(tmp_path, [camera(CAM, "replay://", segment_seconds=60, analysis_fps=0)])
    db = open_database(config.database_url, config)
    index = RecordingIndex(db, tmp_path)
    opened: list[OpenedSource] = []

    def opener(url: str, **_options: Any) -> OpenedSource:
        if opened:  # one connection only: the worker stops when it tries the next
            worker.stop()
            raise SourceOpenError("replay: done")
        source = ReplayedCamera(h264_clip, [])
        tb = source.info.time_base
        head = {
            "whole": tail_of(h264_clip, first, 0),
            "torn": tail_of(h264_clip, first, 40),  # the reader joined inside the IDR slice
            # SPS, PPS and the IDR slice's first bytes lost: a later slice's fragment leads.
            "no first slice": b"\x00\x00\x00\x01\x65\x40" + tail_of(h264_clip, first, 60),
            "timestamped": None,
        }[how]
        source._replay = packets(h264_clip, tb, first, count, head=head)
        opened.append(source)
        return source

    worker = CameraWorker(config.cameras[0], tmp_path, index, opener=opener)
    try:
        worker.run()
        index.flush()
        h = worker.health()
        [row] = segments(db, CAM)
    finally:
        index.close()
        db.dispose()

    assert (h.packets_in, h.packets_skipped) == (count, skipped)
    assert h.packets_written == count - skipped  # every packet from the keyframe on
    recorded = read_segment(tmp_path / row.path).packets
    assert row.packets == len(recorded) == count - skipped
    assert recorded[0].keyframe
    source_aus = h264_clip.access_units[recorded_from : first + count]
    assert [p.units for p in recorded] == source_aus  # bit for bit, from the keyframe on


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_the_analysis_decoder_decodes_h264_and_h265(tmp_path: Path, codec: str) -> None:
    """Street cameras mostly send H.265: analysis gets its frames as it does from H.264."""
    path, fps = prepare_video(shared_file(CLIP), tmp_path, codec=codec, max_seconds=2)
    frames = LatestFrameBuffer(capacity=100)
    with av.open(str(path), format="h264" if codec == "h264" else "hevc") as c:
        stream = c.streams.video[0]
        tb = Fraction(1, 90000)
        decoder = AnalysisDecoder(
            "cam", stream.codec_context.name, stream.codec_context.extradata, tb, fps, frames
        )
        for n, p in enumerate(c.demux(stream)):
            if p.size:
                p.dts = p.pts = n * 9000
                decoder.offer(p, 1_700_000_000.0 + n / fps)
        decoder.close()
    got = [frames.get(timeout=0) for _ in range(len(frames))]
    assert len(got) >= 2 * fps - 2  # analysis rate = the stream's rate here
    first = got[0]
    assert first is not None
    assert first.image.shape == (432, 768, 3)
    assert first.time.timestamp() == pytest.approx(1_700_000_000.0)
    assert decoder.dropped == 0


def test_cameras_of_a_process_connect_a_few_at_a_time(tmp_path: Path) -> None:
    """Many cameras starting together take turns: the wait for a turn is not an open, so it
    cannot run into the stall timeout."""
    ids = [f"cam{i}" for i in range(6)]
    config = make_config(tmp_path, [camera(c, "replay://", analysis_fps=0) for c in ids])
    db = open_database(config.database_url, config)
    index = RecordingIndex(db, tmp_path)
    slots = threading.Semaphore(2)
    lock = threading.Lock()
    go = threading.Event()
    opening: list[str] = []
    opened: list[str] = []
    most = 0

    def opener_for(worker_of: dict[str, CameraWorker], cam: str) -> Any:
        def opener(url: str, **_options: Any) -> OpenedSource:
            nonlocal most
            with lock:
                opening.append(cam)
                most = max(most, len(opening))
            go.wait(60)
            with lock:
                opening.remove(cam)
                opened.append(cam)
            worker_of[cam].stop()  # one connection each
            raise SourceOpenError("replay: done")

        return opener

    workers: dict[str, CameraWorker] = {}
    for cam_config in config.cameras:
        workers[cam_config.id] = CameraWorker(
            cam_config,
            tmp_path,
            index,
            opener=opener_for(workers, cam_config.id),
            connect_slots=slots,
        )
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers.values()]
    try:
        for t in threads:
            t.start()
        wait_for("two cameras connecting", lambda: len(opening) == 2, 30)
        waiting = [w for w in workers.values() if w.camera.id not in opening]
        assert all(w.health().state is CameraState.STARTING for w in waiting)
        go.set()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
    finally:
        go.set()
        index.close()
        db.dispose()
    assert sorted(opened) == ids  # every camera had its turn
    assert most == 2  # never more than the slots at once


def test_a_camera_waiting_for_its_turn_stops_without_connecting(tmp_path: Path) -> None:
    config = make_config(tmp_path, [camera(CAM, "replay://", analysis_fps=0)])
    db = open_database(config.database_url, config)
    index = RecordingIndex(db, tmp_path)
    slots = threading.Semaphore(1)
    slots.acquire()  # another camera of the process is connecting and does not finish

    def opener(url: str, **_options: Any) -> OpenedSource:
        raise AssertionError("connected without a slot")

    worker = CameraWorker(config.cameras[0], tmp_path, index, opener=opener, connect_slots=slots)
    thread = threading.Thread(target=worker.run, daemon=True)
    try:
        thread.start()
        wait_for("the camera waiting", lambda: worker.health().state is CameraState.STARTING, 30)
        worker.stop()
        thread.join(60)
        assert not thread.is_alive()
    finally:
        index.close()
        db.dispose()
