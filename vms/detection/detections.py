"""Small helpers over supervision ``Detections``, the data every stage passes on."""

from __future__ import annotations

from typing import Any

import numpy as np
import supervision as sv


def subset(detections: sv.Detections, index: Any) -> sv.Detections:
    """``detections[index]`` for a mask or index array, typed as Detections."""
    out = detections[index]
    if not isinstance(out, sv.Detections):
        raise TypeError(f"index must select detections, got {type(index).__name__}")
    return out


def empty_tracks() -> sv.Detections:
    """No detections, with an (empty) tracker_id."""
    det = sv.Detections.empty()
    det.tracker_id = np.empty(0, int)
    return det
