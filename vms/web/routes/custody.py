"""The custody supervisor's view: rooms (people held by the ledger and people seen on video),
people held with their legal clocks, interviews in progress and open custody alerts with their
escalation level; acknowledge with a note."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from vms.custody.service import CustodyService
from vms.custody.texts import alert_text
from vms.web.alerts import render_custody
from vms.web.deps import StateDep, WebState, require
from vms.web.i18n import texts_of
from vms.web.roles import Permission
from vms.web.schemas import AckIn
from vms.web.users import Principal

router = APIRouter(prefix="/api/custody", tags=["custody"])
Supervisor = Annotated[Principal, Depends(require(Permission.CUSTODY))]


def service(state: WebState) -> CustodyService:
    svc = state.services.get("custody")
    if svc is None:
        svc = state.services["custody"] = CustodyService(state.db, state.config, state.clock)
    assert isinstance(svc, CustodyService)
    return svc


def _visible(user: Principal, camera_id: str | None) -> bool:
    return camera_id is None or user.sees(camera_id)


@router.get("/status")
def custody_status(request: Request, state: StateDep, user: Supervisor) -> dict[str, Any]:
    """Rooms with the people the ledger puts in them and the count seen on video (``video``:
    ``count`` null when unknown or stale), people held (legal clock), interviews, open alerts."""
    svc = service(state)
    report = svc.status().to_dict()
    occupancy = svc.occupancy()
    rooms = []
    for room in sorted(svc.layout.rooms.values(), key=lambda r: (r.site, r.name)):
        if room.cameras and not any(user.sees(c) for c in room.cameras):
            continue
        people = [p["id"] for p in report["held"] if p["room"] == room.id]
        rooms.append(
            {
                "id": room.id,
                "name": room.name,
                "site": room.site,
                "type": room.type.value,
                "cameras": list(room.cameras),
                "held": people,
                "interview": any(i["room"] == room.id for i in report["interviews"]),
                "video": occupancy[room.id].to_dict(),
            }
        )
    report["rooms"] = rooms
    texts, now = texts_of(state.config, request, user.language), state.clock.now()
    report["alerts"] = [
        {**a, "message": alert_text(a, now, texts)}
        for a in report["alerts"]
        if _visible(user, a["camera"])
    ]
    bases = state.config.custody.legal_bases
    for p in report["held"]:
        basis = bases.get(p["legal_basis"])
        p["legal_basis_title"] = texts.gettext(basis.title) if basis else p["legal_basis"]
    return report


@router.post("/alerts/{alert_id}/ack")
async def custody_ack(
    alert_id: int, body: AckIn, request: Request, state: StateDep, user: Supervisor
) -> dict[str, Any]:
    """Acknowledge a custody alert with a note: it stops escalating; every live feed shows it
    at once."""
    svc = service(state)
    alert = await run_in_threadpool(svc.acknowledge, alert_id, by=user.username, note=body.note)
    message = state.alerts.custody(alert)
    state.alerts.publish(message)
    texts = texts_of(state.config, request, user.language)
    shown = render_custody(message, texts, state.clock.now())
    return {k: v for k, v in shown.items() if k not in ("kind", "camera_id", "open")}
