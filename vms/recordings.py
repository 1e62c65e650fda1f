"""Queries over the recording index: segments, their streams, video and audio gaps in a range,
and hash verification.

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
from typing import Any

from sqlalchemy import or_, select

from vms.db.models import Gap, Segment, SegmentStream
from vms.db.session import Database
from vms.storage import Storage, as_storage


def segments_in_range(
    db: Database, camera_id: str | None, start: datetime | None, end: datetime | None
) -> list[Segment]:
    """Segments overlapping [start, end) (open segments count as reaching to now).

    Segments ``empty`` (no playable packet reached the disk) hold no footage and are left out.
    """
    q = select(Segment).where(Segment.status != "empty").order_by(Segment.camera_id, Segment.start)
    if camera_id:
        q = q.where(Segment.camera_id == camera_id)
    if end is not None:
        q = q.where(Segment.start < end)
    if start is not None:
        q = q.where(or_(Segment.end.is_(None), Segment.end > start))
    with db.session() as s:
        return list(s.scalars(q))


def gaps_in_range(
    db: Database,
    camera_id: str | None,
    start: datetime | None,
    end: datetime | None,
    *,
    kind: str | None = "video",
) -> list[Gap]:
    """Gaps of ``kind`` (video, audio; None: both) overlapping [start, end) (an open gap
    reaches to now)."""
    q = select(Gap).order_by(Gap.camera_id, Gap.start)
    if kind is not None:
        q = q.where(Gap.kind == kind)
    if camera_id:
        q = q.where(Gap.camera_id == camera_id)
    if end is not None:
        q = q.where(Gap.start < end)
    if start is not None:
        q = q.where(or_(Gap.end.is_(None), Gap.end > start))
    with db.session() as s:
        return list(s.scalars(q))


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


def segment_dict(seg: Segment, streams: Sequence[SegmentStream] = ()) -> dict[str, Any]:
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
        "streams": [
            {
                "index": st.index,
                "kind": st.kind,
                "codec": st.codec,
                "sample_rate": st.sample_rate,
                "channels": st.channels,
                "width": st.width,
                "height": st.height,
                "fps": st.fps,
                "packets": st.packets,
            }
            for st in streams
        ],
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
        "gap_kind": gap.kind,
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
