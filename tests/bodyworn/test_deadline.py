"""Upload deadline: late files alert; a shift's recorder that delivers nothing raises "no
footage from device D for shift S" after the deadline; the daily briefing's body-worn section."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.bodyworn.conftest import SUPERVISOR, T_REC, Bw, Media
from vms.bodyworn.deadline import LateUploadCheck, ShiftFootageCheck
from vms.bodyworn.models import BodywornFile
from vms.bodyworn.officers import add_shift, list_shifts
from vms.db.models import Event
from vms.ops.briefing import build_briefing, render_html
from vms.vocab import EventType, jsonable


def _events(bw: Bw, kind: EventType) -> list[Event]:
    with bw.db.session() as s:
        return list(s.scalars(select(Event).where(Event.type == kind).order_by(Event.id)))


def test_a_shift_without_footage_raises_once_after_the_deadline(bw: Bw, media: Media) -> None:
    start, end = T_REC - timedelta(hours=1), T_REC + timedelta(hours=7)
    add_shift(bw.db, bw.clock, SUPERVISOR, "DSJ-A1", "Day shift 30 Nov (A1)", start, end)
    add_shift(bw.db, bw.clock, SUPERVISOR, "DSJ-B2", "Day shift 30 Nov (B2)", start, end)
    bw.ingest(media.mp4)  # DSJ-A1 recorded during its shift; DSJ-B2 delivers nothing
    check = ShiftFootageCheck(bw.db, bw.config, bw.clock)
    bw.clock.set(end + timedelta(hours=23))  # the deadline has not passed yet
    assert check().missing == []
    bw.clock.set(end + timedelta(hours=25))
    report = check()
    assert len(report.missing) == 1
    [event] = _events(bw, EventType.BODYWORN_NO_FOOTAGE)
    assert event.camera_id == "bw.DSJ-B2"
    assert event.data["message"] == "no footage from device DSJ-B2 for shift Day shift 30 Nov (B2)"
    assert (event.data["officer"], event.data["unit"]) == ("031877", "Patrol 2")
    assert check().missing == []  # once
    shifts = {sh.serial: sh.event_id for sh in list_shifts(bw.db)}
    assert shifts == {"DSJ-A1": None, "DSJ-B2": event.id}


def test_late_uploads_alert_even_after_an_interrupted_ingest(bw: Bw, media: Media) -> None:
    bw.clock.set(T_REC + timedelta(hours=30))
    late = bw.ingest(media.mp4).file_id
    check = LateUploadCheck(bw.db, bw.config, bw.clock)
    assert check().late_alerts == []  # ingest raised it already
    # An ingest interrupted before its alert: the job raises it.
    with bw.db.session() as s:
        row = s.get(BodywornFile, late)
        assert row is not None
        event = s.get(Event, row.late_event_id)
        row.late_event_id = None
        s.flush()
        s.delete(event)
    assert check().late_alerts == [late]
    assert len(_events(bw, EventType.BODYWORN_LATE_UPLOAD)) == 1


def test_the_briefing_has_a_body_worn_section(bw: Bw, media: Media) -> None:
    bw.clock.set(T_REC + timedelta(hours=30))
    bw.ingest(media.mp4)  # late, Li Wei (Patrol 1)
    bw.ingest(media.mov)  # late, Wang Fang (Patrol 2)
    bw.ingest(media.hevc, device_serial="DSJ-Q7")  # unassigned recorder
    day = bw.clock.now().date()
    data = build_briefing(bw.db, day, clock=bw.clock)
    assert data.bodyworn is not None
    section = jsonable(data.bodyworn)
    assert (section["files"], section["late"], section["unassigned"]) == (3, 2, 1)
    assert section["late_by_unit"] == {"Patrol 1": 1, "Patrol 2": 1}
    officers = {o["badge"]: (o["files"], o["late"]) for o in section["by_officer"]}
    assert officers == {"031245": (1, 1), "031877": (1, 1), "(unassigned)": (1, 0)}
    assert section["seconds"] == pytest.approx(6 + 4 + 3, abs=1.5)
    page = render_html(jsonable(data))
    assert "Body-worn footage" in page
    assert "Patrol 2" in page
