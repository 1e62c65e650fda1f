"""Scenario tests of the periodic custody checks on SQLite and PostgreSQL: the ledger, a
scripted detector's counts and the recording index, with a fake clock moved by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.custody.conftest import T0, frames
from tests.support.clock import FakeClock
from vms.custody.job import run_custody_checks
from vms.custody.models import Alert, Check, Interview
from vms.custody.presence import PresenceRecorder, RoomObservation
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.db.models import Event, Gap, Segment
from vms.vocab import jsonable

OFFICERS = [Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")]


def at(seconds: float = 0, *, minutes: float = 0) -> datetime:
    return T0 + timedelta(seconds=seconds, minutes=minutes)


def record(svc: CustodyService, camera: str, start: datetime, end: datetime) -> None:
    """Index rows of one camera recording [start, end] in 60 s segments."""
    with svc.db.session() as s:
        t, n = start, 0
        while t < end:
            e = min(t + timedelta(seconds=60), end)
            s.add(
                Segment(
                    camera_id=camera,
                    start=t,
                    end=e,
                    duration_s=(e - t).total_seconds(),
                    path=f"recordings/{camera}/{t.isoformat()}-{n}.mp4",
                    codec="h264",
                    sha256="0" * 64,
                    status="complete",
                )
            )
            t, n = e, n + 1


def alerts(svc: CustodyService, type_: str | None = None) -> list[Alert]:
    with svc.db.session() as s:
        q = select(Alert).order_by(Alert.raised_at, Alert.id)
        if type_:
            q = q.where(Alert.type == type_)
        return list(s.scalars(q))


def enter(svc: CustodyService, room: str, **kw: object) -> int:
    args: dict[str, object] = {
        "name": "Zhang San",
        "reason": "theft",
        "basis": "summons",
        "room": room,
        "by": "desk",
    }
    args.update(kw)
    return svc.enter(**args).id  # type: ignore[arg-type]


def run_every(svc: CustodyService, clock: FakeClock, until: datetime, step_s: float = 5) -> None:
    """The scheduler's runs, every ``step_s`` of fake time."""
    while clock.now() < until:
        clock.advance(seconds=step_s)
        run_custody_checks(svc.db, svc.config, clock)


def observe(svc: CustodyService, camera: str, script: list[tuple[float, int]]) -> None:
    rec = PresenceRecorder(svc.db, svc.config.custody.presence, cameras={camera})
    for obs in frames(camera, script):
        rec.observe(obs)


# --- person alone, per visit ----------------------------------------------------------


def test_person_alone_once_per_visit(svc: CustodyService, clock: FakeClock) -> None:
    enter(svc, "holding-1")
    record(svc, "holding-cam", at(), at(minutes=10))
    # Three visits of one person (80, 90 and 70 s), the room empty in between; and a last
    # one with a guard present.
    observe(
        svc,
        "holding-cam",
        [(0, 1), (80, 0), (100, 1), (190, 0), (200, 1), (270, 0), (300, 2), (400, 2)],
    )
    run_every(svc, clock, at(400))
    got = alerts(svc, "person_alone")
    assert [(a.raised_at, a.cleared_at) for a in got] == [
        (at(60), at(80 + 2)),  # the count settles 2 s after the last detection
        (at(160), at(190 + 2)),
        (at(260), at(270 + 2)),
    ]
    assert {a.person_id for a in got} == {1}


def test_person_alone_silent_with_company(svc: CustodyService, clock: FakeClock) -> None:
    enter(svc, "cell-1")
    record(svc, "cell-cam", at(), at(minutes=10))
    observe(svc, "cell-cam", [(0, 2), (50, 1), (100, 2), (300, 2)])  # alone only 50 s
    run_every(svc, clock, at(300), step_s=30)
    assert alerts(svc, "person_alone") == []


# --- two officers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        # One officer leaves at 120 s for two minutes: the lower count settles 2 s later,
        # the alert comes 60 s after that and clears when the officer is back.
        ([(0, 3), (120, 2), (240, 3), (400, 3)], [(182, 240)]),
        # Subject and two officers all along: silent.
        ([(0, 3), (400, 3)], []),
        # Four people (a lawyer too): silent.
        ([(0, 4), (400, 4)], []),
    ],
)
def test_two_officer_rule(
    svc: CustodyService,
    clock: FakeClock,
    script: list[tuple[float, int]],
    expected: list[tuple[float, float]],
) -> None:
    pid = enter(svc, "holding-1")
    record(svc, "interrogation-cam", at(), at(minutes=10))
    svc.start_interview(pid, room="int-1", officers=OFFICERS, by="li")
    observe(svc, "interrogation-cam", script)
    run_every(svc, clock, at(400), step_s=10)
    got = alerts(svc, "two_officer")
    assert [(a.raised_at, a.cleared_at) for a in got] == [(at(s), at(e)) for s, e in expected]
    assert all(a.interview_id == 1 and a.severity == "critical" for a in got)


# --- legal clock ---------------------------------------------------------------------


def test_legal_clock_warnings_at_the_right_times(svc: CustodyService, clock: FakeClock) -> None:
    enter(svc, "holding-1")  # summons: 12 h
    enter(svc, "cell-1", basis="custom", limit_h=2.0, id_number="2")
    record(svc, "holding-cam", at(), at(minutes=13 * 60))
    record(svc, "cell-cam", at(), at(minutes=13 * 60))
    checkpoints = [
        (59, set()),
        (60, {"legal_clock_warning:2:60"}),
        (104, set()),
        (105, {"legal_clock_warning:2:15"}),
        (119.9, set()),
        (120, {"legal_clock_limit:2"}),
        (11 * 60 - 0.1, set()),
        (11 * 60, {"legal_clock_warning:1:60"}),
        (11 * 60 + 44.9, set()),
        (11 * 60 + 45, {"legal_clock_warning:1:15"}),
        (12 * 60 - 0.1, set()),
        (12 * 60, {"legal_clock_limit:1"}),
        (15 * 60, set()),  # still held: the limit alert stands, nothing new
    ]
    seen: set[str] = set()
    for minutes, new in checkpoints:
        clock.set(at(minutes=minutes))
        run_custody_checks(svc.db, svc.config, clock)
        keys = {a.key for a in alerts(svc) if a.type.startswith("legal_clock")}
        assert keys - seen == new, minutes
        seen = keys
    raised = {a.key: a.raised_at for a in alerts(svc)}
    assert raised["legal_clock_warning:1:15"] == at(minutes=11 * 60 + 45)
    assert raised["legal_clock_limit:1"] == at(minutes=12 * 60)
    standing = alerts(svc, "legal_clock_limit")
    assert [(a.person_id, a.cleared_at) for a in standing] == [(2, None), (1, None)]
    svc.exit(1, by="desk")
    run_custody_checks(svc.db, svc.config, clock)
    cleared = {a.person_id: a.cleared_at for a in alerts(svc, "legal_clock_limit")}
    assert cleared == {1: clock.now(), 2: None}


def test_legal_clock_silent_when_released_in_time(svc: CustodyService, clock: FakeClock) -> None:
    pid = enter(svc, "holding-1")
    record(svc, "holding-cam", at(), at(minutes=60))
    clock.advance(minutes=60)
    svc.exit(pid, by="desk")
    clock.advance(hours=13)
    run_custody_checks(svc.db, svc.config, clock)
    assert [a for a in alerts(svc) if a.type.startswith("legal")] == []


# --- escalation and acknowledgement --------------------------------------------------------


def test_unacknowledged_alert_escalates_acknowledged_does_not(
    svc: CustodyService, clock: FakeClock
) -> None:
    enter(svc, "cell-1")
    enter(svc, "holding-1", id_number="2")
    # Neither room is recorded: two "room without video" alerts at once.
    run_custody_checks(svc.db, svc.config, clock)
    first, second = alerts(svc, "room_without_video")
    assert (first.level, second.level) == (1, 1)
    clock.advance(minutes=2)
    svc.acknowledge(second.id, by="duty", note="camera engineer called")
    for minutes, level in [(4.9, 1), (5, 2), (9, 2), (10, 3), (60, 3)]:
        clock.set(at(minutes=minutes))
        run_custody_checks(svc.db, svc.config, clock)
        a, b = alerts(svc, "room_without_video")
        assert (a.level, b.level) == (level, 1), minutes
    assert a.escalated_at == at(minutes=10)
    assert (b.escalated_at, b.acknowledged_by) == (None, "duty")


# --- observation rounds ---------------------------------------------------------------


def test_observation_overdue_then_checked(svc: CustodyService, clock: FakeClock) -> None:
    pid = enter(svc, "cell-1", risk="elevated")  # every 30 min
    record(svc, "cell-cam", at(), at(minutes=120))
    clock.set(at(minutes=25))
    svc.record_check(pid, by="guard")
    run_every(svc, clock, at(minutes=56), step_s=60)
    assert [(a.raised_at, a.cleared_at) for a in alerts(svc, "observation_overdue")] == [
        (at(minutes=55), None)
    ]
    svc.record_check(pid, by="guard", note="roused, answered")
    run_every(svc, clock, at(minutes=80), step_s=60)
    assert [(a.raised_at, a.cleared_at) for a in alerts(svc, "observation_overdue")] == [
        (at(minutes=55), at(minutes=56))
    ]


def test_a_guard_seen_entering_the_cell_is_a_check(svc: CustodyService, clock: FakeClock) -> None:
    enter(svc, "cell-1", risk="high")  # every 15 min
    record(svc, "cell-cam", at(), at(minutes=60))
    # The guard goes in at 10 min and again at 22 min, for 20 s each time.
    observe(
        svc,
        "cell-cam",
        [(0, 1), (600, 2), (620, 1), (1320, 2), (1340, 1), (1780, 1)],
    )
    run_every(svc, clock, at(minutes=29), step_s=60)
    with svc.db.session() as s:
        checks = [
            (c.at, c.source, c.camera_id) for c in s.scalars(select(Check).order_by(Check.at))
        ]
    assert checks == [(at(600), "video", "cell-cam"), (at(1320), "video", "cell-cam")]
    assert alerts(svc, "observation_overdue") == []
    run_every(svc, clock, at(minutes=38), step_s=60)  # no visit after 22 min: due at 37 min
    assert [a.raised_at for a in alerts(svc, "observation_overdue")] == [at(minutes=37)]


# --- person down / stillness from analytics events ------------------------------------------


def test_person_down_event_in_a_cell(svc: CustodyService, clock: FakeClock) -> None:
    enter(svc, "cell-1")
    record(svc, "cell-cam", at(), at(minutes=10))
    with svc.db.session() as s:
        for type_, cam, start in [
            ("person_down", "cell-cam", at(100)),
            ("stillness", "cell-cam", at(200)),
            ("person_down", "interrogation-cam", at(100)),  # room not in use
        ]:
            s.add(
                Event(
                    type=type_, camera_id=cam, start=start, end=None, severity="critical", data={}
                )
            )
    clock.set(at(300))
    run_custody_checks(svc.db, svc.config, clock)
    got = [(a.type, a.raised_at, a.event_id, a.severity) for a in alerts(svc)]
    assert got == [("person_down", at(100), 1, "critical"), ("stillness", at(200), 2, "warning")]


# --- recording --------------------------------------------------------------------------


def test_room_without_video_then_recording_again(svc: CustodyService, clock: FakeClock) -> None:
    enter(svc, "cell-1")
    record(svc, "cell-cam", at(), at(120))
    with svc.db.session() as s:
        s.add(Gap(camera_id="cell-cam", start=at(120), end=None, reason="camera offline: refused"))
    clock.set(at(130))
    run_custody_checks(svc.db, svc.config, clock)
    (a,) = alerts(svc, "room_without_video")
    assert (a.raised_at, a.cleared_at, a.severity, a.room_id) == (
        at(120),
        None,
        "critical",
        "cell-1",
    )
    with svc.db.session() as s:
        gap = s.scalars(select(Gap)).one()
        gap.end = at(200)
    record(svc, "cell-cam", at(200), at(260))
    clock.set(at(260))
    run_custody_checks(svc.db, svc.config, clock)
    (a,) = alerts(svc, "room_without_video")
    assert a.cleared_at == at(260)


def test_interview_with_a_gap_is_recording_incomplete(
    svc: CustodyService, clock: FakeClock
) -> None:
    pid = enter(svc, "holding-1")
    record(svc, "interrogation-cam", at(), at(300))
    record(svc, "interrogation-cam", at(320), at(900))
    with svc.db.session() as s:
        s.add(
            Gap(
                camera_id="interrogation-cam",
                start=at(300),
                end=at(320),
                reason="camera offline: stream ended",
            )
        )
    other = enter(svc, "holding-1", id_number="2", name="Li Si")  # type: ignore[arg-type]
    clock.set(at(60))
    iv = svc.start_interview(pid, room="int-1", officers=OFFICERS, by="li")
    clock.set(at(600))
    ended = svc.end_interview(iv.id, by="li")
    assert ended.recording_incomplete is True
    assert ended.gaps == [
        {
            "camera": "interrogation-cam",
            "start": jsonable(at(300)),
            "end": jsonable(at(320)),
            "duration_s": 20.0,
            "reasons": ["camera offline: stream ended"],
            "kind": "video",
        }
    ]
    # A second interview after the gap: continuous.
    clock.set(at(620))
    iv2 = svc.start_interview(other, room="int-1", officers=OFFICERS, by="li")
    clock.set(at(800))
    assert svc.end_interview(iv2.id, by="li").recording_incomplete is False
    run_custody_checks(svc.db, svc.config, clock)
    got = alerts(svc, "recording_incomplete")
    assert [(a.interview_id, a.raised_at, a.cleared_at) for a in got] == [(1, at(300), at(320))]
    with svc.db.session() as s:
        assert [
            i.recording_incomplete for i in s.scalars(select(Interview).order_by(Interview.id))
        ] == [True, False]


# --- the job as the scheduler runs it --------------------------------------------------


def test_presence_observations_ignore_unknown_cameras(svc: CustodyService) -> None:
    rec = PresenceRecorder(svc.db, svc.config.custody.presence, cameras={"cell-cam"})
    rec.observe(RoomObservation("holding-cam", T0, 1))
    assert rec.errors == 0
