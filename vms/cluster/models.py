"""ORM models of the cluster tables (migration 0015b_cluster)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vms.db.models import Base


class Node(Base):
    """A ``vms serve`` process sharing the index; alive while its heartbeat is fresh."""

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime] = mapped_column(doc="Database time of the last heartbeat.")
    state: Mapped[str] = mapped_column(String(16), doc="up or stopped")
    max_cameras: Mapped[int | None]
    web_url: Mapped[str | None] = mapped_column(String(300))
    load: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CameraLease(Base):
    """Which node records a camera. ``generation`` grows with every change of holder: a
    node writes for a camera only while the generation it was given is still the row's."""

    __tablename__ = "camera_leases"

    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    node: Mapped[str | None] = mapped_column(String(64), doc="Holder; NULL while free.")
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
    acquired_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None] = mapped_column(doc="Database time the lease ends.")
    previous_node: Mapped[str | None] = mapped_column(String(64))
    release_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_camera_leases_node", "node"),)
