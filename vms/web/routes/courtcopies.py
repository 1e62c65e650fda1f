"""Court copies from the audit page: ask for one (a reason is required), follow its
progress, download the package (the copy, the originals, the signed manifest) as a zip."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from vms.custody.models import Interview
from vms.errors import ConflictError, NotFoundError, ReasonRequiredError
from vms.evidence.audit import Actor
from vms.vocab import Subsystem
from vms.web.audit import record
from vms.web.courtcopies import CourtCopyJob
from vms.web.deps import SessionDep, StateDep, WebState, require, served_file
from vms.web.roles import Permission
from vms.web.schemas import CourtCopyIn, CourtCopyOut
from vms.web.users import Principal

router = APIRouter(prefix="/api", tags=["audit"])
InterviewAuditor = Annotated[Principal, Depends(require(Permission.INTERVIEWS))]


def _out(job: CourtCopyJob) -> CourtCopyOut:
    r = job.result
    return CourtCopyOut(
        id=job.id,
        interview_id=job.interview_id,
        state=job.state,
        progress=round(job.progress, 4),
        done_s=job.done_s,
        total_s=job.total_s,
        error=job.error,
        sha256=r.sha256 if r else None,
        seconds=r.seconds if r else None,
        complete=r.complete if r else None,
        gaps=len(r.gaps) if r else None,
        originals=r.originals if r else None,
        download=f"/api/court-copies/{job.id}/download" if job.zip_path else None,
    )


def _cameras(state: WebState, interview_id: int) -> tuple[str, ...]:
    with state.db.session() as s:
        iv = s.get(Interview, interview_id)
        if iv is None:
            raise NotFoundError(f"no interview {interview_id}", subsystem=Subsystem.WEB)
        if iv.ended_at is None:
            raise ConflictError(
                f"interview {interview_id} is still in progress: a court copy is made of a "
                "whole interview, after it ends",
                subsystem=Subsystem.WEB,
            )
        room = state.court_copies.layout.rooms.get(iv.room_id)
    return room.cameras if room else ()


def _job(state: WebState, user: Principal, job_id: str) -> CourtCopyJob:
    job = state.court_copies.get(job_id)
    for cam in job.cameras:
        user.check_camera(cam)
    return job


@router.post("/interviews/{interview_id}/court-copy", status_code=status.HTTP_202_ACCEPTED)
async def court_copy(
    interview_id: int, body: CourtCopyIn, state: StateDep, user: InterviewAuditor
) -> CourtCopyOut:
    """Start rendering the court copy of an ended interview (picture-in-picture, the time
    burned in, H.264 + AAC): a derived copy, made with the originals beside it and audited
    with the reason given. Poll the answer's ``id`` for progress."""
    reason = body.reason.strip()
    if not reason:
        raise ReasonRequiredError(
            "a court copy is custody footage: give a reason; it is written to the audit log",
            subsystem=Subsystem.WEB,
        )
    cameras = await run_in_threadpool(_cameras, state, interview_id)
    for cam in cameras:
        user.check_camera(cam)
    job = state.court_copies.submit(
        interview_id, Actor(user.username, reason), user_id=user.id, cameras=cameras
    )
    return _out(job)


@router.get("/court-copies/{job_id}")
def court_copy_status(job_id: str, state: StateDep, user: InterviewAuditor) -> CourtCopyOut:
    """How far a court copy is; once done, where to download it."""
    return _out(_job(state, user, job_id))


@router.get(
    "/court-copies/{job_id}/download",
    **served_file("The court copy package: copy, originals, signed manifest.", "application/zip"),
)
def court_copy_download(
    job_id: str, state: StateDep, s: SessionDep, user: InterviewAuditor
) -> FileResponse:
    """The finished package as a zip (``vms evidence verify`` reads it); audited."""
    job = _job(state, user, job_id)
    if job.zip_path is None or job.result is None or not job.zip_path.is_file():
        raise ConflictError(
            f"court copy {job_id} is {job.state}, not ready to download", subsystem=Subsystem.WEB
        )
    record(
        s,
        state.clock,
        user,
        "export",
        "interview",
        job.interview_id,
        reason=job.actor.reason,
        details={"what": "court copy download", "derived": True, "sha256": job.result.sha256},
    )
    return FileResponse(job.zip_path, media_type="application/zip", filename=job.zip_path.name)
