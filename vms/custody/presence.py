"""People visible per room over time: the join between the analytics pipeline and custody.

The pipeline calls ``PresenceRecorder.observe`` once per analysed frame of a custody camera::

    recorder = PresenceRecorder(db, config.custody.presence, cameras={"cell-1-cam"})
    recorder.observe(RoomObservation("cell-1-cam", frame_time, person_count=1, track_ids=(7,)))

Each camera's count is smoothed (the largest seen in the last ``settle_s``, so one missed
detection is not someone leaving) and written only when it changes, as ``custody_presence``
rows; an unchanged count is confirmed every ``heartbeat_s``. The rules read those rows back as a
room timeline: the count of a room is the largest of its cameras' counts, and unknown where no
camera of the room has been observed for ``stale_s``.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vms.clock import utc
from vms.config import Config
from vms.custody.config import PresenceConfig
from vms.custody.layout import Room, build_layout
from vms.custody.models import Presence
from vms.db.session import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoomObservation:
    """What the analytics pipeline saw on one camera in one analysed frame."""

    camera_id: str
    time: datetime
    person_count: int
    track_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.person_count < 0:
            raise ValueError(f"person_count must be >= 0, got {self.person_count}")


class FrameLike(Protocol):
    """What the analytics pipeline reports per frame (vms.detection.pipeline.FrameResult)."""

    @property
    def camera_id(self) -> str: ...
    @property
    def time(self) -> datetime: ...
    @property
    def person_count(self) -> int: ...
    @property
    def track_ids(self) -> tuple[int, ...]: ...


@dataclass
class _CameraState:
    window: deque[tuple[datetime, int]] = field(default_factory=deque)
    count: int | None = None
    row_id: int | None = None
    last_time: datetime | None = None
    written_at: datetime | None = None


class PresenceRecorder:
    """Turns per-frame observations into ``custody_presence`` rows. Thread-safe."""

    def __init__(
        self, db: Database, config: PresenceConfig, *, cameras: Iterable[str] | None = None
    ) -> None:
        self.db = db
        self.config = config
        self.cameras = None if cameras is None else frozenset(cameras)
        self._state: dict[str, _CameraState] = {}
        self._lock = threading.Lock()
        self.errors = 0

    def observe(self, obs: RoomObservation) -> None:
        """Record one frame's count; cameras outside ``cameras`` are ignored."""
        if self.cameras is not None and obs.camera_id not in self.cameras:
            return
        t = utc(obs.time)
        with self._lock:
            st = self._state.get(obs.camera_id)
            if st is None:
                st = self._state[obs.camera_id] = _CameraState()
                self._write(lambda: self._close_left_open(obs.camera_id))
            stale = timedelta(seconds=self.config.stale_s)
            if st.last_time is not None and (t - st.last_time > stale or t < st.last_time):
                # Analytics stopped for a while (or time went back): what lay between is unknown.
                self._end_row(st, st.last_time)
                st.window.clear()
            st.window.append((t, obs.person_count))
            settle = timedelta(seconds=self.config.settle_s)
            while st.window and st.window[0][0] < t - settle:
                st.window.popleft()
            count = max(n for _, n in st.window)
            st.last_time = t
            if st.row_id is None or count != st.count:
                self._end_row(st, t)
                st.count = count
                self._write(lambda: self._open_row(st, obs.camera_id, t, count))
            elif st.written_at is None or (t - st.written_at).total_seconds() >= (
                self.config.heartbeat_s
            ):
                row_id = st.row_id
                self._write(lambda: self._touch(row_id, t))
                st.written_at = t

    def on_frame(self, frame: FrameLike) -> None:
        """A pipeline observer: ``Pipeline(..., observers=[recorder.on_frame])``."""
        self.observe(
            RoomObservation(frame.camera_id, frame.time, frame.person_count, frame.track_ids)
        )

    def close(self) -> None:
        """End every open row at its camera's last observation (the pipeline stopped)."""
        with self._lock:
            for st in self._state.values():
                if st.last_time is not None:
                    self._end_row(st, st.last_time)
            self._state.clear()

    # -- database ------------------------------------------------------------------------

    def _write(self, op: Callable[[], None]) -> None:
        try:
            op()
        except SQLAlchemyError as exc:  # analytics goes on; the count is unknown meanwhile
            self.errors += 1
            log.warning("custody presence not written: %s", exc)

    def _open_row(self, st: _CameraState, camera_id: str, t: datetime, count: int) -> None:
        with self.db.session() as s:
            row = Presence(camera_id=camera_id, start=t, end=None, seen_at=t, count=count)
            s.add(row)
            s.flush()
            st.row_id = row.id
            st.written_at = t

    def _end_row(self, st: _CameraState, t: datetime) -> None:
        row_id, st.row_id, st.count = st.row_id, None, None
        if row_id is not None:
            self._write(lambda: self._set(row_id, end=t, seen_at=t))

    def _touch(self, row_id: int | None, t: datetime) -> None:
        if row_id is not None:
            self._set(row_id, seen_at=t)

    def _set(self, row_id: int, **values: datetime) -> None:
        with self.db.session() as s:
            s.execute(update(Presence).where(Presence.id == row_id).values(**values))

    def _close_left_open(self, camera_id: str) -> None:
        """Rows a previous run left open end where they were last confirmed."""
        with self.db.session() as s:
            for row in s.scalars(
                select(Presence).where(Presence.camera_id == camera_id, Presence.end.is_(None))
            ):
                row.end = row.seen_at


def presence_observers(
    config: Config, db: Database, camera_ids: Iterable[str]
) -> list[Callable[[FrameLike], None]]:
    """The observers a worker process gives its analytics pipelines: a presence recorder for
    its cameras that cover a custody room (none when it has no such camera, so street
    cameras do not run the detector for custody's sake)."""
    covered = {c for r in build_layout(config).rooms.values() for c in r.cameras}
    mine = covered & set(camera_ids)
    if not mine:
        return []
    return [PresenceRecorder(db, config.custody.presence, cameras=mine).on_frame]


# --- reading presence back as timelines ----------------------------------------------------


@dataclass(frozen=True)
class PresenceSpan:
    """One presence row as plain data: ``count`` on ``camera_id`` from ``start`` to ``end``."""

    camera_id: str
    start: datetime
    end: datetime | None
    seen_at: datetime
    count: int

    @classmethod
    def of(cls, row: Presence) -> PresenceSpan:
        return cls(row.camera_id, row.start, row.end, row.seen_at, row.count)

    def known_until(self, now: datetime, stale_s: float) -> datetime:
        if self.end is not None:
            return self.end
        return min(now, self.seen_at + timedelta(seconds=stale_s))


@dataclass(frozen=True)
class Piece:
    """The room's count from ``start`` to ``end``; None where no camera of the room knows."""

    start: datetime
    end: datetime
    count: int | None


@dataclass(frozen=True)
class Run:
    """A stretch of a timeline where a condition held: ``end`` None while it still holds."""

    start: datetime
    end: datetime | None


def room_timeline(
    spans: Sequence[PresenceSpan], start: datetime, end: datetime, now: datetime, stale_s: float
) -> list[Piece]:
    """The room's count over [start, end]: the largest of its cameras' counts at each time."""
    known = [
        (max(sp.start, start), min(sp.known_until(now, stale_s), end), sp.count)
        for sp in spans
        if sp.start < end and sp.known_until(now, stale_s) > start
    ]
    points = sorted({start, end, *(a for a, _, _ in known), *(b for _, b, _ in known)})
    pieces: list[Piece] = []
    for a, b in itertools.pairwise(points):
        if b <= a:
            continue
        counts = [n for s, e, n in known if s <= a and e >= b]
        count = max(counts) if counts else None
        if pieces and pieces[-1].count == count and pieces[-1].end == a:
            pieces[-1] = Piece(pieces[-1].start, b, count)
        else:
            pieces.append(Piece(a, b, count))
    return pieces


def runs(
    pieces: Sequence[Piece],
    holds: Callable[[int], bool],
    *,
    min_s: float,
    ongoing_at: datetime | None,
) -> list[Run]:
    """Stretches of at least ``min_s`` where the count is known and ``holds``. A stretch that
    reaches ``ongoing_at`` (the evaluation time, when the window is still open) has no end."""
    out: list[Run] = []
    cur_start: datetime | None = None
    cur_end: datetime | None = None
    for p in [*pieces, None]:
        if p is not None and p.count is not None and holds(p.count):
            if cur_start is None or cur_end != p.start:
                _flush(out, cur_start, cur_end, min_s, ongoing_at)
                cur_start = p.start
            cur_end = p.end
            continue
        _flush(out, cur_start, cur_end, min_s, ongoing_at)
        cur_start = cur_end = None
    return out


def _flush(
    out: list[Run],
    start: datetime | None,
    end: datetime | None,
    min_s: float,
    ongoing_at: datetime | None,
) -> None:
    if start is None or end is None:
        return
    if (end - start).total_seconds() + 1e-9 < min_s:
        return
    out.append(Run(start, None if ongoing_at is not None and end >= ongoing_at else end))


def spans_by_camera(spans: Iterable[PresenceSpan]) -> Mapping[str, list[PresenceSpan]]:
    out: dict[str, list[PresenceSpan]] = {}
    for sp in spans:
        out.setdefault(sp.camera_id, []).append(sp)
    return out


# --- the rooms' occupancy now ----------------------------------------------------------------


@dataclass(frozen=True)
class Occupancy:
    """How many people a room's cameras see now: ``count`` is the largest of its cameras'
    current counts, None (unknown) where no camera of the room has been observed within
    ``stale_s`` (or none ever was). ``seen_at``: the room's latest observation."""

    room_id: str
    count: int | None
    seen_at: datetime | None
    cameras: dict[str, int | None]


def room_occupancy(
    s: Session, rooms: Iterable[Room], now: datetime, stale_s: float
) -> dict[str, Occupancy]:
    """Each room's occupancy on video at ``now`` from the latest ``custody_presence`` row of
    each of its cameras: a camera's count is known while its row is open and was confirmed
    within ``stale_s``."""
    rooms = list(rooms)
    cams = sorted({c for r in rooms for c in r.cameras})
    latest: dict[str, Presence] = {}
    if cams:
        newest = (
            select(func.max(Presence.id))
            .where(Presence.camera_id.in_(cams))
            .group_by(Presence.camera_id)
            .scalar_subquery()
        )
        for row in s.scalars(select(Presence).where(Presence.id.in_(newest))):
            latest[row.camera_id] = row
    stale = timedelta(seconds=stale_s)
    out: dict[str, Occupancy] = {}
    for room in rooms:
        counts: dict[str, int | None] = {}
        seen: list[datetime] = []
        for cam in room.cameras:
            last = latest.get(cam)
            if last is None:
                counts[cam] = None
                continue
            seen_at = utc(last.seen_at)
            seen.append(seen_at)
            fresh = last.end is None and now - seen_at <= stale
            counts[cam] = last.count if fresh else None
        known = [n for n in counts.values() if n is not None]
        out[room.id] = Occupancy(
            room.id, max(known) if known else None, max(seen) if seen else None, counts
        )
    return out
