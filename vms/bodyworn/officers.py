"""Officers, recorders and who had which recorder when (assignment history), and duty shifts.

A device is registered with a row in ``cameras`` (kind ``bodyworn``, id ``bw.<serial>``) so
its files sit on the playback timeline beside fixed cameras. ``officer_at`` answers "who had
this recorder at that moment" from the assignment history: the file is filed under them
(一人一档). Every change is in the audit log.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vms.bodyworn.metadata import valid_serial
from vms.bodyworn.models import Assignment, BodywornFile, Device, Officer, Shift
from vms.bodyworn.views import AssignmentView, DeviceView, OfficerView, ShiftView
from vms.clock import Clock, utc
from vms.db.models import Camera
from vms.db.session import Database
from vms.errors import ConflictError, InvalidError, NotFoundError
from vms.evidence import audit
from vms.evidence.audit import Actor
from vms.vocab import CameraKind, Subsystem

_BADGE = re.compile(r"^[A-Za-z0-9-]{1,32}$")
CAMERA_PREFIX = "bw."
SITE = "Body-worn recorders"


def camera_id_of(serial: str) -> str:
    """``bw.<serial>``: config camera ids cannot hold a '.', so the two never collide."""
    return CAMERA_PREFIX + serial


def is_bodyworn_camera(camera_id: str) -> bool:
    return camera_id.startswith(CAMERA_PREFIX)


# --- officers -----------------------------------------------------------------------------


def officer_row(s: Session, badge: str) -> Officer:
    row = s.scalar(select(Officer).where(Officer.badge == badge))
    if row is None:
        raise NotFoundError(f"no officer with badge {badge!r}", subsystem=Subsystem.BODYWORN)
    return row


def officer_of_user(s: Session, user_id: int) -> Officer | None:
    """The officer record a vms account belongs to, if any."""
    return s.scalar(select(Officer).where(Officer.user_id == user_id))


def _user_id(s: Session, username: str) -> int:
    from vms.web.models import User  # the accounts table (vms.web owns it)

    uid = s.scalar(select(User.id).where(User.username == username))
    if uid is None:
        raise NotFoundError(f"no vms user {username!r}", subsystem=Subsystem.BODYWORN)
    return uid


def officer_view(s: Session, row: Officer) -> OfficerView:
    from vms.web.models import User

    username = (
        s.scalar(select(User.username).where(User.id == row.user_id)) if row.user_id else None
    )
    held = s.scalar(
        select(Device.serial)
        .join(Assignment, Assignment.device_id == Device.id)
        .where(Assignment.officer_id == row.id, Assignment.end.is_(None))
    )
    return OfficerView(
        id=row.id, badge=row.badge, name=row.name, unit=row.unit, username=username,
        active=row.active, device=held,
    )  # fmt: skip


def add_officer(
    db: Database,
    clock: Clock,
    actor: Actor,
    badge: str,
    name: str,
    unit: str,
    *,
    username: str | None = None,
) -> OfficerView:
    """Register an officer (badge number, name, unit), optionally linked to a vms account."""
    if not _BADGE.match(badge):
        raise InvalidError(
            f"badge must be 1-32 letters, digits or '-', got {badge!r}",
            subsystem=Subsystem.BODYWORN,
        )
    if not name.strip():
        raise InvalidError("an officer needs a name", subsystem=Subsystem.BODYWORN)
    with db.session() as s:
        if s.scalar(select(Officer.id).where(Officer.badge == badge)) is not None:
            raise ConflictError(f"officer {badge!r} already exists", subsystem=Subsystem.BODYWORN)
        user_id = _link(s, username, None)
        row = Officer(
            badge=badge,
            name=name.strip(),
            unit=unit.strip(),
            user_id=user_id,
            active=True,
            created_at=clock.now(),
            created_by=actor.user,
        )
        s.add(row)
        s.flush()
        audit.append(
            s, clock, actor, "create", "bw_officer", badge,
            details={"name": row.name, "unit": row.unit, "user": username},
        )  # fmt: skip
        return officer_view(s, row)


def _link(s: Session, username: str | None, officer_id: int | None) -> int | None:
    if username is None:
        return None
    uid = _user_id(s, username)
    other = s.scalar(select(Officer).where(Officer.user_id == uid))
    if other is not None and other.id != officer_id:
        raise ConflictError(
            f"user {username!r} already belongs to officer {other.badge}",
            subsystem=Subsystem.BODYWORN,
        )
    return uid


def update_officer(
    db: Database,
    clock: Clock,
    actor: Actor,
    badge: str,
    *,
    name: str | None = None,
    unit: str | None = None,
    username: str | None = None,
    unlink_user: bool = False,
    active: bool | None = None,
) -> OfficerView:
    with db.session() as s:
        row = officer_row(s, badge)
        changes: dict[str, Any] = {}
        if name is not None and name.strip():
            row.name = changes["name"] = name.strip()
        if unit is not None:
            row.unit = changes["unit"] = unit.strip()
        if username is not None:
            row.user_id = _link(s, username, row.id)
            changes["user"] = username
        elif unlink_user:
            row.user_id = None
            changes["user"] = None
        if active is not None:
            row.active = changes["active"] = active
        audit.append(s, clock, actor, "update", "bw_officer", badge, details=changes)
        return officer_view(s, row)


def list_officers(db: Database, *, unit: str | None = None) -> list[OfficerView]:
    with db.session() as s:
        q = select(Officer).order_by(Officer.unit, Officer.badge)
        if unit is not None:
            q = q.where(Officer.unit == unit)
        return [officer_view(s, row) for row in s.scalars(q)]


def get_officer(db: Database, badge: str) -> OfficerView:
    with db.session() as s:
        return officer_view(s, officer_row(s, badge))


# --- devices ------------------------------------------------------------------------------


def device_row(s: Session, serial: str) -> Device:
    row = s.scalar(select(Device).where(Device.serial == serial))
    if row is None:
        raise NotFoundError(f"no recorder with serial {serial!r}", subsystem=Subsystem.BODYWORN)
    return row


def ensure_device(
    s: Session,
    clock: Clock,
    actor: Actor,
    serial: str,
    *,
    model: str = "",
    note: str = "",
    registered: bool = True,
    retention_days: int = 183,
) -> Device:
    """The device row of ``serial``, made (with its camera row) when it is new."""
    if not valid_serial(serial):
        raise InvalidError(
            f"a recorder serial is 1-48 letters, digits, '-' or '_', got {serial!r}",
            subsystem=Subsystem.BODYWORN,
        )
    row = s.scalar(select(Device).where(Device.serial == serial))
    if row is not None:
        if registered and not row.registered:
            row.registered = True
            row.model = model or row.model
            row.note = note or row.note
        return row
    now = clock.now()
    cam_id = camera_id_of(serial)
    if s.get(Camera, cam_id) is None:
        s.add(
            Camera(
                id=cam_id,
                name=f"Body-worn {serial}",
                kind=CameraKind.BODYWORN.value,
                site=SITE,
                room=None,
                room_type=None,
                source=f"bodyworn:{serial}",
                record=False,
                retention_days=retention_days,
                updated_at=now,
            )
        )
        s.flush()
    row = Device(
        serial=serial,
        camera_id=cam_id,
        model=model,
        note=note,
        registered=registered,
        created_at=now,
        created_by=actor.user,
    )
    s.add(row)
    s.flush()
    audit.append(
        s, clock, actor, "create", "bw_device", serial,
        details={"model": model, "registered": registered, "camera": cam_id},
    )  # fmt: skip
    return row


def _assignment_view(s: Session, a: Assignment, serial: str | None = None) -> AssignmentView:
    officer = s.get(Officer, a.officer_id)
    assert officer is not None
    if serial is None:
        device = s.get(Device, a.device_id)
        assert device is not None
        serial = device.serial
    return AssignmentView(
        id=a.id, serial=serial, badge=officer.badge, officer=officer.name, start=a.start,
        end=a.end, by=a.created_by, reason=a.reason,
    )  # fmt: skip


def device_view(s: Session, row: Device) -> DeviceView:
    history = list(
        s.scalars(
            select(Assignment).where(Assignment.device_id == row.id).order_by(Assignment.start)
        )
    )
    views = [_assignment_view(s, a, row.serial) for a in history]
    current = next((v.badge for v in views if v.end is None), None)
    return DeviceView(
        id=row.id, serial=row.serial, camera_id=row.camera_id, model=row.model, note=row.note,
        registered=row.registered, officer=current, history=views,
    )  # fmt: skip


def add_device(
    db: Database,
    clock: Clock,
    actor: Actor,
    serial: str,
    *,
    model: str = "",
    note: str = "",
    retention_days: int = 183,
) -> DeviceView:
    with db.session() as s:
        existing = s.scalar(select(Device).where(Device.serial == serial))
        if existing is not None and existing.registered:
            raise ConflictError(f"recorder {serial!r} already exists", subsystem=Subsystem.BODYWORN)
        row = ensure_device(
            s, clock, actor, serial, model=model, note=note, retention_days=retention_days
        )
        return device_view(s, row)


def list_devices(db: Database) -> list[DeviceView]:
    with db.session() as s:
        return [device_view(s, d) for d in s.scalars(select(Device).order_by(Device.serial))]


def get_device(db: Database, serial: str) -> DeviceView:
    with db.session() as s:
        return device_view(s, device_row(s, serial))


def officer_at(s: Session, device_id: int, at: datetime) -> Officer | None:
    """The officer who had the device at ``at``, by the assignment history."""
    at = utc(at)
    a = s.scalar(
        select(Assignment)
        .where(
            Assignment.device_id == device_id,
            Assignment.start <= at,
            or_(Assignment.end.is_(None), Assignment.end > at),
        )
        .order_by(Assignment.start.desc())
        .limit(1)
    )
    return s.get(Officer, a.officer_id) if a is not None else None


def assign(
    db: Database,
    clock: Clock,
    actor: Actor,
    serial: str,
    badge: str,
    *,
    start: datetime | None = None,
) -> DeviceView:
    """Give recorder ``serial`` to officer ``badge`` from ``start`` (default now).

    The current holder's assignment ends there. A start in the past re-files the files the
    device recorded since then that were filed by assignment (each change audited).
    """
    now = utc(clock.now())
    start = utc(start) if start is not None else now
    if start > now:
        raise InvalidError(
            f"an assignment cannot start in the future ({start.isoformat()})",
            subsystem=Subsystem.BODYWORN,
        )
    with db.session() as s:
        device = device_row(s, serial)
        officer = officer_row(s, badge)
        if not officer.active:
            raise ConflictError(f"officer {badge} is not active", subsystem=Subsystem.BODYWORN)
        later = s.scalar(
            select(Assignment).where(Assignment.device_id == device.id, Assignment.start >= start)
        )
        if later is not None:
            raise ConflictError(
                f"recorder {serial} has an assignment from {later.start.isoformat()}; an "
                "assignment can only be added after the last one",
                subsystem=Subsystem.BODYWORN,
            )
        _close_current(s, device.id, start)
        row = Assignment(
            device_id=device.id,
            officer_id=officer.id,
            start=start,
            end=None,
            created_by=actor.user,
            reason=actor.reason,
        )
        s.add(row)
        s.flush()
        audit.append(
            s, clock, actor, "update", "bw_device", serial,
            details={"assigned": badge, "start": start.isoformat()},
        )  # fmt: skip
        _refile(s, clock, actor, device.id, start, None)
        return device_view(s, device)


def unassign(
    db: Database, clock: Clock, actor: Actor, serial: str, *, end: datetime | None = None
) -> DeviceView:
    """The recorder goes back (to the station): its current assignment ends at ``end``."""
    now = utc(clock.now())
    end = utc(end) if end is not None else now
    with db.session() as s:
        device = device_row(s, serial)
        current = s.scalar(
            select(Assignment).where(Assignment.device_id == device.id, Assignment.end.is_(None))
        )
        if current is None:
            raise ConflictError(f"recorder {serial} is not assigned", subsystem=Subsystem.BODYWORN)
        if end <= current.start or end > now:
            raise InvalidError(
                f"the assignment started {current.start.isoformat()}: it must end after that "
                "and not in the future",
                subsystem=Subsystem.BODYWORN,
            )
        current.end = end
        audit.append(
            s, clock, actor, "update", "bw_device", serial,
            details={"returned_by": _badge(s, current.officer_id), "end": end.isoformat()},
        )  # fmt: skip
        _refile(s, clock, actor, device.id, end, None)
        return device_view(s, device)


def _badge(s: Session, officer_id: int | None) -> str | None:
    if officer_id is None:
        return None
    row = s.get(Officer, officer_id)
    return row.badge if row else None


def _close_current(s: Session, device_id: int, at: datetime) -> None:
    current = s.scalar(
        select(Assignment).where(Assignment.device_id == device_id, Assignment.end.is_(None))
    )
    if current is not None:
        current.end = at


def _refile(
    s: Session, clock: Clock, actor: Actor, device_id: int, start: datetime, end: datetime | None
) -> None:
    """Files of the device recorded in [start, end) and filed by assignment follow the history."""
    s.flush()
    q = select(BodywornFile).where(
        BodywornFile.device_id == device_id,
        BodywornFile.start >= start,
        BodywornFile.officer_source.in_(("assignment", "none")),
    )
    if end is not None:
        q = q.where(BodywornFile.start < end)
    for f in s.scalars(q):
        officer = officer_at(s, device_id, f.start)
        new_id = officer.id if officer else None
        if new_id == f.officer_id:
            continue
        before = _badge(s, f.officer_id)
        f.officer_id = new_id
        f.officer_source = "assignment" if officer else "none"
        audit.append(
            s, clock, actor, "update", "bodyworn", f.id,
            details={"officer": officer.badge if officer else None, "was": before,
                     "why": "assignment history changed"},
        )  # fmt: skip


def file_under(db: Database, clock: Clock, actor: Actor, file_id: int, badge: str) -> None:
    """File one body-worn file under an officer by hand (e.g. a device never assigned)."""
    with db.session() as s:
        f = s.get(BodywornFile, file_id)
        if f is None:
            raise NotFoundError(f"no body-worn file {file_id}", subsystem=Subsystem.BODYWORN)
        officer = officer_row(s, badge)
        before = _badge(s, f.officer_id)
        f.officer_id = officer.id
        f.officer_source = "declared"
        audit.append(
            s, clock, actor, "update", "bodyworn", f.id,
            details={"officer": badge, "was": before},
        )  # fmt: skip


# --- shifts -------------------------------------------------------------------------------


def add_shift(
    db: Database,
    clock: Clock,
    actor: Actor,
    serial: str,
    name: str,
    start: datetime,
    end: datetime,
    *,
    badge: str | None = None,
) -> ShiftView:
    """A duty shift recorder ``serial`` is issued for: footage is expected from it."""
    start, end = utc(start), utc(end)
    if end <= start:
        raise InvalidError(
            f"a shift must end after it starts, got {start.isoformat()} to {end.isoformat()}",
            subsystem=Subsystem.BODYWORN,
        )
    with db.session() as s:
        device = device_row(s, serial)
        officer = officer_row(s, badge) if badge else officer_at(s, device.id, start)
        row = Shift(
            name=name.strip() or f"{serial} {start:%Y-%m-%d %H:%M}",
            device_id=device.id,
            officer_id=officer.id if officer else None,
            start=start,
            end=end,
            created_at=clock.now(),
            created_by=actor.user,
        )
        s.add(row)
        s.flush()
        audit.append(
            s, clock, actor, "create", "bw_shift", row.id,
            details={"device": serial, "officer": officer.badge if officer else None,
                     "start": start.isoformat(), "end": end.isoformat(), "name": row.name},
        )  # fmt: skip
        return shift_view(s, row)


def shift_view(s: Session, row: Shift) -> ShiftView:
    device = s.get(Device, row.device_id)
    assert device is not None
    return ShiftView(
        id=row.id, name=row.name, serial=device.serial, badge=_badge(s, row.officer_id),
        start=row.start, end=row.end, event_id=row.event_id,
    )  # fmt: skip


def list_shifts(
    db: Database, *, serial: str | None = None, since: datetime | None = None
) -> list[ShiftView]:
    with db.session() as s:
        q = select(Shift).order_by(Shift.start)
        if serial is not None:
            q = q.where(Shift.device_id == device_row(s, serial).id)
        if since is not None:
            q = q.where(Shift.end >= since)
        return [shift_view(s, row) for row in s.scalars(q)]
