"""The custody supervisor's view: rooms (people held by the ledger and people seen on video),
people held with their legal clocks, interviews in progress and open custody alerts with their
escalation level; acknowledge with a note."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from vms.custody.views import StatusView
from vms.web.deps import StateDep, require
from vms.web.roles import Permission
from vms.web.schemas import AckIn, CustodyAlertOut
from vms.web.users import Principal

router = APIRouter(prefix="/api/custody", tags=["custody"])
Supervisor = Annotated[Principal, Depends(require(Permission.CUSTODY))]


def _visible(user: Principal, camera_id: str | None) -> bool:
    return camera_id is None or user.sees(camera_id)


@router.get("/status")
def custody_status(state: StateDep, user: Supervisor) -> StatusView:
    """Rooms with the people the ledger puts in them and the count seen on video (``video``:
    ``count`` null when unknown or stale), people held (legal clock), interviews, open alerts;
    rooms and alerts only of cameras in the user's scope."""
    status = state.custody.status()
    rooms = [r for r in status.rooms if not r.cameras or any(user.sees(c) for c in r.cameras)]
    alerts = [a for a in status.alerts if _visible(user, a.camera)]
    return status.model_copy(update={"rooms": rooms, "alerts": alerts})


@router.post("/alerts/{alert_id}/ack")
async def custody_ack(
    alert_id: int, body: AckIn, state: StateDep, user: Supervisor
) -> CustodyAlertOut:
    """Acknowledge a custody alert with a note: it stops escalating; every live feed shows it
    at once."""
    svc = state.custody
    alert = await run_in_threadpool(svc.acknowledge, alert_id, by=user.username, note=body.note)
    message = state.alerts.custody(alert)
    state.alerts.publish(message)
    return CustodyAlertOut.model_validate(message.model_dump(exclude={"kind", "camera_id", "open"}))
