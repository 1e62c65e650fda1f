"""Body-worn ingest benchmark: vms ingest (copy + SHA-256 in one pass, fsync, probe of every
packet in a child process, index, audit) against ``cp`` + ``sha256sum`` of the same files.

The files are recorder-like: the shared footage scaled to 1080p30 and encoded once at about
8 Mb/s with speech (espeak-ng, AAC), then looped by stream copy to the requested size, one
file per recorder with its own tags (so no two are duplicates). Each repeat runs both sides
on the same files, alternating which goes first; the store and database are new for every
vms repeat. GB/min = GiB of files taken in per minute of wall time.

Usage, from the repository root (the base clip is encoded once into bench/out/)::

    .venv/bin/python -m bench.bodyworn --files 3 --gib 1 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
FOOTAGE = ROOT.parent / "shared" / "data" / "footage" / "one-by-one-person-detection.mp4"
GIB = 1 << 30


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True)


def base_clip() -> Path:
    """30 s of recorder-like footage: 1080p30 H.264 at ~8 Mb/s with AAC speech (cached)."""
    clip = OUT / "bodyworn-base-1080p30.mp4"
    if clip.exists():
        return clip
    OUT.mkdir(parents=True, exist_ok=True)
    wav = OUT / "bodyworn-speech.wav"
    _run(["espeak-ng", "-v", "cmn", "-w", str(wav), "警察，请出示你的身份证件。请配合检查。"])
    _run([
        "ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(FOOTAGE),
        "-stream_loop", "-1", "-i", str(wav), "-t", "30", "-map", "0:v", "-map", "1:a",
        "-vf", "scale=1920:1080,fps=30", "-c:v", "libx264", "-preset", "ultrafast",
        "-b:v", "8M", "-maxrate", "8M", "-bufsize", "16M", "-g", "60",
        "-c:a", "aac", "-b:a", "64k", str(clip),
    ])  # fmt: skip
    return clip


def make_files(folder: Path, count: int, gib: float) -> list[Path]:
    """``count`` recorder files of about ``gib`` GiB each, looped from the base clip."""
    base = base_clip()
    loops = max(1, round(gib * GIB / base.stat().st_size))
    t0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for n in range(count):
        start = t0 + timedelta(hours=n)
        path = folder / f"DSJ-B{n:02d}_{(start + timedelta(hours=8)):%Y%m%d%H%M%S}_0001.MP4"
        _run([
            "ffmpeg", "-loglevel", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(base),
            "-c", "copy", "-movflags", "use_metadata_tags",
            "-metadata", f"creation_time={start:%Y-%m-%dT%H:%M:%S}Z",
            "-metadata", f"device_serial=DSJ-B{n:02d}", str(path),
        ])  # fmt: skip
        files.append(path)
    return files


def reference(files: list[Path], dst: Path) -> float:
    """Seconds for ``cp`` then ``sha256sum`` of each file."""
    dst.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for f in files:
        target = dst / f.name
        subprocess.run(["cp", str(f), str(target)], check=True)
        subprocess.run(["sha256sum", str(target)], check=True, stdout=subprocess.DEVNULL)
    took = time.perf_counter() - t0
    shutil.rmtree(dst)
    return took


def vms_ingest(files: list[Path], root: Path) -> float:
    """Seconds for vms to ingest each file into a new store and SQLite index."""
    from vms.bodyworn.ingest import CLI, Ingestor, Offer
    from vms.clock import SystemClock
    from vms.config import Config
    from vms.db.migrate import upgrade
    from vms.db.session import Database
    from vms.evidence.audit import Actor

    config = Config.model_validate({"storage": {"root": str(root)}})
    db = Database(config.database_url)
    upgrade(db.engine)
    ingestor = Ingestor(db, config, SystemClock())
    actor = Actor("bench", "benchmark")
    t0 = time.perf_counter()
    for f in files:
        result = ingestor.ingest_path(f, Offer(f.name, CLI, actor))
        if result.result != "stored":
            raise SystemExit(f"{f.name}: {result.result} {result.reason}")
    took = time.perf_counter() - t0
    db.dispose()
    for stored in (root / "bodyworn").rglob("*"):
        if stored.is_file():
            stored.chmod(0o644)
    shutil.rmtree(root)
    return took


@dataclass
class Repeat:
    reference_s: float
    vms_s: float
    reference_gib_min: float
    vms_gib_min: float
    ratio: float


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=3, help="Recorder files.")
    parser.add_argument("--gib", type=float, default=1.0, help="Size of each file, GiB.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs of both sides.")
    parser.add_argument("--dir", type=Path, default=None, help="Work folder (default: a temp dir).")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bw-bench-", dir=args.dir))
    try:
        files = make_files(work / "src", args.files, args.gib)
        total = sum(f.stat().st_size for f in files)
        repeats = []
        for r in range(args.repeat):
            sides = [("ref", lambda: reference(files, work / "ref")),
                     ("vms", lambda r=r: vms_ingest(files, work / f"store-{r}"))]  # fmt: skip
            if r % 2:
                sides.reverse()
            took = {name: run() for name, run in sides}
            ref_rate = total / GIB / (took["ref"] / 60)
            vms_rate = total / GIB / (took["vms"] / 60)
            repeats.append(
                Repeat(took["ref"], took["vms"], ref_rate, vms_rate, vms_rate / ref_rate)
            )
            print(
                f"repeat {r + 1}: cp+sha256sum {ref_rate:.2f} GiB/min, vms {vms_rate:.2f} GiB/min, "
                f"ratio {vms_rate / ref_rate:.2f}",
                file=sys.stderr,
            )
        summary = {
            "files": args.files,
            "bytes": total,
            "median_reference_gib_min": round(
                statistics.median(x.reference_gib_min for x in repeats), 2
            ),
            "median_vms_gib_min": round(statistics.median(x.vms_gib_min for x in repeats), 2),
            "median_ratio": round(statistics.median(x.ratio for x in repeats), 3),
            "repeats": [asdict(x) for x in repeats],
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, load "
            f"{os.getloadavg()[0]:.1f}",
        }
        print(json.dumps(summary, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
