"""Cutting clips: the recorded packets of a time range, remuxed (never re-encoded) into one MP4.

A clip starts at the keyframe at or before the requested start and runs across segment
boundaries to the requested end. Each source segment is read once into memory, its SHA-256 is
checked against the index, and the packets are demuxed from those same verified bytes, so a
clip can never come from an altered file. A later segment is read and hashed in a thread while
the current one is remuxed. Timestamps keep wall-clock spacing: a gap in the recording stays a
gap in the clip's timeline (the player holds the last frame) and is listed in the item.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av
import av.container
import av.stream

from vms.errors import ClipError, FileIntegrityError, StorageError
from vms.queued_writer import QueuedWriter
from vms.storage.base import LOCAL, Storage
from vms.storage.resolve import as_storage

# Two segments are contiguous when the second starts within this of the first's end.
GAP_TOLERANCE = timedelta(milliseconds=100)
# Fragmented MP4 like the recordings (one fragment per keyframe), written in one pass; not
# flushed per packet as a live recording is: the file only counts once it is complete.
CLIP_OPTIONS = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
_WRITE_BUFFER = 1 << 20
_PREFETCH = 2
_CHUNK = 1 << 20
_QUEUE_CHUNKS = 16  # of _WRITE_BUFFER each: the muxer runs at most 16 MB ahead of the writer


@dataclass(frozen=True)
class SourceSegment:
    """A recorded segment a clip may be cut from, as the index knows it."""

    segment_id: int
    path: str  # relative to the storage root
    sha256: str
    bytes: int
    start: datetime
    end: datetime
    location: str = LOCAL  # where the file lives: the node's disk or the bucket


@dataclass(frozen=True)
class ClipResult:
    """A cut clip: where its packets came from and the file's hash."""

    path: Path
    start: datetime  # presentation time of its first packet (a keyframe)
    end: datetime  # end of its last packet
    packets: int
    sha256: str
    bytes: int
    sources: list[SourceSegment] = field(default_factory=list)
    audio_packets: int = 0


def uncovered(
    spans: Sequence[tuple[datetime, datetime]],
    start: datetime,
    end: datetime,
    tolerance: timedelta = GAP_TOLERANCE,
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) that no span covers (pure); pieces under ``tolerance`` merge."""
    holes: list[tuple[datetime, datetime]] = []
    cursor = start
    for s, e in sorted(spans):
        if e <= cursor:
            continue
        if s >= end:
            break
        if s - cursor > tolerance:
            holes.append((cursor, s))
        cursor = max(cursor, e)
        if cursor >= end:
            break
    if end - cursor > tolerance:
        holes.append((cursor, end))
    return holes


def _verified_bytes(storage: Storage, src: SourceSegment) -> bytes:
    try:
        data = storage.read_bytes(src.location, src.path)
    except FileNotFoundError as exc:
        raise FileIntegrityError(
            f"source segment {src.path} is missing; refusing to cut a clip from it"
        ) from exc
    except OSError as exc:
        raise StorageError(f"cannot read source segment {src.path}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != src.sha256:
        raise FileIntegrityError(
            f"source segment {src.path} was altered: SHA-256 {digest} does not match the "
            f"{src.sha256} recorded when it was written; refusing to cut a clip from it"
        )
    return data


def _loaded(
    storage: Storage, sources: Sequence[SourceSegment]
) -> Iterator[tuple[SourceSegment, bytes]]:
    """Each source's verified bytes, in order, reading and hashing ahead in a thread."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="clip-read") as pool:
        pending: list[tuple[SourceSegment, Future[bytes]]] = []
        todo = iter(sources)
        try:
            while True:
                while len(pending) < _PREFETCH:
                    src = next(todo, None)
                    if src is None:
                        break
                    pending.append((src, pool.submit(_verified_bytes, storage, src)))
                if not pending:
                    return
                src, fut = pending.pop(0)
                yield src, fut.result()
        finally:
            for _src, fut in pending:
                fut.cancel()


class _HashingFile(io.RawIOBase):
    """A write-only file for the muxer: a thread hashes and writes what it is given.

    The hash is the file's as long as the muxer only appends (it does for fragmented MP4);
    after any rewrite ``digest`` returns None and the caller hashes the finished file.
    ``close`` fsyncs once. (Syncing every few tens of MB was tried: on a busy ext4 disk each
    fdatasync waits for a journal commit of everyone's data, three times slower overall.)
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._f: BinaryIO = path.open("xb")
        self._hash = hashlib.sha256()
        self._pos = 0
        self._end = 0
        self.in_order = True
        self._writer = QueuedWriter(
            self._f, name="clip-write", maxsize=_QUEUE_CHUNKS, before_write=self._hash.update
        )

    def _wait(self) -> None:
        if (error := self._writer.join()) is not None:
            raise StorageError(f"cannot write the clip: {error}") from error

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._writer.error is not None:
            self._wait()
        chunk = bytes(data)
        if self._pos != self._end:
            self.in_order = False
        if self.in_order:
            self._writer.put(chunk)
        else:
            self._wait()
            self._f.seek(self._pos)
            self._f.write(chunk)
        self._pos += len(chunk)
        self._end = max(self._end, self._pos)
        return len(chunk)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_CUR:
            offset, whence = self._pos + offset, os.SEEK_SET
        elif whence == os.SEEK_END:
            offset, whence = self._end + offset, os.SEEK_SET
        self._pos = offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            try:
                self._wait()
            finally:
                self._writer.stop()
                if not self._f.closed:
                    self._f.flush()
                    os.fsync(self._f.fileno())
                    self._f.close()
        super().close()

    def digest(self) -> str | None:
        """The file's SHA-256 if every byte was written once and in order, else None."""
        self._wait()
        return self._hash.hexdigest() if self.in_order else None


def _sha256_path(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _ticks(delta: timedelta, tb: Fraction) -> int:
    return round(Fraction(_micros(delta), 1_000_000) / tb)


def _micros(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def _seconds(ticks: int, tb: Fraction) -> timedelta:
    return timedelta(microseconds=round(ticks * tb * 1_000_000))


def _signature(stream: av.stream.Stream) -> tuple[Any, ...]:
    ctx: Any = stream.codec_context
    return (ctx.name, ctx.width, ctx.height, bytes(ctx.extradata or b""))


def cut_clip(
    root: Path | Storage,
    sources: Sequence[SourceSegment],
    start: datetime,
    end: datetime,
    out_path: Path,
    *,
    audio: bool = False,
) -> ClipResult:
    """Remux the packets of [start, end) from ``sources`` (in time order) into ``out_path``.

    Starts at the keyframe at or before ``start`` (or the first keyframe after it when the
    recording begins later). Raises FileIntegrityError if a source does not match its hash,
    ClipError if there is nothing to cut or the stream's format changes inside the range.
    ``audio``: the camera's (first) audio stream goes with the picture, its packets as
    recorded, from the clip's first picture on; the container follows ``out_path``'s suffix
    (``.mp4``, ``.mov`` for G.711, ``.nut`` for G.726: see ``clip_suffix``).
    """
    if end <= start:
        raise ClipError(f"a clip must end after it starts, got {start} to {end}")
    if not sources:
        raise ClipError(f"no recorded footage between {start} and {end}")
    sink = _HashingFile(out_path)
    fmt = {".mov": "mov", ".nut": "nut"}.get(out_path.suffix.lower(), "mp4")
    cutter = _Cutter(sink, start, end, audio=audio, fmt=fmt)
    try:
        for n, (src, data) in enumerate(_loaded(as_storage(root), sources)):
            cutter.feed(src, data, last=n == len(sources) - 1)
            if cutter.done:
                break
        if cutter.out is None or cutter.packets == 0:
            raise ClipError(f"no recorded packets between {start} and {end}")
        cutter.out.close()
    except BaseException:
        cutter.abort()
        with contextlib.suppress(Exception):
            sink.close()
        out_path.unlink(missing_ok=True)
        raise
    digest = sink.digest()
    sink.close()
    if digest is None:
        digest = _sha256_path(out_path)
    assert cutter.origin is not None
    assert cutter.first_pts is not None
    return ClipResult(
        out_path,
        cutter.origin + _seconds(cutter.first_pts, cutter.tb),
        cutter.origin + _seconds(cutter.end_ticks, cutter.tb),
        cutter.packets,
        digest,
        out_path.stat().st_size,
        cutter.used,
        cutter.audio_packets,
    )


class _Cutter:
    """Selects and retimes packets segment by segment; writes them to one MP4."""

    def __init__(
        self,
        sink: _HashingFile,
        start: datetime,
        end: datetime,
        *,
        audio: bool = False,
        fmt: str = "mp4",
    ) -> None:
        self.sink = sink
        self.start = start
        self.end = end
        self.audio = audio
        self.fmt = fmt
        self.astream: av.stream.Stream | None = None
        self.audio_signature: tuple[Any, ...] | None = None
        self.audio_pending: list[tuple[Any, SourceSegment, Fraction]] = []
        self.audio_last_dts = -(1 << 62)
        self.audio_packets = 0
        self._audio_template: av.stream.Stream | None = None
        self.out: av.container.OutputContainer | None = None
        self.ostream: av.stream.Stream | None = None
        self.signature: tuple[Any, ...] | None = None
        self.tb = Fraction(1, 90000)
        self.origin: datetime | None = None  # wall time of output timestamp 0
        # The GOP that holds the requested start, kept until a later packet shows where
        # the start falls (it may run to the end of a segment).
        self.pending: list[tuple[Any, SourceSegment, Fraction]] = []
        self.used: list[SourceSegment] = []
        self.last_dts = -(1 << 62)
        self.packets = 0
        self.first_pts: int | None = None
        self.end_ticks = 0
        self.done = False
        self._offset_of: SourceSegment | None = None
        self._offset_ticks = 0

    def feed(self, src: SourceSegment, data: bytes, *, last: bool) -> None:
        try:
            # Nothing is decoded here: skipping frames keeps FFmpeg's stream probing from
            # decoding any (the parameters come from the MP4's own header).
            container = av.open(io.BytesIO(data), "r", options={"skip_frame": "all"})
        except av.FFmpegError as exc:
            raise ClipError(f"cannot read source segment {src.path}: {exc}") from exc
        with container:
            if not container.streams.video:
                raise ClipError(f"source segment {src.path} has no video stream")
            stream = container.streams.video[0]
            tb = Fraction(stream.time_base or Fraction(1, 90000))
            self._check_format(stream, src)
            sound = self._audio_of(container, src)
            atb = Fraction(sound.time_base or Fraction(1, 8000)) if sound is not None else tb
            # Exact integer tests, per packet: ticks * tb >= end - src.start  <=>
            # ticks * (tb.numerator * 10**6) >= (end - src.start in µs) * tb.denominator.
            scale = tb.numerator * 1_000_000
            end_at = _micros(self.end - src.start) * tb.denominator
            start_at = _micros(self.start - src.start) * tb.denominator
            shift = 0
            streams = [stream] if sound is None else [stream, sound]
            try:
                for packet in container.demux(streams):
                    if packet.dts is None or packet.size == 0:
                        continue
                    if sound is not None and packet.stream is sound:
                        self._audio_packet(packet, src, atb)
                        continue
                    if packet.dts * scale >= end_at:
                        self.done = True
                        break
                    if self.out is None:
                        pts = packet.pts if packet.pts is not None else packet.dts
                        if pts * scale <= start_at:
                            if packet.is_keyframe:
                                self.pending = [(packet, src, tb)]
                                self.audio_pending = []  # sound from this GOP on
                            elif self.pending:
                                self.pending.append((packet, src, tb))
                            continue
                        if not self.pending and not packet.is_keyframe:
                            continue
                        self.pending.append((packet, src, tb))
                        shift = self._start_output(stream, shift)
                        continue
                    shift = self._mux(packet, src, tb, shift)
            except av.FFmpegError as exc:
                raise ClipError(f"cannot read source segment {src.path}: {exc}") from exc
            if self.out is None and last and self.pending:
                # The requested start lies in the last frames recorded: the clip is that GOP.
                self._start_output(stream, 0)

    def _check_format(self, stream: av.stream.Stream, src: SourceSegment) -> None:
        sig = _signature(stream)
        if self.signature is None:
            self.signature = sig
        elif sig != self.signature:
            raise ClipError(
                f"the camera's stream changed format at {src.start.isoformat()} ({src.path}): "
                "cut one clip before and one after that time"
            )

    def _start_output(self, template: av.stream.Stream, shift: int) -> int:
        first, src, tb = self.pending[0]
        self.tb = tb
        self.origin = src.start + _seconds(first.dts, tb)
        options = CLIP_OPTIONS if self.fmt != "nut" else {}
        self.out = av.open(
            self.sink, "w", format=self.fmt, options=options, buffer_size=_WRITE_BUFFER
        )
        try:
            self.ostream = self.out.add_stream_from_template(template)
            self.ostream.time_base = template.time_base
            if self._audio_template is not None:
                self.astream = self.out.add_stream_from_template(self._audio_template)
                self.astream.time_base = self._audio_template.time_base
        except (av.FFmpegError, ValueError) as exc:
            raise ClipError(
                f"cannot write codec {template.codec_context.name!r} to {self.fmt}: {exc}"
            ) from exc
        pending, self.pending = self.pending, []
        current = None
        for packet, psrc, ptb in pending:
            if psrc is not current:
                current, shift = psrc, 0
            shift = self._mux(packet, psrc, ptb, shift)
        heard, self.audio_pending = self.audio_pending, []
        for packet, psrc, ptb in heard:
            self._audio_packet(packet, psrc, ptb)
        return shift

    def _audio_of(self, container: Any, src: SourceSegment) -> av.stream.Stream | None:
        """The segment's audio stream to copy (the first), if it matches the clip's."""
        if not self.audio or not container.streams.audio:
            return None
        sound: av.stream.Stream = container.streams.audio[0]
        ctx: Any = sound.codec_context
        sig = (ctx.name, ctx.sample_rate, ctx.channels, bytes(ctx.extradata or b""))
        if self.audio_signature is None and self.out is None:
            self.audio_signature = sig
            self._audio_template = sound
        if sig != self.audio_signature:
            return None  # the camera's sound changed format: the clip keeps the first
        if self.out is None:
            self._audio_template = sound  # the template must outlive the demuxer: the newest
        return sound

    def _audio_packet(self, packet: Any, src: SourceSegment, tb: Fraction) -> None:
        """Place one audio packet on the clip's timeline (wall-clock spacing), as recorded."""
        at = src.start + _seconds(packet.dts, tb)
        if at >= self.end:
            return
        if self.out is None:
            self.audio_pending.append((packet, src, tb))
            return
        if self.astream is None:
            return
        assert self.origin is not None
        if at < self.origin:
            return  # before the clip's first picture
        offset = _ticks(src.start - self.origin, tb)
        raw_pts = packet.pts if packet.pts is not None else packet.dts
        dts, pts = packet.dts + offset, raw_pts + offset
        if dts <= self.audio_last_dts:
            return  # overlapping segment edges: the sound is already in the clip
        packet.dts, packet.pts = dts, pts
        packet.time_base = tb
        packet.stream = self.astream
        try:
            assert self.out is not None
            self.out.mux(packet)
        except av.FFmpegError as exc:
            raise ClipError(f"cannot write the clip's sound: {exc}") from exc
        self.audio_last_dts = dts
        self.audio_packets += 1

    def _offset(self, src: SourceSegment) -> int:
        """Ticks from the clip's origin to the start of segment ``src``."""
        if self._offset_of is not src:
            assert self.origin is not None
            self._offset_of, self._offset_ticks = src, _ticks(src.start - self.origin, self.tb)
        return self._offset_ticks

    def _mux(self, packet: Any, src: SourceSegment, tb: Fraction, shift: int) -> int:
        """Retime one packet onto the clip's timeline (wall-clock spacing) and write it."""
        assert self.out is not None
        offset = self._offset(src)
        raw_pts = packet.pts if packet.pts is not None else packet.dts
        if tb == self.tb:
            dts, pts, duration = packet.dts, raw_pts, packet.duration or 0
        else:
            dts = round(packet.dts * tb / self.tb)
            pts = round(raw_pts * tb / self.tb)
            duration = round((packet.duration or 0) * tb / self.tb)
        dts, pts = dts + offset, pts + offset
        if dts + shift <= self.last_dts:
            # Segment start times are rounded to microseconds: keep decode order strict.
            shift = self.last_dts + 1 - dts
        dts, pts = dts + shift, pts + shift
        packet.dts, packet.pts = dts, pts
        packet.time_base = self.tb
        packet.stream = self.ostream
        try:
            self.out.mux(packet)
        except av.FFmpegError as exc:
            raise ClipError(f"cannot write the clip: {exc}") from exc
        except OSError as exc:
            raise StorageError(f"cannot write the clip: {exc}") from exc
        self.last_dts = dts
        self.packets += 1
        if self.first_pts is None:
            self.first_pts = pts
        self.end_ticks = max(self.end_ticks, pts + duration)
        if not self.used or self.used[-1] is not src:
            self.used.append(src)
        return shift

    def abort(self) -> None:
        if self.out is not None:
            with contextlib.suppress(av.FFmpegError, OSError, ValueError):
                self.out.close()
