"""Checks of the real RTSP test server (tests/support/rtsp.py, rtsp_server.py) read with PyAV."""

from __future__ import annotations

import contextlib
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from tests.support.rtsp import RtspServer, prepare_h264

FOOTAGE = Path("/work/shared/data/footage/one-by-one-person-detection.mp4")
OPTIONS = {"rtsp_transport": "tcp"}

pytestmark = pytest.mark.slow


@dataclass
class Read:
    pts_seconds: list[float]  # packets without a pts (the very first one) are left out
    keyframes: int
    first_is_keyframe: bool
    first_keyframe: bytes
    wall_seconds: float  # from before av.open to the last packet


def read_stream(container: av.container.InputContainer, seconds: float, began: float) -> Read:
    """Demux packets until their pts span ``seconds``."""
    stream = container.streams.video[0]
    assert stream.time_base is not None
    pts: list[float] = []
    keyframes, first_is_keyframe, first_keyframe = 0, None, b""
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        if first_is_keyframe is None:
            first_is_keyframe = packet.is_keyframe
        if packet.is_keyframe:
            keyframes += 1
            first_keyframe = first_keyframe or bytes(packet)
        if packet.pts is not None:
            pts.append(float(packet.pts * stream.time_base))
            if pts[-1] - pts[0] >= seconds:
                break
    return Read(pts, keyframes, bool(first_is_keyframe), first_keyframe, time.monotonic() - began)


def open_and_read(url: str, seconds: float) -> Read:
    began = time.monotonic()
    with av.open(url, options=OPTIONS, timeout=(10, 10)) as container:
        return read_stream(container, seconds, began)


def assert_live(read: Read, seconds: float) -> None:
    assert read.keyframes >= 1
    assert read.pts_seconds[-1] - read.pts_seconds[0] >= seconds
    assert all(a < b for a, b in itertools.pairwise(read.pts_seconds)), read.pts_seconds
    # Paced at the native rate, not dumped as fast as possible (loose bounds).
    assert seconds * 2 / 3 <= read.wall_seconds <= seconds + 10


@pytest.fixture(scope="module")
def h264_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("h264")


def test_prepare_h264(h264_dir: Path) -> None:
    path, fps = prepare_h264(FOOTAGE, h264_dir, max_seconds=3)
    assert fps == 10.0
    assert path.read_bytes().startswith(b"\x00\x00\x00\x01")
    with av.open(str(path), format="h264") as container:
        packets = [p for p in container.demux(video=0) if p.size]
    assert len(packets) == 30
    assert [i for i, p in enumerate(packets) if p.is_keyframe] == [0, 10, 20]
    assert prepare_h264(FOOTAGE, h264_dir, max_seconds=3) == (path, fps)  # cached


def test_live_second_client_outage_and_restart(h264_dir: Path) -> None:
    path, fps = prepare_h264(FOOTAGE, h264_dir, max_seconds=20)
    with RtspServer({"/cam1": (path, fps)}) as server:
        url = server.url("/cam1")
        assert url == f"rtsp://127.0.0.1:{server.port}/cam1"
        began = time.monotonic()
        with av.open(url, options=OPTIONS, timeout=(10, 10)) as first:
            read = read_stream(first, 3, began)
            assert_live(read, 3)
            assert read.first_is_keyframe  # the first client starts the pipeline at an IDR

            # A second client joins the shared pipeline mid-stream: it does not see frame 0.
            second = open_and_read(url, 2)
            assert_live(second, 2)
            assert second.first_keyframe != read.first_keyframe
            assert read_stream(first, 1, time.monotonic()).pts_seconds  # first still served

            port = server.port
            server.stop()  # camera outage
            assert server.exit_code == 0
            with pytest.raises(av.error.FFmpegError):
                av.open(url, options=OPTIONS, timeout=(10, 10))
            ended, leftover = time.monotonic(), 0
            with contextlib.suppress(av.error.FFmpegError):  # ends (EOF) or fails
                for _ in first.demux(video=0):  # draining what was already buffered
                    leftover += 1
            assert time.monotonic() - ended < 10
            assert leftover < 10 * fps

        server.start()
        assert server.port == port
        assert_live(open_and_read(url, 2), 2)


def test_short_clip_loops_with_rising_pts(h264_dir: Path) -> None:
    path, fps = prepare_h264(FOOTAGE, h264_dir, max_seconds=3)
    with RtspServer({"/loop": (path, fps)}) as server:
        read = open_and_read(server.url("/loop"), 8)
    assert_live(read, 8)
    assert read.keyframes >= 8  # one per second, across three passes over the file
