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
from tests.support.rtsp import RtspServer, prepare_h264, prepare_speech, prepare_video

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


#: The audio-video clips loop every 16 s: 160 frames at 10 fps, 250 AAC frames at 16 kHz,
#: 800 G.711 packets of 20 ms. Equal lengths keep sound and picture in step over the loop.
LOOP_S = 16


@dataclass(frozen=True)
class VideoClip:
    """A raw H.264 / H.265 stream as the camera serves it, split into access units."""

    codec: str  # h264 or hevc
    path: Path
    fps: float
    gop: int
    access_units: list[list[bytes]]  # NAL units of each access unit, in order
    keyframes: list[bool]


@dataclass(frozen=True)
class AudioClip:
    """Real speech as the camera serves it, as the frames it sends (one RTP access unit each)."""

    codec: str  # aac, pcma, pcmu (the server's names)
    path: Path
    rate: int
    samples: int  # per frame
    frames: list[bytes]


def _video_clip(codec: str, tmp: Path) -> VideoClip:
    path, fps = prepare_video(shared_file(CLIP), tmp, codec=codec, max_seconds=LOOP_S, gop=10)
    data = path.read_bytes()
    fmt = "h264" if codec == "h264" else "hevc"
    with av.open(str(path), format=fmt) as container:
        packets = [(bytes(p), p.is_keyframe) for p in container.demux(video=0) if p.size]
    assert b"".join(p for p, _ in packets) == data  # an exact partition of the file
    assert len(packets) == LOOP_S * fps
    keyframes = [k for _, k in packets]
    units = [annexb_nal_units(p) for p, _ in packets]
    return VideoClip(fmt, path, fps, keyframes.index(True, 1), units, keyframes)


@pytest.fixture(scope="session")
def av_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, VideoClip | AudioClip]:
    """16 s of the real footage as H.264 and H.265, and real speech as AAC, A-law, µ-law."""
    tmp = tmp_path_factory.mktemp("av")
    clips: dict[str, VideoClip | AudioClip] = {
        "h264": _video_clip("h264", tmp),
        "h265": _video_clip("h265", tmp),
    }
    for codec in ("aac", "pcma", "pcmu"):
        path = prepare_speech(tmp, codec, seconds=LOOP_S)
        data = path.read_bytes()
        if codec == "aac":
            frames, i = [], 0
            while i < len(data):  # ADTS: the RTP payload is the frame without its header
                length = ((data[i + 3] & 0x03) << 11) | (data[i + 4] << 3) | (data[i + 5] >> 5)
                frames.append(data[i + (7 if data[i + 1] & 0x01 else 9) : i + length])
                i += length
            clip = AudioClip(codec, path, 16000, 1024, frames)
        else:
            clip = AudioClip(
                codec, path, 8000, 160, [data[i : i + 160] for i in range(0, len(data), 160)]
            )
        assert len(clip.frames) * clip.samples == LOOP_S * clip.rate
        assert len(set(clip.frames)) == len(clip.frames), f"{codec} frames must be distinct"
        clips[codec] = clip
    return clips


@pytest.fixture(scope="session")
def hostile_avi() -> Path:
    return shared_file(HOSTILE)


@pytest.fixture
def rtsp_camera(h264_clip: H264Clip) -> Iterator[RtspServer]:
    """A real RTSP server (GStreamer) serving the clip in an endless loop at /cam1."""
    with RtspServer({"/cam1": (h264_clip.path, h264_clip.fps)}) as server:
        yield server
