"""The runtimes vms drives itself: same boxes as Ultralytics, sizes, devices, batches."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_file
from vms.detection.config import DetectorConfig
from vms.detection.detector import YoloDetector
from vms.detection.video import read_frames
from vms.errors import ModelError

QDQ = "models/yolo11n_int8qdq-fixed_320.onnx"
POSE = "models/yolo11n-pose_fp32_320.onnx"
OPENVINO_IR = "models/yolov8n_int8_openvino_model"


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    clip = shared_file("footage/classroom.gif")
    return [img for _t, img in read_frames(clip, 5)][:3]


def make(model: str, **kw: object) -> YoloDetector:
    return YoloDetector(DetectorConfig.model_validate({"model": shared_file(model), **kw}))


def test_onnx_runtime_gives_ultralytics_boxes(frames: list[np.ndarray]) -> None:
    from vms.detection._ultralytics import import_ultralytics

    import_ultralytics()
    from ultralytics import YOLO

    ours = make(QDQ)
    theirs = YOLO(str(shared_file(QDQ)), task="detect")
    for image in frames:
        mine = ours.detect(image)
        ref = theirs.predict(image, conf=0.1, classes=[0], verbose=False)[0].boxes
        assert len(mine) == len(ref) >= 4  # the four seated people (and weaker boxes)
        np.testing.assert_allclose(mine.xyxy, ref.xyxy.numpy(), atol=0.01)
        np.testing.assert_allclose(mine.confidence, ref.conf.numpy(), atol=1e-4)
        assert set(mine.data["class_name"]) == {"person"}


def test_openvino_runs_ir_folders_and_onnx_files_with_their_metadata(
    frames: list[np.ndarray],
) -> None:
    ir = make(OPENVINO_IR)
    assert (ir.backend, ir.device, ir.input_hw, ir.pose) == (
        "openvino",
        "openvino:CPU",
        (640, 640),
        False,
    )
    pose = make(POSE, backend="openvino")
    assert pose.pose
    assert pose.info.kpt_shape == (17, 3)
    found = pose.detect(frames[0])
    assert found.data["keypoints"].shape == (len(found), 17, 3)
    # The same file on ONNX Runtime: the same people, the same keypoints (to rounding).
    ort = make(POSE).detect(frames[0])
    strong = found.confidence >= 0.35
    assert strong.sum() == (ort.confidence >= 0.35).sum() >= 4
    np.testing.assert_allclose(found.xyxy[strong], ort.xyxy[ort.confidence >= 0.35], atol=1.0)


def test_the_input_size_is_the_model_s_own_and_another_one_is_refused() -> None:
    assert make(QDQ).input_hw == (320, 320)
    assert make(QDQ, imgsz=320).input_hw == (320, 320)
    with pytest.raises(ModelError, match=r"detector.imgsz: .* takes only 320x320 input"):
        make(QDQ, imgsz=640)


@pytest.mark.parametrize(("model", "device"), [(QDQ, "cuda:0"), (QDQ, "tensorrt:0"), (POSE, "gpu")])
def test_an_accelerator_that_is_not_there_falls_back_to_cpu_and_says_so(
    model: str, device: str, frames: list[np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    backend = "openvino" if device == "gpu" else "auto"
    with caplog.at_level(logging.WARNING):
        det = make(model, device=device, backend=backend)
    assert det.device in ("cpu", "openvino:CPU")
    assert f"detector.device {device}" in caplog.text
    assert "running on CPU" in caplog.text
    cpu = make(model, backend=backend)
    np.testing.assert_allclose(det.detect(frames[0]).xyxy, cpu.detect(frames[0]).xyxy)


def test_configuration_mistakes_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"detector\.device"):
        make(QDQ, device="tpu")
    with pytest.raises(ModelError, match=r"detector\.backend: onnxruntime runs \.onnx files"):
        make(OPENVINO_IR, backend="onnxruntime")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"detector.model: cannot load .*broken.onnx"):
        YoloDetector(DetectorConfig(model=broken))


def test_a_batch_is_one_call_with_the_answers_of_separate_calls(frames: list[np.ndarray]) -> None:
    det = make(QDQ)
    crops = [frames[0], frames[1][:200, :240], frames[2][50:, 100:]]
    alone = [det.detect(c) for c in crops]
    calls = det.calls
    together = det.detect_batch(crops)
    assert det.calls == calls + 1
    assert det.images == 2 * len(crops)
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a.xyxy, b.xyxy)
