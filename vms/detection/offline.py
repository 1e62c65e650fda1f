"""Offline analysis (``vms analyze``): the live pipeline on a file, as fast as it decodes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from vms.config import CameraConfig
from vms.detection.detector import Detector
from vms.detection.events import EventRecord, MemorySink
from vms.detection.pipeline import FrameResult, pipeline_for
from vms.detection.tracking import Tracker
from vms.detection.video import read_frames


@dataclass(frozen=True)
class FileAnalysis:
    """Events found in a file; ``origin`` is the wall time of the file's start."""

    path: Path
    origin: datetime
    events: list[EventRecord]
    frames: int
    detector_calls: int
    duration_s: float


def analyze_file(
    path: Path,
    camera: CameraConfig,
    *,
    detector: Detector | None,
    origin: datetime,
    fps: float | None = None,
    snapshot_dir: Path | None = None,
    tracker: Tracker | None = None,
    observers: Sequence[Callable[[FrameResult], None]] = (),
) -> FileAnalysis:
    """Run ``camera``'s pipeline over ``path`` at ``fps`` (default: the camera's analysis
    rate) with times ``origin`` + the file's own timestamps; no real-time pacing.

    Decoding runs in a child process (``vms.detection.video``): a file that crashes the
    decoder raises ``VideoError`` here instead of taking the caller down.
    """
    sink = MemorySink(snapshot_dir)
    rate = fps or camera.analysis_fps or 5.0
    pipe = pipeline_for(
        camera, detector=detector, sink=sink, fps=rate, tracker=tracker, observers=observers
    )
    last = 0.0
    for t, image in read_frames(path, rate):
        pipe.process(image, origin + timedelta(seconds=t))
        last = t
    pipe.close(origin + timedelta(seconds=last), why="end of file")
    return FileAnalysis(path, origin, sink.events, pipe.frames, pipe.detector_calls, last)
