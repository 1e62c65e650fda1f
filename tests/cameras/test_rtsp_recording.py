"""Real RTSP cameras with sound, recorded end to end: every packet bit for bit, in sync.

One GStreamer RTSP server serves the real footage with real speech (espeak-ng) as three
cameras: H.264 + AAC, H.264 + G.711 A-law (whose microphone drops out for 6 s at stream
second 40) and H.265 + G.711 µ-law. Each is recorded by one CameraWorker per index backend
(SQLite and PostgreSQL, six workers at once) for over two minutes of stream; the tests of
this module share that one recording.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import statistics
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import pytest
import yaml

from tests.cameras.conftest import LOOP_S, AudioClip, VideoClip
from tests.cameras.helpers import (
    camera,
    gaps,
    make_config,
    open_database,
    recording,
    seconds,
    segment_streams,
    segments,
)
from tests.support.postgres import PostgresCluster
from tests.support.rtsp import AudioTrack, Mount, RtspServer
from tests.support.waiting import wait_for
from vms.cameras.bitstream import starts_picture
from vms.cameras.health import CameraHealth
from vms.config import load_config
from vms.db.models import Gap, Segment, SegmentStream
from vms.recordings import audio_gaps_in_range, gaps_in_range
from vms.vocab import sha256_file

pytestmark = pytest.mark.slow

BACKENDS = ["sqlite", "postgresql"]
SEGMENT_SECONDS = 4
RECORD_S = 122  # of stream, per camera
PAUSE_AT, PAUSE_S = 40.0, 6.0  # the A-law camera's microphone is silent then
#: camera: (video clip, audio clip, audio pause, container suffix, codecs in the index)
CAMERAS = {
    "h264-aac": ("h264", "aac", None, ".mp4", ("h264", "aac")),
    "h264-pcma": ("h264", "pcma", (PAUSE_AT, PAUSE_S), ".mov", ("h264", "pcm_alaw")),
    "h265-pcmu": ("h265", "pcmu", None, ".mov", ("hevc", "pcm_mulaw")),
}
AUD = {"h264": lambda u: u[0] & 0x1F == 9, "hevc": lambda u: (u[0] >> 1) & 0x3F == 35}
NON_VCL = {
    "h264": lambda u: u[0] & 0x1F in (6, 7, 8, 9),
    "hevc": lambda u: (u[0] >> 1) & 0x3F >= 32,
}


@dataclass
class Recording:
    root: Path
    health: CameraHealth
    segments: list[Segment]
    gaps: list[Gap]
    streams: dict[int, list[SegmentStream]]
    audio_gaps: list[Gap]


@dataclass(frozen=True)
class Packet:
    at: float  # recorded wall time, seconds since the epoch
    keyframe: bool
    payload: bytes  # audio: the frame; video: the NAL units, length-framed (see digest)
    units: tuple[bytes, ...]  # video only


@pytest.fixture(scope="module")
def av_recordings(
    av_clips: dict[str, VideoClip | AudioClip],
    postgres_cluster: PostgresCluster,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[tuple[str, str], Recording]]:
    pg_name = f"t_cameras_av_{uuid.uuid4().hex[:12]}"
    roots = {b: tmp_path_factory.mktemp(f"av-{b}") for b in BACKENDS}
    urls = {
        "sqlite": f"sqlite:///{roots['sqlite'] / 'vms.db'}",
        "postgresql": postgres_cluster.create_database(pg_name),
    }
    mounts = {}
    for cam, (video, sound, pause, _suffix, _codecs) in CAMERAS.items():
        v, a = av_clips[video], av_clips[sound]
        assert isinstance(v, VideoClip)
        assert isinstance(a, AudioClip)
        mounts[f"/{cam}"] = Mount(v.path, v.fps, AudioTrack(sound, a.path, pause))
    dbs = {}
    try:
        with RtspServer(mounts) as server:
            cams = [camera(c, server.url(f"/{c}"), segment_seconds=SEGMENT_SECONDS,
                           analysis_fps=0) for c in CAMERAS]  # fmt: skip
            configs = {b: make_config(roots[b], cams) for b in BACKENDS}
            dbs = {b: open_database(urls[b], configs[b]) for b in BACKENDS}
            with contextlib.ExitStack() as stack:
                running = {
                    (b, cam.id): stack.enter_context(recording(cam, roots[b], dbs[b]))
                    for b in BACKENDS
                    for cam in configs[b].cameras
                }
                need = RECORD_S // SEGMENT_SECONDS
                wait_for(
                    f"{RECORD_S} s recorded by all {len(running)} workers",
                    lambda: all(
                        r.worker.health().segments_closed >= need for r in running.values()
                    ),
                    timeout=RECORD_S + 120,
                    poll=1.0,
                )
                for r in running.values():
                    r.stop()
                health = {k: r.worker.health() for k, r in running.items()}
        out = {}
        for (b, cam), h in health.items():
            rows = segments(dbs[b], cam)
            out[(b, cam)] = Recording(
                roots[b],
                h,
                rows,
                gaps(dbs[b], cam),
                {row.id: segment_streams(dbs[b], row.id) for row in rows},
                audio_gaps_in_range(dbs[b], cam, None, None),
            )
        yield out
    finally:
        for db in dbs.values():
            db.dispose()
        postgres_cluster.drop_database(pg_name)


def read_file(path: Path, start: float) -> tuple[list[Packet], list[Packet]]:
    """(video, audio) packets of a segment file, with their recorded wall times."""
    with av.open(str(path)) as c:
        vs, a_s = c.streams.video[0], c.streams.audio[0]
        ex = vs.codec_context.extradata
        assert ex, f"{path}: no avcC / hvcC"
        assert ex[0] == 1, f"{path}: no avcC / hvcC"
        length = (ex[4] & 3) + 1 if vs.codec_context.name == "h264" else (ex[21] & 3) + 1
        video, audio = [], []
        for p in c.demux(vs, a_s):
            if not p.size or p.pts is None:
                continue
            at = start + float(p.pts * Fraction(p.stream.time_base or 1))
            data = bytes(p)
            if p.stream is vs:
                units, i = [], 0
                while i < len(data):
                    n = int.from_bytes(data[i : i + length], "big")
                    units.append(data[i + length : i + length + n])
                    i += length + n
                video.append(Packet(at, p.is_keyframe, b"", tuple(units)))
            else:
                audio.append(Packet(at, True, data, ()))
    return video, audio


def digest(units: tuple[bytes, ...] | list[bytes]) -> bytes:
    h = hashlib.sha256()
    for u in units:
        h.update(len(u).to_bytes(4, "big") + u)
    return h.digest()


def recorded(rec: Recording) -> tuple[list[Packet], list[Packet]]:
    video: list[Packet] = []
    audio: list[Packet] = []
    for row in rec.segments:
        v, a = read_file(rec.root / row.path, row.start.timestamp())
        video += v
        audio += a
    return video, audio


def source_positions(
    rec: Recording, cam: str, clips: dict[str, VideoClip | AudioClip]
) -> tuple[list[tuple[float, int]], list[tuple[float, int]], list[int]]:
    """Each recorded packet's time and its unwrapped position in what the camera sent.

    Checks on the way that every packet is the camera's, bit for bit, and that nothing is
    missing: each video access unit follows the one before (modulo the loop), and so does
    each audio frame, except across the microphone's pause. Returns the audio jumps.
    """
    vname, aname, *_ = CAMERAS[cam]
    vclip, aclip = clips[vname], clips[aname]
    assert isinstance(vclip, VideoClip)
    assert isinstance(aclip, AudioClip)
    video, audio = recorded(rec)
    codec = vclip.codec
    where = {digest(au): i for i, au in enumerate(vclip.access_units)}
    n_v = len(vclip.access_units)
    vpos: list[tuple[float, int]] = []
    for k, p in enumerate(video):
        units = p.units
        if units and AUD[codec](units[0]):  # the server's parser puts an AUD before each AU
            units = units[1:]
        assert not any(AUD[codec](u) for u in units), (k, "a second AUD")
        i = where.get(digest(units))
        if i is None and k == 0:
            # The connection's first access unit (held by the timeline: it came without a
            # timestamp) may lack its in-band parameter sets, never a slice of the picture.
            i = (where[digest(strip_aud(video[1].units, codec))] - 1) % n_v
            src = vclip.access_units[i]
            lost = src[: len(src) - len(units)]
            assert src[len(lost) :] == list(units), "the first access unit is not the camera's"
            assert all(NON_VCL[codec](u) for u in lost), "the first picture is not whole"
        assert i is not None, f"recorded access unit {k} is not one the camera sent"
        assert p.keyframe == vclip.keyframes[i], k
        if vpos:
            assert i == (vpos[-1][1] + 1) % n_v, f"video access unit lost before #{k}"
            vpos.append((p.at, vpos[-1][1] + 1))
        else:
            assert p.keyframe, "the recording must start at a keyframe"
            data = b"".join(b"\x00\x00\x00\x01" + u for u in units)
            assert starts_picture(codec, data, True), "the first picture must be whole"
            vpos.append((p.at, i))
    frame_at = {f: j for j, f in enumerate(aclip.frames)}
    n_a = len(aclip.frames)
    apos: list[tuple[float, int]] = []
    jumps = []
    for k, p in enumerate(audio):
        j = frame_at.get(p.payload)
        assert j is not None, f"recorded audio frame {k} is not one the camera sent"
        if apos:
            step = (j - apos[-1][1]) % n_a
            if step != 1:
                jumps.append(step - 1)
            apos.append((p.at, apos[-1][1] + step))
        else:
            apos.append((p.at, j))
    return vpos, apos, jumps


def strip_aud(units: tuple[bytes, ...], codec: str) -> tuple[bytes, ...]:
    return units[1:] if units and AUD[codec](units[0]) else units


@pytest.mark.parametrize("cam", CAMERAS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_packet_is_the_cameras_and_sound_and_picture_stay_in_sync(
    av_recordings: dict[tuple[str, str], Recording],
    av_clips: dict[str, VideoClip | AudioClip],
    backend: str,
    cam: str,
) -> None:
    rec = av_recordings[(backend, cam)]
    vclip, aclip = av_clips[CAMERAS[cam][0]], av_clips[CAMERAS[cam][1]]
    assert isinstance(vclip, VideoClip)
    assert isinstance(aclip, AudioClip)
    vpos, apos, jumps = source_positions(rec, cam, av_clips)
    assert vpos[-1][1] - vpos[0][1] >= (RECORD_S - SEGMENT_SECONDS) * vclip.fps
    assert vpos[-1][1] - vpos[0][1] > len(vclip.access_units)  # over the loop's wrap, twice
    # The only audio missing is the microphone's pause, exactly, and only where it paused.
    pause = CAMERAS[cam][2]
    assert jumps == ([round(pause[1] * aclip.rate / aclip.samples)] if pause else [])

    # In sync: recorded time minus the time the camera sent it is the same for every video
    # and every audio packet (within 40 ms) over the whole two minutes. The camera stamps
    # access unit n at n / fps and audio frame k at k * samples / rate on one clock; the
    # positions are known modulo the 16 s loop, so the offset between them is taken so.
    v_off = [at - n / vclip.fps for at, n in vpos]
    base = statistics.median(v_off)
    assert max(abs(o - base) for o in v_off) < 0.001  # the picture keeps the camera's time
    drift = []
    for at, k in apos:
        d = (at - k * aclip.samples / aclip.rate - base) % LOOP_S
        drift.append(d - LOOP_S if d > LOOP_S / 2 else d)
    assert max(map(abs, drift)) < 0.040, (min(drift), max(drift))
    assert apos[-1][0] - apos[0][0] >= RECORD_S - SEGMENT_SECONDS - 1  # over two minutes


@pytest.mark.parametrize("cam", CAMERAS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_segments_are_contiguous_and_indexed_with_their_streams(
    av_recordings: dict[tuple[str, str], Recording],
    av_clips: dict[str, VideoClip | AudioClip],
    backend: str,
    cam: str,
) -> None:
    rec = av_recordings[(backend, cam)]
    h = rec.health
    _v, aname, _pause, suffix, codecs = CAMERAS[cam]
    aclip = av_clips[aname]
    assert isinstance(aclip, AudioClip)
    assert (h.reconnects, h.last_error) == (0, None)
    rows = rec.segments
    file_packets = 0
    for n, row in enumerate(rows):
        path = rec.root / row.path
        assert path.suffix == suffix, row.path
        assert row.status == "complete", row.path
        assert (row.sha256, row.bytes) == sha256_file(path), row.path
        video, audio = read_file(path, row.start.timestamp())
        streams = rec.streams[row.id]
        assert [(s.kind, s.codec) for s in streams] == [("video", codecs[0]), ("audio", codecs[1])]
        assert (streams[1].sample_rate, streams[1].channels) == (aclip.rate, 1)
        assert (streams[0].width, streams[0].height) == (768, 432)
        assert [s.packets for s in streams] == [len(video), len(audio)], row.path
        assert row.packets == len(video) + len(audio)
        assert video[0].keyframe, f"{row.path} does not start with a keyframe"
        file_packets += row.packets
        if n:
            assert abs(seconds(rows[n - 1].end, row.start)) <= 0.001, (rows[n - 1].path, row.path)
        if n < len(rows) - 1:
            assert row.duration_s == pytest.approx(SEGMENT_SECONDS, abs=1e-3), row.path
    # Every packet received from the connection's first whole keyframe on is in the files;
    # what came before it (it cannot be decoded) is counted as skipped.
    assert file_packets == h.packets_written == h.packets_in - h.packets_skipped
    # No video gap while connected; stopping the recorder opens one at the end.
    video_gaps = [g for g in rec.gaps if g.kind == "video"]
    assert [(g.start, g.end) for g in video_gaps] == [(rows[-1].end, None)]
    assert video_gaps[0].reason.startswith("recorder stopped")


@pytest.mark.parametrize("backend", BACKENDS)
def test_stopping_only_the_audio_gives_an_audio_gap(
    av_recordings: dict[tuple[str, str], Recording],
    av_clips: dict[str, VideoClip | AudioClip],
    backend: str,
) -> None:
    for cam in ("h264-aac", "h265-pcmu"):
        assert av_recordings[(backend, cam)].audio_gaps == []
    rec = av_recordings[(backend, "h264-pcma")]
    [gap] = rec.audio_gaps
    assert gap.kind == "audio"
    assert gap.end is not None
    assert gap.reason.startswith("audio lost")
    _vpos, apos, _jumps = source_positions(rec, "h264-pcma", av_clips)
    # From the end of the last sound before the pause to the first sound after it: 6 s.
    before = max(at for at, _k in apos if at < gap.start.timestamp() + 0.001)
    after = min(at for at, _k in apos if at > gap.start.timestamp() + 0.001)
    assert gap.start.timestamp() == pytest.approx(before + 0.020, abs=0.001)
    assert gap.end.timestamp() == pytest.approx(after, abs=0.001)
    assert seconds(gap.start, gap.end) == pytest.approx(PAUSE_S, abs=0.005)
    # The picture went on: no video gap there, and the segments cover the pause.
    assert [g for g in rec.gaps if g.kind == "video" and g.start < gap.end] == []
    covered = 0.0
    for s in rec.segments:
        assert s.end is not None
        if s.start < gap.end and s.end > gap.start:
            covered += seconds(max(s.start, gap.start), min(s.end, gap.end))
    assert covered == pytest.approx(PAUSE_S, abs=0.01)


def test_recordings_list_shows_the_audio_gap(
    av_recordings: dict[tuple[str, str], Recording], tmp_path: Path
) -> None:
    rec = av_recordings[("sqlite", "h264-pcma")]
    config = tmp_path / "vms.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "storage": {"root": str(rec.root)},
                "cameras": [camera(c, f"rtsp://127.0.0.1:9/{c}") for c in CAMERAS],
            }
        )
    )
    res = subprocess.run(
        [sys.executable, "-m", "vms.cli", "recordings", "list", "--config", str(config),
         "--camera", "h264-pcma", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    audio = [r for r in rows if r["kind"] == "gap" and r["gap_kind"] == "audio"]
    assert [r["reason"] for r in audio] == [rec.audio_gaps[0].reason]
    seg = next(r for r in rows if r["kind"] == "segment")
    assert [(s["kind"], s["codec"]) for s in seg["streams"]] == [
        ("video", "h264"),
        ("audio", "pcm_alaw"),
    ]
    plain = subprocess.run(
        [sys.executable, "-m", "vms.cli", "recordings", "list", "--config", str(config),
         "--camera", "h264-pcma"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "250"},
    )  # fmt: skip
    assert "audio gap" in plain.stdout, plain.stdout + plain.stderr
    # The range query the playback timeline and reports read keeps video gaps apart.
    with_db = open_database(f"sqlite:///{rec.root / 'vms.db'}", load_config(config))
    try:
        assert [g.kind for g in gaps_in_range(with_db, "h264-pcma", None, None)] == ["video"]
        both = gaps_in_range(with_db, "h264-pcma", None, None, kind=None)
        assert sorted(g.kind for g in both) == ["audio", "video"]
    finally:
        with_db.dispose()
