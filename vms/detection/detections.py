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


def concat(parts: list[sv.Detections]) -> sv.Detections:
    """One Detections of several (crops of one frame, fresh and carried), keeping every
    ``data`` field: a field some parts lack is filled (keypoints: invisible, others: empty).
    Tracker ids are kept only when every part has them (scripted tracks)."""
    given = parts
    parts = [p for p in parts if len(p)]
    if not parts:
        return given[0] if given else sv.Detections.empty()
    if len(parts) == 1:
        return parts[0]
    ids = all(p.tracker_id is not None for p in parts)
    keys = {k for p in parts for k in p.data}
    filled: list[sv.Detections] = []
    for p in parts:
        p = subset(p, np.arange(len(p)))  # a copy: the caller's parts stay as they were
        for k in keys - set(p.data):
            like = np.asarray(next(q.data[k] for q in parts if k in q.data))
            p.data[k] = np.zeros((len(p), *like.shape[1:]), like.dtype)
        if not ids:
            p.tracker_id = None
        filled.append(p)
    return sv.Detections.merge(filled)
