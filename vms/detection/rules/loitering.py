"""Loitering: a person stays in the zone longer than T (one event per person per visit)."""

from __future__ import annotations

from datetime import datetime

from vms.detection.config import LoiteringConfig
from vms.detection.rules.base import Observation, TrackStates, Transition, step_tracks
from vms.vocab import EventType


class LoiteringRule:
    """Dwell time per track; ``clear_s`` must cover short track losses (the pipeline passes
    at least the tracker's ``lost_timeout_s``) so a person briefly hidden keeps the clock.

    >>> rule = LoiteringRule(LoiteringConfig(seconds=60), zone="door", clear_s=2)
    >>> state, events = rule.step(rule.initial(), observation, now)  # doctest: +SKIP
    """

    type: str = EventType.LOITERING

    def __init__(self, config: LoiteringConfig, zone: str | None, clear_s: float) -> None:
        self.config, self.zone, self.clear_s = config, zone, clear_s

    def initial(self) -> TrackStates:
        return {}

    def step(
        self, state: TrackStates, obs: Observation, now: datetime
    ) -> tuple[TrackStates, list[Transition]]:
        active = dict(zip(obs.track_ids, obs.confidences(), strict=True))
        return step_tracks(
            self.type,
            self.zone,
            state,
            active,
            now,
            self.config.seconds,
            self.clear_s,
            {"seconds": self.config.seconds},
        )
