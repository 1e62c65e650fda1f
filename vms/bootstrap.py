"""Opening the database for a process: prepared (migrated, cameras registered) or read-only.

``prepare`` is for what owns the installation: ``vms serve``, ``vms demo``, ``vms db upgrade``
and the commands that change something. ``open_existing`` is for the commands that only read
(``vms audit list``, ``vms recordings list``, ...): it never migrates and never writes the
cameras table, so an auditor running a command with another configuration file cannot change
a shared PostgreSQL; a schema that is not the one this vms expects is a clear error instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from vms.cameras.opened import redact
from vms.config import Config
from vms.db.migrate import current_revision, head_revisions, upgrade
from vms.db.models import Camera
from vms.db.session import Database
from vms.errors import DatabaseError, StorageError


def sync_cameras(db: Database, config: Config) -> None:
    """Write the configured cameras into the database, so other processes can read them."""
    now = datetime.now(UTC)
    with db.session() as s:
        if s.get_bind().dialect.name == "postgresql":
            # Nodes of a cluster start together: one writes the registry at a time.
            s.execute(text("SELECT pg_advisory_xact_lock(7761267, 2)"))
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
            row.retention_days = config.retention_days_of(cam)
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


def open_existing(config: Config) -> Database:
    """The database as it is: no migration, no camera rows written, no file created.

    Raises ``DatabaseError`` naming what to do when there is no database yet or its schema
    is not the one this vms expects.
    """
    url = make_url(config.database_url)
    shown = redact(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        from pathlib import Path

        if not Path(url.database).is_file():
            raise DatabaseError(
                f"no database at {url.database}: nothing has been recorded with this "
                "configuration yet (start `vms serve`, or create it with `vms db upgrade`)"
            )
    db = Database(config.database_url)
    try:
        have = current_revision(db.engine)
    except SQLAlchemyError as exc:
        db.dispose()
        raise DatabaseError(f"cannot read the database at {shown}: {exc}") from exc
    want = ",".join(head_revisions())
    if have != want:
        db.dispose()
        raise DatabaseError(
            f"the database at {shown} has schema revision {have or 'none'}, this vms needs "
            f"{want}: run `vms db upgrade` with the configuration of the installation"
        )
    return db
