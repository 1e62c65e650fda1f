"""Analytics benchmark: streams per core, vms against a naive Ultralytics ``model.track``
loop, and the detector option table.

**Streams.** One pass over each stream of real footage; every analysed frame goes through
each side, one after the other (interleaving frame by frame keeps a busy machine from
favouring either), all on one thread:

* **vms**: the ``vms analyze`` pipeline (``pipeline_for``) with the chosen detector:
  motion gate -> detector on crops around motion at model resolution (on motion no tracked
  person explains, at least ``min_detect_fps``; custody cameras: an occupied room at least
  every second) -> ByteTrack + re-identification, tracks carried between detections ->
  zones -> rules.
* **naive**: Ultralytics ``model.track(persist=True)`` (its own ByteTrack, same thresholds)
  on every analysed frame, whole frame; its tracks go through the same zones and rules.
  Twice: with yolov8n_int8.onnx at 640 (what vms used until now: the reference), and with
  vms's own model file (what the model alone saves, Ultralytics' runtime for the file).

CPU is user + system time of this process around each side's work on each frame, plus,
for every side, the decoding (a child process, as ``vms analyze`` does). Streams per core
= 60 / (CPU seconds per minute of video).

**Options.** ``vms.detection.modelbench`` on frames of ../shared/data whose people are
known: CPU ms per frame (one thread), and person recall on whole frames and on crops at the
model's resolution, every model and runtime in one run.

Usage, from the repository root::

    .venv/bin/python -m bench.analytics                      # tables on stdout
    .venv/bin/python -m bench.analytics --markdown docs/benchmarks.md \\
        --json bench/out/analytics.json
    .venv/bin/python -m bench.analytics --quick               # few frames, for development
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import supervision as sv

from bench.docs import write_section
from vms.config import CameraConfig
from vms.db.models import Camera
from vms.db.session import Database
from vms.detection.config import AnalyticsConfig, DetectMode, DetectorConfig
from vms.detection.detector import YoloDetector
from vms.detection.events import DatabaseEventSink, EventRecord, MemorySink
from vms.detection.modelbench import Option, OptionResult, Source
from vms.detection.modelbench import measure as measure_option
from vms.detection.pipeline import pipeline_for
from vms.detection.tracking import PassthroughTracker
from vms.detection.video import probe, read_frames

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
MODELS = DATA / "models"
#: What vms used until now, and what the naive loop runs: the reference.
REFERENCE = MODELS / "yolov8n_int8.onnx"
#: The detector vms runs (the option table's pick, see docs/benchmarks.md).
DEFAULT = Option(MODELS / "yolo11n_int8qdq-fixed_320.onnx", "onnxruntime")
ORIGIN = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TABLE = [[0.25, 0.7], [0.95, 0.7], [0.95, 1.0], [0.25, 1.0]]
SECTION = "## Analytics"
#: The machine's load when the benchmark began (it is shared: said with the figures).
LOAD_AT_START = os.getloadavg()[0]
#: Visits of one-by-one-person-detection.mp4 (s): one person in view from entry to exit.
ENTRIES = [6.5, 23.0, 50.5, 75.0, 92.5, 124.0]
EXITS = [19.5, 44.5, 69.5, 86.5, 119.5, 135.5]
EMPTY = [(0.0, 5.5), (21.0, 22.0), (46.0, 50.0), (71.0, 74.0), (88.0, 92.0), (121.0, 123.0)]

#: Every model of ../shared/data, on each runtime that runs it.
OPTIONS = [
    Option(MODELS / "yolov8n_int8.onnx", "onnxruntime"),
    Option(MODELS / "yolov8n_int8.onnx", "openvino"),
    Option(MODELS / "yolov8n_fp32_640.onnx", "onnxruntime"),
    Option(MODELS / "yolov8n_fp32_640.onnx", "openvino"),
    Option(MODELS / "yolov8n_int8_openvino_model", "openvino"),
    Option(MODELS / "yolo11n_fp32_320.onnx", "onnxruntime"),
    Option(MODELS / "yolo11n_fp32_320.onnx", "openvino"),
    Option(MODELS / "yolo11n_int8dyn_320.onnx", "onnxruntime"),
    Option(MODELS / "yolo11n_int8qdq-fixed_320.onnx", "onnxruntime"),
    Option(MODELS / "yolo11n_int8qdq-fixed_320.onnx", "openvino"),
    Option(MODELS / "yolo11n-pose_fp32_640.onnx", "onnxruntime"),
    Option(MODELS / "yolo11n-pose_fp32_640.onnx", "openvino"),
    Option(MODELS / "yolo11n-pose_fp32_320.onnx", "onnxruntime"),
    Option(MODELS / "yolo11n-pose_fp32_320.onnx", "openvino"),
    Option(MODELS / "yolov8n-pose_int8_openvino_model", "openvino"),
]


@dataclass(frozen=True)
class Stream:
    name: str
    what: str
    path: Path
    analytics: dict[str, Any]
    kind: str = "street"


@dataclass
class Run:
    side: str
    calls: int  # frames the detector ran on
    images: int  # crops it ran on
    cpu_s: float  # analysis: motion, detector, tracker, zones, rules (not decoding)
    events: list[tuple[str, str | None, float]]


@dataclass
class Row:
    stream: str
    what: str
    video_s: float
    frames: int
    decode_s: float  # decoding, the same for every side
    runs: list[Run] = field(default_factory=list)

    def per_min(self, seconds: float) -> float:
        return seconds / self.video_s * 60

    def streams_per_core(self, run: Run) -> float:
        return 60 / (self.per_min(run.cpu_s) + self.per_min(self.decode_s))

    def same_events(self, a: Run, b: Run) -> bool:
        x, y = a.events, b.events
        return len(x) == len(y) and all(
            p[:2] == q[:2] and abs(p[2] - q[2]) <= 2.0 for p, q in zip(x, y, strict=True)
        )


def camera(stream: Stream, fps: float, min_detect_fps: float | None) -> CameraConfig:
    analytics = dict(stream.analytics)
    if min_detect_fps is not None:
        analytics["min_detect_fps"] = min_detect_fps
    extra = {"room": "Cell 1", "room_type": "cell"} if stream.kind == "custody" else {}
    return CameraConfig.model_validate(
        {
            "id": stream.name.replace(" ", "-"),
            "kind": stream.kind,
            "site": "bench",
            "source": str(stream.path),
            "analysis_fps": fps,
            "analytics": analytics,
            **extra,
        }
    )


def brief(events: list[EventRecord]) -> list[tuple[str, str | None, float]]:
    return [(e.type, e.zone, round((e.start - ORIGIN).total_seconds(), 1)) for e in events]


class _Replay:
    """Hands the pipeline the tracks the naive loop already has (detection forced on)."""

    calls = 0

    def __init__(self) -> None:
        self.current = sv.Detections.empty()

    def detect(self, image: np.ndarray) -> sv.Detections:
        return self.current


class NaiveLoop:
    """Ultralytics ``model.track(persist=True)`` on every frame, ONNX Runtime pinned to one
    thread like vms's detector, torch to one thread."""

    def __init__(self, label: str, path: Path, tracker_yaml: Path, confidence: float) -> None:
        from vms.detection._ultralytics import import_ultralytics

        import_ultralytics()
        import torch
        from ultralytics import YOLO

        torch.set_num_threads(1)
        self.label, self.path, self.tracker_yaml = label, path, tracker_yaml
        self.confidence = confidence
        self.model = YOLO(str(path), task=None if path.is_dir() else _task(path))
        self.classes = [k for k, v in self.model.names.items() if v == "person"]
        self._pinned = False

    def reset(self) -> None:
        predictor = getattr(self.model, "predictor", None)
        if getattr(predictor, "trackers", None):
            del predictor.trackers  # a fresh Ultralytics tracker for each stream

    def track(self, image: np.ndarray) -> sv.Detections:
        r = self.model.track(
            image,
            persist=True,
            tracker=str(self.tracker_yaml),
            classes=self.classes,
            conf=self.confidence,
            verbose=False,
        )[0]
        if not self._pinned:
            self._pin()
        found = sv.Detections.from_ultralytics(r)
        if found.tracker_id is None:  # nothing tracked yet
            found = sv.Detections.empty()
            found.tracker_id = np.empty(0, int)
        return found

    def _pin(self) -> None:
        """track() built Ultralytics' ONNX Runtime session with a thread per core: one."""
        self._pinned = True
        backend = getattr(getattr(self.model.predictor, "model", None), "backend", None)
        session = getattr(backend, "session", None)
        if session is None:
            return
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        backend.session = ort.InferenceSession(
            str(self.path), options, providers=session.get_providers()
        )


def _task(path: Path) -> str:
    import onnxruntime as ort

    meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
    return str(meta.custom_metadata_map.get("task", "detect"))


def measure(
    stream: Stream, fps: float, min_fps: float | None, det: YoloDetector, naives: list[NaiveLoop]
) -> Row:
    """One pass over the stream; each frame goes through every side, timed apart (CPU of
    this process around each); decoding is the same for all and added to all."""
    cam = camera(stream, fps, min_fps)
    sink = MemorySink()
    pipe = pipeline_for(cam, detector=det, sink=sink, fps=fps)
    steady = cam.analytics.model_copy(update={"detect": DetectMode.STEADY})
    sides = []
    for naive in naives:
        naive.reset()
        replay, naive_sink = _Replay(), MemorySink()
        naive_pipe = pipeline_for(
            cam.model_copy(update={"analytics": steady}),
            detector=replay,
            sink=naive_sink,
            tracker=PassthroughTracker(),
            fps=fps,
        )
        sides.append((naive, replay, naive_sink, naive_pipe))
    mine = reading = 0.0
    naive_cpu = [0.0] * len(naives)
    kids_before = _children_cpu()
    frames = read_frames(stream.path, fps)
    n, last = 0, 0.0
    while True:
        c = time.process_time()
        item = next(frames, None)
        reading += time.process_time() - c
        if item is None:
            break
        t, image = item
        when = ORIGIN + timedelta(seconds=t)
        c = time.process_time()
        pipe.process(image, when)
        mine += time.process_time() - c
        for i, (naive, replay, _s, naive_pipe) in enumerate(sides):
            c = time.process_time()
            replay.current = naive.track(image)
            naive_pipe.process(image, when)
            naive_cpu[i] += time.process_time() - c
        n, last = n + 1, t
    end = ORIGIN + timedelta(seconds=last)
    pipe.close(end)
    for _n, _r, _s, naive_pipe in sides:
        naive_pipe.close(end)
    decode = _children_cpu() - kids_before + reading
    info = probe(stream.path)
    row = Row(stream.name, stream.what, info.duration_s or n / fps, n, decode)
    row.runs.append(Run("vms", pipe.detector_calls, pipe.detector_images, mine, brief(sink.events)))
    for (naive, _r, naive_sink, _p), cpu in zip(sides, naive_cpu, strict=True):
        row.runs.append(Run(naive.label, n, n, cpu, brief(naive_sink.events)))
    return row


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


# -- footage -------------------------------------------------------------------------------


def write_mp4(frames: list[np.ndarray], fps: int, path: Path) -> Path:
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"crf": "20", "g": str(fps)}
        for img in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def quiet_room(tmp: Path, minutes: float) -> Path:
    """The empty stretches of one-by-one-person-detection.mp4 (nobody in view, not even an
    elbow at the edge: 0-5.5, 21-22, 46-50, 71-74, 88-92, 121-123 s), joined and played
    back and forth: a real, quiet indoor camera, re-encoded once (not measured)."""
    empty = [(0.0, 5.5), (21.0, 22.0), (46.0, 50.0), (71.0, 74.0), (88.0, 92.0), (121.0, 123.0)]
    frames = [
        img
        for t, img in read_frames(DATA / "footage/one-by-one-person-detection.mp4")
        if any(a <= t < b for a, b in empty)
    ]
    loop = (frames + frames[::-1]) * 100  # back and forth: no jump at the seams
    return write_mp4(loop[: int(minutes * 60 * 10)], 10, tmp / "quiet-room.mp4")


def looped_gif(tmp: Path, minutes: float) -> Path:
    """classroom.gif (4 people seated, 3 s) back and forth for ``minutes``, at 15 fps."""
    frames = [img for _t, img in read_frames(DATA / "footage/classroom.gif", 15)]
    loop = (frames + frames[::-1]) * 1000
    return write_mp4(loop[: int(minutes * 60 * 15)], 15, tmp / "classroom-loop.mp4")


def streams(tmp: Path, minutes: float) -> list[Stream]:
    return [
        Stream(
            "quiet room",
            "indoor camera, nobody in view (real empty-room footage, looped)",
            quiet_room(tmp, minutes),
            {
                "zones": [
                    {"name": "table", "polygon": TABLE, "rules": {"loitering": {"seconds": 10}}}
                ]
            },
        ),
        Stream(
            "visitors",
            "one-by-one-person-detection.mp4: six visitors stand 12-26 s at a table",
            DATA / "footage/one-by-one-person-detection.mp4",
            {
                "zones": [
                    {"name": "table", "polygon": TABLE, "rules": {"loitering": {"seconds": 10}}}
                ]
            },
        ),
        Stream(
            "motorway",
            "traffic-cctv-no-people.avi: constant traffic; the one event (in both) is a "
            "scooter rider, a person, crossing the whole-frame intrusion area at 5-11 s",
            DATA / "footage/traffic-cctv-no-people.avi",
            {"rules": {"intrusion": {}, "loitering": {"seconds": 10}}},
        ),
        Stream(
            "classroom",
            "classroom.gif looped: four people seated, almost still (a custody camera: an "
            "occupied room is re-detected at least every second)",
            looped_gif(tmp, min(minutes, 1.0)),
            {"rules": {"crowding": {"people": 4, "seconds": 5}}},
            kind="custody",
        ),
    ]


# -- event write latency ---------------------------------------------------------------------


def write_latency(tmp: Path, n: int = 30) -> list[float]:
    """Seconds from ``DatabaseEventSink.opened`` (the rule firing) to the row being readable
    by another connection, on SQLite in WAL mode."""
    db = Database(f"sqlite:///{tmp / 'latency.db'}")
    from vms.db.migrate import upgrade

    upgrade(db.engine)
    with db.session() as s:
        s.add(
            Camera(
                id="cam", name="cam", kind="street", site="s", source="x", record=True,
                retention_days=30, updated_at=ORIGIN,
            )
        )  # fmt: skip
    sink = DatabaseEventSink(db, tmp)
    reader = Database(db.url)
    out = []
    from sqlalchemy import func, select

    from vms.db.models import Event

    for i in range(n):
        now = datetime.now(UTC)
        ev = EventRecord(
            "loitering", "cam", "z", now, None, (i,), 1, 0.9, now, now, None, "info", {}
        )
        t0 = time.perf_counter()
        sink.opened(ev, b"\xff\xd8" + bytes(60_000) + b"\xff\xd9")
        while True:
            with reader.session() as s:
                if s.scalar(select(func.count()).select_from(Event)) == i + 1:
                    break
            time.sleep(0.002)
        out.append(time.perf_counter() - t0)
        time.sleep(0.05)
    sink.close()
    return out


# -- the detector option table ---------------------------------------------------------------


def option_sources(step: int = 1) -> list[Source]:
    """Frames of ../shared/data with the number of people in view known (``people``), and
    two crowds where it is not (persons found per frame); ``step`` > 1 takes fewer."""
    one_by_one = DATA / "footage/one-by-one-person-detection.mp4"
    urfd = list(read_frames(DATA / "footage/urfd-fall-01-cam0.mp4", 30))
    rgb = (0.5, 0.0, 1.0, 1.0)  # the RGB half of the depth | RGB picture

    def phase(lo: int, hi: int) -> list[np.ndarray]:
        return [img for t, img in urfd if lo <= round(t * 30) + 1 <= hi][::step]

    visits = [
        img
        for t, img in read_frames(one_by_one, 1)
        if any(a + 1 <= t <= b - 1 for a, b in zip(ENTRIES, EXITS, strict=True))
    ][::step]
    empty = [img for t, img in read_frames(one_by_one, 2) if any(a <= t < b for a, b in EMPTY)]
    road = [
        img
        for t, img in read_frames(DATA / "footage/traffic-cctv-no-people.avi", 1)
        if not 3.0 <= t <= 14.0  # the scooter rider
    ]
    classroom = [img for _t, img in read_frames(DATA / "footage/classroom.gif", 5)][::step]
    plaza = [img for _t, img in read_frames(DATA / "footage/overhead-crowd.avi", 1)][::step]
    jpgs = sorted((DATA / "footage/avenue-frames").glob("*.jpg"))
    avenue = [cv2.imread(str(p)) for p in jpgs[:: 15 * step]]
    return [
        Source("classroom", classroom, people=[4] * len(classroom)),
        Source("visitors", visits, people=[1] * len(visits)),
        Source("fall: upright", (up := phase(1, 82)), rgb, [1] * len(up)),
        Source("fall: falling", (fall := phase(83, 112)), rgb, [1] * len(fall)),
        Source("fall: lying", (lie := phase(113, 160)), rgb, [1] * len(lie)),
        Source("empty room", empty[::step], people=[0] * len(empty[::step])),
        Source("motorway, no rider", road[::step], people=[0] * len(road[::step])),
        Source("plaza crowd", plaza),
        Source("subway entrance", avenue),
    ]


def recall(result: OptionResult, names: list[str], crops: bool) -> float:
    found = total = 0
    for m, src in zip(result.sources, _SOURCES, strict=True):
        if src.name in names and src.people:
            f = m.crops_persons if crops else m.whole_persons
            found += sum(min(a, b) for a, b in zip(f, src.people, strict=True))
            total += sum(src.people)
    return found / total if total else float("nan")


_SOURCES: list[Source] = []
KNOWN = ["classroom", "visitors", "fall: upright", "fall: falling", "fall: lying"]


def _m(result: OptionResult, name: str) -> Any:
    return next(m for m in result.sources if m.source == name)


def options_markdown(results: list[OptionResult]) -> list[str]:
    lines = [
        "| option (file, runtime, input) | ms/frame | recall, whole frame | recall, crops | "
        "fall clip found upright / falling / lying (whole) | false persons per 100 empty "
        "frames (whole / crops) | plaza crowd persons/frame whole / crops (crops ms) | subway "
        "entrance persons/frame whole / crops | keypoints |",
        "|---|---:|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    for r in results:
        known = [m for m in r.sources if m.source in KNOWN]
        ms = statistics.median([m.whole_ms for m in known])
        falls = " / ".join(
            f"{sum(min(1, x) for x in _m(r, n).whole_persons)}/{_m(r, n).frames}"
            for n in ("fall: upright", "fall: falling", "fall: lying")
        )
        empties = [_m(r, "empty room"), _m(r, "motorway, no rider")]
        frames = sum(m.frames for m in empties) or 1
        fp = (
            100 * sum(sum(m.whole_persons) for m in empties) / frames,
            100 * sum(sum(m.crops_persons) for m in empties) / frames,
        )
        plaza, avenue = _m(r, "plaza crowd"), _m(r, "subway entrance")

        def per(m: Any, crops: bool) -> float:
            return sum(m.crops_persons if crops else m.whole_persons) / max(1, m.frames)

        lines.append(
            f"| {r.name} | {ms:.1f} | {recall(r, KNOWN, False):.0%} | "
            f"{recall(r, KNOWN, True):.0%} | {falls} | {fp[0]:.0f} / {fp[1]:.0f} | "
            f"{per(plaza, False):.1f} / {per(plaza, True):.1f} ({plaza.crops_ms:.0f} ms) | "
            f"{per(avenue, False):.1f} / {per(avenue, True):.1f} | {'yes' if r.pose else ''} |"
        )
    return lines


# -- report --------------------------------------------------------------------------------


def streams_markdown(rows: list[Row], fps: float, min_fps: float, vms_name: str) -> list[str]:
    lines = [
        "| stream | video s | analysed frames | detector calls (crops) vms / naive | analysis "
        "CPU s per min of video: vms / naive 640 / naive, vms's model | **less analysis CPU "
        "than naive 640** | less analysis CPU than naive, vms's model | decoding CPU s per "
        "min (every side) | streams per core with decoding: vms / naive 640 / naive, vms's "
        "model | more streams per core than naive 640, decoding included | events vms / "
        "naive 640 | same events |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    for r in rows:
        vms, ref, same = r.runs[0], r.runs[1], r.runs[2]
        spc = [r.streams_per_core(x) for x in (vms, ref, same)]
        lines.append(
            f"| {r.stream} | {r.video_s:.0f} | {r.frames} | {vms.calls} ({vms.images}) / "
            f"{ref.calls} | {r.per_min(vms.cpu_s):.1f} / {r.per_min(ref.cpu_s):.1f} / "
            f"{r.per_min(same.cpu_s):.1f} | **{ref.cpu_s / vms.cpu_s:.1f}x** | "
            f"{same.cpu_s / vms.cpu_s:.1f}x | {r.per_min(r.decode_s):.1f} | "
            f"{spc[0]:.1f} / {spc[1]:.1f} / {spc[2]:.1f} | {spc[0] / spc[1]:.1f}x | "
            f"{len(vms.events)} / {len(ref.events)} | "
            f"{'yes' if r.same_events(vms, ref) else 'NO'} |"
        )
    lines += [""]
    for r in rows:
        lines.append(f"- {r.stream}: {r.what}.")
    lines += [
        "",
        f"vms runs {vms_name}; both naive loops call Ultralytics `model.track(persist=True)` "
        f"on every analysed frame ({fps:g} a second), whole frame. vms detects on motion no "
        f"tracked person explains, at least {min_fps:g} times a second, and, on custody "
        "cameras, an occupied room at least once a second; between detector calls the "
        "tracker carries the boxes. Streams per core = 60 / (analysis + decoding CPU s per "
        "minute of video), decoding included for every side.",
    ]
    return lines


def markdown(
    rows: list[Row],
    options: list[OptionResult],
    fps: float,
    min_fps: float,
    latency: list[float],
    cmd: str,
    vms_name: str,
) -> str:
    lines = [
        SECTION,
        "",
        f"`{cmd}` on {platform.machine()}, {os.cpu_count()} cores **shared with other "
        f"sessions' jobs** (tests, builds; load average {LOAD_AT_START:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end), {datetime.now(UTC):%Y-%m-%d}. CPU time (user "
        "+ system) of this process, not wall time. One thread per detector (ONNX Runtime / "
        "OpenVINO / torch), all sides in one run.",
        "",
    ]
    if rows:
        lines += [
            "**Streams per core: vms against a naive `model.track` loop, same run, same "
            "frames.** Targets: >= 4x naive on the motorway and classroom streams, >= 20x on "
            "the quiet room, with the same events, in analysis CPU (motion, detector, tracker, "
            "zones, rules: how the baseline's 13.6x and 1.0x were measured); decoding, the "
            "same for every side, is shown apart and in streams per core.",
            "",
            *streams_markdown(rows, fps, min_fps, vms_name),
            "",
        ]
    if options:
        lines += [
            "**Detector options on the footage of ../shared/data, side by side in one run** "
            "(`vms.detection.modelbench`; `vms models bench MODEL...` prints the same on a "
            "site's own cameras). ms/frame: median CPU time of one whole-frame call, one "
            "thread. Recall: people found / people in view (confidence >= 0.35, what starts "
            "a track) on frames where that number is known: classroom.gif (4 seated), the "
            "visits of one-by-one-person-detection.mp4 (1), urfd-fall-01 (1, RGB half); "
            "*crops* tile the frame at the model's own resolution, which is what the "
            "pipeline's crops around motion see. False persons: on empty-room and "
            "motorway-without-people frames. The crowds have no head count: persons found "
            "per frame.",
            "",
            *options_markdown(options),
            "",
        ]
    if latency:
        lines += [
            "**Event write latency.** `DatabaseEventSink.opened` (the moment a rule fires) to "
            "the row being readable from another connection, SQLite WAL, 60 kB snapshot, "
            f"{len(latency)} events: p50 {statistics.median(latency) * 1000:.1f} ms, "
            f"max {max(latency) * 1000:.1f} ms (target: within a second).",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--fps", type=float, default=5.0, help="analysed frames a second")
    ap.add_argument("--minutes", type=float, default=2.0, help="length of the looped streams")
    ap.add_argument("--min-detect-fps", type=float, default=None, help="default: the config's")
    ap.add_argument("--only", default=None, help="comma-separated stream names")
    ap.add_argument("--no-streams", action="store_true", help="only the option table")
    ap.add_argument("--no-options", action="store_true", help="only the streams")
    ap.add_argument("--options", default=None, help="comma-separated option indexes (0-based)")
    ap.add_argument("--step", type=int, default=None, help="option table: every Nth frame")
    ap.add_argument("--quick", action="store_true", help="few frames: for development")
    ap.add_argument("--markdown", type=Path, default=None, help="update this file's section")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if not REFERENCE.is_file():
        sys.exit(f"missing {REFERENCE}: the benchmark reads ../shared/data beside the checkout")
    minutes = 0.5 if args.quick else args.minutes
    rows: list[Row] = []
    results: list[OptionResult] = []
    latency: list[float] = []
    det = YoloDetector(DEFAULT.config(DetectorConfig()))
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        tracker_yaml = tmp / "bytetrack.yaml"
        tracker_yaml.write_text(
            "tracker_type: bytetrack\ntrack_high_thresh: 0.35\ntrack_low_thresh: 0.1\n"
            "new_track_thresh: 0.35\ntrack_buffer: 30\nmatch_thresh: 0.8\nfuse_score: true\n"
        )
        if not args.no_streams:
            naives = [
                NaiveLoop("naive 640", REFERENCE, tracker_yaml, 0.1),
                NaiveLoop("naive, vms's model", DEFAULT.model, tracker_yaml, 0.1),
            ]
            for stream in streams(tmp, minutes):
                if args.only and stream.name not in args.only.split(","):
                    continue
                row = measure(stream, args.fps, args.min_detect_fps, det, naives)
                rows.append(row)
                print(
                    f"{row.stream}: {row.video_s:.0f} s, {row.frames} frames, "
                    + " | ".join(
                        f"{r.side} {r.calls} calls {row.per_min(r.cpu_s):.1f} cpu-s/min "
                        f"{row.streams_per_core(r):.1f}/core {len(r.events)} events"
                        for r in row.runs
                    ),
                    flush=True,
                )
            latency = write_latency(tmp)
    if not args.no_options:
        _SOURCES[:] = option_sources(args.step or (4 if args.quick else 1))
        chosen = OPTIONS
        if args.options:
            chosen = [OPTIONS[int(i)] for i in args.options.split(",")]
        for option in chosen:
            result = measure_option(option, _SOURCES, DetectorConfig())
            results.append(result)
            print(
                f"{result.name}: recall whole {recall(result, KNOWN, False):.0%}, crops "
                f"{recall(result, KNOWN, True):.0%}",
                flush=True,
            )
    min_fps = args.min_detect_fps or AnalyticsConfig().min_detect_fps
    cmd = "python -m bench.analytics " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(rows, results, args.fps, min_fps, latency, cmd.strip(), det.name)
    print(text)
    if args.markdown:
        write_section(SECTION.removeprefix("## "), text, args.markdown)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "rows": [asdict(r) for r in rows],
                    "options": [
                        {"name": r.name, "sources": [asdict(m) for m in r.sources]} for r in results
                    ],
                    "write_latency_s": latency,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
