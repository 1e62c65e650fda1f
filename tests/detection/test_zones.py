"""Zones: normalised polygons, a person inside by the bottom centre of the box."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv
from pydantic import ValidationError

from vms.detection.config import ZoneConfig
from vms.detection.zones import Zone

SQUARE = [(0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75)]


@pytest.mark.parametrize(
    ("box", "inside"),
    [
        ((180, 100, 220, 200), True),  # feet at (200, 200): inside
        ((180, 10, 220, 90), False),  # wholly above the zone
        ((180, 200, 220, 390), False),  # head inside, feet below: outside
        ((10, 100, 390, 200), True),  # wider than the zone, feet in the middle
    ],
)
def test_inside_by_the_bottom_centre(box: tuple[int, int, int, int], inside: bool) -> None:
    zone = Zone(ZoneConfig(name="z", polygon=SQUARE))
    det = sv.Detections(xyxy=np.array([box], np.float32))
    assert zone.contains(det, (400, 400)).tolist() == [inside]


def test_the_same_zone_scales_to_every_frame_size() -> None:
    zone = Zone(ZoneConfig(name="z", polygon=SQUARE))
    for w, h in [(400, 400), (1920, 1080), (320, 240)]:
        det = sv.Detections(xyxy=np.array([[w * 0.45, h * 0.3, w * 0.55, h * 0.5]], np.float32))
        assert zone.contains(det, (w, h)).tolist() == [True]


def test_no_detections_no_mask() -> None:
    zone = Zone(ZoneConfig(name="z", polygon=SQUARE))
    assert zone.contains(sv.Detections.empty(), (100, 100)).shape == (0,)


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ([(0, 0), (1, 0)], "at least 3"),
        ([(0, 0), (1.5, 0), (1, 1)], "within 0-1"),
    ],
)
def test_bad_polygons_are_refused(polygon: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ZoneConfig(name="z", polygon=polygon)
