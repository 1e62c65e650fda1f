"""A real RTSP camera recorded end to end: every packet kept bit for bit, no packet missing.

One recording of the looped clip per index backend (SQLite and PostgreSQL, recorded at the
same time from the same camera) is shared by the tests of this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cameras.conftest import H264Clip
from tests.cameras.helpers import (
    NAL_AUD,
    NAL_PPS,
    NAL_SPS,
    camera,
    describe,
    gaps,
    make_config,
    nal_type,
    open_database,
    read_segment,
    recording,
    seconds,
    segments,
    units_digest,
)
from tests.support.postgres import PostgresCluster
from tests.support.rtsp import RtspServer
from tests.support.waiting import wait_for
from vms.cameras.health import CameraHealth
from vms.db.models import Gap, Segment
from vms.vocab import sha256_file

pytestmark = pytest.mark.slow

BACKENDS = ["sqlite", "postgresql"]
SEGMENT_SECONDS = 2
CAM = "cam1"


@dataclass
class Recording:
    root: Path
    health: CameraHealth
    segments: list[Segment]
    gaps: list[Gap]


@pytest.fixture(scope="module")
def rtsp_recordings(
    h264_clip: H264Clip,
    postgres_cluster: PostgresCluster,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Recording]]:
    """Record the RTSP camera with one CameraWorker per backend until the loop has wrapped."""
    pg_name = f"t_cameras_rtsp_{uuid.uuid4().hex[:12]}"
    roots = {b: tmp_path_factory.mktemp(f"rec-{b}") for b in BACKENDS}
    urls = {
        "sqlite": f"sqlite:///{roots['sqlite'] / 'vms.db'}",
        "postgresql": postgres_cluster.create_database(pg_name),
    }
    dbs = {}
    try:
        with RtspServer({"/cam1": (h264_clip.path, h264_clip.fps)}) as server:
            cam = camera(CAM, server.url("/cam1"), segment_seconds=SEGMENT_SECONDS)
            configs = {b: make_config(roots[b], [cam]) for b in BACKENDS}
            dbs = {b: open_database(urls[b], configs[b]) for b in BACKENDS}
            with (
                recording(configs["sqlite"].cameras[0], roots["sqlite"], dbs["sqlite"]) as lite,
                recording(
                    configs["postgresql"].cameras[0], roots["postgresql"], dbs["postgresql"]
                ) as pg,
            ):
                # A whole pass over the clip and one GOP more: the loop's wrap is recorded.
                want = len(h264_clip.access_units) + h264_clip.gop
                wait_for(
                    f"{want} packets recorded by both workers",
                    lambda: all(r.worker.health().packets_written >= want for r in (lite, pg)),
                    timeout=90,
                )
                lite.stop()
                pg.stop()
                health = {"sqlite": lite.worker.health(), "postgresql": pg.worker.health()}
        yield {
            b: Recording(roots[b], health[b], segments(dbs[b], CAM), gaps(dbs[b], CAM))
            for b in BACKENDS
        }
    finally:
        for db in dbs.values():
            db.dispose()
        postgres_cluster.drop_database(pg_name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_recorded_packets_are_the_cameras_packets_bit_for_bit(
    rtsp_recordings: dict[str, Recording], h264_clip: H264Clip, backend: str
) -> None:
    rec = rtsp_recordings[backend]
    source = [units_digest(au) for au in h264_clip.access_units]
    assert len(set(source)) == len(source), "clip access units must be distinct"
    in_band_sets = {
        u for au in h264_clip.access_units for u in au if nal_type(u) in (NAL_SPS, NAL_PPS)
    }

    # The NAL units are compared byte for byte; only their framing differs. The MP4 stores
    # each as a 4-byte length + NAL unit, the .h264 file and RTSP as start code + NAL unit.
    # What happens to the other NAL units, found empirically:
    # - SPS/PPS: the MP4 muxer copies them into the avcC box (from the stream's extradata)
    #   AND keeps the in-band copies before every IDR: nothing is moved or dropped.
    # - AUD: the MP4 muxer neither adds nor drops any. Every recorded access unit starts
    #   with one 2-byte AUD that the RTSP server's h264parse (alignment=au) puts in front of
    #   each access unit; the source file has none. That leading AUD is the only thing
    #   removed before comparing, and it must be there exactly once.
    recorded: list[tuple[str, int, str, bool]] = []  # (file, packet, digest, keyframe)
    units_of: dict[str, list[bytes]] = {}
    for row in rec.segments:
        seg = read_segment(rec.root / row.path)
        assert [nal_type(u) for u in seg.parameter_sets] == [NAL_SPS, NAL_PPS]
        assert set(seg.parameter_sets) <= in_band_sets, "avcC must hold the camera's SPS/PPS"
        for n, packet in enumerate(seg.packets):
            types = [nal_type(u) for u in packet.units]
            if not recorded and types[0] != NAL_AUD:
                # The connection's first access unit: FFmpeg's RTSP reader hands it out
                # without a timestamp and without the AUD of its first RTP packet; the
                # worker keeps it (dropping it would lose the first GOP). Its NAL units
                # must still be the camera's, compared below like every other packet.
                assert NAL_AUD not in types, (row.path, n, types)
                payload = packet.units
                digest = units_digest(payload)
                units_of[digest] = payload
                recorded.append((row.path, n, digest, packet.keyframe))
                continue
            assert types[0] == NAL_AUD, (row.path, n, types)
            assert types.count(NAL_AUD) == 1, (row.path, n, types)
            assert packet.units[0] == b"\x09\xf0", (row.path, n)  # AUD, primary_pic_type 7
            payload = packet.units[1:]
            digest = units_digest(payload)
            units_of[digest] = payload
            recorded.append((row.path, n, digest, packet.keyframe))

    assert recorded, "nothing recorded"
    first = recorded[0][2]
    tail_of: int | None = None  # the first AU is the tail of this source AU
    if first not in source:
        # The connection's first access unit can start mid-way (the RTSP reader joined
        # after its first RTP packets): its NAL units must then be the tail of a source AU.
        head = units_of[first]
        tails = [
            i
            for i, au in enumerate(h264_clip.access_units)
            if len(head) <= len(au) and au[len(au) - len(head) :] == head
        ]
        if tails:
            tail_of = tails[0]
        else:
            # Seen on a loaded machine: the reader's first AU of the connection assembled
            # from a partial RTP frame. Only that one may differ; the next must match.
            recorded = recorded[1:]
            first = recorded[0][2]
            assert first in source, "the first recorded packets are not the camera's"
    offset = tail_of if tail_of is not None else source.index(first)
    n_src = len(source)
    assert offset + len(recorded) > n_src, "the recording should span the loop's wrap"
    for k, (path, n, digest, keyframe) in enumerate(recorded):
        i = (offset + k) % n_src  # the camera loops the clip: after the last AU comes the first
        if k == 0 and tail_of is not None:
            continue  # checked above: the tail of source AU tail_of
        if digest != source[i]:
            pytest.fail(
                f"{path} packet {n} (recorded #{k}) differs from source access unit {i}:\n"
                f"  recorded NAL units (type:bytes) {describe(units_of[digest])}\n"
                f"  source   NAL units (type:bytes) {describe(h264_clip.access_units[i])}"
            )
        assert keyframe == h264_clip.keyframes[i], (path, n, i)


@pytest.mark.parametrize("backend", BACKENDS)
def test_consecutive_segments_cover_every_received_packet(
    rtsp_recordings: dict[str, Recording], h264_clip: H264Clip, backend: str
) -> None:
    rec = rtsp_recordings[backend]
    h = rec.health
    assert h.reconnects == 0, "one connection expected"
    assert h.last_error is None
    rows = rec.segments
    assert len(rows) >= (len(h264_clip.access_units) / h264_clip.fps) // SEGMENT_SECONDS

    file_packets = 0
    for n, row in enumerate(rows):
        path = rec.root / row.path
        assert row.status == "complete", row.path
        assert row.end is not None
        assert (row.sha256, row.bytes) == sha256_file(path), row.path
        packets = read_segment(path).packets
        assert packets[0].keyframe, f"{row.path} does not start with a keyframe"
        assert row.packets == len(packets), row.path
        file_packets += len(packets)
        if n:
            # Contiguous: each segment starts where the previous one ended.
            assert abs(seconds(rows[n - 1].end, row.start)) <= 0.001, (rows[n - 1].path, row.path)
        if n < len(rows) - 1:
            # Cut at the first keyframe at or after SEGMENT_SECONDS (GOP = 1 s): exactly 2 s.
            assert row.duration_s == pytest.approx(SEGMENT_SECONDS, abs=1e-3), row.path
            assert row.packets == SEGMENT_SECONDS * h264_clip.fps, row.path

    # Every packet received from the first keyframe on is in the files: none missing.
    assert h.packets_skipped == 0  # the first keyframe of the connection is kept, not skipped
    assert file_packets == h.packets_written == h.packets_in - h.packets_skipped

    # No gap while connected; stopping the recorder opens one from the end of the last segment.
    assert [(g.start, g.end) for g in rec.gaps] == [(rows[-1].end, None)]
    assert rec.gaps[0].reason.startswith("recorder stopped")
