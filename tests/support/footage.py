"""Recorded footage with sound for tests that read recordings (court copy, report, playback).

A fake camera here sends what a real one does: real footage from ../shared/data (H.264 as it
is, or H.265 encoded like a camera's: no B-frames, a keyframe a second) with real speech from
espeak-ng (AAC, G.711 A-law or µ-law, Opus). ``record_segments`` cuts that stream into segment
files at keyframes with the recorder's own ``SegmentWriter`` (the packets copied, the container
the recorder picks: MP4, MOV for G.711, NUT for G.726) and indexes them through
``RecordingIndex`` (segments, their streams, hashes), with the outages (video gaps) and the
times the microphone was silent (audio gaps) the test asks for, at fixed times::

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
from pathlib import Path

from sqlalchemy import select

from tests.conftest import shared_file
from vms.cameras.index import Handle, RecordingIndex
from vms.cameras.opened import OpenedSource
from vms.cameras.recorder import CONTAINERS, SegmentWriter, container_for, segment_relpath
from vms.cameras.sources import open_source
from vms.db.models import Gap, Segment
from vms.db.session import Database
from vms.errors import CameraError

FOOTAGE = "footage/one-by-one-person-detection.mp4"  # 768x432, 10 fps, H.264, 139 s
OTHER_FOOTAGE = "footage/avenue-frames"  # 300 JPEG frames 640x360, 25 fps: a subway entrance
SPEECH = "The interview starts now. Please state your name, your address and your date of birth."


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
    """One segment after the other at keyframes, through the recorder's own writer and
    index (as a camera worker writes them), at times fixed by the test."""

    def __init__(self, root: Path, camera_id: str, start: datetime, source: OpenedSource):
        self.root, self.camera_id, self.start, self.source = root, camera_id, start, source
        templates = source.streams
        self.suffix = CONTAINERS[container_for(templates)]
        self.writer: SegmentWriter | None = None
        self.handle: Handle | None = None
        self.seg_t = 0.0
        self.last_t = 0.0

    def open(self, index: RecordingIndex, t: float, first_dts: int) -> None:
        at = self.start + timedelta(seconds=t)
        rel = segment_relpath(self.camera_id, at, self.root, self.suffix)
        src = self.source
        audio = list(zip(src.audio_streams, src.tracks[1:], strict=True))
        self.writer = SegmentWriter(
            self.root, rel, src.stream, src.info, at, first_dts, audio=audio
        )
        self.handle = index.segment_opened(self.camera_id, rel, at, src.info, src.tracks)
        self.seg_t = t

    def close(self, index: RecordingIndex) -> None:
        if self.writer is None or self.handle is None:
            return
        w = self.writer
        rel, _end, packets = w.close()
        end = self.start + timedelta(seconds=self.last_t)
        index.segment_closed(self.handle, rel, w.start, end, packets, track_packets=w.track_packets)
        self.writer = self.handle = None


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
    ``segment_s``, nothing during ``outages`` (seconds from start; a video gap each, the next
    segment starting at the first keyframe after it), no audio packet during ``silences``
    (the camera's microphone stopped: an audio gap each). Returns the index rows written."""
    src = open_source(str(camera_stream(take, seconds, work)), native_speed=False)
    index = RecordingIndex(db, root)
    cutter = _Cutter(root, take.camera_id, start, src)
    vtb = src.info.time_base
    step = 1 / (src.info.fps or 10)
    t0: int | None = None
    in_outage = False
    outage_at = 0.0
    gap: tuple[Handle, Handle | None] | None = None
    silent: Handle | None = None
    try:
        for p in src.demux():
            track = src.track_of[p.stream_index]
            if p.dts is None:  # a first keyframe shown after later frames (B-frames)
                if p.pts is None or track != 0:
                    continue
                p.dts = p.pts - round(step / p.time_base)
            video = track == 0
            if t0 is None:
                if not video or not p.is_keyframe:
                    continue
                t0 = p.dts
            t = float(p.dts * p.time_base) - float(t0 * vtb)
            at = start + timedelta(seconds=t)
            if _inside(t, outages):
                if not in_outage:
                    cutter.close(index)
                    in_outage, outage_at = True, cutter.last_t
                continue
            if video and in_outage and not p.is_keyframe:
                continue
            if video and (
                cutter.writer is None or (p.is_keyframe and t - cutter.seg_t >= segment_s)
            ):
                cutter.close(index)
                if in_outage:
                    gap = index.outage_started(
                        take.camera_id,
                        start + timedelta(seconds=outage_at),
                        "camera offline: connection refused",
                        offline_event=True,
                    )
                    index.outage_ended(*gap, at)
                    in_outage = False
                cutter.open(index, t, p.dts)
            if cutter.writer is None or t < cutter.seg_t:
                continue
            if not video:
                if _inside(t, silences):
                    if silent is None:
                        silent = index.outage_started(
                            take.camera_id,
                            at,
                            "audio stopped: no audio packet from the camera",
                            offline_event=False,
                            kind="audio",
                        )[0]
                    continue
                if silent is not None:
                    index.outage_ended(silent, None, at)
                    silent = None
            cutter.writer.write(p, track)
            if video:
                cutter.last_t = t + step
    except CameraError:
        pass  # the end of the file
    finally:
        cutter.close(index)
        src.close()
        index.flush()
        index.close()
    rec = Recorded()
    with db.session() as s:
        rows = s.scalars(
            select(Segment).where(Segment.camera_id == take.camera_id).order_by(Segment.start)
        ).all()
        gaps = s.scalars(
            select(Gap).where(Gap.camera_id == take.camera_id).order_by(Gap.start)
        ).all()
        for row in (*rows, *gaps):
            s.expunge(row)
    rec.segments, rec.gaps = list(rows), list(gaps)
    return rec
