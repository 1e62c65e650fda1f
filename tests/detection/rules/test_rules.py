"""Each rule as a pure function of (state, observation, now): fake clock, no threads.

Scripted observations at 5 Hz; a case is a timeline of (seconds, boxes) and the events the
rule must report (type of transition, second). Footage tests (test_footage.py) run the same
rules through the real pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import numpy as np
import pytest
import supervision as sv

from vms.detection.config import (
    CrowdingConfig,
    IntrusionConfig,
    LoiteringConfig,
    OccupancyConfig,
    PersonDownConfig,
    ScheduleConfig,
    StillnessConfig,
)
from vms.detection.rules.base import (
    IDLE,
    Changed,
    Ended,
    Fired,
    Observation,
    Phase,
    Rule,
    Transition,
    advance,
)
from vms.detection.rules.crowding import CrowdingRule
from vms.detection.rules.intrusion import IntrusionRule
from vms.detection.rules.loitering import LoiteringRule
from vms.detection.rules.occupancy import OccupancyRule
from vms.detection.rules.person_down import (
    LYING_TORSO_DEG,
    PersonDownRule,
    is_down,
    torso_angle,
)
from vms.detection.rules.stillness import StillnessRule

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STAND = (100.0, 100.0, 140.0, 260.0)  # 40 x 160: upright
LIE = (60.0, 220.0, 220.0, 262.0)  # 160 x 42: lying
Box = tuple[float, float, float, float]


def obs(at: float, people: dict[int, Box], zone: str | None = "z") -> Observation:
    ids = list(people)
    xyxy = np.array([people[i] for i in ids], np.float32).reshape(-1, 4)
    det = sv.Detections(
        xyxy=xyxy,
        confidence=np.full(len(ids), 0.9, np.float32),
        class_id=np.zeros(len(ids), int),
        tracker_id=np.array(ids, int),
    )
    return Observation(T0 + timedelta(seconds=at), zone, det, (640, 360))


def timeline(
    spans: Sequence[tuple[float, float, dict[int, Box]]], hz: float = 5.0
) -> list[Observation]:
    """Observations at ``hz`` over each (from, to, people) span, in order."""
    out = []
    for start, end, people in spans:
        n = round((end - start) * hz)
        out += [obs(start + i / hz, people) for i in range(n)]
    return out


def play(rule: Rule[Any], observations: list[Observation]) -> list[tuple[str, float]]:
    state = rule.initial()
    out: list[tuple[str, float]] = []
    for o in observations:
        state, events = rule.step(state, o, o.time)
        out += [_brief(t) for t in events]
    return out


def _brief(t: Transition) -> tuple[str, float]:
    if isinstance(t, Fired):
        return ("fired", (t.start - T0).total_seconds())
    if isinstance(t, Ended):
        return ("ended", (t.end - T0).total_seconds())
    assert isinstance(t, Changed)
    return ("changed", 0.0)


def fired_ended(events: list[tuple[str, float]]) -> list[tuple[str, float]]:
    return [(k, round(s, 1)) for k, s in events if k != "changed"]


# -- hysteresis ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # condition per second; hold 3 s, clear 2 s
        ("1111111000", [Phase.FIRED, Phase.ENDED]),
        ("1101111100000", [Phase.FIRED, Phase.ENDED]),  # a 1 s blip does not restart the clock
        ("1100011100000", []),  # 3 s off resets it: never 3 s in a row
        ("1111101110000", [Phase.FIRED, Phase.ENDED]),  # a blip after firing: still one event
        ("11111000111110000", [Phase.FIRED, Phase.ENDED, Phase.FIRED, Phase.ENDED]),
    ],
)
def test_hysteresis_one_situation_one_event(pattern: str, expected: list[Phase]) -> None:
    sit = IDLE
    phases = []
    for i, c in enumerate(pattern):
        sit, phase = advance(sit, c == "1", T0 + timedelta(seconds=i), 3.0, 2.0)
        if phase in (Phase.FIRED, Phase.ENDED):
            phases.append(phase)
    assert phases == expected


def test_an_event_ends_when_its_condition_first_stopped() -> None:
    rule = LoiteringRule(LoiteringConfig(seconds=2), "z", clear_s=2)
    events = play(rule, timeline([(0, 5, {1: STAND}), (5, 9, {})]))
    assert fired_ended(events) == [("fired", 2.0), ("ended", 5.0)]


# -- loitering -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([(0, 12, {1: STAND}), (12, 16, {})], [("fired", 10.0), ("ended", 12.0)]),
        ([(0, 9, {1: STAND}), (9, 13, {})], []),  # 9 s: not loitering
        # lost for 1.5 s (< clear) and back: one visit, clock kept
        ([(0, 6, {1: STAND}), (6, 7.6, {}), (7.6, 12, {1: STAND}), (12, 15, {})],
         [("fired", 10.0), ("ended", 12.0)]),
        # two people: one event each
        ([(0, 11, {1: STAND, 2: LIE}), (11, 14, {})],
         [("fired", 10.0), ("fired", 10.0), ("ended", 11.0), ("ended", 11.0)]),
    ],
)  # fmt: skip
def test_loitering(spans: list[tuple[float, float, dict[int, Box]]], expected: list[Any]) -> None:
    rule = LoiteringRule(LoiteringConfig(seconds=10), "z", clear_s=2)
    assert fired_ended(play(rule, timeline(spans))) == expected


# -- intrusion -------------------------------------------------------------------------

NIGHT = ScheduleConfig(start=time(22), end=time(6))


@pytest.mark.parametrize(
    ("at", "active"),
    [
        (time(21, 59), False),
        (time(22), True),
        (time(3), True),
        (time(5, 59), True),
        (time(6), False),
    ],
)
def test_schedule_crosses_midnight(at: time, active: bool) -> None:
    assert NIGHT.active(datetime.combine(T0.date(), at, UTC)) is active


def test_schedule_in_a_local_time_zone() -> None:
    sched = ScheduleConfig(start=time(22), end=time(6), timezone="Asia/Shanghai")
    assert sched.active(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai
    assert not sched.active(datetime(2026, 3, 2, 3, 0, tzinfo=UTC))  # 11:00 there


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (IntrusionConfig(), [("fired", 1.0), ("ended", 4.0)]),
        (IntrusionConfig(seconds=2), [("fired", 3.0), ("ended", 4.0)]),
        (IntrusionConfig(schedule=NIGHT), []),  # noon: outside 22:00-06:00
    ],
)
def test_intrusion(config: IntrusionConfig, expected: list[Any]) -> None:
    rule = IntrusionRule(config, "yard", clear_s=1)
    spans = [(0, 1, {}), (1, 2, {1: STAND}), (2, 4, {1: STAND, 2: STAND}), (4, 6, {})]
    events = play(rule, timeline(spans))
    assert fired_ended(events) == expected


def test_intrusion_reports_everyone_who_came_in() -> None:
    rule = IntrusionRule(IntrusionConfig(), "yard", clear_s=1)
    state = rule.initial()
    out: list[Transition] = []
    for o in timeline([(1, 2, {1: STAND}), (2, 4, {1: STAND, 2: STAND}), (4, 6, {})]):
        state, events = rule.step(state, o, o.time)
        out += events
    changed = [t for t in out if isinstance(t, Changed)]
    assert changed[-1].track_ids == (1, 2)
    assert changed[-1].count == 2


# -- crowding and occupancy -------------------------------------------------------------


def crowd(n: int) -> dict[int, Box]:
    return {i: (10.0 * i, 100, 10.0 * i + 30, 260) for i in range(1, n + 1)}


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([(0, 6, crowd(3)), (6, 9, crowd(1))], [("fired", 5.0), ("ended", 6.0)]),
        ([(0, 4, crowd(3)), (4, 9, crowd(2))], []),  # 4 s < T
        ([(0, 3, crowd(3)), (3, 3.6, crowd(2)), (3.6, 7, crowd(4)), (7, 10, {})],
         [("fired", 5.0), ("ended", 7.0)]),  # one missed person for 0.6 s: same crowd
    ],
)  # fmt: skip
def test_crowding(spans: list[tuple[float, float, dict[int, Box]]], expected: list[Any]) -> None:
    # Per-frame counts (window 0): the hysteresis alone.
    rule = CrowdingRule(CrowdingConfig(people=3, seconds=5, window_s=0), "gate", clear_s=1)
    assert fired_ended(play(rule, timeline(spans))) == expected


def test_a_crowd_is_held_through_drop_outs_and_ends_when_it_really_thins() -> None:
    # The detector sees 3 of the 4, then 2, for 3 s in the middle (longer than clear_s):
    # counted over a 4 s window it is one crowd, ended when the count first fell for good.
    spans = [(0, 6, crowd(4)), (6, 9, crowd(2)), (9, 14, crowd(4)), (14, 22, crowd(1))]
    held = CrowdingRule(CrowdingConfig(people=4, seconds=5, window_s=4), "gate", clear_s=1)
    assert fired_ended(play(held, timeline(spans))) == [("fired", 5.0), ("ended", 14.0)]
    per_frame = CrowdingRule(CrowdingConfig(people=4, seconds=5, window_s=0), "gate", clear_s=1)
    assert fired_ended(play(per_frame, timeline(spans))) == [("fired", 5.0), ("ended", 6.0)]
    # The window only holds an open crowd: 4 s of a crowd is still shorter than T.
    short = [(0, 4, crowd(4)), (4, 12, crowd(2))]
    assert fired_ended(play(held, timeline(short))) == []


def test_occupancy_above_is_held_through_drop_outs_too() -> None:
    rule = OccupancyRule(OccupancyConfig(max=2, seconds=2, window_s=4), "cell", clear_s=1)
    spans = [(0, 4, crowd(4)), (4, 6.5, crowd(2)), (6.5, 9, crowd(3)), (9, 20, crowd(1))]
    assert fired_ended(play(rule, timeline(spans))) == [("fired", 2.0), ("ended", 9.0)]


def test_occupancy_below_and_above_are_separate_events() -> None:
    rule = OccupancyRule(OccupancyConfig(min=2, max=3, seconds=2), "cell", clear_s=1)
    spans = [(0, 3, crowd(1)), (3, 5, crowd(2)), (5, 8, crowd(5)), (8, 10, crowd(2))]
    state = rule.initial()
    fired: list[Fired] = []
    for o in timeline(spans):
        state, events = rule.step(state, o, o.time)
        fired += [t for t in events if isinstance(t, Fired)]
    assert [(f.data["condition"], f.count) for f in fired] == [("below", 1), ("above", 5)]
    assert [(f.start - T0).total_seconds() for f in fired] == [2.0, 7.0]


def test_occupancy_is_silent_within_bounds() -> None:
    rule = OccupancyRule(OccupancyConfig(min=1, max=3, seconds=1), "cell", clear_s=1)
    assert play(rule, timeline([(0, 10, crowd(2))])) == []


# -- person down -----------------------------------------------------------------------


def test_person_down_by_box_shape() -> None:
    rule = PersonDownRule(PersonDownConfig(seconds=2), None, clear_s=2)
    events = play(rule, timeline([(0, 2, {1: STAND}), (2, 6, {1: LIE}), (6, 10, {1: STAND})]))
    assert fired_ended(events) == [("fired", 4.0), ("ended", 6.0)]


def test_person_down_by_a_head_drop_with_feet_in_place() -> None:
    # Fallen towards the camera: the box is still taller than wide, but the head is low.
    fallen = (95.0, 185.0, 150.0, 262.0)
    rule = PersonDownRule(PersonDownConfig(seconds=1), None, clear_s=2)
    events = play(rule, timeline([(0, 2, {1: STAND}), (2, 4, {1: fallen})]))
    assert fired_ended(events)[:1] == [("fired", 3.0)]


def test_person_down_stays_down_while_the_detector_misses_them() -> None:
    rule = PersonDownRule(PersonDownConfig(seconds=1), None, clear_s=2)
    # Seen lying once, then not detected (lying still): still down until the track is lost.
    events = play(rule, timeline([(0, 1, {1: STAND}), (1, 1.2, {1: LIE}), (1.2, 6, {})]))
    assert fired_ended(events) == [("fired", 2.0), ("ended", 3.2)]


def test_person_down_is_silent_for_sitting_and_bending() -> None:
    sitting = (95.0, 150.0, 150.0, 262.0)  # head 0.3 standing heights lower
    rule = PersonDownRule(PersonDownConfig(seconds=1), None, clear_s=2)
    assert play(rule, timeline([(0, 2, {1: STAND}), (2, 8, {1: sitting})])) == []


def _pose(shoulders: tuple[float, float], hips: tuple[float, float]) -> np.ndarray:
    kp = np.zeros((17, 3), np.float32)
    kp[5, :2] = kp[6, :2] = shoulders
    kp[11, :2] = kp[12, :2] = hips
    kp[:, 2] = 0.9
    return kp


@pytest.mark.parametrize(
    ("shoulders", "hips", "down"),
    [
        ((100, 100), (100, 200), False),
        ((100, 200), (220, 210), True),
        ((100, 100), (140, 190), False),
    ],
)
def test_person_down_by_keypoints_beats_the_box(
    shoulders: tuple[float, float], hips: tuple[float, float], down: bool
) -> None:
    kp = _pose(shoulders, hips)
    assert torso_angle(kp) is not None
    # A wide box (arms out) does not matter when the torso is visible.
    assert is_down(np.array(LIE), kp, None, PersonDownConfig()) is down


def test_a_wide_box_is_lying_even_when_lying_keypoints_scatter() -> None:
    # UR Fall, lying half out of view: the torso angle reads 30-50 degrees, the hips sit low.
    kp = _pose((120, 230), (140, 255))
    assert 20 < (torso_angle(kp) or 0) < LYING_TORSO_DEG
    assert is_down(np.array(LIE), kp, STAND, PersonDownConfig())
    assert is_down(np.array(LIE), kp, None, PersonDownConfig())


def test_hips_near_the_floor_are_down_unless_the_torso_is_upright() -> None:
    # Fallen towards the camera: the box is taller than wide, the hips a few pixels up.
    box = np.array((95.0, 200.0, 150.0, 262.0))
    tilted = _pose((110, 215), (130, 255))  # ~27 degrees, hips 7 px above the floor
    assert is_down(box, tilted, STAND, PersonDownConfig())
    # Sitting on the floor against a wall: hips as low, torso upright: not down.
    sitting = _pose((120, 200), (122, 255))
    assert not is_down(box, sitting, STAND, PersonDownConfig())
    # Sitting on a chair: hips a quarter of the standing height up.
    chair = _pose((120, 150), (122, 222))
    assert not is_down(np.array((95.0, 140.0, 150.0, 262.0)), chair, STAND, PersonDownConfig())


def test_keypoints_not_visible_fall_back_to_the_box() -> None:
    kp = _pose((100, 100), (100, 200))
    kp[:, 2] = 0.0
    assert torso_angle(kp) is None
    assert is_down(np.array(LIE), kp, None, PersonDownConfig())


# -- stillness -------------------------------------------------------------------------


def walk(x0: float, speed: float, start: float, end: float, hz: float = 5.0) -> list[Observation]:
    n = round((end - start) * hz)
    return [
        obs(start + i / hz, {1: (x0 + speed * i / hz, 100, x0 + speed * i / hz + 40, 260)})
        for i in range(n)
    ]


def test_stillness_fires_for_a_still_person_and_ends_when_they_move() -> None:
    rule = StillnessRule(StillnessConfig(seconds=5), None, clear_s=2)
    observations = timeline([(0, 7, {1: STAND})]) + walk(100, 60, 7, 10)
    # 60 px/s: 24 px (0.15 box heights) is passed between 7.4 and 7.6 s.
    assert fired_ended(play(rule, observations)) == [("fired", 5.0), ("ended", 7.6)]


@pytest.mark.parametrize("speed", [20.0, 60.0])  # px/s; box height 160, max_move 0.15 = 24 px
def test_stillness_is_silent_for_a_slow_walker(speed: float) -> None:
    rule = StillnessRule(StillnessConfig(seconds=3), None, clear_s=2)
    assert play(rule, walk(0, speed, 0, 20)) == []
