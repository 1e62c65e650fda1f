"""Viewing copies: a recorded segment a browser cannot play as it is, made playable for the
viewer who asks, on demand. Never the evidence: the segment file is served as recorded
whenever the browser plays it, and a viewing copy says what it is.

    plan = viewing_plan(streams, ".mov", browser_hevc=False)    # pure: what must change
    plan.needed                                                   # False: serve the original
    path = ViewingCopies(root / "cache" / "viewing", cap).get(source, key, plan)

What a browser plays (Chromium, checked by tests/web/test_browser.py): MP4 and MOV holding
H.264 with AAC, Opus, MP3 or G.711 (A-law / µ-law); H.265 only where the platform has a
decoder (the page asks the browser: ``canPlayType``). Not NUT, not G.726. A copy changes only
what must change: the video is copied unless it is H.265 for a browser without a decoder
(then libx264), the audio is copied unless the browser cannot decode it (then AAC). It is a
plain MP4 (moov first, for seeking), tagged as a viewing copy with the original's SHA-256,
kept in a bounded cache beside (never inside) the recordings.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.container

from vms.db.models import SegmentStream
from vms.errors import StorageError
from vms.vocab import Subsystem

NOTE = "transcoded for viewing; the evidence is the original"
BROWSER_VIDEO = frozenset({"h264"})
BROWSER_AUDIO = frozenset({"aac", "opus", "mp3", "pcm_alaw", "pcm_mulaw"})
BROWSER_CONTAINERS = frozenset({".mp4", ".mov"})
MP4_AUDIO = frozenset({"aac", "opus", "mp3"})
AUDIO_RATE = 48_000
#: G.726 decoders need the code size, which PyAV cannot set: FFmpeg's raw G.726 demuxer can.
G726 = {"adpcm_g726": "g726", "g726": "g726", "adpcm_g726le": "g726le", "g726le": "g726le"}


@dataclass(frozen=True)
class ViewingPlan:
    """What a viewing copy changes: ``video`` copy or h264, ``audio`` copy, aac or none."""

    video: str = "copy"
    audio: str = "copy"
    remux: bool = False  # the container is one the browser does not read
    #: G.726's bits per sample, which no container keeps (the index does: bit_rate / rate).
    code_size: int | None = None

    @property
    def needed(self) -> bool:
        return self.remux or self.video != "copy" or self.audio not in ("copy", "none")

    @property
    def variant(self) -> str:
        return f"{self.video}-{self.audio}"


def viewing_plan(
    streams: Sequence[SegmentStream], suffix: str, *, browser_hevc: bool
) -> ViewingPlan:
    """What the browser needs changed to play a segment with ``streams`` (pure)."""
    video = next((s.codec for s in streams if s.kind == "video"), "h264")
    sound = next((s for s in streams if s.kind == "audio"), None)
    audio = sound.codec if sound else None
    plays_video = video in BROWSER_VIDEO or (video == "hevc" and browser_hevc)
    code_size = None
    if sound is not None and audio in G726 and sound.bit_rate and sound.sample_rate:
        code_size = round(sound.bit_rate / sound.sample_rate)
    plan = ViewingPlan(
        video="copy" if plays_video else "h264",
        audio="none" if audio is None else ("copy" if audio in BROWSER_AUDIO else "aac"),
        remux=suffix.lower() not in BROWSER_CONTAINERS,
        code_size=code_size,
    )
    if plan.needed and plan.audio == "copy" and audio not in MP4_AUDIO:
        # The copy is an MP4, which refuses G.711: its sound is AAC then too.
        plan = replace(plan, audio="aac")
    return plan


def probe_streams(path: Path) -> list[SegmentStream]:
    """The streams of a file indexed without them (body-worn files, older segments)."""
    try:
        with av.open(str(path)) as c:
            out = [
                SegmentStream(
                    index=st.index,
                    kind=st.type,
                    codec=st.codec_context.name,
                    sample_rate=getattr(st.codec_context, "sample_rate", None),
                    bit_rate=st.codec_context.bit_rate or None,
                )
                for st in c.streams
                if st.type in ("video", "audio")
            ]
    except av.FFmpegError:
        return []
    return out


@dataclass(frozen=True)
class ViewingCopy:
    path: Path
    plan: ViewingPlan
    made: bool  # False: it was in the cache


class ViewingCopies:
    """The cache of viewing copies: one per segment and variant, made once, the oldest
    removed when the cache grows past ``cap_bytes``."""

    def __init__(self, folder: Path, cap_bytes: int) -> None:
        self.folder = folder
        self.cap_bytes = cap_bytes
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, source: Path, key: str, plan: ViewingPlan, note: str) -> ViewingCopy:
        """The viewing copy of ``source`` for ``plan`` (``key``: segment id and hash)."""
        name = f"{key}-{plan.variant}.mp4"
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            path = self.folder / name
            if path.is_file():
                path.touch()  # recently used
                return ViewingCopy(path, plan, made=False)
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create {self.folder}: {exc}") from exc
            partial = path.with_name(name + ".partial")
            try:
                make_viewing_copy(source, partial, plan, note)
                partial.replace(path)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            self._evict(keep=path)
            return ViewingCopy(path, plan, made=True)

    def _evict(self, keep: Path) -> None:
        files = sorted(
            (p for p in self.folder.glob("*.mp4") if p != keep),
            key=lambda p: p.stat().st_mtime,
        )
        total = sum(p.stat().st_size for p in files) + keep.stat().st_size
        for p in files:
            if total <= self.cap_bytes:
                break
            with contextlib.suppress(OSError):
                size = p.stat().st_size
                p.unlink()
                total -= size


def make_viewing_copy(source: Path, out: Path, plan: ViewingPlan, note: str) -> None:
    """Write the viewing copy of ``source`` to ``out`` (a plain MP4)."""
    try:
        with av.open(str(source)) as inp:
            v_in = inp.streams.video[0]
            a_in = inp.streams.audio[0] if inp.streams.audio and plan.audio != "none" else None
            with av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as outp:
                outp.metadata["comment"] = note
                v_out, v_dec = _video_stream(outp, v_in, plan)
                a_out, a_dec = _audio_stream(outp, a_in, plan)
                g726 = a_in is not None and a_in.codec_context.name in G726
                if g726 and a_out is not None and a_dec is not None:
                    _g726(outp, source, a_in, a_out, a_dec[1], plan.code_size or 4)
                    a_dec = a_out = None
                streams = [v_in, *([a_in] if a_in is not None and not g726 else [])]
                for packet in inp.demux(streams):
                    if packet.size == 0:  # the demuxer's end-of-stream marker
                        continue
                    if packet.stream is v_in:
                        _video_packet(outp, packet, v_in, v_out, v_dec)
                    elif a_out is not None:
                        _audio_packet(outp, packet, a_out, a_dec)
                if v_dec is not None:
                    for frame in v_dec.decode(None):  # the pictures the decoder still holds
                        outp.mux(v_out.encode(frame))
                    outp.mux(v_out.encode(None))
                if a_dec is not None and a_out is not None:
                    for frame in a_dec[1].resample(None):
                        outp.mux(a_out.encode(frame))
                    outp.mux(a_out.encode(None))
    except (av.FFmpegError, IndexError) as exc:
        raise StorageError(
            f"cannot make a viewing copy of {source.name}: {exc}", subsystem=Subsystem.WEB
        ) from exc
    except OSError as exc:
        raise StorageError(f"cannot write the viewing copy {out}: {exc}") from exc


def _video_stream(
    outp: av.container.OutputContainer, v_in: Any, plan: ViewingPlan
) -> tuple[Any, Any]:
    if plan.video == "copy":
        v_out = outp.add_stream_from_template(v_in)
        v_out.time_base = v_in.time_base
        return v_out, None
    rate = v_in.average_rate or v_in.guessed_rate or Fraction(25)
    v_out = outp.add_stream(
        "libx264", rate=rate, options={"preset": "veryfast", "crf": "23", "tune": "zerolatency"}
    )
    v_out.width = v_in.codec_context.width
    v_out.height = v_in.codec_context.height
    v_out.pix_fmt = "yuv420p"
    v_out.codec_context.time_base = v_in.time_base  # the frames keep their own timestamps
    v_out.time_base = v_in.time_base
    v_in.thread_type = "AUTO"
    return v_out, v_in.codec_context


def _audio_stream(
    outp: av.container.OutputContainer, a_in: Any, plan: ViewingPlan
) -> tuple[Any, tuple[Any, av.AudioResampler] | None]:
    if a_in is None:
        return None, None
    if plan.audio == "copy":
        a_out = outp.add_stream_from_template(a_in)
        a_out.time_base = a_in.time_base
        return a_out, None
    a_out = outp.add_stream("aac", rate=AUDIO_RATE, layout="mono")
    a_out.bit_rate = 64_000
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_RATE)
    return a_out, (a_in.codec_context, resampler)


def _g726(
    outp: av.container.OutputContainer,
    source: Path,
    a_in: Any,
    a_out: Any,
    resampler: av.AudioResampler,
    code_size: int,
) -> None:
    """G.726 audio, decoded through FFmpeg's raw G.726 demuxer (which takes the code size),
    placed from the stream's first packet on."""
    with av.open(str(source)) as again:
        stream = again.streams[a_in.index]
        packets = [p for p in again.demux(stream) if p.size]
    timed = [p.pts for p in packets if p.pts is not None]
    if not packets or not timed:
        return
    first = timed[0] * (stream.time_base or Fraction(1, 8000))
    raw = io.BytesIO(b"".join(bytes(p) for p in packets))
    rate = str(stream.codec_context.sample_rate or 8000)
    fmt = G726[a_in.codec_context.name]
    options = {"code_size": str(code_size), "sample_rate": rate}
    with av.open(raw, "r", format=fmt, options=options) as r:
        at = round(first * AUDIO_RATE)
        for frame in r.decode(r.streams.audio[0]):
            frame.pts = None
            for out in resampler.resample(frame):
                out.pts = at
                out.time_base = Fraction(1, AUDIO_RATE)
                at += out.samples
                outp.mux(a_out.encode(out))
    for out in resampler.resample(None):
        out.pts = at
        out.time_base = Fraction(1, AUDIO_RATE)
        outp.mux(a_out.encode(out))
    outp.mux(a_out.encode(None))


def _video_packet(
    outp: av.container.OutputContainer, packet: Any, v_in: Any, v_out: Any, v_dec: Any
) -> None:
    if v_dec is not None:
        for frame in v_dec.decode(packet):
            outp.mux(v_out.encode(frame))
        return
    if packet.dts is None:  # NUT gives none for a first keyframe shown after later frames
        if packet.pts is None:
            return
        rate = v_in.average_rate or v_in.guessed_rate or Fraction(25)
        packet.dts = packet.pts - max(1, round(1 / (rate * v_in.time_base)))
    packet.stream = v_out
    outp.mux(packet)


def _audio_packet(
    outp: av.container.OutputContainer,
    packet: Any,
    a_out: Any,
    a_dec: tuple[Any, av.AudioResampler] | None,
) -> None:
    if packet.dts is None:
        return
    if a_dec is None:
        packet.stream = a_out
        outp.mux(packet)
        return
    decoder, resampler = a_dec
    for frame in decoder.decode(packet):
        for out in resampler.resample(frame):
            outp.mux(a_out.encode(out))
