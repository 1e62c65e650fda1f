"""Once-only jobs: a PostgreSQL advisory lock per job, held by one node at a time.

The lock is taken on a connection of its own and kept (session-level) for as long as that
node lives: the node that has it runs the job every time it is due; the others skip it. When
the holder dies (crash, kill -9, network loss) PostgreSQL ends its session and frees the
lock, and the next node whose run comes due takes it: the job moves within one interval
(plus PostgreSQL's detection of the dead connection, bounded by TCP keepalives).

On SQLite (one node) every job simply runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from typing import TYPE_CHECKING

from vms.cluster.notify import is_postgres, libpq_url

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

#: First half of every advisory-lock key vms takes (two-int form), so other users of the
#: same database cannot collide with it.
NAMESPACE = 0x766D73  # "vms"


def lock_key(name: str) -> int:
    """The second half of the key of job ``name`` (a stable 31-bit number)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") & 0x7FFFFFFF


class JobLocks:
    """Advisory locks of the once-only jobs of one node."""

    def __init__(self, url: str, node: str) -> None:
        self.url = url
        self.node = node
        self.enabled = is_postgres(url)
        self._conns: dict[str, psycopg.Connection[tuple[object, ...]]] = {}
        self._lock = threading.Lock()

    def holds(self, job: str) -> bool:
        """Whether this node holds (or has just taken) the lock of ``job``. Always True on
        SQLite. Never raises: a database that cannot be reached means "not now"."""
        if not self.enabled:
            return True
        import psycopg  # PostgreSQL only: a SQLite installation never loads the driver

        with self._lock:
            conn = self._conns.get(job)
            if conn is not None:
                try:
                    conn.execute("SELECT 1")
                    return True
                except psycopg.Error:
                    log.warning("%s: lost the lock of job %s (connection broke)", self.node, job)
                    self._drop(job)
            conn = None
            try:
                conn = psycopg.connect(
                    libpq_url(self.url),
                    autocommit=True,
                    connect_timeout=10,
                    application_name=f"vms:{self.node}:job:{job}"[:63],
                    keepalives=1,
                    keepalives_idle=5,
                    keepalives_interval=2,
                    keepalives_count=3,
                )
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)", (NAMESPACE, lock_key(job))
                ).fetchone()
            except psycopg.Error as exc:
                log.warning("%s: cannot try the lock of job %s: %s", self.node, job, exc)
                if conn is not None:
                    with contextlib.suppress(psycopg.Error):
                        conn.close()
                return False
            if row is None or not row[0]:
                conn.close()
                return False
            self._conns[job] = conn
            log.info("%s: now runs the once-only job %s", self.node, job)
            return True

    def _drop(self, job: str) -> None:
        conn = self._conns.pop(job, None)
        if conn is not None:
            import psycopg

            with contextlib.suppress(psycopg.Error):
                conn.close()

    def held(self) -> list[str]:
        with self._lock:
            return sorted(self._conns)

    def release_all(self) -> None:
        with self._lock:
            for job in list(self._conns):
                self._drop(job)
