"""The recorder's own per-packet cost: CameraWorker's loop without the network.

A real CameraWorker records packets replayed from memory (the bench's 1080p source, or a
clip with sound) through its source seam: real timeline, real segment files (fragmented MP4 /
MOV, fsync at close), real index rows (SQLite). The CPU time of the whole process per packet
is vms's own per-packet path plus muxing; ``--floor`` adds the same packets muxed by a bare
PyAV loop (no worker), the part that is FFmpeg's. Reading the camera (RTSP demux in
libavformat) is not included: bench/recording.py measures that, against ffmpeg.

``--tree DIR`` runs another checkout's vms (e.g. ``git archive <commit> vms | tar -x -C DIR``)
for a before/after comparison in one run::

    .venv/bin/python -m bench.packet_path --packets 6000 --tree /tmp/vms-before --floor
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, threading, time
from datetime import UTC, datetime
from pathlib import Path
import av

src, out, count, mode = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cameras = int(sys.argv[5])
with av.open(src, format="h264" if src.endswith(".h264") else "hevc") as c:
    aus = [(bytes(p), p.is_keyframe) for p in c.demux(video=0) if p.size]

from vms.cameras.opened import OpenedSource
from vms.errors import SourceEndedError, SourceOpenError

STEP = 3600  # 25 fps in 90 kHz ticks


def replay(tb):
    for i in range(count):
        data, key = aus[i % len(aus)]
        p = av.Packet(data)
        p.dts = p.pts = i * STEP
        p.duration = STEP
        p.time_base = tb
        p.is_keyframe = key
        yield p
    raise SourceEndedError("replay: end")


class Replay(OpenedSource):
    def demux(self):
        return replay(self.info.time_base)

    def packets(self):  # what an older worker reads
        return replay(self.info.time_base)


if mode == "replay":  # what making the packets costs (in every other figure too)
    t0 = time.process_time()
    n = 0
    s = Replay(av.open(src), src, is_file=False, native_speed=False)
    try:
        for p in replay(s.info.time_base):
            n += 1
    except SourceEndedError:
        pass
    print(json.dumps({"cpu_s": time.process_time() - t0, "packets": n}))
    sys.exit(0)

if mode == "floor":
    from vms.cameras.recorder import SegmentWriter
    s = Replay(av.open(src), src, is_file=False, native_speed=False)
    t0 = time.process_time()
    w = None
    n = 0
    try:
        for p in replay(s.info.time_base):
            if w is None or (p.is_keyframe and n % 1500 == 0):
                if w is not None:
                    w.close()
                now = datetime.now(UTC)
                w = SegmentWriter(out, Path(f"f{n}.mp4"), s.stream, s.info, now, p.dts)
            w.write(p)
            n += 1
    except SourceEndedError:
        pass
    w.close()
    print(json.dumps({"cpu_s": time.process_time() - t0, "packets": n}))
    sys.exit(0)

from vms.bootstrap import sync_cameras
from vms.cameras.index import RecordingIndex
from vms.cameras.worker import CameraWorker
from vms.config import Config
from vms.db.migrate import upgrade
from vms.db.session import Database

cfg = Config.model_validate({"storage": {"root": str(out)}, "cameras": [
    {"id": f"cam{i}", "kind": "street", "site": "bench", "source": f"replay://cam{i}",
     "segment_seconds": 60, "analysis_fps": 0} for i in range(cameras)]})
db = Database(cfg.database_url)
upgrade(db.engine)
sync_cameras(db, cfg)
index = RecordingIndex(db, out)
opened = set()
workers = {}


def opener(url, **kw):
    if url in opened:
        workers[url].stop()
        raise SourceOpenError("done")
    opened.add(url)
    return Replay(av.open(src), src, is_file=False, native_speed=False)


import vms.cameras.worker as wm

if mode == "python":  # the worker's own Python only: no file is written, nothing hashed
    class NoFile:
        def __init__(self, root, relpath, template, info, start, first_dts, **_kw):
            self.relpath, self.path, self.start, self.info = relpath, root / relpath, start, info
            self.packets, self.track_packets, self.learned = 0, [0], {}

        def write(self, packet, track=0, tick=None):
            self.packets += 1

        def end_time(self):
            return self.start

        def close(self):
            return self.relpath, self.start, self.packets

        def abort(self):
            pass

    wm.SegmentWriter = NoFile

kwargs = {"opener": opener} if "opener" in CameraWorker.__init__.__code__.co_varnames else {}
if not kwargs:  # an older worker: no source seam, replace the module's open_source
    wm.open_source = opener
for cam in cfg.cameras:
    workers[cam.source] = CameraWorker(cam, out, index, **kwargs)
threads = [threading.Thread(target=w.run) for w in workers.values()]
t0 = time.process_time()
for t in threads:
    t.start()
for t in threads:
    t.join()
cpu = time.process_time() - t0
index.flush()
index.close()
written = sum(w.health().packets_written for w in workers.values())
print(json.dumps({"cpu_s": cpu, "packets": written}))
"""


def run(tree: Path, source: Path, count: int, mode: str, cameras: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="vms-packet-path-") as out:
        res = subprocess.run(
            [sys.executable, "-c", CHILD, str(source), out, str(count), mode, str(cameras)],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(tree)),
            timeout=900,
            check=False,
        )
    if res.returncode != 0:
        raise SystemExit(f"{tree}: {res.stderr[-2000:]}")
    data: dict[str, float] = json.loads(res.stdout.strip().splitlines()[-1])
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packets", type=int, default=6000, help="per camera")
    parser.add_argument(
        "--cameras", type=int, default=1, help="cameras recording at once in the one process"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    parser.add_argument("--tree", type=Path, action="append", default=[], help="another vms")
    parser.add_argument("--floor", action="store_true", help="also a bare PyAV mux loop")
    parser.add_argument(
        "--source",
        type=Path,
        default=ROOT / "bench" / "out" / "source-1920x1080p25-4000k-g25-20s.h264",
        help="raw H.264 / H.265 (bench.recording encodes this one)",
    )
    args = parser.parse_args()
    if not args.source.exists():
        raise SystemExit(f"{args.source} missing: run bench.recording once (it encodes it)")
    runs = [("this tree", ROOT, "worker")] + [(str(t), t, "worker") for t in args.tree]
    runs += [("this tree, worker's Python only (no file written)", ROOT, "python")]
    runs += [(f"{t}, worker's Python only", t, "python") for t in args.tree]
    runs += [("making the replayed packets (in every row)", ROOT, "replay")]
    if args.floor:
        runs.append(("PyAV mux only (no worker, no index)", ROOT, "floor"))
    print(
        f"{args.cameras} camera(s) in one process, {args.packets} packets each of "
        f"{args.source.name}, best of {args.repeat}"
    )
    print("| what | CPU µs / packet |\n|---|---:|")
    for name, tree, mode in runs:
        best = min(
            (run(tree, args.source, args.packets, mode, args.cameras) for _ in range(args.repeat)),
            key=lambda r: r["cpu_s"] / max(1.0, r["packets"]),
        )
        print(f"| {name} | {1e6 * best['cpu_s'] / max(1.0, best['packets']):.1f} |", flush=True)
    if args.floor:
        # What the index thread spends hashing each closed segment, per packet of it.
        import av  # the parent reads the source once, here only

        data = args.source.read_bytes()
        fmt = "h264" if args.source.suffix == ".h264" else "hevc"
        with av.open(str(args.source), format=fmt) as c:
            frames = sum(1 for p in c.demux(video=0) if p.size)
        t0 = time.process_time()
        hashlib.sha256(data * 4).hexdigest()
        per = (time.process_time() - t0) / (4 * frames) * 1e6
        print(f"| SHA-256 of a packet's bytes (the index hashes each closed segment) | {per:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
