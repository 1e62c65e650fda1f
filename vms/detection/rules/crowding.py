"""Crowding: at least N people in the zone for at least T, held through drop-outs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from vms.detection.config import CrowdingConfig
from vms.detection.rules.base import (
    IDLE,
    Ended,
    Observation,
    Situation,
    Transition,
    advance,
    transition,
    zone_key,
)
from vms.vocab import EventType


@dataclass(frozen=True)
class HeldCount:
    """A count over a sliding window: an open "at least N" situation continues while the
    largest count of the last ``window_s`` reaches N, so people the detector misses for a
    moment (or re-finds under a new track id) do not end it. ``short_since`` is when the
    per-frame count last fell short, reported as the end."""

    situation: Situation = IDLE
    samples: tuple[tuple[datetime, int], ...] = ()
    short_since: datetime | None = None

    def step(
        self, count: int, enough: int, now: datetime, window_s: float
    ) -> tuple[HeldCount, bool, bool]:
        """The new state, whether the situation holds (smoothed once open), and whether the
        count itself reaches ``enough`` now."""
        since = now - timedelta(seconds=window_s)
        samples = (*(s for s in self.samples if s[0] > since), (now, count))
        raw = count >= enough
        held = max(c for _, c in samples) >= enough if self.situation.open else raw
        short = None if raw else (self.short_since or now)
        return replace(self, samples=samples, short_since=short), held, raw

    def ended_at(self, t: Transition) -> Transition:
        """An ``Ended`` dated when the count first fell short, not when the window let go."""
        if isinstance(t, Ended) and self.short_since is not None and self.short_since < t.end:
            return Ended(t.key, self.short_since)
        return t


class CrowdingRule:
    """One event per crowd: opens after N people stood in the zone for T, closes when fewer
    than N have been there for ``window_s`` (count smoothing) and then ``clear_s``; ``count``
    is the largest crowd seen.

    >>> rule = CrowdingRule(CrowdingConfig(people=3, seconds=10), zone="gate", clear_s=2)
    """

    type: str = EventType.CROWDING

    def __init__(self, config: CrowdingConfig, zone: str | None, clear_s: float) -> None:
        self.config, self.zone, self.clear_s = config, zone, clear_s

    def initial(self) -> HeldCount:
        return HeldCount()

    def step(
        self, state: HeldCount, obs: Observation, now: datetime
    ) -> tuple[HeldCount, list[Transition]]:
        cfg = self.config
        held, active, raw = state.step(obs.count, cfg.people, now, cfg.window_s)
        after, phase = advance(
            held.situation,
            active,
            now,
            cfg.seconds,
            self.clear_s,
            tracks=obs.track_ids if raw else (),
            count=obs.count if raw else 0,
            confidence=min(obs.confidences(), default=0.0) if raw else 0.0,
        )
        data = {"people": cfg.people, "seconds": cfg.seconds}
        key = zone_key(self.type, self.zone)
        t = transition(self.type, key, self.zone, held.situation, after, phase, now, data)
        return replace(held, situation=after), [held.ended_at(t)] if t else []
