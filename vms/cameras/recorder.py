"""Segment recording: the camera's own packets, video and audio, remuxed into crash-safe files.

Each segment starts at a keyframe. In fragmented MP4 / MOV it holds one fragment per
keyframe, flushed to the file as soon as it is complete, so a crash loses at most the
fragment being written and every file left behind plays (NUT, for codecs neither takes,
flushes every packet). The payload of every packet is copied as it came: no decode, no
re-encode.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.audio.codeccontext
import av.container
import av.stream
import av.video.codeccontext

from vms.cameras.opened import StreamInfo
from vms.errors import CameraError, StorageError
from vms.vocab import sha256_file

FMP4_OPTIONS = {
    # delay_moov: the header is written with the first fragment, so it can say where each
    # track starts (an edit list). Without it an audio track that starts 0.1 s into the
    # segment would be shown from 0, out of sync; a crash loses nothing more either way.
    "movflags": "frag_keyframe+empty_moov+delay_moov+default_base_moof",
    "flush_packets": "1",
}
#: Containers a segment can be, in order of preference, with their file suffix. FFmpeg's
#: MP4 muxer refuses G.711; MOV takes it but refuses Opus; NUT takes every codec. All three
#: keep each packet's payload as it came and leave a playable file after kill -9
#: (tests/cameras/test_recorder.py). See docs/recording.md for what each costs for playback.
CONTAINERS = {"mp4": ".mp4", "mov": ".mov", "nut": ".nut"}
_OPTIONS = {"mp4": FMP4_OPTIONS, "mov": FMP4_OPTIONS, "nut": {"flush_packets": "1"}}
#: Audio packets may wait this long in the muxer for the video to catch up (µs): the
#: interleaving queue otherwise holds up to 10 s when a microphone goes quiet.
MAX_INTERLEAVE_DELTA = "500000"
_chosen: dict[tuple[str, ...], str] = {}


def container_for(templates: Sequence[av.stream.Stream]) -> str:
    """The first container of CONTAINERS that takes every stream of ``templates`` as it is.

    Decided by FFmpeg itself (a header written to memory), once per set of codecs. The video
    (``templates[0]``) must be a camera codec MP4 or MOV take (H.264, H.265, MJPEG ...):
    NUT is there for audio codecs only, never for raw or exotic video.
    """
    key = tuple(f"{t.type}:{t.codec_context.name}" for t in templates)
    if key in _chosen:
        return _chosen[key]
    video = templates[0].codec_context.name
    if not _takes("mp4", templates[:1]):
        raise CameraError(f"cannot record codec {video!r}: not a camera video codec")
    for fmt in CONTAINERS:
        if _takes(fmt, templates):
            _chosen[key] = fmt
            return fmt
    raise CameraError(f"no container records the codecs {', '.join(key)}")


def _takes(fmt: str, templates: Sequence[av.stream.Stream]) -> bool:
    try:
        with av.open(io.BytesIO(), "w", format=fmt, options=_OPTIONS[fmt]) as out:
            for t in templates:
                out.add_stream_from_template(t).time_base = t.time_base
            out.start_encoding()
    except (av.FFmpegError, ValueError):
        return False
    return True


def segment_relpath(
    camera_id: str, start: datetime, root: Path, suffix: str = ".mp4", node: str | None = None
) -> Path:
    """``recordings/<camera>/<YYYY-MM-DD>/<HH-MM-SS><suffix>`` (UTC), made unique if taken. A
    cluster node adds its id (``<HH-MM-SS>_<node><suffix>``): keys stay unique in a shared
    bucket when two nodes record one camera in the same second, across a handover."""
    day = start.strftime("%Y-%m-%d")
    stem = start.strftime("%H-%M-%S") + (f"_{node}" if node else "")
    folder = root / "recordings" / camera_id / day
    rel = Path("recordings") / camera_id / day / f"{stem}{suffix}"
    n = 1
    while any((folder / f"{rel.stem}{ext}").exists() for ext in CONTAINERS.values()):
        rel = rel.with_name(f"{stem}_{n}{suffix}")
        n += 1
    return rel


def adts_config(header: bytes) -> bytes:
    """The 2-byte AudioSpecificConfig an ADTS header describes (ISO/IEC 14496-3 1.6.2.1)."""
    profile = (header[2] >> 6) + 1  # audioObjectType
    rate_index = (header[2] >> 2) & 0x0F
    channels = ((header[2] & 0x01) << 2) | (header[3] >> 6)
    return ((profile << 11) | (rate_index << 7) | (channels << 3)).to_bytes(2, "big")


#: Errors of the disk, not the camera (an FFmpeg error with one of these is a StorageError).
STORAGE_ERRNOS = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG))
#: Packets held at most while an ADTS track's config is unknown (about 2 s of video).
PENDING_MAX = 120


def is_full(exc: BaseException | None) -> bool:
    """Is this the storage being full (ENOSPC, or a quota: EDQUOT)?"""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


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
    """Writes one segment file: the video track, then any audio tracks, packets untouched.

    ``write`` takes each track's packets in decode order, the video's first a keyframe.
    Timestamps are rebased so that the segment starts at 0 on every track: ``first_dts`` is
    the first video packet's (timeline) tick, the audio tracks start at the same instant.
    The container (MP4, MOV or NUT) follows from the suffix of ``relpath``.
    """

    def __init__(
        self,
        root: Path,
        relpath: Path,
        template: av.stream.Stream,
        info: StreamInfo,
        start: datetime,
        first_dts: int,
        *,
        audio: Sequence[tuple[av.stream.Stream, StreamInfo]] = (),
    ) -> None:
        self.root = root
        self.relpath = relpath
        self.path = root / relpath
        self.start = start
        self.info = info
        self.tracks = [info, *(a_info for _t, a_info in audio)]
        self._dts0 = first_dts
        self._last_dts = first_dts
        self._last_duration = 0
        self.packets = 0
        self.track_packets = [0] * len(self.tracks)
        vtb = info.time_base
        # Each track's tick at the segment's first instant, rounded down (exact integers).
        self._base = [first_dts] + [
            (first_dts * vtb.numerator * a.time_base.denominator)
            // (vtb.denominator * a.time_base.numerator)
            for _t, a in audio
        ]
        fmt = next((f for f, ext in CONTAINERS.items() if relpath.suffix == ext), "mp4")
        options = dict(_OPTIONS[fmt], max_interleave_delta=MAX_INTERLEAVE_DELTA)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._out: av.container.OutputContainer = av.open(
                str(self.path), "w", format=fmt, options=options
            )
        except OSError as exc:
            raise StorageError(f"cannot create segment {self.path}: {exc}") from exc
        self._streams: list[av.stream.Stream] = []
        try:
            for t in [template, *(t for t, _a in audio)]:
                stream = self._out.add_stream_from_template(t)
                stream.time_base = t.time_base
                self._streams.append(stream)
        except (av.FFmpegError, ValueError) as exc:
            self._abort()
            codecs = ", ".join(t.codec for t in self.tracks)
            raise CameraError(f"cannot record {codecs} into {fmt}: {exc}") from exc
        # AAC in ADTS framing (MPEG-TS, PS, GB/T 28181 cameras): MP4 and MOV store the raw
        # frames and the AudioSpecificConfig that the first ADTS header carries. Until every
        # such track has shown one, packets wait here (the file header needs the config).
        self._adts = {
            i + 1: a.extradata
            for i, (t, a) in enumerate(audio)
            if fmt != "nut" and t.codec_context.name == "aac" and not t.codec_context.extradata
        }
        self._pending: list[tuple[av.Packet[Any], int]] | None = None
        for i, asc in self._adts.items():
            if asc:
                self._streams[i].codec_context.extradata = asc
            else:
                self._pending = []
        #: What a later segment of the connection can be given (StreamInfo.extradata).
        self.learned: dict[int, bytes] = {}

    def write(self, packet: av.Packet[Any], track: int = 0, tick: int | None = None) -> None:
        """Append one packet of ``track`` at timeline ``tick`` (default: its own DTS).

        The payload is untouched; DTS and PTS are rebased to the segment (the gap between
        them, a B-frame's reordering, is kept). Only an ADTS header is taken off AAC frames.
        """
        dts = packet.dts
        if tick is None:
            assert dts is not None
            tick = dts
        pts = packet.pts
        if track in self._adts:
            packet = self._raw_aac(packet, track)
        out = tick - self._base[track]
        packet.dts = out
        packet.pts = out if pts is None or dts is None else out + pts - dts
        packet.stream = self._streams[track]
        if self._pending is not None:
            self._pending.append((packet, track))
            if len(self._pending) > PENDING_MAX:  # no sound came: write without its config
                self._flush_pending()
        else:
            self._mux(packet)
        self.packets += 1
        self.track_packets[track] += 1
        if track == 0:
            self._last_dts = tick
            if packet.duration:
                self._last_duration = packet.duration

    def _mux(self, packet: av.Packet[Any]) -> None:
        try:
            self._out.mux(packet)
        except av.FFmpegError as exc:
            if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
                raise StorageError(f"cannot write {self.path}: {exc}") from exc
            raise CameraError(f"cannot write packet to {self.path}: {exc}") from exc
        except OSError as exc:
            raise StorageError(f"cannot write {self.path}: {exc}") from exc

    def _raw_aac(self, packet: av.Packet[Any], track: int) -> av.Packet[Any]:
        data = bytes(packet)
        if len(data) < 7 or data[0] != 0xFF or data[1] & 0xF0 != 0xF0:
            return packet  # raw already
        if not self._adts[track]:
            asc = adts_config(data)
            self._adts[track] = asc
            self.learned[track] = asc
            self._streams[track].codec_context.extradata = asc
            if all(self._adts.values()):
                self._flush_pending()
        raw = av.Packet(data[7 if data[1] & 0x01 else 9 :])
        raw.pts, raw.dts, raw.duration = packet.pts, packet.dts, packet.duration
        raw.time_base, raw.is_keyframe = packet.time_base, packet.is_keyframe
        return raw

    def _flush_pending(self) -> None:
        pending, self._pending = self._pending or [], None
        for packet, _track in pending:
            self._mux(packet)

    def end_time(self) -> datetime:
        """Start time plus the time the video packets written so far cover."""
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
        if self._pending is not None:
            self._flush_pending()
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

    def abort(self) -> None:
        """Give up on the file (the disk is full): close what can be closed, write nothing."""
        self._abort()

    def _abort(self) -> None:
        with contextlib.suppress(av.FFmpegError, OSError, ValueError):
            self._out.close()


def finalize(
    root: Path, relpath: Path, start: datetime, end: datetime, packets: int
) -> SegmentResult:
    """Hash a closed segment file and describe it for the index."""
    digest, size = sha256_file(root / relpath)
    return SegmentResult(relpath, start, end, packets, size, digest)


@dataclass(frozen=True)
class ProbedStream:
    """One stream of a segment file as read back."""

    kind: str  # video or audio
    codec: str
    packets: int
    seconds: float
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bit_rate: int | None = None


@dataclass(frozen=True)
class Probe:
    """What a (possibly crash-truncated) segment file holds: the video's span, all packets."""

    seconds: float
    packets: int
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    streams: tuple[ProbedStream, ...] = ()

    @property
    def playable(self) -> bool:
        """At least one video packet can be read back: the file holds footage."""
        return (
            bool(self.streams) and self.streams[0].kind == "video" and self.streams[0].packets > 0
        )


def probe_segment(path: Path) -> Probe:
    """Read back a segment, stopping at a torn last fragment: what it covers and holds."""
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return Probe(0.0, 0)
            streams = [c.streams.video[0], *c.streams.audio]
            counts = [0] * len(streams)
            first: list[int | None] = [None] * len(streams)
            last = [0] * len(streams)
            last_dur = [0] * len(streams)
            position = {s.index: i for i, s in enumerate(streams)}
            try:
                for p in c.demux(streams):
                    i = position[p.stream_index]
                    if p.dts is None or p.size == 0:
                        continue
                    if first[i] is None:
                        first[i] = p.dts
                    last[i] = p.dts
                    last_dur[i] = p.duration or last_dur[i]
                    counts[i] += 1
            except av.FFmpegError:
                pass  # a torn last fragment: everything before it counts
            probed = []
            for i, s in enumerate(streams):
                tb = s.time_base or Fraction(1, 90000)
                f = first[i]
                seconds = 0.0 if f is None else float((last[i] - f + last_dur[i]) * tb)
                ctx = s.codec_context
                if isinstance(ctx, av.video.codeccontext.VideoCodecContext):
                    rate = s.average_rate or s.guessed_rate
                    probed.append(
                        ProbedStream(
                            "video",
                            ctx.name,
                            counts[i],
                            seconds,
                            width=ctx.width or None,
                            height=ctx.height or None,
                            fps=float(rate) if rate else None,
                        )
                    )
                elif isinstance(ctx, av.audio.codeccontext.AudioCodecContext):
                    probed.append(
                        ProbedStream(
                            "audio",
                            ctx.name,
                            counts[i],
                            seconds,
                            sample_rate=ctx.sample_rate or None,
                            channels=ctx.channels or None,
                            bit_rate=ctx.bit_rate or None,
                        )
                    )
            v = probed[0]
            return Probe(v.seconds, sum(counts), v.codec, v.width, v.height, v.fps, tuple(probed))
    except (av.FFmpegError, OSError):
        return Probe(0.0, 0)
