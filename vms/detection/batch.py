"""One detector call for the frames of several cameras (a worker process's).

Each pipeline decides on its own where to look (``Pipeline.begin``: motion, due, crops);
the crops of every camera go to the detector together (``detect_batch``: one call, batched
where the model takes batches: a GPU runs them at once; a fixed-batch CPU model one after
the other without the per-camera locking and wake-ups); each pipeline then tracks its own
detections (``Pipeline.end``). The same frames give the same events as one camera at a
time: ``tests/detection/test_batch.py`` compares.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import supervision as sv

from vms.detection.detector import Detector, detect_all
from vms.detection.pipeline import FrameResult, Pipeline, Work

log = logging.getLogger(__name__)


class CameraBatch:
    """Analyses one frame of each of several cameras with a single detector call.

    >>> batch = CameraBatch(detector)  # doctest: +SKIP
    >>> results = batch.step([(pipe_a, image_a, t_a), (pipe_b, image_b, t_b)])  # doctest: +SKIP
    """

    def __init__(self, detector: Detector | None) -> None:
        self.detector = detector
        self.calls = 0  # detector calls made
        self.crops = 0  # crops they ran on

    def step(
        self, items: Sequence[tuple[Pipeline, np.ndarray, datetime]]
    ) -> list[FrameResult | None]:
        """The result of each item, in order (None where its pipeline failed on the frame:
        logged, and the other cameras go on)."""
        works: list[Work | None] = []
        for pipe, image, when in items:
            try:
                works.append(pipe.begin(image, when))
            except Exception:  # a bug in one camera's frame must not stop the others
                log.exception("%s: analysis failed on a frame", pipe.camera_id)
                works.append(None)
        crops = [c for w in works if w is not None for c in w.crops]
        started = time.perf_counter()
        found: list[sv.Detections] = []
        if crops and self.detector is not None:
            found = detect_all(self.detector, crops)
            self.calls += 1
            self.crops += len(crops)
        out: list[FrameResult | None] = []
        at = 0
        for (pipe, _image, _when), work in zip(items, works, strict=True):
            if work is None:
                out.append(None)
                continue
            mine = found[at : at + len(work.crops)] if found else []
            at += len(work.crops) if found else 0
            if work.crops and not mine:  # no detector: nothing was looked at
                work = Work(work.image, work.when, work.motion, (), ())
            try:
                out.append(pipe.end(work, mine, started))
            except Exception:
                log.exception("%s: analysis failed on a frame", pipe.camera_id)
                out.append(None)
        return out
