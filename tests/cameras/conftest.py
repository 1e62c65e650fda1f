"""Fixtures of the end-to-end camera recording tests: real footage, a real RTSP camera.

PostgreSQL (``postgres_cluster``, ``postgres_url``) comes from tests/support/pg_plugin.py,
which the root conftest registers; the footage from ../shared/data (missing: the test fails).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from tests.cameras.helpers import annexb_nal_units
from tests.conftest import shared_file
from tests.support.rtsp import RtspServer, prepare_h264

CLIP = "footage/one-by-one-person-detection.mp4"  # 768x432, 10 fps, real indoor footage
HOSTILE = "hostile/crashes-opencv-48x48.avi"


@dataclass(frozen=True)
class H264Clip:
    """The raw H.264 (Annex-B) elementary stream the RTSP camera serves in a loop."""

    path: Path
    fps: float
    gop: int
    access_units: list[list[bytes]]  # NAL units of each access unit (= packet), in order
    keyframes: list[bool]


@pytest.fixture(scope="session")
def h264_clip(tmp_path_factory: pytest.TempPathFactory) -> H264Clip:
    """20 s of the real clip, re-encoded like a camera's stream (GOP 10 = 1 s, no B-frames)."""
    path, fps = prepare_h264(shared_file(CLIP), tmp_path_factory.mktemp("h264"), max_seconds=20)
    data = path.read_bytes()
    with av.open(str(path), format="h264") as container:
        packets = [(bytes(p), p.is_keyframe) for p in container.demux(video=0) if p.size]
    # The demuxer's access units are an exact partition of the file: nothing added or lost.
    assert b"".join(p for p, _ in packets) == data
    keyframes = [k for _, k in packets]
    gop = keyframes.index(True, 1)
    assert gop == round(fps)
    return H264Clip(path, fps, gop, [annexb_nal_units(p) for p, _ in packets], keyframes)


@pytest.fixture(scope="session")
def hostile_avi() -> Path:
    return shared_file(HOSTILE)


@pytest.fixture
def rtsp_camera(h264_clip: H264Clip) -> Iterator[RtspServer]:
    """A real RTSP server (GStreamer) serving the clip in an endless loop at /cam1."""
    with RtspServer({"/cam1": (h264_clip.path, h264_clip.fps)}) as server:
        yield server
