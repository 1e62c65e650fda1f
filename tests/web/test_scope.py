"""The camera-scope rule (vms.web.scope.Visibility) and the live feed that applies it."""

from __future__ import annotations

from datetime import UTC, datetime

from vms.web.alerts import Listener
from vms.web.roles import Role
from vms.web.schemas import CustodyMessage
from vms.web.scope import Visibility
from vms.web.users import Principal

ROOMS = {"cell-1": ("cam-cell",), "hall": ("cam-hall", "cam-door"), "store": ()}
SCOPED = Visibility(frozenset({"cam-hall"}), ROOMS)
EVERYTHING = Visibility(None, ROOMS)


def test_a_scoped_user_sees_only_their_cameras_rooms_and_alerts() -> None:
    assert SCOPED.camera("cam-hall")
    assert not SCOPED.camera("cam-cell")
    assert not SCOPED.camera(None)
    assert SCOPED.room("hall")  # one of its cameras is in scope
    assert not SCOPED.room("cell-1")
    assert not SCOPED.room("store")  # a room without cameras: only without a scope
    assert not SCOPED.room("nowhere")
    assert SCOPED.alert("cam-hall", "cell-1")  # the camera decides when there is one
    assert not SCOPED.alert("cam-cell", "hall")
    assert SCOPED.alert(None, "hall")  # else the room
    assert not SCOPED.alert(None, "cell-1")
    assert not SCOPED.alert(None, None)  # else only an unscoped user
    assert SCOPED.cameras(["cam-hall"])
    assert not SCOPED.cameras(["cam-hall", "cam-cell"])
    assert not SCOPED.cameras([])  # nothing known: not shown to a scoped user
    for check in (
        EVERYTHING.camera("cam-cell"),
        EVERYTHING.room("store"),
        EVERYTHING.alert(None, None),
        EVERYTHING.cameras([]),
    ):
        assert check


def _alert(room: str | None, camera: str | None) -> CustodyMessage:
    return CustodyMessage(
        id=1,
        type="person_alone",
        severity="critical",
        level=1,
        message="Zhang San alone",
        site="Station 1",
        room_id=room,
        person_id=None,
        interview_id=None,
        camera_id=camera,
        event_id=None,
        raised_at=datetime(2026, 3, 1, tzinfo=UTC),
        cleared_at=None,
        escalated_at=None,
        acknowledged_by=None,
        ack_note=None,
        ack_at=None,
        data={},
        room_name=room,
        open=True,
    )


def test_the_feed_sends_a_custody_alert_only_to_who_may_see_its_room() -> None:
    user = Principal(1, "sup", Role.SUPERVISOR, frozenset({"cam-hall"}), "session")
    scoped = Listener(user, 0, visible=SCOPED.alert)
    everyone = Listener(
        Principal(2, "chief", Role.SUPERVISOR, None, "session"), 0, visible=EVERYTHING.alert
    )
    for msg in (_alert("cell-1", None), _alert(None, None), _alert("hall", None)):
        scoped.offer(msg)
        everyone.offer(msg)
    assert [m.room for m in _drain(scoped)] == ["hall"]
    assert [m.room for m in _drain(everyone)] == ["cell-1", None, "hall"]


def _drain(listener: Listener) -> list[CustodyMessage]:
    out = []
    while not listener.queue.empty():
        message = listener.queue.get_nowait()
        assert isinstance(message, CustodyMessage)
        out.append(message)
    return out
