"""Real recorder files for the tests: ../shared/data footage with espeak-ng speech, muxed by
FFmpeg into the containers recorders write (MP4 H.264 + AAC, MOV H.264 + G.711, MP4 H.265 +
AAC), with the tags, names and GPS tracks real recorders give them."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tests.conftest import shared_file

FOOTAGE = "footage/one-by-one-person-detection.mp4"  # 768x432, 10 fps, H.264, 139 s
SPEECH = "警察，请出示你的身份证件。请配合检查。"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is missing: scripts/setup --dev installs it")
    return path


def speech_wav(folder: Path, text: str = SPEECH) -> Path:
    """Mandarin speech from espeak-ng (real speech audio, 22.05 kHz mono)."""
    out = folder / f"speech-{hashlib.sha1(text.encode()).hexdigest()[:8]}.wav"
    if not out.exists():
        subprocess.run([_tool("espeak-ng"), "-v", "cmn", "-w", str(out), text], check=True)
    return out


def nmea_rmc(at: datetime, lat: float, lon: float) -> str:
    """A valid $GPRMC sentence (with checksum) for a point at time ``at`` (UTC)."""

    def dm(value: float, width: int) -> str:
        deg = int(abs(value))
        return f"{deg:0{width}d}{(abs(value) - deg) * 60:07.4f}"

    body = (
        f"GPRMC,{at:%H%M%S}.00,A,{dm(lat, 2)},{'N' if lat >= 0 else 'S'},"
        f"{dm(lon, 3)},{'E' if lon >= 0 else 'W'},0.5,0.0,{at:%d%m%y},,,A"
    )
    check = 0
    for ch in body:
        check ^= ord(ch)
    return f"${body}*{check:02X}"


def _srt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


@dataclass(frozen=True)
class Recording:
    path: Path
    seconds: float
    sha256: str


def make_recording(
    out: Path,
    *,
    codec: str = "h264",  # h264 or hevc
    audio: str = "aac",  # aac or pcm_alaw (G.711 A-law, MOV only)
    seconds: float = 4.0,
    offset_s: float = 0.0,  # where in the footage to start: different content, other hash
    creation_time: datetime | None = None,
    serial: str | None = None,
    badge: str | None = None,
    location: tuple[float, float] | None = None,
    gps: list[tuple[float, float, float]] | None = None,  # (seconds, lat, lon)
    gps_start: datetime | None = None,
    faststart: bool = False,
    work: Path | None = None,
) -> Recording:
    """Write one recorder file to ``out`` (its suffix picks MP4 or MOV)."""
    work = work or out.parent
    work.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [_tool("ffmpeg"), "-loglevel", "error", "-y"]
    cmd += ["-ss", f"{offset_s:.3f}", "-t", f"{seconds:.3f}", "-i", str(shared_file(FOOTAGE))]
    cmd += ["-i", str(speech_wav(work))]
    maps = ["-map", "0:v", "-map", "1:a"]
    if gps:
        srt = work / f"{out.stem}.srt"
        t0 = gps_start or creation_time or datetime(2026, 11, 30, 8, 0)
        lines = []
        for n, (t, lat, lon) in enumerate(gps, 1):
            end = gps[n][0] if n < len(gps) else t + 1
            sentence = nmea_rmc(t0 + timedelta(seconds=t), lat, lon)
            lines.append(f"{n}\n{_srt_time(t)} --> {_srt_time(end)}\n{sentence}\n")
        srt.write_text("\n".join(lines), encoding="ascii")
        cmd += ["-i", str(srt)]
        maps += ["-map", "2:s", "-c:s", "mov_text"]
    cmd += maps
    if codec == "h264":
        cmd += ["-c:v", "copy"]
    else:
        cmd += ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"]
        cmd += ["-tag:v", "hvc1"]
    if audio == "aac":
        cmd += ["-c:a", "aac", "-b:a", "48k"]
    else:
        cmd += ["-c:a", audio, "-ar", "8000", "-ac", "1"]
    cmd += ["-t", f"{seconds:.3f}"]
    flags = ["use_metadata_tags"] + (["faststart"] if faststart else [])
    cmd += ["-movflags", "+".join(flags)]
    if creation_time is not None:
        cmd += ["-metadata", f"creation_time={creation_time:%Y-%m-%dT%H:%M:%S}Z"]
    if serial is not None:
        cmd += ["-metadata", f"device_serial={serial}"]
    if badge is not None:
        cmd += ["-metadata", f"officer_badge={badge}"]
    if location is not None:
        cmd += ["-metadata", f"location={location[0]:+.4f}{location[1]:+.4f}/"]
    cmd.append(str(out))
    subprocess.run(cmd, check=True)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    return Recording(out, seconds, digest)
