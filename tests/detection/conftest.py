"""Fixtures of the analytics tests: the real model on real footage, shared per session.

The detector is ~100 ms a frame on a 2-core CPU, so one ``YoloDetector`` serves the whole
session and its outputs are memoised by frame content: tests that run the same footage
through different rules pay for detection once. Everything else is real: the pipeline,
ByteTrack, the rules, decoding in a child process.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
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
def detector(model_path: Path) -> MemoDetector:
    return MemoDetector(YoloDetector(DetectorConfig(model=model_path)))


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
