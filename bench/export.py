"""Export benchmark: cutting and exporting one hour of 1080p recording, against ffmpeg concat.

The hour is made once (cached in bench/out/export/): a 10 s 1080p25 H.264 clip (about 4 Mb/s,
a keyframe every 2 s) is encoded with PyAV/libx264, then its packets are remuxed again and
again, with increasing timestamps, by vms's own SegmentWriter into 60 segments of 60 s each,
indexed (with their SHA-256) in an SQLite database, exactly as a camera worker records them.

Then, ``--runs`` times each, alternating, with the files in the page cache for all three:

* ``ffmpeg``: ``ffmpeg -f concat -safe 0 -i list.txt -c copy out.mp4`` over the 60 segments;
* ``vms clip``: ``vms.evidence.items.add_clip`` of the whole hour into a case: plan from the
  index, read and SHA-256-verify every source segment, remux into one MP4, hash it, record
  the item, its sources, two holds and the audit entries;
* ``vms export``: ``vms.evidence.export.export_case`` of that case: copy the clip while
  hashing it, write and sign the manifest.

Usage, from the repository root::

    .venv/bin/python -m bench.export            # 3 runs each
    .venv/bin/python -m bench.export --runs 5
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from vms.bootstrap import prepare
from vms.cameras.opened import StreamInfo
from vms.cameras.recorder import SegmentWriter, finalize
from vms.clock import SystemClock
from vms.config import Config
from vms.db.models import Segment
from vms.db.session import Database
from vms.evidence import cases, export, items
from vms.evidence.audit import Actor

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "export"
FFMPEG = "/usr/bin/ffmpeg"
WIDTH, HEIGHT, FPS, GOP, BITRATE = 1920, 1080, 25, 50, 4_000_000
SOURCE_SECONDS = 10
SEGMENTS, SEGMENT_SECONDS = 60, 60
CAMERA = "bench-1080p"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
ACTOR = Actor("bench", "export benchmark")


def _frames() -> Iterator[np.ndarray]:
    """A panning noisy texture with a moving bright square: detail enough for 4 Mb/s."""
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 256, size=(HEIGHT // 4, WIDTH // 2, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(texture, 4, axis=0), 4, axis=1)  # 2 x width, blocky
    for i in range(SOURCE_SECONDS * FPS):
        x = (i * 8) % WIDTH
        frame = np.ascontiguousarray(texture[:, x : x + WIDTH])
        bx, by = (i * 17) % (WIDTH - 200), (i * 11) % (HEIGHT - 200)
        frame[by : by + 200, bx : bx + 200] = 255
        yield frame


def encode_source() -> Path:
    """The short 1080p clip (MP4), encoded once."""
    path = OUT / f"source-{WIDTH}x{HEIGHT}p{FPS}-{BITRATE // 1000}k-g{GOP}-{SOURCE_SECONDS}s.mp4"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.mp4")
    kbps = BITRATE // 1000
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.bit_rate = BITRATE
        stream.codec_context.gop_size = GOP
        stream.options = {
            "preset": "veryfast",
            "x264-params": (
                f"bframes=0:keyint={GOP}:min-keyint={GOP}:scenecut=0:nal-hrd=cbr"
                f":vbv-maxrate={kbps}:vbv-bufsize={kbps}"
            ),
        }
        for i, image in enumerate(_frames()):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    tmp.replace(path)
    return path


def bench_config() -> Config:
    return Config.model_validate(
        {
            "storage": {"root": str(OUT / "store")},
            "cameras": [
                {"id": CAMERA, "kind": "street", "site": "bench", "source": "synthetic://x"}
            ],
            "evidence": {"keys_dir": str(OUT / "keys")},
        }
    )


def record_hour(config: Config, source: Path) -> Database:
    """60 segments of 60 s, written by SegmentWriter and indexed with their hashes (cached)."""
    db = prepare(config)
    with db.session() as s:
        done = s.query(Segment).filter(Segment.status == "complete").count()
    if done == SEGMENTS:
        return db
    if done:
        raise SystemExit(f"{OUT} holds a partial recording: delete it and run again")
    with av.open(str(source)) as c:
        stream = c.streams.video[0]
        tb = Fraction(stream.time_base)
        packets = [
            (bytes(p), p.pts, p.dts, p.is_keyframe, p.duration)
            for p in c.demux(stream)
            if p.size and p.dts is not None
        ]
        info = StreamInfo("h264", WIDTH, HEIGHT, float(FPS), tb)
        loop_ticks = round(SOURCE_SECONDS / tb)
        per_segment = SEGMENT_SECONDS // SOURCE_SECONDS
        dts0 = packets[0][2]
        for n in range(SEGMENTS):
            start = T0 + timedelta(seconds=n * SEGMENT_SECONDS)
            rel = Path("recordings") / CAMERA / f"{n:03d}.mp4"
            first = n * per_segment * loop_ticks + dts0
            writer = SegmentWriter(config.storage.root, rel, stream, info, start, first)
            for k in range(per_segment):
                offset = (n * per_segment + k) * loop_ticks
                for data, pts, dts, key, duration in packets:
                    p = av.Packet(data)
                    p.pts, p.dts, p.duration = pts + offset, dts + offset, duration
                    p.time_base, p.is_keyframe = tb, key
                    writer.write(p)
            rel, end, count = writer.close()
            res = finalize(config.storage.root, rel, start, end, count)
            with db.session() as s:
                s.add(
                    Segment(
                        camera_id=CAMERA,
                        start=start,
                        end=end,
                        duration_s=res.duration_s,
                        path=rel.as_posix(),
                        bytes=res.bytes,
                        sha256=res.sha256,
                        codec="h264",
                        width=WIDTH,
                        height=HEIGHT,
                        fps=float(FPS),
                        packets=count,
                        status="complete",
                    )
                )
            print(f"  recorded segment {n + 1}/{SEGMENTS}", end="\r", flush=True)
    print()
    return db


CPU: dict[str, list[float]] = {}


def _cpu() -> float:
    """CPU seconds (user + system) of this process's threads and its finished children."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn: Callable[[], Any], name: str = "") -> tuple[float, Any]:
    c, t = _cpu(), time.perf_counter()
    value = fn()
    wall = time.perf_counter() - t
    if name:
        CPU.setdefault(name, []).append(_cpu() - c)
    return wall, value


def _segment_files(config: Config) -> list[Path]:
    return sorted((config.storage.root / "recordings" / CAMERA).glob("*.mp4"))


def _warm(files: list[Path]) -> None:
    for f in files:
        with f.open("rb") as fh:
            while fh.read(8 << 20):
                pass


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _packets(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(c.streams.video[0]) if p.size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    print("preparing one hour of 1080p recording (cached in bench/out/export) ...")
    source = encode_source()
    config = bench_config()
    db = record_hour(config, source)
    files = _segment_files(config)
    total = sum(f.stat().st_size for f in files)
    listing = OUT / "list.txt"
    listing.write_text("".join(f"file '{f}'\n" for f in files))
    work = OUT / "runs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    clock = SystemClock()
    times: dict[str, list[float]] = {"ffmpeg": [], "fsync": [], "clip": [], "export": []}
    checked = False
    _warm(files)
    for run in range(args.runs):
        ff_out = work / "ffmpeg.mp4"
        cmd = [FFMPEG, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing)]
        cmd += ["-c", "copy", str(ff_out)]
        os.sync()  # every step starts with nothing left to write back
        t_ff, _ = _timed(lambda cmd=cmd: subprocess.run(cmd, check=True), "ffmpeg")
        t_sync, _ = _timed(lambda ff_out=ff_out: _fsync(ff_out))

        number = f"bench-{os.getpid()}-{run}"
        cases.create_case(db, clock, ACTOR, number, "export benchmark")
        end = T0 + timedelta(seconds=SEGMENTS * SEGMENT_SECONDS)
        os.sync()
        t_clip, item = _timed(
            lambda number=number, end=end: items.add_clip(
                db, config, clock, ACTOR, number, CAMERA, T0, end
            ),
            "clip",
        )
        package = work / f"package-{run}"
        os.sync()
        t_exp, _ = _timed(
            lambda number=number, package=package: export.export_case(
                db, config, clock, ACTOR, number, package
            ),
            "export",
        )
        clip_path = config.storage.root / item.path
        if not checked:
            n_ff, n_vms = _packets(ff_out), _packets(clip_path)
            expected = SEGMENTS * SEGMENT_SECONDS * FPS
            print(f"packets: ffmpeg {n_ff}, vms {n_vms}, expected {expected}")
            checked = True
        print(
            f"run {run + 1}: ffmpeg {t_ff:.2f} s (+ fsync {t_sync:.2f} s), "
            f"vms clip {t_clip:.2f} s, export {t_exp:.2f} s"
        )
        times["ffmpeg"].append(t_ff)
        times["fsync"].append(t_ff + t_sync)
        times["clip"].append(t_clip)
        times["export"].append(t_exp)
        # Benchmark clean-up only (vms itself never deletes held evidence).
        clip_path.chmod(0o644)
        clip_path.unlink()
        shutil.rmtree(package)
        ff_out.unlink()

    med = {k: statistics.median(v) for k, v in times.items()}
    gb = total / 1e9
    machine = platform.processor() or platform.machine()
    print()
    print(f"One hour of 1080p25 H.264 at ~{BITRATE // 1_000_000} Mb/s: {len(files)} segments, "
          f"{gb:.2f} GB; median of {args.runs} runs, warm page cache; {os.cpu_count()} CPUs "
          f"({machine}); load average {os.getloadavg()[0]:.1f}.")  # fmt: skip
    print()
    cpu = {k: statistics.median(v) for k, v in CPU.items()}
    print("| step | wall s (median) | vs ffmpeg | CPU s (median) | vs ffmpeg |")
    print("|---|---:|---:|---:|---:|")
    rows = [
        ("`ffmpeg -f concat -safe 0 -i list.txt -c copy`", med["ffmpeg"], cpu["ffmpeg"]),
        ("the same, then fsync of its output (as vms does)", med["fsync"], None),
        (
            "vms clip (verify 60 source hashes, remux, hash, fsync, index, hold, audit)",
            med["clip"],
            cpu["clip"],
        ),
        (
            "vms export of that clip (copy + hash, manifest, Ed25519 signature)",
            med["export"],
            cpu["export"],
        ),
        ("vms clip + export", med["clip"] + med["export"], cpu["clip"] + cpu["export"]),
    ]
    for name, secs, used in rows:
        cpu_cells = f"{used:.2f} | {used / cpu['ffmpeg']:.2f}x" if used is not None else "| "
        print(f"| {name} | {secs:.2f} | {secs / med['ffmpeg']:.2f}x | {cpu_cells} |")
    paired = [c / f for c, f in zip(times["clip"], times["ffmpeg"], strict=True)]
    paired_sync = [c / f for c, f in zip(times["clip"], times["fsync"], strict=True)]
    print()
    print(
        f"Per-run ratios, vms clip / ffmpeg: {', '.join(f'{r:.2f}' for r in paired)} "
        f"(median {statistics.median(paired):.2f}); vms clip / (ffmpeg + fsync): "
        f"{', '.join(f'{r:.2f}' for r in paired_sync)} "
        f"(median {statistics.median(paired_sync):.2f})."
    )
    db.dispose()


if __name__ == "__main__":
    main()
