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
    """A part of the range with no recording on ``camera_id`` (``kind`` video), or with the
    picture recorded without sound (``kind`` audio). A pydantic dataclass: it is stored as JSON
    in interview and alert rows and shown in reports, key ``camera``."""

    camera_id: str = Field(serialization_alias="camera")
    start: datetime = Field()
    end: datetime = Field()
    reasons: tuple[str, ...] = Field()
    kind: str = Field(default="video", description="video: nothing recorded; audio: no sound.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_s(self) -> float:
        return round((self.end - self.start).total_seconds(), 3)


def writer_gone_at(start: datetime, segment_s: float, stale_s: float) -> datetime:
    """When the writer of a segment still open counts as gone: ``stale_s`` after the segment
    was due to rotate."""
    return start + timedelta(seconds=segment_s + stale_s)


def segment_reach(seg: SegmentSpan, now: datetime, segment_s: float, stale_s: float) -> datetime:
    """Where a segment's footage ends; an open one reaches ``now`` unless it is overdue to
    rotate (its writer is gone), when it is taken to end where it should have rotated."""
    if seg.end is not None:
        return seg.end
    if now <= writer_gone_at(seg.start, segment_s, stale_s):
        return now
    return seg.start + timedelta(seconds=segment_s)


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


@dataclass(frozen=True)
class SoundSpan:
    """A recorded segment's time range and whether its file holds the camera's sound."""

    segment_id: int
    start: datetime
    end: datetime | None
    has_audio: bool


NO_AUDIO_STREAM = "the recording holds no audio stream"


def sound_gaps(
    camera_id: str,
    segments: Sequence[SoundSpan],
    audio_gaps: Sequence[GapSpan],
    picture_gaps: Sequence[CoverageGap],
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    segment_s: float,
    stale_s: float,
    tolerance_s: float,
) -> list[CoverageGap]:
    """The times in [start, end] the camera's picture was recorded without its sound: its
    segments without an audio stream and its audio gap rows, less its picture gaps (a time
    with no recording at all is a picture gap, listed once)."""
    missing: list[tuple[datetime, datetime, str]] = []
    for seg in segments:
        if not seg.has_audio:
            reach = segment_reach(SegmentSpan(seg.start, seg.end), now, segment_s, stale_s)
            missing.append((seg.start, reach, NO_AUDIO_STREAM))
    for g in audio_gaps:
        missing.append((g.start, g.end or now, g.reason))
    spans = sorted((max(a, start), min(b, end)) for a, b, _r in missing if a < end and b > start)
    merged: list[tuple[datetime, datetime]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    holes = sorted((g.start, g.end) for g in picture_gaps)
    out: list[CoverageGap] = []
    for a, b in merged:
        for pa, pb in holes:  # take the picture gaps out
            if pb <= a or pa >= b:
                continue
            if pa > a:
                out += _sound_gap(camera_id, a, pa, missing, tolerance_s)
            a = max(a, pb)
        if a < b:
            out += _sound_gap(camera_id, a, b, missing, tolerance_s)
    return out


def _sound_gap(
    camera_id: str,
    a: datetime,
    b: datetime,
    missing: Sequence[tuple[datetime, datetime, str]],
    tolerance_s: float,
) -> list[CoverageGap]:
    reasons = tuple(dict.fromkeys(r for ma, mb, r in missing if ma < b and mb > a))
    # The tolerance forgives the jitter of a microphone's gaps, not footage that holds no sound
    # at all: an interview seconds old in a room whose camera has no audio is already missing it.
    if (b - a).total_seconds() < tolerance_s and NO_AUDIO_STREAM not in reasons:
        return []
    return [CoverageGap(camera_id, a, b, reasons or ("no sound recorded",), "audio")]
