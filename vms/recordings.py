"""Queries over the recording index: segments and gaps in a range, and hash verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from vms.db.models import Gap, Segment
from vms.db.session import Database
from vms.storage import Storage, as_storage


def segments_in_range(
    db: Database, camera_id: str | None, start: datetime | None, end: datetime | None
) -> list[Segment]:
    """Segments overlapping [start, end) (open segments count as reaching to now)."""
    q = select(Segment).order_by(Segment.camera_id, Segment.start)
    if camera_id:
        q = q.where(Segment.camera_id == camera_id)
    if end is not None:
        q = q.where(Segment.start < end)
    if start is not None:
        q = q.where(or_(Segment.end.is_(None), Segment.end > start))
    with db.session() as s:
        return list(s.scalars(q))


def gaps_in_range(
    db: Database, camera_id: str | None, start: datetime | None, end: datetime | None
) -> list[Gap]:
    """Gaps overlapping [start, end) (a gap still open reaches to now)."""
    q = select(Gap).order_by(Gap.camera_id, Gap.start)
    if camera_id:
        q = q.where(Gap.camera_id == camera_id)
    if end is not None:
        q = q.where(Gap.start < end)
    if start is not None:
        q = q.where(or_(Gap.end.is_(None), Gap.end > start))
    with db.session() as s:
        return list(s.scalars(q))


def segment_dict(seg: Segment) -> dict[str, Any]:
    return {
        "kind": "segment",
        "id": seg.id,
        "camera": seg.camera_id,
        "start": seg.start.isoformat(),
        "end": seg.end.isoformat() if seg.end else None,
        "duration_s": seg.duration_s,
        "path": seg.path,
        "bytes": seg.bytes,
        "sha256": seg.sha256,
        "codec": seg.codec,
        "width": seg.width,
        "height": seg.height,
        "fps": seg.fps,
        "status": seg.status,
        "location": seg.location,
    }


def gap_dict(gap: Gap) -> dict[str, Any]:
    return {
        "kind": "gap",
        "id": gap.id,
        "camera": gap.camera_id,
        "start": gap.start.isoformat(),
        "end": gap.end.isoformat() if gap.end else None,
        "duration_s": (gap.end - gap.start).total_seconds() if gap.end else None,
        "reason": gap.reason,
    }


@dataclass(frozen=True)
class VerifyResult:
    segment_id: int
    camera_id: str
    path: str
    status: str  # ok, mismatch, missing, unhashed (still recording)
    expected: str | None
    actual: str | None
    location: str = "local"

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def verify_segments(
    db: Database,
    storage: Storage | Path,
    camera_id: str | None = None,
    *,
    node: str | None = None,
) -> list[VerifyResult]:
    """Recompute the SHA-256 of every indexed segment, wherever it lives (node disk or
    bucket), and compare it with the index. With ``node`` (a cluster node), a file on
    another node's disk is reported ``elsewhere``: that node checks it."""
    store = as_storage(storage)
    q = select(Segment).order_by(Segment.camera_id, Segment.start)
    if camera_id:
        q = q.where(Segment.camera_id == camera_id)
    with db.session() as s:
        rows = list(s.scalars(q))
    out: list[VerifyResult] = []
    for seg in rows:
        if node is not None and seg.location == "local" and seg.node not in (None, node):
            out.append(
                VerifyResult(
                    seg.id, seg.camera_id, seg.path, "elsewhere", seg.sha256, None, seg.location
                )
            )
            continue
        found = store.sha256(seg.location, seg.path)
        if found is None:
            status, actual = "missing", None
        elif seg.sha256 is None:
            status, actual = "unhashed", None
        else:
            actual = found[0]
            status = "ok" if actual == seg.sha256 else "mismatch"
        out.append(
            VerifyResult(seg.id, seg.camera_id, seg.path, status, seg.sha256, actual, seg.location)
        )
    return out
