"""Zones: normalised polygons; a detection is inside by the bottom centre of its box."""

from __future__ import annotations

import numpy as np
import supervision as sv

from vms.detection.config import ZoneConfig


class Zone:
    """One camera zone, scaled to each frame size it meets (supervision's PolygonZone).

    >>> zone = Zone(ZoneConfig(name="door", polygon=[(0, 0), (0.5, 0), (0.5, 1), (0, 1)]))
    >>> zone.contains(sv.Detections(xyxy=np.array([[10.0, 10, 20, 90]])), (100, 100))
    array([ True])
    """

    def __init__(self, config: ZoneConfig) -> None:
        self.config = config
        self.name = config.name
        self._polygon = np.asarray(config.polygon, dtype=np.float64)
        self._zones: dict[tuple[int, int], sv.PolygonZone] = {}

    def pixels(self, frame_size: tuple[int, int]) -> np.ndarray:
        """The polygon in pixels of a ``(width, height)`` frame."""
        w, h = frame_size
        return np.rint(self._polygon * [w, h]).astype(np.int64)

    def contains(self, detections: sv.Detections, frame_size: tuple[int, int]) -> np.ndarray:
        """Boolean mask: which detections stand inside (bottom centre of the box)."""
        if len(detections) == 0:
            return np.zeros(0, bool)
        zone = self._zones.get(frame_size)
        if zone is None:
            zone = sv.PolygonZone(self.pixels(frame_size), (sv.Position.BOTTOM_CENTER,))
            self._zones[frame_size] = zone
        return np.asarray(zone.trigger(detections), dtype=bool)
