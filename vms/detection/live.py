"""Live analysis inside a worker process: one analysis thread and one detector for all its
cameras, their frames batched into one detector call.

    (CameraConfig, LatestFrameBuffer) -+
    (CameraConfig, LatestFrameBuffer) -+-> CameraBatch (Pipeline per camera,
    ...                                -+   one detect_batch) --> DatabaseEventSink

Detection depends on the recording side only through ``vms.cameras.frames``: the worker
process's composition root (``vms.worker_process``) hands each camera's frame buffer here.

Analysis never slows recording: it takes the newest decoded frames and the buffer drops
(and counts) what analysis could not keep up with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from vms.cameras.frames import Frame, LatestFrameBuffer
from vms.config import CameraConfig, Config
from vms.db.session import Database
from vms.detection.batch import CameraBatch
from vms.detection.detector import Detector, YoloDetector
from vms.detection.events import DatabaseEventSink
from vms.detection.pipeline import FrameResult, Pipeline, pipeline_for
from vms.detection.startup import analysed
from vms.errors import VmsError

log = logging.getLogger(__name__)

Observer = Callable[[FrameResult], None]


@dataclass(frozen=True)
class DetectorStats:
    """A camera's detector figures, for its health report."""

    calls: int = 0
    latency_ms: float | None = None


class LiveAnalysis:
    """Analyses the frames of a worker process's cameras until ``stop()``.

    >>> analysis = LiveAnalysis(config, [(camera, frames)], db)  # doctest: +SKIP
    >>> analysis.start(); ...; analysis.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        config: Config,
        feeds: Sequence[tuple[CameraConfig, LatestFrameBuffer]],
        db: Database,
        *,
        detector: Detector | None = None,
        observers: Sequence[Observer] = (),
    ) -> None:
        self.config = config
        ids = {c.id for c in analysed(config)}
        self.feeds = [(cam, frames) for cam, frames in feeds if cam.id in ids]
        self.sink = DatabaseEventSink(db, config.storage.root)
        self.detector = detector
        self.observers = list(observers)
        self.pipelines: dict[str, Pipeline] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        """Load the detector (off the recording path) and start the analysis thread."""
        if not self.feeds:
            return
        # Not joined at stop: loading a model cannot be interrupted, and shutdown must not
        # wait for it (a daemon; once stopped it starts no camera thread).
        threading.Thread(target=self._start, name="analysis-start", daemon=True).start()

    def _start(self) -> None:
        for cam, _frames in self.feeds:
            try:
                pipe = pipeline_for(cam, detector=None, sink=self.sink, observers=self.observers)
            except VmsError as exc:
                log.error("%s: analysis is off: %s", cam.id, exc)
                continue
            self.pipelines[cam.id] = pipe
        needed = any(p.needs_detections for p in self.pipelines.values())
        if self.detector is None and needed and self.config.detector.model is not None:
            try:
                self.detector = YoloDetector(self.config.detector)
            except Exception as exc:  # never a dead thread: say it, and analyse without
                log.error("detection is OFF in this worker: %s", exc)
        feeds: list[tuple[Pipeline, LatestFrameBuffer]] = []
        for cam, frames in self.feeds:
            found = self.pipelines.get(cam.id)
            if found is None:
                continue
            found.detector = self.detector
            feeds.append((found, frames))
        t = threading.Thread(target=self._run, args=(feeds,), name="analysis", daemon=True)
        with self._lock:
            if self._stop.is_set() or not feeds:
                return
            t.start()
            self._threads.append(t)

    def _run(self, feeds: list[tuple[Pipeline, LatestFrameBuffer]]) -> None:
        """Take the frame waiting at each camera (waiting a little when none is), analyse
        them together, until stopped; then end the events still open."""
        batch = CameraBatch(self.detector)
        turn = 0
        while not self._stop.is_set():
            ready: list[tuple[Pipeline, Frame]] = []
            for pipe, frames in feeds:
                frame = frames.get(timeout=0)
                if frame is not None and not pipe.idle:
                    ready.append((pipe, frame))
            if not ready:
                pipe, frames = feeds[turn % len(feeds)]
                turn += 1
                frame = frames.get(timeout=0.5 / len(feeds))
                if frame is None or pipe.idle:
                    continue
                ready.append((pipe, frame))
            results = batch.step([(p, f.image, f.time) for p, f in ready])
            for (pipe, frame), result in zip(ready, results, strict=True):
                if result is not None:
                    self._last[pipe.camera_id] = frame.time
        for pipe, _frames in feeds:
            if pipe.camera_id in self._last:
                pipe.close(self._last[pipe.camera_id], why="analysis stopped")

    def stats(self, camera_id: str) -> DetectorStats:
        """The camera's detector figures for its health report (none when not analysed)."""
        pipe = self.pipelines.get(camera_id)
        if pipe is None:
            return DetectorStats()
        return DetectorStats(pipe.detector_calls, pipe.detector_latency_ms)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads, end open events at the last analysed frame, flush the writes."""
        self._stop.set()
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(timeout)
        self.sink.close(timeout)
        for observer in self.observers:
            # An observer that is a bound method of something closable (custody's
            # PresenceRecorder.on_frame) is closed with the pipelines it watched.
            close = getattr(getattr(observer, "__self__", None), "close", None)
            if callable(close):
                close()
