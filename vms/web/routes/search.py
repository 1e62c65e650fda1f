"""Search: events by camera, time, type and zone, narrowed to a person held (the rooms they
were in, while they were there) or a case (its evidence items and clip ranges)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from vms.custody.layout import build_layout
from vms.custody.models import Person, Stay
from vms.db.models import Event
from vms.events import NEWEST, EventFilter, find_events
from vms.evidence.models import Case, EvidenceItem
from vms.i18n import Texts
from vms.web.alerts import acked_ids, event_out
from vms.web.deps import SessionDep, StateDep, WebState
from vms.web.roles import Permission
from vms.web.schemas import PersonBriefOut, SearchHitOut
from vms.web.scope import Scope, scoped

router = APIRouter(prefix="/api/search", tags=["search"])
Searcher = Annotated[Scope, Depends(scoped(Permission.SEARCH))]
Many = Annotated[list[str] | None, Query()]


def _window(camera_ids: list[str], start: datetime, end: datetime | None) -> ColumnElement[bool]:
    cond = and_(Event.camera_id.in_(camera_ids), Event.start >= start)
    return and_(cond, Event.start < end) if end is not None else cond


def _person_filter(s: Session, state: WebState, person_id: int) -> ColumnElement[bool]:
    """Events on the cameras of each room the person was in, while they were there."""
    rooms = build_layout(state.config).rooms
    windows = []
    for stay in s.scalars(select(Stay).where(Stay.person_id == person_id)):
        room = rooms.get(stay.room_id)
        if room is not None and room.cameras:
            windows.append(_window(list(room.cameras), stay.start, stay.end))
    return or_(*windows) if windows else false()


def _case_filter(s: Session, case: Case) -> ColumnElement[bool]:
    """Events that are evidence of the case, or fall in one of its clips' ranges."""
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


def play_url(event: Event, texts: Texts) -> str:
    """The playback page at the event's recording: ``t`` the UTC instant, ``day`` the site's
    local calendar day it falls on (the timeline's day; not the UTC date, which differs from
    it for eight hours of every day in Asia/Shanghai)."""
    at = texts.local(event.recording_start or event.start)
    query = {
        "camera": event.camera_id,
        "day": at.date().isoformat(),
        "t": at.astimezone(UTC).isoformat(),
    }
    return f"/playback?{urlencode(query)}"


@router.get("")
def search(
    s: SessionDep,
    state: StateDep,
    scope: Searcher,
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
    cams = camera or [c.id for c in scope.cameras()]
    for cam_id in cams:
        scope.camera(cam_id)
    conds: list[ColumnElement[bool]] = []
    if person is not None:
        scope.person(s, person)  # 404, or 403 if held only outside the scope
        conds.append(_person_filter(s, state, person))
    if case:
        conds.append(_case_filter(s, scope.case_by_number(s, case)))  # members only
    f = EventFilter(
        cameras=cams,
        types=type or None,
        zone=zone or None,
        since=since,
        until=until,
        where=and_(*conds) if conds else None,
    )
    rows = find_events(s, f, order=NEWEST, limit=limit)
    acked = acked_ids(s, [r.id for r in rows])
    root = state.config.storage.root
    names = {c.id: c.display_name for c in state.cameras.values()}
    texts = state.config.texts()
    return [
        SearchHitOut(
            **event_out(root, r, r.id in acked).model_dump(),
            camera_name=names.get(r.camera_id, r.camera_id),
            recording_start=r.recording_start,
            play_url=play_url(r, texts),
        )
        for r in rows
    ]


@router.get("/people")
def people(s: SessionDep, scope: Searcher) -> list[PersonBriefOut]:
    """People in the custody ledger, newest first: the "person held" filter (only people
    held in a room of the user's camera scope)."""
    q = select(Person).order_by(Person.entered_at.desc()).limit(500)
    return [PersonBriefOut.model_validate(p) for p in s.scalars(q) if scope.person_visible(s, p)]
