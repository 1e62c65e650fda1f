"""Queries over the recording index: segments and gaps in a range (with their views), and
hash verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, computed_field
from sqlalchemy import Select, or_, select

from vms.db.models import Gap, Segment
from vms.db.session import Database
from vms.vocab import View, sha256_file


def _in_range(
    model: type[Segment] | type[Gap],
    camera_id: str | None,
    start: datetime | None,
    end: datetime | None,
) -> Select[Any]:
    q = select(model).order_by(model.camera_id, model.start)
    if camera_id:
        q = q.where(model.camera_id == camera_id)
    if end is not None:
        q = q.where(model.start < end)
    if start is not None:
        q = q.where(or_(model.end.is_(None), model.end > start))
    return q


def segments_in_range(
    db: Database, camera_id: str | None, start: datetime | None, end: datetime | None
) -> list[Segment]:
    """Segments overlapping [start, end) (open segments count as reaching to now)."""
    with db.session() as s:
        return list(s.scalars(_in_range(Segment, camera_id, start, end)))


def gaps_in_range(
    db: Database, camera_id: str | None, start: datetime | None, end: datetime | None
) -> list[Gap]:
    """Gaps overlapping [start, end) (a gap still open reaches to now)."""
    with db.session() as s:
        return list(s.scalars(_in_range(Gap, camera_id, start, end)))


class SegmentRow(View):
    """A recorded segment as ``vms recordings list`` shows it."""

    kind: Literal["segment"] = "segment"
    id: int
    camera: str = Field(validation_alias="camera_id")
    start: datetime
    end: datetime | None
    duration_s: float | None
    path: str
    bytes: int | None
    sha256: str | None
    codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    status: str


class GapRow(View):
    """A gap in the recording (``end`` None while it lasts)."""

    kind: Literal["gap"] = "gap"
    id: int
    camera: str = Field(validation_alias="camera_id")
    start: datetime
    end: datetime | None
    reason: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_s(self) -> float | None:
        return (self.end - self.start).total_seconds() if self.end else None


@dataclass(frozen=True)
class VerifyResult:
    segment_id: int
    camera_id: str
    path: str
    status: str  # ok, mismatch, missing, unhashed (still recording)
    expected: str | None
    actual: str | None


def verify_segments(db: Database, root: Path, camera_id: str | None = None) -> list[VerifyResult]:
    """Recompute the SHA-256 of every indexed segment and compare it with the index."""
    q = select(Segment).order_by(Segment.camera_id, Segment.start)
    if camera_id:
        q = q.where(Segment.camera_id == camera_id)
    with db.session() as s:
        rows = list(s.scalars(q))
    out: list[VerifyResult] = []
    for seg in rows:
        path = root / seg.path
        if seg.sha256 is None:
            status, actual = ("missing" if not path.exists() else "unhashed"), None
        elif not path.exists():
            status, actual = "missing", None
        else:
            actual, _size = sha256_file(path)
            status = "ok" if actual == seg.sha256 else "mismatch"
        out.append(VerifyResult(seg.id, seg.camera_id, seg.path, status, seg.sha256, actual))
    return out
