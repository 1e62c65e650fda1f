"""Each custody rule as a pure function of (state, now): fires in its scenario, silent in its
negative counterpart. Times come from a table, never from a clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.custody.conftest import T0, custody_config
from vms.custody.alerts import escalation_level
from vms.custody.config import CustodyConfig, EscalationConfig, RiskLevel
from vms.custody.continuity import (
    NO_AUDIO_STREAM,
    CoverageGap,
    GapSpan,
    SegmentSpan,
    SoundSpan,
    coverage_gaps,
    sound_gaps,
)
from vms.custody.layout import Layout, build_layout
from vms.custody.presence import PresenceSpan
from vms.custody.rules import (
    AlertType,
    CameraRecording,
    CheckState,
    CustodyState,
    InterviewState,
    Officer,
    PersonState,
    StayState,
    VideoEvent,
    legal_clock_rule,
    no_sound_rule,
    observation_rule,
    person_alone_rule,
    recording_rule,
    resummons_condition,
    two_officer_rule,
    video_checks,
    video_events_rule,
)

CFG = CustodyConfig()
TWO = (Officer("Li Wei", "031245"), Officer("Wang Fang", "031877"))


def at(minutes: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    return build_layout(custody_config(Path(tmp_path_factory.mktemp("cfg"))))


def person(
    exited: datetime | None = None, *, limit_h: float = 12, risk: RiskLevel = RiskLevel.NORMAL
) -> PersonState:
    return PersonState(1, "Zhang San", "Station 1", "summons", limit_h, risk, T0, exited)


def counts(camera: str, *steps: tuple[float, int], seen: float | None = None) -> list[PresenceSpan]:
    """Presence rows from (second, count) steps; the last stays open, seen at ``seen``."""
    out = []
    for (t, n), nxt in zip(steps, [*steps[1:], None], strict=True):
        end = at(seconds=nxt[0]) if nxt else None
        last_seen = end or at(seconds=seen if seen is not None else t)
        out.append(PresenceSpan(camera, at(seconds=t), end, last_seen, n))
    return out


# --- legal clock -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now_min", "exited_min", "expected"),
    [
        (10 * 60 + 59, None, []),
        (11 * 60, None, ["legal_clock_warning:1:60"]),
        (11 * 60 + 44, None, ["legal_clock_warning:1:60"]),
        (11 * 60 + 45, None, ["legal_clock_warning:1:60", "legal_clock_warning:1:15"]),
        (
            12 * 60,
            None,
            ["legal_clock_warning:1:60", "legal_clock_warning:1:15", "legal_clock_limit:1"],
        ),
        # Still held three hours past the limit: the alert stands.
        (
            15 * 60,
            None,
            ["legal_clock_warning:1:60", "legal_clock_warning:1:15", "legal_clock_limit:1"],
        ),
        # Released before the first warning: nothing, ever.
        (20 * 60, 10 * 60, []),
        # Released between the warnings: only the first, and it ends at the release.
        (20 * 60, 11 * 60 + 30, ["legal_clock_warning:1:60"]),
    ],
)
def test_legal_clock(
    layout: Layout, now_min: int, exited_min: int | None, expected: list[str]
) -> None:
    exited = at(exited_min) if exited_min is not None else None
    state = CustodyState(layout, persons=[person(exited)])
    got = legal_clock_rule(state, at(now_min), CFG)
    assert [c.key for c in got] == expected
    for c in got:
        assert c.until == exited
    since = {c.key: c.since for c in got}
    if "legal_clock_limit:1" in since:
        assert since["legal_clock_limit:1"] == at(12 * 60)
        assert since["legal_clock_warning:1:15"] == at(11 * 60 + 45)


def test_legal_clock_leads_come_from_the_config(layout: Layout) -> None:
    cfg = CustodyConfig.model_validate({"legal_clock": {"warn_before_min": [30, 5, 120]}})
    state = CustodyState(layout, persons=[person(limit_h=8)])
    keys = [c.key for c in legal_clock_rule(state, at(8 * 60 - 10), cfg)]
    assert keys == ["legal_clock_warning:1:120", "legal_clock_warning:1:30"]


@pytest.mark.parametrize(("hours", "flagged"), [(0.5, True), (11.99, True), (12, False)])
def test_resummons(hours: float, flagged: bool) -> None:
    got = resummons_condition(person(), T0 - timedelta(hours=hours), CFG)
    assert (got is not None) is flagged
    assert resummons_condition(person(), None, CFG) is None


# --- two officers ------------------------------------------------------------------------


def interview(
    end: float | None = None, officers: tuple[Officer, ...] = TWO, room: str = "int-1"
) -> InterviewState:
    return InterviewState(5, 1, room, at(), at(seconds=end) if end is not None else None, officers)


@pytest.mark.parametrize(
    ("presence", "now_s", "expected"),
    [
        # Three people all along: silent.
        ([(0, 3)], 600, []),
        # Two people from 100 s: fires 60 s later, still going.
        ([(0, 3), (100, 2)], 160, [("two_officer:5:" + at(seconds=100).isoformat(), 160, None)]),
        # ... but not before the 60 s.
        ([(0, 3), (100, 2)], 159, []),
        # An officer out for 50 s and back: silent.
        ([(0, 3), (100, 2), (150, 3)], 600, []),
        # Out for 90 s: fired, and ended when the officer came back.
        (
            [(0, 3), (100, 2), (190, 3)],
            600,
            [("two_officer:5:" + at(seconds=100).isoformat(), 160, 190)],
        ),
        # Nobody seen (analytics not running): the count is unknown, no alert.
        ([], 600, []),
    ],
)
def test_two_officer_rule_on_video(
    layout: Layout,
    presence: list[tuple[int, int]],
    now_s: int,
    expected: list[tuple[str, int, int | None]],
) -> None:
    spans = counts("interrogation-cam", *presence, seen=now_s) if presence else []
    state = CustodyState(layout, persons=[person()], interviews=[interview()], presence=spans)
    got = two_officer_rule(state, at(seconds=now_s), CFG)
    assert [(c.key, c.since, c.until) for c in got] == [
        (k, at(seconds=s), at(seconds=u) if u is not None else None) for k, s, u in expected
    ]
    assert all(c.type is AlertType.TWO_OFFICER and c.severity == "critical" for c in got)


def test_two_officer_rule_on_the_ledger(layout: Layout) -> None:
    state = CustodyState(
        layout, persons=[person()], interviews=[interview(officers=TWO[:1], room="inquiry-1")]
    )
    got = two_officer_rule(state, at(1), CFG)
    assert [c.key for c in got] == ["two_officer:5:registered"]
    state = CustodyState(layout, persons=[person()], interviews=[interview(room="inquiry-1")])
    assert two_officer_rule(state, at(1), CFG) == []


def test_stale_presence_is_unknown(layout: Layout) -> None:
    """Two people seen once at 0 s and never confirmed again: known only for stale_s."""
    spans = [PresenceSpan("interrogation-cam", at(), None, at(), 2)]
    state = CustodyState(layout, persons=[person()], interviews=[interview()], presence=spans)
    assert two_officer_rule(state, at(seconds=600), CFG) == []


# --- person alone -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("room", "presence", "expected_starts"),
    [
        ("holding-1", [(0, 2), (30, 1), (200, 2)], [30]),
        ("holding-1", [(0, 1), (59, 2), (100, 1), (159, 0)], []),  # never 60 s alone
        ("holding-1", [(0, 1), (70, 0), (100, 1), (200, 2)], [0, 100]),  # two visits alone
        ("cell-1", [(0, 1)], [0]),
        ("int-1", [(0, 1)], []),  # not a holding room or cell
    ],
)
def test_person_alone(
    layout: Layout, room: str, presence: list[tuple[int, int]], expected_starts: list[int]
) -> None:
    cam = layout.rooms[room].cameras[0]
    state = CustodyState(
        layout,
        persons=[person()],
        stays=[StayState(1, room, at(), None)],
        presence=counts(cam, *presence, seen=300),
    )
    got = person_alone_rule(state, at(seconds=300), CFG)
    assert [c.data["from"] for c in got] == [at(seconds=s).isoformat() for s in expected_starts]
    assert all(
        c.since == datetime.fromisoformat(c.data["from"]) + timedelta(seconds=60) for c in got
    )


def test_room_count_is_the_largest_of_its_cameras(layout: Layout) -> None:
    """A second camera that sees the guard too means the person is not alone."""
    two_cams = Layout(
        {
            **layout.rooms,
            "cell-1": type(layout.rooms["cell-1"])(
                "cell-1",
                "Station 1",
                "Cell 1",
                layout.rooms["cell-1"].type,
                ("cell-cam", "cell-cam-2"),
            ),
        }
    )
    spans = [*counts("cell-cam", (0, 1), seen=300), *counts("cell-cam-2", (0, 2), seen=300)]
    state = CustodyState(
        two_cams, persons=[person()], stays=[StayState(1, "cell-1", at(), None)], presence=spans
    )
    assert person_alone_rule(state, at(seconds=300), CFG) == []


# --- person down, stillness ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "camera", "held", "expected"),
    [
        ("person_down", "cell-cam", True, AlertType.PERSON_DOWN),
        ("stillness", "holding-cam", True, AlertType.STILLNESS),
        ("person_down", "cell-cam", False, None),  # nobody held in the cell
        ("person_down", "interrogation-cam", True, None),  # not a cell or holding room
        ("loitering", "cell-cam", True, None),
    ],
)
def test_video_events(
    layout: Layout, event_type: str, camera: str, held: bool, expected: AlertType | None
) -> None:
    room = layout.room_of_camera(camera)
    assert room is not None
    stays = [StayState(1, room.id, at(), None)] if held else []
    ev = VideoEvent(42, event_type, camera, at(5), at(6))
    state = CustodyState(layout, persons=[person()], stays=stays, events=[ev])
    got = video_events_rule(state, at(10), CFG)
    assert [c.type for c in got] == ([expected] if expected else [])
    if got:
        assert (got[0].event_id, got[0].person_id, got[0].until) == (42, 1, at(6))


# --- observation rounds ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("risk", "checks", "now", "expected"),
    [
        (RiskLevel.NORMAL, [], 59, []),
        (RiskLevel.NORMAL, [], 61, [(60, None)]),
        (RiskLevel.NORMAL, [50, 100], 130, []),
        (RiskLevel.NORMAL, [50, 120], 130, [(110, 120)]),
        (RiskLevel.ELEVATED, [25], 56, [(55, None)]),
        (RiskLevel.HIGH, [10, 25, 40], 54, []),
        (RiskLevel.HIGH, [10, 25, 40], 56, [(55, None)]),
    ],
)
def test_observation_rounds(
    layout: Layout,
    risk: RiskLevel,
    checks: list[int],
    now: int,
    expected: list[tuple[int, int | None]],
) -> None:
    state = CustodyState(
        layout,
        persons=[person(risk=risk)],
        stays=[StayState(1, "cell-1", at(), None)],
        checks=[CheckState(1, at(m), "manual") for m in checks],
    )
    got = observation_rule(state, at(now), CFG)
    assert [(c.since, c.until) for c in got] == [
        (at(s), at(u) if u is not None else None) for s, u in expected
    ]


def test_observation_not_required_in_an_interview_room(layout: Layout) -> None:
    state = CustodyState(layout, persons=[person()], stays=[StayState(1, "int-1", at(), None)])
    assert observation_rule(state, at(600), CFG) == []


@pytest.mark.parametrize(
    ("presence", "expected"),
    [
        ([(0, 1), (600, 2), (610, 1)], [600]),  # a guard in for 10 s
        ([(0, 1), (600, 2), (603, 1)], []),  # 3 s: too short to count
        ([(0, 1)], []),
    ],
)
def test_checks_seen_on_video(
    layout: Layout, presence: list[tuple[int, int]], expected: list[int]
) -> None:
    state = CustodyState(
        layout,
        persons=[person()],
        stays=[StayState(1, "cell-1", at(), None)],
        presence=counts("cell-cam", *presence, seen=900),
    )
    got = video_checks(state, at(seconds=900), CFG)
    assert [c.at for c in got] == [at(seconds=s) for s in expected]


# --- recording --------------------------------------------------------------------------


def rec(**kw: object) -> CameraRecording:
    args: dict[str, object] = {"camera_id": "cell-cam", "record": True, "segment_s": 60}
    args.update(kw)
    return CameraRecording(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("recording", "expected_since"),
    [
        ({"latest_start": at(9, 30)}, None),  # an open segment, due to rotate at 10:30
        ({"latest_start": at(9), "latest_end": at(9, 50)}, None),  # closed 10 s ago
        ({"latest_start": at(8), "latest_end": at(9)}, at(9)),  # nothing for a minute
        ({"latest_start": at(8), "open_gap_since": at(8, 30)}, at(8, 30)),
        ({"latest_start": at(5)}, at(6)),  # open but overdue: the writer is gone
        ({}, at(0)),  # never recorded: since the room is in use
        ({"record": False, "latest_start": at(9, 30)}, at(0)),
    ],
)
def test_room_without_video(
    layout: Layout, recording: dict[str, object], expected_since: datetime | None
) -> None:
    state = CustodyState(
        layout,
        persons=[person()],
        stays=[StayState(1, "cell-1", at(), None)],
        recording={"cell-cam": rec(**recording)},
    )
    got = recording_rule(state, at(10), CFG)
    assert [c.since for c in got] == ([expected_since] if expected_since else [])
    assert all(c.type is AlertType.ROOM_WITHOUT_VIDEO and c.until is None for c in got)


def test_room_not_in_use_needs_no_video(layout: Layout) -> None:
    state = CustodyState(
        layout, persons=[person(at(5))], stays=[StayState(1, "cell-1", at(), at(5))]
    )
    assert recording_rule(state, at(10), CFG) == []


def test_room_without_any_camera(layout: Layout) -> None:
    state = CustodyState(layout, persons=[person()], interviews=[interview(room="inquiry-1")])
    got = recording_rule(state, at(10), CFG)
    assert [(c.type, c.room_id) for c in got] == [(AlertType.ROOM_WITHOUT_VIDEO, "inquiry-1")]


def test_recording_incomplete_lists_each_gap(layout: Layout) -> None:
    gap = CoverageGap("interrogation-cam", at(2), at(2, 20), ("camera offline: refused",))
    state = CustodyState(
        layout,
        persons=[person()],
        interviews=[interview(end=600)],
        interview_gaps={5: [gap]},
        recording={"interrogation-cam": rec(camera_id="interrogation-cam", latest_start=at(9))},
    )
    got = recording_rule(state, at(10), CFG)
    assert [(c.type, c.interview_id, c.since, c.until) for c in got] == [
        (AlertType.RECORDING_INCOMPLETE, 5, at(2), at(2, 20))
    ]
    assert got[0].data["gap"]["duration_s"] == 20.0
    state = CustodyState(layout, persons=[person()], interviews=[interview(end=600)])
    assert recording_rule(state, at(10), CFG) == []


@pytest.mark.parametrize(
    ("camera", "recording", "interviews", "expected"),
    [
        # The interrogation room's camera sends no audio: at once, without an interview...
        (
            "interrogation-cam",
            {"audio": False, "no_audio_since": at(1), "latest_start": at(9)},
            [],
            [("no_sound:interrogation-cam:" + at(1).isoformat(), at(1), None)],
        ),
        # ...and for the interview held there (not for one that ended).
        (
            "interrogation-cam",
            {"audio": False, "no_audio_since": at(1), "latest_start": at(9)},
            [interview(), InterviewState(6, 1, "int-1", at(-30), at(-20), TWO)],
            [
                ("no_sound:interrogation-cam:" + at(1).isoformat(), at(1), None),
                ("no_sound:interrogation-cam:interview:5", at(0), 5),
            ],
        ),
        ("interrogation-cam", {"audio": True, "latest_start": at(9)}, [interview()], []),
        ("interrogation-cam", {"audio": None}, [interview()], []),  # streams not known yet
        ("interrogation-cam", {"audio": False, "record": False}, [], []),
        ("cell-cam", {"audio": False, "no_audio_since": at(1)}, [], []),  # cells need no sound
    ],
)
def test_no_sound_in_an_interview_room(
    layout: Layout,
    camera: str,
    recording: dict[str, object],
    interviews: list[InterviewState],
    expected: list[tuple[str, datetime, int | None]],
) -> None:
    state = CustodyState(
        layout,
        persons=[person()],
        interviews=interviews,
        recording={camera: rec(camera_id=camera, **recording)},
    )
    got = no_sound_rule(state, at(10), CFG)
    assert [(c.key, c.since, c.interview_id) for c in got] == expected
    assert all(c.type is AlertType.NO_SOUND and c.severity == "critical" for c in got)
    if got:
        assert got[0].message.startswith(
            "Interrogation room records no sound: camera interrogation-cam of Interrogation 1"
        )


def test_coverage_gaps_from_segments() -> None:
    segs = [SegmentSpan(at(0), at(1)), SegmentSpan(at(1), at(2)), SegmentSpan(at(2, 30), None)]
    gaps = [GapSpan(at(2), at(2, 30), "camera offline: stream ended")]
    got = coverage_gaps(
        "c", segs, gaps, at(0, 30), at(3), now=at(3), segment_s=60, stale_s=30, tolerance_s=1
    )
    assert [(g.start, g.end, g.reasons) for g in got] == [
        (at(2), at(2, 30), ("camera offline: stream ended",))
    ]
    # Contiguous to within the tolerance: continuous.
    segs = [SegmentSpan(at(0), at(1)), SegmentSpan(at(1, 0.5), at(3))]
    assert (
        coverage_gaps(
            "c", segs, [], at(0), at(3), now=at(3), segment_s=60, stale_s=30, tolerance_s=1
        )
        == []
    )


def test_sound_gaps_are_picture_without_sound_never_the_picture_gaps() -> None:
    segs = [
        SoundSpan(1, at(0), at(1), True),
        SoundSpan(2, at(1), at(2), False),  # recorded without an audio stream
        SoundSpan(3, at(2, 30), at(4), True),
    ]
    audio = [GapSpan(at(3), at(3, 20), "audio stopped: no audio packet for 5 s")]
    picture = [CoverageGap("c", at(2), at(2, 30), ("camera offline",))]
    got = sound_gaps(
        "c", segs, audio, picture, at(0, 30), at(3, 10),
        now=at(5), segment_s=60, stale_s=30, tolerance_s=1,
    )  # fmt: skip
    assert [(g.start, g.end, g.reasons) for g in got] == [
        (at(1), at(2), ("the recording holds no audio stream",)),
        (at(3), at(3, 10), ("audio stopped: no audio packet for 5 s",)),
    ]
    # A silence inside a picture gap is that picture gap, listed once; one under the
    # tolerance is no gap.
    inside = [GapSpan(at(2, 5), at(2, 20), "audio stopped"), GapSpan(at(3), at(3, 0.5), "x")]
    got = sound_gaps(
        "c", segs[2:], inside, picture, at(2), at(4),
        now=at(5), segment_s=60, stale_s=30, tolerance_s=1,
    )  # fmt: skip
    assert got == []
    # Footage that holds no audio stream is missing its sound however short the time: an
    # interview seconds old in a room whose camera has no microphone is not complete.
    got = sound_gaps(
        "c", [SoundSpan(4, at(6), None, False)], [], [], at(6, 10), at(6, 10.5),
        now=at(6, 10.5), segment_s=60, stale_s=30, tolerance_s=1,
    )  # fmt: skip
    assert [(g.start, g.end, g.reasons) for g in got] == [
        (at(6, 10), at(6, 10.5), (NO_AUDIO_STREAM,))
    ]


# --- escalation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "level"), [(0, 1), (4.9, 1), (5, 2), (9.9, 2), (10, 3), (60, 3), (-1, 1)]
)
def test_escalation_level(minutes: float, level: int) -> None:
    assert escalation_level(T0, at(minutes), EscalationConfig()) == level
