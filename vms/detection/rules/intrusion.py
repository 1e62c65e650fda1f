"""Intrusion: someone inside a restricted zone, optionally only within a daily schedule."""

from __future__ import annotations

from datetime import datetime

from vms.detection.config import IntrusionConfig
from vms.detection.rules.base import (
    IDLE,
    Observation,
    Situation,
    Transition,
    advance,
    transition,
    zone_key,
)
from vms.vocab import EventType


class IntrusionRule:
    """One event per intrusion of the zone (all persons inside it together), from the first
    person in to the last out; outside the schedule nobody counts.

    >>> rule = IntrusionRule(IntrusionConfig(), zone="yard", clear_s=2)
    """

    type: str = EventType.INTRUSION

    def __init__(self, config: IntrusionConfig, zone: str | None, clear_s: float) -> None:
        self.config, self.zone, self.clear_s = config, zone, clear_s

    def initial(self) -> Situation:
        return IDLE

    def step(
        self, state: Situation, obs: Observation, now: datetime
    ) -> tuple[Situation, list[Transition]]:
        schedule = self.config.schedule
        in_window = schedule is None or schedule.active(now)
        active = in_window and obs.count > 0
        after, phase = advance(
            state,
            active,
            now,
            self.config.seconds,
            self.clear_s,
            tracks=obs.track_ids if active else (),
            count=obs.count if active else 0,
            confidence=max(obs.confidences(), default=0.0) if active else 0.0,
        )
        data = {"schedule": f"{schedule.start:%H:%M}-{schedule.end:%H:%M}"} if schedule else {}
        key = zone_key(self.type, self.zone)
        t = transition(self.type, key, self.zone, state, after, phase, now, data)
        return after, [t] if t else []
