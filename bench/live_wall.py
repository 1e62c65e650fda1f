"""Benchmark of the live wall: 16 tiles, the server's CPU and the browser's frame rate per tile.

    .venv/bin/python -m bench.live_wall [--tiles 16] [--seconds 20] [--no-write]

1. A real RTSP server (GStreamer, tests/support/rtsp.py) serves real footage
   (../shared/data/footage/overhead-crowd.avi re-encoded by libx264 to 640x360 at 25 fps, GOP
   1 s: a camera's sub-stream, what a wall shows) on ``--tiles`` mounts; ``vms serve``
   records every one (8 cameras per worker process) with the web application.
2. Reference, nobody watching: the CPU of the ``vms serve`` process (web app, relay) and of its
   worker processes (recording) over ``--seconds``.
3. The wall: Debian's headless Chromium opens /live?layout=16 as a supervisor (one WebRTC
   connection per tile, the camera's H.264 relayed, not re-encoded; the overlay canvas drawn
   every frame); once every tile plays, the same CPU figures over ``--seconds``, the browser's
   own CPU, and each tile's decoded frames per second (getVideoPlaybackQuality) against the
   camera's 25 fps.

Prints a Markdown section and writes it as "## Live wall" into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import psutil

from bench.docs import write_section
from tests.support.rtsp import RtspServer, free_port

ROOT = Path(__file__).resolve().parent.parent
FOOTAGE = ROOT.parent / "shared" / "data" / "footage" / "overhead-crowd.avi"
OUT = ROOT / "bench" / "out" / "live-wall"
DOC = ROOT / "docs" / "benchmarks.md"
PASSWORD = "benchmark password"
CHROMIUM = "/usr/bin/chromium"
FPS = 25
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]


def substream(src: Path, dst: Path) -> Path:
    """The clip as a 640x360, 25 fps camera sub-stream: raw H.264, no B-frames, GOP 1 s."""
    if dst.exists():
        return dst
    tmp = dst.with_suffix(".part")
    with av.open(str(src)) as inp, av.open(str(tmp), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.codec_context.gop_size = FPS
        stream.options = {"preset": "veryfast", "bf": "0", "repeat-headers": "1", "crf": "26"}
        for i, frame in enumerate(inp.decode(video=0)):
            if i % 2:  # the clip is 50 fps: every other frame
                continue
            img = frame.reformat(width=640, height=360, format="yuv420p")
            img.pts, img.time_base = None, Fraction(1, FPS)
            out.mux(stream.encode(img))
        out.mux(stream.encode(None))
    tmp.replace(dst)
    return dst


def cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def measure(
    server: psutil.Process, workers: list[psutil.Process], seconds: float
) -> dict[str, float]:
    a, b = cpu([server]), cpu(workers)
    time.sleep(seconds)
    return {"web": (cpu([server]) - a) / seconds, "workers": (cpu(workers) - b) / seconds}


TILE_FRAMES = """() => Object.fromEntries(
  [...document.querySelectorAll('.tile:not([hidden])')].map((t) => [
    t.dataset.camera, t.querySelector('video').getVideoPlaybackQuality().totalVideoFrames]))"""


def wall(
    url: str, tiles: int, seconds: float, server: psutil.Process, workers: list[psutil.Process]
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(f"{url}/login?next=/live%3Flayout%3D16")
        page.fill("input[name=username]", "bench")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login button[type=submit]")
        page.wait_for_url("**/live*")
        started = time.monotonic()
        page.wait_for_function(
            f"() => document.querySelectorAll('.tile.playing').length === {tiles}",
            timeout=180_000,
        )
        ready_s = time.monotonic() - started
        time.sleep(3)  # past the first keyframes
        chrome = [p for p in psutil.process_iter() if "chrom" in (p.name() or "").lower()]
        c0 = cpu(chrome)
        f0 = page.evaluate(TILE_FRAMES)
        t0 = time.monotonic()
        load = measure(server, workers, seconds)
        f1 = page.evaluate(TILE_FRAMES)
        elapsed = time.monotonic() - t0
        browser_cpu = (cpu(chrome) - c0) / elapsed
        browser.close()
    fps = {cam: (f1[cam] - f0[cam]) / elapsed for cam in f1}
    return {"ready_s": ready_s, "fps": fps, "browser_cpu": browser_cpu, **load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiles", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--no-write", action="store_true", help="Do not touch docs/.")
    args = parser.parse_args()
    if not FOOTAGE.exists():
        raise SystemExit(f"{FOOTAGE} is missing (../shared/data beside the checkout)")
    OUT.mkdir(parents=True, exist_ok=True)
    store = OUT / "store"
    if store.exists():
        import shutil

        shutil.rmtree(store)
    h264 = substream(FOOTAGE, OUT / "crowd-640x360-25.h264")
    mounts = {f"/cam{i:02d}": (h264, float(FPS)) for i in range(args.tiles)}
    port = free_port()
    with RtspServer(mounts) as rtsp:
        cams = "".join(
            f"  - {{id: cam{i:02d}, kind: street, site: bench, "
            f"source: '{rtsp.url(f'/cam{i:02d}')}', segment_seconds: 60, analysis_fps: 0}}\n"
            for i in range(args.tiles)
        )
        config = OUT / "vms.yaml"
        config.write_text(
            f"storage: {{root: {store}}}\n"
            f"web: {{port: {port}, secure_cookies: false}}\n"
            "workers: {cameras_per_process: 8}\n"
            f"cameras:\n{cams}"
        )
        vms = [sys.executable, "-m", "vms.cli"]
        subprocess.run(
            [*vms, "users", "add", "bench", "--role", "supervisor", "--password-stdin",
             "--config", str(config)],
            input=PASSWORD + "\n", text=True, check=True, capture_output=True,
        )  # fmt: skip
        log = (OUT / "vms.log").open("w")
        server = subprocess.Popen(
            [*vms, "serve", "--config", str(config)], stdout=log, stderr=log, cwd=ROOT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{url}/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"vms serve did not come up; see {OUT / 'vms.log'}")
                time.sleep(0.5)
            time.sleep(10)  # every camera connected and recording
            proc = psutil.Process(server.pid)
            workers = proc.children(recursive=True)
            print(f"reference: {args.tiles} cameras recording, nobody watching ...")
            idle = measure(proc, workers, args.seconds)
            print(f"the wall at {args.tiles} tiles ...")
            watched = wall(url, args.tiles, args.seconds, proc, workers)
        finally:
            server.terminate()
            server.wait(90)
            log.close()

    fps = sorted(watched["fps"].values())
    kbps = (
        h264.stat().st_size * 8 / 1000 / (sum(1 for _ in av.open(str(h264)).demux(video=0)) / FPS)
    )
    web_added = watched["web"] - idle["web"]
    lines = [
        "## Live wall",
        "",
        f"`.venv/bin/python -m bench.live_wall --tiles {args.tiles} --seconds {args.seconds:g}` "
        f"on {platform.machine()}, {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}; the "
        "machine was shared with other engineers' work (the figures are noisy: ratios to the "
        "reference taken in the same run).",
        "",
        f"{args.tiles} RTSP cameras (GStreamer) of real footage (overhead-crowd.avi as a "
        f"640x360, {FPS} fps H.264 sub-stream, GOP 1 s, {kbps:.0f} kb/s), recorded by "
        "`vms serve` (8 cameras per worker process, analysis off). The wall: Debian's headless "
        f"Chromium, /live at layout 16, one WebRTC connection per tile (the cameras' packets "
        "relayed, not re-encoded), the overlay canvas drawn every frame. CPU in % of one core "
        f"over {args.seconds:g} s; every tile was playing {watched['ready_s']:.0f} s after the "
        "page opened.",
        "",
        "| | `vms serve` (web, relay) | its workers (recording) | Chromium |",
        "|---|---:|---:|---:|",
        f"| nobody watching (reference) | {idle['web'] * 100:.1f} | "
        f"{idle['workers'] * 100:.1f} | – |",
        f"| the wall at {args.tiles} tiles | {watched['web'] * 100:.1f} | "
        f"{watched['workers'] * 100:.1f} | {watched['browser_cpu'] * 100:.0f} |",
        "",
        f"Added by the wall to `vms serve` (the relay to the browser): **{web_added * 100:.1f} %**"
        f" of a core, {web_added * 100 / args.tiles:.2f} % per tile (the workers record either "
        "way; their figure moves with the shared machine's load).",
        "",
        f"Frames per second shown per tile (camera: {FPS} fps): median "
        f"**{statistics.median(fps):.1f}** ({statistics.median(fps) / FPS:.2f} of the camera's), "
        f"lowest {fps[0]:.1f}, highest {fps[-1]:.1f}.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    (OUT / "result.json").write_text(json.dumps({"idle": idle, "wall": watched}))
    if not args.no_write:
        write_section("Live wall", text, DOC)


if __name__ == "__main__":
    main()
