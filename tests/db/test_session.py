"""Engines: PostgreSQL sessions in UTC whatever the server's time zone, URL options kept."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, make_url, text

from vms.db.migrate import upgrade
from vms.db.models import Camera, Gap
from vms.db.session import Database


def test_a_postgresql_session_is_in_utc_when_the_database_is_set_to_shanghai_time(
    postgres_url: str,
) -> None:
    name = make_url(postgres_url).database
    plain = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with plain.connect() as conn:
        conn.execute(text(f"ALTER DATABASE {name} SET timezone = 'Asia/Shanghai'"))
        conn.execute(text(f"ALTER DATABASE {name} SET statement_timeout = '30s'"))
    plain.dispose()
    at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 07:30 the next day in Shanghai
    db = Database(postgres_url + "?options=-c%20statement_timeout%3D45000")
    upgrade(db.engine)
    with db.session() as s:
        assert s.execute(text("SHOW timezone")).scalar() == "UTC"
        assert s.execute(text("SHOW statement_timeout")).scalar() == "45s"  # the URL's kept
        s.add(
            Camera(
                id="c", name="c", kind="street", site="s", source="x", record=True,
                retention_days=30, updated_at=at,
            )
        )  # fmt: skip
        s.add(Gap(camera_id="c", start=at, reason="camera offline", kind="video"))
    with db.session() as s:
        start = s.query(Gap.start).scalar()
        day = s.execute(text("SELECT start::date FROM gaps")).scalar()
    db.dispose()
    assert start == at
    assert start is not None
    assert start.tzinfo is UTC
    assert str(day) == "2026-03-01"  # the UTC date, not the server's local one
