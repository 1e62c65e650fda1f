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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vms.cameras.opened import StreamInfo
from vms.cameras.recorder import finalize
from vms.db.models import Event, Gap, Segment, SegmentStream
from vms.db.session import Database
from vms.vocab import EventType, severity_of

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
        self,
        camera_id: str,
        relpath: Path,
        start: datetime,
        info: StreamInfo,
        tracks: Sequence[StreamInfo] = (),
    ) -> Handle:
        """A segment file was created: its row (status recording) and one row per stream."""
        handle = Handle(camera_id=camera_id)
        streams = list(tracks) or [info]

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
            s.add_all(_stream_row(row.id, i, t) for i, t in enumerate(streams))

        self._put(camera_id, op)
        return handle

    def segment_closed(
        self,
        handle: Handle,
        relpath: Path,
        start: datetime,
        end: datetime,
        packets: int,
        *,
        track_packets: Sequence[int] = (),
        empty: bool = False,
    ) -> None:
        """The segment is closed: hash it and complete its row.

        ``empty``: no playable packet reached the disk (the disk was full). The row then
        covers no time (end = start) and has status ``empty``, never ``complete``.
        """

        def op(s: Session) -> None:
            try:
                res = finalize(self.root, relpath, start, start if empty else end, packets)
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
                    packets=0 if empty else res.packets,
                    status="empty" if empty else "complete",
                )
            )
            for index, n in enumerate(track_packets):
                s.execute(
                    update(SegmentStream)
                    .where(SegmentStream.segment_id == handle.row_id, SegmentStream.index == index)
                    .values(packets=0 if empty else n)
                )

        self._put(handle.camera_id, op)

    def outage_started(
        self,
        camera_id: str,
        start: datetime,
        reason: str,
        *,
        offline_event: bool,
        kind: str = "video",
        event: EventType | None = None,
    ) -> tuple[Handle, Handle | None]:
        """Open a gap row (and an event) that ``outage_ended`` closes.

        ``kind`` video: nothing recorded; audio: the picture goes on, the sound stopped.
        ``offline_event`` raises camera_offline; ``event`` another type (storage_full).
        """
        gap = Handle(camera_id=camera_id)
        event_type = EventType.CAMERA_OFFLINE if offline_event else event
        ev_handle = Handle(camera_id=camera_id) if event_type is not None else None

        def op(s: Session) -> None:
            row = Gap(camera_id=camera_id, start=start, end=None, reason=reason, kind=kind)
            s.add(row)
            ev: Event | None = None
            if event_type is not None:
                ev = Event(
                    type=event_type,
                    camera_id=camera_id,
                    start=start,
                    severity=severity_of(event_type),
                    data={"reason": reason},
                )
                s.add(ev)
            s.flush()
            gap.row_id = row.id
            if ev_handle is not None and ev is not None:
                ev_handle.row_id = ev.id

        self._put(camera_id, op)
        return gap, ev_handle

    def outage_ended(self, gap: Handle, event: Handle | None, end: datetime) -> None:
        def op(s: Session) -> None:
            s.execute(update(Gap).where(Gap.id == gap.row_id).values(end=end))
            if event is not None:
                s.execute(update(Event).where(Event.id == event.row_id).values(end=end))

        self._put(gap.camera_id, op)

    def resume_open_gap(self, camera_id: str) -> Handle | None:
        """The camera's (video) gap left open by a previous run, if any (synchronous)."""
        with self.db.session() as s:
            row_id = s.scalar(
                select(Gap.id)
                .where(Gap.camera_id == camera_id, Gap.end.is_(None), Gap.kind == "video")
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

    def camera_had_audio(self, camera_id: str) -> bool:
        """Did the camera's newest segment record sound? (synchronous; at start-up)"""
        with self.db.session() as s:
            newest = s.scalar(
                select(Segment.id)
                .where(Segment.camera_id == camera_id)
                .order_by(Segment.start.desc())
                .limit(1)
            )
            if newest is None:
                return False
            audio = s.scalar(
                select(SegmentStream.index).where(
                    SegmentStream.segment_id == newest, SegmentStream.kind == "audio"
                )
            )
        return audio is not None

    def end_open_audio_gaps(self, camera_id: str, end: datetime | None) -> None:
        """Audio gaps a previous run left open end where its footage ended (or began)."""

        def op(s: Session) -> None:
            rows = s.scalars(
                select(Gap).where(
                    Gap.camera_id == camera_id, Gap.end.is_(None), Gap.kind == "audio"
                )
            ).all()
            for row in rows:
                row.end = max(end, row.start) if end is not None else row.start

        self._put(camera_id, op)

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


#: What a ``segment_streams`` row keeps of a stream's description.
_STREAM_COLUMNS = ("kind", "codec", "sample_rate", "channels", "width", "height", "fps", "bit_rate")


def _stream_row(segment_id: int, index: int, t: StreamInfo) -> SegmentStream:
    columns = {c: getattr(t, c) for c in _STREAM_COLUMNS}
    return SegmentStream(segment_id=segment_id, index=index, **columns)
