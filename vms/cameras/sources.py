"""Sources: open a camera URL with PyAV and hand out its packets, untouched.

Schemes: ``rtsp://`` (over TCP), ``http(s)://``, a local file path or ``file://``,
``synthetic://NAME`` (the built-in test camera) and ``gb28181://DEVICE/CHANNEL`` (a channel of
a device registered with the GB/T 28181 platform). Errors are mapped to CameraError.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import av
import av.container
import av.stream
import av.video.stream

from vms.cameras.synthetic import SyntheticEncoder, SyntheticSpec
from vms.errors import SourceEndedError, SourceOpenError, SourceStalledError

if TYPE_CHECKING:
    from vms.cameras.gb28181.source import Gb28181Media


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


def source_kind(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("rtsp", "rtsps"):
        return "rtsp"
    if scheme in ("http", "https"):
        return "http"
    if scheme == "synthetic":
        return "synthetic"
    if scheme == "gb28181":
        return "gb28181"
    if scheme in ("", "file") or len(scheme) == 1:  # len 1: a Windows drive letter
        return "file"
    raise SourceOpenError(f"unsupported source scheme {scheme!r} in {redact(url)}")


@dataclass(frozen=True)
class StreamInfo:
    """What the recorder and the index need to know about a video stream."""

    codec: str
    width: int | None
    height: int | None
    fps: float | None
    time_base: Fraction


class OpenedSource:
    """A connected source: one video stream and an iterator over its packets.

    Packets are the camera's own: never decoded here, never changed. ``native_speed`` paces a
    file at its own frame rate, as a live camera would deliver it.
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
        ctx = self.stream.codec_context
        rate = self.stream.average_rate or self.stream.guessed_rate
        tb = self.stream.time_base or Fraction(1, 90000)
        self.info = StreamInfo(
            codec=ctx.name,
            width=ctx.width or None,
            height=ctx.height or None,
            fps=float(rate) if rate else None,
            time_base=Fraction(tb.numerator, tb.denominator),
        )

    def packets(self) -> Iterator[av.Packet[Any]]:
        """Packets of the video stream with a timestamp; raises CameraError subclasses.

        RTSP readers hand out the first packet of a connection (its keyframe) without a
        timestamp. It is held back and given the one before its successor's, rather than
        dropped: dropping it would lose the whole first GOP of every connection.
        """
        t0: float | None = None
        dts0 = 0
        tb = self.info.time_base
        step = round(1 / (self.info.fps * tb)) if self.info.fps else 0
        held: av.Packet[Any] | None = None
        try:
            for packet in self.container.demux(self.stream):
                if packet.size == 0:
                    continue
                if packet.dts is None:
                    if held is None and packet.is_keyframe:
                        held = packet
                    continue
                if held is not None:
                    before = packet.dts - (packet.duration or step)
                    if step or packet.duration:
                        held.dts = held.pts = before
                        yield held
                    held = None
                if self._native_speed:
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

    def media_stats(self) -> dict[str, int]:
        """Transport counters of this connection (RTP loss for GB/T 28181), if it has any."""
        return {}

    def close(self) -> None:
        with contextlib.suppress(av.FFmpegError, OSError):
            self.container.close()
        if self._closer is not None:
            self._closer.close()


def open_source(
    url: str,
    *,
    stall_timeout_s: float = 10.0,
    native_speed: bool = True,
    gb28181: Gb28181Media | None = None,
) -> OpenedSource:
    """Connect to ``url``; raise SourceOpenError with the reason if it cannot be opened."""
    kind = source_kind(url)
    if kind == "gb28181":
        from vms.cameras.gb28181.source import open_gb28181

        if gb28181 is None or not gb28181.config.enabled:
            raise SourceOpenError(f"{url}: GB/T 28181 is not enabled (gb28181.enabled: true)")
        return open_gb28181(url, gb28181, stall_timeout_s=stall_timeout_s)
    timeout = (max(stall_timeout_s, 5.0), stall_timeout_s)
    try:
        if kind == "synthetic":
            encoder = SyntheticEncoder(SyntheticSpec.parse(url))
            try:
                container = av.open(
                    encoder.reader,
                    "r",
                    format="mpegts",
                    options={"probesize": "32768", "analyzeduration": "0"},
                    timeout=timeout,
                )
            except BaseException:
                encoder.close()
                raise
            return OpenedSource(container, url, is_file=False, native_speed=False, closer=encoder)
        options: dict[str, str] = {}
        target = url
        if kind == "rtsp":
            # FFmpeg's own socket timeout detects a stall: PyAV's timeout= callback would take
            # the GIL on every read (about 15 % of the CPU per packet with many cameras).
            options = {"rtsp_transport": "tcp", "timeout": str(int(stall_timeout_s * 1e6))}
            container = av.open(target, "r", options=options)
            return OpenedSource(container, url, is_file=False, native_speed=False)
        if kind == "file":
            target = urlsplit(url).path if url.startswith("file:") else url
            if not Path(target).is_file():
                raise SourceOpenError(f"{target}: no such file")
        container = av.open(target, "r", options=options, timeout=timeout)
        return OpenedSource(container, url, is_file=kind == "file", native_speed=native_speed)
    except av.FFmpegError as exc:
        raise SourceOpenError(f"{redact(url)}: cannot open: {exc}") from exc
    except OSError as exc:
        raise SourceOpenError(f"{redact(url)}: cannot open: {exc}") from exc
