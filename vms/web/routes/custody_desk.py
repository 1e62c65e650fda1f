"""The custody desk: everything ``vms custody`` does to the ledger, as forms for the duty
officer and supervisor. Each route calls CustodyService, so the validation is the CLI's;
each operation is written to the audit log with the user, like the CLI's with its caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from vms.custody.config import RiskLevel
from vms.custody.layout import Room
from vms.custody.rules import Officer
from vms.custody.views import CheckView, InterviewView, PersonView
from vms.errors import PermissionDeniedError
from vms.vocab import Subsystem
from vms.web.audit import actor_of
from vms.web.deps import StateDep
from vms.web.roles import Permission
from vms.web.scope import Scope, scoped

router = APIRouter(prefix="/api/custody", tags=["custody desk"])
Desk = Annotated[Scope, Depends(scoped(Permission.CUSTODY))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnterIn(_In):
    name: str = Field(min_length=1, max_length=200, description="Full name of the person.")
    reason: str = Field(min_length=1, max_length=1000, description="Why the person is held.")
    basis: str = Field(min_length=1, max_length=64, description="Legal basis key (summons...).")
    room: str = Field(min_length=1, max_length=64, description="Room id the person goes to.")
    id_number: str | None = Field(None, max_length=64, description="ID document number.")
    case_number: str | None = Field(None, max_length=64, description="Case number.")
    risk: RiskLevel = Field(RiskLevel.NORMAL, description="normal, elevated or high.")
    limit_h: float | None = Field(
        None, gt=0, le=168, description="Legal limit in hours (basis 'custom' only)."
    )
    at: datetime | None = Field(None, description="Entry time (UTC or with a zone); now.")


class MoveIn(_In):
    room: str = Field(min_length=1, max_length=64, description="Room id to move to.")
    at: datetime | None = Field(None, description="When; default now.")


class RiskIn(_In):
    risk: RiskLevel = Field(description="normal, elevated or high.")


class NoteIn(_In):
    note: str | None = Field(None, max_length=2000, description="What was seen or done.")
    at: datetime | None = Field(None, description="When; default now.")


class OfficerIn(_In):
    name: str = Field(min_length=1, max_length=200, description="Officer's name.")
    badge: str = Field(min_length=1, max_length=32, description="Badge number.")


class InterviewIn(_In):
    officers: list[OfficerIn] = Field(
        min_length=1, max_length=10, description="The officers present (two are required)."
    )
    room: str | None = Field(None, max_length=64, description="Room; default the person's.")
    at: datetime | None = Field(None, description="Start time; default now.")


def _check_room(scope: Scope, ref: str) -> Room:
    """The room (404 if unknown), if the user's camera scope covers it (its cameras)."""
    room = scope.state.custody.room(ref)
    if not scope.rule.room(room.id):
        raise PermissionDeniedError(
            f"room {room.id!r} is outside the camera scope of user {scope.user.username!r}",
            subsystem=Subsystem.WEB,
        )
    return room


def _person_room(scope: Scope, person_id: int) -> None:
    """The person exists, was held where the user may see, and is now in a room they see."""
    with scope.state.db.session() as s:
        room = scope.person(s, person_id).room_id
    if room is not None:  # released: the ledger says so itself
        _check_room(scope, room)


def _desk(scope: Scope, why: str = "custody desk") -> dict[str, Any]:
    """Who acts at the desk, as the custody service takes it: the name and the audit actor."""
    return {"by": scope.user.username, "actor": actor_of(scope.user, why)}


@router.post("/people", status_code=status.HTTP_201_CREATED)
async def register(body: EnterIn, state: StateDep, scope: Desk) -> PersonView:
    """Register a person brought into the custody area (``vms custody enter``)."""
    _check_room(scope, body.room)
    p = await run_in_threadpool(
        state.custody.enter,
        name=body.name,
        reason=body.reason,
        basis=body.basis,
        room=body.room,
        id_number=body.id_number or None,
        case_number=body.case_number or None,
        risk=body.risk,
        limit_h=body.limit_h,
        at=body.at,
        **_desk(scope, f"custody desk: {body.reason}"),
    )
    return PersonView.model_validate(p)


@router.post("/people/{person_id}/move")
async def move(person_id: int, body: MoveIn, state: StateDep, scope: Desk) -> PersonView:
    """Move a person held to another room (``vms custody move``)."""
    _person_room(scope, person_id)
    _check_room(scope, body.room)
    p = await run_in_threadpool(
        state.custody.move,
        person_id,
        room=body.room,
        at=body.at,
        **_desk(scope),
    )
    return PersonView.model_validate(p)


@router.post("/people/{person_id}/risk")
async def set_risk(person_id: int, body: RiskIn, state: StateDep, scope: Desk) -> PersonView:
    """Change a person's risk level and so their observation interval (``vms custody risk``)."""
    _person_room(scope, person_id)
    p = await run_in_threadpool(
        state.custody.set_risk,
        person_id,
        body.risk,
        **_desk(scope),
    )
    return PersonView.model_validate(p)


@router.post("/people/{person_id}/checks", status_code=status.HTTP_201_CREATED)
async def check(person_id: int, body: NoteIn, state: StateDep, scope: Desk) -> CheckView:
    """Record an observation round (``vms custody check``)."""
    _person_room(scope, person_id)
    c = await run_in_threadpool(
        state.custody.record_check,
        person_id,
        note=body.note or None,
        at=body.at,
        **_desk(scope),
    )
    return CheckView.model_validate(c)


@router.post("/people/{person_id}/interviews", status_code=status.HTTP_201_CREATED)
async def start_interview(
    person_id: int, body: InterviewIn, state: StateDep, scope: Desk
) -> InterviewView:
    """Start an interrogation or inquiry with the officers present (``interview-start``)."""
    _person_room(scope, person_id)
    if body.room:
        _check_room(scope, body.room)
    iv = await run_in_threadpool(
        state.custody.start_interview,
        person_id,
        officers=[Officer(o.name, o.badge) for o in body.officers],
        room=body.room or None,
        at=body.at,
        **_desk(scope),
    )
    return InterviewView.model_validate(iv)


@router.post("/interviews/{interview_id}/end")
async def end_interview(
    interview_id: int, body: NoteIn, state: StateDep, scope: Desk
) -> InterviewView:
    """End an interview; its recording continuity is checked (``interview-end``)."""
    with state.db.session() as s:
        room = scope.interview(s, interview_id).room_id  # 404 / 403 before anything changes
    _check_room(scope, room)
    ended = await run_in_threadpool(
        state.custody.end_interview,
        interview_id,
        note=body.note or None,
        at=body.at,
        **_desk(scope),
    )
    return InterviewView.model_validate(ended)


@router.post("/people/{person_id}/exit")
async def release(person_id: int, body: NoteIn, state: StateDep, scope: Desk) -> PersonView:
    """Register a person's release (``vms custody exit``)."""
    _person_room(scope, person_id)
    p = await run_in_threadpool(
        state.custody.exit,
        person_id,
        note=body.note or None,
        at=body.at,
        **_desk(scope),
    )
    return PersonView.model_validate(p)
