"""Play a case's clips: the evidence file itself (remuxed from the recordings when it was
added, hash-checked before it plays), each start of playback audited as a view of the item."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from vms.errors import NotFoundError, PermissionDeniedError
from vms.evidence.items import get_item, view_item
from vms.vocab import Subsystem
from vms.web.audit import actor_of
from vms.web.deps import StateDep, content
from vms.web.roles import Permission
from vms.web.routes.recordings import check_reason
from vms.web.scope import CaseAccess, Scope, scoped

router = APIRouter(prefix="/api/cases", tags=["cases"])
Investigator = Annotated[Scope, Depends(scoped(Permission.CASES))]
SCOPE = "item"


class ItemPlayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(
        None, max_length=1000, description="Why: required for footage of custody rooms."
    )


class ItemPlayOut(BaseModel):
    item_id: int
    camera_id: str
    start: datetime
    end: datetime
    sha256: str | None = Field(description="The clip's SHA-256, checked before it plays.")
    url: str = Field(description="The clip, with a signed grant; supports HTTP range requests.")


def _clip(scope: Scope, case_id: int, item_id: int) -> str:
    """The case number of an active clip of the case: the case's members only (404 / 403),
    the clip's camera in the user's scope (403)."""
    with scope.state.db.session() as s:
        number = scope.case(s, case_id, CaseAccess.READ).number
    item = get_item(scope.state.db, item_id)
    if item.case_number != number or item.kind != "clip":
        raise NotFoundError(f"no clip {item_id} in case {case_id}", subsystem=Subsystem.WEB)
    scope.check_cameras([item.camera_id], f"clip {item_id}")
    return number


@router.post("/{case_id}/items/{item_id}/play")
async def play_clip(
    case_id: int, item_id: int, body: ItemPlayIn, state: StateDep, scope: Investigator
) -> ItemPlayOut:
    """Start playing one of the case's clips: its file is hash-checked and the view audited."""
    _clip(scope, case_id, item_id)
    user = scope.user
    item = get_item(state.db, item_id)
    cam = state.cameras.get(item.camera_id)
    reason = check_reason(cam, body.reason, "play") if cam else (body.reason or "")
    actor = actor_of(user, reason or "clip played from the case page")
    item, _path = await run_in_threadpool(
        view_item, state.db, state.config, state.clock, actor, item_id
    )
    grant = state.grants.sign(user.id, item.id, scope=SCOPE)
    url = f"/api/cases/{case_id}/items/{item.id}/video?grant={grant}"
    return ItemPlayOut(
        item_id=item.id,
        camera_id=item.camera_id,
        start=item.start,
        end=item.end,
        sha256=item.sha256,
        url=url,
    )


@router.get(
    "/{case_id}/items/{item_id}/video",
    response_class=FileResponse,
    responses=content("The clip's file (HTTP range requests).", "video/mp4"),
)
def clip_video(
    case_id: int,
    item_id: int,
    state: StateDep,
    scope: Investigator,
    grant: Annotated[str, Query(max_length=200, description="From .../play.")] = "",
) -> FileResponse:
    """The clip's file for a video element, under the grant its (audited) start gave."""
    _clip(scope, case_id, item_id)
    user = scope.user
    if not state.grants.check(grant, user.id, item_id, scope=SCOPE):
        raise PermissionDeniedError(
            f"no valid grant for clip {item_id}: start playing it with POST "
            f"/api/cases/{case_id}/items/{item_id}/play (it is audited)",
            subsystem=Subsystem.WEB,
        )
    item = get_item(state.db, item_id)
    if item.path is None or not (state.config.storage.root / item.path).is_file():
        raise NotFoundError(f"the file of clip {item_id} is missing", subsystem=Subsystem.WEB)
    return FileResponse(state.config.storage.root / item.path, media_type="video/mp4")
