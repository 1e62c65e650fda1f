#!/usr/bin/python3
"""A small real RTSP server for tests, built on GStreamer's gst-rtsp-server.

Run it with Debian's ``/usr/bin/python3`` (it has ``python3-gi``; the project venv does not)::

    /usr/bin/python3 tests/support/rtsp_server.py --port 8554 \\
        --mount /cam1=/tmp/clip.h264@10 [--mount /cam2=/tmp/other.h265@25] \\
        [--audio /cam1=aac:/tmp/speech.aac] [--audio /cam2=pcmu:/tmp/speech.ulaw@30+6]

Each mount serves a raw H.264 or H.265 Annex-B elementary stream (``.h264`` / ``.h265``, no
B-frames) in an endless loop at its native frame rate (``@FPS``, default 10), from one pipeline
shared by all clients, so a second client joins mid-stream. Timestamps rise forever: every
access unit is stamped ``n / fps`` (PTS = DTS) by a pad probe, and ``identity sync=true`` paces
the output in real time.

``--audio`` adds an audio track to a mount, from the same pipeline and clock, so the two are
in sync exactly as a camera's are: ``aac`` (an ADTS file; sent as RTP MPEG4-GENERIC, one raw
AAC frame per access unit), ``pcma`` / ``pcmu`` (raw G.711 bytes, 8 kHz mono, sent 20 ms per
packet). Frame ``k`` is stamped with its sample position ``k * samples / rate``, looping like
the video. ``@START+SECONDS`` stops sending audio (only audio) for SECONDS from stream time
START, as a camera whose microphone drops out: the timestamps after the pause go on from
where the pause ends.

Prints ``READY <port>`` on stdout once listening; exits cleanly on SIGTERM / SIGINT.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
G711_FRAME = 160  # 20 ms at 8 kHz


def _make(factory: str, **props: Any) -> Gst.Element:
    element = Gst.ElementFactory.make(factory, None)
    if element is None:
        raise RuntimeError(f"GStreamer element {factory!r} is missing")
    for key, value in props.items():
        element.set_property(key.replace("_", "-"), value)
    return element


@dataclass(frozen=True)
class AudioTrack:
    codec: str  # aac, pcma, pcmu
    frames: list[bytes]  # what each RTP access unit carries
    samples: int  # per frame
    rate: int
    caps: str
    pause: tuple[float, float] | None  # (start, seconds) of stream time without audio


def load_audio(codec: str, path: str, pause: tuple[float, float] | None) -> AudioTrack:
    data = open(path, "rb").read()  # noqa: SIM115 -- a tiny script under system python
    if codec in ("pcma", "pcmu"):
        frames = [data[i : i + G711_FRAME] for i in range(0, len(data), G711_FRAME)]
        name = "audio/x-alaw" if codec == "pcma" else "audio/x-mulaw"
        return AudioTrack(codec, frames, G711_FRAME, 8000, f"{name},rate=8000,channels=1", pause)
    if codec != "aac":
        raise SystemExit(f"unknown audio codec {codec!r} (aac, pcma, pcmu)")
    frames, i, header = [], 0, b""
    while i + 7 <= len(data):
        if data[i] != 0xFF or data[i + 1] & 0xF0 != 0xF0:
            raise SystemExit(f"{path}: not ADTS at byte {i}")
        length = ((data[i + 3] & 0x03) << 11) | (data[i + 4] << 3) | (data[i + 5] >> 5)
        size = 7 if data[i + 1] & 0x01 else 9  # protection_absent: no CRC
        header = header or data[i : i + 7]
        frames.append(data[i + size : i + length])
        i += length
    profile = (header[2] >> 6) + 1  # audioObjectType
    sr_index = (header[2] >> 2) & 0x0F
    channels = ((header[2] & 0x01) << 2) | (header[3] >> 6)
    asc = (profile << 11) | (sr_index << 7) | (channels << 3)
    rate = AAC_RATES[sr_index]
    caps = (
        f"audio/mpeg,mpegversion=4,stream-format=raw,rate={rate},channels={channels},"
        f"codec_data=(buffer){asc:04x}"
    )
    return AudioTrack(codec, frames, 1024, rate, caps, pause)


class LoopingFactory(GstRtspServer.RTSPMediaFactory):  # type: ignore[misc]
    """Serves one elementary video file (and an audio track) forever; one shared pipeline."""

    def __init__(self, path: str, fps: Fraction, audio: AudioTrack | None) -> None:
        super().__init__()
        self.path = path
        self.fps = fps
        self.audio = audio
        self.codec = "h265" if path.endswith((".h265", ".hevc")) else "h264"
        self.set_shared(True)

    def do_create_element(self, url: GstRtspServer.RTSPUrl) -> Gst.Element:
        # Called each time the (shared) media is (re)built, so the frame counters start at 0
        # together with the fresh pipeline's running time.
        bin_ = Gst.Bin.new(None)
        self._video(bin_)
        if self.audio is not None:
            self._audio(bin_, self.audio)
        return bin_

    def _video(self, bin_: Gst.Bin) -> None:
        rate = f"{self.fps.numerator}/{self.fps.denominator}"
        caps = f"video/x-{self.codec},stream-format=byte-stream"
        src = _make(
            "multifilesrc",
            location=self.path.replace("%", "%%"),  # location is a printf pattern
            loop=True,
            caps=Gst.Caps.from_string(f"{caps},framerate={rate}"),
        )
        parse = _make(f"{self.codec}parse", config_interval=-1)  # parameter sets before IDRs
        au_caps = _make(
            "capsfilter", caps=Gst.Caps.from_string(f"{caps},alignment=au,framerate={rate}")
        )
        pace = _make("identity", sync=True)
        pay = _make(f"rtp{self.codec}pay", name="pay0", pt=96)
        _chain(bin_, [src, parse, au_caps, pace, pay])

        num, den = self.fps.numerator, self.fps.denominator
        counter = [0]

        def stamp(_pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
            buf = info.get_buffer()
            if buf is not None:
                # Re-stamp in place (the parser's output buffer is ours alone): PTS = DTS = n/fps.
                n = counter[0]
                buf.pts = buf.dts = n * Gst.SECOND * den // num  # exact, no drift
                buf.duration = (n + 1) * Gst.SECOND * den // num - buf.pts
                counter[0] = n + 1
            return Gst.PadProbeReturn.OK

        au_caps.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, stamp)

    def _audio(self, bin_: Gst.Bin, track: AudioTrack) -> None:
        src = _make(
            "appsrc",
            caps=Gst.Caps.from_string(track.caps),
            format=Gst.Format.TIME,
            is_live=False,
            block=True,
            max_buffers=8,
        )
        pace = _make("identity", sync=True)
        pay = {"aac": "rtpmp4gpay", "pcma": "rtppcmapay", "pcmu": "rtppcmupay"}[track.codec]
        # RTP timestamps from each buffer's time, not by counting samples, so that they jump
        # over a pause as a camera's do (its clock runs on while the microphone is silent).
        pay_el = _make(
            pay, name="pay1", pt=97 if track.codec == "aac" else 0, perfect_rtptime=False
        )
        if track.codec != "aac":
            # One RTP packet per 20 ms frame, as cameras send G.711.
            pay_el.set_property("min-ptime", 20 * Gst.MSECOND)
            pay_el.set_property("max-ptime", 20 * Gst.MSECOND)
        _chain(bin_, [src, pace, pay_el])
        counter = [0]
        n_frames = len(track.frames)
        paused = None
        if track.pause is not None:
            begin = int(track.pause[0] * track.rate) // track.samples
            paused = (begin, begin + int(track.pause[1] * track.rate) // track.samples)

        def need_data(appsrc: Gst.Element, _length: int) -> None:
            k = counter[0]
            if paused is not None and paused[0] <= k < paused[1]:
                k = counter[0] = paused[1]  # the microphone is silent: nothing is sent
            data = track.frames[k % n_frames]
            buf = Gst.Buffer.new_wrapped(data)
            buf.pts = buf.dts = k * track.samples * Gst.SECOND // track.rate
            buf.duration = (k + 1) * track.samples * Gst.SECOND // track.rate - buf.pts
            counter[0] = k + 1
            appsrc.emit("push-buffer", buf)

        src.connect("need-data", need_data)


def _chain(bin_: Gst.Bin, elements: list[Gst.Element]) -> None:
    for element in elements:
        bin_.add(element)
    for upstream, downstream in itertools.pairwise(elements):
        if not upstream.link(downstream):
            raise RuntimeError(f"cannot link {upstream.name} to {downstream.name}")


def _parse_mount(spec: str) -> tuple[str, str, Fraction]:
    mount, sep, rest = spec.partition("=")
    if not sep or not mount.startswith("/") or not rest:
        raise argparse.ArgumentTypeError(f"expected /mount=/path/file.h264[@fps], got {spec!r}")
    path, at, fps = rest.rpartition("@")
    if not at:
        path, fps = rest, "10"
    return mount, path, Fraction(fps)


def _parse_audio(spec: str) -> tuple[str, str, str, tuple[float, float] | None]:
    mount, sep, rest = spec.partition("=")
    codec, colon, path = rest.partition(":")
    if not sep or not colon or not mount.startswith("/") or not path:
        raise argparse.ArgumentTypeError(
            f"expected /mount=codec:/path[@start+seconds], got {spec!r}"
        )
    pause = None
    if "@" in path:
        path, _, when = path.rpartition("@")
        start, _, length = when.partition("+")
        pause = (float(start), float(length))
    return mount, codec, path, pause


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
    parser.add_argument(
        "--audio",
        type=_parse_audio,
        action="append",
        default=[],
        help="/mount=aac|pcma|pcmu:/path[@start+seconds]  (repeatable)",
    )
    args = parser.parse_args()

    Gst.init(None)
    audio = {m: load_audio(codec, path, pause) for m, codec, path, pause in args.audio}
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for mount, path, fps in args.mount:
        mounts.add_factory(mount, LoopingFactory(path, fps, audio.pop(mount, None)))
    if audio:
        print(f"--audio for unknown mounts: {', '.join(audio)}", file=sys.stderr)
        return 2
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
