"""Links from body-worn files to case files and to people held.

Linking a file (or a time range of it) to a case makes it evidence: its category becomes
``evidence`` (permanent) and the range goes under a legal hold for the case, in the same
transaction as the link and its audit entry. A clip cut from a body-worn file into a case
(vms.evidence.items.add_clip, remuxed and hashed like any camera clip) links it too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from vms.bodyworn.config import Category
from vms.bodyworn.files import file_row
from vms.bodyworn.models import CaseLink, Device, PersonLink
from vms.bodyworn.retention import mark_category
from vms.bodyworn.views import CaseLinkView
from vms.clock import Clock, utc
from vms.custody.models import Person
from vms.db.session import Database
from vms.errors import InvalidError, NotFoundError
from vms.evidence import audit
from vms.evidence.audit import Actor
from vms.evidence.cases import open_case_row
from vms.evidence.holds import add_range_hold
from vms.evidence.models import Case
from vms.vocab import Subsystem


def link_case(
    db: Database,
    clock: Clock,
    actor: Actor,
    file_id: int,
    case_number: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    note: str = "",
) -> CaseLinkView:
    """Link file ``file_id`` (all of it, or [start, end) of it) to an open case; hold it."""
    with db.session() as s:
        row = file_row(s, file_id)
        case = open_case_row(s, case_number)
        device = s.get(Device, row.device_id)
        assert device is not None
        lo = utc(start) if start is not None else row.start
        hi = utc(end) if end is not None else row.end
        if not (row.start <= lo < hi <= row.end):
            raise InvalidError(
                f"the range to link must lie inside the file ({row.start.isoformat()} to "
                f"{row.end.isoformat()}) and end after it starts, got {lo.isoformat()} to "
                f"{hi.isoformat()}",
                subsystem=Subsystem.BODYWORN,
            )
        hold = add_range_hold(s, clock, actor, device.camera_id, lo, hi, case)
        link = CaseLink(
            file_id=row.id,
            case_id=case.id,
            start=lo,
            end=hi,
            hold_id=hold.id,
            note=note,
            reason=actor.reason,
            created_at=clock.now(),
            created_by=actor.user,
        )
        s.add(link)
        s.flush()
        audit.append(
            s, clock, actor, "update", "bodyworn", row.id, case_number=case.number,
            details={"linked_case": case.number, "start": lo.isoformat(), "end": hi.isoformat(),
                     "hold": hold.id, "sha256": row.sha256},
        )  # fmt: skip
        if row.category == Category.DEFAULT.value:
            mark_category(s, clock, actor, row, Category.EVIDENCE)
        return _case_view(link, case.number)


def _case_view(link: CaseLink, number: str) -> CaseLinkView:
    return CaseLinkView(
        id=link.id, file_id=link.file_id, case_number=number, start=link.start, end=link.end,
        hold_id=link.hold_id, note=link.note, reason=link.reason, created_at=link.created_at,
        created_by=link.created_by,
    )  # fmt: skip


def case_links(db: Database, file_id: int) -> list[CaseLinkView]:
    with db.session() as s:
        rows = s.execute(
            select(CaseLink, Case.number)
            .join(Case, Case.id == CaseLink.case_id)
            .where(CaseLink.file_id == file_id)
            .order_by(CaseLink.id)
        )
        return [_case_view(link, number) for link, number in rows]


def link_person(
    db: Database, clock: Clock, actor: Actor, file_id: int, person_id: int, *, note: str = ""
) -> int:
    """Link a file to a person held (the custody ledger's stay); returns the link's id."""
    with db.session() as s:
        row = file_row(s, file_id)
        person = s.get(Person, person_id)
        if person is None:
            raise NotFoundError(
                f"no person {person_id} in the custody ledger", subsystem=Subsystem.BODYWORN
            )
        link = PersonLink(
            file_id=row.id,
            person_id=person.id,
            note=note,
            reason=actor.reason,
            created_at=clock.now(),
            created_by=actor.user,
        )
        s.add(link)
        s.flush()
        audit.append(
            s, clock, actor, "update", "bodyworn", row.id, case_number=person.case_number,
            details={"linked_person": person.id, "name": person.name},
        )  # fmt: skip
        return link.id
