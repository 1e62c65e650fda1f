"""The auditor's view: the audit log with chain verification, and interview recordings with
their continuity report and hash check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from vms.custody.models import Interview, Person
from vms.custody.report import InterviewReport, interview_report
from vms.custody.views import InterviewView
from vms.evidence.anchors import installation_anchors, verify_with_anchors
from vms.evidence.audit import AuditEntryView, AuditReport, list_entries
from vms.web.audit import record
from vms.web.deps import SessionDep, StateDep, require
from vms.web.roles import Permission
from vms.web.schemas import InterviewListOut
from vms.web.users import Principal

router = APIRouter(prefix="/api", tags=["audit"])
Auditor = Annotated[Principal, Depends(require(Permission.AUDIT_LOG))]
InterviewAuditor = Annotated[Principal, Depends(require(Permission.INTERVIEWS))]


@router.get("/audit")
def audit_log(
    state: StateDep,
    user: Auditor,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
    case_number: str | None = None,
    action: str | None = None,
) -> list[AuditEntryView]:
    """The newest entries of the audit log (in chain order)."""
    rows = list_entries(state.db, case_number=case_number, action=action, limit=limit)
    return [AuditEntryView.of(e) for e in rows]


@router.get("/audit/verify")
async def audit_verify(state: StateDep, user: Auditor) -> AuditReport:
    """Recompute every hash of the chain; names any edited, inserted or deleted entry, and any
    head anchored in the checkpoint file that the chain no longer reaches (truncated)."""

    def verify() -> AuditReport:
        found, keys = installation_anchors(state.config)
        return verify_with_anchors(state.db, found, keys)

    return await run_in_threadpool(verify)


@router.get("/interviews")
def interviews(
    s: SessionDep, user: InterviewAuditor, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[InterviewListOut]:
    """Interviews, newest first, with the person interviewed."""
    q = (
        select(Interview, Person.name)
        .join(Person, Person.id == Interview.person_id)
        .order_by(Interview.started_at.desc())
        .limit(limit)
    )
    return [
        InterviewListOut(**InterviewView.model_validate(iv).model_dump(), person_name=name)
        for iv, name in s.execute(q)
    ]


@router.get("/interviews/{interview_id}/report")
def interview_continuity(
    interview_id: int, state: StateDep, s: SessionDep, user: InterviewAuditor
) -> InterviewReport:
    """Every segment of every camera of the room over the interview, each gap, each hash."""
    report = interview_report(state.db, state.config, interview_id, state.clock.now())
    for cam in report.cameras:
        user.check_camera(cam.camera_id)
    record(
        s,
        state.clock,
        user,
        "view",
        "interview",
        interview_id,
        reason="interview continuity report",
        details={"what": "interview report"},
    )
    return report
