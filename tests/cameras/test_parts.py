"""Small parts of the camera workers: backoff, frame buffer, sources, synthetic camera."""

from __future__ import annotations

import random
import socket
import threading
from datetime import UTC, datetime

import av
import numpy as np
import pytest

from vms.cameras.backoff import backoff_delay
from vms.cameras.frames import Frame, LatestFrameBuffer
from vms.cameras.health import RateMeter
from vms.cameras.opened import redact
from vms.cameras.sources import open_source, source_kind
from vms.cameras.synthetic import SyntheticSpec, draw_frame, read_timecode
from vms.config import ReconnectConfig
from vms.errors import SourceOpenError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (50, 30.0)]
)
def test_backoff_grows_exponentially_to_the_cap(attempt: int, expected: float) -> None:
    cfg = ReconnectConfig(initial_s=1, max_s=30, factor=2, jitter=0)
    assert backoff_delay(attempt, cfg) == expected


def test_backoff_jitter_stays_within_bounds_and_varies() -> None:
    cfg = ReconnectConfig(initial_s=10, max_s=10, jitter=0.2)
    rng = random.Random(7)
    delays = [backoff_delay(3, cfg, rng) for _ in range(200)]
    assert all(8.0 <= d <= 12.0 for d in delays)
    assert len({round(d, 3) for d in delays}) > 100  # cameras do not retry in lockstep


def _frame(i: int) -> Frame:
    return Frame("cam", NOW, i, np.zeros((2, 2, 3), np.uint8))


def test_latest_frame_buffer_drops_oldest_and_counts() -> None:
    buf = LatestFrameBuffer(capacity=2)
    for i in range(5):
        buf.put(_frame(i))
    assert buf.dropped == 3
    got = [buf.get(timeout=0), buf.get(timeout=0)]
    assert [f.index for f in got if f] == [3, 4]
    assert buf.get(timeout=0) is None
    assert buf.delivered == 2


def test_latest_frame_buffer_wakes_a_waiting_consumer() -> None:
    buf = LatestFrameBuffer()
    got: list[Frame | None] = []
    t = threading.Thread(target=lambda: got.append(buf.get(timeout=10)))
    t.start()
    buf.put(_frame(1))
    t.join(5)
    assert got
    assert got[0] is not None
    assert got[0].index == 1


def test_buffer_rejects_zero_capacity() -> None:
    with pytest.raises(ValueError, match="capacity must be >= 1, got 0"):
        LatestFrameBuffer(0)


def test_rate_meter() -> None:
    m = RateMeter(window_s=5)
    m.mark(0, 0, now=100.0)
    fps, bps = m.mark(50, 250_000, now=102.0)
    assert fps == 25.0
    assert bps == 1_000_000.0


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("rtsp://h/x", "rtsp"),
        ("RTSP://h/x", "rtsp"),
        ("https://h/x.m3u8", "http"),
        ("synthetic://a", "synthetic"),
        ("/srv/a.mp4", "file"),
        ("file:///srv/a.mp4", "file"),
        ("relative/a.mp4", "file"),
    ],
)
def test_source_kind(url: str, kind: str) -> None:
    assert source_kind(url) == kind


def test_unsupported_scheme_is_a_clear_error() -> None:
    with pytest.raises(SourceOpenError, match="unsupported source scheme 'ftp'"):
        source_kind("ftp://u:pw@h/x")


def test_redact_hides_passwords_only() -> None:
    assert redact("rtsp://admin:hunter2@10.0.0.1:554/s") == "rtsp://admin:***@10.0.0.1:554/s"
    assert redact("rtsp://10.0.0.1/s") == "rtsp://10.0.0.1/s"


def test_missing_file_source() -> None:
    with pytest.raises(SourceOpenError, match="no such file"):
        open_source("/nonexistent/cam.mp4")


def test_unreachable_rtsp_source_fails_fast() -> None:
    with pytest.raises(SourceOpenError, match="cannot open"):
        open_source("rtsp://127.0.0.1:9/none", stall_timeout_s=2)


@pytest.mark.parametrize(
    "url",
    ["synthetic://", "synthetic://a?size=641x360", "synthetic://a?fps=0", "synthetic://a?size=x"],
)
def test_bad_synthetic_urls(url: str) -> None:
    with pytest.raises(SourceOpenError):
        SyntheticSpec.parse(url)


def test_synthetic_frames_move_and_show_the_time() -> None:
    spec = SyntheticSpec.parse("synthetic://demo?size=320x180&fps=10")
    a, b = draw_frame(spec, 0, NOW), draw_frame(spec, 5, NOW)
    assert read_timecode(a) == NOW.replace(microsecond=NOW.microsecond // 1000 * 1000)
    assert read_timecode(np.zeros_like(a)) is None
    assert a.shape == (180, 320, 3)
    assert np.abs(a.astype(int) - b.astype(int)).sum() > 0  # the box moves


def test_synthetic_source_delivers_h264_with_keyframes() -> None:
    src = open_source("synthetic://t?size=320x240&fps=15&gop=5")
    decoded = []
    try:
        assert (src.info.codec, src.info.width, src.info.height) == ("h264", 320, 240)
        decoder = av.CodecContext.create("h264", "r")
        keys = []
        for n, pkt in enumerate(src.packets()):
            keys.append(pkt.is_keyframe)
            decoded += [f.to_ndarray(format="bgr24") for f in decoder.decode(pkt)]
            if n >= 11:
                break
    finally:
        src.close()
    # The burned-in clock, in machine form, survives the encoder: a time of just now.
    stamps = [read_timecode(img) for img in decoded]
    assert stamps
    assert all(abs((t - datetime.now(UTC)).total_seconds()) < 30 for t in stamps if t), stamps
    assert all(stamps)
    assert keys[0]
    assert keys[5]
    assert keys[10]
    assert not any(keys[1:5])


def test_rtsp_server_that_never_answers_is_a_stall_not_a_hang() -> None:
    """FFmpeg's socket timeout (not PyAV's callback) guards RTSP connections."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(SourceOpenError, match="cannot open"):
            open_source(f"rtsp://127.0.0.1:{port}/silent", stall_timeout_s=1)
