"""What viewing H.265 in a browser costs: the playback viewing copy and the live transcode.

One recording, made once (cached in bench/out/viewing/) the way the tests record: real
footage encoded like a camera's H.265 (1920x1080, 25 fps, a keyframe a second, no B-frames)
with espeak-ng speech in G.711 µ-law, one ``--seconds`` segment (MOV, as the recorder writes
it), and the same footage as H.264 for the pass-through reference.

* **playback**: ``vms.web.viewing.make_viewing_copy`` (H.265 -> libx264 veryfast CRF 23,
  G.711 -> AAC, plain MP4), against ``ffmpeg -c:v libx264 -preset veryfast -tune
  zerolatency -crf 23 -c:a aac`` on the same file in the same run; wall and CPU time.
* **live**: what ``vms.web.live`` does per H.265 camera (decode with PyAV's hevc decoder, once
  per camera) and per viewer (aiortc's own H264Encoder on those frames: what each viewer's
  RTCRtpSender runs), against a pass-through viewer of the H.264 version (aiortc's
  ``H264Encoder.pack`` of the camera's packets, all a pass-through sender does), as CPU
  time per second of video (% of one core).

Usage, from the repository root::

    .venv/bin/python -m bench.viewing                 # 60 s segment
    .venv/bin/python -m bench.viewing --seconds 20
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from aiortc.codecs.h264 import H264Encoder

from tests.support.footage import Take, record_segments
from vms.bootstrap import prepare
from vms.config import Config
from vms.recordings import segments_in_range
from vms.web.viewing import ViewingPlan, make_viewing_copy

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "viewing"
FFMPEG = "/usr/bin/ffmpeg"
T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)
CROWD = "footage/overhead-crowd.avi"


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def recording(seconds: float) -> tuple[Path, Path]:
    """(the H.265 + G.711 segment, the H.264 + G.711 one)."""
    root = OUT / f"store-{seconds:g}"
    cfg = Config.model_validate(
        {
            "storage": {"root": str(root)},
            "cameras": [
                {"id": c, "kind": "street", "site": "Bench", "source": "synthetic://x"}
                for c in ("hevc", "h264")
            ],
        }
    )
    fresh = not (root / "vms.db").exists()
    if fresh:
        shutil.rmtree(root, ignore_errors=True)
    db = prepare(cfg)
    if fresh:
        for cam, codec in (("hevc", "hevc"), ("h264", "h264")):
            take = Take(cam, footage=CROWD, video=codec, audio="pcm_mulaw", width=1920, fps=25)
            record_segments(
                db, root, take, T0, seconds, work=OUT / "streams", segment_s=seconds + 5
            )
    paths = [root / segments_in_range(db, cam, None, None)[0].path for cam in ("hevc", "h264")]
    db.dispose()
    return paths[0], paths[1]


def playback(src: Path, seconds: float) -> list[tuple[str, float, float]]:
    out = OUT / "runs"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    c0, t0 = cpu(), time.perf_counter()
    make_viewing_copy(src, out / "vms.mp4", ViewingPlan("h264", "aac"), "bench")
    rows = [("vms viewing copy", time.perf_counter() - t0, cpu() - c0)]
    cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-i", str(src)]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-crf", "23"]
    cmd += ["-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "48000", "-ac", "1"]
    cmd += ["-movflags", "+faststart"]
    cmd.append(str(out / "ffmpeg.mp4"))
    c0, t0 = children(), time.perf_counter()
    subprocess.run(cmd, check=True)
    rows.append(
        (
            "ffmpeg -c:v libx264 -preset veryfast -crf 23 -c:a aac",
            time.perf_counter() - t0,
            children() - c0,
        )
    )
    return rows


def live(hevc: Path, h264: Path, seconds: float) -> list[tuple[str, float]]:
    """CPU seconds per second of video of each live step."""
    with av.open(str(hevc)) as c:
        stream = c.streams.video[0]
        decoder = av.CodecContext.create("hevc", "r")
        decoder.extradata = stream.codec_context.extradata
        decoder.thread_type = "AUTO"
        packets = [av.Packet(bytes(p)) for p in c.demux(stream) if p.size]
    c0 = cpu()
    frames: list[Any] = []
    for i, p in enumerate(packets):
        p.pts = i * 3600
        p.time_base = Fraction(1, 90000)
        frames += decoder.decode(p)
    frames += decoder.decode(None)
    decode = (cpu() - c0) / seconds
    encoder = H264Encoder()
    c0 = cpu()
    for i, f in enumerate(frames):
        f.pts, f.time_base = i * 3600, Fraction(1, 90000)
        encoder.encode(f)
    encode = (cpu() - c0) / seconds
    with av.open(str(h264)) as c:
        stream = c.streams.video[0]
        annexb = [bytes(p) for p in c.demux(stream) if p.size]
    packer = H264Encoder()
    c0 = cpu()
    for i, data in enumerate(annexb):
        p = av.Packet(data)
        p.pts, p.time_base = i * 3600, Fraction(1, 90000)
        packer.pack(p)
    passthrough = (cpu() - c0) / seconds
    return [
        ("H.265 decode, once per camera (PyAV hevc)", decode),
        ("H.264 encode, per viewer of an H.265 camera (aiortc H264Encoder)", encode),
        ("pass-through, per viewer of an H.264 camera (aiortc H264Encoder.pack)", passthrough),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    hevc, h264 = recording(args.seconds)
    rows = playback(hevc, args.seconds)
    steps = live(hevc, h264, args.seconds)
    print(f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; ")
    print(f"{args.seconds:g} s of 1920x1080 25 fps H.265 + G.711 µ-law\n")
    print("| playback viewing copy | wall s | x real time | CPU s | vs ffmpeg (CPU) |")
    print("|---|---:|---:|---:|---:|")
    ref = rows[1][2]
    for name, wall, c in rows:
        print(f"| {name} | {wall:.1f} | {args.seconds / wall:.2f}x | {c:.1f} | {c / ref:.2f}x |")
    print("\n| live step | CPU, % of one core |")
    print("|---|---:|")
    for name, share in steps:
        print(f"| {name} | {100 * share:.2f} |")


if __name__ == "__main__":
    main()
