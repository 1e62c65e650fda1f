"""What one user may see and touch: the camera scope and case membership, in one place.

Every route that returns or changes something tied to footage takes a ``Scope`` (the
dependency ``scoped(Permission.X)``: the role check, then the user's scope) and looks up its
objects through it: ``scope.segment(s, id)``, ``scope.event(...)``, ``scope.case(...)``,
``scope.custody_alert(...)``, ``scope.person(...)``, ``scope.interview(...)``; lists filter with
``scope.rule``. An object is refused (403) when it is outside the scope, 404 when it does not
exist. tests/web/test_authz.py checks every route with a scoped principal of every role and
with objects of another camera.

The rule (``Visibility``, pure):

- a **camera** is in scope if the user has no scope or the camera is in it;
- a **room** (custody area) if one of its cameras is; a room without cameras only without a
  scope;
- a **custody alert** by its camera, else by its room, else (neither) only without a scope;
- a **person held** if one of the rooms they have been in is; an **interview** by its room;
- an **audit entry** if the cameras it concerns are known and all in scope;
- a **case** only for its owner and its named investigators (``CaseAccess``); its items and
  exports only with their cameras in scope.

Whole-installation views (the daily briefing, /metrics, the jobs) are refused to a scoped user:
they cannot be cut to a scope.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from vms.config import CameraConfig
from vms.custody.models import Alert as CustodyAlert
from vms.custody.models import Interview, Person, Stay
from vms.db.models import Event, Segment
from vms.errors import NotFoundError, PermissionDeniedError
from vms.evidence.models import AuditEntry, Case, CaseInvestigator, EvidenceItem, Hold
from vms.vocab import Subsystem
from vms.web.deps import StateDep, WebState, require
from vms.web.roles import Permission
from vms.web.users import Principal


@dataclass(frozen=True)
class Visibility:
    """The camera-scope rule for one user (pure)."""

    scope: frozenset[str] | None
    room_cameras: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def unscoped(self) -> bool:
        return self.scope is None

    def camera(self, camera_id: str | None) -> bool:
        if self.scope is None:
            return True
        return camera_id is not None and camera_id in self.scope

    def room(self, room_id: str | None) -> bool:
        if self.scope is None:
            return True
        return any(c in self.scope for c in self.room_cameras.get(room_id or "", ()))

    def alert(self, camera_id: str | None, room_id: str | None) -> bool:
        if camera_id is not None:
            return self.camera(camera_id)
        if room_id is not None:
            return self.room(room_id)
        return self.scope is None

    def cameras(self, camera_ids: Iterable[str]) -> bool:
        """All of them in scope, and (for a scoped user) at least one known."""
        ids = set(camera_ids)
        if self.scope is None:
            return True
        return bool(ids) and ids <= self.scope


class CaseAccess(StrEnum):
    """What a user wants of a case."""

    READ = "read"  # list, open, search by, download its exports
    ADD = "add"  # add evidence
    EXPORT = "export"  # make a signed package


def _denied(message: str) -> PermissionDeniedError:
    return PermissionDeniedError(message, subsystem=Subsystem.WEB)


def _missing(message: str) -> NotFoundError:
    return NotFoundError(message, subsystem=Subsystem.WEB)


@dataclass
class Scope:
    """One request's user and what they may see; every object lookup goes through it."""

    user: Principal
    state: WebState
    rule: Visibility

    # --- cameras ------------------------------------------------------------------------

    def camera(self, camera_id: str) -> CameraConfig:
        """The configured camera, if in scope (403 first: an unknown id outside says nothing)."""
        if not self.rule.camera(camera_id):
            raise _denied(
                f"camera {camera_id!r} is outside the camera scope of user {self.user.username!r}"
            )
        cam = self.state.cameras.get(camera_id)
        if cam is None:
            raise _missing(f"no camera {camera_id!r}")
        return cam

    def cameras(self) -> list[CameraConfig]:
        return [c for c in self.state.cameras.values() if self.rule.camera(c.id)]

    def check_cameras(self, camera_ids: Iterable[str], what: str) -> None:
        outside = sorted(c for c in set(camera_ids) if not self.rule.camera(c))
        if outside:
            raise _denied(
                f"{what} holds footage of camera(s) outside the scope of user "
                f"{self.user.username!r}"
            )

    def require_unscoped(self, what: str) -> None:
        """A view of the whole installation: refused to a user limited to some cameras."""
        if not self.rule.unscoped:
            raise _denied(
                f"{what} covers every camera; user {self.user.username!r} is limited to a "
                "camera scope"
            )

    # --- recordings and events ----------------------------------------------------------

    def segment(self, s: Session, segment_id: int) -> Segment:
        seg = s.get(Segment, segment_id)
        if seg is None:
            raise _missing(f"no recorded segment {segment_id}")
        self.camera(seg.camera_id)
        return seg

    def event(self, s: Session, event_id: int) -> Event:
        event = s.get(Event, event_id)
        if event is None:
            raise _missing(f"no event {event_id}")
        self.camera(event.camera_id)
        return event

    # --- custody ------------------------------------------------------------------------

    def custody_alert(self, s: Session, alert_id: int) -> CustodyAlert:
        alert = s.get(CustodyAlert, alert_id)
        if alert is None:
            raise _missing(f"no custody alert {alert_id}")
        if not self.rule.alert(alert.camera_id, alert.room_id):
            raise _denied(f"custody alert {alert_id} is of a room outside your camera scope")
        return alert

    def person_visible(self, s: Session, person: Person) -> bool:
        if self.rule.unscoped:
            return True
        rooms = {
            person.room_id,
            *s.scalars(select(Stay.room_id).where(Stay.person_id == person.id)),
        }
        return any(self.rule.room(r) for r in rooms)

    def person(self, s: Session, person_id: int) -> Person:
        person = s.get(Person, person_id)
        if person is None:
            raise _missing(f"no person {person_id} in the custody ledger")
        if not self.person_visible(s, person):
            raise _denied(f"person {person_id} was held only in rooms outside your camera scope")
        return person

    def interview(self, s: Session, interview_id: int) -> Interview:
        row = s.get(Interview, interview_id)
        if row is None:
            raise _missing(f"no interview {interview_id}")
        if not self.rule.room(row.room_id):
            raise _denied(f"interview {interview_id} is in a room outside your camera scope")
        return row

    # --- cases --------------------------------------------------------------------------

    def is_member(self, s: Session, case: Case) -> bool:
        if case.owner == self.user.username:
            return True
        named = s.scalar(
            select(CaseInvestigator.user).where(
                CaseInvestigator.case_id == case.id, CaseInvestigator.user == self.user.username
            )
        )
        return named is not None

    def case(self, s: Session, case_id: int, access: CaseAccess = CaseAccess.READ) -> Case:
        """The case, for its owner and named investigators only; an export also needs every
        item's camera in scope (adding checks the new item's camera itself)."""
        case = s.get(Case, case_id)
        if case is None:
            raise _missing(f"no case {case_id}")
        return self.case_row(s, case, access)

    def case_by_number(self, s: Session, number: str, access: CaseAccess = CaseAccess.READ) -> Case:
        case = s.scalar(select(Case).where(Case.number == number))
        if case is None:
            raise _missing(f"no case {number!r}")
        return self.case_row(s, case, access)

    def case_row(self, s: Session, case: Case, access: CaseAccess) -> Case:
        if not self.is_member(s, case):
            raise _denied(
                f"case {case.number} is open only to its owner and named investigators; "
                f"{self.user.username!r} is neither"
            )
        if access is CaseAccess.EXPORT:
            cams = s.scalars(
                select(EvidenceItem.camera_id).where(
                    EvidenceItem.case_id == case.id, EvidenceItem.status == "active"
                )
            )
            self.check_cameras(cams, f"case {case.number}")
        return case

    def member_case_ids(self, s: Session) -> set[int]:
        own = set(s.scalars(select(Case.id).where(Case.owner == self.user.username)))
        named = set(
            s.scalars(
                select(CaseInvestigator.case_id).where(CaseInvestigator.user == self.user.username)
            )
        )
        return own | named

    # --- the audit log ------------------------------------------------------------------

    def audit_entries(self, s: Session, entries: list[AuditEntry]) -> list[AuditEntry]:
        """The entries whose cameras are known and all in scope (every one, unscoped)."""
        if self.rule.unscoped:
            return entries
        cams = _entry_cameras(s, entries, self.state)
        return [e for e in entries if self.rule.cameras(cams.get(e.seq, ()))]


def _entry_cameras(s: Session, entries: list[AuditEntry], state: WebState) -> dict[int, set[str]]:
    """The cameras each entry concerns, from its details and the object it names."""
    by_type: dict[str, set[str]] = {}
    for e in entries:
        by_type.setdefault(e.object_type, set()).add(e.object_id)

    def ints(kind: str) -> list[int]:
        return [int(i) for i in by_type.get(kind, ()) if i.isdigit()]

    def pairs(id_col: Any, value_col: Any, kind: str) -> dict[int, str]:
        ids = ints(kind)
        if not ids:
            return {}
        return {
            int(k): str(v) for k, v in s.execute(select(id_col, value_col).where(id_col.in_(ids)))
        }

    seg = pairs(Segment.id, Segment.camera_id, "segment")
    item = pairs(EvidenceItem.id, EvidenceItem.camera_id, "item")
    case_cams: dict[int, set[str]] = {}
    if ints("case"):
        q = select(EvidenceItem.case_id, EvidenceItem.camera_id).where(
            EvidenceItem.case_id.in_(ints("case"))
        )
        for case_id, cam in s.execute(q):
            case_cams.setdefault(int(case_id), set()).add(str(cam))
    holds: dict[int, set[str]] = {}
    if ints("hold"):
        for h in s.scalars(select(Hold).where(Hold.id.in_(ints("hold")))):
            held_cam: str | None = h.camera_id
            if held_cam is None and h.item_id is not None:
                found = s.get(EvidenceItem, h.item_id)
                held_cam = found.camera_id if found else None
            holds[h.id] = {held_cam} if held_cam else set()
    rooms = {r.id: r.cameras for r in state.custody.layout.rooms.values()}
    interviews = pairs(Interview.id, Interview.room_id, "interview")
    found_cams: dict[int, set[str]] = {}
    for e in entries:
        cams: set[str] = set()
        try:
            details = json.loads(e.details)
        except ValueError:
            details = {}
        if isinstance(details, dict) and isinstance(details.get("camera"), str):
            cams.add(details["camera"])
        oid = int(e.object_id) if e.object_id.isdigit() else None
        match e.object_type:
            case "camera":
                cams.add(e.object_id)
            case "segment" if oid in seg:
                cams.add(seg[oid])
            case "item" if oid in item:
                cams.add(item[oid])
            case "case" if oid is not None:
                cams |= case_cams.get(oid, set())
            case "hold" if oid is not None:
                cams |= holds.get(oid, set())
            case "interview" if oid in interviews:
                cams |= set(rooms.get(interviews[oid], ()))
        found_cams[e.seq] = cams
    return found_cams


def visibility(user: Principal, state: WebState) -> Visibility:
    rooms = {r.id: r.cameras for r in state.custody.layout.rooms.values()}
    return Visibility(user.camera_scope, rooms)


def scoped(permission: Permission) -> Callable[..., Scope]:
    """The dependency of a route: the role must hold ``permission``; gives the user's Scope."""
    # A default, not in the annotation: annotations are strings here (``from __future__
    # import annotations``), resolved where the local ``allowed`` is not in scope.
    allowed = Depends(require(permission))

    def dependency(state: StateDep, user: Principal = allowed) -> Scope:
        return Scope(user, state, visibility(user, state))

    dependency.__name__ = f"scoped_{permission.value}"
    dependency.__scope__ = True  # type: ignore[attr-defined]  # how tests recognise it
    return dependency


def unscoped(permission: Permission, what: str) -> Callable[..., Scope]:
    """Like ``scoped``, for a view of the whole installation: 403 to a user with a scope."""
    inner = Depends(scoped(permission))

    def dependency(scope: Scope = inner) -> Scope:
        scope.require_unscoped(what)
        return scope

    dependency.__name__ = f"unscoped_{permission.value}"
    dependency.__scope__ = True  # type: ignore[attr-defined]
    return dependency


def case_member(
    state: WebState, user: Principal, number: str, access: CaseAccess = CaseAccess.ADD
) -> None:
    """For routes that name a case by number (body-worn links and clips): members only."""
    with state.db.session() as s:
        Scope(user, state, visibility(user, state)).case_by_number(s, number, access)
