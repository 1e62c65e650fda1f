"""Devices and channels in the database: written by the platform, read by the CLI and web.

The platform never waits for the database: writes go through a queue to one thread, which
retries with backoff while the database is away (the latest state of a device wins).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError

from vms.cameras.gb28181.manscdp import CatalogItem
from vms.cameras.gb28181.models import GbChannel, GbDevice
from vms.clock import Clock, SystemClock
from vms.db.session import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceRecord:
    """What is known about a device, as stored."""

    device_id: str
    transport: str
    host: str
    port: int
    online: bool
    offline_reason: str | None = None
    registered_at: datetime | None = None
    expires_at: datetime | None = None
    last_keepalive_at: datetime | None = None
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    firmware: str = ""
    channel_count: int | None = None


@dataclass(frozen=True)
class _Channels:
    device_id: str
    items: list[CatalogItem]
    complete: bool


@dataclass
class _Flush:
    done: threading.Event


_Op = DeviceRecord | _Channels | _Flush | None


class DeviceStore:
    """Queue-backed writer of ``gb28181_devices`` / ``gb28181_channels``."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self._queue: queue.Queue[_Op] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="gb28181-store", daemon=True)
        self._thread.start()

    def load(self) -> list[DeviceRecord]:
        """Every stored device (the platform restores unexpired registrations from them)."""
        with self.db.session() as s:
            rows = list(s.scalars(select(GbDevice)))
        return [
            DeviceRecord(
                r.id,
                r.transport,
                r.host,
                r.port,
                r.online,
                r.offline_reason,
                r.registered_at,
                r.expires_at,
                r.last_keepalive_at,
                r.name,
                r.manufacturer,
                r.model,
                r.firmware,
                r.channel_count,
            )
            for r in rows
        ]

    def put_device(self, record: DeviceRecord) -> None:
        self._queue.put(record)

    def put_channels(self, device_id: str, items: list[CatalogItem], *, complete: bool) -> None:
        """Upsert ``items``; a complete catalog also removes the channels it no longer lists."""
        self._queue.put(_Channels(device_id, list(items), complete))

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is written (tests, shutdown)."""
        done = threading.Event()
        self._queue.put(_Flush(done))
        done.wait(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        delay = 0.5
        while (op := self._queue.get()) is not None:
            if isinstance(op, _Flush):
                op.done.set()
                continue
            while True:
                try:
                    self._apply(op)
                    delay = 0.5
                    break
                except SQLAlchemyError as exc:
                    log.warning("gb28181: cannot write to the database (%s); retrying", exc)
                    threading.Event().wait(delay)
                    delay = min(delay * 2, 30.0)

    def _apply(self, op: DeviceRecord | _Channels) -> None:
        now = self.clock.now()
        with self.db.session() as s:
            if isinstance(op, DeviceRecord):
                row = s.get(GbDevice, op.device_id) or GbDevice(id=op.device_id)
                values = asdict(op)
                values.pop("device_id")
                for key, value in values.items():
                    setattr(row, key, value)
                row.updated_at = now
                s.add(row)
                return
            if s.get(GbDevice, op.device_id) is None:
                return  # the device row comes first; a catalog of an unknown device is dropped
            existing = {
                c.channel_id: c
                for c in s.scalars(select(GbChannel).where(GbChannel.device_id == op.device_id))
            }
            for item in op.items:
                ch = existing.get(item.channel_id) or GbChannel(
                    device_id=op.device_id, channel_id=item.channel_id
                )
                ch.name, ch.manufacturer, ch.model = item.name, item.manufacturer, item.model
                ch.status, ch.parent_id = item.status[:16], item.parent_id[:20]
                ch.civil_code, ch.address = item.civil_code[:20], item.address
                ch.updated_at = now
                s.add(ch)
            if op.complete:
                listed = {i.channel_id for i in op.items}
                gone = [cid for cid in existing if cid not in listed]
                if gone:
                    s.execute(
                        delete(GbChannel).where(
                            GbChannel.device_id == op.device_id, GbChannel.channel_id.in_(gone)
                        )
                    )


def list_devices(db: Database) -> list[tuple[GbDevice, list[GbChannel]]]:
    """Every device with its channels, for ``vms gb28181 devices``."""
    with db.session() as s:
        devices = list(s.scalars(select(GbDevice).order_by(GbDevice.id)))
        channels = list(s.scalars(select(GbChannel).order_by(GbChannel.channel_id)))
    by_device: dict[str, list[GbChannel]] = {}
    for c in channels:
        by_device.setdefault(c.device_id, []).append(c)
    return [(d, by_device.get(d.id, [])) for d in devices]
