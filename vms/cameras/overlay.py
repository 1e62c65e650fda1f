"""What the analysis sees now, for the live wall's overlays: the tracked people's boxes and count.

    worker process                                     web process
    LiveAnalysis --FrameResult--> OverlayWriter ==shared memory==> OverlaySlot.read() -> SSE

The video is never touched (it is relayed as the camera sent it); the browser draws the boxes
over it. One small slot of shared memory per camera holds the newest overlay only: the
analysis writes it at its own rate without waiting for anyone, a reader takes whatever is
newest (a seqlock: a write in progress is read again, never half). No reader, no cost beyond
a few hundred bytes written per analysed frame.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing.context
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class Tracks(Protocol):
    """The tracked boxes of a frame (supervision's Detections)."""

    @property
    def xyxy(self) -> Any: ...

    @property
    def tracker_id(self) -> Any: ...


class AnalysedFrame(Protocol):
    """What the overlay needs of an analysed frame (vms.detection.pipeline.FrameResult,
    which recording does not import: analytics sits on top of recording)."""

    @property
    def camera_id(self) -> str: ...

    @property
    def time(self) -> datetime: ...

    @property
    def tracks(self) -> Tracks: ...

    @property
    def person_count(self) -> int: ...


CAPACITY = 8192  # bytes: about 150 boxes; more are left out (the count stays true)


@dataclass(frozen=True)
class Overlay:
    """One analysed frame: when, its size, how many people, their boxes (pixels)."""

    camera_id: str
    time: str  # ISO 8601, UTC
    width: int
    height: int
    count: int
    boxes: list[tuple[int, int, int, int, int]]  # (track id, x1, y1, x2, y2)

    def encode(self) -> bytes:
        doc = {"t": self.time, "w": self.width, "h": self.height, "n": self.count}
        boxes = list(self.boxes)
        while True:
            data = json.dumps({**doc, "b": boxes}, separators=(",", ":")).encode()
            if len(data) <= CAPACITY or not boxes:
                return data
            boxes = boxes[: len(boxes) // 2]

    @classmethod
    def decode(cls, camera_id: str, data: bytes) -> Overlay:
        doc = json.loads(data)
        boxes = [(int(b[0]), int(b[1]), int(b[2]), int(b[3]), int(b[4])) for b in doc["b"]]
        return cls(camera_id, doc["t"], doc["w"], doc["h"], doc["n"], boxes)


class OverlaySlot:
    """Made by the supervisor per camera; the worker writes, the web process reads."""

    def __init__(self, ctx: multiprocessing.context.BaseContext) -> None:
        self._buf: Any = ctx.RawArray(ctypes.c_char, CAPACITY)
        self._len: Any = ctx.RawValue(ctypes.c_int, 0)
        self._seq: Any = ctx.RawValue(ctypes.c_ulong, 0)  # odd while a write is in progress

    def write(self, data: bytes) -> None:
        if len(data) > CAPACITY:
            return
        self._seq.value += 1
        ctypes.memmove(self._buf, data, len(data))
        self._len.value = len(data)
        self._seq.value += 1

    def read(self) -> tuple[int, bytes] | None:
        """(sequence number, the newest overlay) or None before the first."""
        for _attempt in range(5):
            seq = self._seq.value
            if seq == 0:
                return None
            if seq % 2:
                continue
            data = ctypes.string_at(self._buf, self._len.value)
            if self._seq.value == seq:
                return seq, data
        return None


class OverlayWriter:
    """A LiveAnalysis observer: writes each camera's newest tracks into its slot.

    ``size`` gives the analysed frames' (width, height) of a camera (its stream's size).
    """

    def __init__(
        self, slots: dict[str, OverlaySlot], size: Callable[[str], tuple[int, int] | None]
    ) -> None:
        self.slots = slots
        self.size = size

    def on_frame(self, result: AnalysedFrame) -> None:
        slot = self.slots.get(result.camera_id)
        wh = self.size(result.camera_id)
        if slot is None or wh is None:
            return
        ids = result.tracks.tracker_id
        boxes: list[tuple[int, int, int, int, int]] = []
        for i, box in enumerate(result.tracks.xyxy):
            x1, y1, x2, y2 = (round(float(v)) for v in box)
            boxes.append((int(ids[i]) if ids is not None else i, x1, y1, x2, y2))
        overlay = Overlay(
            result.camera_id, result.time.isoformat(), wh[0], wh[1], result.person_count, boxes
        )
        slot.write(overlay.encode())
