"""Recorded footage: a day's timeline per camera, playback (audited once) and download."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from vms.bodyworn.access import Action, record_access
from vms.bodyworn.copies import export_name
from vms.bodyworn.files import view_of
from vms.bodyworn.officers import is_bodyworn_camera
from vms.config import CameraConfig
from vms.db.models import Camera, Segment, SegmentStream
from vms.errors import FileIntegrityError, NotFoundError, ReasonRequiredError
from vms.recordings import day_rows
from vms.storage.base import LOCAL
from vms.storage.resolve import storage_for
from vms.vocab import CameraKind, Subsystem
from vms.web import deps
from vms.web.alerts import event_out
from vms.web.audit import record
from vms.web.deps import SessionDep, StateDep, WebState, require
from vms.web.files import stored_response
from vms.web.roles import Permission
from vms.web.routes.bodyworn import segment_access
from vms.web.schemas import GapOut, PlaybackIn, PlaybackOut, SegmentOut, TimelineOut
from vms.web.users import Principal
from vms.web.viewing import NOTE, ViewingPlan, probe_streams, viewing_plan

router = APIRouter(prefix="/api", tags=["recordings"])
Player = Annotated[Principal, Depends(require(Permission.PLAYBACK))]
Downloader = Annotated[Principal, Depends(require(Permission.DOWNLOAD))]
Reason = Annotated[
    str | None,
    Query(max_length=1000, description="Why: required for custody-room cameras (audited)."),
]


def is_custody(cam: CameraConfig) -> bool:
    return cam.kind is CameraKind.CUSTODY


def check_reason(cam: CameraConfig, reason: str | None, what: str) -> str:
    """Custody-room footage is played or exported only with a reason."""
    reason = (reason or "").strip()
    if is_custody(cam) and not reason:
        raise ReasonRequiredError(
            f"camera {cam.id!r} records a custody room ({cam.room}): give a reason to {what} "
            "its footage; it is written to the audit log",
            subsystem=Subsystem.WEB,
        )
    return reason


def _segment(s: Session, state: WebState, user: Principal, segment_id: int) -> Segment:
    seg = s.get(Segment, segment_id)
    if seg is None:
        raise NotFoundError(f"no recorded segment {segment_id}", subsystem=Subsystem.WEB)
    if is_bodyworn_camera(seg.camera_id):
        user.check_camera(seg.camera_id)  # the file's own rule applies on top (segment_access)
    else:
        state.camera(seg.camera_id, user)
    return seg


def _check_file(state: WebState, seg: Segment) -> None:
    if storage_for(state.config).size(seg.location, seg.path) is None:
        raise NotFoundError(
            f"the file of segment {seg.id} ({seg.path}) is missing", subsystem=Subsystem.WEB
        )


def _bodyworn_camera(s: Session, user: Principal, camera_id: str) -> None:
    user.check_camera(camera_id)
    row = s.get(Camera, camera_id)
    if row is None or row.kind != CameraKind.BODYWORN.value:
        raise NotFoundError(f"no camera {camera_id!r}", subsystem=Subsystem.WEB)


def _file(state: WebState, seg: Segment) -> Path:
    path = state.config.storage.root / seg.path
    if not path.is_file():
        raise NotFoundError(
            f"the file of segment {seg.id} ({seg.path}) is missing", subsystem=Subsystem.WEB
        )
    return path


def _local_file(state: WebState, seg: Segment) -> Path:
    """A local file of the segment to probe or transcode: its own on this node's disk, or a
    copy of the bucket's object (kept beside the viewing copies, checked against the hash
    the index holds: a copy that does not match is refused, never shown)."""
    if seg.location == LOCAL:
        return _file(state, seg)
    _check_file(state, seg)
    folder = state.config.storage.root / "cache" / "bucket"
    dst = folder / f"{seg.id}-{(seg.sha256 or 'open')[:16]}{Path(seg.path).suffix}"
    if dst.is_file():
        return dst
    folder.mkdir(parents=True, exist_ok=True)
    part = dst.with_name(dst.name + ".part")
    part.unlink(missing_ok=True)
    digest, _size = storage_for(state.config).copy_to(seg.location, seg.path, part)
    if seg.sha256 is not None and digest != seg.sha256:
        part.unlink(missing_ok=True)
        raise FileIntegrityError(
            f"segment {seg.id} in the bucket does not match its hash", subsystem=Subsystem.WEB
        )
    part.replace(dst)
    return dst


def _serve(
    state: WebState,
    seg: Segment,
    request: Request,
    *,
    media_type: str = "video/mp4",
    **kwargs: Any,
) -> Response:
    """The segment's file from this node's disk or the bucket (HTTP ranges either way)."""
    return stored_response(
        storage_for(state.config),
        seg.location,
        seg.path,
        request,
        media_type=media_type,
        what=f"segment {seg.id}",
        **kwargs,
    )


@router.get("/recordings/{camera_id}/timeline")
def timeline(
    camera_id: str,
    state: StateDep,
    s: SessionDep,
    user: Player,
    day: Annotated[
        date | None,
        Query(
            description="Day in the site's time zone (site.timezone), YYYY-MM-DD; default today."
        ),
    ] = None,
) -> TimelineOut:
    """Recorded segments, gaps and events of one camera over one local day of the site; a
    body-worn recorder's (``bw.<serial>``) segments are its files, at their real times."""
    bodyworn = is_bodyworn_camera(camera_id)
    if bodyworn:
        _bodyworn_camera(s, user, camera_id)
    else:
        cam = state.camera(camera_id, user)
    texts = state.config.texts()
    start, end = texts.day_bounds(day or texts.local(state.clock.now()).date())

    rows = day_rows(s, camera_id, start, end)
    root = state.config.storage.root
    return TimelineOut(
        camera_id=camera_id,
        custody=not bodyworn and is_custody(cam),
        bodyworn=bodyworn,
        day_start=start,
        day_end=end,
        segments=[SegmentOut.model_validate(x) for x in rows.segments],
        gaps=[GapOut.model_validate(g) for g in rows.gaps],
        events=[event_out(root, e) for e in rows.events],
    )


@router.post("/playback")
def start_playback(body: PlaybackIn, state: StateDep, s: SessionDep, user: Player) -> PlaybackOut:
    """Start playing a segment: audited here, once; the returned URL serves the video."""
    seg = _segment(s, state, user, body.segment_id)
    if is_bodyworn_camera(seg.camera_id):
        me, granted, row = segment_access(state, s, user, seg.id, Action.VIEW)
        _check_file(state, seg)
        record_access(
            s, state.clock, me, granted, "view", body.reason or "",
            {"what": "playback", "camera": seg.camera_id, "sha256": row.sha256},
        )  # fmt: skip
        return _playback_out(state, s, user, seg, body.hevc)
    cam = state.camera(seg.camera_id)
    reason = check_reason(cam, body.reason, "play")
    plan = _plan(state, s, seg, body.hevc)
    record(
        s,
        state.clock,
        user,
        "view",
        "segment",
        seg.id,
        reason=reason,
        details={
            "what": "playback",
            "camera": seg.camera_id,
            "path": seg.path,
            "viewing_copy": plan.variant if plan.needed else None,
        },
    )
    return _playback_out(state, s, user, seg, body.hevc)


def _plan(state: WebState, s: Session, seg: Segment, hevc: bool) -> ViewingPlan:
    """What this browser needs changed to play the segment (from its indexed streams, or
    the file's for segments indexed without them)."""
    _check_file(state, seg)
    streams = list(
        s.scalars(
            select(SegmentStream)
            .where(SegmentStream.segment_id == seg.id)
            .order_by(SegmentStream.index)
        )
    ) or probe_streams(_local_file(state, seg))
    return viewing_plan(streams, Path(seg.path).suffix, browser_hevc=hevc)


def _playback_out(
    state: WebState, s: Session, user: Principal, seg: Segment, hevc: bool
) -> PlaybackOut:
    plan = _plan(state, s, seg, hevc)
    grant = state.grants.sign(user.id, seg.id)
    base = PlaybackOut(
        segment_id=seg.id,
        url=f"/api/recordings/segments/{seg.id}/video?grant={grant}",
        start=seg.start,
        end=seg.end,
        original_sha256=seg.sha256,
    )
    if not plan.needed:
        return base
    url = f"/api/recordings/segments/{seg.id}/view?grant={grant}&hevc={int(hevc)}"
    return base.model_copy(update={"url": url, "viewing_copy": True, "note": NOTE})


@router.get(
    "/recordings/segments/{segment_id}/view",
    **deps.served_file("A copy of the segment this browser plays (derived).", "video/mp4"),
)
def segment_viewing_copy(
    segment_id: int,
    request: Request,
    state: StateDep,
    s: SessionDep,
    user: Player,
    grant: deps.GrantQuery = "",
    hevc: Annotated[bool, Query(description="The browser decodes H.265.")] = False,
) -> Response:
    """The segment made playable for this browser (H.265 to H.264, G.711/G.726 to AAC, NUT
    to MP4), under a playback grant: a viewing copy, made on demand and kept in a bounded
    cache; it says so, and names the original's SHA-256. The evidence is the original."""
    seg = _segment(s, state, user, segment_id)
    deps.check_grant(state, grant, user, seg.id, f"segment {segment_id}", "POST /api/playback")
    plan = _plan(state, s, seg, hevc)
    if not plan.needed:
        return _serve(state, seg, request)
    path = _local_file(state, seg)
    original = seg.sha256 or "being recorded"
    key = f"{seg.id}-{(seg.sha256 or f'open{path.stat().st_size}')[:16]}"
    note = f"VIEWING COPY of segment {seg.id} ({NOTE}; original sha256 {original})"
    copy = state.viewing.get(path, key, plan, note)
    headers = {"X-Viewing-Copy": NOTE, "X-Original-SHA256": original}
    return FileResponse(copy.path, media_type="video/mp4", headers=headers)


@router.get(
    "/recordings/segments/{segment_id}/video",
    **deps.served_file("The segment (HTTP range requests).", "video/mp4"),
)
def segment_video(
    segment_id: int,
    request: Request,
    state: StateDep,
    s: SessionDep,
    user: Player,
    grant: deps.GrantQuery = "",
) -> Response:
    """The segment file for a video element (HTTP range requests), under a playback grant."""
    seg = _segment(s, state, user, segment_id)
    deps.check_grant(state, grant, user, seg.id, f"segment {segment_id}", "POST /api/playback")
    return _serve(state, seg, request)


@router.get(
    "/recordings/segments/{segment_id}/download",
    **deps.served_file("The segment file as recorded.", "video/mp4"),
)
def segment_download(
    segment_id: int,
    request: Request,
    state: StateDep,
    s: SessionDep,
    user: Downloader,
    reason: Reason = None,
) -> Response:
    """The segment file as recorded, as an attachment; audited as an export."""
    seg = _segment(s, state, user, segment_id)
    if is_bodyworn_camera(seg.camera_id):
        me, granted, row = segment_access(state, s, user, seg.id, Action.COPY)
        _check_file(state, seg)
        record_access(
            s, state.clock, me, granted, "export", reason or "",
            {"what": "download", "camera": seg.camera_id, "sha256": row.sha256},
        )  # fmt: skip
        return _serve(
            state, seg, request, media_type="application/octet-stream",
            filename=export_name(view_of(s, row)), headers={"X-Content-SHA256": row.sha256},
        )  # fmt: skip
    cam = state.camera(seg.camera_id)
    why = check_reason(cam, reason, "download")
    _check_file(state, seg)
    record(
        s,
        state.clock,
        user,
        "export",
        "segment",
        seg.id,
        reason=why,
        details={"what": "download", "camera": seg.camera_id, "path": seg.path},
    )
    name = f"{seg.camera_id}_{seg.start.strftime('%Y%m%dT%H%M%SZ')}.mp4"
    headers = {"X-Content-SHA256": seg.sha256} if seg.sha256 else None
    return _serve(state, seg, request, filename=name, headers=headers)
