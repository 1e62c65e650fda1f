"""ORM models of body-worn footage: officers, devices and their assignments, files, links,
approvals, uploads in progress, the ingest log and what the docks hold.

A device is also a row of ``cameras`` (kind ``bodyworn``, id ``bw.<serial>``) and each stored
file is also a ``segments`` row of it: the playback timeline, clips, legal holds, hash
re-verification and exports treat a recorder like any camera.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import vms.custody.models
import vms.evidence.models
import vms.web.models  # noqa: F401 (the tables this module's foreign keys name)
from vms.db.models import Base


class Officer(Base):
    """A police officer who wears a recorder; ``user_id`` links the vms account, if any."""

    __tablename__ = "bw_officers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    badge: Mapped[str] = mapped_column(String(32), unique=True, doc="Police number (警号).")
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(200), doc="Station, squad or department.")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))


class Device(Base):
    """A body-worn recorder, by serial number; ``camera_id`` is its row in ``cameras``."""

    __tablename__ = "bw_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(48), unique=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), unique=True)
    model: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    registered: Mapped[bool] = mapped_column(
        Boolean, default=True, doc="False when first seen in a file rather than registered."
    )
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))


class Assignment(Base):
    """A device in an officer's hands from ``start`` until ``end`` (NULL: still)."""

    __tablename__ = "bw_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("bw_devices.id"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("bw_officers.id"))
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_bw_assignments_device_start", "device_id", "start"),)


class Shift(Base):
    """A duty shift a device was issued for: footage is expected from it."""

    __tablename__ = "bw_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    device_id: Mapped[int] = mapped_column(ForeignKey("bw_devices.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("bw_officers.id"))
    start: Mapped[datetime]
    end: Mapped[datetime]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id"), doc="The 'no footage' alert, once raised."
    )

    __table_args__ = (Index("ix_bw_shifts_end", "end"),)


class BodywornFile(Base):
    """One recorder file, stored byte for byte; ``segment_id`` is its row in ``segments``."""

    __tablename__ = "bw_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL"), unique=True
    )
    device_id: Mapped[int] = mapped_column(ForeignKey("bw_devices.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("bw_officers.id"))
    officer_source: Mapped[str] = mapped_column(
        String(16), doc="assignment (device history), declared (by the uploader), or none."
    )
    status: Mapped[str] = mapped_column(String(16), doc="active or deleted")
    path: Mapped[str] = mapped_column(String(500), doc="Store key (relative to storage root).")
    bytes: Mapped[int] = mapped_column(BigInteger)
    original_name: Mapped[str] = mapped_column(String(300))
    container: Mapped[str] = mapped_column(String(64))
    video_codec: Mapped[str] = mapped_column(String(32))
    audio_codec: Mapped[str | None] = mapped_column(String(32))
    width: Mapped[int | None]
    height: Mapped[int | None]
    fps: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    start: Mapped[datetime]
    end: Mapped[datetime]
    time_source: Mapped[str] = mapped_column(String(16), doc="metadata, file_name or file_time")
    gps: Mapped[list[list[float]] | None] = mapped_column(
        JSON, doc="[[seconds from start, latitude, longitude], ...]"
    )
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    min_lon: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="Container metadata tags.")
    source: Mapped[str] = mapped_column(String(16), doc="dock, upload or cli")
    dock_id: Mapped[str | None] = mapped_column(String(64))
    ingested_at: Mapped[datetime]
    ingested_by: Mapped[str] = mapped_column(String(100))
    lateness_s: Mapped[float] = mapped_column(Float, doc="Upload time minus recording end.")
    late: Mapped[bool] = mapped_column(Boolean)
    late_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    category: Mapped[str] = mapped_column(String(24))
    category_by: Mapped[str | None] = mapped_column(String(100))
    category_reason: Mapped[str | None] = mapped_column(Text)
    category_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_bw_files_device_start", "device_id", "start"),
        Index("ix_bw_files_officer_start", "officer_id", "start"),
        Index("ix_bw_files_start", "start"),
        Index("ix_bw_files_category", "category", "status"),
    )


class _Linked:
    """What every link of a file keeps: a note, why, who made it and when."""

    note: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))


class CaseLink(_Linked, Base):
    """A file (or a time range of it) linked to a case file; it is held while linked."""

    __tablename__ = "bw_case_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("bw_files.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    start: Mapped[datetime]
    end: Mapped[datetime]
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id"))

    __table_args__ = (
        Index("ix_bw_case_links_file", "file_id"),
        Index("ix_bw_case_links_case", "case_id"),
    )


class PersonLink(_Linked, Base):
    """A file linked to a person held (custody ledger)."""

    __tablename__ = "bw_person_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("bw_files.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("custody_persons.id"))

    __table_args__ = (
        Index("ix_bw_person_links_file", "file_id"),
        Index("ix_bw_person_links_person", "person_id"),
    )


class Approval(Base):
    """A request to view or copy a file outside one's own, and the supervisor's decision."""

    __tablename__ = "bw_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("bw_files.id"))
    action: Mapped[str] = mapped_column(String(8), doc="view, or copy (download, clip; views)")
    requested_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    hours: Mapped[float] = mapped_column(Float)
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), doc="pending, granted, refused or revoked")
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    valid_until: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_bw_approvals_file", "file_id"),
        Index("ix_bw_approvals_requester", "requested_by", "status"),
    )


class Upload(Base):
    """A resumable upload in progress: ``offset`` bytes of ``size`` are staged."""

    __tablename__ = "bw_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    filename: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), doc="The hash the client claims.")
    officer_badge: Mapped[str | None] = mapped_column(String(32))
    device_serial: Mapped[str | None] = mapped_column(String(48))
    modified_at: Mapped[datetime | None] = mapped_column(doc="The file's time on the client.")
    status: Mapped[str] = mapped_column(String(16), doc="open, stored, duplicate or rejected")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("bw_files.id"))
    message: Mapped[str] = mapped_column(Text, default="")


class IngestRecord(Base):
    """Every file offered to ingest, from any door, and what became of it."""

    __tablename__ = "bw_ingests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    dock_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(16), doc="stored, duplicate or rejected")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("bw_files.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(100))
    quarantine: Mapped[str | None] = mapped_column(
        String(500), doc="Where a rejected upload's bytes are kept (relative to the root)."
    )

    __table_args__ = (Index("ix_bw_ingests_at", "at"),)


class DockFile(Base):
    """A file seen in a dock folder, and how far it got (so it is read once)."""

    __tablename__ = "bw_dock_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dock_id: Mapped[str] = mapped_column(String(64))
    rel_path: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    first_seen: Mapped[datetime]
    changed_at: Mapped[datetime] = mapped_column(doc="When size or time last changed.")
    status: Mapped[str] = mapped_column(
        String(16), doc="copying, stored, duplicate, rejected, incomplete or error"
    )
    sha256: Mapped[str | None] = mapped_column(String(64))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("bw_files.id"))
    message: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ux_bw_dock_files_path", "dock_id", "rel_path", unique=True),)
