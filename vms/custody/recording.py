"""What the recording index says of the custody rooms' cameras, for the custody rules: the
newest segment, an open gap, whether the camera records sound and since when it does not.

Read by the periodic checks (``vms.custody.job``) and by the service when an interview
starts (``CustodyService.start_interview``): one place, so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vms.config import Config
from vms.custody.layout import Layout
from vms.custody.rules import CameraRecording
from vms.db.models import Gap, Segment, SegmentStream
from vms.errors import ConfigError

DEFAULT_SEGMENT_S = 60.0


def segment_seconds(config: Config, camera_id: str) -> float:
    """The camera's segment length (60 s for a camera since removed from the configuration)."""
    try:
        return config.camera(camera_id).segment_seconds
    except ConfigError:  # a camera since removed from the configuration
        return DEFAULT_SEGMENT_S


def _sound(
    s: Session, camera_id: str, latest: Segment | None
) -> tuple[bool | None, datetime | None]:
    """(whether the newest segment holds an audio stream (None: unknown), since when the
    camera records none: the first segment without one after the last with one)."""
    if latest is None:
        return None, None
    kinds = set(s.scalars(select(SegmentStream.kind).where(SegmentStream.segment_id == latest.id)))
    if not kinds:
        return None, None  # indexed without its streams (before migration 0012)
    if "audio" in kinds:
        return True, None
    last_heard = s.scalar(
        select(func.max(Segment.start))
        .join(SegmentStream, SegmentStream.segment_id == Segment.id)
        .where(Segment.camera_id == camera_id, SegmentStream.kind == "audio")
    )
    q = select(func.min(Segment.start)).where(Segment.camera_id == camera_id)
    if last_heard is not None:
        q = q.where(Segment.start > last_heard)
    return False, s.scalar(q)


def camera_recordings(
    s: Session, config: Config, layout: Layout, cameras: Iterable[str] | None = None
) -> dict[str, CameraRecording]:
    """What the index says of each camera of the custody rooms (or of ``cameras``)."""
    cams = sorted(
        cameras if cameras is not None else {c for r in layout.rooms.values() for c in r.cameras}
    )
    out: dict[str, CameraRecording] = {}
    for cam in cams:
        latest = s.scalars(
            select(Segment).where(Segment.camera_id == cam).order_by(Segment.start.desc()).limit(1)
        ).first()
        gap_since = s.scalar(
            select(func.min(Gap.start)).where(
                Gap.camera_id == cam, Gap.end.is_(None), Gap.kind == "video"
            )
        )
        try:
            record = config.camera(cam).record
        except ConfigError:
            record = False
        audio, no_audio_since = _sound(s, cam, latest)
        out[cam] = CameraRecording(
            cam,
            record,
            segment_seconds(config, cam),
            latest.start if latest else None,
            latest.end if latest else None,
            gap_since,
            audio=audio,
            no_audio_since=no_audio_since,
        )
    return out
