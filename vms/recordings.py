"""Queries over the recording index: segments, their streams, video and audio gaps in a range
(with their views), and hash verification.

A video gap is a time nothing was recorded; an audio gap a time the picture was recorded but
the camera's sound was not. ``gaps_in_range`` returns video gaps unless asked for another kind,
so coverage checks written before audio was recorded keep their meaning;
``audio_gaps_in_range`` returns the audio gaps of a camera (the interview report, the court
copy), ``segment_streams`` what each segment file holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import Field, computed_field
from sqlalchemy import select
from sqlalchemy.orm import Session

from vms.db.models import Event, Gap, Segment, SegmentStream
from vms.db.ranges import find_overlapping, find_overlapping_columns
from vms.db.session import Database
from vms.storage.base import Storage
from vms.storage.resolve import as_storage
from vms.vocab import View


def segments_in_range(
    db: Database, camera_id: str | None, start: datetime | None, end: datetime | None
) -> list[Segment]:
    """Segments overlapping [start, end) (open segments count as reaching to now), by camera
    and start.

    Segments ``empty`` (no playable packet reached the disk) hold no footage and are left out.
    """
    q = select(Segment).where(Segment.status != "empty")
    if camera_id:
        q = q.where(Segment.camera_id == camera_id)
    with db.session() as s:
        return find_overlapping(s, q, Segment, start, end, by_camera=True)


def gaps_in_range(
    db: Database,
    camera_id: str | None,
    start: datetime | None,
    end: datetime | None,
    *,
    kind: str | None = "video",
) -> list[Gap]:
    """Gaps of ``kind`` (video, audio; None: both) overlapping [start, end) (an open gap
    reaches to now), by camera and start."""
    q = select(Gap)
    if camera_id:
        q = q.where(Gap.camera_id == camera_id)
    if kind is not None:
        q = q.where(Gap.kind == kind)
    with db.session() as s:
        return find_overlapping(s, q, Gap, start, end, by_camera=True)


class SegmentSpan(NamedTuple):
    """What a timeline shows of a segment: its time, state and hash, not the whole row."""

    id: int
    start: datetime
    end: datetime | None
    duration_s: float | None
    status: str
    bytes: int | None
    sha256: str | None


class GapSpan(NamedTuple):
    """What a timeline shows of a gap."""

    id: int
    start: datetime
    end: datetime | None
    reason: str
    kind: str


@dataclass(frozen=True)
class DayRows:
    """What a camera's timeline shows of one day: its segments, gaps and events."""

    segments: list[SegmentSpan]
    gaps: list[GapSpan]
    events: list[Event]


#: The most events one day's timeline lists.
TIMELINE_EVENTS = 2000


def day_rows(s: Session, camera_id: str, start: datetime, end: datetime) -> DayRows:
    """The segments, gaps (video and audio) and first events of ``camera_id`` that overlap
    [start, end), each in start order: the playback timeline's query."""

    def spans(model: type[Segment] | type[Gap], fields: tuple[str, ...]) -> list[Any]:
        q = select(*(getattr(model, f) for f in fields)).where(model.camera_id == camera_id)
        return find_overlapping_columns(s, q, model, start, end)

    segments = [SegmentSpan(*r) for r in spans(Segment, SegmentSpan._fields)]
    gaps = [GapSpan(*r) for r in spans(Gap, GapSpan._fields)]
    q = select(Event).where(Event.camera_id == camera_id)
    events = find_overlapping(s, q, Event, start, end, limit=TIMELINE_EVENTS)
    return DayRows(segments, gaps, events)


def audio_gaps_in_range(
    db: Database, camera_id: str | None, start: datetime | None, end: datetime | None
) -> list[Gap]:
    """Times in [start, end) when the camera's picture was recorded without its sound."""
    return gaps_in_range(db, camera_id, start, end, kind="audio")


def segment_streams(db: Database, segment_ids: Sequence[int]) -> dict[int, list[SegmentStream]]:
    """The elementary streams of each segment, video first (segments without rows: [])."""
    out: dict[int, list[SegmentStream]] = {i: [] for i in segment_ids}
    if not segment_ids:
        return out
    q = (
        select(SegmentStream)
        .where(SegmentStream.segment_id.in_(list(segment_ids)))
        .order_by(SegmentStream.segment_id, SegmentStream.index)
    )
    with db.session() as s:
        for row in s.scalars(q):
            out[row.segment_id].append(row)
    return out


def has_audio(streams: Sequence[SegmentStream]) -> bool:
    return any(st.kind == "audio" for st in streams)


def stream_summary(streams: Sequence[SegmentStream]) -> str:
    """``hevc 1920x1080 + pcm_alaw 8000 Hz mono``: what a segment holds, for lists."""
    parts = []
    for st in streams:
        if st.kind == "video":
            size = f" {st.width}x{st.height}" if st.width and st.height else ""
            parts.append(f"{st.codec}{size}")
        else:
            rate = f" {st.sample_rate} Hz" if st.sample_rate else ""
            ch = {1: " mono", 2: " stereo"}.get(
                st.channels or 0, f" {st.channels} ch" if st.channels else ""
            )
            parts.append(f"{st.codec}{rate}{ch}")
    return " + ".join(parts)


class StreamRow(View):
    """One elementary stream of a segment file."""

    index: int
    kind: str
    codec: str
    sample_rate: int | None
    channels: int | None
    width: int | None
    height: int | None
    fps: float | None
    packets: int | None


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
    location: str = Field("local", description="local (a node's disk) or bucket.")
    streams: list[StreamRow] = Field(default_factory=list)

    @classmethod
    def of(cls, seg: Segment, streams: Sequence[SegmentStream] = ()) -> SegmentRow:
        row = cls.model_validate(seg)
        return row.model_copy(update={"streams": [StreamRow.model_validate(st) for st in streams]})


class GapRow(View):
    """A gap in the recording (``end`` None while it lasts): of the picture (``gap_kind``
    video) or of the sound only (audio)."""

    kind: Literal["gap"] = "gap"
    id: int
    camera: str
    start: datetime
    end: datetime | None
    reason: str
    gap_kind: str

    @classmethod
    def of(cls, gap: Gap) -> GapRow:
        return cls(
            id=gap.id, camera=gap.camera_id, start=gap.start, end=gap.end, reason=gap.reason,
            gap_kind=gap.kind,
        )  # fmt: skip

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
    location: str = "local"


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
