"""Fixtures of the analytics tests: real models on real footage, shared per session.

Every footage test runs once per detector option (``OPTIONS``: each runtime and input size
vms supports, on the models of ../shared/data), through the same pipeline. One
``YoloDetector`` per option serves the whole session and its outputs are memoised by image
content, and decoded frames are kept per (file, rate): tests that run the same footage
through different rules pay for decoding and detection once. Everything else is real: the
pipeline,
ByteTrack, the rules, decoding in a child process.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import supervision as sv

from tests.conftest import shared_file
from vms.config import CameraConfig
from vms.detection.config import DetectorConfig
from vms.detection.detector import YoloDetector
from vms.detection.events import EventRecord
from vms.detection.offline import FileAnalysis, analyze_file
from vms.detection.pipeline import FrameResult

MODEL = "models/yolov8n_int8.onnx"

#: The detector options every footage test runs with: (model file, runtime).
OPTIONS: dict[str, tuple[str, str]] = {
    "onnxruntime-640": (MODEL, "onnxruntime"),  # dynamic int8 YOLOv8n, what vms used to use
    "openvino-640": ("models/yolov8n_int8_openvino_model", "openvino"),  # OpenVINO IR int8
    "onnxruntime-320": ("models/yolo11n_int8qdq-fixed_320.onnx", "onnxruntime"),  # QDQ int8
    "openvino-pose-320": ("models/yolo11n-pose_fp32_320.onnx", "openvino"),  # keypoints
}
#: Options whose model sees a person lying on the floor (the 320 detector does not).
SEES_LYING = ["onnxruntime-640", "openvino-640", "openvino-pose-320"]
ORIGIN = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, noon UTC


class MemoDetector:
    """The real detector, memoised by the image's bytes (same frame, same answer)."""

    def __init__(self, inner: YoloDetector) -> None:
        self.inner = inner
        self.input_hw = inner.input_hw  # the pipeline plans its crops for this size
        self.calls = 0  # calls the pipelines made
        self.images = 0
        self._memo: dict[bytes, sv.Detections] = {}

    def detect(self, image: np.ndarray) -> sv.Detections:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: list[np.ndarray]) -> list[sv.Detections]:
        self.calls += 1
        self.images += len(images)
        keys = [
            hashlib.blake2b(np.ascontiguousarray(i).tobytes(), digest_size=16).digest()
            + bytes(str(i.shape), "ascii")
            for i in images
        ]
        todo = [(k, i) for k, i in zip(keys, images, strict=True) if k not in self._memo]
        for (k, _), found in zip(todo, self.inner.detect_batch([i for _, i in todo]), strict=True):
            self._memo[k] = found
        return [copy.deepcopy(self._memo[k]) for k in keys]  # the pipeline may shift boxes


@pytest.fixture(scope="session")
def model_path() -> Path:
    return shared_file(MODEL)


@pytest.fixture(scope="session")
def detectors() -> dict[str, MemoDetector]:
    """One memoised detector per option, loaded when first asked for."""
    return {}


@pytest.fixture(params=list(OPTIONS))
def option(request: pytest.FixtureRequest) -> str:
    """The detector option of this run of the test."""
    return str(request.param)


@pytest.fixture
def detector(option: str, detectors: dict[str, MemoDetector]) -> MemoDetector:
    if option not in detectors:
        model, backend = OPTIONS[option]
        detectors[option] = MemoDetector(
            YoloDetector(DetectorConfig(model=shared_file(model), backend=backend))
        )
    return detectors[option]


@pytest.fixture(scope="session", autouse=True)
def shared_frames() -> Iterator[None]:
    """Decode each (file, analysis rate) once a session (still in a child process)."""
    from vms.detection import offline

    decoded: dict[tuple[str, float | None], list[tuple[float, np.ndarray]]] = {}
    real = offline.read_frames

    def read(path: Path, fps: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
        key = (str(Path(path).resolve()), fps)
        if key not in decoded:
            decoded[key] = list(real(path, fps))
        yield from decoded[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(offline, "read_frames", read)
        yield


def camera(
    cam_id: str = "cam", kind: str = "street", fps: float = 2.0, **analytics: Any
) -> CameraConfig:
    """A camera configuration with the given analytics settings."""
    extra: dict[str, Any] = {"room": "Cell 1", "room_type": "cell"} if kind == "custody" else {}
    return CameraConfig.model_validate(
        {
            "id": cam_id,
            "kind": kind,
            "site": "test",
            "source": "synthetic://test",
            "analysis_fps": fps,
            "analytics": analytics,
            **extra,
        }
    )


Analyze = Callable[..., FileAnalysis]


@pytest.fixture
def analyze(detector: MemoDetector) -> Analyze:
    """``analyze(footage, camera, origin=..., observers=...)``: the real pipeline on a file."""

    def run(
        footage: str,
        cam: CameraConfig,
        *,
        origin: datetime = ORIGIN,
        observers: list[Callable[[FrameResult], None]] | None = None,
    ) -> FileAnalysis:
        return analyze_file(
            shared_file(footage), cam, detector=detector, origin=origin, observers=observers or []
        )

    return run


def seconds(analysis: FileAnalysis) -> list[dict[str, Any]]:
    """The events as ``vms analyze --json`` prints them."""
    return [e.seconds_from(analysis.origin) for e in analysis.events]


def record(cam: str, kind: str, zone: str | None, start: datetime, **kw: object) -> EventRecord:
    values: dict[str, object] = {
        "type": kind,
        "camera_id": cam,
        "zone": zone,
        "start": start,
        "end": None,
        "track_ids": (7,),
        "peak_count": 1,
        "confidence": 0.9,
        "began": start - timedelta(seconds=60),
        "recording_start": start - timedelta(seconds=65),
        "recording_end": None,
        "severity": "info",
        "data": {"seconds": 60.0},
    }
    values.update(kw)
    return EventRecord(**values)  # type: ignore[arg-type]
