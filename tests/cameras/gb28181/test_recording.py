"""GB/T 28181 channels recorded end to end: a device simulator sends the real clip as PS over
RTP; the channel records, is analysed and plays live exactly like an RTSP camera."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cameras.conftest import H264Clip
from tests.cameras.gb28181.conftest import CHANNELS, media, simulator, workers
from tests.cameras.helpers import (
    camera,
    describe,
    events,
    gaps,
    make_config,
    open_database,
    read_segment,
    segments,
    units_digest,
    wait_for,
)
from tests.support.gb28181 import DeviceSimulator
from tests.support.gb28181_device import alaw_tone
from vms.cameras.gb28181.platform import Gb28181Platform
from vms.cameras.gb28181.source import open_gb28181
from vms.cameras.live import LiveChannel, LiveHeader, LivePacket
from vms.db.session import Database

pytestmark = pytest.mark.slow

NVR = "34020000001320000001"


def _cam(cam_id: str, device: str, channel: str, transport: str = "udp", **options: Any) -> Any:
    opts = {
        "segment_seconds": 2,
        "analysis_fps": 0,
        "stall_timeout_s": 5,
        "reconnect": {"initial_s": 0.5, "max_s": 1.0},
        **options,
    }
    return camera(cam_id, f"gb28181://{device}/{channel}?transport={transport}", **opts)


def _setup(root: Path, cams: list[dict[str, Any]]) -> tuple[Any, Database]:
    config = make_config(root, cams)
    return config, open_database(config.database_url, config)


def recorded_indices(root: Path, db: Database, cam_id: str, clip: H264Clip) -> list[int]:
    """The source access unit of every recorded packet, in order (fails on a foreign one)."""
    index = {units_digest(au): i for i, au in enumerate(clip.access_units)}
    assert len(index) == len(clip.access_units), "clip access units must be distinct"
    out = []
    for row in segments(db, cam_id):
        assert row.status == "complete", row.path
        seg = read_segment(root / row.path)
        for n, packet in enumerate(seg.packets):
            digest = units_digest(packet.units)
            if digest not in index:
                pytest.fail(f"{row.path} packet {n} is not a source AU: {describe(packet.units)}")
            i = index[digest]
            assert packet.keyframe == clip.keyframes[i], (row.path, n)
            out.append(i)
    return out


def holes(indices: list[int], n: int) -> list[int]:
    """Positions where the recording skips source access units (after a loss)."""
    return [k for k in range(1, len(indices)) if indices[k] != (indices[k - 1] + 1) % n]


@pytest.mark.parametrize(("transport", "ch"), [("udp", 0), ("tcp-passive", 1), ("tcp-active", 2)])
def test_a_channel_records_the_ps_video_bit_for_bit(
    platform: Gb28181Platform,
    nvr: DeviceSimulator,
    h264_clip: H264Clip,
    tmp_path: Path,
    transport: str,
    ch: int,
) -> None:
    config, db = _setup(tmp_path, [_cam("gb1", NVR, CHANNELS[ch], transport)])
    try:
        with workers(config.cameras, tmp_path, db, platform) as [w]:
            wait_for("3 closed segments", lambda: w.worker.health().segments_closed >= 3, 60)
            w.stop()
        h = w.worker.health()
        indices = recorded_indices(tmp_path, db, "gb1", h264_clip)
    finally:
        db.dispose()
    assert (h.reconnects, h.last_error, h.rtp_lost, h.ps_frames_dropped) == (0, None, 0, 0)
    assert h.rtp_packets > h.packets_written
    assert h264_clip.keyframes[indices[0]], "the recording starts at a keyframe"
    assert holes(indices, len(h264_clip.access_units)) == [], "every packet, in order"
    assert len(indices) == h.packets_written >= 3 * 2 * h264_clip.fps - 1
    assert h.codec == "h264"
    assert (h.width, h.height) == (768, 432)


def test_audio_is_demuxed_from_the_ps_stream(
    platform: Gb28181Platform, nvr: DeviceSimulator, h264_clip: H264Clip
) -> None:
    source = open_gb28181(f"gb28181://{NVR}/{CHANNELS[3]}", media(platform), stall_timeout_s=5)
    try:
        [audio] = source.container.streams.audio
        assert audio.codec_context.name == "pcm_alaw"
        tone = alaw_tone(1 / h264_clip.fps)
        got = {"audio": 0, "video": 0}
        for packet in source.container.demux():
            if packet.size == 0:
                continue
            got[packet.stream.type] += 1
            if packet.stream.type == "audio":
                assert bytes(packet) == tone  # G.711 payload as the device sent it
            if got["audio"] >= 10 and got["video"] >= 10:
                break
    finally:
        source.close()


def test_rtp_loss_is_counted_and_recording_resumes_at_the_next_keyframe(
    platform: Gb28181Platform, h264_clip: H264Clip, tmp_path: Path
) -> None:
    device = "34020000001320000002"
    config, db = _setup(tmp_path, [_cam("lossy", device, CHANNELS[0], segment_seconds=3)])
    try:
        with simulator(platform, h264_clip, device, channels=CHANNELS[:1], loss=0.02) as dev:
            dev.wait_for("registered")
            with workers(config.cameras, tmp_path, db, platform) as [w]:
                wait_for("4 closed segments", lambda: w.worker.health().segments_closed >= 4, 90)
                w.stop()
            dropped = dev.command("dropped")["dropped"][CHANNELS[0]]
        h = w.worker.health()
        indices = recorded_indices(tmp_path, db, "lossy", h264_clip)
    finally:
        db.dispose()
    assert h.reconnects == 0, "a loss is not an outage"
    assert 0 < h.rtp_lost <= len(dropped)
    assert h.rtp_lost >= len(dropped) - 5  # the last few drops may not be detected yet
    assert h.ps_frames_dropped > 0
    skips = holes(indices, len(h264_clip.access_units))
    assert skips, "2 % loss must have cost some frames"
    for k in skips:  # after each loss, recording resumes exactly at a keyframe
        assert h264_clip.keyframes[indices[k]], f"recorded packet {k} after a hole"
    assert len(indices) == h.packets_written


def test_missed_keepalives_give_a_gap_and_the_channel_reconnects(
    platform: Gb28181Platform, h264_clip: H264Clip, tmp_path: Path
) -> None:
    device = "34020000001320000003"
    config, db = _setup(tmp_path, [_cam("quiet", device, CHANNELS[0])])
    try:
        with simulator(platform, h264_clip, device, channels=CHANNELS[:1], keepalive_s=0.3) as dev:
            dev.wait_for("registered")
            with workers(config.cameras, tmp_path, db, platform) as [w]:
                wait_for("a closed segment", lambda: w.worker.health().segments_closed >= 1, 60)
                dev.command("keepalive", on=False)
                wait_for("offline", lambda: not platform.device_ids()[device], 30)
                wait_for("the outage", lambda: not w.worker.health().connected, 30)
                before = w.worker.health()
                time.sleep(2)  # the worker retries and is refused while the device is offline
                dev.command("keepalive", on=True)
                wait_for(
                    "recording again",
                    lambda: w.worker.health().segments_closed >= before.segments_closed + 2,
                    60,
                )
                w.stop()
        gap_rows, event_rows = gaps(db, "quiet"), events(db, "quiet")
        h = w.worker.health()
    finally:
        db.dispose()
    assert h.reconnects >= 1
    closed = [g for g in gap_rows if g.end is not None]
    assert len(closed) == 1, [(g.reason, g.end) for g in gap_rows]
    assert "missed 3 keepalives" in closed[0].reason
    offline = [e for e in event_rows if e.type == "camera_offline"]
    assert len(offline) == 1
    assert offline[0].end == closed[0].end


def test_twenty_channels_record_at_once(
    platform: Gb28181Platform, nvr: DeviceSimulator, h264_clip: H264Clip, tmp_path: Path
) -> None:
    cams = [_cam(f"ch{n:02d}", NVR, ch) for n, ch in enumerate(CHANNELS)]
    config, db = _setup(tmp_path, cams)
    try:
        with workers(config.cameras, tmp_path, db, platform) as running:
            wait_for(
                "every channel recording",
                lambda: all(r.worker.health().segments_closed >= 1 for r in running),
                120,
            )
            for r in running:
                r.stop()
        for r in running:
            indices = recorded_indices(tmp_path, db, r.worker.camera.id, h264_clip)
            assert len(indices) >= 2 * h264_clip.fps - 1
    finally:
        db.dispose()


def test_a_channel_is_analysed_and_plays_live(
    platform: Gb28181Platform, nvr: DeviceSimulator, tmp_path: Path
) -> None:
    config, db = _setup(tmp_path, [_cam("live1", NVR, CHANNELS[4], analysis_fps=2)])
    channel = LiveChannel(mp.get_context("spawn"))
    try:
        with workers(config.cameras, tmp_path, db, platform, live={"live1": channel.tap()}) as [w]:
            frames = [w.worker.frames.get(timeout=30) for _ in range(3)]  # as analysis takes them
            channel.watch(True)
            items: list[Any] = []
            deadline = time.monotonic() + 30
            while len(items) < 12 and time.monotonic() < deadline:
                item = channel.read(timeout=1)
                if item is not None:
                    items.append(item)
            channel.watch(False)
            w.stop()
    finally:
        channel.close()
        db.dispose()
    assert all(f is not None and f.image.shape == (432, 768, 3) for f in frames)
    assert w.worker.health().analysis_frames >= 3
    header, first, *rest = items
    assert isinstance(header, LiveHeader)
    assert header.codec == "h264"
    assert isinstance(first, LivePacket)
    assert first.keyframe
    assert len(rest) >= 10
