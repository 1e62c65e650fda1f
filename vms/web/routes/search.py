"""Search: events by camera, time, type and zone, narrowed to a person held (the rooms they
were in, while they were there) or a case (its evidence items and clip ranges)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from vms.custody.layout import build_layout
from vms.custody.models import Person, Stay
from vms.db.models import Event
from vms.errors import NotFoundError
from vms.evidence.models import Case, EvidenceItem
from vms.vocab import Subsystem
from vms.web.alerts import acked_ids, event_out
from vms.web.deps import SessionDep, StateDep, WebState, require
from vms.web.roles import Permission
from vms.web.schemas import PersonBriefOut, SearchHitOut
from vms.web.users import Principal

router = APIRouter(prefix="/api/search", tags=["search"])
Searcher = Annotated[Principal, Depends(require(Permission.SEARCH))]
Many = Annotated[list[str] | None, Query()]


def _window(camera_ids: list[str], start: datetime, end: datetime | None) -> ColumnElement[bool]:
    cond = and_(Event.camera_id.in_(camera_ids), Event.start >= start)
    return and_(cond, Event.start < end) if end is not None else cond


def _person_filter(s: Session, state: WebState, person_id: int) -> ColumnElement[bool]:
    """Events on the cameras of each room the person was in, while they were there."""
    if s.get(Person, person_id) is None:
        raise NotFoundError(f"no person {person_id} in the custody ledger", subsystem=Subsystem.WEB)
    rooms = build_layout(state.config).rooms
    windows = []
    for stay in s.scalars(select(Stay).where(Stay.person_id == person_id)):
        room = rooms.get(stay.room_id)
        if room is not None and room.cameras:
            windows.append(_window(list(room.cameras), stay.start, stay.end))
    return or_(*windows) if windows else false()


def _case_filter(s: Session, number: str) -> ColumnElement[bool]:
    """Events that are evidence of the case, or fall in one of its clips' ranges."""
    case = s.scalar(select(Case).where(Case.number == number))
    if case is None:
        raise NotFoundError(f"no case {number!r}", subsystem=Subsystem.WEB)
    items = list(
        s.scalars(
            select(EvidenceItem).where(
                EvidenceItem.case_id == case.id, EvidenceItem.status == "active"
            )
        )
    )
    conds: list[ColumnElement[bool]] = []
    ids = [i.event_id for i in items if i.event_id is not None]
    if ids:
        conds.append(Event.id.in_(ids))
    conds += [_window([i.camera_id], i.start, i.end) for i in items if i.kind == "clip"]
    return or_(*conds) if conds else false()


def play_url(event: Event) -> str:
    at = event.recording_start or event.start
    query = {"camera": event.camera_id, "day": at.date().isoformat(), "t": at.isoformat()}
    return f"/playback?{urlencode(query)}"


@router.get("")
def search(
    s: SessionDep,
    state: StateDep,
    user: Searcher,
    camera: Many = None,
    type: Many = None,
    zone: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    person: int | None = None,
    case: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[SearchHitOut]:
    """Matching events, newest first, each with the link that plays its recording."""
    cams = camera or [c for c in state.cameras if user.sees(c)]
    for cam_id in cams:
        state.camera(cam_id, user)
    q = select(Event).where(Event.camera_id.in_(cams))
    if type:
        q = q.where(Event.type.in_(type))
    if zone:
        q = q.where(Event.zone == zone)
    if since is not None:
        q = q.where(Event.start >= since)
    if until is not None:
        q = q.where(Event.start < until)
    if person is not None:
        q = q.where(_person_filter(s, state, person))
    if case:
        q = q.where(_case_filter(s, case))
    rows = list(s.scalars(q.order_by(Event.start.desc(), Event.id.desc()).limit(limit)))
    acked = acked_ids(s, [r.id for r in rows])
    root = state.config.storage.root
    names = {c.id: c.display_name for c in state.cameras.values()}
    return [
        SearchHitOut(
            **event_out(root, r, r.id in acked).model_dump(),
            camera_name=names.get(r.camera_id, r.camera_id),
            recording_start=r.recording_start,
            play_url=play_url(r),
        )
        for r in rows
    ]


@router.get("/people")
def people(s: SessionDep, user: Searcher) -> list[PersonBriefOut]:
    """People in the custody ledger, newest first: the "person held" filter."""
    q = select(Person).order_by(Person.entered_at.desc()).limit(500)
    return [PersonBriefOut.model_validate(p) for p in s.scalars(q)]
