"""Fixtures shared by the whole suite: real data, real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vms.db.migrate import upgrade
from vms.db.session import Database

pytest_plugins = ["tests.support.pg_plugin", "tests.support.s3_plugin"]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """argon2id at its lowest cost in the test process: the same code and PHC hashes, without
    0.12 s of CPU per hash and per login (a user per role is made for most web tests). The
    product keeps argon2-cffi's defaults; processes the tests start (``vms serve``) use them."""
    from argon2 import PasswordHasher

    from vms.web import security

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(security, "_hasher", cheap)
        mp.setattr(security, "_DUMMY_HASH", cheap.hash("not a password: timing equaliser"))
        yield


SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_file(relpath: str) -> Path:
    """A file from ../shared/data; fails the test loudly when it is not there."""
    path = SHARED_DATA / relpath
    if not path.exists():
        pytest.fail(
            f"test data {path} is missing: the tests read real footage and models from "
            "../shared/data beside the checkout (see its README)",
            pytrace=False,
        )
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vms.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    database = Database(db_url)
    upgrade(database.engine)
    yield database
    database.dispose()
