"""Memory of each process of ``vms serve`` recording N live RTSP cameras (the web app on).

``bench.recording`` gives the tree's total; this says where it is: the service process (web
app, jobs), the fork server, each worker, the multiprocessing resource tracker. Each
``--tree`` (a folder whose ``vms`` package runs, e.g. a ``git archive`` of main) is measured
in turn against the same streams::

    .venv/bin/python -m bench.service_memory --streams 5 --tree . --tree /tmp/vms-main

Short (about 15 s a tree) and light: the recorders run only long enough to record.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from tests.support.rtsp import Mount, RtspServer

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "bench" / "out" / "source-1920x1080p25-4000k-g25-20s.h264"


def smaps(pid: int) -> dict[str, float]:
    """``/proc/PID/smaps_rollup`` in MB."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m:
                out[m[1]] = int(m[2]) / 1024
    return out


def role(p: psutil.Process) -> str:
    cmd = " ".join(p.cmdline())
    if "resource_tracker" in cmd:
        return "resource tracker"
    if "forkserver" in cmd:
        return "worker" if p.num_threads() > 2 else "fork server"
    return "vms serve" if "vms.cli" in cmd else Path(cmd.split(" ")[0]).name


def measure(
    tree: Path, urls: list[str], per_process: int, settle: float
) -> list[tuple[str, dict[str, float], int]]:
    with tempfile.TemporaryDirectory(prefix="vms-svc-mem-") as tmp:
        work = Path(tmp)
        config = {
            "storage": {"root": str(work / "data")},
            "workers": {"cameras_per_process": per_process},
            "web": {"port": 0},
            "cameras": [
                {"id": f"cam{i}", "kind": "street", "site": "bench", "source": url}
                | {"analysis_fps": 0, "segment_seconds": 60}
                for i, url in enumerate(urls)
            ],
        }
        (work / "vms.yaml").write_text(json.dumps(config))  # JSON is YAML
        proc = subprocess.Popen(
            [sys.executable, "-m", "vms.cli", "serve", "--config", str(work / "vms.yaml")],
            cwd=tree,
            env=dict(os.environ, PYTHONPATH=str(tree)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if len(list((work / "data").rglob("*.mp4"))) >= len(urls):
                    break
                time.sleep(0.5)
            time.sleep(settle)
            procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            return [(role(p), smaps(p.pid), p.num_threads()) for p in procs]
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=5)
    parser.add_argument("--cameras-per-process", type=int, default=5)
    parser.add_argument("--settle", type=float, default=6.0, help="seconds of recording")
    parser.add_argument("--tree", type=Path, action="append", default=[])
    args = parser.parse_args()
    if not SOURCE.exists():
        raise SystemExit(f"{SOURCE} missing: run bench.recording once (it encodes it)")
    trees = args.tree or [ROOT]
    mounts = {f"/cam{i}": Mount(SOURCE, 25.0, None) for i in range(args.streams)}
    with RtspServer(mounts, ready_timeout=60) as server:
        urls = [server.url(f"/cam{i}") for i in range(args.streams)]
        print(f"{args.streams} streams, {args.cameras_per_process} cameras per process")
        print("| tree | process | PSS MB | private dirty MB | threads |\n|---|---|---:|---:|---:|")
        for tree in trees:
            rows = measure(tree.resolve(), urls, args.cameras_per_process, args.settle)
            for name, mem, threads in rows:
                print(
                    f"| {tree} | {name} | {mem['Pss']:.1f} | {mem['Private_Dirty']:.1f} "
                    f"| {threads} |"
                )
            print(f"| {tree} | **total** | **{sum(m['Pss'] for _n, m, _t in rows):.1f}** | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
