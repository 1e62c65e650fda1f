"""Test helpers for a real RTSP camera: encode a clip to raw H.264 / H.265 and real speech to
AAC / G.711, serve them with GStreamer.

Usage::

    path, fps = prepare_h264(FOOTAGE / "one-by-one-person-detection.mp4", tmp_dir, max_seconds=20)
    with RtspServer({"/cam1": (path, fps)}) as server:
        url = server.url("/cam1")   # rtsp://127.0.0.1:<port>/cam1
        server.stop()               # camera outage...
        server.start()              # ...and back, on the same port

    video, fps = prepare_video(FOOTAGE / "...", tmp_dir, codec="h265", max_seconds=16)
    speech = prepare_speech(tmp_dir, "pcma", seconds=16)   # espeak-ng, 8 kHz A-law
    mounts = {"/room": Mount(video, fps, AudioTrack("pcma", speech, pause=(40, 6)))}
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import IO

import av
import numpy as np

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
DEBIAN_PACKAGES = (
    "python3 python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base "
    "gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-rtsp"
)

_CHECK = """
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer
Gst.init(None)
missing = [e for e in ("multifilesrc", "h264parse", "capsfilter", "identity", "rtph264pay",
                       "h265parse", "rtph265pay", "appsrc", "rtpmp4gpay", "rtppcmapay",
                       "rtppcmupay")
           if Gst.ElementFactory.find(e) is None]
if missing:
    raise SystemExit("missing GStreamer elements: " + ", ".join(missing))
"""


@cache
def check_gstreamer() -> None:
    """Raise RuntimeError naming the Debian packages to install if GStreamer/gi is unusable."""
    fix = (
        f"install the Debian packages: apt-get install -y --no-install-recommends {DEBIAN_PACKAGES}"
    )
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        raise RuntimeError(f"{SYSTEM_PYTHON} not found; {fix}")
    result = subprocess.run(
        [SYSTEM_PYTHON, "-c", _CHECK], capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise RuntimeError(f"GStreamer RTSP server unusable from {SYSTEM_PYTHON} ({detail}); {fix}")


def prepare_h264(
    src: Path, dst_dir: Path, *, max_seconds: float | None = None, gop: int | None = None
) -> tuple[Path, float]:
    """Re-encode ``src`` to a raw Annex-B H.264 stream like a camera's: no B-frames, a keyframe
    every ``gop`` frames (default: about one second), SPS/PPS repeated before every keyframe.

    Returns ``(path, fps)``. The result is cached in ``dst_dir`` by source name and parameters.
    """
    return prepare_video(src, dst_dir, codec="h264", max_seconds=max_seconds, gop=gop)


def prepare_video(
    src: Path,
    dst_dir: Path,
    *,
    codec: str = "h264",
    max_seconds: float | None = None,
    gop: int | None = None,
) -> tuple[Path, float]:
    """``src`` as a raw Annex-B H.264 (``.h264``) or H.265 (``.h265``) stream like a camera's.

    No B-frames, a keyframe every ``gop`` frames (default: about one second), parameter sets
    repeated before every keyframe. Cached in ``dst_dir`` by source name and parameters.
    """
    with av.open(str(src)) as probe:
        rate = probe.streams.video[0].average_rate or probe.streams.video[0].guessed_rate
    fps = Fraction(rate or 10).limit_denominator(1001)
    gop = gop or max(1, round(fps))
    limit = "full" if max_seconds is None else f"{max_seconds:g}s"
    suffix = {"h264": ".h264", "h265": ".h265"}[codec]
    dst = dst_dir / f"{src.stem}-{limit}-g{gop}{suffix}"
    if dst.exists():
        return dst, float(fps)

    dst_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=suffix, dir=dst_dir)
    os.close(fd)
    max_frames = None if max_seconds is None else round(max_seconds * fps)
    params = f"bframes=0:keyint={gop}:min-keyint={gop}:scenecut=0"
    try:
        fmt = "h264" if codec == "h264" else "hevc"
        with av.open(str(src)) as inp, av.open(tmp_name, "w", format=fmt) as out:
            in_stream = inp.streams.video[0]
            stream = out.add_stream("libx264" if codec == "h264" else "libx265", rate=fps)
            stream.width = in_stream.codec_context.width
            stream.height = in_stream.codec_context.height
            stream.pix_fmt = "yuv420p"
            stream.codec_context.gop_size = gop
            stream.options = (
                {"preset": "veryfast", "x264-params": params}
                if codec == "h264"
                else {
                    "preset": "ultrafast",
                    "x265-params": f"{params}:repeat-headers=1:log-level=error",
                }
            )
            for index, frame in enumerate(inp.decode(in_stream)):
                if max_frames is not None and index >= max_frames:
                    break
                frame = frame.reformat(format="yuv420p")
                frame.pts, frame.time_base = index, 1 / fps
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        os.replace(tmp_name, dst)  # atomic: concurrent workers never see a half-written file
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return dst, float(fps)


SPEECH = (
    "This is interview room two of the city custody area. The time is ten fifteen. "
    "Please state your full name for the record. Do you understand why you are here today? "
    "You may ask for a break at any time. The interview is recorded with sound and picture."
)
#: Audio codecs the server sends: (FFmpeg encoder, raw format or ADTS, sample rate).
SPEECH_CODECS = {"aac": ("aac", "adts", 16000), "pcma": ("pcm_alaw", "alaw", 8000),
                 "pcmu": ("pcm_mulaw", "mulaw", 8000)}  # fmt: skip


def check_espeak() -> str:
    """The espeak-ng binary, or RuntimeError naming the Debian package to install."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise RuntimeError(
            "espeak-ng (real speech for the audio tests) is missing: "
            "apt-get install -y --no-install-recommends espeak-ng (scripts/setup --dev does)"
        )
    return path


def prepare_speech(dst_dir: Path, codec: str, *, seconds: int) -> Path:
    """Real synthetic speech (espeak-ng), ``seconds`` long, encoded as a camera sends it.

    ``aac``: an ADTS file of exactly ``seconds * 16000 / 1024`` frames (16 kHz mono);
    ``pcma`` / ``pcmu``: raw G.711 bytes, 8 kHz mono. A faint seeded noise under the speech
    makes every frame different from every other, so a recording can be matched frame by frame.
    """
    encoder, fmt, rate = SPEECH_CODECS[codec]
    frame = 1024 if codec == "aac" else 160
    if (seconds * rate) % frame:
        raise ValueError(f"{seconds} s of {codec} is not a whole number of frames")
    dst = dst_dir / f"speech-{seconds}s.{codec}"
    if dst.exists():
        return dst
    dst_dir.mkdir(parents=True, exist_ok=True)
    wav = dst_dir / "speech.wav"
    if not wav.exists():
        subprocess.run([check_espeak(), "-w", str(wav), SPEECH], check=True, timeout=60)
    chunks = []
    with av.open(str(wav)) as c:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        for f in c.decode(audio=0):
            chunks += [g.to_ndarray()[0] for g in resampler.resample(f)]
        chunks += [g.to_ndarray()[0] for g in resampler.resample(None)]
    speech = np.concatenate(chunks)
    total = seconds * rate
    pcm = np.resize(speech, total).astype(np.int32)  # repeated to fill the clip
    pcm += np.random.default_rng(20261201).integers(-48, 48, total)
    pcm16 = np.clip(pcm, -32768, 32767).astype(np.int16)
    fd, tmp_name = tempfile.mkstemp(suffix=f".{codec}", dir=dst_dir)
    os.close(fd)
    try:
        with av.open(tmp_name, "w", format=fmt) as out:
            stream = out.add_stream(encoder, rate=rate)
            stream.layout = "mono"
            written = 0
            for i in range(0, total, frame):
                af = av.AudioFrame.from_ndarray(
                    pcm16[None, i : i + frame], format="s16", layout="mono"
                )
                af.sample_rate, af.pts = rate, i
                for packet in stream.encode(af):
                    if written < total // frame:  # the encoder's tail would break the loop
                        out.mux(packet)
                        written += 1
            for packet in stream.encode(None):
                if written < total // frame:
                    out.mux(packet)
                    written += 1
        os.replace(tmp_name, dst)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return dst


@dataclass(frozen=True)
class AudioTrack:
    """An audio track of a mount: ``codec`` aac / pcma / pcmu (prepare_speech's files);
    ``pause``: (stream second, seconds) with no audio sent, as a microphone dropping out."""

    codec: str
    path: Path
    pause: tuple[float, float] | None = None


@dataclass(frozen=True)
class Mount:
    """What a mount serves: a raw video file at ``fps``, and optionally an audio track."""

    video: Path
    fps: float
    audio: AudioTrack | None = None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class RtspServer:
    """Runs ``rtsp_server.py`` under Debian's python3 as a subprocess (own process group).

    ``mounts`` maps a mount path (``"/cam1"``) to ``(video_path, fps)`` or a ``Mount`` (with
    audio). The port is picked on the first ``start()`` and kept, so ``stop()`` + ``start()``
    simulates a camera outage.
    """

    def __init__(
        self,
        mounts: Mapping[str, tuple[Path, float] | Mount],
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        ready_timeout: float = 20.0,
    ) -> None:
        if not mounts:
            raise ValueError("at least one mount is required")
        self.mounts = {
            ("/" + m.lstrip("/")): v if isinstance(v, Mount) else Mount(Path(v[0]), v[1])
            for m, v in mounts.items()
        }
        self.host = host
        self.port = port
        self.ready_timeout = ready_timeout
        self.startup_seconds: float | None = None  # how long the last start() took
        self.exit_code: int | None = None  # of the last stopped process (0: clean SIGTERM exit)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def url(self, mount: str) -> str:
        if self.port is None:
            raise RuntimeError("server was never started; no port yet")
        return f"rtsp://{self.host}:{self.port}/{mount.lstrip('/')}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> RtspServer:
        if self.running:
            return self
        check_gstreamer()
        if self.port is None:
            self.port = free_port(self.host)
        cmd = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--host", self.host, "--port", str(self.port)]
        for mount, m in self.mounts.items():
            if not m.video.is_file():
                raise FileNotFoundError(m.video)
            rate = Fraction(m.fps).limit_denominator(1001)
            cmd += ["--mount", f"{mount}={m.video}@{rate}"]
            if m.audio is not None:
                if not m.audio.path.is_file():
                    raise FileNotFoundError(m.audio.path)
                pause = f"@{m.audio.pause[0]:g}+{m.audio.pause[1]:g}" if m.audio.pause else ""
                cmd += ["--audio", f"{mount}={m.audio.codec}:{m.audio.path}{pause}"]
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by stop()
        began = time.monotonic()
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + self.ready_timeout
        out = b""
        while b"\n" not in out:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise RuntimeError(
                    f"RTSP server not READY within {self.ready_timeout:g}s; "
                    f"stderr:\n{self._read_stderr()}"
                )
            chunk = os.read(fd, 4096)
            if not chunk:  # process exited
                self._proc.wait(timeout=5)
                raise RuntimeError(
                    f"RTSP server exited with code {self._proc.returncode} before READY; "
                    f"stderr:\n{self._read_stderr()}"
                )
            out += chunk
        line = out.split(b"\n", 1)[0].decode(errors="replace").strip()
        if line != f"READY {self.port}":
            raise RuntimeError(f"unexpected RTSP server output {line!r}; {self._read_stderr()}")

    def _read_stderr(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-4000:]

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the server's process group, SIGKILL it if it lingers. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
            with contextlib.suppress(ProcessLookupError):  # a hung server, or leftovers
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            self.exit_code = proc.returncode
            if proc.stdout is not None:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        if getattr(self, "_proc", None) is not None:
            self.stop()
