"""CPU per GB/T 28181 channel against an RTSP camera of the same footage, in the same run.

The same clip (the real 768x432 10 fps indoor footage, H.264, GOP 1 s) is served N times by
the GStreamer RTSP server (tests/support/rtsp_server.py) and by the GB/T 28181 device
simulator (tests/support/gb28181_device.py, one NVR with N channels, PS over RTP/UDP or TCP).
For each phase a fresh recorder process runs N CameraWorkers (recording on, analysis off:
the recording path only), exactly as a vms worker process does; the CPU time (user + system)
of that process over the measured window, after a warm-up, is the figure. The servers, the
simulator and the platform (SIP only, idle between keepalives) run in other processes and
are not counted.

    .venv/bin/python -m bench.gb28181 --channels 10 --seconds 30
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT.parent / "shared" / "data" / "footage" / "one-by-one-person-detection.mp4"
NVR = "34020000001320000001"
PASSWORD = "bench"


def _record(
    sources: list[str], root: str, gb: Any, warmup: float, seconds: float, out: Any
) -> None:
    """In a fresh process: record ``sources`` and report CPU over the window."""
    from tests.cameras.helpers import camera, make_config, open_database
    from vms.cameras.index import RecordingIndex
    from vms.cameras.worker import CameraWorker

    cams = [
        camera(f"c{n}", src, segment_seconds=10, analysis_fps=0, stall_timeout_s=10)
        for n, src in enumerate(sources)
    ]
    config = make_config(Path(root), cams)
    db = open_database(config.database_url, config)
    index = RecordingIndex(db, Path(root))
    workers = [CameraWorker(c, Path(root), index, gb28181=gb) for c in config.cameras]
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(w.health().packets_written > 0 for w in workers):
        time.sleep(0.2)
    time.sleep(warmup)
    p0 = sum(w.health().packets_written for w in workers)
    t0, c0 = time.monotonic(), os.times()
    time.sleep(seconds)
    t1, c1 = time.monotonic(), os.times()
    p1 = sum(w.health().packets_written for w in workers)
    lost = sum(w.health().rtp_lost for w in workers)
    for w in workers:
        w.stop()
    for t in threads:
        t.join(timeout=20)
    index.flush()
    index.close()
    db.dispose()
    cpu = (c1.user - c0.user) + (c1.system - c0.system)
    out.put({"cpu_s": cpu, "wall_s": t1 - t0, "packets": p1 - p0, "rtp_lost": lost})


def _phase(name: str, sources: list[str], gb: Any, args: argparse.Namespace) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    with tempfile.TemporaryDirectory(prefix=f"bench-gb-{name}-") as root:
        proc = ctx.Process(target=_record, args=(sources, root, gb, args.warmup, args.seconds, q))
        proc.start()
        result: dict[str, Any] = q.get(timeout=args.seconds + args.warmup + 120)
        proc.join(timeout=60)
    n = len(sources)
    core = 100 * result["cpu_s"] / result["wall_s"]
    return {
        "phase": name,
        "channels": n,
        "cpu_percent_of_a_core": round(core, 2),
        "cpu_percent_per_channel": round(core / n, 3),
        "packets_per_s": round(result["packets"] / result["wall_s"], 1),
        "rtp_lost": result["rtp_lost"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--transport", default="udp", choices=["udp", "tcp-passive"])
    args = parser.parse_args()

    from tests.cameras.gb28181.conftest import CHANNELS, channel, gb_settings
    from tests.support.gb28181 import DeviceSimulator
    from tests.support.rtsp import RtspServer, prepare_h264
    from vms.cameras.gb28181.config import Gb28181Config
    from vms.cameras.gb28181.control import control_address
    from vms.cameras.gb28181.platform import Gb28181Platform
    from vms.cameras.gb28181.source import Gb28181Media

    path, fps = prepare_h264(CLIP, ROOT / "bench" / "out", max_seconds=20)
    n = args.channels
    chans = [channel(i) for i in range(1, n + 1)] if n > len(CHANNELS) else CHANNELS[:n]
    results = []
    mounts = {f"/cam{i}": (path, fps) for i in range(n)}
    with RtspServer(mounts) as server:
        rtsp = [server.url(m) for m in mounts]
        results.append(_phase("rtsp", rtsp, None, args))
    with tempfile.TemporaryDirectory(prefix="bench-gb-platform-") as proot:
        config = Gb28181Config.model_validate(gb_settings(password=PASSWORD))
        platform = Gb28181Platform(config, control_address(Path(proot)))
        platform.start()
        try:
            with DeviceSimulator(NVR, PASSWORD, platform.sip_port, chans, path, fps) as dev:
                dev.wait_for("registered")
                gb = Gb28181Media(config, platform.control_address)
                sources = [f"gb28181://{NVR}/{c}?transport={args.transport}" for c in chans]
                results.append(_phase(f"gb28181-{args.transport}", sources, gb, args))
        finally:
            platform.stop()
    rtsp_cpu = results[0]["cpu_percent_per_channel"]
    for r in results:
        r["ratio_to_rtsp"] = round(r["cpu_percent_per_channel"] / rtsp_cpu, 2) if rtsp_cpu else None
        print(json.dumps(r))


if __name__ == "__main__":
    main()
