"""Per-packet breakdown of a py-spy profile of the recording benchmark's vms workers.

``py-spy record --format raw`` (with ``--native`` and ``--subprocesses``) writes one collapsed
stack per line with its sample count. Each sample is put in one bucket by the innermost frame
that names a known part (waiting for the GIL first, then hashing, index writes, muxing, the
RTSP read inside libavformat, PyAV's objects, vms's own Python), and the buckets are scaled to
µs per packet with the CPU and packet count the benchmark measured in the same window.

    .venv/bin/python -m bench.profile_breakdown PROFILE.txt --cpu-us-per-packet 480
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

#: (bucket, pattern on one frame), tried for each frame from the innermost outwards.
BUCKETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("GIL wait", re.compile(r"take_gil|PyEval_RestoreThread|PyEval_AcquireThread|drop_gil")),
    ("fsync", re.compile(r"\bfsync\b|fdatasync")),
    ("SHA-256 (hashing)", re.compile(r"sha256|hashlib|sha2|SHA256")),
    ("index writes (SQLAlchemy, sqlite)", re.compile(r"sqlalchemy|sqlite|psycopg")),
    (
        "muxing (libavformat mov/mp4 writer)",
        re.compile(r"av_interleaved_write|av_write_frame|mov_write|ff_mov_|mov_flush|avio_write"),
    ),
    ("PyAV interrupt callback", re.compile(r"interrupt_cb")),
    (
        "RTSP/RTP read (libavformat, sockets)",
        re.compile(
            r"av_read_frame|read_frame_internal|ff_rtsp|rtsp_|ff_rtp|rtp_parse|ff_h264|h264_handle"
            r"|avio_read|ffurl_read|tcp_read|\brecv|__libc_recv|retry_transfer|poll\b|ppoll"
        ),
    ),
    ("PyAV objects (Cython wrappers)", re.compile(r"/av/|\bav\.|\.pyx|pyav|av/container")),
    ("vms's own Python", re.compile(r"/vms/|vms\.")),
)
OTHER = "other (interpreter, threads, libc)"


def bucket_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in BUCKETS:
            if pattern.search(frame):
                return name
    return OTHER


def parse(path: Path, only: str | None) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = stack.split(";")
        if only is not None and not any(only in f for f in frames[:2]):
            continue
        counts[bucket_of(frames)] += int(n)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--cpu-us-per-packet", type=float, help="measured in the same window")
    parser.add_argument("--only", help="keep stacks whose process/thread frame contains this")
    args = parser.parse_args(argv)
    counts = parse(args.profile, args.only)
    total = sum(counts.values())
    if not total:
        print("no samples", file=sys.stderr)
        return 1
    print("| part | share of samples | µs / packet |")
    print("|---|---:|---:|")
    for name, n in counts.most_common():
        us = f"{args.cpu_us_per_packet * n / total:.0f}" if args.cpu_us_per_packet else "–"
        print(f"| {name} | {100 * n / total:.1f} % | {us} |")
    print(f"\n{total} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
