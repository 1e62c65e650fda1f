"""PostgreSQL LISTEN/NOTIFY: wake-ups for the alert feed when any node writes an alert.

Migration 0015b_cluster puts triggers on ``events`` and ``custody_alerts`` that
``pg_notify('vms_alerts', '<table>:<id>')`` on insert and update; a notification is delivered
when the writing transaction commits. :class:`NotifyListener` holds one connection per web
process, LISTENs, and calls a callback with each payload. The feed still reads the rows with
its ordinary query (the notification only says "look now", and names the row so one
committed out of id order is not missed); if the connection drops, it reconnects and the
feed falls back to polling meanwhile. The thread waits on the connection's socket and on a
wake-up socket of its own, so ``stop()`` returns at once (a web process's shutdown, and every
PostgreSQL web test's teardown, does not wait out a poll interval).
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

CHANNEL = "vms_alerts"


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://...`` -> a libpq connection URI."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


class NotifyListener:
    """A thread LISTENing on ``channel``; ``on_notify(payload)`` runs in that thread."""

    def __init__(
        self,
        url: str,
        on_notify: Callable[[str], None],
        *,
        channel: str = CHANNEL,
        on_state: Callable[[bool], None] | None = None,
    ) -> None:
        self.conninfo = libpq_url(url)
        self.on_notify = on_notify
        self.on_state = on_state or (lambda _up: None)
        self.channel = channel
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.connected = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pg-listen", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psycopg  # PostgreSQL only: a SQLite installation never loads the driver

        delay = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=10) as conn:
                    self._conn = conn
                    conn.execute(f"LISTEN {self.channel}")
                    self.connected.set()
                    self.on_state(True)
                    delay = 0.5
                    while not self._stop.is_set():
                        for n in conn.notifies(timeout=0):  # what has arrived, then back
                            self.on_notify(n.payload)
                        select.select([conn.fileno(), self._wake_r.fileno()], [], [], 30.0)
            except psycopg.Error as exc:
                if self._stop.is_set():
                    return
                log.warning("LISTEN %s: %s; reconnecting in %.1f s", self.channel, exc, delay)
            finally:
                self._conn = None
                if self.connected.is_set():
                    self.connected.clear()
                    self.on_state(False)
            select.select([self._wake_r], [], [], delay)  # stop() wakes it
            delay = min(delay * 2, 10.0)

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake_w.send(b"x")
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self._wake_r.close()
        self._wake_w.close()
