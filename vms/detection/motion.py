"""Motion gate: regions that changed against a running background, on a small grey frame."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vms.detection.config import MotionConfig

#: A change of overall brightness by more than this share at once is lighting, not motion.
_LIGHT_STEP = 0.12

#: A normalised box (x1, y1, x2, y2), each 0-1 of the frame's width / height.
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class MotionResult:
    """What moved in one frame: regions (normalised boxes) and the share of changed pixels."""

    regions: tuple[Box, ...]
    changed: float
    lighting: bool = False  # the whole scene changed at once: taken as lighting, not motion

    @property
    def moving(self) -> bool:
        return bool(self.regions)


class MotionDetector:
    """Frame differencing against a running-average background on a downscaled grey frame.

    Global brightness changes are compensated (the frame is scaled to the background's mean),
    a change over most of the frame at once resets the background (lights switched, camera
    gain) and small specks (sensor noise, compression) are removed by blur, threshold,
    morphological opening and a minimum region area.

    >>> det = MotionDetector(MotionConfig())
    >>> det.update(frame).moving  # doctest: +SKIP
    """

    def __init__(self, config: MotionConfig) -> None:
        self.config = config
        self._background: np.ndarray | None = None
        self._last: float | None = None
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def _small_grey(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        width = min(self.config.width, w)
        height = max(1, round(h * width / w))
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        small = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(small, (5, 5), 0).astype(np.float32)

    def update(self, image: np.ndarray, now: float | None = None) -> MotionResult:
        """Compare ``image`` (BGR or grey), taken at ``now`` seconds (any origin; None: one
        frame a second later), with the background and learn it."""
        cfg = self.config
        cur = self._small_grey(image)
        bg = self._background
        dt = 1.0 if now is None or self._last is None else max(0.0, now - self._last)
        self._last = now if now is not None else (self._last or 0.0) + 1.0
        if bg is None or bg.shape != cur.shape:
            self._background = cur
            # Nothing to compare with yet: report the whole frame so the detector runs once.
            return MotionResult(((0.0, 0.0, 1.0, 1.0),), 1.0)
        # Exposure / gain: the median brightness ratio is the camera's or the light's doing
        # (a person moving changes only part of the frame). A big step is a lighting change:
        # start the background over. A small one is compensated before differencing.
        gain = float(np.median(cur[::3, ::3] / np.maximum(bg[::3, ::3], 1.0)))
        if abs(gain - 1.0) > _LIGHT_STEP:
            self._background = cur
            return MotionResult((), 1.0, lighting=True)
        diff = cv2.absdiff(cur / gain if gain > 0 else cur, bg)
        mask = (diff > cfg.threshold).astype(np.uint8)
        changed = float(mask.mean())
        if changed > cfg.lighting_share:
            self._background = cur
            return MotionResult((), changed, lighting=True)
        cv2.accumulateWeighted(cur, bg, min(1.0, max(0.01, 1.0 - math.exp(-dt / cfg.background_s))))
        mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel), np.uint8)
        mask = np.asarray(cv2.dilate(mask, self._kernel, iterations=2), np.uint8)
        h, w = mask.shape
        min_px = cfg.min_area * h * w
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        regions: list[Box] = []
        for c in contours:
            if cv2.contourArea(c) < min_px:
                continue
            x, y, bw, bh = cv2.boundingRect(c)
            regions.append((x / w, y / h, (x + bw) / w, (y + bh) / h))
        return MotionResult(tuple(regions), changed)
