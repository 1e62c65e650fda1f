"""Apply Alembic migrations (on start and by ``vms db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from vms.errors import DatabaseError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> str:
    """Bring the database schema up to ``revision``; return the revision now applied."""
    cfg = alembic_config()
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Nodes starting together migrate one at a time (held to the commit).
                conn.execute(text("SELECT pg_advisory_xact_lock(7761267, 1)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return current_revision(engine) or "base"
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot migrate the database at {engine.url!r}: {exc}") from exc


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        # Several heads while branches developed side by side are not merged yet.
        heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) or None


def head_revision() -> str | None:
    """The newest revision of every branch, joined as ``current_revision`` joins them."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return ",".join(sorted(heads)) or None


def head_revisions() -> list[str]:
    """Every head of the migration scripts, sorted (several while branches are unmerged)."""
    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())
