"""Model runtimes: ONNX Runtime, OpenVINO, and Ultralytics' own predictor for .pt files.

vms runs YOLO models itself for .onnx files and OpenVINO folders instead of through
Ultralytics' predictor because it needs what that predictor does not give: the thread count
of the runtime set per model (Ultralytics builds ONNX Runtime sessions with one spinning
thread per core and OpenVINO with all cores), execution providers chosen by configuration
(CUDA / TensorRT / OpenVINO GPU, with CPU as the fallback), several images (crops, frames
of several cameras) in one call, and no torch round trip per call (a few ms at 320). The
pre- and post-processing follow Ultralytics' exactly (letterbox, 114 grey padding,
confidence filter on the best class, class-offset NMS at IoU 0.7, boxes scaled back), so the
same model gives the same boxes either way; ``tests/detection/test_backends.py`` compares.
``.pt`` models (torch) still go through Ultralytics.
"""

from __future__ import annotations

import ast
import logging
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import yaml

from vms.errors import ModelError

log = logging.getLogger(__name__)

#: Ultralytics' NMS settings.
IOU = 0.7
MAX_DET = 300
_MAX_WH = 7680.0  # class offset of class-aware NMS


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about itself (Ultralytics metadata and input shape)."""

    path: Path
    format: str  # "onnx", "openvino" or "torch"
    task: str  # "detect" or "pose"
    names: dict[int, str]
    input_hw: tuple[int, int] | None  # fixed input (height, width); None: any size
    batch: int | None  # fixed batch; None: any
    stride: int = 32
    kpt_shape: tuple[int, int] | None = None

    def size_for(self, imgsz: int | None) -> tuple[int, int]:
        """The (height, width) images are letterboxed to, for a configured ``imgsz``."""
        if self.input_hw is not None:
            if imgsz is not None and (imgsz, imgsz) != self.input_hw:
                h, w = self.input_hw
                raise ModelError(
                    f"detector.imgsz: {self.path.name} takes only {w}x{h} input (its input "
                    f"shape is fixed); set imgsz to {w} or leave it out"
                )
            return self.input_hw
        size = imgsz or 640
        if size % self.stride:
            raise ModelError(
                f"detector.imgsz: {size} is not a multiple of the model's stride "
                f"{self.stride}; use e.g. {math.ceil(size / self.stride) * self.stride}"
            )
        return (size, size)


def _literal(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return value


def _info(path: Path, fmt: str, meta: dict[str, Any], shape: Sequence[Any]) -> ModelInfo:
    names = _literal(meta.get("names"))
    if not isinstance(names, dict) or not names:
        raise ModelError(
            f"detector.model: {path} has no class names in its metadata; export it with "
            "Ultralytics (yolo export ...), which writes them"
        )
    task = str(meta.get("task", "detect"))
    if task not in ("detect", "pose"):
        raise ModelError(f"detector.model: {path} is a {task!r} model; vms needs detect or pose")
    kpt = _literal(meta.get("kpt_shape"))
    dims = [d if isinstance(d, int) and d > 0 else None for d in shape]
    hw = (dims[2], dims[3]) if len(dims) == 4 and dims[2] and dims[3] else None
    return ModelInfo(
        path=path,
        format=fmt,
        task=task,
        names={int(k): str(v) for k, v in names.items()},
        input_hw=hw,
        batch=dims[0] if dims else None,
        stride=int(_literal(meta.get("stride", 32))),
        kpt_shape=tuple(kpt) if isinstance(kpt, list | tuple) else None,
    )


# -- letterbox, decode, NMS (Ultralytics' conventions) ---------------------------------------


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the model input: scale, then padding (left, top)."""

    gain: float
    pad: tuple[float, float]
    shape: tuple[int, int]  # the original image's (height, width)


def letterbox(image: np.ndarray, size: tuple[int, int], out: np.ndarray) -> Letterbox:
    """Fit ``image`` (BGR) into ``out`` (3, H, W float32, 0-1, RGB) as Ultralytics does:
    keep the aspect ratio, centre it, pad with grey 114."""
    h, w = image.shape[:2]
    th, tw = size
    r = min(th / h, tw / w)
    nw, nh = round(w * r), round(h * r)
    dw, dh = (tw - nw) / 2, (th - nh) / 2
    resized = (
        image if (nw, nh) == (w, h) else cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    )
    top, left = round(dh - 0.1), round(dw - 0.1)
    canvas = np.full((th, tw, 3), 114, np.uint8)
    canvas[top : top + nh, left : left + nw] = resized
    # BGR HWC uint8 -> RGB CHW float 0-1
    np.multiply(canvas[:, :, ::-1].transpose(2, 0, 1), 1.0 / 255.0, out=out, casting="unsafe")
    # Ultralytics' scale_boxes recomputes the padding this way from the two shapes.
    pad = (round((tw - w * r) / 2 - 0.1), round((th - h * r) / 2 - 0.1))
    return Letterbox(r, (float(pad[0]), float(pad[1])), (h, w))


@dataclass
class Decoded:
    """One image's detections in its own pixels."""

    xyxy: np.ndarray  # (N, 4) float32
    confidence: np.ndarray  # (N,) float32
    class_id: np.ndarray  # (N,) int
    keypoints: np.ndarray | None = None  # (N, K, 3) x, y, visibility

    @staticmethod
    def empty(keypoints: tuple[int, int] | None = None) -> Decoded:
        kp = None if keypoints is None else np.zeros((0, *keypoints), np.float32)
        return Decoded(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, int), kp)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression (as torchvision's): indices kept, best first."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        iw = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        ih = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = iw * ih
        ratio = inter / (areas[i] + areas[rest] - inter + 1e-7)
        order = rest[ratio <= iou]
    return np.asarray(keep, int)


def decode(
    raw: np.ndarray,
    box: Letterbox,
    *,
    nc: int,
    conf: float,
    classes: Sequence[int] | None,
    kpt_shape: tuple[int, int] | None,
) -> Decoded:
    """One image's raw YOLO output (4 + nc [+ K*3], N anchors) to boxes in image pixels."""
    scores = raw[4 : 4 + nc]
    best = scores.max(axis=0)
    cand = np.flatnonzero(best > conf)
    if cand.size == 0:
        return Decoded.empty(kpt_shape)
    sc = scores[:, cand]
    cls = sc.argmax(axis=0)
    confidence = sc[cls, np.arange(cand.size)]
    if classes is not None:
        wanted = np.isin(cls, classes)
        cand, cls, confidence = cand[wanted], cls[wanted], confidence[wanted]
        if cand.size == 0:
            return Decoded.empty(kpt_shape)
    cx, cy, w, h = raw[0, cand], raw[1, cand], raw[2, cand], raw[3, cand]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    keep = nms(xyxy + (cls * _MAX_WH)[:, None], confidence, IOU)[:MAX_DET]
    xyxy, confidence, cls, cand = xyxy[keep], confidence[keep], cls[keep], cand[keep]
    ih, iw = box.shape
    px, py = box.pad
    xyxy = (xyxy - np.array([px, py, px, py], np.float32)) / box.gain
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, iw)
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, ih)
    kps = None
    if kpt_shape is not None:
        k, d = kpt_shape
        kps = raw[4 + nc : 4 + nc + k * d, cand].T.reshape(-1, k, d).copy()
        kps[..., 0] = ((kps[..., 0] - px) / box.gain).clip(0, iw)
        kps[..., 1] = ((kps[..., 1] - py) / box.gain).clip(0, ih)
    return Decoded(xyxy.astype(np.float32), confidence.astype(np.float32), cls.astype(int), kps)


# -- runtimes ---------------------------------------------------------------------------------


class Runtime(Protocol):
    """Runs a batch of letterboxed images (B, 3, H, W float32) and returns (B, C, N)."""

    info: ModelInfo
    device: str  # where it actually runs, in words

    def run(self, batch: np.ndarray) -> np.ndarray: ...


def _device(spec: str) -> tuple[str, int]:
    kind, _, index = spec.strip().lower().partition(":")
    if index and not index.isdigit():
        raise ModelError(f"detector.device: {spec!r} is not KIND or KIND:N (e.g. cuda:0)")
    return kind, int(index or 0)


class OnnxRuntime:
    """ONNX Runtime, CPU by default; ``cuda[:N]`` and ``tensorrt[:N]`` use those execution
    providers when the installed onnxruntime has them (onnxruntime-gpu), else CPU, said in
    the log."""

    def __init__(self, path: Path, device: str, threads: int) -> None:
        import onnxruntime as ort

        kind, index = _device(device)
        if kind not in ("cpu", "cuda", "tensorrt"):
            raise ModelError(
                f"detector.device: {device!r} is not a device ONNX Runtime runs on here "
                "(cpu, cuda[:N], tensorrt[:N])"
            )
        available = ort.get_available_providers()
        providers: list[Any] = []
        if kind == "tensorrt":
            if "TensorrtExecutionProvider" in available:
                cache = Path(path).resolve().parent / ".trt-cache"
                providers.append(
                    (
                        "TensorrtExecutionProvider",
                        {
                            "device_id": index,
                            "trt_engine_cache_enable": True,
                            "trt_engine_cache_path": str(cache),
                        },
                    )
                )
            kind = "cuda"  # TensorRT falls back to CUDA for what it cannot take
        if kind == "cuda" and "CUDAExecutionProvider" in available:
            providers.append(("CUDAExecutionProvider", {"device_id": index}))
        providers.append("CPUExecutionProvider")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # ONNX Runtime raises its own types for unreadable files
            raise ModelError(f"detector.model: cannot load {path.resolve()}: {exc}") from exc
        used = self.session.get_providers()[0]
        if device.lower() != "cpu" and used == "CPUExecutionProvider":
            log.warning(
                "detector.device %s: ONNX Runtime here has no %s execution provider "
                "(available: %s); running on CPU. Install onnxruntime-gpu (CUDA, TensorRT) "
                "to use the accelerator.",
                device,
                "TensorRT/CUDA" if device.lower().startswith("tensorrt") else "CUDA",
                ", ".join(available),
            )
        self.device = {
            "CPUExecutionProvider": "cpu",
            "CUDAExecutionProvider": f"cuda:{index}",
            "TensorrtExecutionProvider": f"tensorrt:{index}",
        }.get(used, used)
        inp = self.session.get_inputs()[0]
        self._input = inp.name
        meta = dict(self.session.get_modelmeta().custom_metadata_map)
        self.info = _info(Path(path), "onnx", meta, inp.shape)

    def run(self, batch: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self._input: batch})[0]
        return np.asarray(out)


class OpenVinoRuntime:
    """OpenVINO: an OpenVINO IR folder (or .xml), or an .onnx file; ``device`` cpu, gpu[:N],
    npu or auto. A device OpenVINO does not see here falls back to CPU, said in the log."""

    def __init__(self, path: Path, device: str, threads: int) -> None:
        try:
            import openvino as ov
        except ImportError as exc:  # pragma: no cover - a dependency of vms
            raise ModelError("detector.model: OpenVINO models need `pip install openvino`") from exc
        kind, index = _device(device)
        names = {"cpu": "CPU", "gpu": "GPU", "npu": "NPU", "auto": "AUTO"}
        if kind not in names:
            raise ModelError(
                f"detector.device: {device!r} is not a device OpenVINO runs on "
                "(cpu, gpu[:N], npu, auto)"
            )
        core = ov.Core()
        target = names[kind] + (f".{index}" if kind == "gpu" and index else "")
        seen = core.available_devices
        if target != "AUTO" and not any(d == target or d.startswith(target) for d in seen):
            log.warning(
                "detector.device %s: OpenVINO sees no such device here (it sees: %s); "
                "running on CPU",
                device,
                ", ".join(seen),
            )
            target = "CPU"
        xml = path
        meta: dict[str, Any] = {}
        if path.is_dir():
            found = sorted(path.glob("*.xml"))
            if not found:
                raise ModelError(f"detector.model: {path} is a folder without an OpenVINO .xml")
            xml = found[0]
            meta_file = path / "metadata.yaml"
            if meta_file.is_file():
                meta = yaml.safe_load(meta_file.read_text(encoding="utf-8")) or {}
        elif path.suffix == ".xml" and (path.parent / "metadata.yaml").is_file():
            meta = yaml.safe_load((path.parent / "metadata.yaml").read_text(encoding="utf-8"))
        try:
            model = core.read_model(str(xml))
            if not meta and path.suffix == ".onnx":
                meta = _onnx_metadata(path)
            config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
            if target == "CPU":
                config |= {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1}
            self._compiled = core.compile_model(model, target, config)
        except ModelError:
            raise
        except Exception as exc:  # OpenVINO raises RuntimeError for most problems
            raise ModelError(f"detector.model: cannot load {path.resolve()}: {exc}") from exc
        self._request = self._compiled.create_infer_request()
        shape = [d.get_length() if d.is_static else -1 for d in model.input().partial_shape]
        self.info = _info(Path(path), "openvino", meta, shape)
        self.device = "openvino:" + ",".join(self._compiled.get_property("EXECUTION_DEVICES"))

    def run(self, batch: np.ndarray) -> np.ndarray:
        self._request.infer({0: batch})
        return np.asarray(self._request.get_output_tensor(0).data).copy()


def _onnx_metadata(path: Path) -> dict[str, Any]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return dict(session.get_modelmeta().custom_metadata_map)


BACKENDS = ("auto", "onnxruntime", "openvino", "ultralytics")


def backend_for(path: Path, backend: str) -> str:
    """The runtime a model runs on: ``auto`` picks by file (.onnx: ONNX Runtime, an OpenVINO
    folder or .xml: OpenVINO, anything else: Ultralytics)."""
    if backend != "auto":
        return backend
    if path.is_dir() or path.suffix == ".xml":
        return "openvino"
    if path.suffix == ".onnx":
        return "onnxruntime"
    return "ultralytics"


def open_runtime(path: Path, backend: str, device: str, threads: int) -> Runtime:
    """An ONNX Runtime or OpenVINO runtime for ``path``."""
    if backend == "onnxruntime":
        if path.is_dir() or path.suffix != ".onnx":
            raise ModelError(
                f"detector.backend: onnxruntime runs .onnx files, not {path.name}; use "
                "backend openvino (or auto) for an OpenVINO folder"
            )
        return OnnxRuntime(path, device, threads)
    if backend == "openvino":
        return OpenVinoRuntime(path, device, threads)
    raise ModelError(f"detector.backend: {backend!r} is not a runtime vms runs itself")


@dataclass
class BatchRunner:
    """Letterboxes images into a reusable input buffer and runs them, in batches the model
    takes (one at a time for a fixed batch of 1); thread-safe."""

    runtime: Runtime
    size: tuple[int, int]
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _buffers: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def max_batch(self) -> int:
        fixed = self.runtime.info.batch
        return fixed if fixed is not None else int(os.environ.get("VMS_MAX_BATCH", "16"))

    def run(self, images: Sequence[np.ndarray]) -> list[tuple[np.ndarray, Letterbox]]:
        """Raw outputs (C, N) and letterbox of each image, in order."""
        out: list[tuple[np.ndarray, Letterbox]] = []
        step = self.max_batch
        fixed = self.runtime.info.batch is not None
        with self._lock:
            for start in range(0, len(images), step):
                chunk = images[start : start + step]
                n = step if fixed else len(chunk)
                buf = self._buffers.get(n)
                if buf is None:
                    buf = np.zeros((n, 3, *self.size), np.float32)
                    self._buffers[n] = buf
                boxes = [letterbox(img, self.size, buf[i]) for i, img in enumerate(chunk)]
                raw = self.runtime.run(buf)
                out += [(raw[i], boxes[i]) for i in range(len(chunk))]
        return out
