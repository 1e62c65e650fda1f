"""A connected source: its streams as the recorder sees them, and its packets, untouched.

``vms.cameras.sources.open_source`` makes one for each kind of URL; ``vms.cameras.rtsp`` and
``vms.cameras.gb28181.source`` read their own transports and hand out the same thing. A leaf
under both, so that neither imports the other's opener.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import av
import av.audio.stream
import av.container
import av.stream
import av.video.stream

from vms.cameras.timeline import PacketTimeline, Verdict
from vms.errors import SourceEndedError, SourceOpenError, SourceStalledError


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``, safe for logs and the database."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else host
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class StreamInfo:
    """What the recorder and the index need to know about one stream (video or audio)."""

    codec: str
    width: int | None
    height: int | None
    fps: float | None
    time_base: Fraction
    kind: str = "video"  # or "audio"
    sample_rate: int | None = None
    channels: int | None = None
    bit_rate: int | None = None
    extradata: bytes | None = None


def video_info(stream: av.video.stream.VideoStream) -> StreamInfo:
    ctx = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate
    tb = stream.time_base or Fraction(1, 90000)
    return StreamInfo(
        codec=ctx.name,
        width=ctx.width or None,
        height=ctx.height or None,
        fps=float(rate) if rate else None,
        time_base=Fraction(tb.numerator, tb.denominator),
        extradata=ctx.extradata,
    )


def audio_info(stream: av.audio.stream.AudioStream) -> StreamInfo:
    ctx = stream.codec_context
    rate = ctx.sample_rate or None
    tb = stream.time_base or (Fraction(1, rate) if rate else Fraction(1, 90000))
    return StreamInfo(
        codec=ctx.name,
        width=None,
        height=None,
        fps=None,
        time_base=Fraction(tb.numerator, tb.denominator),
        kind="audio",
        sample_rate=rate,
        channels=ctx.channels or None,
        bit_rate=ctx.bit_rate or None,
        extradata=ctx.extradata,
    )


class OpenedSource:
    """A connected source: its video stream and audio streams, and their packets.

    Packets are the camera's own: never decoded here, never changed. ``native_speed`` paces a
    file at its own frame rate, as a live camera would deliver it. ``tracks`` lists what is
    recorded: the (first) video stream, then every audio stream with a known codec.
    """

    def __init__(
        self,
        container: av.container.InputContainer,
        url: str,
        *,
        is_file: bool,
        native_speed: bool,
        closer: Any = None,
    ) -> None:
        self.container = container
        self.url = url
        self.is_file = is_file
        self._native_speed = native_speed and is_file
        self._closer = closer
        if not container.streams.video:
            self.close()
            raise SourceOpenError(f"{redact(url)}: no video stream")
        self.stream: av.video.stream.VideoStream = container.streams.video[0]
        self.info = video_info(self.stream)
        self.audio_streams = [
            a for a in container.streams.audio if a.codec_context.name not in ("", "none")
        ]
        self.streams: list[av.stream.Stream] = [self.stream, *self.audio_streams]
        self.tracks: list[StreamInfo] = [self.info, *map(audio_info, self.audio_streams)]
        #: The track of each container stream index (-1: not recorded).
        self.track_of = [-1] * len(container.streams)
        for track, stream in enumerate(self.streams):
            self.track_of[stream.index] = track

    def demux(self) -> Iterator[av.Packet[Any]]:
        """Every packet of the recorded tracks, as it comes; raises CameraError subclasses.

        Timestamps are the camera's, possibly missing (see ``vms.cameras.timeline``).
        """
        t0: float | None = None
        dts0 = 0
        tb = self.info.time_base
        video = self.stream.index
        try:
            for packet in self.container.demux(self.streams):
                if packet.size == 0:
                    continue
                if self._native_speed and packet.dts is not None and packet.stream_index == video:
                    if t0 is None:
                        t0, dts0 = time.monotonic(), packet.dts
                    delay = t0 + float((packet.dts - dts0) * tb) - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                yield packet
        except av.error.ExitError as exc:
            raise SourceStalledError(f"{redact(self.url)}: no data within the timeout") from exc
        except (av.FFmpegError, OSError) as exc:
            raise SourceEndedError(f"{redact(self.url)}: stream error: {exc}") from exc
        raise SourceEndedError(f"{redact(self.url)}: end of stream")

    def tracked(self) -> Iterator[tuple[int, av.Packet[Any]]]:
        """``demux``'s packets with the track each belongs to (0: the video)."""
        track_of = self.track_of
        for packet in self.demux():
            yield track_of[packet.stream_index], packet

    def packets(self) -> Iterator[av.Packet[Any]]:
        """The video packets from the first keyframe on, every one with a timestamp.

        For readers that want the picture only (live view, tests): the recorder's timeline
        places them (it dates the first keyframe of a connection, which RTSP readers hand out
        without a timestamp) and each packet carries the timeline's DTS and PTS.
        """
        timeline: PacketTimeline[av.Packet[Any]] = PacketTimeline(
            [self.info.time_base], fps=self.info.fps, segment_s=None
        )
        for track, packet in self.tracked():
            if track:
                continue
            dts = packet.dts
            verdict = timeline.feed(packet, 0, dts, packet.is_keyframe, packet.duration or 0, 0.0)
            for r in timeline.released:
                if r.verdict is Verdict.WRITE:
                    r.item.pts = r.item.dts = r.tick
                    yield r.item
            if verdict is Verdict.WRITE:
                if dts is not None and packet.pts is not None:
                    packet.pts += timeline.tick - dts
                else:
                    packet.pts = timeline.tick
                packet.dts = timeline.tick
                yield packet

    def media_stats(self) -> dict[str, int]:
        """Transport counters of this connection (RTP loss for GB/T 28181), if it has any."""
        return {}

    def close(self) -> None:
        with contextlib.suppress(av.FFmpegError, OSError):
            self.container.close()
        if self._closer is not None:
            self._closer.close()
