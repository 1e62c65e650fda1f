"""Live video: a WebRTC offer in, an answer out; the camera's H.264 is relayed, not re-encoded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from vms.web.audit import record
from vms.web.deps import StateDep, WebState, content, require
from vms.web.roles import Permission
from vms.web.schemas import SdpIn, SdpOut
from vms.web.scope import Scope, scoped
from vms.web.users import Principal

router = APIRouter(prefix="/api/live", tags=["live"])
Watcher = Annotated[Principal, Depends(require(Permission.LIVE))]


def _audit_live_start(state: WebState, user: Principal, camera_id: str) -> None:
    with state.db.session() as s:
        record(
            s,
            state.clock,
            user,
            "view",
            "camera",
            camera_id,
            reason="live view",
            details={"what": "live"},
        )


@router.post("/{camera_id}/offer")
async def live_offer(camera_id: str, body: SdpIn, state: StateDep, user: Watcher) -> SdpOut:
    """Answer the browser's WebRTC offer with the camera's live video and, when the offer
    asks for audio, its sound (audited)."""
    state.camera(camera_id, user)
    await run_in_threadpool(_audit_live_start, state, user, camera_id)
    answer = await state.live.answer(camera_id, body.sdp)
    return SdpOut(sdp=answer.sdp, type="answer", audio=answer.audio, transcoded=answer.transcoded)


@router.get("/viewers", response_model=dict[str, int])
def live_viewers(state: StateDep, user: Watcher) -> dict[str, int]:
    """Open live views per camera (in the user's scope)."""
    return {cam: n for cam, n in state.live.viewers().items() if user.sees(cam)}


OVERLAY_POLL_S = 0.2
KEEPALIVE_S = 15.0


@router.get(
    "/overlays",
    response_class=StreamingResponse,
    responses=content(
        "Server-sent events: overlay (a camera's newest tracks: t, w, h, n, b) and "
        "unavailable (a camera without analysis here).",
        "text/event-stream",
    ),
)
async def live_overlays(
    state: StateDep,
    scope: Annotated[Scope, Depends(scoped(Permission.LIVE))],
    camera: Annotated[
        list[str], Query(min_length=1, max_length=64, description="Cameras on the wall.")
    ],
) -> StreamingResponse:
    """What the analysis sees now on each camera (boxes of tracked people, their count), for
    the live wall to draw over the video; the video itself is not touched."""
    for cam in camera:
        scope.camera(cam)
    slots = {cam: state.overlays(cam) for cam in dict.fromkeys(camera)}

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        for cam, slot in slots.items():
            if slot is None:
                yield f"event: unavailable\ndata: {json.dumps({'camera': cam})}\n\n"
        seen: dict[str, int] = {}
        quiet_since = time.monotonic()
        while not state.closing.is_set():
            for cam, slot in slots.items():
                got = slot.read() if slot is not None else None
                if got is None or seen.get(cam) == got[0]:
                    continue
                seen[cam] = got[0]
                doc = {"camera": cam, **json.loads(got[1])}
                yield f"event: overlay\ndata: {json.dumps(doc, separators=(',', ':'))}\n\n"
                quiet_since = time.monotonic()
            if time.monotonic() - quiet_since > KEEPALIVE_S:
                yield ": keepalive\n\n"
                quiet_since = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.closing.wait(), OVERLAY_POLL_S)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
