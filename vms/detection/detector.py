"""Object detector: a YOLO model (ONNX Runtime, OpenVINO, or Ultralytics for .pt), one per
worker process, shared by its cameras; several images (crops, cameras) per call."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import supervision as sv

from vms.detection.backends import (
    BatchRunner,
    Decoded,
    ModelInfo,
    backend_for,
    decode,
    open_runtime,
)
from vms.detection.config import DetectorConfig
from vms.detection.startup import HOW_TO_SUPPLY, check_model
from vms.errors import ModelError

log = logging.getLogger(__name__)


class Detector(Protocol):
    """Finds objects in a BGR image; the result carries ``data['class_name']`` (and
    ``data['keypoints']``, (N, K, 3), from a pose model)."""

    calls: int

    def detect(self, image: np.ndarray) -> sv.Detections: ...


def detect_all(detector: Detector, images: Sequence[np.ndarray]) -> list[sv.Detections]:
    """Detections of each image, in one call where the detector takes several."""
    batch = getattr(detector, "detect_batch", None)
    if callable(batch):
        out: list[sv.Detections] = batch(images)
        return out
    return [detector.detect(image) for image in images]


def input_size(detector: Detector | None) -> tuple[int, int] | None:
    """The (height, width) the detector's model sees, if it says (scripted ones do not)."""
    size = getattr(detector, "input_hw", None)
    return size if isinstance(size, tuple) else None


def _import_yolo() -> Any:
    from vms.detection._ultralytics import import_ultralytics

    import_ultralytics()
    from ultralytics import YOLO

    return YOLO


class _UltralyticsRunner:
    """``.pt`` models (and anything else only Ultralytics loads) through its predictor."""

    def __init__(self, path: Path, config: DetectorConfig) -> None:
        yolo = _import_yolo()
        import torch

        torch.set_num_threads(config.threads)
        try:
            self.model = yolo(str(path))
        except Exception as exc:  # Ultralytics raises many types for unreadable models
            raise ModelError(f"detector.model: cannot load {path.resolve()}: {exc}") from exc
        task = str(getattr(self.model, "task", "detect"))
        kpt = getattr(getattr(self.model, "model", None), "kpt_shape", None)
        self.info = ModelInfo(
            path=path,
            format="torch",
            task=task,
            names={int(k): str(v) for k, v in dict(self.model.names).items()},
            input_hw=None,
            batch=None,
            kpt_shape=tuple(kpt) if kpt is not None else None,
        )
        self.device = config.device
        self._config = config
        self._lock = threading.Lock()

    def run(
        self, images: Sequence[np.ndarray], size: tuple[int, int], classes: list[int]
    ) -> list[Decoded]:
        out: list[Decoded] = []
        with self._lock:
            for image in images:
                r = self.model.predict(
                    image,
                    conf=self._config.confidence,
                    classes=classes,
                    imgsz=size[0],
                    device=self._config.device,
                    verbose=False,
                )[0]
                boxes = r.boxes
                kps = getattr(r, "keypoints", None)
                out.append(
                    Decoded(
                        boxes.xyxy.cpu().numpy().astype(np.float32),
                        boxes.conf.cpu().numpy().astype(np.float32),
                        boxes.cls.cpu().numpy().astype(int),
                        None if kps is None else kps.data.cpu().numpy().astype(np.float32),
                    )
                )
        return out


class YoloDetector:
    """A YOLO model (detect or pose) on the configured runtime and device; thread-safe, so
    one instance serves every camera of a worker process.

    >>> det = YoloDetector(DetectorConfig(model=Path("yolo11n.onnx")))  # doctest: +SKIP
    >>> det.detect(image).xyxy  # doctest: +SKIP
    >>> det.detect_batch([crop1, crop2])  # one call  # doctest: +SKIP
    """

    def __init__(self, config: DetectorConfig) -> None:
        path = check_model(config)
        if path is None:
            raise ModelError(f"detector.model is not set; {HOW_TO_SUPPLY}")
        self.config = config
        self.path = path
        self.calls = 0  # detector calls (one per detect / detect_batch)
        self.images = 0  # images run (a batch counts each)
        self.busy_s = 0.0
        self._lock = threading.Lock()
        self.backend = backend_for(path, config.backend)
        self._runner: BatchRunner | None = None
        self._ultra: _UltralyticsRunner | None = None
        if self.backend == "ultralytics":
            self._ultra = _UltralyticsRunner(path, config)
            self.info = self._ultra.info
            self.device = self._ultra.device
        else:
            runtime = open_runtime(path, self.backend, config.device, config.threads)
            self.info = runtime.info
            self.device = runtime.device
        self.input_hw = self.info.size_for(config.imgsz)
        if self.backend != "ultralytics":
            self._runner = BatchRunner(runtime, self.input_hw)
        names = self.info.names
        by_name = {v: k for k, v in names.items()}
        unknown = [c for c in config.classes if c not in by_name]
        if unknown:
            raise ModelError(
                f"detector.classes: {unknown} are not classes of {path.name} "
                f"(it knows: {', '.join(list(by_name)[:20])}{', ...' if len(by_name) > 20 else ''})"
            )
        self.names = names
        self._class_ids = [by_name[c] for c in config.classes]
        self.detect(np.zeros((64, 64, 3), np.uint8))  # warms the runtime up
        self.calls = self.images = 0
        self.busy_s = 0.0
        log.info(
            "detector: %s (%s %s, %s, %dx%d), classes %s, confidence %.2f, %d thread(s)",
            path,
            self.info.task,
            self.backend,
            self.device,
            self.input_hw[1],
            self.input_hw[0],
            ",".join(config.classes),
            config.confidence,
            config.threads,
        )

    @property
    def pose(self) -> bool:
        """The model gives COCO keypoints (person-down uses them)."""
        return self.info.kpt_shape is not None

    @property
    def name(self) -> str:
        """How the option is named in benchmarks: file, runtime, input size."""
        h, w = self.input_hw
        return f"{self.path.name} ({self.backend}, {w}x{h})"

    def detect(self, image: np.ndarray) -> sv.Detections:
        """Objects of the configured classes in ``image`` (BGR), at or above the confidence."""
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        """``detect`` of each image, as one call (batched where the model takes batches)."""
        if not images:
            return []
        t = time.perf_counter()
        decoded: list[Decoded]
        if self._ultra is not None:
            decoded = self._ultra.run(images, self.input_hw, self._class_ids)
        else:
            assert self._runner is not None
            nc = len(self.names)
            decoded = [
                decode(
                    raw,
                    box,
                    nc=nc,
                    conf=self.config.confidence,
                    classes=self._class_ids,
                    kpt_shape=self.info.kpt_shape,
                )
                for raw, box in self._runner.run(images)
            ]
        with self._lock:
            self.calls += 1
            self.images += len(images)
            self.busy_s += time.perf_counter() - t
        return [self._detections(d) for d in decoded]

    def _detections(self, d: Decoded) -> sv.Detections:
        det = sv.Detections(
            xyxy=d.xyxy,
            confidence=d.confidence,
            class_id=d.class_id,
            data={"class_name": np.array([self.names[int(c)] for c in d.class_id], dtype=str)},
        )
        if self.info.kpt_shape is not None:  # a pose model: keypoints, even for no one
            kp = d.keypoints
            det.data["keypoints"] = (
                kp if kp is not None else np.zeros((0, *self.info.kpt_shape), np.float32)
            )
        return det
