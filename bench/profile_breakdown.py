"""Per-packet CPU breakdown of a recorder from a ``perf record -g`` profile.

Sample the recorder's processes while ``bench.recording`` measures them, e.g. the vms worker
processes or the ffmpeg processes (``perf record -F 499 -g -p PID,PID,... -- sleep 20``),
then::

    .venv/bin/python -m bench.profile_breakdown perf.data --us-per-packet 380

Each sample (CPU time, with its native call chain) goes into one part by its innermost
frame: the kernel's socket reads, locks and thread switches, file writes; libavformat (RTSP
and RTP demuxing, MP4 muxing), libavcodec (the H.264 parser, packets), libc (memcpy, malloc);
CPython (the interpreter running PyAV's and vms's code, objects, the GIL), PyAV's Cython;
SHA-256; SQLite. ``--us-per-packet`` (the benchmark's CPU per packet in the same window)
turns the shares into µs per packet. CPython 3.11 has no perf trampolines, so vms's own
Python is inside "CPython"; ``bench.packet_path`` measures it alone.

perf, not py-spy: py-spy's native mode cannot tell a thread blocked in ``poll`` from one
that runs, so its samples are wall time, not CPU.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

Frame = tuple[str, str]  # (symbol, dso)

_LOCKS = re.compile(r"futex|take_gil|drop_gil|PyThread_acquire_lock|pthread_cond|sem_wait")
_SOCKET = re.compile(r"recv|poll|select|tcp_|sock_")
_FILE_WRITE = re.compile(r"\bwrite|pwrite|writev|ext4_|xfs_|filemap|iomap")


def part_of(frames: list[Frame]) -> str:
    """The part one sample's CPU goes to; ``frames`` innermost first."""
    syms = [s for s, _ in frames]
    dsos = [d for _, d in frames]
    if any("fsync" in s or "fdatasync" in s for s in syms):
        return "fsync (segment close)"
    if any("sha256" in s.lower() or "libcrypto" in d for s, d in frames):
        return "SHA-256 (segment close, index thread)"
    if any("sqlite" in d or "psycopg" in d for d in dsos):
        return "index writes (SQLite)"
    leaf_sym, leaf_dso = frames[0]
    if "kernel" in leaf_dso:
        user = next((s for s, d in frames if "kernel" not in d), "")
        if _LOCKS.search(user) or any(_LOCKS.search(s) for s in syms):
            return "kernel: locks, GIL hand-offs, thread switches"
        if _SOCKET.search(user) or any("sys_poll" in s or "recvfrom" in s for s in syms):
            return "kernel: socket reads (poll, recv)"
        if _FILE_WRITE.search(user) or any("vfs_write" in s for s in syms):
            return "kernel: file writes"
        return "kernel: other (scheduling, timers, memory)"
    if "libavformat" in leaf_dso:
        return "libavformat (RTSP/RTP demux, MP4 mux)"
    if "libavcodec" in leaf_dso:
        return "libavcodec (H.264 parser, packets)"
    if "libavutil" in leaf_dso:
        return "libavutil (buffers)"
    if "libc.so" in leaf_dso or "libc-" in leaf_dso:
        if "mem" in leaf_sym:
            return "libc: memcpy / memset"
        if re.search(r"malloc|free|_int_|chunk|consolidate", leaf_sym):
            return "libc: malloc / free"
        if _LOCKS.search(leaf_sym) or "pthread" in leaf_sym:
            return "libc: locks (pthread)"
        return "libc: other"
    if "libpython" in leaf_dso or leaf_dso.endswith("/python3.11"):
        return "CPython (interpreter, objects, GIL)"
    if ".abi3.so" in leaf_dso or "/av/" in leaf_dso:
        return "PyAV (Cython wrappers)"
    if leaf_dso.endswith("ffmpeg"):
        return "ffmpeg's own code"
    return "other"


def samples(perf_data: Path) -> Iterable[list[Frame]]:
    """The call chains of ``perf script``, innermost frame first."""
    out = subprocess.run(
        ["perf", "script", "-i", str(perf_data), "-F", "comm,tid,ip,sym,dso"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    frames: list[Frame] = []
    for line in out.splitlines():
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        if line.startswith(("\t", " ")) and (m := re.match(r"\s+\S+\s+(.*?)\s+\((.*)\)$", line)):
            frames.append((m.group(1), m.group(2)))
    if frames:
        yield frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("perf_data", type=Path)
    parser.add_argument("--us-per-packet", type=float, help="measured in the same window")
    args = parser.parse_args(argv)
    counts: Counter[str] = Counter(part_of(f) for f in samples(args.perf_data))
    total = sum(counts.values())
    if not total:
        print("no samples", file=sys.stderr)
        return 1
    print("| part | share of CPU samples | µs / packet |")
    print("|---|---:|---:|")
    for name, n in counts.most_common():
        us = f"{args.us_per_packet * n / total:.0f}" if args.us_per_packet else "–"
        print(f"| {name} | {100 * n / total:.1f} % | {us} |")
    print(f"\n{total} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
