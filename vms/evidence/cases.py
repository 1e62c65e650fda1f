"""Cases: number, title, status (open, closed), owner and investigators; every change audited."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vms.clock import Clock
from vms.db.session import Database
from vms.errors import ConflictError, InvalidError, NotFoundError
from vms.evidence import audit
from vms.evidence.audit import Actor
from vms.evidence.models import Case, CaseInvestigator
from vms.vocab import Subsystem

CASE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
OPEN, CLOSED = "open", "closed"


@dataclass(frozen=True)
class CaseView:
    """A case as the CLI and the web app show it."""

    id: int
    number: str
    title: str
    status: str
    owner: str
    investigators: tuple[str, ...]
    created_at: datetime
    created_by: str
    closed_at: datetime | None


def case_slug(number: str) -> str:
    """The case number as a folder name (``/`` becomes ``_``)."""
    return number.replace("/", "_")


def case_row(s: Session, number: str) -> Case:
    row = s.scalars(select(Case).where(Case.number == number)).first()
    if row is None:
        raise NotFoundError(f"no case {number!r}", subsystem=Subsystem.EVIDENCE)
    return row


def open_case_row(s: Session, number: str) -> Case:
    """The case, which must be open: evidence is added only to open cases."""
    row = case_row(s, number)
    if row.status != OPEN:
        raise ConflictError(
            f"case {number!r} is closed; reopen it first", subsystem=Subsystem.EVIDENCE
        )
    return row


def _view(s: Session, row: Case) -> CaseView:
    people = s.scalars(
        select(CaseInvestigator.user)
        .where(CaseInvestigator.case_id == row.id)
        .order_by(CaseInvestigator.user)
    )
    return CaseView(
        row.id,
        row.number,
        row.title,
        row.status,
        row.owner,
        tuple(people),
        row.created_at,
        row.created_by,
        row.closed_at,
    )


def create_case(
    db: Database,
    clock: Clock,
    actor: Actor,
    number: str,
    title: str,
    *,
    owner: str | None = None,
    investigators: Iterable[str] = (),
) -> CaseView:
    """Open a new case; the owner defaults to the acting user."""
    if not CASE_NUMBER.match(number):
        raise InvalidError(
            f"case number must be 1-64 letters, digits, '.', '_', '-' or '/', got {number!r}",
            subsystem=Subsystem.EVIDENCE,
        )
    if not title.strip():
        raise InvalidError("a case needs a title", subsystem=Subsystem.EVIDENCE)
    people = sorted(set(investigators))
    with db.session() as s:
        audit.lock_chain(s)  # two creators of one number: the second sees the first's row
        if s.scalars(select(Case.id).where(Case.number == number)).first() is not None:
            raise ConflictError(
                f"case number {number!r} is already taken", subsystem=Subsystem.EVIDENCE
            )
        row = Case(
            number=number,
            title=title,
            status=OPEN,
            owner=owner or actor.user,
            created_at=clock.now(),
            created_by=actor.user,
        )
        s.add(row)
        s.flush()
        for user in people:
            s.add(CaseInvestigator(case_id=row.id, user=user))
        view = _view(s, row)
        audit.append(
            s,
            clock,
            actor,
            "create",
            "case",
            row.id,
            case_number=number,
            details={"title": title, "owner": row.owner, "investigators": people},
        )
        return view


def get_case(db: Database, number: str) -> CaseView:
    """A case's details (not audited: use ``show_case`` when a person looks at it)."""
    with db.session() as s:
        return _view(s, case_row(s, number))


def show_case(db: Database, clock: Clock, actor: Actor, number: str) -> CaseView:
    """A case's details, logged as a view."""
    with db.session() as s:
        row = case_row(s, number)
        audit.append(s, clock, actor, "view", "case", row.id, case_number=number)
        return _view(s, row)


def list_cases(db: Database, status: str | None = None) -> list[CaseView]:
    q = select(Case).order_by(Case.created_at, Case.id)
    if status is not None:
        q = q.where(Case.status == status)
    with db.session() as s:
        return [_view(s, row) for row in s.scalars(q)]


def set_status(db: Database, clock: Clock, actor: Actor, number: str, status: str) -> CaseView:
    """Close or reopen a case. Closing keeps its holds: release them explicitly."""
    if status not in (OPEN, CLOSED):
        raise InvalidError(
            f"case status must be open or closed, got {status!r}", subsystem=Subsystem.EVIDENCE
        )
    with db.session() as s:
        row = case_row(s, number)
        if row.status == status:
            raise ConflictError(
                f"case {number!r} is already {status}", subsystem=Subsystem.EVIDENCE
            )
        old = row.status
        row.status = status
        row.closed_at = clock.now() if status == CLOSED else None
        audit.append(
            s,
            clock,
            actor,
            "update",
            "case",
            row.id,
            case_number=number,
            details={"status": [old, status]},
        )
        s.flush()
        return _view(s, row)


def assign(
    db: Database,
    clock: Clock,
    actor: Actor,
    number: str,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    owner: str | None = None,
) -> CaseView:
    """Add or remove investigators, or hand the case to a new owner."""
    add_set, remove_set = set(add), set(remove)
    with db.session() as s:
        row = case_row(s, number)
        current = set(
            s.scalars(select(CaseInvestigator.user).where(CaseInvestigator.case_id == row.id))
        )
        for user in sorted(add_set - current):
            s.add(CaseInvestigator(case_id=row.id, user=user))
        for user in sorted(remove_set & current):
            link = s.get(CaseInvestigator, (row.id, user))
            if link is not None:
                s.delete(link)
        changes: dict[str, Any] = {
            "added": sorted(add_set - current),
            "removed": sorted(remove_set & current),
        }
        if owner is not None and owner != row.owner:
            changes["owner"] = [row.owner, owner]
            row.owner = owner
        audit.append(s, clock, actor, "update", "case", row.id, case_number=number, details=changes)
        s.flush()
        return _view(s, row)
