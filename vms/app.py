"""Composition root: builds every part of a running vms and tears it down in reverse."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select

from vms.cameras.health import CameraHealth
from vms.cameras.sources import redact
from vms.cameras.supervisor import Supervisor
from vms.config import Config
from vms.db.migrate import upgrade
from vms.db.models import Camera
from vms.db.session import Database
from vms.errors import StorageError

log = logging.getLogger(__name__)


def sync_cameras(db: Database, config: Config) -> None:
    """Write the configured cameras into the database, so other processes can read them."""
    now = datetime.now(UTC)
    with db.session() as s:
        existing = {c.id: c for c in s.scalars(select(Camera))}
        for cam in config.cameras:
            row = existing.get(cam.id) or Camera(id=cam.id)
            row.name = cam.display_name
            row.kind = cam.kind.value
            row.site = cam.site
            row.room = cam.room
            row.room_type = cam.room_type.value if cam.room_type else None
            row.source = redact(cam.source)
            row.record = cam.record
            row.retention_days = cam.effective_retention_days
            row.updated_at = now
            s.add(row)


def prepare(config: Config) -> Database:
    """Make the storage folder, open and migrate the database, register the cameras."""
    try:
        config.recordings_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {config.recordings_dir}: {exc}") from exc
    db = Database(config.database_url)
    upgrade(db.engine)
    sync_cameras(db, config)
    return db


class App:
    """A running vms: ``start()`` in order, ``stop()`` in reverse."""

    def __init__(self, config: Config, *, log_level: int = logging.INFO) -> None:
        self.config = config
        self.log_level = log_level
        self.db: Database | None = None
        self.supervisor: Supervisor | None = None

    def start(self) -> None:
        self.db = prepare(self.config)
        log.info("database ready: %s", redact(self.config.database_url))
        self.supervisor = Supervisor(self.config, log_level=self.log_level)
        self.supervisor.start()
        log.info(
            "recording %d camera(s) into %s", len(self.config.cameras), self.config.storage.root
        )

    def health(self) -> dict[str, CameraHealth]:
        return self.supervisor.health() if self.supervisor else {}

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        if self.db is not None:
            self.db.dispose()
            self.db = None
