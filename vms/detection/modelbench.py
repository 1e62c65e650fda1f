"""Detector options measured on real frames: CPU time per frame and persons found.

``vms models bench`` runs it on the configured cameras' newest recordings (and any video);
``bench/analytics.py`` on the footage of ../shared/data, where the number of people in view
is known, for the option table in docs/benchmarks.md. Each option is measured two ways:

* **whole**: the frame (or the camera's region) fitted into the model in one call;
* **crops**: the whole frame and, on top, the frame tiled at the model's own resolution
  (``regions.cover`` with no limit on the number of windows), merged: what the pipeline's
  crops around motion can see at best (small people at full resolution, big ones in a
  window large enough to hold them).

Persons count at ``tracker.start_confidence`` (0.35): what starts a track.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import supervision as sv

from vms.detection.config import DetectorConfig, TrackerConfig
from vms.detection.detector import YoloDetector
from vms.detection.pipeline import merge_crops
from vms.detection.regions import Window, cover, whole

#: Detections this confident start a track (the pipeline's default).
COUNT_CONFIDENCE = TrackerConfig().start_confidence
#: Crops: at most this many tiles a frame (a 1920x1080 frame in a 320 model needs 24).
MAX_TILES = 64


@dataclass(frozen=True)
class Option:
    """One detector configuration to compare: ``MODEL[@BACKEND]`` on the command line."""

    model: Path
    backend: str = "auto"

    @staticmethod
    def parse(text: str) -> Option:
        path, sep, backend = text.rpartition("@")
        if sep and backend in ("auto", "onnxruntime", "openvino", "ultralytics"):
            return Option(Path(path), backend)
        return Option(Path(text))

    def config(self, base: DetectorConfig) -> DetectorConfig:
        return base.model_copy(update={"model": self.model, "backend": self.backend})


@dataclass
class Source:
    """Frames of one camera or clip, the part the detector sees (``region``), and, where
    known, how many people each frame shows."""

    name: str
    frames: list[np.ndarray]
    region: tuple[float, float, float, float] | None = None
    people: list[int] | None = None


@dataclass
class Measured:
    """One option on one source, per analysed frame."""

    source: str
    frames: int
    whole_ms: float  # median CPU ms of one whole-frame call
    whole_persons: list[int]
    crops_ms: float  # median CPU ms of the whole frame and all its tiles
    crops_persons: list[int]
    tiles: int  # tiles a frame

    def recall(self, people: Sequence[int] | None, crops: bool) -> float | None:
        """Share of the people in view found (each frame: at most as many as are there)."""
        if not people or not sum(people):
            return None
        found = self.crops_persons if crops else self.whole_persons
        return sum(min(f, p) for f, p in zip(found, people, strict=True)) / sum(people)

    def extra(self, people: Sequence[int] | None, crops: bool) -> int | None:
        """Persons found beyond those in view (false alarms), over all frames."""
        if people is None:
            return None
        found = self.crops_persons if crops else self.whole_persons
        return sum(max(0, f - p) for f, p in zip(found, people, strict=True))


@dataclass
class OptionResult:
    """One option on every source."""

    option: Option
    name: str  # file (runtime, input size)
    runtime: str
    device: str
    input_hw: tuple[int, int]
    pose: bool
    load_s: float
    sources: list[Measured] = field(default_factory=list)


def _view(image: np.ndarray, region: tuple[float, float, float, float] | None) -> np.ndarray:
    if region is None:
        return image
    h, w = image.shape[:2]
    x1, y1 = round(region[0] * w), round(region[1] * h)
    x2, y2 = round(region[2] * w), round(region[3] * h)
    return image[y1:y2, x1:x2]


def _persons(det: sv.Detections, person_ids: set[int]) -> int:
    if not len(det):
        return 0
    conf = det.confidence if det.confidence is not None else np.ones(len(det))
    cls = det.class_id if det.class_id is not None else np.zeros(len(det), int)
    return int(
        sum(1 for c, k in zip(conf, cls, strict=True) if c >= COUNT_CONFIDENCE and k in person_ids)
    )


def _timed(detector: YoloDetector, images: list[np.ndarray]) -> tuple[list[sv.Detections], float]:
    t = time.process_time()
    found = detector.detect_batch(images)
    return found, (time.process_time() - t) * 1000.0


def measure(option: Option, sources: Sequence[Source], base: DetectorConfig) -> OptionResult:
    """Load the option's model and run it whole-frame and tiled on every source."""
    t = time.perf_counter()
    detector = YoloDetector(option.config(base))
    load_s = time.perf_counter() - t
    person_ids = {k for k, v in detector.names.items() if v == "person"}
    result = OptionResult(
        option,
        detector.name,
        detector.backend,
        detector.device,
        detector.input_hw,
        detector.pose,
        load_s,
    )
    for src in sources:
        whole_ms: list[float] = []
        crops_ms: list[float] = []
        whole_n: list[int] = []
        crops_n: list[int] = []
        tiles = 1
        for image in src.frames:
            view = np.ascontiguousarray(_view(image, src.region))
            h, w = view.shape[:2]
            (det,), ms = _timed(detector, [view])
            whole_ms.append(ms)
            whole_n.append(_persons(det, person_ids))
            windows = cover((w, h), detector.input_hw, full_below=1.0, max_windows=MAX_TILES)
            if windows == [whole((w, h))]:
                crops_ms.append(ms)
                crops_n.append(whole_n[-1])
                continue
            tiles = len(windows)
            found, ms = _timed(detector, [view[b.y1 : b.y2, b.x1 : b.x2] for b in windows])
            crops_ms.append(ms + whole_ms[-1])
            merged = merge_crops([whole((w, h)), *windows], [det, *found], Window(0, 0, w, h))
            crops_n.append(_persons(merged, person_ids))
        result.sources.append(
            Measured(
                src.name,
                len(src.frames),
                statistics.median(whole_ms) if whole_ms else 0.0,
                whole_n,
                statistics.median(crops_ms) if crops_ms else 0.0,
                crops_n,
                tiles,
            )
        )
    return result
