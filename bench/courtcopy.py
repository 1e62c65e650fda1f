"""Court copy benchmark: render speed (x real time) of an interview's court copy, against
ffmpeg doing the same picture-in-picture in the same run.

The interview is recorded once (cached in bench/out/courtcopy/) the way the tests record:
real footage encoded like a custody camera's (no B-frames, a keyframe a second), looped to
``--seconds``: the main camera 1920x1080 25 fps H.264 with espeak-ng speech in AAC, the
overview camera 1280x720 25 fps H.264, cut into 10 s segments and indexed with their hashes.

Then, ``--runs`` times each, alternating:

* ``vms``: ``make_court_copy`` of the interview: verify the segments, decode both cameras and
  the sound, compose (inset, UTC and local time, captions), libx264 + AAC, the package with
  the originals copied and hashed, the signed manifest, the audit entry;
* ``ffmpeg``: one ``ffmpeg`` over the same segments (concat demuxer) with the same picture:
  the inset scaled and overlaid, the UTC time drawn (drawtext), libx264 at the same preset
  and CRF, AAC 96 kb/s mono 48 kHz, in plain MP4 (``+faststart``).

Usage, from the repository root::

    .venv/bin/python -m bench.courtcopy                 # 60 s interview, 2 runs each
    .venv/bin/python -m bench.courtcopy --seconds 300 --runs 3
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support.footage import FOOTAGE, Take, record_segments
from vms.bootstrap import prepare
from vms.config import Config
from vms.custody.courtcopy import make_court_copy
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.db.session import Database
from vms.evidence.audit import Actor

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "courtcopy"
FFMPEG = "/usr/bin/ffmpeg"
FONT = "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"
T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return time.monotonic()


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def config(root: Path) -> Config:
    cam = {"kind": "custody", "site": "Bench", "source": "synthetic://x", "analysis_fps": 0}
    return Config.model_validate(
        {
            "storage": {"root": str(root)},
            "cameras": [
                {**cam, "id": "front", "room": "Int 1", "room_type": "interrogation"},
                {**cam, "id": "wide", "room": "Int 1", "room_type": "interrogation"},
                {**cam, "id": "desk", "room": "Hold 1", "room_type": "holding"},
            ],
        }
    )


def prepare_interview(seconds: float) -> tuple[Config, Database, int]:
    """The recorded interview (made once per length, then reused)."""
    root = OUT / f"store-{seconds:g}"
    cfg = config(root)
    fresh = not (root / "vms.db").exists()
    if fresh:
        shutil.rmtree(root, ignore_errors=True)
    db = prepare(cfg)
    if fresh:
        work = OUT / "streams"
        front = Take(
            "front", footage="footage/overhead-crowd.avi", video="h264", width=1920, fps=25
        )
        wide = Take("wide", footage=FOOTAGE, video="h264", audio=None, width=1280, fps=25)
        for take in (front, wide):
            record_segments(db, root, take, T0, seconds + 2, work=work, segment_s=10)
        clock = FixedClock(T0 + timedelta(days=1))
        svc = CustodyService(db, cfg, clock)
        p = svc.enter(name="Bench", reason="x", basis="summons", room="hold-1", by="b", at=T0)
        officers = [Officer("A", "1"), Officer("B", "2")]
        iv = svc.start_interview(
            p.id, officers=officers, by="b", room="int-1", at=T0 + timedelta(seconds=1)
        )
        svc.end_interview(iv.id, by="b", at=T0 + timedelta(seconds=1 + seconds))
    with db.session() as s:
        from vms.custody.models import Interview

        iv_id = s.query(Interview.id).order_by(Interview.id.desc()).limit(1).scalar()
    assert iv_id is not None
    return cfg, db, int(iv_id)


def run_vms(cfg: Config, db: Database, iv: int, n: int) -> dict[str, Any]:
    out = OUT / "runs" / f"vms-{n}" / "court.mp4"
    shutil.rmtree(out.parent, ignore_errors=True)
    clock = FixedClock(T0 + timedelta(days=1))
    c0, t0 = cpu_self(), time.perf_counter()
    result = make_court_copy(db, cfg, clock, Actor("bench", "benchmark"), iv, out)
    wall, cpu = time.perf_counter() - t0, cpu_self() - c0
    return {"wall": wall, "cpu": cpu, "seconds": result.seconds, "bytes": result.bytes}


def _concat(cfg: Config, db: Database, camera: str, folder: Path) -> Path:
    from vms.recordings import segments_in_range

    lst = folder / f"{camera}.txt"
    lines = [
        f"file '{cfg.storage.root / s.path}'" for s in segments_in_range(db, camera, None, None)
    ]
    lst.write_text("\n".join(lines) + "\n")
    return lst


def run_ffmpeg(cfg: Config, db: Database, seconds: float, n: int) -> dict[str, Any]:
    folder = OUT / "runs" / f"ffmpeg-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    front, wide = _concat(cfg, db, "front", folder), _concat(cfg, db, "wide", folder)
    epoch = int((T0 + timedelta(seconds=1)).timestamp())
    graph = (
        "[1:v]scale=614:-2[inset];[0:v][inset]overlay=W-w-20:20[pip];"
        f"[pip]drawtext=fontfile={FONT}:fontsize=40:fontcolor=white:box=1:boxcolor=black:"
        f"x=10:y=10:text='%{{pts\\:gmtime\\:{epoch}}} UTC'[v]"
    )
    cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-y"]
    cmd += ["-ss", "1", "-f", "concat", "-safe", "0", "-i", str(front)]
    cmd += ["-ss", "1", "-f", "concat", "-safe", "0", "-i", str(wide)]
    cmd += ["-filter_complex", graph, "-map", "[v]", "-map", "0:a", "-t", f"{seconds:g}"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
    cmd += ["-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "1"]
    cmd += ["-movflags", "+faststart", str(folder / "court.mp4")]
    c0, t0 = cpu_children(), time.perf_counter()
    subprocess.run(cmd, check=True)
    wall, cpu = time.perf_counter() - t0, cpu_children() - c0
    return {"wall": wall, "cpu": cpu, "bytes": (folder / "court.mp4").stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="interview length")
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    cfg, db, iv = prepare_interview(args.seconds)
    rows: dict[str, list[dict[str, Any]]] = {"vms": [], "ffmpeg": []}
    for n in range(args.runs):
        rows["vms"].append(run_vms(cfg, db, iv, n))
        rows["ffmpeg"].append(run_ffmpeg(cfg, db, args.seconds, n))
        print(f"run {n + 1}: vms {rows['vms'][-1]}, ffmpeg {rows['ffmpeg'][-1]}", flush=True)
    print(f"\n{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"interview {args.seconds:g} s: 1920x1080 25 fps + 1280x720 25 fps + AAC speech\n")
    print(
        "| renderer | wall s (median) | x real time | CPU s (median) | CPU s per s of interview |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, runs in rows.items():
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        print(
            f"| {name} | {wall:.1f} | {args.seconds / wall:.2f}x | {cpu:.1f} | "
            f"{cpu / args.seconds:.2f} |"
        )
    ratio = [v["wall"] / f["wall"] for v, f in zip(rows["vms"], rows["ffmpeg"], strict=True)]
    print(f"\nvms / ffmpeg wall time per run: {', '.join(f'{r:.2f}' for r in ratio)}")


if __name__ == "__main__":
    main()
