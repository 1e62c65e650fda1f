"""Recorded footage with sound for tests that read recordings (court copy, report, playback).

A fake camera here sends what a real one does: real footage from ../shared/data (H.264 as it
is, or H.265 encoded like a camera's: no B-frames, a keyframe a second) with real speech from
espeak-ng (AAC, G.711 A-law or µ-law, Opus). ``record_segments`` cuts that stream into segment
files at keyframes the way the recorder does (the packets copied, fragmented MP4, or MOV for
G.711), hashes them and indexes them like real segments, with the outages and the times the
microphone was silent that the test asks for::

    take = Take("int-cam", audio="pcm_alaw")
    rec = record_segments(db, root, take, T0, 12.0, work=tmp, outages=[(5.0, 7.0)])
    rec.segments            # index rows, in order
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.container

from tests.conftest import shared_file
from vms.db.models import Gap, Segment
from vms.db.session import Database

FOOTAGE = "footage/one-by-one-person-detection.mp4"  # 768x432, 10 fps, H.264, 139 s
OTHER_FOOTAGE = "footage/avenue-frames"  # 300 JPEG frames 640x360, 25 fps: a subway entrance
SPEECH = "The interview starts now. Please state your name, your address and your date of birth."
FMP4 = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"}
_SUFFIX = {"pcm_alaw": ".mov", "pcm_mulaw": ".mov", "adpcm_g726": ".nut"}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is missing: scripts/setup --dev installs it")
    return path


def speech_wav(folder: Path, text: str = SPEECH) -> Path:
    """Real speech from espeak-ng (22.05 kHz mono WAV), cached in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"speech-{hashlib.sha1(text.encode()).hexdigest()[:8]}.wav"
    if not out.exists():
        subprocess.run([tool("espeak-ng"), "-v", "en", "-w", str(out), text], check=True)
    return out


@dataclass(frozen=True)
class Take:
    """What one camera sends: which footage, from where, in which codecs."""

    camera_id: str
    footage: str = FOOTAGE
    offset_s: float = 0.0
    #: copy (the footage's own H.264 packets), or h264 / hevc encoded like a camera's (no
    #: B-frames, a keyframe a second, ``width`` wide at ``fps``, the footage looped)
    video: str = "copy"
    audio: str | None = "aac"  # aac, pcm_alaw, pcm_mulaw, libopus, adpcm_g726 or None
    width: int = 640
    fps: int = 10


def camera_stream(take: Take, seconds: float, work: Path) -> Path:
    """The camera's stream as one Matroska file (cached): footage and looped speech."""
    name = f"{Path(take.footage).stem}-{take.offset_s:g}-{seconds:g}-{take.video}-{take.audio}"
    if take.video != "copy":
        name += f"-{take.width}-{take.fps}"
    out = work / f"{name}.mkv"
    if out.exists():
        return out
    work.mkdir(parents=True, exist_ok=True)
    cmd = [tool("ffmpeg"), "-loglevel", "error", "-y", "-fflags", "+genpts"]
    cmd += ["-ss", f"{take.offset_s:.3f}"]
    footage = shared_file(take.footage)
    if footage.is_dir():  # an image sequence: NAME_0000.jpg ...
        first = sorted(footage.glob("*.jpg"))[0].name
        pattern = first[: first.rindex("_") + 1] + "%04d.jpg"
        cmd += ["-framerate", "25"]
        source = str(footage / pattern)
    else:
        source = str(footage)
    if take.video != "copy":
        cmd += ["-stream_loop", "-1"]
    cmd += ["-i", source]
    if take.audio is not None:
        cmd += ["-stream_loop", "-1", "-i", str(speech_wav(work))]
    cmd += ["-t", f"{seconds:.3f}", "-map", "0:v:0"]
    if take.video == "copy":
        cmd += ["-c:v", "copy"]
    else:
        fps = str(take.fps)
        cmd += ["-vf", f"scale={take.width}:-2", "-r", fps, "-g", fps, "-bf", "0"]
        if take.video == "hevc":
            cmd += ["-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1"]
            cmd += ["-x265-params", f"log-level=error:keyint={fps}:min-keyint={fps}:bframes=0"]
        else:
            cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if take.audio is not None:
        cmd += ["-map", "1:a:0", "-c:a", take.audio]
        if take.audio in ("pcm_alaw", "pcm_mulaw", "adpcm_g726"):
            cmd += ["-ar", "8000", "-ac", "1"]
        elif take.audio == "libopus":
            cmd += ["-ar", "48000", "-ac", "1", "-b:a", "32k"]
        else:
            cmd += ["-ar", "16000", "-ac", "1", "-b:a", "48k"]
    cmd.append(str(out.with_suffix(".tmp.mkv")))
    subprocess.run(cmd, check=True)
    out.with_suffix(".tmp.mkv").rename(out)
    return out


@dataclass
class Recorded:
    """What ``record_segments`` wrote: the index rows, and the gaps it indexed."""

    segments: list[Segment] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)


def _inside(t: float, spans: Sequence[tuple[float, float]]) -> bool:
    return any(a <= t < b for a, b in spans)


class _Cutter:
    """Writes one segment after the other at keyframes, packets copied."""

    def __init__(self, root: Path, take: Take, start: datetime, streams: list[Any]) -> None:
        self.root, self.take, self.start, self.streams = root, take, start, streams
        self.out: av.container.OutputContainer | None = None
        self.rel: Path | None = None
        self.seg_t = 0.0
        self.last_t = 0.0
        self.packets = 0
        self.bases: list[int] = []
        self.outs: list[Any] = []
        self.rows: list[Segment] = []

    def open(self, t: float) -> None:
        at = self.start + timedelta(seconds=t)
        suffix = _SUFFIX.get(self.take.audio or "", ".mp4")
        rel = Path("recordings") / self.take.camera_id / at.strftime("%Y-%m-%d")
        rel = rel / f"{at.strftime('%H-%M-%S')}-{at.microsecond:06d}{suffix}"
        (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
        fmt = {".mov": "mov", ".nut": "nut"}.get(suffix, "mp4")
        options = FMP4 if fmt != "nut" else {"flush_packets": "1"}
        self.out = av.open(str(self.root / rel), "w", format=fmt, options=options)
        self.outs = []
        self.bases = []
        for st in self.streams:
            o = self.out.add_stream_from_template(st)
            o.time_base = st.time_base
            self.outs.append(o)
            self.bases.append(round(t / st.time_base))
        self.rel, self.seg_t, self.packets = rel, t, 0

    def write(self, p: av.Packet[Any], t: float, index: int) -> None:
        assert self.out is not None
        assert p.dts is not None
        base = self.bases[index]
        shift = p.dts - (p.pts if p.pts is not None else p.dts)
        p.dts = max(0, round(t / p.time_base) - base)
        p.pts = p.dts - shift
        p.stream = self.outs[index]
        self.out.mux(p)
        self.packets += 1

    def close(self, db: Database, end_t: float) -> None:
        if self.out is None or self.rel is None:
            return
        self.out.close()
        self.out = None
        path = self.root / self.rel
        data = path.read_bytes()
        video = self.streams[0].codec_context
        rate = self.streams[0].average_rate or self.streams[0].guessed_rate
        row = Segment(
            camera_id=self.take.camera_id,
            start=self.start + timedelta(seconds=self.seg_t),
            end=self.start + timedelta(seconds=end_t),
            duration_s=round(end_t - self.seg_t, 6),
            path=self.rel.as_posix(),
            bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            codec=video.name,
            width=video.width,
            height=video.height,
            fps=float(rate) if rate else None,
            packets=self.packets,
            status="complete",
        )
        with db.session() as s:
            s.add(row)
            s.flush()
            s.expunge(row)
        self.rows.append(row)


def record_segments(
    db: Database,
    root: Path,
    take: Take,
    start: datetime,
    seconds: float,
    *,
    work: Path,
    segment_s: float = 2.0,
    outages: Sequence[tuple[float, float]] = (),
    silences: Sequence[tuple[float, float]] = (),
) -> Recorded:
    """Record ``seconds`` of ``take`` from ``start``: segments cut at the first keyframe after
    ``segment_s``, nothing during ``outages`` (seconds from start; each one a gap row, the
    next segment starts at the first keyframe after it), no audio packet during ``silences``
    (the camera's microphone stopped). Returns the index rows written."""
    src = camera_stream(take, seconds, work)
    rec = Recorded()
    with av.open(str(src)) as c:
        streams = [c.streams.video[0], *c.streams.audio[:1]]
        cutter = _Cutter(root, take, start, streams)
        t0: float | None = None
        in_outage = False
        for p in c.demux(streams):
            if p.dts is None or p.size == 0:
                continue
            t_abs = float(p.dts * p.time_base)
            if t0 is None:
                if p.stream.type != "video" or not p.is_keyframe:
                    continue
                t0 = t_abs
            t = t_abs - t0
            index = streams.index(p.stream)
            video = index == 0
            if _inside(t, outages):
                if not in_outage:
                    cutter.close(db, cutter.last_t)
                    in_outage = True
                continue
            if video and in_outage and not p.is_keyframe:
                continue
            if video and (cutter.out is None or (p.is_keyframe and t - cutter.seg_t >= segment_s)):
                cutter.close(db, cutter.last_t if in_outage else t)
                in_outage = False
                cutter.open(t)
            if cutter.out is None or t < cutter.seg_t:
                continue
            if not video and _inside(t, silences):
                continue
            cutter.write(p, t, index)
            if video:
                rate = Fraction(streams[0].average_rate or 10)
                cutter.last_t = t + float(1 / rate)
        cutter.close(db, cutter.last_t)
    rec.segments = cutter.rows
    with db.session() as s:
        for a, b in outages:
            at_a, at_b = start + timedelta(seconds=a), start + timedelta(seconds=b)
            before = [g.end for g in rec.segments if g.end and g.end <= at_a]
            after = [g.start for g in rec.segments if g.start >= at_b]
            gap = Gap(
                camera_id=take.camera_id,
                start=max(before, default=at_a),
                end=min(after, default=at_b),
                reason="camera offline: connection refused",
            )
            s.add(gap)
            s.flush()
            s.expunge(gap)
            rec.gaps.append(gap)
    return rec
