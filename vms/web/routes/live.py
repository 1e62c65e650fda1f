"""Live video: a WebRTC offer in, an answer out; the camera's H.264 is relayed, not re-encoded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from vms.web.audit import record
from vms.web.deps import StateDep, WebState, require
from vms.web.roles import Permission
from vms.web.schemas import SdpIn, SdpOut
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
