"""Queries over the ``events`` table, for every reader: ``vms events search``, the alert feed
and ``/api/events``, the search page. One place builds the query, so each filter meets the
index that serves it: (camera, type, start), (type, start), (zone, start), (start).

    rows = find_events(session, EventFilter(cameras=["door"], since=t0), order=NEWEST, limit=50)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator
from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from vms.db.models import Event
from vms.db.session import Database
from vms.vocab import View

#: oldest / newest: by start time (then id); written: newest row first (the feed's order).
Order = Literal["oldest", "newest", "written"]
OLDEST: Order = "oldest"
NEWEST: Order = "newest"
WRITTEN: Order = "written"


@dataclass(frozen=True)
class EventFilter:
    """Which events: every given filter applies; ``cameras`` None means every camera."""

    cameras: Collection[str] | None = None
    types: Collection[str] | None = None
    zone: str | None = None
    since: datetime | None = None  # started at or after
    until: datetime | None = None  # started before
    where: ColumnElement[bool] | None = None  # a further condition (a person's stays, a case)


def _one_of(column: InstrumentedAttribute[str], values: Collection[str]) -> ColumnElement[bool]:
    """``column = v`` for one value (the index reads best), ``IN`` for more, false for none."""
    wanted = sorted(values)
    if not wanted:
        return false()
    return column == wanted[0] if len(wanted) == 1 else column.in_(wanted)


def select_events(f: EventFilter, *, order: Order = OLDEST, limit: int = 1000) -> Select[Any]:
    """The SELECT of the events ``f`` matches, in ``order``, at most ``limit``."""
    q = select(Event)
    if f.cameras is not None:
        q = q.where(_one_of(Event.camera_id, f.cameras))
    if f.types:
        q = q.where(_one_of(Event.type, f.types))
    if f.zone is not None:
        q = q.where(Event.zone == f.zone)
    if f.since is not None:
        q = q.where(Event.start >= f.since)
    if f.until is not None:
        q = q.where(Event.start < f.until)
    if f.where is not None:
        q = q.where(f.where)
    if order == WRITTEN:
        q = q.order_by(Event.id.desc())
    elif order == NEWEST:
        q = q.order_by(Event.start.desc(), Event.id.desc())
    else:
        q = q.order_by(Event.start, Event.id)
    return q.limit(limit)


def find_events(
    s: Session, f: EventFilter, *, order: Order = OLDEST, limit: int = 1000
) -> list[Event]:
    return list(s.scalars(select_events(f, order=order, limit=limit)))


def search_events(
    db: Database,
    *,
    camera: str | None = None,
    type: str | None = None,
    zone: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> list[Event]:
    """Events that started in ``[start, end)``, oldest first, by camera, type and zone."""
    f = EventFilter(
        cameras=None if camera is None else [camera],
        types=None if type is None else [type],
        zone=zone,
        since=start,
        until=end,
    )
    with db.session() as s:
        return find_events(s, f, limit=limit)


class EventView(View):
    """An event row as ``vms events search --json`` prints it."""

    id: int
    type: str
    camera: str = Field(validation_alias="camera_id")
    zone: str | None
    start: datetime
    end: datetime | None
    severity: str
    track_ids: list[int] = Field(description="Tracks that made the event (empty: none).")
    peak_count: int | None
    confidence: float | None
    snapshot: str | None = Field(description="JPEG path under the storage root.")
    recording_start: datetime | None
    recording_end: datetime | None
    data: dict[str, Any]

    @field_validator("track_ids", mode="before")
    @classmethod
    def _no_tracks(cls, value: object) -> object:
        return [] if value is None else value
