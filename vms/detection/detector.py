"""Object detector: Ultralytics YOLO (any model it loads), one per process, shared by cameras."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

import numpy as np
import supervision as sv

from vms.detection.config import DetectorConfig
from vms.detection.startup import HOW_TO_SUPPLY, check_model
from vms.errors import ModelError

log = logging.getLogger(__name__)


class Detector(Protocol):
    """Finds objects in a BGR image; the result carries ``data['class_name']``."""

    calls: int

    def detect(self, image: np.ndarray) -> sv.Detections: ...


def _import_yolo() -> Any:
    from vms.detection._ultralytics import import_ultralytics

    import_ultralytics()
    from ultralytics import YOLO

    return YOLO


class YoloDetector:
    """Ultralytics YOLO on CPU or GPU; thread-safe, so one instance serves every camera of a
    worker process.

    >>> det = YoloDetector(DetectorConfig(model=Path("yolov8n_int8.onnx")))  # doctest: +SKIP
    >>> det.detect(image).xyxy  # doctest: +SKIP
    """

    def __init__(self, config: DetectorConfig) -> None:
        path = check_model(config)
        if path is None:
            raise ModelError(f"detector.model is not set; {HOW_TO_SUPPLY}")
        self.config = config
        self.path = path
        self.calls = 0
        self.busy_s = 0.0
        self._lock = threading.Lock()
        yolo = _import_yolo()
        try:
            import torch

            torch.set_num_threads(config.threads)
            self._model = yolo(str(path), task="detect" if path.suffix == ".onnx" else None)
        except Exception as exc:  # Ultralytics raises many types for unreadable models
            raise ModelError(f"detector.model: cannot load {path.resolve()}: {exc}") from exc
        names: dict[int, str] = dict(self._model.names)
        by_name = {v: k for k, v in names.items()}
        unknown = [c for c in config.classes if c not in by_name]
        if unknown:
            raise ModelError(
                f"detector.classes: {unknown} are not classes of {path.name} "
                f"(it knows: {', '.join(list(by_name)[:20])}{', ...' if len(by_name) > 20 else ''})"
            )
        self.names = names
        self._class_ids = [by_name[c] for c in config.classes]
        self._predict(np.zeros((64, 64, 3), np.uint8))  # builds the predictor
        self.pin_threads()
        log.info(
            "detector: %s (%s), classes %s, confidence %.2f, %d thread(s)",
            path,
            type(self._backend()).__name__ if self._backend() is not None else "?",
            ",".join(config.classes),
            config.confidence,
            config.threads,
        )

    @property
    def model(self) -> Any:
        """The Ultralytics model itself (benchmarks compare against its own ``track``)."""
        return self._model

    def _backend(self) -> Any:
        predictor = getattr(self._model, "predictor", None)
        return getattr(getattr(predictor, "model", None), "backend", None)

    def pin_threads(self) -> None:
        """Give the model's ONNX Runtime session the configured thread count (its default is
        one spinning thread per core). Ultralytics rebuilds its predictor, and the session,
        when predict/track arguments change: call again after such a call."""
        backend = self._backend()
        session = getattr(backend, "session", None)
        if session is None or getattr(backend, "use_io_binding", False):
            return
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.config.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        backend.session = ort.InferenceSession(
            str(self.path), options, providers=session.get_providers()
        )

    def _predict(self, image: np.ndarray) -> Any:
        return self._model.predict(
            image,
            conf=self.config.confidence,
            classes=self._class_ids,
            imgsz=self.config.imgsz,
            device=self.config.device,
            verbose=False,
        )[0]

    def detect(self, image: np.ndarray) -> sv.Detections:
        """Objects of the configured classes in ``image`` (BGR), at or above the confidence."""
        with self._lock:
            t = time.perf_counter()
            result = self._predict(image)
            self.calls += 1
            self.busy_s += time.perf_counter() - t
        detections = sv.Detections.from_ultralytics(result)
        keypoints = getattr(result, "keypoints", None)
        if keypoints is not None and len(detections):
            # Pose models: (N, K, 3) x, y, visibility, for the person-down rule.
            detections.data["keypoints"] = keypoints.data.cpu().numpy()
        return detections
