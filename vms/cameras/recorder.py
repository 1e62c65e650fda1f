"""Segment recording: the camera's own packets remuxed into crash-safe fragmented MP4.

Each segment starts at a keyframe and holds one fragment per keyframe, flushed to the file as
soon as it is complete, so a crash loses at most the fragment being written and every file
left behind plays. The payload of every packet is copied as it came: no decode, no re-encode.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.container
import av.stream

from vms.cameras.sources import StreamInfo
from vms.errors import CameraError, StorageError
from vms.vocab import sha256_file

FMP4_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "flush_packets": "1",
}


def segment_relpath(camera_id: str, start: datetime, root: Path, node: str | None = None) -> Path:
    """``recordings/<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4`` (UTC), made unique if taken. A
    cluster node adds its id (``<HH-MM-SS>_<node>.mp4``): keys stay unique in a shared
    bucket when two nodes record one camera in the same second, across a handover."""
    day = start.strftime("%Y-%m-%d")
    stem = start.strftime("%H-%M-%S") + (f"_{node}" if node else "")
    rel = Path("recordings") / camera_id / day / f"{stem}.mp4"
    n = 1
    while (root / rel).exists():
        rel = rel.with_name(f"{stem}_{n}.mp4")
        n += 1
    return rel


@dataclass(frozen=True)
class SegmentResult:
    """A closed segment: what goes into its index row."""

    relpath: Path
    start: datetime
    end: datetime
    packets: int
    bytes: int
    sha256: str

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


class SegmentWriter:
    """Writes one segment file. ``write`` takes packets in decode order, the first a keyframe."""

    def __init__(
        self,
        root: Path,
        relpath: Path,
        template: av.stream.Stream,
        info: StreamInfo,
        start: datetime,
        first_dts: int,
    ) -> None:
        self.root = root
        self.relpath = relpath
        self.path = root / relpath
        self.start = start
        self.info = info
        self._dts0 = first_dts
        self._last_dts = first_dts
        self._last_duration = 0
        self.packets = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._out: av.container.OutputContainer = av.open(
                str(self.path), "w", format="mp4", options=FMP4_OPTIONS
            )
        except OSError as exc:
            raise StorageError(f"cannot create segment {self.path}: {exc}") from exc
        try:
            self._stream = self._out.add_stream_from_template(template)
            self._stream.time_base = template.time_base
        except (av.FFmpegError, ValueError) as exc:
            self._abort()
            raise CameraError(f"cannot record codec {info.codec!r} into MP4: {exc}") from exc

    def write(self, packet: av.Packet[Any]) -> None:
        """Append one packet (its payload untouched; timestamps rebased to the segment)."""
        dts = packet.dts
        assert dts is not None
        pts = packet.pts if packet.pts is not None else dts
        duration = packet.duration or 0
        packet.dts = dts - self._dts0
        packet.pts = pts - self._dts0
        packet.stream = self._stream
        try:
            self._out.mux(packet)
        except av.FFmpegError as exc:
            raise CameraError(f"cannot write packet to {self.path}: {exc}") from exc
        except OSError as exc:
            raise StorageError(f"cannot write {self.path}: {exc}") from exc
        self._last_dts = dts
        if duration:
            self._last_duration = duration
        self.packets += 1

    def end_time(self) -> datetime:
        """Start time plus the time the packets written so far cover."""
        span = self._last_dts - self._dts0 + self._default_duration()
        return self.start + timedelta(seconds=float(span * self.info.time_base))

    def _default_duration(self) -> int:
        if self._last_duration:
            return self._last_duration
        if self.info.fps:
            return round(1 / (self.info.fps * self.info.time_base))
        return 0

    def close(self) -> tuple[Path, datetime, int]:
        """Finish the file and force it to disk; return (path, end time, packets)."""
        end = self.end_time()
        try:
            self._out.close()
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except (av.FFmpegError, OSError) as exc:
            raise StorageError(f"cannot close segment {self.path}: {exc}") from exc
        return self.relpath, end, self.packets

    def _abort(self) -> None:
        with contextlib.suppress(av.FFmpegError, OSError):
            self._out.close()


def finalize(
    root: Path, relpath: Path, start: datetime, end: datetime, packets: int
) -> SegmentResult:
    """Hash a closed segment file and describe it for the index."""
    digest, size = sha256_file(root / relpath)
    return SegmentResult(relpath, start, end, packets, size, digest)


@dataclass(frozen=True)
class Probe:
    """What a (possibly crash-truncated) segment file holds."""

    seconds: float
    packets: int
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None


def probe_segment(path: Path) -> Probe:
    """Read back a segment, stopping at a torn last fragment: what it covers and holds."""
    packets = 0
    first: int | None = None
    last = 0
    last_dur = 0
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return Probe(0.0, 0)
            stream = c.streams.video[0]
            tb = stream.time_base or Fraction(1, 90000)
            ctx = stream.codec_context
            rate = stream.average_rate or stream.guessed_rate
            try:
                for p in c.demux(stream):
                    if p.dts is None or p.size == 0:
                        continue
                    if first is None:
                        first = p.dts
                    last = p.dts
                    last_dur = p.duration or last_dur
                    packets += 1
            except av.FFmpegError:
                pass  # a torn last fragment: everything before it counts
            seconds = 0.0 if first is None else float((last - first + last_dur) * tb)
            return Probe(
                seconds,
                packets,
                ctx.name,
                ctx.width or None,
                ctx.height or None,
                float(rate) if rate else None,
            )
    except av.FFmpegError:
        return Probe(0.0, 0)
