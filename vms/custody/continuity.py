"""Continuity of a camera's recording over a time range: the holes between its segments.

A hole is found from the segments themselves (not only from gap rows), so footage that is
missing for any reason shows; gap rows that overlap a hole give its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field, computed_field
from pydantic.dataclasses import dataclass as pydantic_dataclass


@dataclass(frozen=True)
class SegmentSpan:
    """A recorded segment's time range; ``end`` None while it is still being written."""

    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class GapSpan:
    """A gap row: a time the camera was known not to record, and why."""

    start: datetime
    end: datetime | None
    reason: str


@pydantic_dataclass(frozen=True)
class CoverageGap:
    """A part of the range with no recording on ``camera_id`` (a pydantic dataclass: it is
    stored as JSON in interview and alert rows and shown in reports, key ``camera``)."""

    camera_id: str = Field(serialization_alias="camera")
    start: datetime = Field()
    end: datetime = Field()
    reasons: tuple[str, ...] = Field()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_s(self) -> float:
        return round((self.end - self.start).total_seconds(), 3)


def segment_reach(seg: SegmentSpan, now: datetime, segment_s: float, stale_s: float) -> datetime:
    """Where a segment's footage ends; an open one reaches ``now`` unless it is overdue to
    rotate (its writer is gone), when it is taken to end where it should have rotated."""
    if seg.end is not None:
        return seg.end
    due = seg.start + timedelta(seconds=segment_s)
    return now if now <= due + timedelta(seconds=stale_s) else due


def coverage_gaps(
    camera_id: str,
    segments: Sequence[SegmentSpan],
    gaps: Sequence[GapSpan],
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    segment_s: float,
    stale_s: float,
    tolerance_s: float,
) -> list[CoverageGap]:
    """The holes of at least ``tolerance_s`` in the camera's segments over [start, end]."""
    spans = sorted(
        (s.start, segment_reach(s, now, segment_s, stale_s))
        for s in segments
        if s.start < end and segment_reach(s, now, segment_s, stale_s) > start
    )
    holes: list[tuple[datetime, datetime]] = []
    cursor = start
    for a, b in spans:
        if a > cursor:
            holes.append((cursor, a))
        cursor = max(cursor, b)
        if cursor >= end:
            break
    if cursor < end:
        holes.append((cursor, end))
    out: list[CoverageGap] = []
    for a, b in holes:
        if (b - a).total_seconds() < tolerance_s:
            continue
        reasons = tuple(
            dict.fromkeys(g.reason for g in gaps if g.start < b and (g.end is None or g.end > a))
        )
        out.append(CoverageGap(camera_id, a, b, reasons or ("no segment recorded",)))
    return out
