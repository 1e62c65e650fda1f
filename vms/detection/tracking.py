"""Tracking: ByteTrack (Ultralytics') plus a re-identification layer for short losses.

ByteTrack gives a new id to a person it lost for a moment (occlusion, a missed detection).
``ByteTrackTracker`` maps ByteTrack's ids to stable ones: a new ByteTrack id that appears
within ``lost_timeout_s`` near where a lost track was last seen takes over that track's id, so
the dwell clocks of the rules (keyed by track id) keep running.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np
import supervision as sv

from vms.detection.config import TrackerConfig
from vms.detection.detections import subset


class Tracker(Protocol):
    """Gives each detection a stable ``tracker_id``; ``now`` is in seconds (any origin)."""

    def update(self, detections: sv.Detections, now: float) -> sv.Detections: ...


class _Boxes:
    """The Results-like view of Detections that Ultralytics' BYTETracker reads."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray) -> None:
        self.xyxy, self.conf, self.cls = xyxy, conf, cls
        wh = xyxy[:, 2:4] - xyxy[:, 0:2]
        self.xywh = np.concatenate([xyxy[:, 0:2] + wh / 2, wh], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index: Any) -> _Boxes:
        return _Boxes(self.xyxy[index], self.conf[index], self.cls[index])


@dataclass
class _Track:
    id: int
    class_id: int
    box: np.ndarray
    first_seen: float
    last_seen: float
    missed_since: float | None = None  # first detector call that did not see it
    misses: int = 0  # detector calls in a row that did not see it


class ByteTrackTracker:
    """ByteTrack with re-identification of tracks lost for less than ``lost_timeout_s``.

    >>> tracker = ByteTrackTracker(TrackerConfig(), fps=5)  # doctest: +SKIP
    >>> tracked = tracker.update(detections, now=12.4)  # doctest: +SKIP
    >>> tracked.tracker_id  # doctest: +SKIP
    """

    def __init__(self, config: TrackerConfig, fps: float) -> None:
        from vms.detection._ultralytics import import_ultralytics

        import_ultralytics()
        from ultralytics.trackers.byte_tracker import BYTETracker

        self.config = config
        args = SimpleNamespace(
            # ByteTrack: confident detections start and match tracks; weaker ones (down to
            # what the detector reports) only continue tracks already there.
            track_high_thresh=config.start_confidence,
            track_low_thresh=0.01,
            new_track_thresh=config.start_confidence,
            # Frames, counted in calls: at most fps calls a second. The time limit is ours.
            track_buffer=max(1, math.ceil(config.lost_timeout_s * fps)),
            match_thresh=config.match_threshold,
            fuse_score=True,
        )
        self._byte = BYTETracker(args)
        self._map: dict[int, int] = {}  # ByteTrack id -> stable id
        self._tracks: dict[int, _Track] = {}  # stable id -> track
        self._next_id = 1

    def update(self, detections: sv.Detections, now: float) -> sv.Detections:
        """Track ``detections`` (one detector call); returns the tracked ones with stable ids."""
        self._expire(now)
        n = len(detections)
        conf = (
            detections.confidence if detections.confidence is not None else np.ones(n, np.float32)
        )
        cls = detections.class_id if detections.class_id is not None else np.zeros(n, int)
        out = self._byte.update(
            _Boxes(detections.xyxy.astype(np.float32), conf.astype(np.float32), cls)
        )
        idx = out[:, 7].astype(int) if len(out) else np.empty(0, int)
        byte_ids = out[:, 4].astype(int) if len(out) else np.empty(0, int)
        result = subset(detections, idx)
        seen_now = {self._map[b] for b in byte_ids if b in self._map}
        stable: list[int] = []
        for b, box, c in zip(byte_ids, result.xyxy, cls[idx], strict=True):
            sid = self._map.get(b)
            if sid is None or sid not in self._tracks:
                sid = self._reidentify(box, int(c), now, seen_now)
                self._map[int(b)] = sid
                seen_now.add(sid)
            track = self._tracks.get(sid)
            if track is None:
                track = _Track(sid, int(c), box.copy(), now, now)
                self._tracks[sid] = track
            track.box, track.last_seen, track.missed_since, track.misses = box.copy(), now, None, 0
            stable.append(sid)
        extra, extra_ids = self._continue_weak(detections, conf, cls, idx, set(stable), now)
        stable += extra_ids
        self._mark_missed(set(stable), now)
        if extra:
            result = subset(detections, np.concatenate([idx, np.asarray(extra, int)]))
        return _with_ids(result, np.asarray(stable, int))

    def _continue_weak(
        self,
        detections: sv.Detections,
        conf: np.ndarray,
        cls: np.ndarray,
        matched: np.ndarray,
        seen: set[int],
        now: float,
    ) -> tuple[list[int], list[int]]:
        """Weak detections ByteTrack left unmatched that lie near a track it lost just now
        continue that track. ByteTrack matches weak boxes by overlap with the predicted box,
        which a change of shape defeats (someone falling: tall, then wide); nearness of the
        centre does not. Strong unmatched boxes are left to start tracks of their own."""
        taken = set(seen)
        rows: list[int] = []
        ids: list[int] = []
        done = set(int(i) for i in matched)
        order = np.argsort(-conf, kind="stable")
        for i in (int(k) for k in order):
            if i in done or conf[i] >= self.config.start_confidence:
                continue
            sid = self._nearest(detections.xyxy[i], int(cls[i]), now, taken)
            if sid is None:
                continue
            track = self._tracks[sid]
            track.box, track.last_seen, track.missed_since, track.misses = (
                detections.xyxy[i].copy(),
                now,
                None,
                0,
            )
            taken.add(sid)
            rows.append(i)
            ids.append(sid)
        return rows, ids

    def _mark_missed(self, seen: set[int], now: float) -> None:
        for t in self._tracks.values():
            if t.id not in seen:
                t.misses += 1
                if t.missed_since is None:
                    t.missed_since = now

    def first_seen(self, track_id: int) -> float | None:
        """When the track was first seen (kept across re-identification)."""
        track = self._tracks.get(track_id)
        return track.first_seen if track else None

    def _reidentify(self, box: np.ndarray, class_id: int, now: float, taken: set[int]) -> int:
        """A lost track near ``box`` (same class, not seen this frame), else a new id."""
        best = self._nearest(box, class_id, now, taken)
        if best is not None:
            return best
        sid = self._next_id
        self._next_id += 1
        return sid

    def _nearest(self, box: np.ndarray, class_id: int, now: float, taken: set[int]) -> int | None:
        """The known track nearest ``box`` (same class, not ``taken``), within reid_distance."""
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        best, best_d = None, math.inf
        for t in self._tracks.values():
            if t.id in taken or t.class_id != class_id:
                continue
            h = max(1.0, float(t.box[3] - t.box[1]))
            tx, ty = (t.box[0] + t.box[2]) / 2, (t.box[1] + t.box[3]) / 2
            d = math.hypot(cx - tx, cy - ty) / h
            if d <= self.config.reid_distance and d < best_d:
                best, best_d = t.id, d
        return best

    def _expire(self, now: float) -> None:
        limit = self.config.lost_timeout_s
        # Lost longer than the limit, and missed by two calls at least: with sparse
        # detection (nothing moving) a track gets the next call's chance to be seen again.
        gone = [
            k
            for k, t in self._tracks.items()
            if t.missed_since is not None and now - t.missed_since > limit and t.misses >= 2
        ]
        for k in gone:
            del self._tracks[k]
        if gone:
            dead = set(gone)
            self._map = {b: s for b, s in self._map.items() if s not in dead}


class PassthroughTracker:
    """Keeps the ``tracker_id`` the detections already carry (scripted tracks in tests,
    trackers outside vms)."""

    def update(self, detections: sv.Detections, now: float) -> sv.Detections:
        if detections.tracker_id is None:
            raise ValueError("PassthroughTracker needs detections with tracker_id, got None")
        return detections


def _with_ids(detections: sv.Detections, ids: np.ndarray) -> sv.Detections:
    detections.tracker_id = ids.astype(int)
    return detections
