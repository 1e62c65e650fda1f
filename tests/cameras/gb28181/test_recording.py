"""GB/T 28181 channels recorded end to end: a device simulator sends the real clip as PS over
RTP; the channel records, is analysed and plays live exactly like an RTSP camera."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cameras.conftest import H264Clip
from tests.cameras.gb28181.conftest import (
    CHANNELS,
    ShiftedClock,
    media,
    running_platform,
    simulator,
    workers,
)
from tests.cameras.helpers import (
    camera,
    describe,
    events,
    gaps,
    make_config,
    open_database,
    read_segment,
    segment_streams,
    segments,
    units_digest,
)
from tests.support.gb28181 import DeviceSimulator
from tests.support.gb28181_device import alaw_tone
from tests.support.waiting import wait_for
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
        "stall_timeout_s": 30,  # a stall of a loaded machine is not the device going away
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


def indexed_packets(db: Database, cam_id: str) -> tuple[int, int]:
    """(video packets, all packets) the index says the camera's segment files hold."""
    rows = segments(db, cam_id)
    video = sum(
        st.packets or 0 for row in rows for st in segment_streams(db, row.id) if st.kind == "video"
    )
    return video, sum(row.packets or 0 for row in rows)


def holes(indices: list[int], n: int) -> list[int]:
    """Positions where the recording skips source access units (after a loss)."""
    return [k for k in range(1, len(indices)) if indices[k] != (indices[k - 1] + 1) % n]


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
        video, written = indexed_packets(db, "lossy")
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
    assert len(indices) == video
    assert written == h.packets_written


def test_missed_keepalives_give_a_gap_and_the_channel_reconnects(
    h264_clip: H264Clip, tmp_path: Path
) -> None:
    # Its own platform, on a clock the test moves on: while keepalives come, no stall of a
    # loaded machine makes the device miss 3 (3 minutes); once they stop, each poll below
    # moves the platform's clock one keepalive period on, so 3 periods pass without one
    # (counting from the last keepalive that was still on its way when they were stopped).
    clock = ShiftedClock()
    device = "34020000001320000003"
    config, db = _setup(tmp_path, [_cam("quiet", device, CHANNELS[0])])

    def silent_period_passes() -> bool:
        clock.advance(platform.config.keepalive_interval_s)
        return not platform.device_ids()[device]

    try:
        with (
            running_platform(tmp_path / "gb", clock=clock) as platform,
            simulator(platform, h264_clip, device, channels=CHANNELS[:1]) as dev,
        ):
            dev.wait_for("registered")
            with workers(config.cameras, tmp_path, db, platform) as [w]:
                wait_for("a closed segment", lambda: w.worker.health().segments_closed >= 1, 60)
                dev.command("keepalive", on=False)
                wait_for("offline", silent_period_passes, 30)
                wait_for("the outage", lambda: not w.worker.health().connected, 30)
                wait_for(  # the worker retries and is refused while the device is offline
                    "a refused retry",
                    lambda: "is offline" in (w.worker.health().last_error or ""),
                    30,
                )
                before = w.worker.health()
                dev.command("keepalive", on=True)
                wait_for(
                    "recording again",
                    lambda: w.worker.health().segments_closed > before.segments_closed,
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


TRANSPORTS = ("udp", "tcp-passive", "tcp-active")


def test_twenty_channels_record_the_ps_video_bit_for_bit_at_once(
    platform: Gb28181Platform, nvr: DeviceSimulator, h264_clip: H264Clip, tmp_path: Path
) -> None:
    """The 20 channels of one NVR at once, over RTP on UDP, TCP passive and TCP active in
    turn: each records every video packet of its PS stream, bit for bit, in order."""
    cams = [_cam(f"ch{n:02d}", NVR, ch, TRANSPORTS[n % 3]) for n, ch in enumerate(CHANNELS)]
    config, db = _setup(tmp_path, cams)
    try:
        with workers(config.cameras, tmp_path, db, platform) as running:
            wait_for(
                "3 closed segments on every channel",
                lambda: all(r.worker.health().segments_closed >= 3 for r in running),
                120,
            )
            for r in running:
                r.stop()
        recorded = [
            (
                r.worker.camera,
                r.worker.health(),
                recorded_indices(tmp_path, db, r.worker.camera.id, h264_clip),
                indexed_packets(db, r.worker.camera.id),
            )
            for r in running
        ]
    finally:
        db.dispose()
    assert {cam.source.rsplit("=", 1)[1] for cam, *_ in recorded} == set(TRANSPORTS)
    for cam, h, indices, (video, written) in recorded:
        where = cam.source
        assert (h.reconnects, h.last_error, h.rtp_lost, h.ps_frames_dropped) == (0, None, 0, 0), (
            where
        )
        assert h.rtp_packets > h.packets_written, where
        assert h264_clip.keyframes[indices[0]], f"{where}: the recording starts at a keyframe"
        assert holes(indices, len(h264_clip.access_units)) == [], f"{where}: every packet, in order"
        # Every packet written is in the files (the index counts them per stream: with sound,
        # packets_written counts the audio packets too).
        assert len(indices) == video >= 3 * 2 * h264_clip.fps - 1, where
        assert written == h.packets_written, where
        assert (h.codec, h.width, h.height) == ("h264", 768, 432), where


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
