"""Occupancy: fewer than MIN or more than MAX people in the zone for T."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from vms.detection.config import OccupancyConfig
from vms.detection.rules.base import (
    IDLE,
    Changed,
    Fired,
    Observation,
    Situation,
    Transition,
    advance,
    transition,
    zone_key,
)
from vms.detection.rules.crowding import HeldCount
from vms.vocab import EventType

#: (below MIN, above MAX with its count window)
OccupancyState = tuple[Situation, HeldCount]


class OccupancyRule:
    """Two situations per zone, each its own event: ``below`` (count < MIN, per frame) and
    ``above`` (count > MAX, held through drop-outs over ``window_s`` like crowding);
    ``count`` reports the extreme (lowest or highest) seen. Custody rules
    build on it (a detainee left alone, too many people in a cell).

    >>> rule = OccupancyRule(OccupancyConfig(min=2, seconds=30), zone="cell", clear_s=2)
    """

    type: str = EventType.OCCUPANCY

    def __init__(self, config: OccupancyConfig, zone: str | None, clear_s: float) -> None:
        self.config, self.zone, self.clear_s = config, zone, clear_s

    def initial(self) -> OccupancyState:
        return (IDLE, HeldCount())

    def step(
        self, state: OccupancyState, obs: Observation, now: datetime
    ) -> tuple[OccupancyState, list[Transition]]:
        cfg = self.config
        below_on = cfg.min is not None and obs.count < cfg.min
        above_on = cfg.max is not None and obs.count > cfg.max
        out: list[Transition] = []
        below, phase = advance(
            state[0],
            below_on,
            now,
            cfg.seconds,
            self.clear_s,
            tracks=obs.track_ids if below_on else (),
            # peak of "below" is the shortfall, so the report says the lowest count seen
            count=(cfg.min or 0) - obs.count if below_on else 0,
        )
        t = transition(
            self.type,
            zone_key(self.type, self.zone, "below"),
            self.zone,
            state[0],
            below,
            phase,
            now,
            {"condition": "below", "min": cfg.min, "seconds": cfg.seconds},
        )
        if isinstance(t, Fired | Changed):
            t = replace(t, count=(cfg.min or 0) - t.count)  # the lowest count seen
        out += [t] if t else []
        held = state[1]
        if cfg.max is not None:
            held, above_on, raw = held.step(obs.count, cfg.max + 1, now, cfg.window_s)
        else:
            above_on = raw = False
        above, phase = advance(
            held.situation,
            above_on,
            now,
            cfg.seconds,
            self.clear_s,
            tracks=obs.track_ids if raw else (),
            count=obs.count if raw else 0,
            confidence=min(obs.confidences(), default=0.0) if raw else 0.0,
        )
        t = transition(
            self.type,
            zone_key(self.type, self.zone, "above"),
            self.zone,
            held.situation,
            above,
            phase,
            now,
            {"condition": "above", "max": cfg.max, "seconds": cfg.seconds},
        )
        out += [held.ended_at(t)] if t else []
        held = replace(held, situation=above)
        return (below, held), out
