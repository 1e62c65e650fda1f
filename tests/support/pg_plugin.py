"""pytest plugin: a session-wide throwaway PostgreSQL and one fresh database per test.

Register it once, from the root ``conftest.py`` (or a test module)::

    pytest_plugins = ["tests.support.pg_plugin"]

Fixtures:

``postgres_cluster`` (session)
    The running :class:`~tests.support.postgres.PostgresCluster`.
``postgres_url`` (function)
    SQLAlchemy URL (``postgresql+psycopg://...``) of a new, empty database that
    is dropped after the test.

Set ``VMS_TEST_POSTGRES_URL`` to use an existing server instead of a throwaway
cluster.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator

import pytest

from .postgres import PostgresCluster

__all__ = ["postgres_cluster", "postgres_url"]


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL server for the whole test session."""
    with PostgresCluster() as cluster:
        yield cluster


def _database_name(request: pytest.FixtureRequest) -> str:
    """``t_<test name>_<random>``, a valid identifier of at most 63 characters."""
    stem = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower()).strip("_")[:40]
    return f"t_{stem}_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def postgres_url(
    postgres_cluster: PostgresCluster, request: pytest.FixtureRequest
) -> Iterator[str]:
    """URL of a fresh, empty database of its own for this test."""
    name = _database_name(request)
    url = postgres_cluster.create_database(name)
    yield url
    with contextlib.suppress(Exception):  # cleanup is best effort
        postgres_cluster.drop_database(name)
