"""What every rule shares: the observation it reads, its transitions, and hysteresis.

A rule is a pure function ``step(state, observation, now) -> (state, transitions)``: no
clock, no threads, no I/O. A *situation* (one person loitering, one crowd) opens an event
when its condition has held for ``hold_s`` and closes it only when the condition has been
false for ``clear_s`` (hysteresis), so one situation is exactly one event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import supervision as sv


@dataclass(frozen=True)
class Observation:
    """What the rules of one zone (or of the whole frame, ``zone=None``) see at one frame.

    ``detections`` are the tracked persons standing inside the zone (``tracker_id`` set),
    in pixels of a ``frame_size`` (width, height) frame. ``image`` is the BGR frame itself,
    for the rules that judge pixels (tamper).
    """

    time: datetime
    zone: str | None
    detections: sv.Detections
    frame_size: tuple[int, int]
    image: np.ndarray | None = None

    @property
    def track_ids(self) -> list[int]:
        ids = self.detections.tracker_id
        return [] if ids is None else [int(i) for i in ids]

    @property
    def count(self) -> int:
        return len(self.detections)

    def confidences(self) -> list[float]:
        conf = self.detections.confidence
        return [1.0] * len(self.detections) if conf is None else [float(c) for c in conf]


@dataclass(frozen=True)
class Fired:
    """A situation became an event: ``start`` is when it fired, ``began`` when its condition
    first held (e.g. when the loiterer entered the zone)."""

    type: str
    key: str
    zone: str | None
    start: datetime
    began: datetime
    track_ids: tuple[int, ...]
    count: int
    confidence: float
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Changed:
    """An open event saw more tracks, a higher count or a higher confidence."""

    key: str
    track_ids: tuple[int, ...]
    count: int
    confidence: float


@dataclass(frozen=True)
class Ended:
    """An open event ended: ``end`` is when its condition first stopped holding."""

    key: str
    end: datetime


Transition = Fired | Changed | Ended


class Phase(Enum):
    FIRED = "fired"
    CHANGED = "changed"
    ENDED = "ended"


@dataclass(frozen=True)
class Situation:
    """Hysteresis state of one situation; empty (``true_since is None``) when idle."""

    true_since: datetime | None = None
    false_since: datetime | None = None
    fired_at: datetime | None = None
    track_ids: frozenset[int] = frozenset()
    peak: int = 0
    confidence: float = 0.0

    @property
    def open(self) -> bool:
        return self.fired_at is not None


IDLE = Situation()


def advance(
    sit: Situation,
    active: bool,
    now: datetime,
    hold_s: float,
    clear_s: float,
    *,
    tracks: Iterable[int] = (),
    count: int = 0,
    confidence: float = 0.0,
) -> tuple[Situation, Phase | None]:
    """One step of a situation's hysteresis.

    Fires once the condition has held for ``hold_s`` (blips shorter than ``clear_s`` do not
    restart the clock); ends once it has been false for ``clear_s``. On ``ENDED`` the
    returned situation is idle and the caller reports the previous one's ``false_since``.
    """
    if active:
        since = sit.true_since or now
        new = replace(
            sit,
            true_since=since,
            false_since=None,
            track_ids=sit.track_ids | frozenset(tracks),
            peak=max(sit.peak, count),
            confidence=max(sit.confidence, confidence),
        )
        if not sit.open and now - since >= timedelta(seconds=hold_s):
            return replace(new, fired_at=now), Phase.FIRED
        if sit.open and (
            new.track_ids != sit.track_ids
            or new.peak != sit.peak
            or new.confidence > sit.confidence + 0.05
        ):
            return new, Phase.CHANGED
        return new, None
    if sit.true_since is None:
        return sit, None
    false_since = sit.false_since or now
    if now - false_since >= timedelta(seconds=clear_s):
        return IDLE, (Phase.ENDED if sit.open else None)
    return replace(sit, false_since=false_since), None


def transition(
    rule: str,
    key: str,
    zone: str | None,
    before: Situation,
    after: Situation,
    phase: Phase | None,
    now: datetime,
    data: Mapping[str, Any] | None = None,
) -> Transition | None:
    """The event transition for one ``advance`` step at ``now``, if any."""
    if phase is Phase.FIRED:
        assert after.fired_at is not None
        assert after.true_since is not None
        return Fired(
            rule,
            key,
            zone,
            after.fired_at,
            after.true_since,
            tuple(sorted(after.track_ids)),
            after.peak,
            after.confidence,
            dict(data or {}),
        )
    if phase is Phase.CHANGED:
        return Changed(key, tuple(sorted(after.track_ids)), after.peak, after.confidence)
    if phase is Phase.ENDED:
        return Ended(key, before.false_since or now)
    return None


S = TypeVar("S")


class Rule(Protocol[S]):
    """A rule of one zone: its event type, and a pure step over its own state."""

    type: str
    zone: str | None

    def initial(self) -> S: ...

    def step(self, state: S, obs: Observation, now: datetime) -> tuple[S, list[Transition]]: ...


C = TypeVar("C")
T = TypeVar("T")


class PerTrackRule(Generic[C, T]):
    """Base of the rules that follow each person on their own (person down, stillness): a
    config, a zone, ``clear_s`` of hysteresis, and a state per track id (none at first)."""

    def __init__(self, config: C, zone: str | None, clear_s: float) -> None:
        self.config, self.zone, self.clear_s = config, zone, clear_s

    def initial(self) -> Mapping[int, T]:
        return {}


TrackStates = Mapping[int, Situation]


def step_tracks(
    rule: str,
    zone: str | None,
    states: TrackStates,
    active: Mapping[int, float],
    now: datetime,
    hold_s: float,
    clear_s: float,
    data: Mapping[str, Any] | None = None,
) -> tuple[dict[int, Situation], list[Transition]]:
    """Per-person situations: ``active`` maps the track ids whose condition holds now to
    their confidence; every other known track counts as not holding."""
    out: dict[int, Situation] = {}
    events: list[Transition] = []
    for tid in sorted(set(states) | set(active)):
        before = states.get(tid, IDLE)
        on = tid in active
        after, phase = advance(
            before,
            on,
            now,
            hold_s,
            clear_s,
            tracks=(tid,) if on else (),
            count=1 if on else 0,
            confidence=active.get(tid, 0.0),
        )
        key = zone_key(rule, zone, str(tid))
        t = transition(rule, key, zone, before, after, phase, now, data)
        if t is not None:
            events.append(t)
        if after.true_since is not None:
            out[tid] = after
    return out, events


def zone_key(rule: str, zone: str | None, suffix: str = "") -> str:
    return f"{rule}:{zone or '*'}{':' + suffix if suffix else ''}"
