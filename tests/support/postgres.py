"""Throwaway PostgreSQL server for the test suite.

``PostgresCluster`` is a context manager.  By default it creates a private
cluster (``initdb``) in a fresh temporary directory, starts it on a free TCP
port on 127.0.0.1 with a private unix socket directory and ``fsync=off``, and
stops and deletes it on exit.  When ``VMS_TEST_POSTGRES_URL`` is set (a server
URL such as ``postgresql+psycopg://user:pw@host:5432/postgres``), that server is
used instead and only databases are created on it.

Running as root, the server binaries run as the ``postgres`` OS user
(``initdb`` refuses to run as root).  Missing binaries raise ``RuntimeError``;
tests that need PostgreSQL are never skipped.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

ENV_SERVER_URL = "VMS_TEST_POSTGRES_URL"
DEFAULT_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_START_ATTEMPTS = 5
_TIMEOUT_S = 30


class PostgresCluster:
    """A throwaway PostgreSQL server (or an external one from the environment)."""

    def __init__(
        self,
        bin_dir: Path | str | None = None,
        server_url: str | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        """Prepare, but do not start, a cluster.

        ``bin_dir`` defaults to ``$VMS_TEST_POSTGRES_BIN`` or the Debian
        PostgreSQL 15 directory.  ``server_url`` defaults to
        ``$VMS_TEST_POSTGRES_URL``; when given, no cluster is created.
        """
        env_bin = os.environ.get("VMS_TEST_POSTGRES_BIN")
        self.bin_dir = Path(bin_dir or env_bin or DEFAULT_BIN_DIR)
        external = server_url if server_url is not None else os.environ.get(ENV_SERVER_URL)
        self._external: URL | None = make_url(external) if external else None
        self._base_url: URL | None = None
        self._tmp: Path | None = None
        self._data_dir: Path | None = None
        self._running = False
        self.port: int | None = None
        self.startup_seconds: float | None = None
        #: More server settings (``-c name=value``), e.g. a benchmark's ``shared_buffers``.
        self.settings = dict(settings or {})

    # ------------------------------------------------------------------ API
    @property
    def is_external(self) -> bool:
        """True when an existing server from ``VMS_TEST_POSTGRES_URL`` is used."""
        return self._external is not None

    @property
    def log_path(self) -> Path | None:
        """Server log of the throwaway cluster (``None`` for an external server)."""
        return self._tmp / "server.log" if self._tmp is not None else None

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL (``postgresql+psycopg://...``) of database ``dbname``."""
        if self._base_url is None:
            raise RuntimeError("PostgresCluster is not started")
        return self._base_url.set(database=dbname).render_as_string(hide_password=False)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (empty, or a copy of database ``template``, which nobody
        may be connected to) and return its SQLAlchemy URL."""
        _check_db_name(name)
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            _check_db_name(template)
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self._admin_connection() as conn:
            conn.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting its sessions."""
        _check_db_name(name)
        with self._admin_connection() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def start(self) -> PostgresCluster:
        """Start the cluster (or check the external server); return ``self``."""
        if self._base_url is not None:
            return self
        began = time.perf_counter()
        if self._external is not None:
            self._base_url = self._external
            self._wait_until_ready()
        else:
            try:
                self._start_local()
            except BaseException:
                self.stop()
                raise
        self.startup_seconds = time.perf_counter() - began
        return self

    def stop(self) -> None:
        """Stop the throwaway cluster and delete its directory (idempotent)."""
        self._base_url = None
        try:
            if self._running and self._data_dir is not None:
                self._running = False
                self._run(
                    [
                        self._bin("pg_ctl"),
                        "stop",
                        "-D",
                        str(self._data_dir),
                        "-m",
                        "immediate",
                        "-w",
                        "-t",
                        str(_TIMEOUT_S),
                    ]
                )
        finally:
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None
                self._data_dir = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ internals
    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def _check_binaries(self) -> None:
        missing = [
            n for n in ("initdb", "pg_ctl", "postgres") if not os.access(self._bin(n), os.X_OK)
        ]
        if missing:
            raise RuntimeError(
                f"PostgreSQL server binaries {missing} not found in {self.bin_dir}; "
                "install them with `apt-get install postgresql-15` "
                f"(or set {ENV_SERVER_URL} to an existing server URL)"
            )

    def _as_owner(self, argv: list[str]) -> list[str]:
        """Prefix ``argv`` so it runs as the ``postgres`` user when we are root."""
        if os.geteuid() != 0:
            return argv
        return ["runuser", "-u", SUPERUSER, "--", *argv]

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._as_owner(argv),
            cwd=self._tmp,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=_TIMEOUT_S + 30,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        )

    def _start_local(self) -> None:
        self._check_binaries()
        owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise RuntimeError(
                    f"running as root but there is no `{SUPERUSER}` OS user to own the "
                    "cluster; install PostgreSQL with `apt-get install postgresql-15`"
                ) from None

        self._tmp = Path(tempfile.mkdtemp(prefix="vms-pg-"))
        self._data_dir = self._tmp / "data"
        sock_dir = self._tmp / "sock"
        sock_dir.mkdir()
        if owner is not None:
            for path in (self._tmp, sock_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)

        initdb = self._run(
            [
                self._bin("initdb"),
                "-D",
                str(self._data_dir),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
        if initdb.returncode != 0:
            raise RuntimeError(
                f"initdb failed ({initdb.returncode}):\n{initdb.stdout}{initdb.stderr}"
            )

        log = self._tmp / "server.log"
        failure = ""
        for _ in range(_START_ATTEMPTS):
            port = _free_port()
            options = (
                f"-p {port} -k {shlex.quote(str(sock_dir))} -c listen_addresses=127.0.0.1"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                + "".join(f" -c {k}={shlex.quote(v)}" for k, v in self.settings.items())
            )
            result = self._run(
                [
                    self._bin("pg_ctl"),
                    "start",
                    "-D",
                    str(self._data_dir),
                    "-l",
                    str(log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(_TIMEOUT_S),
                ]
            )
            if result.returncode == 0:
                self.port = port
                self._running = True
                self._base_url = URL.create(
                    "postgresql+psycopg",
                    username=SUPERUSER,
                    host="127.0.0.1",
                    port=port,
                    database="postgres",
                )
                self._wait_until_ready()
                return
            log_text = log.read_text(errors="replace") if log.exists() else ""
            failure = f"{result.stdout}{result.stderr}\n--- {log} ---\n{log_text}"
            if "Address already in use" not in log_text:
                break  # not a port race: retrying will not help
        raise RuntimeError(f"pg_ctl start failed:\n{failure}")

    def _conninfo(self, dbname: str = "postgres") -> str:
        """libpq URI for ``dbname`` (drops the SQLAlchemy driver suffix)."""
        if self._base_url is None:
            raise RuntimeError("PostgresCluster is not started")
        url = self._base_url.set(drivername="postgresql", database=dbname)
        return url.render_as_string(hide_password=False)

    def _admin_connection(self) -> psycopg.Connection[tuple[object, ...]]:
        admin_db = (self._external.database if self._external is not None else None) or "postgres"
        return psycopg.connect(self._conninfo(admin_db), autocommit=True, connect_timeout=10)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + _TIMEOUT_S
        while True:
            try:
                with self._admin_connection() as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def _check_db_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ValueError(f"invalid database name {name!r} (use [A-Za-z_][A-Za-z0-9_]*, max 63)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
