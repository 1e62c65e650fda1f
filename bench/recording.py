"""Recording benchmark: vms camera workers against ``ffmpeg -c copy -f segment``.

Both recorders record the same N live RTSP streams (1080p25 H.264, about 4 Mb/s) from one
GStreamer RTSP server (``tests/support/rtsp_server.py``, one looping mount per stream), one
after the other for the same measured window, and are measured the same way:

* CPU: user + system time of the recorder's whole process tree (``vms serve`` and its worker
  processes; or the N ffmpeg processes) over the window, read with psutil at its start, every
  ``--sample`` seconds and at its end; shown as percent of one core.
* Memory: the peak over the samples of the tree's summed RSS and summed PSS.
* Packets: every recorded file is read back with PyAV and each packet is identified by a hash
  of its first slice NAL unit against the source clip, whose frames are all distinct. Consecutive
  recorded packets must be consecutive source frames (modulo the loop): every frame skipped in
  between is a lost packet. expected = recorded + lost, counted from each stream's first
  recorded keyframe to its last packet (a span that contains the whole measured window).

With ``--video h265`` the streams are H.265, with ``--audio aac|pcma|pcmu`` each carries
real speech too (prepare_speech, espeak-ng): the cost per stream of recording sound and of
H.265, against ffmpeg on the same streams (ffmpeg writes G.711 into MOV segments, as vms
does: its MP4 muxer refuses G.711). Audio packets are checked like the video's: every one
recorded must be one the camera sent, in order.

Needs an ``ffmpeg`` binary for the ffmpeg phases: checked before anything starts.

Usage, from the repository root (the source clip is encoded once into bench/out/)::

    .venv/bin/python -m bench.recording --streams 100 --seconds 60
    .venv/bin/python -m bench.recording --streams 10 --seconds 30 --phases vms
    .venv/bin/python -m bench.recording --streams 10 --seconds 30 --video h265 --audio pcma
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import psutil

from tests.support.rtsp import AudioTrack, Mount, RtspServer, check_gstreamer, prepare_speech
from vms.cameras.recorder import FMP4_OPTIONS, MAX_INTERLEAVE_DELTA

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
FFMPEG = "/usr/bin/ffmpeg"
PHASES = ("vms", "vms-base", "pyav", "ffmpeg", "ffmpeg-fmp4")
AUDIO_SECONDS = 16  # the speech loops on its own (its frames are matched, not its timing)
INSTALL_FFMPEG = "apt-get install -y --no-install-recommends ffmpeg"
FMP4_FLAGS = "frag_keyframe+empty_moov+default_base_moof"

# --- the source clip ---------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSpec:
    width: int = 1920
    height: int = 1080
    fps: int = 25
    seconds: int = 20
    bitrate: int = 4_000_000
    gop: int = 25
    codec: str = "h264"  # or h265

    @property
    def frames(self) -> int:
        return self.fps * self.seconds

    @property
    def path(self) -> Path:
        return OUT / (
            f"source-{self.width}x{self.height}p{self.fps}-{self.bitrate // 1000}k"
            f"-g{self.gop}-{self.seconds}s.{self.codec}"
        )


def _render(spec: SourceSpec) -> Iterator[np.ndarray]:
    """A panning, textured test pattern with a moving box and the frame number drawn on it."""
    w, h = spec.width, spec.height
    rng = np.random.default_rng(20240601)
    coarse = rng.integers(0, 256, size=(h // 8, w // 4, 3), dtype=np.uint8)
    texture = cv2.resize(coarse, (2 * w, h), interpolation=cv2.INTER_CUBIC)
    ramp = np.linspace(0, 80, 2 * w, dtype=np.float32)[None, :, None]
    texture = np.clip(texture.astype(np.float32) * 0.7 + ramp, 0, 255).astype(np.uint8)
    for i in range(spec.frames):
        x = (i * 6) % w
        frame = np.ascontiguousarray(texture[:, x : x + w])
        bx = int((w - 300) * (0.5 + 0.5 * math.sin(i / 30)))
        by = int((h - 300) * (0.5 + 0.5 * math.cos(i / 45)))
        cv2.rectangle(frame, (bx, by), (bx + 300, by + 300), (40, 200, 240), -1)
        cv2.putText(
            frame, f"vms bench  frame {i:04d}", (60, 120), cv2.FONT_HERSHEY_SIMPLEX, 3,
            (255, 255, 255), 6, cv2.LINE_AA,
        )  # fmt: skip
        yield frame


def encode_source(spec: SourceSpec) -> Path:
    """Encode the clip once with PyAV/libx264 into a raw H.264 file like a camera's stream."""
    if spec.path.exists():
        return spec.path
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = spec.path.with_suffix(".tmp")
    kbps = spec.bitrate // 1000
    params = (
        f"bframes=0:keyint={spec.gop}:min-keyint={spec.gop}:scenecut=0"
        f":vbv-maxrate={kbps}:vbv-bufsize={kbps}"
    )
    h264 = spec.codec == "h264"
    with av.open(str(tmp), "w", format="h264" if h264 else "hevc") as out:
        stream = out.add_stream("libx264" if h264 else "libx265", rate=spec.fps)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.codec_context.bit_rate = spec.bitrate
        stream.codec_context.gop_size = spec.gop
        stream.options = (
            {"preset": "veryfast", "x264-params": params}
            if h264
            else {
                "preset": "ultrafast",
                "x265-params": f"{params}:repeat-headers=1:log-level=error",
            }
        )
        for i, image in enumerate(_render(spec)):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, spec.fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    tmp.replace(spec.path)
    return spec.path


# --- identifying packets -----------------------------------------------------------------


def _nal_units(data: bytes) -> list[bytes]:
    """NAL units of an access unit: 4-byte length-prefixed (MP4) or Annex B (start codes)."""
    units: list[bytes] = []
    i = 0
    while i + 4 <= len(data):
        n = int.from_bytes(data[i : i + 4], "big")
        if n == 0 or i + 4 + n > len(data):
            break
        units.append(data[i + 4 : i + 4 + n])
        i += 4 + n
    if i == len(data) and units:
        return units
    units = []
    starts: list[int] = []
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0:
        starts.append(pos + 3)
        pos = data.find(b"\x00\x00\x01", pos + 3)
    for k, s in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(data)
        units.append(data[s:end].rstrip(b"\x00"))
    return units


def fingerprint(data: bytes, hevc: bool = False) -> bytes | None:
    """A hash of the first slice (VCL NAL unit) of an access unit."""
    for nal in _nal_units(data):
        if not nal:
            continue
        vcl = ((nal[0] >> 1) & 0x3F) < 32 if hevc else (nal[0] & 0x1F) in (1, 5)
        if vcl:
            return hashlib.blake2b(nal.rstrip(b"\x00"), digest_size=16).digest()
    return None


def source_fingerprints(path: Path) -> tuple[dict[bytes, int], set[int]]:
    """Frame index of every source frame's fingerprint, and the indices of its keyframes."""
    table: dict[bytes, int] = {}
    keys: set[int] = set()
    hevc = path.suffix == ".h265"
    with av.open(str(path), format="hevc" if hevc else "h264") as c:
        for i, packet in enumerate(c.demux(c.streams.video[0])):
            if packet.size == 0:
                continue
            fp = fingerprint(bytes(packet), hevc)
            if fp is None or fp in table:
                raise RuntimeError(f"{path}: frame {i} has no slice or repeats another frame")
            table[fp] = i
            if packet.is_keyframe:
                keys.add(i)
    return table, keys


@dataclass
class StreamCount:
    files: int = 0
    recorded: int = 0  # packets from the first keyframe on
    lost: int = 0  # source frames missing between consecutive recorded packets
    lost_at_file_start: int = 0  # of those, missing just before a file's first packet
    duplicated: int = 0
    unknown: int = 0  # packets that match no source frame (damaged payload)
    before_key: int = 0  # leading packets before the first keyframe (not counted)
    audio_recorded: int = 0
    audio_lost: int = 0  # speech frames missing between consecutive recorded ones
    audio_unknown: int = 0  # audio packets that match no frame the camera sent

    @property
    def expected(self) -> int:
        return self.recorded + self.lost


def count_stream(
    files: Sequence[Path],
    table: dict[bytes, int],
    keys: set[int],
    hevc: bool = False,
    audio: dict[bytes, int] | None = None,
) -> StreamCount:
    n = len(table)
    out = StreamCount(files=len(files))
    last: int | None = None
    last_audio: int | None = None
    started = False
    for path in files:
        first_in_file = True
        try:
            with av.open(str(path)) as c:
                if not c.streams.video:
                    continue
                streams = [c.streams.video[0], *c.streams.audio[:1]]
                for packet in c.demux(streams):
                    if packet.size == 0:
                        continue
                    if packet.stream.type == "audio":
                        if audio is None or not started:
                            continue
                        data = bytes(packet)
                        # G.711 samples are bytes: MOV readers hand them out in chunks of
                        # several 20 ms frames; match them frame by frame.
                        pcm = packet.stream.codec_context.name.startswith("pcm_")
                        step = 160 if pcm else len(data)
                        for k in range(0, len(data), step):
                            out.audio_recorded += 1
                            j = audio.get(data[k : k + step], -1)
                            if j < 0:
                                out.audio_unknown += 1
                            elif last_audio is not None:
                                out.audio_lost += (j - last_audio - 1) % len(audio)
                            last_audio = j if j >= 0 else last_audio
                        continue
                    fp = fingerprint(bytes(packet), hevc)
                    idx = table.get(fp, -1) if fp is not None else -1
                    if not started:
                        if idx not in keys:
                            out.before_key += 1
                            continue
                        started = True
                    out.recorded += 1
                    if idx < 0:
                        out.unknown += 1
                        continue
                    if last is not None:
                        step = (idx - last) % n
                        if step == 0:
                            out.duplicated += 1
                        else:
                            out.lost += step - 1
                            if first_in_file:
                                out.lost_at_file_start += step - 1
                    last = idx
                    first_in_file = False
        except av.FFmpegError:
            continue  # an unreadable or torn file: what was read so far counts
    # A damaged packet is still a packet: it filled one of the gaps counted as lost.
    out.lost = max(0, out.lost - out.unknown)
    return out


def _count_job(
    args: tuple[list[Path], dict[bytes, int], set[int], bool, dict[bytes, int] | None],
) -> StreamCount:
    return count_stream(*args)


def speech_frames(codec: str) -> tuple[Path, dict[bytes, int]]:
    """The speech file a mount sends, and the position of each frame the camera sends."""
    path = prepare_speech(OUT, codec, seconds=AUDIO_SECONDS)
    data = path.read_bytes()
    frames: list[bytes] = []
    if codec == "aac":
        i = 0
        while i < len(data):  # ADTS: RTP carries the frame without its header
            length = ((data[i + 3] & 0x03) << 11) | (data[i + 4] << 3) | (data[i + 5] >> 5)
            frames.append(data[i + (7 if data[i + 1] & 0x01 else 9) : i + length])
            i += length
    else:
        frames = [data[i : i + 160] for i in range(0, len(data), 160)]
    return path, {f: j for j, f in enumerate(frames)}


# --- measuring a process tree --------------------------------------------------------------


@dataclass
class Usage:
    cpu_s: float = 0.0  # user + system seconds over the window
    peak_rss: int = 0
    peak_pss: int = 0
    processes: int = 0


class TreeMeter:
    """Samples CPU time and memory of a set of processes and all their descendants."""

    def __init__(self, roots: Callable[[], list[int]]) -> None:
        self._roots = roots
        self._base: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._role: dict[int, str] = {}
        self.usage = Usage()
        self._lock = threading.Lock()

    @staticmethod
    def role(p: psutil.Process) -> str:
        """What a process of the tree is: a vms worker, the serve process, an ffmpeg..."""
        try:
            cmd = " ".join(p.cmdline())
        except psutil.Error:
            return "?"
        if "spawn_main" in cmd or "forkserver" in cmd:
            return "vms worker processes (and their fork server)"
        if "resource_tracker" in cmd:
            return "multiprocessing resource tracker"
        if "vms.cli" in cmd:
            return "vms serve (supervisor)"
        return Path(cmd.split(" ", 1)[0]).name

    def cpu_by_role(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, cpu in self._last.items():
            role = self._role.get(pid, "?")
            out[role] = out.get(role, 0.0) + cpu - self._base[pid]
        return out

    def _procs(self) -> list[psutil.Process]:
        procs: list[psutil.Process] = []
        for pid in self._roots():
            try:
                p = psutil.Process(pid)
                procs.append(p)
                procs.extend(p.children(recursive=True))
            except psutil.Error:
                continue
        return procs

    def sample(self, *, memory: bool = True, start: bool = False) -> None:
        rss = pss = 0
        seen = 0
        with self._lock:
            for p in self._procs():
                try:
                    with p.oneshot():
                        t = p.cpu_times()
                        cpu = t.user + t.system
                        if memory:
                            m = p.memory_full_info()
                            rss += m.rss
                            pss += getattr(m, "pss", m.rss)
                except psutil.Error:
                    continue
                seen += 1
                key = p.pid
                if key not in self._role:
                    self._role[key] = self.role(p)
                if start:
                    self._base[key] = cpu
                elif key not in self._base:
                    self._base[key] = 0.0  # started during the window: all of its time counts
                self._last[key] = cpu
            if not start:
                self.usage.cpu_s = sum(self._last[k] - self._base[k] for k in self._last)
            self.usage.peak_rss = max(self.usage.peak_rss, rss)
            self.usage.peak_pss = max(self.usage.peak_pss, pss)
            self.usage.processes = max(self.usage.processes, seen)


def wait_for_quiet(limit_s: float, ignore: Sequence[int] = ()) -> float:
    """Wait (at most ``limit_s``) until the machine is nearly idle; return the busy share seen.

    The machine may be shared: a benchmark on 2 cores means little while someone else's job
    takes one. ``ignore`` lists processes whose load is part of the benchmark (the server).
    """
    deadline = time.monotonic() + limit_s
    share = 1.0
    while True:
        procs = [psutil.Process(p) for p in ignore]
        own0 = sum(sum(p.cpu_times()[:2]) for p in procs)
        busy0, total0 = _cpu_busy()
        time.sleep(2)
        own1 = sum(sum(p.cpu_times()[:2]) for p in procs)
        busy1, total1 = _cpu_busy()
        share = max(0.0, (busy1 - busy0) - (own1 - own0)) / max(1e-9, total1 - total0)
        if share < 0.05 or time.monotonic() > deadline:
            return share
        print(f"  the machine is {100 * share:.0f} % busy with other work; waiting", flush=True)


def _cpu_busy() -> tuple[float, float]:
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    return sum(t) - idle, sum(t)


# --- recorders -----------------------------------------------------------------------------


@dataclass
class PhaseResult:
    recorder: str
    streams: int
    window_s: float
    ready_s: float  # from launch until every stream had an output file
    ready_streams: int
    cpu_s: float
    peak_rss_mb: float
    peak_pss_mb: float
    processes: int
    server_cpu_s: float
    machine_busy: float  # share of all cores busy over the window (0..1)
    machine_busy_s: float  # busy CPU seconds of the whole machine over the window
    bench_cpu_s: float
    startup_cpu_s: float  # recorder tree CPU from launch until the window began
    stop_s: float
    delivered_fps: float  # source frames per second of recording, per stream (server pace)
    window_bytes: int  # bytes the recorder's files grew by during the window
    warnings: int  # warning and error lines in the recorder's logs
    cpu_by_role: dict[str, float]  # CPU seconds over the window by kind of process
    counts: list[StreamCount] = field(default_factory=list)

    @property
    def expected(self) -> int:
        return sum(c.expected for c in self.counts)

    @property
    def recorded(self) -> int:
        return sum(c.recorded for c in self.counts)

    @property
    def lost(self) -> int:
        return sum(c.lost for c in self.counts) + sum(c.unknown for c in self.counts)

    @property
    def other_cpu_s(self) -> float:
        """Busy CPU time of everything else on the machine (other users' jobs), >= 0."""
        return max(0.0, self.machine_busy_s - self.cpu_s - self.server_cpu_s - self.bench_cpu_s)

    def window_packets(self, frame_bytes: float) -> float:
        """Packets recorded during the window, from the bytes written and the mean frame size."""
        return self.window_bytes / frame_bytes

    @property
    def cpu_pct(self) -> float:
        return 100.0 * self.cpu_s / self.window_s

    @property
    def cpu_pct_per_stream(self) -> float:
        return self.cpu_pct / self.streams


class Recorder:
    """One phase's recorder: start, report its outputs and processes, stop."""

    name = ""

    def __init__(self, workdir: Path, urls: list[str]) -> None:
        self.workdir = workdir
        self.urls = urls

    def start(self) -> None:
        raise NotImplementedError

    def pids(self) -> list[int]:
        raise NotImplementedError

    def outputs(self) -> list[list[Path]]:
        """The recorded files of each stream, in recording order."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def warnings(self) -> int:
        raise NotImplementedError


def missing_prerequisites(phases: Sequence[str], ffmpeg: str | None = None) -> list[str]:
    """What the phases need and this machine lacks, each with how to install it; checked
    before any phase (or the source encoding) starts."""
    missing = []
    ffmpeg = ffmpeg or FFMPEG
    if any(p.startswith("ffmpeg") for p in phases) and not os.access(ffmpeg, os.X_OK):
        missing.append(
            f"{ffmpeg} not found: the ffmpeg phases need Debian's ffmpeg "
            f"({INSTALL_FFMPEG}, also done by scripts/setup --dev), "
            "or leave them out with --phases vms"
        )
    try:
        check_gstreamer()  # the RTSP server every phase records from
    except RuntimeError as exc:
        missing.append(str(exc))
    return missing


def _names(n: int) -> list[str]:
    return [f"cam{i:03d}" for i in range(1, n + 1)]


class ChildRecorder(Recorder):
    """A recorder of child processes, each with its log file, stopped by a signal."""

    stop_signal = signal.SIGTERM
    stop_s = 60.0

    def __init__(self, workdir: Path, urls: list[str]) -> None:
        super().__init__(workdir, urls)
        self.procs: list[subprocess.Popen[bytes]] = []

    def _spawn(self, cmd: list[str], log_path: Path) -> None:
        with log_path.open("wb") as log:
            self.procs.append(
                subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(self.stop_signal)
        deadline = time.monotonic() + self.stop_s
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class VmsRecorder(Recorder):
    """``vms serve`` with a generated configuration: the real CameraWorkers in worker processes."""

    name = "vms"

    def __init__(
        self,
        workdir: Path,
        urls: list[str],
        cameras_per_process: int,
        tree: Path = ROOT,
        name: str = "vms",
    ) -> None:
        super().__init__(workdir, urls)
        self.name = name
        self.per_process = cameras_per_process
        self.tree = tree
        self.root = workdir / "data"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        config = {
            "storage": {"root": str(self.root)},
            "workers": {"cameras_per_process": self.per_process},
            "cameras": [
                {
                    "id": cam,
                    "kind": "street",
                    "site": "bench",
                    "source": url,
                    "record": True,
                    "analysis_fps": 0,
                    "segment_seconds": 60,
                }
                for cam, url in zip(_names(len(self.urls)), self.urls, strict=True)
            ],
        }
        path = self.workdir / "vms.yaml"
        path.write_text(json.dumps(config, indent=1))  # JSON is YAML
        log = (self.workdir / "vms.log").open("wb")
        env = dict(os.environ, PYTHONPATH=str(self.tree))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vms.cli", "serve", "--config", str(path)],
            cwd=self.tree,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc is not None else []

    def outputs(self) -> list[list[Path]]:
        result = []
        for cam in _names(len(self.urls)):
            cam_dir = self.root / "recordings" / cam
            files = sorted(
                (p for p in cam_dir.glob("*/*") if p.suffix in (".mp4", ".mov", ".nut")),
                key=lambda p: (p.parent.name, p.name),
            )
            result.append(files)
        return result

    def warnings(self) -> int:
        text = (self.workdir / "vms.log").read_text(errors="replace")
        return sum(1 for line in text.splitlines() if " WARNING " in line or " ERROR " in line)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)  # vms serve closes every segment cleanly
        try:
            self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class FfmpegRecorder(ChildRecorder):
    """One ``ffmpeg -c copy -f segment`` process per stream."""

    name = "ffmpeg"
    stop_signal = signal.SIGINT  # ffmpeg finishes the file (writes its moov) and exits
    stop_s = 90.0

    def __init__(
        self, workdir: Path, urls: list[str], *, fragmented: bool = False, container: str = "mp4"
    ) -> None:
        super().__init__(workdir, urls)
        self.fragmented = fragmented
        self.container = container  # mov for G.711: ffmpeg's mp4 muxer refuses it
        if fragmented:
            self.name = "ffmpeg-fmp4"

    def command(self, url: str, out_dir: Path) -> list[str]:
        cmd = [FFMPEG, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "warning"]
        cmd += ["-rtsp_transport", "tcp", "-i", url, "-c", "copy", "-f", "segment"]
        cmd += ["-segment_time", "60", "-segment_format", self.container]
        if self.fragmented:
            cmd += ["-segment_format_options", f"movflags={FMP4_FLAGS}:flush_packets=1"]
        return [*cmd, str(out_dir / f"out_%03d.{self.container}")]

    def start(self) -> None:
        for cam, url in zip(_names(len(self.urls)), self.urls, strict=True):
            out_dir = self.workdir / cam
            out_dir.mkdir(parents=True)
            self._spawn(self.command(url, out_dir), out_dir / "ffmpeg.log")

    def outputs(self) -> list[list[Path]]:
        return [
            sorted((self.workdir / cam).glob(f"out_*.{self.container}"))
            for cam in _names(len(self.urls))
        ]

    def warnings(self) -> int:
        # Every ffmpeg says these two once at its start (RTSP's first packet has no timestamp).
        startup = ("Timestamps are unset in a packet", "Non-monotonous DTS")
        n = 0
        for cam in _names(len(self.urls)):
            text = (self.workdir / cam / "ffmpeg.log").read_text(errors="replace")
            n += sum(1 for line in text.splitlines() if not any(s in line for s in startup))
        return n


#: The ``pyav`` phase's process: its streams, one thread each, remuxed by a bare PyAV loop
#: into fragmented MP4 with vms's options: no timeline, index, hashing or health.
PYAV_CHILD = r"""
import json, signal, sys, threading
from pathlib import Path
import av
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
FLAGS = json.loads(sys.argv[1])  # vms's own muxer options (vms.cameras.recorder)
def remux(url, out):
    src = av.open(url, "r", options={"rtsp_transport": "tcp", "timeout": "10000000"})
    video = src.streams.video[0]
    dst = av.open(str(out), "w", format="mp4", options=FLAGS)
    stream = dst.add_stream_from_template(video)
    stream.time_base = video.time_base
    first = None
    for packet in src.demux(video):
        if stop.is_set():
            break
        if packet.dts is None or (first is None and not packet.is_keyframe):
            continue
        if first is None:
            first = packet.dts
        packet.dts -= first
        packet.pts -= first
        packet.stream = stream
        dst.mux(packet)
    dst.close()
    src.close()
args = sys.argv[2:]
threads = [threading.Thread(target=remux, args=(args[i], Path(args[i + 1])))
           for i in range(0, len(args), 2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


class PyavRecorder(ChildRecorder):
    """The floor of any recorder built on PyAV: ``cameras_per_process`` streams per process,
    a thread each, ``demux`` -> ``mux`` into fragmented MP4 with vms's options, nothing else.
    vms's own per-packet cost is what it spends above this."""

    name = "pyav (bare loop)"

    def __init__(self, workdir: Path, urls: list[str], per_process: int) -> None:
        super().__init__(workdir, urls)
        self.per_process = per_process

    def start(self) -> None:
        names = _names(len(self.urls))
        for i in range(0, len(self.urls), self.per_process):
            args = []
            for cam, url in zip(names[i : i + self.per_process], self.urls[i:], strict=False):
                (self.workdir / cam).mkdir(parents=True)
                args += [url, str(self.workdir / cam / "out_000.mp4")]
            flags = json.dumps(dict(FMP4_OPTIONS, max_interleave_delta=MAX_INTERLEAVE_DELTA))
            cmd = [sys.executable, "-c", PYAV_CHILD, flags, *args]
            self._spawn(cmd, self.workdir / f"pyav-{i}.log")

    def outputs(self) -> list[list[Path]]:
        return [sorted((self.workdir / cam).glob("out_*.mp4")) for cam in _names(len(self.urls))]

    def warnings(self) -> int:
        return sum(
            1
            for log in self.workdir.glob("pyav-*.log")
            for line in log.read_text(errors="replace").splitlines()
            if line.strip()
        )


def _recording_since(rec: Recorder, seen: dict[int, float]) -> None:
    """Note when each stream's first output file appeared (polled)."""
    now = time.monotonic()
    for i, files in enumerate(rec.outputs()):
        if i in seen or not files:
            continue
        try:
            if files[0].stat().st_size > 0:
                seen[i] = now
        except OSError:
            continue


def _output_bytes(rec: Recorder) -> int:
    total = 0
    for files in rec.outputs():
        for f in files:
            try:
                total += f.stat().st_size
            except OSError:
                continue
    return total


def run_phase(
    rec: Recorder,
    server_pids: list[int],
    *,
    seconds: float,
    settle: float,
    ready_timeout: float,
    sample_s: float,
    table: dict[bytes, int],
    keys: set[int],
    hevc: bool = False,
    audio: dict[bytes, int] | None = None,
) -> PhaseResult:
    streams = len(rec.urls)
    meter = TreeMeter(rec.pids)
    servers = [psutil.Process(pid) for pid in server_pids]
    me = psutil.Process()
    launched = time.monotonic()
    rec.start()
    print(f"  {rec.name}: started, waiting for {streams} streams to record", flush=True)
    seen: dict[int, float] = {}
    while time.monotonic() - launched < ready_timeout:
        _recording_since(rec, seen)
        if len(seen) == streams:
            break
        time.sleep(0.5)
    ready = len(seen)
    ready_s = time.monotonic() - launched
    time.sleep(settle)
    startup = TreeMeter(rec.pids)
    startup.sample(memory=False)  # from launch: every process's whole CPU time so far
    # The window.
    meter.sample(start=True)
    srv0 = sum(sum(p.cpu_times()[:2]) for p in servers)
    bytes0 = _output_bytes(rec)
    me0 = sum(me.cpu_times()[:2])
    busy0, total0 = _cpu_busy()
    t0 = time.monotonic()
    print(
        f"  {rec.name}: {ready}/{streams} recording after {ready_s:.1f} s; measuring {seconds:g} s",
        flush=True,
    )
    while (left := t0 + seconds - time.monotonic()) > 0:
        time.sleep(min(sample_s, left))
        meter.sample()
    window = time.monotonic() - t0
    busy1, total1 = _cpu_busy()
    srv1 = sum(sum(p.cpu_times()[:2]) for p in servers)
    bytes1 = _output_bytes(rec)
    me1 = sum(me.cpu_times()[:2])
    t_stop = time.monotonic()
    rec.stop()
    stop_s = time.monotonic() - t_stop
    print(f"  {rec.name}: stopped in {stop_s:.1f} s; reading the recordings back", flush=True)
    jobs = [(files, table, keys, hevc, audio) for files in rec.outputs()]
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        counts = pool.map(_count_job, jobs)
    # Frames the server delivered per second of recording: each stream's recording ran from
    # when its first file appeared (polled every 0.5 s) until the stop signal.
    span = sum(t_stop - seen[i] for i in seen)
    delivered = sum(counts[i].expected for i in seen)
    return PhaseResult(
        recorder=rec.name,
        streams=streams,
        window_s=window,
        ready_s=ready_s,
        ready_streams=ready,
        cpu_s=meter.usage.cpu_s,
        peak_rss_mb=meter.usage.peak_rss / 2**20,
        peak_pss_mb=meter.usage.peak_pss / 2**20,
        processes=meter.usage.processes,
        server_cpu_s=srv1 - srv0,
        machine_busy=(busy1 - busy0) / max(1e-9, total1 - total0),
        machine_busy_s=busy1 - busy0,
        bench_cpu_s=me1 - me0,
        startup_cpu_s=startup.usage.cpu_s,
        stop_s=stop_s,
        delivered_fps=delivered / span if span > 0 else 0.0,
        window_bytes=bytes1 - bytes0,
        warnings=rec.warnings(),
        cpu_by_role=meter.cpu_by_role(),
        counts=counts,
    )


# --- report ------------------------------------------------------------------------------


def markdown(results: list[PhaseResult], fps: int, frame_bytes: float) -> str:
    """The results table. ``frame_bytes``: the source's mean frame size (for packets/s)."""
    head = (
        "| streams | recorder | CPU % of one core | CPU % / stream | CPU µs / packet "
        "| fps / stream in window | RSS MB | RSS MB / stream | PSS MB | packets expected "
        "| recorded | lost | server CPU % | machine busy % | other load % "
        "| vs ffmpeg: CPU / stream | CPU / packet |\n"
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    ref = next((r for r in results if r.recorder == "ffmpeg"), None)

    def per_packet(r: PhaseResult) -> float:
        return 1e6 * r.cpu_s / max(1.0, r.window_packets(frame_bytes))

    rows = []
    for r in results:
        ratio = ratio_pkt = "-"
        if ref is not None and ref.cpu_pct_per_stream > 0:
            ratio = f"{r.cpu_pct_per_stream / ref.cpu_pct_per_stream:.2f}x"
            ratio_pkt = f"{per_packet(r) / per_packet(ref):.2f}x"
        rate = r.window_packets(frame_bytes) / r.window_s / r.streams
        rows.append(
            f"| {r.streams} | {r.recorder} | {r.cpu_pct:.1f} | {r.cpu_pct_per_stream:.2f} "
            f"| {per_packet(r):.0f} | {rate:.1f} "
            f"| {r.peak_rss_mb:.0f} | {r.peak_rss_mb / r.streams:.1f} | {r.peak_pss_mb:.0f} "
            f"| {r.expected} | {r.recorded} | {r.lost} "
            f"| {100 * r.server_cpu_s / r.window_s:.1f} | {100 * r.machine_busy:.0f} "
            f"| {100 * r.other_cpu_s / r.window_s:.0f} | {ratio} | {ratio_pkt} |"
        )
    return head + "\n".join(rows) + "\n"


def details(results: list[PhaseResult]) -> str:
    lines = []
    for r in results:
        damaged = sum(c.unknown for c in r.counts)
        dup = sum(c.duplicated for c in r.counts)
        lossy = sum(1 for c in r.counts if c.lost or c.unknown)
        at_start = sum(c.lost_at_file_start for c in r.counts)
        empty = sum(1 for c in r.counts if c.recorded == 0)
        a_rec = sum(c.audio_recorded for c in r.counts)
        a_lost = sum(c.audio_lost + c.audio_unknown for c in r.counts)
        sound = f"audio packets recorded {a_rec}, lost or damaged {a_lost}; " if a_rec else ""
        lines.append(
            f"- {r.recorder}: {r.ready_streams}/{r.streams} streams recording "
            f"{r.ready_s:.1f} s after launch (startup CPU {r.startup_cpu_s:.1f} s), window "
            f"{r.window_s:.1f} s, {r.processes} processes, stop took {r.stop_s:.1f} s; "
            f"streams with loss {lossy} (lost at a new file's start, e.g. across a reconnect: "
            f"{at_start}), without any recording {empty}; damaged packets "
            f"{damaged}, duplicated {dup}; {sound}server pace {r.delivered_fps:.2f} frames/s "
            "per stream; "
            f"{r.warnings} log warnings; bench's own CPU {100 * r.bench_cpu_s / r.window_s:.1f} %; "
            + ", ".join(
                f"{role} {100 * cpu / r.window_s:.1f} %" for role, cpu in r.cpu_by_role.items()
            )
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=10, help="concurrent streams (N)")
    parser.add_argument("--seconds", type=float, default=60, help="measured window per phase")
    parser.add_argument(
        "--phases", default="vms,ffmpeg", help=f"comma-separated, in order, from {PHASES}"
    )
    parser.add_argument(
        "--cameras-per-process",
        type=int,
        default=0,
        help="vms workers.cameras_per_process (default: N / 4, at least 1, at most 25)",
    )
    parser.add_argument(
        "--servers",
        type=int,
        default=0,
        help="RTSP server processes sharing the mounts (default: one per 25 streams)",
    )
    parser.add_argument("--settle", type=float, default=5, help="seconds after all streams record")
    parser.add_argument("--ready-timeout", type=float, default=120)
    parser.add_argument("--sample", type=float, default=5.0, help="sampling interval, seconds")
    parser.add_argument("--pause", type=float, default=5, help="seconds between phases")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=300,
        help="before each phase, wait at most this long for other load on the machine to end",
    )
    parser.add_argument(
        "--vms-tree",
        type=Path,
        default=ROOT,
        help="folder whose vms package runs (default: this repository; e.g. a git archive)",
    )
    parser.add_argument(
        "--base-tree",
        type=Path,
        help="the vms-base phase runs this folder's vms (e.g. a git archive of the code before "
        "a change), so before and after are measured in one run",
    )
    parser.add_argument("--video", choices=("h264", "h265"), default="h264")
    parser.add_argument(
        "--audio", choices=("none", "aac", "pcma", "pcmu"), default="none",
        help="an audio track on every stream: real speech, AAC or G.711",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the recorded files")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if unknown := sorted(set(phases) - set(PHASES)):
        parser.error(f"unknown phases {unknown}; choose from {PHASES}")
    if "vms-base" in phases and args.base_tree is None:
        parser.error("the vms-base phase needs --base-tree")
    if missing := missing_prerequisites(phases):
        for line in missing:
            print(line, file=sys.stderr)
        return 2
    n = args.streams
    per_process = args.cameras_per_process or min(25, max(1, math.ceil(n / 4)))

    spec = SourceSpec(codec=args.video)
    audio_track: AudioTrack | None = None
    audio_table: dict[bytes, int] | None = None
    if args.audio != "none":
        speech, audio_table = speech_frames(args.audio)
        audio_track = AudioTrack(args.audio, speech)
    began = time.monotonic()
    source = encode_source(spec)
    table, keys = source_fingerprints(source)
    size = source.stat().st_size
    frame_bytes = size / len(table)
    if audio_track is not None:  # "packets" stay video packets; the sound's bytes ride along
        frame_bytes += audio_track.path.stat().st_size / AUDIO_SECONDS / spec.fps
    print(
        f"source {source.name}: {len(table)} frames, {8 * size / spec.seconds / 1e6:.2f} Mb/s "
        f"(encoded/checked in {time.monotonic() - began:.1f} s)",
        flush=True,
    )

    run_dir = OUT / f"run-{n}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    names = _names(n)
    k = args.servers or max(1, math.ceil(n / 25))
    groups = [names[i::k] for i in range(k)]
    results: list[PhaseResult] = []
    with contextlib.ExitStack() as stack:
        url_of: dict[str, str] = {}
        server_pids: list[int] = []
        for group in groups:
            server = RtspServer(
                {f"/{cam}": Mount(source, float(spec.fps), audio_track) for cam in group},
                ready_timeout=60,
            )
            stack.enter_context(server)
            assert server._proc is not None
            server_pids.append(server._proc.pid)
            url_of.update({cam: server.url(f"/{cam}") for cam in group})
        urls = [url_of[cam] for cam in names]
        for i, phase in enumerate(phases):
            if i:
                time.sleep(args.pause)
            workdir = run_dir / phase
            workdir.mkdir()
            rec: Recorder
            if phase == "vms":
                rec = VmsRecorder(workdir, urls, per_process, args.vms_tree.resolve())
            elif phase == "vms-base":
                rec = VmsRecorder(
                    workdir, urls, per_process, args.base_tree.resolve(), name="vms (base)"
                )
            elif phase == "pyav":
                rec = PyavRecorder(workdir, urls, per_process)
            else:
                rec = FfmpegRecorder(
                    workdir,
                    urls,
                    fragmented=phase == "ffmpeg-fmp4",
                    container="mov" if args.audio in ("pcma", "pcmu") else "mp4",
                )
            print(f"phase {phase}: {n} streams", flush=True)
            wait_for_quiet(args.quiet_wait, server_pids)
            result = run_phase(
                rec,
                server_pids,
                seconds=args.seconds,
                settle=args.settle,
                ready_timeout=args.ready_timeout,
                sample_s=args.sample,
                table=table,
                keys=keys,
                hevc=spec.codec == "h265",
                audio=audio_table,
            )
            results.append(result)
            if not args.keep:
                shutil.rmtree(workdir / "data" / "recordings", ignore_errors=True)
                for files in rec.outputs():
                    for f in files:
                        f.unlink(missing_ok=True)
            print(markdown([result], spec.fps, frame_bytes), flush=True)

    cpu = platform.processor() or platform.machine()
    sound = "" if args.audio == "none" else f" + {args.audio} speech"
    print(
        f"\n{n} streams of 1080p{spec.fps} {spec.codec.upper()}{sound} "
        f"{8 * size / spec.seconds / 1e6:.1f} Mb/s, "
        f"{args.seconds:g} s per phase, {os.cpu_count()} cores ({cpu}), {k} RTSP server "
        f"process(es), vms cameras_per_process={per_process}, "
        f"total {time.monotonic() - began:.0f} s\n"
    )
    print(markdown(results, spec.fps, frame_bytes))
    print(details(results))
    if args.json is not None:
        data = [
            dict(
                asdict(r),
                counts=None,
                expected=r.expected,
                recorded=r.recorded,
                lost=r.lost,
                per_stream=[asdict(c) for c in r.counts],
            )
            for r in results
        ]
        args.json.write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
