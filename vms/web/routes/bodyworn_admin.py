"""Officers, recorders, assignments, duty shifts and dock status (admins and supervisors
change them; everyone who searches body-worn files may list officers and recorders)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from vms.bodyworn import officers
from vms.bodyworn.dock import dock_files
from vms.bodyworn.views import DeviceView, DockFileView, OfficerView, ShiftView
from vms.evidence.audit import Actor
from vms.web.bodyworn_schemas import AssignIn, DeviceIn, OfficerIn, OfficerPatch, ReturnIn, ShiftIn
from vms.web.deps import StateDep, require
from vms.web.roles import Permission
from vms.web.users import Principal

router = APIRouter(prefix="/api/bodyworn", tags=["body-worn"])
Viewer = Annotated[Principal, Depends(require(Permission.BODYWORN))]
Manager = Annotated[Principal, Depends(require(Permission.BODYWORN_MANAGE))]


@router.get("/officers")
def list_officers(
    state: StateDep, user: Viewer, unit: Annotated[str | None, Query(max_length=200)] = None
) -> list[OfficerView]:
    """Officers (badge, name, unit, account, the recorder each holds now), of one unit."""
    return officers.list_officers(state.db, unit=unit)


@router.post("/officers", status_code=status.HTTP_201_CREATED)
def add_officer(body: OfficerIn, state: StateDep, user: Manager) -> OfficerView:
    """Register an officer, optionally linked to their vms account (sees their own files)."""
    return officers.add_officer(
        state.db, state.clock, Actor(user.username, "officer registered"), body.badge,
        body.name, body.unit, username=body.username,
    )  # fmt: skip


@router.patch("/officers/{badge}")
def update_officer(badge: str, body: OfficerPatch, state: StateDep, user: Manager) -> OfficerView:
    return officers.update_officer(
        state.db, state.clock, Actor(user.username, "officer updated"), badge, name=body.name,
        unit=body.unit, username=body.username, unlink_user=body.unlink_user, active=body.active,
    )  # fmt: skip


@router.get("/devices")
def list_devices(state: StateDep, user: Viewer) -> list[DeviceView]:
    return officers.list_devices(state.db)


@router.post("/devices", status_code=status.HTTP_201_CREATED)
def add_device(body: DeviceIn, state: StateDep, user: Manager) -> DeviceView:
    """Register a recorder; it gets a lane on the playback timeline (bw.<serial>)."""
    return officers.add_device(
        state.db, state.clock, Actor(user.username, "recorder registered"), body.serial,
        model=body.model, note=body.note,
        retention_days=state.config.bodyworn.retention_days.default,
    )  # fmt: skip


@router.get("/devices/{serial}")
def device(serial: str, state: StateDep, user: Viewer) -> DeviceView:
    """A recorder and its assignment history."""
    return officers.get_device(state.db, serial)


@router.post("/devices/{serial}/assignments", status_code=status.HTTP_201_CREATED)
def assign(serial: str, body: AssignIn, state: StateDep, user: Manager) -> DeviceView:
    """Give the recorder to an officer from ``start`` (the current holder's time ends)."""
    return officers.assign(
        state.db, state.clock, Actor(user.username, body.reason), serial, body.badge,
        start=body.start,
    )  # fmt: skip


@router.post("/devices/{serial}/return")
def give_back(serial: str, body: ReturnIn, state: StateDep, user: Manager) -> DeviceView:
    """The recorder comes back to the station."""
    return officers.unassign(
        state.db, state.clock, Actor(user.username, body.reason), serial, end=body.end
    )


@router.get("/shifts")
def shifts(
    state: StateDep,
    user: Manager,
    device: Annotated[str | None, Query(max_length=48)] = None,
) -> list[ShiftView]:
    return officers.list_shifts(state.db, serial=device)


@router.post("/shifts", status_code=status.HTTP_201_CREATED)
def add_shift(body: ShiftIn, state: StateDep, user: Manager) -> ShiftView:
    """A duty shift a recorder is issued for: no footage from it raises an alert."""
    return officers.add_shift(
        state.db, state.clock, Actor(user.username, "duty roster"), body.serial, body.name,
        body.start, body.end, badge=body.badge,
    )  # fmt: skip


@router.get("/docks")
def docks(state: StateDep, user: Manager) -> list[DockFileView]:
    """What the collection stations' folders hold and how far each file got."""
    return dock_files(state.db)
