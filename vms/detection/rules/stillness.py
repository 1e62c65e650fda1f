"""Stillness: a tracked person barely moving for T."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from vms.detection.config import StillnessConfig
from vms.detection.rules.base import (
    IDLE,
    Ended,
    Observation,
    PerTrackRule,
    Situation,
    Transition,
    advance,
    transition,
    zone_key,
)
from vms.vocab import EventType


@dataclass(frozen=True)
class StillTrack:
    """Where a person was when they became still, and the situation's hysteresis."""

    x: float
    y: float
    situation: Situation = IDLE


StillnessState = Mapping[int, StillTrack]


class StillnessRule(PerTrackRule[StillnessConfig, StillTrack]):
    """A person is still while the bottom centre of the box stays within ``max_move`` box
    heights of where it was when stillness began; moving further ends it and starts over
    from there (so a slow walker is never still). A short loss is bridged by ``clear_s``.

    >>> rule = StillnessRule(StillnessConfig(seconds=60), zone=None, clear_s=2)
    """

    type: str = EventType.STILLNESS

    def step(
        self, state: StillnessState, obs: Observation, now: datetime
    ) -> tuple[StillnessState, list[Transition]]:
        det = obs.detections
        seen: dict[int, tuple[float, float, float, float]] = {}
        for i, (tid, conf) in enumerate(zip(obs.track_ids, obs.confidences(), strict=True)):
            x1, y1, x2, y2 = (float(v) for v in det.xyxy[i])
            seen[tid] = ((x1 + x2) / 2, y2, max(1.0, y2 - y1), conf)
        out: dict[int, StillTrack] = {}
        events: list[Transition] = []
        for tid in sorted(set(state) | set(seen)):
            before = state.get(tid)
            sit = before.situation if before else IDLE
            key = zone_key(self.type, self.zone, str(tid))
            if tid in seen:
                x, y, h, conf = seen[tid]
                if before is None or math.hypot(x - before.x, y - before.y) > (
                    self.config.max_move * h
                ):
                    # Moved (or new): stillness starts over from here; an open event ends.
                    if sit.open:
                        events.append(Ended(key, now))
                    sit = IDLE
                    before = StillTrack(x, y)
                still = True
            else:
                still, conf = False, 0.0  # not seen: a short loss is bridged by clear_s
            assert before is not None
            after, phase = advance(
                sit,
                still,
                now,
                self.config.seconds,
                self.clear_s,
                tracks=(tid,) if still else (),
                count=1 if still else 0,
                confidence=conf if still else 0.0,
            )
            data = {"seconds": self.config.seconds, "max_move": self.config.max_move}
            t = transition(self.type, key, self.zone, sit, after, phase, now, data)
            if t is not None:
                events.append(t)
            if after.true_since is not None:
                out[tid] = StillTrack(before.x, before.y, after)
        return out, events
