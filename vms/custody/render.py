"""The court copy's picture and sound: recorded segments decoded into one picture-in-picture
video with the recording time burned in, as H.264 + AAC in plain MP4.

    main camera's segments  -> Sampler ┐
    inset camera's segments -> Sampler ┼-> compose (frames, time, holes) -> libx264 ┐
    microphone's segments   -> SoundBuffer (48 kHz mono) ------------------> AAC ---┴-> MP4

The output's timeline is the interview's: frame n shows the recording at start + n / fps, so
its duration is the interview's and a hole in the recording stays a hole of the same length,
shown as a slate naming its times (a picture gap) or a banner (no sound). The text is drawn
with OpenCV: PyAV's FFmpeg has no drawtext filter, and Hershey fonts need no font file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import av
import av.container
import cv2
import numpy as np
import numpy.typing as npt

from vms.custody.config import CourtCopyConfig
from vms.errors import StorageError
from vms.vocab import Subsystem

SAMPLE_RATE = 48_000
AUDIO_FRAME = 1024
DEFAULT_SIZE = (1280, 720)
Image = npt.NDArray[np.uint8]
Samples = npt.NDArray[np.float32]
Progress = Callable[[float, float], None]
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WHITE = (255, 255, 255)
_YELLOW = (0, 220, 255)
_RED = (0, 0, 200)


@dataclass(frozen=True)
class Footage:
    """One segment file of a camera and the time its first packet was recorded."""

    path: Path
    start: datetime


@dataclass(frozen=True)
class Hole:
    """A time with no picture (or no sound) in the recording, and why."""

    start: datetime
    end: datetime
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class CameraInput:
    """A camera of the court copy: its segments in time order and its holes."""

    camera_id: str
    segments: Sequence[Footage]
    holes: Sequence[Hole] = ()


@dataclass(frozen=True)
class RenderJob:
    """What to render: the interview's span, the two pictures, the sound, the captions."""

    start: datetime
    end: datetime
    main: CameraInput
    inset: CameraInput | None
    microphone: CameraInput | None
    #: Times without sound on the microphone camera (audio gaps, picture gaps, no audio stream).
    sound_holes: Sequence[Hole]
    title: str
    footer: str
    settings: CourtCopyConfig = field(default_factory=CourtCopyConfig)
    timezone: str = "Asia/Shanghai"  # of the local time burned in beside UTC


@dataclass(frozen=True)
class RenderResult:
    path: Path
    seconds: float
    frames: int
    width: int
    height: int
    fps: float
    slate_frames: int
    silent_seconds: float


# -- reading the recordings ------------------------------------------------------------------


def _offset(at: datetime, start: datetime) -> float:
    return (at - start).total_seconds()


def video_frames(cam: CameraInput, start: datetime) -> Iterator[tuple[float, av.VideoFrame]]:
    """Every decoded picture of the camera with its time (seconds from ``start``)."""
    for seg in cam.segments:
        base = _offset(seg.start, start)
        try:
            with av.open(str(seg.path)) as c:
                if not c.streams.video:
                    continue
                stream = c.streams.video[0]
                stream.thread_type = "AUTO"
                tb = stream.time_base or Fraction(1, 90000)
                with contextlib.suppress(av.FFmpegError):  # a torn last fragment ends it
                    for frame in c.decode(stream):
                        if frame.pts is not None:
                            yield base + float(frame.pts * tb), frame
        except av.FFmpegError:
            continue  # unreadable: its time shows as it is, without picture


def sound_chunks(cam: CameraInput, start: datetime) -> Iterator[tuple[int, Samples]]:
    """The camera's first audio stream, decoded to 48 kHz mono: (first sample, samples)."""
    for seg in cam.segments:
        base = _offset(seg.start, start)
        try:
            with av.open(str(seg.path)) as c:
                if not c.streams.audio:
                    continue
                stream = c.streams.audio[0]
                tb = stream.time_base or Fraction(1, stream.sample_rate or SAMPLE_RATE)
                resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
                at: int | None = None  # where the resampler's next output goes
                expected = 0.0
                with contextlib.suppress(av.FFmpegError):
                    for frame in c.decode(stream):
                        if frame.pts is None:
                            continue
                        t = base + float(frame.pts * tb)
                        if at is None or abs(t - expected) > 0.1:  # a jump: place it anew
                            at = round(t * SAMPLE_RATE)
                        expected = t + frame.samples / (frame.sample_rate or SAMPLE_RATE)
                        for out in resampler.resample(frame):
                            data = out.to_ndarray().reshape(-1).astype(np.float32)
                            yield at, data
                            at += len(data)
        except av.FFmpegError:
            continue


class Sampler:
    """The picture a camera showed at a time: the newest frame at or before it."""

    def __init__(self, frames: Iterator[tuple[float, av.VideoFrame]], size: tuple[int, int]):
        self._frames = frames
        self._size = size
        self._next: tuple[float, av.VideoFrame] | None = next(frames, None)
        self._current: av.VideoFrame | None = None
        self._image: Image | None = None

    def at(self, t: float) -> Image | None:
        while self._next is not None and self._next[0] <= t:
            self._current = self._next[1]
            self._image = None
            self._next = next(self._frames, None)
        if self._current is None:
            return None
        if self._image is None:
            w, h = self._size
            image = self._current.to_ndarray(format="bgr24", width=w, height=h)
            self._image = np.asarray(image, dtype=np.uint8)
        return self._image


class SoundBuffer:
    """The microphone's samples on the output's sample clock; silence where there are none."""

    def __init__(self, chunks: Iterator[tuple[int, Samples]]) -> None:
        self._chunks = chunks
        self._pending: list[tuple[int, Samples]] = []
        self._done = False

    def take(self, a: int, b: int) -> tuple[Samples, int]:
        """Samples [a, b) and how many of them were recorded (the rest is silence)."""
        while not self._done and (not self._pending or self._pending[-1][0] < b):
            chunk = next(self._chunks, None)
            if chunk is None:
                self._done = True
            else:
                self._pending.append(chunk)
        out = np.zeros(b - a, dtype=np.float32)
        covered = np.zeros(b - a, dtype=bool)
        keep = []
        for s, data in self._pending:
            e = s + len(data)
            lo, hi = max(a, s), min(b, e)
            if lo < hi:
                out[lo - a : hi - a] = data[lo - s : hi - s]
                covered[lo - a : hi - a] = True
            if e > b:
                keep.append((s, data))
        self._pending = keep
        return out, int(covered.sum())


# -- drawing ---------------------------------------------------------------------------------


def even(n: float) -> int:
    return max(2, round(n / 2) * 2)


def output_size(width: int, height: int, max_height: int) -> tuple[int, int]:
    if not width or not height:
        return DEFAULT_SIZE
    scale = min(1.0, max_height / height)
    return even(width * scale), even(height * scale)


def _text(img: Image, text: str, org: tuple[int, int], scale: float, color: Any = _WHITE) -> None:
    thick = max(1, round(scale * 2))
    cv2.putText(img, text, org, _FONT, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, _FONT, scale, color, thick, cv2.LINE_AA)


def _box(img: Image, lines: Sequence[str], x: int, y: int, scale: float, color: Any) -> int:
    """Lines on a solid box from (x, y) down; returns the box's bottom."""
    thick = max(1, round(scale * 2))
    sizes = [cv2.getTextSize(s, _FONT, scale, thick)[0] for s in lines]
    pad = max(3, round(8 * scale))
    line_h = max(h for _w, h in sizes) + pad
    width = max(w for w, _h in sizes) + 2 * pad
    bottom = y + line_h * len(lines) + pad
    cv2.rectangle(img, (x, y), (x + width, bottom), color, -1)
    for i, s in enumerate(lines):
        cv2.putText(
            img, s, (x + pad, y + line_h * (i + 1)), _FONT, scale, _WHITE, thick, cv2.LINE_AA
        )
    return bottom


@dataclass(frozen=True)
class Clock:
    """The recording time as burned in: UTC and the site's local time."""

    start: datetime
    zone: ZoneInfo

    def lines(self, t: float) -> tuple[str, str]:
        at = self.start + timedelta(seconds=t)
        local = at.astimezone(self.zone)
        off = local.strftime("%z")
        return (
            f"{at:%Y-%m-%d %H:%M:%S} UTC",
            f"{local:%Y-%m-%d %H:%M:%S} {self.zone.key} (UTC{off[:3]}:{off[3:]})",
        )

    def span(self, hole: Hole) -> tuple[str, str]:
        a, b = hole.start, hole.end
        la, lb = a.astimezone(self.zone), b.astimezone(self.zone)
        secs = (b - a).total_seconds()
        return (
            f"{a:%Y-%m-%d %H:%M:%S} - {b:%H:%M:%S} UTC ({secs:.1f} s)",
            f"{la:%Y-%m-%d %H:%M:%S} - {lb:%H:%M:%S} {self.zone.key}",
        )


@dataclass(frozen=True)
class Overlay:
    """What the picture at one instant says besides the cameras' images."""

    time: tuple[str, str]
    main_label: str
    inset_label: str | None
    title: str
    footer: str
    slate: Sequence[str] = ()
    inset_missing: bool = False
    no_sound: str | None = None


def compose(
    size: tuple[int, int],
    main: Image | None,
    inset: Image | None,
    inset_box: tuple[int, int, int, int] | None,
    ov: Overlay,
) -> Image:
    """The court copy's picture at one instant (a pure function of its inputs)."""
    w, h = size
    img = main.copy() if main is not None and not ov.slate else np.zeros((h, w, 3), np.uint8)
    scale = h / 900
    if ov.slate:  # under the inset, each line scaled down to fit the width
        top = inset_box[1] + inset_box[3] if inset_box and inset_box[1] < h // 2 else 0
        y = max(h // 3, top + round(70 * scale))
        for i, line in enumerate(ov.slate):
            font = scale * (1.4 if i == 0 else 1.0)
            width = cv2.getTextSize(line, _FONT, font, max(1, round(font * 2)))[0][0]
            font *= min(1.0, w * 0.9 / max(1, width))
            _text(img, line, (w // 20, y), font, _YELLOW if i == 0 else _WHITE)
            y += round(55 * scale * (1.3 if i == 0 else 1.0))
    if inset_box is not None:
        x, y, iw, ih = inset_box
        if inset is not None and not ov.inset_missing:
            img[y : y + ih, x : x + iw] = inset
        else:
            img[y : y + ih, x : x + iw] = 0
            _text(img, "NO PICTURE", (x + iw // 8, y + ih // 2), scale * 1.1, _YELLOW)
        cv2.rectangle(img, (x - 1, y - 1), (x + iw, y + ih), _WHITE, max(1, round(scale * 2)))
        if ov.inset_label:
            _text(img, ov.inset_label, (x + 4, y + ih - round(10 * scale)), scale * 0.8)
    bottom = _box(img, ov.time, 0, 0, scale * 1.2, (0, 0, 0))
    _text(img, ov.main_label, (round(8 * scale), bottom + round(30 * scale)), scale * 0.8)
    if ov.no_sound:
        _box(img, [ov.no_sound], round(8 * scale), h - round(120 * scale), scale * 0.9, _RED)
    footer = [ov.title, ov.footer]
    thick = max(1, round(scale * 1.5))
    line_h = cv2.getTextSize("Ag", _FONT, scale * 0.7, thick)[0][1] + round(10 * scale)
    _box(img, footer, 0, h - line_h * 2 - round(10 * scale), scale * 0.7, (40, 40, 40))
    return img


def inset_geometry(
    size: tuple[int, int], inset_size: tuple[int, int] | None, cfg: CourtCopyConfig
) -> tuple[int, int, int, int]:
    w, h = size
    iw0, ih0 = inset_size or (16, 9)
    iw = even(w * cfg.inset_width)
    ih = even(iw * ih0 / iw0)
    margin = even(w * 0.015)
    x = w - iw - margin if cfg.inset_corner.endswith("right") else margin
    y = margin if cfg.inset_corner.startswith("top") else h - ih - margin - even(h * 0.1)
    return x, y, iw, ih


def _hole_at(holes: Sequence[Hole], start: datetime, t: float) -> Hole | None:
    at = start + timedelta(seconds=t)
    return next((g for g in holes if g.start <= at < g.end), None)


def _first_size(cam: CameraInput | None) -> tuple[int, int] | None:
    for seg in cam.segments if cam else ():
        with contextlib.suppress(av.FFmpegError, IndexError), av.open(str(seg.path)) as c:
            ctx = c.streams.video[0].codec_context
            if ctx.width and ctx.height:
                return ctx.width, ctx.height
    return None


def _first_rate(cam: CameraInput) -> float | None:
    for seg in cam.segments:
        with contextlib.suppress(av.FFmpegError, IndexError), av.open(str(seg.path)) as c:
            rate = c.streams.video[0].average_rate or c.streams.video[0].guessed_rate
            if rate:
                return float(rate)
    return None


# -- the whole render ------------------------------------------------------------------------


def render(job: RenderJob, out: Path, progress: Progress | None = None) -> RenderResult:
    """Render the court copy to ``out`` (written to a temporary name, renamed when done)."""
    cfg = job.settings
    seconds = max(0.0, _offset(job.end, job.start))
    fps = cfg.fps or _first_rate(job.main) or 25.0
    rate = Fraction(fps).limit_denominator(1001)
    main_size = _first_size(job.main)
    size = output_size(*(main_size or (0, 0)), cfg.max_height)
    inset_src = _first_size(job.inset) if job.inset else None
    inset_box = inset_geometry(size, inset_src, cfg) if job.inset else None
    clock = Clock(job.start, ZoneInfo(job.timezone))
    main = Sampler(video_frames(job.main, job.start), size)
    inset = (
        Sampler(video_frames(job.inset, job.start), inset_box[2:])
        if job.inset and inset_box
        else None
    )
    sound = SoundBuffer(sound_chunks(job.microphone, job.start) if job.microphone else iter(()))
    frames = round(seconds * rate)
    partial = out.with_name(out.name + ".partial")
    slates = silent = 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(partial), "w", format="mp4", options={"movflags": "+faststart"})
    except (OSError, av.FFmpegError) as exc:
        raise StorageError(f"cannot write {out}: {exc}", subsystem=Subsystem.CUSTODY) from exc
    try:
        with container:
            video, audio = _streams(container, rate, size, cfg)
            container.metadata["title"] = job.title
            container.metadata["comment"] = job.footer
            written = 0
            for n in range(frames):
                t = float(n / rate)
                ov, slate = _overlay(
                    job, clock, t, sound_hole=_hole_at(job.sound_holes, job.start, t)
                )
                main_img = main.at(t)
                inset_img = inset.at(t) if inset else None
                slates += int(bool(slate))
                img = compose(size, main_img, inset_img, inset_box, ov)
                vf = av.VideoFrame.from_ndarray(img, format="bgr24")
                vf.pts = n
                vf.time_base = 1 / rate
                container.mux(video.encode(vf))
                upto = round(float((n + 1) / rate) * SAMPLE_RATE)
                while written + AUDIO_FRAME <= upto or (n == frames - 1 and written < upto):
                    count = min(AUDIO_FRAME, upto - written) if n == frames - 1 else AUDIO_FRAME
                    data, heard = sound.take(written, written + count)
                    silent += count - heard
                    af = av.AudioFrame.from_ndarray(
                        data.reshape(1, -1), format="flt", layout="mono"
                    )
                    af.sample_rate = SAMPLE_RATE
                    af.pts = written
                    af.time_base = Fraction(1, SAMPLE_RATE)
                    container.mux(audio.encode(af))
                    written += count
                if progress is not None and (n % max(1, round(fps)) == 0 or n == frames - 1):
                    progress(float((n + 1) / rate), seconds)
            container.mux(video.encode(None))
            container.mux(audio.encode(None))
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return RenderResult(
        out, seconds, frames, size[0], size[1], float(rate), slates, silent / SAMPLE_RATE
    )


def _streams(
    container: av.container.OutputContainer,
    rate: Fraction,
    size: tuple[int, int],
    cfg: CourtCopyConfig,
) -> tuple[Any, Any]:
    gop = max(1, round(float(rate) * 2))
    video = container.add_stream(
        "libx264", rate=rate, options={"crf": str(cfg.crf), "preset": cfg.preset, "g": str(gop)}
    )
    video.width, video.height = size
    video.pix_fmt = "yuv420p"
    audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
    audio.bit_rate = cfg.audio_bitrate
    return video, audio


def _overlay(
    job: RenderJob, clock: Clock, t: float, sound_hole: Hole | None
) -> tuple[Overlay, bool]:
    gap = _hole_at(job.main.holes, job.start, t)
    slate: list[str] = []
    if gap is not None:
        slate = [
            f"RECORDING GAP: NO PICTURE FROM CAMERA {job.main.camera_id}",
            *clock.span(gap),
            "reason: " + ("; ".join(gap.reasons) or "not recorded"),
        ]
    inset_gap = _hole_at(job.inset.holes, job.start, t) if job.inset else None
    no_sound = None
    if sound_hole is not None:
        a, _b = clock.span(sound_hole)
        why = "; ".join(sound_hole.reasons) or "not recorded"
        no_sound = f"NO SOUND {a} - {why}"
    elif job.microphone is None:
        no_sound = "NO SOUND: no microphone camera"
    ov = Overlay(
        time=clock.lines(t),
        main_label=f"camera {job.main.camera_id}",
        inset_label=f"camera {job.inset.camera_id}" if job.inset else None,
        title=job.title,
        footer=job.footer,
        slate=slate,
        inset_missing=inset_gap is not None,
        no_sound=no_sound,
    )
    return ov, bool(slate)
