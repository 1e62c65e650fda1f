"""A built-in camera: a moving test scene with a burned-in UTC clock, encoded to H.264,
optionally with sound: a tone that beeps at every full second of the clock (AAC).

The encoder writes MPEG-TS into a pipe that the worker demuxes exactly like a network camera,
so the demo and the tests exercise the same recording path as a real RTSP camera. The beep
starts on the frame whose burned-in time crosses a second, so picture and sound can be
checked for sync by eye and ear (a clapperboard).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO
from urllib.parse import parse_qs, urlsplit

import av
import cv2
import numpy as np

from vms.errors import SourceOpenError


@dataclass(frozen=True)
class SyntheticSpec:
    """What ``synthetic://NAME?size=WxH&fps=N&gop=N&bitrate=N&audio=tone`` asks for."""

    name: str
    width: int = 640
    height: int = 360
    fps: int = 15
    gop: int = 15
    bitrate: int = 500_000
    audio: str = "none"  # or "tone": an AAC track beeping once a second

    @classmethod
    def parse(cls, url: str) -> SyntheticSpec:
        parts = urlsplit(url)
        if parts.scheme != "synthetic" or not parts.netloc:
            raise SourceOpenError(f"not a synthetic source URL: {url!r} (want synthetic://NAME)")
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            width, height = (int(x) for x in q.get("size", "640x360").split("x"))
            fps = int(q.get("fps", "15"))
            spec = cls(
                name=parts.netloc,
                width=width,
                height=height,
                fps=fps,
                gop=int(q.get("gop", str(fps))),
                bitrate=int(q.get("bitrate", "500000")),
                audio=q.get("audio", "none"),
            )
        except ValueError as exc:
            raise SourceOpenError(f"bad synthetic source options in {url!r}: {exc}") from exc
        if spec.audio not in ("none", "tone"):
            raise SourceOpenError(f"synthetic audio must be none or tone: {url!r}")
        if spec.width % 2 or spec.height % 2 or not 0 < spec.fps <= 60:
            raise SourceOpenError(f"synthetic size must be even and fps in 1..60: {url!r}")
        return spec


#: The burned-in clock in machine form too: a strip of black and white blocks along the
#: bottom, the frame's time in ms since 1970 (big-endian, a white guard block at each end),
#: so a test can read the clock of what a video element shows (``read_timecode``).
TIMECODE_BITS = 42


def _timecode_geometry(width: int, height: int) -> tuple[int, int]:
    """(block size, top row) of the strip."""
    block = max(4, width // (TIMECODE_BITS + 4))
    return block, height - block - 2


def draw_timecode(img: np.ndarray, when: datetime) -> None:
    h, w = img.shape[:2]
    block, top = _timecode_geometry(w, h)
    ms = int(when.timestamp() * 1000)
    bits = [1] + [(ms >> (TIMECODE_BITS - 1 - i)) & 1 for i in range(TIMECODE_BITS)] + [1]
    for i, bit in enumerate(bits):
        x = block * (i + 1)
        img[top : top + block, x : x + block] = 255 if bit else 0


def read_timecode(img: np.ndarray) -> datetime | None:
    """The time ``draw_timecode`` wrote into a (decoded) frame, or None if it is not there."""
    h, w = img.shape[:2]
    block, top = _timecode_geometry(w, h)
    grey = img.mean(axis=2) if img.ndim == 3 else img
    cy = top + block // 2
    bits = [int(grey[cy, block * (i + 1) + block // 2] > 127) for i in range(TIMECODE_BITS + 2)]
    if bits[0] != 1 or bits[-1] != 1:
        return None
    ms = 0
    for bit in bits[1:-1]:
        ms = (ms << 1) | bit
    return datetime.fromtimestamp(ms / 1000, UTC)


def draw_frame(spec: SyntheticSpec, index: int, when: datetime) -> np.ndarray:
    """One BGR test frame: a gradient, a moving box and the time it was made."""
    h, w = spec.height, spec.width
    img = np.empty((h, w, 3), dtype=np.uint8)
    img[:, :, 0] = np.linspace(40, 120, w, dtype=np.uint8)[None, :]
    img[:, :, 1] = np.linspace(30, 90, h, dtype=np.uint8)[:, None]
    img[:, :, 2] = 60
    period = spec.fps * 8
    phase = (index % period) / period
    x = int((w - w // 6) * abs(2 * phase - 1))
    y = h // 2 - h // 12 + int(h // 6 * np.sin(phase * 2 * np.pi))
    cv2.rectangle(img, (x, y), (x + w // 6, y + h // 6), (0, 200, 255), -1)
    scale = max(0.4, w / 1280)
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d} UTC"
    for text, row in ((spec.name, 1), (stamp, 2), (f"frame {index}", 3)):
        org = (10, int(30 * scale * row * 1.4))
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1)
    draw_timecode(img, when)
    return img


AUDIO_RATE = 16000
BEEP_S = 0.1  # the beep at each full second
TONE_HZ = 1000.0


def tone(start_sample: int, count: int, rate: int = AUDIO_RATE) -> np.ndarray:
    """``count`` samples (s16, mono) of the synthetic sound from sample ``start_sample``:
    a quiet 250 Hz hum with a 1 kHz beep in the first 100 ms of every second."""
    n = np.arange(start_sample, start_sample + count)
    t = n / rate
    hum = 0.05 * np.sin(2 * np.pi * 250.0 * t)
    beep = np.where((n % rate) < BEEP_S * rate, 0.5 * np.sin(2 * np.pi * TONE_HZ * t), 0.0)
    return ((hum + beep) * 32767).astype(np.int16)[None, :]


class SyntheticEncoder:
    """Encodes the test scene in real time into a pipe; ``reader`` is the pipe's read end."""

    def __init__(self, spec: SyntheticSpec) -> None:
        self.spec = spec
        rfd, wfd = os.pipe()
        self.reader: IO[bytes] = os.fdopen(rfd, "rb", buffering=0)
        self._writer: IO[bytes] = os.fdopen(wfd, "wb")
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"synthetic-{spec.name}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        spec = self.spec
        try:
            # Every audio frame in its own PES packet: nothing waits in the muxer.
            with av.open(
                self._writer, "w", format="mpegts", options={"pes_payload_size": "0"}
            ) as out:
                stream = out.add_stream("libx264", rate=spec.fps)
                stream.width, stream.height = spec.width, spec.height
                stream.pix_fmt = "yuv420p"
                stream.bit_rate = spec.bitrate
                stream.codec_context.gop_size = spec.gop
                stream.codec_context.options = {
                    "preset": "ultrafast",
                    "tune": "zerolatency",
                    "bf": "0",
                    "keyint_min": str(spec.gop),
                    "sc_threshold": "0",
                }
                sound = None
                if spec.audio == "tone":
                    sound = out.add_stream("aac", rate=AUDIO_RATE)
                    sound.layout = "mono"
                    sound.bit_rate = 32000
                # Each frame shows the time it was due, as a camera's picture shows when its
                # sensor took it: on a loaded machine a frame drawn late is still stamped on
                # the camera's steady clock (its lateness is the delivery's, as a network's).
                t0, wall0 = time.monotonic(), datetime.now(UTC)
                index = samples = 0
                while not self._stop.is_set():
                    due = t0 + index / spec.fps
                    delay = due - time.monotonic()
                    if delay > 0:
                        self._stop.wait(delay)
                    img = draw_frame(spec, index, wall0 + timedelta(seconds=index / spec.fps))
                    frame = av.VideoFrame.from_ndarray(img, format="bgr24")
                    frame.pts = index
                    for packet in stream.encode(frame):
                        out.mux(packet)
                    self._writer.flush()  # the frame reaches the reader now, as a camera's would
                    index += 1
                    if sound is not None:
                        upto = index * AUDIO_RATE // spec.fps
                        chunk = av.AudioFrame.from_ndarray(
                            tone(samples, upto - samples), format="s16", layout="mono"
                        )
                        chunk.sample_rate, chunk.pts = AUDIO_RATE, samples
                        samples = upto
                        for packet in sound.encode(chunk):
                            out.mux(packet)
        except (OSError, ValueError, av.FFmpegError):
            pass  # the reader went away: the worker closed this source
        finally:
            with contextlib.suppress(OSError):
                self._writer.close()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.reader.close()
        self._thread.join(timeout=5)
