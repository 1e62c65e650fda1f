"""Sources: open a camera URL with PyAV and hand out its packets, untouched.

Schemes: ``rtsp://`` (over TCP), ``http(s)://``, a local file path or ``file://``,
``synthetic://NAME`` (the built-in test camera) and ``gb28181://DEVICE/CHANNEL`` (a channel of
a device registered with the GB/T 28181 platform). Errors are mapped to CameraError.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import av
import av.audio.stream
import av.container
import av.stream
import av.video.stream

from vms.cameras.opened import OpenedSource, redact
from vms.errors import SourceOpenError
from vms.vocab import RtspReader

log = logging.getLogger(__name__)


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


class ChannelOpener(Protocol):
    """Opens a ``gb28181://DEVICE/CHANNEL`` source (owned here, implemented by the GB/T 28181
    package, which builds on this module: no import back)."""

    def open(self, url: str, *, stall_timeout_s: float) -> OpenedSource: ...


def open_source(
    url: str,
    *,
    stall_timeout_s: float = 10.0,
    native_speed: bool = True,
    gb28181: ChannelOpener | None = None,
    rtsp_reader: RtspReader = RtspReader.AUTO,
) -> OpenedSource:
    """Connect to ``url``; raise SourceOpenError with the reason if it cannot be opened.

    ``gb28181`` opens ``gb28181://`` channels (``vms.cameras.gb28181.source.Gb28181Media``,
    given by the worker process when GB/T 28181 is enabled). ``rtsp_reader`` says who reads an
    ``rtsp://`` camera (``vms.vocab.RtspReader``); libavformat reads whatever vms's reader
    (``vms.cameras.rtsp``) cannot.
    """
    kind = source_kind(url)
    if kind == "gb28181":
        if gb28181 is None:
            raise SourceOpenError(f"{url}: GB/T 28181 is not enabled (gb28181.enabled: true)")
        return gb28181.open(url, stall_timeout_s=stall_timeout_s)
    timeout = (max(stall_timeout_s, 5.0), stall_timeout_s)
    try:
        if kind == "synthetic":
            # Lazy: the test camera draws with OpenCV, which a recording worker never loads.
            from vms.cameras.synthetic import SyntheticEncoder, SyntheticSpec

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
            return _open_rtsp(url, stall_timeout_s, rtsp_reader)
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


def _open_rtsp(url: str, stall_timeout_s: float, reader: RtspReader) -> OpenedSource:
    """vms's reader where it reads the camera, else libavformat (av errors to the caller)."""
    unsupported = None
    if reader != RtspReader.FFMPEG and url.lower().startswith("rtsp:"):
        from vms.cameras import rtsp

        try:
            return rtsp.open_rtsp(
                url, stall_timeout_s=stall_timeout_s, sound=reader == RtspReader.VMS, hold=True
            )
        except rtsp.UnsupportedError as exc:
            log.info("%s: read by libavformat: %s", redact(url), exc)
            unsupported = exc
    try:
        # FFmpeg's own socket timeout detects a stall: PyAV's timeout= callback would take
        # the GIL on every read (about 15 % of the CPU per packet with many cameras).
        options = {"rtsp_transport": "tcp", "timeout": str(int(stall_timeout_s * 1e6))}
        container = av.open(url, "r", options=options)
        return OpenedSource(container, url, is_file=False, native_speed=False)
    finally:
        if unsupported is not None:
            unsupported.close_held()  # only now: see rtsp.UnsupportedError
