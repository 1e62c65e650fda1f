"""Body-worn files: search, detail, playback and download (own file or approval, audited),
retention category, case and person links, clips into a case, approvals, the timeline.

Roles decide who reaches a route (vms.web.roles); the file decides the rest: an officer
sees only their own files, anyone else views or copies a file only under an approval
(vms.bodyworn.access), and camera scope applies to recorders' ``bw.<serial>`` ids as to
any camera.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vms.bodyworn import access, links
from vms.bodyworn.access import Action, Who
from vms.bodyworn.copies import export_name
from vms.bodyworn.files import (
    Area,
    FileQuery,
    file_of_segment,
    file_row,
    location_of,
    search_files,
    view_of,
)
from vms.bodyworn.models import Approval, BodywornFile, Device
from vms.bodyworn.retention import set_category
from vms.bodyworn.views import ApprovalView, CaseLinkView, FileView
from vms.errors import InvalidError, NotFoundError, PermissionDeniedError
from vms.evidence.audit import Actor
from vms.evidence.items import add_clip
from vms.storage.resolve import storage_for
from vms.vocab import Subsystem, view_from
from vms.web.bodyworn_schemas import (
    AccessOut,
    ApprovalIn,
    BodywornClipIn,
    BodywornTimelineOut,
    CaseLinkIn,
    CategoryIn,
    DecisionIn,
    FileDetailOut,
    FilesOut,
    Lane,
    LaneFile,
    LinkOut,
    PersonLinkIn,
    PlayIn,
    PlayOut,
    RevokeIn,
)
from vms.web.deps import (
    GrantQuery,
    SessionDep,
    StateDep,
    WebState,
    check_grant,
    require,
    served_file,
)
from vms.web.files import stored_response
from vms.web.roles import Permission, Role
from vms.web.schemas import ItemOut
from vms.web.scope import case_member
from vms.web.users import Principal

router = APIRouter(prefix="/api/bodyworn", tags=["body-worn"])
Viewer = Annotated[Principal, Depends(require(Permission.BODYWORN))]
Categorizer = Annotated[Principal, Depends(require(Permission.BODYWORN_CATEGORY))]
Linker = Annotated[Principal, Depends(require(Permission.CASES))]
Approver = Annotated[Principal, Depends(require(Permission.BODYWORN_APPROVE))]
MEDIA = {".mp4": "video/mp4", ".mov": "video/mp4", ".m4v": "video/mp4"}
PLAYABLE = ("h264",)


def who(s: Session, user: Principal) -> Who:
    return access.who_of_user(s, user.id, user.username, user.role.value)


def _own_only(user: Principal) -> bool:
    return user.role is Role.OFFICER


def visible_file(s: Session, user: Principal, file_id: int) -> BodywornFile:
    """The file, if the caller may see its record (officers: their own; camera scope)."""
    row = file_row(s, file_id)
    device = s.get(Device, row.device_id)
    assert device is not None
    user.check_camera(device.camera_id)
    if _own_only(user) and row.officer_id != who(s, user).officer_id:
        raise PermissionDeniedError(
            f"body-worn file {file_id} is not yours", subsystem=Subsystem.WEB
        )
    return row


def segment_access(
    state: WebState, s: Session, user: Principal, segment_id: int, action: Action
) -> tuple[Who, access.Access, BodywornFile]:
    """For the camera routes (/api/playback, segment video and download): a body-worn
    segment is one file, viewed or copied under its own access rule (a refusal audited)."""
    row = file_of_segment(s, segment_id)
    if row is None or row.status != "active":
        raise NotFoundError(f"no recorded segment {segment_id}", subsystem=Subsystem.WEB)
    visible_file(s, user, row.id)
    me = who(s, user)
    return me, access.authorize(state.db, state.clock, me, row.id, action), row


def _area(lat: float | None, lon: float | None, radius_m: float | None) -> Area | None:
    given = [v is not None for v in (lat, lon, radius_m)]
    if not any(given):
        return None
    if not all(given):
        raise InvalidError(
            "lat, lon and radius_m go together (a place is a circle)", subsystem=Subsystem.WEB
        )
    return Area(float(lat or 0), float(lon or 0), float(radius_m or 0))


Lat = Annotated[float | None, Query(ge=-90, le=90, description="Place: latitude.")]
Lon = Annotated[float | None, Query(ge=-180, le=180, description="Place: longitude.")]
Radius = Annotated[float | None, Query(gt=0, le=200_000, description="Place: radius, metres.")]


def _query(
    s: Session,
    user: Principal,
    *,
    officer: str | None = None,
    unit: str | None = None,
    device: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    area: Area | None = None,
    case: str | None = None,
    person: int | None = None,
    category: str | None = None,
    late: bool | None = None,
    limit: int = 200,
) -> FileQuery | None:
    owner = None
    if _own_only(user):
        owner = who(s, user).officer_id
        if owner is None:
            return None  # an officer account linked to no officer record: nothing is theirs
    return FileQuery(
        officer=officer, unit=unit, device=device, start=start, end=end, near=area,
        case_number=case, person_id=person, category=category, late=late,
        owner_officer_id=owner, limit=limit,
    )  # fmt: skip


@router.get("/files")
def files(
    state: StateDep,
    s: SessionDep,
    user: Viewer,
    officer: Annotated[str | None, Query(max_length=32, description="Badge.")] = None,
    unit: Annotated[str | None, Query(max_length=200)] = None,
    device: Annotated[str | None, Query(max_length=48, description="Recorder serial.")] = None,
    start: Annotated[datetime | None, Query(description="Recorded after.")] = None,
    end: Annotated[datetime | None, Query(description="Recorded before.")] = None,
    lat: Lat = None,
    lon: Lon = None,
    radius_m: Radius = None,
    case: Annotated[str | None, Query(max_length=64, description="Case number.")] = None,
    person: Annotated[int | None, Query(description="Person held (ledger id).")] = None,
    category: Annotated[str | None, Query(max_length=24)] = None,
    late: Annotated[bool | None, Query(description="Late uploads (true) or on time.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> FilesOut:
    """Body-worn file records matching every filter given (officers: their own only)."""
    q = _query(
        s, user, officer=officer, unit=unit, device=device, start=start, end=end,
        area=_area(lat, lon, radius_m), case=case, person=person, category=category,
        late=late, limit=limit,
    )  # fmt: skip
    found = search_files(state.db, q) if q is not None else []
    return FilesOut(files=[f for f in found if user.sees(f.camera_id)], own_only=_own_only(user))


def _access_out(s: Session, state: WebState, user: Principal, row: BodywornFile) -> AccessOut:
    me = who(s, user)
    now = state.clock.now()
    view = access.find_access(s, me, row, Action.VIEW, now)
    copy = access.find_access(s, me, row, Action.COPY, now)
    best = copy or view
    return AccessOut(
        own=bool(best and best.own),
        can_view=view is not None,
        can_copy=copy is not None,
        approval_id=best.approval_id if best else None,
        valid_until=best.valid_until if best else None,
    )


@router.get("/files/{file_id}")
def file_detail(file_id: int, state: StateDep, s: SessionDep, user: Viewer) -> FileDetailOut:
    """One file's record, what the caller may do with it, its case links and approvals."""
    row = visible_file(s, user, file_id)
    mine = None if user.can(Permission.BODYWORN_APPROVE) else user.username
    return FileDetailOut(
        file=view_of(s, row),
        access=_access_out(s, state, user, row),
        links=links.case_links(state.db, file_id),
        approvals=access.list_approvals(
            state.db, state.clock.now(), requested_by=mine, file_id=file_id
        ),
    )


@router.post("/files/{file_id}/play")
def play(file_id: int, body: PlayIn, state: StateDep, s: SessionDep, user: Viewer) -> PlayOut:
    """Start playing a file (own, or under an approval): audited here; the URL serves it."""
    row = visible_file(s, user, file_id)
    me = who(s, user)
    granted = access.authorize(state.db, state.clock, me, file_id, Action.VIEW)
    if row.segment_id is None:
        raise NotFoundError(f"body-worn file {file_id} was deleted", subsystem=Subsystem.WEB)
    device = s.get(Device, row.device_id)
    camera = device.camera_id if device else None
    access.record_access(
        s, state.clock, me, granted, "view", body.reason,
        {"what": "playback", "camera": camera, "sha256": row.sha256},
    )  # fmt: skip
    grant = state.grants.sign(user.id, row.segment_id)
    return PlayOut(
        file_id=row.id,
        segment_id=row.segment_id,
        url=f"/api/bodyworn/files/{row.id}/video?grant={grant}",
        start=row.start,
        end=row.end,
        playable=row.video_codec in PLAYABLE,
    )


def stored_at(state: WebState, s: Session, row: BodywornFile) -> str:
    """Where the file's stored copy is (``local`` or ``bucket``); 404 when it is missing."""
    location = location_of(s, row)
    if storage_for(state.config).size(location, row.path) is None:
        raise NotFoundError(
            f"the stored copy of body-worn file {row.id} is missing", subsystem=Subsystem.WEB
        )
    return location


def serve_original(
    state: WebState, row: BodywornFile, location: str, request: Request, **kwargs: Any
) -> Response:
    """The original from this node's disk or the bucket (HTTP range requests either way)."""
    return stored_response(
        storage_for(state.config), location, row.path, request,
        what=f"body-worn file {row.id}", **kwargs,
    )  # fmt: skip


@router.get("/files/{file_id}/video", **served_file("The file (HTTP range requests).", "video/mp4"))
def video(
    file_id: int,
    request: Request,
    state: StateDep,
    s: SessionDep,
    user: Viewer,
    grant: GrantQuery = "",
) -> Response:
    """The file for a video element, under the grant POST .../play gave."""
    row = visible_file(s, user, file_id)
    start = f"POST /api/bodyworn/files/{file_id}/play"
    check_grant(state, grant, user, row.segment_id, f"body-worn file {file_id}", start)
    location = stored_at(state, s, row)
    media = MEDIA.get(Path(row.path).suffix, "video/mp4")
    return serve_original(state, row, location, request, media_type=media)


@router.get(
    "/files/{file_id}/download",
    **served_file("The original, byte for byte.", "video/mp4", "application/octet-stream"),
)
def download(
    file_id: int,
    request: Request,
    state: StateDep,
    s: SessionDep,
    user: Viewer,
    reason: Annotated[str, Query(max_length=1000, description="Why (audited).")] = "",
) -> Response:
    """The original file as an attachment (own, or a copy approval); audited as an export."""
    row = visible_file(s, user, file_id)
    me = who(s, user)
    granted = access.authorize(state.db, state.clock, me, file_id, Action.COPY)
    location = stored_at(state, s, row)
    view = view_of(s, row)
    access.record_access(
        s, state.clock, me, granted, "export", reason,
        {"what": "download", "sha256": row.sha256, "bytes": row.bytes},
    )  # fmt: skip
    return serve_original(
        state, row, location, request,
        media_type="application/octet-stream", filename=export_name(view),
        headers={"X-Content-SHA256": row.sha256},
    )  # fmt: skip


@router.post("/files/{file_id}/category")
def category(
    file_id: int, body: CategoryIn, state: StateDep, s: SessionDep, user: Categorizer
) -> FileView:
    """Set the file's retention category, with a reason (officers: their own files)."""
    visible_file(s, user, file_id)
    set_category(state.db, state.clock, Actor(user.username, body.reason), file_id, body.category)
    with state.db.session() as fresh:
        return view_of(fresh, file_row(fresh, file_id))


@router.post("/files/{file_id}/cases", status_code=status.HTTP_201_CREATED)
def link_case(
    file_id: int, body: CaseLinkIn, state: StateDep, s: SessionDep, user: Linker
) -> CaseLinkView:
    """Link the file (or part of it) to a case: it becomes evidence and is held (the case's
    owner and named investigators only)."""
    visible_file(s, user, file_id)
    case_member(state, user, body.case_number)
    return links.link_case(
        state.db, state.clock, Actor(user.username, body.reason), file_id, body.case_number,
        start=body.start, end=body.end, note=body.note,
    )  # fmt: skip


@router.post("/files/{file_id}/persons", status_code=status.HTTP_201_CREATED)
def link_person(
    file_id: int, body: PersonLinkIn, state: StateDep, s: SessionDep, user: Linker
) -> LinkOut:
    """Link the file to a person held."""
    visible_file(s, user, file_id)
    link_id = links.link_person(
        state.db, state.clock, Actor(user.username, body.reason), file_id, body.person_id,
        note=body.note,
    )  # fmt: skip
    return LinkOut(id=link_id, file_id=file_id)


@router.post("/files/{file_id}/clips", status_code=status.HTTP_201_CREATED)
async def clip(file_id: int, body: BodywornClipIn, state: StateDep, user: Linker) -> ItemOut:
    """Cut a clip of the file into a case: remuxed and hashed like a camera clip, held;
    needs the file's copy approval (or the file is one's own)."""
    case_member(state, user, body.case_number)
    with state.db.session() as s:
        row = visible_file(s, user, file_id)
        me = who(s, user)
        device = s.get(Device, row.device_id)
        assert device is not None
        bounds = (row.start, row.end)
    if not (bounds[0] <= body.start < body.end <= bounds[1]):
        raise InvalidError(
            f"start and end must lie inside the file ({bounds[0].isoformat()} to "
            f"{bounds[1].isoformat()}), start before end",
            subsystem=Subsystem.WEB,
        )
    granted = access.authorize(state.db, state.clock, me, file_id, Action.COPY)
    actor = Actor(user.username, body.reason)
    item = await run_in_threadpool(
        add_clip, state.db, state.config, state.clock, actor, body.case_number,
        device.camera_id, body.start, body.end, note=body.note,
    )  # fmt: skip
    links.link_case(
        state.db, state.clock, actor, file_id, body.case_number, start=body.start, end=body.end
    )
    with state.db.session() as s:
        access.record_access(
            s, state.clock, me, granted, "export", body.reason,
            {"what": "clip", "item": item.id, "case": body.case_number},
        )  # fmt: skip
    return ItemOut.model_validate(item)


# --- approvals ----------------------------------------------------------------------------


@router.post("/files/{file_id}/approvals", status_code=status.HTTP_201_CREATED)
def request_approval(
    file_id: int, body: ApprovalIn, state: StateDep, s: SessionDep, user: Viewer
) -> ApprovalView:
    """Ask a supervisor for approval to view or copy the file (one the caller may see)."""
    visible_file(s, user, file_id)
    bw = state.config.bodyworn
    return access.request_approval(
        state.db, state.clock, Actor(user.username, body.reason), file_id, body.action,
        hours=body.hours or bw.approval_hours, max_hours=bw.max_approval_hours,
    )  # fmt: skip


@router.get("/approvals")
def approvals(
    state: StateDep,
    user: Viewer,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(pending|granted|refused|revoked|expired)$")
    ] = None,
    mine: Annotated[bool, Query(description="Only the caller's own requests.")] = False,
) -> list[ApprovalView]:
    """Requests (supervisors: everyone's; others: their own), newest first."""
    only = user.username if mine or not user.can(Permission.BODYWORN_APPROVE) else None
    found = access.list_approvals(state.db, state.clock.now(), requested_by=only, status=status_)
    return [a for a in found if _file_visible(state, user, a.file_id)]


def _file_visible(state: WebState, user: Principal, file_id: int) -> bool:
    if user.camera_scope is None:
        return True
    with state.db.session() as s:
        try:
            visible_file(s, user, file_id)
        except (PermissionDeniedError, NotFoundError):
            return False
    return True


def _approval_file(state: WebState, user: Principal, approval_id: int) -> None:
    """The approval's file must be one the caller may see (camera scope), else 403."""
    with state.db.session() as s:
        row = s.get(Approval, approval_id)
        if row is None:
            raise NotFoundError(f"no approval {approval_id}", subsystem=Subsystem.WEB)
        visible_file(s, user, row.file_id)


@router.post("/approvals/{approval_id}/decision")
def decide(approval_id: int, body: DecisionIn, state: StateDep, user: Approver) -> ApprovalView:
    """Grant (time-limited) or refuse a request; never one's own; a file in one's scope."""
    _approval_file(state, user, approval_id)
    return access.decide(
        state.db, state.clock, Actor(user.username, body.reason), approval_id,
        grant=body.grant, hours=body.hours, max_hours=state.config.bodyworn.max_approval_hours,
    )  # fmt: skip


@router.post("/approvals/{approval_id}/revoke")
def revoke(approval_id: int, body: RevokeIn, state: StateDep, user: Viewer) -> ApprovalView:
    """Withdraw a request (the requester) or an approval (a supervisor)."""
    _approval_file(state, user, approval_id)
    own = access.list_approvals(state.db, state.clock.now(), requested_by=user.username)
    mine = [a for a in own if a.id == approval_id]
    if not mine and not user.can(Permission.BODYWORN_APPROVE):
        raise PermissionDeniedError(
            f"approval {approval_id} is not yours to withdraw", subsystem=Subsystem.WEB
        )
    return access.revoke(state.db, state.clock, Actor(user.username, body.reason), approval_id)


# --- the timeline -------------------------------------------------------------------------


@router.get("/timeline")
def timeline(
    state: StateDep,
    s: SessionDep,
    user: Viewer,
    start: Annotated[datetime, Query(description="From (ISO 8601).")],
    end: Annotated[datetime, Query(description="To (ISO 8601).")],
    officer: Annotated[str | None, Query(max_length=32)] = None,
    unit: Annotated[str | None, Query(max_length=200)] = None,
    device: Annotated[str | None, Query(max_length=48)] = None,
    case: Annotated[str | None, Query(max_length=64)] = None,
    lat: Lat = None,
    lon: Lon = None,
    radius_m: Radius = None,
) -> BodywornTimelineOut:
    """Body-worn recorders with footage in [start, end), one lane each, files at their real
    times: lay them beside fixed cameras' /api/recordings/{camera}/timeline."""
    if end <= start:
        raise InvalidError("end must come after start", subsystem=Subsystem.WEB)
    q = _query(
        s, user, officer=officer, unit=unit, device=device, start=start, end=end,
        area=_area(lat, lon, radius_m), case=case, limit=1000,
    )  # fmt: skip
    found = search_files(state.db, q) if q is not None else []
    me = who(s, user)
    now = state.clock.now()
    lanes: dict[str, Lane] = {}
    for f in found:
        if not user.sees(f.camera_id):
            continue
        row = file_row(s, f.id)
        got = access.find_access(s, me, row, Action.VIEW, now)
        mode = "own" if got and got.own else "approved" if got else "approval"
        lane = lanes.setdefault(
            f.camera_id,
            Lane(camera_id=f.camera_id, device=f.device, officer=f.officer,
                 officer_name=f.officer_name, unit=f.unit, files=[]),
        )  # fmt: skip
        lane.files.append(view_from(LaneFile, f, file_id=f.id, access=mode))
    return BodywornTimelineOut(start=start, end=end, lanes=list(lanes.values()))
