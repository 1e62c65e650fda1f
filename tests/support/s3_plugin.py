"""pytest plugin: one SeaweedFS for the session and a fresh bucket configuration per test.

Fixtures:

``seaweed`` (session)
    The running :class:`~tests.support.seaweed.SeaweedServer` (started on first use).
``object_store`` (function)
    An ``ObjectStoreConfig`` for a new bucket of its own (object lock on, created by vms).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vms.config import ObjectStoreConfig

from .seaweed import ACCESS_KEY, SECRET_KEY, SeaweedServer

__all__ = ["object_store", "seaweed"]


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedServer]:
    with SeaweedServer() as server:
        yield server


@pytest.fixture
def object_store(seaweed: SeaweedServer) -> ObjectStoreConfig:
    return ObjectStoreConfig(
        endpoint=seaweed.endpoint,
        bucket=seaweed.new_bucket_name(),
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
    )
