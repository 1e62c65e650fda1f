"""Approval to view or copy body-worn footage, and the check every door makes before it.

An officer sees their own files (those filed under the officer record linked to their vms
account). Anyone else needs an approval for that file: requested with a reason, granted by
a supervisor (never the requester), valid for a limited time. ``copy`` (download, clip into
a case) includes ``view``. Requests, decisions, every access and every refusal go into the
hash-chained audit log with the user's name; a refusal is committed on its own, before the
403 goes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vms.bodyworn.files import file_row
from vms.bodyworn.models import Approval, BodywornFile, Device
from vms.bodyworn.officers import officer_of_user
from vms.bodyworn.views import ApprovalView
from vms.clock import Clock, utc
from vms.db.session import Database
from vms.errors import (
    ConflictError,
    InvalidError,
    NotFoundError,
    PermissionDeniedError,
    ReasonRequiredError,
)
from vms.evidence import audit
from vms.evidence.audit import Actor
from vms.vocab import Subsystem

PENDING, GRANTED, REFUSED, REVOKED = "pending", "granted", "refused", "revoked"


class Action(StrEnum):
    VIEW = "view"  # play in the browser
    COPY = "copy"  # download the original, cut a clip into a case (includes view)


@dataclass(frozen=True)
class Who:
    """The person asking: their vms user name and, if they wear a recorder, their officer."""

    username: str
    officer_id: int | None = None
    role: str = ""


def who_of_user(s: Session, user_id: int, username: str, role: str = "") -> Who:
    officer = officer_of_user(s, user_id)
    return Who(username, officer.id if officer else None, role)


def who_by_name(db: Database, username: str) -> Who:
    """The CLI's identity: the vms account of that name, if there is one."""
    from vms.web.models import User

    with db.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            return Who(username)
        return who_of_user(s, user.id, user.username, user.role)


@dataclass(frozen=True)
class Access:
    """Why a user may have a file: it is their own, or approval ``approval_id``."""

    file_id: int
    own: bool
    approval_id: int | None
    valid_until: datetime | None

    def details(self) -> dict[str, Any]:
        if self.own:
            return {"access": "own file"}
        return {"access": "approval", "approval": self.approval_id}


def _status(row: Approval, now: datetime) -> str:
    if row.status == GRANTED and row.valid_until is not None and utc(row.valid_until) <= now:
        return "expired"
    return row.status


def approval_view(row: Approval, now: datetime) -> ApprovalView:
    return ApprovalView(
        id=row.id, file_id=row.file_id, action=row.action, requested_by=row.requested_by,
        reason=row.reason, hours=row.hours, requested_at=row.requested_at,
        status=_status(row, now), decided_by=row.decided_by, decided_at=row.decided_at,
        decision_note=row.decision_note, valid_until=row.valid_until,
    )  # fmt: skip


def _device(s: Session, row: BodywornFile) -> str:
    device = s.get(Device, row.device_id)
    return device.serial if device else "?"


# --- requests and decisions ------------------------------------------------------------


def request_approval(
    db: Database,
    clock: Clock,
    actor: Actor,
    file_id: int,
    action: str,
    *,
    hours: float,
    max_hours: float,
) -> ApprovalView:
    """Ask to view or copy a file; the reason is the actor's (required)."""
    wanted = _action(action)
    if not actor.reason.strip():
        raise ReasonRequiredError(
            "an approval to view or copy body-worn footage needs a reason",
            subsystem=Subsystem.BODYWORN,
        )
    if not 0 < hours <= max_hours:
        raise InvalidError(
            f"hours must be more than 0 and at most {max_hours:g}, got {hours:g}",
            subsystem=Subsystem.BODYWORN,
        )
    with db.session() as s:
        row = file_row(s, file_id)
        approval = Approval(
            file_id=row.id,
            action=wanted.value,
            requested_by=actor.user,
            reason=actor.reason,
            hours=hours,
            requested_at=clock.now(),
            status=PENDING,
        )
        s.add(approval)
        s.flush()
        audit.append(
            s, clock, actor, "request", "bw_approval", approval.id,
            details={"file": row.id, "action": wanted.value, "hours": hours,
                     "device": _device(s, row), "sha256": row.sha256},
        )  # fmt: skip
        return approval_view(approval, utc(clock.now()))


def _action(action: str) -> Action:
    try:
        return Action(action)
    except ValueError as exc:
        raise InvalidError(
            f"action must be 'view' or 'copy', got {action!r}", subsystem=Subsystem.BODYWORN
        ) from exc


def decide(
    db: Database,
    clock: Clock,
    actor: Actor,
    approval_id: int,
    *,
    grant: bool,
    hours: float | None = None,
    max_hours: float,
) -> ApprovalView:
    """A supervisor grants (for ``hours``, default as requested) or refuses a request."""
    with db.session() as s:
        row = s.get(Approval, approval_id)
        if row is None:
            raise NotFoundError(f"no approval request {approval_id}", subsystem=Subsystem.BODYWORN)
        if row.status != PENDING:
            raise ConflictError(
                f"approval request {approval_id} was already {row.status}",
                subsystem=Subsystem.BODYWORN,
            )
        if row.requested_by == actor.user:
            raise PermissionDeniedError(
                "nobody may approve their own request: another supervisor decides",
                subsystem=Subsystem.BODYWORN,
            )
        now = utc(clock.now())
        valid = hours if hours is not None else row.hours
        if grant and not 0 < valid <= max_hours:
            raise InvalidError(
                f"hours must be more than 0 and at most {max_hours:g}, got {valid:g}",
                subsystem=Subsystem.BODYWORN,
            )
        row.status = GRANTED if grant else REFUSED
        row.decided_by = actor.user
        row.decided_at = now
        row.decision_note = actor.reason
        row.valid_until = now + timedelta(hours=valid) if grant else None
        if grant:
            row.hours = valid
        audit.append(
            s, clock, actor, "approve" if grant else "refuse", "bw_approval", row.id,
            details={"file": row.file_id, "action": row.action, "requested_by": row.requested_by,
                     "valid_until": row.valid_until.isoformat() if row.valid_until else None},
        )  # fmt: skip
        return approval_view(row, now)


def revoke(db: Database, clock: Clock, actor: Actor, approval_id: int) -> ApprovalView:
    with db.session() as s:
        row = s.get(Approval, approval_id)
        if row is None:
            raise NotFoundError(f"no approval request {approval_id}", subsystem=Subsystem.BODYWORN)
        if row.status not in (PENDING, GRANTED):
            raise ConflictError(
                f"approval request {approval_id} is {row.status}", subsystem=Subsystem.BODYWORN
            )
        row.status = REVOKED
        row.decided_by = actor.user
        row.decided_at = clock.now()
        row.decision_note = actor.reason
        audit.append(
            s, clock, actor, "revoke", "bw_approval", row.id,
            details={"file": row.file_id, "requested_by": row.requested_by},
        )  # fmt: skip
        return approval_view(row, utc(clock.now()))


def list_approvals(
    db: Database,
    now: datetime,
    *,
    requested_by: str | None = None,
    status: str | None = None,
    file_id: int | None = None,
) -> list[ApprovalView]:
    with db.session() as s:
        q = select(Approval).order_by(Approval.id.desc()).limit(500)
        if requested_by is not None:
            q = q.where(Approval.requested_by == requested_by)
        if status is not None and status != "expired":
            q = q.where(Approval.status == status)
        if file_id is not None:
            q = q.where(Approval.file_id == file_id)
        views = [approval_view(row, utc(now)) for row in s.scalars(q)]
    return [v for v in views if status is None or v.status == status]


# --- the check --------------------------------------------------------------------------


def find_access(
    s: Session, who: Who, row: BodywornFile, action: Action, now: datetime
) -> Access | None:
    """How ``who`` may ``action`` the file now, if they may (no audit here)."""
    if who.officer_id is not None and row.officer_id == who.officer_id:
        return Access(row.id, True, None, None)
    actions = [Action.COPY.value]
    if action is Action.VIEW:
        actions.append(Action.VIEW.value)
    approval = s.scalar(
        select(Approval)
        .where(
            Approval.file_id == row.id,
            Approval.requested_by == who.username,
            Approval.status == GRANTED,
            Approval.action.in_(actions),
            or_(Approval.valid_until.is_(None), Approval.valid_until > now),
        )
        .order_by(Approval.valid_until.desc())
        .limit(1)
    )
    if approval is None:
        return None
    return Access(row.id, False, approval.id, approval.valid_until)


def authorize(db: Database, clock: Clock, who: Who, file_id: int, action: str) -> Access:
    """The access ``who`` has to ``action`` file ``file_id``, or PermissionDeniedError.

    A refusal is written to the audit log (action ``deny``) and committed before raising.
    """
    wanted = _action(action)
    now = utc(clock.now())
    with db.session() as s:
        row = file_row(s, file_id)
        found = find_access(s, who, row, wanted, now)
        device = _device(s, row)
    if found is not None:
        return found
    with db.session() as s:
        audit.append(
            s, clock, Actor(who.username, "no approval"), "deny", "bodyworn", file_id,
            details={"action": wanted.value, "device": device, "role": who.role,
                     "why": "not the officer's own file and no valid approval"},
        )  # fmt: skip
    raise PermissionDeniedError(
        f"body-worn file {file_id} is not yours: viewing or copying it needs an approval "
        f"({wanted.value}) granted by a supervisor; request one with a reason",
        subsystem=Subsystem.BODYWORN,
    )


def record_access(
    s: Session,
    clock: Clock,
    who: Who,
    access: Access,
    audit_action: str,
    reason: str,
    details: dict[str, Any],
) -> None:
    """The audit entry of one view (``view``) or copy (``export``), in the caller's
    transaction so it commits before the footage leaves."""
    audit.append(
        s, clock, Actor(who.username, reason or "body-worn footage"), audit_action, "bodyworn",
        access.file_id, details={"role": who.role, **access.details(), **details},
    )  # fmt: skip
