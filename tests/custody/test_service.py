"""The custody ledger's operations on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.custody.conftest import T0
from tests.support.clock import FakeClock
from vms.custody.config import RiskLevel
from vms.custody.models import Alert, CustodyRoom, CustodyRoomCamera, Stay
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.errors import ConflictError, InvalidError, NotFoundError, VmsError
from vms.vocab import Subsystem

OFFICERS = [Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")]


def _enter(svc: CustodyService, **kw: object) -> int:
    args: dict[str, object] = {
        "name": "Zhang San",
        "reason": "theft",
        "basis": "summons",
        "room": "holding-1",
        "by": "desk",
        "id_number": "110101199003070011",
    }
    args.update(kw)
    return svc.enter(**args).id  # type: ignore[arg-type]


def test_rooms_are_synced_with_their_cameras(svc: CustodyService) -> None:
    _enter(svc)
    with svc.db.session() as s:
        rooms = {r.id: (r.room_type, r.site) for r in s.scalars(select(CustodyRoom))}
        links = {(c.room_id, c.camera_id) for c in s.scalars(select(CustodyRoomCamera))}
    assert rooms == {
        "cell-1": ("cell", "Station 1"),
        "holding-1": ("holding", "Station 1"),
        "inquiry-1": ("inquiry", "Station 1"),
        "int-1": ("interrogation", "Station 1"),
    }
    assert links == {
        ("cell-1", "cell-cam"),
        ("holding-1", "holding-cam"),
        ("int-1", "interrogation-cam"),
    }


def test_a_whole_stay_in_the_ledger(svc: CustodyService, clock: FakeClock) -> None:
    pid = _enter(svc)
    clock.advance(minutes=10)
    iv = svc.start_interview(pid, room="Interrogation 1", officers=OFFICERS, by="li")
    assert iv.kind == "interrogation"
    assert iv.officers == [
        {"name": "Li Wei", "badge": "031245"},
        {"name": "Wang Fang", "badge": "031877"},
    ]
    clock.advance(minutes=50)
    ended = svc.end_interview(iv.id, by="li", note="done")
    assert ended.ended_at == T0 + timedelta(minutes=60)
    svc.move(pid, room="cell-1", by="li")
    clock.advance(minutes=5)
    svc.record_check(pid, by="guard", note="asleep, roused")
    svc.set_risk(pid, RiskLevel.HIGH, by="nurse")
    status = svc.status()
    assert [p.id for p in status.held] == [pid]
    held = status.held[0]
    assert held.room == "cell-1"
    assert held.risk == "high"
    assert held.minutes_left == 12 * 60 - 65
    assert held.next_check_due == T0 + timedelta(minutes=65 + 15)
    clock.advance(minutes=5)
    out = svc.exit(pid, by="desk")
    assert out.exited_at == T0 + timedelta(minutes=70)
    assert svc.status().held == []
    with svc.db.session() as s:
        stays = [(st.room_id, st.start, st.end) for st in s.scalars(select(Stay).order_by(Stay.id))]
    assert stays == [
        ("holding-1", T0, T0 + timedelta(minutes=10)),
        ("int-1", T0 + timedelta(minutes=10), T0 + timedelta(minutes=60)),
        ("cell-1", T0 + timedelta(minutes=60), T0 + timedelta(minutes=70)),
    ]


def test_resummons_within_12_h_is_flagged(svc: CustodyService, clock: FakeClock) -> None:
    first = _enter(svc)
    clock.advance(hours=2)
    svc.exit(first, by="desk")
    clock.advance(hours=11, minutes=59)
    second = svc.enter(
        name="Zhang San",
        reason="theft",
        basis="summons",
        room="holding-1",
        by="desk",
        id_number="110101199003070011",
    )
    assert second.flags["resummons"]["interval_h"] == pytest.approx(11.98, abs=0.01)
    svc.exit(second.id, by="desk")
    clock.advance(hours=12)
    third = _enter(svc)  # 12 h after the last release: fine
    with svc.db.session() as s:
        alerts = [(a.type, a.person_id) for a in s.scalars(select(Alert))]
    assert alerts == [("resummons", second.id)]
    assert third != second.id


@pytest.mark.parametrize(
    ("kwargs", "kind", "message"),
    [
        ({"basis": "nope"}, InvalidError, "no legal basis 'nope'"),
        ({"basis": "custom"}, InvalidError, "needs the limit in hours"),
        ({"basis": "summons", "limit_h": 30}, InvalidError, "has a limit of 12 h"),
        ({"room": "attic"}, NotFoundError, "no custody room 'attic'"),
        ({"name": " "}, InvalidError, "name and who registers"),
    ],
)
def test_entry_is_refused(
    svc: CustodyService, kwargs: dict[str, object], kind: type[VmsError], message: str
) -> None:
    with pytest.raises(kind, match=message) as raised:
        _enter(svc, **kwargs)
    assert raised.value.subsystem is Subsystem.CUSTODY


def test_custom_limit_and_future_times(svc: CustodyService, clock: FakeClock) -> None:
    pid = _enter(svc, basis="custom", limit_h=3.5)
    assert svc.status().held[0].limit_h == 3.5
    with pytest.raises(InvalidError, match="in the future"):
        svc.record_check(pid, by="guard", at=clock.now() + timedelta(minutes=5))
    with pytest.raises(ConflictError, match="already held"):
        _enter(svc)


def test_a_misspelt_keyword_is_refused_before_anything_is_written(svc: CustodyService) -> None:
    """``at`` and ``actor`` arrive through ``**acting``: a name that is not theirs (an actor
    that would never reach the audit log) is a TypeError, as for any other keyword."""
    pid = _enter(svc)
    calls = {
        "enter": lambda: _enter(svc, name="Li Si", id_number="2", actr=None),
        "move": lambda: svc.move(pid, room="cell-1", by="li", actr=None),
        "start_interview": lambda: svc.start_interview(
            pid, room="inquiry-1", officers=OFFICERS, by="li", actr=None
        ),
        "record_check": lambda: svc.record_check(pid, by="li", actr=None),
        "set_risk": lambda: svc.set_risk(pid, RiskLevel.HIGH, by="li", actr=None),
        "exit": lambda: svc.exit(pid, by="li", actr=None),
        "acknowledge": lambda: svc.acknowledge(1, by="li", note="seen", actr=None),
    }
    for name, call in calls.items():
        with pytest.raises(TypeError, match="actr"):
            call()
        assert [p.id for p in svc.status().held] == [pid], name
    held = svc.status().held[0]
    assert (held.room, held.risk, held.last_check) == ("holding-1", "normal", None)
    iv = svc.start_interview(pid, room="inquiry-1", officers=OFFICERS, by="li")
    with pytest.raises(TypeError, match="actr"):
        svc.end_interview(iv.id, by="li", actr=None)
    assert svc.status().interviews[0].id == iv.id


def test_ledger_refuses_what_cannot_be(svc: CustodyService, clock: FakeClock) -> None:
    pid = _enter(svc)
    with pytest.raises(InvalidError, match="interrogation or inquiry rooms"):
        svc.start_interview(pid, officers=OFFICERS, by="li")  # still in the holding room
    iv = svc.start_interview(pid, room="inquiry-1", officers=OFFICERS, by="li")
    with pytest.raises(ConflictError, match="already in interview"):
        svc.start_interview(pid, room="int-1", officers=OFFICERS, by="li")
    with pytest.raises(ConflictError, match="end it first"):
        svc.move(pid, room="cell-1", by="li")
    with pytest.raises(ConflictError, match="end it first"):
        svc.exit(pid, by="li")
    other = _enter(svc, name="Li Si", id_number="2")
    with pytest.raises(ConflictError, match="in use by interview"):
        svc.start_interview(other, room="inquiry-1", officers=OFFICERS, by="li")
    with pytest.raises(InvalidError, match="badge"):
        svc.start_interview(other, room="int-1", officers=[Officer("X", " ")], by="li")
    clock.advance(minutes=1)
    svc.end_interview(iv.id, by="li")
    with pytest.raises(ConflictError, match="ended at"):
        svc.end_interview(iv.id, by="li")
    svc.exit(pid, by="li")
    with pytest.raises(ConflictError, match="was released"):
        svc.record_check(pid, by="guard")
    with pytest.raises(NotFoundError, match="no person 999"):
        svc.move(999, room="cell-1", by="li")


def test_acknowledgement_needs_user_and_note(svc: CustodyService, clock: FakeClock) -> None:
    pid = _enter(svc)
    svc.exit(pid, by="desk")
    clock.advance(hours=1)
    again = _enter(svc)
    with svc.db.session() as s:
        alert = s.scalars(select(Alert).where(Alert.person_id == again)).one()
    with pytest.raises(InvalidError, match="user and a note"):
        svc.acknowledge(alert.id, by="duty", note=" ")
    acked = svc.acknowledge(alert.id, by="duty", note="approved by the chief")
    assert (acked.acknowledged_by, acked.ack_note, acked.ack_at) == (
        "duty",
        "approved by the chief",
        clock.now(),
    )
    with pytest.raises(ConflictError, match="was acknowledged by duty"):
        svc.acknowledge(alert.id, by="duty", note="again")
    with pytest.raises(NotFoundError, match="no alert 999"):
        svc.acknowledge(999, by="duty", note="x")
