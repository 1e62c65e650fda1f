"""A bounded latest-frame buffer between decoding and analysis: never blocks the writer."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the images are numpy arrays; a recording-only worker never loads numpy
    import numpy as np


@dataclass(frozen=True)
class Frame:
    """A decoded frame for analysis, with the recording time it belongs to."""

    camera_id: str
    time: datetime
    index: int
    image: np.ndarray  # BGR, HxWx3, uint8


class LatestFrameBuffer:
    """Holds at most ``capacity`` frames; a new frame pushes out the oldest, which is counted.

    >>> buf = LatestFrameBuffer(capacity=2)
    >>> # producer: buf.put(frame) never waits; consumer: buf.get(timeout=1.0)
    """

    def __init__(self, capacity: int = 2) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._frames: list[Frame] = []
        self._cond = threading.Condition()
        self.dropped = 0
        self.delivered = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if len(self._frames) >= self.capacity:
                self._frames.pop(0)
                self.dropped += 1
            self._frames.append(frame)
            self._cond.notify()

    def get(self, timeout: float | None = None) -> Frame | None:
        """The oldest waiting frame, or None if none came within ``timeout`` seconds."""
        with self._cond:
            if not self._frames and not self._cond.wait_for(lambda: bool(self._frames), timeout):
                return None
            self.delivered += 1
            return self._frames.pop(0)

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)
