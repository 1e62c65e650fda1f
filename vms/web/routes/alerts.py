"""Events and the live alert feed (server-sent events), with acknowledgement and a note."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.responses import FileResponse, StreamingResponse

from vms.custody.models import Alert as CustodyAlert
from vms.errors import NotFoundError
from vms.events import NEWEST, WRITTEN, EventFilter, find_events
from vms.vocab import Subsystem, jsonable
from vms.web import alerts as feed
from vms.web.deps import SessionDep, StateDep, content, served_file
from vms.web.i18n import texts_of
from vms.web.roles import Permission
from vms.web.schemas import AckIn, AckMessage, AckOut, AlertsOut, EventOut, FeedMessage
from vms.web.scope import Scope, scoped

router = APIRouter(prefix="/api", tags=["alerts"])
Supervisor = Annotated[Scope, Depends(scoped(Permission.ALERTS))]
EventReader = Annotated[Scope, Depends(scoped(Permission.EVENTS))]

KEEPALIVE_S = 15.0


@router.get("/alerts")
def recent_alerts(
    request: Request,
    s: SessionDep,
    state: StateDep,
    scope: Supervisor,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertsOut:
    """The newest alerts, newest first; ``last_id`` is where the live feed takes over. With
    them the open custody alerts (``custody``, oldest first), which the feed keeps current."""
    user = scope.user
    last = feed.latest_event_id(s)
    texts, now = texts_of(state.config, request, user.language), state.clock.now()
    custody = [
        feed.render_custody(m, texts, now)
        for m in map(
            state.alerts.custody, s.scalars(feed.open_custody_alerts().order_by(CustodyAlert.id))
        )
        if scope.rule.alert(m.camera_id, m.room)
    ]
    rows = find_events(s, EventFilter(cameras=user.camera_scope), order=WRITTEN, limit=limit)
    acked = feed.acked_ids(s, [r.id for r in rows])
    root = state.config.storage.root
    alerts = [feed.event_out(root, r, r.id in acked) for r in rows]
    return AlertsOut(last_id=last, alerts=alerts, custody=custody)


def _sse(message: FeedMessage) -> str:
    data = json.dumps(jsonable(message), separators=(",", ":"))
    head = f"id: {message.id}\n" if message.kind == "alert" else ""
    return f"{head}event: {message.kind}\ndata: {data}\n\n"


@router.get(
    "/alerts/stream",
    response_class=StreamingResponse,
    responses=content("Server-sent events: alert, ack, custody.", "text/event-stream"),
)
async def alert_stream(
    request: Request,
    state: StateDep,
    scope: Supervisor,
    after: Annotated[int, Query(ge=0, description="Newest alert id the page has.")] = 0,
    last_event_id: Annotated[int | None, Header()] = None,
) -> StreamingResponse:
    """Server-sent events: ``alert`` for each new event, ``ack`` for each acknowledgement,
    ``custody`` for each custody alert raised, escalated, acknowledged or cleared (the whole
    alert; a new stream first gets every open one)."""
    start = max(after, last_event_id or 0)
    texts = texts_of(state.config, request, scope.user.language)
    listener = state.alerts.subscribe(scope.user, start, texts, visible=scope.rule.alert)

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(listener.queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if message is None:  # shutting down
                    return
                yield _sse(message)
        finally:
            state.alerts.unsubscribe(listener)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.post("/alerts/{event_id}/ack", status_code=status.HTTP_201_CREATED)
def ack_alert(
    event_id: int, body: AckIn, s: SessionDep, state: StateDep, scope: Supervisor
) -> AckOut:
    """Acknowledge an alert with a note; every open feed shows it at once."""
    user = scope.user
    event = scope.event(s, event_id)
    ack = feed.acknowledge(s, event.id, user, body.note.strip(), state.clock.now())
    out = AckOut(id=ack.id, event_id=event.id, username=user.username, note=ack.note, at=ack.at)
    state.alerts.publish(AckMessage(**out.model_dump(), camera_id=event.camera_id))
    return out


@router.get("/alerts/{event_id}/acks")
def alert_acks(event_id: int, s: SessionDep, scope: Supervisor) -> list[AckOut]:
    event = scope.event(s, event_id)
    return [
        AckOut(id=a.id, event_id=a.event_id, username=name, note=a.note, at=a.at)
        for a, name in feed.acks_of(s, event.id)
    ]


@router.get("/events")
def events(
    s: SessionDep,
    state: StateDep,
    scope: EventReader,
    camera_id: str | None = None,
    type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventOut]:
    """Events, newest first, by camera, type and time (the search page builds on this)."""
    if camera_id is not None:
        scope.camera(camera_id)
    f = EventFilter(
        cameras=[camera_id] if camera_id is not None else scope.user.camera_scope,
        types=None if type is None else [type],
        since=since,
        until=until,
    )
    rows = find_events(s, f, order=NEWEST, limit=limit)
    acked = feed.acked_ids(s, [r.id for r in rows])
    root = state.config.storage.root
    return [feed.event_out(root, r, r.id in acked) for r in rows]


@router.get("/events/{event_id}/snapshot", **served_file("The snapshot.", "image/jpeg"))
def event_snapshot(
    event_id: int, s: SessionDep, state: StateDep, scope: EventReader
) -> FileResponse:
    """The JPEG the rule saved when the event fired."""
    event = scope.event(s, event_id)
    path = feed.snapshot_path(state.config.storage.root, event)
    if path is None:
        raise NotFoundError(f"event {event_id} has no snapshot", subsystem=Subsystem.WEB)
    return FileResponse(path, media_type="image/jpeg")
