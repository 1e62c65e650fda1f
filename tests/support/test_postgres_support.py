"""Checks of the PostgreSQL test support (tests/support/postgres.py, pg_plugin.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support.postgres import PostgresCluster

# Register the fixtures here so this file also runs on its own; pytest dedupes the
# plugin by name if the root conftest.py registers it as well.
pytest_plugins = ["tests.support.pg_plugin"]

_seen_urls: list[str] = []


def _table_names(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_cluster_urls(postgres_cluster: PostgresCluster) -> None:
    url = postgres_cluster.url("somedb")
    assert url.startswith("postgresql+psycopg://")
    assert url.endswith("/somedb")
    engine = sa.create_engine(postgres_cluster.url())
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SHOW server_version_num")).scalar_one()
            if not postgres_cluster.is_external:
                assert conn.execute(sa.text("SHOW fsync")).scalar_one() == "off"
    finally:
        engine.dispose()
    assert int(version) >= 150000


def test_create_insert_select(postgres_url: str) -> None:
    _seen_urls.append(postgres_url)
    assert _table_names(postgres_url) == []
    metadata = sa.MetaData()
    items = sa.Table(
        "items",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
    )
    engine = sa.create_engine(postgres_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.insert(items), [{"name": "cam-1"}, {"name": "cam-2"}])
        with engine.connect() as conn:
            rows = conn.execute(sa.select(items.c.name).order_by(items.c.id)).scalars().all()
    finally:
        engine.dispose()
    assert rows == ["cam-1", "cam-2"]


def test_second_test_gets_distinct_empty_database(postgres_url: str) -> None:
    # Runs after test_create_insert_select (file order), whose database had a table.
    assert _seen_urls, "test_create_insert_select should have run first"
    assert postgres_url not in _seen_urls
    assert _table_names(postgres_url) == []


def test_create_and_drop_database(postgres_cluster: PostgresCluster) -> None:
    url = postgres_cluster.create_database("t_support_explicit")
    try:
        assert _table_names(url) == []
    finally:
        postgres_cluster.drop_database("t_support_explicit")
    engine = sa.create_engine(postgres_cluster.url())
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT count(*) FROM pg_database WHERE datname = 't_support_explicit'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert exists == 0


def test_missing_binaries_raise() -> None:
    # server_url="" forces a local cluster even when VMS_TEST_POSTGRES_URL is set.
    cluster = PostgresCluster(bin_dir="/nonexistent/pg/bin", server_url="")
    with pytest.raises(RuntimeError, match="apt-get install postgresql-15"):
        cluster.start()
