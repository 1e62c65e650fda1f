"""Helpers for the end-to-end recording tests: configs, index queries, H.264 NAL units."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import av
from sqlalchemy import select

# Re-exported for tests written when it lived here; the one wait_for is tests/support's.
from tests.support.waiting import wait_for as wait_for
from vms.bootstrap import sync_cameras
from vms.cameras.index import RecordingIndex
from vms.cameras.worker import CameraWorker
from vms.config import CameraConfig, Config
from vms.db.migrate import upgrade
from vms.db.models import Event, Gap, Segment, SegmentStream
from vms.db.session import Database

# --- configuration and database -------------------------------------------------------------


def camera(cam_id: str, source: str, **options: Any) -> dict[str, Any]:
    """A street camera's configuration mapping; ``options`` override the defaults."""
    return {"id": cam_id, "kind": "street", "site": "test site", "source": source, **options}


def make_config(root: Path, cameras: list[dict[str, Any]], **top: Any) -> Config:
    return Config.model_validate({"storage": {"root": str(root)}, "cameras": cameras, **top})


def open_database(url: str, config: Config) -> Database:
    """A migrated database with ``config``'s cameras registered (as ``vms serve`` does)."""
    db = Database(url)
    upgrade(db.engine)
    sync_cameras(db, config)
    return db


def segments(db: Database, camera_id: str) -> list[Segment]:
    with db.session() as s:
        q = select(Segment).where(Segment.camera_id == camera_id).order_by(Segment.start)
        return list(s.scalars(q))


def gaps(db: Database, camera_id: str) -> list[Gap]:
    with db.session() as s:
        return list(s.scalars(select(Gap).where(Gap.camera_id == camera_id).order_by(Gap.start)))


def events(db: Database, camera_id: str) -> list[Event]:
    with db.session() as s:
        q = select(Event).where(Event.camera_id == camera_id).order_by(Event.start)
        return list(s.scalars(q))


def seconds(a: datetime, b: datetime) -> float:
    """``b - a`` in seconds."""
    return (b - a).total_seconds()


# --- running things --------------------------------------------------------------------------


@dataclass
class RunningWorker:
    worker: CameraWorker
    index: RecordingIndex
    thread: threading.Thread

    def stop(self) -> None:
        """Stop recording, close the segment and write every queued index row."""
        self.worker.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "camera worker did not stop within 30 s"
        self.index.flush()
        self.index.close()


def start_worker(cam: CameraConfig, root: Path, db: Database) -> RunningWorker:
    """A CameraWorker recording ``cam`` in a thread, as a worker process runs it."""
    index = RecordingIndex(db, root)
    worker = CameraWorker(cam, root, index)
    thread = threading.Thread(target=worker.run, name=f"camera-{cam.id}", daemon=True)
    thread.start()
    return RunningWorker(worker, index, thread)


@contextmanager
def recording(cam: CameraConfig, root: Path, db: Database) -> Iterator[RunningWorker]:
    running = start_worker(cam, root, db)
    try:
        yield running
    finally:
        if running.thread.is_alive():
            running.stop()


# --- H.264 access units as NAL units ---------------------------------------------------------

NAL_SEI, NAL_IDR, NAL_SPS, NAL_PPS, NAL_AUD = 6, 5, 7, 8, 9


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F


def annexb_nal_units(data: bytes) -> list[bytes]:
    """Split an Annex-B access unit (start codes 00 00 01 / 00 00 00 01) into NAL units.

    Zero bytes before a start code are trailing_zero_8bits / zero_byte of the byte stream,
    never part of a NAL unit (whose last byte is never 0x00), so they are dropped.
    """
    starts: list[tuple[int, int]] = []  # (start code offset, payload offset)
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append((i, i + 3))
        i = data.find(b"\x00\x00\x01", i + 3)
    assert starts, "no start code"
    assert data[: starts[0][0]].strip(b"\x00") == b"", "bytes before the first start code"
    units = []
    for n, (_code, begin) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(data)
        unit = data[begin:end].rstrip(b"\x00")
        assert unit, f"empty NAL unit at byte {begin}"
        units.append(unit)
    return units


def avcc_nal_units(data: bytes, length_size: int) -> list[bytes]:
    """Split an MP4 (ISO/IEC 14496-15) sample of length-prefixed NAL units."""
    units, i = [], 0
    while i < len(data):
        size = int.from_bytes(data[i : i + length_size], "big")
        assert size > 0, f"zero-length NAL unit at byte {i}"
        assert i + length_size + size <= len(data), f"NAL unit at byte {i} overruns the sample"
        units.append(data[i + length_size : i + length_size + size])
        i += length_size + size
    return units


def avcc_parameter_sets(extradata: bytes) -> tuple[int, list[bytes]]:
    """(NAL length size, SPS + PPS NAL units) of an avcC box's payload."""
    assert extradata[0] == 1, f"not avcC extradata: {extradata[:8].hex()}"
    length_size = (extradata[4] & 0x03) + 1
    sets, i = [], 5
    for count_mask in (0x1F, 0xFF):  # SPS count in the low 5 bits, then PPS count
        count = extradata[i] & count_mask
        i += 1
        for _ in range(count):
            size = int.from_bytes(extradata[i : i + 2], "big")
            sets.append(extradata[i + 2 : i + 2 + size])
            i += 2 + size
    return length_size, sets


def units_digest(units: list[bytes]) -> str:
    """SHA-256 of a sequence of NAL units, each framed by its 4-byte length (unambiguous)."""
    h = hashlib.sha256()
    for unit in units:
        h.update(len(unit).to_bytes(4, "big"))
        h.update(unit)
    return h.hexdigest()


def describe(units: list[bytes]) -> str:
    return " ".join(f"{nal_type(u)}:{len(u)}" for u in units)


@dataclass(frozen=True)
class RecordedPacket:
    keyframe: bool
    units: list[bytes]


@dataclass(frozen=True)
class SegmentFile:
    parameter_sets: list[bytes]  # from the avcC box
    packets: list[RecordedPacket]


def read_segment(path: Path) -> SegmentFile:
    """Every packet of a recorded MP4 segment, as NAL units (raises on any demux error)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        extradata = stream.codec_context.extradata
        assert extradata, f"{path}: no avcC"
        length_size, parameter_sets = avcc_parameter_sets(extradata)
        packets = [
            RecordedPacket(p.is_keyframe, avcc_nal_units(bytes(p), length_size))
            for p in container.demux(stream)
            if p.size
        ]
    return SegmentFile(parameter_sets, packets)


def decode_all(path: Path) -> tuple[int, int]:
    """(packets, frames) of a segment's video, decoding every frame; any decode error raises."""
    return decode_streams(path)[0][1:]


def decode_streams(path: Path) -> list[tuple[str, int, int]]:
    """(kind, packets, frames) of every stream of a segment, video first, decoding all of it;
    any decode error raises."""
    with av.open(str(path)) as container:
        streams = [container.streams.video[0], *container.streams.audio]
        position = {s.index: n for n, s in enumerate(streams)}
        packets, frames = [0] * len(streams), [0] * len(streams)
        for packet in container.demux(streams):
            n = position[packet.stream.index]  # the flush packets at the end have no index
            packets[n] += packet.size > 0
            frames[n] += len(packet.decode())  # the last (empty) packet flushes the decoder
        kinds = [str(s.type) for s in streams]  # before the container (and its streams) close
    return [(kinds[n], packets[n], frames[n]) for n in range(len(streams))]


def segment_streams(db: Database, segment_id: int) -> list[SegmentStream]:
    with db.session() as s:
        q = select(SegmentStream).where(SegmentStream.segment_id == segment_id)
        return list(s.scalars(q.order_by(SegmentStream.index)))
