"""Fencing in a worker process: the generations of the leases its cameras were given.

``check`` runs inside every index write's transaction (RecordingIndex's fence): the write
lands only while the lease row still names this node and generation. ``holds`` is asked
before each segment opens: a definite "no" stops the camera; a database that cannot be
reached is not a "no" (recording goes on, and the queued index writes are checked when
they reach the database, so footage recorded while the lease was lost is never claimed).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vms.cluster.leases import lease_valid
from vms.db.session import Database

log = logging.getLogger(__name__)


class LeaseFence:
    def __init__(self, db: Database, node: str, generations: dict[str, int]) -> None:
        self.db = db
        self.node = node
        self.generations = dict(generations)
        self.lost: set[str] = set()
        self._lock = threading.Lock()

    def check(self, s: Session, camera_id: str) -> bool:
        gen = self.generations.get(camera_id)
        ok = gen is not None and lease_valid(s, self.node, camera_id, gen)
        if not ok:
            with self._lock:
                if camera_id not in self.lost:
                    log.error("%s: lease lost by node %s (fenced)", camera_id, self.node)
                self.lost.add(camera_id)
        return ok

    def holds(self, camera_id: str) -> bool:
        if camera_id in self.lost:
            return False
        try:
            with self.db.session() as s:
                return self.check(s, camera_id)
        except SQLAlchemyError as exc:
            log.warning("%s: lease not checked (database unreachable): %s", camera_id, exc)
            return True
