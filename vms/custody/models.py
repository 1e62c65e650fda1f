"""ORM models of custody: rooms, people held, stays, interviews, checks, presence, alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vms.db.models import Base


class CustodyRoom(Base):
    """A room of a custody area as last configured (``active`` false once it left the config)."""

    __tablename__ = "custody_rooms"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    room_type: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]


class CustodyRoomCamera(Base):
    """A camera covering a room."""

    __tablename__ = "custody_room_cameras"

    room_id: Mapped[str] = mapped_column(ForeignKey("custody_rooms.id"), primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), primary_key=True)


class Person(Base):
    """A person held: one row per stay in the custody area, entry to exit."""

    __tablename__ = "custody_persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    id_number: Mapped[str | None] = mapped_column(String(64))
    case_number: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(String(64))
    limit_h: Mapped[float] = mapped_column(Float, doc="The legal limit in force at entry.")
    risk: Mapped[str] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(200))
    room_id: Mapped[str] = mapped_column(ForeignKey("custody_rooms.id"), doc="Current room.")
    entered_at: Mapped[datetime]
    entered_by: Mapped[str] = mapped_column(String(100))
    exited_at: Mapped[datetime | None]
    exited_by: Mapped[str | None] = mapped_column(String(100))
    exit_note: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_custody_persons_exited", "exited_at"),
        Index("ix_custody_persons_id_number", "id_number"),
    )


class Stay(Base):
    """A person in one room from ``start`` to ``end`` (NULL while there): the room moves."""

    __tablename__ = "custody_stays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("custody_persons.id"))
    room_id: Mapped[str] = mapped_column(ForeignKey("custody_rooms.id"))
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    moved_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_custody_stays_person_start", "person_id", "start"),)


class Interview(Base):
    """An interrogation or inquiry: person, room, officers, start and end."""

    __tablename__ = "custody_interviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("custody_persons.id"))
    room_id: Mapped[str] = mapped_column(ForeignKey("custody_rooms.id"))
    kind: Mapped[str] = mapped_column(String(32), doc="interrogation or inquiry (room type).")
    officers: Mapped[list[dict[str, str]]] = mapped_column(
        JSON, doc='[{"name": ..., "badge": ...}, ...]'
    )
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(100))
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    recording_incomplete: Mapped[bool] = mapped_column(Boolean, default=False)
    gaps: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, doc="Recording gaps of the room's cameras during the interview."
    )

    __table_args__ = (
        Index("ix_custody_interviews_room_start", "room_id", "started_at"),
        Index("ix_custody_interviews_ended", "ended_at"),
    )


class Check(Base):
    """An observation of a person held: recorded by hand or seen on video."""

    __tablename__ = "custody_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("custody_persons.id"))
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(16), doc="manual or video")
    camera_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_custody_checks_person_at", "person_id", "at"),)


class Presence(Base):
    """People visible on one camera: ``count`` from ``start`` to ``end`` (NULL: still so,
    confirmed at ``seen_at``). Written by the analytics pipeline through PresenceRecorder."""

    __tablename__ = "custody_presence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    seen_at: Mapped[datetime]
    count: Mapped[int]

    __table_args__ = (Index("ix_custody_presence_camera_start", "camera_id", "start"),)


class Alert(Base):
    """A custody alert: one situation, raised once, escalated until acknowledged.

    ``key`` identifies the situation (rule, subject and when it began), so re-running the
    checks never raises it twice. ``cleared_at`` is when the condition stopped holding.
    """

    __tablename__ = "custody_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer, default=1)
    site: Mapped[str | None] = mapped_column(String(200))
    room_id: Mapped[str | None] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("custody_persons.id"))
    interview_id: Mapped[int | None] = mapped_column(ForeignKey("custody_interviews.id"))
    camera_id: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raised_at: Mapped[datetime]
    opened_at: Mapped[datetime | None] = mapped_column(
        doc="When vms raised it: its escalation clock starts here (raised_at is when the "
        "situation began, in the past for a back-dated entry); NULL on older rows."
    )
    cleared_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    ack_note: Mapped[str | None] = mapped_column(Text)
    ack_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_custody_alerts_raised", "raised_at"),
        Index("ix_custody_alerts_type_raised", "type", "raised_at"),
        Index("ix_custody_alerts_ack", "ack_at"),
    )
