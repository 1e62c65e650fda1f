"""The custody supervisor's view: rooms (people held by the ledger and people seen on video),
people held with their legal clocks, interviews in progress and open custody alerts with their
escalation level; acknowledge with a note."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from vms.custody.texts import alert_text
from vms.custody.views import StatusView
from vms.web.alerts import render_custody
from vms.web.deps import StateDep, require
from vms.web.i18n import texts_of
from vms.web.roles import Permission
from vms.web.schemas import AckIn, CustodyAlertOut
from vms.web.users import Principal

router = APIRouter(prefix="/api/custody", tags=["custody"])
Supervisor = Annotated[Principal, Depends(require(Permission.CUSTODY))]


def _visible(user: Principal, camera_id: str | None) -> bool:
    return camera_id is None or user.sees(camera_id)


@router.get("/status")
def custody_status(request: Request, state: StateDep, user: Supervisor) -> StatusView:
    """Rooms with the people the ledger puts in them and the count seen on video (``video``:
    ``count`` null when unknown or stale), people held (legal clock), interviews, open alerts;
    rooms and alerts only of cameras in the user's scope. Alert sentences and legal bases read
    in the user's language, as of now."""
    status = state.custody.status()
    texts, now = texts_of(state.config, request, user.language), state.clock.now()
    rooms = [r for r in status.rooms if not r.cameras or any(user.sees(c) for c in r.cameras)]
    alerts = [
        a.model_copy(update={"message": alert_text(a, now, texts)})
        for a in status.alerts
        if _visible(user, a.camera)
    ]
    bases = state.config.custody.legal_bases
    held = [
        p.model_copy(
            update={
                "legal_basis_title": texts.gettext(bases[p.legal_basis].title)
                if p.legal_basis in bases
                else p.legal_basis
            }
        )
        for p in status.held
    ]
    return status.model_copy(update={"rooms": rooms, "alerts": alerts, "held": held})


@router.post("/alerts/{alert_id}/ack")
async def custody_ack(
    alert_id: int, body: AckIn, request: Request, state: StateDep, user: Supervisor
) -> CustodyAlertOut:
    """Acknowledge a custody alert with a note: it stops escalating; every live feed shows it
    at once."""
    svc = state.custody
    alert = await run_in_threadpool(svc.acknowledge, alert_id, by=user.username, note=body.note)
    message = state.alerts.custody(alert)
    state.alerts.publish(message)
    texts = texts_of(state.config, request, user.language)
    shown = render_custody(message, texts, state.clock.now())
    return CustodyAlertOut.model_validate(shown.model_dump(exclude={"kind", "camera_id", "open"}))
