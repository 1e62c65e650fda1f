"""The custody ledger's operations, shared by the command line and the web app.

    svc = CustodyService(db, config, clock)
    p = svc.enter(name="Zhang San", reason="theft", basis="summons", room="holding-1", by="li")
    iv = svc.start_interview(p.id, room="interrogation-1", by="li",
                             officers=[Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")])
    svc.end_interview(iv.id, by="li")
    svc.exit(p.id, by="li")

Every operation ends with the keywords of ``Acting``: ``at`` (default: the clock's now; never
in the future), so entries made after the fact keep their real times, and ``actor``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vms.clock import Clock, SystemClock, utc
from vms.config import Config
from vms.custody.alerts import reconcile
from vms.custody.config import RiskLevel
from vms.custody.layout import Layout, Room, build_layout
from vms.custody.models import (
    Alert,
    Check,
    CustodyRoom,
    CustodyRoomCamera,
    Interview,
    Person,
    Stay,
)
from vms.custody.presence import room_occupancy
from vms.custody.recording import camera_recordings
from vms.custody.report import interview_gaps
from vms.custody.rules import (
    AlertType,
    CustodyState,
    InterviewState,
    Officer,
    PersonState,
    next_observation_due,
    no_sound_rule,
    observed_room,
    recording_rule,
    resummons_condition,
)
from vms.custody.views import (
    AlertView,
    HeldView,
    InterviewView,
    PersonView,
    RoomStatus,
    RoomVideo,
    StatusView,
)
from vms.db.models import Camera
from vms.db.session import Database
from vms.errors import ConflictError, InvalidError, NotFoundError
from vms.evidence import audit
from vms.evidence.audit import Actor
from vms.vocab import RoomType, Subsystem, jsonable

#: How far ahead of the clock a time given by hand may be (clock skew between machines).
FUTURE_SKEW = timedelta(seconds=60)
INTERVIEW_ROOMS = (RoomType.INTERROGATION, RoomType.INQUIRY)


class Acting(TypedDict, total=False):
    """The keywords every ledger operation ends with (after ``by``, the name the ledger
    records).

    ``at``: when it happened, for an entry made after the fact (default: the clock's now; never
    in the future). ``actor``: who asks, authenticated, and from which door; the operation is
    then also an entry of the audit log, in the same transaction."""

    at: datetime | None
    actor: Actor | None


def sync_rooms(db: Database, layout: Layout, now: datetime) -> None:
    """Write the configured rooms and their cameras into the database."""
    with db.session() as s:
        cameras = set(s.scalars(select(Camera.id)))
        rows = {r.id: r for r in s.scalars(select(CustodyRoom))}
        for room in layout.rooms.values():
            wanted_row = (room.site, room.name, room.type.value, True)
            row = rows.get(room.id)
            if row is not None and (row.site, row.name, row.room_type, row.active) == wanted_row:
                continue  # unchanged: no write every time the checks run
            row = row or CustodyRoom(id=room.id)
            row.site, row.name, row.room_type, row.active = wanted_row
            row.updated_at = now
            s.add(row)
        for room_id, row in rows.items():
            if room_id not in layout.rooms and row.active:
                row.active, row.updated_at = False, now
        s.flush()
        links = {(c.room_id, c.camera_id): c for c in s.scalars(select(CustodyRoomCamera))}
        wanted = {
            (room.id, cam)
            for room in layout.rooms.values()
            for cam in room.cameras
            if cam in cameras
        }
        for key, link in links.items():
            if key not in wanted:
                s.delete(link)
        for room_id, cam in wanted - set(links):
            s.add(CustodyRoomCamera(room_id=room_id, camera_id=cam))


def person_state(p: Person) -> PersonState:
    return PersonState(
        p.id,
        p.name,
        p.site,
        p.legal_basis,
        p.limit_h,
        RiskLevel(p.risk),
        p.entered_at,
        p.exited_at,
    )


def interview_state(iv: Interview) -> InterviewState:
    return InterviewState(
        iv.id,
        iv.person_id,
        iv.room_id,
        iv.started_at,
        iv.ended_at,
        tuple(Officer(o.get("name", ""), o.get("badge", "")) for o in iv.officers),
    )


class CustodyService:
    """Ledger operations on one database, for one configuration."""

    def __init__(self, db: Database, config: Config, clock: Clock | None = None) -> None:
        self.db = db
        self.config = config
        self.clock = clock or SystemClock()
        self.layout = build_layout(config)
        self._synced = False

    # -- helpers -------------------------------------------------------------------------

    def _session(self) -> AbstractContextManager[Session]:
        if not self._synced:
            sync_rooms(self.db, self.layout, self.clock.now())
            self._synced = True
        return self.db.session()

    def _at(self, acting: Acting) -> datetime:
        """The operation's time; every operation asks first, so a keyword that is not one of
        ``Acting``'s is refused as Python refuses any other (an ``actor`` misspelt would
        otherwise leave the operation out of the audit log)."""
        if unknown := acting.keys() - Acting.__optional_keys__:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
        now = self.clock.now()
        at = acting.get("at")
        if at is None:
            return now
        at = utc(at)
        if at > now + FUTURE_SKEW:
            raise InvalidError(
                f"time {at.isoformat()} is in the future (now {now.isoformat()})",
                subsystem=Subsystem.CUSTODY,
            )
        return at

    def _audit(
        self,
        s: Session,
        acting: Acting,
        action: str,
        object_type: str,
        object_id: int,
        details: dict[str, Any],
        case_number: str | None = None,
    ) -> None:
        """The ledger operation's audit entry (in its transaction), when an actor is known."""
        if (actor := acting.get("actor")) is not None:
            audit.append(
                s, self.clock, actor, action, object_type, object_id,
                case_number=case_number, details=details,
            )  # fmt: skip

    def room(self, ref: str) -> Room:
        return self.layout.room(ref)

    @staticmethod
    def _held(s: Session, person_id: int) -> Person:
        p = s.get(Person, person_id)
        if p is None:
            raise NotFoundError(
                f"no person {person_id} in the custody ledger", subsystem=Subsystem.CUSTODY
            )
        if p.exited_at is not None:
            raise ConflictError(
                f"person {person_id} ({p.name}) was released at {p.exited_at.isoformat()}",
                subsystem=Subsystem.CUSTODY,
            )
        return p

    @contextmanager
    def _on_held(
        self, person_id: int, acting: Acting, *, leaving: bool = False
    ) -> Iterator[tuple[Session, Person, datetime]]:
        """One ledger operation on a person held: its transaction, the person (not found, or
        a conflict once released) and the operation's time (``at`` checked, or now).

        ``leaving``: the operation takes the person out of their room (a move, the release),
        which no one may while their interview goes on."""
        when = self._at(acting)
        with self._session() as s:
            p = self._held(s, person_id)
            if leaving and (iv := self._active_interview(s, person_id)) is not None:
                raise ConflictError(
                    f"{p.name} is in interview {iv.id}; end it first", subsystem=Subsystem.CUSTODY
                )
            yield s, p, when

    @staticmethod
    def _open_stay(s: Session, person_id: int) -> Stay:
        stay = s.scalars(
            select(Stay).where(Stay.person_id == person_id, Stay.end.is_(None))
        ).first()
        if stay is None:  # pragma: no cover - every held person has one
            raise ConflictError(
                f"person {person_id} has no current room", subsystem=Subsystem.CUSTODY
            )
        return stay

    @staticmethod
    def _active_interview(s: Session, person_id: int) -> Interview | None:
        return s.scalars(
            select(Interview).where(Interview.person_id == person_id, Interview.ended_at.is_(None))
        ).first()

    def _move(self, s: Session, p: Person, room: Room, by: str, at: datetime) -> None:
        stay = self._open_stay(s, p.id)
        if at < stay.start:
            raise InvalidError(
                f"move at {at.isoformat()} is before {p.name} entered the current room "
                f"({stay.start.isoformat()})",
                subsystem=Subsystem.CUSTODY,
            )
        stay.end = at
        s.add(Stay(person_id=p.id, room_id=room.id, start=at, end=None, moved_by=by))
        p.room_id = room.id

    # -- operations ------------------------------------------------------------------------

    def enter(
        self,
        *,
        name: str,
        reason: str,
        basis: str,
        room: str,
        by: str,
        id_number: str | None = None,
        case_number: str | None = None,
        risk: RiskLevel = RiskLevel.NORMAL,
        limit_h: float | None = None,
        **acting: Unpack[Acting],
    ) -> Person:
        """Register a person brought into the custody area (entry time, legal basis).

        ``acting``: when, and who asks (``Acting``)."""
        when = self._at(acting)
        target = self.room(room)
        bases = self.config.custody.legal_bases
        if basis not in bases:
            raise InvalidError(
                f"no legal basis {basis!r} (known: {', '.join(sorted(bases))})",
                subsystem=Subsystem.CUSTODY,
            )
        configured = bases[basis].limit_h
        if configured is None and limit_h is None:
            raise InvalidError(
                f"legal basis {basis!r} needs the limit in hours (--limit-h)",
                subsystem=Subsystem.CUSTODY,
            )
        if configured is not None and limit_h is not None and limit_h != configured:
            raise InvalidError(
                f"legal basis {basis!r} has a limit of {configured:g} h; "
                "use basis 'custom' for another limit",
                subsystem=Subsystem.CUSTODY,
            )
        if not name.strip() or not by.strip():
            raise InvalidError(
                "the person's name and who registers the entry are required",
                subsystem=Subsystem.CUSTODY,
            )
        limit = configured if configured is not None else limit_h
        assert limit is not None
        with self._session() as s:
            previous_exit = None
            if id_number:
                held = s.scalars(
                    select(Person).where(Person.id_number == id_number, Person.exited_at.is_(None))
                ).first()
                if held is not None:
                    raise ConflictError(
                        f"ID number {id_number} is already held as person {held.id} ({held.name})",
                        subsystem=Subsystem.CUSTODY,
                    )
                previous_exit = s.scalar(
                    select(func.max(Person.exited_at)).where(
                        Person.id_number == id_number, Person.exited_at <= when
                    )
                )
            p = Person(
                name=name.strip(),
                id_number=id_number,
                case_number=case_number,
                reason=reason,
                legal_basis=basis,
                limit_h=float(limit),
                risk=RiskLevel(risk).value,
                site=target.site,
                room_id=target.id,
                entered_at=when,
                entered_by=by,
                flags={},
            )
            s.add(p)
            s.flush()
            s.add(Stay(person_id=p.id, room_id=target.id, start=when, end=None, moved_by=by))
            self._audit(
                s,
                acting,
                "create",
                "custody_person",
                p.id,
                {
                    "op": "enter",
                    "name": p.name,
                    "basis": basis,
                    "limit_h": p.limit_h,
                    "room": target.id,
                    "risk": p.risk,
                    "at": when.isoformat(),
                    "by": by,
                },
                case_number,
            )
            cond = resummons_condition(
                person_state(p), utc(previous_exit) if previous_exit else None, self.config.custody
            )
            if cond is not None:
                p.flags = {"resummons": dict(cond.data)}
                reconcile(s, [cond], when, current_only=())
            return p

    def move(
        self,
        person_id: int,
        *,
        room: str,
        by: str,
        **acting: Unpack[Acting],
    ) -> Person:
        """Move a person held to another room."""
        target = self.room(room)
        with self._on_held(person_id, acting, leaving=True) as (s, p, when):
            if p.room_id == target.id:
                raise ConflictError(
                    f"{p.name} is already in {target.name}", subsystem=Subsystem.CUSTODY
                )
            old = p.room_id
            self._move(s, p, target, by, when)
            details = {"op": "move", "from": old, "to": target.id, "at": when.isoformat(), "by": by}
            self._audit(s, acting, "update", "custody_person", p.id, details, p.case_number)
            return p

    def start_interview(
        self,
        person_id: int,
        *,
        officers: Sequence[Officer],
        by: str,
        room: str | None = None,
        **acting: Unpack[Acting],
    ) -> Interview:
        """Start an interrogation or inquiry; the person is moved into the room if needed."""
        with self._on_held(person_id, acting) as (s, p, when):
            target = self.room(room or p.room_id)
            if target.type not in INTERVIEW_ROOMS:
                raise InvalidError(
                    f"{target.name} is a {target.type.value} room; interviews are held in "
                    "interrogation or inquiry rooms",
                    subsystem=Subsystem.CUSTODY,
                )
            for o in officers:
                if not o.name.strip() or not o.badge.strip():
                    raise InvalidError(
                        "every officer needs a name and a badge number", subsystem=Subsystem.CUSTODY
                    )
            if (iv := self._active_interview(s, person_id)) is not None:
                raise ConflictError(
                    f"{p.name} is already in interview {iv.id}", subsystem=Subsystem.CUSTODY
                )
            busy = s.scalars(
                select(Interview).where(
                    Interview.room_id == target.id, Interview.ended_at.is_(None)
                )
            ).first()
            if busy is not None:
                raise ConflictError(
                    f"{target.name} is in use by interview {busy.id}", subsystem=Subsystem.CUSTODY
                )
            if p.room_id != target.id:
                self._move(s, p, target, by, when)
            iv = Interview(
                person_id=p.id,
                room_id=target.id,
                kind=target.type.value,
                officers=[{"name": o.name.strip(), "badge": o.badge.strip()} for o in officers],
                started_at=when,
                started_by=by,
                recording_incomplete=False,
                gaps=[],
            )
            s.add(iv)
            s.flush()
            details = {
                "op": "interview_start",
                "person": p.id,
                "room": target.id,
                "officers": iv.officers,
                "at": when.isoformat(),
                "by": by,
            }
            self._audit(s, acting, "create", "interview", iv.id, details, p.case_number)
            self._no_sound_at_start(s, iv, target, when)
            return iv

    def _no_sound_at_start(self, s: Session, iv: Interview, room: Room, when: datetime) -> None:
        """An interview starting in a room whose camera records no sound: alert at once (the
        periodic checks keep the alert while it lasts)."""
        state = CustodyState(
            layout=Layout({room.id: room}),
            interviews=[interview_state(iv)],
            recording=camera_recordings(s, self.config, self.layout, room.cameras),
        )
        found = [c for c in no_sound_rule(state, when, self.config.custody) if c.interview_id]
        if found:
            reconcile(s, found, when, current_only=())

    def end_interview(
        self,
        interview_id: int,
        *,
        by: str,
        note: str | None = None,
        **acting: Unpack[Acting],
    ) -> Interview:
        """End an interview; its recording continuity is checked and stored with it."""
        when = self._at(acting)
        with self._session() as s:
            iv = s.get(Interview, interview_id)
            if iv is None:
                raise NotFoundError(f"no interview {interview_id}", subsystem=Subsystem.CUSTODY)
            if iv.ended_at is not None:
                raise ConflictError(
                    f"interview {interview_id} ended at {iv.ended_at.isoformat()}",
                    subsystem=Subsystem.CUSTODY,
                )
            if when < iv.started_at:
                raise InvalidError(
                    f"end {when.isoformat()} is before the interview's start",
                    subsystem=Subsystem.CUSTODY,
                )
            iv.ended_at, iv.ended_by, iv.note = when, by, note
            person = s.get(Person, iv.person_id)
            details = {"op": "interview_end", "note": note, "at": when.isoformat(), "by": by}
            case = person.case_number if person else None
            self._audit(s, acting, "update", "interview", iv.id, details, case)
        now = self.clock.now()
        gaps = interview_gaps(self.db, self.config, self.layout, iv, now)
        state = CustodyState(
            self.layout,
            interviews=[interview_state(iv)],
            interview_gaps={iv.id: gaps},
        )
        incomplete = [
            c
            for c in recording_rule(state, now, self.config.custody)
            if c.type is AlertType.RECORDING_INCOMPLETE
        ]
        with self.db.session() as s:
            row = s.get(Interview, interview_id)
            assert row is not None
            row.recording_incomplete = bool(gaps)
            row.gaps = jsonable(gaps)
            reconcile(s, incomplete, now, current_only=())
            return row

    def record_check(
        self,
        person_id: int,
        *,
        by: str,
        note: str | None = None,
        **acting: Unpack[Acting],
    ) -> Check:
        """An observation round: someone saw the person (and roused them if needed)."""
        with self._on_held(person_id, acting) as (s, p, when):
            if when < p.entered_at:
                raise InvalidError(
                    "a check cannot come before the person's entry", subsystem=Subsystem.CUSTODY
                )
            check = Check(person_id=p.id, at=when, by=by, source="manual", note=note)
            s.add(check)
            s.flush()
            details = {"op": "check", "note": note, "at": when.isoformat(), "by": by}
            self._audit(s, acting, "update", "custody_person", p.id, details, p.case_number)
            return check

    def set_risk(
        self,
        person_id: int,
        risk: RiskLevel,
        *,
        by: str,
        **acting: Unpack[Acting],
    ) -> Person:
        """Change a person's risk level (and so their observation interval)."""
        with self._on_held(person_id, acting) as (s, p, when):
            history = list(p.flags.get("risk_changes", []))
            history.append({"from": p.risk, "to": risk.value, "by": by, "at": when.isoformat()})
            details = {"op": "risk", "from": p.risk, "to": RiskLevel(risk).value, "by": by}
            p.risk = RiskLevel(risk).value
            p.flags = {**p.flags, "risk_changes": history}
            self._audit(s, acting, "update", "custody_person", p.id, details, p.case_number)
            return p

    def acknowledge(
        self,
        alert_id: int,
        *,
        by: str,
        note: str,
        **acting: Unpack[Acting],
    ) -> Alert:
        """Acknowledge an alert: it stops escalating. The user and a note are required."""
        when = self._at(acting)
        if not by.strip() or not note.strip():
            raise InvalidError(
                "an acknowledgement needs the user and a note", subsystem=Subsystem.CUSTODY
            )
        with self._session() as s:
            alert = s.get(Alert, alert_id)
            if alert is None:
                raise NotFoundError(f"no alert {alert_id}", subsystem=Subsystem.CUSTODY)
            if alert.ack_at is not None:
                raise ConflictError(
                    f"alert {alert_id} was acknowledged by {alert.acknowledged_by} at "
                    f"{alert.ack_at.isoformat()}",
                    subsystem=Subsystem.CUSTODY,
                )
            alert.acknowledged_by, alert.ack_note, alert.ack_at = by.strip(), note.strip(), when
            details = {"op": "acknowledge", "type": alert.type, "level": alert.level, "note": note}
            self._audit(s, acting, "update", "custody_alert", alert.id, details)
            return alert

    def exit(
        self,
        person_id: int,
        *,
        by: str,
        note: str | None = None,
        **acting: Unpack[Acting],
    ) -> Person:
        """Register a person's release from the custody area."""
        with self._on_held(person_id, acting, leaving=True) as (s, p, when):
            stay = self._open_stay(s, person_id)
            if when < stay.start:
                raise InvalidError(
                    "the exit cannot come before the person entered the room",
                    subsystem=Subsystem.CUSTODY,
                )
            stay.end = when
            p.exited_at, p.exited_by, p.exit_note = when, by, note
            details = {"op": "exit", "note": note, "at": when.isoformat(), "by": by}
            self._audit(s, acting, "update", "custody_person", p.id, details, p.case_number)
            return p

    def status(self, site: str | None = None) -> StatusView:
        """People held (with their legal clocks), interviews in progress, open alerts and
        every room (who the ledger puts there, what video sees), as of now."""
        now = self.clock.now()
        with self._session() as s:
            q = select(Person).where(Person.exited_at.is_(None)).order_by(Person.entered_at)
            if site:
                q = q.where(Person.site == site)
            persons = list(s.scalars(q))
            ids = [p.id for p in persons]
            checks: dict[int, datetime] = {}
            if ids:
                for pid, at in s.execute(
                    select(Check.person_id, func.max(Check.at))
                    .where(Check.person_id.in_(ids))
                    .group_by(Check.person_id)
                ):
                    checks[pid] = utc(at)
            stays = {
                st.person_id: st
                for st in s.scalars(select(Stay).where(Stay.end.is_(None), Stay.person_id.in_(ids)))
            }
            interviews = list(s.scalars(select(Interview).where(Interview.ended_at.is_(None))))
            aq = (
                select(Alert)
                .where((Alert.ack_at.is_(None)) | (Alert.cleared_at.is_(None)))
                .order_by(Alert.raised_at)
            )
            if site:
                aq = aq.where(Alert.site == site)
            alerts = list(s.scalars(aq))
            occupancy = room_occupancy(
                s, self.layout.rooms.values(), now, self.config.custody.presence.stale_s
            )
        cfg = self.config.custody
        held = []
        for p in persons:
            deadline = person_state(p).deadline
            stay = stays.get(p.id)
            room = self.layout.rooms.get(p.room_id)
            last = checks.get(p.id)
            next_check = None
            if room is not None and observed_room(room.type.value, cfg) and stay:
                next_check = next_observation_due(stay.start, last, RiskLevel(p.risk), cfg)
            held.append(
                HeldView.model_validate(
                    {
                        **PersonView.model_validate(p).model_dump(),
                        "deadline": deadline,
                        "minutes_left": round((deadline - now).total_seconds() / 60, 1),
                        "room_since": stay.start if stay else None,
                        "last_check": last,
                        "next_check_due": next_check,
                    }
                )
            )
        rooms = [
            RoomStatus(
                id=room.id,
                name=room.name,
                site=room.site,
                type=room.type.value,
                cameras=list(room.cameras),
                held=[p.id for p in persons if p.room_id == room.id],
                interview=any(i.room_id == room.id for i in interviews),
                video=RoomVideo.model_validate(occupancy[room.id]),
            )
            for room in sorted(self.layout.rooms.values(), key=lambda r: (r.site, r.name))
            if not site or room.site == site
        ]
        return StatusView(
            now=now,
            held=held,
            interviews=[InterviewView.model_validate(i) for i in interviews],
            alerts=[AlertView.of(a, cfg.escalation) for a in alerts],
            rooms=rooms,
        )
