"""Resumable chunked upload of body-worn files (the protocol: vms.bodyworn.uploads)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from vms.bodyworn.ingest import IngestResult
from vms.bodyworn.store import CHUNK
from vms.bodyworn.uploads import UploadState
from vms.evidence.audit import Actor
from vms.web.bodyworn_schemas import UploadIn, UploadOut
from vms.web.deps import StateDep, WebState, require
from vms.web.roles import Permission
from vms.web.users import Principal

router = APIRouter(prefix="/api/bodyworn/uploads", tags=["body-worn"])
Uploader = Annotated[Principal, Depends(require(Permission.BODYWORN_UPLOAD))]
UploadId = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="From POST .../uploads.")]


def _out(state: WebState, up: UploadState) -> UploadOut:
    return UploadOut(
        id=up.id,
        filename=up.filename,
        size=up.size,
        offset=up.offset,
        status=up.status,
        file_id=up.file_id,
        message=up.message,
        chunk_bytes=state.config.bodyworn.upload_chunk_bytes,
        url=f"/api/bodyworn/uploads/{up.id}",
    )


def _after(state: WebState, upload_id: str, done: UploadState | IngestResult) -> UploadOut:
    return _out(state, state.uploads.get(upload_id, "", any_user=True))


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: UploadIn, state: StateDep, user: Uploader) -> UploadOut:
    """Announce a file (name, size, optionally its SHA-256); then PUT its bytes."""
    up = state.uploads.create(
        Actor(user.username, "upload through the web app"), body.filename, body.size,
        sha256=body.sha256, officer_badge=body.officer_badge, device_serial=body.device_serial,
        modified_at=body.modified_at,
    )  # fmt: skip
    return _out(state, up)


@router.get("/{upload_id}")
def progress(upload_id: UploadId, state: StateDep, user: Uploader) -> UploadOut:
    """How many bytes have arrived (resume from ``offset``), or what became of the file."""
    up = state.uploads.get(upload_id, user.username, any_user=user.can(Permission.BODYWORN_APPROVE))
    return _out(state, up)


@router.put("/{upload_id}")
async def put(
    upload_id: UploadId,
    request: Request,
    state: StateDep,
    user: Uploader,
    offset: Annotated[int, Query(ge=0, description="Bytes already sent (from GET).")],
) -> UploadOut:
    """The next bytes of the file, from ``offset``; the last ones ingest it. Bytes that
    arrive before a connection breaks are kept: GET the offset and go on from there."""
    receiver = state.uploads
    up = await run_in_threadpool(receiver.begin, upload_id, user.username, offset)
    buf = bytearray()
    try:
        try:
            async for piece in request.stream():
                buf += piece
                if len(buf) >= CHUNK:
                    data, buf = bytes(buf), bytearray()
                    await run_in_threadpool(receiver.write, upload_id, up.size, data)
        except ClientDisconnect:
            pass  # keep what came; the client resumes from the offset
        if buf:
            await run_in_threadpool(receiver.write, upload_id, up.size, bytes(buf))
    finally:
        done = await run_in_threadpool(receiver.end, upload_id)
    return _after(state, upload_id, done)


@router.delete("/{upload_id}")
def cancel(upload_id: UploadId, state: StateDep, user: Uploader) -> UploadOut:
    """Give up an upload; its bytes are deleted."""
    return _out(state, state.uploads.cancel(upload_id, user.username))
