"""ORM models of the index: cameras, segments, gaps and events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from vms.clock import utc


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else utc(value)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Camera(Base):
    """A camera as last configured; kept so other processes and machines can read it."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(200))
    room: Mapped[str | None] = mapped_column(String(200))
    room_type: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text, doc="Source URL with any password removed.")
    record: Mapped[bool]
    retention_days: Mapped[int]
    updated_at: Mapped[datetime]


class Segment(Base):
    """One recorded file: the camera's own packets, remuxed, hashed when closed."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    duration_s: Mapped[float | None] = mapped_column(Float)
    path: Mapped[str] = mapped_column(String(500), unique=True, doc="Relative to storage root.")
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    codec: Mapped[str] = mapped_column(String(32))
    width: Mapped[int | None]
    height: Mapped[int | None]
    fps: Mapped[float | None] = mapped_column(Float)
    packets: Mapped[int | None]
    status: Mapped[str] = mapped_column(
        String(16),
        doc=(
            "recording (open), complete, recovered (closed by the crash scan), empty (no "
            "playable packet reached the disk, e.g. the disk was full: covers no time), "
            "unreadable or missing."
        ),
    )
    location: Mapped[str] = mapped_column(
        String(16), default="local", server_default="local", doc="local (node disk) or bucket."
    )
    node: Mapped[str | None] = mapped_column(String(64), doc="Node whose disk holds it (local).")
    note: Mapped[str | None] = mapped_column(Text, doc="Why it is missing, when it is.")

    __table_args__ = (
        Index("ix_segments_camera_start", "camera_id", "start"),
        Index("ix_segments_camera_end", "camera_id", "end"),
        Index("ix_segments_status", "status"),
        Index("ix_segments_location_end", "location", "end"),
    )


class SegmentStream(Base):
    """One elementary stream of a segment file, as the camera sent it (0: the video)."""

    __tablename__ = "segment_streams"

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True, doc="Position in the file.")
    kind: Mapped[str] = mapped_column(String(8), doc="video or audio.")
    codec: Mapped[str] = mapped_column(String(32), doc="FFmpeg codec name: h264, hevc, aac ...")
    sample_rate: Mapped[int | None]
    channels: Mapped[int | None]
    width: Mapped[int | None]
    height: Mapped[int | None]
    fps: Mapped[float | None] = mapped_column(Float)
    bit_rate: Mapped[int | None] = mapped_column(
        BigInteger, doc="As the camera declared it (G.726: the code size is bit_rate / 8000)."
    )
    packets: Mapped[int | None] = mapped_column(Integer, doc="Packets of this stream in the file.")


class Gap(Base):
    """A time when a camera was not recorded, with why. ``end`` is NULL while it lasts.

    ``kind`` video: nothing was recorded (the whole outage); audio: the picture was recorded
    but the camera's sound was not (its microphone or audio stream stopped).
    """

    __tablename__ = "gaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(8), default="video", server_default="video")

    __table_args__ = (
        Index("ix_gaps_camera_start", "camera_id", "start"),
        Index("ix_gaps_kind_camera_start", "kind", "camera_id", "start"),
    )


class Event(Base):
    """Something that happened on a camera (camera offline, loitering, ...), start to end."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    zone: Mapped[str | None] = mapped_column(String(100))
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    severity: Mapped[str] = mapped_column(String(16), default="info")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Analytics (migration 0003): who, how many, how sure, what it looked like, what to play.
    track_ids: Mapped[list[int] | None] = mapped_column(JSON)
    peak_count: Mapped[int | None]
    confidence: Mapped[float | None] = mapped_column(Float)
    snapshot: Mapped[str | None] = mapped_column(
        String(500), doc="JPEG with boxes drawn when it fired, relative to the storage root."
    )
    recording_start: Mapped[datetime | None]
    recording_end: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_events_camera_start", "camera_id", "start"),
        Index("ix_events_type_start", "type", "start"),
        Index("ix_events_start", "start"),
        Index("ix_events_camera_type_start", "camera_id", "type", "start"),
        Index("ix_events_zone_start", "zone", "start"),
    )
