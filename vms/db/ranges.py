"""Rows of a camera's footage that overlap a time range: segments, gaps and events.

Each such row has ``start`` and ``end`` (``end`` NULL while it lasts). A row overlaps
[lo, hi) when it starts before ``hi`` and has not ended by ``lo``. Asked as it stands, that
condition has no lower bound on ``start``: the database reads every older row of the camera,
and on PostgreSQL, where these tables are partitioned by ``start`` (migration 0017), every
older partition. So the question is asked in two parts that cannot overlap:

- rows that began at most ``LONG`` before ``lo``: bounded on both sides, they meet the
  (camera, start) index and only the partitions of the range;
- older rows that still overlap: those are *long* (open, or longer than ``LONG``: an outage,
  a body-worn file), and a partial index of long rows (``ix_<table>_long``) holds just them.

A row of the second part is long by definition, so the index's predicate is added to its
condition only to let the database see that the index applies; each backend states it in
its own date arithmetic, the way migration 0017 declared the index.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, true
from sqlalchemy.orm import Session

from vms.db.models import Event, Gap, Segment

#: A row longer than this (or still open) is in the table's partial index of long rows.
LONG = timedelta(hours=2)

Row = TypeVar("Row", Segment, Gap, Event)


def is_long(model: type[Segment] | type[Gap] | type[Event], dialect: str) -> ColumnElement[bool]:
    """The predicate of ``ix_<table>_long``, written as the migration wrote it."""
    if dialect == "postgresql":  # timestamptz - timestamptz is immutable, + interval is not
        longer = model.end - model.start > literal_column("interval '2 hours'")
    else:
        longer = model.end > func.datetime(model.start, literal_column("'+2 hours'"))
    return or_(model.end.is_(None), longer)


def overlapping_parts(
    model: type[Segment] | type[Gap] | type[Event],
    start: datetime | None,
    end: datetime | None,
    dialect: str,
) -> list[ColumnElement[bool]]:
    """The conditions, each to be asked on its own, whose rows together are those that
    overlap [start, end) (``None``: unbounded on that side): the older rows' first."""
    before_end = model.start < end if end is not None else None
    if start is None:
        return [before_end] if before_end is not None else [true()]
    not_ended = or_(model.end.is_(None), model.end > start)
    recent = [model.start >= start - LONG, not_ended]
    older = [model.start < start - LONG, is_long(model, dialect), not_ended]
    if before_end is not None:
        recent.append(before_end)
    return [and_(*older), and_(*recent)]


def _parts(
    s: Session,
    query: Select[Any],
    model: type[Segment] | type[Gap] | type[Event],
    start: datetime | None,
    end: datetime | None,
    limit: int | None,
    by_camera: bool,
) -> list[Select[Any]]:
    dialect = s.get_bind().dialect.name
    order: list[Any] = [model.camera_id] if by_camera else []
    order += [model.start, model.id]
    out = []
    for part in overlapping_parts(model, start, end, dialect):
        q = query.where(part).order_by(*order)
        out.append(q.limit(limit) if limit is not None else q)
    return out


def _merged(rows: list[Any], limit: int | None, by_camera: bool) -> list[Any]:
    """The parts' rows (the older part's first) in the order asked. In start order they
    are that already: each part is ordered, and every row of the older part began before
    any of the recent one. Camera first, the parts interleave and are sorted."""
    if by_camera:
        rows.sort(key=lambda r: (r.camera_id, r.start, r.id))
    return rows[:limit] if limit is not None else rows


def find_overlapping(
    s: Session,
    query: Select[Row],
    model: type[Row],
    start: datetime | None,
    end: datetime | None,
    *,
    limit: int | None = None,
    by_camera: bool = False,
) -> list[Row]:
    """The rows of ``query`` (a ``select(model)`` with its other filters) that overlap
    [start, end), in start order (camera first with ``by_camera``), at most ``limit``."""
    rows: list[Row] = []
    for q in _parts(s, query, model, start, end, limit, by_camera):
        rows.extend(s.scalars(q))
    return _merged(rows, limit, by_camera)


def find_overlapping_columns(
    s: Session,
    query: Select[Any],
    model: type[Segment] | type[Gap] | type[Event],
    start: datetime | None,
    end: datetime | None,
    *,
    limit: int | None = None,
) -> list[Any]:
    """``find_overlapping`` for a ``select`` of some of ``model``'s columns (``id`` and
    ``start`` among them): plain result rows, a third of the cost of whole ORM objects when
    a day of a camera is 1,440 segments."""
    conn = s.connection()  # plain rows: no ORM loading for a select of columns
    rows: list[Any] = []
    for q in _parts(s, query, model, start, end, limit, False):
        rows.extend(conn.execute(q).all())
    return _merged(rows, limit, False)
