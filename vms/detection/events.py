"""Events: what the rules found, as rows in the ``events`` table (and JSON for ``vms analyze``).

The pipeline opens an event when a rule fires and updates it as it changes and when it ends.
``DatabaseEventSink`` writes from its own thread, so analysis never waits for the database,
and a new event reaches the database well within a second.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from vms.db.models import Event
from vms.db.session import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventRecord:
    """One event as the pipeline knows it; ``end`` is None while it lasts."""

    type: str
    camera_id: str
    zone: str | None
    start: datetime
    end: datetime | None
    track_ids: tuple[int, ...]
    peak_count: int
    confidence: float
    began: datetime
    recording_start: datetime
    recording_end: datetime | None
    severity: str = "info"
    data: dict[str, Any] = field(default_factory=dict)
    snapshot: str | None = None  # relative to the storage root

    def seconds_from(self, origin: datetime) -> dict[str, Any]:
        """The JSON line of ``vms analyze``: times in seconds from ``origin``."""
        return {
            "type": self.type,
            "camera": self.camera_id,
            "zone": self.zone,
            "start": round((self.start - origin).total_seconds(), 2),
            "end": None if self.end is None else round((self.end - origin).total_seconds(), 2),
            "began": round((self.began - origin).total_seconds(), 2),
            "track_ids": list(self.track_ids),
            "count": self.peak_count,
            "confidence": round(self.confidence, 3),
            **({"snapshot": self.snapshot} if self.snapshot else {}),
            **{k: v for k, v in self.data.items() if k not in ("snapshot",)},
        }


def recording_range(
    began: datetime, end: datetime | None, pre_s: float, post_s: float
) -> tuple[datetime, datetime | None]:
    """The footage to look at: from before the situation began to after it ended."""
    return began - timedelta(seconds=pre_s), None if end is None else end + timedelta(
        seconds=post_s
    )


class EventSink(Protocol):
    """Where events go. ``opened`` returns a handle that ``updated`` passes back."""

    def opened(self, event: EventRecord, snapshot: bytes | None) -> object: ...

    def updated(self, handle: object, event: EventRecord) -> None: ...


class MemorySink:
    """Keeps events in a list (``vms analyze``, tests); snapshots go to ``snapshot_dir``."""

    def __init__(self, snapshot_dir: Path | None = None) -> None:
        self.events: list[EventRecord] = []
        self.snapshots: dict[int, bytes] = {}
        self.snapshot_dir = snapshot_dir

    def opened(self, event: EventRecord, snapshot: bytes | None) -> object:
        index = len(self.events)
        if snapshot is not None:
            self.snapshots[index] = snapshot
            if self.snapshot_dir is not None:
                rel = snapshot_relpath(event, index)
                path = self.snapshot_dir / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(snapshot)
                event = replace(event, snapshot=rel.as_posix())
        self.events.append(event)
        return index

    def updated(self, handle: object, event: EventRecord) -> None:
        assert isinstance(handle, int)
        self.events[handle] = replace(event, snapshot=self.events[handle].snapshot)


def snapshot_relpath(event: EventRecord, serial: int) -> Path:
    """``snapshots/<camera>/<YYYY-MM-DD>/<HH-MM-SS.ffffff>-<type>-<n>.jpg`` (UTC)."""
    t = event.start
    name = f"{t:%H-%M-%S.%f}-{event.type}-{serial}.jpg"
    return Path("snapshots", event.camera_id, f"{t:%Y-%m-%d}", name)


@dataclass
class _Handle:
    row_id: int | None = None
    snapshot: str | None = None


_Op = Callable[[Session], None]


class DatabaseEventSink:
    """Writes event rows (and snapshot files under ``root``) from one background thread.

    Operations run in order; while the database is unreachable the operation stays queued
    and is retried with backoff instead of dropping the event.
    """

    def __init__(self, db: Database, root: Path) -> None:
        self.db = db
        self.root = root
        self.written = 0
        self.errors = 0
        self._serial = 0
        self._queue: queue.Queue[_Op | None] = queue.Queue()
        self._pending = 0
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
        self._thread.start()

    def opened(self, event: EventRecord, snapshot: bytes | None) -> object:
        handle = _Handle()
        self._serial += 1
        serial = self._serial

        def op(s: Session) -> None:
            if snapshot is not None and handle.snapshot is None:
                rel = snapshot_relpath(event, serial)
                try:
                    path = self.root / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(snapshot)
                    handle.snapshot = rel.as_posix()
                except OSError as exc:
                    log.error("%s: cannot write snapshot %s: %s", event.camera_id, rel, exc)
            row = Event(**_columns(replace(event, snapshot=handle.snapshot)))
            s.add(row)
            s.flush()
            handle.row_id = row.id

        self._put(op)
        return handle

    def updated(self, handle: object, event: EventRecord) -> None:
        assert isinstance(handle, _Handle)

        def op(s: Session) -> None:
            values = _columns(replace(event, snapshot=handle.snapshot))
            s.execute(update(Event).where(Event.id == handle.row_id).values(**values))

        self._put(op)

    def _put(self, op: _Op) -> None:
        with self._cond:
            self._pending += 1
        self._queue.put(op)

    def _run(self) -> None:
        delay = 0.1
        while True:
            op = self._queue.get()
            if op is None:
                return
            while True:
                try:
                    with self.db.session() as s:
                        op(s)
                    self.written += 1
                    delay = 0.1
                    break
                except OperationalError as exc:  # database away: keep it and retry
                    self.errors += 1
                    log.warning("event write failed (retrying in %.1f s): %s", delay, exc)
                    time.sleep(delay)
                    delay = min(delay * 2, 10.0)
                except SQLAlchemyError as exc:  # the row itself is refused: retrying won't help
                    self.errors += 1
                    log.error("event write refused, dropped: %s", exc)
                    break
            with self._cond:
                self._pending -= 1
                self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued is written; False if that took too long."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        with contextlib.suppress(Exception):
            self._queue.put(None)
        self._thread.join(timeout)


def _columns(event: EventRecord) -> dict[str, Any]:
    data = dict(event.data, began=event.began.isoformat())
    if event.snapshot:
        data["snapshot"] = event.snapshot  # also in data: the web feed reads it there
    return {
        "type": event.type,
        "camera_id": event.camera_id,
        "zone": event.zone,
        "start": event.start,
        "end": event.end,
        "severity": event.severity,
        "data": data,
        "track_ids": list(event.track_ids),
        "peak_count": event.peak_count,
        "confidence": round(event.confidence, 4),
        "snapshot": event.snapshot,
        "recording_start": event.recording_start,
        "recording_end": event.recording_end,
    }
