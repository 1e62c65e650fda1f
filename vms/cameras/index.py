"""The recording index writer: segment, gap and event rows, written off the packet path.

A worker hands operations to one background thread per process, so hashing a closed segment
or a slow database never holds up recording. Operations run in the order they were queued;
a database error is retried (the operation stays queued) rather than dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vms.cameras.recorder import finalize
from vms.cameras.sources import StreamInfo
from vms.db.models import Event, Gap, Segment
from vms.db.session import Database
from vms.vocab import EventType, Severity

log = logging.getLogger(__name__)

Op = Callable[[Session], None]


class Fence(Protocol):
    """Checks, inside a write's transaction, that this node still holds ``camera_id``."""

    def check(self, s: Session, camera_id: str) -> bool: ...


@dataclass
class Handle:
    """A row the worker will update later (filled in by the writer thread)."""

    row_id: int | None = None
    camera_id: str | None = None  # whose row: index writes are fenced per camera


class RecordingIndex:
    """Queues index writes for one worker process and applies them in order."""

    def __init__(
        self, db: Database, root: Path, *, node: str | None = None, fence: Fence | None = None
    ) -> None:
        self.db = db
        self.root = root
        #: The node whose disk holds the files (None on a single SQLite node).
        self.node = node
        #: In a cluster: every write checks the camera's lease in its own transaction.
        self.fence = fence
        self._queue: queue.Queue[Op | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="recording-index", daemon=True)
        self._thread.start()
        self.errors = 0

    # -- operations the camera worker queues -------------------------------------------

    def segment_opened(
        self, camera_id: str, relpath: Path, start: datetime, info: StreamInfo
    ) -> Handle:
        handle = Handle(camera_id=camera_id)

        def op(s: Session) -> None:
            row = Segment(
                node=self.node,
                camera_id=camera_id,
                start=start,
                path=relpath.as_posix(),
                codec=info.codec,
                width=info.width,
                height=info.height,
                fps=info.fps,
                status="recording",
            )
            s.add(row)
            s.flush()
            handle.row_id = row.id

        self._put(camera_id, op)
        return handle

    def segment_closed(
        self, handle: Handle, relpath: Path, start: datetime, end: datetime, packets: int
    ) -> None:
        def op(s: Session) -> None:
            try:
                res = finalize(self.root, relpath, start, end, packets)
            except OSError as exc:
                # The file vanished or cannot be read: say so in the index, never retry forever.
                log.error("cannot hash segment %s: %s", relpath, exc)
                s.execute(
                    update(Segment)
                    .where(Segment.id == handle.row_id)
                    .values(end=end, packets=packets, status="unreadable")
                )
                return
            s.execute(
                update(Segment)
                .where(Segment.id == handle.row_id)
                .values(
                    end=res.end,
                    duration_s=res.duration_s,
                    bytes=res.bytes,
                    sha256=res.sha256,
                    packets=res.packets,
                    status="complete",
                )
            )

        self._put(handle.camera_id, op)

    def outage_started(
        self, camera_id: str, start: datetime, reason: str, *, offline_event: bool
    ) -> tuple[Handle, Handle | None]:
        """Open a gap row (and a camera-offline event) that ``outage_ended`` closes."""
        gap = Handle(camera_id=camera_id)
        event = Handle(camera_id=camera_id) if offline_event else None

        def op(s: Session) -> None:
            row = Gap(camera_id=camera_id, start=start, end=None, reason=reason)
            s.add(row)
            if event is not None:
                ev = Event(
                    type=EventType.CAMERA_OFFLINE,
                    camera_id=camera_id,
                    start=start,
                    severity=Severity.CRITICAL,
                    data={"reason": reason},
                )
                s.add(ev)
            s.flush()
            gap.row_id = row.id
            if event is not None:
                event.row_id = ev.id

        self._put(camera_id, op)
        return gap, event

    def outage_ended(self, gap: Handle, event: Handle | None, end: datetime) -> None:
        def op(s: Session) -> None:
            s.execute(update(Gap).where(Gap.id == gap.row_id).values(end=end))
            if event is not None:
                s.execute(update(Event).where(Event.id == event.row_id).values(end=end))

        self._put(gap.camera_id, op)

    def resume_open_gap(self, camera_id: str) -> Handle | None:
        """The camera's gap left open by a previous run, if any (synchronous)."""
        with self.db.session() as s:
            row_id = s.scalar(
                select(Gap.id)
                .where(Gap.camera_id == camera_id, Gap.end.is_(None))
                .order_by(Gap.start.desc())
                .limit(1)
            )
        return None if row_id is None else Handle(row_id, camera_id)

    def _put(self, camera_id: str | None, op: Op) -> None:
        fence = self.fence
        if fence is None or camera_id is None:
            self._queue.put(op)
            return

        def fenced(s: Session) -> None:
            if not fence.check(s, camera_id):
                # Another node holds the camera now: this write must not land.
                log.error("%s: index write refused: this node no longer holds it", camera_id)
                return
            op(s)

        self._queue.put(fenced)

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            op = self._queue.get()
            if op is None:
                self._queue.task_done()
                return
            delay = 0.5
            while True:
                try:
                    with self.db.session() as s:
                        op(s)
                    break
                except (SQLAlchemyError, OSError) as exc:
                    self.errors += 1
                    log.error("index write failed, retrying in %.1f s: %s", delay, exc)
                    time.sleep(delay)
                    delay = min(delay * 2, 30.0)
            self._queue.task_done()

    def pending(self) -> int:
        return self._queue.qsize()

    def flush(self) -> None:
        """Wait until every queued operation is written."""
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
