"""Segment files for every stream set cameras send: bit-exact packets, and kill -9 safe.

For each set of codecs (H.264 / H.265 video with AAC, Opus, G.711 A-law / µ-law, G.726 or no
audio) a real encoder makes 4 s of video from the real footage with sound; a SegmentWriter in
a child process writes the packets and is killed with SIGKILL mid-segment. What it left on
disk must play (both streams decode) and hold a prefix of each stream's packets, byte for
byte, losing at most the fragment (one GOP) in progress. The container is FFmpeg's choice per
stream set (vms.cameras.recorder.container_for): MP4 where it can, MOV for G.711, NUT for
G.726.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import shared_file
from vms.cameras.bitstream import nal_units
from vms.cameras.opened import StreamInfo
from vms.cameras.recorder import SegmentWriter, container_for, probe_segment
from vms.cameras.synthetic import tone

CLIP = "footage/one-by-one-person-detection.mp4"
FPS, GOP, SECONDS = 10, 10, 4
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)

SETS = {
    "h264+aac": ("libx264", "aac", 16000, "mp4"),
    "h264+opus": ("libx264", "libopus", 48000, "mp4"),
    "hevc+aac": ("libx265", "aac", 16000, "mp4"),
    "h264+pcm_alaw": ("libx264", "pcm_alaw", 8000, "mov"),
    "hevc+pcm_mulaw": ("libx265", "pcm_mulaw", 8000, "mov"),
    "h264+g726": ("libx264", "adpcm_g726", 8000, "nut"),
    "h264": ("libx264", None, 0, "mp4"),
}


def make_source(vcodec: str, acodec: str | None, rate: int) -> bytes:
    """An in-memory file of real footage and a tone, as a camera sends them: NUT (it takes
    every codec), AVI for G.726 (NUT drops its channel count and code size)."""
    buf = io.BytesIO()
    fmt = "avi" if acodec == "adpcm_g726" else "nut"
    with av.open(shared_file(CLIP)) as inp, av.open(buf, "w", format=fmt) as out:
        vs = out.add_stream(vcodec, rate=FPS)
        vs.width, vs.height, vs.pix_fmt = 320, 180, "yuv420p"
        vs.codec_context.gop_size = GOP
        vs.options = (
            {"x265-params": f"bframes=0:keyint={GOP}:min-keyint={GOP}:log-level=error"}
            if vcodec == "libx265"
            else {"bf": "0", "sc_threshold": "0"}
        )
        a = None
        if acodec is not None:
            a = out.add_stream(acodec, rate=rate)
            a.layout = "mono"
            if acodec == "adpcm_g726":
                a.bit_rate = 32000
        samples = 0
        for i, frame in enumerate(inp.decode(video=0)):
            if i >= FPS * SECONDS:
                break
            small = frame.reformat(width=320, height=180, format="yuv420p")
            small.pts, small.time_base = i, Fraction(1, FPS)
            out.mux(vs.encode(small))
            if a is not None:
                size = a.codec_context.frame_size or rate // 50
                while samples < (i + 1) * rate // FPS:
                    pcm = tone(samples, size, rate)
                    fmt = a.codec_context.format.name
                    data = pcm if fmt.startswith("s16") else (pcm / 32768).astype(np.float32)
                    af = av.AudioFrame.from_ndarray(
                        data, format="s16" if fmt.startswith("s16") else "flt", layout="mono"
                    )
                    af.sample_rate, af.pts = rate, samples
                    out.mux(a.encode(af))
                    samples += size
        out.mux(vs.encode(None))
        if a is not None:
            out.mux(a.encode(None))
    return buf.getvalue()


def payload(stream: int, data: bytes) -> bytes | tuple[bytes, ...]:
    """Audio: the packet's bytes. Video: its NAL units, whatever their framing (the camera's
    start codes become MP4 length prefixes; the units themselves must not change)."""
    if stream:
        return data
    units = nal_units(data, data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")))
    assert units is not None
    return tuple(units)


def sent_packets(source: bytes) -> list[tuple[int, bytes | tuple[bytes, ...]]]:
    """(stream, payload) of every packet, in the order the writer gets them."""
    with av.open(io.BytesIO(source)) as c:
        return [
            (p.stream_index, payload(p.stream_index, bytes(p)))
            for p in c.demux()
            if p.size and p.dts is not None
        ]


Payload = bytes | tuple[bytes, ...]


def per_stream(packets: list[tuple[int, Payload]], streams: int) -> list[list[Payload]]:
    out: list[list[Payload]] = [[] for _ in range(streams)]
    for i, data in packets:
        out[i].append(data)
    return out


def record(source: bytes, path: Path, kill_after: int | None) -> None:
    """Write ``source``'s packets into a segment; SIGKILL this process after ``kill_after``."""
    with av.open(io.BytesIO(source)) as c:
        video, *audio = c.streams
        info = StreamInfo(video.codec_context.name, 320, 180, FPS, Fraction(video.time_base or 1))
        tracks = [
            (a, StreamInfo(a.codec_context.name, None, None, None, Fraction(a.time_base or 1)))
            for a in audio
        ]
        writer: SegmentWriter | None = None
        n = 0
        for p in c.demux():
            if not p.size or p.dts is None:
                continue
            if writer is None:
                writer = SegmentWriter(
                    path.parent, Path(path.name), video, info, T0, p.dts, audio=tracks
                )
            writer.write(p, p.stream_index)
            n += 1
            if n == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
        assert writer is not None
        writer.close()


def read_back(path: Path) -> tuple[list[list[Payload]], list[int | None]]:
    """Every packet of every stream, and the frames each stream decodes to (errors raise).

    G.726: None. Its decoder needs the code size, which no container PyAV can write keeps
    (the index does: segment_streams.bit_rate; docs/recording.md).
    """
    with av.open(str(path)) as c:
        packets: list[list[Payload]] = [[] for _ in c.streams]
        frames: list[int | None] = [
            None if s.codec_context.name == "g726" else 0 for s in c.streams
        ]
        for p in c.demux():
            i = p.stream.index  # the flush packets at the end have no stream_index
            if p.size:
                packets[i].append(payload(i, bytes(p)))
            n = frames[i]
            if n is not None:
                frames[i] = n + len(p.decode())
    return packets, frames


@pytest.fixture(params=SETS.values(), ids=SETS.keys())
def stream_set(request: pytest.FixtureRequest) -> tuple[bytes, str]:
    vcodec, acodec, rate, fmt = request.param
    return make_source(vcodec, acodec, rate), fmt


def test_container_keeps_every_packet_and_survives_kill_9(
    stream_set: tuple[bytes, str], tmp_path: Path
) -> None:
    source, expected_format = stream_set
    with av.open(io.BytesIO(source)) as c:
        chosen = container_for(list(c.streams))
        n_streams = len(c.streams)
    assert chosen == expected_format
    suffix = {"mp4": ".mp4", "mov": ".mov", "nut": ".nut"}[chosen]
    order = sent_packets(source)
    sent = per_stream(order, n_streams)

    # A clean close keeps every packet of every stream, byte for byte, and all of it plays.
    whole = tmp_path / f"whole{suffix}"
    record(source, whole, None)
    got, frames = read_back(whole)
    assert got == sent
    assert all(n is None or n > 0 for n in frames), frames

    # kill -9 mid-segment (mid-GOP): what is on disk plays and is a prefix of what was sent.
    kill_after = len(order) * 2 // 3 + 3
    cut = tmp_path / f"cut{suffix}"
    proc = multiprocessing.get_context("spawn").Process(
        target=record, args=(source, cut, kill_after)
    )
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL
    got, frames = read_back(cut)
    assert len(got) == n_streams
    for track, packets in enumerate(got):
        assert packets, f"stream {track}: nothing survived"
        assert packets == sent[track][: len(packets)], f"stream {track} differs"
    assert frames[0] == len(got[0])  # every surviving picture decodes
    assert all(n is None or n > 0 for n in frames[1:]), frames  # and the sound plays
    # At most the GOP being written is lost: fragments are flushed at every keyframe.
    video_sent = sum(1 for i, _ in order[:kill_after] if i == 0)
    assert len(got[0]) >= video_sent - GOP
    probe = probe_segment(cut)
    assert probe.playable
    assert [s.packets for s in probe.streams] == [len(p) for p in got]
