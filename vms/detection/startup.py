"""What start-up says about detection: on, off (said plainly), or a missing model (an error).

Light on purpose: the supervisor process imports it without loading the analytics stack.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from vms.detection.config import DetectorConfig
from vms.errors import ModelError

if TYPE_CHECKING:
    from vms.config import CameraConfig, Config

log = logging.getLogger(__name__)

HOW_TO_SUPPLY = (
    "put a YOLO model file there (.pt, .onnx or an OpenVINO folder that Ultralytics loads; "
    "e.g. ../shared/data/models/yolo11n_int8qdq-fixed_320.onnx), or point detector.model in the "
    "configuration at one; set detector.model to null to run without detection "
    "(motion and tamper checks only)"
)


def check_model(config: DetectorConfig) -> Path | None:
    """The model path if one is configured; ModelError naming the path if it is missing."""
    if config.model is None:
        return None
    path = Path(config.model)
    if not path.exists():
        raise ModelError(
            f"detector.model: {path.resolve()} does not exist; to fix it, {HOW_TO_SUPPLY}"
        )
    return path


def analysed(config: Config) -> list[CameraConfig]:
    """The cameras whose frames are analysed."""
    return [c for c in config.cameras if c.analytics.enabled and c.analysis_fps > 0]


def announce_detection(config: Config) -> bool:
    """A configured model that is missing raises ModelError naming the path; no model at all
    is said plainly in the log. True when detection will run."""
    if not analysed(config):
        return False
    if check_model(config.detector) is None:
        log.warning(
            "detection is OFF: no detector model is configured (detector.model), so no "
            "person, loitering, intrusion or person-down events will be raised; motion and "
            "camera-tamper checks still run. To turn it on, set detector.model to a YOLO "
            "model file (.pt, .onnx or an OpenVINO folder that Ultralytics loads), e.g. "
            "../shared/data/models/yolo11n_int8qdq-fixed_320.onnx."
        )
        return False
    log.info("detection is on: model %s", Path(str(config.detector.model)).resolve())
    return True
