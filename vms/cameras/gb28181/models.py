"""ORM models of GB/T 28181 devices and the channels their catalogs list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vms.db.models import Base


class GbDevice(Base):
    """A device (camera, NVR, lower platform) that registered with this platform."""

    __tablename__ = "gb28181_devices"

    id: Mapped[str] = mapped_column(String(20), primary_key=True, doc="20-digit device id.")
    name: Mapped[str] = mapped_column(String(200), default="")
    manufacturer: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    firmware: Mapped[str] = mapped_column(String(100), default="")
    transport: Mapped[str] = mapped_column(String(8), doc="SIP transport: udp or tcp.")
    host: Mapped[str] = mapped_column(String(64), doc="Address the device registered from.")
    port: Mapped[int] = mapped_column(Integer)
    online: Mapped[bool] = mapped_column(Boolean)
    offline_reason: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    last_keepalive_at: Mapped[datetime | None]
    channel_count: Mapped[int | None] = mapped_column(Integer, doc="As DeviceInfo reports it.")
    updated_at: Mapped[datetime]


class GbChannel(Base):
    """A channel of a device, as its last Catalog response listed it."""

    __tablename__ = "gb28181_channels"

    device_id: Mapped[str] = mapped_column(ForeignKey("gb28181_devices.id"), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    manufacturer: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), doc="ON or OFF, as the device reports it.")
    parent_id: Mapped[str] = mapped_column(String(20), default="")
    civil_code: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime]
