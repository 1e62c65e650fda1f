"""Crowding: at least N people in the zone for at least T."""

from __future__ import annotations

from datetime import datetime

from vms.detection.config import CrowdingConfig
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


class CrowdingRule:
    """One event per crowd: opens after N people stood in the zone for T, closes when fewer
    than N have been there for ``clear_s``; ``count`` is the largest crowd seen.

    >>> rule = CrowdingRule(CrowdingConfig(people=3, seconds=10), zone="gate", clear_s=2)
    """

    type: str = EventType.CROWDING

    def __init__(self, config: CrowdingConfig, zone: str | None, clear_s: float) -> None:
        self.config, self.zone, self.clear_s = config, zone, clear_s

    def initial(self) -> Situation:
        return IDLE

    def step(
        self, state: Situation, obs: Observation, now: datetime
    ) -> tuple[Situation, list[Transition]]:
        active = obs.count >= self.config.people
        after, phase = advance(
            state,
            active,
            now,
            self.config.seconds,
            self.clear_s,
            tracks=obs.track_ids if active else (),
            count=obs.count if active else 0,
            confidence=min(obs.confidences(), default=0.0) if active else 0.0,
        )
        data = {"people": self.config.people, "seconds": self.config.seconds}
        key = zone_key(self.type, self.zone)
        t = transition(self.type, key, self.zone, state, after, phase, now, data)
        return after, [t] if t else []
