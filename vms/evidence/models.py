"""ORM models of evidence: cases, items and their source segments, legal holds, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vms.db.models import Base

GENESIS_HASH = "0" * 64


class Case(Base):
    """A case file: investigators link evidence items to it."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), doc="open or closed")
    owner: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    closed_at: Mapped[datetime | None]


class CaseInvestigator(Base):
    """One investigator assigned to a case."""

    __tablename__ = "case_investigators"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user: Mapped[str] = mapped_column(String(100), primary_key=True)


class EvidenceItem(Base):
    """A clip (camera + time range, cut by remuxing) or an event (with its snapshot) in a case.

    ``path`` is relative to the storage root and ``sha256`` is the file's hash when it was
    made; ``gaps`` lists the parts of a clip's range that were not recorded.
    """

    __tablename__ = "evidence_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(16), doc="clip or event")
    status: Mapped[str] = mapped_column(String(16), doc="active or deleted")
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    requested_start: Mapped[datetime]
    requested_end: Mapped[datetime]
    start: Mapped[datetime] = mapped_column(doc="First packet (a keyframe at or before the ask).")
    end: Mapped[datetime]
    path: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str | None] = mapped_column(String(64))
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    packets: Mapped[int | None]
    gaps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str] = mapped_column(
        String(16), default="local", server_default="local", doc="local (node disk) or bucket."
    )
    node: Mapped[str | None] = mapped_column(String(64), doc="Node whose disk holds it (local).")

    __table_args__ = (Index("ix_evidence_items_case", "case_id"),)


class EvidenceSource(Base):
    """A recorded segment a clip was cut from, with the hash it had (and was verified to have)."""

    __tablename__ = "evidence_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"))
    position: Mapped[int]
    # No foreign key: a segment row may go once its holds are released; this row stays.
    segment_id: Mapped[int]
    path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    start: Mapped[datetime]
    end: Mapped[datetime]

    __table_args__ = (Index("ix_evidence_sources_item", "item_id"),)


class Hold(Base):
    """A legal hold on a camera's time range (kind ``range``) or on an evidence file (``item``).

    A hold is active from ``created_at`` until ``released_at``; nothing it covers is deleted.
    """

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), doc="range or item")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    camera_id: Mapped[str | None] = mapped_column(ForeignKey("cameras.id"))
    start: Mapped[datetime | None]
    end: Mapped[datetime | None]
    item_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_items.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(100))
    release_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_holds_camera_start", "camera_id", "start"),
        Index("ix_holds_item", "item_id"),
    )


class AuditEntry(Base):
    """One line of the append-only audit log; ``hash`` chains it to the entry before."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(200))
    case_number: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text, doc="Canonical JSON, hashed as stored.")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_id"),
        Index("ix_audit_log_case", "case_number"),
        Index("ix_audit_log_at", "at"),
    )


class AuditHead(Base):
    """The one row naming the newest audit entry: writers lock it, so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
