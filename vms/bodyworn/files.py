"""Body-worn files as users see them, and search: officer, unit, device, time, place, case."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from vms.bodyworn.models import BodywornFile, CaseLink, Device, Officer, PersonLink
from vms.bodyworn.views import FileView
from vms.clock import utc
from vms.db.models import Segment
from vms.db.session import Database
from vms.errors import InvalidError, NotFoundError
from vms.evidence.models import Case
from vms.vocab import Subsystem

_EARTH_M = 6_371_000.0
MAX_RESULTS = 1000


def view_of(s: Session, row: BodywornFile) -> FileView:
    device = s.get(Device, row.device_id)
    assert device is not None
    officer = s.get(Officer, row.officer_id) if row.officer_id else None
    cases = s.scalars(
        select(Case.number)
        .join(CaseLink, CaseLink.case_id == Case.id)
        .where(CaseLink.file_id == row.id)
        .distinct()
    )
    persons = s.scalars(select(PersonLink.person_id).where(PersonLink.file_id == row.id).distinct())
    return FileView(
        id=row.id,
        sha256=row.sha256,
        status=row.status,
        segment_id=row.segment_id,
        device=device.serial,
        camera_id=device.camera_id,
        officer=officer.badge if officer else None,
        officer_name=officer.name if officer else None,
        unit=officer.unit if officer else None,
        officer_source=row.officer_source,
        start=row.start,
        end=row.end,
        duration_s=row.duration_s,
        time_source=row.time_source,
        original_name=row.original_name,
        container=row.container,
        video_codec=row.video_codec,
        audio_codec=row.audio_codec,
        width=row.width,
        height=row.height,
        fps=row.fps,
        bytes=row.bytes,
        gps=list(row.gps or []),
        source=row.source,
        dock_id=row.dock_id,
        ingested_at=row.ingested_at,
        ingested_by=row.ingested_by,
        lateness_s=row.lateness_s,
        late=row.late,
        category=row.category,
        category_by=row.category_by,
        category_reason=row.category_reason,
        cases=sorted(cases),
        persons=sorted(persons),
    )


def file_row(s: Session, file_id: int) -> BodywornFile:
    row = s.get(BodywornFile, file_id)
    if row is None or row.status != "active":
        raise NotFoundError(f"no body-worn file {file_id}", subsystem=Subsystem.BODYWORN)
    return row


def location_of(s: Session, row: BodywornFile) -> str:
    """Where the file lives, ``local`` or ``bucket`` (vms.storage.base): its ``segments``
    row says, as for any recorded file; ``bw_files.path`` is the same key in either place.
    The tiering job moves a body-worn file by updating that row alone, so no second record
    of the location can disagree with it."""
    seg = s.get(Segment, row.segment_id) if row.segment_id is not None else None
    if seg is None:
        raise NotFoundError(
            f"body-worn file {row.id} has no segment row: the index does not say where it is",
            subsystem=Subsystem.BODYWORN,
        )
    return seg.location


def get_file(db: Database, file_id: int) -> FileView:
    with db.session() as s:
        return view_of(s, file_row(s, file_id))


def file_of_segment(s: Session, segment_id: int) -> BodywornFile | None:
    return s.scalar(select(BodywornFile).where(BodywornFile.segment_id == segment_id))


# --- place ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """A circle (``lat``, ``lon``, ``radius_m``) on the ground."""

    lat: float
    lon: float
    radius_m: float

    def __post_init__(self) -> None:
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise InvalidError(
                f"near: latitude must be -90..90 and longitude -180..180, got "
                f"{self.lat}, {self.lon}",
                subsystem=Subsystem.BODYWORN,
            )
        if not 0 < self.radius_m <= 200_000:
            raise InvalidError(
                f"radius_m must be more than 0 and at most 200000, got {self.radius_m}",
                subsystem=Subsystem.BODYWORN,
            )

    def box(self) -> tuple[float, float, float, float]:
        """(min lat, max lat, min lon, max lon) around the circle."""
        dlat = math.degrees(self.radius_m / _EARTH_M)
        dlon = dlat / max(math.cos(math.radians(self.lat)), 1e-6)
        return self.lat - dlat, self.lat + dlat, self.lon - dlon, self.lon + dlon

    def contains(self, lat: float, lon: float) -> bool:
        return distance_m(self.lat, self.lon, lat, lon) <= self.radius_m


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def passes(track: Sequence[Sequence[float]], area: Area) -> bool:
    return any(area.contains(p[1], p[2]) for p in track)


# --- search -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileQuery:
    """What to look for; every field narrows (None: any)."""

    officer: str | None = None  # badge
    unit: str | None = None
    device: str | None = None  # serial
    start: datetime | None = None  # files overlapping [start, end)
    end: datetime | None = None
    near: Area | None = None
    case_number: str | None = None
    person_id: int | None = None
    category: str | None = None
    late: bool | None = None
    owner_officer_id: int | None = None  # only this officer's files (an officer's own view)
    limit: int = 200


def _conditions(s: Session, q: FileQuery) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = [BodywornFile.status == "active"]
    if q.officer is not None:
        cond.append(
            BodywornFile.officer_id.in_(select(Officer.id).where(Officer.badge == q.officer))
        )
    if q.unit is not None:
        cond.append(BodywornFile.officer_id.in_(select(Officer.id).where(Officer.unit == q.unit)))
    if q.device is not None:
        cond.append(BodywornFile.device_id.in_(select(Device.id).where(Device.serial == q.device)))
    if q.start is not None:
        cond.append(BodywornFile.end > utc(q.start))
    if q.end is not None:
        cond.append(BodywornFile.start < utc(q.end))
    if q.near is not None:
        lat0, lat1, lon0, lon1 = q.near.box()
        cond.append(
            and_(
                BodywornFile.min_lat.is_not(None),
                BodywornFile.min_lat <= lat1,
                BodywornFile.max_lat >= lat0,
                BodywornFile.min_lon <= lon1,
                BodywornFile.max_lon >= lon0,
            )
        )
    if q.case_number is not None:
        case_id = s.scalar(select(Case.id).where(Case.number == q.case_number))
        if case_id is None:
            raise NotFoundError(f"no case {q.case_number!r}", subsystem=Subsystem.BODYWORN)
        cond.append(
            BodywornFile.id.in_(select(CaseLink.file_id).where(CaseLink.case_id == case_id))
        )
    if q.person_id is not None:
        cond.append(
            BodywornFile.id.in_(
                select(PersonLink.file_id).where(PersonLink.person_id == q.person_id)
            )
        )
    if q.category is not None:
        cond.append(BodywornFile.category == q.category)
    if q.late is not None:
        cond.append(BodywornFile.late.is_(q.late))
    if q.owner_officer_id is not None:
        cond.append(BodywornFile.officer_id == q.owner_officer_id)
    return cond


def search_files(db: Database, q: FileQuery) -> list[FileView]:
    """Files matching ``q``, in recording order (at most ``q.limit``, at most 1000)."""
    limit = max(1, min(q.limit, MAX_RESULTS))
    with db.session() as s:
        rows = s.scalars(
            select(BodywornFile)
            .where(*_conditions(s, q))
            .order_by(BodywornFile.start, BodywornFile.id)
        )
        out: list[FileView] = []
        for row in rows:
            if q.near is not None and not passes(row.gps or [], q.near):
                continue
            out.append(view_of(s, row))
            if len(out) >= limit:
                break
        return out


def overlapping(s: Session, start: datetime, end: datetime) -> list[BodywornFile]:
    """Active files recorded at some time in [start, end)."""
    return list(
        s.scalars(
            select(BodywornFile)
            .where(
                BodywornFile.status == "active",
                BodywornFile.start < utc(end),
                or_(BodywornFile.end > utc(start)),
            )
            .order_by(BodywornFile.start)
        )
    )
