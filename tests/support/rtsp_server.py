#!/usr/bin/python3
"""A small real RTSP server for tests, built on GStreamer's gst-rtsp-server.

Run it with Debian's ``/usr/bin/python3`` (it has ``python3-gi``; the project venv does not)::

    /usr/bin/python3 tests/support/rtsp_server.py --port 8554 \\
        --mount /cam1=/tmp/clip.h264@10 [--mount /cam2=/tmp/other.h264@25]

Each mount serves a raw H.264 Annex-B elementary stream (no B-frames) in an endless loop at its
native frame rate (``@FPS``, default 10), from one pipeline shared by all clients, so a second
client joins mid-stream. Timestamps rise forever: every access unit is stamped ``n / fps``
(PTS = DTS) by a pad probe, and ``identity sync=true`` paces the output in real time.

Prints ``READY <port>`` on stdout once listening; exits cleanly on SIGTERM / SIGINT.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
from fractions import Fraction
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def _make(factory: str, **props: Any) -> Gst.Element:
    element = Gst.ElementFactory.make(factory, None)
    if element is None:
        raise RuntimeError(f"GStreamer element {factory!r} is missing")
    for key, value in props.items():
        element.set_property(key.replace("_", "-"), value)
    return element


class LoopingH264Factory(GstRtspServer.RTSPMediaFactory):  # type: ignore[misc]
    """Serves one .h264 file forever; one shared pipeline per mount."""

    def __init__(self, path: str, fps: Fraction) -> None:
        super().__init__()
        self.path = path
        self.fps = fps
        self.set_shared(True)

    def do_create_element(self, url: GstRtspServer.RTSPUrl) -> Gst.Element:
        # Called each time the (shared) media is (re)built, so the frame counter starts at 0
        # together with the fresh pipeline's running time.
        rate = f"{self.fps.numerator}/{self.fps.denominator}"
        bin_ = Gst.Bin.new(None)
        src = _make(
            "multifilesrc",
            location=self.path.replace("%", "%%"),  # location is a printf pattern
            loop=True,
            caps=Gst.Caps.from_string(f"video/x-h264,stream-format=byte-stream,framerate={rate}"),
        )
        parse = _make("h264parse", config_interval=-1)  # SPS/PPS before every IDR, once
        au_caps = _make(
            "capsfilter",
            caps=Gst.Caps.from_string(
                f"video/x-h264,stream-format=byte-stream,alignment=au,framerate={rate}"
            ),
        )
        pace = _make("identity", sync=True)
        pay = _make("rtph264pay", name="pay0", pt=96)
        elements = [src, parse, au_caps, pace, pay]
        for element in elements:
            bin_.add(element)
        for upstream, downstream in itertools.pairwise(elements):
            if not upstream.link(downstream):
                raise RuntimeError(f"cannot link {upstream.name} to {downstream.name}")

        num, den = self.fps.numerator, self.fps.denominator
        counter = [0]

        def stamp(_pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
            buf = info.get_buffer()
            if buf is not None:
                # Re-stamp in place (h264parse's output buffer is ours alone): PTS = DTS = n/fps.
                n = counter[0]
                buf.pts = buf.dts = n * Gst.SECOND * den // num  # exact, no drift
                buf.duration = (n + 1) * Gst.SECOND * den // num - buf.pts
                counter[0] = n + 1
            return Gst.PadProbeReturn.OK

        au_caps.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, stamp)
        return bin_


def _parse_mount(spec: str) -> tuple[str, str, Fraction]:
    mount, sep, rest = spec.partition("=")
    if not sep or not mount.startswith("/") or not rest:
        raise argparse.ArgumentTypeError(f"expected /mount=/path/file.h264[@fps], got {spec!r}")
    path, at, fps = rest.rpartition("@")
    if not at:
        path, fps = rest, "10"
    return mount, path, Fraction(fps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--mount",
        type=_parse_mount,
        action="append",
        required=True,
        help="/mount=/path/file.h264[@fps]  (repeatable)",
    )
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for mount, path, fps in args.mount:
        mounts.add_factory(mount, LoopingH264Factory(path, fps))
    if server.attach(None) == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr)
        return 1

    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, lambda *_: loop.quit() or False)
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
