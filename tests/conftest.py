"""Fixtures shared by the whole suite: real data, real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import faulthandler
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.postgres import PostgresCluster
from vms.db.migrate import upgrade
from vms.db.session import Database

pytest_plugins = ["tests.support.pg_plugin", "tests.support.s3_plugin"]

ROOT = Path(__file__).resolve().parent.parent

#: After the last test, a process (a pytest-xdist worker, or pytest itself) that cannot exit
#: (a thread that never ends, a child it waits on) prints every thread's stack and exits 1
#: after this long, instead of holding the run until CI's own limit.
EXIT_WATCHDOG_S = 300


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    faulthandler.dump_traceback_later(EXIT_WATCHDOG_S, exit=True)


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
        dummy = cheap.hash("not a password: timing equaliser")
        mp.setattr(security, "_dummy_hash", lambda: dummy)
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


class MigratedTemplates:
    """A database migrated once per session on each backend, copied for each test that asks
    for a migrated one (a copy takes milliseconds, the migrations a quarter of a second)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._postgres: str | None = None

    def sqlite(self) -> Path:
        if self._sqlite is None:
            path = self.folder / "migrated.db"
            database = Database(f"sqlite:///{path}")
            upgrade(database.engine)
            database.dispose()
            assert not path.with_name(path.name + "-wal").exists()  # all in the one file
            self._sqlite = path
        return self._sqlite

    def postgres(self, cluster: PostgresCluster) -> str:
        if self._postgres is None:
            name = f"t_migrated_{uuid.uuid4().hex[:12]}"
            database = Database(cluster.create_database(name))
            upgrade(database.engine)
            database.dispose()
            self._postgres = name
        return self._postgres


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> MigratedTemplates:
    return MigratedTemplates(tmp_path_factory.mktemp("migrated"))


@pytest.fixture
def db(
    db_url: str, migrated_templates: MigratedTemplates, request: pytest.FixtureRequest
) -> Iterator[Database]:
    """A migrated database on each backend (at ``db_url``, a copy of the session's migrated
    one: the same schema as running the migrations, which tests/db tests themselves)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        shutil.copyfile(migrated_templates.sqlite(), url.database)
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        assert url.database is not None
        cluster.drop_database(url.database)  # the fresh, empty one: nobody connected yet
        cluster.create_database(url.database, template=migrated_templates.postgres(cluster))
    database = Database(db_url)
    yield database
    database.dispose()
