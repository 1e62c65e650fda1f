"""Person down: a person lying or fallen for T, from pose keypoints and the box.

From a pose model's COCO keypoints: the torso (hips to shoulders) tilted far from vertical,
or the hips near the floor (little above the bottom of the box, against the height the same
person stood). From the box (any model): wider than tall, or its top dropped far below where
the same person stood with the feet in place. On the UR Fall clip the torso angle is
reliable upright and falling but not lying (keypoints of a body lying half out of view
scatter), where the box is about 1.8 wider than tall: a wide box counts as lying unless the
keypoints clearly show an upright torso with the hips high (arms spread, two people side by
side), so keypoints add evidence and never hide a lying person.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from vms.detection.config import PersonDownConfig
from vms.detection.rules.base import (
    IDLE,
    Observation,
    PerTrackRule,
    Situation,
    Transition,
    advance,
    transition,
    zone_key,
)
from vms.vocab import EventType

# COCO keypoints: shoulders 5, 6; hips 11, 12.
_SHOULDERS, _HIPS = (5, 6), (11, 12)
_MIN_VISIBLE = 0.3
#: A torso tilted more than this from vertical is lying.
LYING_TORSO_DEG = 60.0
#: Hips less than this share of the standing height above the bottom of the box, with the
#: torso not upright: down (sitting on a chair puts them at about 0.25-0.3).
HIPS_LOW = 0.15
#: Keypoints that show someone upright: torso within this of vertical ...
UPRIGHT_TORSO_DEG = 25.0
#: ... and the hips at least this share of the (standing) height above the bottom of the box.
HIPS_HIGH = 0.35
#: A box at most this wide for its height is a person standing upright.
UPRIGHT_ASPECT = 0.5
#: "Feet in place": the bottom of the box moved less than this share of the standing height.
FEET_MOVE = 0.4
#: A person unseen for this many lost timeouts is forgotten.
_FORGET = 5


def torso_angle(keypoints: np.ndarray) -> float | None:
    """Angle of the torso (hips to shoulders) from vertical in degrees, if visible."""
    if keypoints.shape[0] <= max(_HIPS):
        return None
    vis = keypoints[:, 2] if keypoints.shape[1] > 2 else np.ones(len(keypoints))
    if min(vis[i] for i in (*_SHOULDERS, *_HIPS)) < _MIN_VISIBLE:
        return None
    sx, sy = keypoints[list(_SHOULDERS), :2].mean(axis=0)
    hx, hy = keypoints[list(_HIPS), :2].mean(axis=0)
    return math.degrees(math.atan2(abs(sx - hx), abs(sy - hy) + 1e-9))


def hip_height(keypoints: np.ndarray, floor: float) -> float | None:
    """Pixels the hips are above ``floor`` (the bottom of the box), if they are visible."""
    if keypoints.shape[0] <= max(_HIPS):
        return None
    vis = keypoints[:, 2] if keypoints.shape[1] > 2 else np.ones(len(keypoints))
    if min(vis[i] for i in _HIPS) < _MIN_VISIBLE:
        return None
    return float(floor - keypoints[list(_HIPS), 1].mean())


@dataclass(frozen=True)
class DownTrack:
    """One person: the box when last seen upright, the last verdict, and the situation."""

    upright: tuple[float, float, float, float] | None = None  # x1, y1, x2, y2
    down: bool = False
    seen: datetime | None = None
    situation: Situation = IDLE


PersonDownState = Mapping[int, DownTrack]


def is_down(
    box: np.ndarray,
    keypoints: np.ndarray | None,
    upright: tuple[float, float, float, float] | None,
    config: PersonDownConfig,
) -> bool:
    """Down by the keypoints (torso tilted, or hips near the floor), else by the box: wider
    than ``aspect`` x its height (unless the keypoints show an upright torso with the hips
    high), or its top ``drop`` standing heights below the upright box's with the feet in
    place (unless the torso is upright: sitting on the floor, kneeling)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    standing = None if upright is None else max(1.0, upright[3] - upright[1])
    angle = hips = None
    if keypoints is not None:
        angle = torso_angle(keypoints)
        hips = hip_height(keypoints, y2)
        if angle is not None and angle > LYING_TORSO_DEG:
            return True
        tilted = angle is None or angle > UPRIGHT_TORSO_DEG
        if hips is not None and standing is not None and tilted and hips < HIPS_LOW * standing:
            return True
    if h <= 0 or w / h > config.aspect:
        held_up = (
            angle is not None
            and angle <= UPRIGHT_TORSO_DEG
            and hips is not None
            and hips >= HIPS_HIGH * max(h, standing or 0.0)
        )
        return not held_up
    if upright is None or standing is None or (angle is not None and angle <= UPRIGHT_TORSO_DEG):
        return False  # no standing height to compare with, or sitting / kneeling upright
    _, uy1, _, uy2 = upright
    head_dropped = (y1 - uy1) > config.drop * standing
    feet_in_place = abs(y2 - uy2) < FEET_MOVE * standing
    return head_dropped and feet_in_place


class PersonDownRule(PerTrackRule[PersonDownConfig, DownTrack]):
    """One event per person down for T. A detector often misses a person lying still, so a
    person last seen down and not seen since stays down for ``clear_s`` (which covers the
    tracker's lost timeout); seen upright again ends it.

    >>> rule = PersonDownRule(PersonDownConfig(seconds=5), zone=None, clear_s=2)
    """

    type: str = EventType.PERSON_DOWN

    def step(
        self, state: PersonDownState, obs: Observation, now: datetime
    ) -> tuple[PersonDownState, list[Transition]]:
        det = obs.detections
        kps = det.data.get("keypoints")
        seen: dict[int, tuple[np.ndarray, np.ndarray | None, float]] = {}
        for i, (tid, conf) in enumerate(zip(obs.track_ids, obs.confidences(), strict=True)):
            seen[tid] = (det.xyxy[i], None if kps is None else kps[i], conf)
        out: dict[int, DownTrack] = {}
        events: list[Transition] = []
        lost_for = timedelta(seconds=self.clear_s)
        for tid in sorted(set(state) | set(seen)):
            track = state.get(tid, DownTrack())
            conf = 0.0
            if tid in seen:
                box, kp, conf = seen[tid]
                down = is_down(box, kp, track.upright, self.config)
                upright = track.upright
                x1, y1, x2, y2 = (float(v) for v in box)
                if not down and (x2 - x1) <= UPRIGHT_ASPECT * (y2 - y1):
                    upright = (x1, y1, x2, y2)
                track = DownTrack(upright, down, now, track.situation)
            else:
                # Not seen: still down if last seen down, for as long as a track may be lost.
                down = track.down and track.seen is not None and now - track.seen <= lost_for
            after, phase = advance(
                track.situation,
                down,
                now,
                self.config.seconds,
                self.clear_s,
                tracks=(tid,) if down else (),
                count=1 if down else 0,
                confidence=conf,
            )
            method = "keypoints" if kps is not None else "box"
            data = {"method": method, "seconds": self.config.seconds}
            key = zone_key(self.type, self.zone, str(tid))
            t = transition(self.type, key, self.zone, track.situation, after, phase, now, data)
            if t is not None:
                events.append(t)
            # Remember a person (their upright box) a while after they were last seen.
            recent = track.seen is not None and now - track.seen <= _FORGET * lost_for
            if recent or after.true_since is not None:
                out[tid] = DownTrack(track.upright, track.down, track.seen, after)
        return out, events
