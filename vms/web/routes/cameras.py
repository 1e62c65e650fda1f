"""Cameras as configured, with the health their workers report (online, fps, bitrate, drops)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from vms.cameras.health import CameraHealth, CameraState
from vms.config import CameraConfig
from vms.web.deps import StateDep, require
from vms.web.roles import Permission
from vms.web.schemas import CameraOut
from vms.web.users import Principal

router = APIRouter(prefix="/api/cameras", tags=["cameras"])
Viewer = Annotated[Principal, Depends(require(Permission.VIEW_CAMERAS))]


def camera_out(cam: CameraConfig, health: CameraHealth | None) -> CameraOut:
    h = health or CameraHealth(cam.id, state=CameraState.STOPPED)
    return CameraOut(
        id=cam.id,
        name=cam.display_name,
        kind=cam.kind.value,
        site=cam.site,
        room=cam.room,
        room_type=cam.room_type.value if cam.room_type else None,
        record=cam.record,
        online=h.connected and h.state is CameraState.CONNECTED,
        state=h.state.value,
        fps=round(h.fps_in, 2),
        bitrate_bps=round(h.bitrate_bps),
        packets_skipped=h.packets_skipped,
        analysis_frames_dropped=h.analysis_frames_dropped,
        reconnects=h.reconnects,
        last_packet_at=h.last_packet_at,
        last_error=h.last_error,
        codec=h.codec,
        width=h.width,
        height=h.height,
    )


def visible_cameras(state: StateDep, user: Principal) -> list[CameraOut]:
    health = state.health()
    return [
        camera_out(cam, health.get(cam.id)) for cam in state.cameras.values() if user.sees(cam.id)
    ]


@router.get("")
def cameras(state: StateDep, user: Viewer) -> list[CameraOut]:
    """Every camera in the user's scope with its current health."""
    return visible_cameras(state, user)


@router.get("/{camera_id}")
def camera(camera_id: str, state: StateDep, user: Viewer) -> CameraOut:
    cam = state.camera(camera_id, user)
    return camera_out(cam, state.health().get(camera_id))
