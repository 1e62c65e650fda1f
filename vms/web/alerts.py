"""The live alert feed: one poller of the events and custody alerts, fanned out to every feed.

Events are written by other processes (camera workers, the analytics pipeline), so the
database is the meeting point: one query every ``interval_s`` for rows newer than the last
seen, whatever the number of viewers, and none while nobody listens.

On PostgreSQL a LISTEN connection (vms.cluster.notify) wakes the poll the moment any node
commits an event or a custody alert, so an alert raised on node A is in node B's feeds
within a few milliseconds; polling then only backs it up every ``fallback_s``. A notified
event committed after a newer one was already sent (ids are taken before commit) is fetched
by its id, so none is skipped. SQLite (one node) keeps polling every ``interval_s``.

Custody alerts change after they are raised (the custody checks escalate them 1 -> 2 -> 3, a
supervisor acknowledges, the condition clears), so the same poll also reads the open ones
(unacknowledged or not cleared, as on the custody page) and sends a ``custody`` message, the
whole alert, for each one that is new or changed; a new feed first gets all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vms.clock import Clock, SystemClock
from vms.cluster.notify import NotifyListener, is_postgres
from vms.custody.config import EscalationConfig
from vms.custody.models import Alert as CustodyAlert
from vms.custody.texts import alert_text
from vms.custody.views import AlertView
from vms.db.models import Event
from vms.db.session import Database
from vms.i18n import Texts, texts_for
from vms.web.models import AlertAck, User
from vms.web.schemas import AlertMessage, CustodyMessage, EventOut, FeedMessage
from vms.web.users import Principal

log = logging.getLogger(__name__)


def snapshot_path(root: Path, event: Event) -> Path | None:
    """The event's JPEG snapshot (the analytics pipeline saves it under the storage root)."""
    rel = event.snapshot or (event.data.get("snapshot") if isinstance(event.data, dict) else None)
    if not isinstance(rel, str) or not rel:
        return None
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path


def event_out(root: Path, event: Event, acked: bool = False) -> EventOut:
    return EventOut(
        id=event.id,
        type=event.type,
        camera_id=event.camera_id,
        zone=event.zone,
        start=event.start,
        end=event.end,
        severity=event.severity,
        has_snapshot=snapshot_path(root, event) is not None,
        acked=acked,
        data=event.data,
    )


def acked_ids(s: Session, event_ids: list[int]) -> set[int]:
    if not event_ids:
        return set()
    q = select(AlertAck.event_id).where(AlertAck.event_id.in_(event_ids)).distinct()
    return set(s.scalars(q))


def acknowledge(s: Session, event_id: int, user: Principal, note: str, now: datetime) -> AlertAck:
    ack = AlertAck(event_id=event_id, user_id=user.id, note=note, at=now)
    s.add(ack)
    s.flush()
    return ack


def acks_of(s: Session, event_id: int) -> list[tuple[AlertAck, str]]:
    q = (
        select(AlertAck, User.username)
        .join(User, User.id == AlertAck.user_id)
        .where(AlertAck.event_id == event_id)
        .order_by(AlertAck.id)
    )
    return [(a, name) for a, name in s.execute(q)]


def open_custody_alerts() -> Select[CustodyAlert]:
    """The custody alerts still open: not acknowledged or not cleared (the custody page's)."""
    return select(CustodyAlert).where(
        or_(CustodyAlert.ack_at.is_(None), CustodyAlert.cleared_at.is_(None))
    )


def custody_message(
    a: CustodyAlert, cfg: EscalationConfig | None, room_names: Mapping[str, str]
) -> CustodyMessage:
    """A custody alert as the feed sends it: the alert's view plus the room's name."""
    return CustodyMessage(
        **AlertView.of(a, cfg).model_dump(),
        room_name=room_names.get(a.room_id or "", a.room_id),
        camera_id=a.camera_id,
        open=a.ack_at is None or a.cleared_at is None,
    )


def render_custody(message: CustodyMessage, texts: Texts, now: datetime) -> CustodyMessage:
    """The alert as one reader reads it: its sentence in their language, as of now."""
    to = texts.gettext(message.level_to) if message.level_to else message.level_to
    return message.model_copy(update={"message": alert_text(message, now, texts), "level_to": to})


_CustodyState = tuple[int, datetime | None, datetime | None, str]


def _custody_state(message: CustodyMessage, now: datetime) -> _CustodyState:
    # The sentence is part of the state: "35 min left" becomes "34 min left" and is sent again.
    english = alert_text(message, now, texts_for("en", "UTC"))
    return (message.level, message.ack_at, message.cleared_at, english)


@dataclass(eq=False)
class Listener:
    """One open feed: what its user may see, the newest alert sent, the messages waiting."""

    user: Principal
    seen: int
    texts: Texts = field(default_factory=texts_for)
    clock: Clock = field(default_factory=SystemClock)
    queue: asyncio.Queue[FeedMessage | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=1000)
    )
    #: Whether it has had every open custody alert once (then only the changes).
    custody_synced: bool = False
    #: The user's scope rule (vms.web.scope.Visibility.alert): (camera, room) -> may see.
    visible: Callable[[str | None, str | None], bool] | None = None

    def sees(self, camera_id: str | None, room_id: str | None) -> bool:
        if self.visible is not None:
            return self.visible(camera_id, room_id)
        return (camera_id is not None and self.user.sees(camera_id)) or (
            camera_id is None and self.user.camera_scope is None
        )

    #: Alerts sent with an id below ``seen`` (committed late), so none goes twice.
    late_sent: set[int] = field(default_factory=set)

    def offer(self, message: FeedMessage | None) -> None:
        if message is not None:
            room = message.room if isinstance(message, CustodyMessage) else None
            if not self.sees(message.camera_id, room):
                return
            if isinstance(message, AlertMessage):
                if message.id <= self.seen:
                    if not message.late or message.id in self.late_sent:
                        return
                    if len(self.late_sent) > 10_000:
                        self.late_sent.clear()
                    self.late_sent.add(message.id)
                else:
                    self.seen = message.id
            if isinstance(message, CustodyMessage):
                message = render_custody(message, self.texts, self.clock.now())
        with contextlib.suppress(asyncio.QueueFull):  # a stalled browser loses old alerts
            self.queue.put_nowait(message)


class AlertBroadcaster:
    """Polls for new events while anybody listens; hands each to every listener."""

    BATCH = 500

    def __init__(
        self,
        db: Database,
        root: Path,
        interval_s: float = 0.2,
        *,
        escalation: EscalationConfig | None = None,
        room_names: Mapping[str, str] | None = None,
        fallback_s: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.db = db
        self.root = root
        self.interval_s = interval_s
        self.fallback_s = fallback_s
        self._notify: NotifyListener | None = None
        self._listening = False
        #: Events notified with an id at or below the newest sent: fetched by id.
        self._late: set[int] = set()
        self._sent: deque[int] = deque(maxlen=5000)
        self.escalation = escalation
        self.room_names = dict(room_names or {})
        self._listeners: set[Listener] = set()
        self._last_id: int | None = None
        #: Open custody alerts as last sent: id -> (level, ack_at, cleared_at).
        self._custody: dict[int, _CustodyState] = {}
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._closing = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="alert-feed")
        if is_postgres(self.db.url):
            self._notify = NotifyListener(self.db.url, self._notified, on_state=self._listen_state)
            self._notify.start()

    @property
    def listening(self) -> bool:
        """True while a LISTEN connection is up (PostgreSQL): alerts arrive as committed."""
        return self._listening

    def _listen_state(self, up: bool) -> None:
        self._listening = up
        self._wake_soon()

    def _notified(self, payload: str) -> None:
        """In the listener thread: a row was committed; handled in the feed's loop."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._on_notice, payload)

    def _on_notice(self, payload: str) -> None:
        """In the feed's loop: note an event committed out of id order, and poll now."""
        table, _sep, ident = payload.partition(":")
        if table == "events" and ident.isdigit():
            event_id = int(ident)
            last = self._last_id
            if last is not None and event_id <= last and event_id not in self._sent:
                self._late.add(event_id)
        self._wake.set()

    def _wake_soon(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    def subscribe(
        self,
        user: Principal,
        after: int,
        texts: Texts | None = None,
        visible: Callable[[str | None, str | None], bool] | None = None,
    ) -> Listener:
        """A feed of alerts newer than ``after`` (the newest the page already shows), with
        custody alerts worded for ``texts``; only what ``visible`` (the user's scope) allows."""
        listener = Listener(user, after, texts or texts_for(), self.clock, visible=visible)
        self._last_id = after if self._last_id is None else min(self._last_id, after)
        self._listeners.add(listener)
        self._wake.set()
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def publish(self, message: FeedMessage) -> None:
        """From any thread: send ``message`` (with a ``camera_id``) to every listener."""
        if self._loop is None:
            return

        def send() -> None:
            for listener in list(self._listeners):
                listener.offer(message)

        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(send)

    def message(self, event: Event, acked: bool = False) -> AlertMessage:
        return AlertMessage(**event_out(self.root, event, acked).model_dump())

    def custody(self, a: CustodyAlert) -> CustodyMessage:
        return custody_message(a, self.escalation, self.room_names)

    def _poll(
        self, after: int, tracked: list[int], late: list[int] | None = None
    ) -> tuple[list[AlertMessage], list[CustodyMessage]]:
        """New events after ``after`` (and the ``late`` ones, by id); the open custody alerts
        and those of ``tracked`` (open when last polled) that have closed since."""
        q = select(Event).where(Event.id > after).order_by(Event.id).limit(self.BATCH)
        with self.db.session() as s:
            rows = list(s.scalars(q))
            if late:
                old = s.scalars(select(Event).where(Event.id.in_(late)).order_by(Event.id))
                rows = list(old) + rows
            acked = acked_ids(s, [r.id for r in rows])
            custody = {a.id: a for a in s.scalars(open_custody_alerts())}
            closed = [i for i in tracked if i not in custody]
            for i in range(0, len(closed), 500):
                chunk = closed[i : i + 500]
                for a in s.scalars(select(CustodyAlert).where(CustodyAlert.id.in_(chunk))):
                    custody[a.id] = a
            custody_out = [self.custody(custody[i]) for i in sorted(custody)]
        late_ids = set(late or ())
        out = [
            self.message(r, r.id in acked).model_copy(update={"late": r.id in late_ids})
            for r in rows
        ]
        return out, custody_out

    def _fan_out_custody(self, custody: list[CustodyMessage]) -> None:
        now = self.clock.now()
        states = {m.id: _custody_state(m, now) for m in custody}
        changed = [m for m in custody if self._custody.get(m.id) != states[m.id]]
        self._custody = {m.id: states[m.id] for m in custody if m.open}
        opened = [m for m in custody if m.open]
        for listener in list(self._listeners):
            if listener.custody_synced:
                for m in changed:
                    listener.offer(m)
            else:
                listener.custody_synced = True
                for m in opened:
                    listener.offer(m)

    async def _run(self) -> None:
        while not self._closing:
            if not self._listeners or self._last_id is None:
                self._last_id = None  # nobody listens: no queries
                self._custody = {}
                self._wake.clear()
                await self._wake.wait()
                continue
            self._wake.clear()
            late, self._late = sorted(self._late), set()
            try:
                messages, custody = await run_in_threadpool(
                    self._poll, self._last_id, list(self._custody), late
                )
            except Exception as exc:  # a database hiccup must not end the feed
                log.warning("alert feed: %s", exc)
                messages, custody = [], None
                self._late.update(late)
            if messages:
                self._last_id = max(self._last_id or 0, max(m.id for m in messages))
            for message in messages:
                self._sent.append(message.id)
                for listener in list(self._listeners):
                    listener.offer(message)
            if custody is not None:
                self._fan_out_custody(custody)
            if len(messages) < self.BATCH:
                wait = self.fallback_s if self._listening else self.interval_s
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
                # cancellation that close() sends when the wake-up lands at the same time.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()

    async def close(self, *, grace_s: float = 30.0) -> None:
        """Stop the feed. A poll in flight finishes first (it holds a database connection:
        cancelling it would leave the connection checked out after the engine is disposed);
        only a poll stuck for ``grace_s`` is cancelled."""
        self._closing = True
        if self._notify is not None:
            await run_in_threadpool(self._notify.stop)
            self._notify = None
        for listener in list(self._listeners):
            listener.offer(None)
        self._listeners.clear()
        self._wake.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=grace_s)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task


def latest_event_id(s: Session) -> int:
    return int(s.scalar(select(func.max(Event.id))) or 0)
